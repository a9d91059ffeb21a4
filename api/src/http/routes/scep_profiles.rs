//! `/api/v1/scep-certificate-profiles`: how devices enroll for certificates.

use actix_web::{web, HttpResponse};
use scepter_domain::{Record, ScepCertificateProfile, ScepCertificateProfileDraft};
use uuid::Uuid;

use super::{created_record, crud, no_content, ok_record, ProfileListQuery, Reply};
use crate::{
    http::auth::{Admin, Reader},
    http::dto::{ScepCertificateProfileList, ScepCertificateProfileView},
    http::extract::{IfMatch, ValidJson},
    service::versioned,
    state::AppState,
};

pub const PATH: &str = "/api/v1/scep-certificate-profiles";

pub fn configure(config: &mut web::ServiceConfig) {
    crud(config, PATH, (create, list), (get, replace, delete));
}

/// The response body of a profile.
fn view(record: Record<ScepCertificateProfile>) -> ScepCertificateProfileView {
    ScepCertificateProfileView::from(&record)
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
    admin: Admin,
    state: web::Data<AppState>,
    body: ValidJson<ScepCertificateProfileDraft>,
) -> Reply {
    created_record(
        PATH,
        versioned::create::<ScepCertificateProfile>(&state, &admin.actor(), body.0).await?,
        view,
    )
}

/// List SCEP certificate profiles
#[utoipa::path(get, path = "/api/v1/scep-certificate-profiles", tag = "scep-certificate-profiles",
    operation_id = "listScepCertificateProfiles",
    params(ProfileListQuery),
    responses((status = 200, description = "One page, in creation order", body = ScepCertificateProfileList)))]
pub async fn list(_: Reader, state: web::Data<AppState>, query: web::Query<ProfileListQuery>) -> Reply {
    let (filter, page) = query.parse()?;
    let page = state.store.list_scep_profiles(filter, page).await?;
    Ok(HttpResponse::Ok().json(ScepCertificateProfileList::new(page, view)))
}

/// Get a SCEP certificate profile
#[utoipa::path(get, path = "/api/v1/scep-certificate-profiles/{id}", tag = "scep-certificate-profiles",
    operation_id = "getScepCertificateProfile",
    params(("id" = Uuid, Path, description = "Profile id")),
    responses((status = 200, description = "The profile", body = ScepCertificateProfileView,
        headers(("ETag" = String, description = "Version tag for If-Match")))))]
pub async fn get(_: Reader, state: web::Data<AppState>, id: web::Path<Uuid>) -> Reply {
    ok_record(versioned::get::<ScepCertificateProfile>(&state, *id).await?, view)
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
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<ScepCertificateProfileDraft>,
) -> Reply {
    let record =
        versioned::replace::<ScepCertificateProfile>(&state, &admin.actor(), *id, &if_match, body.0).await?;
    ok_record(record, view)
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
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Reply {
    versioned::delete::<ScepCertificateProfile>(&state, &admin.actor(), *id, &if_match).await?;
    no_content()
}
