//! Check-in facts per device, kept while the device's generations are
//! unchanged.
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

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use scepter_storage::{CheckInFacts, FactsGenerations};
use uuid::Uuid;

/// Devices kept before the cache starts over; bounds memory (an entry is
/// a few kilobytes) at the cost of refetching after a flood of devices.
pub const DEFAULT_CAPACITY: usize = 200_000;

pub struct FactsCache {
    capacity: usize,
    entries: Mutex<HashMap<Uuid, (FactsGenerations, Arc<CheckInFacts>)>>,
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

    /// The device's facts if they were cached at `generations`.
    pub fn get(&self, device_id: Uuid, generations: FactsGenerations) -> Option<Arc<CheckInFacts>> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries
            .get(&device_id)
            .filter(|(cached_at, _)| *cached_at == generations)
            .map(|(_, facts)| Arc::clone(facts))
    }

    /// Remembers facts read after `generations` were read.
    pub fn put(&self, device_id: Uuid, generations: FactsGenerations, facts: Arc<CheckInFacts>) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&device_id) {
            entries.clear();
        }
        match entries.get(&device_id) {
            // Keep the entry a concurrent request stored at newer generations.
            Some((cached_at, _)) if newer(*cached_at, generations) => {}
            _ => {
                entries.insert(device_id, (generations, facts));
            }
        }
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
    use scepter_storage::StoredDevice;

    fn facts(name: &str) -> Arc<CheckInFacts> {
        let now = Utc::now();
        Arc::new(CheckInFacts {
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
}
