//! `/api/v1/trusted-certificate-profiles`: the CA certificates devices trust.

use actix_web::{web, HttpResponse};
use chrono::Utc;
use scepter_domain::{Record, TrustedCertificateProfile, TrustedCertificateProfileDraft};
use uuid::Uuid;

use scepter_storage::WouldWrite;

use super::{
    created_record, crud, dry_run_answer, no_content, ok_record, page_request, ProfileListQuery, Reply,
};
use crate::http::extract::Query;
use crate::{
    http::auth::{Admin, Reader},
    http::dto::{
        DryRunQuery, TrustedCertificateProfileList, TrustedCertificateProfileView, TrustedProfileDryRun,
        TrustedProfileReplacement,
    },
    http::extract::{IfMatch, ValidJson},
    service::{dry_run::DryRun, versioned},
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

/// 200 with a replacement's or delete's dry run.
async fn dry_run_reply(state: &AppState, run: DryRun) -> Reply {
    let result = |written| match written {
        WouldWrite::TrustedProfile(record) => Some(view(record)),
        _ => None,
    };
    dry_run_answer(state, run, result, TrustedProfileDryRun::new).await
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
pub async fn list(_: Reader, state: web::Data<AppState>, query: Query<ProfileListQuery>) -> Reply {
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
/// Devices the profile reaches install the new version; `dryRun=true` says
/// which (and which SCEP profiles rooted in it start or stop applying),
/// before anything changes.
#[utoipa::path(put, path = "/api/v1/trusted-certificate-profiles/{id}", tag = "trusted-certificate-profiles",
    operation_id = "replaceTrustedCertificateProfile",
    params(("id" = Uuid, Path, description = "Profile id"),
        ("If-Match" = String, Header, description = "ETag of the version being replaced"), DryRunQuery),
    request_body = TrustedCertificateProfileDraft,
    responses((status = 200, description = "Replaced (with `ETag`); with dryRun=true, what the replacement would do and nothing written",
        body = TrustedProfileReplacement,
        headers(("ETag" = String, description = "Version tag for If-Match (not on a dry run)"))),
        (status = 409, description = "SCEP profiles of another platform use it", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn replace(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    query: Query<DryRunQuery>,
    body: ValidJson<TrustedCertificateProfileDraft>,
) -> Reply {
    if query.is_dry_run() {
        let devices = page_request(query.limit, query.cursor.as_deref())?;
        let run = versioned::replace_dry_run::<TrustedCertificateProfile>(
            &state,
            &admin.actor(),
            *id,
            &if_match,
            body.0,
            devices,
        )
        .await?;
        return dry_run_reply(&state, run).await;
    }
    let record =
        versioned::replace::<TrustedCertificateProfile>(&state, &admin.actor(), *id, &if_match, body.0)
            .await?;
    ok_record(record, view)
}

/// Delete a trusted certificate profile
///
/// Refused (409) while a SCEP profile uses it as its root certificate.
/// `If-Match` is optional; when sent, a stale tag is refused (412).
/// `dryRun=true` says which devices remove it, before anything changes.
#[utoipa::path(delete, path = "/api/v1/trusted-certificate-profiles/{id}", tag = "trusted-certificate-profiles",
    operation_id = "deleteTrustedCertificateProfile",
    params(("id" = Uuid, Path, description = "Profile id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being deleted"), DryRunQuery),
    responses((status = 204, description = "Deleted"),
        (status = 200, description = "With dryRun=true: what the delete would do; nothing is written", body = TrustedProfileDryRun),
        (status = 409, description = "A SCEP profile uses it as its root", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn delete(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    query: Query<DryRunQuery>,
) -> Reply {
    if query.is_dry_run() {
        let devices = page_request(query.limit, query.cursor.as_deref())?;
        let run = versioned::delete_dry_run::<TrustedCertificateProfile>(
            &state,
            &admin.actor(),
            *id,
            &if_match,
            devices,
        )
        .await?;
        return dry_run_reply(&state, run).await;
    }
    versioned::delete::<TrustedCertificateProfile>(&state, &admin.actor(), *id, &if_match).await?;
    no_content()
}
