//! `/api/v1/scep-certificate-profiles`: how devices enroll for certificates.

use actix_web::{web, HttpResponse};
use scepter_domain::{ScepCertificateProfile, ScepCertificateProfileDraft, ScepProfileContext};
use scepter_storage::{RevocationScope, StorageError};
use uuid::Uuid;

use super::{
    created, ok_with_etag, optional_precondition, required_precondition, resource, ProfileListQuery,
};
use crate::{
    error::ApiError,
    http::auth::{Admin, Reader},
    http::dto::{ScepCertificateProfileList, ScepCertificateProfileView},
    http::extract::{IfMatch, ValidJson},
    service::enrollment,
    state::AppState,
};

pub const PATH: &str = "/api/v1/scep-certificate-profiles";

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            resource(PATH, "GET, POST")
                .route(web::post().to(create))
                .route(web::get().to(list)),
        )
        .service(
            resource(&format!("{PATH}/{{id}}"), "GET, PUT, DELETE")
                .route(web::get().to(get))
                .route(web::put().to(replace))
                .route(web::delete().to(delete)),
        );
}

/// Validates a draft against the domain rules, with its root profile's platform as context.
async fn parse(
    state: &AppState,
    draft: ScepCertificateProfileDraft,
) -> Result<ScepCertificateProfile, ApiError> {
    let root = state.store.trusted_profile(draft.root_certificate_id).await?;
    let context = ScepProfileContext {
        allow_http_scep_urls: state.policy.allow_http_scep_urls,
        root_platform: root.map(|record| record.content.platform),
    };
    Ok(ScepCertificateProfile::parse(draft, &context)?)
}

/// The root profile was deleted between validation and write.
fn root_vanished(error: StorageError) -> ApiError {
    match error {
        StorageError::MissingReference => ApiError::field(
            "rootCertificateId",
            "exists",
            "does not name an existing trusted certificate profile",
        ),
        other => other.into(),
    }
}

/// Create a SCEP certificate profile
///
/// `rootCertificateId` must name a trusted certificate profile of a compatible platform.
#[utoipa::path(post, path = "/api/v1/scep-certificate-profiles", tag = "scep-certificate-profiles",
    operation_id = "createScepCertificateProfile",
    request_body = ScepCertificateProfileDraft,
    responses((status = 201, description = "Created", body = ScepCertificateProfileView,
        headers(("ETag" = String, description = "Version tag for If-Match"), ("Location" = String, description = "URL of the new profile")))))]
pub async fn create(
    _: Admin,
    state: web::Data<AppState>,
    body: ValidJson<ScepCertificateProfileDraft>,
) -> Result<HttpResponse, ApiError> {
    let profile = parse(&state, body.0).await?;
    let record = state
        .store
        .insert_scep_profile(&profile)
        .await
        .map_err(root_vanished)?;
    Ok(created(
        format!("{PATH}/{}", record.id),
        record.version,
        &ScepCertificateProfileView::from(&record),
    ))
}

/// List SCEP certificate profiles
#[utoipa::path(get, path = "/api/v1/scep-certificate-profiles", tag = "scep-certificate-profiles",
    operation_id = "listScepCertificateProfiles",
    params(ProfileListQuery),
    responses((status = 200, description = "One page, in creation order", body = ScepCertificateProfileList)))]
pub async fn list(
    _: Reader,
    state: web::Data<AppState>,
    query: web::Query<ProfileListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (filter, page) = query.parse()?;
    let page = state.store.list_scep_profiles(filter, page).await?;
    Ok(
        HttpResponse::Ok().json(ScepCertificateProfileList::new(page, |record| {
            ScepCertificateProfileView::from(&record)
        })),
    )
}

/// Get a SCEP certificate profile
#[utoipa::path(get, path = "/api/v1/scep-certificate-profiles/{id}", tag = "scep-certificate-profiles",
    operation_id = "getScepCertificateProfile",
    params(("id" = Uuid, Path, description = "Profile id")),
    responses((status = 200, description = "The profile", body = ScepCertificateProfileView,
        headers(("ETag" = String, description = "Version tag for If-Match")))))]
pub async fn get(
    _: Reader,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let record = state.store.scep_profile(*id).await?.ok_or(ApiError::NotFound)?;
    Ok(ok_with_etag(
        record.version,
        &ScepCertificateProfileView::from(&record),
    ))
}

/// Replace a SCEP certificate profile
///
/// Needs `If-Match` with the `ETag` of the version you read.
#[utoipa::path(put, path = "/api/v1/scep-certificate-profiles/{id}", tag = "scep-certificate-profiles",
    operation_id = "replaceScepCertificateProfile",
    params(("id" = Uuid, Path, description = "Profile id"),
        ("If-Match" = String, Header, description = "ETag of the version being replaced")),
    request_body = ScepCertificateProfileDraft,
    responses((status = 200, description = "Replaced", body = ScepCertificateProfileView,
        headers(("ETag" = String, description = "Version tag for If-Match")))))]
pub async fn replace(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<ScepCertificateProfileDraft>,
) -> Result<HttpResponse, ApiError> {
    let current_version = async { Ok(state.store.scep_profile(*id).await?.map(|record| record.version)) };
    let expected_version = required_precondition(if_match, current_version).await?;
    let profile = parse(&state, body.0).await?;
    let record = state
        .store
        .update_scep_profile(*id, expected_version, &profile)
        .await
        .map_err(root_vanished)?;
    // A new platform or certificate type can stop the profile reaching devices.
    enrollment::queue_revocations(&state, RevocationScope::Profile(*id)).await;
    Ok(ok_with_etag(
        record.version,
        &ScepCertificateProfileView::from(&record),
    ))
}

/// Delete a SCEP certificate profile
///
/// `If-Match` is optional; when sent, a stale tag is refused (412).
#[utoipa::path(delete, path = "/api/v1/scep-certificate-profiles/{id}", tag = "scep-certificate-profiles",
    operation_id = "deleteScepCertificateProfile",
    params(("id" = Uuid, Path, description = "Profile id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being deleted")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let current_version = async { Ok(state.store.scep_profile(*id).await?.map(|record| record.version)) };
    let expected_version = optional_precondition(if_match, current_version).await?;
    state.store.delete_scep_profile(*id, expected_version).await?;
    enrollment::queue_revocations(&state, RevocationScope::Profile(*id)).await;
    Ok(HttpResponse::NoContent().finish())
}
