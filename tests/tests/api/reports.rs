//! `GET /api/v1/reports/certificate-health` over HTTP: the fleet's
//! enrollment states (each profile's equal to its device-status summary),
//! certificate expiry, failures by diagnostic code, and the same totals as
//! gauges on `/metrics`; served from the latest snapshot while it is young
//! enough (`maxAgeSeconds`).

use crate::helpers::{enrollment::*, *};
use reqwest::Method;
use scepter_blackbox_tests::{backend_tests, problem, Backend};
use serde_json::json;

const REPORT: &str = "/api/v1/reports/certificate-health";

const FRESH_REPORT: &str = "/api/v1/reports/certificate-health?maxAgeSeconds=0";

backend_tests!(
    the_report_adds_up_each_profiles_device_statuses_and_expiry,
    the_report_is_for_admins_and_readers,
    a_young_snapshot_is_served_until_a_fresher_report_is_asked_for,
    the_report_age_must_be_a_whole_number_of_seconds,
);

async fn the_report_adds_up_each_profiles_device_statuses_and_expiry(backend: Backend) {
    let s = scenario(backend).await;
    // One device holds a certificate that runs out in 5 days; the other was offered a challenge.
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    enroll(&s, &enrollment, (-60, 5 * DAY)).await;
    check_in(&s.app, &s.other_credential, &nothing_installed()).await;

    let report = read(&s.app, REPORT).await;
    let expected = json!({
        "targetedDevices": 2, "succeeded": 1, "pending": 0, "challengeIssued": 1, "failed": 0,
        "renewalDue": 0, "revocationPending": 0, "revoked": 0,
        "certificatesExpiringWithin7Days": 1, "certificatesExpiringWithin30Days": 1,
        "certificatesExpiredStillInUse": 0,
    });
    assert_eq!(report["totals"], expected, "{report}");
    let profiles = report["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 1);
    let profile = &profiles[0];
    assert_eq!(profile["profileId"], s.profile.as_str());
    assert_eq!(profile["platform"], "android");
    // The profile's figures are its device-status summary.
    let statuses = read(&s.app, &format!("{SCEP}/{}/device-statuses", s.profile)).await;
    for (state, count) in statuses["summary"].as_object().unwrap() {
        assert_eq!(&profile[state], count, "{state}");
    }
    assert!(report["failuresByDiagnosticCode"].as_array().unwrap().is_empty());

    // Excluding the enrolled device: it leaves the targeted devices, its
    // certificate awaits revocation and stops counting as expiring.
    let lost = id_of(
        &create(
            &s.app,
            "/api/v1/groups",
            &json!({"displayName": "Lost", "groupType": "device"}),
        )
        .await,
    );
    expect_json(
        s.app
            .post(
                &format!("/api/v1/groups/{lost}/members"),
                &json!({"memberIds": [s.device]}),
            )
            .await,
        200,
    )
    .await;
    assign_exclusion(&s, &lost).await;
    let report = read(&s.app, FRESH_REPORT).await;
    let totals = &report["totals"];
    assert_eq!(
        (
            totals["targetedDevices"].as_u64(),
            totals["revocationPending"].as_u64()
        ),
        (Some(1), Some(1)),
        "{report}"
    );
    assert_eq!(
        totals["certificatesExpiringWithin7Days"], 0,
        "a queued certificate is no longer counted"
    );

    // The report also set the gauges.
    let metrics = s
        .app
        .reader(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "scepter_certificate_health_devices{state=\"targeted\"} 1",
        "scepter_certificate_health_devices{state=\"revocationPending\"} 1",
        "scepter_certificate_health_devices{state=\"challengeIssued\"} 1",
        "scepter_certificate_health_certificates{window=\"expiring_7d\"} 0",
    ] {
        assert!(
            metrics.lines().any(|metric| metric == line),
            "{line} in\n{metrics}"
        );
    }
}

async fn assign_exclusion(s: &Scenario, group: &str) {
    let body = json!({"groupId": group, "intent": "exclude"});
    expect_json(
        s.app
            .post(&format!("{SCEP}/{}/assignments", s.profile), &body)
            .await,
        201,
    )
    .await;
}

async fn the_report_is_for_admins_and_readers(backend: Backend) {
    let s = scenario(backend).await;
    assert_eq!(
        s.app.reader(Method::GET, REPORT).send().await.unwrap().status(),
        200
    );
    problem(s.app.anonymous(Method::GET, REPORT).send().await.unwrap(), 401).await;
    let as_device = s
        .app
        .anonymous(Method::GET, REPORT)
        .bearer_auth(&s.credential)
        .send()
        .await
        .unwrap();
    problem(as_device, 401).await;
    let as_connector = s
        .app
        .anonymous(Method::GET, REPORT)
        .bearer_auth(scepter_blackbox_tests::TestApp::connector_token())
        .send()
        .await
        .unwrap();
    problem(as_connector, 403).await;
}

async fn a_young_snapshot_is_served_until_a_fresher_report_is_asked_for(backend: Backend) {
    let s = scenario(backend).await;
    let before = read(&s.app, REPORT).await;
    assert_eq!(before["totals"]["challengeIssued"], 0, "{before}");
    check_in(&s.app, &s.other_credential, &nothing_installed()).await;

    // Within the default minute: the stored figures, with the time they were true.
    let served = read(&s.app, REPORT).await;
    assert_eq!(served, before, "the snapshot, unchanged");
    let generated = |report: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(report["generatedDateTime"].as_str().unwrap()).unwrap()
    };
    // Asking for a report at most an hour old still takes the snapshot.
    assert_eq!(
        read(&s.app, &format!("{REPORT}?maxAgeSeconds=3600")).await,
        before
    );

    // `maxAgeSeconds=0` computes it now, and stores it for the next readers.
    let fresh = read(&s.app, FRESH_REPORT).await;
    assert_eq!(fresh["totals"]["challengeIssued"], 1, "{fresh}");
    assert!(generated(&fresh) > generated(&before));
    assert_eq!(read(&s.app, REPORT).await, fresh);
}

async fn the_report_age_must_be_a_whole_number_of_seconds(backend: Backend) {
    let s = scenario(backend).await;
    for age in ["-1", "soon", "1.5"] {
        let response = s.app.get(&format!("{REPORT}?maxAgeSeconds={age}")).await;
        let body = problem(response, 400).await;
        assert!(
            body.to_string().contains("maxAgeSeconds"),
            "{age}: names the parameter: {body}"
        );
    }
}
