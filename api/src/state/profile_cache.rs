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

/// Entries by profile id, each at one version.
type ById<E> = RwLock<HashMap<Uuid, Arc<E>>>;

#[derive(Default)]
pub struct ProfileCache {
    scep: ById<Record<ScepCertificateProfile>>,
    trusted: ById<Record<TrustedCertificateProfile>>,
    trusted_payloads: ById<SharedPayload>,
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
        Ok(fetched.inspect(|record| remember(&self.scep, record.id, record)))
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
        Ok(fetched.inspect(|record| remember(&self.trusted, record.id, record)))
    }

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
        let cached = lookup(&self.trusted_payloads, profile.id, profile.version)
            .filter(|shared| shared.organization == organization);
        if let Some(shared) = cached {
            return Ok(shared.rendered.clone());
        }
        let rendered = payload::trusted_payload(profile, device_id, organization)?;
        let shared = SharedPayload {
            version: profile.version,
            organization: organization.to_owned(),
            rendered: rendered.clone(),
        };
        remember(&self.trusted_payloads, profile.id, &Arc::new(shared));
        Ok(rendered)
    }
}

/// What the cache keeps: something at one version of its profile.
trait Versioned {
    fn version(&self) -> i64;
}

impl<T> Versioned for Record<T> {
    fn version(&self) -> i64 {
        self.version
    }
}

impl Versioned for SharedPayload {
    fn version(&self) -> i64 {
        self.version
    }
}

fn lookup<E: Versioned>(map: &ById<E>, id: Uuid, version: i64) -> Option<Arc<E>> {
    let map = map.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    map.get(&id).filter(|entry| entry.version() == version).cloned()
}

fn remember<E: Versioned>(map: &ById<E>, id: Uuid, entry: &Arc<E>) {
    let mut map = map.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    if map.len() >= MAX_ENTRIES && !map.contains_key(&id) {
        map.clear();
    }
    // Never replace a newer copy with an older one read by a slower request.
    if map
        .get(&id)
        .is_none_or(|cached| cached.version() <= entry.version())
    {
        map.insert(id, Arc::clone(entry));
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
