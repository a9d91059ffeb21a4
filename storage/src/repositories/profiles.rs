//! Trusted and SCEP certificate profiles.

use async_trait::async_trait;
use scepter_domain::{Platform, Record, ScepCertificateProfile, TrustedCertificateProfile};
use uuid::Uuid;

use crate::{NewAuditEntry, Page, PageRequest, StorageError};

/// Filter of the profile list endpoints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProfileFilter {
    pub platform: Option<Platform>,
}

/// Trusted certificate profiles.
#[async_trait]
pub trait TrustedProfileRepository: Send + Sync {
    async fn insert_trusted_profile(
        &self,
        profile: &TrustedCertificateProfile,
        audit: &NewAuditEntry,
    ) -> Result<Record<TrustedCertificateProfile>, StorageError>;

    async fn trusted_profile(
        &self,
        id: Uuid,
    ) -> Result<Option<Record<TrustedCertificateProfile>>, StorageError>;

    async fn list_trusted_profiles(
        &self,
        filter: ProfileFilter,
        page: PageRequest,
    ) -> Result<Page<Record<TrustedCertificateProfile>>, StorageError>;

    /// Replaces the profile if it is still at `expected_version`. Fails with
    /// [`StorageError::Conflict`] when a new platform would no longer suit a
    /// SCEP profile that uses this one as its root.
    async fn update_trusted_profile(
        &self,
        id: Uuid,
        expected_version: i64,
        profile: &TrustedCertificateProfile,
        audit: &NewAuditEntry,
    ) -> Result<Record<TrustedCertificateProfile>, StorageError>;

    /// Fails with [`StorageError::Conflict`] while a SCEP profile uses it as its root.
    async fn delete_trusted_profile(
        &self,
        id: Uuid,
        expected_version: Option<i64>,
        audit: &NewAuditEntry,
    ) -> Result<(), StorageError>;
}

/// SCEP certificate profiles.
#[async_trait]
pub trait ScepProfileRepository: Send + Sync {
    /// Fails with [`StorageError::MissingReference`] when the root profile no longer exists.
    async fn insert_scep_profile(
        &self,
        profile: &ScepCertificateProfile,
        audit: &NewAuditEntry,
    ) -> Result<Record<ScepCertificateProfile>, StorageError>;

    async fn scep_profile(&self, id: Uuid) -> Result<Option<Record<ScepCertificateProfile>>, StorageError>;

    async fn list_scep_profiles(
        &self,
        filter: ProfileFilter,
        page: PageRequest,
    ) -> Result<Page<Record<ScepCertificateProfile>>, StorageError>;

    async fn update_scep_profile(
        &self,
        id: Uuid,
        expected_version: i64,
        profile: &ScepCertificateProfile,
        audit: &NewAuditEntry,
    ) -> Result<Record<ScepCertificateProfile>, StorageError>;

    async fn delete_scep_profile(
        &self,
        id: Uuid,
        expected_version: Option<i64>,
        audit: &NewAuditEntry,
    ) -> Result<(), StorageError>;
}
