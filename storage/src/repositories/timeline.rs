//! What the enrollment timeline reads beyond check-in's facts, and the two
//! observations only it needs: the SCEP payloads handed out, and when a
//! device first listed a certificate.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{StorageError, StoredEvent};

/// A SCEP payload a check-in handed out. Holds no challenge: only when the
/// one it carried stopped being good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadOffer {
    pub device_id: Uuid,
    pub profile_id: Uuid,
    pub profile_version: i64,
    pub scep_server_urls: Vec<String>,
    pub challenge_expires_at: DateTime<Utc>,
    pub offered_at: DateTime<Utc>,
}

/// A new version of a SCEP profile (recorded by a trigger on every update).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileVersionChange {
    pub profile_id: Uuid,
    pub version: i64,
    pub changed_at: DateTime<Utc>,
}

/// The newest offers and events of one device, each oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnrollmentHistory {
    pub offers: Vec<PayloadOffer>,
    /// Events naming the device (verifications, notifications, revocations).
    pub events: Vec<StoredEvent>,
}

/// The enrollment timeline's history.
#[async_trait]
pub trait EnrollmentHistoryRepository: Send + Sync {
    /// Records offers handed out by check-ins: one statement per thousand,
    /// committed as observations (on PostgreSQL without waiting for the
    /// disk; the service writes them behind the requests, see
    /// `scepter_api::state::observations`).
    async fn record_payload_offers(&self, offers: &[PayloadOffer]) -> Result<(), StorageError>;

    /// Sets `reported_at` of certificates that have none yet. Check-in calls
    /// it only for certificates its facts show unreported, so a certificate
    /// costs this write once, not once per check-in that lists it.
    async fn record_certificates_reported(
        &self,
        certificate_ids: &[Uuid],
        at: DateTime<Utc>,
    ) -> Result<(), StorageError>;

    /// The newest `limit` offers and the newest `limit` events of the device
    /// (for one profile, or all), each oldest first.
    async fn enrollment_history(
        &self,
        device_id: Uuid,
        profile_id: Option<Uuid>,
        limit: u32,
    ) -> Result<EnrollmentHistory, StorageError>;

    /// The newest `limit` versions recorded for the profile, oldest first.
    async fn profile_versions(
        &self,
        profile_id: Uuid,
        limit: u32,
    ) -> Result<Vec<ProfileVersionChange>, StorageError>;

    /// Deletes up to `limit` offers made before `before`; returns how many.
    async fn purge_payload_offers(&self, before: DateTime<Utc>, limit: u32) -> Result<u64, StorageError>;
}
