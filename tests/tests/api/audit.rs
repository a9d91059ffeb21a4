//! The audit trail over HTTP: every successful admin write leaves one entry
//! naming the token's subject, the request and the fields it changed; a
//! refused write leaves none; certificates appear by thumbprint and secrets
//! never; the trail filters, pages and is readable by readers only.

use std::time::Duration;

use crate::helpers::{enrollment::*, *};
use reqwest::{header, Method, Response};
use scepter_api::tokens::Role;
use scepter_blackbox_tests::{backend_tests, problem, Backend, TestApp};
use serde_json::{json, Value};

const AUDIT: &str = "/api/v1/audit-events";
const GROUPS: &str = "/api/v1/groups";
const USERS: &str = "/api/v1/users";
const DEVICES: &str = "/api/v1/devices";

backend_tests!(
    profile_writes_record_the_actor_the_request_and_each_changed_field,
    trusted_profiles_show_certificates_by_thumbprint,
    refused_writes_leave_no_entry,
    assignments_and_members_are_changes_of_their_owner,
    credentials_and_certificates_are_recorded_without_secrets,
    the_trail_filters_by_actor_action_resource_and_time,
    the_trail_is_for_admins_and_readers_only,
);

/// Every entry of the trail (or of `query`), following the cursors.
async fn entries(app: &TestApp, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(cursor) => format!("{path}{separator}limit=2&cursor={cursor}"),
            None => format!("{path}{separator}limit=2"),
        };
        let page = read(app, &url).await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

fn history_path(collection: &str, id: &str) -> String {
    format!("/api/v1/{collection}/{id}/history")
}

fn request_id(response: &Response) -> String {
    header_value(response, "x-request-id")
}

fn paths(entry: &Value) -> Vec<&str> {
    entry["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| change["path"].as_str().unwrap())
        .collect()
}

fn change<'a>(entry: &'a Value, path: &str) -> &'a Value {
    entry["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|change| change["path"] == path)
        .unwrap_or_else(|| panic!("no change at {path} in {entry}"))
}

async fn profile_writes_record_the_actor_the_request_and_each_changed_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = create_trusted(&app, "ios").await;
    let created = app.post(SCEP, &scep_body(&root, "ios")).await;
    let created_request = request_id(&created);
    let profile = id_of(&expect_json(created, 201).await);
    let path = format!("{SCEP}/{profile}");

    let replacement = with(
        scep_body(&root, "ios"),
        json!({"displayName": "Renamed", "keySize": 4096}),
    );
    let replaced = app.put(&path, 1, &replacement).await;
    let replaced_request = request_id(&replaced);
    expect_json(replaced, 200).await;
    let deleted = app.delete(&path).await;
    assert_eq!(deleted.status(), 204);
    let deleted_request = request_id(&deleted);

    // The history outlives the profile.
    let history = entries(&app, &history_path("scep-certificate-profiles", &profile)).await;
    let actions: Vec<&str> = history
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "replace", "delete"]);
    for (entry, request) in history
        .iter()
        .zip([&created_request, &replaced_request, &deleted_request])
    {
        assert_eq!(entry["actor"], "test-admin");
        assert_eq!(entry["role"], "admin");
        assert_eq!(entry["resourceType"], "scepCertificateProfile");
        assert_eq!(entry["resourceId"], profile.as_str());
        assert_eq!(entry["requestId"], request.as_str());
    }

    let created = &history[0];
    assert_eq!(
        change(created, "/displayName")["after"],
        scep_body(&root, "ios")["displayName"]
    );
    assert_eq!(change(created, "/rootCertificateId")["after"], root.as_str());
    assert!(change(created, "/displayName")["before"].is_null());
    assert!(!paths(created)
        .iter()
        .any(|path| ["/id", "/version", "/createdDateTime"].contains(path)));

    // Exactly the two fields the replacement changed.
    let replaced = &history[1];
    assert_eq!(paths(replaced), ["/displayName", "/keySize"], "{replaced}");
    assert_eq!(change(replaced, "/keySize")["before"], 2048);
    assert_eq!(change(replaced, "/keySize")["after"], 4096);
    assert_eq!(change(replaced, "/displayName")["after"], "Renamed");

    // A delete shows what was deleted: the replaced version.
    let deleted = &history[2];
    assert_eq!(change(deleted, "/displayName")["before"], "Renamed");
    assert!(change(deleted, "/displayName")["after"].is_null());
}

async fn trusted_profiles_show_certificates_by_thumbprint(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = create_trusted(&app, "windows10").await;
    let body = with(
        trusted_body("windows10"),
        json!({"issuingCertificates": [pem_to_base64_der(INTERMEDIATE_CA)]}),
    );
    let path = format!("{TRUSTED}/{root}");
    expect_json(app.put(&path, 1, &body).await, 200).await;

    let history = entries(&app, &history_path("trusted-certificate-profiles", &root)).await;
    assert_eq!(history.len(), 2);
    assert_eq!(
        change(&history[0], "/trustedRootCertificate")["after"],
        ROOT_CA_SHA1
    );
    let issuing = change(&history[1], "/issuingCertificates");
    assert_eq!(issuing["before"], json!([]));
    assert_eq!(issuing["after"].as_array().unwrap().len(), 1);
    assert_eq!(
        issuing["after"][0].as_str().unwrap().len(),
        40,
        "a SHA-1 thumbprint"
    );
    let trail = serde_json::to_string(&history).unwrap();
    for der in [pem_to_base64_der(ROOT_CA), pem_to_base64_der(INTERMEDIATE_CA)] {
        assert!(!trail.contains(&der[..64]), "certificate bytes in the trail");
    }
}

async fn refused_writes_leave_no_entry(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = create_trusted(&app, "ios").await;
    let profile = create_scep(&app, &root, "ios").await;
    let before = entries(&app, AUDIT).await;
    assert_eq!(before.len(), 2);

    let path = format!("{SCEP}/{profile}");
    // 412: stale version; 428: no If-Match; 422: invalid body; 409: root in use;
    // 404: unknown resource.
    problem(app.put(&path, 7, &scep_body(&root, "ios")).await, 412).await;
    let unconditional = app
        .admin(Method::PUT, &path)
        .json(&scep_body(&root, "ios"))
        .send()
        .await
        .unwrap();
    problem(unconditional, 428).await;
    problem(
        app.put(&path, 1, &with(scep_body(&root, "ios"), json!({"keySize": 3})))
            .await,
        422,
    )
    .await;
    problem(app.delete(&format!("{TRUSTED}/{root}")).await, 409).await;
    // Refused after the update ran in its transaction (an iOS SCEP profile
    // cannot use an Android root): the entry rolls back with it.
    problem(
        app.put(&format!("{TRUSTED}/{root}"), 1, &trusted_body("android"))
            .await,
        409,
    )
    .await;
    problem(app.delete(&format!("{SCEP}/{}", uuid::Uuid::now_v7())).await, 404).await;
    let stale_delete = app
        .admin(Method::DELETE, &path)
        .header(header::IF_MATCH, "\"9\"")
        .send()
        .await
        .unwrap();
    problem(stale_delete, 412).await;
    problem(app.post(USERS, &json!({"displayName": "No UPN"})).await, 422).await;

    assert_eq!(entries(&app, AUDIT).await, before);
}

async fn assignments_and_members_are_changes_of_their_owner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = create_trusted(&app, "android").await;
    let profile = create_scep(&app, &root, "android").await;
    let group = id_of(
        &create(
            &app,
            GROUPS,
            &json!({"displayName": "Fleet", "groupType": "device"}),
        )
        .await,
    );
    let device = id_of(&create(&app, DEVICES, &json!({"deviceName": "D1", "platform": "android"})).await);
    let members = format!("{GROUPS}/{group}/members");

    expect_json(app.post(&members, &json!({"memberIds": [device]})).await, 200).await;
    // Adding an existing member changes nothing, and records nothing.
    expect_json(app.post(&members, &json!({"memberIds": [device]})).await, 200).await;
    assert_eq!(app.delete(&format!("{members}/{device}")).await.status(), 204);

    let group_history = entries(&app, &history_path("groups", &group)).await;
    let actions: Vec<&str> = group_history
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "addMembers", "removeMember"]);
    let joined = change(&group_history[1], &format!("/members/{device}"));
    assert_eq!(joined["after"], json!({"memberType": "device"}));
    assert!(joined["before"].is_null());
    let left = change(&group_history[2], &format!("/members/{device}"));
    assert_eq!(left["before"], json!({"memberType": "device"}));

    let assignments = format!("{SCEP}/{profile}/assignments");
    let assignment = id_of(
        &expect_json(
            app.post(&assignments, &json!({"groupId": group, "intent": "exclude"}))
                .await,
            201,
        )
        .await,
    );
    assert_eq!(
        app.delete(&format!("{assignments}/{assignment}")).await.status(),
        204
    );
    let profile_history = entries(&app, &history_path("scep-certificate-profiles", &profile)).await;
    let actions: Vec<&str> = profile_history
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "assign", "unassign"]);
    let assigned = change(&profile_history[1], &format!("/assignments/{assignment}"));
    assert_eq!(assigned["after"], json!({"groupId": group, "intent": "exclude"}));
    let unassigned = change(&profile_history[2], &format!("/assignments/{assignment}"));
    assert_eq!(
        unassigned["before"],
        json!({"groupId": group, "intent": "exclude"})
    );
    assert!(unassigned["after"].is_null());

    // Deleting the group is the group's last entry.
    assert_eq!(app.delete(&format!("{GROUPS}/{group}")).await.status(), 204);
    let group_history = entries(&app, &history_path("groups", &group)).await;
    assert_eq!(group_history.last().unwrap()["action"], "delete");
}

async fn credentials_and_certificates_are_recorded_without_secrets(backend: Backend) {
    let s = scenario(backend).await;
    let history = entries(&s.app, &history_path("devices", &s.device)).await;
    let issued = history
        .iter()
        .find(|entry| entry["action"] == "issueCredential")
        .expect("the scenario issued a credential");
    assert!(change(issued, "/credentialId")["after"].is_string());
    let trail = serde_json::to_string(&entries(&s.app, AUDIT).await).unwrap();
    assert!(!trail.contains(&s.credential), "a device credential in the trail");
    let secret = s.credential.rsplit('.').next().unwrap();
    assert!(!trail.contains(secret), "a credential's secret in the trail");

    let credentials = format!("{DEVICES}/{}/credentials", s.device);
    assert_eq!(s.app.delete(&credentials).await.status(), 204);
    let history = entries(&s.app, &history_path("devices", &s.device)).await;
    let revoked = history.last().unwrap();
    assert_eq!(revoked["action"], "revokeCredentials");
    assert_eq!(change(revoked, "/revokedCredentials")["after"], 1);

    // A certificate revoked by hand: the certificate's own entry.
    let enrollment = fresh_enrollment(&s, &s.other_credential).await;
    enroll(&s, &enrollment, (-60, 365 * DAY)).await;
    let certificate =
        read(&s.app, &format!("{DEVICES}/{}/certificates", s.other_device)).await["items"][0].clone();
    let id = certificate["id"].as_str().unwrap();
    let revoke = format!("{DEVICES}/{}/certificates/{id}/revoke", s.other_device);
    expect_json(s.app.admin(Method::POST, &revoke).send().await.unwrap(), 200).await;
    let queued = entries(&s.app, &format!("{AUDIT}?resourceId={id}")).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0]["action"], "revokeCertificate");
    assert_eq!(queued[0]["resourceType"], "certificate");
    assert_eq!(change(&queued[0], "/revokeStatus")["before"], "none");
    assert_eq!(change(&queued[0], "/revokeStatus")["after"], "pending");
}

async fn the_trail_filters_by_actor_action_resource_and_time(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = TestApp::authority()
        .issue("other-admin", Role::Admin, Duration::from_secs(600))
        .unwrap();
    let mine = id_of(
        &create(
            &app,
            USERS,
            &json!({"userPrincipalName": "a@contoso.com", "displayName": "A"}),
        )
        .await,
    );
    let cut = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let theirs = app
        .anonymous(Method::POST, USERS)
        .bearer_auth(&other)
        .json(&json!({"userPrincipalName": "b@contoso.com", "displayName": "B"}))
        .send()
        .await
        .unwrap();
    let theirs = id_of(&expect_json(theirs, 201).await);
    assert_eq!(app.delete(&format!("{USERS}/{mine}")).await.status(), 204);

    let ids = |entries: &[Value]| -> Vec<String> {
        entries
            .iter()
            .map(|entry| entry["resourceId"].as_str().unwrap().to_owned())
            .collect()
    };
    let (mine, theirs) = (mine.as_str(), theirs.as_str());
    let by_other = entries(&app, &format!("{AUDIT}?actor=other-admin")).await;
    assert_eq!(ids(&by_other), [theirs]);
    assert_eq!(by_other[0]["actor"], "other-admin");
    let deletes = entries(&app, &format!("{AUDIT}?action=delete")).await;
    assert_eq!(ids(&deletes), [mine]);
    let about_mine = entries(&app, &format!("{AUDIT}?resourceId={mine}")).await;
    assert_eq!(about_mine.len(), 2);
    let users = entries(&app, &format!("{AUDIT}?resourceType=user")).await;
    assert_eq!(users.len(), 3);
    let cut = cut
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        .replace('+', "%2B");
    let before_cut = entries(&app, &format!("{AUDIT}?to={cut}")).await;
    assert_eq!(ids(&before_cut), [mine]);
    let after_cut = entries(&app, &format!("{AUDIT}?from={cut}")).await;
    assert_eq!(ids(&after_cut), [theirs, mine]);

    problem(app.get(&format!("{AUDIT}?from={cut}&to={cut}")).await, 422).await;
    problem(app.get(&format!("{AUDIT}?action=drop")).await, 400).await;
    problem(app.get(&format!("{AUDIT}?limit=0")).await, 422).await;
    problem(
        app.get("/api/v1/widgets/0190a1b2-0000-7000-8000-000000000000/history")
            .await,
        404,
    )
    .await;
}

async fn the_trail_is_for_admins_and_readers_only(backend: Backend) {
    let s = scenario(backend).await;
    let history = history_path("devices", &s.device);
    for path in [AUDIT, history.as_str()] {
        assert_eq!(
            s.app.reader(Method::GET, path).send().await.unwrap().status(),
            200
        );
        problem(s.app.anonymous(Method::GET, path).send().await.unwrap(), 401).await;
        // A device's own credential is not an admin token.
        let as_device = s
            .app
            .anonymous(Method::GET, path)
            .bearer_auth(&s.credential)
            .send()
            .await
            .unwrap();
        problem(as_device, 401).await;
    }
    // Reads are not recorded.
    let count = entries(&s.app, AUDIT).await.len();
    read(&s.app, &format!("{DEVICES}/{}", s.device)).await;
    assert_eq!(entries(&s.app, AUDIT).await.len(), count);
}
