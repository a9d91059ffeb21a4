//! The repository SQL, written once for both backends (see the crate docs).
//! Each macro implements one group of repository traits for a store type.

mod assignments;
mod credentials;
mod directory;
mod import;
mod lifecycle;
mod profiles;

pub(crate) use assignments::impl_assignment_repository;
pub(crate) use credentials::impl_credential_repository;
pub(crate) use directory::impl_directory_repositories;
pub(crate) use import::impl_import_repository;
pub(crate) use lifecycle::impl_lifecycle_repository;
pub(crate) use profiles::impl_profile_repositories;
