//! The certificate ledger outside enrollment: what it tells admins about a
//! device, and the revocation results the connector reports.

use scepter_domain::diagnostics::{DiagnosticCode, EventId};
use scepter_storage::{NewEvent, RevocationOutcome, StoredCertificate};
use uuid::Uuid;

use crate::{error::ApiError, state::AppState};

/// The device's certificates, newest first. A retired device's certificates
/// stay listed (they may await revocation); a device that never existed is 404.
pub async fn device_certificates(
    state: &AppState,
    device_id: Uuid,
) -> Result<Vec<StoredCertificate>, ApiError> {
    let certificates = state.store.device_certificates(device_id).await?;
    if certificates.is_empty() && state.store.device(device_id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    Ok(certificates)
}

/// The longest message a connector may report with a revocation result.
const MAX_RESULT_MESSAGE_CHARS: usize = 1000;

/// A revocation outcome as the connector reports it.
#[derive(Debug)]
pub struct RevocationReport<'a> {
    pub succeeded: bool,
    /// `0x` and eight hex digits; absent means success or an unknown error.
    pub diagnostic_code: Option<&'a str>,
    pub message: Option<String>,
}

/// Records the outcome of revoking `certificate_id` (events 20200/20202).
pub async fn record_revocation_result(
    state: &AppState,
    certificate_id: Uuid,
    report: RevocationReport<'_>,
) -> Result<StoredCertificate, ApiError> {
    let diagnostic = match report.diagnostic_code {
        None if report.succeeded => DiagnosticCode::Success,
        None => DiagnosticCode::UnknownError,
        Some(text) => parse_diagnostic_code(text)?,
    };
    if report.succeeded && diagnostic != DiagnosticCode::Success {
        return Err(ApiError::field(
            "diagnosticCode",
            "success",
            "a successful revocation reports 0x00000000",
        ));
    }
    if report
        .message
        .as_ref()
        .is_some_and(|message| message.chars().count() > MAX_RESULT_MESSAGE_CHARS)
    {
        return Err(ApiError::field(
            "message",
            "maxLength",
            format!("at most {MAX_RESULT_MESSAGE_CHARS} characters"),
        ));
    }
    let event = NewEvent {
        event: if report.succeeded {
            EventId::RevokeCertSuccess
        } else {
            EventId::RevokeCertFailure
        },
        diagnostic,
        device_id: None,
        profile_id: None,
        certificate_id: Some(certificate_id),
        transaction_id: None,
        message: report
            .message
            .clone()
            .unwrap_or_else(|| diagnostic.message().to_owned()),
    };
    let outcome = RevocationOutcome {
        revoked: report.succeeded,
        diagnostic,
        message: report.message,
    };
    let stored = state
        .store
        .record_revocation_result(certificate_id, &outcome, &event)
        .await?;
    tracing::info!(certificate_id = %stored.id, revoked = outcome.revoked, code = %diagnostic.hex(),
        "recorded a revocation result");
    Ok(stored)
}

/// `0x` and eight hex digits naming one of the seed's codes.
fn parse_diagnostic_code(text: &str) -> Result<DiagnosticCode, ApiError> {
    text.strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .filter(|digits| digits.len() == 8)
        .and_then(|digits| u32::from_str_radix(digits, 16).ok())
        .and_then(DiagnosticCode::from_code)
        .ok_or_else(|| {
            ApiError::field(
                "diagnosticCode",
                "diagnosticCode",
                "must be one of the seed's codes written 0x and eight hex digits, e.g. 0x00000402",
            )
        })
}
