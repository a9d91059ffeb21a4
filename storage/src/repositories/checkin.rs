//! Check-ins: everything one decides on, read together, and what it records.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scepter_domain::{
    directory::User,
    targeting::{DeviceMemberships, TargetedProfile},
    Record,
};
use uuid::Uuid;

use crate::{EnrollmentStep, StorageError, StoredCertificate, StoredDevice};

/// Everything a check-in decides on, read together.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckInFacts {
    /// The device, its primary user and what reaches it.
    pub subject: SubjectFacts,
    /// The device's certificates, newest first.
    pub certificates: Vec<StoredCertificate>,
    /// The device's last enrollment step per profile.
    pub steps: Vec<DeviceStep>,
}

/// Who a device is and what reaches it: the part of [`CheckInFacts`] a
/// certificate request is judged on (its subject and SANs are expanded from
/// the device and its user; its profile must reach the device), which
/// [`CheckInRepository::subject_facts`] reads without the certificates and
/// steps a check-in also needs.
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectFacts {
    pub device: Record<StoredDevice>,
    pub user: Option<Record<User>>,
    pub memberships: DeviceMemberships,
    pub profiles: Vec<TargetedProfile>,
}

/// [`EnrollmentStep`] of one device for one profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceStep {
    pub profile_id: Uuid,
    pub profile_version: i64,
    pub step: EnrollmentStep,
}

/// Check-ins: what one decides on, and what it observed.
#[async_trait]
pub trait CheckInRepository: Send + Sync {
    /// The device, its primary user, its targeting facts and its certificates; `None` for an unknown device.
    async fn check_in_facts(&self, device_id: Uuid) -> Result<Option<CheckInFacts>, StorageError>;

    /// The device, its primary user and its targeting facts (three round
    /// trips where [`Self::check_in_facts`] takes five); `None` for an
    /// unknown device. What the connector's verification reads.
    async fn subject_facts(&self, device_id: Uuid) -> Result<Option<SubjectFacts>, StorageError>;

    /// Records `challengeIssued` for the offered `(profile, version)` pairs
    /// (distinct profiles), in one statement: one round trip and one commit
    /// per check-in, however many profiles it offered anew. Durable: the
    /// step moves the device's facts generation and the connector reads it.
    /// (A transaction with an asynchronous commit here was measured: its
    /// extra round trips cost as much as the disk wait they saved.)
    async fn record_challenges_offered(
        &self,
        device_id: Uuid,
        at: DateTime<Utc>,
        offered: &[(Uuid, i64)],
    ) -> Result<(), StorageError>;

    /// Sets `lastCheckInDateTime` of many devices in one statement per
    /// [`LAST_CHECK_IN_CHUNK`] devices, never moving one backwards (another
    /// instance may have written a newer time). An observation, not an admin
    /// change: no new version, no generation moves, and the commit need not
    /// wait for the disk.
    async fn record_last_check_ins(&self, seen: &[(Uuid, DateTime<Utc>)]) -> Result<(), StorageError>;
}

/// Devices per `lastCheckInDateTime` statement: two parameters each, well
/// under both backends' limits.
pub const LAST_CHECK_IN_CHUNK: usize = 1_000;
