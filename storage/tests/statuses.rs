//! A SCEP profile's statuses on SQLite and PostgreSQL alike: the summary the
//! database counts, and the statuses derived range by range, equal what
//! `scepter_domain::device_status` derives from all of the profile's facts.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use scepter_domain::{
    checkin::RevokeStatus,
    device_status::{
        device_statuses, DeviceEnrollmentState, DeviceStatus, DeviceStatusSummary, LedgerEntry, Revocation,
        StatusProfile, Step, StepEntry, TargetedDevice,
    },
    diagnostics::{DiagnosticCode, EventId},
    directory::GroupType,
    scep_profile::CertificateType,
    targeting::{Intent, ProfileKind},
    Platform,
};
use scepter_storage::testing::audit_entry;
use scepter_storage::{
    now, DeviceProfileState, EnrollmentStep, FailedRequest, NewEvent, PageRequest, RevocationOutcome,
    StatusDevice, StatusScope, Store, StoredCertificate,
};
use uuid::Uuid;

mod support;

use support::*;

scepter_storage::store_tests!(
    the_summary_and_ranged_statuses_match_the_domain_for_device_certificates,
    the_summary_and_ranged_statuses_match_the_domain_for_user_certificates,
    the_summary_matches_the_domain_when_the_root_covers_the_profiles_groups,
    a_root_covering_the_groups_but_excluding_devices_still_fails_them,
    an_empty_profile_has_no_statuses,
);

// ---------------------------------------------------------------- the universe

/// Two SCEP profiles (device and user certificates) sharing one root and one
/// universe of devices; `now` is the instant the certificates are laid around.
struct Universe {
    store: Arc<dyn Store>,
    root: Uuid,
    device_profile: Uuid,
    user_profile: Uuid,
    now: DateTime<Utc>,
}

fn event() -> NewEvent {
    NewEvent {
        event: EventId::CrpVerifyMetricSuccess,
        diagnostic: DiagnosticCode::Success,
        device_id: None,
        profile_id: None,
        certificate_id: None,
        transaction_id: None,
        message: "test".to_owned(),
    }
}

/// The certificate's validity, relative to the universe's `now`.
struct Validity {
    not_before: Duration,
    not_after: Duration,
    issued: Duration,
}

fn lasting(not_before: Duration, not_after: Duration) -> Validity {
    Validity {
        not_before,
        not_after,
        issued: not_before,
    }
}

impl Universe {
    async fn device(&self, name: &str, platform: Platform, user: Option<Uuid>, groups: &[Uuid]) -> Uuid {
        let id = self
            .store
            .insert_device(&device(name, platform, user), &audit_entry())
            .await
            .unwrap()
            .id;
        for group in groups {
            self.store
                .add_members(*group, &[id], &audit_entry())
                .await
                .unwrap()
                .unwrap();
        }
        id
    }

    async fn certificate(&self, profile: Uuid, device: Uuid, validity: Validity) -> Uuid {
        let id = Uuid::now_v7();
        let serial = id.simple().to_string().to_uppercase();
        let certificate = StoredCertificate {
            id,
            device_id: device,
            profile_id: profile,
            profile_version: 1,
            transaction_id: format!("tx-{serial}"),
            serial_number: serial.clone(),
            thumbprint_sha1: serial[..32].to_owned() + "00000000",
            issuer: "CN=Issuing CA".to_owned(),
            subject: format!("CN={device}"),
            not_before: self.now + validity.not_before,
            not_after: self.now + validity.not_after,
            issued_at: self.now + validity.issued,
            revoke_status: RevokeStatus::None,
            revoke_requested_at: None,
            revoke_diagnostic_code: None,
            revoke_message: None,
            revoked_at: None,
            reported_at: None,
        };
        self.store
            .record_issued_certificate(&certificate, &event())
            .await
            .unwrap();
        id
    }

    /// Queues each certificate, hands the queue out and records the results
    /// (`true`: revoked, `false`: the CA failed).
    async fn revoke(&self, outcomes: &[(Uuid, Uuid, bool)]) {
        for (device, certificate, _) in outcomes {
            self.store
                .request_revocation(*device, *certificate, &audit_entry())
                .await
                .unwrap();
        }
        self.store.revocation_queue(1_000).await.unwrap();
        for (_, certificate, revoked) in outcomes {
            let outcome = RevocationOutcome {
                revoked: *revoked,
                diagnostic: if *revoked {
                    DiagnosticCode::Success
                } else {
                    DiagnosticCode::UnknownError
                },
                message: None,
            };
            self.store
                .record_revocation_result(*certificate, &outcome, &event())
                .await
                .unwrap();
        }
    }

    async fn challenge_issued(&self, profile: Uuid, device: Uuid) {
        self.store
            .record_challenges_offered(device, now(), &[(profile, 1)])
            .await
            .unwrap();
    }

    async fn failed(&self, profile: Uuid, device: Uuid) {
        let failed = FailedRequest {
            device_id: device,
            profile_id: profile,
            profile_version: 1,
            reason: "subjectMismatch",
            // After every certificate: the denial is recorded.
            challenge_issued_at: self.now + Duration::days(3_650),
        };
        let event = NewEvent {
            diagnostic: DiagnosticCode::CrpScepDeserializeFailed,
            ..event()
        };
        self.store
            .record_denied_request(Some(&failed), &event)
            .await
            .unwrap();
    }
}

/// Devices with and without a primary user, reached by device and user
/// groups, excluded, of another platform; the root reaching some; valid,
/// renewal-due (also at the threshold to the microsecond), expired, revoked
/// and failed-revocation certificates; steps; devices no longer targeted (or
/// retired) that hold certificates.
async fn universe(store: Arc<dyn Store>) -> Universe {
    let root = store
        .insert_trusted_profile(&trusted(Platform::Android), &audit_entry())
        .await
        .unwrap()
        .id;
    let device_profile = store
        .insert_scep_profile(
            &scep(Platform::Android, root, CertificateType::Device),
            &audit_entry(),
        )
        .await
        .unwrap()
        .id;
    let user_profile = store
        .insert_scep_profile(
            &scep(Platform::Android, root, CertificateType::User),
            &audit_entry(),
        )
        .await
        .unwrap()
        .id;
    // A fraction of a second that SQLite's date functions would drop.
    let now = now() - Duration::microseconds(123_457);
    let universe = Universe {
        store: store.clone(),
        root,
        device_profile,
        user_profile,
        now,
    };
    let new_group = |name: &'static str, group_type| {
        let store = store.clone();
        async move {
            store
                .insert_group(&group(name, group_type), &audit_entry())
                .await
                .unwrap()
                .id
        }
    };
    let included = new_group("included", GroupType::Device).await;
    let excluded = new_group("excluded", GroupType::Device).await;
    let included_users = new_group("included users", GroupType::User).await;
    let root_devices = new_group("root devices", GroupType::Device).await;
    let root_excluded = new_group("root excluded", GroupType::Device).await;
    let excluded_users = new_group("excluded users", GroupType::User).await;
    let root_excluded_users = new_group("root excluded users", GroupType::User).await;
    for profile in [device_profile, user_profile] {
        let kind = ProfileKind::ScepCertificate;
        store
            .insert_assignment(kind, profile, included, Intent::Include, &audit_entry())
            .await
            .unwrap();
        store
            .insert_assignment(kind, profile, excluded, Intent::Exclude, &audit_entry())
            .await
            .unwrap();
        store
            .insert_assignment(kind, profile, included_users, Intent::Include, &audit_entry())
            .await
            .unwrap();
    }
    let kind = ProfileKind::TrustedCertificate;
    store
        .insert_assignment(kind, root, root_devices, Intent::Include, &audit_entry())
        .await
        .unwrap();
    store
        .insert_assignment(kind, root, root_excluded, Intent::Exclude, &audit_entry())
        .await
        .unwrap();
    store
        .insert_assignment(kind, root, included_users, Intent::Include, &audit_entry())
        .await
        .unwrap();

    let jane = store
        .insert_user(&user("jane@contoso.com"), &audit_entry())
        .await
        .unwrap()
        .id;
    let mary = store
        .insert_user(&user("mary@contoso.com"), &audit_entry())
        .await
        .unwrap()
        .id;
    store
        .add_members(included_users, &[jane], &audit_entry())
        .await
        .unwrap()
        .unwrap();
    // Bob's devices are excluded through his user group, Carl's from the root.
    let bob = store
        .insert_user(&user("bob@contoso.com"), &audit_entry())
        .await
        .unwrap()
        .id;
    let carl = store
        .insert_user(&user("carl@contoso.com"), &audit_entry())
        .await
        .unwrap()
        .id;
    store
        .add_members(excluded_users, &[bob], &audit_entry())
        .await
        .unwrap()
        .unwrap();
    store
        .add_members(root_excluded_users, &[carl], &audit_entry())
        .await
        .unwrap()
        .unwrap();
    let days = Duration::days;
    let seconds = Duration::seconds;
    let micros = Duration::microseconds;

    for profile in [device_profile, user_profile] {
        let u = &universe;
        let with_root = [included, root_devices];
        // Pending, with and without a primary user.
        u.device("pending", Platform::Android, None, &with_root).await;
        u.device("pending-mary", Platform::Android, Some(mary), &with_root)
            .await;
        // Reached through the user's group (and so the root too).
        let janes = u.device("janes", Platform::Android, Some(jane), &[]).await;
        u.certificate(profile, janes, lasting(-days(10), days(355))).await;
        // The root does not reach it: failed, unless a valid certificate says otherwise.
        u.device("no-root", Platform::Android, None, &[included]).await;
        let no_root_cert = u
            .device("no-root-cert", Platform::Android, Some(mary), &[included])
            .await;
        u.certificate(profile, no_root_cert, lasting(-days(1), days(30)))
            .await;
        let root_excluded_step = u
            .device(
                "root-excluded",
                Platform::Android,
                Some(mary),
                &[included, root_devices, root_excluded],
            )
            .await;
        u.challenge_issued(profile, root_excluded_step).await;
        // Excluded through the primary user's group (and holding a certificate).
        let bobs = u.device("bobs", Platform::Android, Some(bob), &with_root).await;
        u.certificate(profile, bobs, lasting(-days(2), days(363))).await;
        // The root excludes the primary user: failed (with a step, still failed).
        let carls = u.device("carls", Platform::Android, Some(carl), &with_root).await;
        u.challenge_issued(profile, carls).await;
        // Steps.
        let challenged = u
            .device("challenged", Platform::Android, Some(mary), &with_root)
            .await;
        u.challenge_issued(profile, challenged).await;
        let failed = u.device("failed", Platform::Android, None, &with_root).await;
        u.failed(profile, failed).await;
        // A step, then a certificate expired since.
        let expired = u
            .device("expired", Platform::Android, Some(mary), &with_root)
            .await;
        u.certificate(profile, expired, lasting(-days(400), -days(35)))
            .await;
        u.failed(profile, expired).await;
        // Renewal: due, not due, and either side of the threshold to the microsecond.
        for (name, validity) in [
            ("due", lasting(-days(300), days(10))),
            ("not-due", lasting(-days(10), days(300))),
            ("at-threshold", lasting(-seconds(80), seconds(20))),
            ("just-due", lasting(-seconds(80), seconds(21) - micros(1))),
            ("just-not-due", lasting(-seconds(80), seconds(21))),
            (
                "fraction-lifetime",
                lasting(-seconds(79) - micros(999_999), seconds(20) + micros(1)),
            ),
            ("instant", lasting(seconds(5), seconds(5))),
            ("backwards", lasting(seconds(50), seconds(5))),
        ] {
            let id = u.device(name, Platform::Android, Some(mary), &with_root).await;
            u.certificate(profile, id, validity).await;
        }
        // Several certificates: the newest valid one decides (here due).
        let several = u
            .device("several", Platform::Android, Some(mary), &with_root)
            .await;
        u.certificate(profile, several, lasting(-days(20), days(345)))
            .await;
        u.certificate(profile, several, lasting(-days(300), days(10)))
            .await;
        let newest_revoked = u
            .device("newest-revoked", Platform::Android, Some(mary), &with_root)
            .await;
        u.certificate(profile, newest_revoked, lasting(-days(20), days(345)))
            .await;
        let newer = u
            .certificate(profile, newest_revoked, lasting(-days(2), days(363)))
            .await;
        u.revoke(&[(newest_revoked, newer, true)]).await;
        let all_revoked = u.device("all-revoked", Platform::Android, None, &with_root).await;
        let gone = u
            .certificate(profile, all_revoked, lasting(-days(2), days(363)))
            .await;
        u.revoke(&[(all_revoked, gone, true)]).await;
        // Excluded, or of another platform: not targeted; holding certificates
        // they await revocation, or are revoked.
        u.device(
            "excluded",
            Platform::Android,
            Some(mary),
            &[included, excluded, root_devices],
        )
        .await;
        let excluded_holder = u
            .device("excluded-holder", Platform::Android, None, &[included, excluded])
            .await;
        u.certificate(profile, excluded_holder, lasting(-days(2), days(363)))
            .await;
        let ios = u
            .device("ios", Platform::Ios, None, &[included, root_devices])
            .await;
        let ios_cert = u.certificate(profile, ios, lasting(-days(2), days(363))).await;
        u.revoke(&[(ios, ios_cert, true)]).await;
        let outside = u.device("outside", Platform::Android, None, &[]).await;
        let revoked = u
            .certificate(profile, outside, lasting(-days(20), days(345)))
            .await;
        let refused = u
            .certificate(profile, outside, lasting(-days(2), days(363)))
            .await;
        u.revoke(&[(outside, revoked, true), (outside, refused, false)])
            .await;
        let queued = u.device("queued", Platform::Android, None, &[]).await;
        let queued_cert = u.certificate(profile, queued, lasting(-days(2), days(363))).await;
        universe
            .store
            .request_revocation(queued, queued_cert, &audit_entry())
            .await
            .unwrap();
        // A retired device: certificates without a device row.
        u.certificate(profile, Uuid::now_v7(), lasting(-days(2), days(363)))
            .await;
        // Rule 4 for the user profile: no primary user, but a valid certificate.
        let userless = u.device("userless", Platform::Android, None, &with_root).await;
        u.certificate(profile, userless, lasting(-days(2), days(363)))
            .await;
        // Another profile's certificate does not count.
        let other = if profile == device_profile {
            user_profile
        } else {
            device_profile
        };
        let stray = u.device("stray", Platform::Android, None, &[]).await;
        u.certificate(other, stray, lasting(-days(2), days(363))).await;
    }
    universe
}

// ---------------------------------------------------------------- the reference

fn ledger_entry(certificate: StoredCertificate) -> LedgerEntry {
    LedgerEntry {
        certificate_id: certificate.id,
        device_id: certificate.device_id,
        issued_at: certificate.issued_at,
        validity: (certificate.not_before, certificate.not_after),
        revocation: Revocation {
            status: certificate.revoke_status,
            requested_at: certificate.revoke_requested_at,
            diagnostic_code: certificate.revoke_diagnostic_code,
            revoked_at: certificate.revoked_at,
        },
    }
}

fn step_entry(state: DeviceProfileState) -> StepEntry {
    StepEntry {
        device_id: state.device_id,
        step: match state.step {
            EnrollmentStep::ChallengeIssued => Step::ChallengeIssued,
            EnrollmentStep::Failed(code) => Step::Failed(code),
        },
        reason: state.reason,
        updated_at: state.updated_at,
    }
}

fn targeted_device(device: StatusDevice) -> TargetedDevice {
    TargetedDevice {
        device_id: device.device.id,
        has_primary_user: device.device.content.device.user_id.is_some(),
        root_installed: device.root_installed,
        device_name: device.device.content.device.device_name,
    }
}

async fn all_targeted(store: &Arc<dyn Store>, kind: ProfileKind, profile: Uuid) -> Vec<Uuid> {
    let mut ids = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let batch = store
            .targeted_devices(kind, profile, Platform::Android, page)
            .await
            .unwrap();
        ids.extend(batch.items.iter().map(|device| device.id));
        match batch.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return ids,
        }
    }
}

/// What the domain derives from all of the profile's facts, read as the
/// statuses service read them before ranges.
async fn reference(
    universe: &Universe,
    profile: StatusProfile,
    profile_id: Uuid,
    now: DateTime<Utc>,
) -> Vec<DeviceStatus> {
    let store = &universe.store;
    let root_reaches = all_targeted(store, ProfileKind::TrustedCertificate, universe.root).await;
    let mut targeted = Vec::new();
    for id in all_targeted(store, ProfileKind::ScepCertificate, profile_id).await {
        let device = store.device(id).await.unwrap().unwrap();
        targeted.push(TargetedDevice {
            device_id: id,
            has_primary_user: device.content.device.user_id.is_some(),
            root_installed: root_reaches.contains(&id),
            device_name: device.content.device.device_name,
        });
    }
    let certificates: Vec<LedgerEntry> = store
        .profile_certificates(profile_id)
        .await
        .unwrap()
        .into_iter()
        .map(ledger_entry)
        .collect();
    let steps: Vec<StepEntry> = store
        .profile_states(profile_id)
        .await
        .unwrap()
        .into_iter()
        .map(step_entry)
        .collect();
    device_statuses(profile, &targeted, &certificates, &steps, now)
}

/// The statuses derived range by range, `batch` devices a range.
async fn ranged(
    store: &Arc<dyn Store>,
    scope: &StatusScope,
    profile: StatusProfile,
    batch: u32,
    now: DateTime<Utc>,
) -> Vec<DeviceStatus> {
    let mut statuses = Vec::new();
    let mut after = None;
    loop {
        let facts = store.status_facts(scope, after, batch).await.unwrap();
        let targeted: Vec<TargetedDevice> = facts.targeted.into_iter().map(targeted_device).collect();
        assert!(
            targeted.len() <= batch as usize,
            "a range holds at most its batch of targeted devices"
        );
        if let Some(last) = facts.last_id {
            assert!(targeted.iter().all(|device| device.device_id <= last));
        }
        let certificates: Vec<LedgerEntry> = facts.certificates.into_iter().map(ledger_entry).collect();
        let steps: Vec<StepEntry> = facts.steps.into_iter().map(step_entry).collect();
        statuses.extend(device_statuses(profile, &targeted, &certificates, &steps, now));
        match facts.last_id {
            Some(last) => after = Some(last),
            None => return statuses,
        }
    }
}

async fn check(universe: &Universe, profile_id: Uuid) -> Vec<DeviceStatus> {
    let record = universe.store.scep_profile(profile_id).await.unwrap().unwrap();
    let settings = &record.content.settings;
    let profile = StatusProfile {
        certificate_type: settings.certificate_type,
        renewal_threshold_percent: settings.renewal_threshold_percentage.percent(),
    };
    let scope = StatusScope {
        profile_id,
        platform: record.content.platform,
        root_id: record.content.root_certificate_id,
        certificate_type: profile.certificate_type,
        renewal_threshold_percent: profile.renewal_threshold_percent,
    };
    // At the universe's instant, and at instants around the renewal thresholds.
    let mut first = None;
    for now in [
        universe.now,
        universe.now + Duration::microseconds(1),
        universe.now - Duration::microseconds(1),
        universe.now + Duration::seconds(1),
        universe.now + Duration::days(11),
    ] {
        let expected = reference(universe, profile, profile_id, now).await;
        let summary = universe.store.status_summary(&scope, now).await.unwrap();
        assert_eq!(summary, DeviceStatusSummary::of(&expected), "summary at {now}");
        for batch in [1, 2, 3, 7, 256] {
            let statuses = ranged(&universe.store, &scope, profile, batch, now).await;
            assert_eq!(statuses, expected, "statuses in ranges of {batch} at {now}");
        }
        first.get_or_insert(expected);
    }
    first.unwrap()
}

fn count(statuses: &[DeviceStatus], state: DeviceEnrollmentState) -> usize {
    statuses.iter().filter(|status| status.state == state).count()
}

// ---------------------------------------------------------------- tests

async fn the_summary_and_ranged_statuses_match_the_domain_for_device_certificates(store: Arc<dyn Store>) {
    let universe = universe(store).await;
    let statuses = check(&universe, universe.device_profile).await;
    // The universe covers every state (so the comparison means something).
    for state in DeviceEnrollmentState::ALL {
        assert!(count(&statuses, state) > 0, "no device in state {state:?}");
    }
}

async fn the_summary_and_ranged_statuses_match_the_domain_for_user_certificates(store: Arc<dyn Store>) {
    let universe = universe(store).await;
    let statuses = check(&universe, universe.user_profile).await;
    for state in DeviceEnrollmentState::ALL {
        assert!(count(&statuses, state) > 0, "no device in state {state:?}");
    }
    let device_statuses = check(&universe, universe.device_profile).await;
    // Rule 4 leaves devices without a primary user out of the user profile
    // (those holding its certificates await revocation instead).
    assert!(statuses.len() < device_statuses.len());
}

async fn assignments(
    universe: &Universe,
    kind: ProfileKind,
    profile: Uuid,
) -> Vec<scepter_storage::Assignment> {
    let page = PageRequest::first(PageRequest::MAX_LIMIT);
    universe
        .store
        .list_assignments(kind, profile, page)
        .await
        .unwrap()
        .items
}

/// Deletes the root's exclusions.
async fn drop_root_exclusions(universe: &Universe) {
    let kind = ProfileKind::TrustedCertificate;
    for assignment in assignments(universe, kind, universe.root).await {
        if assignment.intent == Intent::Exclude {
            universe
                .store
                .delete_assignment(kind, universe.root, assignment.id, &audit_entry())
                .await
                .unwrap();
        }
    }
}

/// Makes the root include every group either SCEP profile includes.
async fn include_profile_groups_in_root(universe: &Universe) {
    let kind = ProfileKind::TrustedCertificate;
    let mut root_groups: Vec<Uuid> = assignments(universe, kind, universe.root)
        .await
        .into_iter()
        .filter(|assignment| assignment.intent == Intent::Include)
        .map(|assignment| assignment.group_id)
        .collect();
    for profile in [universe.device_profile, universe.user_profile] {
        for assignment in assignments(universe, ProfileKind::ScepCertificate, profile).await {
            if assignment.intent == Intent::Include && !root_groups.contains(&assignment.group_id) {
                universe
                    .store
                    .insert_assignment(
                        kind,
                        universe.root,
                        assignment.group_id,
                        Intent::Include,
                        &audit_entry(),
                    )
                    .await
                    .unwrap();
                root_groups.push(assignment.group_id);
            }
        }
    }
}

/// The summary decides from the assignments alone whether the root reaches
/// every targeted device: here first a root that excludes nobody but misses
/// a group the profiles include, then one that covers them (the next test
/// keeps the exclusions).
async fn the_summary_matches_the_domain_when_the_root_covers_the_profiles_groups(store: Arc<dyn Store>) {
    let universe = universe(store).await;
    drop_root_exclusions(&universe).await;
    let missing_a_group = check(&universe, universe.device_profile).await;
    include_profile_groups_in_root(&universe).await;
    let covered = check(&universe, universe.device_profile).await;
    // The devices the root missed are no longer failed for it.
    assert!(
        count(&covered, DeviceEnrollmentState::Failed)
            < count(&missing_a_group, DeviceEnrollmentState::Failed)
    );
    assert!(count(&covered, DeviceEnrollmentState::Pending) > 0);
    let covered_users = check(&universe, universe.user_profile).await;
    assert!(count(&covered_users, DeviceEnrollmentState::Pending) > 0);
}

async fn a_root_covering_the_groups_but_excluding_devices_still_fails_them(store: Arc<dyn Store>) {
    let universe = universe(store).await;
    include_profile_groups_in_root(&universe).await;
    let with_exclusions = check(&universe, universe.device_profile).await;
    drop_root_exclusions(&universe).await;
    let without = check(&universe, universe.device_profile).await;
    // The root's exclusions still stop it on some targeted devices.
    assert!(
        count(&with_exclusions, DeviceEnrollmentState::Failed)
            > count(&without, DeviceEnrollmentState::Failed)
    );
}

async fn an_empty_profile_has_no_statuses(store: Arc<dyn Store>) {
    let root = store
        .insert_trusted_profile(&trusted(Platform::Android), &audit_entry())
        .await
        .unwrap()
        .id;
    let profile = store
        .insert_scep_profile(
            &scep(Platform::Android, root, CertificateType::Device),
            &audit_entry(),
        )
        .await
        .unwrap()
        .id;
    let scope = StatusScope {
        profile_id: profile,
        platform: Platform::Android,
        root_id: root,
        certificate_type: CertificateType::Device,
        renewal_threshold_percent: 20,
    };
    assert_eq!(
        store.status_summary(&scope, now()).await.unwrap(),
        DeviceStatusSummary::default()
    );
    let facts = store.status_facts(&scope, None, 10).await.unwrap();
    assert!(facts.targeted.is_empty() && facts.certificates.is_empty() && facts.last_id.is_none());
    // After the largest id there is nothing left.
    let facts = store.status_facts(&scope, Some(Uuid::max()), 10).await.unwrap();
    assert!(facts.last_id.is_none());
}
