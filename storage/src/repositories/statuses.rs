//! A SCEP profile's status per device: the facts of one range of devices
//! (for a page), and the counts per state over all of them (for the summary).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scepter_domain::{device_status::DeviceStatusSummary, scep_profile::CertificateType, Platform, Record};
use uuid::Uuid;

use crate::{DeviceProfileState, StorageError, StoredCertificate, StoredDevice};

/// The SCEP profile whose statuses are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusScope {
    pub profile_id: Uuid,
    pub platform: Platform,
    /// The profile's trusted root (rule 5).
    pub root_id: Uuid,
    pub certificate_type: CertificateType,
    /// The profile's renewal threshold, in percent of the lifetime left.
    pub renewal_threshold_percent: u8,
}

/// A targeted device (rules 1–3) and whether the profile's root reaches it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusDevice {
    pub device: Record<StoredDevice>,
    pub root_installed: bool,
}

/// Everything `scepter_domain::device_status` needs about the devices whose
/// ids are in one range: their statuses derived from these facts alone are
/// exactly their statuses derived from the profile's facts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatusFacts {
    /// The devices the profile reaches by rules 1–3, by id.
    pub targeted: Vec<StatusDevice>,
    /// The profile's certificates, by device then newest first.
    pub certificates: Vec<StoredCertificate>,
    /// The profile's enrollment steps, by device.
    pub steps: Vec<DeviceProfileState>,
    /// The range's last id: the next range starts after it. `None` when the
    /// range reached past the profile's last device.
    pub last_id: Option<Uuid>,
}

/// Certificate expiry of one SCEP profile, over each device's newest
/// unrevoked certificate of it (older ones were superseded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CertificateExpiry {
    pub profile_id: Uuid,
    /// Valid now, expiring within 7 days.
    pub expiring_within_7_days: u64,
    /// Valid now, expiring within 30 days (includes the 7-day ones).
    pub expiring_within_30_days: u64,
    /// Expired with no successor issued: what the device still holds.
    pub expired_still_in_use: u64,
}

/// The statuses of a SCEP profile, read by device-id ranges and counted in the database.
#[async_trait]
pub trait StatusRepository: Send + Sync {
    /// The facts of the devices with ids after `after` (all, for `None`) up
    /// to the `batch`-th device that the profile targets (rules 1–3) or that
    /// holds one of its certificates. Index range scans only.
    async fn status_facts(
        &self,
        scope: &StatusScope,
        after: Option<Uuid>,
        batch: u32,
    ) -> Result<StatusFacts, StorageError>;

    /// How many devices are in each state at `now`, over all of the profile's
    /// devices: `scepter_domain::device_status`'s rules, counted by one
    /// aggregate query.
    async fn status_summary(
        &self,
        scope: &StatusScope,
        now: DateTime<Utc>,
    ) -> Result<DeviceStatusSummary, StorageError>;

    /// [`CertificateExpiry`] at `now` of every SCEP profile with certificates, in one aggregate.
    async fn certificate_expiry(&self, now: DateTime<Utc>) -> Result<Vec<CertificateExpiry>, StorageError>;

    /// Device × profile pairs whose last enrollment step failed, by diagnostic code.
    async fn failures_by_diagnostic_code(&self) -> Result<Vec<(u32, u64)>, StorageError>;
}
