//! Profile assignments and targeting over HTTP: one test per rule of
//! `scepter_domain::targeting` through `GET /devices/{id}/effective-profiles`,
//! the assignments API, `targeted-devices`, and a consistency check of the
//! `targeted-devices` SQL against the domain rules.

use std::collections::BTreeSet;

use crate::helpers::*;
use scepter_blackbox_tests::{assert_validation_error, backend_tests, problem, Backend, TestApp};
use serde_json::{json, Value};
use uuid::Uuid;

const USERS: &str = "/api/v1/users";
const DEVICES: &str = "/api/v1/devices";
const GROUPS: &str = "/api/v1/groups";

/// The two kinds of profile, as the API names and routes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Trusted,
    Scep,
}

impl Kind {
    fn base(self) -> &'static str {
        match self {
            Kind::Trusted => TRUSTED,
            Kind::Scep => SCEP,
        }
    }

    fn profile_type(self) -> &'static str {
        match self {
            Kind::Trusted => "trustedCertificate",
            Kind::Scep => "scepCertificate",
        }
    }
}

use Kind::{Scep, Trusted};

fn assignments_path(kind: Kind, profile: &str) -> String {
    format!("{}/{profile}/assignments", kind.base())
}

fn targeted_path(kind: Kind, profile: &str) -> String {
    format!("{}/{profile}/targeted-devices", kind.base())
}

async fn create_user(app: &TestApp, upn: &str) -> String {
    let body = json!({ "userPrincipalName": upn, "displayName": upn });
    id_of(&create(app, USERS, &body).await)
}

async fn create_device(app: &TestApp, platform: &str, user: Option<&str>) -> String {
    let body = json!({ "deviceName": format!("{platform} device"), "platform": platform, "userId": user });
    id_of(&create(app, DEVICES, &body).await)
}

async fn create_group(app: &TestApp, group_type: &str) -> String {
    let body = json!({ "displayName": format!("{group_type} group"), "groupType": group_type });
    id_of(&create(app, GROUPS, &body).await)
}

/// A group of `group_type` holding `members`.
async fn group_of(app: &TestApp, group_type: &str, members: &[&str]) -> String {
    let group = create_group(app, group_type).await;
    add_members(app, &group, members).await;
    group
}

async fn add_members(app: &TestApp, group: &str, members: &[&str]) {
    let path = format!("{GROUPS}/{group}/members");
    let response = app.post(&path, &json!({ "memberIds": members })).await;
    expect_json(response, 200).await;
}

/// A SCEP profile for `platform` issuing `certificate_type` certificates, rooted at `root`.
async fn create_scep_of_type(app: &TestApp, root: &str, platform: &str, certificate_type: &str) -> String {
    let body = with(
        scep_body(root, platform),
        json!({ "certificateType": certificate_type }),
    );
    id_of(&create(app, SCEP, &body).await)
}

/// Assigns a profile to a group and returns the assignment id.
async fn assign(app: &TestApp, kind: Kind, profile: &str, group: &str, intent: &str) -> String {
    let body = json!({ "groupId": group, "intent": intent });
    id_of(&create(app, &assignments_path(kind, profile), &body).await)
}

/// The `items` of a device's effective profiles.
async fn effective(app: &TestApp, device: &str, explain: bool) -> Value {
    let path = format!("{DEVICES}/{device}/effective-profiles?explain={explain}");
    read(app, &path).await["items"].clone()
}

/// One expected item of the effective profiles.
fn entry(kind: Kind, profile: &str, state: &str, reason: Option<&str>, assignments: &[&str]) -> Value {
    json!({
        "profileId": profile,
        "profileType": kind.profile_type(),
        "state": state,
        "reason": reason,
        "assignments": assignments,
    })
}

fn applicable(kind: Kind, profile: &str, assignments: &[&str]) -> Value {
    entry(kind, profile, "applicable", None, assignments)
}

/// Every device id a profile targets, following `nextCursor` with `limit`.
async fn targeted_ids(app: &TestApp, kind: Kind, profile: &str, limit: u32) -> Vec<String> {
    let mut ids = Vec::new();
    let mut path = format!("{}?limit={limit}", targeted_path(kind, profile));
    for _ in 0..100 {
        let page = read(app, &path).await;
        ids.extend(item_ids(&page));
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("{}?limit={limit}&cursor={cursor}", targeted_path(kind, profile)),
            None => return ids,
        }
    }
    panic!("targeted-devices pagination does not end");
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
    ids.sort();
    ids
}

fn unknown_id() -> String {
    Uuid::now_v7().to_string()
}

// ---------------------------------------------------------------- rule 1: inclusion

async fn a_device_in_an_included_device_group_gets_the_profile(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let device = create_device(&app, "android", None).await;
    let outsider = create_device(&app, "android", None).await;
    let group = group_of(&app, "device", &[&device]).await;
    let profile = create_trusted(&app, "android").await;
    let assignment = assign(&app, Trusted, &profile, &group, "include").await;

    let items = effective(&app, &device, false).await;

    assert_eq!(items, json!([applicable(Trusted, &profile, &[&assignment])]));
    assert_eq!(effective(&app, &outsider, true).await, json!([]));
}

async fn a_device_whose_primary_user_is_in_an_included_user_group_gets_the_profile(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let jane = create_user(&app, "jane@contoso.com").await;
    let john = create_user(&app, "john@contoso.com").await;
    let janes = create_device(&app, "ios", Some(&jane)).await;
    let johns = create_device(&app, "ios", Some(&john)).await;
    let group = group_of(&app, "user", &[&jane]).await;
    let profile = create_trusted(&app, "ios").await;
    let assignment = assign(&app, Trusted, &profile, &group, "include").await;

    let items = effective(&app, &janes, false).await;

    assert_eq!(items, json!([applicable(Trusted, &profile, &[&assignment])]));
    assert_eq!(effective(&app, &johns, true).await, json!([]));
}

async fn a_profile_included_through_both_kinds_lists_both_assignments(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let jane = create_user(&app, "jane@contoso.com").await;
    let device = create_device(&app, "android", Some(&jane)).await;
    let devices = group_of(&app, "device", &[&device]).await;
    let users = group_of(&app, "user", &[&jane]).await;
    let profile = create_trusted(&app, "android").await;
    let by_device = assign(&app, Trusted, &profile, &devices, "include").await;
    let by_user = assign(&app, Trusted, &profile, &users, "include").await;

    let items = effective(&app, &device, false).await;

    assert_eq!(items.as_array().map(Vec::len), Some(1), "{items}");
    let listed: BTreeSet<&str> = items[0]["assignments"]
        .as_array()
        .expect("assignments")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(listed, BTreeSet::from([by_device.as_str(), by_user.as_str()]));
    assert_eq!(items[0]["state"], "applicable");
}

// ---------------------------------------------------------------- rule 2: exclusion wins

async fn a_device_group_exclusion_beats_a_user_group_inclusion(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let jane = create_user(&app, "jane@contoso.com").await;
    let device = create_device(&app, "android", Some(&jane)).await;
    let users = group_of(&app, "user", &[&jane]).await;
    let excluded = group_of(&app, "device", &[&device]).await;
    let profile = create_trusted(&app, "android").await;
    assign(&app, Trusted, &profile, &users, "include").await;
    let exclusion = assign(&app, Trusted, &profile, &excluded, "exclude").await;

    assert_eq!(effective(&app, &device, false).await, json!([]));
    assert_eq!(
        effective(&app, &device, true).await,
        json!([entry(
            Trusted,
            &profile,
            "excluded",
            Some("assignmentExcluded"),
            &[&exclusion]
        )])
    );
}

async fn a_user_group_exclusion_beats_a_device_group_inclusion(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let jane = create_user(&app, "jane@contoso.com").await;
    let device = create_device(&app, "ios", Some(&jane)).await;
    let devices = group_of(&app, "device", &[&device]).await;
    let excluded = group_of(&app, "user", &[&jane]).await;
    let root = create_trusted(&app, "ios").await;
    let profile = create_scep_of_type(&app, &root, "ios", "device").await;
    let root_assignment = assign(&app, Trusted, &root, &devices, "include").await;
    assign(&app, Scep, &profile, &devices, "include").await;
    let exclusion = assign(&app, Scep, &profile, &excluded, "exclude").await;

    assert_eq!(
        effective(&app, &device, false).await,
        json!([applicable(Trusted, &root, &[&root_assignment])])
    );
    assert_eq!(
        effective(&app, &device, true).await,
        json!([
            applicable(Trusted, &root, &[&root_assignment]),
            entry(
                Scep,
                &profile,
                "excluded",
                Some("assignmentExcluded"),
                &[&exclusion]
            ),
        ])
    );
}

async fn an_exclusion_alone_does_not_list_the_profile(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let device = create_device(&app, "android", None).await;
    let group = group_of(&app, "device", &[&device]).await;
    let profile = create_trusted(&app, "android").await;
    assign(&app, Trusted, &profile, &group, "exclude").await;

    assert_eq!(effective(&app, &device, true).await, json!([]));
}

// ---------------------------------------------------------------- rule 3: platform

async fn a_profile_for_another_platform_is_listed_only_when_explaining(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let device = create_device(&app, "ios", None).await;
    let group = group_of(&app, "device", &[&device]).await;
    let android = create_trusted(&app, "android").await;
    let ios = create_trusted(&app, "ios").await;
    let android_assignment = assign(&app, Trusted, &android, &group, "include").await;
    let ios_assignment = assign(&app, Trusted, &ios, &group, "include").await;

    assert_eq!(
        effective(&app, &device, false).await,
        json!([applicable(Trusted, &ios, &[&ios_assignment])])
    );
    assert_eq!(
        effective(&app, &device, true).await,
        json!([
            entry(
                Trusted,
                &android,
                "notApplicable",
                Some("platformMismatch"),
                &[&android_assignment]
            ),
            applicable(Trusted, &ios, &[&ios_assignment]),
        ])
    );
}

// ---------------------------------------------------------------- rule 4: primary user

async fn a_user_certificate_on_a_device_without_primary_user_is_not_applicable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let jane = create_user(&app, "jane@contoso.com").await;
    let shared = create_device(&app, "android", None).await;
    let personal = create_device(&app, "android", Some(&jane)).await;
    let group = group_of(&app, "device", &[&shared, &personal]).await;
    let root = create_trusted(&app, "android").await;
    let profile = create_scep_of_type(&app, &root, "android", "user").await;
    let root_assignment = assign(&app, Trusted, &root, &group, "include").await;
    let assignment = assign(&app, Scep, &profile, &group, "include").await;

    assert_eq!(
        effective(&app, &shared, false).await,
        json!([
            applicable(Trusted, &root, &[&root_assignment]),
            entry(
                Scep,
                &profile,
                "notApplicable",
                Some("noPrimaryUser"),
                &[&assignment]
            ),
        ])
    );
    assert_eq!(
        effective(&app, &personal, false).await,
        json!([
            applicable(Trusted, &root, &[&root_assignment]),
            applicable(Scep, &profile, &[&assignment]),
        ])
    );
}

async fn a_device_certificate_needs_no_primary_user(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let shared = create_device(&app, "android", None).await;
    let group = group_of(&app, "device", &[&shared]).await;
    let root = create_trusted(&app, "android").await;
    let profile = create_scep_of_type(&app, &root, "android", "device").await;
    let root_assignment = assign(&app, Trusted, &root, &group, "include").await;
    let assignment = assign(&app, Scep, &profile, &group, "include").await;

    assert_eq!(
        effective(&app, &shared, false).await,
        json!([
            applicable(Trusted, &root, &[&root_assignment]),
            applicable(Scep, &profile, &[&assignment]),
        ])
    );
}

// ---------------------------------------------------------------- rule 5: root certificate

async fn a_scep_profile_fails_until_its_root_reaches_the_device(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let device = create_device(&app, "ios", None).await;
    let scep_group = group_of(&app, "device", &[&device]).await;
    let root_group = group_of(&app, "device", &[&device]).await;
    let root = create_trusted(&app, "ios").await;
    let profile = create_scep_of_type(&app, &root, "ios", "device").await;
    let assignment = assign(&app, Scep, &profile, &scep_group, "include").await;

    assert_eq!(
        effective(&app, &device, false).await,
        json!([entry(
            Scep,
            &profile,
            "failed",
            Some("rootCertificateNotAssigned"),
            &[&assignment]
        )])
    );

    let root_assignment = assign(&app, Trusted, &root, &root_group, "include").await;

    assert_eq!(
        effective(&app, &device, false).await,
        json!([
            applicable(Trusted, &root, &[&root_assignment]),
            applicable(Scep, &profile, &[&assignment]),
        ])
    );
}

async fn a_scep_profile_fails_when_its_root_is_excluded_from_the_device(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let device = create_device(&app, "ios", None).await;
    let included = group_of(&app, "device", &[&device]).await;
    let excluded = group_of(&app, "device", &[&device]).await;
    let root = create_trusted(&app, "ios").await;
    let profile = create_scep_of_type(&app, &root, "ios", "device").await;
    assign(&app, Trusted, &root, &included, "include").await;
    assign(&app, Trusted, &root, &excluded, "exclude").await;
    let assignment = assign(&app, Scep, &profile, &included, "include").await;

    assert_eq!(
        effective(&app, &device, false).await,
        json!([entry(
            Scep,
            &profile,
            "failed",
            Some("rootCertificateNotAssigned"),
            &[&assignment]
        )])
    );
}

async fn effective_profiles_of_an_unknown_device_are_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let path = format!("{DEVICES}/{}/effective-profiles", unknown_id());

    problem(app.get(&path).await, 404).await;
}

// ---------------------------------------------------------------- assignments API

async fn create_assignment_returns_201_with_the_assignment(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let group = create_group(&app, "device").await;
    let root = create_trusted(&app, "android").await;
    let scep = create_scep(&app, &root, "android").await;

    for (kind, profile, intent) in [(Trusted, &root, "include"), (Scep, &scep, "exclude")] {
        let body = json!({ "groupId": group, "intent": intent });
        let created = expect_json(app.post(&assignments_path(kind, profile), &body).await, 201).await;

        assert!(
            Uuid::parse_str(created["id"].as_str().unwrap_or_default()).is_ok(),
            "{created}"
        );
        assert_eq!(created["profileId"], profile.as_str());
        assert_eq!(created["profileType"], kind.profile_type());
        assert_eq!(created["groupId"], group.as_str());
        assert_eq!(created["intent"], intent);
        timestamp(&created, "createdDateTime");
    }
}

async fn assigning_the_same_group_twice_is_409_whatever_the_intent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let group = create_group(&app, "user").await;
    let profile = create_trusted(&app, "android").await;
    let first = assign(&app, Trusted, &profile, &group, "include").await;

    for intent in ["include", "exclude"] {
        let body = json!({ "groupId": group, "intent": intent });
        problem(app.post(&assignments_path(Trusted, &profile), &body).await, 409).await;
    }

    assert_eq!(
        list_ids(&app, &assignments_path(Trusted, &profile)).await,
        vec![first]
    );
}

async fn assigning_an_unknown_group_is_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = create_trusted(&app, "android").await;
    let scep = create_scep(&app, &root, "android").await;

    for (kind, profile) in [(Trusted, &root), (Scep, &scep)] {
        let body = json!({ "groupId": unknown_id(), "intent": "include" });
        let response = app.post(&assignments_path(kind, profile), &body).await;
        assert_validation_error(response, "groupId", "exists").await;
        assert_empty(&app, &assignments_path(kind, profile)).await;
    }
}

async fn assignments_of_an_unknown_profile_are_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let group = create_group(&app, "device").await;
    let root = create_trusted(&app, "android").await;
    let body = json!({ "groupId": group, "intent": "include" });

    for kind in [Trusted, Scep] {
        let profile = unknown_id();
        problem(app.post(&assignments_path(kind, &profile), &body).await, 404).await;
        problem(app.get(&assignments_path(kind, &profile)).await, 404).await;
    }
    // A profile of the other kind is unknown too.
    problem(app.post(&assignments_path(Scep, &root), &body).await, 404).await;
}

async fn list_assignments_returns_each_assignment_in_creation_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let devices = create_group(&app, "device").await;
    let users = create_group(&app, "user").await;
    let other = create_group(&app, "user").await;
    let profile = create_trusted(&app, "ios").await;
    let unrelated = create_trusted(&app, "ios").await;
    let include = assign(&app, Trusted, &profile, &devices, "include").await;
    let exclude = assign(&app, Trusted, &profile, &users, "exclude").await;
    assign(&app, Trusted, &unrelated, &other, "include").await;

    let page = read(&app, &assignments_path(Trusted, &profile)).await;

    assert_eq!(item_ids(&page), vec![include, exclude]);
    let listed: Vec<(Value, Value)> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| (item["groupId"].clone(), item["intent"].clone()))
        .collect();
    assert_eq!(
        listed,
        vec![
            (json!(devices), json!("include")),
            (json!(users), json!("exclude"))
        ]
    );
    assert_eq!(page["nextCursor"], Value::Null);
}

async fn delete_assignment_returns_204_then_404_and_stops_the_profile(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let device = create_device(&app, "android", None).await;
    let group = group_of(&app, "device", &[&device]).await;
    let profile = create_trusted(&app, "android").await;
    let assignment = assign(&app, Trusted, &profile, &group, "include").await;
    let path = format!("{}/{assignment}", assignments_path(Trusted, &profile));

    assert_eq!(app.delete(&path).await.status().as_u16(), 204);

    problem(app.delete(&path).await, 404).await;
    assert_empty(&app, &assignments_path(Trusted, &profile)).await;
    assert_eq!(effective(&app, &device, true).await, json!([]));
    // The group can be assigned again.
    assign(&app, Trusted, &profile, &group, "exclude").await;
}

async fn deleting_an_assignment_through_another_profile_is_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let group = create_group(&app, "device").await;
    let profile = create_trusted(&app, "android").await;
    let other = create_trusted(&app, "android").await;
    let assignment = assign(&app, Trusted, &profile, &group, "include").await;

    let response = app
        .delete(&format!("{}/{assignment}", assignments_path(Trusted, &other)))
        .await;

    problem(response, 404).await;
    assert_eq!(
        list_ids(&app, &assignments_path(Trusted, &profile)).await,
        vec![assignment]
    );
}

async fn deleting_a_profile_removes_its_assignments(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let device = create_device(&app, "android", None).await;
    let group = group_of(&app, "device", &[&device]).await;
    let root = create_trusted(&app, "android").await;
    let scep = create_scep_of_type(&app, &root, "android", "device").await;
    let root_assignment = assign(&app, Trusted, &root, &group, "include").await;
    assign(&app, Scep, &scep, &group, "include").await;

    assert_eq!(app.delete(&format!("{SCEP}/{scep}")).await.status().as_u16(), 204);

    problem(app.get(&assignments_path(Scep, &scep)).await, 404).await;
    assert_eq!(
        effective(&app, &device, true).await,
        json!([applicable(Trusted, &root, &[&root_assignment])])
    );
    let recreated = create_scep_of_type(&app, &root, "android", "device").await;
    let assignment = assign(&app, Scep, &recreated, &group, "include").await;
    assert_eq!(
        effective(&app, &device, false).await,
        json!([
            applicable(Trusted, &root, &[&root_assignment]),
            applicable(Scep, &recreated, &[&assignment]),
        ])
    );

    // The root goes too, once nothing uses it, and with it its assignments.
    assert_eq!(
        app.delete(&format!("{SCEP}/{recreated}")).await.status().as_u16(),
        204
    );
    assert_eq!(
        app.delete(&format!("{TRUSTED}/{root}")).await.status().as_u16(),
        204
    );
    assert_eq!(effective(&app, &device, true).await, json!([]));
    let new_root = create_trusted(&app, "android").await;
    assign(&app, Trusted, &new_root, &group, "include").await;
}

// ---------------------------------------------------------------- targeted devices

async fn targeted_devices_lists_reached_devices_of_the_platform_in_id_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let included_user = create_user(&app, "jane@contoso.com").await;
    let other_included_user = create_user(&app, "john@contoso.com").await;
    let excluded_user = create_user(&app, "mary@contoso.com").await;
    let in_device_group = create_device(&app, "android", None).await;
    let excluded_device = create_device(&app, "android", None).await;
    let ios_in_device_group = create_device(&app, "ios", None).await;
    let through_user = create_device(&app, "android", Some(&included_user)).await;
    let unassigned = create_device(&app, "android", None).await;
    let through_both = create_device(&app, "android", Some(&included_user)).await;
    let through_other_user = create_device(&app, "android", Some(&other_included_user)).await;
    let excluded_through_user = create_device(&app, "android", Some(&excluded_user)).await;
    let devices = group_of(
        &app,
        "device",
        &[
            &in_device_group,
            &excluded_device,
            &ios_in_device_group,
            &through_both,
            &excluded_through_user,
        ],
    )
    .await;
    let users = group_of(&app, "user", &[&included_user, &other_included_user]).await;
    let excluded_devices = group_of(&app, "device", &[&excluded_device]).await;
    let excluded_users = group_of(&app, "user", &[&excluded_user]).await;
    let root = create_trusted(&app, "android").await;
    let profile = create_scep_of_type(&app, &root, "android", "user").await;
    for (group, intent) in [
        (&devices, "include"),
        (&users, "include"),
        (&excluded_devices, "exclude"),
        (&excluded_users, "exclude"),
    ] {
        assign(&app, Scep, &profile, group, intent).await;
    }

    let first = read(&app, &format!("{}?limit=2", targeted_path(Scep, &profile))).await;
    let listed = targeted_ids(&app, Scep, &profile, 2).await;

    let expected = sorted(&[
        &in_device_group,
        &through_user,
        &through_both,
        &through_other_user,
    ]);
    assert_eq!(listed, expected);
    assert_eq!(item_ids(&first), expected[..2].to_vec());
    assert!(first["nextCursor"].is_string(), "{first}");
    assert_eq!(first["items"][0]["platform"], "android");
    assert!(!listed.contains(&unassigned));
    assert!(!listed.contains(&ios_in_device_group));
    assert_empty(&app, &targeted_path(Trusted, &root)).await;
}

async fn targeted_devices_of_an_unknown_profile_is_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = create_trusted(&app, "android").await;

    for kind in [Trusted, Scep] {
        problem(app.get(&targeted_path(kind, &unknown_id())).await, 404).await;
    }
    problem(app.get(&targeted_path(Scep, &root)).await, 404).await;
}

// ---------------------------------------------------------------- consistency

/// A deterministic pseudo-random sequence (xorshift64*).
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % sides
    }
}

/// Builds a small directory with assignments of both intents from `seed`, and
/// checks that for every profile `targeted-devices` (the SQL) lists exactly
/// the devices whose effective profiles (the domain rules) list it.
/// Returns how many (device, profile) pairs were targeted and excluded.
async fn check_targeting_agrees(backend: Backend, seed: u64) -> (usize, usize) {
    let app = TestApp::spawn(backend).await;
    let mut dice = Dice(seed);
    let mut users = Vec::new();
    for index in 0..4 {
        users.push(create_user(&app, &format!("user{index}@contoso.com")).await);
    }
    let mut devices = Vec::new();
    for index in 0..8 {
        let platform = if index % 3 == 2 { "ios" } else { "android" };
        let user = match dice.roll(5) {
            4 => None,
            which => Some(users[which as usize].as_str()),
        };
        devices.push(create_device(&app, platform, user).await);
    }
    let mut groups = Vec::new();
    for (group_type, candidates) in [
        ("user", &users),
        ("user", &users),
        ("device", &devices),
        ("device", &devices),
    ] {
        let members: Vec<&str> = candidates
            .iter()
            .filter(|_| dice.roll(2) == 0)
            .map(String::as_str)
            .collect();
        let group = create_group(&app, group_type).await;
        if !members.is_empty() {
            add_members(&app, &group, &members).await;
        }
        groups.push(group);
    }
    let android_root = create_trusted(&app, "android").await;
    let ios_root = create_trusted(&app, "ios").await;
    let android_scep = create_scep_of_type(&app, &android_root, "android", "user").await;
    let profiles = [(Trusted, android_root), (Trusted, ios_root), (Scep, android_scep)];
    for (kind, profile) in &profiles {
        for group in &groups {
            let intent = match dice.roll(3) {
                0 => "include",
                1 => "exclude",
                _ => continue,
            };
            assign(&app, *kind, profile, group, intent).await;
        }
    }

    let mut listed_by_effective: Vec<BTreeSet<String>> = vec![BTreeSet::new(); profiles.len()];
    let mut excluded = 0;
    for device in &devices {
        for item in effective(&app, device, false).await.as_array().expect("items") {
            let position = profiles
                .iter()
                .position(|(_, profile)| item["profileId"] == profile.as_str())
                .expect("a known profile");
            listed_by_effective[position].insert(device.clone());
        }
        let explained = effective(&app, device, true).await;
        excluded += explained
            .as_array()
            .expect("items")
            .iter()
            .filter(|item| item["state"] == "excluded")
            .count();
    }
    let mut targeted = 0;
    for ((kind, profile), expected) in profiles.iter().zip(&listed_by_effective) {
        let listed = targeted_ids(&app, *kind, profile, 3).await;
        let mut in_order = listed.clone();
        in_order.sort();
        assert_eq!(
            listed, in_order,
            "seed {seed}: {kind:?} {profile} not in id order"
        );
        let listed: BTreeSet<String> = listed.into_iter().collect();
        assert_eq!(&listed, expected, "seed {seed}: {kind:?} {profile}");
        targeted += listed.len();
    }
    (targeted, excluded)
}

async fn targeted_devices_agree_with_effective_profiles(backend: Backend) {
    let mut targeted = 0;
    let mut excluded = 0;
    for seed in [0x5EED_0001, 0xC0FF_EE42, 0x0DDB_A115] {
        let (seed_targeted, seed_excluded) = check_targeting_agrees(backend, seed).await;
        targeted += seed_targeted;
        excluded += seed_excluded;
    }
    // The universes are not trivial: something is targeted and something excluded.
    assert!(targeted >= 5, "only {targeted} targeted pairs");
    assert!(excluded >= 3, "only {excluded} exclusions took effect");
}

backend_tests!(
    a_device_in_an_included_device_group_gets_the_profile,
    a_device_whose_primary_user_is_in_an_included_user_group_gets_the_profile,
    a_profile_included_through_both_kinds_lists_both_assignments,
    a_device_group_exclusion_beats_a_user_group_inclusion,
    a_user_group_exclusion_beats_a_device_group_inclusion,
    an_exclusion_alone_does_not_list_the_profile,
    a_profile_for_another_platform_is_listed_only_when_explaining,
    a_user_certificate_on_a_device_without_primary_user_is_not_applicable,
    a_device_certificate_needs_no_primary_user,
    a_scep_profile_fails_until_its_root_reaches_the_device,
    a_scep_profile_fails_when_its_root_is_excluded_from_the_device,
    effective_profiles_of_an_unknown_device_are_404,
    create_assignment_returns_201_with_the_assignment,
    assigning_the_same_group_twice_is_409_whatever_the_intent,
    assigning_an_unknown_group_is_422,
    assignments_of_an_unknown_profile_are_404,
    list_assignments_returns_each_assignment_in_creation_order,
    delete_assignment_returns_204_then_404_and_stops_the_profile,
    deleting_an_assignment_through_another_profile_is_404,
    deleting_a_profile_removes_its_assignments,
    targeted_devices_lists_reached_devices_of_the_platform_in_id_order,
    targeted_devices_of_an_unknown_profile_is_404,
    targeted_devices_agree_with_effective_profiles,
);
