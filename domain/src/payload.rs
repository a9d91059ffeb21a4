//! One device's payload for one profile, assembled the same way wherever a
//! payload is made: at check-in with a real one-time challenge, and in the
//! admin preview with a placeholder that can never verify. The steps — expand
//! the subject and SANs for the device and its user, bind a challenge to that
//! exact name, render the platform's format — live here once, so a preview is
//! byte for byte what a device gets, and the challenge the SCEP server later
//! verifies (`crate::enrollment::judge`, which expands the same name) names
//! what the payload asked for.

use uuid::Uuid;

use crate::{
    challenge::{self, ChallengeClaims, ChallengeKey},
    render::{self, RenderError, Rendered, ScepPayloadInput, TrustedPayloadInput, TrustedProfileRef},
    subject_name::{expand_name, ExpansionError, NameContext},
    Record, ScepCertificateProfile, TrustedCertificateProfile,
};

/// The challenge a SCEP payload carries.
#[derive(Debug, Clone, Copy)]
pub enum Challenge<'a> {
    /// A fresh one-time challenge, signed with `key`, bound to this device,
    /// profile version and expanded name, valid for `lifetime_secs` from `issued_at`.
    Issue {
        key: &'a ChallengeKey,
        /// Unique per challenge (single use is tracked by it).
        id: Uuid,
        issued_at: i64,
        lifetime_secs: i64,
    },
    /// Fixed text that is not a challenge (previews must not hand out enrollment rights).
    Placeholder(&'a str),
}

/// Why a device's SCEP payload cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The device or its user lacks a value the templates need, or a value
    /// is not valid where it goes.
    #[error(transparent)]
    Name(#[from] ExpansionError),
    /// The platform format cannot carry a value.
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// The SCEP payload of `profile` (with its `root`) for one device.
pub fn scep_payload(
    profile: &Record<ScepCertificateProfile>,
    root: &Record<TrustedCertificateProfile>,
    device: &NameContext<'_>,
    organization: &str,
    challenge: Challenge<'_>,
) -> Result<Rendered, PayloadError> {
    scep_payload_with(
        profile,
        root,
        device,
        organization,
        challenge,
        render::render_scep,
    )
}

/// [`scep_payload`] with the last step, rendering, done by `render`: check-in
/// passes a [`render::ScepFrame`] kept per profile version, which gives the
/// same bytes as [`render::render_scep`].
pub fn scep_payload_with(
    profile: &Record<ScepCertificateProfile>,
    root: &Record<TrustedCertificateProfile>,
    device: &NameContext<'_>,
    organization: &str,
    challenge: Challenge<'_>,
    render: impl FnOnce(&ScepPayloadInput<'_>) -> Result<Rendered, RenderError>,
) -> Result<Rendered, PayloadError> {
    let name = expand_name(&profile.content.settings, device)?;
    let issued;
    let challenge = match challenge {
        Challenge::Placeholder(text) => text,
        Challenge::Issue {
            key,
            id,
            issued_at,
            lifetime_secs,
        } => {
            issued = challenge::issue(
                key,
                &ChallengeClaims {
                    id,
                    device_id: device.device_id,
                    profile_id: profile.id,
                    profile_version: profile.version,
                    name_digest: challenge::name_digest(&name),
                    issued_at,
                    expires_at: issued_at + lifetime_secs,
                },
            );
            issued.as_str()
        }
    };
    Ok(render(&ScepPayloadInput {
        profile_id: profile.id,
        profile_version: profile.version,
        profile: &profile.content,
        root: TrustedProfileRef::of(root),
        device_id: device.device_id,
        name: &name,
        challenge,
        organization,
    })?)
}

/// The trusted-certificate payload of `profile` for one device.
pub fn trusted_payload(
    profile: &Record<TrustedCertificateProfile>,
    device_id: Uuid,
    organization: &str,
) -> Result<Rendered, RenderError> {
    render::render_trusted(&TrustedPayloadInput {
        profile: TrustedProfileRef::of(profile),
        device_id,
        organization,
    })
}

#[cfg(test)]
mod tests;
