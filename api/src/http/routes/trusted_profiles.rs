//! `/api/v1/trusted-certificate-profiles`: the CA certificates devices trust.

use actix_web::{web, HttpResponse};
use chrono::Utc;
use scepter_domain::{Record, TrustedCertificateProfile, TrustedCertificateProfileDraft};
use uuid::Uuid;

use super::{created_record, crud, no_content, ok_record, ProfileListQuery, Reply};
use crate::{
    http::auth::{Admin, Reader},
    http::dto::{TrustedCertificateProfileList, TrustedCertificateProfileView},
    http::extract::{IfMatch, ValidJson},
    service::versioned,
    state::AppState,
};

pub const PATH: &str = "/api/v1/trusted-certificate-profiles";

pub fn configure(config: &mut web::ServiceConfig) {
    crud(config, PATH, (create, list), (get, replace, delete));
}

/// The response body of a profile, its warnings as of now.
fn view(record: Record<TrustedCertificateProfile>) -> TrustedCertificateProfileView {
    TrustedCertificateProfileView::new(&record, Utc::now())
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
    admin: Admin,
    state: web::Data<AppState>,
    body: ValidJson<TrustedCertificateProfileDraft>,
) -> Reply {
    created_record(
        PATH,
        versioned::create::<TrustedCertificateProfile>(&state, &admin.actor(), body.0).await?,
        view,
    )
}

/// List trusted certificate profiles
#[utoipa::path(get, path = "/api/v1/trusted-certificate-profiles", tag = "trusted-certificate-profiles",
    operation_id = "listTrustedCertificateProfiles",
    params(ProfileListQuery),
    responses((status = 200, description = "One page, in creation order", body = TrustedCertificateProfileList)))]
pub async fn list(_: Reader, state: web::Data<AppState>, query: web::Query<ProfileListQuery>) -> Reply {
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
pub async fn get(_: Reader, state: web::Data<AppState>, id: web::Path<Uuid>) -> Reply {
    ok_record(
        versioned::get::<TrustedCertificateProfile>(&state, *id).await?,
        view,
    )
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
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<TrustedCertificateProfileDraft>,
) -> Reply {
    let record =
        versioned::replace::<TrustedCertificateProfile>(&state, &admin.actor(), *id, &if_match, body.0)
            .await?;
    ok_record(record, view)
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
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Reply {
    versioned::delete::<TrustedCertificateProfile>(&state, &admin.actor(), *id, &if_match).await?;
    no_content()
}
