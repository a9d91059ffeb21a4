//! The SCEP server's policy decision — may this certificate request be
//! issued? — as pure functions over facts the caller read.
//!
//! The checks run cheapest and most hostile-proof first, so that noise, a
//! forged or a replayed challenge costs nothing but a signature check and
//! one lookup, and never reaches the parts that compare or record names:
//!
//! 1. [`screen_challenge`]: a challenge is present (in the request or the
//!    CSR's challengePassword), authentic and unexpired. The caller then
//!    looks the challenge id up in the used-challenge ledger and denies a
//!    replay ([`DenyReason::ChallengeReplayed`]) before parsing the CSR.
//! 2. [`judge`], over the parsed CSR and the device's facts, in order: the
//!    device still exists; the profile still reaches it and is at the
//!    version the challenge was issued for; the device's name data still
//!    expands to the name the challenge was bound to; the CSR carries
//!    exactly that subject, then those SANs; it asks for no more than the
//!    profile grants (no CA, no key usage or EKU outside the profile, no
//!    name constraints, no unknown critical extension); its key is at least
//!    the profile's size.
//! 3. The caller records an allowed request atomically with the single-use
//!    mark and the transaction id's binding; losing either race is a denial
//!    ([`DenyReason::ChallengeReplayed`], [`DenyReason::TransactionInUse`]).
//!
//! Denials map onto the seed's events and codes ([`DenyReason::outcome`]):
//! a challenge or request that cannot be read or does not match is
//! `CRPVerifyMetric_Failure` (20502) with `CRPSCEPDeserialize_Failed`
//! (0x00000410); one rejected because its challenge is no longer good —
//! expired, used, or for a profile or name that changed — is
//! `CRPVerifyMetric_Warning` (20501) with `CRPSCEPChallenge_Expired`
//! (0x00000411), whose advice ("retry after obtaining a new challenge") is
//! what the device should do. A [`Denial`]'s detail is written for admins:
//! bounded, free of control characters and of debug formatting, and it
//! never quotes the challenge.

use serde::Serialize;

use crate::{
    challenge::{self, ChallengeClaims, ChallengeError, ChallengeKey},
    csr::CertificateRequest,
    diagnostics::{DiagnosticCode, EventId},
    scep_profile::{KeyUsage, SanType, ScepCertificateProfile},
    subject_name::{expand_name, windows_subject_name, ExpandedName, ExpandedSan, NameContext, Rdn, Subject},
    text::bounded,
};

/// The longest detail a denial records: attacker-supplied text (a CSR's
/// subject, a parser's message) is cut here.
pub const MAX_DETAIL_CHARS: usize = 512;

/// Why a request was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DenyReason {
    /// Neither the request nor the CSR's challengePassword carries a challenge.
    ChallengeMissing,
    /// The challenge is not one Scepter issued (unreadable, forged or altered).
    ChallengeInvalid,
    ChallengeExpired,
    /// The challenge was already used for an allowed request.
    ChallengeReplayed,
    /// The CSR does not parse, its signature does not verify, or it holds
    /// something no profile can request.
    CsrInvalid,
    /// The challenge's device no longer exists.
    DeviceUnknown,
    /// The profile no longer exists or no longer reaches the device.
    NotAssigned,
    /// The profile changed since the challenge was issued.
    ProfileChanged,
    /// The device's or user's attributes changed since the challenge was issued.
    NameChanged,
    /// The CSR's subject is not the one rendered for the device.
    SubjectMismatch,
    /// The CSR's subject alternative names are not the ones rendered for the device.
    SanMismatch,
    /// The CSR's key is smaller than the profile's key size.
    KeyTooSmall,
    /// The CSR asks for an extension the profile does not grant: CA status,
    /// a key usage or extended key usage outside the profile, name
    /// constraints, or an unknown critical extension.
    ExtensionNotAllowed,
    /// The transaction id was already allowed for another device, profile or key.
    TransactionInUse,
}

impl DenyReason {
    /// Every reason, in declaration order.
    pub const ALL: [DenyReason; 14] = [
        DenyReason::ChallengeMissing,
        DenyReason::ChallengeInvalid,
        DenyReason::ChallengeExpired,
        DenyReason::ChallengeReplayed,
        DenyReason::CsrInvalid,
        DenyReason::DeviceUnknown,
        DenyReason::NotAssigned,
        DenyReason::ProfileChanged,
        DenyReason::NameChanged,
        DenyReason::SubjectMismatch,
        DenyReason::SanMismatch,
        DenyReason::KeyTooSmall,
        DenyReason::ExtensionNotAllowed,
        DenyReason::TransactionInUse,
    ];

    /// The reason with this wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.as_str() == name)
    }

    /// The seed's event and diagnostic code for this denial.
    pub fn outcome(self) -> (EventId, DiagnosticCode) {
        use DenyReason::*;
        match self {
            ChallengeExpired | ChallengeReplayed | NotAssigned | ProfileChanged | NameChanged
            | DeviceUnknown => (
                EventId::CrpVerifyMetricWarning,
                DiagnosticCode::CrpScepChallengeExpired,
            ),
            ChallengeMissing | ChallengeInvalid | CsrInvalid | SubjectMismatch | SanMismatch
            | KeyTooSmall | ExtensionNotAllowed | TransactionInUse => (
                EventId::CrpVerifyMetricFailure,
                DiagnosticCode::CrpScepDeserializeFailed,
            ),
        }
    }

    /// The wire name (as serialised).
    pub fn as_str(self) -> &'static str {
        use DenyReason::*;
        match self {
            ChallengeMissing => "challengeMissing",
            ChallengeInvalid => "challengeInvalid",
            ChallengeExpired => "challengeExpired",
            ChallengeReplayed => "challengeReplayed",
            CsrInvalid => "csrInvalid",
            DeviceUnknown => "deviceUnknown",
            NotAssigned => "notAssigned",
            ProfileChanged => "profileChanged",
            NameChanged => "nameChanged",
            SubjectMismatch => "subjectMismatch",
            SanMismatch => "sanMismatch",
            KeyTooSmall => "keyTooSmall",
            ExtensionNotAllowed => "extensionNotAllowed",
            TransactionInUse => "transactionInUse",
        }
    }

    /// What the response says: enough to act on, nothing secret.
    pub fn message(self) -> &'static str {
        use DenyReason::*;
        match self {
            ChallengeMissing => "the request carries no challenge",
            ChallengeInvalid => "the challenge is not valid",
            ChallengeExpired => "the challenge has expired; the device must check in for a new one",
            ChallengeReplayed => "the challenge was already used; the device must check in for a new one",
            CsrInvalid => "the certificate request cannot be read or its signature does not verify",
            DeviceUnknown => "the device no longer exists",
            NotAssigned => "the profile no longer applies to the device",
            ProfileChanged => "the profile changed since the challenge was issued; the device must check in again",
            NameChanged => "the device's name data changed since the challenge was issued; the device must check in again",
            SubjectMismatch => "the request's subject is not the one issued to the device",
            SanMismatch => "the request's subject alternative names are not the ones issued to the device",
            KeyTooSmall => "the request's key is smaller than the profile requires",
            ExtensionNotAllowed => "the request asks for an extension the profile does not grant",
            TransactionInUse => "the transaction id is already bound to another request",
        }
    }

    /// Whether this denial says something about the device's enrollment
    /// state. A replayed challenge or a transaction id taken by another
    /// request does not: the device already passed the step they repeat, and
    /// recording `failed` would let anyone holding an old challenge downgrade
    /// a device that enrolled.
    pub fn marks_device_failed(self) -> bool {
        !matches!(
            self,
            DenyReason::ChallengeReplayed | DenyReason::TransactionInUse | DenyReason::DeviceUnknown
        )
    }
}

/// A denied request: why, and for the event log a detail written for admins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub reason: DenyReason,
    /// At most [`MAX_DETAIL_CHARS`] characters, without control characters.
    pub detail: String,
}

impl Denial {
    pub fn new(reason: DenyReason, detail: impl AsRef<str>) -> Self {
        Self {
            reason,
            detail: bounded(detail.as_ref(), MAX_DETAIL_CHARS),
        }
    }

    /// The denial as its event's message: `denied (<reason>): <detail>`.
    /// The enrollment timeline reads the reason back ([`Denial::from_event_message`]),
    /// so the event log needs no column of its own for it.
    pub fn event_message(&self) -> String {
        format!("denied ({}): {}", self.reason.as_str(), self.detail)
    }

    /// The denial an [`Denial::event_message`] describes; `None` for any other message.
    pub fn from_event_message(message: &str) -> Option<Self> {
        let rest = message.strip_prefix("denied (")?;
        let (reason, detail) = rest.split_once("): ")?;
        Some(Self {
            reason: DenyReason::from_name(reason)?,
            detail: detail.to_owned(),
        })
    }
}

/// Step 1: the challenge from the request, else from the CSR's
/// challengePassword (`csr_challenge`, read without verifying anything
/// else), must be one Scepter issued and not past its expiry at `now`.
pub fn screen_challenge(
    key: &ChallengeKey,
    explicit: Option<&str>,
    csr_challenge: impl FnOnce() -> Result<Option<String>, String>,
    now: i64,
) -> Result<ChallengeClaims, Denial> {
    let token = match explicit {
        Some(token) => token.to_owned(),
        None => match csr_challenge() {
            Ok(Some(token)) => token,
            Ok(None) => return Err(Denial::new(DenyReason::ChallengeMissing, "no challengePassword")),
            Err(error) => return Err(Denial::new(DenyReason::CsrInvalid, error)),
        },
    };
    challenge::verify(key, &token, now).map_err(|error| match error {
        ChallengeError::Expired => {
            Denial::new(DenyReason::ChallengeExpired, "the challenge is past its expiry")
        }
        other => Denial::new(DenyReason::ChallengeInvalid, other.to_string()),
    })
}

/// What [`judge`] needs to know about the challenge's device and profile.
#[derive(Debug, Clone, Copy)]
pub struct EnrollmentFacts<'a> {
    /// The device and its user as stored now; `None` when the device is gone.
    pub device: Option<NameContext<'a>>,
    /// Whether the profile reaches the device as applicable (targeting rules).
    pub applicable: bool,
    /// The profile as stored now; `None` when it was deleted.
    pub profile: Option<(i64, &'a ScepCertificateProfile)>,
}

/// Step 2: whether the parsed request may be issued under `claims`. `Ok`
/// carries the name the certificate must have.
pub fn judge(
    claims: &ChallengeClaims,
    request: &CertificateRequest,
    facts: &EnrollmentFacts<'_>,
) -> Result<ExpandedName, Denial> {
    let Some(context) = facts.device else {
        return Err(Denial::new(
            DenyReason::DeviceUnknown,
            format!("device {} does not exist", claims.device_id),
        ));
    };
    let (version, profile) = match facts.profile {
        Some(found) if facts.applicable => found,
        Some(_) => {
            return Err(Denial::new(
                DenyReason::NotAssigned,
                format!("profile {} does not apply to the device", claims.profile_id),
            ))
        }
        None => return Err(Denial::new(DenyReason::NotAssigned, "the profile was deleted")),
    };
    if version != claims.profile_version {
        return Err(Denial::new(
            DenyReason::ProfileChanged,
            format!(
                "the challenge is for profile version {}, the profile is at version {version}",
                claims.profile_version
            ),
        ));
    }
    let expected = expand_name(&profile.settings, &context)
        .map_err(|error| Denial::new(DenyReason::NameChanged, error.to_string()))?;
    if challenge::name_digest(&expected) != claims.name_digest {
        return Err(Denial::new(
            DenyReason::NameChanged,
            "the device's subject or SANs expand differently than when the challenge was issued",
        ));
    }
    let requested = ExpandedName {
        subject: request.subject().clone(),
        subject_alternative_names: request.subject_alternative_names().to_vec(),
    };
    if subject_digest(&requested.subject) != subject_digest(&expected.subject) {
        return Err(Denial::new(
            DenyReason::SubjectMismatch,
            format!(
                "{}; expected subject \"{}\", received \"{}\"",
                rdn_difference(&expected.subject, &requested.subject),
                subject_text(&expected.subject),
                subject_text(&requested.subject)
            ),
        ));
    }
    if challenge::name_digest(&requested) != claims.name_digest {
        return Err(Denial::new(
            DenyReason::SanMismatch,
            format!(
                "{}; expected SANs [{}], received [{}]",
                san_difference(
                    &expected.subject_alternative_names,
                    &requested.subject_alternative_names
                ),
                sans_text(&expected.subject_alternative_names),
                sans_text(&requested.subject_alternative_names)
            ),
        ));
    }
    check_extensions(request, profile)
        .map_err(|detail| Denial::new(DenyReason::ExtensionNotAllowed, detail))?;
    let required_bits = u32::from(profile.settings.key_size.bits());
    if request.public_key_bits() < required_bits {
        return Err(Denial::new(
            DenyReason::KeyTooSmall,
            format!(
                "the key has {} bits, the profile requires {required_bits}",
                request.public_key_bits()
            ),
        ));
    }
    Ok(expected)
}

/// Refuses a request that asks for more than the profile grants.
fn check_extensions(request: &CertificateRequest, profile: &ScepCertificateProfile) -> Result<(), String> {
    let asked = request.extensions();
    if asked.certificate_authority {
        return Err("basicConstraints asks for a CA certificate (cA TRUE)".to_owned());
    }
    if asked.name_constraints {
        return Err("nameConstraints is for CA certificates".to_owned());
    }
    if let Some(oid) = asked.unknown_critical.first() {
        return Err(format!("unknown critical extension {oid}"));
    }
    if let Some(bits) = &asked.key_usage {
        let granted: Vec<&str> = profile
            .settings
            .key_usage
            .iter()
            .map(|usage| match usage {
                KeyUsage::DigitalSignature => "digitalSignature",
                KeyUsage::KeyEncipherment => "keyEncipherment",
            })
            .collect();
        if let Some(bit) = bits.iter().find(|bit| !granted.contains(bit)) {
            return Err(format!(
                "keyUsage {bit} is not among the profile's key usages ({})",
                granted.join(", ")
            ));
        }
    }
    if let Some(oids) = &asked.extended_key_usages {
        let granted: Vec<&str> = profile
            .settings
            .extended_key_usages
            .iter()
            .map(|usage| usage.object_identifier.as_str())
            .collect();
        if let Some(oid) = oids.iter().find(|oid| !granted.contains(&oid.as_str())) {
            return Err(format!(
                "extendedKeyUsage {oid} is not among the profile's extended key usages"
            ));
        }
    }
    Ok(())
}

fn subject_digest(subject: &Subject) -> [u8; 32] {
    challenge::name_digest(&ExpandedName {
        subject: subject.clone(),
        subject_alternative_names: Vec::new(),
    })
}

/// A subject as admins read it: `CN=Jane,O=Contoso` (Windows' quoting).
fn subject_text(subject: &Subject) -> String {
    if subject.0.is_empty() {
        return "(empty)".to_owned();
    }
    bounded(&windows_subject_name(subject), MAX_DETAIL_CHARS / 3)
}

fn sans_text(sans: &[ExpandedSan]) -> String {
    let text = sans.iter().map(san_text).collect::<Vec<_>>().join(", ");
    bounded(&text, MAX_DETAIL_CHARS / 3)
}

fn san_text(san: &ExpandedSan) -> String {
    let kind = match san.san_type {
        SanType::EmailAddress => "email",
        SanType::UserPrincipalName => "upn",
        SanType::DomainNameService => "dns",
        SanType::UniversalResourceIdentifier => "uri",
    };
    format!("{kind}:{}", san.value)
}

/// The first RDN that differs, by position (1-based), so an admin sees which
/// attribute the device got wrong without diffing two subjects by eye.
fn rdn_difference(expected: &Subject, received: &Subject) -> String {
    let rdn_text = |rdn: &Rdn| {
        rdn.0
            .iter()
            .map(|value| format!("{}={}", value.attribute.windows_keyword(), value.value))
            .collect::<Vec<_>>()
            .join("+")
    };
    let longest = expected.0.len().max(received.0.len());
    let differing = (0..longest).find(|&index| expected.0.get(index) != received.0.get(index));
    let Some(index) = differing else {
        return "the RDNs are equal but encoded differently".to_owned();
    };
    let describe =
        |rdn: Option<&Rdn>| rdn.map_or_else(|| "(none)".to_owned(), |rdn| format!("\"{}\"", rdn_text(rdn)));
    let text = format!(
        "RDN {} differs: expected {}, received {}",
        index + 1,
        describe(expected.0.get(index)),
        describe(received.0.get(index))
    );
    bounded(&text, MAX_DETAIL_CHARS / 3)
}

/// The SANs missing from the request and those it should not have.
fn san_difference(expected: &[ExpandedSan], received: &[ExpandedSan]) -> String {
    let missing: Vec<String> = expected
        .iter()
        .filter(|san| !received.contains(san))
        .map(san_text)
        .collect();
    let unexpected: Vec<String> = received
        .iter()
        .filter(|san| !expected.contains(san))
        .map(san_text)
        .collect();
    let text = match (missing.is_empty(), unexpected.is_empty()) {
        (true, true) => "the SANs differ in order or count".to_owned(),
        (false, true) => format!("missing SAN {}", missing.join(", ")),
        (true, false) => format!("unexpected SAN {}", unexpected.join(", ")),
        (false, false) => format!(
            "expected SAN {}, received {}",
            missing.join(", "),
            unexpected.join(", ")
        ),
    };
    bounded(&text, MAX_DETAIL_CHARS / 3)
}

#[cfg(test)]
mod tests;
