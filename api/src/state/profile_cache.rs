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
//! A SCEP payload differs per device only in a few strings, so its frame
//! ([`ScepFrame`]) is kept per profile version, root version and name shape,
//! and a check-in writes the device's strings into it.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use scepter_domain::{
    payload,
    render::{self, RenderError, Rendered, ScepFrame, ScepPayloadInput},
    Record, ScepCertificateProfile, TrustedCertificateProfile,
};
use scepter_storage::{StorageError, Store};
use uuid::Uuid;

/// Entries kept per kind before the cache starts over (profiles number in
/// the hundreds; this only bounds memory against a pathological database).
const MAX_ENTRIES: usize = 10_000;

/// Frames kept per SCEP profile: one per name shape its devices have
/// (usually one; more only when some devices lack an optional part).
const MAX_FRAMES_PER_PROFILE: usize = 8;

/// Frames kept in all before the frames start over: a frame is about the
/// size of its payload (a few kilobytes with the root certificate), so this
/// bounds them to some megabytes, whatever the number of profiles.
const MAX_FRAMES: usize = 2_000;

/// Entries by profile id, each at one version.
type ById<E> = RwLock<HashMap<Uuid, Arc<E>>>;

#[derive(Default)]
pub struct ProfileCache {
    scep: ById<Record<ScepCertificateProfile>>,
    trusted: ById<Record<TrustedCertificateProfile>>,
    trusted_payloads: ById<SharedPayload>,
    /// By SCEP profile id, all at the newest versions seen.
    scep_frames: RwLock<HashMap<Uuid, Vec<Arc<ScepFrame>>>>,
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

    /// Exactly [`render::render_scep`] of `input`, written into the frame
    /// kept for its profile version, root version and name shape (made from
    /// this input when there is none yet).
    pub fn render_scep(&self, input: &ScepPayloadInput<'_>) -> Result<Rendered, RenderError> {
        let kept = {
            let frames = self
                .scep_frames
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            frames
                .get(&input.profile_id)
                .and_then(|frames| frames.iter().find(|frame| frame.fits(input)).cloned())
        };
        match kept {
            Some(frame) => frame.render(input),
            None => {
                let frame = ScepFrame::new(input);
                let rendered = frame.render(input);
                self.keep_frame(input.profile_id, frame);
                rendered
            }
        }
    }

    /// Keeps `frame` beside the profile's other name shapes at the same
    /// versions; a frame of newer versions replaces them, one of older
    /// versions (from a request that read its facts before a change) is not kept.
    fn keep_frame(&self, profile_id: Uuid, frame: ScepFrame) {
        let mut frames = self
            .scep_frames
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if frames.values().map(Vec::len).sum::<usize>() >= MAX_FRAMES {
            frames.clear();
        }
        let kept = frames.entry(profile_id).or_default();
        let versions = frame.versions();
        if kept.iter().any(|other| other.versions() > versions) {
            return;
        }
        kept.retain(|other| other.versions() == versions);
        if kept.len() < MAX_FRAMES_PER_PROFILE && !kept.iter().any(|other| **other == frame) {
            kept.push(Arc::new(frame));
        }
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
    use scepter_domain::{
        scep_profile::{
            CertificateType, KeyUsage, SanType, ScepProfileContext, SubjectAlternativeName, SubjectNameFormat,
        },
        subject_name::{AttributeValue, ExpandedName, ExpandedSan, NameAttribute, Rdn, Subject},
        Platform, ScepCertificateProfileDraft, TrustedCertificateProfileDraft,
    };

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

    fn scep(root: &Record<TrustedCertificateProfile>, version: i64) -> Record<ScepCertificateProfile> {
        let draft = ScepCertificateProfileDraft {
            display_name: format!("Wi-Fi v{version}"),
            description: None,
            platform: root.content.platform,
            certificate_type: CertificateType::User,
            certificate_validity_period_value: None,
            certificate_validity_period_scale: None,
            key_storage_provider: None,
            subject_name_format: SubjectNameFormat::Custom,
            subject_name_format_string: Some("CN={{UserName}},OU=Mobile".to_owned()),
            custom_subject_alternative_names: vec![SubjectAlternativeName {
                san_type: SanType::UserPrincipalName,
                name: "{{UserPrincipalName}}".to_owned(),
            }],
            key_usage: vec![KeyUsage::DigitalSignature],
            key_size: 2048,
            hash_algorithm: None,
            root_certificate_id: root.id,
            extended_key_usages: None,
            renewal_threshold_percentage: None,
            scep_server_urls: vec![
                "https://ndes1.contoso.example/certsrv/mscep/mscep.dll".to_owned(),
                "https://ndes2.contoso.example/certsrv/mscep/mscep.dll".to_owned(),
            ],
        };
        let context = ScepProfileContext {
            allow_http_scep_urls: false,
            root_platform: Some(root.content.platform),
        };
        let at = chrono::Utc::now();
        Record {
            id: Uuid::from_u128(0x5ce9),
            version,
            created_at: at,
            modified_at: at,
            content: ScepCertificateProfile::parse(draft, &context).expect("a valid SCEP profile"),
        }
    }

    fn name(user: &str, with_san: bool) -> ExpandedName {
        ExpandedName {
            subject: Subject(vec![
                Rdn(vec![AttributeValue {
                    attribute: NameAttribute::CommonName,
                    value: user.to_owned(),
                }]),
                Rdn(vec![AttributeValue {
                    attribute: NameAttribute::OrganizationalUnit,
                    value: "Mobile".to_owned(),
                }]),
            ]),
            subject_alternative_names: if with_san {
                vec![ExpandedSan {
                    san_type: SanType::UserPrincipalName,
                    value: format!("{user}@contoso.example"),
                }]
            } else {
                Vec::new()
            },
        }
    }

    fn input<'a>(
        profile: &'a Record<ScepCertificateProfile>,
        root: &'a Record<TrustedCertificateProfile>,
        device: u128,
        name: &'a ExpandedName,
        challenge: &'a str,
    ) -> ScepPayloadInput<'a> {
        ScepPayloadInput {
            profile_id: profile.id,
            profile_version: profile.version,
            profile: &profile.content,
            root: render::TrustedProfileRef::of(root),
            device_id: Uuid::from_u128(device),
            name,
            challenge,
            organization: "Contoso",
        }
    }

    #[test]
    fn a_scep_payload_written_into_a_kept_frame_is_the_full_rendering() {
        let cache = ProfileCache::default();
        let root = root(Platform::Ios, 1, "Root A");
        let (first, second) = (scep(&root, 1), scep(&root, 2));
        let (jane, john, bare) = (name("jane & <co>", true), name("john", true), name("ann", false));
        let cases = [
            (&first, 1, &jane, "challenge-1"),
            (&first, 2, &john, "challenge-2"),
            (&first, 3, &bare, "challenge-3"),
            (&second, 4, &john, "challenge-4"),
            (&first, 5, &jane, "challenge-5"),
            (&second, 6, &bare, "challenge-6"),
        ];
        for (profile, device, name, challenge) in cases {
            let input = input(profile, &root, device, name, challenge);
            assert_eq!(cache.render_scep(&input), render::render_scep(&input));
        }
        let frames = cache.scep_frames.read().unwrap();
        let kept = &frames[&first.id];
        assert_eq!(
            kept.iter().map(|frame| frame.versions()).collect::<Vec<_>>(),
            vec![(2, 1), (2, 1)],
            "the newer version's two name shapes, and nothing of the version it replaced"
        );
        assert!(kept.iter().all(|frame| frame.is_cut()));
    }
}
