//! Between HTTP and storage: each service reads the facts it needs, lets the
//! domain decide, and records the outcome. Nothing here knows about requests
//! or responses beyond [`crate::error::ApiError`].
//!
//! - [`enrollment`], [`sweep`]: the enrollment core — check-in, SCEP
//!   verification and notification, device statuses, the periodic sweep.
//! - [`versioned`]: the admin writes every versioned resource shares
//!   (`If-Match`, revocations after a change); [`directory`] and [`profiles`]
//!   implement it for users, devices, groups and both profile kinds, and hold
//!   the other admin flows of more than one step.

pub mod directory;
pub mod enrollment;
pub mod profiles;
pub mod sweep;
pub mod versioned;
