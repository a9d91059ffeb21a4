//! The periodic sweep of `scepter serve`: queues the revocations that admin
//! writes missed (e.g. after a crash between a write and its queueing) and
//! keeps the append-only tables bounded by deleting what
//! [`scepter_domain::retention`] says nothing needs any more.
//!
//! Deletes go in batches of [`PURGE_BATCH`] rows, one statement each, until a
//! batch comes back short: a backlog of millions of rows never becomes one
//! long statement holding locks (or SQLite's only connection). Every instance
//! may sweep; their batches simply interleave.

use std::{future::Future, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use scepter_domain::retention::RetentionPolicy;
use scepter_storage::{RevocationScope, StorageError, Store};

/// Rows deleted per statement.
pub const PURGE_BATCH: u32 = 1_000;

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub queued_revocations: u64,
    pub purged_used_challenges: u64,
    pub purged_events: u64,
    /// Audit entries: kept as long as events.
    pub purged_audit_entries: u64,
    /// Payload offers (the enrollment timeline's), kept as long as events.
    pub purged_payload_offers: u64,
    pub purged_transactions: u64,
}

/// Sweeps every `period` until the task is aborted.
pub async fn sweep_periodically(store: Arc<dyn Store>, period: Duration, retention: RetentionPolicy) {
    let mut ticker = tokio::time::interval(period);
    loop {
        ticker.tick().await;
        let report = sweep_once(store.as_ref(), retention, Utc::now()).await;
        if report.queued_revocations > 0 {
            tracing::info!(
                queued = report.queued_revocations,
                "sweep queued certificates for revocation"
            );
        }
        if report.purged_used_challenges
            + report.purged_events
            + report.purged_audit_entries
            + report.purged_payload_offers
            + report.purged_transactions
            > 0
        {
            tracing::info!(
                used_challenges = report.purged_used_challenges,
                events = report.purged_events,
                audit_entries = report.purged_audit_entries,
                payload_offers = report.purged_payload_offers,
                scep_transactions = report.purged_transactions,
                "sweep purged rows past their retention"
            );
        }
    }
}

/// One sweep at `now`. A step that fails is logged and the others still run
/// (the next sweep retries it).
pub async fn sweep_once(store: &dyn Store, retention: RetentionPolicy, now: DateTime<Utc>) -> SweepReport {
    let cutoffs = retention.cutoffs(now);
    let mut report = SweepReport::default();
    match store.queue_revocations(&RevocationScope::All).await {
        Ok(queued) => report.queued_revocations = queued,
        Err(error) => tracing::warn!(%error, "revocation sweep failed"),
    }
    report.purged_used_challenges = purge("used-challenge ids", |limit| {
        store.purge_used_challenges(cutoffs.used_challenges_expired_before, limit)
    })
    .await;
    if let Some(before) = cutoffs.events_before {
        report.purged_events = purge("events", |limit| store.purge_events(before, limit)).await;
        report.purged_audit_entries =
            purge("audit entries", |limit| store.purge_audit_entries(before, limit)).await;
        report.purged_payload_offers = purge("payload offers", |limit| {
            store.purge_payload_offers(before, limit)
        })
        .await;
    }
    if let (Some(notified_before), Some(abandoned_before)) = (
        cutoffs.notified_transactions_before,
        cutoffs.abandoned_transactions_before,
    ) {
        report.purged_transactions = purge("scep transactions", |limit| {
            store.purge_scep_transactions(notified_before, abandoned_before, limit)
        })
        .await;
    }
    report
}

/// Runs `batch` until it deletes fewer than [`PURGE_BATCH`] rows; returns the total.
async fn purge<F, Fut>(what: &'static str, mut batch: F) -> u64
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<u64, StorageError>>,
{
    let mut total = 0;
    loop {
        match batch(PURGE_BATCH).await {
            Ok(deleted) => {
                total += deleted;
                if deleted < u64::from(PURGE_BATCH) {
                    return total;
                }
                // Let requests waiting for the connection go first.
                tokio::task::yield_now().await;
            }
            Err(error) => {
                tracing::warn!(%error, what, "purge failed");
                return total;
            }
        }
    }
}
