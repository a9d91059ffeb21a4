//! `/api/v1/trusted-certificate-profiles`: the CA certificates devices trust.

use actix_web::{web, HttpResponse};
use chrono::Utc;
use scepter_domain::{TrustedCertificateProfile, TrustedCertificateProfileDraft};
use uuid::Uuid;

use super::{
    created, ok_with_etag, optional_precondition, required_precondition, resource, ProfileListQuery,
};
use crate::{
    error::ApiError,
    http::auth::{Admin, Reader},
    http::dto::{TrustedCertificateProfileList, TrustedCertificateProfileView},
    http::extract::{IfMatch, ValidJson},
    state::AppState,
};

pub const PATH: &str = "/api/v1/trusted-certificate-profiles";

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

/// Create a trusted certificate profile
///
/// The certificate must be a CA certificate; the response lists its details and
/// warnings (expired, not self-signed).
#[utoipa::path(post, path = "/api/v1/trusted-certificate-profiles", tag = "trusted-certificate-profiles",
    operation_id = "createTrustedCertificateProfile",
    request_body = TrustedCertificateProfileDraft,
    responses((status = 201, description = "Created", body = TrustedCertificateProfileView,
        headers(("ETag" = String, description = "Version tag for If-Match"), ("Location" = String, description = "URL of the new profile")))))]
pub async fn create(
    _: Admin,
    state: web::Data<AppState>,
    body: ValidJson<TrustedCertificateProfileDraft>,
) -> Result<HttpResponse, ApiError> {
    let profile = TrustedCertificateProfile::parse(body.0)?;
    let record = state.store.insert_trusted_profile(&profile).await?;
    let view = TrustedCertificateProfileView::new(&record, Utc::now());
    Ok(created(format!("{PATH}/{}", record.id), record.version, &view))
}

/// List trusted certificate profiles
#[utoipa::path(get, path = "/api/v1/trusted-certificate-profiles", tag = "trusted-certificate-profiles",
    operation_id = "listTrustedCertificateProfiles",
    params(ProfileListQuery),
    responses((status = 200, description = "One page, in creation order", body = TrustedCertificateProfileList)))]
pub async fn list(
    _: Reader,
    state: web::Data<AppState>,
    query: web::Query<ProfileListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (filter, page) = query.parse()?;
    let page = state.store.list_trusted_profiles(filter, page).await?;
    let now = Utc::now();
    Ok(
        HttpResponse::Ok().json(TrustedCertificateProfileList::new(page, |record| {
            TrustedCertificateProfileView::new(&record, now)
        })),
    )
}

/// Get a trusted certificate profile
#[utoipa::path(get, path = "/api/v1/trusted-certificate-profiles/{id}", tag = "trusted-certificate-profiles",
    operation_id = "getTrustedCertificateProfile",
    params(("id" = Uuid, Path, description = "Profile id")),
    responses((status = 200, description = "The profile", body = TrustedCertificateProfileView,
        headers(("ETag" = String, description = "Version tag for If-Match")))))]
pub async fn get(
    _: Reader,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let record = state
        .store
        .trusted_profile(*id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(ok_with_etag(
        record.version,
        &TrustedCertificateProfileView::new(&record, Utc::now()),
    ))
}

/// Replace a trusted certificate profile
///
/// Needs `If-Match` with the `ETag` of the version you read. Changing the
/// platform is refused (409) while SCEP profiles of another platform use it.
#[utoipa::path(put, path = "/api/v1/trusted-certificate-profiles/{id}", tag = "trusted-certificate-profiles",
    operation_id = "replaceTrustedCertificateProfile",
    params(("id" = Uuid, Path, description = "Profile id"),
        ("If-Match" = String, Header, description = "ETag of the version being replaced")),
    request_body = TrustedCertificateProfileDraft,
    responses((status = 200, description = "Replaced", body = TrustedCertificateProfileView,
        headers(("ETag" = String, description = "Version tag for If-Match"))),
        (status = 409, description = "SCEP profiles of another platform use it", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn replace(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<TrustedCertificateProfileDraft>,
) -> Result<HttpResponse, ApiError> {
    let current_version = async {
        Ok(state
            .store
            .trusted_profile(*id)
            .await?
            .map(|record| record.version))
    };
    let expected_version = required_precondition(if_match, current_version).await?;
    let profile = TrustedCertificateProfile::parse(body.0)?;
    let record = state
        .store
        .update_trusted_profile(*id, expected_version, &profile)
        .await?;
    Ok(ok_with_etag(
        record.version,
        &TrustedCertificateProfileView::new(&record, Utc::now()),
    ))
}

/// Delete a trusted certificate profile
///
/// Refused (409) while a SCEP profile uses it as its root certificate.
/// `If-Match` is optional; when sent, a stale tag is refused (412).
#[utoipa::path(delete, path = "/api/v1/trusted-certificate-profiles/{id}", tag = "trusted-certificate-profiles",
    operation_id = "deleteTrustedCertificateProfile",
    params(("id" = Uuid, Path, description = "Profile id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being deleted")),
    responses((status = 204, description = "Deleted"),
        (status = 409, description = "A SCEP profile uses it as its root", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn delete(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let current_version = async {
        Ok(state
            .store
            .trusted_profile(*id)
            .await?
            .map(|record| record.version))
    };
    let expected_version = optional_precondition(if_match, current_version).await?;
    state.store.delete_trusted_profile(*id, expected_version).await?;
    Ok(HttpResponse::NoContent().finish())
}
