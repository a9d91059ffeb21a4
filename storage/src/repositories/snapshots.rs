//! Latest results of reports too costly to compute per request.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::StorageError;

/// A report's figures as computed at `generated_at`, serialized by the
/// service (the store keeps the text, it does not read it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSnapshot {
    pub generated_at: DateTime<Utc>,
    pub body: String,
}

/// One row per report name. Every write is conditional, so instances that
/// compute or store concurrently keep the newest figures.
#[async_trait]
pub trait ReportSnapshotRepository: Send + Sync {
    /// The latest snapshot of `name`, if one was ever stored.
    async fn report_snapshot(&self, name: &str) -> Result<Option<ReportSnapshot>, StorageError>;

    /// Stores `snapshot` unless a newer one is stored already (returns
    /// whether it was stored), and releases any refresh claim.
    async fn save_report_snapshot(&self, name: &str, snapshot: &ReportSnapshot)
        -> Result<bool, StorageError>;

    /// Claims the next refresh of `name` until `lease_until`: true (claimed)
    /// when no snapshot newer than `stale_before` exists and no other claim
    /// is live at `now`. Periodic refreshers on several instances call it
    /// so that one of them computes each time.
    async fn claim_report_refresh(
        &self,
        name: &str,
        stale_before: DateTime<Utc>,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StorageError>;
}
