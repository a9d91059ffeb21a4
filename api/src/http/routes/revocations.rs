//! `/connector/v1/revocations`: the queue of certificates the connector
//! revokes at the CA, and the results it reports back.

use actix_web::{web, HttpResponse};
use scepter_domain::diagnostics::{DiagnosticCode, EventId};
use scepter_storage::{NewEvent, RevocationOutcome};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::resource;
use crate::{
    error::ApiError,
    http::{auth::Connector, dto::CertificateView, extract::ValidJson},
    state::AppState,
};

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(resource("/connector/v1/revocations", "GET").route(web::get().to(revocations)))
        .service(
            resource("/connector/v1/revocations/{id}/result", "POST")
                .route(web::post().to(revocation_result)),
        );
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
