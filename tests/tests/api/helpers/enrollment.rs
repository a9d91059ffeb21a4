//! The enrollment scenario shared by the enrollment and multi-instance tests:
//! a user with two Android devices in a device group, a root and a SCEP
//! profile assigned to it, device credentials, a test CA, and helpers for
//! check-in, verify and notify over HTTP.

use reqwest::{header, Method, Response};
use scepter_blackbox_tests::{
    pki::{CsrSpec, GeneratedCsr, IssuedCert, KeySpec, NameAttribute, San, TestCa},
    Backend, TestApp, TestOptions,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::*;

pub const USERS: &str = "/api/v1/users";
pub const DEVICES: &str = "/api/v1/devices";
pub const GROUPS: &str = "/api/v1/groups";
pub const CHECKIN: &str = "/device/v1/checkin";
pub const VERIFY: &str = "/connector/v1/scep/verify";
pub const NOTIFY: &str = "/connector/v1/scep/notify";
pub const REVOCATIONS: &str = "/connector/v1/revocations";

/// One user with two Android devices in one device group, a root (the test CA) and a SCEP
/// profile (user certificate, `CN={{DeviceName}},O=Contoso`, UPN SAN, 2048
/// bits, renewal at 20 %) assigned to the group, and a credential per device.
pub struct Scenario {
    pub app: TestApp,
    pub device: String,
    pub other_device: String,
    pub group: String,
    pub profile: String,
    pub profile_assignment: String,
    pub credential: String,
    pub other_credential: String,
    pub ca: TestCa,
}

pub async fn scenario_with(backend: Backend, options: TestOptions) -> Scenario {
    let app = TestApp::spawn_with(backend, options).await;
    let user = id_of(
        &create(
            &app,
            USERS,
            &json!({ "userPrincipalName": "jane@contoso.com", "displayName": "Jane Doe", "mail": "jane@contoso.com" }),
        )
        .await,
    );
    let device = id_of(
        &create(
            &app,
            DEVICES,
            &json!({ "deviceName": "pixel-jane", "platform": "android", "userId": user }),
        )
        .await,
    );
    let other_device = id_of(
        &create(
            &app,
            DEVICES,
            &json!({ "deviceName": "pixel-other", "platform": "android", "userId": user }),
        )
        .await,
    );
    let group = id_of(
        &create(
            &app,
            GROUPS,
            &json!({ "displayName": "Phones", "groupType": "device" }),
        )
        .await,
    );
    let added = app
        .post(
            &format!("{GROUPS}/{group}/members"),
            &json!({ "memberIds": [device, other_device] }),
        )
        .await;
    assert_eq!(added.status(), 200);
    // The root is the CA that issues the certificates: notify checks the chain.
    let ca = TestCa::new("Scepter Test Issuing CA");
    let root = id_of(
        &create(
            &app,
            TRUSTED,
            &with(
                trusted_body("android"),
                json!({ "trustedRootCertificate": ca.cert_pem }),
            ),
        )
        .await,
    );
    let profile = id_of(
        &create(
            &app,
            SCEP,
            &with(
                scep_body(&root, "android"),
                json!({
                    "subjectNameFormat": "custom",
                    "subjectNameFormatString": "CN={{DeviceName}},O=Contoso",
                    "customSubjectAlternativeNames": [{ "sanType": "userPrincipalName", "name": "{{UserPrincipalName}}" }],
                    "renewalThresholdPercentage": 20,
                }),
            ),
        )
        .await,
    );
    assign(&app, TRUSTED, &root, &group).await;
    let profile_assignment = assign(&app, SCEP, &profile, &group).await;
    let credential = credential_for(&app, &device).await;
    let other_credential = credential_for(&app, &other_device).await;
    Scenario {
        app,
        device,
        other_device,
        group,
        profile,
        profile_assignment,
        credential,
        other_credential,
        ca,
    }
}

pub async fn scenario(backend: Backend) -> Scenario {
    scenario_with(backend, TestOptions::default()).await
}

pub async fn assign(app: &TestApp, base: &str, profile: &str, group: &str) -> String {
    let created = create(
        app,
        &format!("{base}/{profile}/assignments"),
        &json!({ "groupId": group, "intent": "include" }),
    )
    .await;
    id_of(&created)
}

pub async fn credential_for(app: &TestApp, device: &str) -> String {
    let response = app
        .admin(Method::POST, &format!("{DEVICES}/{device}/credentials"))
        .send()
        .await
        .expect("request");
    expect_json(response, 201).await["credential"]
        .as_str()
        .expect("credential")
        .to_owned()
}

pub async fn check_in_raw(
    app: &TestApp,
    credential: &str,
    body: &Value,
    if_none_match: Option<&str>,
) -> Response {
    let mut request = app
        .anonymous(Method::POST, CHECKIN)
        .bearer_auth(credential)
        .json(body);
    if let Some(tag) = if_none_match {
        request = request.header(header::IF_NONE_MATCH, tag);
    }
    request.send().await.expect("request")
}

pub async fn check_in(app: &TestApp, credential: &str, body: &Value) -> Value {
    expect_json(check_in_raw(app, credential, body, None).await, 200).await
}

pub fn nothing_installed() -> Value {
    json!({ "installedProfiles": [], "installedCertificates": [] })
}

/// The item of `profile` in a check-in response.
pub fn item<'a>(response: &'a Value, profile: &str) -> &'a Value {
    response["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|item| item["profileId"] == profile)
        .unwrap_or_else(|| panic!("no item for {profile} in {response}"))
}

/// What the Android payload asks the device to enroll with.
pub struct Enrollment {
    pub challenge: String,
    pub subject: Vec<Vec<NameAttribute>>,
    pub sans: Vec<San>,
}

pub fn enrollment_of(item: &Value) -> Enrollment {
    assert_eq!(item["contentType"], "application/json", "{item}");
    let payload: Value =
        serde_json::from_str(item["payload"].as_str().expect("payload")).expect("JSON payload");
    let scep = &payload["scep"];
    let subject = scep["subject"]
        .as_array()
        .expect("subject")
        .iter()
        .map(|rdn| {
            rdn.as_array()
                .expect("rdn")
                .iter()
                .map(|attribute| {
                    NameAttribute::new(
                        attribute["oid"].as_str().expect("oid"),
                        attribute["value"].as_str().expect("value"),
                    )
                })
                .collect()
        })
        .collect();
    let sans = scep["subjectAlternativeNames"]
        .as_array()
        .expect("sans")
        .iter()
        .map(|san| {
            let value = san["value"].as_str().expect("value").to_owned();
            match san["sanType"].as_str().expect("sanType") {
                "userPrincipalName" => San::Upn(value),
                "emailAddress" => San::Email(value),
                "domainNameService" => San::Dns(value),
                "universalResourceIdentifier" => San::Uri(value),
                other => panic!("unexpected SAN type {other}"),
            }
        })
        .collect();
    Enrollment {
        challenge: scep["challenge"].as_str().expect("challenge").to_owned(),
        subject,
        sans,
    }
}

impl Enrollment {
    /// A CSR exactly as the payload asks, with the challenge in challengePassword.
    pub fn csr(&self) -> CsrSpec {
        CsrSpec {
            subject: self.subject.clone(),
            sans: self.sans.clone(),
            key: KeySpec::Rsa(2048),
            challenge_password: Some(self.challenge.clone()),
            ..CsrSpec::default()
        }
    }
}

/// Checks the device in with nothing installed and returns its SCEP enrollment.
pub async fn fresh_enrollment(s: &Scenario, credential: &str) -> Enrollment {
    let response = check_in(&s.app, credential, &nothing_installed()).await;
    let scep = item(&response, &s.profile);
    assert_eq!(scep["action"], "install", "{response}");
    enrollment_of(scep)
}

pub fn transaction() -> String {
    Uuid::new_v4().simple().to_string()
}

pub async fn verify(app: &TestApp, transaction_id: &str, csr: &str, challenge: Option<&str>) -> Value {
    let mut body = json!({ "transactionId": transaction_id, "csr": csr });
    if let Some(challenge) = challenge {
        body["challenge"] = json!(challenge);
    }
    let response = app
        .anonymous(Method::POST, VERIFY)
        .bearer_auth(TestApp::connector_token())
        .json(&body)
        .send()
        .await
        .expect("request");
    expect_json(response, 200).await
}

pub async fn notify(app: &TestApp, transaction_id: &str, certificate_pem: &str) -> Response {
    app.anonymous(Method::POST, NOTIFY)
        .bearer_auth(TestApp::connector_token())
        .json(&json!({ "transactionId": transaction_id, "certificate": certificate_pem }))
        .send()
        .await
        .expect("request")
}

pub fn assert_denied(verdict: &Value, reason: &str, code: &str) {
    assert_eq!(verdict["allowed"], false, "{verdict}");
    assert_eq!(verdict["reason"], reason, "{verdict}");
    assert_eq!(verdict["diagnosticCode"], code, "{verdict}");
    let name = match code {
        "0x00000410" => "CRPSCEPDeserialize_Failed",
        "0x00000411" => "CRPSCEPChallenge_Expired",
        other => panic!("unexpected code {other}"),
    };
    assert_eq!(verdict["diagnosticName"], name, "{verdict}");
}

pub fn assert_allowed(verdict: &Value) {
    assert_eq!(verdict["allowed"], true, "{verdict}");
    assert_eq!(verdict["diagnosticCode"], "0x00000000", "{verdict}");
    assert_eq!(verdict["diagnosticName"], "Success", "{verdict}");
    assert!(verdict.get("reason").is_none(), "{verdict}");
}

/// Verifies a CSR for `enrollment`, has the CA issue it over `validity` (seconds from now) and notifies it.
pub async fn enroll(
    s: &Scenario,
    enrollment: &Enrollment,
    validity: (i64, i64),
) -> (GeneratedCsr, IssuedCert) {
    let csr = enrollment.csr().generate();
    let transaction_id = transaction();
    assert_allowed(&verify(&s.app, &transaction_id, &csr.pem, None).await);
    let issued = s.ca.issue(&csr.pem, validity.0, validity.1);
    let recorded = expect_json(notify(&s.app, &transaction_id, &issued.pem).await, 201).await;
    assert_eq!(recorded["serialNumber"], issued.serial_hex);
    (csr, issued)
}

pub const DAY: i64 = 24 * 3600;

pub async fn events(app: &TestApp, query: &str) -> Vec<Value> {
    read(app, &format!("/api/v1/events?{query}")).await["items"]
        .as_array()
        .expect("items")
        .clone()
}

pub fn event_ids(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|event| event["eventId"].as_u64().expect("eventId"))
        .collect()
}

pub async fn connector_get(app: &TestApp, path: &str) -> Value {
    let response = app
        .anonymous(Method::GET, path)
        .bearer_auth(TestApp::connector_token())
        .send()
        .await
        .expect("request");
    expect_json(response, 200).await
}

pub async fn connector_post(app: &TestApp, path: &str, body: &Value) -> Response {
    app.anonymous(Method::POST, path)
        .bearer_auth(TestApp::connector_token())
        .json(body)
        .send()
        .await
        .expect("request")
}
