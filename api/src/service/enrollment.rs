//! The SCEP server's policy module, as the connector API and the step-ca
//! webhooks call it: read the facts, let `scepter_domain::enrollment`
//! judge, record the verdict — and record what was issued.
//!
//! The rules and their order are the domain's (`scepter_domain::enrollment`);
//! this module only decides which facts to read when, so that a request
//! whose challenge is unreadable, forged, expired or already used costs a
//! signature check and at most one indexed lookup, and never parses the CSR,
//! reads the device, or writes a device state.

use chrono::{DateTime, Utc};
use scepter_domain::{
    challenge::{self, ChallengeClaims},
    csr::CertificateRequest,
    diagnostics::{DiagnosticCode, EventId},
    enrollment::{self as policy, Denial, DenyReason, EnrollmentFacts},
    issued_certificate::IssuedCertificate,
    subject_name::NameContext,
    targeting::{effective_profiles, Explain, ProfileKind, TargetState},
};
use scepter_storage::{
    AllowedRecord, FailedRequest, NewEvent, RevocationScope, ScepTransaction, StorageError, StoredCertificate,
};
use uuid::Uuid;

use crate::{error::ApiError, state::AppState};

/// The longest transaction id accepted (SCEP's are hex or base64 digests).
pub const MAX_TRANSACTION_ID_CHARS: usize = 128;

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

/// What [`decide`] concluded, before it is recorded.
enum Decision {
    Allowed(ChallengeClaims),
    /// `claims` when the challenge was authentic.
    Denied(Option<ChallengeClaims>, Denial),
}

/// Decides on a request and records the decision (event, enrollment state,
/// and for an allowed request the used challenge and the bound transaction).
pub async fn verify(
    state: &AppState,
    transaction_id: &str,
    challenge: Option<&str>,
    csr: CsrInput<'_>,
) -> Result<Verdict, ApiError> {
    let decision = decide(state, transaction_id, challenge, csr, Utc::now()).await?;
    let verdict = match decision {
        Decision::Allowed(claims) => {
            tracing::info!(transaction_id, device_id = %claims.device_id, profile_id = %claims.profile_id,
                "allowed a certificate request");
            Verdict {
                allowed: true,
                diagnostic: DiagnosticCode::Success,
                reason: None,
                message: "the request may be issued",
            }
        }
        Decision::Denied(claims, denial) => {
            record_denial(state, transaction_id, claims.as_ref(), &denial).await?
        }
    };
    state
        .metrics
        .observe_verification(&verdict.diagnostic.hex(), verdict.allowed);
    Ok(verdict)
}

async fn decide(
    state: &AppState,
    transaction_id: &str,
    challenge: Option<&str>,
    csr: CsrInput<'_>,
    now: DateTime<Utc>,
) -> Result<Decision, ApiError> {
    let der = match csr {
        CsrInput::Text(text) => CertificateRequest::decode_text(text),
        CsrInput::Der(der) => Ok(der.to_vec()),
    };
    let peek = || match &der {
        Ok(der) => CertificateRequest::peek_challenge_password(der).map_err(|error| error.to_string()),
        Err(error) => Err(error.to_string()),
    };
    let claims =
        match policy::screen_challenge(&state.enrollment.challenge_key, challenge, peek, now.timestamp()) {
            Ok(claims) => claims,
            Err(denial) => return Ok(Decision::Denied(None, denial)),
        };
    let denied = |denial| Ok(Decision::Denied(Some(claims.clone()), denial));
    if state.store.challenge_used(claims.id).await? {
        return denied(Denial::new(
            DenyReason::ChallengeReplayed,
            "the challenge was already used",
        ));
    }
    let request = match der.and_then(|der| CertificateRequest::from_der(&der)) {
        Ok(request) => request,
        Err(error) => return denied(Denial::new(DenyReason::CsrInvalid, error.to_string())),
    };

    let facts = state.store.check_in_facts(claims.device_id).await?;
    let targeted = facts.as_ref().and_then(|facts| {
        facts.profiles.iter().find(|profile| {
            profile.kind == ProfileKind::ScepCertificate && profile.profile_id == claims.profile_id
        })
    });
    let applicable = facts.as_ref().is_some_and(|facts| {
        effective_profiles(&facts.memberships, &facts.profiles, Explain::No)
            .iter()
            .any(|profile| {
                profile.kind == ProfileKind::ScepCertificate
                    && profile.profile_id == claims.profile_id
                    && profile.state == TargetState::Applicable
            })
    });
    let profile = match targeted {
        Some(targeted) => {
            state
                .profiles
                .scep(state.store.as_ref(), claims.profile_id, targeted.version)
                .await?
        }
        None => None,
    };
    let verdict = policy::judge(
        &claims,
        &request,
        &EnrollmentFacts {
            device: facts.as_ref().map(|facts| NameContext {
                device_id: claims.device_id,
                device: &facts.device.content.device,
                user: facts.user.as_ref().map(|user| &user.content),
            }),
            applicable,
            profile: profile
                .as_ref()
                .map(|profile| (profile.version, &profile.content)),
        },
    );
    if let Err(denial) = verdict {
        return denied(denial);
    }

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
    let expires_at = DateTime::from_timestamp(claims.expires_at, 0).unwrap_or(now);
    match state
        .store
        .record_allowed_request(&transaction, expires_at, &event)
        .await?
    {
        AllowedRecord::Recorded => Ok(Decision::Allowed(claims)),
        AllowedRecord::ChallengeUsed => denied(Denial::new(
            DenyReason::ChallengeReplayed,
            "the challenge was used by a concurrent request",
        )),
        AllowedRecord::TransactionBound => denied(Denial::new(
            DenyReason::TransactionInUse,
            "the transaction id was already allowed for another device, profile or key",
        )),
    }
}

/// Records a denial — its event, and the device's `failed` state when the
/// denial says something about the device — and answers it.
async fn record_denial(
    state: &AppState,
    transaction_id: &str,
    claims: Option<&ChallengeClaims>,
    denial: &Denial,
) -> Result<Verdict, ApiError> {
    let reason = denial.reason;
    let (event_id, diagnostic) = reason.outcome();
    tracing::info!(transaction_id, reason = reason.as_str(), detail = %denial.detail,
        "denied a certificate request");
    let event = NewEvent {
        event: event_id,
        diagnostic,
        device_id: claims.map(|claims| claims.device_id),
        profile_id: claims.map(|claims| claims.profile_id),
        certificate_id: None,
        transaction_id: Some(transaction_id.to_owned()),
        message: format!("denied ({}): {}", reason.as_str(), denial.detail),
    };
    let failed = claims
        .filter(|_| reason.marks_device_failed())
        .map(|claims| FailedRequest {
            device_id: claims.device_id,
            profile_id: claims.profile_id,
            profile_version: claims.profile_version,
            reason: reason.as_str(),
            challenge_issued_at: DateTime::from_timestamp(claims.issued_at, 0).unwrap_or_default(),
        });
    state.store.record_denied_request(failed.as_ref(), &event).await?;
    Ok(Verdict {
        allowed: false,
        diagnostic,
        reason: Some(reason),
        message: reason.message(),
    })
}

/// Why a notified certificate was refused.
#[derive(Debug)]
pub enum NotifyRefusal {
    UnknownTransaction,
    PublicKeyMismatch,
    NameMismatch,
    /// The certificate is not issued by the profile's root or an issuing CA registered for it.
    UntrustedIssuer,
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
            Self::UntrustedIssuer => ApiError::field(
                "certificate",
                "issuer",
                "is not issued by the profile's root certificate or an issuing CA registered for that root \
                 (issuingCertificates of the trusted certificate profile)",
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
            Self::UntrustedIssuer => "untrustedIssuer",
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
    let checked = match checked {
        Ok(transaction) if !issued_under_root(state, transaction.profile_id, certificate).await? => {
            Err(NotifyRefusal::UntrustedIssuer)
        }
        other => other,
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

/// Whether `certificate` chains to the root of the SCEP profile: issued by
/// the root or by an issuing CA registered for it. A profile or root deleted
/// meanwhile leaves nothing to check against: `false`.
async fn issued_under_root(
    state: &AppState,
    profile_id: Uuid,
    certificate: &IssuedCertificate,
) -> Result<bool, StorageError> {
    let Some(profile) = state.store.scep_profile(profile_id).await? else {
        return Ok(false);
    };
    let root = state
        .store
        .trusted_profile(profile.content.root_certificate_id)
        .await?;
    Ok(root.is_some_and(|root| root.content.issued(certificate.der())))
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
