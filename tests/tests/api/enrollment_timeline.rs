//! `GET /api/v1/devices/{id}/enrollment-timeline`: a device's enrollment
//! history per SCEP profile and the diagnosis over it, driven through real
//! check-ins, verifications, notifications and revocations.

use std::time::Duration;

use reqwest::Method;
use scepter_blackbox_tests::{
    backend_tests,
    pki::{CsrSpec, NameAttribute},
    problem, Backend, TestApp, TestOptions,
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{enrollment::*, *};

fn timeline_path(device: &str, profile: Option<&str>) -> String {
    match profile {
        Some(profile) => format!("{DEVICES}/{device}/enrollment-timeline?profileId={profile}"),
        None => format!("{DEVICES}/{device}/enrollment-timeline"),
    }
}

/// The device's timeline for the scenario's profile, read as a reader.
async fn timeline(s: &Scenario, device: &str) -> Value {
    let response = s
        .app
        .reader(Method::GET, &timeline_path(device, Some(&s.profile)))
        .send()
        .await
        .expect("request");
    expect_json(response, 200).await
}

fn kinds(timeline: &Value) -> Vec<String> {
    timeline["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["kind"].as_str().expect("kind").to_owned())
        .collect()
}

fn items_of<'a>(timeline: &'a Value, kind: &str) -> Vec<&'a Value> {
    timeline["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|item| item["kind"] == kind)
        .collect()
}

fn code(timeline: &Value) -> &str {
    timeline["diagnosis"]["code"].as_str().expect("diagnosis code")
}

// ------------------------------------------------------------------ targeting

async fn a_device_outside_the_assigned_groups_is_not_targeted_because_not_assigned(backend: Backend) {
    let s = scenario(backend).await;
    let outside = id_of(
        &create(
            &s.app,
            DEVICES,
            &json!({ "deviceName": "pixel-outside", "platform": "android" }),
        )
        .await,
    );

    let answer = timeline(&s, &outside).await;

    assert_eq!(code(&answer), "notTargeted", "{answer}");
    assert_eq!(kinds(&answer), ["notTargeted"], "{answer}");
    assert_eq!(answer["items"][0]["reason"], "notAssigned", "{answer}");
    assert_eq!(answer["deviceId"], outside.as_str());
    assert_eq!(answer["profileId"], s.profile.as_str());
}

async fn an_excluding_group_is_named_in_the_not_targeted_item(backend: Backend) {
    let s = scenario(backend).await;
    let excluded = id_of(
        &create(
            &s.app,
            GROUPS,
            &json!({ "displayName": "No certificates", "groupType": "device" }),
        )
        .await,
    );
    let added = s
        .app
        .post(
            &format!("{GROUPS}/{excluded}/members"),
            &json!({ "memberIds": [s.device] }),
        )
        .await;
    assert_eq!(added.status(), 200);
    create(
        &s.app,
        &format!("{SCEP}/{}/assignments", s.profile),
        &json!({ "groupId": excluded, "intent": "exclude" }),
    )
    .await;

    let answer = timeline(&s, &s.device).await;

    assert_eq!(code(&answer), "notTargeted", "{answer}");
    let targeting = items_of(&answer, "notTargeted");
    assert_eq!(targeting[0]["reason"], "assignmentExcluded", "{answer}");
    assert_eq!(targeting[0]["groupIds"], json!([excluded]), "{answer}");
    assert!(
        answer["diagnosis"]["summary"]
            .as_str()
            .unwrap()
            .contains("excluding assignment"),
        "{answer}"
    );
}

// ------------------------------------------------------------------ offers

async fn a_targeted_device_waits_for_check_in_until_it_is_offered_a_payload(backend: Backend) {
    let s = scenario(backend).await;

    let before = timeline(&s, &s.device).await;
    assert_eq!(code(&before), "waitingForCheckIn", "{before}");
    assert_eq!(kinds(&before), ["targeted"], "{before}");
    assert_eq!(before["items"][0]["groupIds"], json!([s.group]), "{before}");

    let enrollment = fresh_enrollment(&s, &s.credential).await;
    let after = timeline(&s, &s.device).await;

    assert_eq!(code(&after), "waitingForCheckIn", "{after}");
    assert_eq!(kinds(&after), ["payloadOffered", "targeted"], "{after}");
    let offered = &after["items"][0];
    assert_eq!(offered["profileVersion"], 1);
    assert!(
        offered["scepServerUrls"][0]
            .as_str()
            .unwrap()
            .starts_with("https://"),
        "{offered}"
    );
    let expires = timestamp(offered, "challengeExpirationDateTime");
    let at = timestamp(offered, "occurredDateTime");
    assert_eq!((expires - at).num_seconds(), 3600, "{offered}");
    assert!(
        !after.to_string().contains(&enrollment.challenge),
        "the timeline never holds the challenge"
    );
}

async fn an_offer_whose_challenge_expires_unpresented_is_challenge_expired_unused(backend: Backend) {
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
    let answer = timeline(&s, &s.device).await;

    assert_eq!(code(&answer), "challengeExpiredUnused", "{answer}");
    assert!(
        answer["diagnosis"]["advice"]
            .as_str()
            .unwrap()
            .contains("could not reach the SCEP server"),
        "{answer}"
    );
    assert!(!answer.to_string().contains(&enrollment.challenge));
}

// ------------------------------------------------------------------ verification

async fn a_denied_request_is_request_denied_naming_the_code_and_the_differing_rdn(backend: Backend) {
    let s = scenario(backend).await;
    let enrollment = fresh_enrollment(&s, &s.credential).await;
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

    let answer = timeline(&s, &s.device).await;

    assert_eq!(code(&answer), "requestDenied", "{answer}");
    assert_eq!(answer["diagnosis"]["diagnosticCode"], "0x00000410", "{answer}");
    assert_eq!(answer["diagnosis"]["denyReason"], "subjectMismatch", "{answer}");
    assert_eq!(
        kinds(&answer),
        ["payloadOffered", "verifyDenied", "targeted"],
        "{answer}"
    );
    let denied = items_of(&answer, "verifyDenied")[0];
    assert_eq!(denied["diagnosticCode"], "0x00000410");
    assert_eq!(denied["diagnosticName"], "CRPSCEPDeserialize_Failed");
    assert_eq!(denied["denyReason"], "subjectMismatch");
    let detail = denied["detail"].as_str().unwrap();
    assert!(
        detail.contains(r#"RDN 2 differs: expected "O=Contoso", received "O=Evil""#),
        "{detail}"
    );
    assert!(!answer.to_string().contains(&enrollment.challenge));
}

// ------------------------------------------------------------------ the ledger

async fn an_issued_certificate_is_not_reported_until_a_check_in_lists_it_then_healthy(backend: Backend) {
    let s = scenario(backend).await;
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    let (_, issued) = enroll(&s, &enrollment, (-60, 365 * DAY)).await;

    let issued_only = timeline(&s, &s.device).await;
    assert_eq!(code(&issued_only), "issuedNotReported", "{issued_only}");
    assert_eq!(
        kinds(&issued_only),
        ["payloadOffered", "verifyAllowed", "certificateIssued", "targeted"],
        "{issued_only}"
    );
    let certificate = items_of(&issued_only, "certificateIssued")[0];
    assert_eq!(certificate["serialNumber"], issued.serial_hex);
    assert_eq!(certificate["thumbprintSha1"], issued.thumbprint_sha1_hex);
    assert_eq!(timestamp(certificate, "notAfter"), issued.not_after);

    let root = read(&s.app, &format!("{SCEP}/{}", s.profile)).await["rootCertificateId"].clone();
    let report = json!({
        "installedProfiles": [
            { "profileId": root, "version": 1 },
            { "profileId": s.profile, "version": 1 },
        ],
        "installedCertificates": [{
            "profileId": s.profile,
            "thumbprintSha1": issued.thumbprint_sha1_hex.to_lowercase(),
            "notBefore": issued.not_before,
            "notAfter": issued.not_after,
        }],
    });
    check_in(&s.app, &s.credential, &report).await;
    // Listing it again records nothing new.
    check_in(&s.app, &s.credential, &report).await;
    let reported = timeline(&s, &s.device).await;

    assert_eq!(code(&reported), "healthy", "{reported}");
    let reports = items_of(&reported, "certificateReported");
    assert_eq!(reports.len(), 1, "{reported}");
    assert_eq!(reports[0]["certificateId"], certificate["certificateId"]);
}

async fn unassignment_shows_revocation_queued_and_its_result(backend: Backend) {
    let s = scenario(backend).await;
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    enroll(&s, &enrollment, (-60, 365 * DAY)).await;
    let deleted = s
        .app
        .delete(&format!(
            "{SCEP}/{}/assignments/{}",
            s.profile, s.profile_assignment
        ))
        .await;
    assert_eq!(deleted.status(), 204);
    let queued = connector_get(&s.app, REVOCATIONS).await;
    let certificate_id = queued["items"][0]["id"].as_str().unwrap().to_owned();
    let result = connector_post(
        &s.app,
        &format!("{REVOCATIONS}/{certificate_id}/result"),
        &json!({ "succeeded": true }),
    )
    .await;
    assert_eq!(result.status(), 200);

    let answer = timeline(&s, &s.device).await;

    assert_eq!(code(&answer), "notTargeted", "{answer}");
    let kinds = kinds(&answer);
    assert_eq!(
        &kinds[kinds.len() - 3..],
        ["revocationQueued", "revocationResult", "notTargeted"],
        "{answer}"
    );
    let result = items_of(&answer, "revocationResult")[0];
    assert_eq!(result["certificateId"], certificate_id.as_str());
    assert_eq!(result["revoked"], true);
    assert_eq!(result["diagnosticCode"], "0x00000000");
}

async fn a_profile_change_after_an_offer_appears_with_its_new_version(backend: Backend) {
    let s = scenario(backend).await;
    fresh_enrollment(&s, &s.credential).await;
    let path = format!("{SCEP}/{}", s.profile);
    let mut body = read(&s.app, &path).await;
    body["description"] = json!("changed");
    for key in [
        "id",
        "version",
        "createdDateTime",
        "lastModifiedDateTime",
        "warnings",
    ] {
        body.as_object_mut().unwrap().remove(key);
    }
    let replaced = s.app.put(&path, 1, &body).await;
    assert_eq!(replaced.status(), 200, "{}", replaced.text().await.unwrap());

    let answer = timeline(&s, &s.device).await;

    assert_eq!(
        kinds(&answer),
        ["payloadOffered", "profileChanged", "targeted"],
        "{answer}"
    );
    assert_eq!(items_of(&answer, "profileChanged")[0]["profileVersion"], 2);
    assert_eq!(items_of(&answer, "targeted")[0]["profileVersion"], 2);
}

// ------------------------------------------------------------------ missing values

async fn missing_user_values_are_all_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = id_of(
        &create(
            &app,
            USERS,
            &json!({ "userPrincipalName": "nomail@contoso.com", "displayName": "No Mail" }),
        )
        .await,
    );
    let device = id_of(
        &create(
            &app,
            DEVICES,
            &json!({ "deviceName": "pixel-nomail", "platform": "android", "userId": user }),
        )
        .await,
    );
    let group = id_of(
        &create(
            &app,
            GROUPS,
            &json!({ "displayName": "Phones", "groupType": "device" }),
        )
        .await,
    );
    let added = app
        .post(
            &format!("{GROUPS}/{group}/members"),
            &json!({ "memberIds": [device] }),
        )
        .await;
    assert_eq!(added.status(), 200);
    let root = create_trusted(&app, "android").await;
    let profile = id_of(
        &create(
            &app,
            SCEP,
            &with(
                scep_body(&root, "android"),
                json!({
                    "subjectNameFormat": "custom",
                    "subjectNameFormatString": "CN={{DeviceName}},E={{EmailAddress}}",
                    "customSubjectAlternativeNames": [
                        { "sanType": "userPrincipalName", "name": "{{onPremisesSamAccountName}}@contoso.com" }
                    ],
                }),
            ),
        )
        .await,
    );
    assign(&app, TRUSTED, &root, &group).await;
    assign(&app, SCEP, &profile, &group).await;

    let answer = read(&app, &timeline_path(&device, Some(&profile))).await;

    assert_eq!(code(&answer), "missingValues", "{answer}");
    let named: Vec<&str> = answer["diagnosis"]["missingValues"]
        .as_array()
        .expect("missingValues")
        .iter()
        .map(|missing| missing["variable"].as_str().unwrap())
        .collect();
    assert_eq!(
        named,
        ["{{EmailAddress}}", "{{onPremisesSamAccountName}}"],
        "{answer}"
    );
    let summary = answer["diagnosis"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("{{EmailAddress}}") && summary.contains("{{onPremisesSamAccountName}}"),
        "{summary}"
    );
}

// ------------------------------------------------------------------ all profiles

async fn without_profile_id_there_is_one_diagnosis_per_profile(backend: Backend) {
    let s = scenario(backend).await;
    let root = read(&s.app, &format!("{SCEP}/{}", s.profile)).await["rootCertificateId"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = create_scep(&s.app, &root, "android").await;
    assign(&s.app, SCEP, &second, &s.group).await;
    let enrollment = fresh_enrollment(&s, &s.credential).await;
    enroll(&s, &enrollment, (-60, 365 * DAY)).await;

    let answer = read(&s.app, &timeline_path(&s.device, None)).await;

    assert_eq!(answer["deviceId"], s.device.as_str());
    let mut diagnoses: Vec<(String, String)> = answer["diagnoses"]
        .as_array()
        .expect("diagnoses")
        .iter()
        .map(|entry| {
            (
                entry["profileId"].as_str().unwrap().to_owned(),
                entry["diagnosis"]["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    diagnoses.sort();
    let mut expected = vec![
        (s.profile.clone(), "issuedNotReported".to_owned()),
        (second.clone(), "waitingForCheckIn".to_owned()),
    ];
    expected.sort();
    assert_eq!(diagnoses, expected, "{answer}");
    assert!(answer.get("items").is_none());
}

// ------------------------------------------------------------------ errors and access

async fn unknown_devices_are_404_and_bad_profile_ids_422_naming_profile_id(backend: Backend) {
    let s = scenario(backend).await;
    let unknown = Uuid::new_v4().to_string();

    problem(s.app.get(&timeline_path(&unknown, None)).await, 404).await;
    problem(s.app.get(&timeline_path(&unknown, Some(&s.profile))).await, 404).await;
    for bad in ["not-a-uuid", unknown.as_str()] {
        let document = problem(s.app.get(&timeline_path(&s.device, Some(bad))).await, 422).await;
        assert_eq!(document["errors"][0]["field"], "profileId", "{document}");
    }
}

async fn readers_may_read_it_and_device_credentials_may_not(backend: Backend) {
    let s = scenario(backend).await;
    let path = timeline_path(&s.device, Some(&s.profile));

    let as_reader = s.app.reader(Method::GET, &path).send().await.unwrap();
    assert_eq!(as_reader.status(), 200);
    let as_device = s
        .app
        .anonymous(Method::GET, &path)
        .bearer_auth(&s.credential)
        .send()
        .await
        .unwrap();
    assert_eq!(as_device.status(), 401);
    let anonymous = s.app.anonymous(Method::GET, &path).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}

backend_tests!(
    a_device_outside_the_assigned_groups_is_not_targeted_because_not_assigned,
    an_excluding_group_is_named_in_the_not_targeted_item,
    a_targeted_device_waits_for_check_in_until_it_is_offered_a_payload,
    an_offer_whose_challenge_expires_unpresented_is_challenge_expired_unused,
    a_denied_request_is_request_denied_naming_the_code_and_the_differing_rdn,
    an_issued_certificate_is_not_reported_until_a_check_in_lists_it_then_healthy,
    unassignment_shows_revocation_queued_and_its_result,
    a_profile_change_after_an_offer_appears_with_its_new_version,
    missing_user_values_are_all_named,
    without_profile_id_there_is_one_diagnosis_per_profile,
    unknown_devices_are_404_and_bad_profile_ids_422_naming_profile_id,
    readers_may_read_it_and_device_credentials_may_not,
);
