//! Payload previews over HTTP: the preview service's payload as a
//! [`PayloadPreview`], or raw when `Accept` names the platform's media type.

use actix_web::{
    http::header::{self, ContentType},
    web, HttpRequest, HttpResponse,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{resource, scep_profiles, trusted_profiles};
use crate::http::extract::Query;
pub use crate::service::preview::PREVIEW_CHALLENGE;
use crate::{
    error::ApiError,
    http::{auth::Reader, extract::ValidJson},
    service::preview::{self, Preview},
    state::AppState,
};

/// The response header carrying warnings, as a JSON array of strings.
pub const WARNINGS_HEADER: &str = "Scepter-Warnings";

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            resource(&format!("{}/{{id}}/preview", scep_profiles::PATH), "POST").route(web::post().to(scep)),
        )
        .service(
            resource(&format!("{}/{{id}}/preview", trusted_profiles::PATH), "GET")
                .route(web::get().to(trusted)),
        );
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviewRequest {
    /// The device to render the payload for.
    pub device_id: Uuid,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct PreviewQuery {
    /// The device to render the payload for.
    pub device_id: Uuid,
}

/// A rendered payload with its media type, as JSON: what generated clients
/// read (one schema for every platform).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayloadPreview {
    /// `application/x-apple-aspen-config`, `application/vnd.syncml.dm+xml` or `application/json`.
    pub content_type: String,
    /// Exactly the text the device would get.
    pub payload: String,
    /// Settings the platform cannot express, which the payload leaves out.
    pub warnings: Vec<String>,
}

/// The preview as a [`PayloadPreview`], or — when `Accept` names the
/// platform's media type exactly — the raw payload bytes with that type.
fn payload_response(request: &HttpRequest, preview: Preview) -> Result<HttpResponse, ApiError> {
    let Preview { rendered, warnings } = preview;
    let header_value =
        serde_json::to_string(&warnings).map_err(|error| ApiError::Internal(error.to_string()))?;
    let wants_raw = request
        .headers()
        .get_all(header::ACCEPT)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|item| item.split(';').next())
        .any(|media_type| media_type.trim().eq_ignore_ascii_case(rendered.content_type));
    let mut response = HttpResponse::Ok();
    response.insert_header((WARNINGS_HEADER, header_value));
    if wants_raw {
        return Ok(response
            .insert_header(ContentType(
                rendered
                    .content_type
                    .parse()
                    .map_err(|_| ApiError::Internal("bad content type".to_owned()))?,
            ))
            .body(rendered.body));
    }
    let payload = String::from_utf8(rendered.body)
        .map_err(|_| ApiError::Internal("a payload is not UTF-8".to_owned()))?;
    Ok(response.json(PayloadPreview {
        content_type: rendered.content_type.to_owned(),
        payload,
        warnings,
    }))
}

/// Preview a SCEP certificate profile's payload
///
/// `payload` is exactly what the device would get — a `.mobileconfig` for iOS
/// and macOS, SyncML for Windows, JSON for Android — with a placeholder
/// challenge; `warnings` lists settings the platform cannot express (also in
/// the `Scepter-Warnings` header). With `Accept` set to the platform's media
/// type, the body is the raw payload instead. A device whose attributes cannot
/// fill the subject or SAN templates gets 422 naming the missing variable.
#[utoipa::path(post, path = "/api/v1/scep-certificate-profiles/{id}/preview", tag = "scep-certificate-profiles",
    operation_id = "previewScepCertificateProfile",
    params(("id" = Uuid, Path, description = "Profile id")),
    request_body = PreviewRequest,
    responses((status = 200, description = "The payload and its media type; the raw payload when `Accept` names the platform's media type",
        content(
            (PayloadPreview = "application/json"),
            (String = "application/x-apple-aspen-config"),
            (String = "application/vnd.syncml.dm+xml")
        ),
        headers(("Scepter-Warnings" = String, description = "JSON array of warning strings")))))]
pub async fn scep(
    _: Reader,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    request: HttpRequest,
    body: ValidJson<PreviewRequest>,
) -> Result<HttpResponse, ApiError> {
    let preview = preview::scep(&state, *id, body.0.device_id).await?;
    payload_response(&request, preview)
}

/// Preview a trusted certificate profile's payload
///
/// `payload` is exactly what the device would get, in its platform's format;
/// with `Accept` set to the platform's media type, the body is the raw payload.
#[utoipa::path(get, path = "/api/v1/trusted-certificate-profiles/{id}/preview", tag = "trusted-certificate-profiles",
    operation_id = "previewTrustedCertificateProfile",
    params(("id" = Uuid, Path, description = "Profile id"), PreviewQuery),
    responses((status = 200, description = "The payload and its media type; the raw payload when `Accept` names the platform's media type",
        content(
            (PayloadPreview = "application/json"),
            (String = "application/x-apple-aspen-config"),
            (String = "application/vnd.syncml.dm+xml")
        ),
        headers(("Scepter-Warnings" = String, description = "JSON array of warning strings")))))]
pub async fn trusted(
    _: Reader,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    request: HttpRequest,
    query: Query<PreviewQuery>,
) -> Result<HttpResponse, ApiError> {
    let preview = preview::trusted(&state, *id, query.device_id, chrono::Utc::now()).await?;
    payload_response(&request, preview)
}
