//! Device credentials: `POST /api/v1/devices/{id}/credentials` issues one
//! (shown once; only its digest is stored), `DELETE` revokes them; and the
//! device-facing `/device/v1` API those credentials open.

use actix_web::{http::header, web, HttpResponse};
use scepter_domain::{
    audit::{AuditAction, ResourceType},
    directory::Device,
};
use uuid::Uuid;

use super::{devices, no_content, resource, Reply};
use crate::{
    http::auth::{Admin, DeviceCaller},
    http::dto::{DeviceView, IssuedCredential},
    service::{audit, directory, versioned},
    state::AppState,
};

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            resource(&format!("{}/{{id}}/credentials", devices::PATH), "POST, DELETE")
                .route(web::post().to(issue))
                .route(web::delete().to(revoke)),
        )
        .service(resource("/device/v1/me", "GET").route(web::get().to(me)));
}

/// Issue a device credential
///
/// Revokes the device's earlier credentials and returns a new one, once. The
/// device sends it as `Authorization: Bearer <credential>` to `/device/v1`.
#[utoipa::path(post, path = "/api/v1/devices/{id}/credentials", tag = "devices", operation_id = "issueDeviceCredential",
    params(("id" = Uuid, Path, description = "Device id")),
    responses((status = 201, description = "Issued; store it now, it is not shown again", body = IssuedCredential)))]
pub async fn issue(admin: Admin, state: web::Data<AppState>, id: web::Path<Uuid>) -> Reply {
    let credential = directory::issue_device_credential(&state, &admin.actor(), *id).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(IssuedCredential {
            credential_id: credential.id(),
            credential: credential.encode(),
        }))
}

/// Revoke the device's credentials
#[utoipa::path(delete, path = "/api/v1/devices/{id}/credentials", tag = "devices", operation_id = "revokeDeviceCredentials",
    params(("id" = Uuid, Path, description = "Device id")),
    responses((status = 204, description = "Revoked (also when none was active)")))]
pub async fn revoke(admin: Admin, state: web::Data<AppState>, id: web::Path<Uuid>) -> Reply {
    // The store records how many credentials it revoked.
    let audit = audit::entry_with(
        &admin.actor(),
        AuditAction::RevokeCredentials,
        ResourceType::Device,
        Vec::new(),
    );
    state.store.revoke_device_credentials(*id, &audit).await?;
    tracing::info!(device_id = %id, "revoked the device's credentials");
    no_content()
}

/// The calling device
///
/// Authenticated with the device's own credential: a device can read only itself.
#[utoipa::path(get, path = "/device/v1/me", tag = "device", operation_id = "getOwnDevice",
    responses((status = 200, description = "The device the credential belongs to", body = DeviceView),
        (status = 401, description = "Missing, invalid or revoked device credential", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn me(caller: DeviceCaller, state: web::Data<AppState>) -> Reply {
    let device = versioned::get::<Device>(&state, caller.device_id).await?;
    Ok(HttpResponse::Ok().json(DeviceView::from(device)))
}
