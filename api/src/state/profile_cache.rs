//! Profiles by id *and version*, kept in memory.
//!
//! Check-in reads every profile that reaches a device on each request, but
//! profiles change rarely and carry a version that changes with every write.
//! Targeting facts already name each profile's current version, so a cached
//! copy is used only when its version is exactly the one the facts name;
//! anything else is read again. That keeps the cache correct across several
//! instances on one database without any invalidation messages.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use scepter_domain::{Record, ScepCertificateProfile, TrustedCertificateProfile};
use scepter_storage::{StorageError, Store};
use uuid::Uuid;

/// Entries kept per kind before the cache starts over (profiles number in
/// the hundreds; this only bounds memory against a pathological database).
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct ProfileCache {
    scep: RwLock<HashMap<Uuid, Arc<Record<ScepCertificateProfile>>>>,
    trusted: RwLock<HashMap<Uuid, Arc<Record<TrustedCertificateProfile>>>>,
}

impl ProfileCache {
    /// The SCEP profile at `version` (or newer, when it changed meanwhile); `None` when deleted.
    pub async fn scep(
        &self,
        store: &dyn Store,
        id: Uuid,
        version: i64,
    ) -> Result<Option<Arc<Record<ScepCertificateProfile>>>, StorageError> {
        if let Some(hit) = lookup(&self.scep, id, version) {
            return Ok(Some(hit));
        }
        let fetched = store.scep_profile(id).await?.map(Arc::new);
        Ok(fetched.inspect(|record| remember(&self.scep, record)))
    }

    /// The trusted profile at `version` (or newer); `None` when deleted.
    pub async fn trusted(
        &self,
        store: &dyn Store,
        id: Uuid,
        version: i64,
    ) -> Result<Option<Arc<Record<TrustedCertificateProfile>>>, StorageError> {
        if let Some(hit) = lookup(&self.trusted, id, version) {
            return Ok(Some(hit));
        }
        let fetched = store.trusted_profile(id).await?.map(Arc::new);
        Ok(fetched.inspect(|record| remember(&self.trusted, record)))
    }
}

fn lookup<T>(map: &RwLock<HashMap<Uuid, Arc<Record<T>>>>, id: Uuid, version: i64) -> Option<Arc<Record<T>>> {
    let map = map.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    map.get(&id).filter(|record| record.version == version).cloned()
}

fn remember<T>(map: &RwLock<HashMap<Uuid, Arc<Record<T>>>>, record: &Arc<Record<T>>) {
    let mut map = map.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    if map.len() >= MAX_ENTRIES && !map.contains_key(&record.id) {
        map.clear();
    }
    // Never replace a newer copy with an older one read by a slower request.
    if map
        .get(&record.id)
        .is_none_or(|cached| cached.version <= record.version)
    {
        map.insert(record.id, Arc::clone(record));
    }
}
