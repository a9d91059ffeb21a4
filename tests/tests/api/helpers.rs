//! Fixtures, request bodies and small assertions shared by the test modules.

pub mod enrollment;

use chrono::{DateTime, Utc};
use reqwest::{header, Response};
use scepter_blackbox_tests::{json, TestApp};
use serde_json::{json, Value};

pub const TRUSTED: &str = "/api/v1/trusted-certificate-profiles";
pub const SCEP: &str = "/api/v1/scep-certificate-profiles";

pub const ROOT_CA: &str = include_str!("../../../domain/tests/fixtures/root-ca.pem");
pub const INTERMEDIATE_CA: &str = include_str!("../../../domain/tests/fixtures/intermediate-ca.pem");
pub const EXPIRED_ROOT_CA: &str = include_str!("../../../domain/tests/fixtures/expired-root-ca.pem");
pub const LEAF: &str = include_str!("../../../domain/tests/fixtures/leaf.pem");

/// `openssl x509 -fingerprint -sha1` of `root-ca.pem` (fixtures README) without the colons.
pub const ROOT_CA_SHA1: &str = "F4BF1446572532247C20B94FB6D57E638735DE06";

/// The base64 DER inside a PEM block: the armour and line breaks removed.
pub fn pem_to_base64_der(pem: &str) -> String {
    pem.lines()
        .filter(|line| !line.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat()
}

/// A valid trusted certificate profile for `platform` with the root CA fixture.
pub fn trusted_body(platform: &str) -> Value {
    json!({
        "displayName": format!("Contoso Root CA ({platform})"),
        "platform": platform,
        "trustedRootCertificate": ROOT_CA,
    })
}

/// A minimal valid SCEP profile for `platform` using the trusted profile `root_id`.
pub fn scep_body(root_id: &str, platform: &str) -> Value {
    json!({
        "displayName": format!("Wi-Fi certificate ({platform})"),
        "platform": platform,
        "certificateType": "user",
        "subjectNameFormat": "commonName",
        "keyUsage": ["digitalSignature"],
        "keySize": 2048,
        "rootCertificateId": root_id,
        "scepServerUrls": ["https://ndes.contoso.example/certsrv/mscep/mscep.dll"],
    })
}

/// `body` with the members of `changes` set (a `null` in `changes` sends `null`).
pub fn with(mut body: Value, changes: Value) -> Value {
    let target = body.as_object_mut().expect("body is an object");
    for (key, value) in changes.as_object().expect("changes is an object") {
        target.insert(key.clone(), value.clone());
    }
    body
}

/// `body` without the member `key`.
pub fn without(mut body: Value, key: &str) -> Value {
    body.as_object_mut().expect("body is an object").remove(key);
    body
}

/// The `ETag` header of a response.
pub fn etag(response: &Response) -> String {
    header_value(response, header::ETAG.as_str())
}

pub fn header_value(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header in a {} response", response.status()))
        .to_str()
        .expect("ASCII header")
        .to_owned()
}

/// A timestamp member of a resource, e.g. `lastModifiedDateTime`.
pub fn timestamp(resource: &Value, field: &str) -> DateTime<Utc> {
    resource[field]
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .unwrap_or_else(|| panic!("{field} is not an RFC 3339 timestamp: {resource}"))
        .with_timezone(&Utc)
}

/// Asserts a response status and returns the JSON body.
pub async fn expect_json(response: Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status, "unexpected status");
    json(response).await
}

/// POSTs `body` to `path` as admin and returns the created resource (asserting 201).
pub async fn create(app: &TestApp, path: &str, body: &Value) -> Value {
    let response = app.post(path, body).await;
    let status = response.status();
    let created = json(response).await;
    assert_eq!(status.as_u16(), 201, "create failed: {created}");
    created
}

/// Creates a trusted profile for `platform` and returns its id.
pub async fn create_trusted(app: &TestApp, platform: &str) -> String {
    id_of(&create(app, TRUSTED, &trusted_body(platform)).await)
}

/// Creates a SCEP profile for `platform` using `root_id` and returns its id.
pub async fn create_scep(app: &TestApp, root_id: &str, platform: &str) -> String {
    id_of(&create(app, SCEP, &scep_body(root_id, platform)).await)
}

pub fn id_of(resource: &Value) -> String {
    resource["id"].as_str().expect("resource has an id").to_owned()
}

/// GETs a resource as admin, asserting 200, and returns the body.
pub async fn read(app: &TestApp, path: &str) -> Value {
    expect_json(app.get(path).await, 200).await
}

/// The device's `lastCheckInDateTime` once the server has written it: check-ins
/// note it and a background flush writes it within a second or so.
pub async fn last_check_in_written(app: &TestApp, device: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let record = read(app, &format!("{}/{device}", enrollment::DEVICES)).await;
        if record["lastCheckInDateTime"].is_string() || std::time::Instant::now() > deadline {
            return record["lastCheckInDateTime"].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The ids of the items of a list page.
pub fn item_ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list page: {page}"))
        .iter()
        .map(id_of)
        .collect()
}

/// The ids of one list page at `path` (which may carry a query string).
pub async fn list_ids(app: &TestApp, path: &str) -> Vec<String> {
    item_ids(&read(app, path).await)
}

/// Asserts that the collection at `path` has no items.
pub async fn assert_empty(app: &TestApp, path: &str) {
    let page = read(app, path).await;
    assert_eq!(page["items"], json!([]), "expected no {path}: {page}");
}

/// The rules reported for `field` in a 422 problem document.
pub fn rules_for<'a>(problem: &'a Value, field: &str) -> Vec<&'a str> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter(|error| error["field"] == field)
                .filter_map(|error| error["rule"].as_str())
                .collect()
        })
        .unwrap_or_default()
}
