//! Observations written behind the requests that made them: check-in times
//! ([`LastCheckIns`]) and the payloads handed out ([`PayloadOffers`]).
//!
//! Both are facts the service saw, not changes anyone asked for, and both
//! are made at the check-in rate; one task writes what accumulated each
//! [`FLUSH_INTERVAL`] in a few bulk statements, and the server writes the
//! rest once more when it stops gracefully.

use std::{sync::Arc, time::Duration};

use scepter_storage::{StorageError, Store};

use super::{last_check_ins::LastCheckIns, payload_offers::PayloadOffers};

/// How long a noted observation may wait before it is written.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// What waits to be written.
#[derive(Default)]
pub struct WriteBehind {
    pub last_check_ins: LastCheckIns,
    pub payload_offers: PayloadOffers,
}

impl WriteBehind {
    /// Writes everything noted; each kind is tried even when the other
    /// fails (the first error is returned, the unwritten rest stays noted).
    pub async fn flush(&self, store: &dyn Store) -> Result<(), StorageError> {
        let times = self.last_check_ins.flush(store).await;
        let offers = self.payload_offers.flush(store).await;
        times.and(offers).map(|_| ())
    }
}

/// Flushes every [`FLUSH_INTERVAL`] until the task is dropped.
pub async fn flush_periodically(write_behind: Arc<WriteBehind>, store: Arc<dyn Store>) {
    let mut interval = tokio::time::interval(FLUSH_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if let Err(error) = write_behind.flush(store.as_ref()).await {
            tracing::warn!(
                %error,
                check_in_times = write_behind.last_check_ins.pending(),
                payload_offers = write_behind.payload_offers.pending(),
                payload_offers_dropped = write_behind.payload_offers.dropped(),
                "writing observations failed; retrying"
            );
        }
    }
}
