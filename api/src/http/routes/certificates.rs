//! A device's issued certificates, and revoking one by hand.

use actix_web::{web, HttpResponse};
use scepter_domain::audit::{AuditAction, ResourceType};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{devices, resource};
use crate::{
    error::ApiError,
    http::{
        auth::{Admin, Reader},
        dto::CertificateView,
    },
    service::{audit, ledger},
    state::AppState,
};

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            resource(&format!("{}/{{id}}/certificates", devices::PATH), "GET")
                .route(web::get().to(device_certificates)),
        )
        .service(
            resource(
                &format!("{}/{{id}}/certificates/{{certificateId}}/revoke", devices::PATH),
                "POST",
            )
            .route(web::post().to(revoke_certificate)),
        );
}

/// A device's certificates.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateList {
    pub items: Vec<CertificateView>,
}

/// A device's issued certificates
///
/// Newest first, with each one's revocation status.
#[utoipa::path(get, path = "/api/v1/devices/{id}/certificates", tag = "devices", operation_id = "listDeviceCertificates",
    params(("id" = Uuid, Path, description = "Device id")),
    responses((status = 200, description = "The device's certificates", body = CertificateList)))]
pub async fn device_certificates(
    _: Reader,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let certificates = ledger::device_certificates(&state, *id).await?;
    Ok(HttpResponse::Ok().json(CertificateList {
        items: certificates.into_iter().map(CertificateView::from).collect(),
    }))
}

/// Revoke a certificate
///
/// Queues one of the device's certificates for revocation by the connector
/// (`pending`), e.g. for a lost device, or again after a `failed` revocation.
/// A device the profile still reaches gets `install` at its next check-in.
#[utoipa::path(post, path = "/api/v1/devices/{id}/certificates/{certificateId}/revoke", tag = "devices",
    operation_id = "revokeDeviceCertificate",
    params(("id" = Uuid, Path, description = "Device id"), ("certificateId" = Uuid, Path, description = "Certificate id")),
    responses(
        (status = 200, description = "Queued for revocation", body = CertificateView),
        (status = 409, description = "Already queued or revoked", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn revoke_certificate(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (device_id, certificate_id) = path.into_inner();
    // The store records the revocation status it moved from.
    let audit = audit::entry_with(
        &admin.actor(),
        AuditAction::RevokeCertificate,
        ResourceType::Certificate,
        Vec::new(),
    );
    let queued = state
        .store
        .request_revocation(device_id, certificate_id, &audit)
        .await?;
    tracing::info!(%device_id, %certificate_id, by = %admin.0.subject, "queued a certificate for revocation");
    Ok(HttpResponse::Ok().json(CertificateView::from(queued)))
}
