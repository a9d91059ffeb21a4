//! What admins read about enrollment: a device's issued certificates, a SCEP
//! profile's per-device status, and the event log.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use scepter_domain::{
    device_status::{DeviceEnrollmentState, DeviceStatus, DeviceStatusSummary, StatusDetail},
    targeting::TargetReason,
};
use scepter_storage::EventFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{devices, page_request, resource, scep_profiles};
use crate::{
    error::ApiError,
    http::auth::{Admin, Reader},
    http::dto::{diagnostic_hex, diagnostic_name, CertificateView, EventList, EventView},
    service::statuses,
    state::AppState,
};

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            resource(&format!("{}/{{id}}/certificates", devices::PATH), "GET")
                .route(web::get().to(device_certificates)),
        )
        .service(
            resource(&format!("{}/{{id}}/device-statuses", scep_profiles::PATH), "GET")
                .route(web::get().to(device_statuses)),
        )
        .service(resource("/api/v1/events", "GET").route(web::get().to(events)))
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
    let certificates = state.store.device_certificates(*id).await?;
    // A retired device's certificates stay listed (they may await revocation).
    if certificates.is_empty() && state.store.device(*id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
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
    let queued = state.store.request_revocation(device_id, certificate_id).await?;
    tracing::info!(%device_id, %certificate_id, by = %admin.0.subject, "queued a certificate for revocation");
    Ok(HttpResponse::Ok().json(CertificateView::from(queued)))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceStatusView {
    pub device_id: Uuid,
    /// Absent for a retired (deleted) device whose certificates remain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    pub state: DeviceEnrollmentState,
    /// For `failed` and failed revocations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostic_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostic_name: Option<String>,
    /// For `failed`: why the request was denied, or `rootCertificateNotAssigned`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The certificate the state is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated_date_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceStatusList {
    pub summary: DeviceStatusSummary,
    /// One page of devices, by id.
    pub items: Vec<DeviceStatusView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeviceStatusQuery {
    /// Only devices in this state.
    #[param(value_type = Option<DeviceEnrollmentState>)]
    pub state: Option<String>,
    /// Page size, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// A SCEP profile's status per device
///
/// Every device the profile applies to (targeting rules 1–4; a device its
/// root does not reach is `failed` with reason `rootCertificateNotAssigned`),
/// and every device that still holds one of its certificates, with its state;
/// the summary counts all of them.
#[utoipa::path(get, path = "/api/v1/scep-certificate-profiles/{id}/device-statuses", tag = "scep-certificate-profiles",
    operation_id = "listScepProfileDeviceStatuses",
    params(("id" = Uuid, Path, description = "Profile id"), DeviceStatusQuery),
    responses((status = 200, description = "Per-device states and a summary", body = DeviceStatusList)))]
pub async fn device_statuses(
    _: Reader,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<DeviceStatusQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(query.limit, query.cursor.as_deref())?;
    let only = query
        .state
        .as_deref()
        .map(|text| {
            DeviceEnrollmentState::parse(text)
                .ok_or_else(|| ApiError::field("state", "enum", format!("{text:?} is not a device state")))
        })
        .transpose()?;
    let statuses = statuses::device_statuses(&state, *id, only, page, Utc::now()).await?;
    Ok(HttpResponse::Ok().json(DeviceStatusList {
        summary: statuses.summary,
        items: statuses
            .page
            .items
            .into_iter()
            .map(DeviceStatusView::from)
            .collect(),
        next_cursor: statuses.page.next_cursor.map(|cursor| cursor.encode()),
    }))
}

impl From<DeviceStatus> for DeviceStatusView {
    fn from(status: DeviceStatus) -> Self {
        let (code, reason) = match status.detail {
            Some(StatusDetail::Diagnostic { code, reason }) => (Some(code), reason),
            Some(StatusDetail::Targeting(reason)) => (None, Some(target_reason_name(reason))),
            None => (None, None),
        };
        Self {
            device_id: status.device_id,
            device_name: status.device_name,
            state: status.state,
            diagnostic_code: code.map(diagnostic_hex),
            diagnostic_name: code.map(diagnostic_name),
            reason,
            certificate_id: status.certificate_id,
            last_updated_date_time: status.last_updated,
        }
    }
}

/// A targeting reason as the API spells it (`rootCertificateNotAssigned`).
fn target_reason_name(reason: TargetReason) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct EventQuery {
    pub device_id: Option<Uuid>,
    pub profile_id: Option<Uuid>,
    /// The seed's event id, e.g. 20500.
    // Documented with the range the server parses (u32); utoipa would say int32.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4294967295_u32)]
    pub event_id: Option<u32>,
    /// Events at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Events before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Page size, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// Events
///
/// Connector events (challenge verification, notification, revocation),
/// oldest first, filtered by device, profile, event id and time range.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", operation_id = "listEvents",
    params(EventQuery),
    responses((status = 200, description = "One page of events", body = EventList)))]
pub async fn events(
    _: Reader,
    state: web::Data<AppState>,
    query: web::Query<EventQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(query.limit, query.cursor.as_deref())?;
    if let (Some(from), Some(to)) = (query.from, query.to) {
        if to <= from {
            return Err(ApiError::field("to", "range", "must be after from"));
        }
    }
    let filter = EventFilter {
        device_id: query.device_id,
        profile_id: query.profile_id,
        event_id: query.event_id,
        from: query.from,
        to: query.to,
    };
    let events = state.store.list_events(filter, page).await?;
    Ok(HttpResponse::Ok().json(EventList::new(events, EventView::from)))
}
