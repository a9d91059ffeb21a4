//! Why a device has (or lacks) its certificate: one device's enrollment
//! history for one SCEP profile as a timeline, and a diagnosis over it.
//!
//! The API gathers the facts — what targeting says now, the payloads
//! check-in handed out, the policy module's verdicts (events), the ledger of
//! issued certificates, the profile's versions — and [`timeline`] and
//! [`diagnose`] judge them with `now` passed in, like `checkin::decide`.
//!
//! The diagnosis looks at the newest step of the enrollment cycle
//! (offer → verification → certificate): a certificate newer than every
//! offer is judged by its own state (revoked, expired or due, reported or
//! not); a verification newer than every offer by its verdict; an offer by
//! whether its challenge is still good. Targeting and missing template
//! values come first: they stop the cycle before it starts.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    checkin::{renewal_due, RevokeStatus},
    diagnostics::DiagnosticCode,
    enrollment::DenyReason,
    subject_name::MissingValue,
    targeting::{TargetReason, TargetState},
};

/// Why a SCEP profile does not install on the device now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum NotTargetedReason {
    /// No assignment of the profile includes a group of the device or of its primary user.
    NotAssigned,
    /// An excluding assignment matched (see `groupIds`).
    AssignmentExcluded,
    /// The profile is for another platform.
    PlatformMismatch,
    /// A user certificate needs the device's primary user.
    NoPrimaryUser,
    /// The SCEP profile's trusted root profile does not reach the device.
    RootCertificateNotAssigned,
    /// The profile no longer exists.
    ProfileDeleted,
}

impl NotTargetedReason {
    /// The reason targeting gives for a state other than `applicable`.
    pub fn of(state: TargetState, reason: Option<TargetReason>) -> Option<Self> {
        match (state, reason) {
            (TargetState::Applicable, _) => None,
            (_, Some(TargetReason::AssignmentExcluded)) | (TargetState::Excluded, None) => {
                Some(Self::AssignmentExcluded)
            }
            (_, Some(TargetReason::PlatformMismatch)) => Some(Self::PlatformMismatch),
            (_, Some(TargetReason::NoPrimaryUser)) => Some(Self::NoPrimaryUser),
            (_, Some(TargetReason::RootCertificateNotAssigned)) => Some(Self::RootCertificateNotAssigned),
            (_, None) => Some(Self::NotAssigned),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::NotAssigned => "the profile is not assigned to any group of the device or its primary user",
            Self::AssignmentExcluded => "an excluding assignment stops the profile",
            Self::PlatformMismatch => "the profile is for another platform",
            Self::NoPrimaryUser => "the profile issues user certificates and the device has no primary user",
            Self::RootCertificateNotAssigned => {
                "the profile's trusted root profile does not reach the device"
            }
            Self::ProfileDeleted => "the profile was deleted",
        }
    }

    fn advice(self) -> &'static str {
        match self {
            Self::NotAssigned => "Assign the profile to a group the device or its primary user is in.",
            Self::AssignmentExcluded => {
                "Remove the device (or its primary user) from the excluded group, or remove the exclusion."
            }
            Self::PlatformMismatch => "Assign a profile made for the device's platform.",
            Self::NoPrimaryUser => "Give the device a primary user, or use a device certificate profile.",
            Self::RootCertificateNotAssigned => {
                "Assign the trusted root profile to the same groups as the SCEP profile."
            }
            Self::ProfileDeleted => "Nothing to do unless the device should get another profile.",
        }
    }
}

/// What targeting says about the profile and the device now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targeting {
    /// The profile installs; `group_ids` are the groups whose assignments include it.
    Targeted { group_ids: Vec<Uuid> },
    /// It does not; `group_ids` name the excluding groups for `assignmentExcluded`,
    /// and the including ones otherwise.
    NotTargeted {
        reason: NotTargetedReason,
        group_ids: Vec<Uuid>,
    },
}

/// A SCEP payload check-in handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub offered_at: DateTime<Utc>,
    pub profile_version: i64,
    pub scep_server_urls: Vec<String>,
    pub challenge_expires_at: DateTime<Utc>,
}

/// A verdict of the policy module on a request for this device and profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub occurred_at: DateTime<Utc>,
    pub allowed: bool,
    pub diagnostic: DiagnosticCode,
    /// For a denial: why, when its event names the reason.
    pub reason: Option<DenyReason>,
    /// For a denial: the detail written for admins (which RDN or SAN differed, …).
    pub detail: String,
}

/// A certificate of the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    pub id: Uuid,
    pub profile_version: i64,
    pub serial_number: String,
    pub thumbprint_sha1: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub issued_at: DateTime<Utc>,
    pub reported_at: Option<DateTime<Utc>>,
    pub revoke_status: RevokeStatus,
    pub revoke_requested_at: Option<DateTime<Utc>>,
}

/// A revocation result the connector reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationResult {
    pub occurred_at: DateTime<Utc>,
    pub certificate_id: Uuid,
    pub revoked: bool,
    pub diagnostic: DiagnosticCode,
    pub message: String,
}

/// Everything known about one device and one SCEP profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentFacts {
    pub targeting: Targeting,
    /// The profile's current version and renewal threshold; `None` when deleted.
    pub profile: Option<(i64, u8)>,
    /// Template variables the device's or user's record has no value for.
    pub missing_values: Vec<MissingValue>,
    /// Each list oldest first.
    pub offers: Vec<Offer>,
    pub verifications: Vec<Verification>,
    pub certificates: Vec<IssuedCertificate>,
    pub revocation_results: Vec<RevocationResult>,
    /// New versions of the profile: `(version, changed_at)`, oldest first.
    pub profile_versions: Vec<(i64, DateTime<Utc>)>,
}

/// One step of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineItem {
    pub occurred_at: DateTime<Utc>,
    /// The profile version the step concerns, when the fact records one.
    pub profile_version: Option<i64>,
    pub event: TimelineEvent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimelineEvent {
    /// The current targeting (evaluated when the timeline is read).
    Targeted {
        group_ids: Vec<Uuid>,
    },
    NotTargeted {
        reason: NotTargetedReason,
        group_ids: Vec<Uuid>,
    },
    PayloadOffered {
        scep_server_urls: Vec<String>,
        challenge_expires_at: DateTime<Utc>,
    },
    VerifyAllowed,
    VerifyDenied {
        diagnostic: DiagnosticCode,
        reason: Option<DenyReason>,
        detail: String,
    },
    CertificateIssued(IssuedCertificate),
    CertificateReported {
        certificate_id: Uuid,
        thumbprint_sha1: String,
    },
    /// The certificate reached the profile's renewal threshold.
    RenewalDue {
        certificate_id: Uuid,
        not_after: DateTime<Utc>,
    },
    RevocationQueued {
        certificate_id: Uuid,
    },
    RevocationResult(RevocationResult),
    ProfileChanged,
}

/// The timeline, oldest first; the current targeting last (it is evaluated
/// at `now`). Profile versions older than the device's first fact are left
/// out: they happened before this device had anything to do with them.
pub fn timeline(facts: &EnrollmentFacts, now: DateTime<Utc>) -> Vec<TimelineItem> {
    let mut items = Vec::new();
    for offer in &facts.offers {
        items.push(TimelineItem {
            occurred_at: offer.offered_at,
            profile_version: Some(offer.profile_version),
            event: TimelineEvent::PayloadOffered {
                scep_server_urls: offer.scep_server_urls.clone(),
                challenge_expires_at: offer.challenge_expires_at,
            },
        });
    }
    for verification in &facts.verifications {
        let event = if verification.allowed {
            TimelineEvent::VerifyAllowed
        } else {
            TimelineEvent::VerifyDenied {
                diagnostic: verification.diagnostic,
                reason: verification.reason,
                detail: verification.detail.clone(),
            }
        };
        items.push(TimelineItem {
            occurred_at: verification.occurred_at,
            profile_version: None,
            event,
        });
    }
    for certificate in &facts.certificates {
        let version = Some(certificate.profile_version);
        items.push(TimelineItem {
            occurred_at: certificate.issued_at,
            profile_version: version,
            event: TimelineEvent::CertificateIssued(certificate.clone()),
        });
        if let Some(reported_at) = certificate.reported_at {
            items.push(TimelineItem {
                occurred_at: reported_at,
                profile_version: version,
                event: TimelineEvent::CertificateReported {
                    certificate_id: certificate.id,
                    thumbprint_sha1: certificate.thumbprint_sha1.clone(),
                },
            });
        }
        if let Some(due_at) = renewal_due_at(certificate, facts.profile).filter(|due| *due <= now) {
            items.push(TimelineItem {
                occurred_at: due_at,
                profile_version: version,
                event: TimelineEvent::RenewalDue {
                    certificate_id: certificate.id,
                    not_after: certificate.not_after,
                },
            });
        }
        if let Some(requested_at) = certificate.revoke_requested_at {
            items.push(TimelineItem {
                occurred_at: requested_at,
                profile_version: version,
                event: TimelineEvent::RevocationQueued {
                    certificate_id: certificate.id,
                },
            });
        }
    }
    for result in &facts.revocation_results {
        let version = facts
            .certificates
            .iter()
            .find(|certificate| certificate.id == result.certificate_id)
            .map(|certificate| certificate.profile_version);
        items.push(TimelineItem {
            occurred_at: result.occurred_at,
            profile_version: version,
            event: TimelineEvent::RevocationResult(result.clone()),
        });
    }
    if let Some(first) = items.iter().map(|item| item.occurred_at).min() {
        for &(version, changed_at) in &facts.profile_versions {
            if changed_at >= first {
                items.push(TimelineItem {
                    occurred_at: changed_at,
                    profile_version: Some(version),
                    event: TimelineEvent::ProfileChanged,
                });
            }
        }
    }
    // Stable: facts of one instant keep the cycle's order (offer, verdict, certificate).
    items.sort_by_key(|item| item.occurred_at);
    items.push(TimelineItem {
        occurred_at: now,
        profile_version: facts.profile.map(|(version, _)| version),
        event: match &facts.targeting {
            Targeting::Targeted { group_ids } => TimelineEvent::Targeted {
                group_ids: group_ids.clone(),
            },
            Targeting::NotTargeted { reason, group_ids } => TimelineEvent::NotTargeted {
                reason: *reason,
                group_ids: group_ids.clone(),
            },
        },
    });
    items
}

/// When the certificate reached the renewal threshold of the profile's
/// current version (`checkin::renewal_due`'s rule, solved for the time).
fn renewal_due_at(certificate: &IssuedCertificate, profile: Option<(i64, u8)>) -> Option<DateTime<Utc>> {
    let (_, threshold) = profile?;
    let lifetime = certificate.not_after - certificate.not_before;
    let due_at = certificate.not_after - lifetime * i32::from(threshold) / 100;
    // Integer rounding must not put the time before the rule says it is due.
    Some(
        if renewal_due(certificate.not_before, certificate.not_after, threshold, due_at) {
            due_at
        } else {
            due_at + chrono::Duration::seconds(1)
        },
    )
}

/// The diagnosis of a device's enrollment for one SCEP profile, one of:
/// - `healthy`: the device holds a current certificate of the profile and reported it at check-in.
/// - `notTargeted`: the profile does not install on the device (not assigned, excluded by a
///   group, another platform, no primary user, root profile not assigned, or deleted).
/// - `missingValues`: the device's or its user's record lacks values the profile's subject
///   name or SANs need; `missingValues` names every one.
/// - `waitingForCheckIn`: the device has not checked in for its payload yet, or holds a
///   payload whose challenge is still good.
/// - `challengeExpiredUnused`: a payload was offered but its challenge expired without being
///   presented: the device could not reach the SCEP server.
/// - `requestDenied`: the last certificate request was denied (`diagnosticCode`, `denyReason`).
/// - `waitingForIssuance`: the request was allowed; the CA has not notified the certificate yet.
/// - `issuedNotReported`: a certificate was issued but the device has not listed it at check-in.
/// - `renewalOverdue`: the certificate reached its renewal threshold or expired and was not renewed.
/// - `revoked`: the device's newest certificate is revoked or queued for revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DiagnosisCode {
    /// The device holds a current certificate of the profile and reported it at check-in.
    Healthy,
    /// The profile does not install on the device (not assigned, excluded,
    /// another platform, no primary user, root not assigned, deleted).
    NotTargeted,
    /// The device's or its user's record lacks values the profile's templates
    /// need; `missingValues` names every one.
    MissingValues,
    /// The device has not checked in for its payload yet, or holds a payload
    /// whose challenge is still good and has not presented it.
    WaitingForCheckIn,
    /// A payload was offered but its challenge expired without reaching the
    /// SCEP server: the device could not reach it (or presented it too late).
    ChallengeExpiredUnused,
    /// The last certificate request was denied (see `diagnosticCode` and `denyReason`).
    RequestDenied,
    /// The request was allowed; the CA has not notified the issued certificate yet.
    WaitingForIssuance,
    /// A certificate was issued but the device has not listed it at check-in.
    IssuedNotReported,
    /// The certificate reached its renewal threshold or expired and no renewal happened.
    RenewalOverdue,
    /// The device's newest certificate is revoked or queued for revocation.
    Revoked,
}

/// The diagnosis of one device and profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub code: DiagnosisCode,
    pub summary: String,
    pub advice: String,
    /// For `missingValues`: every variable without a value.
    pub missing_values: Vec<MissingValue>,
    /// For `requestDenied`: the denial's code and reason.
    pub denial: Option<(DiagnosticCode, Option<DenyReason>)>,
}

impl Diagnosis {
    fn new(code: DiagnosisCode, summary: impl Into<String>, advice: impl Into<String>) -> Self {
        Self {
            code,
            summary: summary.into(),
            advice: advice.into(),
            missing_values: Vec::new(),
            denial: None,
        }
    }
}

/// The diagnosis at `now` (see the module documentation for the order).
pub fn diagnose(facts: &EnrollmentFacts, now: DateTime<Utc>) -> Diagnosis {
    if let Targeting::NotTargeted { reason, .. } = &facts.targeting {
        return Diagnosis::new(
            DiagnosisCode::NotTargeted,
            format!(
                "The profile does not install on the device: {}.",
                reason.describe()
            ),
            reason.advice(),
        );
    }
    if !facts.missing_values.is_empty() {
        let named: Vec<String> = facts
            .missing_values
            .iter()
            .map(|missing| format!("{{{{{}}}}} ({})", missing.variable, missing.reason))
            .collect();
        return Diagnosis {
            missing_values: facts.missing_values.clone(),
            ..Diagnosis::new(
                DiagnosisCode::MissingValues,
                format!(
                    "The profile's subject name or SANs need values the device's records lack: {}.",
                    named.join("; ")
                ),
                "Fill in these attributes of the device or its primary user; the next check-in offers the payload.",
            )
        };
    }

    let last_offer = facts.offers.iter().max_by_key(|offer| offer.offered_at);
    let offered_at = last_offer.map(|offer| offer.offered_at);
    let newest_certificate = facts
        .certificates
        .iter()
        .max_by_key(|certificate| certificate.issued_at)
        .filter(|certificate| offered_at.is_none_or(|offered| certificate.issued_at >= offered));
    if let Some(certificate) = newest_certificate {
        return certificate_diagnosis(certificate, facts.profile, now);
    }
    let last_verification = facts
        .verifications
        .iter()
        .max_by_key(|verification| verification.occurred_at)
        .filter(|verification| offered_at.is_none_or(|offered| verification.occurred_at >= offered));
    if let Some(verification) = last_verification {
        if verification.allowed {
            return Diagnosis::new(
                DiagnosisCode::WaitingForIssuance,
                "The certificate request was allowed; the CA has not reported the issued certificate yet.",
                "Check the SCEP server and the CA: issued certificates must be notified to Scepter.",
            );
        }
        let reason = verification.reason;
        return Diagnosis {
            denial: Some((verification.diagnostic, reason)),
            ..Diagnosis::new(
                DiagnosisCode::RequestDenied,
                format!(
                    "The last certificate request was denied ({}, {} {}): {}",
                    reason.map_or("unknown reason", DenyReason::as_str),
                    verification.diagnostic.hex(),
                    verification.diagnostic.name(),
                    verification.detail
                ),
                reason.map_or(verification.diagnostic.message(), DenyReason::message),
            )
        };
    }
    match last_offer {
        Some(offer) if offer.challenge_expires_at < now => Diagnosis::new(
            DiagnosisCode::ChallengeExpiredUnused,
            format!(
                "A payload (version {}) was offered at {} but its challenge expired at {} without being presented.",
                offer.profile_version,
                offer.offered_at.to_rfc3339(),
                offer.challenge_expires_at.to_rfc3339()
            ),
            "The device could not reach the SCEP server: check that it can reach the profile's SCEP server URLs. \
             It gets a new challenge at its next check-in.",
        ),
        Some(offer) => Diagnosis::new(
            DiagnosisCode::WaitingForCheckIn,
            format!(
                "A payload (version {}) was offered; its challenge is good until {}.",
                offer.profile_version,
                offer.challenge_expires_at.to_rfc3339()
            ),
            "Wait for the device to enroll with the SCEP server.",
        ),
        None => Diagnosis::new(
            DiagnosisCode::WaitingForCheckIn,
            "The profile applies, but the device has not checked in for its payload yet.",
            "Wait for the device's next check-in, or check that it is online and holds a device credential.",
        ),
    }
}

/// The diagnosis when the newest step is a certificate.
fn certificate_diagnosis(
    certificate: &IssuedCertificate,
    profile: Option<(i64, u8)>,
    now: DateTime<Utc>,
) -> Diagnosis {
    let serial = &certificate.serial_number;
    if certificate.revoke_status != RevokeStatus::None {
        return Diagnosis::new(
            DiagnosisCode::Revoked,
            format!(
                "The device's newest certificate (serial {serial}) is revoked or queued for revocation (revokeStatus {}).",
                certificate.revoke_status.as_str()
            ),
            "The device gets a new certificate at its next check-in while the profile applies.",
        );
    }
    if certificate.not_after <= now {
        return Diagnosis::new(
            DiagnosisCode::RenewalOverdue,
            format!(
                "The device's certificate (serial {serial}) expired at {} and was not renewed.",
                certificate.not_after.to_rfc3339()
            ),
            "Check that the device still checks in; it is offered a renewal at its next check-in.",
        );
    }
    if let Some(due_at) = renewal_due_at(certificate, profile).filter(|due| *due <= now) {
        return Diagnosis::new(
            DiagnosisCode::RenewalOverdue,
            format!(
                "The device's certificate (serial {serial}) reached its renewal threshold at {} and was not renewed.",
                due_at.to_rfc3339()
            ),
            "Check that the device still checks in; it is offered a renewal at its next check-in.",
        );
    }
    if certificate.reported_at.is_none() {
        return Diagnosis::new(
            DiagnosisCode::IssuedNotReported,
            format!("A certificate (serial {serial}) was issued, but the device has not listed it at check-in."),
            "Wait for the device's next check-in; if it never lists the certificate, the installation failed on the device.",
        );
    }
    Diagnosis::new(
        DiagnosisCode::Healthy,
        format!(
            "The device holds its certificate (serial {serial}), valid until {}.",
            certificate.not_after.to_rfc3339()
        ),
        "Nothing to do.",
    )
}

#[cfg(test)]
mod tests;
