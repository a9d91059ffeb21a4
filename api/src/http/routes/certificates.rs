//! What admins read about enrollment: a device's issued certificates, a SCEP
//! profile's per-device status, and the event log.

use std::collections::{HashMap, HashSet};

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use scepter_domain::{
    checkin::{renewal_due, RevokeStatus},
    scep_profile::CertificateType,
    targeting::ProfileKind,
};
use scepter_storage::{EnrollmentStep, EventFilter, PageRequest, StoredCertificate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{devices, page_request, resource, scep_profiles};
use crate::{
    error::ApiError,
    http::auth::{Admin, Reader},
    http::dto::{diagnostic_hex, diagnostic_name, CertificateView, EventList, EventView},
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

/// A device's state for one SCEP profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum DeviceEnrollmentState {
    /// Targeted; the device has not checked in for it yet.
    Pending,
    /// The device got a payload with a challenge.
    ChallengeIssued,
    /// A valid certificate is in the ledger.
    Succeeded,
    /// The policy module denied the last request (see the diagnostic).
    Failed,
    /// The certificate has reached the renewal threshold.
    RenewalDue,
    /// No longer targeted; the certificate awaits revocation (or it failed).
    RevocationPending,
    /// No longer targeted; the certificates are revoked.
    Revoked,
}

const ALL_STATES: [DeviceEnrollmentState; 7] = [
    DeviceEnrollmentState::Pending,
    DeviceEnrollmentState::ChallengeIssued,
    DeviceEnrollmentState::Succeeded,
    DeviceEnrollmentState::Failed,
    DeviceEnrollmentState::RenewalDue,
    DeviceEnrollmentState::RevocationPending,
    DeviceEnrollmentState::Revoked,
];

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

/// Devices per state, over all pages.
#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceStatusSummary {
    pub pending: u64,
    pub challenge_issued: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub renewal_due: u64,
    pub revocation_pending: u64,
    pub revoked: u64,
}

impl DeviceStatusSummary {
    fn count(&mut self, state: DeviceEnrollmentState) {
        let counter = match state {
            DeviceEnrollmentState::Pending => &mut self.pending,
            DeviceEnrollmentState::ChallengeIssued => &mut self.challenge_issued,
            DeviceEnrollmentState::Succeeded => &mut self.succeeded,
            DeviceEnrollmentState::Failed => &mut self.failed,
            DeviceEnrollmentState::RenewalDue => &mut self.renewal_due,
            DeviceEnrollmentState::RevocationPending => &mut self.revocation_pending,
            DeviceEnrollmentState::Revoked => &mut self.revoked,
        };
        *counter += 1;
    }
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
    let filter = query
        .state
        .as_deref()
        .map(|text| {
            ALL_STATES
                .into_iter()
                .find(|candidate| serde_json::to_value(candidate).is_ok_and(|value| value == text))
                .ok_or_else(|| ApiError::field("state", "enum", format!("{text:?} is not a device state")))
        })
        .transpose()?;
    let profile = state.store.scep_profile(*id).await?.ok_or(ApiError::NotFound)?;
    let threshold = profile.content.settings.renewal_threshold_percentage.percent();

    let mut certificates: HashMap<Uuid, Vec<StoredCertificate>> = HashMap::new();
    for certificate in state.store.profile_certificates(*id).await? {
        certificates
            .entry(certificate.device_id)
            .or_default()
            .push(certificate);
    }
    let steps: HashMap<Uuid, _> = state
        .store
        .profile_states(*id)
        .await?
        .into_iter()
        .map(|step| (step.device_id, step))
        .collect();

    let now = Utc::now();
    let mut statuses = Vec::new();
    // Targeting rule 5: the profile needs its root to reach the device.
    let root_reaches: HashSet<Uuid> = all_targeted(
        &state,
        ProfileKind::TrustedCertificate,
        profile.content.root_certificate_id,
        profile.content.platform,
    )
    .await?
    .into_iter()
    .map(|device| device.id)
    .collect();
    let user_certificate = profile.content.settings.certificate_type == CertificateType::User;
    for device in all_targeted(
        &state,
        ProfileKind::ScepCertificate,
        *id,
        profile.content.platform,
    )
    .await?
    {
        // Rule 4: a user certificate does not apply to a device without a primary user.
        if user_certificate && device.content.device.user_id.is_none() {
            continue;
        }
        let held = certificates.remove(&device.id).unwrap_or_default();
        let valid = held.iter().find(|certificate| {
            certificate.revoke_status == RevokeStatus::None && certificate.not_after > now
        });
        let mut view = DeviceStatusView {
            device_id: device.id,
            device_name: Some(device.content.device.device_name.clone()),
            state: DeviceEnrollmentState::Pending,
            diagnostic_code: None,
            diagnostic_name: None,
            reason: None,
            certificate_id: None,
            last_updated_date_time: None,
        };
        if let Some(certificate) = valid {
            view.state = if renewal_due(certificate.not_before, certificate.not_after, threshold, now) {
                DeviceEnrollmentState::RenewalDue
            } else {
                DeviceEnrollmentState::Succeeded
            };
            view.certificate_id = Some(certificate.id);
            view.last_updated_date_time = Some(certificate.issued_at);
        } else if !root_reaches.contains(&device.id) {
            view.state = DeviceEnrollmentState::Failed;
            view.reason = Some("rootCertificateNotAssigned".to_owned());
        } else if let Some(step) = steps.get(&device.id) {
            view.last_updated_date_time = Some(step.updated_at);
            match step.step {
                EnrollmentStep::ChallengeIssued => view.state = DeviceEnrollmentState::ChallengeIssued,
                EnrollmentStep::Failed(code) => {
                    view.state = DeviceEnrollmentState::Failed;
                    view.diagnostic_code = Some(code.hex());
                    view.diagnostic_name = Some(code.name().to_owned());
                    view.reason = step.reason.clone();
                }
            }
        }
        statuses.push(view);
    }
    // Devices the profile no longer reaches but that hold its certificates.
    for (device_id, held) in certificates {
        let awaiting = held
            .iter()
            .find(|certificate| certificate.revoke_status != RevokeStatus::Revoked);
        let Some(certificate) = awaiting.or_else(|| held.first()) else {
            continue;
        };
        // A retired device has no name any more.
        let device_name = state
            .store
            .device(device_id)
            .await?
            .map(|device| device.content.device.device_name);
        statuses.push(DeviceStatusView {
            device_id,
            device_name,
            state: if awaiting.is_none() {
                DeviceEnrollmentState::Revoked
            } else {
                DeviceEnrollmentState::RevocationPending
            },
            diagnostic_code: certificate.revoke_diagnostic_code.map(diagnostic_hex),
            diagnostic_name: certificate.revoke_diagnostic_code.map(diagnostic_name),
            reason: None,
            certificate_id: Some(certificate.id),
            last_updated_date_time: certificate.revoked_at.or(certificate.revoke_requested_at),
        });
    }
    statuses.sort_by_key(|status| status.device_id);

    let mut summary = DeviceStatusSummary::default();
    statuses.iter().for_each(|status| summary.count(status.state));
    let after = page.cursor.map(|cursor| cursor.last_id());
    let mut items: Vec<DeviceStatusView> = statuses
        .into_iter()
        .filter(|status| filter.is_none_or(|wanted| status.state == wanted))
        .filter(|status| after.is_none_or(|after| status.device_id > after))
        .take(page.limit as usize + 1)
        .collect();
    let next_cursor = if items.len() > page.limit as usize {
        items.truncate(page.limit as usize);
        items
            .last()
            .map(|last| scepter_storage::Cursor::after(last.device_id).encode())
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(DeviceStatusList {
        summary,
        items,
        next_cursor,
    }))
}

/// Every device a profile reaches by targeting rules 1–3, all pages.
async fn all_targeted(
    state: &AppState,
    kind: ProfileKind,
    profile_id: Uuid,
    platform: scepter_domain::Platform,
) -> Result<Vec<scepter_domain::Record<scepter_storage::StoredDevice>>, ApiError> {
    let mut devices = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let batch = state
            .store
            .targeted_devices(kind, profile_id, platform, page)
            .await?;
        devices.extend(batch.items);
        match batch.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return Ok(devices),
        }
    }
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
