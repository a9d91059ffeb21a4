//! The diagnosis codes one by one, and the timeline's order.

use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

use super::{
    diagnose, timeline, DiagnosisCode, EnrollmentFacts, IssuedCertificate, NotTargetedReason, Offer,
    RevocationResult, Targeting, TimelineEvent, Verification,
};
use crate::{
    checkin::RevokeStatus,
    diagnostics::DiagnosticCode,
    enrollment::DenyReason,
    subject_name::MissingValue,
    targeting::{TargetReason, TargetState},
};

const VERSION: i64 = 3;
const THRESHOLD: u8 = 20;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
}

fn at(minutes: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minutes)
}

fn targeted() -> EnrollmentFacts {
    EnrollmentFacts {
        targeting: Targeting::Targeted {
            group_ids: vec![Uuid::from_u128(1)],
        },
        profile: Some((VERSION, THRESHOLD)),
        missing_values: Vec::new(),
        offers: Vec::new(),
        verifications: Vec::new(),
        certificates: Vec::new(),
        revocation_results: Vec::new(),
        profile_versions: Vec::new(),
    }
}

/// Offered at `minutes`, its challenge good for an hour.
fn offer(minutes: i64) -> Offer {
    Offer {
        offered_at: at(minutes),
        profile_version: VERSION,
        scep_server_urls: vec!["https://scep.contoso.example/scep".to_owned()],
        challenge_expires_at: at(minutes + 60),
    }
}

fn allowed(minutes: i64) -> Verification {
    Verification {
        occurred_at: at(minutes),
        allowed: true,
        diagnostic: DiagnosticCode::Success,
        reason: None,
        detail: String::new(),
    }
}

fn denied(minutes: i64) -> Verification {
    Verification {
        occurred_at: at(minutes),
        allowed: false,
        diagnostic: DiagnosticCode::CrpScepDeserializeFailed,
        reason: Some(DenyReason::SubjectMismatch),
        detail: "RDN 2 differs: expected \"O=Contoso\", received \"O=Evil\"".to_owned(),
    }
}

/// Issued at `minutes`, valid for 100 days from then.
fn certificate(minutes: i64) -> IssuedCertificate {
    IssuedCertificate {
        id: Uuid::from_u128(7),
        profile_version: VERSION,
        serial_number: "0A1B".to_owned(),
        thumbprint_sha1: "AB".repeat(20),
        not_before: at(minutes),
        not_after: at(minutes) + Duration::days(100),
        issued_at: at(minutes),
        reported_at: Some(at(minutes + 5)),
        revoke_status: RevokeStatus::None,
        revoke_requested_at: None,
    }
}

fn code(facts: &EnrollmentFacts, now: DateTime<Utc>) -> DiagnosisCode {
    diagnose(facts, now).code
}

#[test]
fn a_targeted_device_that_never_checked_in_is_waiting_for_check_in() {
    assert_eq!(code(&targeted(), at(0)), DiagnosisCode::WaitingForCheckIn);
}

#[test]
fn an_offer_with_a_good_challenge_is_waiting_and_an_expired_one_is_challenge_expired_unused() {
    let facts = EnrollmentFacts {
        offers: vec![offer(0)],
        ..targeted()
    };
    assert_eq!(code(&facts, at(30)), DiagnosisCode::WaitingForCheckIn);

    let diagnosis = diagnose(&facts, at(61));
    assert_eq!(diagnosis.code, DiagnosisCode::ChallengeExpiredUnused);
    assert!(
        diagnosis.advice.contains("could not reach the SCEP server"),
        "{}",
        diagnosis.advice
    );
}

#[test]
fn a_denial_after_the_offer_is_request_denied_with_its_code_and_reason() {
    let facts = EnrollmentFacts {
        offers: vec![offer(0)],
        verifications: vec![denied(1)],
        ..targeted()
    };

    let diagnosis = diagnose(&facts, at(120));

    assert_eq!(diagnosis.code, DiagnosisCode::RequestDenied);
    assert_eq!(
        diagnosis.denial,
        Some((
            DiagnosticCode::CrpScepDeserializeFailed,
            Some(DenyReason::SubjectMismatch)
        ))
    );
    assert!(diagnosis.summary.contains("0x00000410"), "{}", diagnosis.summary);
    assert!(
        diagnosis.summary.contains("RDN 2 differs"),
        "{}",
        diagnosis.summary
    );
}

#[test]
fn a_new_offer_after_a_denial_starts_the_cycle_again() {
    let facts = EnrollmentFacts {
        offers: vec![offer(0), offer(10)],
        verifications: vec![denied(1)],
        ..targeted()
    };
    assert_eq!(code(&facts, at(20)), DiagnosisCode::WaitingForCheckIn);
}

#[test]
fn an_allowed_request_without_a_certificate_waits_for_issuance() {
    let facts = EnrollmentFacts {
        offers: vec![offer(0)],
        verifications: vec![denied(1), allowed(2)],
        ..targeted()
    };
    assert_eq!(code(&facts, at(120)), DiagnosisCode::WaitingForIssuance);
}

#[test]
fn an_issued_certificate_is_not_reported_until_the_device_lists_it_then_healthy() {
    let unreported = IssuedCertificate {
        reported_at: None,
        ..certificate(3)
    };
    let mut facts = EnrollmentFacts {
        offers: vec![offer(0)],
        verifications: vec![allowed(2)],
        certificates: vec![unreported],
        ..targeted()
    };
    assert_eq!(code(&facts, at(10)), DiagnosisCode::IssuedNotReported);

    facts.certificates = vec![certificate(3)];
    assert_eq!(code(&facts, at(10)), DiagnosisCode::Healthy);
}

#[test]
fn a_certificate_past_its_threshold_or_expiry_is_renewal_overdue() {
    let facts = EnrollmentFacts {
        offers: vec![offer(0)],
        certificates: vec![certificate(3)],
        ..targeted()
    };
    let issued = at(3);
    // 100 days, 20 %: due 80 days after issue.
    assert_eq!(code(&facts, issued + Duration::days(79)), DiagnosisCode::Healthy);
    assert_eq!(
        code(&facts, issued + Duration::days(80)),
        DiagnosisCode::RenewalOverdue
    );
    assert_eq!(
        code(&facts, issued + Duration::days(101)),
        DiagnosisCode::RenewalOverdue
    );
}

#[test]
fn a_renewal_offer_after_the_certificate_is_judged_as_an_offer() {
    let now = at(3) + Duration::days(81);
    let facts = EnrollmentFacts {
        offers: vec![
            offer(0),
            Offer {
                offered_at: now - Duration::minutes(1),
                challenge_expires_at: now + Duration::minutes(59),
                ..offer(0)
            },
        ],
        certificates: vec![certificate(3)],
        ..targeted()
    };
    assert_eq!(code(&facts, now), DiagnosisCode::WaitingForCheckIn);
}

#[test]
fn a_revoked_or_queued_newest_certificate_is_revoked() {
    for status in [
        RevokeStatus::Pending,
        RevokeStatus::Issued,
        RevokeStatus::Revoked,
        RevokeStatus::Failed,
    ] {
        let facts = EnrollmentFacts {
            certificates: vec![IssuedCertificate {
                revoke_status: status,
                revoke_requested_at: Some(at(30)),
                ..certificate(3)
            }],
            ..targeted()
        };
        assert_eq!(code(&facts, at(40)), DiagnosisCode::Revoked, "{status:?}");
    }
}

#[test]
fn not_targeted_comes_first_and_names_the_reason() {
    let facts = EnrollmentFacts {
        targeting: Targeting::NotTargeted {
            reason: NotTargetedReason::AssignmentExcluded,
            group_ids: vec![Uuid::from_u128(9)],
        },
        certificates: vec![certificate(3)],
        missing_values: vec![MissingValue {
            variable: "EmailAddress",
            reason: "the user's mail address is not set".to_owned(),
        }],
        ..targeted()
    };

    let diagnosis = diagnose(&facts, at(10));

    assert_eq!(diagnosis.code, DiagnosisCode::NotTargeted);
    assert!(
        diagnosis.summary.contains("excluding assignment"),
        "{}",
        diagnosis.summary
    );
}

#[test]
fn missing_values_come_before_the_cycle_and_name_every_variable() {
    let facts = EnrollmentFacts {
        offers: vec![offer(0)],
        missing_values: vec![
            MissingValue {
                variable: "UserPrincipalName",
                reason: "the device has no primary user".to_owned(),
            },
            MissingValue {
                variable: "EmailAddress",
                reason: "the device has no primary user".to_owned(),
            },
        ],
        ..targeted()
    };

    let diagnosis = diagnose(&facts, at(10));

    assert_eq!(diagnosis.code, DiagnosisCode::MissingValues);
    assert_eq!(diagnosis.missing_values.len(), 2);
    assert!(
        diagnosis.summary.contains("{{UserPrincipalName}}"),
        "{}",
        diagnosis.summary
    );
    assert!(
        diagnosis.summary.contains("{{EmailAddress}}"),
        "{}",
        diagnosis.summary
    );
}

#[test]
fn targeting_reasons_map_onto_not_targeted_reasons() {
    let cases = [
        (TargetState::Applicable, None, None),
        (
            TargetState::Excluded,
            Some(TargetReason::AssignmentExcluded),
            Some(NotTargetedReason::AssignmentExcluded),
        ),
        (
            TargetState::NotApplicable,
            Some(TargetReason::PlatformMismatch),
            Some(NotTargetedReason::PlatformMismatch),
        ),
        (
            TargetState::NotApplicable,
            Some(TargetReason::NoPrimaryUser),
            Some(NotTargetedReason::NoPrimaryUser),
        ),
        (
            TargetState::Failed,
            Some(TargetReason::RootCertificateNotAssigned),
            Some(NotTargetedReason::RootCertificateNotAssigned),
        ),
    ];
    for (state, reason, expected) in cases {
        assert_eq!(
            NotTargetedReason::of(state, reason),
            expected,
            "{state:?} {reason:?}"
        );
    }
}

#[test]
fn the_timeline_is_oldest_first_with_the_current_targeting_last() {
    let issued = IssuedCertificate {
        revoke_status: RevokeStatus::Revoked,
        revoke_requested_at: Some(at(50)),
        ..certificate(3)
    };
    let facts = EnrollmentFacts {
        offers: vec![offer(0)],
        verifications: vec![allowed(2)],
        certificates: vec![issued.clone()],
        revocation_results: vec![RevocationResult {
            occurred_at: at(55),
            certificate_id: issued.id,
            revoked: true,
            diagnostic: DiagnosticCode::Success,
            message: "revoked".to_owned(),
        }],
        // Version 2 predates the device's first fact; version 3 does not.
        profile_versions: vec![(2, at(-10)), (VERSION, at(40))],
        ..targeted()
    };

    let kinds: Vec<&str> = timeline(&facts, at(60))
        .iter()
        .map(|item| match &item.event {
            TimelineEvent::PayloadOffered { .. } => "payloadOffered",
            TimelineEvent::VerifyAllowed => "verifyAllowed",
            TimelineEvent::CertificateIssued(_) => "certificateIssued",
            TimelineEvent::CertificateReported { .. } => "certificateReported",
            TimelineEvent::ProfileChanged => "profileChanged",
            TimelineEvent::RevocationQueued { .. } => "revocationQueued",
            TimelineEvent::RevocationResult(_) => "revocationResult",
            TimelineEvent::Targeted { .. } => "targeted",
            other => panic!("unexpected {other:?}"),
        })
        .collect();

    assert_eq!(
        kinds,
        [
            "payloadOffered",
            "verifyAllowed",
            "certificateIssued",
            "certificateReported",
            "profileChanged",
            "revocationQueued",
            "revocationResult",
            "targeted"
        ]
    );
}

#[test]
fn renewal_due_appears_once_the_threshold_is_reached() {
    let facts = EnrollmentFacts {
        certificates: vec![certificate(0)],
        ..targeted()
    };
    let due = |now| {
        timeline(&facts, now)
            .into_iter()
            .find(|item| matches!(item.event, TimelineEvent::RenewalDue { .. }))
            .map(|item| item.occurred_at)
    };
    assert_eq!(due(at(0) + Duration::days(79)), None);
    assert_eq!(due(at(0) + Duration::days(90)), Some(at(0) + Duration::days(80)));
}
