//! A SCEP profile's state on each device: what the admin's per-profile
//! report shows (seed: "Monitor … device status").
//!
//! The devices are those the profile reaches by targeting rules 1–3 (read by
//! storage), narrowed by rules 4 and 5 exactly as check-in narrows them
//! ([`scep_target_state`]), plus every device that still holds one of the
//! profile's certificates although the profile no longer reaches it. Per
//! device, in this order:
//!
//! 1. a valid (unrevoked, unexpired) certificate: `succeeded`, or
//!    `renewalDue` once it passed the profile's renewal threshold;
//! 2. the profile does not work there (rule 5, root not reaching): `failed`
//!    with the targeting reason;
//! 3. the last enrollment step: `challengeIssued`, or `failed` with the
//!    policy module's diagnostic and reason;
//! 4. otherwise `pending`.
//!
//! A device the profile no longer reaches is `revocationPending` while one of
//! its certificates is not yet revoked, then `revoked`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    checkin::{renewal_due, RevokeStatus},
    diagnostics::DiagnosticCode,
    scep_profile::CertificateType,
    targeting::{scep_target_state, TargetReason, TargetState},
};

/// A device's state for one SCEP profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

impl DeviceEnrollmentState {
    pub const ALL: [Self; 7] = [
        Self::Pending,
        Self::ChallengeIssued,
        Self::Succeeded,
        Self::Failed,
        Self::RenewalDue,
        Self::RevocationPending,
        Self::Revoked,
    ];

    /// The state named as in the API (`challengeIssued`, …).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|state| serde_json::to_value(state).is_ok_and(|value| value == text))
    }
}

/// The profile whose statuses are derived.
#[derive(Debug, Clone, Copy)]
pub struct StatusProfile {
    pub certificate_type: CertificateType,
    pub renewal_threshold_percent: u8,
}

/// A device the profile reaches by targeting rules 1–3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetedDevice {
    pub device_id: Uuid,
    pub device_name: String,
    pub has_primary_user: bool,
    /// Whether the profile's trusted root reaches the device (rule 5).
    pub root_installed: bool,
}

/// One of the profile's certificates in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub certificate_id: Uuid,
    pub device_id: Uuid,
    pub issued_at: DateTime<Utc>,
    /// `notBefore` and `notAfter`.
    pub validity: (DateTime<Utc>, DateTime<Utc>),
    pub revocation: Revocation,
}

/// Where a certificate's revocation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revocation {
    pub status: RevokeStatus,
    /// When it was queued.
    pub requested_at: Option<DateTime<Utc>>,
    /// The CA's answer, for a failed or completed revocation.
    pub diagnostic_code: Option<u32>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// How far the device's last request for the profile got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    ChallengeIssued,
    Failed(DiagnosticCode),
}

/// The device's last enrollment step for the profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepEntry {
    pub device_id: Uuid,
    pub step: Step,
    /// Why it failed (a stable reason code), for `Failed`.
    pub reason: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// What is known about a failure or a revocation: a diagnostic code, a reason, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusDetail {
    /// The policy module's or the CA's diagnostic code, with the policy module's reason.
    Diagnostic { code: u32, reason: Option<String> },
    /// A targeting reason (e.g. `rootCertificateNotAssigned`).
    Targeting(TargetReason),
}

/// One device's state for the profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceStatus {
    pub device_id: Uuid,
    /// Absent for a device the profile no longer reaches (it may be retired).
    pub device_name: Option<String>,
    pub state: DeviceEnrollmentState,
    pub detail: Option<StatusDetail>,
    /// The certificate the state is about.
    pub certificate_id: Option<Uuid>,
    pub last_updated: Option<DateTime<Utc>>,
}

/// Every device's state for the profile, ordered by device id. `certificates`
/// are the profile's, newest first per device.
pub fn device_statuses(
    profile: StatusProfile,
    targeted: &[TargetedDevice],
    certificates: &[LedgerEntry],
    steps: &[StepEntry],
    now: DateTime<Utc>,
) -> Vec<DeviceStatus> {
    let mut held: BTreeMap<Uuid, Vec<&LedgerEntry>> = BTreeMap::new();
    for certificate in certificates {
        held.entry(certificate.device_id).or_default().push(certificate);
    }
    let steps: HashMap<Uuid, &StepEntry> = steps.iter().map(|step| (step.device_id, step)).collect();
    let mut statuses = Vec::with_capacity(targeted.len());
    for device in targeted {
        let (target_state, target_reason) = scep_target_state(
            Some(profile.certificate_type),
            device.has_primary_user,
            device.root_installed,
        );
        // Rule 4: a profile that does not apply leaves the device out altogether.
        if target_state == TargetState::NotApplicable {
            continue;
        }
        let certificates = held.remove(&device.device_id).unwrap_or_default();
        statuses.push(targeted_status(
            profile,
            device,
            target_reason,
            &certificates,
            steps.get(&device.device_id).copied(),
            now,
        ));
    }
    // Devices the profile no longer reaches but that hold its certificates.
    statuses.extend(
        held.into_iter()
            .filter_map(|(device_id, certificates)| untargeted_status(device_id, &certificates)),
    );
    statuses.sort_by_key(|status| status.device_id);
    statuses
}

fn targeted_status(
    profile: StatusProfile,
    device: &TargetedDevice,
    target_reason: Option<TargetReason>,
    certificates: &[&LedgerEntry],
    step: Option<&StepEntry>,
    now: DateTime<Utc>,
) -> DeviceStatus {
    let mut status = DeviceStatus {
        device_id: device.device_id,
        device_name: Some(device.device_name.clone()),
        state: DeviceEnrollmentState::Pending,
        detail: None,
        certificate_id: None,
        last_updated: None,
    };
    let valid = certificates.iter().find(|certificate| {
        certificate.revocation.status == RevokeStatus::None && certificate.validity.1 > now
    });
    if let Some(certificate) = valid {
        let (not_before, not_after) = certificate.validity;
        let due = renewal_due(not_before, not_after, profile.renewal_threshold_percent, now);
        status.state = if due {
            DeviceEnrollmentState::RenewalDue
        } else {
            DeviceEnrollmentState::Succeeded
        };
        status.certificate_id = Some(certificate.certificate_id);
        status.last_updated = Some(certificate.issued_at);
    } else if let Some(reason) = target_reason {
        status.state = DeviceEnrollmentState::Failed;
        status.detail = Some(StatusDetail::Targeting(reason));
    } else if let Some(step) = step {
        status.last_updated = Some(step.updated_at);
        match step.step {
            Step::ChallengeIssued => status.state = DeviceEnrollmentState::ChallengeIssued,
            Step::Failed(code) => {
                status.state = DeviceEnrollmentState::Failed;
                status.detail = Some(StatusDetail::Diagnostic {
                    code: code.code(),
                    reason: step.reason.clone(),
                });
            }
        }
    }
    status
}

fn untargeted_status(device_id: Uuid, certificates: &[&LedgerEntry]) -> Option<DeviceStatus> {
    let awaiting = certificates
        .iter()
        .find(|certificate| certificate.revocation.status != RevokeStatus::Revoked);
    let certificate = awaiting.or_else(|| certificates.first())?;
    let revocation = certificate.revocation;
    Some(DeviceStatus {
        device_id,
        device_name: None,
        state: if awaiting.is_none() {
            DeviceEnrollmentState::Revoked
        } else {
            DeviceEnrollmentState::RevocationPending
        },
        detail: revocation
            .diagnostic_code
            .map(|code| StatusDetail::Diagnostic { code, reason: None }),
        certificate_id: Some(certificate.certificate_id),
        last_updated: revocation.revoked_at.or(revocation.requested_at),
    })
}

/// Devices per state, over all pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    pub fn of(statuses: &[DeviceStatus]) -> Self {
        let mut summary = Self::default();
        for status in statuses {
            let counter = match status.state {
                DeviceEnrollmentState::Pending => &mut summary.pending,
                DeviceEnrollmentState::ChallengeIssued => &mut summary.challenge_issued,
                DeviceEnrollmentState::Succeeded => &mut summary.succeeded,
                DeviceEnrollmentState::Failed => &mut summary.failed,
                DeviceEnrollmentState::RenewalDue => &mut summary.renewal_due,
                DeviceEnrollmentState::RevocationPending => &mut summary.revocation_pending,
                DeviceEnrollmentState::Revoked => &mut summary.revoked,
            };
            *counter += 1;
        }
        summary
    }
}

#[cfg(test)]
mod tests;
