//! Profiles by id *and version*, kept in memory.
//!
//! Check-in reads every profile that reaches a device on each request, but
//! profiles change rarely and carry a version that changes with every write.
//! Targeting facts already name each profile's current version, so a cached
//! copy is used only when its version is exactly the one the facts name;
//! anything else is read again. That keeps the cache correct across several
//! instances on one database without any invalidation messages.
//!
//! A trusted profile's payload is the same for every device of most
//! platforms, so it is also kept, rendered, per version: a check-in that
//! installs roots copies it instead of rendering the certificate again.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use scepter_domain::{
    payload,
    render::{self, RenderError, Rendered},
    Record, ScepCertificateProfile, TrustedCertificateProfile,
};
use scepter_storage::{StorageError, Store};
use uuid::Uuid;

/// Entries kept per kind before the cache starts over (profiles number in
/// the hundreds; this only bounds memory against a pathological database).
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct ProfileCache {
    scep: RwLock<HashMap<Uuid, Arc<Record<ScepCertificateProfile>>>>,
    trusted: RwLock<HashMap<Uuid, Arc<Record<TrustedCertificateProfile>>>>,
    trusted_payloads: RwLock<HashMap<Uuid, Arc<SharedPayload>>>,
}

/// A trusted profile's payload as every device of its platform gets it.
struct SharedPayload {
    version: i64,
    organization: String,
    rendered: Rendered,
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

impl ProfileCache {
    /// The payload of trusted `profile` for `device_id`: rendered once per
    /// version and organization where every device gets the same bytes
    /// ([`render::trusted_payload_is_shared`]), for each device elsewhere.
    pub fn trusted_payload(
        &self,
        profile: &Record<TrustedCertificateProfile>,
        device_id: Uuid,
        organization: &str,
    ) -> Result<Rendered, RenderError> {
        if !render::trusted_payload_is_shared(profile.content.platform) {
            return payload::trusted_payload(profile, device_id, organization);
        }
        let cached = self
            .trusted_payloads
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&profile.id)
            .filter(|shared| shared.version == profile.version && shared.organization == organization)
            .cloned();
        if let Some(shared) = cached {
            return Ok(shared.rendered.clone());
        }
        let rendered = payload::trusted_payload(profile, device_id, organization)?;
        let mut payloads = self
            .trusted_payloads
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if payloads.len() >= MAX_ENTRIES && !payloads.contains_key(&profile.id) {
            payloads.clear();
        }
        if payloads
            .get(&profile.id)
            .is_none_or(|cached| cached.version <= profile.version)
        {
            payloads.insert(
                profile.id,
                Arc::new(SharedPayload {
                    version: profile.version,
                    organization: organization.to_owned(),
                    rendered: rendered.clone(),
                }),
            );
        }
        Ok(rendered)
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

#[cfg(test)]
mod tests {
    use scepter_domain::{Platform, TrustedCertificateProfileDraft};

    use super::*;

    const ROOT_CA: &str = include_str!("../../../domain/tests/fixtures/root-ca.pem");

    fn root(platform: Platform, version: i64, name: &str) -> Record<TrustedCertificateProfile> {
        let content = TrustedCertificateProfile::parse(TrustedCertificateProfileDraft {
            display_name: name.to_owned(),
            description: None,
            platform,
            cert_file_name: None,
            trusted_root_certificate: ROOT_CA.to_owned(),
            destination_store: None,
            issuing_certificates: None,
        })
        .expect("a valid trusted profile");
        let at = chrono::Utc::now();
        Record {
            id: Uuid::from_u128(u128::from(platform as u8) + 1),
            version,
            created_at: at,
            modified_at: at,
            content,
        }
    }

    #[test]
    fn a_shared_trusted_payload_is_what_rendering_gives_at_that_version() {
        let cache = ProfileCache::default();
        let render = |profile: &Record<TrustedCertificateProfile>, organization: &str| {
            payload::trusted_payload(profile, Uuid::new_v4(), organization).unwrap()
        };
        let first = root(Platform::Ios, 1, "Root A");
        let rendered = cache.trusted_payload(&first, Uuid::new_v4(), "Contoso").unwrap();
        assert_eq!(rendered, render(&first, "Contoso"));
        assert_eq!(
            cache.trusted_payload(&first, Uuid::new_v4(), "Contoso").unwrap(),
            rendered
        );

        let second = root(Platform::Ios, 2, "Root B");
        let renamed = cache.trusted_payload(&second, Uuid::new_v4(), "Contoso").unwrap();
        assert_eq!(renamed, render(&second, "Contoso"));
        assert_ne!(renamed, rendered);
        assert_eq!(
            cache.trusted_payload(&first, Uuid::new_v4(), "Contoso").unwrap(),
            rendered,
            "an older version is rendered at its own version"
        );
        assert_eq!(
            cache
                .trusted_payload(&second, Uuid::new_v4(), "Fabrikam")
                .unwrap(),
            render(&second, "Fabrikam")
        );
    }

    #[test]
    fn a_per_device_trusted_payload_is_rendered_for_each_device() {
        let cache = ProfileCache::default();
        let windows = root(Platform::Windows10, 1, "Root W");
        let (one, other) = (Uuid::new_v4(), Uuid::new_v4());
        let for_one = cache.trusted_payload(&windows, one, "Contoso").unwrap();
        assert_eq!(
            for_one,
            payload::trusted_payload(&windows, one, "Contoso").unwrap()
        );
        assert_eq!(
            cache.trusted_payload(&windows, other, "Contoso").unwrap(),
            payload::trusted_payload(&windows, other, "Contoso").unwrap()
        );
        assert_ne!(
            cache.trusted_payload(&windows, other, "Contoso").unwrap(),
            for_one
        );
    }
}
