//! `/connector/v1/scep`: what the SCEP server's policy module calls —
//! challenge verification and notification of issued certificates (the
//! revocation queue is in `revocations`). Callers hold a bearer token with
//! role `connector` (`scepter token issue --role connector`).

use actix_web::{web, HttpResponse};
use scepter_domain::enrollment::DenyReason;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::resource;
use crate::{
    error::ApiError,
    http::auth::Connector,
    http::dto::CertificateView,
    http::extract::ValidJson,
    service::{
        enrollment::{self, transaction_id, CsrInput},
        notification::{self, CertificateInput, Notified},
    },
    state::AppState,
};

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(resource("/connector/v1/scep/verify", "POST").route(web::post().to(verify)))
        .service(resource("/connector/v1/scep/notify", "POST").route(web::post().to(notify)));
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
    let certificate = CertificateInput::Text(&body.certificate);
    let (stored, notified) = notification::notify(&state, transaction_id, certificate).await?;
    let view = CertificateView::from(stored);
    Ok(match notified {
        Notified::Created => HttpResponse::Created().json(view),
        Notified::AlreadyRecorded => HttpResponse::Ok().json(view),
    })
}
