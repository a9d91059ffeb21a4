//! step-ca's webhook wire format and its authentication: Scepter as the
//! Intune-style validator of a step-ca SCEP provisioner.
//!
//! step-ca signs each webhook body with HMAC-SHA256 under the webhook's
//! signing secret (`step ca provisioner webhook add` prints it base64) and
//! sends the hex digest in `X-Smallstep-Signature`; the body is
//! `webhook.RequestBody` of smallstep/certificates' `webhook/types.go`, the
//! answer `webhook.ResponseBody` (`{"allow": …}`). [`SignedWebhook`] answers
//! what needs only the headers — 404 without a configured secret (an
//! unauthenticated validator must not exist at all), 401 without a
//! well-formed signature — before a byte of the body is read, and reads at
//! most [`MAX_WEBHOOK_BODY_BYTES`]: anyone can reach these routes, so reading
//! what they send must cost nothing until they show a signature.

use std::{future::Future, marker::PhantomData, pin::Pin};

use actix_web::{dev::Payload, http::header::HeaderMap, web, FromRequest, HttpRequest};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

use super::extract::{parse_json_body, read_json_body};
use crate::{
    error::ApiError,
    state::{AppState, EnrollmentSettings},
};

pub const SIGNATURE_HEADER: &str = "X-Smallstep-Signature";

/// step-ca's webhook bodies carry one CSR or certificate (a few KiB).
pub const MAX_WEBHOOK_BODY_BYTES: usize = 64 * 1024;

/// How far a webhook's `timestamp` may be from now: a captured request
/// cannot be replayed later.
const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);

/// A DER structure as step-ca sends it (Go `[]byte`: standard base64).
#[derive(Debug, Deserialize, ToSchema)]
pub struct RawDer {
    /// Standard base64 of the DER.
    pub raw: String,
}

/// The fields of step-ca's `webhook.RequestBody` Scepter reads; others are ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepCaWebhookRequest {
    pub timestamp: DateTime<Utc>,
    #[serde(rename = "x509CertificateRequest")]
    pub x509_certificate_request: Option<RawDer>,
    #[serde(rename = "x509Certificate")]
    pub x509_certificate: Option<RawDer>,
    pub scep_challenge: Option<String>,
    #[serde(rename = "scepTransactionID")]
    pub scep_transaction_id: Option<String>,
    pub scep_error_code: Option<i64>,
    pub scep_error_description: Option<String>,
}

/// step-ca's `webhook.ResponseBody`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepCaWebhookResponse {
    pub allow: bool,
    /// Data for certificate templates; Scepter sends none.
    pub data: serde_json::Map<String, serde_json::Value>,
}

impl StepCaWebhookResponse {
    pub fn new(allow: bool) -> Self {
        Self {
            allow,
            data: serde_json::Map::new(),
        }
    }
}

/// Which webhook a request is for: the signing secret it must carry.
pub trait WebhookKind {
    fn secret(settings: &EnrollmentSettings) -> Option<&[u8]>;
}

/// The `SCEPCHALLENGE` webhook.
pub struct ChallengeWebhook;

impl WebhookKind for ChallengeWebhook {
    fn secret(settings: &EnrollmentSettings) -> Option<&[u8]> {
        settings.step_ca_challenge_secret.as_deref()
    }
}

/// The `NOTIFYING` webhook.
pub struct NotifyWebhook;

impl WebhookKind for NotifyWebhook {
    fn secret(settings: &EnrollmentSettings) -> Option<&[u8]> {
        settings.step_ca_notify_secret.as_deref()
    }
}

/// A webhook request of kind `K` whose signature verified over the exact
/// body and whose timestamp is recent, parsed.
pub struct SignedWebhook<K> {
    pub request: StepCaWebhookRequest,
    kind: PhantomData<K>,
}

impl<K: WebhookKind + 'static> FromRequest for SignedWebhook<K> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = request
            .app_data::<web::Data<AppState>>()
            .ok_or_else(|| ApiError::Internal("application state missing".to_owned()))
            .and_then(|state| {
                let secret = K::secret(&state.enrollment).ok_or(ApiError::NotFound)?;
                let signature = signature(request.headers())?;
                let limit = MAX_WEBHOOK_BODY_BYTES.min(state.max_body_bytes);
                Ok((secret.to_vec(), signature, limit))
            });
        let (secret, signature, limit) = match caller {
            Ok(caller) => caller,
            Err(error) => return Box::pin(std::future::ready(Err(error))),
        };
        let body = read_json_body(request, payload, limit);
        Box::pin(async move {
            let request = authenticate(&secret, &signature, &body.await?.0)?;
            Ok(SignedWebhook {
                request,
                kind: PhantomData,
            })
        })
    }
}

/// The decoded `X-Smallstep-Signature`.
fn signature(headers: &HeaderMap) -> Result<Vec<u8>, ApiError> {
    headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| hex::decode(value.trim()).ok())
        .ok_or(ApiError::Unauthenticated(
            "send X-Smallstep-Signature: hex HMAC-SHA256 of the body",
        ))
}

/// Checks the signature over the exact body and the timestamp, then parses it.
fn authenticate(secret: &[u8], signature: &[u8], body: &[u8]) -> Result<StepCaWebhookRequest, ApiError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .map_err(|_| ApiError::Internal("webhook secret rejected by HMAC".to_owned()))?;
    mac.update(body);
    // Constant-time comparison (hmac's verify_slice).
    mac.verify_slice(signature).map_err(|_| {
        tracing::info!("rejected a step-ca webhook with a bad signature");
        ApiError::Unauthenticated("the X-Smallstep-Signature does not match the body")
    })?;
    let request: StepCaWebhookRequest = parse_json_body(body)?;
    if (Utc::now() - request.timestamp).abs() > MAX_CLOCK_SKEW {
        return Err(ApiError::Unauthenticated(
            "the webhook's timestamp is more than five minutes from now",
        ));
    }
    Ok(request)
}

pub fn decode_raw(field: &'static str, raw: &RawDer) -> Result<Vec<u8>, ApiError> {
    STANDARD
        .decode(raw.raw.as_bytes())
        .map_err(|_| ApiError::field(field, "base64", "must be standard base64 DER"))
}

impl StepCaWebhookRequest {
    /// `scepTransactionID`, which both webhooks need.
    pub fn transaction_id(&self) -> Result<&str, ApiError> {
        let transaction = self
            .scep_transaction_id
            .as_deref()
            .ok_or_else(|| ApiError::field("scepTransactionID", "required", "is required"))?;
        crate::service::enrollment::transaction_id(transaction)
    }
}
