//! `GET /api/v1/devices/{id}/enrollment-timeline`: why a device has (or
//! lacks) its certificate — the timeline service's answer in the API's shape.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use scepter_domain::{
    enrollment::DenyReason,
    enrollment_timeline::{Diagnosis, DiagnosisCode, NotTargetedReason, TimelineEvent, TimelineItem},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{devices, resource};
use crate::http::extract::Query;
use crate::{
    error::ApiError,
    http::auth::Reader,
    service::timeline::{self, ProfileTimeline},
    state::AppState,
};

pub fn configure(config: &mut web::ServiceConfig) {
    config.service(
        resource(&format!("{}/{{id}}/enrollment-timeline", devices::PATH), "GET")
            .route(web::get().to(enrollment_timeline)),
    );
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentTimelineQuery {
    /// A SCEP certificate profile: answer its timeline and diagnosis. Without
    /// it, one diagnosis per SCEP profile that reaches or reached the device.
    #[param(value_type = Option<Uuid>)]
    pub profile_id: Option<String>,
}

/// What happened, in order. Which other fields an item carries depends on it:
/// - `targeted`: `groupIds` (the including groups). Evaluated when the timeline is read.
/// - `notTargeted`: `reason`, `groupIds` (the excluding groups for `assignmentExcluded`).
///   Evaluated when the timeline is read.
/// - `payloadOffered`: `scepServerUrls`, `challengeExpirationDateTime` (never the challenge).
/// - `verifyAllowed`: nothing more.
/// - `verifyDenied`: `diagnosticCode`, `diagnosticName`, `denyReason`, `detail` (for a name
///   mismatch, which RDN or SAN differed, expected and received).
/// - `certificateIssued`: `certificateId`, `serialNumber`, `thumbprintSha1`, `notBefore`, `notAfter`.
/// - `certificateReported`: `certificateId`, `thumbprintSha1` (first listed by the device at check-in).
/// - `renewalDue`: `certificateId`, `notAfter` (the certificate reached the renewal threshold).
/// - `revocationQueued`: `certificateId`.
/// - `revocationResult`: `certificateId`, `revoked`, `diagnosticCode`, `diagnosticName`, `detail`.
/// - `profileChanged`: `profileVersion` is the new version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum TimelineItemKind {
    Targeted,
    NotTargeted,
    PayloadOffered,
    VerifyAllowed,
    VerifyDenied,
    CertificateIssued,
    CertificateReported,
    RenewalDue,
    RevocationQueued,
    RevocationResult,
    ProfileChanged,
}

/// One step of a device's enrollment for a profile.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineItemView {
    pub occurred_date_time: DateTime<Utc>,
    pub kind: TimelineItemKind,
    /// The profile version the step concerns, when the fact records one.
    pub profile_version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<NotTargetedReason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_ids: Option<Vec<Uuid>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scep_server_urls: Option<Vec<String>>,
    /// When the offered payload's challenge stopped being good.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge_expiration_date_time: Option<DateTime<Utc>>,
    /// The seed's diagnostic code, e.g. `0x00000410`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostic_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostic_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deny_reason: Option<DenyReason>,
    /// Written for admins; never holds a challenge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbprint_sha1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked: Option<bool>,
}

impl TimelineItemView {
    fn new(item: &TimelineItem, kind: TimelineItemKind) -> Self {
        Self {
            occurred_date_time: item.occurred_at,
            kind,
            profile_version: item.profile_version,
            reason: None,
            group_ids: None,
            scep_server_urls: None,
            challenge_expiration_date_time: None,
            diagnostic_code: None,
            diagnostic_name: None,
            deny_reason: None,
            detail: None,
            certificate_id: None,
            serial_number: None,
            thumbprint_sha1: None,
            not_before: None,
            not_after: None,
            revoked: None,
        }
    }
}

impl From<TimelineItem> for TimelineItemView {
    fn from(item: TimelineItem) -> Self {
        use TimelineItemKind as Kind;
        match &item.event {
            TimelineEvent::Targeted { group_ids } => Self {
                group_ids: Some(group_ids.clone()),
                ..Self::new(&item, Kind::Targeted)
            },
            TimelineEvent::NotTargeted { reason, group_ids } => Self {
                reason: Some(*reason),
                group_ids: Some(group_ids.clone()),
                ..Self::new(&item, Kind::NotTargeted)
            },
            TimelineEvent::PayloadOffered {
                scep_server_urls,
                challenge_expires_at,
            } => Self {
                scep_server_urls: Some(scep_server_urls.clone()),
                challenge_expiration_date_time: Some(*challenge_expires_at),
                ..Self::new(&item, Kind::PayloadOffered)
            },
            TimelineEvent::VerifyAllowed => Self::new(&item, Kind::VerifyAllowed),
            TimelineEvent::VerifyDenied {
                diagnostic,
                reason,
                detail,
            } => Self {
                diagnostic_code: Some(diagnostic.hex()),
                diagnostic_name: Some(diagnostic.name().to_owned()),
                deny_reason: *reason,
                detail: Some(detail.clone()),
                ..Self::new(&item, Kind::VerifyDenied)
            },
            TimelineEvent::CertificateIssued(certificate) => Self {
                certificate_id: Some(certificate.id),
                serial_number: Some(certificate.serial_number.clone()),
                thumbprint_sha1: Some(certificate.thumbprint_sha1.clone()),
                not_before: Some(certificate.not_before),
                not_after: Some(certificate.not_after),
                ..Self::new(&item, Kind::CertificateIssued)
            },
            TimelineEvent::CertificateReported {
                certificate_id,
                thumbprint_sha1,
            } => Self {
                certificate_id: Some(*certificate_id),
                thumbprint_sha1: Some(thumbprint_sha1.clone()),
                ..Self::new(&item, Kind::CertificateReported)
            },
            TimelineEvent::RenewalDue {
                certificate_id,
                not_after,
            } => Self {
                certificate_id: Some(*certificate_id),
                not_after: Some(*not_after),
                ..Self::new(&item, Kind::RenewalDue)
            },
            TimelineEvent::RevocationQueued { certificate_id } => Self {
                certificate_id: Some(*certificate_id),
                ..Self::new(&item, Kind::RevocationQueued)
            },
            TimelineEvent::RevocationResult(result) => Self {
                certificate_id: Some(result.certificate_id),
                revoked: Some(result.revoked),
                diagnostic_code: Some(result.diagnostic.hex()),
                diagnostic_name: Some(result.diagnostic.name().to_owned()),
                detail: Some(result.message.clone()),
                ..Self::new(&item, Kind::RevocationResult)
            },
            TimelineEvent::ProfileChanged => Self::new(&item, Kind::ProfileChanged),
        }
    }
}

/// A template variable the device's or user's record has no value for.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MissingValueView {
    /// As written in templates, e.g. `{{EmailAddress}}`.
    pub variable: String,
    pub reason: String,
}

/// Why the device has or lacks its certificate, and what to do.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosisView {
    pub code: DiagnosisCode,
    pub summary: String,
    pub advice: String,
    /// For `missingValues`: every variable without a value.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_values: Vec<MissingValueView>,
    /// For `requestDenied`: the last denial's diagnostic code, e.g. `0x00000410`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostic_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostic_name: Option<String>,
    /// For `requestDenied`: why the last request was denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deny_reason: Option<DenyReason>,
}

impl From<Diagnosis> for DiagnosisView {
    fn from(diagnosis: Diagnosis) -> Self {
        Self {
            code: diagnosis.code,
            summary: diagnosis.summary,
            advice: diagnosis.advice,
            missing_values: diagnosis
                .missing_values
                .into_iter()
                .map(|missing| MissingValueView {
                    variable: format!("{{{{{}}}}}", missing.variable),
                    reason: missing.reason,
                })
                .collect(),
            diagnostic_code: diagnosis.denial.map(|(code, _)| code.hex()),
            diagnostic_name: diagnosis.denial.map(|(code, _)| code.name().to_owned()),
            deny_reason: diagnosis.denial.and_then(|(_, reason)| reason),
        }
    }
}

/// The answer with `profileId`: the device's timeline for that profile.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentTimeline {
    pub device_id: Uuid,
    pub profile_id: Uuid,
    /// Absent when the profile was deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub diagnosis: DiagnosisView,
    /// Oldest first; the current targeting (`targeted` or `notTargeted`) last.
    pub items: Vec<TimelineItemView>,
}

/// One SCEP profile's diagnosis for the device.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileDiagnosis {
    pub profile_id: Uuid,
    /// Absent when the profile was deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub diagnosis: DiagnosisView,
}

/// The answer without `profileId`: one diagnosis per SCEP profile that
/// reaches the device (also excluded ones and those for another platform)
/// or reached it (it holds, was offered or requested a certificate of it).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentDiagnoses {
    pub device_id: Uuid,
    /// By profile id.
    pub diagnoses: Vec<ProfileDiagnosis>,
}

/// `EnrollmentTimeline` with `profileId`, `EnrollmentDiagnoses` without.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum EnrollmentTimelineAnswer {
    Timeline(EnrollmentTimeline),
    Diagnoses(EnrollmentDiagnoses),
}

/// Why a device has or lacks its certificate
///
/// With `profileId`: the device's enrollment for that SCEP profile, oldest
/// first — targeting, payloads offered (with the challenge's expiry, never
/// the challenge), verifications with their diagnostic codes, certificates
/// issued and reported, renewal, revocations, profile changes — and a
/// diagnosis (`code`, `summary`, `advice`). Without it, one diagnosis per
/// SCEP profile that reaches or reached the device.
#[utoipa::path(get, path = "/api/v1/devices/{id}/enrollment-timeline", tag = "devices",
    operation_id = "getEnrollmentTimeline",
    params(("id" = Uuid, Path, description = "Device id"), EnrollmentTimelineQuery),
    responses((status = 200, description = "The timeline and diagnosis (with profileId) or one diagnosis per profile (without)",
        body = EnrollmentTimelineAnswer)))]
pub async fn enrollment_timeline(
    _: Reader,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: Query<EnrollmentTimelineQuery>,
) -> Result<HttpResponse, ApiError> {
    let device_id = *id;
    let now = Utc::now();
    let answer = match query.profile_id.as_deref() {
        Some(text) => {
            let profile_id = Uuid::parse_str(text)
                .map_err(|_| ApiError::field("profileId", "uuid", format!("{text:?} is not a UUID")))?;
            let found = timeline::for_profile(&state, device_id, profile_id, now).await?;
            EnrollmentTimelineAnswer::Timeline(EnrollmentTimeline {
                device_id,
                profile_id: found.profile_id,
                display_name: found.display_name,
                diagnosis: found.diagnosis.into(),
                items: found.items.into_iter().map(TimelineItemView::from).collect(),
            })
        }
        None => EnrollmentTimelineAnswer::Diagnoses(EnrollmentDiagnoses {
            device_id,
            diagnoses: timeline::per_profile(&state, device_id, now)
                .await?
                .into_iter()
                .map(|found: ProfileTimeline| ProfileDiagnosis {
                    profile_id: found.profile_id,
                    display_name: found.display_name,
                    diagnosis: found.diagnosis.into(),
                })
                .collect(),
        }),
    };
    Ok(HttpResponse::Ok().json(answer))
}
