//! Bearer-token authentication and the admin/reader roles, over HTTP.
//!
//! Rejected tokens are forged with `jsonwebtoken` and the test secret, so each
//! differs from an accepted token in exactly one respect (checked by
//! `forged_token_with_valid_claims_is_accepted`).

use crate::helpers::*;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{header, Method, Response};
use scepter_blackbox_tests::{backend_tests, json, problem, Backend, TestApp, TestOptions, TEST_JWT_SECRET};
use serde_json::{json, Value};
use sha2::Sha256;

const OTHER_SECRET: &[u8] = b"another-installation-secret-0123456789-abcdefgh";
const PREVIOUS_SECRET: &[u8] = b"the-secret-before-the-rotation-0123456789-abcdef";
const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;
/// base64url of `{"alg":"none","typ":"JWT"}`.
const ALG_NONE_HEADER: &str = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";

/// Claims the application accepts: an admin token valid for ten more minutes.
fn valid_claims() -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "sub": "forged-admin",
        "role": "admin",
        "iss": "scepter",
        "aud": "scepter-api",
        "iat": now,
        "exp": now + 600,
    })
}

fn claims_with(changes: Value) -> Value {
    with(valid_claims(), changes)
}

fn sign(claims: &Value, algorithm: Algorithm, secret: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, &EncodingKey::from_secret(secret))
        .expect("sign the token")
}

fn renamed(body: Value) -> Value {
    with(body, json!({ "displayName": "Renamed by the admin" }))
}

fn forge(claims: &Value) -> String {
    sign(claims, Algorithm::HS256, TEST_JWT_SECRET)
}

/// An HS256 token with an arbitrary header, signed with the test secret.
fn forge_with_header(header: &Value, claims: &Value) -> String {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(TEST_JWT_SECRET).expect("any key length");
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

/// A token for `role` issued now and expiring after `lifetime` seconds.
fn living(role: &str, lifetime: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    forge(&claims_with(
        json!({ "role": role, "iat": now, "exp": now + lifetime }),
    ))
}

/// GETs the revocation queue (the connector's read) with `token`.
async fn revocations_with_token(app: &TestApp, token: &str) -> Response {
    app.anonymous(Method::GET, "/connector/v1/revocations")
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
}

/// GETs the trusted-profile list with `Authorization: <authorization>`.
async fn list_with_authorization(app: &TestApp, authorization: &str) -> Response {
    app.anonymous(Method::GET, TRUSTED)
        .header(header::AUTHORIZATION, authorization)
        .send()
        .await
        .expect("request")
}

async fn list_with_token(app: &TestApp, token: &str) -> Response {
    list_with_authorization(app, &format!("Bearer {token}")).await
}

/// Asserts a 401 problem with a Bearer challenge.
async fn assert_unauthenticated(response: Response) {
    let challenge = header_value(&response, header::WWW_AUTHENTICATE.as_str());
    assert!(challenge.starts_with("Bearer"), "WWW-Authenticate: {challenge}");
    let document = problem(response, 401).await;
    assert_eq!(document["type"], "urn:scepter:problem:unauthenticated");
}

async fn assert_forbidden(response: Response) {
    let document = problem(response, 403).await;
    assert_eq!(document["type"], "urn:scepter:problem:forbidden");
}

// ---------------------------------------------------------------- authentication

async fn request_without_authorization_header_is_401_with_bearer_challenge(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app.anonymous(Method::GET, TRUSTED).send().await.expect("request");

    assert_unauthenticated(response).await;
}

async fn create_without_token_is_401_and_creates_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app
        .anonymous(Method::POST, TRUSTED)
        .json(&trusted_body("android"))
        .send()
        .await
        .expect("request");

    assert_unauthenticated(response).await;
    assert_empty(&app, TRUSTED).await;
}

async fn garbage_token_is_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = list_with_token(&app, "not-a-jwt").await;

    assert_unauthenticated(response).await;
}

async fn non_bearer_authorization_scheme_is_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = list_with_authorization(&app, "Basic YWRtaW46YWRtaW4=").await;

    assert_unauthenticated(response).await;
}

async fn bearer_without_token_is_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = list_with_authorization(&app, "Bearer ").await;

    assert_unauthenticated(response).await;
}

async fn authorization_scheme_is_case_insensitive(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    // RFC 9110 §11.1: the authentication scheme is a case-insensitive token.
    let response = list_with_authorization(&app, &format!("BEARER {}", app.reader_token)).await;

    assert_eq!(response.status().as_u16(), 200);
}

async fn forged_token_with_valid_claims_is_accepted(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = list_with_token(&app, &forge(&valid_claims())).await;

    assert_eq!(response.status().as_u16(), 200);
}

async fn token_signed_with_another_secret_is_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let token = sign(&valid_claims(), Algorithm::HS256, OTHER_SECRET);

    assert_unauthenticated(list_with_token(&app, &token).await).await;
}

async fn expired_token_is_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let now = chrono::Utc::now().timestamp();

    let token = forge(&claims_with(json!({ "iat": now - 7200, "exp": now - 3600 })));

    assert_unauthenticated(list_with_token(&app, &token).await).await;
}

async fn token_for_another_audience_is_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let token = forge(&claims_with(json!({ "aud": "another-api" })));

    assert_unauthenticated(list_with_token(&app, &token).await).await;
}

async fn token_from_another_issuer_is_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let token = forge(&claims_with(json!({ "iss": "someone-else" })));

    assert_unauthenticated(list_with_token(&app, &token).await).await;
}

async fn token_without_expiry_is_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut claims = valid_claims();
    claims.as_object_mut().expect("claims").remove("exp");

    let token = forge(&claims);

    assert_unauthenticated(list_with_token(&app, &token).await).await;
}

async fn token_without_subject_is_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut claims = valid_claims();
    claims.as_object_mut().expect("claims").remove("sub");

    let token = forge(&claims);

    assert_unauthenticated(list_with_token(&app, &token).await).await;
}

async fn token_with_unknown_role_is_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let token = forge(&claims_with(json!({ "role": "superuser" })));

    assert_unauthenticated(list_with_token(&app, &token).await).await;
}

async fn token_signed_with_hs512_and_the_right_secret_is_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let token = sign(&valid_claims(), Algorithm::HS512, TEST_JWT_SECRET);

    assert_unauthenticated(list_with_token(&app, &token).await).await;
}

async fn unsigned_alg_none_token_is_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let signed = forge(&valid_claims());
    let claims_part = signed.split('.').nth(1).expect("a JWT has three parts");

    let token = format!("{ALG_NONE_HEADER}.{claims_part}.");

    assert_unauthenticated(list_with_token(&app, &token).await).await;
}

async fn token_issued_in_the_future_is_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let now = chrono::Utc::now().timestamp();

    let token = forge(&claims_with(json!({ "iat": now + HOUR, "exp": now + 2 * HOUR })));

    assert_unauthenticated(list_with_token(&app, &token).await).await;
}

async fn token_not_yet_valid_is_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let now = chrono::Utc::now().timestamp();

    let token = forge(&claims_with(json!({ "nbf": now + HOUR })));

    assert_unauthenticated(list_with_token(&app, &token).await).await;
}

async fn token_from_a_clock_slightly_ahead_is_accepted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let now = chrono::Utc::now().timestamp();

    let token = forge(&claims_with(json!({ "iat": now + 20, "nbf": now + 20 })));

    assert_eq!(list_with_token(&app, &token).await.status().as_u16(), 200);
}

async fn token_without_issue_time_is_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut claims = valid_claims();
    claims.as_object_mut().expect("claims").remove("iat");

    let token = forge(&claims);

    assert_unauthenticated(list_with_token(&app, &token).await).await;
}

async fn token_with_a_critical_header_parameter_is_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let plain = json!({ "alg": "HS256", "typ": "JWT" });
    let critical = json!({ "alg": "HS256", "typ": "JWT", "crit": ["x-scope"], "x-scope": "one" });

    let accepted = list_with_token(&app, &forge_with_header(&plain, &valid_claims())).await;
    let refused = list_with_token(&app, &forge_with_header(&critical, &valid_claims())).await;

    assert_eq!(
        accepted.status().as_u16(),
        200,
        "the hand-made token is otherwise valid"
    );
    // RFC 7515 §4.1.11: an extension the recipient does not understand must be refused.
    assert_unauthenticated(refused).await;
}

async fn admin_and_reader_tokens_living_over_a_day_are_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    for role in ["admin", "reader"] {
        let day = list_with_token(&app, &living(role, DAY)).await;
        assert_eq!(day.status().as_u16(), 200, "{role} for a day");
        assert_unauthenticated(list_with_token(&app, &living(role, DAY + HOUR)).await).await;
        assert_unauthenticated(list_with_token(&app, &living(role, 100 * 365 * DAY)).await).await;
    }
}

async fn connector_tokens_living_over_thirty_days_are_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let month = revocations_with_token(&app, &living("connector", 30 * DAY)).await;
    let longer = revocations_with_token(&app, &living("connector", 31 * DAY)).await;

    assert_eq!(month.status().as_u16(), 200);
    assert_unauthenticated(longer).await;
}

async fn tokens_signed_with_the_previous_secret_are_accepted_during_rotation(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        TestOptions {
            previous_jwt_secret: Some(PREVIOUS_SECRET),
            ..TestOptions::default()
        },
    )
    .await;

    let current = forge(&valid_claims());
    let previous = sign(&valid_claims(), Algorithm::HS256, PREVIOUS_SECRET);
    let other = sign(&valid_claims(), Algorithm::HS256, OTHER_SECRET);

    assert_eq!(list_with_token(&app, &current).await.status().as_u16(), 200);
    assert_eq!(list_with_token(&app, &previous).await.status().as_u16(), 200);
    assert_unauthenticated(list_with_token(&app, &other).await).await;
}

async fn the_previous_secret_is_not_accepted_unless_configured(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let previous = sign(&valid_claims(), Algorithm::HS256, PREVIOUS_SECRET);

    assert_unauthenticated(list_with_token(&app, &previous).await).await;
}

// ---------------------------------------------------------------- roles

/// A trusted profile and a SCEP profile using it: (trusted path, SCEP path).
async fn two_profiles(app: &TestApp) -> (String, String) {
    let root = create_trusted(app, "android").await;
    let scep = create_scep(app, &root, "android").await;
    (format!("{TRUSTED}/{root}"), format!("{SCEP}/{scep}"))
}

async fn reader_can_list_and_get_both_kinds_of_profile(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (trusted, scep) = two_profiles(&app).await;

    for path in [TRUSTED, SCEP, trusted.as_str(), scep.as_str()] {
        let response = app.reader(Method::GET, path).send().await.expect("request");
        assert_eq!(response.status().as_u16(), 200, "GET {path}");
    }
}

async fn reader_cannot_create_and_nothing_is_created(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = create_trusted(&app, "android").await;

    let trusted = app
        .reader(Method::POST, TRUSTED)
        .json(&trusted_body("android"))
        .send()
        .await
        .expect("request");
    let scep = app
        .reader(Method::POST, SCEP)
        .json(&scep_body(&root, "android"))
        .send()
        .await
        .expect("request");

    assert_forbidden(trusted).await;
    assert_forbidden(scep).await;
    assert_eq!(list_ids(&app, TRUSTED).await, [root]);
    assert_empty(&app, SCEP).await;
}

async fn reader_cannot_update_and_nothing_changes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = create_trusted(&app, "android").await;
    let scep = create_scep(&app, &root, "android").await;
    let trusted_path = format!("{TRUSTED}/{root}");
    let scep_path = format!("{SCEP}/{scep}");
    let trusted_before = read(&app, &trusted_path).await;
    let scep_before = read(&app, &scep_path).await;

    let trusted = app
        .reader(Method::PUT, &trusted_path)
        .header(header::IF_MATCH, "\"1\"")
        .json(&with(
            trusted_body("android"),
            json!({ "displayName": "Reader was here" }),
        ))
        .send()
        .await
        .expect("request");
    let scep = app
        .reader(Method::PUT, &scep_path)
        .header(header::IF_MATCH, "\"1\"")
        .json(&with(scep_body(&root, "android"), json!({ "keySize": 4096 })))
        .send()
        .await
        .expect("request");

    assert_forbidden(trusted).await;
    assert_forbidden(scep).await;
    assert_eq!(read(&app, &trusted_path).await, trusted_before);
    assert_eq!(read(&app, &scep_path).await, scep_before);
}

async fn reader_cannot_delete_and_both_profiles_remain(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (trusted, scep) = two_profiles(&app).await;

    let scep_response = app.reader(Method::DELETE, &scep).send().await.expect("request");
    let trusted_response = app
        .reader(Method::DELETE, &trusted)
        .send()
        .await
        .expect("request");

    assert_forbidden(scep_response).await;
    assert_forbidden(trusted_response).await;
    read(&app, &scep).await;
    read(&app, &trusted).await;
}

async fn admin_can_create_read_update_and_delete_both_kinds_of_profile(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = create_trusted(&app, "windows10").await;
    let scep = create_scep(&app, &root, "windows10").await;
    let trusted_path = format!("{TRUSTED}/{root}");
    let scep_path = format!("{SCEP}/{scep}");

    let statuses = [
        app.get(TRUSTED).await.status().as_u16(),
        app.get(SCEP).await.status().as_u16(),
        app.put(&trusted_path, 1, &renamed(trusted_body("windows10")))
            .await
            .status()
            .as_u16(),
        app.put(&scep_path, 1, &renamed(scep_body(&root, "windows10")))
            .await
            .status()
            .as_u16(),
        app.delete(&scep_path).await.status().as_u16(),
        app.delete(&trusted_path).await.status().as_u16(),
    ];

    assert_eq!(statuses, [200, 200, 200, 200, 204, 204]);
    assert_empty(&app, SCEP).await;
    assert_empty(&app, TRUSTED).await;
}

// ---------------------------------------------------------------- public endpoints

async fn health_endpoints_need_no_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let healthz = app
        .anonymous(Method::GET, "/healthz")
        .send()
        .await
        .expect("request");
    let readyz = app
        .anonymous(Method::GET, "/readyz")
        .send()
        .await
        .expect("request");

    assert_eq!(healthz.status().as_u16(), 200);
    assert_eq!(json(healthz).await, json!({ "status": "ok" }));
    assert_eq!(readyz.status().as_u16(), 200);
    assert_eq!(json(readyz).await, json!({ "status": "ready" }));
}

backend_tests!(
    request_without_authorization_header_is_401_with_bearer_challenge,
    create_without_token_is_401_and_creates_nothing,
    garbage_token_is_401,
    non_bearer_authorization_scheme_is_401,
    bearer_without_token_is_401,
    authorization_scheme_is_case_insensitive,
    forged_token_with_valid_claims_is_accepted,
    token_signed_with_another_secret_is_401,
    expired_token_is_401,
    token_for_another_audience_is_401,
    token_from_another_issuer_is_401,
    token_without_expiry_is_401,
    token_without_subject_is_401,
    token_with_unknown_role_is_401,
    token_signed_with_hs512_and_the_right_secret_is_401,
    unsigned_alg_none_token_is_401,
    token_issued_in_the_future_is_401,
    token_not_yet_valid_is_401,
    token_from_a_clock_slightly_ahead_is_accepted,
    token_without_issue_time_is_401,
    token_with_a_critical_header_parameter_is_401,
    admin_and_reader_tokens_living_over_a_day_are_401,
    connector_tokens_living_over_thirty_days_are_401,
    tokens_signed_with_the_previous_secret_are_accepted_during_rotation,
    the_previous_secret_is_not_accepted_unless_configured,
    reader_can_list_and_get_both_kinds_of_profile,
    reader_cannot_create_and_nothing_is_created,
    reader_cannot_update_and_nothing_changes,
    reader_cannot_delete_and_both_profiles_remain,
    admin_can_create_read_update_and_delete_both_kinds_of_profile,
    health_endpoints_need_no_token,
);
