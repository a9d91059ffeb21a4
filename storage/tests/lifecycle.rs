//! The lifecycle repository on SQLite and PostgreSQL alike: single-use
//! challenges (also under concurrency), the certificate ledger, revocation
//! queueing by scope, revocation results, and events.

use std::sync::Arc;

use chrono::{Duration, Utc};
use scepter_domain::{
    checkin::RevokeStatus,
    diagnostics::{DiagnosticCode, EventId},
    directory::GroupType,
    scep_profile::CertificateType,
    targeting::{Intent, ProfileKind},
    Platform,
};
use scepter_storage::testing::{audit_entry, Backend, TestDatabase};
use scepter_storage::{
    now, AllowedRecord, EnrollmentStep, EventFilter, FactsGenerations, FailedRequest, NewEvent, PageRequest,
    PayloadOffer, ReportSnapshot, RevocationOutcome, RevocationScope, ScepTransaction, StorageError, Store,
    StoredCertificate, LAST_CHECK_IN_CHUNK,
};
use uuid::Uuid;

mod support;

use support::*;

/// Tests that tell the backends apart.
mod per_backend {
    use super::*;
    scepter_storage::backend_tests!(a_notified_certificate_moves_its_devices_generation_once_per_transaction,);
}

scepter_storage::store_tests!(
    a_challenge_is_accepted_once_even_when_raced,
    certificates_round_trip_and_duplicates_conflict,
    revocations_are_queued_only_for_certificates_no_longer_reached,
    revocation_results_are_recorded_once,
    enrollment_steps_are_recorded_per_device_and_profile,
    expired_used_challenges_are_purged_in_bounded_batches,
    old_events_are_purged_in_bounded_batches,
    finished_scep_transactions_are_purged_in_bounded_batches,
    events_filter_by_device_profile_event_and_time,
    generations_move_only_for_what_a_change_concerns,
    last_check_in_times_are_written_in_batches_and_never_go_back,
    a_transaction_id_stays_bound_to_its_device_profile_and_key,
    a_denial_never_downgrades_a_device_that_enrolled_since,
    used_challenges_can_be_looked_up_before_anything_is_written,
    payload_offers_read_back_newest_first_per_device_and_profile_and_purge,
    a_certificate_is_marked_reported_once,
    profile_updates_record_each_new_version,
    the_timeline_reads_the_events_of_one_device,
    report_snapshots_keep_the_newest_and_one_refresher_claims_at_a_time,
    credential_lookups_answer_their_own_even_after_cancelled_ones,
);

/// A device in a device group that a SCEP profile (device certificate) is assigned to.
struct Setup {
    store: Arc<dyn Store>,
    device: Uuid,
    other_device: Uuid,
    group: Uuid,
    profile: Uuid,
}

async fn setup(store: Arc<dyn Store>) -> Setup {
    let first = store
        .insert_device(&device("one", Platform::Android, None), &audit_entry())
        .await
        .unwrap()
        .id;
    let second = store
        .insert_device(&device("two", Platform::Android, None), &audit_entry())
        .await
        .unwrap()
        .id;
    let group = store
        .insert_group(&group("phones", GroupType::Device), &audit_entry())
        .await
        .unwrap()
        .id;
    store
        .add_members(group, &[first, second], &audit_entry())
        .await
        .unwrap()
        .unwrap();
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
    store
        .insert_assignment(
            ProfileKind::ScepCertificate,
            profile,
            group,
            Intent::Include,
            &audit_entry(),
        )
        .await
        .unwrap();
    Setup {
        store,
        device: first,
        other_device: second,
        group,
        profile,
    }
}

fn transaction(setup: &Setup, device: Uuid, transaction_id: &str, challenge_id: Uuid) -> ScepTransaction {
    ScepTransaction {
        transaction_id: transaction_id.to_owned(),
        device_id: device,
        profile_id: setup.profile,
        profile_version: 1,
        challenge_id,
        public_key_sha256: vec![7; 32],
        name_digest: vec![9; 32],
        verified_at: now(),
        certificate_id: None,
    }
}

/// Records an allowed request (see [`Store::record_allowed_request`]) and returns the outcome.
async fn allow(
    setup: &Setup,
    request: &ScepTransaction,
    challenge_expires_at: chrono::DateTime<Utc>,
    event: &NewEvent,
) -> AllowedRecord {
    setup
        .store
        .record_allowed_request(request, challenge_expires_at, event)
        .await
        .unwrap()
}

fn failed_request<'a>(setup: &Setup, reason: &'a str) -> FailedRequest<'a> {
    FailedRequest {
        device_id: setup.device,
        profile_id: setup.profile,
        profile_version: 1,
        reason,
        challenge_issued_at: now(),
    }
}

fn event(event: EventId, device: Option<Uuid>, profile: Option<Uuid>) -> NewEvent {
    NewEvent {
        event,
        diagnostic: DiagnosticCode::Success,
        device_id: device,
        profile_id: profile,
        certificate_id: None,
        transaction_id: None,
        message: "test".to_owned(),
    }
}

fn certificate(setup: &Setup, device: Uuid, serial: &str) -> StoredCertificate {
    let now = now();
    StoredCertificate {
        id: Uuid::now_v7(),
        device_id: device,
        profile_id: setup.profile,
        profile_version: 1,
        transaction_id: format!("tx-{serial}"),
        serial_number: serial.to_owned(),
        thumbprint_sha1: format!("{serial:0>40}"),
        issuer: "CN=Issuing CA".to_owned(),
        subject: format!("CN={device}"),
        not_before: now - Duration::days(1),
        not_after: now + Duration::days(364),
        issued_at: now,
        revoke_status: RevokeStatus::None,
        revoke_requested_at: None,
        revoke_diagnostic_code: None,
        revoke_message: None,
        revoked_at: None,
        reported_at: None,
    }
}

async fn a_challenge_is_accepted_once_even_when_raced(store: Arc<dyn Store>) {
    let setup = setup(store).await;
    let challenge = Uuid::new_v4();
    let expires = Utc::now() + Duration::hours(1);
    let attempts = (0..8).map(|n| {
        let store = Arc::clone(&setup.store);
        let request = transaction(&setup, setup.device, &format!("race-{n}"), challenge);
        let event = event(
            EventId::CrpVerifyMetricSuccess,
            Some(setup.device),
            Some(setup.profile),
        );
        tokio::spawn(async move { store.record_allowed_request(&request, expires, &event).await })
    });
    let mut accepted = 0;
    for attempt in attempts {
        if attempt.await.unwrap().unwrap() == AllowedRecord::Recorded {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 1);
    // Only the winner's transaction and event were written.
    let mut recorded = 0;
    for n in 0..8 {
        recorded += usize::from(
            setup
                .store
                .scep_transaction(&format!("race-{n}"))
                .await
                .unwrap()
                .is_some(),
        );
    }
    assert_eq!(recorded, 1);
    let events = setup
        .store
        .list_events(EventFilter::default(), PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(events.items.len(), 1);
}

async fn certificates_round_trip_and_duplicates_conflict(store: Arc<dyn Store>) {
    let setup = setup(store).await;
    let request = transaction(&setup, setup.device, "tx-01", Uuid::new_v4());
    let expires = Utc::now() + Duration::hours(1);
    let verified = event(
        EventId::CrpVerifyMetricSuccess,
        Some(setup.device),
        Some(setup.profile),
    );
    assert_eq!(
        allow(&setup, &request, expires, &verified).await,
        AllowedRecord::Recorded
    );
    let stored_request = setup.store.scep_transaction("tx-01").await.unwrap().unwrap();
    assert_eq!(stored_request, request);

    let issued = certificate(&setup, setup.device, "01");
    let notified = event(
        EventId::CrpNotifyMetricSuccess,
        Some(setup.device),
        Some(setup.profile),
    );
    let stored = setup
        .store
        .record_issued_certificate(&issued, &notified)
        .await
        .unwrap();
    assert_eq!(stored, issued);
    assert_eq!(
        setup
            .store
            .scep_transaction("tx-01")
            .await
            .unwrap()
            .unwrap()
            .certificate_id,
        Some(issued.id)
    );
    assert_eq!(
        setup.store.device_certificates(setup.device).await.unwrap(),
        vec![issued.clone()]
    );
    assert_eq!(
        setup.store.profile_certificates(setup.profile).await.unwrap(),
        vec![issued.clone()]
    );
    let facts = setup.store.check_in_facts(setup.device).await.unwrap().unwrap();
    assert_eq!(facts.certificates, vec![issued.clone()]);
    // What verification reads is the check-in's facts without the ledger.
    let subject = setup.store.subject_facts(setup.device).await.unwrap().unwrap();
    assert_eq!(subject, facts.subject);
    assert!(setup.store.subject_facts(Uuid::now_v7()).await.unwrap().is_none());

    let same_serial = StoredCertificate {
        id: Uuid::now_v7(),
        thumbprint_sha1: "F".repeat(40),
        ..issued.clone()
    };
    let conflict = setup
        .store
        .record_issued_certificate(&same_serial, &notified)
        .await;
    assert!(matches!(conflict, Err(StorageError::Conflict(_))), "{conflict:?}");
    // The failed insert left nothing behind, not even its event.
    assert_eq!(
        setup.store.device_certificates(setup.device).await.unwrap().len(),
        1
    );
    let events = setup
        .store
        .list_events(EventFilter::default(), PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(events.items.len(), 2);
}

async fn revocations_are_queued_only_for_certificates_no_longer_reached(store: Arc<dyn Store>) {
    let setup = setup(store).await;
    let notified = event(EventId::CrpNotifyMetricSuccess, None, None);
    let mine = certificate(&setup, setup.device, "0A");
    let theirs = certificate(&setup, setup.other_device, "0B");
    for issued in [&mine, &theirs] {
        setup
            .store
            .record_issued_certificate(issued, &notified)
            .await
            .unwrap();
    }
    assert_eq!(
        setup
            .store
            .queue_revocations(&RevocationScope::All)
            .await
            .unwrap(),
        0
    );

    setup
        .store
        .remove_member(setup.group, setup.device, &audit_entry())
        .await
        .unwrap();
    // Out of scope: nothing happens.
    let other_scope = RevocationScope::Devices(vec![setup.other_device]);
    assert_eq!(setup.store.queue_revocations(&other_scope).await.unwrap(), 0);
    let scope = RevocationScope::Devices(vec![setup.device]);
    assert_eq!(setup.store.queue_revocations(&scope).await.unwrap(), 1);
    // Idempotent.
    assert_eq!(
        setup
            .store
            .queue_revocations(&RevocationScope::All)
            .await
            .unwrap(),
        0
    );
    let queued = setup.store.device_certificates(setup.device).await.unwrap();
    assert_eq!(queued[0].revoke_status, RevokeStatus::Pending);
    assert!(queued[0].revoke_requested_at.is_some());

    // Deleting the profile reaches every remaining certificate of it.
    setup
        .store
        .delete_scep_profile(setup.profile, None, &audit_entry())
        .await
        .unwrap();
    assert_eq!(
        setup
            .store
            .queue_revocations(&RevocationScope::Profile(setup.profile))
            .await
            .unwrap(),
        1
    );
    let handed_out = setup.store.revocation_queue(10).await.unwrap();
    assert_eq!(handed_out.len(), 2);
    assert!(handed_out.iter().all(|c| c.revoke_status == RevokeStatus::Issued));
    // Listing again returns the same, still awaiting a result.
    assert_eq!(setup.store.revocation_queue(10).await.unwrap(), handed_out);
    assert_eq!(setup.store.revocation_queue(1).await.unwrap().len(), 1);
}

async fn revocation_results_are_recorded_once(store: Arc<dyn Store>) {
    let setup = setup(store).await;
    let issued = certificate(&setup, setup.device, "0C");
    setup
        .store
        .record_issued_certificate(&issued, &event(EventId::CrpNotifyMetricSuccess, None, None))
        .await
        .unwrap();
    let outcome = RevocationOutcome {
        revoked: true,
        diagnostic: DiagnosticCode::Success,
        message: None,
    };
    let revoked_event = event(EventId::RevokeCertSuccess, None, None);
    let not_queued = setup
        .store
        .record_revocation_result(issued.id, &outcome, &revoked_event)
        .await;
    assert!(
        matches!(not_queued, Err(StorageError::Conflict(_))),
        "{not_queued:?}"
    );
    let unknown = setup
        .store
        .record_revocation_result(Uuid::now_v7(), &outcome, &revoked_event)
        .await;
    assert!(matches!(unknown, Err(StorageError::NotFound)), "{unknown:?}");

    setup
        .store
        .delete_device(setup.device, None, &audit_entry())
        .await
        .unwrap();
    assert_eq!(
        setup
            .store
            .queue_revocations(&RevocationScope::All)
            .await
            .unwrap(),
        1
    );
    let failed = RevocationOutcome {
        revoked: false,
        diagnostic: DiagnosticCode::RevokeCertAccessDenied,
        message: Some("denied".to_owned()),
    };
    let recorded = setup
        .store
        .record_revocation_result(issued.id, &failed, &event(EventId::RevokeCertFailure, None, None))
        .await
        .unwrap();
    assert_eq!(recorded.revoke_status, RevokeStatus::Failed);
    assert_eq!(recorded.revoke_diagnostic_code, Some(0x402));
    assert_eq!(recorded.revoke_message.as_deref(), Some("denied"));
    assert!(recorded.revoked_at.is_none());
    // The event names the certificate's device and profile.
    let filter = EventFilter {
        device_id: Some(setup.device),
        event_id: Some(20202),
        ..EventFilter::default()
    };
    let events = setup
        .store
        .list_events(filter, PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(events.items.len(), 1);
    assert_eq!(events.items[0].profile_id, Some(setup.profile));
    assert_eq!(events.items[0].diagnostic_code, 0x402);
}

async fn enrollment_steps_are_recorded_per_device_and_profile(store: Arc<dyn Store>) {
    let setup = setup(store).await;
    let at = now();
    setup
        .store
        .record_challenges_offered(setup.device, at, &[(setup.profile, 1)])
        .await
        .unwrap();
    let steps = setup.store.profile_states(setup.profile).await.unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].step, EnrollmentStep::ChallengeIssued);

    let failed = NewEvent {
        diagnostic: DiagnosticCode::CrpScepDeserializeFailed,
        ..event(
            EventId::CrpVerifyMetricFailure,
            Some(setup.device),
            Some(setup.profile),
        )
    };
    setup
        .store
        .record_denied_request(Some(&failed_request(&setup, "subjectMismatch")), &failed)
        .await
        .unwrap();
    let steps = setup.store.profile_states(setup.profile).await.unwrap();
    assert_eq!(
        steps[0].step,
        EnrollmentStep::Failed(DiagnosticCode::CrpScepDeserializeFailed)
    );
    assert_eq!(steps[0].reason.as_deref(), Some("subjectMismatch"));
    // A new check-in offering a challenge starts over.
    setup
        .store
        .record_challenges_offered(setup.device, now(), &[(setup.profile, 1)])
        .await
        .unwrap();
    assert_eq!(
        setup.store.profile_states(setup.profile).await.unwrap()[0].step,
        EnrollmentStep::ChallengeIssued
    );
}

async fn expired_used_challenges_are_purged_in_bounded_batches(store: Arc<dyn Store>) {
    let setup = setup(store).await;
    let verified = event(EventId::CrpVerifyMetricSuccess, None, None);
    let past = Utc::now() - Duration::minutes(5);
    let future = Utc::now() + Duration::minutes(5);
    for n in 0..7 {
        let old = transaction(&setup, setup.device, &format!("old-{n}"), Uuid::new_v4());
        assert_eq!(
            allow(&setup, &old, past, &verified).await,
            AllowedRecord::Recorded
        );
    }
    let fresh = transaction(&setup, setup.device, "fresh", Uuid::new_v4());
    assert_eq!(
        allow(&setup, &fresh, future, &verified).await,
        AllowedRecord::Recorded
    );

    let mut batches = Vec::new();
    loop {
        let purged = setup.store.purge_used_challenges(Utc::now(), 3).await.unwrap();
        batches.push(purged);
        if purged < 3 {
            break;
        }
    }

    assert_eq!(batches, [3, 3, 1]);
    // The unexpired id is still remembered.
    assert_eq!(
        allow(&setup, &fresh, future, &verified).await,
        AllowedRecord::ChallengeUsed
    );
}

/// Purges with `purge` (given the batch size) until a batch comes back
/// short, and returns every batch's count.
async fn purge_in_batches<F, Fut>(limit: u32, mut purge: F) -> Vec<u64>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Result<u64, StorageError>>,
{
    let mut batches = Vec::new();
    loop {
        let purged = purge(limit).await.unwrap();
        batches.push(purged);
        if purged < u64::from(limit) {
            return batches;
        }
    }
}

/// Records an allowed request verified at `verified_at` (its event occurs then too).
async fn allowed_at(setup: &Setup, transaction_id: &str, verified_at: chrono::DateTime<Utc>) {
    let request = ScepTransaction {
        verified_at,
        ..transaction(setup, setup.device, transaction_id, Uuid::new_v4())
    };
    let verified = event(
        EventId::CrpVerifyMetricSuccess,
        Some(setup.device),
        Some(setup.profile),
    );
    assert_eq!(
        allow(setup, &request, verified_at + Duration::hours(1), &verified).await,
        AllowedRecord::Recorded
    );
}

async fn old_events_are_purged_in_bounded_batches(store: Arc<dyn Store>) {
    let setup = setup(store).await;
    let long_ago = now() - Duration::days(100);
    for n in 0..25 {
        allowed_at(&setup, &format!("old-{n}"), long_ago + Duration::seconds(n)).await;
    }
    allowed_at(&setup, "last-week", now() - Duration::days(7)).await;
    setup
        .store
        .record_event(&event(EventId::CrpNotifyMetricSuccess, Some(setup.device), None))
        .await
        .unwrap();

    let cutoff = now() - Duration::days(90);
    let batches = purge_in_batches(10, |limit| setup.store.purge_events(cutoff, limit)).await;

    assert_eq!(batches, [10, 10, 5]);
    let left = setup
        .store
        .list_events(EventFilter::default(), PageRequest::first(100))
        .await
        .unwrap()
        .items;
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.iter().all(|event| event.occurred_at >= cutoff));
    // Only events went: the transactions are another purge's.
    assert!(setup.store.scep_transaction("old-0").await.unwrap().is_some());
}

async fn finished_scep_transactions_are_purged_in_bounded_batches(store: Arc<dyn Store>) {
    let setup = setup(store).await;
    let notified_before = now() - Duration::days(7);
    let abandoned_before = now() - Duration::days(90);
    // Finished: never notified for longer than the retention, or notified
    // before the retry window.
    for n in 0..12 {
        allowed_at(&setup, &format!("abandoned-{n}"), now() - Duration::days(100)).await;
    }
    allowed_at(&setup, "tx-0E", now() - Duration::days(10)).await;
    // Not finished: recent, whether notified or not, and pending for 30 days.
    allowed_at(&setup, "tx-0F", now() - Duration::days(1)).await;
    allowed_at(&setup, "pending", now() - Duration::days(30)).await;
    let notified = event(EventId::CrpNotifyMetricSuccess, None, None);
    for serial in ["0E", "0F"] {
        setup
            .store
            .record_issued_certificate(&certificate(&setup, setup.device, serial), &notified)
            .await
            .unwrap();
    }

    let batches = purge_in_batches(5, |limit| {
        setup
            .store
            .purge_scep_transactions(notified_before, abandoned_before, limit)
    })
    .await;

    assert_eq!(batches, [5, 5, 3]);
    for gone in ["abandoned-0", "abandoned-11", "tx-0E"] {
        assert!(
            setup.store.scep_transaction(gone).await.unwrap().is_none(),
            "{gone}"
        );
    }
    for kept in ["tx-0F", "pending"] {
        assert!(
            setup.store.scep_transaction(kept).await.unwrap().is_some(),
            "{kept}"
        );
    }
    // The ledger keeps the purged transaction's certificate and its id.
    let certificates = setup.store.device_certificates(setup.device).await.unwrap();
    assert!(certificates.iter().any(|c| c.transaction_id == "tx-0E"));
}

async fn events_filter_by_device_profile_event_and_time(store: Arc<dyn Store>) {
    let setup = setup(store).await;
    let start = now();
    let written = [
        event(
            EventId::CrpVerifyMetricSuccess,
            Some(setup.device),
            Some(setup.profile),
        ),
        event(
            EventId::CrpVerifyMetricFailure,
            Some(setup.other_device),
            Some(setup.profile),
        ),
        event(EventId::CrpNotifyMetricSuccess, Some(setup.device), None),
    ];
    for event in &written {
        setup.store.record_event(event).await.unwrap();
    }
    let ids = |filter: EventFilter| {
        let store = Arc::clone(&setup.store);
        async move {
            store
                .list_events(filter, PageRequest::first(100))
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|event| event.event_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ids(EventFilter::default()).await, vec![20500, 20502, 20600]);
    let by_device = EventFilter {
        device_id: Some(setup.device),
        ..EventFilter::default()
    };
    assert_eq!(ids(by_device).await, vec![20500, 20600]);
    let by_profile_and_id = EventFilter {
        profile_id: Some(setup.profile),
        event_id: Some(20502),
        ..EventFilter::default()
    };
    assert_eq!(ids(by_profile_and_id).await, vec![20502]);
    let later = EventFilter {
        from: Some(now() + Duration::seconds(1)),
        ..EventFilter::default()
    };
    assert!(ids(later).await.is_empty());
    let window = EventFilter {
        from: Some(start),
        to: Some(now() + Duration::seconds(1)),
        ..EventFilter::default()
    };
    assert_eq!(ids(window).await.len(), 3);
    let page = setup
        .store
        .list_events(EventFilter::default(), PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    let rest = setup
        .store
        .list_events(
            EventFilter::default(),
            PageRequest {
                limit: 2,
                cursor: page.next_cursor,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        rest.items.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        vec![20600]
    );
}

/// Polls `future` up to `polls` times, letting the runtime run in between,
/// and drops it if it has not finished: a request that went away mid-query.
async fn poll_then_drop<F: std::future::Future>(future: F, polls: usize) {
    let mut future = std::pin::pin!(future);
    for _ in 0..polls {
        let polled =
            std::future::poll_fn(|context| std::task::Poll::Ready(future.as_mut().poll(context))).await;
        if polled.is_ready() {
            return;
        }
        tokio::task::yield_now().await;
    }
}

/// Every check-in looks up its credential; on PostgreSQL over the check-in
/// lane, which reuses connections without testing them. A lookup dropped
/// mid-query (its answer on the way) must never leave that answer for the
/// next caller, nor its connection counted forever: each lookup answers its
/// own credential after cancelled ones and under concurrency, once all are
/// done every lane connection is idle again, and closing the store closes
/// them.
async fn credential_lookups_answer_their_own_even_after_cancelled_ones(store: Arc<dyn Store>) {
    let setup = setup(store).await;
    let store = &setup.store;
    let mut credentials = Vec::new();
    for device in [setup.device, setup.other_device] {
        let credential = Uuid::now_v7();
        store
            .replace_device_credential(device, credential, &[1; 32], &audit_entry())
            .await
            .unwrap();
        credentials.push((credential, device));
    }
    for round in 0..60 {
        let (dropped, _) = credentials[round % 2];
        let (asked, device) = credentials[(round + 1) % 2];
        poll_then_drop(store.device_credential(dropped), 1 + round % 4).await;
        let answer = store
            .device_credential(asked)
            .await
            .unwrap()
            .expect("a stored credential");
        assert_eq!(answer.device_id, device, "round {round}");
    }
    let lookups: Vec<_> = (0..64)
        .map(|n| {
            let store = Arc::clone(store);
            let (credential, device) = credentials[n % 2];
            tokio::spawn(async move {
                let found = store.device_credential(credential).await.unwrap().unwrap();
                (found.device_id, device)
            })
        })
        .collect();
    for lookup in lookups {
        let (found, expected) = lookup.await.unwrap();
        assert_eq!(found, expected);
    }
    assert!(store.device_credential(Uuid::now_v7()).await.unwrap().is_none());
    let lane = store.pool_status().check_in;
    assert_eq!(lane.size, lane.idle, "no lane connection stays lent: {lane:?}");
    assert!(lane.size <= lane.max, "{lane:?}");
    store.close().await;
    let lane = store.pool_status().check_in;
    assert_eq!(lane.size, 0, "closing the store closes the lane: {lane:?}");
}

async fn generations(store: &Arc<dyn Store>, credential: Uuid) -> FactsGenerations {
    store
        .device_credential(credential)
        .await
        .unwrap()
        .unwrap()
        .generations
}

/// Where both devices' check-in facts stand, read as check-in reads them.
struct Watch {
    first: (Uuid, FactsGenerations),
    second: (Uuid, FactsGenerations),
}

impl Watch {
    async fn new(store: &Arc<dyn Store>, first: Uuid, second: Uuid) -> Self {
        let mut credentials = Vec::new();
        for device in [first, second] {
            let credential = Uuid::now_v7();
            store
                .replace_device_credential(device, credential, &[1; 32], &audit_entry())
                .await
                .unwrap();
            credentials.push((credential, generations(store, credential).await));
        }
        Self {
            first: credentials[0],
            second: credentials[1],
        }
    }

    /// Which generations moved since the last call: (first device, second device, policy).
    async fn moved(&mut self, store: &Arc<dyn Store>) -> (bool, bool, bool) {
        let first = generations(store, self.first.0).await;
        let second = generations(store, self.second.0).await;
        assert_eq!(
            first.policy, second.policy,
            "one policy generation for all devices"
        );
        let moved = (
            first.device != self.first.1.device,
            second.device != self.second.1.device,
            first.policy != self.first.1.policy,
        );
        self.first.1 = first;
        self.second.1 = second;
        moved
    }
}

/// Check-in caches a device's facts at its generations: each change must
/// move the generation of exactly the devices whose facts it changes, and
/// the policy generation only for profiles and assignments.
async fn generations_move_only_for_what_a_change_concerns(store: Arc<dyn Store>) {
    let setup = setup(store).await;
    let store = &setup.store;
    let user = store
        .insert_user(&user("jane@contoso.example"), &audit_entry())
        .await
        .unwrap();
    let first = store.device(setup.device).await.unwrap().unwrap();
    let mut with_user = first.content.device.clone();
    with_user.user_id = Some(user.id);
    store
        .update_device(setup.device, first.version, &with_user, &audit_entry())
        .await
        .unwrap();
    let user_group = store
        .insert_group(&group("staff", GroupType::User), &audit_entry())
        .await
        .unwrap()
        .id;
    let mut watch = Watch::new(store, setup.device, setup.other_device).await;
    const FIRST: (bool, bool, bool) = (true, false, false);
    const SECOND: (bool, bool, bool) = (false, true, false);
    const NOTHING: (bool, bool, bool) = (false, false, false);

    // Observations of a check-in: the time moves nothing, a step its device.
    store
        .record_last_check_ins(&[(setup.device, now()), (setup.other_device, now())])
        .await
        .unwrap();
    assert_eq!(watch.moved(store).await, NOTHING, "lastCheckInDateTime");
    store
        .record_challenges_offered(setup.device, now(), &[(setup.profile, 1)])
        .await
        .unwrap();
    assert_eq!(watch.moved(store).await, FIRST, "challengeIssued");

    // The directory: a membership, the device row, its primary user.
    store
        .remove_member(setup.group, setup.other_device, &audit_entry())
        .await
        .unwrap();
    assert_eq!(watch.moved(store).await, SECOND, "device-group membership");
    let record = store.device(setup.device).await.unwrap().unwrap();
    store
        .update_device(
            setup.device,
            record.version,
            &record.content.device,
            &audit_entry(),
        )
        .await
        .unwrap();
    assert_eq!(watch.moved(store).await, FIRST, "device row");
    store
        .update_user(user.id, user.version, &user.content, &audit_entry())
        .await
        .unwrap();
    assert_eq!(watch.moved(store).await, FIRST, "the primary user's row");
    store
        .add_members(user_group, &[user.id], &audit_entry())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(watch.moved(store).await, FIRST, "the primary user's memberships");
    store
        .remove_member(user_group, user.id, &audit_entry())
        .await
        .unwrap();
    assert_eq!(watch.moved(store).await, FIRST, "the primary user leaves a group");

    // The ledger: an issued certificate, a denial, a revocation result.
    store
        .record_issued_certificate(
            &certificate(&setup, setup.device, "0D"),
            &event(EventId::CrpNotifyMetricSuccess, None, None),
        )
        .await
        .unwrap();
    assert_eq!(watch.moved(store).await, FIRST, "issued certificate");
    let queued = store
        .queue_revocations(&RevocationScope::Devices(vec![setup.device]))
        .await
        .unwrap();
    assert_eq!(queued, 0, "the device's profile still reaches it");
    assert_eq!(watch.moved(store).await, NOTHING, "revocations queued for nobody");
    // The other device left the profile's group: a certificate the CA
    // issued meanwhile is queued for revocation as it is recorded.
    let untargeted = store
        .record_notified_certificate(
            &certificate(&setup, setup.other_device, "0E"),
            &event(EventId::CrpNotifyMetricSuccess, None, None),
        )
        .await
        .unwrap();
    assert_eq!(untargeted.revocations_queued, 1);
    assert_eq!(untargeted.certificate.revoke_status, RevokeStatus::Pending);
    assert_eq!(
        watch.moved(store).await,
        SECOND,
        "a certificate of the other device"
    );
    store
        .record_challenges_offered(setup.device, now(), &[(setup.profile, 2)])
        .await
        .unwrap();
    watch.moved(store).await;
    store
        .record_denied_request(
            Some(&FailedRequest {
                profile_version: 2,
                challenge_issued_at: now() + Duration::minutes(1),
                ..failed_request(&setup, "keyTooSmall")
            }),
            &event(
                EventId::CrpVerifyMetricFailure,
                Some(setup.device),
                Some(setup.profile),
            ),
        )
        .await
        .unwrap();
    assert_eq!(watch.moved(store).await, FIRST, "denied request");

    // Policy: every device's facts, no device's own generation.
    store
        .insert_assignment(
            ProfileKind::ScepCertificate,
            setup.profile,
            user_group,
            Intent::Exclude,
            &audit_entry(),
        )
        .await
        .unwrap();
    assert_eq!(watch.moved(store).await, (false, false, true), "assignment");
    let profile = store.scep_profile(setup.profile).await.unwrap().unwrap();
    store
        .update_scep_profile(setup.profile, profile.version, &profile.content, &audit_entry())
        .await
        .unwrap();
    assert_eq!(watch.moved(store).await, (false, false, true), "profile");

    // Deleting the group: its member's memberships go, and its assignments.
    store
        .delete_group(setup.group, None, &audit_entry())
        .await
        .unwrap();
    assert_eq!(watch.moved(store).await, (true, false, true), "group deleted");
    // Deleting the user clears the device's primary user.
    store.delete_user(user.id, None, &audit_entry()).await.unwrap();
    assert_eq!(watch.moved(store).await, FIRST, "primary user deleted");
}

/// A notified certificate changes two of its device's facts in one
/// transaction (the certificate, and the enrollment step it clears). The
/// device's generation moves, and on PostgreSQL by one sequence value: the
/// second change in the same transaction does not move it again. The next
/// transaction moves it again (what a transaction remembers ends with it).
async fn a_notified_certificate_moves_its_devices_generation_once_per_transaction(backend: Backend) {
    let database = TestDatabase::fresh(backend).await;
    let setup = setup(database.connect().await).await;
    let store = &setup.store;
    let mut watch = Watch::new(store, setup.device, setup.other_device).await;
    for serial in ["1A", "1B"] {
        store
            .record_challenges_offered(setup.device, now(), &[(setup.profile, 1)])
            .await
            .unwrap();
        assert_eq!(watch.moved(store).await, (true, false, false), "challengeIssued");
        let before = watch.first.1.device;
        store
            .record_notified_certificate(
                &certificate(&setup, setup.device, serial),
                &event(EventId::CrpNotifyMetricSuccess, None, None),
            )
            .await
            .unwrap();
        let step = store
            .profile_states(setup.profile)
            .await
            .unwrap()
            .into_iter()
            .find(|state| state.device_id == setup.device);
        assert!(step.is_none(), "the certificate cleared the step: {step:?}");
        assert_eq!(
            watch.moved(store).await,
            (true, false, false),
            "certificate {serial}"
        );
        if backend == Backend::Postgres {
            assert_eq!(
                watch.first.1.device - before,
                1,
                "certificate {serial}: one move for the certificate and its step"
            );
        }
    }
}

async fn last_check_in_times_are_written_in_batches_and_never_go_back(store: Arc<dyn Store>) {
    let setup = setup(store).await;
    let store = &setup.store;
    let seen = now();
    let earlier = seen - Duration::minutes(3);
    // More devices than one statement takes.
    let mut batch = vec![(setup.device, seen), (setup.other_device, earlier)];
    batch.extend((0..LAST_CHECK_IN_CHUNK).map(|_| (Uuid::new_v4(), seen)));
    store.record_last_check_ins(&batch).await.unwrap();
    let last = |device: Option<scepter_domain::Record<scepter_storage::StoredDevice>>| {
        device.unwrap().content.last_check_in_at
    };
    assert_eq!(last(store.device(setup.device).await.unwrap()), Some(seen));
    assert_eq!(
        last(store.device(setup.other_device).await.unwrap()),
        Some(earlier)
    );
    let record = store.device(setup.device).await.unwrap().unwrap();
    assert_eq!(record.version, 1, "a check-in is not an admin change");

    // Another instance's older observation does not move a time backwards.
    store
        .record_last_check_ins(&[(setup.device, earlier), (setup.other_device, seen)])
        .await
        .unwrap();
    assert_eq!(last(store.device(setup.device).await.unwrap()), Some(seen));
    assert_eq!(last(store.device(setup.other_device).await.unwrap()), Some(seen));
}

async fn a_transaction_id_stays_bound_to_its_device_profile_and_key(store: Arc<dyn Store>) {
    let setup = setup(store).await;
    let expires = Utc::now() + Duration::hours(1);
    let verified = event(
        EventId::CrpVerifyMetricSuccess,
        Some(setup.device),
        Some(setup.profile),
    );
    let first = transaction(&setup, setup.device, "tx-shared", Uuid::new_v4());
    assert_eq!(
        allow(&setup, &first, expires, &verified).await,
        AllowedRecord::Recorded
    );

    // Another device (its own fresh challenge) under the same id: refused, nothing written.
    let hijack = transaction(&setup, setup.other_device, "tx-shared", Uuid::new_v4());
    assert_eq!(
        allow(&setup, &hijack, expires, &verified).await,
        AllowedRecord::TransactionBound
    );
    assert_eq!(
        setup.store.scep_transaction("tx-shared").await.unwrap().unwrap(),
        first
    );
    // Its challenge was not burnt by the refusal.
    assert!(!setup.store.challenge_used(hijack.challenge_id).await.unwrap());

    // The same device with another key: refused too.
    let other_key = ScepTransaction {
        public_key_sha256: vec![8; 32],
        challenge_id: Uuid::new_v4(),
        ..first.clone()
    };
    assert_eq!(
        allow(&setup, &other_key, expires, &verified).await,
        AllowedRecord::TransactionBound
    );

    // The same device, profile and key with a new challenge (a retry after a profile edit): rebound.
    let retry = ScepTransaction {
        challenge_id: Uuid::new_v4(),
        profile_version: 2,
        ..first.clone()
    };
    assert_eq!(
        allow(&setup, &retry, expires, &verified).await,
        AllowedRecord::Recorded
    );
    let stored = setup.store.scep_transaction("tx-shared").await.unwrap().unwrap();
    assert_eq!((stored.device_id, stored.profile_version), (setup.device, 2));
    let events = setup
        .store
        .list_events(EventFilter::default(), PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(events.items.len(), 2, "only the recorded requests wrote events");
}

async fn a_denial_never_downgrades_a_device_that_enrolled_since(store: Arc<dyn Store>) {
    let setup = setup(store).await;
    let denied = NewEvent {
        diagnostic: DiagnosticCode::CrpScepDeserializeFailed,
        ..event(
            EventId::CrpVerifyMetricFailure,
            Some(setup.device),
            Some(setup.profile),
        )
    };
    setup
        .store
        .record_challenges_offered(setup.device, now(), &[(setup.profile, 1)])
        .await
        .unwrap();
    let issued = certificate(&setup, setup.device, "0A");
    setup
        .store
        .record_issued_certificate(&issued, &event(EventId::CrpNotifyMetricSuccess, None, None))
        .await
        .unwrap();

    // A stale request, its challenge issued before the certificate: the event only.
    let stale = FailedRequest {
        challenge_issued_at: issued.issued_at - Duration::minutes(5),
        ..failed_request(&setup, "subjectMismatch")
    };
    setup
        .store
        .record_denied_request(Some(&stale), &denied)
        .await
        .unwrap();
    // The certificate ended the challengeIssued step; the stale denial adds no failed one.
    assert_eq!(setup.store.profile_states(setup.profile).await.unwrap(), []);

    // A state for a newer profile version is not overwritten by an older denial either.
    setup
        .store
        .record_challenges_offered(setup.device, now(), &[(setup.profile, 3)])
        .await
        .unwrap();
    let older = FailedRequest {
        profile_version: 2,
        challenge_issued_at: now() + Duration::minutes(1),
        ..failed_request(&setup, "subjectMismatch")
    };
    setup
        .store
        .record_denied_request(Some(&older), &denied)
        .await
        .unwrap();
    let states = setup.store.profile_states(setup.profile).await.unwrap();
    assert_eq!(
        (states[0].step, states[0].profile_version),
        (EnrollmentStep::ChallengeIssued, 3)
    );

    // A denial of a request for the current version after the certificate counts.
    let current = FailedRequest {
        profile_version: 3,
        challenge_issued_at: now() + Duration::minutes(1),
        ..failed_request(&setup, "subjectMismatch")
    };
    setup
        .store
        .record_denied_request(Some(&current), &denied)
        .await
        .unwrap();
    let states = setup.store.profile_states(setup.profile).await.unwrap();
    assert_eq!(
        states[0].step,
        EnrollmentStep::Failed(DiagnosticCode::CrpScepDeserializeFailed)
    );
    let events = setup
        .store
        .list_events(EventFilter::default(), PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(events.items.len(), 4, "every denial is an event");
}

async fn used_challenges_can_be_looked_up_before_anything_is_written(store: Arc<dyn Store>) {
    let setup = setup(store).await;
    let request = transaction(&setup, setup.device, "tx-lookup", Uuid::new_v4());
    assert!(!setup.store.challenge_used(request.challenge_id).await.unwrap());
    allow(
        &setup,
        &request,
        Utc::now() + Duration::hours(1),
        &event(EventId::CrpVerifyMetricSuccess, None, None),
    )
    .await;
    assert!(setup.store.challenge_used(request.challenge_id).await.unwrap());
}

// ------------------------------------------------------------------ enrollment timeline

fn offer(setup: &Setup, device: Uuid, minutes_ago: i64) -> PayloadOffer {
    let offered_at = now() - Duration::minutes(minutes_ago);
    PayloadOffer {
        device_id: device,
        profile_id: setup.profile,
        profile_version: 1,
        scep_server_urls: vec![
            "https://scep.example/a".to_owned(),
            "https://scep.example/b".to_owned(),
        ],
        challenge_expires_at: offered_at + Duration::hours(1),
        offered_at,
    }
}

async fn payload_offers_read_back_newest_first_per_device_and_profile_and_purge(store: Arc<dyn Store>) {
    let setup = setup(store).await;
    let offers: Vec<PayloadOffer> = [30, 20, 10].map(|ago| offer(&setup, setup.device, ago)).into();
    setup.store.record_payload_offers(&offers).await.unwrap();
    setup
        .store
        .record_payload_offers(&[offer(&setup, setup.other_device, 5)])
        .await
        .unwrap();

    let all = setup
        .store
        .enrollment_history(setup.device, Some(setup.profile), 10)
        .await
        .unwrap();
    assert_eq!(all.offers, offers, "oldest first, as written");
    let newest_two = setup
        .store
        .enrollment_history(setup.device, None, 2)
        .await
        .unwrap();
    assert_eq!(newest_two.offers, offers[1..]);
    let other_profile = setup
        .store
        .enrollment_history(setup.device, Some(Uuid::new_v4()), 10)
        .await
        .unwrap();
    assert!(other_profile.offers.is_empty());

    let purged = setup
        .store
        .purge_payload_offers(now() - Duration::minutes(15), 1)
        .await
        .unwrap();
    assert_eq!(purged, 1, "one bounded batch");
    setup
        .store
        .purge_payload_offers(now() - Duration::minutes(15), 10)
        .await
        .unwrap();
    let left = setup
        .store
        .enrollment_history(setup.device, None, 10)
        .await
        .unwrap();
    assert_eq!(left.offers, offers[2..]);
}

async fn a_certificate_is_marked_reported_once(store: Arc<dyn Store>) {
    let setup = setup(store).await;
    let issued = certificate(&setup, setup.device, "0A");
    setup
        .store
        .record_issued_certificate(&issued, &event(EventId::CrpNotifyMetricSuccess, None, None))
        .await
        .unwrap();
    let first = now();

    setup
        .store
        .record_certificates_reported(&[issued.id], first)
        .await
        .unwrap();
    setup
        .store
        .record_certificates_reported(&[issued.id], first + Duration::hours(1))
        .await
        .unwrap();

    let stored = setup.store.device_certificates(setup.device).await.unwrap();
    assert_eq!(stored[0].reported_at, Some(first), "the first report stays");
}

async fn profile_updates_record_each_new_version(store: Arc<dyn Store>) {
    let setup = setup(store).await;
    let current = setup.store.scep_profile(setup.profile).await.unwrap().unwrap();
    assert!(setup
        .store
        .profile_versions(setup.profile, 10)
        .await
        .unwrap()
        .is_empty());

    let second = setup
        .store
        .update_scep_profile(setup.profile, 1, &current.content, &audit_entry())
        .await
        .unwrap();
    setup
        .store
        .update_scep_profile(setup.profile, 2, &current.content, &audit_entry())
        .await
        .unwrap();

    let versions = setup.store.profile_versions(setup.profile, 10).await.unwrap();
    assert_eq!(
        versions.iter().map(|change| change.version).collect::<Vec<_>>(),
        [2, 3]
    );
    assert_eq!(versions[0].changed_at, second.modified_at);
    let newest = setup.store.profile_versions(setup.profile, 1).await.unwrap();
    assert_eq!(newest[0].version, 3);
}

async fn the_timeline_reads_the_events_of_one_device(store: Arc<dyn Store>) {
    let setup = setup(store).await;
    for (device, profile) in [
        (Some(setup.device), Some(setup.profile)),
        (Some(setup.device), Some(Uuid::new_v4())),
        (Some(setup.other_device), Some(setup.profile)),
        (None, None),
    ] {
        setup
            .store
            .record_event(&event(EventId::CrpVerifyMetricSuccess, device, profile))
            .await
            .unwrap();
    }

    let of_profile = setup
        .store
        .enrollment_history(setup.device, Some(setup.profile), 10)
        .await
        .unwrap();
    let of_device = setup
        .store
        .enrollment_history(setup.device, None, 10)
        .await
        .unwrap();

    assert_eq!(of_profile.events.len(), 1);
    assert_eq!(of_profile.events[0].profile_id, Some(setup.profile));
    assert_eq!(of_device.events.len(), 2);
    assert!(of_device.events[0].id < of_device.events[1].id, "oldest first");
}

async fn report_snapshots_keep_the_newest_and_one_refresher_claims_at_a_time(store: Arc<dyn Store>) {
    const NAME: &str = "certificate-health";
    let t0 = now();
    let at = |seconds: i64| t0 + Duration::seconds(seconds);
    let lease = |from: i64| (at(from), at(from + 300));
    assert_eq!(store.report_snapshot(NAME).await.unwrap(), None);

    // Nothing stored: the first claim wins, a second is refused while the lease runs.
    let (now_, until) = lease(0);
    assert!(store
        .claim_report_refresh(NAME, at(-60), now_, until)
        .await
        .unwrap());
    assert!(!store
        .claim_report_refresh(NAME, at(-60), now_, until)
        .await
        .unwrap());
    // A claim alone is no snapshot.
    assert_eq!(store.report_snapshot(NAME).await.unwrap(), None);

    let snapshot = |seconds: i64, body: &str| ReportSnapshot {
        generated_at: at(seconds),
        body: body.to_owned(),
    };
    assert!(store
        .save_report_snapshot(NAME, &snapshot(1, "{\"n\":1}"))
        .await
        .unwrap());
    assert_eq!(
        store.report_snapshot(NAME).await.unwrap(),
        Some(snapshot(1, "{\"n\":1}"))
    );
    // An older result (a slower computation finishing later) does not replace it.
    assert!(!store
        .save_report_snapshot(NAME, &snapshot(0, "{\"n\":0}"))
        .await
        .unwrap());
    assert_eq!(
        store.report_snapshot(NAME).await.unwrap(),
        Some(snapshot(1, "{\"n\":1}"))
    );

    // Saving released the lease; a snapshot newer than `stale_before` needs no refresh.
    let (now_, until) = lease(2);
    assert!(!store
        .claim_report_refresh(NAME, at(0), now_, until)
        .await
        .unwrap());
    // Once it is stale, one claim wins...
    assert!(store
        .claim_report_refresh(NAME, at(5), now_, until)
        .await
        .unwrap());
    assert!(!store
        .claim_report_refresh(NAME, at(5), now_, until)
        .await
        .unwrap());
    // ...until its lease runs out (a refresher that died).
    let (later, later_until) = lease(303);
    assert!(store
        .claim_report_refresh(NAME, at(5), later, later_until)
        .await
        .unwrap());
    // The snapshot is still the stored one, and other names are apart.
    assert_eq!(
        store.report_snapshot(NAME).await.unwrap(),
        Some(snapshot(1, "{\"n\":1}"))
    );
    assert_eq!(store.report_snapshot("other").await.unwrap(), None);
}
