use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::{
    device_statuses, DeviceEnrollmentState, DeviceStatusSummary, LedgerEntry, Revocation, StatusDetail,
    StatusProfile, Step, StepEntry, TargetedDevice,
};
use crate::{
    checkin::RevokeStatus, diagnostics::DiagnosticCode, scep_profile::CertificateType,
    targeting::TargetReason,
};

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000, 0).expect("a time")
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

const USER_PROFILE: StatusProfile = StatusProfile {
    certificate_type: CertificateType::User,
    renewal_threshold_percent: 20,
};

fn device(n: u128) -> TargetedDevice {
    TargetedDevice {
        device_id: id(n),
        device_name: format!("device-{n}"),
        has_primary_user: true,
        root_installed: true,
    }
}

/// A certificate of `device` valid from 90 days ago for `days_left` more days.
fn certificate(device: u128, certificate: u128, days_left: i64) -> LedgerEntry {
    LedgerEntry {
        certificate_id: id(certificate),
        device_id: id(device),
        issued_at: now() - Duration::days(90),
        validity: (now() - Duration::days(90), now() + Duration::days(days_left)),
        revocation: Revocation {
            status: RevokeStatus::None,
            requested_at: None,
            diagnostic_code: None,
            revoked_at: None,
        },
    }
}

fn step(device: u128, step: Step, reason: Option<&str>) -> StepEntry {
    StepEntry {
        device_id: id(device),
        step,
        reason: reason.map(str::to_owned),
        updated_at: now() - Duration::minutes(5),
    }
}

fn states(statuses: &[super::DeviceStatus]) -> Vec<(Uuid, DeviceEnrollmentState)> {
    statuses
        .iter()
        .map(|status| (status.device_id, status.state))
        .collect()
}

#[test]
fn a_valid_certificate_succeeds_until_the_renewal_threshold() {
    let statuses = device_statuses(
        USER_PROFILE,
        &[device(1), device(2)],
        &[certificate(1, 11, 300), certificate(2, 12, 10)],
        &[],
        now(),
    );

    assert_eq!(
        states(&statuses),
        [
            (id(1), DeviceEnrollmentState::Succeeded),
            (id(2), DeviceEnrollmentState::RenewalDue)
        ]
    );
    assert_eq!(statuses[0].certificate_id, Some(id(11)));
    assert_eq!(statuses[0].last_updated, Some(now() - Duration::days(90)));
    assert_eq!(statuses[0].device_name.as_deref(), Some("device-1"));
}

#[test]
fn expired_or_revoked_certificates_fall_back_to_the_last_step() {
    let mut revoked = certificate(2, 12, 300);
    revoked.revocation.status = RevokeStatus::Pending;
    let statuses = device_statuses(
        USER_PROFILE,
        &[device(1), device(2), device(3)],
        &[certificate(1, 11, -1), revoked],
        &[
            step(1, Step::ChallengeIssued, None),
            step(
                2,
                Step::Failed(DiagnosticCode::CrpScepChallengeExpired),
                Some("challengeExpired"),
            ),
        ],
        now(),
    );

    assert_eq!(
        states(&statuses),
        [
            (id(1), DeviceEnrollmentState::ChallengeIssued),
            (id(2), DeviceEnrollmentState::Failed),
            (id(3), DeviceEnrollmentState::Pending),
        ]
    );
    assert_eq!(
        statuses[1].detail,
        Some(StatusDetail::Diagnostic {
            code: DiagnosticCode::CrpScepChallengeExpired.code(),
            reason: Some("challengeExpired".to_owned())
        })
    );
    assert_eq!(statuses[1].last_updated, Some(now() - Duration::minutes(5)));
    assert_eq!(statuses[2].last_updated, None);
}

#[test]
fn targeting_rules_four_and_five_apply_as_at_check_in() {
    let without_user = TargetedDevice {
        has_primary_user: false,
        ..device(1)
    };
    let without_root = TargetedDevice {
        root_installed: false,
        ..device(2)
    };
    let statuses = device_statuses(
        USER_PROFILE,
        &[without_user.clone(), without_root.clone()],
        &[],
        &[step(2, Step::ChallengeIssued, None)],
        now(),
    );

    // Rule 4: a user certificate leaves a device without a primary user out.
    assert_eq!(states(&statuses), [(id(2), DeviceEnrollmentState::Failed)]);
    // Rule 5 wins over the step: the root must reach the device first.
    assert_eq!(
        statuses[0].detail,
        Some(StatusDetail::Targeting(TargetReason::RootCertificateNotAssigned))
    );

    let device_profile = StatusProfile {
        certificate_type: CertificateType::Device,
        ..USER_PROFILE
    };
    let statuses = device_statuses(device_profile, &[without_user], &[], &[], now());
    assert_eq!(states(&statuses), [(id(1), DeviceEnrollmentState::Pending)]);
}

#[test]
fn devices_no_longer_reached_show_their_revocation() {
    let mut pending = certificate(5, 15, 300);
    pending.revocation.status = RevokeStatus::Failed;
    pending.revocation.requested_at = Some(now() - Duration::hours(2));
    pending.revocation.diagnostic_code = Some(0x402);
    let mut revoked = certificate(4, 14, 300);
    revoked.revocation.status = RevokeStatus::Revoked;
    revoked.revocation.revoked_at = Some(now() - Duration::hours(1));

    let statuses = device_statuses(USER_PROFILE, &[device(9)], &[pending, revoked], &[], now());

    assert_eq!(
        states(&statuses),
        [
            (id(4), DeviceEnrollmentState::Revoked),
            (id(5), DeviceEnrollmentState::RevocationPending),
            (id(9), DeviceEnrollmentState::Pending),
        ]
    );
    assert_eq!(statuses[0].device_name, None);
    assert_eq!(statuses[0].last_updated, Some(now() - Duration::hours(1)));
    assert_eq!(
        statuses[1].detail,
        Some(StatusDetail::Diagnostic {
            code: 0x402,
            reason: None
        })
    );
    assert_eq!(statuses[1].last_updated, Some(now() - Duration::hours(2)));
}

#[test]
fn the_summary_counts_every_state() {
    let statuses = device_statuses(
        USER_PROFILE,
        &[device(1), device(2), device(3)],
        &[certificate(1, 11, 300), certificate(2, 12, 300)],
        &[],
        now(),
    );

    assert_eq!(
        DeviceStatusSummary::of(&statuses),
        DeviceStatusSummary {
            succeeded: 2,
            pending: 1,
            ..DeviceStatusSummary::default()
        }
    );
}

#[test]
fn states_parse_by_their_api_names() {
    assert_eq!(
        DeviceEnrollmentState::parse("challengeIssued"),
        Some(DeviceEnrollmentState::ChallengeIssued)
    );
    assert_eq!(DeviceEnrollmentState::parse("ChallengeIssued"), None);
}
