//! `/api/v1/devices`: managed devices, and which profiles reach each one.

use actix_web::{web, HttpResponse};
use scepter_domain::{
    directory::{Device, DeviceDraft},
    targeting::{effective_profiles, Explain},
};
use scepter_storage::{RevocationScope, StorageError};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{created, ok_with_etag, optional_precondition, required_precondition, resource, PageQuery};
use crate::{
    error::ApiError,
    http::auth::{Admin, Reader},
    http::dto::{DeviceList, DeviceView, EffectiveProfileList, EffectiveProfileView},
    http::extract::{IfMatch, ValidJson},
    service::enrollment,
    state::AppState,
};

pub const PATH: &str = "/api/v1/devices";

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
        )
        .service(
            resource(&format!("{PATH}/{{id}}/effective-profiles"), "GET").route(web::get().to(effective)),
        );
}

/// The primary user was not found (or deleted meanwhile).
fn unknown_user(error: StorageError) -> ApiError {
    match error {
        StorageError::MissingReference => {
            ApiError::field("userId", "exists", "does not name an existing user")
        }
        other => other.into(),
    }
}

/// Create a device
#[utoipa::path(post, path = "/api/v1/devices", tag = "devices", operation_id = "createDevice",
    request_body = DeviceDraft,
    responses((status = 201, description = "Created", body = DeviceView,
        headers(("ETag" = String, description = "Version tag for If-Match"), ("Location" = String, description = "URL of the new device"))),
        (status = 409, description = "externalId taken", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create(
    _: Admin,
    state: web::Data<AppState>,
    body: ValidJson<DeviceDraft>,
) -> Result<HttpResponse, ApiError> {
    let device = Device::parse(body.0)?;
    let record = state.store.insert_device(&device).await.map_err(unknown_user)?;
    Ok(created(
        format!("{PATH}/{}", record.id),
        record.version,
        &DeviceView::from(record),
    ))
}

/// List devices
#[utoipa::path(get, path = "/api/v1/devices", tag = "devices", operation_id = "listDevices", params(PageQuery),
    responses((status = 200, description = "One page, in creation order", body = DeviceList)))]
pub async fn list(
    _: Reader,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = state.store.list_devices(query.page()?).await?;
    Ok(HttpResponse::Ok().json(DeviceList::new(page, DeviceView::from)))
}

/// Get a device
#[utoipa::path(get, path = "/api/v1/devices/{id}", tag = "devices", operation_id = "getDevice",
    params(("id" = Uuid, Path, description = "Device id")),
    responses((status = 200, description = "The device", body = DeviceView,
        headers(("ETag" = String, description = "Version tag for If-Match")))))]
pub async fn get(
    _: Reader,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let record = state.store.device(*id).await?.ok_or(ApiError::NotFound)?;
    Ok(ok_with_etag(record.version, &DeviceView::from(record)))
}

/// Replace a device
#[utoipa::path(put, path = "/api/v1/devices/{id}", tag = "devices", operation_id = "replaceDevice",
    params(("id" = Uuid, Path, description = "Device id"),
        ("If-Match" = String, Header, description = "ETag of the version being replaced")),
    request_body = DeviceDraft,
    responses((status = 200, description = "Replaced", body = DeviceView,
        headers(("ETag" = String, description = "Version tag for If-Match"))),
        (status = 409, description = "externalId taken", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn replace(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<DeviceDraft>,
) -> Result<HttpResponse, ApiError> {
    let current_version = async { Ok(state.store.device(*id).await?.map(|record| record.version)) };
    let expected_version = required_precondition(if_match, current_version).await?;
    let device = Device::parse(body.0)?;
    let record = state
        .store
        .update_device(*id, expected_version, &device)
        .await
        .map_err(unknown_user)?;
    // A new primary user or platform can stop profiles reaching the device.
    enrollment::queue_revocations(&state, RevocationScope::Devices(vec![*id])).await;
    Ok(ok_with_etag(record.version, &DeviceView::from(record)))
}

/// Delete a device
///
/// Also removes the device from its groups.
#[utoipa::path(delete, path = "/api/v1/devices/{id}", tag = "devices", operation_id = "deleteDevice",
    params(("id" = Uuid, Path, description = "Device id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being deleted")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let current_version = async { Ok(state.store.device(*id).await?.map(|record| record.version)) };
    let expected_version = optional_precondition(if_match, current_version).await?;
    state.store.delete_device(*id, expected_version).await?;
    // A retired device's certificates are revoked.
    enrollment::queue_revocations(&state, RevocationScope::Devices(vec![*id])).await;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EffectiveProfilesQuery {
    /// Also list profiles that reach the device but do not install: excluded
    /// ones (with the excluding assignments) and those for another platform.
    #[serde(default)]
    pub explain: bool,
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
    query: web::Query<EffectiveProfilesQuery>,
) -> Result<HttpResponse, ApiError> {
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
