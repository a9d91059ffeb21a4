use chrono::{Duration, TimeZone};

use super::*;

fn at(days: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::days(days)
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn profile(n: u128, kind: ProfileKind, state: TargetState, version: i64) -> ProfileForDevice {
    ProfileForDevice {
        effective: EffectiveProfile {
            profile_id: id(n),
            kind,
            state,
            reason: match state {
                TargetState::Failed => Some(TargetReason::RootCertificateNotAssigned),
                TargetState::NotApplicable => Some(TargetReason::NoPrimaryUser),
                _ => None,
            },
            assignment_ids: vec![],
        },
        version,
        renewal_threshold_percent: (kind == ProfileKind::ScepCertificate).then_some(20),
    }
}

fn scep(version: i64) -> ProfileForDevice {
    profile(2, ProfileKind::ScepCertificate, TargetState::Applicable, version)
}

fn installed(version: i64) -> ReportedProfile {
    ReportedProfile {
        profile_id: id(2),
        version,
    }
}

fn reported_certificate(thumbprint: &str, from: i64, to: i64) -> ReportedCertificate {
    ReportedCertificate {
        profile_id: id(2),
        thumbprint_sha1: thumbprint.to_owned(),
        not_before: at(from),
        not_after: at(to),
    }
}

fn ledger(thumbprint: &str, from: i64, to: i64, revoke_status: RevokeStatus) -> LedgerCertificate {
    LedgerCertificate {
        profile_id: id(2),
        thumbprint_sha1: thumbprint.to_owned(),
        not_before: at(from),
        not_after: at(to),
        revoke_status,
    }
}

fn one(
    profile: ProfileForDevice,
    report: CheckInReport,
    ledger: &[LedgerCertificate],
    now: DateTime<Utc>,
) -> (Action, ItemReason) {
    let decisions = decide(&[profile], &HashMap::new(), &report, ledger, now);
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    (decisions[0].action, decisions[0].reason)
}

const A: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

#[test]
fn not_installed_or_other_version_installs() {
    assert_eq!(
        one(scep(3), CheckInReport::default(), &[], at(0)),
        (Action::Install, ItemReason::NotInstalled)
    );
    let report = CheckInReport {
        installed_profiles: vec![installed(2)],
        installed_certificates: vec![reported_certificate(A, 0, 100)],
    };
    assert_eq!(
        one(scep(3), report, &[], at(1)),
        (Action::Install, ItemReason::VersionChanged)
    );
}

#[test]
fn renewal_follows_the_ledger_at_the_threshold() {
    // Ledger: 100 days of validity; threshold 20% → due from day 80 on.
    let ledger_entry = [ledger(A, 0, 100, RevokeStatus::None)];
    // The device reports dates that would never be due; the ledger wins.
    let report = || CheckInReport {
        installed_profiles: vec![installed(3)],
        installed_certificates: vec![reported_certificate(A, 0, 10_000)],
    };
    assert_eq!(
        one(scep(3), report(), &ledger_entry, at(79)),
        (Action::None, ItemReason::UpToDate)
    );
    assert_eq!(
        one(scep(3), report(), &ledger_entry, at(80)),
        (Action::Renew, ItemReason::RenewalDue)
    );
    assert_eq!(
        one(scep(3), report(), &ledger_entry, at(100)),
        (Action::Install, ItemReason::CertificateExpired)
    );
}

#[test]
fn missing_expired_or_revoked_certificates_install_again() {
    let without_certificate = CheckInReport {
        installed_profiles: vec![installed(3)],
        installed_certificates: vec![],
    };
    assert_eq!(
        one(scep(3), without_certificate, &[], at(1)),
        (Action::Install, ItemReason::CertificateMissing)
    );
    let expired = CheckInReport {
        installed_profiles: vec![installed(3)],
        installed_certificates: vec![reported_certificate(A, 0, 10)],
    };
    assert_eq!(
        one(scep(3), expired, &[], at(11)),
        (Action::Install, ItemReason::CertificateExpired)
    );
    let revoked = CheckInReport {
        installed_profiles: vec![installed(3)],
        installed_certificates: vec![reported_certificate(A, 0, 100)],
    };
    assert_eq!(
        one(
            scep(3),
            revoked,
            &[ledger(A, 0, 100, RevokeStatus::Pending)],
            at(1)
        ),
        (Action::Install, ItemReason::CertificateRevoked)
    );
}

#[test]
fn a_certificate_unknown_to_the_ledger_is_judged_by_its_reported_dates() {
    let report = |to| CheckInReport {
        installed_profiles: vec![installed(3)],
        installed_certificates: vec![reported_certificate(A, 0, to)],
    };
    assert_eq!(one(scep(3), report(100), &[], at(50)).0, Action::None);
    assert_eq!(one(scep(3), report(100), &[], at(90)).0, Action::Renew);
}

#[test]
fn profiles_that_stop_reaching_the_device_are_removed() {
    let trusted = profile(1, ProfileKind::TrustedCertificate, TargetState::Applicable, 1);
    let failed = profile(3, ProfileKind::ScepCertificate, TargetState::Failed, 1);
    let report = CheckInReport {
        installed_profiles: vec![
            ReportedProfile {
                profile_id: id(1),
                version: 1,
            },
            ReportedProfile {
                profile_id: id(3),
                version: 1,
            },
            ReportedProfile {
                profile_id: id(9),
                version: 4,
            },
            ReportedProfile {
                profile_id: id(8),
                version: 2,
            },
        ],
        installed_certificates: vec![],
    };
    let kinds = HashMap::from([(id(8), ProfileKind::ScepCertificate)]);
    let decisions = decide(&[trusted, failed], &kinds, &report, &[], at(0));
    let summary: Vec<_> = decisions
        .iter()
        .map(|d| (d.profile_id, d.kind, d.action, d.state, d.reason))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                id(1),
                Some(ProfileKind::TrustedCertificate),
                Action::None,
                ItemState::Applicable,
                ItemReason::UpToDate
            ),
            (
                id(3),
                Some(ProfileKind::ScepCertificate),
                Action::Remove,
                ItemState::Failed,
                ItemReason::RootCertificateNotAssigned
            ),
            (
                id(8),
                Some(ProfileKind::ScepCertificate),
                Action::Remove,
                ItemState::NotTargeted,
                ItemReason::NoLongerAssigned
            ),
            (
                id(9),
                None,
                Action::Remove,
                ItemState::NotTargeted,
                ItemReason::NoLongerAssigned
            ),
        ]
    );
}

#[test]
fn renewal_due_is_exact_at_the_boundary() {
    assert!(!renewal_due(at(0), at(10), 20, at(7)));
    assert!(renewal_due(at(0), at(10), 20, at(8)));
    // 99 %: due once 1 % of the ten days (8,640 s) has passed.
    assert!(!renewal_due(at(0), at(10), 99, at(0) + Duration::seconds(8_639)));
    assert!(renewal_due(at(0), at(10), 99, at(0) + Duration::seconds(8_640)));
}

fn inputs(now: i64) -> TagInputs {
    TagInputs {
        device_id: id(7),
        device_version: 1,
        user_version: Some(1),
        settings_fingerprint: [0; 32],
        now,
        challenge_lifetime: 3600,
    }
}

#[test]
fn the_state_tag_changes_with_anything_the_response_depends_on() {
    let up_to_date = decide(
        &[scep(3)],
        &HashMap::new(),
        &CheckInReport {
            installed_profiles: vec![installed(3)],
            installed_certificates: vec![reported_certificate(A, 0, 100)],
        },
        &[],
        at(1),
    );
    let base = state_tag(&inputs(0), &up_to_date);
    assert!(base.starts_with('"') && base.ends_with('"') && base.len() == 34);
    assert_eq!(state_tag(&inputs(0), &up_to_date), base, "deterministic");
    // No payload: time does not matter.
    assert_eq!(state_tag(&inputs(100_000), &up_to_date), base);
    assert_ne!(
        state_tag(
            &TagInputs {
                device_version: 2,
                ..inputs(0)
            },
            &up_to_date
        ),
        base
    );
    assert_ne!(
        state_tag(
            &TagInputs {
                user_version: None,
                ..inputs(0)
            },
            &up_to_date
        ),
        base
    );
    let install = decide(&[scep(3)], &HashMap::new(), &CheckInReport::default(), &[], at(1));
    let installing = state_tag(&inputs(0), &install);
    assert_ne!(installing, base);
    // With a payload the tag rotates every half challenge lifetime.
    assert_eq!(state_tag(&inputs(1799), &install), installing);
    assert_ne!(state_tag(&inputs(1800), &install), installing);
}

#[test]
fn reports_are_bounded_and_thumbprints_checked() {
    let bad = CheckInReport {
        installed_profiles: vec![installed(1); MAX_REPORTED_ITEMS + 1],
        installed_certificates: vec![
            reported_certificate("abc", 0, 1),
            reported_certificate(&A.to_lowercase(), 5, 1),
        ],
    };
    let errors = bad.validate().unwrap_err();
    let fields: Vec<_> = errors
        .errors()
        .iter()
        .map(|e| (e.field.as_str(), e.rule))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("installedProfiles", "maxItems"),
            ("installedCertificates[0].thumbprintSha1", "thumbprint"),
            ("installedCertificates[1].notAfter", "validity"),
        ]
    );
    let good = CheckInReport {
        installed_profiles: vec![],
        installed_certificates: vec![reported_certificate(&A.to_lowercase(), 0, 1)],
    }
    .validate()
    .unwrap();
    assert_eq!(good.installed_certificates[0].thumbprint_sha1, A);
}

mod decided_until {
    use proptest::prelude::*;

    use super::*;

    fn window(
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
        known: bool,
    ) -> (CheckInReport, Vec<LedgerCertificate>) {
        let report = CheckInReport {
            installed_profiles: vec![installed(1)],
            installed_certificates: vec![ReportedCertificate {
                profile_id: id(2),
                thumbprint_sha1: A.to_owned(),
                // A certificate the ledger knows is judged by the ledger's dates.
                not_before: if known { at(-400) } else { not_before },
                not_after: if known { at(400) } else { not_after },
            }],
        };
        let ledger = if known {
            vec![LedgerCertificate {
                profile_id: id(2),
                thumbprint_sha1: A.to_owned(),
                not_before,
                not_after,
                revoke_status: RevokeStatus::None,
            }]
        } else {
            vec![]
        };
        (report, ledger)
    }

    fn decisions(
        profile: &ProfileForDevice,
        (report, ledger): &(CheckInReport, Vec<LedgerCertificate>),
        now: DateTime<Utc>,
    ) -> Vec<Decision> {
        decide(
            std::slice::from_ref(profile),
            &HashMap::new(),
            report,
            ledger,
            now,
        )
    }

    #[test]
    fn names_the_renewal_instant_then_the_expiry() {
        let profile = scep(1);
        let inputs = window(at(0), at(10), false);
        // 20 % of ten days: up to date until 2 days (+1 s of truncation) before the end.
        let until = decided_until(std::slice::from_ref(&profile), &inputs.0, &inputs.1, at(1)).unwrap();
        assert_eq!(until, at(8) - Duration::seconds(1));
        assert_eq!(decisions(&profile, &inputs, until)[0].action, Action::None);
        assert_eq!(
            decisions(&profile, &inputs, until + Duration::nanoseconds(1))[0].action,
            Action::Renew
        );
        // Once due, the next change is expiry.
        assert_eq!(
            decided_until(std::slice::from_ref(&profile), &inputs.0, &inputs.1, at(9)),
            Some(at(10))
        );
        assert_eq!(decided_until(&[profile], &inputs.0, &inputs.1, at(10)), None);
    }

    #[test]
    fn decisions_without_a_certificate_to_watch_never_expire() {
        let report = CheckInReport {
            installed_profiles: vec![],
            installed_certificates: vec![],
        };
        let trusted = profile(1, ProfileKind::TrustedCertificate, TargetState::Applicable, 1);
        let excluded = profile(3, ProfileKind::ScepCertificate, TargetState::Excluded, 1);
        assert_eq!(
            decided_until(&[trusted, excluded, scep(1)], &report, &[], at(0)),
            None
        );
    }

    proptest! {
        /// Decisions made at `now` hold at every instant before the one
        /// named, and change right after it.
        #[test]
        fn decisions_hold_until_the_instant_named(
            start in -1_000_000i64..1_000_000,
            lifetime in 1i64..40_000_000,
            nanos in 0i64..1_000_000_000,
            threshold in 0u8..=100,
            elapsed in -1_000_000i64..45_000_000,
            fraction in 0.0f64..1.0,
            known in any::<bool>(),
        ) {
            let not_before = at(0) + Duration::seconds(start) + Duration::nanoseconds(nanos);
            let not_after = not_before + Duration::seconds(lifetime);
            let now = not_before + Duration::seconds(elapsed) + Duration::nanoseconds(nanos / 3);
            let mut profile = scep(1);
            profile.renewal_threshold_percent = Some(threshold);
            let inputs = window(not_before, not_after, known);
            let at_now = decisions(&profile, &inputs, now);
            match decided_until(std::slice::from_ref(&profile), &inputs.0, &inputs.1, now) {
                Some(until) => {
                    prop_assert!(until >= now);
                    let span = (until - now).num_nanoseconds().unwrap_or(i64::MAX);
                    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
                    let inside = now + Duration::nanoseconds((span as f64 * fraction) as i64);
                    if until > now {
                        prop_assert_eq!(&decisions(&profile, &inputs, inside), &at_now);
                        prop_assert_eq!(&decisions(&profile, &inputs, until - Duration::nanoseconds(1)), &at_now);
                    }
                    prop_assert_ne!(&decisions(&profile, &inputs, until + Duration::nanoseconds(1)), &at_now);
                }
                None => {
                    let later = now + Duration::seconds(elapsed.abs()) + Duration::days(3650);
                    prop_assert_eq!(&decisions(&profile, &inputs, later), &at_now);
                }
            }
        }
    }
}
