//! Reports that read across the fleet run a few at a time per instance.
//!
//! Device check-ins and admin reports share the instance's cores and the
//! database's. A profile's device statuses at 100,000 targeted devices cost
//! tens of milliseconds of database work per page; four admins (or
//! dashboards) polling it at once took enough of two cores to raise
//! concurrent check-ins' p99 from about 12 to 70–78 ms (BENCHMARKS.md). Behind
//! the gate such requests queue for their turn instead, and check-ins keep
//! the rest of the machine. A waiting request is bounded by the client's own
//! timeout; it holds no database connection while it waits.

use tokio::sync::{Semaphore, SemaphorePermit};

pub struct ReportGate {
    turns: Semaphore,
}

impl ReportGate {
    /// One report at a time: on the two-core machines the benchmarks use,
    /// that leaves a core to device traffic.
    pub const DEFAULT_CONCURRENCY: usize = 1;

    /// A gate letting `concurrency` reports run at once (at least one).
    pub fn new(concurrency: usize) -> Self {
        Self {
            turns: Semaphore::new(concurrency.max(1)),
        }
    }

    /// Waits for a turn; the report runs while the returned permit lives.
    pub async fn enter(&self) -> SemaphorePermit<'_> {
        // The semaphore is never closed, so acquiring cannot fail.
        self.turns
            .acquire()
            .await
            .expect("the report gate is never closed")
    }
}

impl Default for ReportGate {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CONCURRENCY)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn enters_within(gate: &ReportGate, wait: Duration) -> bool {
        tokio::time::timeout(wait, gate.enter()).await.is_ok()
    }

    #[tokio::test]
    async fn reports_beyond_the_concurrency_wait_for_a_turn() {
        let gate = ReportGate::new(2);
        let first = gate.enter().await;
        let second = gate.enter().await;
        assert!(
            !enters_within(&gate, Duration::from_millis(20)).await,
            "a third waits"
        );
        drop(first);
        assert!(
            enters_within(&gate, Duration::from_secs(5)).await,
            "and runs when one ends"
        );
        drop(second);
    }

    #[tokio::test]
    async fn a_concurrency_of_zero_still_lets_one_through() {
        let gate = ReportGate::new(0);
        let only = gate.enter().await;
        assert!(!enters_within(&gate, Duration::from_millis(20)).await);
        drop(only);
        assert!(enters_within(&gate, Duration::from_secs(5)).await);
    }
}
