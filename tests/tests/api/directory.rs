//! `/api/v1/users`, `/api/v1/devices` and `/api/v1/groups` over HTTP: CRUD
//! with optimistic concurrency, uniqueness, validation, group members (all or
//! nothing, idempotent), cascading deletes and the reader role.

use crate::helpers::*;
use reqwest::{header, Method, Response};
use scepter_blackbox_tests::{assert_validation_error, backend_tests, json, problem, Backend, TestApp};
use serde_json::{json, Value};
use uuid::Uuid;

const USERS: &str = "/api/v1/users";
const DEVICES: &str = "/api/v1/devices";
const GROUPS: &str = "/api/v1/groups";

fn user_path(id: &str) -> String {
    format!("{USERS}/{id}")
}

fn device_path(id: &str) -> String {
    format!("{DEVICES}/{id}")
}

fn group_path(id: &str) -> String {
    format!("{GROUPS}/{id}")
}

fn members_path(group: &str) -> String {
    format!("{GROUPS}/{group}/members")
}

fn member_path(group: &str, member: &str) -> String {
    format!("{GROUPS}/{group}/members/{member}")
}

fn user_body(upn: &str) -> Value {
    json!({
        "userPrincipalName": upn,
        "displayName": format!("User {upn}"),
    })
}

fn device_body(name: &str, platform: &str) -> Value {
    json!({ "deviceName": name, "platform": platform })
}

fn group_body(name: &str, group_type: &str) -> Value {
    json!({ "displayName": name, "groupType": group_type })
}

async fn create_user(app: &TestApp, upn: &str) -> String {
    id_of(&create(app, USERS, &user_body(upn)).await)
}

async fn create_device(app: &TestApp, name: &str, user: Option<&str>) -> String {
    let body = with(device_body(name, "android"), json!({ "userId": user }));
    id_of(&create(app, DEVICES, &body).await)
}

async fn create_group(app: &TestApp, name: &str, group_type: &str) -> String {
    id_of(&create(app, GROUPS, &group_body(name, group_type)).await)
}

async fn add_members(app: &TestApp, group: &str, members: &[&str]) -> Response {
    app.post(&members_path(group), &json!({ "memberIds": members }))
        .await
}

/// Adds members, asserting 200, and returns the `{added, unchanged}` body.
async fn add_members_ok(app: &TestApp, group: &str, members: &[&str]) -> Value {
    expect_json(add_members(app, group, members).await, 200).await
}

/// Every member id of a group, following `nextCursor`.
async fn member_ids(app: &TestApp, group: &str) -> Vec<String> {
    all_ids(app, &members_path(group), 100).await
}

/// Every id of a collection, page by page with `limit`.
async fn all_ids(app: &TestApp, path: &str, limit: u32) -> Vec<String> {
    all_pages(app, path, limit)
        .await
        .iter()
        .flat_map(item_ids)
        .collect()
}

/// Every page of a collection with `limit`, following `nextCursor` until `null`.
async fn all_pages(app: &TestApp, path: &str, limit: u32) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(cursor) => format!("{path}?limit={limit}&cursor={cursor}"),
            None => format!("{path}?limit={limit}"),
        };
        let page = read(app, &url).await;
        cursor = page["nextCursor"].as_str().map(str::to_owned);
        pages.push(page);
        if cursor.is_none() {
            return pages;
        }
        assert!(pages.len() <= 100, "pagination does not end at {path}");
    }
}

/// Assigns a trusted profile to a group and returns the assignment id.
async fn assign(app: &TestApp, profile: &str, group: &str, intent: &str) -> String {
    let path = format!("{TRUSTED}/{profile}/assignments");
    id_of(&create(app, &path, &json!({ "groupId": group, "intent": intent })).await)
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn unknown_id() -> String {
    Uuid::now_v7().to_string()
}

// ---------------------------------------------------------------- users

async fn create_user_returns_201_with_location_and_etag_1(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = json!({
        "userPrincipalName": "jane@contoso.com",
        "displayName": "Jane Doe",
        "mail": "jane.doe@contoso.com",
        "onPremisesDistinguishedName": "CN=Jane Doe,OU=Staff,DC=contoso,DC=com",
        "onPremisesSamAccountName": "jdoe",
        "externalId": "aad-jane",
    });

    let response = app.post(USERS, &body).await;

    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(etag(&response), "\"1\"");
    let location = header_value(&response, header::LOCATION.as_str());
    let created = json(response).await;
    assert_eq!(location, user_path(&id_of(&created)));
    assert_eq!(created["version"], 1);
    assert_eq!(created["userPrincipalName"], "jane@contoso.com");
    assert_eq!(created["displayName"], "Jane Doe");
    assert_eq!(created["mail"], "jane.doe@contoso.com");
    assert_eq!(
        created["onPremisesDistinguishedName"],
        "CN=Jane Doe,OU=Staff,DC=contoso,DC=com"
    );
    assert_eq!(created["onPremisesSamAccountName"], "jdoe");
    assert_eq!(created["externalId"], "aad-jane");
    assert_eq!(
        timestamp(&created, "createdDateTime"),
        timestamp(&created, "lastModifiedDateTime")
    );
}

async fn get_user_returns_the_stored_user_with_its_etag(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let created = create(&app, USERS, &user_body("jane@contoso.com")).await;

    let response = app.get(&user_path(&id_of(&created))).await;

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(etag(&response), "\"1\"");
    assert_eq!(json(response).await, created);
}

async fn list_users_pages_with_limit_and_cursor_in_creation_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut created = Vec::new();
    for index in 0..5 {
        created.push(create_user(&app, &format!("user{index}@contoso.com")).await);
    }

    let pages = all_pages(&app, USERS, 2).await;

    let sizes: Vec<usize> = pages.iter().map(|page| item_ids(page).len()).collect();
    assert_eq!(sizes, vec![2, 2, 1]);
    let listed: Vec<String> = pages.iter().flat_map(item_ids).collect();
    assert_eq!(listed, created);
}

async fn replace_user_with_if_match_bumps_the_version_to_2(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = create_user(&app, "jane@contoso.com").await;
    let body = with(
        user_body("jane.doe@contoso.com"),
        json!({ "displayName": "Jane Doe" }),
    );

    let response = app.put(&user_path(&id), 1, &body).await;

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(etag(&response), "\"2\"");
    let replaced = json(response).await;
    assert_eq!(replaced["version"], 2);
    assert_eq!(replaced["userPrincipalName"], "jane.doe@contoso.com");
    assert_eq!(read(&app, &user_path(&id)).await, replaced);
}

async fn replace_user_at_a_stale_version_is_412_and_keeps_the_user(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = create_user(&app, "jane@contoso.com").await;
    let renamed = with(user_body("jane@contoso.com"), json!({ "displayName": "v2" }));
    expect_json(app.put(&user_path(&id), 1, &renamed).await, 200).await;

    let lost = with(user_body("jane@contoso.com"), json!({ "displayName": "lost" }));
    problem(app.put(&user_path(&id), 1, &lost).await, 412).await;

    let kept = read(&app, &user_path(&id)).await;
    assert_eq!(
        (kept["version"].clone(), kept["displayName"].clone()),
        (json!(2), json!("v2"))
    );
}

async fn replace_user_without_if_match_is_428(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = create_user(&app, "jane@contoso.com").await;

    let response = app
        .admin(Method::PUT, &user_path(&id))
        .json(&user_body("other@contoso.com"))
        .send()
        .await
        .expect("request");

    problem(response, 428).await;
    assert_eq!(read(&app, &user_path(&id)).await["version"], 1);
}

async fn delete_user_returns_204_then_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = create_user(&app, "jane@contoso.com").await;

    assert_eq!(app.delete(&user_path(&id)).await.status().as_u16(), 204);

    problem(app.get(&user_path(&id)).await, 404).await;
    problem(app.delete(&user_path(&id)).await, 404).await;
    assert_empty(&app, USERS).await;
}

async fn delete_with_a_stale_if_match_is_412_and_keeps_the_resource(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = create_user(&app, "jane@contoso.com").await;
    let device = create_device(&app, "PIXEL", None).await;
    let group = create_group(&app, "Sales", "user").await;

    for path in [user_path(&user), device_path(&device), group_path(&group)] {
        let response = app
            .admin(Method::DELETE, &path)
            .header(header::IF_MATCH, "\"7\"")
            .send()
            .await
            .expect("request");
        problem(response, 412).await;
        assert_eq!(read(&app, &path).await["version"], 1, "{path}");

        let response = app
            .admin(Method::DELETE, &path)
            .header(header::IF_MATCH, "\"1\"")
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 204, "{path}");
    }
}

async fn user_principal_names_are_unique_ignoring_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let jane = create_user(&app, "Jane@Contoso.com").await;

    problem(app.post(USERS, &user_body("jane@contoso.COM")).await, 409).await;

    assert_eq!(list_ids(&app, USERS).await, vec![jane]);
}

async fn renaming_a_user_to_another_users_principal_name_in_other_case_is_409(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_user(&app, "Jane@Contoso.com").await;
    let john = create_user(&app, "john@contoso.com").await;

    let response = app
        .put(&user_path(&john), 1, &user_body("JANE@contoso.com"))
        .await;

    problem(response, 409).await;
    let kept = read(&app, &user_path(&john)).await;
    assert_eq!(kept["userPrincipalName"], "john@contoso.com");
}

async fn duplicate_user_external_id_is_409(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = with(user_body("jane@contoso.com"), json!({ "externalId": "aad-1" }));
    let jane = id_of(&create(&app, USERS, &first).await);

    let second = with(user_body("john@contoso.com"), json!({ "externalId": "aad-1" }));
    problem(app.post(USERS, &second).await, 409).await;

    assert_eq!(list_ids(&app, USERS).await, vec![jane]);
}

async fn invalid_users_are_rejected_naming_field_and_rule(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cases = [
        (user_body("jane.contoso.com"), "userPrincipalName", "format"),
        (user_body("jane@"), "userPrincipalName", "format"),
        (user_body("jane doe@contoso.com"), "userPrincipalName", "format"),
        (
            with(user_body("jane@contoso.com"), json!({ "displayName": "  " })),
            "displayName",
            "required",
        ),
        (
            with(
                user_body("jane@contoso.com"),
                json!({ "displayName": "Jane\nDoe" }),
            ),
            "displayName",
            "noControlCharacters",
        ),
        (
            user_body("jane\u{7}@contoso.com"),
            "userPrincipalName",
            "noControlCharacters",
        ),
        (
            with(user_body("jane@contoso.com"), json!({ "mail": "not-a-mail" })),
            "mail",
            "format",
        ),
    ];

    for (body, field, rule) in cases {
        assert_validation_error(app.post(USERS, &body).await, field, rule).await;
    }

    assert_empty(&app, USERS).await;
}

// ---------------------------------------------------------------- devices

async fn create_device_returns_the_device_with_its_enrollment_time(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let jane = create_user(&app, "jane@contoso.com").await;
    let azure_id = Uuid::new_v4().to_string();
    let body = json!({
        "deviceName": "JANE-PIXEL",
        "platform": "android",
        "osVersion": "14",
        "serialNumber": "SN-0001",
        "imei": "490154203237518",
        "azureADDeviceId": azure_id,
        "userId": jane,
        "externalId": "intune-1",
    });

    let response = app.post(DEVICES, &body).await;

    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(etag(&response), "\"1\"");
    let location = header_value(&response, header::LOCATION.as_str());
    let created = json(response).await;
    assert_eq!(location, device_path(&id_of(&created)));
    assert_eq!(created["version"], 1);
    assert_eq!(created["deviceName"], "JANE-PIXEL");
    assert_eq!(created["platform"], "android");
    assert_eq!(created["osVersion"], "14");
    assert_eq!(created["serialNumber"], "SN-0001");
    assert_eq!(created["imei"], "490154203237518");
    assert_eq!(created["azureADDeviceId"], azure_id.as_str());
    assert_eq!(created["userId"], jane.as_str());
    assert_eq!(created["externalId"], "intune-1");
    assert_eq!(created["lastCheckInDateTime"], Value::Null);
    assert_eq!(
        timestamp(&created, "enrolledDateTime"),
        timestamp(&created, "lastModifiedDateTime")
    );
    assert_eq!(read(&app, &device_path(&id_of(&created))).await, created);
}

async fn device_crud_with_optimistic_concurrency(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = create_device(&app, "PIXEL-1", None).await;
    let changed = with(
        device_body("PIXEL-1-RENAMED", "android"),
        json!({ "osVersion": "15" }),
    );

    let response = app.put(&device_path(&id), 1, &changed).await;
    assert_eq!(etag(&response), "\"2\"");
    let replaced = expect_json(response, 200).await;
    assert_eq!(
        (
            replaced["version"].clone(),
            replaced["deviceName"].clone(),
            replaced["osVersion"].clone()
        ),
        (json!(2), json!("PIXEL-1-RENAMED"), json!("15"))
    );
    problem(app.put(&device_path(&id), 1, &changed).await, 412).await;
    let missing_if_match = app
        .admin(Method::PUT, &device_path(&id))
        .json(&changed)
        .send()
        .await
        .expect("request");
    problem(missing_if_match, 428).await;
    assert_eq!(list_ids(&app, DEVICES).await, vec![id.clone()]);

    assert_eq!(app.delete(&device_path(&id)).await.status().as_u16(), 204);
    problem(app.get(&device_path(&id)).await, 404).await;
}

async fn create_device_with_an_unknown_user_is_422_and_creates_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = with(device_body("PIXEL", "android"), json!({ "userId": unknown_id() }));

    assert_validation_error(app.post(DEVICES, &body).await, "userId", "exists").await;

    assert_empty(&app, DEVICES).await;
}

async fn replace_device_with_an_unknown_user_is_422_and_keeps_the_device(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = create_device(&app, "PIXEL", None).await;
    let body = with(device_body("PIXEL", "android"), json!({ "userId": unknown_id() }));

    assert_validation_error(app.put(&device_path(&id), 1, &body).await, "userId", "exists").await;

    let kept = read(&app, &device_path(&id)).await;
    assert_eq!(
        (kept["version"].clone(), kept["userId"].clone()),
        (json!(1), Value::Null)
    );
}

async fn create_device_with_a_malformed_imei_is_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    for imei in ["12345", "49015420323751X", "12345678901234567"] {
        let body = with(device_body("PIXEL", "android"), json!({ "imei": imei }));
        assert_validation_error(app.post(DEVICES, &body).await, "imei", "format").await;
    }

    assert_empty(&app, DEVICES).await;
}

async fn azure_ad_device_id_is_spelled_with_a_capital_ad(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let azure_id = Uuid::new_v4().to_string();

    let lower_case = with(
        device_body("PIXEL", "android"),
        json!({ "azureAdDeviceId": azure_id }),
    );
    assert_validation_error(app.post(DEVICES, &lower_case).await, "azureAdDeviceId", "schema").await;
    let not_a_uuid = with(
        device_body("PIXEL", "android"),
        json!({ "azureADDeviceId": "pixel" }),
    );
    assert_validation_error(app.post(DEVICES, &not_a_uuid).await, "azureADDeviceId", "schema").await;
    assert_empty(&app, DEVICES).await;

    let body = with(
        device_body("PIXEL", "android"),
        json!({ "azureADDeviceId": azure_id }),
    );
    let created = create(&app, DEVICES, &body).await;
    assert_eq!(created["azureADDeviceId"], azure_id.as_str());
    assert!(created.get("azureAdDeviceId").is_none(), "{created}");
}

async fn deleting_a_user_clears_it_as_primary_user_of_its_devices(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let jane = create_user(&app, "jane@contoso.com").await;
    let john = create_user(&app, "john@contoso.com").await;
    let janes = create_device(&app, "JANE-1", Some(&jane)).await;
    let johns = create_device(&app, "JOHN-1", Some(&john)).await;

    assert_eq!(app.delete(&user_path(&jane)).await.status().as_u16(), 204);

    assert_eq!(read(&app, &device_path(&janes)).await["userId"], Value::Null);
    assert_eq!(read(&app, &device_path(&johns)).await["userId"], john.as_str());
}

// ---------------------------------------------------------------- groups

async fn group_crud_with_optimistic_concurrency(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = with(
        group_body("Sales", "user"),
        json!({ "description": "Sales staff", "externalId": "aad-sales" }),
    );

    let response = app.post(GROUPS, &body).await;
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(etag(&response), "\"1\"");
    let location = header_value(&response, header::LOCATION.as_str());
    let created = json(response).await;
    let id = id_of(&created);
    assert_eq!(location, group_path(&id));
    assert_eq!(
        (
            created["displayName"].clone(),
            created["description"].clone(),
            created["groupType"].clone(),
            created["externalId"].clone(),
        ),
        (
            json!("Sales"),
            json!("Sales staff"),
            json!("user"),
            json!("aad-sales")
        )
    );
    assert_eq!(read(&app, &group_path(&id)).await, created);
    assert_eq!(list_ids(&app, GROUPS).await, vec![id.clone()]);

    let renamed = with(body.clone(), json!({ "displayName": "Sales EMEA" }));
    let replaced = expect_json(app.put(&group_path(&id), 1, &renamed).await, 200).await;
    assert_eq!(
        (replaced["version"].clone(), replaced["displayName"].clone()),
        (json!(2), json!("Sales EMEA"))
    );
    problem(app.put(&group_path(&id), 1, &renamed).await, 412).await;
    let missing_if_match = app
        .admin(Method::PUT, &group_path(&id))
        .json(&renamed)
        .send()
        .await
        .expect("request");
    problem(missing_if_match, 428).await;

    assert_eq!(app.delete(&group_path(&id)).await.status().as_u16(), 204);
    problem(app.get(&group_path(&id)).await, 404).await;
    assert_empty(&app, GROUPS).await;
}

async fn duplicate_group_external_id_is_409(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = with(group_body("Sales", "user"), json!({ "externalId": "aad-sales" }));
    let sales = id_of(&create(&app, GROUPS, &body).await);

    let duplicate = with(
        group_body("Laptops", "device"),
        json!({ "externalId": "aad-sales" }),
    );
    problem(app.post(GROUPS, &duplicate).await, 409).await;

    assert_eq!(list_ids(&app, GROUPS).await, vec![sales]);
}

async fn replacing_a_group_with_another_group_type_is_422_and_keeps_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = create_group(&app, "Sales", "user").await;

    let response = app.put(&group_path(&id), 1, &group_body("Sales", "device")).await;

    assert_validation_error(response, "groupType", "immutable").await;
    let kept = read(&app, &group_path(&id)).await;
    assert_eq!(
        (kept["version"].clone(), kept["groupType"].clone()),
        (json!(1), json!("user"))
    );
}

// ---------------------------------------------------------------- members

async fn adding_users_to_a_user_group_reports_how_many_were_added(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let group = create_group(&app, "Sales", "user").await;
    let jane = create_user(&app, "jane@contoso.com").await;
    let john = create_user(&app, "john@contoso.com").await;

    let change = add_members_ok(&app, &group, &[&jane, &john]).await;

    assert_eq!(change, json!({ "added": 2, "unchanged": 0 }));
    assert_eq!(member_ids(&app, &group).await, sorted(vec![jane, john]));
}

async fn adding_members_again_is_idempotent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let group = create_group(&app, "Sales", "user").await;
    let jane = create_user(&app, "jane@contoso.com").await;
    let john = create_user(&app, "john@contoso.com").await;
    let mary = create_user(&app, "mary@contoso.com").await;
    add_members_ok(&app, &group, &[&jane, &john]).await;

    let again = add_members_ok(&app, &group, &[&jane, &john]).await;
    let partly = add_members_ok(&app, &group, &[&john, &mary]).await;

    assert_eq!(again, json!({ "added": 0, "unchanged": 2 }));
    assert_eq!(partly, json!({ "added": 1, "unchanged": 1 }));
    assert_eq!(member_ids(&app, &group).await, sorted(vec![jane, john, mary]));
}

async fn duplicate_ids_in_one_request_are_counted_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let group = create_group(&app, "Sales", "user").await;
    let jane = create_user(&app, "jane@contoso.com").await;
    let john = create_user(&app, "john@contoso.com").await;

    let change = add_members_ok(&app, &group, &[&jane, &jane, &john, &jane]).await;

    assert_eq!(change, json!({ "added": 2, "unchanged": 0 }));
    assert_eq!(member_ids(&app, &group).await, sorted(vec![jane, john]));
}

async fn adding_devices_to_a_device_group_works_the_same_way(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let group = create_group(&app, "Kiosks", "device").await;
    let first = create_device(&app, "KIOSK-1", None).await;
    let second = create_device(&app, "KIOSK-2", None).await;

    let change = add_members_ok(&app, &group, &[&first, &second, &first]).await;

    assert_eq!(change, json!({ "added": 2, "unchanged": 0 }));
    let page = read(&app, &members_path(&group)).await;
    let members: Vec<(Value, Value)> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|member| (member["memberType"].clone(), member["displayName"].clone()))
        .collect();
    assert_eq!(
        members,
        vec![
            (json!("device"), json!("KIOSK-1")),
            (json!("device"), json!("KIOSK-2"))
        ]
    );
}

async fn members_are_listed_in_id_order_with_type_and_display_name_page_by_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let group = create_group(&app, "Sales", "user").await;
    let mut users = Vec::new();
    for index in 0..5 {
        let body = with(
            user_body(&format!("user{index}@contoso.com")),
            json!({ "displayName": format!("User {index}"), "externalId": format!("ext-{index}") }),
        );
        users.push(id_of(&create(&app, USERS, &body).await));
    }
    let ids: Vec<&str> = users.iter().map(String::as_str).collect();
    add_members_ok(&app, &group, &ids).await;

    let pages = all_pages(&app, &members_path(&group), 2).await;

    let sizes: Vec<usize> = pages.iter().map(|page| item_ids(page).len()).collect();
    assert_eq!(sizes, vec![2, 2, 1]);
    let members: Vec<Value> = pages
        .iter()
        .flat_map(|page| page["items"].as_array().cloned().expect("items"))
        .collect();
    let mut expected: Vec<Value> = users
        .iter()
        .enumerate()
        .map(|(index, id)| {
            json!({
                "id": id,
                "memberType": "user",
                "displayName": format!("User {index}"),
                "externalId": format!("ext-{index}"),
            })
        })
        .collect();
    expected.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    assert_eq!(members, expected);
}

async fn removing_a_member_returns_204_then_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let group = create_group(&app, "Sales", "user").await;
    let jane = create_user(&app, "jane@contoso.com").await;
    let john = create_user(&app, "john@contoso.com").await;
    add_members_ok(&app, &group, &[&jane, &john]).await;

    let response = app.delete(&member_path(&group, &jane)).await;

    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(member_ids(&app, &group).await, vec![john]);
    problem(app.delete(&member_path(&group, &jane)).await, 404).await;
    assert_eq!(
        read(&app, &user_path(&jane)).await["id"],
        jane.as_str(),
        "the user stays"
    );
}

async fn adding_a_device_to_a_user_group_is_422_and_adds_none_of_the_ids(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let group = create_group(&app, "Sales", "user").await;
    let jane = create_user(&app, "jane@contoso.com").await;
    let john = create_user(&app, "john@contoso.com").await;
    let device = create_device(&app, "PIXEL", None).await;

    let response = add_members(&app, &group, &[&jane, &device, &john]).await;

    let document = assert_validation_error(response, "memberIds[1]", "memberType").await;
    assert_eq!(document["errors"].as_array().map(Vec::len), Some(1), "{document}");
    assert_eq!(member_ids(&app, &group).await, Vec::<String>::new());
}

async fn adding_a_user_to_a_device_group_is_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let group = create_group(&app, "Kiosks", "device").await;
    let device = create_device(&app, "KIOSK", None).await;
    let jane = create_user(&app, "jane@contoso.com").await;

    let response = add_members(&app, &group, &[&device, &jane]).await;

    assert_validation_error(response, "memberIds[1]", "memberType").await;
    assert_eq!(member_ids(&app, &group).await, Vec::<String>::new());
}

async fn adding_an_unknown_id_is_422_exists_and_adds_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let group = create_group(&app, "Sales", "user").await;
    let jane = create_user(&app, "jane@contoso.com").await;
    let device = create_device(&app, "PIXEL", None).await;
    let unknown = unknown_id();

    let response = add_members(&app, &group, &[&unknown, &jane, &device]).await;

    let document = problem(response, 422).await;
    assert_eq!(rules_for(&document, "memberIds[0]"), vec!["exists"], "{document}");
    assert_eq!(
        rules_for(&document, "memberIds[1]"),
        Vec::<&str>::new(),
        "{document}"
    );
    assert_eq!(
        rules_for(&document, "memberIds[2]"),
        vec!["memberType"],
        "{document}"
    );
    assert_eq!(member_ids(&app, &group).await, Vec::<String>::new());
}

async fn more_than_10000_member_ids_are_rejected_as_max_items(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let group = create_group(&app, "Sales", "user").await;
    let ids: Vec<String> = (0..10_001).map(|_| unknown_id()).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();

    let response = add_members(&app, &group, &ids).await;

    let document = assert_validation_error(response, "memberIds", "maxItems").await;
    assert_eq!(document["errors"].as_array().map(Vec::len), Some(1), "{document}");
}

async fn ten_thousand_unknown_member_ids_are_each_reported(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let group = create_group(&app, "Sales", "user").await;
    let ids: Vec<String> = (0..10_000).map(|_| unknown_id()).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();

    let response = add_members(&app, &group, &ids).await;

    let document = assert_validation_error(response, "memberIds[9999]", "exists").await;
    let errors = document["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 10_000);
    assert!(errors.iter().all(|error| error["rule"] == "exists"));
    assert_eq!(member_ids(&app, &group).await, Vec::<String>::new());
}

async fn members_of_an_unknown_group_are_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let jane = create_user(&app, "jane@contoso.com").await;
    let group = unknown_id();

    problem(app.get(&members_path(&group)).await, 404).await;
    problem(add_members(&app, &group, &[&jane]).await, 404).await;
    problem(app.delete(&member_path(&group, &jane)).await, 404).await;
}

// ---------------------------------------------------------------- cascades

async fn deleting_a_group_removes_its_memberships_and_assignments(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let group = create_group(&app, "Kiosks", "device").await;
    let other = create_group(&app, "Laptops", "device").await;
    let device = create_device(&app, "KIOSK", None).await;
    add_members_ok(&app, &group, &[&device]).await;
    add_members_ok(&app, &other, &[&device]).await;
    let profile = create_trusted(&app, "android").await;
    assign(&app, &profile, &group, "include").await;
    let kept = assign(&app, &profile, &other, "include").await;

    assert_eq!(app.delete(&group_path(&group)).await.status().as_u16(), 204);

    problem(app.get(&members_path(&group)).await, 404).await;
    let assignments = list_ids(&app, &format!("{TRUSTED}/{profile}/assignments")).await;
    assert_eq!(assignments, vec![kept.clone()]);
    let effective = read(&app, &format!("{DEVICES}/{device}/effective-profiles")).await;
    assert_eq!(effective["items"][0]["assignments"], json!([kept]));
    assert_eq!(member_ids(&app, &other).await, vec![device]);
}

async fn deleting_the_only_assigned_group_leaves_the_profile_without_assignments(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let group = create_group(&app, "Sales", "user").await;
    let profile = create_trusted(&app, "ios").await;
    assign(&app, &profile, &group, "exclude").await;

    assert_eq!(app.delete(&group_path(&group)).await.status().as_u16(), 204);

    assert_empty(&app, &format!("{TRUSTED}/{profile}/assignments")).await;
}

async fn deleting_a_user_removes_it_from_its_groups(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sales = create_group(&app, "Sales", "user").await;
    let staff = create_group(&app, "Staff", "user").await;
    let jane = create_user(&app, "jane@contoso.com").await;
    let john = create_user(&app, "john@contoso.com").await;
    add_members_ok(&app, &sales, &[&jane, &john]).await;
    add_members_ok(&app, &staff, &[&jane]).await;

    assert_eq!(app.delete(&user_path(&jane)).await.status().as_u16(), 204);

    assert_eq!(member_ids(&app, &sales).await, vec![john]);
    assert_eq!(member_ids(&app, &staff).await, Vec::<String>::new());
}

async fn deleting_a_device_removes_it_from_its_groups(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let group = create_group(&app, "Kiosks", "device").await;
    let first = create_device(&app, "KIOSK-1", None).await;
    let second = create_device(&app, "KIOSK-2", None).await;
    add_members_ok(&app, &group, &[&first, &second]).await;

    assert_eq!(app.delete(&device_path(&first)).await.status().as_u16(), 204);

    assert_eq!(member_ids(&app, &group).await, vec![second]);
}

// ---------------------------------------------------------------- roles

async fn reader_cannot_write_the_directory_or_assignments_but_can_read_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let jane = create_user(&app, "jane@contoso.com").await;
    let device = create_device(&app, "PIXEL", Some(&jane)).await;
    let group = create_group(&app, "Sales", "user").await;
    add_members_ok(&app, &group, &[&jane]).await;
    let profile = create_trusted(&app, "android").await;
    let assignment = assign(&app, &profile, &group, "include").await;
    let other_group = create_group(&app, "Staff", "user").await;
    let assignments = format!("{TRUSTED}/{profile}/assignments");
    let writes = [
        (Method::POST, USERS.to_owned(), user_body("john@contoso.com")),
        (Method::PUT, user_path(&jane), user_body("jane@contoso.com")),
        (Method::DELETE, user_path(&jane), Value::Null),
        (Method::POST, DEVICES.to_owned(), device_body("OTHER", "ios")),
        (Method::PUT, device_path(&device), device_body("PIXEL", "android")),
        (Method::DELETE, device_path(&device), Value::Null),
        (Method::POST, GROUPS.to_owned(), group_body("Other", "device")),
        (Method::PUT, group_path(&group), group_body("Renamed", "user")),
        (Method::DELETE, group_path(&group), Value::Null),
        (
            Method::POST,
            members_path(&other_group),
            json!({ "memberIds": [jane] }),
        ),
        (Method::DELETE, member_path(&group, &jane), Value::Null),
        (
            Method::POST,
            assignments.clone(),
            json!({ "groupId": other_group, "intent": "include" }),
        ),
        (Method::DELETE, format!("{assignments}/{assignment}"), Value::Null),
    ];

    for (method, path, body) in writes {
        let mut request = app
            .reader(method.clone(), &path)
            .header(header::IF_MATCH, "\"1\"");
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status().as_u16(), 403, "{method} {path}");
        problem(response, 403).await;
    }

    let reads = [
        USERS.to_owned(),
        user_path(&jane),
        DEVICES.to_owned(),
        device_path(&device),
        format!("{}/effective-profiles", device_path(&device)),
        GROUPS.to_owned(),
        group_path(&group),
        members_path(&group),
        assignments.clone(),
        format!("{TRUSTED}/{profile}/targeted-devices"),
    ];
    for path in reads {
        let response = app.reader(Method::GET, &path).send().await.expect("request");
        assert_eq!(response.status().as_u16(), 200, "GET {path}");
    }
    // Nothing the reader tried took effect.
    assert_eq!(list_ids(&app, USERS).await, vec![jane.clone()]);
    assert_eq!(list_ids(&app, DEVICES).await, vec![device]);
    assert_eq!(
        list_ids(&app, GROUPS).await,
        vec![group.clone(), other_group.clone()]
    );
    assert_eq!(member_ids(&app, &group).await, vec![jane]);
    assert_eq!(member_ids(&app, &other_group).await, Vec::<String>::new());
    assert_eq!(list_ids(&app, &assignments).await, vec![assignment]);
}

backend_tests!(
    create_user_returns_201_with_location_and_etag_1,
    get_user_returns_the_stored_user_with_its_etag,
    list_users_pages_with_limit_and_cursor_in_creation_order,
    replace_user_with_if_match_bumps_the_version_to_2,
    replace_user_at_a_stale_version_is_412_and_keeps_the_user,
    replace_user_without_if_match_is_428,
    delete_user_returns_204_then_404,
    delete_with_a_stale_if_match_is_412_and_keeps_the_resource,
    user_principal_names_are_unique_ignoring_case,
    renaming_a_user_to_another_users_principal_name_in_other_case_is_409,
    duplicate_user_external_id_is_409,
    invalid_users_are_rejected_naming_field_and_rule,
    create_device_returns_the_device_with_its_enrollment_time,
    device_crud_with_optimistic_concurrency,
    create_device_with_an_unknown_user_is_422_and_creates_nothing,
    replace_device_with_an_unknown_user_is_422_and_keeps_the_device,
    create_device_with_a_malformed_imei_is_422,
    azure_ad_device_id_is_spelled_with_a_capital_ad,
    deleting_a_user_clears_it_as_primary_user_of_its_devices,
    group_crud_with_optimistic_concurrency,
    duplicate_group_external_id_is_409,
    replacing_a_group_with_another_group_type_is_422_and_keeps_it,
    adding_users_to_a_user_group_reports_how_many_were_added,
    adding_members_again_is_idempotent,
    duplicate_ids_in_one_request_are_counted_once,
    adding_devices_to_a_device_group_works_the_same_way,
    members_are_listed_in_id_order_with_type_and_display_name_page_by_page,
    removing_a_member_returns_204_then_404,
    adding_a_device_to_a_user_group_is_422_and_adds_none_of_the_ids,
    adding_a_user_to_a_device_group_is_422,
    adding_an_unknown_id_is_422_exists_and_adds_nothing,
    more_than_10000_member_ids_are_rejected_as_max_items,
    ten_thousand_unknown_member_ids_are_each_reported,
    members_of_an_unknown_group_are_404,
    deleting_a_group_removes_its_memberships_and_assignments,
    deleting_the_only_assigned_group_leaves_the_profile_without_assignments,
    deleting_a_user_removes_it_from_its_groups,
    deleting_a_device_removes_it_from_its_groups,
    reader_cannot_write_the_directory_or_assignments_but_can_read_it,
);
