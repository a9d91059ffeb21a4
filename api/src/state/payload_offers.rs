//! The SCEP payloads check-ins hand out, written behind the requests.
//!
//! Every changed check-in hands out a payload per SCEP profile, and the
//! enrollment timeline shows each one. Recording them on the request path
//! cost a durable commit per payload — more than rendering them — so
//! check-ins note them here and [`super::write_behind`] writes everything
//! noted in one statement per thousand offers each second, committed as an
//! observation. The timeline flushes first (see
//! [`crate::service::timeline`]), so an admin reading it on this instance
//! sees every offer this instance made; another instance's arrive within
//! the second. A crash loses at most the last second of offers: history for
//! diagnosis, never an admin change or a certificate.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Mutex,
};

use scepter_storage::{PayloadOffer, StorageError, Store};

/// Offers held at most while the database cannot take them; beyond it new
/// offers are dropped (and counted) rather than growing without bound.
pub const MAX_PENDING: usize = 100_000;

/// Offers noted since the last flush, oldest first.
#[derive(Default)]
pub struct PayloadOffers {
    pending: Mutex<Vec<PayloadOffer>>,
    dropped: AtomicU64,
}

impl PayloadOffers {
    /// Remembers the offers of one check-in, unless [`MAX_PENDING`] are waiting.
    pub fn note(&self, offers: &[PayloadOffer]) {
        if offers.is_empty() {
            return;
        }
        let mut pending = self.lock();
        let room = MAX_PENDING.saturating_sub(pending.len());
        let taken = offers.len().min(room);
        pending.extend_from_slice(&offers[..taken]);
        let dropped = (offers.len() - taken) as u64;
        if dropped > 0 {
            self.dropped.fetch_add(dropped, Ordering::Relaxed);
        }
    }

    /// Writes every noted offer; on failure they wait for the next flush.
    pub async fn flush(&self, store: &dyn Store) -> Result<usize, StorageError> {
        let offers = std::mem::take(&mut *self.lock());
        if offers.is_empty() {
            return Ok(0);
        }
        match store.record_payload_offers(&offers).await {
            Ok(()) => Ok(offers.len()),
            Err(error) => {
                // Back in front of what arrived meanwhile, so the order stays;
                // what then no longer fits is dropped as `note` drops it.
                let arrived = std::mem::replace(&mut *self.lock(), offers);
                self.note(&arrived);
                Err(error)
            }
        }
    }

    /// How many offers wait to be written.
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    /// How many offers were dropped because too many were waiting.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PayloadOffer>> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use uuid::Uuid;

    fn offer() -> PayloadOffer {
        PayloadOffer {
            device_id: Uuid::new_v4(),
            profile_id: Uuid::new_v4(),
            profile_version: 1,
            scep_server_urls: vec!["https://ndes.example.com/certsrv/mscep/mscep.dll".into()],
            challenge_expires_at: Utc::now(),
            offered_at: Utc::now(),
        }
    }

    #[test]
    fn offers_wait_in_order_and_beyond_the_bound_are_counted_not_kept() {
        let offers = PayloadOffers::default();
        let first = offer();
        offers.note(&[first.clone(), offer()]);
        assert_eq!(offers.pending(), 2);
        assert_eq!(offers.lock()[0], first);
        let many: Vec<PayloadOffer> = (0..MAX_PENDING).map(|_| offer()).collect();
        offers.note(&many);
        assert_eq!(offers.pending(), MAX_PENDING);
        assert_eq!(offers.dropped(), 2);
    }
}
