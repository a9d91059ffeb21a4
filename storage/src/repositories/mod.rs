//! The repository traits the API depends on, one file per aggregate (as
//! `sql/` implements them), and [`Store`], which composes them.

mod assignments;
mod audit;
mod checkin;
mod credentials;
mod directory;
mod events;
mod impact;
mod ledger;
mod profiles;
mod snapshots;
mod statuses;
mod timeline;

use async_trait::async_trait;

pub use assignments::{Assignment, AssignmentRepository};
pub use audit::{Actor, AuditFilter, AuditRepository, NewAuditEntry, StoredAuditEntry};
pub use checkin::{CheckInFacts, CheckInRepository, DeviceStep, SubjectFacts, LAST_CHECK_IN_CHUNK};
pub use credentials::{DeviceCredentialRepository, FactsGenerations, StoredCredential};
pub use directory::{
    DeviceRepository, GroupMember, GroupRepository, MembershipChange, RejectedMembers, StoredDevice,
    UserRepository,
};
pub use events::{EventFilter, EventRepository, NewEvent, StoredEvent};
pub use impact::{
    AssignmentChange, ImpactRepository, MeasuredChange, PlannedChange, ProfileChange, ScepProfileChange,
    TrustedProfileChange, WouldWrite,
};
pub use ledger::{
    AllowedRecord, DeviceProfileState, EnrollmentStep, FailedRequest, LedgerRepository, RecordedCertificate,
    RevocationOutcome, RevocationScope, ScepTransaction, StoredCertificate,
};
pub use profiles::{ProfileFilter, ScepProfileRepository, TrustedProfileRepository};
pub use snapshots::{ReportSnapshot, ReportSnapshotRepository};
pub use statuses::{CertificateExpiry, StatusDevice, StatusFacts, StatusRepository, StatusScope};
pub use timeline::{EnrollmentHistory, EnrollmentHistoryRepository, PayloadOffer, ProfileVersionChange};

use crate::{ImportRepository, StorageError};

/// The store's database connections, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStatus {
    pub pool: ConnectionCounts,
    /// The check-in lane beside the pool (PostgreSQL; all 0 on SQLite).
    pub check_in: ConnectionCounts,
}

/// Connections of a pool or of the check-in lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnectionCounts {
    /// Open connections.
    pub size: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// The most connections it opens.
    pub max: u32,
}

/// Everything the API needs from a database.
#[async_trait]
pub trait Store:
    TrustedProfileRepository
    + ScepProfileRepository
    + UserRepository
    + DeviceRepository
    + GroupRepository
    + AssignmentRepository
    + DeviceCredentialRepository
    + CheckInRepository
    + LedgerRepository
    + EventRepository
    + ImportRepository
    + StatusRepository
    + AuditRepository
    + ImpactRepository
    + EnrollmentHistoryRepository
    + ReportSnapshotRepository
{
    /// Applies the embedded migrations that have not run yet.
    async fn migrate(&self) -> Result<(), StorageError>;

    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> Result<(), StorageError>;

    /// Closes the pool, waiting for connections in use.
    async fn close(&self);

    /// How many connections are open and idle.
    fn pool_status(&self) -> PoolStatus;
}
