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
    challenge::ChallengeClaims,
    csr::CertificateRequest,
    diagnostics::{DiagnosticCode, EventId},
    enrollment::{self as policy, Denial, DenyReason, EnrollmentFacts},
    targeting::{effective_profiles, Explain, ProfileKind, TargetState},
};
use scepter_storage::{AllowedRecord, FailedRequest, NewEvent, RevocationScope, ScepTransaction};

use super::name_context;
use crate::{error::ApiError, state::AppState};

/// The longest transaction id accepted (SCEP's are hex or base64 digests).
pub const MAX_TRANSACTION_ID_CHARS: usize = 128;

/// A SCEP transaction id as callers send it: 1–128 printable ASCII characters.
pub fn transaction_id(value: &str) -> Result<&str, ApiError> {
    if value.is_empty()
        || value.len() > MAX_TRANSACTION_ID_CHARS
        || !value.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(ApiError::field(
            "transactionId",
            "transactionId",
            format!("must be 1–{MAX_TRANSACTION_ID_CHARS} printable ASCII characters"),
        ));
    }
    Ok(value)
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

    let facts = state.store.subject_facts(claims.device_id).await?;
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
            // The facts are the claimed device's: the same name the payload was made from.
            device: facts.as_ref().map(name_context),
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
        message: denial.event_message(),
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
