//! Device credentials: issued once by an admin, revocable, and opening only
//! the device's own data on `/device/v1`.

use reqwest::{header, Method, Response};
use scepter_blackbox_tests::{backend_tests, json, problem, Backend, TestApp};
use serde_json::{json, Value};

backend_tests!(
    an_issued_credential_reads_its_own_device,
    a_device_never_sees_another_device,
    a_revoked_credential_is_refused,
    issuing_again_revokes_the_previous_credential,
    admin_tokens_do_not_open_the_device_api_and_credentials_do_not_open_the_admin_api,
    malformed_and_forged_credentials_are_refused,
    only_admins_issue_and_revoke_credentials,
    credentials_of_unknown_devices_are_not_found,
);

async fn create_device(app: &TestApp, name: &str) -> String {
    let response = app
        .post("/api/v1/devices", &json!({"deviceName": name, "platform": "ios"}))
        .await;
    assert_eq!(response.status(), 201);
    json(response).await["id"].as_str().expect("id").to_owned()
}

async fn issue(app: &TestApp, device: &str) -> String {
    let response = app
        .admin(Method::POST, &format!("/api/v1/devices/{device}/credentials"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let body: Value = json(response).await;
    body["credential"].as_str().expect("credential").to_owned()
}

async fn me(app: &TestApp, credential: &str) -> Response {
    app.anonymous(Method::GET, "/device/v1/me")
        .bearer_auth(credential)
        .send()
        .await
        .expect("request")
}

async fn an_issued_credential_reads_its_own_device(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let device = create_device(&app, "Jane iPhone").await;
    let credential = issue(&app, &device).await;

    let response = me(&app, &credential).await;

    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!(body["id"], device);
    assert_eq!(body["deviceName"], "Jane iPhone");
}

async fn a_device_never_sees_another_device(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let jane = create_device(&app, "Jane iPhone").await;
    let john = create_device(&app, "John iPhone").await;
    let jane_credential = issue(&app, &jane).await;
    let john_credential = issue(&app, &john).await;

    assert_eq!(json(me(&app, &jane_credential).await).await["id"], jane);
    assert_eq!(json(me(&app, &john_credential).await).await["id"], john);
    // The admin API is closed to device credentials, whatever id is asked for.
    let peek = app
        .anonymous(Method::GET, &format!("/api/v1/devices/{john}"))
        .bearer_auth(&jane_credential)
        .send()
        .await
        .expect("request");
    problem(peek, 401).await;
}

async fn a_revoked_credential_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let device = create_device(&app, "Jane iPhone").await;
    let credential = issue(&app, &device).await;

    let revoked = app.delete(&format!("/api/v1/devices/{device}/credentials")).await;
    assert_eq!(revoked.status(), 204);

    problem(me(&app, &credential).await, 401).await;
}

async fn issuing_again_revokes_the_previous_credential(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let device = create_device(&app, "Jane iPhone").await;
    let first = issue(&app, &device).await;
    let second = issue(&app, &device).await;

    assert_ne!(first, second);
    problem(me(&app, &first).await, 401).await;
    assert_eq!(me(&app, &second).await.status(), 200);
}

async fn admin_tokens_do_not_open_the_device_api_and_credentials_do_not_open_the_admin_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let device = create_device(&app, "Jane iPhone").await;
    let credential = issue(&app, &device).await;

    problem(me(&app, &app.admin_token).await, 401).await;
    let admin_api = app
        .anonymous(Method::GET, "/api/v1/devices")
        .bearer_auth(&credential)
        .send()
        .await
        .expect("request");
    problem(admin_api, 401).await;
}

async fn malformed_and_forged_credentials_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let device = create_device(&app, "Jane iPhone").await;
    let credential = issue(&app, &device).await;
    // Same id, another secret of the right length: `scd_` + 32 hex + `_` come first, and
    // changing the secret's first character keeps it valid base64url.
    let (id_part, secret) = credential.split_at("scd_".len() + 32 + 1);
    let replacement = if secret.starts_with('A') { "B" } else { "A" };
    let forged = format!("{id_part}{replacement}{}", &secret[1..]);
    assert_ne!(forged, credential);

    for attempt in ["", "scd_", "garbage", forged.as_str(), &format!("{credential}x")] {
        let response = app
            .anonymous(Method::GET, "/device/v1/me")
            .header(header::AUTHORIZATION, format!("Bearer {attempt}"))
            .send()
            .await
            .expect("request");
        problem(response, 401).await;
    }
    problem(
        app.anonymous(Method::GET, "/device/v1/me")
            .send()
            .await
            .expect("request"),
        401,
    )
    .await;
}

async fn only_admins_issue_and_revoke_credentials(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let device = create_device(&app, "Jane iPhone").await;
    let path = format!("/api/v1/devices/{device}/credentials");

    problem(
        app.reader(Method::POST, &path).send().await.expect("request"),
        403,
    )
    .await;
    problem(
        app.reader(Method::DELETE, &path).send().await.expect("request"),
        403,
    )
    .await;
    problem(
        app.anonymous(Method::POST, &path).send().await.expect("request"),
        401,
    )
    .await;
}

async fn credentials_of_unknown_devices_are_not_found(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let path = format!("/api/v1/devices/{}/credentials", uuid::Uuid::now_v7());

    problem(app.admin(Method::POST, &path).send().await.expect("request"), 404).await;
    problem(
        app.admin(Method::DELETE, &path).send().await.expect("request"),
        404,
    )
    .await;
}
