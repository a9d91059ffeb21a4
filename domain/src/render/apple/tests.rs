//! The `.mobileconfig` renderer: golden files (byte-compared; rewrite them with
//! `SCEPTER_UPDATE_GOLDEN=1` and review the diff), the facts a device relies on
//! read back with the plist crate, and Apple's schema checked by the payload
//! validator (`tests/payload-validator`: no error, no warning).

use std::{fs, path::PathBuf};

use plist::{Dictionary, Value};
use sha1::{Digest, Sha1};
use uuid::Uuid;

use super::{render_scep, render_trusted};
use crate::{
    platform::Platform,
    render::test_support,
    render::{
        self, urls_for_device, RenderError, Rendered, ScepPayloadInput, TrustedPayloadInput,
        TrustedProfileRef, APPLE_CONTENT_TYPE,
    },
    scep_profile::{
        CertificateType, ExtendedKeyUsageDraft, KeyUsage, SanType, ScepCertificateProfile,
        ScepCertificateProfileDraft, ScepProfileContext, SubjectAlternativeName, SubjectNameFormat,
        ValidityScale,
    },
    subject_name::{AttributeValue, ExpandedName, ExpandedSan, NameAttribute, Rdn, Subject},
    TrustedCertificateProfile, TrustedCertificateProfileDraft,
};

const ROOT_CA: &str = include_str!("../../../tests/fixtures/root-ca.pem");
const PROFILE_ID: Uuid = Uuid::from_u128(0x0193_4d2e_7c1a_7b3e_9f00_0000_0000_0001);
const ROOT_ID: Uuid = Uuid::from_u128(0x0193_4d2e_7c1a_7b3e_9f00_0000_0000_0002);
/// Chosen so that the device does not get the first URL of the list.
const DEVICE_ID: Uuid = Uuid::from_u128(0x0193_4d2e_7c1a_7b3e_9f00_0000_0000_0007);
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

fn root(
    platform: Platform,
    cert_file_name: Option<&str>,
    description: Option<&str>,
) -> TrustedCertificateProfile {
    TrustedCertificateProfile::parse(TrustedCertificateProfileDraft {
        display_name: "Contoso Root CA".to_owned(),
        description: description.map(str::to_owned),
        platform,
        cert_file_name: cert_file_name.map(str::to_owned),
        trusted_root_certificate: ROOT_CA.to_owned(),
        destination_store: None,
        issuing_certificates: None,
    })
    .expect("valid trusted profile")
}

fn draft(platform: Platform, certificate_type: CertificateType) -> ScepCertificateProfileDraft {
    ScepCertificateProfileDraft {
        display_name: "Contoso Wi-Fi certificate".to_owned(),
        description: None,
        platform,
        certificate_type,
        certificate_validity_period_value: None,
        certificate_validity_period_scale: None,
        key_storage_provider: None,
        subject_name_format: SubjectNameFormat::CommonName,
        subject_name_format_string: None,
        custom_subject_alternative_names: Vec::new(),
        key_usage: vec![KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment],
        key_size: 2048,
        hash_algorithm: None,
        root_certificate_id: ROOT_ID,
        extended_key_usages: None,
        renewal_threshold_percentage: None,
        scep_server_urls: vec![NDES[0].to_owned()],
    }
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

/// iPhone, user certificate, three SCEP servers, both key usages.
fn ios_user() -> Scenario {
    let mut draft = draft(Platform::Ios, CertificateType::User);
    draft.description = Some("Wi-Fi and VPN certificate for managed iPhones".to_owned());
    draft.subject_name_format = SubjectNameFormat::Custom;
    draft.subject_name_format_string = Some("CN={{UserPrincipalName}},OU=Mobile".to_owned());
    draft.custom_subject_alternative_names = vec![SubjectAlternativeName {
        san_type: SanType::UserPrincipalName,
        name: "{{UserPrincipalName}}".to_owned(),
    }];
    draft.scep_server_urls = NDES.iter().map(|url| (*url).to_owned()).collect();
    Scenario {
        profile: profile(draft),
        root: root(Platform::Ios, Some("contoso-root.cer"), None),
        name: ExpandedName {
            subject: Subject(vec![
                rdn(NameAttribute::CommonName, "jane@contoso.com"),
                rdn(NameAttribute::OrganizationalUnit, "Mobile"),
            ]),
            subject_alternative_names: vec![san(SanType::UserPrincipalName, "jane@contoso.com")],
        },
    }
}

/// Mac, device certificate (System scope), signing only, 4096-bit, validity set.
fn macos_device() -> Scenario {
    let mut draft = draft(Platform::Macos, CertificateType::Device);
    draft.subject_name_format = SubjectNameFormat::CommonNameAsSerialNumber;
    draft.key_usage = vec![KeyUsage::DigitalSignature];
    draft.key_size = 4096;
    draft.certificate_validity_period_value = Some(1);
    draft.certificate_validity_period_scale = Some(ValidityScale::Years);
    Scenario {
        profile: profile(draft),
        root: root(Platform::Macos, None, None),
        name: ExpandedName {
            subject: Subject(vec![rdn(NameAttribute::CommonName, "C02XK1ZJH7")]),
            subject_alternative_names: Vec::new(),
        },
    }
}

/// Mac, user certificate (User scope), encryption only, e-mail as a dotted OID.
fn macos_user() -> Scenario {
    let mut draft = draft(Platform::Macos, CertificateType::User);
    draft.subject_name_format = SubjectNameFormat::CommonNameIncludingEmail;
    draft.key_usage = vec![KeyUsage::KeyEncipherment];
    draft.custom_subject_alternative_names = vec![SubjectAlternativeName {
        san_type: SanType::EmailAddress,
        name: "{{EmailAddress}}".to_owned(),
    }];
    draft.scep_server_urls = NDES[..2].iter().map(|url| (*url).to_owned()).collect();
    Scenario {
        profile: profile(draft),
        root: root(Platform::Macos, Some("contoso-root.cer"), None),
        name: ExpandedName {
            subject: Subject(vec![
                rdn(NameAttribute::CommonName, "Jane Doe"),
                rdn(NameAttribute::Email, "jane@contoso.com"),
            ]),
            subject_alternative_names: vec![san(SanType::EmailAddress, "jane@contoso.com")],
        },
    }
}

/// iPhone, a multi-valued RDN, attributes Apple has no shortcut for, every SAN
/// type (two e-mail addresses) and custom EKUs.
fn ios_multi_valued_rdn() -> Scenario {
    let mut draft = draft(Platform::Ios, CertificateType::User);
    draft.subject_name_format = SubjectNameFormat::Custom;
    draft.subject_name_format_string =
        Some("CN={{UserName}}+UID={{UserName}},OU=Mobile,O=Contoso,DC=contoso,DC=com,C=NL".to_owned());
    draft.custom_subject_alternative_names = [
        (SanType::EmailAddress, "{{EmailAddress}}"),
        (SanType::EmailAddress, "{{UserName}}@mail.contoso.com"),
        (SanType::DomainNameService, "{{DeviceName}}.contoso.com"),
        (
            SanType::UniversalResourceIdentifier,
            "https://id.contoso.com/{{UserName}}",
        ),
        (SanType::UserPrincipalName, "{{UserPrincipalName}}"),
    ]
    .into_iter()
    .map(|(san_type, name)| SubjectAlternativeName {
        san_type,
        name: name.to_owned(),
    })
    .collect();
    draft.extended_key_usages = Some(vec![
        ExtendedKeyUsageDraft {
            name: "Client Authentication".to_owned(),
            object_identifier: "1.3.6.1.5.5.7.3.2".to_owned(),
        },
        ExtendedKeyUsageDraft {
            name: "Secure Email".to_owned(),
            object_identifier: "1.3.6.1.5.5.7.3.4".to_owned(),
        },
    ]);
    draft.renewal_threshold_percentage = Some(30);
    Scenario {
        profile: profile(draft),
        root: root(Platform::Ios, Some("contoso-root.cer"), None),
        name: ExpandedName {
            subject: Subject(vec![
                Rdn(vec![
                    attribute(NameAttribute::CommonName, "jdoe"),
                    attribute(NameAttribute::UserId, "jdoe"),
                ]),
                rdn(NameAttribute::OrganizationalUnit, "Mobile"),
                rdn(NameAttribute::Organization, "Contoso"),
                rdn(NameAttribute::DomainComponent, "contoso"),
                rdn(NameAttribute::DomainComponent, "com"),
                rdn(NameAttribute::Country, "NL"),
            ]),
            subject_alternative_names: vec![
                san(SanType::EmailAddress, "jane@contoso.com"),
                san(SanType::EmailAddress, "jdoe@mail.contoso.com"),
                san(SanType::DomainNameService, "janes-iphone.contoso.com"),
                san(
                    SanType::UniversalResourceIdentifier,
                    "https://id.contoso.com/jdoe",
                ),
                san(SanType::UserPrincipalName, "jane@contoso.com"),
            ],
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

fn ios_trusted() -> TrustedCertificateProfile {
    root(
        Platform::Ios,
        Some("contoso-root.cer"),
        Some("Lets managed iPhones trust Contoso's certificates"),
    )
}

fn macos_trusted() -> TrustedCertificateProfile {
    root(Platform::Macos, None, None)
}

// ---------------------------------------------------------------- helpers

fn golden_dir() -> PathBuf {
    test_support::golden_dir("apple")
}

fn assert_golden(file: &str, body: &[u8]) {
    test_support::assert_golden("apple", file, body);
}

fn assert_validator_accepts(files: &[PathBuf]) {
    test_support::assert_validator_accepts(files);
}

fn parse(rendered: &Rendered) -> Dictionary {
    assert_eq!(rendered.content_type, APPLE_CONTENT_TYPE);
    Value::from_reader_xml(rendered.body.as_slice())
        .expect("the body is an XML property list")
        .into_dictionary()
        .expect("the top level is a dictionary")
}

fn payloads(profile: &Dictionary) -> Vec<&Dictionary> {
    profile["PayloadContent"]
        .as_array()
        .expect("PayloadContent is an array")
        .iter()
        .map(|payload| payload.as_dictionary().expect("each payload is a dictionary"))
        .collect()
}

/// The `PayloadContent` dictionary of the `com.apple.security.scep` payload.
fn scep_content(profile: &Dictionary) -> &Dictionary {
    let payloads = payloads(profile);
    assert_eq!(
        payloads[1]["PayloadType"].as_string(),
        Some("com.apple.security.scep")
    );
    payloads[1]["PayloadContent"]
        .as_dictionary()
        .expect("SCEP content is a dictionary")
}

fn string<'a>(dictionary: &'a Dictionary, key: &str) -> &'a str {
    dictionary[key]
        .as_string()
        .unwrap_or_else(|| panic!("{key} is a string"))
}

fn integer(dictionary: &Dictionary, key: &str) -> i64 {
    dictionary[key]
        .as_signed_integer()
        .unwrap_or_else(|| panic!("{key} is an integer"))
}

/// `Subject` as nested vectors of strings.
fn subject_of(content: &Dictionary) -> Vec<Vec<Vec<String>>> {
    content["Subject"]
        .as_array()
        .expect("Subject is an array")
        .iter()
        .map(|rdn| {
            rdn.as_array()
                .expect("an RDN is an array")
                .iter()
                .map(|pair| {
                    pair.as_array()
                        .expect("a pair is an array")
                        .iter()
                        .map(|item| item.as_string().expect("pair items are strings").to_owned())
                        .collect()
                })
                .collect()
        })
        .collect()
}

fn pairs(rdns: &[&[(&str, &str)]]) -> Vec<Vec<Vec<String>>> {
    rdns.iter()
        .map(|rdn| {
            rdn.iter()
                .map(|(name, value)| vec![(*name).to_owned(), (*value).to_owned()])
                .collect()
        })
        .collect()
}

/// What every SCEP rendering must hold, whatever the scenario.
fn assert_scep_profile_facts(scenario: &Scenario, rendered: &Rendered) {
    let profile = parse(rendered);
    assert_eq!(string(&profile, "PayloadType"), "Configuration");
    assert_eq!(integer(&profile, "PayloadVersion"), 1);
    assert_eq!(
        string(&profile, "PayloadIdentifier"),
        format!("com.scepter.profile.{PROFILE_ID}")
    );
    assert_eq!(
        string(&profile, "PayloadDisplayName"),
        scenario.profile.display_name.as_str()
    );
    assert_eq!(string(&profile, "PayloadOrganization"), ORGANIZATION);

    let payloads = payloads(&profile);
    assert_eq!(payloads.len(), 2, "root, then SCEP");
    let root = payloads[0];
    assert_eq!(string(root, "PayloadType"), "com.apple.security.root");
    assert_eq!(
        string(root, "PayloadIdentifier"),
        format!("com.scepter.profile.{PROFILE_ID}.root")
    );
    assert_eq!(
        root["PayloadContent"].as_data(),
        Some(scenario.root.certificate.der()),
        "the root payload carries the DER certificate"
    );
    assert_eq!(
        string(payloads[1], "PayloadIdentifier"),
        format!("com.scepter.profile.{PROFILE_ID}.scep")
    );

    let content = scep_content(&profile);
    let urls = urls_for_device(&scenario.profile.settings.scep_server_urls, DEVICE_ID);
    assert_eq!(string(content, "URL"), urls[0].as_str());
    assert_eq!(string(content, "Challenge"), CHALLENGE);
    assert_eq!(string(content, "Key Type"), "RSA");
    assert_eq!(
        integer(content, "Keysize"),
        i64::from(scenario.profile.settings.key_size.bits())
    );
    assert_eq!(integer(content, "Retries"), 3);
    assert_eq!(integer(content, "RetryDelay"), 10);
    let fingerprint = content["CAFingerprint"].as_data().expect("CAFingerprint is data");
    assert_eq!(
        fingerprint,
        Sha1::digest(scenario.root.certificate.der()).as_slice()
    );
    assert_eq!(
        hex::encode_upper(fingerprint),
        scenario.root.certificate.details().thumbprint_sha1
    );
    for absent in ["Name", "KeyIsExtractable", "AllowAllAppsAccess"] {
        assert!(!content.contains_key(absent), "{absent} is not set");
    }
}

/// Root payload, identifiers and UUIDs of a trusted-only profile.
fn assert_trusted_profile_facts(root: &TrustedCertificateProfile, rendered: &Rendered) {
    let profile = parse(rendered);
    assert_eq!(string(&profile, "PayloadType"), "Configuration");
    assert_eq!(
        string(&profile, "PayloadIdentifier"),
        format!("com.scepter.profile.{ROOT_ID}")
    );
    assert_eq!(string(&profile, "PayloadDisplayName"), root.display_name.as_str());
    assert!(!profile.contains_key("PayloadScope"));
    let payloads = payloads(&profile);
    assert_eq!(payloads.len(), 1);
    assert_eq!(string(payloads[0], "PayloadType"), "com.apple.security.root");
    assert_eq!(
        string(payloads[0], "PayloadIdentifier"),
        format!("com.scepter.profile.{ROOT_ID}.root")
    );
    assert_eq!(
        payloads[0]["PayloadContent"].as_data(),
        Some(root.certificate.der())
    );
    assert!(rendered.warnings.is_empty());
}

/// Every golden file, with how it is rendered.
fn golden_cases() -> Vec<(&'static str, Rendered)> {
    vec![
        ("ios-user.mobileconfig", ios_user().render()),
        ("macos-device.mobileconfig", macos_device().render()),
        ("macos-user.mobileconfig", macos_user().render()),
        (
            "ios-multi-valued-rdn.mobileconfig",
            ios_multi_valued_rdn().render(),
        ),
        ("ios-trusted.mobileconfig", render_trusted_for(&ios_trusted())),
        ("macos-trusted.mobileconfig", render_trusted_for(&macos_trusted())),
    ]
}

// ---------------------------------------------------------------- golden files

#[test]
fn ios_user_certificate_matches_golden_file() {
    let scenario = ios_user();
    let rendered = scenario.render();
    assert_golden("ios-user.mobileconfig", &rendered.body);
    assert_scep_profile_facts(&scenario, &rendered);

    let profile = parse(&rendered);
    assert!(!profile.contains_key("PayloadScope"), "iOS has no PayloadScope");
    assert_eq!(
        string(&profile, "PayloadDescription"),
        "Wi-Fi and VPN certificate for managed iPhones"
    );
    assert_eq!(
        string(payloads(&profile)[0], "PayloadCertificateFileName"),
        "contoso-root.cer"
    );
    let content = scep_content(&profile);
    assert_eq!(
        subject_of(content),
        pairs(&[&[("CN", "jane@contoso.com")], &[("OU", "Mobile")]])
    );
    assert_eq!(integer(content, "Key Usage"), 5, "signing | encryption");
    let alt_names = content["SubjectAltName"].as_dictionary().expect("a dictionary");
    assert_eq!(alt_names.len(), 1);
    assert_eq!(string(alt_names, "ntPrincipalName"), "jane@contoso.com");
}

#[test]
fn macos_device_certificate_matches_golden_file_with_system_scope() {
    let scenario = macos_device();
    let rendered = scenario.render();
    assert_golden("macos-device.mobileconfig", &rendered.body);
    assert_scep_profile_facts(&scenario, &rendered);

    let profile = parse(&rendered);
    assert_eq!(string(&profile, "PayloadScope"), "System");
    assert!(
        !profile.contains_key("PayloadDescription"),
        "no description, no key"
    );
    assert!(!payloads(&profile)[0].contains_key("PayloadCertificateFileName"));
    let content = scep_content(&profile);
    assert_eq!(subject_of(content), pairs(&[&[("CN", "C02XK1ZJH7")]]));
    assert_eq!(integer(content, "Key Usage"), 1, "signing only");
    assert_eq!(integer(content, "Keysize"), 4096);
    assert!(!content.contains_key("SubjectAltName"), "no SANs, no key");
}

#[test]
fn macos_user_certificate_matches_golden_file_with_user_scope() {
    let scenario = macos_user();
    let rendered = scenario.render();
    assert_golden("macos-user.mobileconfig", &rendered.body);
    assert_scep_profile_facts(&scenario, &rendered);

    let profile = parse(&rendered);
    assert_eq!(string(&profile, "PayloadScope"), "User");
    let content = scep_content(&profile);
    assert_eq!(
        subject_of(content),
        pairs(&[
            &[("CN", "Jane Doe")],
            &[("1.2.840.113549.1.9.1", "jane@contoso.com")]
        ])
    );
    assert_eq!(integer(content, "Key Usage"), 4, "encryption only");
    let alt_names = content["SubjectAltName"].as_dictionary().expect("a dictionary");
    assert_eq!(string(alt_names, "rfc822Name"), "jane@contoso.com");
}

#[test]
fn multi_valued_rdn_and_several_sans_match_golden_file() {
    let scenario = ios_multi_valued_rdn();
    let rendered = scenario.render();
    assert_golden("ios-multi-valued-rdn.mobileconfig", &rendered.body);
    assert_scep_profile_facts(&scenario, &rendered);

    let content_profile = parse(&rendered);
    let content = scep_content(&content_profile);
    assert_eq!(
        subject_of(content),
        pairs(&[
            &[("CN", "jdoe"), ("0.9.2342.19200300.100.1.1", "jdoe")],
            &[("OU", "Mobile")],
            &[("O", "Contoso")],
            &[("0.9.2342.19200300.100.1.25", "contoso")],
            &[("0.9.2342.19200300.100.1.25", "com")],
            &[("C", "NL")],
        ])
    );
    let alt_names = content["SubjectAltName"].as_dictionary().expect("a dictionary");
    let keys: Vec<&str> = alt_names.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "dNSName",
            "ntPrincipalName",
            "rfc822Name",
            "uniformResourceIdentifier"
        ],
        "one key per SAN type, in alphabetical order as every dictionary"
    );
    let emails: Vec<&str> = alt_names["rfc822Name"]
        .as_array()
        .expect("several values become an array")
        .iter()
        .map(|value| value.as_string().expect("strings"))
        .collect();
    assert_eq!(emails, ["jane@contoso.com", "jdoe@mail.contoso.com"]);
    assert_eq!(string(alt_names, "dNSName"), "janes-iphone.contoso.com");
    assert_eq!(
        string(alt_names, "uniformResourceIdentifier"),
        "https://id.contoso.com/jdoe"
    );
    assert_eq!(string(alt_names, "ntPrincipalName"), "jane@contoso.com");
}

#[test]
fn ios_trusted_profile_matches_golden_file() {
    let root = ios_trusted();
    let rendered = render_trusted_for(&root);
    assert_golden("ios-trusted.mobileconfig", &rendered.body);
    assert_trusted_profile_facts(&root, &rendered);
    let profile = parse(&rendered);
    assert_eq!(
        string(&profile, "PayloadDescription"),
        "Lets managed iPhones trust Contoso's certificates"
    );
    assert_eq!(
        string(payloads(&profile)[0], "PayloadCertificateFileName"),
        "contoso-root.cer"
    );
}

#[test]
fn macos_trusted_profile_matches_golden_file_without_scope() {
    let root = macos_trusted();
    let rendered = render_trusted_for(&root);
    assert_golden("macos-trusted.mobileconfig", &rendered.body);
    assert_trusted_profile_facts(&root, &rendered);
    assert!(!payloads(&parse(&rendered))[0].contains_key("PayloadCertificateFileName"));
}

#[test]
fn validator_accepts_every_golden_file_strictly() {
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
    assert_validator_accepts(&on_disk);
}

// ---------------------------------------------------------------- behaviour

#[test]
fn render_scep_dispatches_apple_platforms_here() {
    for scenario in [ios_user(), macos_user()] {
        assert_eq!(render::render_scep(&scenario.input()), Ok(scenario.render()));
    }
    let root = macos_trusted();
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

fn uuids(rendered: &Rendered) -> Vec<String> {
    let profile = parse(rendered);
    let mut uuids = vec![string(&profile, "PayloadUUID").to_owned()];
    uuids.extend(
        payloads(&profile)
            .iter()
            .map(|payload| string(payload, "PayloadUUID").to_owned()),
    );
    uuids
}

#[test]
fn payload_uuids_are_stable_per_version_and_change_with_it() {
    let scenario = ios_user();
    let first = uuids(&scenario.render());
    assert_eq!(first, uuids(&scenario.render()), "same input, same UUIDs");

    let mut other_device = scenario.input();
    other_device.device_id = Uuid::from_u128(42);
    other_device.challenge = "ANOTHER-CHALLENGE";
    assert_eq!(
        first,
        uuids(&render_scep(&other_device).unwrap()),
        "a profile version has one set of UUIDs"
    );

    let mut next_version = scenario.input();
    next_version.profile_version += 1;
    let mut new_root = scenario.input();
    new_root.root.version += 1;
    for changed in [next_version, new_root] {
        let changed = uuids(&render_scep(&changed).unwrap());
        for (before, after) in first.iter().zip(&changed) {
            assert_ne!(before, after, "a new profile or root version gets new UUIDs");
        }
    }
}

#[test]
fn payload_uuids_are_distinct_rfc_9562_version_8_uuids() {
    let mut all = uuids(&ios_user().render());
    all.extend(uuids(&render_trusted_for(&ios_trusted())));
    for text in &all {
        let uuid = Uuid::parse_str(text).expect("a UUID");
        assert_eq!(uuid.get_version_num(), 8, "{text}");
        assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122, "{text}");
        assert_eq!(text, &text.to_uppercase(), "upper case, as uuidgen writes them");
    }
    let count = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), count, "no two payloads share a UUID");
}

#[test]
fn each_scep_server_url_is_chosen_for_some_device() {
    let scenario = ios_user();
    let mut seen = Vec::new();
    for device in 0..64u128 {
        let mut input = scenario.input();
        input.device_id = Uuid::from_u128(device);
        let content_profile = parse(&render_scep(&input).unwrap());
        let url = string(scep_content(&content_profile), "URL").to_owned();
        let expected = urls_for_device(&scenario.profile.settings.scep_server_urls, input.device_id);
        assert_eq!(url, expected[0].as_str());
        if !seen.contains(&url) {
            seen.push(url);
        }
    }
    assert_eq!(seen.len(), NDES.len(), "the fleet spreads over every server");
}

#[test]
fn settings_apple_cannot_express_are_warnings() {
    let scenario = ios_multi_valued_rdn();
    assert_eq!(scenario.profile.settings.scep_server_urls.len(), 1);
    let rendered = scenario.render();
    assert_eq!(
        rendered.warnings,
        [
            "ios cannot express extendedKeyUsages; the payload leaves out 1.3.6.1.5.5.7.3.2, \
             1.3.6.1.5.5.7.3.4 and the CA template decides the extended key usages",
            "ios cannot express renewalThresholdPercentage; the payload leaves out 30%",
        ]
    );
    let content_profile = parse(&rendered);
    let content = scep_content(&content_profile);
    for key in content.keys() {
        assert!(
            [
                "URL",
                "Subject",
                "Challenge",
                "Keysize",
                "Key Type",
                "Key Usage",
                "CAFingerprint",
                "Retries",
                "RetryDelay",
                "SubjectAltName"
            ]
            .contains(&key.as_str()),
            "unexpected key {key}"
        );
    }
}

#[test]
fn unused_scep_server_urls_are_a_warning_naming_the_one_used() {
    let scenario = ios_user();
    let url = urls_for_device(&scenario.profile.settings.scep_server_urls, DEVICE_ID)[0].as_str();
    let warnings = scenario.render().warnings;
    assert_eq!(
        warnings.last().map(String::as_str),
        Some(
            format!("ios takes one SCEP server URL; this device gets {url} and the payload leaves out the other 2")
                .as_str()
        )
    );
}

#[test]
fn validity_period_is_reported_once_in_the_preview() {
    let scenario = macos_device();
    let mut preview = scenario.profile.warnings();
    preview.extend(scenario.render().warnings);
    let validity: Vec<&String> = preview
        .iter()
        .filter(|warning| warning.contains("certificateValidityPeriod"))
        .collect();
    assert_eq!(validity.len(), 1, "{preview:?}");
}

#[test]
fn trusted_profile_has_no_warnings() {
    assert!(render_trusted_for(&ios_trusted()).warnings.is_empty());
}

#[test]
fn markup_in_subject_values_is_escaped_and_round_trips() {
    let hostile = "<key>x</key> & ]]> \"quoted\" 'single'\nsecond line 🔐";
    let mut scenario = ios_user();
    scenario.name.subject = Subject(vec![rdn(NameAttribute::CommonName, hostile)]);
    scenario.name.subject_alternative_names = vec![san(SanType::EmailAddress, hostile)];
    let rendered = scenario.render();

    let xml = std::str::from_utf8(&rendered.body).expect("UTF-8");
    assert!(!xml.contains("<key>x</key>"), "markup is escaped");
    assert!(!xml.contains("]]>"), "`]]>` may not appear in XML character data");
    assert!(xml.contains("&lt;key&gt;x&lt;/key&gt; &amp; ]]&gt;"), "{xml}");
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let document = roxmltree::Document::parse_with_options(xml, options).expect("well-formed XML");
    let strings = document
        .descendants()
        .filter(|node| node.has_tag_name("string") && node.text() == Some(hostile))
        .count();
    assert_eq!(
        strings, 2,
        "an independent XML parser reads the subject value and the SAN back"
    );

    let profile = parse(&rendered);
    let content = scep_content(&profile);
    assert_eq!(subject_of(content), pairs(&[&[("CN", hostile)]]));
    let alt_names = content["SubjectAltName"].as_dictionary().expect("a dictionary");
    assert_eq!(string(alt_names, "rfc822Name"), hostile);
}

#[test]
fn characters_xml_cannot_carry_are_an_encoding_error() {
    let mut scenario = ios_user();
    scenario.name.subject = Subject(vec![rdn(NameAttribute::CommonName, "jane\u{0}doe")]);
    assert_eq!(
        render_scep(&scenario.input()),
        Err(RenderError::Encoding(
            "profile.PayloadContent[1].PayloadContent.Subject[0][0][1] contains U+0000, \
             which an XML property list cannot carry"
                .to_owned()
        ))
    );
}

#[test]
fn noncharacters_are_refused_and_their_neighbours_in_utf8_carried() {
    for refused in ['\u{FFFE}', '\u{FFFF}', '\u{1F}', '\u{7}'] {
        let mut scenario = ios_user();
        let value = format!("jane{refused}doe");
        scenario.name.subject = Subject(vec![rdn(NameAttribute::CommonName, &value)]);
        assert!(
            matches!(render_scep(&scenario.input()), Err(RenderError::Encoding(message))
                if message.contains(&format!("U+{:04X}", u32::from(refused)))),
            "U+{:04X} is refused",
            u32::from(refused)
        );
    }
    // U+FFFD and U+FF21 share the lead byte 0xEF with the two noncharacters;
    // U+10000 and U+E9 are multi-byte too. All of them are XML characters.
    let carried = "\u{FFFD}\u{FF21}\u{10000}\u{E9}\t";
    let mut scenario = ios_user();
    scenario.name.subject = Subject(vec![rdn(NameAttribute::CommonName, carried)]);
    let profile = parse(&scenario.render());
    assert_eq!(subject_of(scep_content(&profile)), pairs(&[&[("CN", carried)]]));
}

#[test]
fn an_empty_rdn_is_an_encoding_error() {
    let mut scenario = ios_user();
    scenario.name.subject = Subject(vec![Rdn(Vec::new())]);
    assert!(matches!(
        render_scep(&scenario.input()),
        Err(RenderError::Encoding(message)) if message.contains("empty RDN")
    ));
}

#[test]
fn an_empty_subject_leaves_the_subject_key_out() {
    let mut scenario = ios_user();
    scenario.name.subject = Subject::default();
    let profile = parse(&scenario.render());
    assert!(!scep_content(&profile).contains_key("Subject"));
}

mod frames;
