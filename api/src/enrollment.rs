//! The SCEP server's policy decisions — may this request be issued, record
//! what was issued — shared by the connector API and the step-ca webhooks.
//!
//! A request is allowed only when every check passes, in this order:
//! the challenge is authentic and unexpired; the CSR parses and its
//! signature verifies; the challenge's device still exists and the profile
//! still reaches it at the version the challenge was issued for; the
//! device's name data still expands to the subject and SANs the challenge
//! was bound to; the CSR carries exactly that subject and those SANs; its
//! key is at least the profile's size; and — last, so that a request that
//! fails for another reason does not burn the challenge — the challenge has
//! not been used before (recorded atomically with the allowed request).
//!
//! Denials map onto the seed's events and codes: a challenge or request that
//! cannot be read or does not match is `CRPVerifyMetric_Failure` (20502)
//! with `CRPSCEPDeserialize_Failed` (0x00000410); a request rejected because
//! its challenge is no longer good — expired, used, or for a profile that
//! changed or no longer applies — is `CRPVerifyMetric_Warning` (20501) with
//! `CRPSCEPChallenge_Expired` (0x00000411), whose advice ("retry after
//! obtaining a new challenge") is what the device should do. The response
//! names the [`DenyReason`]; the event also records the details (which
//! subject was expected), and nothing echoes the challenge.

use chrono::Utc;
use scepter_domain::{
    challenge::{self, ChallengeClaims, ChallengeError},
    csr::CertificateRequest,
    diagnostics::{DiagnosticCode, EventId},
    issued_certificate::IssuedCertificate,
    subject_name::{expand_name, ExpandedName, NameContext},
    targeting::{effective_profiles, Explain, ProfileKind, TargetState},
};
use scepter_storage::{NewEvent, RevocationScope, ScepTransaction, StorageError, StoredCertificate};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{app::AppState, error::ApiError};

/// The longest transaction id accepted (SCEP's are hex or base64 digests).
pub const MAX_TRANSACTION_ID_CHARS: usize = 128;

/// Why a request was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
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
}

impl DenyReason {
    fn outcome(self) -> (EventId, DiagnosticCode) {
        use DenyReason::*;
        match self {
            ChallengeExpired | ChallengeReplayed | NotAssigned | ProfileChanged | NameChanged
            | DeviceUnknown => (
                EventId::CrpVerifyMetricWarning,
                DiagnosticCode::CrpScepChallengeExpired,
            ),
            ChallengeMissing | ChallengeInvalid | CsrInvalid | SubjectMismatch | SanMismatch
            | KeyTooSmall => (
                EventId::CrpVerifyMetricFailure,
                DiagnosticCode::CrpScepDeserializeFailed,
            ),
        }
    }

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
        }
    }

    /// What the response says: enough to act on, nothing secret.
    fn message(self) -> &'static str {
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
        }
    }
}

/// The policy decision on one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub diagnostic: DiagnosticCode,
    pub reason: Option<DenyReason>,
    pub message: &'static str,
}

/// The request as the caller has it.
pub enum CsrInput<'a> {
    /// PEM or base64 DER.
    Text(&'a str),
    Der(&'a [u8]),
}

/// A denial with what is known about it, before it is recorded.
struct Denial {
    reason: DenyReason,
    claims: Option<ChallengeClaims>,
    /// For the event log only.
    detail: String,
}

impl Denial {
    fn new(reason: DenyReason, claims: Option<&ChallengeClaims>, detail: impl Into<String>) -> Self {
        Self {
            reason,
            claims: claims.cloned(),
            detail: detail.into(),
        }
    }
}

/// Decides on a request and records the decision (event, enrollment state,
/// and for an allowed request the used challenge and the pending transaction).
pub async fn verify(
    state: &AppState,
    transaction_id: &str,
    challenge: Option<&str>,
    csr: CsrInput<'_>,
) -> Result<Verdict, ApiError> {
    let outcome = decide(state, transaction_id, challenge, csr).await?;
    let verdict = record_verdict(state, transaction_id, outcome).await?;
    state
        .metrics
        .observe_verification(&verdict.diagnostic.hex(), verdict.allowed);
    Ok(verdict)
}

async fn record_verdict(
    state: &AppState,
    transaction_id: &str,
    outcome: Result<ChallengeClaims, Denial>,
) -> Result<Verdict, ApiError> {
    match outcome {
        Ok(claims) => {
            tracing::info!(transaction_id, device_id = %claims.device_id, profile_id = %claims.profile_id,
                "allowed a certificate request");
            Ok(Verdict {
                allowed: true,
                diagnostic: DiagnosticCode::Success,
                reason: None,
                message: "the request may be issued",
            })
        }
        Err(denial) => {
            let (event_id, diagnostic) = denial.reason.outcome();
            tracing::info!(transaction_id, reason = denial.reason.as_str(), detail = %denial.detail,
                "denied a certificate request");
            let event = NewEvent {
                event: event_id,
                diagnostic,
                device_id: denial.claims.as_ref().map(|claims| claims.device_id),
                profile_id: denial.claims.as_ref().map(|claims| claims.profile_id),
                certificate_id: None,
                transaction_id: Some(transaction_id.to_owned()),
                message: format!("denied ({}): {}", denial.reason.as_str(), denial.detail),
            };
            let failed = denial
                .claims
                .as_ref()
                .filter(|_| denial.reason != DenyReason::DeviceUnknown)
                .map(|claims| {
                    (
                        claims.device_id,
                        claims.profile_id,
                        claims.profile_version,
                        denial.reason.as_str(),
                    )
                });
            state.store.record_denied_request(failed, &event).await?;
            Ok(Verdict {
                allowed: false,
                diagnostic,
                reason: Some(denial.reason),
                message: denial.reason.message(),
            })
        }
    }
}

async fn decide(
    state: &AppState,
    transaction_id: &str,
    challenge: Option<&str>,
    csr: CsrInput<'_>,
) -> Result<Result<ChallengeClaims, Denial>, ApiError> {
    let parsed = match csr {
        CsrInput::Text(text) => CertificateRequest::parse(text),
        CsrInput::Der(der) => CertificateRequest::from_der(der),
    };
    // SCEP carries the challenge in the CSR; an explicit one takes precedence.
    let token = match (challenge, &parsed) {
        (Some(token), _) => token.to_owned(),
        (None, Ok(request)) => match request.challenge_password() {
            Some(token) => token.to_owned(),
            None => {
                return Ok(Err(Denial::new(
                    DenyReason::ChallengeMissing,
                    None,
                    "no challengePassword",
                )))
            }
        },
        (None, Err(error)) => return Ok(Err(Denial::new(DenyReason::CsrInvalid, None, error.to_string()))),
    };
    let now = Utc::now();
    let claims = match challenge::verify(&state.enrollment.challenge_key, &token, now.timestamp()) {
        Ok(claims) => claims,
        Err(ChallengeError::Expired) => {
            return Ok(Err(Denial::new(
                DenyReason::ChallengeExpired,
                None,
                "challenge past its expiry",
            )))
        }
        Err(error) => {
            return Ok(Err(Denial::new(
                DenyReason::ChallengeInvalid,
                None,
                error.to_string(),
            )))
        }
    };
    let request = match parsed {
        Ok(request) => request,
        Err(error) => {
            return Ok(Err(Denial::new(
                DenyReason::CsrInvalid,
                Some(&claims),
                error.to_string(),
            )))
        }
    };
    let deny = |reason, detail: String| Ok(Err(Denial::new(reason, Some(&claims), detail)));

    let Some(facts) = state.store.check_in_facts(claims.device_id).await? else {
        return deny(
            DenyReason::DeviceUnknown,
            format!("device {} does not exist", claims.device_id),
        );
    };
    let applicable = effective_profiles(&facts.memberships, &facts.profiles, Explain::No)
        .iter()
        .any(|profile| {
            profile.kind == ProfileKind::ScepCertificate
                && profile.profile_id == claims.profile_id
                && profile.state == TargetState::Applicable
        });
    if !applicable {
        return deny(
            DenyReason::NotAssigned,
            format!("profile {} does not apply to the device", claims.profile_id),
        );
    }
    let current_version = facts
        .profiles
        .iter()
        .find(|profile| {
            profile.kind == ProfileKind::ScepCertificate && profile.profile_id == claims.profile_id
        })
        .map_or(-1, |profile| profile.version);
    if current_version != claims.profile_version {
        return deny(
            DenyReason::ProfileChanged,
            format!(
                "challenge for version {}, profile at {current_version}",
                claims.profile_version
            ),
        );
    }
    let Some(profile) = state
        .profiles
        .scep(state.store.as_ref(), claims.profile_id, current_version)
        .await?
    else {
        return deny(DenyReason::NotAssigned, "the profile was deleted".to_owned());
    };
    let context = NameContext {
        device_id: claims.device_id,
        device: &facts.device.content.device,
        user: facts.user.as_ref().map(|user| &user.content),
    };
    let expected = match expand_name(&profile.content.settings, &context) {
        Ok(name) => name,
        Err(error) => return deny(DenyReason::NameChanged, error.to_string()),
    };
    if challenge::name_digest(&expected) != claims.name_digest {
        return deny(
            DenyReason::NameChanged,
            "the expanded subject or SANs changed".to_owned(),
        );
    }
    let requested = ExpandedName {
        subject: request.subject().clone(),
        subject_alternative_names: request.subject_alternative_names().to_vec(),
    };
    let subject_only = |name: &ExpandedName| ExpandedName {
        subject: name.subject.clone(),
        subject_alternative_names: Vec::new(),
    };
    if challenge::name_digest(&subject_only(&requested)) != challenge::name_digest(&subject_only(&expected)) {
        return deny(
            DenyReason::SubjectMismatch,
            format!(
                "expected subject {:?}, got {:?}",
                expected.subject, requested.subject
            ),
        );
    }
    if challenge::name_digest(&requested) != claims.name_digest {
        return deny(
            DenyReason::SanMismatch,
            format!(
                "expected SANs {:?}, got {:?}",
                expected.subject_alternative_names, requested.subject_alternative_names
            ),
        );
    }
    let required_bits = u32::from(profile.content.settings.key_size.bits());
    if request.public_key_bits() < required_bits {
        return deny(
            DenyReason::KeyTooSmall,
            format!(
                "{} bits, the profile requires {required_bits}",
                request.public_key_bits()
            ),
        );
    }

    let expires_at = chrono::DateTime::from_timestamp(claims.expires_at, 0).unwrap_or(now);
    let transaction = ScepTransaction {
        transaction_id: transaction_id.to_owned(),
        device_id: claims.device_id,
        profile_id: claims.profile_id,
        profile_version: claims.profile_version,
        challenge_id: claims.id,
        public_key_sha256: request.public_key_sha256().to_vec(),
        name_digest: claims.name_digest.to_vec(),
        verified_at: scepter_storage::now(),
        certificate_id: None,
    };
    let event = NewEvent {
        event: EventId::CrpVerifyMetricSuccess,
        diagnostic: DiagnosticCode::Success,
        device_id: Some(claims.device_id),
        profile_id: Some(claims.profile_id),
        certificate_id: None,
        transaction_id: Some(transaction_id.to_owned()),
        message: "verified the client challenge".to_owned(),
    };
    if !state
        .store
        .record_allowed_request(&transaction, expires_at, &event)
        .await?
    {
        return deny(
            DenyReason::ChallengeReplayed,
            format!("challenge {} already used", claims.id),
        );
    }
    Ok(Ok(claims))
}

/// Why a notified certificate was refused.
#[derive(Debug)]
pub enum NotifyRefusal {
    UnknownTransaction,
    PublicKeyMismatch,
    NameMismatch,
    /// The transaction already has a different certificate.
    AlreadyNotified,
}

impl NotifyRefusal {
    fn into_api_error(self) -> ApiError {
        match self {
            Self::UnknownTransaction => ApiError::field(
                "transactionId",
                "verified",
                "names no request that Scepter allowed",
            ),
            Self::PublicKeyMismatch => ApiError::field(
                "certificate",
                "publicKey",
                "its public key is not the one of the verified request",
            ),
            Self::NameMismatch => ApiError::field(
                "certificate",
                "subject",
                "its subject or subject alternative names are not the ones of the verified request",
            ),
            Self::AlreadyNotified => {
                ApiError::Conflict("another certificate was already recorded for this transaction".to_owned())
            }
        }
    }

    fn as_str(&self) -> &'static str {
        match self {
            Self::UnknownTransaction => "unknownTransaction",
            Self::PublicKeyMismatch => "publicKeyMismatch",
            Self::NameMismatch => "subjectMismatch",
            Self::AlreadyNotified => "alreadyNotified",
        }
    }
}

/// Whether [`notify`] stored a new certificate or found it already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notified {
    Created,
    AlreadyRecorded,
}

/// Records the certificate issued for an allowed request. Idempotent: the
/// same certificate again returns the stored one.
pub async fn notify(
    state: &AppState,
    transaction_id: &str,
    certificate: &IssuedCertificate,
) -> Result<(StoredCertificate, Notified), ApiError> {
    let transaction = state.store.scep_transaction(transaction_id).await?;
    let checked = match &transaction {
        None => Err(NotifyRefusal::UnknownTransaction),
        Some(transaction) if transaction.public_key_sha256 != certificate.public_key_sha256() => {
            Err(NotifyRefusal::PublicKeyMismatch)
        }
        Some(transaction)
            if certificate
                .name()
                .is_none_or(|name| challenge::name_digest(name).as_slice() != transaction.name_digest) =>
        {
            Err(NotifyRefusal::NameMismatch)
        }
        Some(transaction) => Ok(transaction),
    };
    let transaction = match checked {
        Ok(transaction) => transaction,
        Err(refusal) => {
            return Err(refuse_notification(state, transaction.as_ref(), transaction_id, refusal).await?)
        }
    };
    if let Some(existing_id) = transaction.certificate_id {
        let existing = state
            .store
            .device_certificates(transaction.device_id)
            .await?
            .into_iter()
            .find(|stored| stored.id == existing_id);
        return match existing {
            Some(stored) if stored.thumbprint_sha1 == certificate.details().thumbprint_sha1 => {
                Ok((stored, Notified::AlreadyRecorded))
            }
            _ => Err(refuse_notification(
                state,
                Some(transaction),
                transaction_id,
                NotifyRefusal::AlreadyNotified,
            )
            .await?),
        };
    }
    let details = certificate.details();
    let stored = StoredCertificate {
        id: Uuid::now_v7(),
        device_id: transaction.device_id,
        profile_id: transaction.profile_id,
        profile_version: transaction.profile_version,
        transaction_id: transaction_id.to_owned(),
        serial_number: details.serial_number.clone(),
        thumbprint_sha1: details.thumbprint_sha1.clone(),
        issuer: details.issuer.clone(),
        subject: details.subject.clone(),
        not_before: details.not_before,
        not_after: details.not_after,
        issued_at: scepter_storage::now(),
        revoke_status: scepter_domain::checkin::RevokeStatus::None,
        revoke_requested_at: None,
        revoke_diagnostic_code: None,
        revoke_message: None,
        revoked_at: None,
    };
    let event = NewEvent {
        event: EventId::CrpNotifyMetricSuccess,
        diagnostic: DiagnosticCode::Success,
        device_id: Some(stored.device_id),
        profile_id: Some(stored.profile_id),
        certificate_id: Some(stored.id),
        transaction_id: Some(transaction_id.to_owned()),
        message: format!(
            "recorded certificate serial {} from {}",
            stored.serial_number, stored.issuer
        ),
    };
    let recorded = state.store.record_issued_certificate(&stored, &event).await?;
    tracing::info!(transaction_id, device_id = %recorded.device_id, profile_id = %recorded.profile_id,
        serial = %recorded.serial_number, "recorded an issued certificate");
    // The profile may have stopped reaching the device while the CA worked.
    queue_revocations(state, RevocationScope::Devices(vec![recorded.device_id])).await;
    Ok((recorded, Notified::Created))
}

/// Records a notification whose certificate does not parse (event 20602) and
/// returns the 422 naming `field`.
pub async fn refuse_unreadable_certificate(
    state: &AppState,
    transaction_id: &str,
    field: &str,
    error: &scepter_domain::CertificateError,
) -> Result<ApiError, StorageError> {
    let known = state.store.scep_transaction(transaction_id).await?;
    tracing::info!(transaction_id, %error, "refused an unreadable notified certificate");
    state
        .store
        .record_event(&NewEvent {
            event: EventId::CrpNotifyMetricFailure,
            diagnostic: DiagnosticCode::UnknownError,
            device_id: known.as_ref().map(|transaction| transaction.device_id),
            profile_id: known.as_ref().map(|transaction| transaction.profile_id),
            certificate_id: None,
            transaction_id: Some(transaction_id.to_owned()),
            message: format!("refused the notified certificate (unreadable: {error})"),
        })
        .await?;
    Ok(ApiError::field(
        field,
        error.rule(),
        format!("the certificate {error}"),
    ))
}

async fn refuse_notification(
    state: &AppState,
    transaction: Option<&ScepTransaction>,
    transaction_id: &str,
    refusal: NotifyRefusal,
) -> Result<ApiError, StorageError> {
    tracing::info!(
        transaction_id,
        reason = refusal.as_str(),
        "refused a certificate notification"
    );
    let event = NewEvent {
        event: EventId::CrpNotifyMetricFailure,
        diagnostic: DiagnosticCode::UnknownError,
        device_id: transaction.map(|transaction| transaction.device_id),
        profile_id: transaction.map(|transaction| transaction.profile_id),
        certificate_id: None,
        transaction_id: Some(transaction_id.to_owned()),
        message: format!("refused the notified certificate ({})", refusal.as_str()),
    };
    state.store.record_event(&event).await?;
    Ok(refusal.into_api_error())
}

/// Queues revocations after a change that may stop profiles from reaching
/// devices. A failure is logged, not returned: the admin's change is already
/// committed, and the periodic sweep (`scepter serve`) catches up.
pub async fn queue_revocations(state: &AppState, scope: RevocationScope) {
    match state.store.queue_revocations(&scope).await {
        Ok(0) => {}
        Ok(queued) => tracing::info!(queued, ?scope, "queued certificates for revocation"),
        Err(error) => {
            tracing::warn!(%error, ?scope, "could not queue revocations; the periodic sweep will retry")
        }
    }
}
