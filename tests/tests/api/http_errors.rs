//! How the HTTP layer answers bad requests (problem+json with the right status),
//! the request-id header, and the served API description.

use crate::helpers::*;
use reqwest::{header, Method, Response};
use scepter_blackbox_tests::{backend_tests, json, problem, Backend, TestApp, TestOptions};
use serde_json::json;

const REQUEST_ID: &str = "x-request-id";

/// POSTs `body` to the trusted-profile collection as admin with `Content-Type: <content_type>`.
async fn post_text(app: &TestApp, content_type: &str, body: impl Into<String>) -> Response {
    app.admin(Method::POST, TRUSTED)
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .send()
        .await
        .expect("request")
}

async fn malformed_json_body_is_400_malformed_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = post_text(&app, "application/json", "{\"displayName\": ").await;

    let document = problem(response, 400).await;
    assert_eq!(document["type"], "urn:scepter:problem:malformed-request");
    assert_empty(&app, TRUSTED).await;
}

async fn body_that_is_not_json_is_400_malformed_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = post_text(&app, "application/json", "displayName=Root").await;

    let document = problem(response, 400).await;
    assert_eq!(document["type"], "urn:scepter:problem:malformed-request");
}

async fn text_plain_content_type_is_415(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = post_text(&app, "text/plain", trusted_body("android").to_string()).await;

    let document = problem(response, 415).await;
    assert_eq!(document["type"], "urn:scepter:problem:unsupported-media-type");
    assert_empty(&app, TRUSTED).await;
}

async fn missing_content_type_is_415(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app
        .admin(Method::POST, TRUSTED)
        .body(trusted_body("android").to_string())
        .send()
        .await
        .expect("request");

    problem(response, 415).await;
    assert_empty(&app, TRUSTED).await;
}

async fn json_content_type_with_charset_is_accepted(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = post_text(
        &app,
        "application/json; charset=utf-8",
        trusted_body("android").to_string(),
    )
    .await;

    assert_eq!(response.status().as_u16(), 201);
}

async fn body_over_the_limit_is_413_and_creates_nothing(backend: Backend) {
    let app = TestApp::spawn_with(backend, limited_to(1024)).await;
    let body = with(
        trusted_body("android"),
        json!({ "description": "d".repeat(2048) }),
    );

    let response = app.post(TRUSTED, &body).await;

    let document = problem(response, 413).await;
    assert_eq!(document["type"], "urn:scepter:problem:payload-too-large");
    assert_empty(&app, TRUSTED).await;
}

/// A valid trusted-profile body padded with trailing whitespace to exactly `size` bytes.
fn padded_body(size: usize) -> String {
    let body = trusted_body("android").to_string();
    assert!(body.len() <= size, "the body alone is {} bytes", body.len());
    format!("{body}{}", " ".repeat(size - body.len()))
}

fn limited_to(max_body_bytes: usize) -> TestOptions {
    TestOptions {
        max_body_bytes,
        ..TestOptions::default()
    }
}

async fn body_of_exactly_the_limit_is_accepted(backend: Backend) {
    let app = TestApp::spawn_with(backend, limited_to(1024)).await;

    let response = post_text(&app, "application/json", padded_body(1024)).await;

    assert_eq!(response.status().as_u16(), 201);
}

async fn body_one_byte_over_the_limit_is_413(backend: Backend) {
    let app = TestApp::spawn_with(backend, limited_to(1024)).await;

    let response = post_text(&app, "application/json", padded_body(1025)).await;

    problem(response, 413).await;
    assert_empty(&app, TRUSTED).await;
}

async fn unknown_route_is_404_problem(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app.get("/api/v1/no-such-resource").await;

    let document = problem(response, 404).await;
    assert_eq!(document["type"], "urn:scepter:problem:not-found");
}

async fn unknown_route_without_token_is_404_problem(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app
        .anonymous(Method::GET, "/nothing/here")
        .send()
        .await
        .expect("request");

    problem(response, 404).await;
}

async fn unsupported_method_on_a_collection_is_405_problem(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app.admin(Method::PATCH, TRUSTED).send().await.expect("request");

    let document = problem(response, 405).await;
    assert_eq!(document["type"], "urn:scepter:problem:method-not-allowed");
}

async fn method_not_allowed_lists_the_allowed_methods(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let item = format!("{TRUSTED}/{}", uuid::Uuid::new_v4());

    let collection = app.admin(Method::PATCH, TRUSTED).send().await.expect("request");
    let single = app.admin(Method::POST, &item).send().await.expect("request");

    // RFC 9110 §15.5.6: a 405 response must carry an Allow header.
    let allowed = |response: &Response| {
        let mut methods: Vec<String> = header_value(response, header::ALLOW.as_str())
            .split(',')
            .map(|method| method.trim().to_owned())
            .collect();
        methods.sort();
        methods
    };
    assert_eq!(allowed(&collection), ["GET", "POST"]);
    assert_eq!(allowed(&single), ["DELETE", "GET", "PUT"]);
}

async fn malformed_if_match_is_400(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let path = format!("{TRUSTED}/{}", create_trusted(&app, "android").await);
    let before = read(&app, &path).await;

    let response = app
        .admin(Method::PUT, &path)
        .header(header::IF_MATCH, "1")
        .json(&trusted_body("ios"))
        .send()
        .await
        .expect("request");

    let document = problem(response, 400).await;
    assert_eq!(document["type"], "urn:scepter:problem:malformed-request");
    assert_eq!(read(&app, &path).await, before);
}

async fn every_response_carries_a_distinct_request_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let responses = [
        app.anonymous(Method::GET, "/healthz")
            .send()
            .await
            .expect("request"),
        app.post(TRUSTED, &trusted_body("android")).await,
        app.get(TRUSTED).await,
        app.anonymous(Method::GET, TRUSTED).send().await.expect("request"),
        app.get("/api/v1/no-such-resource").await,
        app.post(TRUSTED, &json!({})).await,
        post_text(&app, "application/json", "{").await,
        app.admin(Method::PATCH, TRUSTED).send().await.expect("request"),
    ];

    let mut ids = Vec::new();
    for response in &responses {
        let id = header_value(response, REQUEST_ID);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{REQUEST_ID}: {id}");
        ids.push(id);
    }

    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "request ids repeat");
}

async fn openapi_document_is_served_without_a_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app
        .anonymous(Method::GET, "/openapi.json")
        .send()
        .await
        .expect("request");

    assert_eq!(response.status().as_u16(), 200);
    let document = json(response).await;
    let version = document["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3.1"), "openapi: {version}");
    assert!(
        document["paths"].get(TRUSTED).is_some(),
        "{TRUSTED} is documented"
    );
    assert!(document["paths"].get(SCEP).is_some(), "{SCEP} is documented");
}

async fn docs_page_is_html_that_loads_the_openapi_document(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app.anonymous(Method::GET, "/docs").send().await.expect("request");

    assert_eq!(response.status().as_u16(), 200);
    let content_type = header_value(&response, header::CONTENT_TYPE.as_str());
    assert!(
        content_type.starts_with("text/html"),
        "Content-Type: {content_type}"
    );
    let page = response.text().await.expect("body");
    assert!(
        page.contains("/openapi.json"),
        "the page does not mention /openapi.json"
    );
}

backend_tests!(
    malformed_json_body_is_400_malformed_request,
    body_that_is_not_json_is_400_malformed_request,
    text_plain_content_type_is_415,
    missing_content_type_is_415,
    json_content_type_with_charset_is_accepted,
    body_over_the_limit_is_413_and_creates_nothing,
    body_of_exactly_the_limit_is_accepted,
    body_one_byte_over_the_limit_is_413,
    unknown_route_is_404_problem,
    unknown_route_without_token_is_404_problem,
    unsupported_method_on_a_collection_is_405_problem,
    method_not_allowed_lists_the_allowed_methods,
    malformed_if_match_is_400,
    every_response_carries_a_distinct_request_id,
    openapi_document_is_served_without_a_token,
    docs_page_is_html_that_loads_the_openapi_document,
);
