//! The enrollment loop over HTTP with real cryptography: a device checks in
//! and gets a payload with a challenge, a CSR built from that payload (with
//! openssl) is verified at `/connector/v1/scep/verify`, a test CA issues the
//! certificate, `/connector/v1/scep/notify` records it, and renewal,
//! revocation, events and device statuses follow from the ledger.

use std::time::Duration;

use crate::helpers::{enrollment::*, *};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use hmac::{Hmac, Mac};
use reqwest::{header, Method, Response};
use scepter_blackbox_tests::{
    backend_tests,
    pki::{tamper_signature, CsrSpec, KeySpec, NameAttribute, San, TestCa},
    problem, Backend, TestApp, TestOptions, TEST_STEP_CA_SECRET,
};
use serde_json::{json, Value};
use sha2::Sha256;

// ------------------------------------------------------------------ the happy path

async fn a_device_enrolls_and_then_checks_in_idle(backend: Backend) {
    let s = scenario(backend).await;
    let first = check_in(&s.app, &s.credential, &nothing_installed()).await;
    let items = first["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{first}");
    let root_item = items
        .iter()
        .find(|item| item["profileType"] == "trustedCertificate")
        .expect("root");
    assert_eq!(root_item["action"], "install");
    assert_eq!(root_item["reason"], "notInstalled");
    let scep = item(&first, &s.profile);
    assert_eq!(scep["profileType"], "scepCertificate");
    assert_eq!(
        (scep["state"].as_str(), scep["reason"].as_str()),
        (Some("applicable"), Some("notInstalled"))
    );
    let enrollment = enrollment_of(scep);
    assert_eq!(
        enrollment.subject,
        vec![
            vec![NameAttribute::new("2.5.4.3", "pixel-jane")],
            vec![NameAttribute::new("2.5.4.10", "Contoso")]
        ]
    );
    assert_eq!(enrollment.sans, vec![San::Upn("jane@contoso.com".to_owned())]);

    let statuses = read(&s.app, &format!("{SCEP}/{}/device-statuses", s.profile)).await;
    assert_eq!(statuses["summary"]["challengeIssued"], 1, "{statuses}");
    assert_eq!(statuses["summary"]["pending"], 1, "{statuses}");

    let (_, issued) = enroll(&s, &enrollment, (-60, 365 * DAY)).await;

    let certificates = read(&s.app, &format!("{DEVICES}/{}/certificates", s.device)).await;
    let listed = &certificates["items"][0];
    assert_eq!(listed["serialNumber"], issued.serial_hex);
    assert_eq!(listed["thumbprintSha1"], issued.thumbprint_sha1_hex);
    assert_eq!(listed["issuer"], "CN=Scepter Test Issuing CA");
    assert_eq!(listed["subject"], "O=Contoso,CN=pixel-jane");
    assert_eq!(listed["certificateRevokeStatus"], "none");
    assert_eq!(listed["profileId"], s.profile);

    let statuses = read(&s.app, &format!("{SCEP}/{}/device-statuses", s.profile)).await;
    assert_eq!(statuses["summary"]["succeeded"], 1, "{statuses}");
    let mine = statuses["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["deviceId"] == s.device)
        .unwrap();
    assert_eq!(mine["state"], "succeeded");
    assert_eq!(mine["deviceName"], "pixel-jane");

    let logged = events(&s.app, &format!("deviceId={}", s.device)).await;
    assert_eq!(event_ids(&logged), vec![20500, 20600], "{logged:?}");
    assert_eq!(logged[0]["eventName"], "CRPVerifyMetric_Success");
    assert_eq!(logged[1]["eventName"], "CRPNotifyMetric_Success");

    // The device now reports what it installed: nothing to do.
    let root_id = root_item["profileId"].as_str().unwrap();
    let installed = json!({
        "installedProfiles": [
            { "profileId": root_id, "version": root_item["version"] },
            { "profileId": s.profile, "version": scep["version"] },
        ],
        "installedCertificates": [{
            "profileId": s.profile,
            "thumbprintSha1": issued.thumbprint_sha1_hex.to_lowercase(),
            "notBefore": issued.not_before,
            "notAfter": issued.not_after,
        }],
    });
    let response = check_in_raw(&s.app, &s.credential, &installed, None).await;
    assert_eq!(response.status(), 200);
    let tag = etag(&response);
    let idle: Value = response.json().await.unwrap();
    for item in idle["items"].as_array().unwrap() {
        assert_eq!(
            (item["action"].as_str(), item["reason"].as_str()),
            (Some("none"), Some("upToDate")),
            "{idle}"
        );
        assert!(item.get("payload").is_none(), "{idle}");
    }
    let unchanged = check_in_raw(&s.app, &s.credential, &installed, Some(&tag)).await;
    assert_eq!(unchanged.status(), 304);
    assert_eq!(etag(&unchanged), tag);
    assert!(unchanged.bytes().await.unwrap().is_empty());

    // Any change to what the response depends on changes the tag.
    let last = last_check_in_written(&s.app, &s.device).await;
    assert!(last.is_string(), "written behind the check-in: {last}");
    let device = read(&s.app, &format!("{DEVICES}/{}", s.device)).await;
    let renamed = with(
        json!({ "deviceName": "pixel-jane-2", "platform": "android", "userId": device["userId"] }),
        json!({}),
    );
    let response = s
        .app
        .put(
            &format!("{DEVICES}/{}", s.device),
            device["version"].as_i64().unwrap(),
            &renamed,
        )
        .await;
    assert_eq!(response.status(), 200);
    let changed = check_in_raw(&s.app, &s.credential, &installed, Some(&tag)).await;
    assert_eq!(changed.status(), 200);
    assert_ne!(etag(&changed), tag);
}

/// A device that sends the same report again is answered from memory, but
/// only while the answer would not change: a report with other bytes is
/// decided again (to the same tag), and the remembered answer gives way the
/// moment the reported certificate falls due for renewal.
async fn a_remembered_answer_gives_way_when_renewal_falls_due(backend: Backend) {
    let s = scenario(backend).await;
    let offered = check_in(&s.app, &s.credential, &nothing_installed()).await;
    let installed: Vec<Value> = offered["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["action"] == "install")
        .map(|item| json!({ "profileId": item["profileId"], "version": item["version"] }))
        .collect();
    // The profile renews at 20 %: of 1,000 s of validity, due once fewer
    // than 201 whole seconds are left, i.e. `margin` seconds from `start`.
    let margin = 8;
    let start = chrono::Utc::now().timestamp();
    let stamp = |seconds: i64| {
        chrono::DateTime::from_timestamp(seconds, 0)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let report = json!({
        "installedProfiles": installed,
        "installedCertificates": [{
            "profileId": s.profile,
            "thumbprintSha1": "AB".repeat(20),
            "notBefore": stamp(start + margin + 201 - 1_000),
            "notAfter": stamp(start + margin + 201),
        }],
    });
    let first = check_in_raw(&s.app, &s.credential, &report, None).await;
    assert_eq!(first.status(), 200);
    let tag = etag(&first);
    let first: Value = first.json().await.unwrap();
    assert_eq!(item(&first, &s.profile)["action"], "none", "{first}");
    for _ in 0..2 {
        let again = check_in_raw(&s.app, &s.credential, &report, Some(&tag)).await;
        assert_eq!(again.status(), 304);
        assert_eq!(etag(&again), tag);
    }
    let spaced = s
        .app
        .anonymous(Method::POST, CHECKIN)
        .bearer_auth(&s.credential)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::IF_NONE_MATCH, &tag)
        .body(serde_json::to_string_pretty(&report).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(spaced.status(), 304, "the same report in other bytes");
    assert!(
        chrono::Utc::now().timestamp() < start + margin,
        "the check-ins above took longer than the margin"
    );

    let wait = start + margin + 1 - chrono::Utc::now().timestamp();
    tokio::time::sleep(Duration::from_secs(u64::try_from(wait).unwrap_or(0))).await;
    let due = check_in_raw(&s.app, &s.credential, &report, Some(&tag)).await;
    assert_eq!(
        due.status(),
        200,
        "renewal fell due: the remembered answer no longer holds"
    );
    assert_ne!(etag(&due), tag);
    let due: Value = due.json().await.unwrap();
    let scep = item(&due, &s.profile);
    assert_eq!(
        (scep["action"].as_str(), scep["reason"].as_str()),
        (Some("renew"), Some("renewalDue")),
        "{due}"
    );
}

async fn a_device_gets_only_its_own_payloads(backend: Backend) {
    let s = scenario(backend).await;
    let mine = fresh_enrollment(&s, &s.credential).await;
    let theirs = fresh_enrollment(&s, &s.other_credential).await;
    assert_eq!(mine.subject[0][0].value, "pixel-jane");
    assert_eq!(theirs.subject[0][0].value, "pixel-other");
    // Another device's challenge with this device's name is refused.
    let csr = CsrSpec {
        challenge_password: Some(theirs.challenge.clone()),
        ..mine.csr()
    }
    .generate();
    assert_denied(
        &verify(&s.app, &transaction(), &csr.pem, None).await,
        "subjectMismatch",
        "0x00000410",
    );
    // Without a credential, or with a revoked one, there is no check-in.
    problem(
        check_in_raw(&s.app, "scd_bogus", &nothing_installed(), None).await,
        401,
    )
    .await;
    let revoked = s
        .app
        .admin(
            Method::DELETE,
            &format!("{DEVICES}/{}/credentials", s.other_device),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    problem(
        check_in_raw(&s.app, &s.other_credential, &nothing_installed(), None).await,
        401,
    )
    .await;
}

// ------------------------------------------------------------------ denials

async fn a_challenge_is_single_use(backend: Backend) {
    let s = scenario(backend).await;
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    let csr = enrollment.csr().generate();
    assert_allowed(&verify(&s.app, &transaction(), &csr.pem, None).await);
    let replay = verify(&s.app, &transaction(), &csr.pem, None).await;
    assert_denied(&replay, "challengeReplayed", "0x00000411");
    let another_key = enrollment.csr().generate();
    assert_denied(
        &verify(&s.app, &transaction(), &another_key.pem, None).await,
        "challengeReplayed",
        "0x00000411",
    );
    let warnings = events(&s.app, "eventId=20501").await;
    assert_eq!(warnings.len(), 2);
    assert_eq!(warnings[0]["diagnosticCode"], "0x00000411");
    assert_eq!(warnings[0]["deviceId"], s.device);
    assert!(warnings[0]["message"]
        .as_str()
        .unwrap()
        .contains("challengeReplayed"));
    assert!(
        !warnings[0]["message"]
            .as_str()
            .unwrap()
            .contains(&enrollment.challenge),
        "no secrets in events"
    );
}

async fn expired_challenges_are_refused(backend: Backend) {
    let s = scenario_with(
        backend,
        TestOptions {
            challenge_lifetime_secs: 1,
            ..TestOptions::default()
        },
    )
    .await;
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let verdict = verify(&s.app, &transaction(), &enrollment.csr().generate().pem, None).await;
    assert_denied(&verdict, "challengeExpired", "0x00000411");
    assert_eq!(event_ids(&events(&s.app, "").await), vec![20501]);
}

async fn forged_missing_or_garbage_challenges_are_refused(backend: Backend) {
    let s = scenario(backend).await;
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    let mut forged = enrollment.challenge.clone().into_bytes();
    forged[10] = if forged[10] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let csr = CsrSpec {
        challenge_password: Some(forged.clone()),
        ..enrollment.csr()
    }
    .generate();
    assert_denied(
        &verify(&s.app, &transaction(), &csr.pem, None).await,
        "challengeInvalid",
        "0x00000410",
    );
    // An explicit challenge field takes precedence over the CSR's.
    assert_denied(
        &verify(
            &s.app,
            &transaction(),
            &enrollment.csr().generate().pem,
            Some("not-a-challenge"),
        )
        .await,
        "challengeInvalid",
        "0x00000410",
    );
    let without = CsrSpec {
        challenge_password: None,
        ..enrollment.csr()
    }
    .generate();
    assert_denied(
        &verify(&s.app, &transaction(), &without.pem, None).await,
        "challengeMissing",
        "0x00000410",
    );
    // None of that used the real challenge up.
    assert_allowed(&verify(&s.app, &transaction(), &enrollment.csr().generate().pem, None).await);
    let failures = events(&s.app, "eventId=20502").await;
    assert_eq!(failures.len(), 3);
    assert!(failures
        .iter()
        .all(|event| event["diagnosticCode"] == "0x00000410"));
}

async fn requests_must_carry_exactly_the_rendered_name_and_key(backend: Backend) {
    let s = scenario(backend).await;
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    let tampered_subject = CsrSpec {
        subject: vec![
            vec![NameAttribute::new("CN", "pixel-jane")],
            vec![NameAttribute::new("O", "Contoso Admins")],
        ],
        ..enrollment.csr()
    };
    assert_denied(
        &verify(&s.app, &transaction(), &tampered_subject.generate().pem, None).await,
        "subjectMismatch",
        "0x00000410",
    );
    let reordered = CsrSpec {
        subject: enrollment.subject.iter().rev().cloned().collect(),
        ..enrollment.csr()
    };
    assert_denied(
        &verify(&s.app, &transaction(), &reordered.generate().pem, None).await,
        "subjectMismatch",
        "0x00000410",
    );
    let tampered_san = CsrSpec {
        sans: vec![San::Upn("admin@contoso.com".to_owned())],
        ..enrollment.csr()
    };
    assert_denied(
        &verify(&s.app, &transaction(), &tampered_san.generate().pem, None).await,
        "sanMismatch",
        "0x00000410",
    );
    let extra_san = CsrSpec {
        sans: vec![
            San::Upn("jane@contoso.com".to_owned()),
            San::Dns("evil.example".to_owned()),
        ],
        ..enrollment.csr()
    };
    assert_denied(
        &verify(&s.app, &transaction(), &extra_san.generate().pem, None).await,
        "sanMismatch",
        "0x00000410",
    );
    let small_key = CsrSpec {
        key: KeySpec::Rsa(1024),
        ..enrollment.csr()
    };
    assert_denied(
        &verify(&s.app, &transaction(), &small_key.generate().pem, None).await,
        "keyTooSmall",
        "0x00000410",
    );
    let bad_signature = STANDARD.encode(tamper_signature(&enrollment.csr().generate().der));
    assert_denied(
        &verify(
            &s.app,
            &transaction(),
            &bad_signature,
            Some(&enrollment.challenge),
        )
        .await,
        "csrInvalid",
        "0x00000410",
    );
    let statuses = read(
        &s.app,
        &format!("{SCEP}/{}/device-statuses?state=failed", s.profile),
    )
    .await;
    let failed = &statuses["items"][0];
    assert_eq!(failed["deviceId"], s.device, "{statuses}");
    assert_eq!(failed["reason"], "csrInvalid");
    assert_eq!(failed["diagnosticCode"], "0x00000410");
    assert_eq!(failed["diagnosticName"], "CRPSCEPDeserialize_Failed");
    // A 4096-bit key exceeds the profile's 2048 and is fine; the challenge was never burnt.
    let big_key = CsrSpec {
        key: KeySpec::Rsa(4096),
        ..enrollment.csr()
    };
    assert_allowed(&verify(&s.app, &transaction(), &big_key.generate().pem, None).await);
}

async fn a_profile_unassigned_or_changed_meanwhile_is_refused(backend: Backend) {
    let s = scenario(backend).await;
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    let other = fresh_enrollment(&s, &s.other_credential).await;
    // The device leaves the group between check-in and enrollment.
    let removed = s
        .app
        .delete(&format!("{GROUPS}/{}/members/{}", s.group, s.device))
        .await;
    assert_eq!(removed.status(), 204);
    assert_denied(
        &verify(&s.app, &transaction(), &enrollment.csr().generate().pem, None).await,
        "notAssigned",
        "0x00000411",
    );
    // The profile changes: the other device's challenge names the old version.
    let profile = read(&s.app, &format!("{SCEP}/{}", s.profile)).await;
    let mut body = profile.clone();
    for key in [
        "id",
        "version",
        "createdDateTime",
        "lastModifiedDateTime",
        "warnings",
    ] {
        body.as_object_mut().unwrap().remove(key);
    }
    body["renewalThresholdPercentage"] = json!(30);
    let updated = s
        .app
        .put(
            &format!("{SCEP}/{}", s.profile),
            profile["version"].as_i64().unwrap(),
            &body,
        )
        .await;
    assert_eq!(updated.status(), 200, "{}", updated.text().await.unwrap());
    assert_denied(
        &verify(&s.app, &transaction(), &other.csr().generate().pem, None).await,
        "profileChanged",
        "0x00000411",
    );
    // A fresh check-in brings a challenge for the new version.
    let fresh = fresh_enrollment(&s, &s.other_credential).await;
    assert_allowed(&verify(&s.app, &transaction(), &fresh.csr().generate().pem, None).await);
}

// ------------------------------------------------------------------ notify

async fn notifications_must_match_the_verified_request(backend: Backend) {
    let s = scenario(backend).await;
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    let csr = enrollment.csr().generate();
    let transaction_id = transaction();
    assert_allowed(&verify(&s.app, &transaction_id, &csr.pem, None).await);

    let issued = s.ca.issue(&csr.pem, -60, 30 * DAY);
    let unknown = problem(notify(&s.app, "no-such-transaction", &issued.pem).await, 422).await;
    assert_eq!(rules_for(&unknown, "transactionId"), vec!["verified"]);
    // A certificate for another key (same subject and SANs) is not this request's.
    let impostor = s.ca.issue(&enrollment.csr().generate().pem, -60, 30 * DAY);
    let mismatch = problem(notify(&s.app, &transaction_id, &impostor.pem).await, 422).await;
    assert_eq!(rules_for(&mismatch, "certificate"), vec!["publicKey"]);
    let garbage = problem(notify(&s.app, &transaction_id, "not a certificate").await, 422).await;
    assert_eq!(rules_for(&garbage, "certificate"), vec!["certificateEncoding"]);

    let created = expect_json(notify(&s.app, &transaction_id, &issued.pem).await, 201).await;
    // Reporting the same certificate again is harmless; another one for the request is a conflict.
    let again = expect_json(notify(&s.app, &transaction_id, &issued.pem).await, 200).await;
    assert_eq!(again["id"], created["id"]);
    let reissued = s.ca.issue(&csr.pem, -60, 30 * DAY);
    problem(notify(&s.app, &transaction_id, &reissued.pem).await, 409).await;
    assert_eq!(
        read(&s.app, &format!("{DEVICES}/{}/certificates", s.device)).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let failures = events(&s.app, "eventId=20602").await;
    assert_eq!(failures.len(), 4, "{failures:?}");
}

// ------------------------------------------------------------------ renewal

async fn renewal_follows_the_ledger(backend: Backend) {
    let s = scenario(backend).await;
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    // 100 days of validity with 10 left: past the 20 % threshold.
    let (_, issued) = enroll(&s, &enrollment, (-90 * DAY, 10 * DAY)).await;
    let report = |thumbprint: &str, not_before: Value, not_after: Value| {
        json!({
            "installedProfiles": [{ "profileId": s.profile, "version": 1 }],
            "installedCertificates": [{
                "profileId": s.profile, "thumbprintSha1": thumbprint, "notBefore": not_before, "notAfter": not_after,
            }],
        })
    };
    // The device claims a far later expiry; the ledger's dates decide.
    let due = check_in(
        &s.app,
        &s.credential,
        &report(
            &issued.thumbprint_sha1_hex,
            json!(issued.not_before),
            json!("2099-01-01T00:00:00Z"),
        ),
    )
    .await;
    let scep = item(&due, &s.profile);
    assert_eq!(
        (scep["action"].as_str(), scep["reason"].as_str()),
        (Some("renew"), Some("renewalDue")),
        "{due}"
    );
    let renewal = enrollment_of(scep);
    assert_ne!(renewal.challenge, enrollment.challenge);
    let statuses = read(&s.app, &format!("{SCEP}/{}/device-statuses", s.profile)).await;
    assert_eq!(statuses["summary"]["renewalDue"], 1, "{statuses}");

    // The renewed certificate is fresh: nothing to do.
    let (_, renewed) = enroll(&s, &renewal, (-60, 100 * DAY)).await;
    let fresh = check_in(
        &s.app,
        &s.credential,
        &report(
            &renewed.thumbprint_sha1_hex,
            json!(renewed.not_before),
            json!(renewed.not_after),
        ),
    )
    .await;
    assert_eq!(item(&fresh, &s.profile)["action"], "none", "{fresh}");
    // A missing or expired certificate means installing again.
    let missing = check_in(
        &s.app,
        &s.credential,
        &json!({ "installedProfiles": [{ "profileId": s.profile, "version": 1 }], "installedCertificates": [] }),
    )
    .await;
    assert_eq!(item(&missing, &s.profile)["reason"], "certificateMissing");
    let expired = check_in(
        &s.app,
        &s.credential,
        &report(
            &"AB".repeat(20),
            json!("2020-01-01T00:00:00Z"),
            json!("2021-01-01T00:00:00Z"),
        ),
    )
    .await;
    let expired = item(&expired, &s.profile);
    assert_eq!(
        (expired["action"].as_str(), expired["reason"].as_str()),
        (Some("install"), Some("certificateExpired"))
    );
    assert!(expired["payload"].is_string());
}

// ------------------------------------------------------------------ revocation

async fn unassignment_queues_revocation_and_removal(backend: Backend) {
    let s = scenario(backend).await;
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    let (_, issued) = enroll(&s, &enrollment, (-60, 365 * DAY)).await;
    let queue = connector_get(&s.app, REVOCATIONS).await;
    assert_eq!(
        queue["items"].as_array().unwrap().len(),
        0,
        "nothing to revoke yet"
    );

    let deleted = s
        .app
        .delete(&format!(
            "{SCEP}/{}/assignments/{}",
            s.profile, s.profile_assignment
        ))
        .await;
    assert_eq!(deleted.status(), 204);
    let queue = connector_get(&s.app, REVOCATIONS).await;
    let queued = queue["items"].as_array().unwrap();
    assert_eq!(queued.len(), 1, "{queue}");
    assert_eq!(queued[0]["serialNumber"], issued.serial_hex);
    assert_eq!(queued[0]["certificateRevokeStatus"], "issued");
    let statuses = read(&s.app, &format!("{SCEP}/{}/device-statuses", s.profile)).await;
    assert_eq!(statuses["summary"]["revocationPending"], 1, "{statuses}");

    // The device is told to remove the profile.
    let report = json!({
        "installedProfiles": [{ "profileId": s.profile, "version": 1 }],
        "installedCertificates": [],
    });
    let removal = check_in(&s.app, &s.credential, &report).await;
    let scep = item(&removal, &s.profile);
    assert_eq!(
        (scep["action"].as_str(), scep["state"].as_str()),
        (Some("remove"), Some("notTargeted")),
        "{removal}"
    );
    assert!(scep.get("payload").is_none());

    let certificate_id = queued[0]["id"].as_str().unwrap();
    let result = connector_post(
        &s.app,
        &format!("{REVOCATIONS}/{certificate_id}/result"),
        &json!({ "succeeded": true }),
    )
    .await;
    assert_eq!(result.status(), 200);
    let revoked: Value = result.json().await.unwrap();
    assert_eq!(revoked["certificateRevokeStatus"], "revoked");
    assert!(revoked["revokedDateTime"].is_string());
    assert_eq!(
        connector_get(&s.app, REVOCATIONS).await["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // A second result for the same certificate is a conflict.
    problem(
        connector_post(
            &s.app,
            &format!("{REVOCATIONS}/{certificate_id}/result"),
            &json!({ "succeeded": true }),
        )
        .await,
        409,
    )
    .await;
    let statuses = read(&s.app, &format!("{SCEP}/{}/device-statuses", s.profile)).await;
    assert_eq!(statuses["summary"]["revoked"], 1, "{statuses}");
    let revocation_events = events(&s.app, &format!("eventId=20200&deviceId={}", s.device)).await;
    assert_eq!(revocation_events.len(), 1);
    assert_eq!(revocation_events[0]["eventName"], "RevokeCert_Success");
}

async fn retired_devices_are_revoked_and_failures_recorded(backend: Backend) {
    let s = scenario(backend).await;
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    enroll(&s, &enrollment, (-60, 365 * DAY)).await;
    let deleted = s.app.delete(&format!("{DEVICES}/{}", s.device)).await;
    assert_eq!(deleted.status(), 204);
    let queue = connector_get(&s.app, REVOCATIONS).await;
    let id = queue["items"][0]["id"].as_str().expect("queued").to_owned();
    assert_eq!(queue["items"][0]["deviceId"], s.device);
    let bad_code = connector_post(
        &s.app,
        &format!("{REVOCATIONS}/{id}/result"),
        &json!({ "succeeded": false, "diagnosticCode": "0x12345678" }),
    )
    .await;
    assert_eq!(
        rules_for(&problem(bad_code, 422).await, "diagnosticCode"),
        vec!["diagnosticCode"]
    );
    let failed = connector_post(
        &s.app,
        &format!("{REVOCATIONS}/{id}/result"),
        &json!({ "succeeded": false, "diagnosticCode": "0x00000402", "message": "access denied at the CA" }),
    )
    .await;
    let failed: Value = expect_json(failed, 200).await;
    assert_eq!(failed["certificateRevokeStatus"], "failed");
    assert_eq!(failed["revokeDiagnosticCode"], "0x00000402");
    assert_eq!(failed["revokeDiagnosticName"], "RevokeCert_AccessDenied");
    let logged = events(&s.app, "eventId=20202").await;
    assert_eq!(logged[0]["diagnosticName"], "RevokeCert_AccessDenied");
    assert_eq!(logged[0]["deviceId"], s.device);
    // The retired device's certificates stay readable.
    let certificates = read(&s.app, &format!("{DEVICES}/{}/certificates", s.device)).await;
    assert_eq!(certificates["items"][0]["certificateRevokeStatus"], "failed");
}

// ------------------------------------------------------------------ access and events

async fn roles_are_kept_apart(backend: Backend) {
    let s = scenario(backend).await;
    let body = json!({ "transactionId": "t", "csr": "x" });
    let as_admin = s
        .app
        .admin(Method::POST, VERIFY)
        .json(&body)
        .send()
        .await
        .unwrap();
    problem(as_admin, 403).await;
    problem(
        s.app
            .anonymous(Method::POST, VERIFY)
            .json(&body)
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    let as_device = s
        .app
        .anonymous(Method::POST, VERIFY)
        .bearer_auth(&s.credential)
        .json(&body)
        .send()
        .await
        .unwrap();
    problem(as_device, 401).await;
    let connector_on_admin = s
        .app
        .anonymous(Method::GET, DEVICES)
        .bearer_auth(TestApp::connector_token())
        .send()
        .await
        .unwrap();
    problem(connector_on_admin, 403).await;
    let admin_on_checkin = s
        .app
        .admin(Method::POST, CHECKIN)
        .json(&nothing_installed())
        .send()
        .await
        .unwrap();
    problem(admin_on_checkin, 401).await;
    let reader_on_queue = s.app.reader(Method::GET, REVOCATIONS).send().await.unwrap();
    problem(reader_on_queue, 403).await;
}

async fn bad_check_in_reports_are_refused(backend: Backend) {
    let s = scenario(backend).await;
    let bad = json!({
        "installedProfiles": [],
        "installedCertificates": [{
            "profileId": s.profile, "thumbprintSha1": "xyz", "notBefore": "2026-01-01T00:00:00Z", "notAfter": "2025-01-01T00:00:00Z",
        }],
    });
    let refused = problem(check_in_raw(&s.app, &s.credential, &bad, None).await, 422).await;
    assert_eq!(
        rules_for(&refused, "installedCertificates[0].thumbprintSha1"),
        vec!["thumbprint"]
    );
    assert_eq!(
        rules_for(&refused, "installedCertificates[0].notAfter"),
        vec!["validity"]
    );
    let unknown = problem(
        check_in_raw(&s.app, &s.credential, &json!({ "installed": [] }), None).await,
        422,
    )
    .await;
    assert!(unknown["errors"]
        .as_array()
        .is_some_and(|errors| !errors.is_empty()));
    // Check-in times are written behind (each second): wait past one flush.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let device = read(&s.app, &format!("{DEVICES}/{}", s.device)).await;
    assert!(
        device["lastCheckInDateTime"].is_null(),
        "a refused check-in changes nothing"
    );
}

async fn events_filter_and_paginate(backend: Backend) {
    let s = scenario(backend).await;
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    verify(
        &s.app,
        &transaction(),
        &CsrSpec {
            challenge_password: Some("x".into()),
            ..enrollment.csr()
        }
        .generate()
        .pem,
        None,
    )
    .await;
    enroll(&s, &enrollment, (-60, 365 * DAY)).await;
    let all = events(&s.app, "").await;
    assert_eq!(event_ids(&all), vec![20502, 20500, 20600]);
    assert_eq!(
        event_ids(&events(&s.app, &format!("profileId={}&eventId=20500", s.profile)).await),
        vec![20500]
    );
    assert_eq!(
        events(&s.app, &format!("deviceId={}", s.other_device))
            .await
            .len(),
        0
    );
    let from = before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(events(&s.app, &format!("from={from}")).await.len(), 3);
    assert_eq!(events(&s.app, &format!("to={from}")).await.len(), 0);
    let first = read(&s.app, "/api/v1/events?limit=2").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["nextCursor"].as_str().expect("a second page");
    let second = read(&s.app, &format!("/api/v1/events?limit=2&cursor={cursor}")).await;
    assert_eq!(event_ids(second["items"].as_array().unwrap()), vec![20600]);
    assert!(second["nextCursor"].is_null());
    let bad_range = s.app.get(&format!("/api/v1/events?from={from}&to={from}")).await;
    problem(bad_range, 422).await;
}

// ------------------------------------------------------------------ step-ca

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(TEST_STEP_CA_SECRET).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

async fn webhook(app: &TestApp, path: &str, body: &Value, signature: Option<String>) -> Response {
    let bytes = serde_json::to_vec(body).unwrap();
    let signature = signature.unwrap_or_else(|| sign(&bytes));
    app.anonymous(Method::POST, path)
        .header("X-Smallstep-Signature", signature)
        .header("X-Smallstep-Webhook-ID", "test-webhook")
        .header(header::CONTENT_TYPE, "application/json")
        .body(bytes)
        .send()
        .await
        .expect("request")
}

async fn step_ca_webhooks_decide_and_feed_the_ledger(backend: Backend) {
    let s = scenario(backend).await;
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    let csr = enrollment.csr().generate();
    let challenge_body = |challenge: &str| {
        json!({
            "timestamp": chrono::Utc::now(),
            "x509CertificateRequest": { "raw": STANDARD.encode(&csr.der), "publicKeyAlgorithm": "RSA" },
            "scepChallenge": challenge,
            "scepTransactionID": "step-ca-transaction-1",
        })
    };
    let path = "/connector/v1/step-ca/scepchallenge";
    problem(
        webhook(
            &s.app,
            path,
            &challenge_body(&enrollment.challenge),
            Some("00".repeat(32)),
        )
        .await,
        401,
    )
    .await;
    let stale = with(
        challenge_body(&enrollment.challenge),
        json!({ "timestamp": "2020-01-01T00:00:00Z" }),
    );
    problem(webhook(&s.app, path, &stale, None).await, 401).await;
    let denied = expect_json(webhook(&s.app, path, &challenge_body("wrong"), None).await, 200).await;
    assert_eq!(denied["allow"], false);
    let allowed = expect_json(
        webhook(&s.app, path, &challenge_body(&enrollment.challenge), None).await,
        200,
    )
    .await;
    assert_eq!(allowed["allow"], true);

    let issued = s.ca.issue(&csr.pem, -60, 365 * DAY);
    let notifying = json!({
        "timestamp": chrono::Utc::now(),
        "x509Certificate": { "raw": STANDARD.encode(&issued.der), "notBefore": issued.not_before, "notAfter": issued.not_after },
        "scepTransactionID": "step-ca-transaction-1",
    });
    let notified = expect_json(
        webhook(&s.app, "/connector/v1/step-ca/notify", &notifying, None).await,
        200,
    )
    .await;
    assert_eq!(notified["allow"], true);
    let certificates = read(&s.app, &format!("{DEVICES}/{}/certificates", s.device)).await;
    assert_eq!(
        certificates["items"][0]["thumbprintSha1"],
        issued.thumbprint_sha1_hex
    );
    assert_eq!(certificates["items"][0]["transactionId"], "step-ca-transaction-1");
    let failure = json!({
        "timestamp": chrono::Utc::now(),
        "scepTransactionID": "step-ca-transaction-2",
        "scepErrorCode": 2,
        "scepErrorDescription": "badRequest",
    });
    expect_json(
        webhook(&s.app, "/connector/v1/step-ca/notify", &failure, None).await,
        200,
    )
    .await;
    let logged = events(&s.app, "eventId=20602").await;
    assert!(logged[0]["message"].as_str().unwrap().contains("badRequest"));
}

async fn admins_revoke_by_hand_and_retry_failed_revocations(backend: Backend) {
    let s = scenario(backend).await;
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    let (_, issued) = enroll(&s, &enrollment, (-60, 365 * DAY)).await;
    let certificate = read(&s.app, &format!("{DEVICES}/{}/certificates", s.device)).await["items"][0].clone();
    let id = certificate["id"].as_str().unwrap().to_owned();
    let revoke = format!("{DEVICES}/{}/certificates/{id}/revoke", s.device);

    problem(s.app.reader(Method::POST, &revoke).send().await.unwrap(), 403).await;
    let elsewhere = format!("{DEVICES}/{}/certificates/{id}/revoke", s.other_device);
    problem(s.app.admin(Method::POST, &elsewhere).send().await.unwrap(), 404).await;
    let queued = expect_json(s.app.admin(Method::POST, &revoke).send().await.unwrap(), 200).await;
    assert_eq!(queued["certificateRevokeStatus"], "pending");
    problem(s.app.admin(Method::POST, &revoke).send().await.unwrap(), 409).await;

    // The device still gets the profile: it must enroll again.
    let report = json!({
        "installedProfiles": [{ "profileId": s.profile, "version": 1 }],
        "installedCertificates": [{
            "profileId": s.profile, "thumbprintSha1": issued.thumbprint_sha1_hex,
            "notBefore": issued.not_before, "notAfter": issued.not_after,
        }],
    });
    let again = check_in(&s.app, &s.credential, &report).await;
    let scep = item(&again, &s.profile);
    assert_eq!(
        (scep["action"].as_str(), scep["reason"].as_str()),
        (Some("install"), Some("certificateRevoked"))
    );

    // A failed revocation can be queued again.
    let queue = connector_get(&s.app, REVOCATIONS).await;
    assert_eq!(queue["items"][0]["id"], id.as_str());
    let failed = connector_post(
        &s.app,
        &format!("{REVOCATIONS}/{id}/result"),
        &json!({ "succeeded": false, "diagnosticCode": "0x00000402" }),
    )
    .await;
    assert_eq!(failed.status(), 200);
    let retried = expect_json(s.app.admin(Method::POST, &revoke).send().await.unwrap(), 200).await;
    assert_eq!(retried["certificateRevokeStatus"], "pending");
    assert!(retried.get("revokeDiagnosticCode").is_none(), "{retried}");
    assert_eq!(
        connector_get(&s.app, REVOCATIONS).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

// ------------------------------------------------------------------ device statuses

async fn device_statuses_follow_targeting_rules_four_and_five(backend: Backend) {
    let s = scenario(backend).await;
    // A third phone without a primary user joins the group.
    let lonely = id_of(
        &create(
            &s.app,
            DEVICES,
            &json!({ "deviceName": "pixel-lonely", "platform": "android" }),
        )
        .await,
    );
    let added = s
        .app
        .post(
            &format!("{GROUPS}/{}/members", s.group),
            &json!({ "memberIds": [lonely] }),
        )
        .await;
    assert_eq!(added.status(), 200);
    // A user-certificate profile whose root reaches nobody.
    let root = create_trusted(&s.app, "android").await;
    let profile = id_of(&create(&s.app, SCEP, &scep_body(&root, "android")).await);
    assign(&s.app, SCEP, &profile, &s.group).await;

    let statuses = read(&s.app, &format!("{SCEP}/{profile}/device-statuses")).await;
    let listed: Vec<(&str, &str, &str)> = statuses["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["deviceId"].as_str().unwrap(),
                item["state"].as_str().unwrap(),
                item["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let mut expected = vec![
        (s.device.as_str(), "failed", "rootCertificateNotAssigned"),
        (s.other_device.as_str(), "failed", "rootCertificateNotAssigned"),
    ];
    expected.sort_unstable();
    assert_eq!(
        listed, expected,
        "the device without a user is not listed: {statuses}"
    );
    assert_eq!(statuses["summary"]["failed"], 2);
    assert_eq!(statuses["summary"]["pending"], 0);
    // Pages of one read ranges of two devices: a range holding the lonely
    // device yields one status, and a further range makes up the page.
    let (paged, pages) = all_statuses(&s.app, &profile, "limit=1").await;
    let paged: Vec<(&str, &str)> = paged
        .iter()
        .map(|(id, state)| (id.as_str(), state.as_str()))
        .collect();
    let expected_pages: Vec<(&str, &str)> = expected.iter().map(|(id, state, _)| (*id, *state)).collect();
    assert_eq!(
        paged, expected_pages,
        "pages of one skip the device without a user"
    );
    assert_eq!(pages, 2);
    // Once the root reaches the group, they are pending; the lonely device still does not apply.
    assign(&s.app, TRUSTED, &root, &s.group).await;
    let statuses = read(&s.app, &format!("{SCEP}/{profile}/device-statuses")).await;
    assert_eq!(statuses["summary"]["pending"], 2, "{statuses}");
    assert!(!statuses.to_string().contains(&lonely), "{statuses}");
}

/// Every device id and state of the profile's statuses, following
/// `nextCursor` with `query` (e.g. `limit=2&state=pending`).
async fn all_statuses(app: &TestApp, profile: &str, query: &str) -> (Vec<(String, String)>, usize) {
    let mut listed = Vec::new();
    let mut pages = 0;
    let mut cursor = String::new();
    loop {
        let page = read(app, &format!("{SCEP}/{profile}/device-statuses?{query}{cursor}")).await;
        pages += 1;
        listed.extend(page["items"].as_array().unwrap().iter().map(|item| {
            (
                item["deviceId"].as_str().unwrap().to_owned(),
                item["state"].as_str().unwrap().to_owned(),
            )
        }));
        match page["nextCursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return (listed, pages),
        }
    }
}

async fn device_statuses_page_by_device_id_with_and_without_a_state(backend: Backend) {
    let s = scenario(backend).await;
    let user = read(&s.app, &format!("{DEVICES}/{}", s.device)).await["userId"].clone();
    let mut members = Vec::new();
    for n in 0..7 {
        members.push(id_of(
            &create(
                &s.app,
                DEVICES,
                &json!({ "deviceName": format!("pixel-{n}"), "platform": "android", "userId": user }),
            )
            .await,
        ));
    }
    let added = s
        .app
        .post(
            &format!("{GROUPS}/{}/members", s.group),
            &json!({ "memberIds": members }),
        )
        .await;
    assert_eq!(added.status(), 200);
    // One device checks in: challengeIssued; the others are pending.
    check_in(&s.app, &s.credential, &nothing_installed()).await;

    let (everything, pages) = all_statuses(&s.app, &s.profile, "limit=500").await;
    assert_eq!(pages, 1);
    assert_eq!(everything.len(), 9, "{everything:?}");
    assert!(
        everything.windows(2).all(|pair| pair[0].0 < pair[1].0),
        "by device id"
    );
    let full = read(&s.app, &format!("{SCEP}/{}/device-statuses", s.profile)).await;
    for limit in [1, 2, 4] {
        let (paged, pages) = all_statuses(&s.app, &s.profile, &format!("limit={limit}")).await;
        assert_eq!(paged, everything, "pages of {limit}");
        assert_eq!(pages, 9_usize.div_ceil(limit));
        // Every page carries the summary over all devices.
        let first = read(
            &s.app,
            &format!("{SCEP}/{}/device-statuses?limit={limit}", s.profile),
        )
        .await;
        assert_eq!(first["summary"], full["summary"]);
    }
    for (state, limit) in [("pending", 3), ("challengeIssued", 1), ("succeeded", 2)] {
        let (paged, _) = all_statuses(&s.app, &s.profile, &format!("limit={limit}&state={state}")).await;
        let expected: Vec<_> = everything
            .iter()
            .filter(|(_, listed)| listed == state)
            .cloned()
            .collect();
        assert_eq!(paged, expected, "{state} in pages of {limit}");
        assert_eq!(full["summary"][state], expected.len(), "{full}");
    }
}

// ------------------------------------------------------------------ metrics

async fn metrics_count_requests_check_ins_and_verifications(backend: Backend) {
    let s = scenario(backend).await;
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    assert_allowed(&verify(&s.app, &transaction(), &enrollment.csr().generate().pem, None).await);
    let denied = verify(&s.app, &transaction(), &enrollment.csr().generate().pem, None).await;
    assert_denied(&denied, "challengeReplayed", "0x00000411");
    let response = check_in_raw(&s.app, &s.credential, &nothing_installed(), None).await;
    let tag = etag(&response);
    let unchanged = check_in_raw(&s.app, &s.credential, &nothing_installed(), Some(&tag)).await;
    assert_eq!(unchanged.status(), 304);

    problem(
        s.app.anonymous(Method::GET, "/metrics").send().await.unwrap(),
        401,
    )
    .await;
    let connector = s
        .app
        .anonymous(Method::GET, "/metrics")
        .bearer_auth(TestApp::connector_token())
        .send()
        .await;
    problem(connector.unwrap(), 403).await;
    let response = s.app.reader(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(header_value(&response, "content-type").starts_with("text/plain; version=0.0.4"));
    let text = response.text().await.unwrap();
    for expected in [
        r#"scepter_check_ins_total{outcome="200"} 2"#,
        r#"scepter_check_ins_total{outcome="304"} 1"#,
        r#"scepter_challenge_verifications_total{allowed="true",diagnostic_code="0x00000000"} 1"#,
        r#"scepter_challenge_verifications_total{allowed="false",diagnostic_code="0x00000411"} 1"#,
        r#"scepter_http_requests_total{method="POST",route="/device/v1/checkin",status="304"} 1"#,
        r#"scepter_http_requests_total{method="GET",route="/metrics",status="401"} 1"#,
        r#"scepter_http_request_duration_seconds_count{method="POST",route="/connector/v1/scep/verify"} 2"#,
        r#"scepter_db_pool_connections{state="max"}"#,
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    // Concrete ids never become labels.
    assert!(!text.contains(&s.device), "{text}");
}

/// `scepter_check_in_facts_total` by source: (cache, database).
async fn facts_reads(app: &TestApp) -> (u64, u64) {
    let text = app
        .reader(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let count = |source: &str| {
        let series = format!("scepter_check_in_facts_total{{source=\"{source}\"}} ");
        text.lines()
            .find_map(|line| line.strip_prefix(&series))
            .map_or(0, |value| value.parse().unwrap())
    };
    (count("cache"), count("database"))
}

async fn check_in_both(s: &Scenario) {
    check_in(&s.app, &s.credential, &nothing_installed()).await;
    check_in(&s.app, &s.other_credential, &nothing_installed()).await;
}

/// Check-in caches each device's facts until something about that device,
/// or the policy, changes: a change to one device refreshes that device's
/// facts only, a profile change everyone's.
async fn a_change_to_one_device_refreshes_only_its_cached_facts(backend: Backend) {
    let s = scenario(backend).await;
    // The first check-in records the challenges it offered (a change to the
    // device), the second reads the facts again, the third finds them cached.
    check_in_both(&s).await;
    check_in_both(&s).await;
    let before = facts_reads(&s.app).await;
    check_in_both(&s).await;
    let cached = facts_reads(&s.app).await;
    assert_eq!(
        cached,
        (before.0 + 2, before.1),
        "unchanged devices are served from the cache"
    );

    let path = format!("{DEVICES}/{}", s.device);
    let device = read(&s.app, &path).await;
    let renamed =
        json!({ "deviceName": "pixel-jane-renamed", "platform": "android", "userId": device["userId"] });
    let response = s
        .app
        .put(&path, device["version"].as_i64().unwrap(), &renamed)
        .await;
    assert_eq!(response.status(), 200);
    check_in_both(&s).await;
    let after_device = facts_reads(&s.app).await;
    assert_eq!(
        after_device,
        (cached.0 + 1, cached.1 + 1),
        "only the renamed device's facts are read again"
    );
    let offered = check_in(&s.app, &s.credential, &nothing_installed()).await;
    assert_eq!(
        enrollment_of(item(&offered, &s.profile)).subject[0][0].value,
        "pixel-jane-renamed",
        "{offered}"
    );

    // A profile change reaches every device.
    check_in_both(&s).await;
    let settled = facts_reads(&s.app).await;
    let profile_path = format!("{SCEP}/{}", s.profile);
    let profile = read(&s.app, &profile_path).await;
    let mut body = profile.clone();
    for key in [
        "id",
        "version",
        "createdDateTime",
        "lastModifiedDateTime",
        "warnings",
    ] {
        body.as_object_mut().unwrap().remove(key);
    }
    body["description"] = json!("edited");
    let response = s
        .app
        .put(&profile_path, profile["version"].as_i64().unwrap(), &body)
        .await;
    assert_eq!(response.status(), 200);
    check_in_both(&s).await;
    assert_eq!(
        facts_reads(&s.app).await,
        (settled.0, settled.1 + 2),
        "a policy change refreshes every device"
    );
}

// ------------------------------------------------------------------ hostile input

async fn a_transaction_id_once_allowed_is_never_taken_by_another_device(backend: Backend) {
    let s = scenario(backend).await;
    let mine = fresh_enrollment(&s, &s.credential).await;
    let theirs = fresh_enrollment(&s, &s.other_credential).await;
    let shared = transaction();
    let my_csr = mine.csr().generate();
    assert_allowed(&verify(&s.app, &shared, &my_csr.pem, None).await);
    // The other device, with its own valid challenge, under the same id.
    let their_csr = theirs.csr().generate();
    assert_denied(
        &verify(&s.app, &shared, &their_csr.pem, None).await,
        "transactionInUse",
        "0x00000410",
    );
    // The first request's certificate still reaches the ledger.
    let issued = s.ca.issue(&my_csr.pem, -60, 30 * DAY);
    let recorded = expect_json(notify(&s.app, &shared, &issued.pem).await, 201).await;
    assert_eq!(recorded["deviceId"], s.device);
    // The other device's challenge was not burnt: it can still enroll under its own id.
    assert_allowed(&verify(&s.app, &transaction(), &their_csr.pem, None).await);
    let denied = events(&s.app, &format!("deviceId={}&eventId=20502", s.other_device)).await;
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert!(denied[0]["message"]
        .as_str()
        .unwrap()
        .contains("transactionInUse"));
}

async fn replays_are_refused_before_the_request_is_read_and_never_downgrade_a_device(backend: Backend) {
    let s = scenario(backend).await;
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    enroll(&s, &enrollment, (-60, 365 * DAY)).await;
    let state_of_device = || async {
        let statuses = read(&s.app, &format!("{SCEP}/{}/device-statuses", s.profile)).await;
        statuses["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["deviceId"] == s.device)
            .map(|item| item["state"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(state_of_device().await, "succeeded");

    // The used challenge with a request for another name: the replay is what is reported.
    let other_name = CsrSpec {
        subject: vec![vec![NameAttribute::new("CN", "someone-else")]],
        ..enrollment.csr()
    }
    .generate();
    assert_denied(
        &verify(&s.app, &transaction(), &other_name.pem, None).await,
        "challengeReplayed",
        "0x00000411",
    );
    // And with 60 KB of garbage instead of a request: never parsed.
    let garbage = "A".repeat(60 * 1024);
    assert_denied(
        &verify(&s.app, &transaction(), &garbage, Some(&enrollment.challenge)).await,
        "challengeReplayed",
        "0x00000411",
    );
    assert_eq!(
        state_of_device().await,
        "succeeded",
        "a replay must not downgrade the device"
    );
    for event in events(&s.app, &format!("deviceId={}&eventId=20501", s.device)).await {
        let message = event["message"].as_str().unwrap();
        assert!(!message.contains("someone-else"), "{message}");
        assert!(message.chars().count() <= 600, "{message}");
    }
}

async fn denial_details_are_bounded_and_written_for_admins(backend: Backend) {
    let s = scenario(backend).await;
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    let huge_san = CsrSpec {
        sans: vec![San::Dns(format!("{}.contoso.com", "x".repeat(60_000)))],
        ..enrollment.csr()
    }
    .generate();
    assert_denied(
        &verify(&s.app, &transaction(), &huge_san.pem, None).await,
        "sanMismatch",
        "0x00000410",
    );
    let other_subject = CsrSpec {
        subject: vec![
            vec![NameAttribute::new("CN", "pixel-jane")],
            vec![NameAttribute::new("O", "Evil")],
        ],
        ..enrollment.csr()
    }
    .generate();
    assert_denied(
        &verify(&s.app, &transaction(), &other_subject.pem, None).await,
        "subjectMismatch",
        "0x00000410",
    );
    let logged = events(&s.app, &format!("deviceId={}&eventId=20502", s.device)).await;
    assert_eq!(logged.len(), 2, "{logged:?}");
    let san_message = logged[0]["message"].as_str().unwrap();
    assert!(
        san_message.contains("expected SANs [upn:jane@contoso.com]"),
        "{san_message}"
    );
    assert!(
        san_message.chars().count() <= 600,
        "{} characters",
        san_message.chars().count()
    );
    let subject_message = logged[1]["message"].as_str().unwrap();
    assert!(
        subject_message
            .contains(r#"expected subject "CN=pixel-jane,O=Contoso", received "CN=pixel-jane,O=Evil""#),
        "{subject_message}"
    );
    for message in [san_message, subject_message] {
        assert!(
            !message.contains("Some(") && !message.contains("Rdn(") && !message.contains("AttributeValue")
        );
    }
}

async fn requests_asking_for_more_than_the_profile_grants_are_refused(backend: Backend) {
    let s = scenario(backend).await;
    let cases = [
        ("basicConstraints = critical,CA:TRUE", "basicConstraints"),
        ("keyUsage = critical,digitalSignature,keyCertSign", "keyCertSign"),
        ("keyUsage = digitalSignature,cRLSign", "cRLSign"),
        ("extendedKeyUsage = clientAuth,codeSigning", "1.3.6.1.5.5.7.3.3"),
        (
            "nameConstraints = critical,permitted;DNS:contoso.com",
            "nameConstraints",
        ),
    ];
    for (extension, named) in cases {
        let enrollment = fresh_enrollment(&s, &s.credential).await;
        let csr = CsrSpec {
            extensions: vec![extension],
            ..enrollment.csr()
        }
        .generate();
        assert_denied(
            &verify(&s.app, &transaction(), &csr.pem, None).await,
            "extensionNotAllowed",
            "0x00000410",
        );
        let logged = events(&s.app, &format!("deviceId={}&eventId=20502", s.device)).await;
        let message = logged.last().unwrap()["message"].as_str().unwrap();
        assert!(message.contains(named), "{extension}: {message}");
    }
    // What the profile grants is fine.
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    let granted = CsrSpec {
        extensions: vec![
            "basicConstraints = CA:FALSE",
            "keyUsage = critical,digitalSignature",
            "extendedKeyUsage = clientAuth",
        ],
        ..enrollment.csr()
    }
    .generate();
    assert_allowed(&verify(&s.app, &transaction(), &granted.pem, None).await);
}

async fn notified_certificates_must_chain_to_the_profiles_root(backend: Backend) {
    let s = scenario(backend).await;
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    let csr = enrollment.csr().generate();
    let transaction_id = transaction();
    assert_allowed(&verify(&s.app, &transaction_id, &csr.pem, None).await);
    // Same key and name, but from a CA the profile does not trust.
    let rogue = TestCa::new("Scepter Test Issuing CA");
    let foreign = rogue.issue(&csr.pem, -60, 30 * DAY);
    let refused = problem(notify(&s.app, &transaction_id, &foreign.pem).await, 422).await;
    assert_eq!(refused["errors"][0]["field"], "certificate", "{refused}");
    assert_eq!(refused["errors"][0]["rule"], "issuer", "{refused}");
    let certificates = read(&s.app, &format!("{DEVICES}/{}/certificates", s.device)).await;
    assert_eq!(
        certificates["items"].as_array().unwrap().len(),
        0,
        "{certificates}"
    );
    // The real CA's certificate is recorded.
    let issued = s.ca.issue(&csr.pem, -60, 30 * DAY);
    expect_json(notify(&s.app, &transaction_id, &issued.pem).await, 201).await;
}

async fn roots_register_issuing_cas_that_chain_to_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root_pem = ROOT_CA;
    let intermediate_pem = INTERMEDIATE_CA;
    let unrelated_pem = EXPIRED_ROOT_CA;
    let body = with(
        trusted_body("ios"),
        json!({ "trustedRootCertificate": root_pem, "issuingCertificates": [intermediate_pem] }),
    );
    let created = create(&app, TRUSTED, &body).await;
    assert_eq!(
        created["issuingCertificateDetails"][0]["serialNumber"], "008A11",
        "{created}"
    );
    assert_eq!(created["issuingCertificates"].as_array().unwrap().len(), 1);
    let stored = read(&app, &format!("{TRUSTED}/{}", id_of(&created))).await;
    assert_eq!(stored["issuingCertificates"], created["issuingCertificates"]);

    let unrelated = with(
        body,
        json!({ "issuingCertificates": [intermediate_pem, unrelated_pem] }),
    );
    let refused = problem(app.post(TRUSTED, &unrelated).await, 422).await;
    assert_eq!(
        refused["errors"][0]["field"], "issuingCertificates[1]",
        "{refused}"
    );
    assert_eq!(refused["errors"][0]["rule"], "chainsToRoot", "{refused}");
}

async fn one_unrenderable_value_fails_only_its_item(backend: Backend) {
    let s = scenario(backend).await;
    // A DNS SAN from the device name: "pixel jane" (a space) is no DNS name.
    let dns_profile = id_of(
        &create(
            &s.app,
            SCEP,
            &with(
                scep_body(&root_of(&s).await, "android"),
                json!({
                    "displayName": "DNS SAN",
                    "certificateType": "device",
                    "subjectNameFormat": "custom",
                    "subjectNameFormatString": "CN={{DeviceId}}",
                    "customSubjectAlternativeNames": [{ "sanType": "domainNameService", "name": "{{DeviceName}}" }],
                }),
            ),
        )
        .await,
    );
    assign(&s.app, SCEP, &dns_profile, &s.group).await;
    let device = read(&s.app, &format!("{DEVICES}/{}", s.device)).await;
    let renamed = json!({ "deviceName": "pixel jane <3", "platform": "android", "userId": device["userId"] });
    assert_eq!(
        s.app
            .put(
                &format!("{DEVICES}/{}", s.device),
                device["version"].as_i64().unwrap(),
                &renamed
            )
            .await
            .status(),
        200
    );
    let response = check_in(&s.app, &s.credential, &nothing_installed()).await;
    let failed = item(&response, &dns_profile);
    assert_eq!(
        (
            failed["action"].as_str(),
            failed["state"].as_str(),
            failed["reason"].as_str()
        ),
        (Some("none"), Some("failed"), Some("payloadUnrenderable")),
        "{response}"
    );
    let detail = failed["detail"].as_str().unwrap();
    assert!(
        detail.contains("dnsName") && detail.contains("{{DeviceName}}"),
        "{detail}"
    );
    assert!(failed.get("payload").is_none());
    // Every other item is served as usual.
    assert_eq!(item(&response, &s.profile)["action"], "install", "{response}");
    assert!(response["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|item| item["profileType"] == "trustedCertificate" && item["action"] == "install"));
    // The preview reports the same reason.
    let refused = problem(
        s.app
            .post(
                &format!("{SCEP}/{dns_profile}/preview"),
                &json!({ "deviceId": s.device }),
            )
            .await,
        422,
    )
    .await;
    assert_eq!(refused["errors"][0]["rule"], "dnsName", "{refused}");
}

async fn noncharacters_are_refused_and_odd_values_never_fail_a_check_in(backend: Backend) {
    let s = scenario(backend).await;
    for nonchar in ['\u{FFFF}', '\u{FFFE}', '\u{FDD0}', '\u{1FFFF}'] {
        let body = json!({ "deviceName": format!("pixel{nonchar}"), "platform": "android" });
        let refused = problem(s.app.post(DEVICES, &body).await, 422).await;
        assert_eq!(refused["errors"][0]["field"], "deviceName", "{refused}");
        let profile = with(
            trusted_body("android"),
            json!({ "displayName": format!("Root{nonchar}") }),
        );
        problem(s.app.post(TRUSTED, &profile).await, 422).await;
    }
    // Messy but storable names: every save is 2xx or 422, every check-in 200.
    let messy = [
        "pixel;jane",
        "pixel<script>",
        "\u{202E}reversed",
        "emoji \u{1F600} phone",
        "e\u{301}",
        "CN=x,O=y",
        "\"quoted\"",
        "{{DeviceName}}",
        "back\\slash",
        "tab\there",
        &"long".repeat(60),
    ];
    for name in messy {
        let device = read(&s.app, &format!("{DEVICES}/{}", s.device)).await;
        let body = json!({ "deviceName": name, "platform": "android", "userId": device["userId"] });
        let saved = s
            .app
            .put(
                &format!("{DEVICES}/{}", s.device),
                device["version"].as_i64().unwrap(),
                &body,
            )
            .await;
        assert!(
            matches!(saved.status().as_u16(), 200 | 422),
            "{name:?}: {}",
            saved.status()
        );
        let response = check_in_raw(&s.app, &s.credential, &nothing_installed(), None).await;
        assert_eq!(response.status(), 200, "{name:?}");
    }
}

/// The id of the scenario's root profile.
async fn root_of(s: &Scenario) -> String {
    read(&s.app, &format!("{SCEP}/{}", s.profile)).await["rootCertificateId"]
        .as_str()
        .unwrap()
        .to_owned()
}

backend_tests!(
    admins_revoke_by_hand_and_retry_failed_revocations,
    device_statuses_follow_targeting_rules_four_and_five,
    device_statuses_page_by_device_id_with_and_without_a_state,
    metrics_count_requests_check_ins_and_verifications,
    a_change_to_one_device_refreshes_only_its_cached_facts,
    a_device_enrolls_and_then_checks_in_idle,
    a_remembered_answer_gives_way_when_renewal_falls_due,
    a_device_gets_only_its_own_payloads,
    a_challenge_is_single_use,
    expired_challenges_are_refused,
    forged_missing_or_garbage_challenges_are_refused,
    requests_must_carry_exactly_the_rendered_name_and_key,
    a_profile_unassigned_or_changed_meanwhile_is_refused,
    notifications_must_match_the_verified_request,
    renewal_follows_the_ledger,
    unassignment_queues_revocation_and_removal,
    retired_devices_are_revoked_and_failures_recorded,
    roles_are_kept_apart,
    bad_check_in_reports_are_refused,
    events_filter_and_paginate,
    step_ca_webhooks_decide_and_feed_the_ledger,
    a_transaction_id_once_allowed_is_never_taken_by_another_device,
    replays_are_refused_before_the_request_is_read_and_never_downgrade_a_device,
    denial_details_are_bounded_and_written_for_admins,
    requests_asking_for_more_than_the_profile_grants_are_refused,
    notified_certificates_must_chain_to_the_profiles_root,
    roots_register_issuing_cas_that_chain_to_them,
    one_unrenderable_value_fails_only_its_item,
    noncharacters_are_refused_and_odd_values_never_fail_a_check_in,
);
