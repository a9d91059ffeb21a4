//! Dry runs are exact on random universes: for each kind of write that can
//! change what devices get, a seeded random directory (users, Android and iOS
//! devices, user and device groups, two roots, two SCEP profiles, random
//! include and exclude assignments) is brought to a steady state — every
//! device installed what it was offered and enrolled for every certificate —
//! then the write is rehearsed, made for real, and every device checks in
//! again. Each device's and profile's rehearsed action must be what its
//! check-in then says (install or reissue ⇔ offered, remove ⇔ removed, and
//! nothing else moves), and the rehearsed revocations exactly the
//! certificates the real call queued.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::helpers::{enrollment::*, *};
use reqwest::Method;
use scepter_blackbox_tests::{backend_tests, pki::TestCa, Backend, TestApp};
use serde_json::{json, Value};

backend_tests!(every_kind_of_rehearsable_write_is_exact_on_random_universes,);

/// A tiny deterministic generator (SplitMix64): the same seed, the same universe.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

struct Device {
    id: String,
    platform: &'static str,
    user: Option<String>,
    credential: String,
    /// What the device reports at check-in: profiles with versions, and its certificates.
    report: Value,
    /// `(profile)` of each live certificate it holds.
    holding: BTreeSet<String>,
}

struct Universe {
    app: TestApp,
    users: Vec<String>,
    devices: Vec<Device>,
    user_groups: Vec<String>,
    device_groups: Vec<String>,
    /// `[android root, iOS root]`, then `[user certificate, device certificate]` (both Android).
    roots: [String; 2],
    sceps: [String; 2],
    /// `(kind path, profile, assignment id)`.
    assignments: Vec<(&'static str, String, String)>,
}

async fn universe(backend: Backend, seed: u64) -> Universe {
    let mut random = Random(seed);
    let app = TestApp::spawn(backend).await;
    let ca = TestCa::new("Scepter Exactness CA");
    let mut users = Vec::new();
    for index in 0..4 {
        let upn = format!("user{index}@contoso.com");
        users.push(id_of(
            &create(
                &app,
                USERS,
                &json!({"userPrincipalName": upn, "displayName": upn, "mail": upn}),
            )
            .await,
        ));
    }
    let mut user_groups = Vec::new();
    let mut device_groups = Vec::new();
    for (index, kind) in ["user", "user", "device", "device", "device"].iter().enumerate() {
        let group = id_of(
            &create(
                &app,
                GROUPS,
                &json!({"displayName": format!("G{index}"), "groupType": kind}),
            )
            .await,
        );
        if *kind == "user" {
            user_groups.push(group);
        } else {
            device_groups.push(group);
        }
    }
    let mut devices = Vec::new();
    for index in 0..10 {
        let platform = if random.chance(65) { "android" } else { "ios" };
        let user = random.chance(80).then(|| random.pick(&users).clone());
        let id = id_of(
            &create(
                &app,
                DEVICES,
                &json!({"deviceName": format!("device-{index}"), "platform": platform, "userId": user}),
            )
            .await,
        );
        let credential = credential_for(&app, &id).await;
        devices.push(Device {
            id,
            platform,
            user,
            credential,
            report: nothing_installed(),
            holding: BTreeSet::new(),
        });
    }
    for group in &user_groups {
        let members: Vec<&String> = users.iter().filter(|_| random.chance(50)).collect();
        add_members(&app, group, &members).await;
    }
    for group in &device_groups {
        let members: Vec<&String> = devices
            .iter()
            .map(|device| &device.id)
            .filter(|_| random.chance(50))
            .collect();
        add_members(&app, group, &members).await;
    }
    let android_root = id_of(
        &create(
            &app,
            TRUSTED,
            &with(
                trusted_body("android"),
                json!({"trustedRootCertificate": ca.cert_pem}),
            ),
        )
        .await,
    );
    let ios_root = create_trusted(&app, "ios").await;
    let user_scep = id_of(
        &create(
            &app,
            SCEP,
            &with(
                scep_body(&android_root, "android"),
                json!({
                    "subjectNameFormat": "custom",
                    "subjectNameFormatString": "CN={{DeviceName}},O=Contoso",
                    "customSubjectAlternativeNames": [{"sanType": "userPrincipalName", "name": "{{UserPrincipalName}}"}],
                }),
            ),
        )
        .await,
    );
    let device_scep = id_of(
        &create(
            &app,
            SCEP,
            &with(
                scep_body(&android_root, "android"),
                json!({"certificateType": "device", "subjectNameFormat": "custom", "subjectNameFormatString": "CN={{DeviceName}}"}),
            ),
        )
        .await,
    );
    let all_groups: Vec<String> = user_groups.iter().chain(&device_groups).cloned().collect();
    let mut assignments = Vec::new();
    for (base, profile) in [
        (TRUSTED, &android_root),
        (TRUSTED, &ios_root),
        (SCEP, &user_scep),
        (SCEP, &device_scep),
    ] {
        let mut groups = all_groups.clone();
        for intent in ["include", "include", "exclude"] {
            let wanted = match intent {
                "include" => groups.len() == all_groups.len() || random.chance(50),
                _ => random.chance(40),
            };
            if wanted {
                let group = groups.remove(random.below(groups.len()));
                let assignment = id_of(
                    &create(
                        &app,
                        &format!("{base}/{profile}/assignments"),
                        &json!({"groupId": group, "intent": intent}),
                    )
                    .await,
                );
                assignments.push((base, profile.clone(), assignment));
            }
        }
    }
    let mut universe = Universe {
        app,
        users,
        devices,
        user_groups,
        device_groups,
        roots: [android_root, ios_root],
        sceps: [user_scep, device_scep],
        assignments,
    };
    settle(&mut universe, &ca).await;
    universe
}

async fn add_members(app: &TestApp, group: &str, members: &[&String]) {
    if !members.is_empty() {
        let added = app
            .post(
                &format!("{GROUPS}/{group}/members"),
                &json!({"memberIds": members}),
            )
            .await;
        assert_eq!(added.status(), 200);
    }
}

/// Every device installs what it is offered and enrolls for every
/// certificate; then each check-in asks for nothing.
async fn settle(universe: &mut Universe, ca: &TestCa) {
    for device in &mut universe.devices {
        let response = check_in(&universe.app, &device.credential, &nothing_installed()).await;
        let mut profiles = Vec::new();
        for item in response["items"].as_array().expect("items") {
            if item["action"] != "install" {
                continue;
            }
            profiles.push(json!({"profileId": item["profileId"], "version": item["version"]}));
            if universe
                .sceps
                .iter()
                .any(|scep| item["profileId"] == scep.as_str())
            {
                let enrollment = enrollment_of(item);
                let csr = enrollment.csr().generate();
                let transaction_id = transaction();
                assert_allowed(&verify(&universe.app, &transaction_id, &csr.pem, None).await);
                let issued = ca.issue(&csr.pem, -60, 365 * DAY);
                expect_json(notify(&universe.app, &transaction_id, &issued.pem).await, 201).await;
                device
                    .holding
                    .insert(item["profileId"].as_str().unwrap().to_owned());
            }
        }
        let certificates = read(&universe.app, &format!("{DEVICES}/{}/certificates", device.id)).await;
        let certificates: Vec<Value> = certificates["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|certificate| {
                json!({
                    "profileId": certificate["profileId"],
                    "thumbprintSha1": certificate["thumbprintSha1"],
                    "notBefore": certificate["notBefore"],
                    "notAfter": certificate["notAfter"],
                })
            })
            .collect();
        device.report = json!({"installedProfiles": profiles, "installedCertificates": certificates});
        let steady = check_in(&universe.app, &device.credential, &device.report).await;
        for item in steady["items"].as_array().unwrap() {
            assert!(
                item["action"] == "none",
                "device {} ({}) is not steady: {item}",
                device.id,
                device.platform
            );
        }
    }
}

/// One rehearsable write, as method, path and body.
struct Write {
    what: String,
    method: Method,
    path: String,
    body: Option<Value>,
    if_match: Option<i64>,
}

/// A random write of kind `kind` (0..12) in `universe`.
async fn random_write(universe: &Universe, kind: usize, random: &mut Random) -> Write {
    let app = &universe.app;
    let all_groups: Vec<&String> = universe
        .user_groups
        .iter()
        .chain(&universe.device_groups)
        .collect();
    let write =
        |what: &str, method: Method, path: String, body: Option<Value>, if_match: Option<i64>| Write {
            what: what.to_owned(),
            method,
            path,
            body,
            if_match,
        };
    match kind {
        0 => {
            // Add a device to a device group, or a user to a user group.
            if random.chance(50) {
                let group = random.pick(&universe.device_groups);
                let device = &random.pick(&universe.devices).id;
                let body = json!({"memberIds": [device]});
                write(
                    "add a device member",
                    Method::POST,
                    format!("{GROUPS}/{group}/members"),
                    Some(body),
                    None,
                )
            } else {
                let group = random.pick(&universe.user_groups);
                let user = random.pick(&universe.users);
                let body = json!({"memberIds": [user]});
                write(
                    "add a user member",
                    Method::POST,
                    format!("{GROUPS}/{group}/members"),
                    Some(body),
                    None,
                )
            }
        }
        1 => {
            // Remove an existing member.
            for _ in 0..20 {
                let group = *random.pick(&all_groups);
                let members = read(app, &format!("{GROUPS}/{group}/members")).await;
                let members = members["items"].as_array().unwrap();
                if !members.is_empty() {
                    let member = members[random.below(members.len())]["id"]
                        .as_str()
                        .unwrap()
                        .to_owned();
                    return write(
                        "remove a member",
                        Method::DELETE,
                        format!("{GROUPS}/{group}/members/{member}"),
                        None,
                        None,
                    );
                }
            }
            panic!("no group has members");
        }
        2 => write(
            "delete a group",
            Method::DELETE,
            format!("{GROUPS}/{}", random.pick(&all_groups)),
            None,
            None,
        ),
        3 => write(
            "delete a user",
            Method::DELETE,
            format!("{USERS}/{}", random.pick(&universe.users)),
            None,
            None,
        ),
        4 => write(
            "delete a device",
            Method::DELETE,
            format!("{DEVICES}/{}", random.pick(&universe.devices).id),
            None,
            None,
        ),
        5 => {
            let device = random.pick(&universe.devices);
            let platform = if random.chance(50) { "android" } else { "ios" };
            let user = random.chance(70).then(|| random.pick(&universe.users).clone());
            let index = universe
                .devices
                .iter()
                .position(|other| other.id == device.id)
                .unwrap();
            let body = json!({"deviceName": format!("device-{index}"), "platform": platform, "userId": user});
            write(
                "replace a device",
                Method::PUT,
                format!("{DEVICES}/{}", device.id),
                Some(body),
                Some(1),
            )
        }
        6 | 7 => {
            // Remove an assignment of a root (6) or of a SCEP profile (7).
            let base = if kind == 6 { TRUSTED } else { SCEP };
            let candidates: Vec<&(&str, String, String)> = universe
                .assignments
                .iter()
                .filter(|(kind, ..)| *kind == base)
                .collect();
            let (base, profile, assignment) = *random.pick(&candidates);
            write(
                "remove an assignment",
                Method::DELETE,
                format!("{base}/{profile}/assignments/{assignment}"),
                None,
                None,
            )
        }
        8 | 9 => {
            // Assign a root (8) or a SCEP profile (9) to a group, to include or exclude it.
            let (base, profile) = if kind == 8 {
                (TRUSTED, random.pick(&universe.roots))
            } else {
                (SCEP, random.pick(&universe.sceps))
            };
            let assigned: Vec<String> = read(app, &format!("{base}/{profile}/assignments")).await["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|assignment| assignment["groupId"].as_str().unwrap().to_owned())
                .collect();
            let free: Vec<&String> = all_groups
                .iter()
                .copied()
                .filter(|group| !assigned.contains(group))
                .collect();
            let group = *random.pick(&free);
            let intent = if random.chance(50) { "include" } else { "exclude" };
            let body = json!({"groupId": group, "intent": intent});
            write(
                "add an assignment",
                Method::POST,
                format!("{base}/{profile}/assignments"),
                Some(body),
                None,
            )
        }
        10 => {
            // Replace a root: a new version, to install again.
            let root = &universe.roots[0];
            let current = read(app, &format!("{TRUSTED}/{root}")).await;
            let body = json!({
                "displayName": "Renamed root",
                "platform": current["platform"],
                "trustedRootCertificate": current["trustedRootCertificate"],
            });
            write(
                "replace a root",
                Method::PUT,
                format!("{TRUSTED}/{root}"),
                Some(body),
                Some(1),
            )
        }
        _ => {
            // Replace a SCEP profile: a new subject name, certificates reissued.
            let scep = random.pick(&universe.sceps);
            let mut body = read(app, &format!("{SCEP}/{scep}")).await;
            for field in [
                "id",
                "version",
                "createdDateTime",
                "lastModifiedDateTime",
                "warnings",
            ] {
                body.as_object_mut().unwrap().remove(field);
            }
            body["subjectNameFormatString"] = json!("CN={{DeviceName}},OU=Reissued");
            write(
                "replace a SCEP profile",
                Method::PUT,
                format!("{SCEP}/{scep}"),
                Some(body),
                Some(1),
            )
        }
    }
}

async fn send(app: &TestApp, write: &Write, dry_run: bool) -> reqwest::Response {
    let separator = if write.path.contains('?') { '&' } else { '?' };
    let path = if dry_run {
        format!("{}{separator}dryRun=true&limit=500", write.path)
    } else {
        write.path.clone()
    };
    let mut request = app.admin(write.method.clone(), &path);
    if let Some(version) = write.if_match {
        request = request.header(reqwest::header::IF_MATCH, format!("\"{version}\""));
    }
    if let Some(body) = &write.body {
        request = request.json(body);
    }
    request.send().await.expect("request")
}

/// What a check-in says per profile: `offered`, `remove` or `none`.
fn observed(response: &Value) -> BTreeMap<String, &'static str> {
    response["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let action = match item["action"].as_str().unwrap() {
                "install" | "renew" => "offered",
                "remove" => "remove",
                _ => "none",
            };
            (item["profileId"].as_str().unwrap().to_owned(), action)
        })
        .collect()
}

async fn every_kind_of_rehearsable_write_is_exact_on_random_universes(backend: Backend) {
    // Over all writes, every action must have been seen: a test of nothing proves nothing.
    let mut seen: BTreeMap<&str, u64> = BTreeMap::new();
    for kind in 0..12 {
        let seed = 1_000 + kind as u64;
        let universe = universe(backend, seed).await;
        let mut random = Random(seed ^ 0xD1CE);
        let write = random_write(&universe, kind, &mut random).await;
        let context = format!("{} (seed {seed}): {} {}", write.what, write.method, write.path);

        let rehearsal = send(&universe.app, &write, true).await;
        let status = rehearsal.status();
        let rehearsal: Value = rehearsal.json().await.expect("JSON body");
        if status != 200 {
            // Refused: the real call must refuse alike.
            let real = send(&universe.app, &write, false).await;
            assert_eq!(real.status(), status, "{context}: {rehearsal}");
            *seen.entry("refused").or_default() += 1;
            continue;
        }
        assert!(rehearsal["devices"]["nextCursor"].is_null(), "{context}");
        let mut rehearsed: HashMap<(String, String), String> = HashMap::new();
        let mut rehearsed_revocations: HashMap<String, u64> = HashMap::new();
        for device in rehearsal["devices"]["items"].as_array().unwrap() {
            let device_id = device["deviceId"].as_str().unwrap().to_owned();
            rehearsed_revocations.insert(device_id.clone(), device["revocations"].as_u64().unwrap());
            for profile in device["profiles"].as_array().unwrap() {
                rehearsed.insert(
                    (
                        device_id.clone(),
                        profile["profileId"].as_str().unwrap().to_owned(),
                    ),
                    profile["action"].as_str().unwrap().to_owned(),
                );
            }
        }

        let real = send(&universe.app, &write, false).await;
        assert!(
            real.status().is_success(),
            "{context}: the real call answered {}",
            real.status()
        );

        let mut tally: BTreeMap<&str, u64> = BTreeMap::new();
        for device in &universe.devices {
            let response = check_in_raw(&universe.app, &device.credential, &device.report, None).await;
            let after: BTreeMap<String, &str> = if response.status() == 401 {
                // Deleted with its credential: every profile it had is gone.
                device.report["installedProfiles"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|profile| (profile["profileId"].as_str().unwrap().to_owned(), "remove"))
                    .collect()
            } else {
                observed(&expect_json(response, 200).await)
            };
            let mut weightiest = None;
            for (profile, action) in &after {
                let expected = rehearsed
                    .get(&(device.id.clone(), profile.clone()))
                    .map(String::as_str)
                    .unwrap_or("unchanged");
                let agrees = match *action {
                    "offered" if device.holding.contains(profile) => expected == "reissue",
                    "offered" => expected == "install",
                    "remove" => expected == "remove",
                    _ => expected == "unchanged",
                };
                assert!(
                    agrees,
                    "{context}: device {} ({}, user {:?}) profile {profile}: check-in says {action}, the dry run said {expected}",
                    device.id, device.platform, device.user
                );
                let device_action = match *action {
                    "offered" if device.holding.contains(profile) => Some(3),
                    "offered" => Some(2),
                    "remove" => Some(1),
                    _ => None,
                };
                weightiest = weightiest.max(device_action);
            }
            // What the dry run says moves for this device, the check-in shows.
            for ((rehearsed_device, profile), action) in &rehearsed {
                if rehearsed_device == &device.id && action != "unchanged" {
                    assert!(
                        after.get(profile).is_some_and(|observed| *observed != "none"),
                        "{context}: device {} profile {profile}: the dry run said {action}, the check-in shows nothing",
                        device.id
                    );
                }
            }
            if let Some(weight) = weightiest {
                *tally
                    .entry(["", "remove", "install", "reissue"][weight])
                    .or_default() += 1;
            }
        }
        for action in ["install", "reissue", "remove", "revoke"] {
            *seen.entry(action).or_default() += rehearsal["impact"][action].as_u64().unwrap();
        }
        for action in ["install", "reissue", "remove"] {
            assert_eq!(
                rehearsal["impact"][action].as_u64().unwrap(),
                tally.get(action).copied().unwrap_or(0),
                "{context}: devices to {action}: {rehearsal}"
            );
        }

        // The revocations the real call queued, per device.
        let queued = connector_get(&universe.app, REVOCATIONS).await;
        let mut queued_per_device: HashMap<String, u64> = HashMap::new();
        for certificate in queued["items"].as_array().unwrap() {
            *queued_per_device
                .entry(certificate["deviceId"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        assert_eq!(
            rehearsal["impact"]["revoke"].as_u64().unwrap(),
            queued["items"].as_array().unwrap().len() as u64,
            "{context}: {queued}"
        );
        for (device, count) in queued_per_device {
            assert_eq!(
                rehearsed_revocations.get(&device).copied(),
                Some(count),
                "{context}: device {device}"
            );
        }
    }
    assert!(
        seen.get("refused").copied().unwrap_or(0) <= 2,
        "too few writes were made: {seen:?}"
    );
    for action in ["install", "reissue", "remove", "revoke"] {
        assert!(
            seen.get(action).copied().unwrap_or(0) > 0,
            "no write rehearsed a {action}: {seen:?}"
        );
    }
    eprintln!("rehearsed and confirmed on {backend:?}: {seen:?}");
}
