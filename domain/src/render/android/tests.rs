//! The Android JSON renderer: golden files (byte-compared; rewrite them with
//! `SCEPTER_UPDATE_GOLDEN=1` and review the diff), the facts an agent relies
//! on read back with serde_json, and the published schema
//! `openapi/android-payload.schema.json` checked by the payload validator
//! (`tests/payload-validator`, with the Graph and ONC value rules on top).

use std::{fs, path::PathBuf};

use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Value};
use sha1::{Digest, Sha1};
use sha2::Sha256;
use uuid::Uuid;

use super::{render_scep, render_trusted};
use crate::{
    platform::Platform,
    render::test_support,
    render::{
        self, urls_for_device, RenderError, Rendered, ScepPayloadInput, TrustedPayloadInput,
        TrustedProfileRef, JSON_CONTENT_TYPE,
    },
    scep_profile::{
        CertificateType, ExtendedKeyUsageDraft, HashAlgorithm, KeyUsage, SanType, ScepCertificateProfile,
        ScepCertificateProfileDraft, ScepProfileContext, SubjectAlternativeName, SubjectNameFormat,
        ValidityScale,
    },
    subject_name::{AttributeValue, ExpandedName, ExpandedSan, NameAttribute, Rdn, Subject},
    TrustedCertificateProfile, TrustedCertificateProfileDraft,
};

const ROOT_CA: &str = include_str!("../../../tests/fixtures/root-ca.pem");
const PROFILE_ID: Uuid = Uuid::from_u128(0x0193_4d2e_7c1a_7b3e_9f00_0000_0000_0011);
const ROOT_ID: Uuid = Uuid::from_u128(0x0193_4d2e_7c1a_7b3e_9f00_0000_0000_0012);
const DEVICE_ID: Uuid = Uuid::from_u128(0x0193_4d2e_7c1a_7b3e_9f00_0000_0000_0013);
const PROFILE_VERSION: i64 = 3;
const ROOT_VERSION: i64 = 2;
const CHALLENGE: &str = "GOLDEN-CHALLENGE";
const ORGANIZATION: &str = "Contoso Ltd.";
const NDES: [&str; 3] = [
    "https://ndes1.contoso.example/certsrv/mscep/mscep.dll",
    "https://ndes2.contoso.example/certsrv/mscep/mscep.dll",
    "https://ndes3.contoso.example/certsrv/mscep/mscep.dll",
];

// ---------------------------------------------------------------- fixtures

fn root() -> TrustedCertificateProfile {
    TrustedCertificateProfile::parse(TrustedCertificateProfileDraft {
        display_name: "Contoso Root CA".to_owned(),
        description: Some("Lets managed Android devices trust Contoso's certificates".to_owned()),
        platform: Platform::Android,
        cert_file_name: Some("contoso-root.cer".to_owned()),
        trusted_root_certificate: ROOT_CA.to_owned(),
        destination_store: None,
        issuing_certificates: None,
    })
    .expect("valid trusted profile")
}

fn profile(draft: ScepCertificateProfileDraft) -> ScepCertificateProfile {
    let context = ScepProfileContext {
        allow_http_scep_urls: false,
        root_platform: Some(draft.platform),
    };
    ScepCertificateProfile::parse(draft, &context)
        .unwrap_or_else(|errors| panic!("invalid test profile: {:?}", errors.errors()))
}

fn attribute(attribute: NameAttribute, value: &str) -> AttributeValue {
    AttributeValue {
        attribute,
        value: value.to_owned(),
    }
}

fn rdn(attribute_type: NameAttribute, value: &str) -> Rdn {
    Rdn(vec![attribute(attribute_type, value)])
}

fn san(san_type: SanType, value: &str) -> ExpandedSan {
    ExpandedSan {
        san_type,
        value: value.to_owned(),
    }
}

/// Owns everything a [`ScepPayloadInput`] borrows.
struct Scenario {
    profile: ScepCertificateProfile,
    root: TrustedCertificateProfile,
    name: ExpandedName,
}

impl Scenario {
    fn input(&self) -> ScepPayloadInput<'_> {
        ScepPayloadInput {
            profile_id: PROFILE_ID,
            profile_version: PROFILE_VERSION,
            profile: &self.profile,
            root: TrustedProfileRef {
                id: ROOT_ID,
                version: ROOT_VERSION,
                profile: &self.root,
            },
            device_id: DEVICE_ID,
            name: &self.name,
            challenge: CHALLENGE,
            organization: ORGANIZATION,
        }
    }

    fn render(&self) -> Rendered {
        render_scep(&self.input()).expect("renders")
    }
}

/// User certificate: three servers, a full subject, two SANs, a validity period.
fn android_user() -> Scenario {
    let draft = ScepCertificateProfileDraft {
        display_name: "Contoso Wi-Fi certificate".to_owned(),
        description: Some("Wi-Fi and VPN certificate for managed Android phones".to_owned()),
        platform: Platform::Android,
        certificate_type: CertificateType::User,
        certificate_validity_period_value: Some(1),
        certificate_validity_period_scale: Some(ValidityScale::Years),
        key_storage_provider: None,
        subject_name_format: SubjectNameFormat::Custom,
        subject_name_format_string: Some(
            "CN={{UserName}},E={{EmailAddress}},OU=Mobile,O=Contoso,L=Amsterdam,S=Noord-Holland,C=NL"
                .to_owned(),
        ),
        custom_subject_alternative_names: vec![
            SubjectAlternativeName {
                san_type: SanType::UserPrincipalName,
                name: "{{UserPrincipalName}}".to_owned(),
            },
            SubjectAlternativeName {
                san_type: SanType::EmailAddress,
                name: "{{EmailAddress}}".to_owned(),
            },
        ],
        key_usage: vec![KeyUsage::KeyEncipherment, KeyUsage::DigitalSignature],
        key_size: 2048,
        hash_algorithm: None,
        root_certificate_id: ROOT_ID,
        extended_key_usages: None,
        renewal_threshold_percentage: None,
        scep_server_urls: NDES.iter().map(|url| (*url).to_owned()).collect(),
    };
    Scenario {
        profile: profile(draft),
        root: root(),
        name: ExpandedName {
            subject: Subject(vec![
                rdn(NameAttribute::CommonName, "jdoe"),
                rdn(NameAttribute::Email, "jane@contoso.com"),
                rdn(NameAttribute::OrganizationalUnit, "Mobile"),
                rdn(NameAttribute::Organization, "Contoso"),
                rdn(NameAttribute::Locality, "Amsterdam"),
                rdn(NameAttribute::State, "Noord-Holland"),
                rdn(NameAttribute::Country, "NL"),
            ]),
            subject_alternative_names: vec![
                san(SanType::UserPrincipalName, "jane@contoso.com"),
                san(SanType::EmailAddress, "jane@contoso.com"),
            ],
        },
    }
}

/// Device certificate: one server, a multi-valued RDN, SHA-1, encryption only,
/// 4096-bit, custom EKUs, no validity period (the CA template's applies).
fn android_device() -> Scenario {
    let draft = ScepCertificateProfileDraft {
        display_name: "Contoso device certificate".to_owned(),
        description: None,
        platform: Platform::Android,
        certificate_type: CertificateType::Device,
        certificate_validity_period_value: None,
        certificate_validity_period_scale: None,
        key_storage_provider: None,
        subject_name_format: SubjectNameFormat::Custom,
        subject_name_format_string: Some("CN={{DeviceName}}+SERIALNUMBER={{DeviceId}},O=Contoso".to_owned()),
        custom_subject_alternative_names: vec![SubjectAlternativeName {
            san_type: SanType::DomainNameService,
            name: "{{DeviceName}}.devices.contoso.com".to_owned(),
        }],
        key_usage: vec![KeyUsage::KeyEncipherment],
        key_size: 4096,
        hash_algorithm: Some(HashAlgorithm::Sha1),
        root_certificate_id: ROOT_ID,
        extended_key_usages: Some(vec![
            ExtendedKeyUsageDraft {
                name: "Client Authentication".to_owned(),
                object_identifier: "1.3.6.1.5.5.7.3.2".to_owned(),
            },
            ExtendedKeyUsageDraft {
                name: "Server Authentication".to_owned(),
                object_identifier: "1.3.6.1.5.5.7.3.1".to_owned(),
            },
        ]),
        renewal_threshold_percentage: Some(35),
        scep_server_urls: vec![NDES[1].to_owned()],
    };
    Scenario {
        profile: profile(draft),
        root: root(),
        name: ExpandedName {
            subject: Subject(vec![
                Rdn(vec![
                    attribute(NameAttribute::CommonName, "pixel-8-0042"),
                    attribute(
                        NameAttribute::SerialNumber,
                        "0193f3a0-0000-7000-8000-000000000042",
                    ),
                ]),
                rdn(NameAttribute::Organization, "Contoso"),
            ]),
            subject_alternative_names: vec![san(
                SanType::DomainNameService,
                "pixel-8-0042.devices.contoso.com",
            )],
        },
    }
}

fn render_trusted_for(root: &TrustedCertificateProfile) -> Rendered {
    render_trusted(&TrustedPayloadInput {
        profile: TrustedProfileRef {
            id: ROOT_ID,
            version: ROOT_VERSION,
            profile: root,
        },
        device_id: DEVICE_ID,
        organization: ORGANIZATION,
    })
    .expect("renders")
}

// ---------------------------------------------------------------- helpers

fn golden_dir() -> PathBuf {
    test_support::golden_dir("android")
}

fn schema_path() -> PathBuf {
    test_support::android_schema()
}

fn assert_golden(file: &str, body: &[u8]) {
    test_support::assert_golden("android", file, body);
}

fn parse(rendered: &Rendered) -> Value {
    assert_eq!(rendered.content_type, JSON_CONTENT_TYPE);
    serde_json::from_slice(&rendered.body).expect("the body is JSON")
}

/// What every SCEP rendering must hold, whatever the scenario.
fn assert_scep_document_facts(scenario: &Scenario, rendered: &Rendered) {
    let document = parse(rendered);
    assert_eq!(document["schemaVersion"], 1);
    assert_eq!(document["kind"], "scepCertificateProfile");
    assert_eq!(document["profileId"], PROFILE_ID.to_string());
    assert_eq!(document["profileVersion"], PROFILE_VERSION);
    assert_eq!(document["displayName"], scenario.profile.display_name.as_str());
    assert_eq!(document["organization"], ORGANIZATION);
    assert_certificate_facts(&document, &scenario.root);

    let scep = &document["scep"];
    let urls: Vec<&str> = urls_for_device(&scenario.profile.settings.scep_server_urls, DEVICE_ID)
        .into_iter()
        .map(|url| url.as_str())
        .collect();
    assert_eq!(scep["scepServerUrls"], json!(urls), "this device's order");
    assert_eq!(scep["challenge"], CHALLENGE);
    assert_eq!(scep["keySize"], scenario.profile.settings.key_size.bits());
    assert_eq!(
        scep["renewalThresholdPercentage"],
        scenario.profile.settings.renewal_threshold_percentage.percent()
    );
    assert_eq!(scep["rootCertificateId"], document["certificates"][0]["GUID"]);
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
}

/// The one certificate: the root's DER and its thumbprints.
fn assert_certificate_facts(document: &Value, root: &TrustedCertificateProfile) {
    let certificates = document["certificates"].as_array().expect("an array");
    assert_eq!(certificates.len(), 1);
    let certificate = &certificates[0];
    assert_eq!(certificate["GUID"], ROOT_ID.to_string());
    assert_eq!(certificate["Type"], "Authority");
    let der = STANDARD
        .decode(certificate["X509"].as_str().expect("a string"))
        .expect("base64");
    assert_eq!(der, root.certificate.der());
    assert_eq!(
        certificate["thumbprintSha1"],
        hex::encode_upper(Sha1::digest(&der))
    );
    assert_eq!(
        certificate["thumbprintSha256"],
        hex::encode_upper(Sha256::digest(&der))
    );
    assert_eq!(certificate["certFileName"], "contoso-root.cer");
}

fn golden_cases() -> Vec<(&'static str, Rendered)> {
    vec![
        ("android-user.json", android_user().render()),
        ("android-device.json", android_device().render()),
        ("android-trusted.json", render_trusted_for(&root())),
    ]
}

// ---------------------------------------------------------------- golden files

#[test]
fn user_certificate_matches_golden_file() {
    let scenario = android_user();
    let rendered = scenario.render();
    assert_golden("android-user.json", &rendered.body);
    assert_scep_document_facts(&scenario, &rendered);

    let document = parse(&rendered);
    assert_eq!(
        document["description"],
        "Wi-Fi and VPN certificate for managed Android phones"
    );
    let scep = &document["scep"];
    assert_eq!(scep["certificateType"], "user");
    assert_eq!(
        scep["subject"],
        json!([
            [{"type": "CN", "oid": "2.5.4.3", "value": "jdoe"}],
            [{"type": "E", "oid": "1.2.840.113549.1.9.1", "value": "jane@contoso.com"}],
            [{"type": "OU", "oid": "2.5.4.11", "value": "Mobile"}],
            [{"type": "O", "oid": "2.5.4.10", "value": "Contoso"}],
            [{"type": "L", "oid": "2.5.4.7", "value": "Amsterdam"}],
            [{"type": "S", "oid": "2.5.4.8", "value": "Noord-Holland"}],
            [{"type": "C", "oid": "2.5.4.6", "value": "NL"}],
        ])
    );
    assert_eq!(
        scep["subjectAlternativeNames"],
        json!([
            {"sanType": "userPrincipalName", "value": "jane@contoso.com"},
            {"sanType": "emailAddress", "value": "jane@contoso.com"},
        ])
    );
    assert_eq!(scep["keyUsage"], json!(["keyEncipherment", "digitalSignature"]));
    assert_eq!(scep["hashAlgorithm"], "sha2", "the default outside Apple");
    assert_eq!(
        scep["extendedKeyUsages"],
        json!([{"name": "Client Authentication", "objectIdentifier": "1.3.6.1.5.5.7.3.2"}])
    );
    assert_eq!(scep["certificateValidityPeriodValue"], 1);
    assert_eq!(scep["certificateValidityPeriodScale"], "years");
}

#[test]
fn device_certificate_matches_golden_file() {
    let scenario = android_device();
    let rendered = scenario.render();
    assert_golden("android-device.json", &rendered.body);
    assert_scep_document_facts(&scenario, &rendered);

    let document = parse(&rendered);
    assert!(document.get("description").is_none(), "no description, no key");
    let scep = &document["scep"];
    assert_eq!(scep["certificateType"], "device");
    assert_eq!(
        scep["subject"],
        json!([
            [
                {"type": "CN", "oid": "2.5.4.3", "value": "pixel-8-0042"},
                {"type": "SERIALNUMBER", "oid": "2.5.4.5", "value": "0193f3a0-0000-7000-8000-000000000042"},
            ],
            [{"type": "O", "oid": "2.5.4.10", "value": "Contoso"}],
        ])
    );
    assert_eq!(scep["keyUsage"], json!(["keyEncipherment"]));
    assert_eq!(scep["hashAlgorithm"], "sha1");
    assert_eq!(scep["keySize"], 4096);
    assert_eq!(
        scep["extendedKeyUsages"][1],
        json!({"name": "Server Authentication", "objectIdentifier": "1.3.6.1.5.5.7.3.1"})
    );
    assert!(scep.get("certificateValidityPeriodValue").is_none());
    assert!(scep.get("certificateValidityPeriodScale").is_none());
}

#[test]
fn trusted_profile_matches_golden_file() {
    let root = root();
    let rendered = render_trusted_for(&root);
    assert_golden("android-trusted.json", &rendered.body);
    let document = parse(&rendered);
    assert_eq!(document["kind"], "trustedCertificateProfile");
    assert_eq!(document["profileId"], ROOT_ID.to_string());
    assert_eq!(document["profileVersion"], ROOT_VERSION);
    assert_eq!(document["displayName"], "Contoso Root CA");
    assert!(document.get("scep").is_none());
    assert_certificate_facts(&document, &root);
    assert!(rendered.warnings.is_empty());
}

#[test]
fn validator_accepts_every_golden_file_against_the_schema() {
    let mut on_disk: Vec<PathBuf> = fs::read_dir(golden_dir())
        .expect("the golden directory exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .collect();
    on_disk.sort();
    let mut expected: Vec<PathBuf> = golden_cases()
        .into_iter()
        .map(|(file, _)| golden_dir().join(file))
        .collect();
    expected.sort();
    assert_eq!(on_disk, expected, "every golden file belongs to a test case");
    test_support::assert_validator_accepts(&on_disk);
}

/// The schema must be strict, not merely permissive: a field the renderer does
/// not emit, or a value outside an enum, is rejected.
#[test]
fn schema_rejects_unknown_fields_and_values() {
    let rendered = parse(&android_user().render());
    type Tamper = fn(&mut Value);
    let cases: [(&str, Tamper); 5] = [
        ("unknown top-level field", |document| {
            document["deviceId"] = json!("x");
        }),
        ("unknown SCEP field", |document| {
            document["scep"]["certificateStore"] = json!("user");
        }),
        ("unknown certificate field", |document| {
            document["certificates"][0]["TrustBits"] = json!(["Web"]);
        }),
        ("type and OID that do not belong together", |document| {
            document["scep"]["subject"][0][0]["oid"] = json!("2.5.4.11");
        }),
        ("missing challenge", |document| {
            document["scep"]
                .as_object_mut()
                .expect("an object")
                .remove("challenge");
        }),
    ];
    for (case, change) in cases {
        let mut document = rendered.clone();
        change(&mut document);
        let report = test_support::validator_report(&serde_json::to_vec(&document).expect("serialises"));
        assert!(
            report.errors.iter().any(|error| error.contains("schema:")),
            "{case}: the schema accepted it:\n{report}"
        );
    }
}

#[test]
fn schema_is_draft_2020_12_with_an_id() {
    let schema: Value =
        serde_json::from_slice(&fs::read(schema_path()).expect("the schema is committed")).expect("JSON");
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert!(schema["$id"].as_str().is_some_and(|id| !id.is_empty()));
    for (name, definition) in schema["$defs"].as_object().expect("$defs") {
        if definition["type"] == "object" {
            assert_eq!(
                definition["additionalProperties"], false,
                "{name} must not allow unknown fields"
            );
        }
    }
}

// ---------------------------------------------------------------- behaviour

#[test]
fn render_dispatches_android_here() {
    let scenario = android_user();
    assert_eq!(render::render_scep(&scenario.input()), Ok(scenario.render()));
    let root = root();
    let input = TrustedPayloadInput {
        profile: TrustedProfileRef {
            id: ROOT_ID,
            version: ROOT_VERSION,
            profile: &root,
        },
        device_id: DEVICE_ID,
        organization: ORGANIZATION,
    };
    assert_eq!(render::render_trusted(&input), render_trusted(&input));
}

#[test]
fn every_url_is_listed_starting_with_the_one_apple_would_get() {
    let scenario = android_user();
    for device in 0..32u128 {
        let mut input = scenario.input();
        input.device_id = Uuid::from_u128(device);
        let document: Value = serde_json::from_slice(&render_scep(&input).unwrap().body).unwrap();
        let listed: Vec<&str> = document["scep"]["scepServerUrls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|url| url.as_str().unwrap())
            .collect();
        let first = urls_for_device(&scenario.profile.settings.scep_server_urls, input.device_id)[0];
        assert_eq!(listed[0], first.as_str(), "the URL Apple's payload takes");
        let start = NDES.iter().position(|url| *url == listed[0]).unwrap();
        let rotated: Vec<&str> = NDES[start..].iter().chain(&NDES[..start]).copied().collect();
        assert_eq!(listed, rotated, "every URL, in the profile's order from there");
    }
}

#[test]
fn hostile_values_round_trip_as_json_strings() {
    let hostile = "<key>x</key> & ]]> \"quoted\" \\ ,+= {{UserName}}\nsecond line\u{0} 🔐";
    let mut scenario = android_user();
    scenario.name.subject = Subject(vec![rdn(NameAttribute::CommonName, hostile)]);
    scenario.name.subject_alternative_names = vec![san(SanType::EmailAddress, hostile)];
    let document = parse(&scenario.render());
    assert_eq!(document["scep"]["subject"][0][0]["value"], hostile);
    assert_eq!(document["scep"]["subjectAlternativeNames"][0]["value"], hostile);
    assert_eq!(
        document["scep"]["subject"].as_array().unwrap().len(),
        1,
        "still one RDN"
    );
}

#[test]
fn an_empty_rdn_is_an_encoding_error() {
    let mut scenario = android_user();
    scenario.name.subject = Subject(vec![Rdn(Vec::new())]);
    assert!(matches!(
        render_scep(&scenario.input()),
        Err(RenderError::Encoding(message)) if message.contains("empty RDN")
    ));
}

#[test]
fn an_empty_subject_is_an_empty_list() {
    let mut scenario = android_user();
    scenario.name.subject = Subject::default();
    assert_eq!(parse(&scenario.render())["scep"]["subject"], json!([]));
}
