//! Check-in facts per device, kept while the database's state generation is
//! unchanged.
//!
//! An idle device checks in often and nothing it depends on changes between
//! two check-ins. Every change that could (directory, memberships, profiles,
//! assignments, the certificate ledger, a denied request) moves the
//! database's state generation (migration 0006), which the device-credential
//! lookup reads in the same round trip. While it is the generation an entry
//! was cached at, the entry is exactly what the database would return, so an
//! idle check-in needs that one query. Entries are per instance and need no
//! invalidation messages: several instances on one database each see the
//! generation move.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use scepter_storage::CheckInFacts;
use uuid::Uuid;

/// Devices kept before the cache starts over; bounds memory (an entry is
/// a few kilobytes) at the cost of refetching after a flood of devices.
pub const DEFAULT_CAPACITY: usize = 200_000;

pub struct FactsCache {
    capacity: usize,
    entries: Mutex<HashMap<Uuid, (i64, Arc<CheckInFacts>)>>,
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

    /// The device's facts if they were cached at `generation`.
    pub fn get(&self, device_id: Uuid, generation: i64) -> Option<Arc<CheckInFacts>> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries
            .get(&device_id)
            .filter(|(cached_at, _)| *cached_at == generation)
            .map(|(_, facts)| Arc::clone(facts))
    }

    /// Remembers facts read after the state generation `generation` was read.
    pub fn put(&self, device_id: Uuid, generation: i64, facts: Arc<CheckInFacts>) {
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
            // Keep the entry of a newer generation a concurrent request stored.
            Some((cached_at, _)) if *cached_at > generation => {}
            _ => {
                entries.insert(device_id, (generation, facts));
            }
        }
    }
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

    #[test]
    fn entries_serve_only_their_generation() {
        let cache = FactsCache::default();
        let device = Uuid::new_v4();
        cache.put(device, 7, facts("a"));
        assert!(cache.get(device, 7).is_some());
        assert!(cache.get(device, 8).is_none());
        assert!(cache.get(Uuid::new_v4(), 7).is_none());
    }

    #[test]
    fn an_older_generation_never_replaces_a_newer_one() {
        let cache = FactsCache::default();
        let device = Uuid::new_v4();
        cache.put(device, 9, facts("new"));
        cache.put(device, 8, facts("old"));
        assert_eq!(
            cache.get(device, 9).unwrap().device.content.device.device_name,
            "new"
        );
    }

    #[test]
    fn capacity_bounds_the_entries_and_zero_disables() {
        let cache = FactsCache::with_capacity(2);
        let devices: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        for device in &devices {
            cache.put(*device, 1, facts("x"));
        }
        assert!(cache.get(devices[2], 1).is_some());
        assert!(cache.get(devices[0], 1).is_none(), "started over when full");
        let disabled = FactsCache::with_capacity(0);
        disabled.put(devices[0], 1, facts("x"));
        assert!(disabled.get(devices[0], 1).is_none());
    }
}
