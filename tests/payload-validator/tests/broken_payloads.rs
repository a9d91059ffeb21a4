//! The validator is strict: a golden file broken in one place is refused,
//! and the report names the rule. Each case mutates the bytes of a golden
//! file, so the rest of the payload is known to be clean.

use std::{
    fs,
    path::{Path, PathBuf},
};

use scepter_payload_validator::{validate, Options, Report};
use serde_json::{json, Value};

const IOS_USER: &str = "apple/ios-user.mobileconfig";
const WINDOWS_HELLO: &str = "windows/scep-user-windows-hello.xml";
const ANDROID_USER: &str = "android/android-user.json";
const ROOT_THUMBPRINT: &str = "F4BF1446572532247C20B94FB6D57E638735DE06";

fn golden(relative: &str) -> String {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../domain/tests/golden")
        .join(relative);
    fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// `text` with the first `from` replaced by `to`; `from` must occur.
fn replace_first(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the golden file no longer contains {from:?}");
    text.replacen(from, to, 1)
}

fn assert_refused(payload: &str, expected: &str) -> Report {
    let report = validate(payload.as_bytes(), &Options::scepter());
    assert!(
        report.errors.iter().any(|error| error.contains(expected)),
        "expected an error containing {expected:?}, got:\n{report}"
    );
    report
}

// ---------------------------------------------------------------- Apple

#[test]
fn misspelled_scep_key_is_unknown_to_apples_schema() {
    let payload = replace_first(&golden(IOS_USER), "<key>Keysize</key>", "<key>KeySize</key>");
    assert_refused(
        &payload,
        "PayloadContent[1](com.apple.security.scep).PayloadContent: unknown key 'KeySize' (not in Apple's schema)",
    );
}

#[test]
fn key_size_as_a_string_has_the_wrong_type() {
    let payload = replace_first(
        &golden(IOS_USER),
        "<key>Keysize</key>\n\t\t\t\t<integer>2048</integer>",
        "<key>Keysize</key>\n\t\t\t\t<string>2048</string>",
    );
    assert_refused(
        &payload,
        "PayloadContent.Keysize: type <string> where the schema says <integer>",
    );
}

#[test]
fn scep_payload_without_url_misses_a_required_key() {
    let payload = replace_first(
        &golden(IOS_USER),
        "<key>URL</key>\n\t\t\t\t<string>https://ndes3.contoso.example/certsrv/mscep/mscep.dll</string>",
        "",
    );
    assert_refused(
        &payload,
        "PayloadContent[1](com.apple.security.scep).PayloadContent: required key 'URL' missing",
    );
}

#[test]
fn key_size_outside_apples_rangelist_is_refused() {
    let payload = replace_first(
        &golden(IOS_USER),
        "<integer>2048</integer>",
        "<integer>3072</integer>",
    );
    assert_refused(&payload, "Keysize: value 3072 not in allowed [1024, 2048, 4096]");
}

#[test]
fn profile_uuid_that_is_not_a_uuid_is_refused() {
    let payload = replace_first(
        &golden(IOS_USER),
        "4D8EC671-03A1-8968-A366-A7936A6A0872",
        "not-a-uuid",
    );
    assert_refused(&payload, "profile.PayloadUUID: not a UUID: 'not-a-uuid'");
}

#[test]
fn payload_uuid_used_twice_is_refused() {
    let payload = replace_first(
        &golden(IOS_USER),
        "880F0BE0-6733-8D7A-AB29-B77AE5A80444",
        "A41D3A23-B566-869A-BDD3-0F8AC2E80411",
    );
    assert_refused(
        &payload,
        "PayloadContent[1](com.apple.security.scep).PayloadUUID: duplicates the PayloadUUID of \
         PayloadContent[0](com.apple.security.root)",
    );
}

#[test]
fn key_usage_bits_other_than_signing_and_encryption_are_refused() {
    let payload = replace_first(&golden(IOS_USER), "<integer>5</integer>", "<integer>8</integer>");
    assert_refused(
        &payload,
        "bitmask 8 has bits other than 1 (signing) and 4 (encryption)",
    );
}

#[test]
fn subject_pair_with_three_items_breaks_the_rdn_structure() {
    let payload = replace_first(
        &golden(IOS_USER),
        "<string>OU</string>",
        "<string>OU</string>\n\t\t\t\t\t\t\t<string>extra</string>",
    );
    assert_refused(
        &payload,
        "Subject[1][0]: array has 3 element(s); schema allows at most 2",
    );
}

#[test]
fn root_payload_with_pem_text_is_not_a_der_certificate() {
    let golden = golden(IOS_USER);
    let start = golden.find("MIIB4DCC").expect("the root certificate");
    let end = start + golden[start..].find("</data>").expect("its end");
    // base64 of "-----BEGIN CERTIFICATE-----"
    let payload = format!(
        "{}LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t\n{}",
        &golden[..start],
        &golden[end..]
    );
    assert_refused(
        &payload,
        "PayloadContent[0](com.apple.security.root).PayloadContent: PEM text where DER bytes are expected",
    );
}

// ---------------------------------------------------------------- Windows

#[test]
fn loc_uri_that_is_not_a_node_of_the_csp_is_refused() {
    let payload = replace_first(
        &golden(WINDOWS_HELLO),
        "/Install/KeyLength</LocURI>",
        "/Install/KeyLenght</LocURI>",
    );
    assert_refused(&payload, "/Install/KeyLenght: not a node of the CSP (DDF)");
}

#[test]
fn root_store_under_user_is_not_a_node_of_the_csp() {
    let payload = replace_first(
        &golden(WINDOWS_HELLO),
        "./Device/Vendor/MSFT/RootCATrustedCertificates/Root/",
        "./User/Vendor/MSFT/RootCATrustedCertificates/Root/",
    );
    assert_refused(&payload, "the Root store exists only under ./Device");
}

#[test]
fn command_outside_the_nodes_access_types_is_refused() {
    let payload = replace_first(
        &golden(WINDOWS_HELLO),
        "<Add>\n      <CmdID>1</CmdID>",
        "<Delete>\n      <CmdID>1</CmdID>",
    );
    let payload = replace_first(&payload, "</Add>", "</Delete>");
    assert_refused(
        &payload,
        "EncodedCertificate: Delete not allowed on this node (DDF access: [\"Add\", \"Get\", \"Replace\"])",
    );
}

#[test]
fn meta_format_other_than_the_ddf_format_is_refused() {
    let golden = golden(WINDOWS_HELLO);
    let key_length = golden
        .find("/Install/KeyLength</LocURI>")
        .expect("the KeyLength command");
    let payload = format!(
        "{}{}",
        &golden[..key_length],
        replace_first(
            &golden[key_length..],
            "<Format xmlns=\"syncml:metinf\">int</Format>",
            "<Format xmlns=\"syncml:metinf\">chr</Format>",
        )
    );
    assert_refused(
        &payload,
        "/Install/KeyLength: Meta/Format 'chr'; the DDF format is 'int'",
    );
}

#[test]
fn command_ids_used_twice_are_refused() {
    let payload = replace_first(&golden(WINDOWS_HELLO), "<CmdID>5</CmdID>", "<CmdID>4</CmdID>");
    assert_refused(
        &payload,
        "SyncBody/Atomic/Add: duplicate CmdID 4 (also on SyncBody/Atomic/Add)",
    );
}

#[test]
fn enroll_exec_before_its_adds_is_refused() {
    let golden = golden(WINDOWS_HELLO);
    let start = golden.find("      <Exec>").expect("the Enroll Exec");
    let end = golden.find("</Exec>\n").expect("its end") + "</Exec>\n".len();
    let exec = &golden[start..end];
    let without = format!("{}{}", &golden[..start], &golden[end..]);
    let atomic_id = "<Atomic>\n      <CmdID>2</CmdID>\n";
    let payload = replace_first(&without, atomic_id, &format!("{atomic_id}{exec}"));
    let report = assert_refused(
        &payload,
        "Enroll Exec must be the last command in the Atomic block",
    );
    assert!(
        report
            .errors
            .iter()
            .any(|error| error.contains("Enroll Exec comes before the Add of ServerURL, Challenge")),
        "{report}"
    );
}

#[test]
fn encoded_certificate_under_another_thumbprint_is_refused() {
    let payload = replace_first(
        &golden(WINDOWS_HELLO),
        &format!("Root/{ROOT_THUMBPRINT}/EncodedCertificate"),
        "Root/0000000000000000000000000000000000000000/EncodedCertificate",
    );
    assert_refused(
        &payload,
        &format!("node name 0000000000000000000000000000000000000000 is not the SHA-1 of the certificate ({ROOT_THUMBPRINT})"),
    );
}

#[test]
fn key_usage_without_encipherment_or_signature_is_refused() {
    let golden = golden(WINDOWS_HELLO);
    let key_usage = golden
        .find("/Install/KeyUsage</LocURI>")
        .expect("the KeyUsage command");
    let payload = format!(
        "{}{}",
        &golden[..key_usage],
        replace_first(&golden[key_usage..], "<Data>160</Data>", "<Data>1</Data>")
    );
    assert_refused(
        &payload,
        "KeyUsage 1 (0x1) has neither 0x20 (keyEncipherment) nor 0x80 (digitalSignature) set",
    );
}

#[test]
fn windows_hello_without_container_name_is_refused() {
    let payload = replace_first(
        &golden(WINDOWS_HELLO),
        "/Install/ContainerName</LocURI>",
        "/Install/TemplateName</LocURI>",
    );
    assert_refused(&payload, "KeyProtection 4 (Windows Hello) requires ContainerName");
}

// ---------------------------------------------------------------- Android

fn android_user() -> Value {
    serde_json::from_str(&golden(ANDROID_USER)).expect("the golden file is JSON")
}

fn assert_android_refused(document: &Value, expected: &str) -> Report {
    assert_refused(
        &serde_json::to_string_pretty(document).expect("serialises"),
        expected,
    )
}

#[test]
fn android_payload_without_challenge_misses_a_required_property() {
    let mut document = android_user();
    document["scep"]
        .as_object_mut()
        .expect("an object")
        .remove("challenge");
    let report = assert_android_refused(&document, "$.scep: \"challenge\" is a required property");
    assert!(
        report
            .errors
            .iter()
            .any(|error| error == "$: SCEP settings without a challenge"),
        "{report}"
    );
}

#[test]
fn android_profile_version_as_a_string_has_the_wrong_type() {
    let mut document = android_user();
    document["profileVersion"] = json!("3");
    assert_android_refused(&document, "$.profileVersion: \"3\" is not of type \"integer\"");
}

#[test]
fn android_unknown_property_is_refused_by_the_schema() {
    let mut document = android_user();
    document["scep"]["certificateStore"] = json!("user");
    assert_android_refused(
        &document,
        "Additional properties are not allowed ('certificateStore' was unexpected)",
    );
}

#[test]
fn android_certificate_that_is_not_der_is_refused() {
    let mut document = android_user();
    document["certificates"][0]["X509"] = json!("bm90IGEgY2VydGlmaWNhdGU=");
    assert_android_refused(&document, "$.certificates[0].X509: not a DER SEQUENCE");
}

#[test]
fn android_http_url_rule_applies_to_every_server() {
    let mut document = android_user();
    document["scep"]["scepServerUrls"][1] = json!("ftp://ndes1.contoso.example");
    assert_android_refused(
        &document,
        "$.scep.scepServerUrls: \"ftp://ndes1.contoso.example\" is not an http(s) URL",
    );
}

// ---------------------------------------------------------------- format detection

#[test]
fn signed_profiles_are_reported_as_unsupported() {
    let report = validate(&[0x30, 0x82, 0x01, 0x00], &Options::scepter());
    assert!(
        report.errors[0].starts_with("CMS-signed profile: not supported"),
        "{report}"
    );
}

#[test]
fn unknown_xml_documents_are_refused() {
    let report = validate(b"<?xml version=\"1.0\"?><html/>", &Options::default());
    assert_eq!(report.errors, ["unknown XML document <html>"]);
}

#[test]
fn report_lists_errors_then_warnings() {
    let payload = replace_first(
        &golden(IOS_USER),
        "<key>PayloadDisplayName</key>\n\t<string>Contoso Wi-Fi certificate</string>\n",
        "",
    );
    let report = validate(payload.as_bytes(), &Options::scepter());
    assert!(report.errors.is_empty(), "{report}");
    assert!(!report.is_clean());
    assert_eq!(
        report.to_string(),
        "WARN:  profile: PayloadDisplayName missing (optional, but shown to the user)\n"
    );
}
