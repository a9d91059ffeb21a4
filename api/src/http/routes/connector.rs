//! `/connector/v1`: what the SCEP server's policy module calls — challenge
//! verification, notification of issued certificates, and the revocation
//! queue. Callers hold a bearer token with role `connector`
//! (`scepter token issue --role connector`).

use actix_web::{web, HttpResponse};
use scepter_domain::{
    diagnostics::{DiagnosticCode, EventId},
    enrollment::DenyReason,
    issued_certificate::IssuedCertificate,
};
use scepter_storage::{NewEvent, RevocationOutcome};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::resource;
use crate::{
    error::ApiError,
    http::auth::Connector,
    http::dto::CertificateView,
    http::extract::ValidJson,
    service::enrollment::{self, CsrInput, Notified, MAX_TRANSACTION_ID_CHARS},
    state::AppState,
};

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(resource("/connector/v1/scep/verify", "POST").route(web::post().to(verify)))
        .service(resource("/connector/v1/scep/notify", "POST").route(web::post().to(notify)))
        .service(resource("/connector/v1/revocations", "GET").route(web::get().to(revocations)))
        .service(
            resource("/connector/v1/revocations/{id}/result", "POST")
                .route(web::post().to(revocation_result)),
        );
}

/// Checks a SCEP transaction id: 1–128 printable ASCII characters.
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyRequest {
    /// The SCEP transaction id; `notify` names the request by it.
    pub transaction_id: String,
    /// The challenge; when absent, the CSR's challengePassword attribute is used (where SCEP carries it).
    pub challenge: Option<String>,
    /// The PKCS#10 request: PEM or base64 DER.
    pub csr: String,
}

/// The policy decision.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResponse {
    pub allowed: bool,
    /// The seed's diagnostic code, e.g. `0x00000000` or `0x00000411`.
    pub diagnostic_code: String,
    /// e.g. `Success`, `CRPSCEPChallenge_Expired`.
    pub diagnostic_name: String,
    pub message: String,
    /// Why it was denied; absent when allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<DenyReason>,
}

/// Verify a certificate request
///
/// Allows issuance only when the challenge is authentic, unexpired and unused,
/// its profile still reaches the device at the version it was issued for,
/// the CSR's signature verifies, its subject and SANs are exactly the ones
/// rendered for the device, and its key is at least the profile's size.
/// Every decision is recorded as an event (20500, 20501 or 20502).
#[utoipa::path(post, path = "/connector/v1/scep/verify", tag = "connector", operation_id = "verifyScepRequest",
    request_body = VerifyRequest,
    responses((status = 200, description = "The decision (also when denied)", body = VerifyResponse)),
    )]
pub async fn verify(
    _: Connector,
    state: web::Data<AppState>,
    body: ValidJson<VerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let transaction_id = transaction_id(&body.transaction_id)?;
    let verdict = enrollment::verify(
        &state,
        transaction_id,
        body.challenge.as_deref(),
        CsrInput::Text(&body.csr),
    )
    .await?;
    Ok(HttpResponse::Ok().json(VerifyResponse {
        allowed: verdict.allowed,
        diagnostic_code: verdict.diagnostic.hex(),
        diagnostic_name: verdict.diagnostic.name().to_owned(),
        message: verdict.message.to_owned(),
        reason: verdict.reason,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotifyRequest {
    /// The transaction id of the verified request.
    pub transaction_id: String,
    /// The issued certificate: PEM or base64 DER.
    pub certificate: String,
}

/// Report an issued certificate
///
/// Stores serial, thumbprint, issuer and validity against the device and
/// profile of the verified request. The certificate must carry that
/// request's public key, subject and SANs (422 otherwise). Reporting the
/// same certificate again returns it with 200.
#[utoipa::path(post, path = "/connector/v1/scep/notify", tag = "connector", operation_id = "notifyIssuedCertificate",
    request_body = NotifyRequest,
    responses(
        (status = 201, description = "Recorded", body = CertificateView),
        (status = 200, description = "Already recorded", body = CertificateView),
        (status = 409, description = "Another certificate was recorded for this transaction", body = crate::error::Problem, content_type = "application/problem+json")),
    )]
pub async fn notify(
    _: Connector,
    state: web::Data<AppState>,
    body: ValidJson<NotifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let transaction_id = transaction_id(&body.transaction_id)?;
    let certificate = match IssuedCertificate::parse(&body.certificate) {
        Ok(certificate) => certificate,
        Err(error) => {
            return Err(enrollment::refuse_unreadable_certificate(
                &state,
                transaction_id,
                "certificate",
                &error,
            )
            .await?)
        }
    };
    let (stored, notified) = enrollment::notify(&state, transaction_id, &certificate).await?;
    let view = CertificateView::from(stored);
    Ok(match notified {
        Notified::Created => HttpResponse::Created().json(view),
        Notified::AlreadyRecorded => HttpResponse::Ok().json(view),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevocationQuery {
    /// Most certificates returned, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// Certificates the connector should revoke at the CA.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevocationList {
    pub items: Vec<CertificateView>,
}

/// Certificates to revoke
///
/// Certificates whose profile no longer reaches their device (assignment
/// removed, device left a group, profile deleted, device retired), oldest
/// first. Listing hands them to the connector: `pending` becomes `issued`;
/// they stay listed until `POST …/result` reports the outcome.
#[utoipa::path(get, path = "/connector/v1/revocations", tag = "connector", operation_id = "listRevocations",
    params(RevocationQuery),
    responses((status = 200, description = "Certificates awaiting revocation", body = RevocationList)),
    )]
pub async fn revocations(
    _: Connector,
    state: web::Data<AppState>,
    query: web::Query<RevocationQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = super::page_request(query.limit, None)?;
    let items = state.store.revocation_queue(page.limit).await?;
    Ok(HttpResponse::Ok().json(RevocationList {
        items: items.into_iter().map(CertificateView::from).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevocationResult {
    /// Whether the CA revoked the certificate.
    pub succeeded: bool,
    /// The seed's diagnostic code, e.g. `0x00000402` (RevokeCert_AccessDenied); default `0x00000000` on success, `0x0FFFFFFF` on failure.
    pub diagnostic_code: Option<String>,
    /// Details for operators (at most 1000 characters).
    pub message: Option<String>,
}

const MAX_RESULT_MESSAGE_CHARS: usize = 1000;

/// Report a revocation's outcome
///
/// Records `revoked` or `failed` with the diagnostic code and an event
/// (20200 RevokeCert_Success or 20202 RevokeCert_Failure).
#[utoipa::path(post, path = "/connector/v1/revocations/{id}/result", tag = "connector", operation_id = "reportRevocationResult",
    params(("id" = Uuid, Path, description = "Certificate id")),
    request_body = RevocationResult,
    responses(
        (status = 200, description = "Recorded", body = CertificateView),
        (status = 409, description = "The certificate is not awaiting revocation", body = crate::error::Problem, content_type = "application/problem+json")),
    )]
pub async fn revocation_result(
    _: Connector,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ValidJson<RevocationResult>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let diagnostic = match body.diagnostic_code.as_deref() {
        None if body.succeeded => DiagnosticCode::Success,
        None => DiagnosticCode::UnknownError,
        Some(text) => parse_diagnostic_code(text)?,
    };
    if body.succeeded && diagnostic != DiagnosticCode::Success {
        return Err(ApiError::field(
            "diagnosticCode",
            "success",
            "a successful revocation reports 0x00000000",
        ));
    }
    if body
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
        event: if body.succeeded {
            EventId::RevokeCertSuccess
        } else {
            EventId::RevokeCertFailure
        },
        diagnostic,
        device_id: None,
        profile_id: None,
        certificate_id: Some(*id),
        transaction_id: None,
        message: body
            .message
            .clone()
            .unwrap_or_else(|| diagnostic.message().to_owned()),
    };
    let outcome = RevocationOutcome {
        revoked: body.succeeded,
        diagnostic,
        message: body.message,
    };
    let stored = state
        .store
        .record_revocation_result(*id, &outcome, &event)
        .await?;
    tracing::info!(certificate_id = %stored.id, revoked = outcome.revoked, code = %diagnostic.hex(),
        "recorded a revocation result");
    Ok(HttpResponse::Ok().json(CertificateView::from(stored)))
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
