//! Device credentials.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{NewAuditEntry, StorageError};

/// A stored device credential: whose it is and the SHA-256 of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredential {
    pub device_id: Uuid,
    pub secret_digest: Vec<u8>,
    pub revoked: bool,
    /// The generations of what the device's check-in depends on, read with
    /// the credential: a check-in may reuse facts it cached at the same ones.
    pub generations: FactsGenerations,
}

/// Where the facts of one device's check-in stand (migration 0009). Equal
/// generations mean equal facts, so cached facts stay valid exactly while
/// both are unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FactsGenerations {
    /// Moves with changes to this device only: its row, memberships, primary
    /// user, certificates and enrollment steps. Values are never reused for
    /// the same device id.
    pub device: i64,
    /// Moves with changes to what every device is measured against: profiles
    /// and assignments.
    pub policy: i64,
}

/// Credentials devices authenticate with (only digests of their secrets).
#[async_trait]
pub trait DeviceCredentialRepository: Send + Sync {
    /// Revokes the device's credentials and stores a new one, in one
    /// transaction; [`StorageError::NotFound`] for an unknown device.
    async fn replace_device_credential(
        &self,
        device_id: Uuid,
        credential_id: Uuid,
        secret_digest: &[u8],
        audit: &NewAuditEntry,
    ) -> Result<(), StorageError>;
    /// Revokes every credential of the device; [`StorageError::NotFound`] for an unknown device.
    async fn revoke_device_credentials(
        &self,
        device_id: Uuid,
        audit: &NewAuditEntry,
    ) -> Result<(), StorageError>;
    async fn device_credential(&self, credential_id: Uuid) -> Result<Option<StoredCredential>, StorageError>;
}
