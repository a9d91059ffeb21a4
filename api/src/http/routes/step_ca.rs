//! step-ca webhooks (smallstep/certificates #608), authenticated and parsed
//! by `crate::http::webhook`:
//! - `SCEPCHALLENGE` (`/connector/v1/step-ca/scepchallenge`): carries
//!   `scepChallenge`, `scepTransactionID` and the request's DER in
//!   `x509CertificateRequest.raw`; answered with the same decision as
//!   `/connector/v1/scep/verify`.
//! - `NOTIFYING` (`/connector/v1/step-ca/notify`): after issuance it carries
//!   the certificate's DER in `x509Certificate.raw` and feeds the same ledger
//!   as `/connector/v1/scep/notify`; after a failure, `scepErrorCode` and
//!   `scepErrorDescription`, recorded as a `CRPNotifyMetric_Failure` event.

use actix_web::{web, HttpResponse};

use super::resource;
use crate::{
    error::ApiError,
    http::webhook::{
        decode_raw, ChallengeWebhook, NotifyWebhook, SignedWebhook, StepCaWebhookRequest,
        StepCaWebhookResponse,
    },
    service::{
        enrollment::{self, CsrInput},
        notification::{self, CertificateInput},
    },
    state::AppState,
};

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            resource("/connector/v1/step-ca/scepchallenge", "POST").route(web::post().to(scep_challenge)),
        )
        .service(resource("/connector/v1/step-ca/notify", "POST").route(web::post().to(notifying)));
}

/// step-ca SCEPCHALLENGE webhook
///
/// Same decision as `/connector/v1/scep/verify`, answered in step-ca's shape.
#[utoipa::path(post, path = "/connector/v1/step-ca/scepchallenge", tag = "connector", operation_id = "stepCaScepChallenge",
    request_body = StepCaWebhookRequest,
    params(("X-Smallstep-Signature" = String, Header, description = "Hex HMAC-SHA256 of the body under the webhook's signing secret")),
    responses(
        (status = 200, description = "The decision", body = StepCaWebhookResponse),
        (status = 401, description = "Missing or wrong signature, or a stale timestamp", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No webhook secret is configured", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn scep_challenge(
    state: web::Data<AppState>,
    webhook: SignedWebhook<ChallengeWebhook>,
) -> Result<HttpResponse, ApiError> {
    let webhook = webhook.request;
    let transaction = webhook.transaction_id()?;
    let csr = webhook
        .x509_certificate_request
        .as_ref()
        .ok_or_else(|| ApiError::field("x509CertificateRequest", "required", "is required"))?;
    let der = decode_raw("x509CertificateRequest.raw", csr)?;
    let verdict = enrollment::verify(
        &state,
        transaction,
        webhook
            .scep_challenge
            .as_deref()
            .filter(|challenge| !challenge.is_empty()),
        CsrInput::Der(&der),
    )
    .await?;
    Ok(HttpResponse::Ok().json(StepCaWebhookResponse::new(verdict.allowed)))
}

/// step-ca NOTIFYING webhook
///
/// After issuance, records the certificate like `/connector/v1/scep/notify`;
/// after a failure, records the failure as an event.
#[utoipa::path(post, path = "/connector/v1/step-ca/notify", tag = "connector", operation_id = "stepCaNotify",
    request_body = StepCaWebhookRequest,
    params(("X-Smallstep-Signature" = String, Header, description = "Hex HMAC-SHA256 of the body under the webhook's signing secret")),
    responses(
        (status = 200, description = "Recorded", body = StepCaWebhookResponse),
        (status = 401, description = "Missing or wrong signature, or a stale timestamp", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No webhook secret is configured", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn notifying(
    state: web::Data<AppState>,
    webhook: SignedWebhook<NotifyWebhook>,
) -> Result<HttpResponse, ApiError> {
    let webhook = webhook.request;
    let transaction = webhook.transaction_id()?;
    match (&webhook.x509_certificate, webhook.scep_error_code) {
        (Some(certificate), _) => {
            let field = "x509Certificate.raw";
            let der = decode_raw(field, certificate)?;
            notification::notify(&state, transaction, CertificateInput::Der { field, der: &der }).await?;
        }
        (None, Some(code)) => {
            let description = webhook.scep_error_description.as_deref().unwrap_or_default();
            notification::record_ca_failure(&state, transaction, code, description).await?;
        }
        (None, None) => {
            return Err(ApiError::field(
                "x509Certificate",
                "required",
                "either x509Certificate or scepErrorCode is required",
            ))
        }
    }
    Ok(HttpResponse::Ok().json(StepCaWebhookResponse::new(true)))
}
