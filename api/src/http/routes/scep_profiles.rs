//! `/api/v1/scep-certificate-profiles`: how devices enroll for certificates.

use actix_web::{web, HttpResponse};
use scepter_domain::{Record, ScepCertificateProfile, ScepCertificateProfileDraft};
use uuid::Uuid;

use scepter_storage::WouldWrite;

use super::{
    created_record, crud, dry_run_answer, no_content, ok_record, page_request, ProfileListQuery, Reply,
};
use crate::http::extract::Query;
use crate::{
    http::auth::{Admin, Reader},
    http::dto::{
        DryRunQuery, ScepCertificateProfileList, ScepCertificateProfileView, ScepProfileDryRun,
        ScepProfileReplacement,
    },
    http::extract::{IfMatch, ValidJson},
    service::{dry_run::DryRun, versioned},
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

/// 200 with a replacement's or delete's dry run.
async fn dry_run_reply(state: &AppState, run: DryRun) -> Reply {
    let result = |written| match written {
        WouldWrite::ScepProfile(record) => Some(view(record)),
        _ => None,
    };
    dry_run_answer(state, run, result, ScepProfileDryRun::new).await
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
pub async fn list(_: Reader, state: web::Data<AppState>, query: Query<ProfileListQuery>) -> Reply {
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
/// Needs `If-Match` with the `ETag` of the version you read. Every device the
/// profile reaches is offered the new version at its next check-in (devices
/// holding a certificate enroll for a new one); `dryRun=true` says which,
/// before anything changes.
#[utoipa::path(put, path = "/api/v1/scep-certificate-profiles/{id}", tag = "scep-certificate-profiles",
    operation_id = "replaceScepCertificateProfile",
    params(("id" = Uuid, Path, description = "Profile id"),
        ("If-Match" = String, Header, description = "ETag of the version being replaced"), DryRunQuery),
    request_body = ScepCertificateProfileDraft,
    responses((status = 200, description = "Replaced (with `ETag`); with dryRun=true, what the replacement would do and nothing written",
        body = ScepProfileReplacement,
        headers(("ETag" = String, description = "Version tag for If-Match (not on a dry run)")))))]
pub async fn replace(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    query: Query<DryRunQuery>,
    body: ValidJson<ScepCertificateProfileDraft>,
) -> Reply {
    if query.is_dry_run() {
        let devices = page_request(query.limit, query.cursor.as_deref())?;
        let run = versioned::replace_dry_run::<ScepCertificateProfile>(
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
        versioned::replace::<ScepCertificateProfile>(&state, &admin.actor(), *id, &if_match, body.0).await?;
    ok_record(record, view)
}

/// Delete a SCEP certificate profile
///
/// `If-Match` is optional; when sent, a stale tag is refused (412). Devices
/// remove the profile and its certificates are queued for revocation;
/// `dryRun=true` says which, before anything changes.
#[utoipa::path(delete, path = "/api/v1/scep-certificate-profiles/{id}", tag = "scep-certificate-profiles",
    operation_id = "deleteScepCertificateProfile",
    params(("id" = Uuid, Path, description = "Profile id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being deleted"), DryRunQuery),
    responses((status = 204, description = "Deleted"),
        (status = 200, description = "With dryRun=true: what the delete would do; nothing is written", body = ScepProfileDryRun)))]
pub async fn delete(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    query: Query<DryRunQuery>,
) -> Reply {
    if query.is_dry_run() {
        let devices = page_request(query.limit, query.cursor.as_deref())?;
        let run = versioned::delete_dry_run::<ScepCertificateProfile>(
            &state,
            &admin.actor(),
            *id,
            &if_match,
            devices,
        )
        .await?;
        return dry_run_reply(&state, run).await;
    }
    versioned::delete::<ScepCertificateProfile>(&state, &admin.actor(), *id, &if_match).await?;
    no_content()
}
