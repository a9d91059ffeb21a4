//! Payload previews over HTTP: `POST /scep-certificate-profiles/{id}/preview`
//! and `GET /trusted-certificate-profiles/{id}/preview?deviceId=` return
//! exactly what a device would get, in its platform's format, with the
//! placeholder challenge. Each payload is parsed with an independent parser
//! (plist, roxmltree, serde_json) and checked by the payload validator
//! (`tests/payload-validator`: no error and no warning).

use crate::helpers::*;
use reqwest::{header, Method, Response};
use scepter_api::http::routes::preview::{PREVIEW_CHALLENGE, WARNINGS_HEADER};
use scepter_blackbox_tests::{assert_validation_error, backend_tests, problem, Backend, TestApp};
use scepter_payload_validator::{validate, Options};
use serde_json::{json, Value};
use uuid::Uuid;

const USERS: &str = "/api/v1/users";
const DEVICES: &str = "/api/v1/devices";

const APPLE: &str = "application/x-apple-aspen-config";
const SYNCML: &str = "application/vnd.syncml.dm+xml";
const JSON: &str = "application/json";

const NDES_URLS: [&str; 2] = [
    "https://ndes1.contoso.example/certsrv/mscep/mscep.dll",
    "https://ndes2.contoso.example/certsrv/mscep/mscep.dll",
];
const CLIENT_AUTHENTICATION: &str = "1.3.6.1.5.5.7.3.2";
const EMAIL_OID: &str = "1.2.840.113549.1.9.1";
const SID: &str = "S-1-5-21-1004336348-1177238915-682003330-1104";
const CUSTOM_SUBJECT: &str = "CN={{UserName}},E={{EmailAddress}},OU=Mobile";

// ---------------------------------------------------------------- directory and profiles

/// Creates a user (`changes` adds attributes such as `mail`) and returns its id.
async fn create_user(app: &TestApp, upn: &str, changes: Value) -> String {
    let body = with(
        json!({ "userPrincipalName": upn, "displayName": "Jane Doe" }),
        changes,
    );
    id_of(&create(app, USERS, &body).await)
}

/// Creates a device of `platform` (`changes` adds attributes such as `userId`) and returns its id.
async fn create_device(app: &TestApp, platform: &str, changes: Value) -> String {
    let body = with(
        json!({ "deviceName": format!("{platform} device"), "platform": platform }),
        changes,
    );
    id_of(&create(app, DEVICES, &body).await)
}

/// A device of `platform` whose primary user is `user`.
async fn device_of(app: &TestApp, platform: &str, user: &str) -> String {
    create_device(app, platform, json!({ "userId": user })).await
}

/// Creates a root for `platform` and a SCEP profile using it, with `changes`
/// applied to the minimal body; returns the profile id and the body sent.
async fn create_scep_profile(app: &TestApp, platform: &str, changes: Value) -> (String, Value) {
    let root = create_trusted(app, platform).await;
    let body = with(scep_body(&root, platform), changes);
    (id_of(&create(app, SCEP, &body).await), body)
}

/// A user certificate with the custom subject `CN={{UserName}},E={{EmailAddress}},OU=Mobile`.
fn custom_user_subject(extra: Value) -> Value {
    with(
        json!({
            "certificateType": "user",
            "subjectNameFormat": "custom",
            "subjectNameFormatString": CUSTOM_SUBJECT,
        }),
        extra,
    )
}

// ---------------------------------------------------------------- preview requests

fn scep_preview_path(profile: &str) -> String {
    format!("{SCEP}/{profile}/preview")
}

fn trusted_preview_path(profile: &str, device: &str) -> String {
    format!("{TRUSTED}/{profile}/preview?deviceId={device}")
}

async fn preview_scep(app: &TestApp, profile: &str, device: &str) -> Response {
    app.post(&scep_preview_path(profile), &json!({ "deviceId": device }))
        .await
}

async fn preview_trusted(app: &TestApp, profile: &str, device: &str) -> Response {
    app.get(&trusted_preview_path(profile, device)).await
}

/// A successful preview: the body and the `Scepter-Warnings` list.
struct Payload {
    body: Vec<u8>,
    warnings: Vec<String>,
}

impl Payload {
    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("the payload is UTF-8")
    }
}

/// Asserts 200 with a `PayloadPreview` of `content_type` whose warnings the
/// `Scepter-Warnings` header repeats as a JSON array.
async fn expect_payload(response: Response, content_type: &str) -> Payload {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("body").to_vec();
    assert_eq!(status, 200, "preview failed: {}", String::from_utf8_lossy(&body));
    assert_eq!(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok()),
        Some("application/json")
    );
    let preview: Value = serde_json::from_slice(&body).expect("a JSON PayloadPreview");
    assert_eq!(preview["contentType"], content_type, "{preview}");
    let warnings: Vec<String> = serde_json::from_value(preview["warnings"].clone()).expect("warnings");
    let header_warnings = headers
        .get(WARNINGS_HEADER)
        .unwrap_or_else(|| panic!("no {WARNINGS_HEADER} header"))
        .to_str()
        .expect("ASCII header");
    let header_warnings: Vec<String> = serde_json::from_str(header_warnings)
        .unwrap_or_else(|_| panic!("{WARNINGS_HEADER} is not a JSON array of strings: {header_warnings}"));
    assert_eq!(header_warnings, warnings);
    Payload {
        body: preview["payload"].as_str().expect("payload").as_bytes().to_vec(),
        warnings,
    }
}

async fn scep_payload(app: &TestApp, profile: &str, device: &str, content_type: &str) -> Payload {
    expect_payload(preview_scep(app, profile, device).await, content_type).await
}

/// The message of the `field`/`rule` error of a 422 problem.
fn error_message<'a>(document: &'a Value, field: &str, rule: &str) -> &'a str {
    document["errors"]
        .as_array()
        .and_then(|errors| {
            errors
                .iter()
                .find(|error| error["field"] == field && error["rule"] == rule)
        })
        .and_then(|error| error["message"].as_str())
        .unwrap_or_else(|| panic!("no {field}/{rule} message in {document}"))
}

// ---------------------------------------------------------------- Apple

/// The `.mobileconfig` as a plist dictionary.
fn apple_profile(payload: &Payload) -> plist::Dictionary {
    plist::Value::from_reader_xml(payload.body.as_slice())
        .unwrap_or_else(|error| panic!("not an XML plist ({error}):\n{}", payload.text()))
        .into_dictionary()
        .expect("the profile is a dictionary")
}

/// The `PayloadContent` of the inner payload of `payload_type`.
fn inner_content<'a>(profile: &'a plist::Dictionary, payload_type: &str) -> &'a plist::Value {
    profile
        .get("PayloadContent")
        .and_then(plist::Value::as_array)
        .expect("PayloadContent array")
        .iter()
        .filter_map(plist::Value::as_dictionary)
        .find(|inner| inner.get("PayloadType").and_then(plist::Value::as_string) == Some(payload_type))
        .and_then(|inner| inner.get("PayloadContent"))
        .unwrap_or_else(|| panic!("no {payload_type} payload"))
}

/// The `com.apple.security.scep` settings.
fn apple_scep(profile: &plist::Dictionary) -> &plist::Dictionary {
    inner_content(profile, "com.apple.security.scep")
        .as_dictionary()
        .expect("SCEP PayloadContent is a dictionary")
}

fn string_of<'a>(dictionary: &'a plist::Dictionary, key: &str) -> &'a str {
    dictionary
        .get(key)
        .and_then(plist::Value::as_string)
        .unwrap_or_else(|| panic!("{key} is not a string in {dictionary:?}"))
}

/// Apple's `Subject`: one single-valued RDN per `(type, value)`.
fn apple_subject(rdns: &[(&str, &str)]) -> plist::Value {
    plist::Value::Array(
        rdns.iter()
            .map(|(kind, value)| {
                plist::Value::Array(vec![plist::Value::Array(vec![(*kind).into(), (*value).into()])])
            })
            .collect(),
    )
}

// ---------------------------------------------------------------- Windows

/// The first child element of `node` named `name` (any namespace).
fn child<'a, 'input>(node: roxmltree::Node<'a, 'input>, name: &str) -> Option<roxmltree::Node<'a, 'input>> {
    node.children()
        .find(|child| child.is_element() && child.tag_name().name() == name)
}

/// The `Data` of the `Add` whose target ends with `/{leaf}`, if any.
fn windows_node(payload: &Payload, leaf: &str) -> Option<String> {
    let document = roxmltree::Document::parse(payload.text())
        .unwrap_or_else(|error| panic!("not XML ({error}):\n{}", payload.text()));
    document
        .descendants()
        .filter(|node| node.is_element() && node.tag_name().name() == "Add")
        .filter_map(|add| child(add, "Item"))
        .find(|item| {
            child(*item, "Target")
                .and_then(|target| child(target, "LocURI"))
                .and_then(|uri| uri.text())
                .is_some_and(|uri| uri.ends_with(&format!("/{leaf}")))
        })
        .map(|item| {
            child(item, "Data")
                .and_then(|data| data.text())
                .unwrap_or_default()
                .to_owned()
        })
}

fn required_windows_node(payload: &Payload, leaf: &str) -> String {
    windows_node(payload, leaf).unwrap_or_else(|| panic!("no {leaf} node in:\n{}", payload.text()))
}

/// Reads a `SubjectName` the way `CertStrToName` does: RDNs separated by `,`
/// or `;`, attributes of one RDN by `+`, `KEYWORD=value`; a value is either
/// unquoted, or in double quotes with `""` for `"`. Backslashes are ordinary.
fn parse_subject_name(text: &str) -> Vec<Vec<(String, String)>> {
    let chars: Vec<char> = text.chars().collect();
    let mut rdns = vec![Vec::new()];
    let mut i = 0;
    loop {
        let start = i;
        while chars.get(i).is_some_and(|&c| c != '=') {
            i += 1;
        }
        assert!(i < chars.len(), "no `=` after position {start} in {text}");
        let keyword: String = chars[start..i].iter().collect::<String>().trim().to_owned();
        i += 1;
        let mut value = String::new();
        if chars.get(i) == Some(&'"') {
            i += 1;
            loop {
                match (chars.get(i), chars.get(i + 1)) {
                    (Some('"'), Some('"')) => {
                        value.push('"');
                        i += 2;
                    }
                    (Some('"'), _) => {
                        i += 1;
                        break;
                    }
                    (Some(&c), _) => {
                        value.push(c);
                        i += 1;
                    }
                    (None, _) => panic!("unterminated quoted value in {text}"),
                }
            }
        } else {
            while let Some(&c) = chars.get(i).filter(|c| !matches!(c, ',' | ';' | '+')) {
                assert!(c != '"' && c != '=', "`{c}` in an unquoted value in {text}");
                value.push(c);
                i += 1;
            }
            value = value.trim().to_owned();
        }
        rdns.last_mut().expect("an RDN").push((keyword, value));
        match chars.get(i) {
            None => return rdns,
            Some('+') => {}
            Some(',' | ';') => rdns.push(Vec::new()),
            Some(other) => panic!("`{other}` after a value in {text}"),
        }
        i += 1;
    }
}

fn rdns(pairs: &[(&str, &str)]) -> Vec<Vec<(String, String)>> {
    pairs
        .iter()
        .map(|(keyword, value)| vec![((*keyword).to_owned(), (*value).to_owned())])
        .collect()
}

// ---------------------------------------------------------------- Android

fn android_document(payload: &Payload) -> Value {
    serde_json::from_slice(&payload.body)
        .unwrap_or_else(|error| panic!("not JSON ({error}):\n{}", payload.text()))
}

// ---------------------------------------------------------------- the payload validator

/// Scepter's payload validator (Android also against
/// `openapi/android-payload.schema.json`) must find no error and no warning.
fn assert_validator_accepts(payload: &Payload) {
    let report = validate(&payload.body, &Options::scepter());
    assert!(
        report.is_clean(),
        "the validator refuses the preview:\n{report}--- payload ---\n{}",
        payload.text()
    );
}

// ---------------------------------------------------------------- payloads per platform

async fn ios_user_certificate_preview_is_a_valid_mobileconfig_with_the_expanded_subject_and_placeholder_challenge(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let jane = create_user(
        &app,
        "jane@contoso.com",
        json!({ "mail": "jane.doe@contoso.com" }),
    )
    .await;
    let device = device_of(&app, "ios", &jane).await;
    let (profile, _) = create_scep_profile(
        &app,
        "ios",
        custom_user_subject(json!({
            "customSubjectAlternativeNames": [{ "sanType": "userPrincipalName", "name": "{{UserPrincipalName}}" }],
            "scepServerUrls": NDES_URLS,
        })),
    )
    .await;

    let payload = scep_payload(&app, &profile, &device, APPLE).await;

    let mobileconfig = apple_profile(&payload);
    let scep = apple_scep(&mobileconfig);
    assert_eq!(
        scep.get("Subject"),
        Some(&apple_subject(&[
            ("CN", "jane@contoso.com"),
            (EMAIL_OID, "jane.doe@contoso.com"),
            ("OU", "Mobile"),
        ]))
    );
    assert_eq!(string_of(scep, "Challenge"), PREVIEW_CHALLENGE);
    assert!(
        string_of(scep, "Challenge").contains("PLACEHOLDER"),
        "a preview must never carry a real challenge"
    );
    assert!(
        NDES_URLS.contains(&string_of(scep, "URL")),
        "URL {} is not one of the profile's",
        string_of(scep, "URL")
    );
    let san = scep
        .get("SubjectAltName")
        .and_then(plist::Value::as_dictionary)
        .expect("SubjectAltName");
    assert_eq!(string_of(san, "ntPrincipalName"), "jane@contoso.com");
    assert!(
        payload
            .warnings
            .iter()
            .any(|warning| warning.contains("extendedKeyUsages") && warning.contains(CLIENT_AUTHENTICATION)),
        "no warning about the extended key usages: {:?}",
        payload.warnings
    );
    assert_validator_accepts(&payload);
}

async fn macos_device_certificate_preview_has_system_scope(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let azure_id = Uuid::new_v4().to_string();
    let device = create_device(&app, "macos", json!({ "azureADDeviceId": azure_id })).await;
    let (profile, _) = create_scep_profile(
        &app,
        "macos",
        json!({ "certificateType": "device", "subjectNameFormat": "commonName" }),
    )
    .await;

    let payload = scep_payload(&app, &profile, &device, APPLE).await;

    let mobileconfig = apple_profile(&payload);
    assert_eq!(string_of(&mobileconfig, "PayloadScope"), "System");
    assert_eq!(
        apple_scep(&mobileconfig).get("Subject"),
        Some(&apple_subject(&[("CN", &azure_id)]))
    );
    assert_validator_accepts(&payload);
}

async fn windows_user_certificate_preview_is_valid_syncml_with_subject_key_usage_and_root_thumbprint(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let jane = create_user(
        &app,
        "jane@contoso.com",
        json!({ "mail": "jane.doe@contoso.com" }),
    )
    .await;
    let device = device_of(&app, "windows10", &jane).await;
    let root = create_trusted(&app, "windows10").await;
    let body = with(
        scep_body(&root, "windows10"),
        custom_user_subject(json!({
            "keyUsage": ["digitalSignature", "keyEncipherment"],
            "customSubjectAlternativeNames": [{ "sanType": "userPrincipalName", "name": "{{UserPrincipalName}}" }],
            "scepServerUrls": NDES_URLS,
        })),
    );
    let profile = id_of(&create(&app, SCEP, &body).await);
    let thumbprint = read(&app, &format!("{TRUSTED}/{root}")).await["certificateDetails"]["thumbprintSha1"]
        .as_str()
        .expect("thumbprintSha1")
        .to_owned();

    let payload = scep_payload(&app, &profile, &device, SYNCML).await;

    assert_eq!(
        required_windows_node(&payload, "SubjectName"),
        "CN=jane@contoso.com,E=jane.doe@contoso.com,OU=Mobile"
    );
    assert_eq!(required_windows_node(&payload, "KeyUsage"), "160");
    assert_eq!(required_windows_node(&payload, "CAThumbprint"), thumbprint);
    assert_eq!(
        required_windows_node(&payload, "SubjectAlternativeNames"),
        "11+jane@contoso.com"
    );
    assert_eq!(
        required_windows_node(&payload, "EKUMapping"),
        CLIENT_AUTHENTICATION
    );
    assert_eq!(required_windows_node(&payload, "Challenge"), PREVIEW_CHALLENGE);
    assert_validator_accepts(&payload);
}

async fn android_preview_is_schema_valid_json_with_the_placeholder_challenge(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let jane = create_user(
        &app,
        "jane@contoso.com",
        json!({ "mail": "jane.doe@contoso.com" }),
    )
    .await;
    let device = device_of(&app, "android", &jane).await;
    let (profile, _) = create_scep_profile(
        &app,
        "android",
        custom_user_subject(json!({ "scepServerUrls": NDES_URLS })),
    )
    .await;

    let payload = scep_payload(&app, &profile, &device, JSON).await;

    let document = android_document(&payload);
    assert_eq!(document["kind"], "scepCertificateProfile");
    assert_eq!(document["scep"]["challenge"], PREVIEW_CHALLENGE);
    assert_eq!(document["scep"]["subject"][0][0]["value"], "jane@contoso.com");
    assert_validator_accepts(&payload);
}

async fn trusted_profile_preview_is_served_in_the_platform_format(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    for (platform, content_type) in [("ios", APPLE), ("windows10", SYNCML)] {
        let device = create_device(&app, platform, json!({})).await;
        let profile = create_trusted(&app, platform).await;

        let payload = expect_payload(preview_trusted(&app, &profile, &device).await, content_type).await;

        match platform {
            "ios" => {
                inner_content(&apple_profile(&payload), "com.apple.security.root")
                    .as_data()
                    .expect("the root payload carries the certificate as data");
            }
            _ => assert_eq!(
                windows_node(&payload, "EncodedCertificate"),
                Some(pem_to_base64_der(ROOT_CA))
            ),
        }
        assert_validator_accepts(&payload);
    }
}

/// Every keyword the subject grammar accepts, with its OID and Apple type.
const EVERY_ATTRIBUTE: [(&str, &str, &str, &str); 15] = [
    ("CN", "2.5.4.3", "CN", "jane@contoso.com"),
    ("E", EMAIL_OID, EMAIL_OID, "jane.doe@contoso.com"),
    ("OU", "2.5.4.11", "OU", "Mobile"),
    ("O", "2.5.4.10", "O", "Contoso"),
    ("L", "2.5.4.7", "L", "Amsterdam"),
    ("S", "2.5.4.8", "ST", "Noord-Holland"),
    ("C", "2.5.4.6", "C", "NL"),
    (
        "DC",
        "0.9.2342.19200300.100.1.25",
        "0.9.2342.19200300.100.1.25",
        "contoso",
    ),
    ("STREET", "2.5.4.9", "2.5.4.9", "Main Street 1"),
    ("SERIALNUMBER", "2.5.4.5", "2.5.4.5", "R58M1234"),
    ("T", "2.5.4.12", "2.5.4.12", "Engineer"),
    ("G", "2.5.4.42", "2.5.4.42", "Jane"),
    ("I", "2.5.4.43", "2.5.4.43", "JD"),
    ("SN", "2.5.4.4", "2.5.4.4", "Doe"),
    (
        "UID",
        "0.9.2342.19200300.100.1.1",
        "0.9.2342.19200300.100.1.1",
        "jdoe",
    ),
];

/// The subject template naming every attribute; CN, E and SERIALNUMBER are variables.
const EVERY_ATTRIBUTE_TEMPLATE: &str = "CN={{UserName}},E={{EmailAddress}},OU=Mobile,O=Contoso,L=Amsterdam,\
     ST=Noord-Holland,C=NL,DC=contoso,STREET=Main Street 1,SERIALNUMBER={{SerialNumber}},T=Engineer,G=Jane,\
     I=JD,SN=Doe,UID=jdoe";

/// Previews, for a device of `platform`, a profile whose subject names every attribute.
async fn preview_of_every_attribute(app: &TestApp, platform: &str, content_type: &str) -> Payload {
    let jane = create_user(app, "jane@contoso.com", json!({ "mail": "jane.doe@contoso.com" })).await;
    let device = create_device(
        app,
        platform,
        json!({ "userId": jane, "serialNumber": "R58M1234" }),
    )
    .await;
    let subject =
        json!({ "subjectNameFormat": "custom", "subjectNameFormatString": EVERY_ATTRIBUTE_TEMPLATE });
    let (profile, _) = create_scep_profile(app, platform, subject).await;
    scep_payload(app, &profile, &device, content_type).await
}

async fn every_subject_attribute_renders_a_schema_valid_android_payload(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let payload = preview_of_every_attribute(&app, "android", JSON).await;

    assert_validator_accepts(&payload);
    // The schema's subjectAttribute: `type` is the API's template keyword, `oid` what is encoded.
    let expected: Vec<Value> = EVERY_ATTRIBUTE
        .iter()
        .map(|(keyword, oid, _, value)| json!([{ "type": keyword, "oid": oid, "value": value }]))
        .collect();
    assert_eq!(android_document(&payload)["scep"]["subject"], json!(expected));
}

async fn every_subject_attribute_renders_a_valid_apple_payload(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let payload = preview_of_every_attribute(&app, "ios", APPLE).await;

    let rdns: Vec<(&str, &str)> = EVERY_ATTRIBUTE
        .iter()
        .map(|(_, _, apple_type, value)| (*apple_type, *value))
        .collect();
    assert_eq!(
        apple_scep(&apple_profile(&payload)).get("Subject"),
        Some(&apple_subject(&rdns))
    );
    assert_validator_accepts(&payload);
}

// ---------------------------------------------------------------- injection

async fn directory_values_with_dn_syntax_stay_inside_their_attribute(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let upn = "jane,O=Evil+CN=root@contoso.com";
    let mail = "\"x\"<y>#;z@contoso.com";
    let evil = create_user(&app, upn, json!({ "mail": mail })).await;
    let iphone = device_of(&app, "ios", &evil).await;
    let laptop = device_of(&app, "windows10", &evil).await;
    let (ios, _) = create_scep_profile(&app, "ios", custom_user_subject(json!({}))).await;
    let (windows, _) = create_scep_profile(&app, "windows10", custom_user_subject(json!({}))).await;

    let apple = scep_payload(&app, &ios, &iphone, APPLE).await;
    let syncml = scep_payload(&app, &windows, &laptop, SYNCML).await;

    assert_eq!(
        apple_scep(&apple_profile(&apple)).get("Subject"),
        Some(&apple_subject(&[
            ("CN", upn),
            (EMAIL_OID, mail),
            ("OU", "Mobile")
        ]))
    );
    assert_validator_accepts(&apple);
    // Quoted because of `,` `+` `=` (CN) and `"` `<` `>` `#` `;` (E); `"` doubled, no backslashes.
    let subject_name = required_windows_node(&syncml, "SubjectName");
    assert_eq!(
        subject_name,
        r#"CN="jane,O=Evil+CN=root@contoso.com",E="""x""<y>#;z@contoso.com",OU=Mobile"#
    );
    assert_eq!(
        parse_subject_name(&subject_name),
        rdns(&[("CN", upn), ("E", mail), ("OU", "Mobile")])
    );
}

// ---------------------------------------------------------------- check-in

/// Check-in writes each device's strings into a frame of the profile's
/// `.mobileconfig` kept from an earlier device (`ScepFrame`); the preview
/// renders in full. With the challenge set aside, the two must be the same
/// bytes, for devices whose values XML must escape and whose SCEP URLs differ.
async fn a_check_in_payload_is_the_preview_with_the_device_challenge(backend: Backend) {
    use crate::helpers::enrollment::{assign, check_in, credential_for, item, nothing_installed, GROUPS};

    let app = TestApp::spawn(backend).await;
    let users = [
        ("jane@contoso.com", "jane@contoso.com"),
        ("o'brien+<it>@contoso.com", "\"x\"<y>&z@contoso.com"),
        ("li@contoso.com", "li@contoso.com"),
    ];
    let root = create_trusted(&app, "ios").await;
    let body = with(
        scep_body(&root, "ios"),
        custom_user_subject(json!({
            "scepServerUrls": NDES_URLS,
            "customSubjectAlternativeNames": [{ "sanType": "userPrincipalName", "name": "{{UserPrincipalName}}" }],
        })),
    );
    let profile = id_of(&create(&app, SCEP, &body).await);
    let group = id_of(
        &create(
            &app,
            GROUPS,
            &json!({ "displayName": "Phones", "groupType": "device" }),
        )
        .await,
    );
    let url_of = |preview: &Payload| string_of(apple_scep(&apple_profile(preview)), "URL").to_owned();
    let mut devices = Vec::new();
    let mut urls = std::collections::BTreeSet::new();
    for (upn, mail) in users {
        let user = create_user(&app, upn, json!({ "mail": mail })).await;
        devices.push(device_of(&app, "ios", &user).await);
    }
    // A device's URL follows from its (random) id: add devices until both URLs are given out.
    let extra_user = create_user(&app, "more@contoso.com", json!({ "mail": "more@contoso.com" })).await;
    for attempt in 0..64 {
        if attempt >= devices.len() {
            devices.push(device_of(&app, "ios", &extra_user).await);
        }
        urls.insert(url_of(
            &scep_payload(&app, &profile, &devices[attempt], APPLE).await,
        ));
        if urls.len() == NDES_URLS.len() && attempt + 1 >= users.len() {
            break;
        }
    }
    assert_eq!(
        urls.len(),
        NDES_URLS.len(),
        "no device got the second URL: {urls:?}"
    );
    let added = app
        .post(
            &format!("{GROUPS}/{group}/members"),
            &json!({ "memberIds": devices }),
        )
        .await;
    assert_eq!(added.status(), 200);
    assign(&app, TRUSTED, &root, &group).await;
    assign(&app, SCEP, &profile, &group).await;

    let mut delivered_urls = std::collections::BTreeSet::new();
    for device in &devices {
        let credential = credential_for(&app, device).await;
        let answer = check_in(&app, &credential, &nothing_installed()).await;
        let scep = item(&answer, &profile);
        assert_eq!(scep["action"], "install", "{answer}");
        let delivered = scep["payload"].as_str().expect("a payload").to_owned();
        let parsed = plist::Value::from_reader_xml(delivered.as_bytes()).expect("a property list");
        let challenge = parsed.as_dictionary().and_then(|profile| {
            let payloads = profile.get("PayloadContent")?.as_array()?;
            payloads.iter().find_map(|payload| {
                let content = payload.as_dictionary()?.get("PayloadContent")?.as_dictionary()?;
                content.get("Challenge")?.as_string().map(str::to_owned)
            })
        });
        let challenge = challenge.expect("a challenge");
        assert_ne!(challenge, PREVIEW_CHALLENGE);
        let preview = scep_payload(&app, &profile, device, APPLE).await;
        let expected = preview.text().replacen(
            &format!("<string>{PREVIEW_CHALLENGE}</string>"),
            &format!("<string>{challenge}</string>"),
            1,
        );
        assert_eq!(
            delivered, expected,
            "the check-in payload of {device} differs from its preview"
        );
        delivered_urls.insert(url_of(&preview));
    }
    assert_eq!(delivered_urls, urls, "every SCEP URL was delivered by a check-in");
}

// ---------------------------------------------------------------- missing values

async fn device_certificate_naming_a_missing_imei_is_422_naming_the_variable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let device = create_device(&app, "android", json!({ "serialNumber": "R58M1234" })).await;
    let (profile, _) = create_scep_profile(
        &app,
        "android",
        json!({ "certificateType": "device", "subjectNameFormat": "commonNameAsIMEI" }),
    )
    .await;

    let response = preview_scep(&app, &profile, &device).await;

    let document = assert_validation_error(response, "deviceId", "missingValue").await;
    let message = error_message(&document, "deviceId", "missingValue");
    assert!(message.contains("IMEINumber"), "{message}");
}

async fn user_certificate_for_a_device_without_primary_user_is_422_missing_value(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let device = create_device(&app, "ios", json!({})).await;
    let (profile, _) = create_scep_profile(&app, "ios", json!({ "certificateType": "user" })).await;

    let response = preview_scep(&app, &profile, &device).await;

    let document = assert_validation_error(response, "deviceId", "missingValue").await;
    let message = error_message(&document, "deviceId", "missingValue");
    assert!(message.contains("UserName"), "{message}");
}

async fn every_missing_value_is_named_in_the_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = create_user(&app, "nomail@contoso.com", json!({})).await;
    let device = create_device(&app, "ios", json!({ "userId": user })).await;
    let (profile, _) = create_scep_profile(
        &app,
        "ios",
        custom_user_subject(json!({
            "customSubjectAlternativeNames": [
                { "sanType": "userPrincipalName", "name": "{{onPremisesSamAccountName}}@contoso.com" }
            ],
        })),
    )
    .await;

    let response = preview_scep(&app, &profile, &device).await;

    let document = assert_validation_error(response, "deviceId", "missingValue").await;
    let messages: Vec<&str> = document["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter(|error| error["field"] == "deviceId" && error["rule"] == "missingValue")
        .map(|error| error["message"].as_str().expect("message"))
        .collect();
    assert_eq!(messages.len(), 2, "{document}");
    assert!(messages[0].starts_with("{{EmailAddress}}"), "{document}");
    assert!(
        messages[1].starts_with("{{onPremisesSamAccountName}}"),
        "{document}"
    );
}

// ---------------------------------------------------------------- wrong requests and access

/// `Accept` with the platform's media type gets the raw payload, byte for byte the envelope's.
async fn accept_with_the_platform_media_type_gets_the_raw_payload(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (platform, content_type) in [("ios", APPLE), ("windows10", SYNCML), ("android", JSON)] {
        let user = create_user(
            &app,
            &format!("raw-{platform}@contoso.com"),
            json!({ "mail": "raw@contoso.com" }),
        )
        .await;
        let device = device_of(&app, platform, &user).await;
        let (profile, _) = create_scep_profile(&app, platform, custom_user_subject(json!({}))).await;
        let enveloped = scep_payload(&app, &profile, &device, content_type).await;
        let raw = app
            .admin(Method::POST, &scep_preview_path(&profile))
            .header(header::ACCEPT, content_type)
            .json(&json!({ "deviceId": device }))
            .send()
            .await
            .expect("request");
        assert_eq!(raw.status(), 200);
        assert_eq!(header_value(&raw, "content-type"), content_type, "{platform}");
        let bytes = raw.bytes().await.unwrap();
        // The placeholder challenge and deterministic UUIDs make both renderings equal.
        assert_eq!(bytes.as_ref(), enveloped.body.as_slice(), "{platform}");
    }
}

async fn preview_for_a_device_of_another_platform_is_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let jane = create_user(&app, "jane@contoso.com", json!({})).await;
    let android = device_of(&app, "android", &jane).await;
    let (scep, _) = create_scep_profile(&app, "ios", json!({})).await;
    let trusted = create_trusted(&app, "ios").await;

    assert_validation_error(preview_scep(&app, &scep, &android).await, "deviceId", "platform").await;
    assert_validation_error(
        preview_trusted(&app, &trusted, &android).await,
        "deviceId",
        "platform",
    )
    .await;
}

async fn preview_for_an_unknown_device_is_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (scep, _) = create_scep_profile(&app, "ios", json!({})).await;
    let trusted = create_trusted(&app, "ios").await;
    let unknown = Uuid::now_v7().to_string();

    assert_validation_error(preview_scep(&app, &scep, &unknown).await, "deviceId", "exists").await;
    assert_validation_error(
        preview_trusted(&app, &trusted, &unknown).await,
        "deviceId",
        "exists",
    )
    .await;
}

async fn preview_of_an_unknown_profile_is_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let device = create_device(&app, "ios", json!({})).await;
    let unknown = Uuid::now_v7().to_string();

    problem(preview_scep(&app, &unknown, &device).await, 404).await;
    problem(preview_trusted(&app, &unknown, &device).await, 404).await;
}

async fn reader_may_preview_and_anonymous_gets_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let jane = create_user(&app, "jane@contoso.com", json!({})).await;
    let device = device_of(&app, "ios", &jane).await;
    let (scep, _) = create_scep_profile(&app, "ios", json!({})).await;
    let trusted = create_trusted(&app, "ios").await;
    let body = json!({ "deviceId": device });

    let as_reader = app
        .reader(Method::POST, &scep_preview_path(&scep))
        .json(&body)
        .send()
        .await
        .expect("request");
    expect_payload(as_reader, APPLE).await;
    let as_reader = app
        .reader(Method::GET, &trusted_preview_path(&trusted, &device))
        .send()
        .await
        .expect("request");
    expect_payload(as_reader, APPLE).await;

    let anonymous = app
        .anonymous(Method::POST, &scep_preview_path(&scep))
        .json(&body)
        .send()
        .await
        .expect("request");
    problem(anonymous, 401).await;
    let anonymous = app
        .anonymous(Method::GET, &trusted_preview_path(&trusted, &device))
        .send()
        .await
        .expect("request");
    problem(anonymous, 401).await;
}

// ---------------------------------------------------------------- strong mapping

async fn sid_subject_alternative_name_becomes_the_strong_mapping_uri(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let jane = create_user(
        &app,
        "jane@contoso.com",
        json!({ "onPremisesSecurityIdentifier": SID }),
    )
    .await;
    let laptop = device_of(&app, "windows10", &jane).await;
    let iphone = device_of(&app, "ios", &jane).await;
    let sans = json!({
        "customSubjectAlternativeNames": [
            { "sanType": "universalResourceIdentifier", "name": "{{OnPremisesSecurityIdentifier}}" },
        ],
    });
    let (windows, _) = create_scep_profile(&app, "windows10", sans.clone()).await;
    let (ios, _) = create_scep_profile(&app, "ios", sans).await;
    let uri = format!("tag:microsoft.com,2022-09-14:sid:{SID}");

    let syncml = scep_payload(&app, &windows, &laptop, SYNCML).await;
    let apple = scep_payload(&app, &ios, &iphone, APPLE).await;

    let windows_sans = required_windows_node(&syncml, "SubjectAlternativeNames");
    let mapping = format!("7+{uri}");
    assert_eq!(
        windows_sans.split(';').filter(|san| *san == mapping).count(),
        1,
        "{windows_sans}"
    );
    let apple_profile = apple_profile(&apple);
    let apple_sans = apple_scep(&apple_profile)
        .get("SubjectAltName")
        .and_then(plist::Value::as_dictionary)
        .expect("SubjectAltName");
    assert_eq!(
        apple_sans.get("uniformResourceIdentifier"),
        Some(&plist::Value::from(uri.as_str()))
    );
}

// ---------------------------------------------------------------- determinism

async fn previews_of_one_version_are_byte_identical_and_a_new_version_gets_new_payload_uuids(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let jane = create_user(&app, "jane@contoso.com", json!({})).await;
    let iphone = device_of(&app, "ios", &jane).await;
    let laptop = device_of(&app, "windows10", &jane).await;
    let (ios, body) = create_scep_profile(&app, "ios", json!({})).await;
    let (windows, _) = create_scep_profile(&app, "windows10", json!({})).await;

    let first = scep_payload(&app, &ios, &iphone, APPLE).await;
    let second = scep_payload(&app, &ios, &iphone, APPLE).await;
    assert!(first.body == second.body, "two previews of version 1 differ");
    let windows_first = scep_payload(&app, &windows, &laptop, SYNCML).await;
    let windows_second = scep_payload(&app, &windows, &laptop, SYNCML).await;
    assert!(
        windows_first.body == windows_second.body,
        "two Windows previews of version 1 differ"
    );

    let path = format!("{SCEP}/{ios}");
    let updated = expect_json(
        app.put(&path, 1, &with(body, json!({ "keySize": 4096 }))).await,
        200,
    )
    .await;
    assert_eq!(updated["version"], 2);
    let third = scep_payload(&app, &ios, &iphone, APPLE).await;

    let (before, after) = (apple_profile(&first), apple_profile(&third));
    assert_ne!(
        string_of(&before, "PayloadUUID"),
        string_of(&after, "PayloadUUID")
    );
    assert_eq!(
        string_of(&before, "PayloadIdentifier"),
        string_of(&after, "PayloadIdentifier"),
        "a new version must replace the installed profile"
    );
    assert_eq!(string_of(apple_scep(&after), "Challenge"), PREVIEW_CHALLENGE);
}

backend_tests!(
    accept_with_the_platform_media_type_gets_the_raw_payload,
    ios_user_certificate_preview_is_a_valid_mobileconfig_with_the_expanded_subject_and_placeholder_challenge,
    macos_device_certificate_preview_has_system_scope,
    windows_user_certificate_preview_is_valid_syncml_with_subject_key_usage_and_root_thumbprint,
    android_preview_is_schema_valid_json_with_the_placeholder_challenge,
    trusted_profile_preview_is_served_in_the_platform_format,
    every_subject_attribute_renders_a_schema_valid_android_payload,
    every_subject_attribute_renders_a_valid_apple_payload,
    directory_values_with_dn_syntax_stay_inside_their_attribute,
    device_certificate_naming_a_missing_imei_is_422_naming_the_variable,
    user_certificate_for_a_device_without_primary_user_is_422_missing_value,
    every_missing_value_is_named_in_the_422,
    preview_for_a_device_of_another_platform_is_422,
    preview_for_an_unknown_device_is_422,
    preview_of_an_unknown_profile_is_404,
    reader_may_preview_and_anonymous_gets_401,
    sid_subject_alternative_name_becomes_the_strong_mapping_uri,
    previews_of_one_version_are_byte_identical_and_a_new_version_gets_new_payload_uuids,
    a_check_in_payload_is_the_preview_with_the_device_challenge,
);
