//! `/api/v1/scep-certificate-profiles` over HTTP: defaults, every validation
//! rule as the client sees it, body schema errors, reads, lists, optimistic
//! concurrency and deletion.

use crate::helpers::*;
use reqwest::{header, Method};
use scepter_blackbox_tests::{
    assert_validation_error, backend_tests, json, problem, Backend, TestApp, TestOptions,
};
use serde_json::{json, Value};

const PLATFORM_FAMILIES: [&str; 4] = ["ios", "macos", "android", "windows10"];
const CLIENT_AUTHENTICATION: &str = "1.3.6.1.5.5.7.3.2";

fn item_path(id: &str) -> String {
    format!("{SCEP}/{id}")
}

/// A root for `platform` and a SCEP profile body using it.
async fn root_and_body(app: &TestApp, platform: &str) -> (String, Value) {
    let root = create_trusted(app, platform).await;
    let body = scep_body(&root, platform);
    (root, body)
}

/// Sends `body` with a raw JSON text (for bodies `serde_json::json!` cannot express as wanted).
async fn post_raw(app: &TestApp, body: String) -> reqwest::Response {
    app.admin(Method::POST, SCEP)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .expect("request")
}

/// Asserts a 422 whose only error is a body-schema error.
async fn assert_schema_error(response: reqwest::Response) -> Value {
    let document = problem(response, 422).await;
    let errors = document["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{document}");
    assert_eq!(errors[0]["rule"], "schema", "{document}");
    document
}

fn https_urls(count: usize) -> Vec<String> {
    (0..count)
        .map(|index| format!("https://ndes{index}.contoso.example/certsrv/mscep/mscep.dll"))
        .collect()
}

// ---------------------------------------------------------------- create and defaults

async fn create_for_each_platform_family_returns_201_with_location_and_etag_1(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    for platform in PLATFORM_FAMILIES {
        let (root, body) = root_and_body(&app, platform).await;

        let response = app.post(SCEP, &body).await;

        assert_eq!(response.status().as_u16(), 201, "{platform}");
        assert_eq!(etag(&response), "\"1\"", "{platform}");
        let location = header_value(&response, header::LOCATION.as_str());
        let created = json(response).await;
        assert_eq!(location, item_path(&id_of(&created)), "{platform}");
        assert_eq!(created["version"], 1, "{platform}");
        assert_eq!(created["platform"], platform);
        assert_eq!(created["rootCertificateId"], root.as_str(), "{platform}");
    }
}

async fn create_fills_in_the_defaults_of_omitted_settings(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    for platform in PLATFORM_FAMILIES {
        let (_, body) = root_and_body(&app, platform).await;

        let created = create(&app, SCEP, &body).await;

        assert_eq!(created["renewalThresholdPercentage"], 20, "{platform}");
        assert_eq!(
            created["extendedKeyUsages"],
            json!([{ "name": "Client Authentication", "objectIdentifier": CLIENT_AUTHENTICATION }]),
            "{platform}"
        );
        assert_eq!(
            created["certificateValidityPeriodValue"],
            Value::Null,
            "{platform}"
        );
        assert_eq!(
            created["certificateValidityPeriodScale"],
            Value::Null,
            "{platform}"
        );
        assert_eq!(created["description"], "", "{platform}");
        assert_eq!(created["customSubjectAlternativeNames"], json!([]), "{platform}");
        assert_eq!(created["warnings"], json!([]), "{platform}");
    }
}

async fn hash_algorithm_defaults_to_sha2_on_android_and_windows(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    for platform in ["android", "windows10"] {
        let (_, body) = root_and_body(&app, platform).await;
        let created = create(&app, SCEP, &body).await;
        assert_eq!(created["hashAlgorithm"], "sha2", "{platform}");
    }
}

async fn hash_algorithm_is_null_on_ios_and_macos(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    for platform in ["ios", "macos"] {
        let (_, body) = root_and_body(&app, platform).await;
        let created = create(&app, SCEP, &body).await;
        assert_eq!(created["hashAlgorithm"], Value::Null, "{platform}");
    }
}

async fn chosen_hash_algorithm_is_kept_on_android(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, body) = root_and_body(&app, "android").await;

    let created = create(&app, SCEP, &with(body, json!({ "hashAlgorithm": "sha1" }))).await;

    assert_eq!(created["hashAlgorithm"], "sha1");
}

async fn key_storage_provider_defaults_to_tpm_otherwise_software_on_windows(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, body) = root_and_body(&app, "windows10").await;

    let created = create(&app, SCEP, &body).await;

    assert_eq!(created["keyStorageProvider"], "useTpmKspOtherwiseUseSoftwareKsp");
}

async fn key_storage_provider_is_null_outside_windows(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    for platform in ["ios", "macos", "android"] {
        let (_, body) = root_and_body(&app, platform).await;
        let created = create(&app, SCEP, &body).await;
        assert_eq!(created["keyStorageProvider"], Value::Null, "{platform}");
    }
}

async fn key_size_4096_with_software_ksp_is_accepted_on_windows(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, body) = root_and_body(&app, "windows10").await;
    let body = with(
        body,
        json!({ "keySize": 4096, "keyStorageProvider": "useSoftwareKsp" }),
    );

    let created = create(&app, SCEP, &body).await;

    assert_eq!(created["keySize"], 4096);
    assert_eq!(created["keyStorageProvider"], "useSoftwareKsp");
}

async fn ios_profile_with_validity_period_is_accepted_with_a_warning(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, body) = root_and_body(&app, "ios").await;
    let body = with(
        body,
        json!({ "certificateValidityPeriodValue": 1, "certificateValidityPeriodScale": "years" }),
    );

    let created = create(&app, SCEP, &body).await;

    assert_eq!(created["certificateValidityPeriodValue"], 1);
    assert_eq!(created["certificateValidityPeriodScale"], "years");
    let warnings = created["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .as_str()
            .is_some_and(|warning| warning.contains("certificateValidityPeriod")),
        "{warnings:?}"
    );
}

async fn android_profile_with_validity_period_keeps_it_without_warning(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, body) = root_and_body(&app, "android").await;
    let body = with(
        body,
        json!({ "certificateValidityPeriodValue": 24, "certificateValidityPeriodScale": "months" }),
    );

    let created = create(&app, SCEP, &body).await;

    assert_eq!(created["certificateValidityPeriodValue"], 24);
    assert_eq!(created["certificateValidityPeriodScale"], "months");
    assert_eq!(created["warnings"], json!([]));
}

async fn custom_subject_name_with_a_format_string_is_accepted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, body) = root_and_body(&app, "android").await;
    let body = with(
        body,
        json!({ "subjectNameFormat": "custom", "subjectNameFormatString": "CN={{UserName}},O=Contoso" }),
    );

    let created = create(&app, SCEP, &body).await;

    assert_eq!(created["subjectNameFormat"], "custom");
    assert_eq!(created["subjectNameFormatString"], "CN={{UserName}},O=Contoso");
}

async fn http_scep_url_is_accepted_when_the_lab_flag_allows_it(backend: Backend) {
    let options = TestOptions {
        allow_http_scep_urls: true,
        ..TestOptions::default()
    };
    let app = TestApp::spawn_with(backend, options).await;
    let (_, body) = root_and_body(&app, "android").await;
    let body = with(
        body,
        json!({ "scepServerUrls": ["http://ndes.lab.example/certsrv/mscep/mscep.dll"] }),
    );

    let created = create(&app, SCEP, &body).await;

    assert_eq!(
        created["scepServerUrls"],
        json!(["http://ndes.lab.example/certsrv/mscep/mscep.dll"])
    );
}

async fn settings_at_their_limits_are_accepted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, body) = root_and_body(&app, "android").await;
    let cases = [
        (
            "730 days",
            json!({ "certificateValidityPeriodValue": 730, "certificateValidityPeriodScale": "days" }),
        ),
        (
            "24 months",
            json!({ "certificateValidityPeriodValue": 24, "certificateValidityPeriodScale": "months" }),
        ),
        (
            "2 years",
            json!({ "certificateValidityPeriodValue": 2, "certificateValidityPeriodScale": "years" }),
        ),
        (
            "1 day",
            json!({ "certificateValidityPeriodValue": 1, "certificateValidityPeriodScale": "days" }),
        ),
        ("renewal at 1 %", json!({ "renewalThresholdPercentage": 1 })),
        ("renewal at 99 %", json!({ "renewalThresholdPercentage": 99 })),
        ("10 SCEP server URLs", json!({ "scepServerUrls": https_urls(10) })),
        ("1024-bit key", json!({ "keySize": 1024 })),
        ("4096-bit key outside Windows", json!({ "keySize": 4096 })),
    ];

    for (case, changes) in cases {
        let response = app.post(SCEP, &with(body.clone(), changes)).await;
        let status = response.status().as_u16();
        assert_eq!(status, 201, "{case}: {}", json(response).await);
    }
}

async fn every_setting_sent_is_returned_as_sent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = create_trusted(&app, "windows10").await;
    let settings = json!({
        "displayName": "Corporate VPN",
        "description": "Device certificate for the VPN\nsecond line",
        "platform": "windows10",
        "certificateType": "device",
        "certificateValidityPeriodValue": 6,
        "certificateValidityPeriodScale": "months",
        "keyStorageProvider": "usePassportForWorkKspOtherwiseFail",
        "subjectNameFormat": "custom",
        "subjectNameFormatString": "CN={{AAD_Device_ID}},OU=Devices,O=Contoso",
        "customSubjectAlternativeNames": [
            { "sanType": "domainNameService", "name": "{{DeviceName}}.contoso.example" },
            { "sanType": "universalResourceIdentifier", "name": "urn:device:{{DeviceId}}" },
        ],
        "keyUsage": ["keyEncipherment", "digitalSignature"],
        "keySize": 2048,
        "hashAlgorithm": "sha1",
        "rootCertificateId": root,
        "extendedKeyUsages": [
            { "name": "Client Authentication", "objectIdentifier": "1.3.6.1.5.5.7.3.2" },
            { "name": "IP security IKE intermediate", "objectIdentifier": "1.3.6.1.5.5.8.2.2" },
        ],
        "renewalThresholdPercentage": 35,
        "scepServerUrls": https_urls(3),
    });

    let created = create(&app, SCEP, &settings).await;

    let stored = read(&app, &item_path(&id_of(&created))).await;
    for (field, sent) in settings.as_object().expect("settings") {
        assert_eq!(&stored[field], sent, "{field}");
    }
    assert_eq!(stored["warnings"], json!([]));
}

async fn description_with_a_nul_character_is_never_a_server_error(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, body) = root_and_body(&app, "android").await;
    let description = "before\u{0}after";

    let response = app
        .post(SCEP, &with(body, json!({ "description": description })))
        .await;

    // Descriptions allow control characters; accepted or refused, NUL is the
    // client's input and must not fail the server.
    let status = response.status().as_u16();
    let created = json(response).await;
    match status {
        201 => assert_eq!(
            read(&app, &item_path(&id_of(&created))).await["description"],
            description
        ),
        422 => assert_empty(&app, SCEP).await,
        other => panic!("expected 201 or 422, got {other}: {created}"),
    }
}

// ---------------------------------------------------------------- validation

async fn create_breaking_a_rule_is_rejected_with_422_naming_field_and_rule_and_stores_nothing(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let android = create_trusted(&app, "android").await;
    let ios = create_trusted(&app, "ios").await;
    let macos = create_trusted(&app, "macos").await;
    let windows = create_trusted(&app, "windows10").await;
    let windows81 = create_trusted(&app, "windows81").await;
    let root_of = |platform: &str| match platform {
        "android" => android.clone(),
        "ios" => ios.clone(),
        "macos" => macos.clone(),
        _ => windows.clone(),
    };
    let url = "https://ndes.contoso.example/certsrv/mscep/mscep.dll";
    let cases: Vec<(&str, &str, Value, &str, &str)> = vec![
        (
            "key size 1000",
            "android",
            json!({ "keySize": 1000 }),
            "keySize",
            "oneOf",
        ),
        (
            "4096 bits in a TPM",
            "windows10",
            json!({ "keySize": 4096 }),
            "keySize",
            "tpmKeySize",
        ),
        (
            "4096 bits, TPM or fail",
            "windows10",
            json!({ "keySize": 4096, "keyStorageProvider": "useTpmKspOtherwiseFail" }),
            "keySize",
            "tpmKeySize",
        ),
        (
            "key storage provider on android",
            "android",
            json!({ "keyStorageProvider": "useSoftwareKsp" }),
            "keyStorageProvider",
            "windowsOnly",
        ),
        (
            "hash algorithm on ios",
            "ios",
            json!({ "hashAlgorithm": "sha2" }),
            "hashAlgorithm",
            "notForApple",
        ),
        (
            "hash algorithm on macos",
            "macos",
            json!({ "hashAlgorithm": "sha1" }),
            "hashAlgorithm",
            "notForApple",
        ),
        (
            "custom subject without a format string",
            "android",
            json!({ "subjectNameFormat": "custom" }),
            "subjectNameFormatString",
            "required",
        ),
        (
            "custom subject with a blank format string",
            "android",
            json!({ "subjectNameFormat": "custom", "subjectNameFormatString": "  " }),
            "subjectNameFormatString",
            "required",
        ),
        (
            "format string with a non-custom subject",
            "android",
            json!({ "subjectNameFormatString": "CN={{UserName}}" }),
            "subjectNameFormatString",
            "onlyWithCustom",
        ),
        (
            "empty key usage",
            "android",
            json!({ "keyUsage": [] }),
            "keyUsage",
            "minItems",
        ),
        (
            "repeated key usage",
            "android",
            json!({ "keyUsage": ["digitalSignature", "digitalSignature"] }),
            "keyUsage",
            "unique",
        ),
        (
            "OID with a leading zero",
            "android",
            json!({ "extendedKeyUsages": [{ "name": "Client Authentication", "objectIdentifier": "1.3.6.1.5.5.7.3.02" }] }),
            "extendedKeyUsages[0].objectIdentifier",
            "oid",
        ),
        (
            "OID that is not dotted decimal",
            "android",
            json!({ "extendedKeyUsages": [{ "name": "Smart card", "objectIdentifier": "smartcard" }] }),
            "extendedKeyUsages[0].objectIdentifier",
            "oid",
        ),
        (
            "empty extended key usage list",
            "android",
            json!({ "extendedKeyUsages": [] }),
            "extendedKeyUsages",
            "minItems",
        ),
        (
            "renewal at 0 %",
            "android",
            json!({ "renewalThresholdPercentage": 0 }),
            "renewalThresholdPercentage",
            "range",
        ),
        (
            "renewal at 100 %",
            "android",
            json!({ "renewalThresholdPercentage": 100 }),
            "renewalThresholdPercentage",
            "range",
        ),
        (
            "no SCEP server URL",
            "android",
            json!({ "scepServerUrls": [] }),
            "scepServerUrls",
            "itemCount",
        ),
        (
            "11 SCEP server URLs",
            "android",
            json!({ "scepServerUrls": https_urls(11) }),
            "scepServerUrls",
            "itemCount",
        ),
        (
            "plain http SCEP server URL",
            "android",
            json!({ "scepServerUrls": ["http://ndes.contoso.example/certsrv/mscep/mscep.dll"] }),
            "scepServerUrls[0]",
            "httpsUrl",
        ),
        (
            "relative SCEP server URL",
            "android",
            json!({ "scepServerUrls": ["/certsrv/mscep/mscep.dll"] }),
            "scepServerUrls[0]",
            "absoluteUrl",
        ),
        (
            "repeated SCEP server URL",
            "android",
            json!({ "scepServerUrls": [url, url] }),
            "scepServerUrls[1]",
            "unique",
        ),
        (
            "SCEP server URL with credentials",
            "android",
            json!({ "scepServerUrls": ["https://admin:secret@ndes.contoso.example/certsrv/mscep/mscep.dll"] }),
            "scepServerUrls[0]",
            "noCredentials",
        ),
        (
            "validity of 25 months",
            "android",
            json!({ "certificateValidityPeriodValue": 25, "certificateValidityPeriodScale": "months" }),
            "certificateValidityPeriodValue",
            "range",
        ),
        (
            "validity of 0 days",
            "windows10",
            json!({ "certificateValidityPeriodValue": 0, "certificateValidityPeriodScale": "days" }),
            "certificateValidityPeriodValue",
            "range",
        ),
        (
            "validity value without a scale",
            "android",
            json!({ "certificateValidityPeriodValue": 12 }),
            "certificateValidityPeriodScale",
            "requiredWith",
        ),
        (
            "blank display name",
            "android",
            json!({ "displayName": " " }),
            "displayName",
            "required",
        ),
        (
            "unknown root certificate",
            "android",
            json!({ "rootCertificateId": uuid::Uuid::new_v4() }),
            "rootCertificateId",
            "exists",
        ),
        (
            "android profile with an ios root",
            "android",
            json!({ "rootCertificateId": ios }),
            "rootCertificateId",
            "compatiblePlatform",
        ),
        (
            "ios profile with a macos root",
            "ios",
            json!({ "rootCertificateId": macos }),
            "rootCertificateId",
            "compatiblePlatform",
        ),
        (
            "windows profile with an android root",
            "windows10",
            json!({ "rootCertificateId": android }),
            "rootCertificateId",
            "compatiblePlatform",
        ),
        (
            "windows10 profile with a windows81 root",
            "windows10",
            json!({ "rootCertificateId": windows81 }),
            "rootCertificateId",
            "compatiblePlatform",
        ),
    ];

    for (case, platform, changes, field, rule) in cases {
        let body = with(scep_body(&root_of(platform), platform), changes);

        let response = app.post(SCEP, &body).await;

        assert_eq!(response.status().as_u16(), 422, "{case}");
        let document = problem(response, 422).await;
        assert_eq!(document["type"], "urn:scepter:problem:validation", "{case}");
        assert!(
            rules_for(&document, field).contains(&rule),
            "{case}: expected {field}/{rule} in {document}"
        );
    }
    assert_empty(&app, SCEP).await;
}

async fn create_reports_every_broken_rule_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, body) = root_and_body(&app, "ios").await;
    let body = with(
        body,
        json!({ "keySize": 1000, "hashAlgorithm": "sha2", "renewalThresholdPercentage": 0, "scepServerUrls": [] }),
    );

    let response = app.post(SCEP, &body).await;

    let document = problem(response, 422).await;
    assert_eq!(rules_for(&document, "keySize"), ["oneOf"]);
    assert_eq!(rules_for(&document, "hashAlgorithm"), ["notForApple"]);
    assert_eq!(rules_for(&document, "renewalThresholdPercentage"), ["range"]);
    assert_eq!(rules_for(&document, "scepServerUrls"), ["itemCount"]);
    assert_empty(&app, SCEP).await;
}

async fn unknown_json_member_is_rejected_with_422_schema(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, body) = root_and_body(&app, "android").await;

    let response = app.post(SCEP, &with(body, json!({ "keysize": 2048 }))).await;

    assert_schema_error(response).await;
    assert_empty(&app, SCEP).await;
}

async fn unknown_json_member_is_named_in_the_error(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, body) = root_and_body(&app, "android").await;

    let response = app.post(SCEP, &with(body, json!({ "keysize": 2048 }))).await;

    assert_validation_error(response, "keysize", "schema").await;
}

async fn missing_required_member_is_rejected_with_422_naming_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, body) = root_and_body(&app, "android").await;

    let response = app.post(SCEP, &without(body, "keySize")).await;

    assert_validation_error(response, "keySize", "schema").await;
    assert_empty(&app, SCEP).await;
}

async fn wrong_json_type_is_rejected_with_422_schema_naming_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, body) = root_and_body(&app, "android").await;

    let response = app.post(SCEP, &with(body, json!({ "keySize": "big" }))).await;

    assert_validation_error(response, "keySize", "schema").await;
    assert_empty(&app, SCEP).await;
}

async fn wrong_json_type_inside_a_list_is_named_with_its_index(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, body) = root_and_body(&app, "android").await;

    let response = app
        .post(
            SCEP,
            &with(body, json!({ "scepServerUrls": ["https://a.example", 42] })),
        )
        .await;

    assert_validation_error(response, "scepServerUrls[1]", "schema").await;
}

async fn unknown_platform_value_is_rejected_with_422_schema_naming_platform(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, body) = root_and_body(&app, "android").await;

    let response = app.post(SCEP, &with(body, json!({ "platform": "linux" }))).await;

    assert_validation_error(response, "platform", "schema").await;
    assert_empty(&app, SCEP).await;
}

async fn malformed_root_certificate_id_is_rejected_with_422_schema(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, body) = root_and_body(&app, "android").await;

    let response = app
        .post(SCEP, &with(body, json!({ "rootCertificateId": "root-1" })))
        .await;

    assert_validation_error(response, "rootCertificateId", "schema").await;
}

async fn duplicate_json_member_is_rejected(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, body) = root_and_body(&app, "android").await;
    let text = body.to_string();
    let duplicated = text.replacen('{', "{\"keySize\":1024,", 1);

    let response = post_raw(&app, duplicated).await;

    assert_schema_error(response).await;
    assert_empty(&app, SCEP).await;
}

// ---------------------------------------------------------------- read

async fn get_returns_200_with_etag_and_the_created_profile(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, body) = root_and_body(&app, "macos").await;
    let created = create(&app, SCEP, &body).await;

    let response = app.get(&item_path(&id_of(&created))).await;

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(etag(&response), "\"1\"");
    assert_eq!(json(response).await, created);
}

async fn get_unknown_id_is_404_problem(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app.get(&item_path(&uuid::Uuid::new_v4().to_string())).await;

    let document = problem(response, 404).await;
    assert_eq!(document["type"], "urn:scepter:problem:not-found");
}

async fn get_malformed_id_is_404_problem(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app.get(&item_path("not-a-uuid")).await;

    problem(response, 404).await;
}

async fn list_filters_by_platform(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let windows = create_trusted(&app, "windows10").await;
    let android = create_trusted(&app, "android").await;
    let windows81 = create_trusted(&app, "windows81").await;
    let first = create_scep(&app, &windows, "windows10").await;
    create_scep(&app, &android, "android").await;
    let second = create_scep(&app, &windows81, "windows81").await;
    let third = create_scep(&app, &windows, "windows10").await;

    let ids = list_ids(&app, &format!("{SCEP}?platform=windows10")).await;

    assert_eq!(ids, [first, third]);
    assert_eq!(
        list_ids(&app, &format!("{SCEP}?platform=windows81")).await,
        [second]
    );
}

async fn list_pages_with_a_cursor_in_creation_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = create_trusted(&app, "android").await;
    let mut created = Vec::new();
    for _ in 0..3 {
        created.push(create_scep(&app, &root, "android").await);
    }

    let first = read(&app, &format!("{SCEP}?limit=2")).await;
    let cursor = first["nextCursor"].as_str().expect("a second page");
    let second = read(&app, &format!("{SCEP}?limit=2&cursor={cursor}")).await;

    assert_eq!([item_ids(&first), item_ids(&second)].concat(), created);
    assert_eq!(second["nextCursor"], Value::Null);
}

async fn list_rejects_out_of_range_limit_bad_cursor_and_unknown_platform_with_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    assert_validation_error(app.get(&format!("{SCEP}?limit=0")).await, "limit", "range").await;
    assert_validation_error(app.get(&format!("{SCEP}?limit=501")).await, "limit", "range").await;
    assert_validation_error(app.get(&format!("{SCEP}?cursor=bogus")).await, "cursor", "cursor").await;
    assert_validation_error(
        app.get(&format!("{SCEP}?platform=Windows10")).await,
        "platform",
        "oneOf",
    )
    .await;
}

// ---------------------------------------------------------------- update

/// A created android SCEP profile: (its path, its root id, the body it was created from).
async fn existing_profile(app: &TestApp) -> (String, String, Value) {
    let (root, body) = root_and_body(app, "android").await;
    let created = create(app, SCEP, &body).await;
    (item_path(&id_of(&created)), root, body)
}

async fn update_with_current_etag_returns_200_version_2_and_new_settings(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (path, _, body) = existing_profile(&app).await;
    let created = read(&app, &path).await;

    let response = app
        .put(
            &path,
            1,
            &with(body, json!({ "keySize": 4096, "renewalThresholdPercentage": 30 })),
        )
        .await;

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(etag(&response), "\"2\"");
    let updated = json(response).await;
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["keySize"], 4096);
    assert_eq!(updated["renewalThresholdPercentage"], 30);
    assert_eq!(updated["createdDateTime"], created["createdDateTime"]);
    assert!(
        timestamp(&updated, "lastModifiedDateTime") > timestamp(&created, "lastModifiedDateTime"),
        "{created} -> {updated}"
    );
    assert_eq!(read(&app, &path).await, updated);
}

async fn update_can_move_the_profile_to_another_root(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (path, _, body) = existing_profile(&app).await;
    let other_root = create_trusted(&app, "android").await;

    let response = app
        .put(&path, 1, &with(body, json!({ "rootCertificateId": other_root })))
        .await;

    let updated = expect_json(response, 200).await;
    assert_eq!(updated["rootCertificateId"], other_root.as_str());
}

async fn update_with_stale_etag_is_rejected_with_412_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (path, _, body) = existing_profile(&app).await;
    expect_json(
        app.put(&path, 1, &with(body.clone(), json!({ "keySize": 4096 })))
            .await,
        200,
    )
    .await;
    let before = read(&app, &path).await;

    let response = app.put(&path, 1, &with(body, json!({ "keySize": 1024 }))).await;

    let document = problem(response, 412).await;
    assert_eq!(document["type"], "urn:scepter:problem:precondition-failed");
    assert_eq!(read(&app, &path).await, before);
}

async fn update_without_if_match_is_rejected_with_428_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (path, _, body) = existing_profile(&app).await;
    let before = read(&app, &path).await;

    let response = app
        .admin(Method::PUT, &path)
        .json(&with(body, json!({ "keySize": 4096 })))
        .send()
        .await
        .expect("request");

    problem(response, 428).await;
    assert_eq!(read(&app, &path).await, before);
}

async fn update_with_if_match_wildcard_succeeds(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (path, _, body) = existing_profile(&app).await;

    let response = app
        .admin(Method::PUT, &path)
        .header(header::IF_MATCH, "*")
        .json(&with(body, json!({ "keySize": 4096 })))
        .send()
        .await
        .expect("request");

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(etag(&response), "\"2\"");
    assert_eq!(json(response).await["keySize"], 4096);
}

async fn update_with_if_match_listing_the_current_etag_succeeds(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (path, _, body) = existing_profile(&app).await;

    let response = app
        .admin(Method::PUT, &path)
        .header(header::IF_MATCH, "\"7\", \"1\"")
        .json(&body)
        .send()
        .await
        .expect("request");

    assert_eq!(response.status().as_u16(), 200);
}

async fn update_breaking_a_rule_is_rejected_with_422_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (path, _, body) = existing_profile(&app).await;
    let before = read(&app, &path).await;

    let response = app.put(&path, 1, &with(body, json!({ "keyUsage": [] }))).await;

    assert_validation_error(response, "keyUsage", "minItems").await;
    assert_eq!(read(&app, &path).await, before);
}

async fn update_to_an_unknown_root_is_rejected_with_422_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (path, _, body) = existing_profile(&app).await;
    let before = read(&app, &path).await;

    let response = app
        .put(
            &path,
            1,
            &with(body, json!({ "rootCertificateId": uuid::Uuid::new_v4() })),
        )
        .await;

    assert_validation_error(response, "rootCertificateId", "exists").await;
    assert_eq!(read(&app, &path).await, before);
}

async fn update_to_a_platform_the_root_does_not_suit_is_rejected_with_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (path, _, body) = existing_profile(&app).await;
    let before = read(&app, &path).await;

    let response = app
        .put(&path, 1, &with(body, json!({ "platform": "macos" })))
        .await;

    assert_validation_error(response, "rootCertificateId", "compatiblePlatform").await;
    assert_eq!(read(&app, &path).await, before);
}

async fn concurrent_updates_with_the_same_etag_let_exactly_one_win(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (path, _, body) = existing_profile(&app).await;
    let first = with(body.clone(), json!({ "renewalThresholdPercentage": 10 }));
    let second = with(body, json!({ "renewalThresholdPercentage": 90 }));

    let (a, b) = tokio::join!(app.put(&path, 1, &first), app.put(&path, 1, &second));

    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412]);
    let winner = if a.status().as_u16() == 200 { 10 } else { 90 };
    let stored = read(&app, &path).await;
    assert_eq!(stored["version"], 2);
    assert_eq!(stored["renewalThresholdPercentage"], winner);
}

async fn update_of_an_unknown_id_is_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, body) = root_and_body(&app, "android").await;

    let response = app
        .put(&item_path(&uuid::Uuid::new_v4().to_string()), 1, &body)
        .await;

    problem(response, 404).await;
    assert_empty(&app, SCEP).await;
}

// ---------------------------------------------------------------- delete

async fn delete_returns_204_and_the_profile_is_gone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (path, _, _) = existing_profile(&app).await;

    let response = app.delete(&path).await;

    assert_eq!(response.status().as_u16(), 204);
    problem(app.get(&path).await, 404).await;
    assert_empty(&app, SCEP).await;
}

async fn delete_with_current_etag_returns_204(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (path, _, _) = existing_profile(&app).await;

    let response = app
        .admin(Method::DELETE, &path)
        .header(header::IF_MATCH, "\"1\"")
        .send()
        .await
        .expect("request");

    assert_eq!(response.status().as_u16(), 204);
    assert_empty(&app, SCEP).await;
}

async fn delete_with_stale_etag_is_rejected_with_412_and_keeps_the_profile(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (path, _, body) = existing_profile(&app).await;
    expect_json(app.put(&path, 1, &body).await, 200).await;
    let before = read(&app, &path).await;

    let response = app
        .admin(Method::DELETE, &path)
        .header(header::IF_MATCH, "\"1\"")
        .send()
        .await
        .expect("request");

    problem(response, 412).await;
    assert_eq!(read(&app, &path).await, before);
}

async fn delete_twice_is_404_the_second_time(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (path, _, _) = existing_profile(&app).await;
    assert_eq!(app.delete(&path).await.status().as_u16(), 204);

    let response = app.delete(&path).await;

    problem(response, 404).await;
}

async fn delete_leaves_the_root_and_other_profiles_alone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (path, root, body) = existing_profile(&app).await;
    let other = id_of(&create(&app, SCEP, &body).await);

    assert_eq!(app.delete(&path).await.status().as_u16(), 204);

    assert_eq!(list_ids(&app, SCEP).await, [other]);
    read(&app, &format!("{TRUSTED}/{root}")).await;
}

backend_tests!(
    create_for_each_platform_family_returns_201_with_location_and_etag_1,
    create_fills_in_the_defaults_of_omitted_settings,
    hash_algorithm_defaults_to_sha2_on_android_and_windows,
    hash_algorithm_is_null_on_ios_and_macos,
    chosen_hash_algorithm_is_kept_on_android,
    key_storage_provider_defaults_to_tpm_otherwise_software_on_windows,
    key_storage_provider_is_null_outside_windows,
    key_size_4096_with_software_ksp_is_accepted_on_windows,
    ios_profile_with_validity_period_is_accepted_with_a_warning,
    android_profile_with_validity_period_keeps_it_without_warning,
    custom_subject_name_with_a_format_string_is_accepted,
    http_scep_url_is_accepted_when_the_lab_flag_allows_it,
    settings_at_their_limits_are_accepted,
    every_setting_sent_is_returned_as_sent,
    description_with_a_nul_character_is_never_a_server_error,
    create_breaking_a_rule_is_rejected_with_422_naming_field_and_rule_and_stores_nothing,
    create_reports_every_broken_rule_at_once,
    unknown_json_member_is_rejected_with_422_schema,
    unknown_json_member_is_named_in_the_error,
    missing_required_member_is_rejected_with_422_naming_it,
    wrong_json_type_is_rejected_with_422_schema_naming_the_field,
    wrong_json_type_inside_a_list_is_named_with_its_index,
    unknown_platform_value_is_rejected_with_422_schema_naming_platform,
    malformed_root_certificate_id_is_rejected_with_422_schema,
    duplicate_json_member_is_rejected,
    get_returns_200_with_etag_and_the_created_profile,
    get_unknown_id_is_404_problem,
    get_malformed_id_is_404_problem,
    list_filters_by_platform,
    list_pages_with_a_cursor_in_creation_order,
    list_rejects_out_of_range_limit_bad_cursor_and_unknown_platform_with_422,
    update_with_current_etag_returns_200_version_2_and_new_settings,
    update_can_move_the_profile_to_another_root,
    update_with_stale_etag_is_rejected_with_412_and_changes_nothing,
    update_without_if_match_is_rejected_with_428_and_changes_nothing,
    update_with_if_match_wildcard_succeeds,
    update_with_if_match_listing_the_current_etag_succeeds,
    update_breaking_a_rule_is_rejected_with_422_and_changes_nothing,
    update_to_an_unknown_root_is_rejected_with_422_and_changes_nothing,
    update_to_a_platform_the_root_does_not_suit_is_rejected_with_422,
    concurrent_updates_with_the_same_etag_let_exactly_one_win,
    update_of_an_unknown_id_is_404,
    delete_returns_204_and_the_profile_is_gone,
    delete_with_current_etag_returns_204,
    delete_with_stale_etag_is_rejected_with_412_and_keeps_the_profile,
    delete_twice_is_404_the_second_time,
    delete_leaves_the_root_and_other_profiles_alone,
);
