//! The fleet certificate-health report.

use chrono::{DateTime, Utc};
use scepter_domain::Platform;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::enrollment::{diagnostic_hex, diagnostic_name};
use crate::service::health::{CertificateHealth, HealthFigures, ProfileHealth};

/// Device states (as in a profile's device-status summary) and certificate expiry.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthFiguresView {
    /// Devices the profile targets now (pending + challengeIssued + succeeded + failed + renewalDue).
    pub targeted_devices: u64,
    pub succeeded: u64,
    pub pending: u64,
    pub challenge_issued: u64,
    pub failed: u64,
    pub renewal_due: u64,
    /// Devices the profile no longer targets whose certificate awaits revocation.
    pub revocation_pending: u64,
    pub revoked: u64,
    /// Each device's newest unrevoked certificate of the profile, valid now and expiring within 7 days.
    pub certificates_expiring_within7_days: u64,
    /// … within 30 days (includes the 7-day ones).
    pub certificates_expiring_within30_days: u64,
    /// Each device's newest unrevoked certificate of the profile has expired
    /// and no successor was issued: the device still holds an expired one.
    pub certificates_expired_still_in_use: u64,
}

impl From<&HealthFigures> for HealthFiguresView {
    fn from(figures: &HealthFigures) -> Self {
        let states = &figures.states;
        Self {
            targeted_devices: figures.targeted(),
            succeeded: states.succeeded,
            pending: states.pending,
            challenge_issued: states.challenge_issued,
            failed: states.failed,
            renewal_due: states.renewal_due,
            revocation_pending: states.revocation_pending,
            revoked: states.revoked,
            certificates_expiring_within7_days: figures.expiry.expiring_within_7_days,
            certificates_expiring_within30_days: figures.expiry.expiring_within_30_days,
            certificates_expired_still_in_use: figures.expiry.expired_still_in_use,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileHealthView {
    pub profile_id: Uuid,
    pub display_name: String,
    pub platform: Platform,
    #[serde(flatten)]
    pub figures: HealthFiguresView,
}

/// Device × profile pairs whose last enrollment step failed with one diagnostic code.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailureCountView {
    /// E.g. `0x80070005`.
    pub diagnostic_code: String,
    pub diagnostic_name: String,
    pub count: u64,
}

/// Enrollment across the fleet. `totals` add up the profiles: a device two
/// profiles target counts once per profile.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateHealthReport {
    pub generated_date_time: DateTime<Utc>,
    pub totals: HealthFiguresView,
    pub failures_by_diagnostic_code: Vec<FailureCountView>,
    /// Every SCEP profile, in id order.
    pub profiles: Vec<ProfileHealthView>,
}

impl From<&CertificateHealth> for CertificateHealthReport {
    fn from(report: &CertificateHealth) -> Self {
        Self {
            generated_date_time: report.generated_at,
            totals: HealthFiguresView::from(&report.totals),
            failures_by_diagnostic_code: report
                .failures_by_code
                .iter()
                .map(|(code, count)| FailureCountView {
                    diagnostic_code: diagnostic_hex(*code),
                    diagnostic_name: diagnostic_name(*code),
                    count: *count,
                })
                .collect(),
            profiles: report
                .profiles
                .iter()
                .map(|profile: &ProfileHealth| ProfileHealthView {
                    profile_id: profile.profile_id,
                    display_name: profile.display_name.clone(),
                    platform: profile.platform,
                    figures: HealthFiguresView::from(&profile.figures),
                })
                .collect(),
        }
    }
}
