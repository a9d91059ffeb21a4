//! `?dryRun=true` over HTTP: a dry run answers what the write would do,
//! writes nothing (no version, no revocation, no audit entry), is refused
//! for the same reasons as the real call, and its counts are exactly what
//! the real call then does — checked against the devices' next check-ins
//! and the revocation queue.

use crate::helpers::{enrollment::*, *};
use reqwest::{header, Method};
use scepter_blackbox_tests::{assert_validation_error, backend_tests, problem, Backend, TestApp};
use serde_json::{json, Value};

const GROUPS: &str = "/api/v1/groups";
const DEVICES: &str = "/api/v1/devices";
const AUDIT: &str = "/api/v1/audit-events";

backend_tests!(
    a_replacement_rehearses_reissues_and_installs_then_does_exactly_that,
    an_exclusion_and_a_delete_rehearse_removals_and_revocations_then_do_exactly_that,
    excluding_a_device_from_the_root_rehearses_removing_the_scep_profile_it_anchors,
    including_a_group_the_root_does_not_reach_rehearses_nothing_there,
    dry_runs_are_refused_like_the_real_call_and_where_they_cannot_rehearse,
    a_dry_run_pages_its_devices,
);

/// The `report` of a device that installed version `version` of the profile,
/// holding `certificate` (a notified one) if any.
fn installed(s: &Scenario, version: i64, certificate: Option<&Value>) -> Value {
    json!({
        "installedProfiles": [{ "profileId": s.profile, "version": version }],
        "installedCertificates": certificate.map_or_else(Vec::new, |certificate| vec![json!({
            "profileId": s.profile,
            "thumbprintSha1": certificate["thumbprintSha1"],
            "notBefore": certificate["notBefore"],
            "notAfter": certificate["notAfter"],
        })]),
    })
}

/// Enrolls `s.device` for a certificate of the profile; returns it as listed.
async fn enroll_device(s: &Scenario) -> Value {
    let enrollment = fresh_enrollment(s, &s.credential).await;
    enroll(s, &enrollment, (-60, 365 * DAY)).await;
    read(&s.app, &format!("{DEVICES}/{}/certificates", s.device)).await["items"][0].clone()
}

/// A profile as read, as a request body: without what the server adds.
fn draft_of(mut profile: Value) -> Value {
    for field in [
        "id",
        "version",
        "createdDateTime",
        "lastModifiedDateTime",
        "warnings",
    ] {
        profile.as_object_mut().unwrap().remove(field);
    }
    profile
}

/// A new device group named `name` holding `devices`; its id.
async fn device_group(app: &TestApp, name: &str, devices: &[&String]) -> String {
    let group = id_of(&create(app, GROUPS, &json!({"displayName": name, "groupType": "device"})).await);
    expect_json(
        app.post(
            &format!("{GROUPS}/{group}/members"),
            &json!({"memberIds": devices}),
        )
        .await,
        200,
    )
    .await;
    group
}

fn actions(dry_run: &Value) -> Vec<(String, String, String)> {
    dry_run["devices"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|device| {
            (
                device["deviceId"].as_str().unwrap().to_owned(),
                device["action"].as_str().unwrap().to_owned(),
                device["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn audit_count(s: &Scenario) -> usize {
    read(&s.app, &format!("{AUDIT}?limit=500")).await["items"]
        .as_array()
        .unwrap()
        .len()
}

async fn a_replacement_rehearses_reissues_and_installs_then_does_exactly_that(backend: Backend) {
    let s = scenario(backend).await;
    let certificate = enroll_device(&s).await;
    let path = format!("{SCEP}/{}", s.profile);
    let current = read(&s.app, &path).await;
    let mut replacement = draft_of(current.clone());
    replacement["displayName"] = json!("Renamed");
    let audited = audit_count(&s).await;

    let rehearsal = expect_json(
        s.app.put(&format!("{path}?dryRun=true"), 1, &replacement).await,
        200,
    )
    .await;
    assert_eq!(rehearsal["dryRun"], true);
    assert_eq!(rehearsal["result"]["displayName"], "Renamed");
    assert_eq!(
        rehearsal["result"]["version"], 2,
        "the version the replacement would make"
    );
    assert_eq!(
        rehearsal["impact"],
        json!({"install": 1, "reissue": 1, "remove": 0, "revoke": 0, "unchanged": 0})
    );
    let mut expected = vec![
        (
            s.device.clone(),
            "reissue".to_owned(),
            "versionChanged".to_owned(),
        ),
        (
            s.other_device.clone(),
            "install".to_owned(),
            "versionChanged".to_owned(),
        ),
    ];
    expected.sort();
    assert_eq!(actions(&rehearsal), expected);
    let names: Vec<&str> = rehearsal["devices"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|device| device["deviceName"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"pixel-jane") && names.contains(&"pixel-other"),
        "{names:?}"
    );

    // Nothing was written.
    let unchanged = read(&s.app, &path).await;
    assert_eq!(unchanged["version"], 1);
    assert_eq!(unchanged["displayName"], current["displayName"]);
    assert_eq!(audit_count(&s).await, audited);

    // The real call does what the rehearsal said: both devices, at version 1, are offered version 2.
    expect_json(s.app.put(&path, 1, &replacement).await, 200).await;
    for (credential, held) in [(&s.credential, Some(&certificate)), (&s.other_credential, None)] {
        let response = check_in(&s.app, credential, &installed(&s, 1, held)).await;
        let item = item(&response, &s.profile);
        assert_eq!(
            (item["action"].as_str(), item["reason"].as_str()),
            (Some("install"), Some("versionChanged"))
        );
    }
}

async fn an_exclusion_and_a_delete_rehearse_removals_and_revocations_then_do_exactly_that(backend: Backend) {
    let s = scenario(backend).await;
    let certificate = enroll_device(&s).await;
    let excluded = device_group(&s.app, "Lost", &[&s.device]).await;
    let assignments = format!("{SCEP}/{}/assignments", s.profile);
    let exclusion = json!({"groupId": excluded, "intent": "exclude"});

    let rehearsal = expect_json(
        s.app
            .post(&format!("{assignments}?dryRun=true"), &exclusion)
            .await,
        200,
    )
    .await;
    assert_eq!(rehearsal["result"]["intent"], "exclude");
    assert_eq!(
        rehearsal["impact"],
        json!({"install": 0, "reissue": 0, "remove": 1, "revoke": 1, "unchanged": 1})
    );
    let removed = &rehearsal["devices"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|device| device["deviceId"] == s.device.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (removed["action"].as_str(), removed["revocations"].as_u64()),
        (Some("remove"), Some(1))
    );
    // Nothing was written: no assignment, nothing queued.
    assert_eq!(
        read(&s.app, &assignments).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(connector_get(&s.app, REVOCATIONS).await["items"]
        .as_array()
        .unwrap()
        .is_empty());

    // The real exclusion: the device removes the profile, its certificate is queued, the other is untouched.
    expect_json(s.app.post(&assignments, &exclusion).await, 201).await;
    let response = check_in(&s.app, &s.credential, &installed(&s, 1, Some(&certificate))).await;
    assert_eq!(item(&response, &s.profile)["action"], "remove");
    let response = check_in(&s.app, &s.other_credential, &installed(&s, 1, None)).await;
    assert_ne!(item(&response, &s.profile)["action"], "remove");
    let queued = connector_get(&s.app, REVOCATIONS).await;
    assert_eq!(queued["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        queued["items"][0]["thumbprintSha1"],
        certificate["thumbprintSha1"]
    );

    // A delete: the remaining device removes it; nothing more to revoke.
    let path = format!("{SCEP}/{}", s.profile);
    let rehearsal = expect_json(
        s.app
            .admin(Method::DELETE, &format!("{path}?dryRun=true"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(rehearsal["result"].is_null());
    assert_eq!(
        rehearsal["impact"],
        json!({"install": 0, "reissue": 0, "remove": 1, "revoke": 0, "unchanged": 0})
    );
    assert_eq!(read(&s.app, &path).await["version"], 1, "still there");
    assert_eq!(s.app.delete(&path).await.status(), 204);
    let response = check_in(&s.app, &s.other_credential, &installed(&s, 1, None)).await;
    assert_eq!(item(&response, &s.profile)["action"], "remove");
}

/// Rule 5: a SCEP profile applies only where its root does. Excluding a
/// device from the root (not from the SCEP profile) takes both from it; the
/// dry run of that root assignment says so. Its certificate is not queued for
/// revocation: revocation follows the SCEP profile's own targeting (rules
/// 1–4), and that did not change.
async fn excluding_a_device_from_the_root_rehearses_removing_the_scep_profile_it_anchors(backend: Backend) {
    let s = scenario(backend).await;
    let certificate = enroll_device(&s).await;
    let root = read(&s.app, &format!("{SCEP}/{}", s.profile)).await["rootCertificateId"]
        .as_str()
        .expect("rootCertificateId")
        .to_owned();
    let excluded = device_group(&s.app, "Untrusted", &[&s.device]).await;
    let assignments = format!("{TRUSTED}/{root}/assignments");
    let exclusion = json!({"groupId": excluded, "intent": "exclude"});

    let rehearsal = expect_json(
        s.app
            .post(&format!("{assignments}?dryRun=true"), &exclusion)
            .await,
        200,
    )
    .await;
    assert_eq!(
        rehearsal["impact"],
        json!({"install": 0, "reissue": 0, "remove": 1, "revoke": 0, "unchanged": 1}),
        "{rehearsal}"
    );
    let devices = rehearsal["devices"]["items"].as_array().unwrap();
    let removed = devices
        .iter()
        .find(|device| device["deviceId"] == s.device.as_str())
        .expect("the excluded device");
    assert_eq!(removed["action"], "remove");
    let mut profiles: Vec<(String, String)> = removed["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|profile| {
            (
                profile["profileId"].as_str().unwrap().to_owned(),
                profile["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    profiles.sort();
    let mut expected = vec![
        (root.clone(), "remove".to_owned()),
        (s.profile.clone(), "remove".to_owned()),
    ];
    expected.sort();
    assert_eq!(profiles, expected, "the root and the SCEP profile it anchors");
    let kept = devices
        .iter()
        .find(|device| device["deviceId"] == s.other_device.as_str())
        .expect("the other device");
    assert_eq!(kept["action"], "unchanged");
    assert!(connector_get(&s.app, REVOCATIONS).await["items"]
        .as_array()
        .unwrap()
        .is_empty());

    // The real exclusion does exactly that.
    expect_json(s.app.post(&assignments, &exclusion).await, 201).await;
    let mut report = installed(&s, 1, Some(&certificate));
    report["installedProfiles"]
        .as_array_mut()
        .unwrap()
        .push(json!({"profileId": root, "version": 1}));
    let response = check_in(&s.app, &s.credential, &report).await;
    assert_eq!(item(&response, &s.profile)["action"], "remove");
    assert_eq!(item(&response, &root)["action"], "remove");
    let response = check_in(&s.app, &s.other_credential, &installed(&s, 1, None)).await;
    assert_ne!(item(&response, &s.profile)["action"], "remove");
    assert!(connector_get(&s.app, REVOCATIONS).await["items"]
        .as_array()
        .unwrap()
        .is_empty());
}

/// Rule 5 the other way: assigning the SCEP profile to a group its root is
/// not assigned to brings it to none of that group's devices, in the dry run
/// and at check-in.
async fn including_a_group_the_root_does_not_reach_rehearses_nothing_there(backend: Backend) {
    let s = scenario(backend).await;
    let user = id_of(
        &create(
            &s.app,
            USERS,
            &json!({"userPrincipalName": "kim@contoso.com", "displayName": "Kim", "mail": "kim@contoso.com"}),
        )
        .await,
    );
    let tablet = id_of(
        &create(
            &s.app,
            DEVICES,
            &json!({"deviceName": "tablet", "platform": "android", "userId": user}),
        )
        .await,
    );
    let tablets = device_group(&s.app, "Tablets", &[&tablet]).await;
    let assignments = format!("{SCEP}/{}/assignments", s.profile);
    let inclusion = json!({"groupId": tablets, "intent": "include"});

    let rehearsal = expect_json(
        s.app
            .post(&format!("{assignments}?dryRun=true"), &inclusion)
            .await,
        200,
    )
    .await;
    assert_eq!(
        rehearsal["impact"],
        json!({"install": 0, "reissue": 0, "remove": 0, "revoke": 0, "unchanged": 2}),
        "the root reaches the two phones only: {rehearsal}"
    );

    expect_json(s.app.post(&assignments, &inclusion).await, 201).await;
    let credential = credential_for(&s.app, &tablet).await;
    let response = check_in(&s.app, &credential, &nothing_installed()).await;
    let offered = item(&response, &s.profile);
    assert_eq!(
        (offered["action"].as_str(), offered["reason"].as_str()),
        (Some("none"), Some("rootCertificateNotAssigned")),
        "{response}"
    );
}

async fn dry_runs_are_refused_like_the_real_call_and_where_they_cannot_rehearse(backend: Backend) {
    let s = scenario(backend).await;
    let path = format!("{SCEP}/{}", s.profile);
    let body = draft_of(read(&s.app, &path).await);
    let audited = audit_count(&s).await;

    // The real call's preconditions and validation.
    problem(s.app.put(&format!("{path}?dryRun=true"), 9, &body).await, 412).await;
    let unconditional = s
        .app
        .admin(Method::PUT, &format!("{path}?dryRun=true"))
        .json(&body)
        .send()
        .await
        .unwrap();
    problem(unconditional, 428).await;
    let invalid = with(body.clone(), json!({"keySize": 3}));
    assert_validation_error(
        s.app.put(&format!("{path}?dryRun=true"), 1, &invalid).await,
        "keySize",
        "oneOf",
    )
    .await;
    let assignments = format!("{SCEP}/{}/assignments", s.profile);
    let duplicate = json!({"groupId": s.group, "intent": "include"});
    problem(
        s.app
            .post(&format!("{assignments}?dryRun=true"), &duplicate)
            .await,
        409,
    )
    .await;
    let unknown_group = json!({"groupId": uuid::Uuid::now_v7(), "intent": "include"});
    assert_validation_error(
        s.app
            .post(&format!("{assignments}?dryRun=true"), &unknown_group)
            .await,
        "groupId",
        "exists",
    )
    .await;
    let stale_delete = s
        .app
        .admin(Method::DELETE, &format!("{path}?dryRun=true"))
        .header(header::IF_MATCH, "\"7\"")
        .send()
        .await
        .unwrap();
    problem(stale_delete, 412).await;
    problem(
        s.app
            .delete(&format!("{SCEP}/{}?dryRun=true", uuid::Uuid::now_v7()))
            .await,
        404,
    )
    .await;

    // Writes that cannot change what devices get do not rehearse: they refuse, and do nothing.
    let group = format!("{GROUPS}/{}", s.group);
    let renamed = json!({"displayName": "Renamed", "groupType": "device"});
    let rename = s
        .app
        .admin(Method::PUT, &format!("{group}?dryRun=true"))
        .header(header::IF_MATCH, "\"1\"")
        .json(&renamed)
        .send()
        .await
        .unwrap();
    assert_validation_error(rename, "dryRun", "supported").await;
    assert_eq!(read(&s.app, &group).await["version"], 1);
    assert_validation_error(
        s.app
            .post(&format!("{TRUSTED}?dryRun=false"), &trusted_body("android"))
            .await,
        "dryRun",
        "supported",
    )
    .await;
    assert_eq!(audit_count(&s).await, audited, "no refused call left an entry");
    assert_eq!(read(&s.app, &path).await["version"], 1);
    // Readers cannot rehearse writes either.
    let as_reader = s
        .app
        .reader(Method::DELETE, &format!("{path}?dryRun=true"))
        .send()
        .await
        .unwrap();
    problem(as_reader, 403).await;
}

async fn a_dry_run_pages_its_devices(backend: Backend) {
    let s = scenario(backend).await;
    let path = format!("{SCEP}/{}?dryRun=true&limit=1", s.profile);
    let first = expect_json(s.app.admin(Method::DELETE, &path).send().await.unwrap(), 200).await;
    assert_eq!(
        first["impact"]["remove"], 2,
        "counts cover every device, not the page"
    );
    assert_eq!(first["devices"]["items"].as_array().unwrap().len(), 1);
    let cursor = first["devices"]["nextCursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let second = expect_json(
        s.app
            .admin(Method::DELETE, &format!("{path}&cursor={cursor}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(second["devices"]["items"].as_array().unwrap().len(), 1);
    assert!(second["devices"]["nextCursor"].is_null());
    let mut seen = actions(&first);
    seen.extend(actions(&second));
    let mut expected = vec![s.device.clone(), s.other_device.clone()];
    expected.sort();
    assert_eq!(
        seen.into_iter().map(|(id, _, _)| id).collect::<Vec<_>>(),
        expected
    );
    problem(
        s.app
            .admin(Method::DELETE, &format!("{path}&cursor=nonsense"))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;

    // Unassigning rehearses too; the assignment stays.
    let assignment = format!("{SCEP}/{}/assignments/{}", s.profile, s.profile_assignment);
    let rehearsal = expect_json(
        s.app
            .admin(Method::DELETE, &format!("{assignment}?dryRun=true"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(rehearsal["result"].is_null());
    assert_eq!(
        rehearsal["impact"],
        json!({"install": 0, "reissue": 0, "remove": 2, "revoke": 0, "unchanged": 0})
    );
    let listed = read(&s.app, &format!("{SCEP}/{}/assignments", s.profile)).await;
    assert_eq!(listed["items"][0]["id"], s.profile_assignment.as_str());
    assert_eq!(read(&s.app, &format!("{SCEP}/{}", s.profile)).await["version"], 1);
}
