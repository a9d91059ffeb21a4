//! `/connector/v1/revocations`: the queue of certificates the connector
//! revokes at the CA, and the results it reports back.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::resource;
use crate::http::extract::Query;
use crate::{
    error::ApiError,
    http::{auth::Connector, dto::CertificateView, extract::ValidJson},
    service::ledger,
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
    query: Query<RevocationQuery>,
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
    let result = ledger::RevocationReport {
        succeeded: body.succeeded,
        diagnostic_code: body.diagnostic_code.as_deref(),
        message: body.message,
    };
    let stored = ledger::record_revocation_result(&state, *id, result).await?;
    Ok(HttpResponse::Ok().json(CertificateView::from(stored)))
}
