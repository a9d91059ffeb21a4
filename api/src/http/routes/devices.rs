//! `/api/v1/devices`: managed devices, and which profiles reach each one.

use actix_web::{web, HttpResponse};
use scepter_domain::{
    directory::{Device, DeviceDraft},
    targeting::{effective_profiles, Explain},
};
use uuid::Uuid;

use scepter_storage::WouldWrite;

use super::{
    created_record, crud, dry_run_answer, no_content, ok_record, page_request, resource, PageQuery, Reply,
};
use crate::http::extract::Query;
use crate::{
    error::ApiError,
    http::auth::{Admin, Reader},
    http::dto::{
        DeviceDryRun, DeviceList, DeviceReplacement, DeviceView, DryRunQuery, EffectiveProfileList,
        EffectiveProfileView, EffectiveProfilesQuery,
    },
    http::extract::{IfMatch, ValidJson},
    service::versioned,
    state::AppState,
};

pub const PATH: &str = "/api/v1/devices";

pub fn configure(config: &mut web::ServiceConfig) {
    crud(config, PATH, (create, list), (get, replace, delete));
    config.service(
        resource(&format!("{PATH}/{{id}}/effective-profiles"), "GET").route(web::get().to(effective)),
    );
}

/// Create a device
#[utoipa::path(post, path = "/api/v1/devices", tag = "devices", operation_id = "createDevice",
    request_body = DeviceDraft,
    responses((status = 201, description = "Created", body = DeviceView,
        headers(("ETag" = String, description = "Version tag for If-Match"), ("Location" = String, description = "URL of the new device"))),
        (status = 409, description = "externalId taken", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create(admin: Admin, state: web::Data<AppState>, body: ValidJson<DeviceDraft>) -> Reply {
    created_record(
        PATH,
        versioned::create::<Device>(&state, &admin.actor(), body.0).await?,
        DeviceView::from,
    )
}

/// List devices
#[utoipa::path(get, path = "/api/v1/devices", tag = "devices", operation_id = "listDevices", params(PageQuery),
    responses((status = 200, description = "One page, in creation order", body = DeviceList)))]
pub async fn list(_: Reader, state: web::Data<AppState>, query: Query<PageQuery>) -> Reply {
    let page = state.store.list_devices(query.page()?).await?;
    Ok(HttpResponse::Ok().json(DeviceList::new(page, DeviceView::from)))
}

/// Get a device
#[utoipa::path(get, path = "/api/v1/devices/{id}", tag = "devices", operation_id = "getDevice",
    params(("id" = Uuid, Path, description = "Device id")),
    responses((status = 200, description = "The device", body = DeviceView,
        headers(("ETag" = String, description = "Version tag for If-Match")))))]
pub async fn get(_: Reader, state: web::Data<AppState>, id: web::Path<Uuid>) -> Reply {
    ok_record(versioned::get::<Device>(&state, *id).await?, DeviceView::from)
}

/// Replace a device
#[utoipa::path(put, path = "/api/v1/devices/{id}", tag = "devices", operation_id = "replaceDevice",
    params(("id" = Uuid, Path, description = "Device id"),
        ("If-Match" = String, Header, description = "ETag of the version being replaced"), DryRunQuery),
    request_body = DeviceDraft,
    responses((status = 200, description = "Replaced (with `ETag`); with dryRun=true, what the replacement would do and nothing written",
        body = DeviceReplacement,
        headers(("ETag" = String, description = "Version tag for If-Match (not on a dry run)"))),
        (status = 409, description = "externalId taken", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn replace(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    query: Query<DryRunQuery>,
    body: ValidJson<DeviceDraft>,
) -> Reply {
    if query.is_dry_run() {
        let devices = page_request(query.limit, query.cursor.as_deref())?;
        let run =
            versioned::replace_dry_run::<Device>(&state, &admin.actor(), *id, &if_match, body.0, devices)
                .await?;
        let result = |written| match written {
            WouldWrite::Device(record) => Some(DeviceView::from(record)),
            _ => None,
        };
        return dry_run_answer(&state, run, result, DeviceDryRun::new).await;
    }
    ok_record(
        versioned::replace::<Device>(&state, &admin.actor(), *id, &if_match, body.0).await?,
        DeviceView::from,
    )
}

/// Delete a device
///
/// Also removes the device from its groups.
#[utoipa::path(delete, path = "/api/v1/devices/{id}", tag = "devices", operation_id = "deleteDevice",
    params(("id" = Uuid, Path, description = "Device id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being deleted"), DryRunQuery),
    responses((status = 204, description = "Deleted"),
        (status = 200, description = "With dryRun=true: what the delete would do; nothing is written", body = DeviceDryRun)))]
pub async fn delete(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    query: Query<DryRunQuery>,
) -> Reply {
    if query.is_dry_run() {
        let devices = page_request(query.limit, query.cursor.as_deref())?;
        let run =
            versioned::delete_dry_run::<Device>(&state, &admin.actor(), *id, &if_match, devices).await?;
        return dry_run_answer(&state, run, |_| None, DeviceDryRun::new).await;
    }
    versioned::delete::<Device>(&state, &admin.actor(), *id, &if_match).await?;
    no_content()
}

/// Profiles that reach a device
///
/// Every profile assigned to a group the device or its primary user is in,
/// with its state: `applicable`, `failed` (e.g. `rootCertificateNotAssigned`)
/// or `notApplicable` (e.g. `noPrimaryUser`); with `explain=true` also
/// `excluded` ones and platform mismatches — why a device does or does not get a profile.
#[utoipa::path(get, path = "/api/v1/devices/{id}/effective-profiles", tag = "devices",
    operation_id = "getEffectiveProfiles",
    params(("id" = Uuid, Path, description = "Device id"), EffectiveProfilesQuery),
    responses((status = 200, description = "The profiles, trusted ones first", body = EffectiveProfileList)))]
pub async fn effective(
    _: Reader,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: Query<EffectiveProfilesQuery>,
) -> Reply {
    let (device, profiles) = state
        .store
        .device_targeting_facts(*id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let explain = if query.explain { Explain::Yes } else { Explain::No };
    let items = effective_profiles(&device, &profiles, explain)
        .into_iter()
        .map(EffectiveProfileView::from)
        .collect();
    Ok(HttpResponse::Ok().json(EffectiveProfileList { items }))
}
