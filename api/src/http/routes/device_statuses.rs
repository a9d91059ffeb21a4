//! `GET /api/v1/scep-certificate-profiles/{id}/device-statuses`: the
//! statuses service's page, in the API's shape.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use scepter_domain::{
    device_status::{DeviceEnrollmentState, DeviceStatus, DeviceStatusSummary, StatusDetail},
    targeting::TargetReason,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{page_request, resource, scep_profiles};
use crate::http::extract::Query;
use crate::{
    error::ApiError,
    http::{
        auth::Reader,
        dto::{diagnostic_hex, diagnostic_name},
    },
    service::{health, statuses},
    state::AppState,
};

pub fn configure(config: &mut web::ServiceConfig) {
    config.service(
        resource(&format!("{}/{{id}}/device-statuses", scep_profiles::PATH), "GET")
            .route(web::get().to(device_statuses)),
    );
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
    /// When the summary's counts were true: the time of the request, or for
    /// a profile reaching 10,000 devices or more, that of the latest
    /// certificate health report (no older than `maxAgeSeconds`).
    pub summary_generated_date_time: DateTime<Utc>,
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
    /// The oldest summary the caller accepts, in seconds (default: the
    /// server's `--certificate-health-max-age`). Only profiles reaching
    /// 10,000 devices or more take their summary from the certificate health
    /// report; `0` counts it now, which at that size takes hundreds of ms.
    #[serde(rename = "maxAgeSeconds")]
    #[param(rename = "maxAgeSeconds", minimum = 0)]
    pub max_age_seconds: Option<u32>,
}

/// A SCEP profile's status per device
///
/// Every device the profile applies to (targeting rules 1–4; a device its
/// root does not reach is `failed` with reason `rootCertificateNotAssigned`),
/// and every device that still holds one of its certificates, with its state;
/// the summary counts all of them. The page is read now; for a profile that
/// reaches 10,000 devices or more, the summary comes from the latest
/// certificate health report while it is young enough
/// (`summaryGeneratedDateTime` says when its counts were true).
#[utoipa::path(get, path = "/api/v1/scep-certificate-profiles/{id}/device-statuses", tag = "scep-certificate-profiles",
    operation_id = "listScepProfileDeviceStatuses",
    params(("id" = Uuid, Path, description = "Profile id"), DeviceStatusQuery),
    responses((status = 200, description = "Per-device states and a summary", body = DeviceStatusList)))]
pub async fn device_statuses(
    _: Reader,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: Query<DeviceStatusQuery>,
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
    let summary_max_age = health::accepted_age(query.max_age_seconds, state.certificate_health_max_age);
    // The time of the answer is when its turn came, not when it was asked.
    let _turn = state.reports.enter().await;
    let statuses = statuses::device_statuses(&state, *id, only, page, Utc::now(), summary_max_age).await?;
    Ok(HttpResponse::Ok().json(DeviceStatusList {
        summary: statuses.summary,
        summary_generated_date_time: statuses.summary_generated_at,
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
