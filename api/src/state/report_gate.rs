//! Reports that read across the fleet take turns per instance, and when they
//! queue, rest between turns.
//!
//! Device check-ins and admin reports share the instance's cores and the
//! database's. A profile's device statuses at 100,000 targeted devices cost
//! milliseconds of database work per page; four admins (or dashboards)
//! polling it back to back took enough of two cores to raise concurrent
//! check-ins' p99 from about 12 to 70–78 ms (BENCHMARKS.md). Behind the gate
//! such requests queue for their turn, and a turn that ran for `t` while
//! others waited is followed by `t · (100 / share − 1)` of rest before the
//! next one starts, so queued reports keep at most `share` percent of the
//! time: however many pollers there are, check-ins keep the rest of the
//! machine. A report nobody else waits behind leaves no rest, so one admin
//! paging through a report is served at full speed (and, one at a time,
//! never holds more than one database backend). A waiting request is bounded
//! by the client's own timeout; it holds no database connection while it
//! waits.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Mutex,
    },
    time::{Duration, Instant},
};

use tokio::sync::{Semaphore, SemaphorePermit};

pub struct ReportGate {
    turns: Semaphore,
    /// Percent of wall time reports may run, 1–100.
    share_percent: u32,
    /// When the next turn may start.
    rest_until: Mutex<Instant>,
    /// Reports waiting for a turn.
    waiting: AtomicUsize,
}

/// Counts a report as waiting for as long as it lives, also when the
/// request is dropped while it waits.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn start(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A report's turn: it runs while this lives, and the rest it earns starts
/// when it is dropped.
pub struct Turn<'a> {
    gate: &'a ReportGate,
    started: Instant,
    _permit: SemaphorePermit<'a>,
}

impl ReportGate {
    /// One report at a time: on the two-core machines the benchmarks use,
    /// that leaves a core to device traffic.
    pub const DEFAULT_CONCURRENCY: usize = 1;

    /// Reports run at most a quarter of the time.
    pub const DEFAULT_SHARE_PERCENT: u32 = 25;

    /// A gate letting `concurrency` reports run at once (at least one),
    /// for at most `share_percent` of the time (clamped to 1–100; 100 never rests).
    pub fn new(concurrency: usize, share_percent: u32) -> Self {
        Self {
            turns: Semaphore::new(concurrency.max(1)),
            share_percent: share_percent.clamp(1, 100),
            rest_until: Mutex::new(Instant::now()),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Waits for a turn and for the rest the previous turns left behind; the
    /// report runs while the returned turn lives. Ending it while another
    /// report waits leaves rest behind it.
    pub async fn enter(&self) -> Turn<'_> {
        let waiting = Waiting::start(&self.waiting);
        // The semaphore is never closed, so acquiring cannot fail.
        let permit = self
            .turns
            .acquire()
            .await
            .expect("the report gate is never closed");
        drop(waiting);
        loop {
            let until = *self
                .rest_until
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if until <= Instant::now() {
                break;
            }
            tokio::time::sleep_until(until.into()).await;
        }
        Turn {
            gate: self,
            started: Instant::now(),
            _permit: permit,
        }
    }

    /// The rest a turn that ran for `ran` earns.
    fn rest_after(&self, ran: Duration) -> Duration {
        ran * (100 - self.share_percent) / self.share_percent
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if self.gate.waiting.load(Ordering::SeqCst) == 0 {
            return;
        }
        let now = Instant::now();
        let rest = self.gate.rest_after(now - self.started);
        let mut until = self
            .gate
            .rest_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *until = (*until).max(now + rest);
    }
}

impl Default for ReportGate {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CONCURRENCY, Self::DEFAULT_SHARE_PERCENT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn enters_within(gate: &ReportGate, wait: Duration) -> bool {
        tokio::time::timeout(wait, gate.enter()).await.is_ok()
    }

    /// A report that waits for its turn (counted once this returns), runs
    /// nothing, and tells when its turn began.
    async fn waiting_report(gate: &std::sync::Arc<ReportGate>) -> tokio::task::JoinHandle<Instant> {
        let report = tokio::spawn({
            let gate = gate.clone();
            async move {
                drop(gate.enter().await);
                Instant::now()
            }
        });
        tokio::task::yield_now().await;
        assert_eq!(gate.waiting.load(Ordering::SeqCst), 1, "the report waits");
        report
    }

    #[tokio::test]
    async fn reports_beyond_the_concurrency_wait_for_a_turn() {
        let gate = ReportGate::new(2, 100);
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
        let gate = ReportGate::new(0, 100);
        let only = gate.enter().await;
        assert!(!enters_within(&gate, Duration::from_millis(20)).await);
        drop(only);
        assert!(enters_within(&gate, Duration::from_secs(5)).await);
    }

    #[tokio::test]
    async fn a_turn_others_wait_behind_is_followed_by_rest_in_proportion_to_its_length() {
        let gate = std::sync::Arc::new(ReportGate::new(1, 25));
        let turn = gate.enter().await;
        let next = waiting_report(&gate).await;
        std::thread::sleep(Duration::from_millis(100));
        let ended = Instant::now();
        drop(turn);
        // 100 ms at a 25 % share earns 300 ms of rest.
        let entered = next.await.expect("the waiting report runs");
        let rested = entered - ended;
        assert!(rested >= Duration::from_millis(290), "rested {rested:?}");
        assert_eq!(gate.waiting.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_turn_nobody_waits_behind_leaves_no_rest() {
        let gate = ReportGate::new(1, 25);
        let turn = gate.enter().await;
        std::thread::sleep(Duration::from_millis(50));
        drop(turn);
        assert!(enters_within(&gate, Duration::from_millis(20)).await);
    }

    #[tokio::test]
    async fn a_report_dropped_while_it_waits_is_no_longer_counted() {
        let gate = ReportGate::new(1, 25);
        let turn = gate.enter().await;
        assert!(!enters_within(&gate, Duration::from_millis(20)).await);
        assert_eq!(gate.waiting.load(Ordering::SeqCst), 0);
        drop(turn);
    }

    #[tokio::test]
    async fn a_full_share_never_rests() {
        let gate = std::sync::Arc::new(ReportGate::new(1, 100));
        let turn = gate.enter().await;
        let next = waiting_report(&gate).await;
        std::thread::sleep(Duration::from_millis(100));
        let ended = Instant::now();
        drop(turn);
        // A turn of 100 ms at the default 25 % would be followed by 300 ms.
        let rested = next.await.expect("the waiting report runs") - ended;
        assert!(rested < Duration::from_millis(50), "rested {rested:?}");
        assert!(enters_within(&gate, Duration::from_millis(20)).await);
    }

    #[test]
    fn the_share_is_kept_within_one_and_a_hundred_percent() {
        assert_eq!(
            ReportGate::new(1, 0).rest_after(Duration::from_millis(10)),
            Duration::from_millis(990)
        );
        assert_eq!(
            ReportGate::new(1, 250).rest_after(Duration::from_millis(10)),
            Duration::ZERO
        );
    }
}
