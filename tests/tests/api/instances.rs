//! Two Scepter instances on one PostgreSQL database, as behind a load
//! balancer: each has its own connection pool, profile cache and check-in
//! facts cache. Concurrent conditional updates let exactly one writer win,
//! a challenge verified at both at once is allowed once, and check-ins at one
//! instance see membership changes made at the other at once.
//!
//! PostgreSQL only: several instances on one SQLite file is not a supported
//! deployment (the embedded default is one process).

use crate::helpers::{enrollment::*, *};
use reqwest::Method;
use scepter_blackbox_tests::{postgres_url, Backend, TestApp};
use serde_json::{json, Value};

/// Both instances of a fresh scenario, or `None` without PostgreSQL.
async fn two_instances() -> Option<(Scenario, TestApp)> {
    postgres_url()?;
    let scenario = scenario(Backend::Postgres).await;
    let other = scenario.app.another_instance().await;
    Some((scenario, other))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_if_match_updates_at_two_instances_let_exactly_one_win() {
    let Some((s, other)) = two_instances().await else {
        return;
    };
    let path = format!("{SCEP}/{}", s.profile);
    for round in 0..10 {
        let current = read(&s.app, &path).await;
        let version = current["version"].as_i64().unwrap();
        let mut body = current.clone();
        for key in [
            "id",
            "version",
            "createdDateTime",
            "lastModifiedDateTime",
            "warnings",
        ] {
            body.as_object_mut().unwrap().remove(key);
        }
        let rename = |name: &str| {
            let mut body = body.clone();
            body["displayName"] = json!(name);
            body
        };
        let (first_body, second_body) = (
            rename(&format!("first {round}")),
            rename(&format!("second {round}")),
        );
        let (first, second) = tokio::join!(
            s.app.put(&path, version, &first_body),
            other.put(&path, version, &second_body),
        );
        let mut statuses = [first.status().as_u16(), second.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 412], "round {round}");
    }
    assert_eq!(read(&other, &path).await["version"], 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_challenge_verified_at_both_instances_at_once_is_allowed_once() {
    let Some((s, other)) = two_instances().await else {
        return;
    };
    for round in 0..10 {
        let enrollment = fresh_enrollment(&s, &s.credential).await;
        let csr = enrollment.csr().generate();
        let (first_id, second_id) = (transaction(), transaction());
        let (first, second) = tokio::join!(
            verify(&s.app, &first_id, &csr.pem, None),
            verify(&other, &second_id, &csr.pem, None),
        );
        let allowed = [&first, &second].iter().filter(|v| v["allowed"] == true).count();
        assert_eq!(allowed, 1, "round {round}: {first} / {second}");
        let denied = if first["allowed"] == true { &second } else { &first };
        assert_denied(denied, "challengeReplayed", "0x00000411");
    }
}

/// The items of a check-in, as (profile, action, state) triples.
fn summary(response: &Value) -> Vec<(String, String, String)> {
    let mut items: Vec<_> = response["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["profileId"].as_str().unwrap().to_owned(),
                item["action"].as_str().unwrap().to_owned(),
                item["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    items.sort();
    items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn check_ins_at_one_instance_follow_membership_changes_at_the_other() {
    let Some((s, other)) = two_instances().await else {
        return;
    };
    let nothing = nothing_installed();
    let members = format!("/api/v1/groups/{}/members", s.group);
    let mut previous_tag = None;
    for round in 0..8 {
        // Membership flips at instance A while instance B serves check-ins concurrently.
        let change = async {
            if round % 2 == 0 {
                assert_eq!(
                    s.app.delete(&format!("{members}/{}", s.device)).await.status(),
                    204
                );
            } else {
                let added = s.app.post(&members, &json!({ "memberIds": [s.device] })).await;
                assert_eq!(added.status(), 200);
            }
        };
        let busy = async {
            for _ in 0..5 {
                check_in(&other, &s.credential, &nothing).await;
            }
        };
        tokio::join!(change, busy);
        // Once the change is answered, both instances agree with each other and with the
        // serial answer (effective profiles, computed afresh from the database).
        let at_b = check_in(&other, &s.credential, &nothing).await;
        let at_a = check_in(&s.app, &s.credential, &nothing).await;
        assert_eq!(summary(&at_b), summary(&at_a), "round {round}");
        let effective = read(
            &s.app,
            &format!("/api/v1/devices/{}/effective-profiles", s.device),
        )
        .await;
        let reaching = effective["items"].as_array().unwrap().len();
        let installs = summary(&at_b)
            .iter()
            .filter(|(_, action, _)| action == "install")
            .count();
        assert_eq!(installs, reaching, "round {round}: {at_b} vs {effective}");
        assert_eq!(reaching, if round % 2 == 0 { 0 } else { 2 }, "round {round}");
        let tag = etag(
            &s.app
                .anonymous(Method::POST, "/device/v1/checkin")
                .bearer_auth(&s.credential)
                .json(&nothing)
                .send()
                .await
                .unwrap(),
        );
        assert_ne!(
            Some(&tag),
            previous_tag.as_ref(),
            "round {round}: the state tag follows the change"
        );
        previous_tag = Some(tag);
    }
}
