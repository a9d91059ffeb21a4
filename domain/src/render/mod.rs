//! Platform payloads: what a device installs. Pure functions from a profile,
//! its root, the device and a challenge to the exact bytes a device gets.
//!
//! - iOS / macOS: a `.mobileconfig` XML property list ([`apple`]).
//! - Windows: OMA-DM 1.2 SyncML for the ClientCertificateInstall and
//!   RootCATrustedCertificates CSPs ([`windows`]).
//! - Android: Scepter's JSON document, schema `openapi/android-payload.schema.json` ([`android`]).

pub mod android;
pub mod apple;
pub mod windows;

pub use apple::frame::ScepFrame;

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    scep_profile::ScepServerUrl,
    subject_name::{AttributeValue, ExpandedName, Subject},
    Platform, ScepCertificateProfile, TrustedCertificateProfile,
};

/// A trusted certificate profile as identified in payloads.
#[derive(Debug, Clone, Copy)]
pub struct TrustedProfileRef<'a> {
    pub id: Uuid,
    pub version: i64,
    pub profile: &'a TrustedCertificateProfile,
}

impl<'a> TrustedProfileRef<'a> {
    /// The stored profile, with the id and version its payload identifiers derive from.
    pub fn of(record: &'a crate::Record<crate::TrustedCertificateProfile>) -> Self {
        Self {
            id: record.id,
            version: record.version,
            profile: &record.content,
        }
    }
}

/// Everything a SCEP payload is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct ScepPayloadInput<'a> {
    pub profile_id: Uuid,
    pub profile_version: i64,
    pub profile: &'a ScepCertificateProfile,
    /// The profile's root; its certificate is installed with the SCEP payload.
    pub root: TrustedProfileRef<'a>,
    pub device_id: Uuid,
    /// The subject and SANs expanded for this device and its user.
    pub name: &'a ExpandedName,
    /// The one-time SCEP challenge.
    pub challenge: &'a str,
    /// Shown as `PayloadOrganization` and similar.
    pub organization: &'a str,
}

/// Everything a trusted-certificate payload is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct TrustedPayloadInput<'a> {
    pub profile: TrustedProfileRef<'a>,
    pub device_id: Uuid,
    pub organization: &'a str,
}

/// A rendered payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// `application/x-apple-aspen-config`, `application/vnd.syncml.dm+xml` or `application/json`.
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// Settings the platform cannot express, which the payload leaves out.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("the payload could not be encoded: {0}")]
    Encoding(String),
}

pub const APPLE_CONTENT_TYPE: &str = "application/x-apple-aspen-config";
pub const SYNCML_CONTENT_TYPE: &str = "application/vnd.syncml.dm+xml";
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// The SCEP server URLs in the order this device should use them: starting
/// at a position chosen by a hash of the device id, then wrapping around.
/// Deterministic, so a device's SCEP requests and retries go to one server
/// while the fleet spreads over all of them; Apple takes only the first.
pub fn urls_for_device(urls: &[ScepServerUrl], device_id: Uuid) -> Vec<&ScepServerUrl> {
    if urls.is_empty() {
        return Vec::new();
    }
    let digest = Sha256::digest(device_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let start = (u64::from_be_bytes(first) % urls.len() as u64) as usize;
    urls[start..].iter().chain(&urls[..start]).collect()
}

/// The subject's RDNs in order, each attribute as `attribute` encodes it;
/// an empty RDN, which X.500 cannot encode, is an error.
fn subject_rdns<'a, T>(
    subject: &'a Subject,
    attribute: impl Fn(&'a AttributeValue) -> T,
) -> Result<Vec<Vec<T>>, RenderError> {
    subject
        .0
        .iter()
        .map(|rdn| {
            if rdn.0.is_empty() {
                return Err(RenderError::Encoding(
                    "the subject has an empty RDN, which X.500 cannot encode".to_owned(),
                ));
            }
            Ok(rdn.0.iter().map(&attribute).collect())
        })
        .collect()
}

/// Renders the SCEP payload (with its root) for the profile's platform.
pub fn render_scep(input: &ScepPayloadInput<'_>) -> Result<Rendered, RenderError> {
    match input.profile.platform {
        Platform::Ios | Platform::Macos => apple::render_scep(input),
        Platform::Windows10 | Platform::Windows81 | Platform::WindowsPhone81 => windows::render_scep(input),
        Platform::Android => android::render_scep(input),
    }
}

/// Renders the trusted-certificate payload for the profile's platform.
pub fn render_trusted(input: &TrustedPayloadInput<'_>) -> Result<Rendered, RenderError> {
    match input.profile.profile.platform {
        Platform::Ios | Platform::Macos => apple::render_trusted(input),
        Platform::Windows10 | Platform::Windows81 | Platform::WindowsPhone81 => {
            windows::render_trusted(input)
        }
        Platform::Android => android::render_trusted(input),
    }
}

/// Whether a trusted profile's payload is the same bytes for every device of
/// `platform`, so that it can be rendered once per profile version and
/// organization: Apple and Android payloads name only the profile, a Windows
/// SyncML message is addressed to its device (`Target`).
pub fn trusted_payload_is_shared(platform: Platform) -> bool {
    match platform {
        Platform::Ios | Platform::Macos | Platform::Android => true,
        Platform::Windows10 | Platform::Windows81 | Platform::WindowsPhone81 => false,
    }
}

#[cfg(test)]
mod formats_tests;
#[cfg(test)]
mod test_support;
