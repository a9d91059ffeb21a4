//! The periodic sweep against a running app: what it purges is gone from the
//! API, what may still be needed stays, and a purge never lets a challenge
//! verify twice. The sweep runs with `now` moved forward, as the clock of a
//! later day — or of another instance whose clock runs ahead — would have it.

use crate::helpers::{enrollment::*, *};
use chrono::{Duration, Utc};
use scepter_api::service::sweep::sweep_once;
use scepter_blackbox_tests::{backend_tests, Backend, TestOptions};
use scepter_domain::retention::RetentionPolicy;

const RETENTION: RetentionPolicy = RetentionPolicy {
    retention_days: 90,
    challenge_lifetime_secs: 3600,
};

async fn the_sweep_purges_notified_requests_after_a_week_and_the_rest_after_the_retention(backend: Backend) {
    let s = scenario(backend).await;
    let store = s.app.database.connect().await;
    // One request notified, one allowed but never notified.
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    let csr = enrollment.csr().generate();
    let notified = transaction();
    assert_allowed(&verify(&s.app, &notified, &csr.pem, None).await);
    let issued = s.ca.issue(&csr.pem, -60, 365 * DAY);
    assert_eq!(notify(&s.app, &notified, &issued.pem).await.status(), 201);
    let other = fresh_enrollment(&s, &s.other_credential).await;
    let abandoned = transaction();
    assert_allowed(&verify(&s.app, &abandoned, &other.csr().generate().pem, None).await);
    let logged = events(&s.app, "").await;

    let week = sweep_once(store.as_ref(), RETENTION, Utc::now() + Duration::days(8)).await;

    assert_eq!(week.purged_transactions, 1);
    assert_eq!(week.purged_events, 0);
    assert!(store.scep_transaction(&notified).await.unwrap().is_none());
    assert!(store.scep_transaction(&abandoned).await.unwrap().is_some());
    assert_eq!(events(&s.app, "").await, logged);
    // The ledger keeps the certificate.
    let certificates = read(&s.app, &format!("/api/v1/devices/{}/certificates", s.device)).await;
    assert_eq!(certificates["items"][0]["serialNumber"], issued.serial_hex);

    let quarter = sweep_once(store.as_ref(), RETENTION, Utc::now() + Duration::days(91)).await;

    assert_eq!(quarter.purged_transactions, 1);
    assert_eq!(quarter.purged_events, logged.len() as u64);
    assert!(store.scep_transaction(&abandoned).await.unwrap().is_none());
    assert!(events(&s.app, "").await.is_empty());
}

async fn a_challenge_stays_single_use_when_a_sweeping_instance_runs_ahead(backend: Backend) {
    let s = scenario_with(
        backend,
        TestOptions {
            challenge_lifetime_secs: 60,
            ..TestOptions::default()
        },
    )
    .await;
    let store = s.app.database.connect().await;
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    let csr = enrollment.csr().generate();
    assert_allowed(&verify(&s.app, &transaction(), &csr.pem, None).await);

    // By this instance's clock — two minutes ahead — the challenge has expired.
    let policy = RetentionPolicy {
        challenge_lifetime_secs: 60,
        ..RETENTION
    };
    let report = sweep_once(store.as_ref(), policy, Utc::now() + Duration::minutes(2)).await;

    // By the verifying instance's clock it has not: its id must still be known.
    let replay = verify(&s.app, &transaction(), &csr.pem, None).await;
    assert_denied(&replay, "challengeReplayed", "0x00000411");
    assert_eq!(report.purged_used_challenges, 0);
}

backend_tests!(
    the_sweep_purges_notified_requests_after_a_week_and_the_rest_after_the_retention,
    a_challenge_stays_single_use_when_a_sweeping_instance_runs_ahead,
);
