//! Check-in facts per device, kept while the device's generations are
//! unchanged — with the device's last answer that needed no payload.
//!
//! An idle device checks in often and nothing it depends on changes between
//! two check-ins. Every change that could moves one of two generations
//! (migration 0009), which the device-credential lookup reads in the same
//! round trip: the device's own (its row, memberships, primary user,
//! certificates, enrollment steps) or the policy's (profiles, assignments).
//! While both are those an entry was cached at, the entry is exactly what the
//! database would return, so an idle check-in needs that one query — and a
//! change to one device refreshes only that device's entry. Entries are per
//! instance and need no invalidation messages: several instances on one
//! database each see the generations move.
//!
//! An idle device also sends the same report each time. The answer to it is
//! a function of the facts, the report and the time, so an entry keeps the
//! state tag of the last answer without payloads, with the report's digest
//! and the instant until which time does not change it
//! ([`scepter_domain::checkin::decided_until`]): the same report at the
//! same generations before that instant gets the same tag without being
//! parsed or decided again.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use chrono::{DateTime, Utc};
use scepter_storage::{CheckInFacts, FactsGenerations};
use uuid::Uuid;

/// Devices kept before the cache starts over; bounds memory (an entry is
/// a few kilobytes) at the cost of refetching after a flood of devices.
pub const DEFAULT_CAPACITY: usize = 200_000;

/// An answer without payloads, as check-in decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnchangedAnswer {
    /// SHA-256 of the report's bytes as the device sent them.
    pub report_digest: [u8; 32],
    /// The state tag of the answer.
    pub tag: String,
    /// The tag holds for instants before this one (`None`: until the facts change).
    pub until: Option<DateTime<Utc>>,
}

struct Entry {
    generations: FactsGenerations,
    facts: Arc<CheckInFacts>,
    answer: Option<UnchangedAnswer>,
}

pub struct FactsCache {
    capacity: usize,
    entries: Mutex<HashMap<Uuid, Entry>>,
}

impl Default for FactsCache {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl FactsCache {
    /// A cache of at most `capacity` devices; 0 disables it.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<Uuid, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The device's facts if they were cached at `generations`.
    pub fn get(&self, device_id: Uuid, generations: FactsGenerations) -> Option<Arc<CheckInFacts>> {
        self.entries()
            .get(&device_id)
            .filter(|entry| entry.generations == generations)
            .map(|entry| Arc::clone(&entry.facts))
    }

    /// Remembers facts read after `generations` were read. Facts at the
    /// generations already cached (a refreshed check-in time) keep the
    /// entry's answer: the generations say nothing it depends on changed.
    pub fn put(&self, device_id: Uuid, generations: FactsGenerations, facts: Arc<CheckInFacts>) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= self.capacity && !entries.contains_key(&device_id) {
            entries.clear();
        }
        match entries.get_mut(&device_id) {
            // Keep the entry a concurrent request stored at newer generations.
            Some(entry) if newer(entry.generations, generations) => {}
            Some(entry) if entry.generations == generations => entry.facts = facts,
            _ => {
                entries.insert(
                    device_id,
                    Entry {
                        generations,
                        facts,
                        answer: None,
                    },
                );
            }
        }
    }

    /// Remembers `answer` beside the facts cached at `generations` (if they
    /// still are: an answer is never kept without the facts it came from).
    pub fn remember_answer(&self, device_id: Uuid, generations: FactsGenerations, answer: UnchangedAnswer) {
        if let Some(entry) = self
            .entries()
            .get_mut(&device_id)
            .filter(|entry| entry.generations == generations)
        {
            entry.answer = Some(answer);
        }
    }

    /// The facts and the remembered tag, when the device sends the report
    /// of `report_digest` at the generations of the entry before the tag's
    /// time runs out.
    pub fn unchanged_answer(
        &self,
        device_id: Uuid,
        generations: FactsGenerations,
        report_digest: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Option<(Arc<CheckInFacts>, String)> {
        let entries = self.entries();
        let entry = entries
            .get(&device_id)
            .filter(|entry| entry.generations == generations)?;
        let answer = entry.answer.as_ref().filter(|answer| {
            answer.report_digest == *report_digest && answer.until.is_none_or(|until| now < until)
        })?;
        Some((Arc::clone(&entry.facts), answer.tag.clone()))
    }
}

/// Whether `cached` is past `read` and not behind it in either generation.
/// PostgreSQL's device values come from a sequence and may commit out of
/// order, so this only decides which of two entries to keep; a lookup
/// serves an entry at exactly the generations it was read at.
fn newer(cached: FactsGenerations, read: FactsGenerations) -> bool {
    cached != read && cached.device >= read.device && cached.policy >= read.policy
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use scepter_domain::{directory::Device, targeting::DeviceMemberships, Platform, Record};
    use scepter_storage::{StoredDevice, SubjectFacts};

    fn facts(name: &str) -> Arc<CheckInFacts> {
        let now = Utc::now();
        Arc::new(CheckInFacts {
            subject: SubjectFacts {
                device: Record {
                    id: Uuid::nil(),
                    version: 1,
                    created_at: now,
                    modified_at: now,
                    content: StoredDevice {
                        device: Device {
                            device_name: name.to_owned(),
                            platform: Platform::Android,
                            os_version: None,
                            serial_number: None,
                            imei: None,
                            azure_ad_device_id: None,
                            user_id: None,
                            external_id: None,
                            meid: None,
                            wifi_mac_address: None,
                            fully_qualified_domain_name: None,
                        },
                        last_check_in_at: None,
                    },
                },
                user: None,
                memberships: DeviceMemberships {
                    platform: Platform::Android,
                    has_primary_user: false,
                    device_groups: Default::default(),
                    user_groups: Default::default(),
                },
                profiles: vec![],
            },
            certificates: vec![],
            steps: vec![],
        })
    }

    fn at(device: i64, policy: i64) -> FactsGenerations {
        FactsGenerations { device, policy }
    }

    #[test]
    fn entries_serve_only_their_generations() {
        let cache = FactsCache::default();
        let device = Uuid::new_v4();
        cache.put(device, at(7, 1), facts("a"));
        assert!(cache.get(device, at(7, 1)).is_some());
        assert!(cache.get(device, at(8, 1)).is_none(), "the device changed");
        assert!(cache.get(device, at(7, 2)).is_none(), "the policy changed");
        assert!(cache.get(Uuid::new_v4(), at(7, 1)).is_none());
    }

    #[test]
    fn older_generations_never_replace_newer_ones() {
        let cache = FactsCache::default();
        let device = Uuid::new_v4();
        cache.put(device, at(9, 3), facts("new"));
        cache.put(device, at(8, 3), facts("old device"));
        cache.put(device, at(9, 2), facts("old policy"));
        assert_eq!(
            cache
                .get(device, at(9, 3))
                .unwrap()
                .subject
                .device
                .content
                .device
                .device_name,
            "new"
        );
        cache.put(device, at(8, 4), facts("mixed"));
        assert!(
            cache.get(device, at(8, 4)).is_some(),
            "neither is newer in both: the latest read wins"
        );
    }

    #[test]
    fn capacity_bounds_the_entries_and_zero_disables() {
        let cache = FactsCache::with_capacity(2);
        let devices: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        for device in &devices {
            cache.put(*device, at(1, 1), facts("x"));
        }
        assert!(cache.get(devices[2], at(1, 1)).is_some());
        assert!(
            cache.get(devices[0], at(1, 1)).is_none(),
            "started over when full"
        );
        let disabled = FactsCache::with_capacity(0);
        disabled.put(devices[0], at(1, 1), facts("x"));
        assert!(disabled.get(devices[0], at(1, 1)).is_none());
    }

    fn answer(digest: u8, until: Option<DateTime<Utc>>) -> UnchangedAnswer {
        UnchangedAnswer {
            report_digest: [digest; 32],
            tag: format!("\"tag-{digest}\""),
            until,
        }
    }

    #[test]
    fn an_answer_serves_only_its_report_its_generations_and_its_time() {
        let cache = FactsCache::default();
        let device = Uuid::new_v4();
        let now = Utc::now();
        let until = now + chrono::Duration::seconds(10);
        cache.put(device, at(7, 1), facts("a"));
        cache.remember_answer(device, at(7, 1), answer(1, Some(until)));
        let (facts_served, tag) = cache.unchanged_answer(device, at(7, 1), &[1; 32], now).unwrap();
        assert_eq!(tag, "\"tag-1\"");
        assert_eq!(facts_served.subject.device.content.device.device_name, "a");
        assert!(
            cache.unchanged_answer(device, at(7, 1), &[2; 32], now).is_none(),
            "another report"
        );
        assert!(
            cache.unchanged_answer(device, at(8, 1), &[1; 32], now).is_none(),
            "the device changed"
        );
        assert!(
            cache.unchanged_answer(device, at(7, 2), &[1; 32], now).is_none(),
            "the policy changed"
        );
        assert!(
            cache
                .unchanged_answer(device, at(7, 1), &[1; 32], until)
                .is_none(),
            "time ran out"
        );

        // A refreshed check-in time at the same generations keeps the answer;
        // facts at new generations drop it.
        cache.put(device, at(7, 1), facts("touched"));
        let (touched, _) = cache.unchanged_answer(device, at(7, 1), &[1; 32], now).unwrap();
        assert_eq!(touched.subject.device.content.device.device_name, "touched");
        cache.put(device, at(8, 1), facts("b"));
        assert!(cache.unchanged_answer(device, at(8, 1), &[1; 32], now).is_none());

        // Never kept beside facts of other generations, and without a time
        // limit it holds until the facts change.
        cache.remember_answer(device, at(7, 1), answer(3, None));
        assert!(cache.unchanged_answer(device, at(8, 1), &[3; 32], now).is_none());
        cache.remember_answer(device, at(8, 1), answer(3, None));
        assert!(cache
            .unchanged_answer(device, at(8, 1), &[3; 32], now + chrono::Duration::days(3650))
            .is_some());
    }
}
