//! Retention: which rows of the append-only tables the periodic sweep may
//! delete at a given moment, so `events`, `scep_transactions` and
//! `used_challenges` stay bounded.
//!
//! The one idea: a row may go once nothing can still need it, judged with
//! margins for the clocks of other instances.
//! - **Events** are the audit trail; they go once older than the retention.
//! - **SCEP transactions** (requests the policy module allowed) are *finished*
//!   when notified — the certificate is in the ledger, which keeps the
//!   transaction id — or, never notified, when abandoned: older than the
//!   retention, long past any CA that queues requests for manual approval.
//!   A notified one is kept for [`NOTIFY_RETRY_WINDOW`] so a connector that
//!   repeats a notification it did not see answered still gets the
//!   idempotent answer instead of "unknown transaction". Denied requests
//!   leave no transaction (only an event).
//! - **Used-challenge ids** make a challenge single-use. Verification rejects
//!   an expired challenge before it looks at them, but by the verifying
//!   instance's clock: an id purged the moment it expires by one clock could
//!   verify a second time on an instance whose clock lags. Ids are kept for a
//!   whole challenge lifetime plus [`CLOCK_SKEW_MARGIN`] past their expiry.

use chrono::{DateTime, Duration, Utc};

/// How far apart instances' clocks may be.
pub const CLOCK_SKEW_MARGIN: Duration = Duration::minutes(10);

/// How long a notified transaction stays, for repeated notifications.
pub const NOTIFY_RETRY_WINDOW: Duration = Duration::days(7);

/// Default [`RetentionPolicy::retention_days`].
pub const DEFAULT_RETENTION_DAYS: u32 = 90;

/// The deployment's retention settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Days events, audit entries and abandoned transactions are kept; 0 keeps them forever.
    pub retention_days: u32,
    /// Seconds a challenge stays valid (the challenge TTL setting).
    pub challenge_lifetime_secs: i64,
}

/// The instants before which rows may be deleted (`None`: keep all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeCutoffs {
    /// Events that occurred before this.
    pub events_before: Option<DateTime<Utc>>,
    /// Notified transactions verified before this.
    pub notified_transactions_before: Option<DateTime<Utc>>,
    /// Transactions never notified, verified before this.
    pub abandoned_transactions_before: Option<DateTime<Utc>>,
    /// Used-challenge ids whose challenge expired before this.
    pub used_challenges_expired_before: DateTime<Utc>,
}

impl RetentionPolicy {
    pub fn cutoffs(&self, now: DateTime<Utc>) -> PurgeCutoffs {
        let retention = (self.retention_days > 0).then(|| Duration::days(i64::from(self.retention_days)));
        let retained_before = retention.map(|retention| now - retention);
        PurgeCutoffs {
            events_before: retained_before,
            // Never later than the abandoned cut-off: a short retention also
            // shortens the retry window, never the other way round.
            notified_transactions_before: retention.map(|retention| now - retention.min(NOTIFY_RETRY_WINDOW)),
            abandoned_transactions_before: retained_before,
            used_challenges_expired_before: now
                - Duration::seconds(self.challenge_lifetime_secs.max(0))
                - CLOCK_SKEW_MARGIN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn events_and_abandoned_transactions_are_kept_for_the_retention() {
        let cutoffs = RetentionPolicy {
            retention_days: 90,
            challenge_lifetime_secs: 3600,
        }
        .cutoffs(now());
        assert_eq!(cutoffs.events_before, Some(now() - Duration::days(90)));
        assert_eq!(
            cutoffs.abandoned_transactions_before,
            Some(now() - Duration::days(90))
        );
        assert_eq!(
            cutoffs.notified_transactions_before,
            Some(now() - NOTIFY_RETRY_WINDOW)
        );
    }

    #[test]
    fn a_short_retention_also_shortens_the_notify_retry_window() {
        let cutoffs = RetentionPolicy {
            retention_days: 2,
            challenge_lifetime_secs: 3600,
        }
        .cutoffs(now());
        assert_eq!(
            cutoffs.notified_transactions_before,
            Some(now() - Duration::days(2))
        );
    }

    #[test]
    fn zero_retention_keeps_events_and_transactions() {
        let cutoffs = RetentionPolicy {
            retention_days: 0,
            challenge_lifetime_secs: 3600,
        }
        .cutoffs(now());
        assert_eq!(cutoffs.events_before, None);
        assert_eq!(cutoffs.notified_transactions_before, None);
        assert_eq!(cutoffs.abandoned_transactions_before, None);
    }

    #[test]
    fn used_challenge_ids_outlive_expiry_by_a_lifetime_and_the_skew_margin() {
        for lifetime in [60, 3600, 7 * 24 * 3600] {
            let cutoffs = RetentionPolicy {
                retention_days: 90,
                challenge_lifetime_secs: lifetime,
            }
            .cutoffs(now());
            // A challenge that expired just now, or even a lifetime plus
            // nine minutes ago, is still remembered.
            let recent = now() - Duration::seconds(lifetime) - Duration::minutes(9);
            assert!(recent > cutoffs.used_challenges_expired_before);
            assert!(now() > cutoffs.used_challenges_expired_before);
            assert_eq!(
                cutoffs.used_challenges_expired_before,
                now() - Duration::seconds(lifetime) - CLOCK_SKEW_MARGIN
            );
        }
    }
}
