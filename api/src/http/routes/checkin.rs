//! `POST /device/v1/checkin`: the device's credential and report in, the
//! check-in service's answer out — 304 while the device holds the current
//! state tag, otherwise the items with their payloads.

use actix_web::{
    http::header::{self, HeaderValue},
    web, HttpRequest, HttpResponse,
};
use chrono::Utc;
use scepter_domain::checkin::CheckInReport;

use super::resource;
use crate::{
    error::ApiError,
    http::{
        auth::DeviceCaller,
        extract::{parse_json_body, JsonBytes},
    },
    service::checkin::{self, CheckInAnswer, CheckInResponse, CheckingDevice, ReportDigest},
    state::AppState,
};

pub const PATH: &str = "/device/v1/checkin";

pub fn configure(config: &mut web::ServiceConfig) {
    config.service(resource(PATH, "POST").route(web::post().to(check_in)));
}

/// Check in
///
/// The device reports its installed profiles and certificates and gets one
/// item per profile that reaches it or that it must remove. The response
/// carries an `ETag` over the device's effective state; sending it back in
/// `If-None-Match` gets 304 without a body while nothing changed. Responses
/// with payloads change at least every half challenge lifetime, so a device
/// never holds on to an expired challenge.
#[utoipa::path(post, path = "/device/v1/checkin", tag = "device", operation_id = "checkIn",
    request_body = CheckInReport,
    params(("If-None-Match" = Option<String>, Header, description = "ETag of the last check-in response")),
    responses(
        (status = 200, description = "What to do per profile", body = CheckInResponse,
            headers(("ETag" = String, description = "Tag of the device's effective state"))),
        (status = 304, description = "Nothing changed since the response tagged `If-None-Match`",
            headers(("ETag" = String, description = "Tag of the device's effective state"))),
        (status = 401, description = "Missing, invalid or revoked device credential", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn check_in(
    caller: DeviceCaller,
    state: web::Data<AppState>,
    request: HttpRequest,
    body: JsonBytes,
) -> Result<HttpResponse, ApiError> {
    let device = CheckingDevice {
        device_id: caller.device_id,
        generations: caller.generations,
    };
    let holds_tag = |tag: &str| if_none_match(&request, tag);
    let now = Utc::now();
    // An idle device sends the report it sent before: answered by its
    // digest, unparsed, while nothing the answer depends on changed.
    let digest = ReportDigest::of(&body.0);
    let answer = match checkin::answer_unchanged(&state, device, digest, holds_tag, now).await? {
        Some(answer) => answer,
        None => {
            let report = parse_json_body::<CheckInReport>(&body.0)?.validate()?;
            checkin::check_in(&state, device, &report, digest, holds_tag, now).await?
        }
    };
    // Payloads carry one-time challenges: no cache may keep them.
    Ok(match answer {
        CheckInAnswer::Unchanged { tag } => HttpResponse::NotModified()
            .insert_header((header::ETAG, tag))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        CheckInAnswer::Changed { tag, response } => HttpResponse::Ok()
            .insert_header((header::ETAG, tag))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(response),
    })
}

/// Whether `If-None-Match` lists `tag` (strong comparison, RFC 9110 §13.1.2; `*` matches).
fn if_none_match(request: &HttpRequest, tag: &str) -> bool {
    request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value: &HeaderValue| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|candidate| candidate == tag || candidate == "*")
}
