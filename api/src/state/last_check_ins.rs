//! `lastCheckInDateTime`, written behind the check-ins that observe it.
//!
//! An idle check-in is one read. Writing the time it observed on the request
//! path would add a durable commit per device and minute — at fleet scale
//! thousands of commits a minute competing with the reads. Check-ins note
//! the time here instead; [`super::write_behind`] writes every noted device
//! in one statement per thousand devices each second, and
//! [`crate::http::Application::run`] flushes once more on shutdown. The
//! statement never moves a time backwards, so several instances, or a flush
//! that overtakes another, keep the newest value. A crash loses at most one
//! interval of observations — times, never admin changes.

use std::{collections::HashMap, sync::Mutex};

use chrono::{DateTime, Utc};
use scepter_storage::{StorageError, Store};
use uuid::Uuid;

/// The check-in times noted since the last flush, newest per device.
#[derive(Default)]
pub struct LastCheckIns {
    pending: Mutex<HashMap<Uuid, DateTime<Utc>>>,
}

impl LastCheckIns {
    /// Remembers that `device_id` checked in at `at` (the newest time wins).
    pub fn note(&self, device_id: Uuid, at: DateTime<Utc>) {
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        pending
            .entry(device_id)
            .and_modify(|noted| *noted = (*noted).max(at))
            .or_insert(at);
    }

    /// Writes every noted time; on failure they are noted again for the next flush.
    pub async fn flush(&self, store: &dyn Store) -> Result<usize, StorageError> {
        let seen: Vec<(Uuid, DateTime<Utc>)> = {
            let mut pending = self
                .pending
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            std::mem::take(&mut *pending).into_iter().collect()
        };
        if seen.is_empty() {
            return Ok(0);
        }
        match store.record_last_check_ins(&seen).await {
            Ok(()) => Ok(seen.len()),
            Err(error) => {
                for (device_id, at) in seen {
                    self.note(device_id, at);
                }
                Err(error)
            }
        }
    }

    /// How many devices wait to be written.
    pub fn pending(&self) -> usize {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn the_newest_time_per_device_wins() {
        let times = LastCheckIns::default();
        let device = Uuid::new_v4();
        let now = Utc::now();
        times.note(device, now);
        times.note(device, now - Duration::seconds(5));
        times.note(Uuid::new_v4(), now);
        let pending = times.pending.lock().unwrap();
        assert_eq!(pending.len(), 2);
        assert_eq!(pending[&device], now);
    }
}
