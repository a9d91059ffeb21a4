//! One golden file per platform, subject-name format and certificate type.
//!
//! For every `subjectNameFormat` and every certificate type the format
//! allows (the table in `subject_name`'s module docs), a profile is saved
//! through [`ScepCertificateProfile::parse`] (so the save-time rules apply),
//! its name is expanded with [`expand_name`] for one fixed device and user,
//! and the payload is rendered with [`render::render_scep`] for iOS
//! (`.mobileconfig`), Windows 10 (SyncML) and Android (JSON). Each rendering
//! is byte-compared with `domain/tests/golden/formats/<platform>-<format>-<type>.<ext>`,
//! the golden file is read back (plist, roxmltree, serde_json) to check the
//! subject it carries, and the payload validator (`tests/payload-validator`)
//! finds no error and no warning in any file (Android also checked against
//! `openapi/android-payload.schema.json`).
//!
//! The combinations without a golden file are tested as refusals: a device
//! certificate cannot use a format that reads the user (refused at save), and
//! Windows cannot send a payload without a subject (`notConfigured` is
//! refused at save for Windows platforms).
//!
//! After an intended change, rerun with `SCEPTER_UPDATE_GOLDEN=1` and review
//! the diff.

use std::{collections::BTreeSet, fs, path::PathBuf};

use serde_json::json;
use uuid::Uuid;

use crate::{
    directory::{Device, User},
    platform::Platform,
    render::test_support,
    render::{
        self, RenderError, Rendered, ScepPayloadInput, TrustedProfileRef, APPLE_CONTENT_TYPE,
        JSON_CONTENT_TYPE, SYNCML_CONTENT_TYPE,
    },
    scep_profile::{
        CertificateType, KeyUsage, SanType, ScepCertificateProfile, ScepCertificateProfileDraft,
        ScepProfileContext, SubjectAlternativeName, SubjectNameFormat,
    },
    subject_name::{
        expand_name, parse_windows_subject_name, AttributeValue, ExpandedName, NameAttribute, NameContext,
        Rdn, Subject,
    },
    TrustedCertificateProfile, TrustedCertificateProfileDraft,
};

const ROOT_CA: &str = include_str!("../../tests/fixtures/root-ca.pem");
const PROFILE_ID: Uuid = Uuid::from_u128(0x0193_4d2e_7c1a_7b3e_9f00_0000_0000_0021);
const ROOT_ID: Uuid = Uuid::from_u128(0x0193_4d2e_7c1a_7b3e_9f00_0000_0000_0022);
const DEVICE_ID: Uuid = Uuid::from_u128(0x0193_4d2e_7c1a_7b3e_9f00_0000_0000_0023);
const PROFILE_VERSION: i64 = 3;
const ROOT_VERSION: i64 = 2;
/// base64 text, which every platform (Windows included) sends as is.
const CHALLENGE: &str = "R09MREVOLUNIQUxMRU5HRQ==";
const ORGANIZATION: &str = "Contoso Ltd.";
const NDES: &str = "https://ndes1.contoso.example/certsrv/mscep/mscep.dll";
const SYNCML_NS: &str = "SYNCML:SYNCML1.2";

/// The fixed user: mail and UPN differ, so every format shows which one it read.
const UPN: &str = "jane.doe@contoso.example";
const MAIL: &str = "jane@contoso.example";
/// The fixed device.
const IMEI: &str = "490154203237518";
const SERIAL: &str = "F2LXK0ABHG7F";
const AAD_DEVICE_ID: &str = "6d3c1f0e-2b4a-4c5d-8e9f-0a1b2c3d4e5f";
const FQDN: &str = "jane-phone.devices.contoso.example";

/// The custom format the issue names: a quoted value with a comma, and a country.
const CUSTOM: &str = r#"CN={{UserName}},OU=Mobile,O="Contoso, Ltd",C=US"#;

// ---------------------------------------------------------------- the table

/// Expected RDNs as `(keyword, value)`, keyword as `CertStrToName` writes it.
type Rdns = &'static [&'static [(&'static str, &'static str)]];

/// One allowed combination of format and certificate type, and the subject it must yield.
struct FormatCase {
    format: SubjectNameFormat,
    certificate_type: CertificateType,
    rdns: Rdns,
    /// The Windows `SubjectName`; `None`: Windows refuses the payload.
    windows: Option<&'static str>,
}

const fn case(
    format: SubjectNameFormat,
    certificate_type: CertificateType,
    rdns: Rdns,
    windows: Option<&'static str>,
) -> FormatCase {
    FormatCase {
        format,
        certificate_type,
        rdns,
        windows,
    }
}

/// Every format and certificate type that may be saved, with its subject
/// (`subject_name`'s module-doc table, filled with the fixed device and user).
fn allowed_cases() -> Vec<FormatCase> {
    use CertificateType::{Device, User};
    use SubjectNameFormat::*;
    vec![
        case(NotConfigured, User, &[], None),
        case(NotConfigured, Device, &[], None),
        case(
            CommonName,
            User,
            &[&[("CN", UPN)]],
            Some("CN=jane.doe@contoso.example"),
        ),
        case(
            CommonName,
            Device,
            &[&[("CN", AAD_DEVICE_ID)]],
            Some("CN=6d3c1f0e-2b4a-4c5d-8e9f-0a1b2c3d4e5f"),
        ),
        case(
            CommonNameIncludingEmail,
            User,
            &[&[("CN", UPN)], &[("E", MAIL)]],
            Some("CN=jane.doe@contoso.example,E=jane@contoso.example"),
        ),
        case(
            CommonNameAsEmail,
            User,
            &[&[("CN", MAIL)]],
            Some("CN=jane@contoso.example"),
        ),
        case(
            CommonNameAsImei,
            User,
            &[&[("CN", IMEI)]],
            Some("CN=490154203237518"),
        ),
        case(
            CommonNameAsImei,
            Device,
            &[&[("CN", IMEI)]],
            Some("CN=490154203237518"),
        ),
        case(
            CommonNameAsSerialNumber,
            User,
            &[&[("CN", SERIAL)]],
            Some("CN=F2LXK0ABHG7F"),
        ),
        case(
            CommonNameAsSerialNumber,
            Device,
            &[&[("CN", SERIAL)]],
            Some("CN=F2LXK0ABHG7F"),
        ),
        case(
            Custom,
            User,
            &[
                &[("CN", UPN)],
                &[("OU", "Mobile")],
                &[("O", "Contoso, Ltd")],
                &[("C", "US")],
            ],
            Some(r#"CN=jane.doe@contoso.example,OU=Mobile,O="Contoso, Ltd",C=US"#),
        ),
    ]
}

/// The combinations refused at save: a device certificate has no user, so
/// the formats that read one are refused, with the field and rule the API reports.
fn refused_cases() -> Vec<(SubjectNameFormat, &'static str)> {
    vec![
        (SubjectNameFormat::CommonNameIncludingEmail, "subjectNameFormat"),
        (SubjectNameFormat::CommonNameAsEmail, "subjectNameFormat"),
        (SubjectNameFormat::Custom, "subjectNameFormatString"),
    ]
}

const ALL_FORMATS: [SubjectNameFormat; 7] = [
    SubjectNameFormat::NotConfigured,
    SubjectNameFormat::CommonName,
    SubjectNameFormat::CommonNameIncludingEmail,
    SubjectNameFormat::CommonNameAsEmail,
    SubjectNameFormat::CommonNameAsImei,
    SubjectNameFormat::CommonNameAsSerialNumber,
    SubjectNameFormat::Custom,
];

/// The API spelling, used in file names. The match is exhaustive, so a new
/// format does not compile until it is named here (and then in the tables).
fn format_name(format: SubjectNameFormat) -> &'static str {
    match format {
        SubjectNameFormat::NotConfigured => "notConfigured",
        SubjectNameFormat::CommonName => "commonName",
        SubjectNameFormat::CommonNameIncludingEmail => "commonNameIncludingEmail",
        SubjectNameFormat::CommonNameAsEmail => "commonNameAsEmail",
        SubjectNameFormat::CommonNameAsImei => "commonNameAsIMEI",
        SubjectNameFormat::CommonNameAsSerialNumber => "commonNameAsSerialNumber",
        SubjectNameFormat::Custom => "custom",
    }
}

/// The platforms rendered here: file-name prefix and extension.
const PLATFORMS: [(Platform, &str, &str); 3] = [
    (Platform::Ios, "ios", "mobileconfig"),
    (Platform::Windows10, "windows10", "xml"),
    (Platform::Android, "android", "json"),
];

fn golden_file(platform: Platform, format: SubjectNameFormat, certificate_type: CertificateType) -> String {
    let (_, prefix, extension) = PLATFORMS
        .iter()
        .find(|(candidate, _, _)| *candidate == platform)
        .expect("a platform rendered here");
    format!(
        "{prefix}-{}-{}.{extension}",
        format_name(format),
        certificate_type.as_str()
    )
}

/// The attribute a keyword of the expected table names; independent of
/// [`NameAttribute::from_keyword`], so the table is not checked against itself.
fn attribute_of(keyword: &str) -> NameAttribute {
    match keyword {
        "CN" => NameAttribute::CommonName,
        "E" => NameAttribute::Email,
        "OU" => NameAttribute::OrganizationalUnit,
        "O" => NameAttribute::Organization,
        "C" => NameAttribute::Country,
        other => panic!("no attribute for {other} in this table"),
    }
}

/// Apple's `Subject` type: the documented shortcuts, the PKCS #9 OID for E.
fn apple_type_of(keyword: &str) -> &'static str {
    match keyword {
        "CN" => "CN",
        "E" => "1.2.840.113549.1.9.1",
        "OU" => "OU",
        "O" => "O",
        "C" => "C",
        other => panic!("no Apple type for {other} in this table"),
    }
}

fn oid_of(keyword: &str) -> &'static str {
    match keyword {
        "CN" => "2.5.4.3",
        "E" => "1.2.840.113549.1.9.1",
        "OU" => "2.5.4.11",
        "O" => "2.5.4.10",
        "C" => "2.5.4.6",
        other => panic!("no OID for {other} in this table"),
    }
}

fn expected_subject(rdns: Rdns) -> Subject {
    Subject(
        rdns.iter()
            .map(|rdn| {
                Rdn(rdn
                    .iter()
                    .map(|&(keyword, value)| AttributeValue {
                        attribute: attribute_of(keyword),
                        value: value.to_owned(),
                    })
                    .collect())
            })
            .collect(),
    )
}

// ---------------------------------------------------------------- inputs

fn user() -> User {
    User {
        user_principal_name: UPN.to_owned(),
        display_name: "Jane Doe".to_owned(),
        mail: Some(MAIL.to_owned()),
        on_premises_distinguished_name: None,
        on_premises_sam_account_name: None,
        on_premises_security_identifier: None,
        external_id: None,
    }
}

fn device(platform: Platform) -> Device {
    Device {
        device_name: "JANE-PHONE".to_owned(),
        platform,
        os_version: None,
        serial_number: Some(SERIAL.to_owned()),
        imei: Some(IMEI.to_owned()),
        meid: None,
        wifi_mac_address: None,
        fully_qualified_domain_name: Some(FQDN.to_owned()),
        azure_ad_device_id: Some(Uuid::parse_str(AAD_DEVICE_ID).expect("a UUID")),
        user_id: None,
        external_id: None,
    }
}

fn root(platform: Platform) -> TrustedCertificateProfile {
    TrustedCertificateProfile::parse(TrustedCertificateProfileDraft {
        display_name: "Contoso Root CA".to_owned(),
        description: None,
        platform,
        // Windows names a certificate by its thumbprint and would warn about a file name.
        cert_file_name: (!platform.is_windows()).then(|| "contoso-root.cer".to_owned()),
        trusted_root_certificate: ROOT_CA.to_owned(),
        destination_store: None,
        issuing_certificates: None,
    })
    .unwrap_or_else(|errors| panic!("invalid trusted profile: {:?}", errors.errors()))
}

/// The SAN every profile here asks for, so that a `notConfigured` certificate
/// still names its holder: the UPN for a user, the DNS name for a device.
fn san_for(certificate_type: CertificateType) -> (SanType, &'static str, &'static str) {
    match certificate_type {
        CertificateType::User => (SanType::UserPrincipalName, "{{UserPrincipalName}}", UPN),
        CertificateType::Device => (SanType::DomainNameService, "{{FullyQualifiedDomainName}}", FQDN),
    }
}

fn draft(
    platform: Platform,
    format: SubjectNameFormat,
    certificate_type: CertificateType,
) -> ScepCertificateProfileDraft {
    let (san_type, san_template, _) = san_for(certificate_type);
    ScepCertificateProfileDraft {
        display_name: format!(
            "Contoso {} certificate ({})",
            certificate_type.as_str(),
            format_name(format)
        ),
        description: None,
        platform,
        certificate_type,
        certificate_validity_period_value: None,
        certificate_validity_period_scale: None,
        key_storage_provider: None,
        subject_name_format: format,
        subject_name_format_string: (format == SubjectNameFormat::Custom).then(|| CUSTOM.to_owned()),
        custom_subject_alternative_names: vec![SubjectAlternativeName {
            san_type,
            name: san_template.to_owned(),
        }],
        key_usage: vec![KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment],
        key_size: 2048,
        hash_algorithm: None,
        root_certificate_id: ROOT_ID,
        extended_key_usages: None,
        renewal_threshold_percentage: None,
        scep_server_urls: vec![NDES.to_owned()],
    }
}

fn context(platform: Platform) -> ScepProfileContext {
    ScepProfileContext {
        allow_http_scep_urls: false,
        root_platform: Some(platform),
    }
}

/// Everything one payload borrows: the saved profile, its root and the expanded name.
struct Scenario {
    profile: ScepCertificateProfile,
    root: TrustedCertificateProfile,
    name: ExpandedName,
}

impl Scenario {
    /// Saves the profile and expands its name for the fixed device and user.
    fn new(platform: Platform, format: SubjectNameFormat, certificate_type: CertificateType) -> Self {
        let profile =
            ScepCertificateProfile::parse(draft(platform, format, certificate_type), &context(platform))
                .unwrap_or_else(|errors| {
                    panic!(
                        "{platform} {} {}: refused at save: {:?}",
                        format_name(format),
                        certificate_type.as_str(),
                        errors.errors()
                    )
                });
        let device = device(platform);
        let user = user();
        let name = expand_name(
            &profile.settings,
            &NameContext {
                device_id: DEVICE_ID,
                device: &device,
                user: Some(&user),
            },
        )
        .unwrap_or_else(|error| {
            panic!(
                "{platform} {} {}: expansion failed: {error:?}",
                format_name(format),
                certificate_type.as_str()
            )
        });
        Self {
            profile,
            root: root(platform),
            name,
        }
    }

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

    fn render(&self) -> Result<Rendered, RenderError> {
        render::render_scep(&self.input())
    }
}

// ---------------------------------------------------------------- golden files

fn golden_dir() -> PathBuf {
    test_support::golden_dir("formats")
}

fn assert_golden(file: &str, body: &[u8]) {
    test_support::assert_golden("formats", file, body);
}

/// Renders every allowed case for `platform`, byte-compares it with its
/// golden file, reads the file back with `check`, and runs the validator on
/// all of them. The golden files of this platform must be exactly these.
fn check_platform(platform: Platform, content_type: &str, check: fn(&FormatCase, &[u8])) {
    let mut written = Vec::new();
    for case in allowed_cases() {
        if platform.is_windows() && case.windows.is_none() {
            continue; // refused at save; see windows_refuses_a_profile_without_subject_at_save
        }
        let label = golden_file(platform, case.format, case.certificate_type);
        let scenario = Scenario::new(platform, case.format, case.certificate_type);
        assert_eq!(
            scenario.name.subject,
            expected_subject(case.rdns),
            "{label}: the expanded subject"
        );
        let (san_type, _, san_value) = san_for(case.certificate_type);
        assert_eq!(
            scenario
                .name
                .subject_alternative_names
                .iter()
                .map(|san| (san.san_type, san.value.as_str()))
                .collect::<Vec<_>>(),
            [(san_type, san_value)],
            "{label}: the expanded SANs"
        );
        let rendered = scenario
            .render()
            .unwrap_or_else(|error| panic!("{label}: does not render: {error}"));
        assert_eq!(rendered.content_type, content_type, "{label}");
        assert_golden(&label, &rendered.body);
        let path = golden_dir().join(&label);
        let on_disk =
            fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
        check(&case, &on_disk);
        written.push(path);
    }

    let (_, prefix, _) = PLATFORMS
        .iter()
        .find(|(candidate, _, _)| *candidate == platform)
        .expect("a platform rendered here");
    let on_disk: BTreeSet<PathBuf> = fs::read_dir(golden_dir())
        .expect("the golden directory exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(&format!("{prefix}-")))
        })
        .collect();
    let expected: BTreeSet<PathBuf> = written.iter().cloned().collect();
    assert_eq!(on_disk, expected, "every {prefix} golden file belongs to a case");

    test_support::assert_validator_accepts(&written);
}

// ---------------------------------------------------------------- reading back

fn label(case: &FormatCase) -> String {
    format!("{} {}", format_name(case.format), case.certificate_type.as_str())
}

/// Apple: the `com.apple.security.scep` payload's `Subject` is the RDN list
/// of `[type, value]` pairs, absent for `notConfigured`; the SAN is kept.
fn check_apple(case: &FormatCase, body: &[u8]) {
    let label = label(case);
    let profile = plist::Value::from_reader_xml(body)
        .unwrap_or_else(|error| panic!("{label}: not an XML property list: {error}"))
        .into_dictionary()
        .expect("the top level is a dictionary");
    let payloads = profile["PayloadContent"]
        .as_array()
        .expect("PayloadContent is an array");
    let scep: Vec<&plist::Dictionary> = payloads
        .iter()
        .map(|payload| payload.as_dictionary().expect("a payload is a dictionary"))
        .filter(|payload| payload["PayloadType"].as_string() == Some("com.apple.security.scep"))
        .collect();
    assert_eq!(scep.len(), 1, "{label}: one SCEP payload");
    let content = scep[0]["PayloadContent"]
        .as_dictionary()
        .expect("the SCEP content is a dictionary");

    let subject: Option<Vec<Vec<(String, String)>>> = content.get("Subject").map(|subject| {
        subject
            .as_array()
            .expect("Subject is an array")
            .iter()
            .map(|rdn| {
                rdn.as_array()
                    .expect("an RDN is an array")
                    .iter()
                    .map(|pair| match pair.as_array().map(Vec::as_slice) {
                        Some([name, value]) => (
                            name.as_string().expect("a type string").to_owned(),
                            value.as_string().expect("a value string").to_owned(),
                        ),
                        other => panic!("{label}: a pair is two strings, got {other:?}"),
                    })
                    .collect()
            })
            .collect()
    });
    let expected: Vec<Vec<(String, String)>> = case
        .rdns
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(|&(keyword, value)| (apple_type_of(keyword).to_owned(), value.to_owned()))
                .collect()
        })
        .collect();
    if expected.is_empty() {
        assert_eq!(subject, None, "{label}: no Subject key");
    } else {
        assert_eq!(subject, Some(expected), "{label}: Subject");
    }

    let (san_type, _, san_value) = san_for(case.certificate_type);
    let san_key = match san_type {
        SanType::UserPrincipalName => "ntPrincipalName",
        SanType::DomainNameService => "dNSName",
        other => panic!("no SAN of type {other:?} here"),
    };
    let sans = content["SubjectAltName"]
        .as_dictionary()
        .expect("SubjectAltName is a dictionary");
    assert_eq!(sans.len(), 1, "{label}: one SAN");
    assert_eq!(sans[san_key].as_string(), Some(san_value), "{label}: {san_key}");
}

fn syncml_data_of<'a>(doc: &'a roxmltree::Document<'a>, leaf: &str) -> Vec<(String, String)> {
    doc.descendants()
        .filter(|node| node.has_tag_name((SYNCML_NS, "Add")))
        .filter_map(|add| {
            let item = add
                .children()
                .find(|node| node.has_tag_name((SYNCML_NS, "Item")))?;
            let target = item
                .children()
                .find(|node| node.has_tag_name((SYNCML_NS, "Target")))?
                .children()
                .find(|node| node.has_tag_name((SYNCML_NS, "LocURI")))?
                .text()?
                .to_owned();
            let data = item
                .children()
                .find(|node| node.has_tag_name((SYNCML_NS, "Data")))?
                .text()
                .unwrap_or_default()
                .to_owned();
            target.ends_with(&format!("/{leaf}")).then_some((target, data))
        })
        .collect()
}

/// Windows: the one `…/Install/SubjectName` Add, under the certificate
/// type's scope, carries the expected string, which reads back as the subject.
fn check_windows(case: &FormatCase, body: &[u8]) {
    let label = label(case);
    let text = std::str::from_utf8(body).expect("the payload is UTF-8");
    let doc = roxmltree::Document::parse(text)
        .unwrap_or_else(|error| panic!("{label}: not well-formed XML: {error}"));
    assert!(
        doc.root_element().has_tag_name((SYNCML_NS, "SyncML")),
        "{label}: a SyncML message"
    );

    let expected = case.windows.expect("a case Windows renders");
    let scope = match case.certificate_type {
        CertificateType::User => "./User/",
        CertificateType::Device => "./Device/",
    };
    let subject = syncml_data_of(&doc, "SubjectName");
    assert_eq!(subject.len(), 1, "{label}: one SubjectName");
    let (target, value) = &subject[0];
    assert!(
        target.starts_with(&format!("{scope}Vendor/MSFT/ClientCertificateInstall/SCEP/")),
        "{label}: {target}"
    );
    assert_eq!(value, expected, "{label}: SubjectName");
    assert_eq!(
        parse_windows_subject_name(value).expect("SubjectName reads back"),
        expected_subject(case.rdns),
        "{label}: SubjectName read back"
    );

    let (san_type, _, san_value) = san_for(case.certificate_type);
    let number = match san_type {
        SanType::UserPrincipalName => 11,
        SanType::DomainNameService => 3,
        other => panic!("no SAN of type {other:?} here"),
    };
    let sans = syncml_data_of(&doc, "SubjectAlternativeNames");
    assert_eq!(
        sans.iter().map(|(_, data)| data.as_str()).collect::<Vec<_>>(),
        [format!("{number}+{san_value}")],
        "{label}: SubjectAlternativeNames"
    );
}

/// Android: `scep.subject` lists the RDNs as `{type, oid, value}`, empty for
/// `notConfigured`; the certificate type and SAN are kept.
fn check_android(case: &FormatCase, body: &[u8]) {
    let label = label(case);
    let document: serde_json::Value =
        serde_json::from_slice(body).unwrap_or_else(|error| panic!("{label}: not JSON: {error}"));
    let scep = &document["scep"];
    let expected: Vec<Vec<serde_json::Value>> = case
        .rdns
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(|&(keyword, value)| json!({"type": keyword, "oid": oid_of(keyword), "value": value}))
                .collect()
        })
        .collect();
    assert_eq!(scep["subject"], json!(expected), "{label}: scep.subject");
    assert_eq!(
        scep["certificateType"],
        case.certificate_type.as_str(),
        "{label}: scep.certificateType"
    );
    let (san_type, _, san_value) = san_for(case.certificate_type);
    assert_eq!(
        scep["subjectAlternativeNames"],
        json!([{"sanType": san_type, "value": san_value}]),
        "{label}: scep.subjectAlternativeNames"
    );
}

// ---------------------------------------------------------------- tests

#[test]
fn the_tables_cover_every_format_and_certificate_type_once() {
    let mut seen = BTreeSet::new();
    for case in allowed_cases() {
        assert!(seen.insert((format_name(case.format), case.certificate_type.as_str())));
        assert_eq!(
            case.windows.is_none(),
            case.format == SubjectNameFormat::NotConfigured,
            "{}: only notConfigured has no Windows subject",
            label(&case)
        );
    }
    for (format, _) in refused_cases() {
        assert!(seen.insert((format_name(format), CertificateType::Device.as_str())));
    }
    let all: BTreeSet<_> = ALL_FORMATS
        .iter()
        .flat_map(|&format| {
            [CertificateType::User, CertificateType::Device]
                .map(|certificate_type| (format_name(format), certificate_type.as_str()))
        })
        .collect();
    assert_eq!(seen, all);
}

#[test]
fn file_names_use_the_api_spelling_of_each_format() {
    for format in ALL_FORMATS {
        assert_eq!(
            serde_json::to_value(format).expect("serializes"),
            format_name(format),
            "{format:?}"
        );
    }
}

#[test]
fn ios_every_format_matches_its_golden_file() {
    check_platform(Platform::Ios, APPLE_CONTENT_TYPE, check_apple);
}

#[test]
fn windows10_every_format_with_a_subject_matches_its_golden_file() {
    check_platform(Platform::Windows10, SYNCML_CONTENT_TYPE, check_windows);
}

#[test]
fn android_every_format_matches_its_golden_file() {
    check_platform(Platform::Android, JSON_CONTENT_TYPE, check_android);
}

#[test]
fn windows_refuses_a_profile_without_subject_at_save() {
    for certificate_type in [CertificateType::User, CertificateType::Device] {
        let draft = draft(
            Platform::Windows10,
            SubjectNameFormat::NotConfigured,
            certificate_type,
        );
        let errors = ScepCertificateProfile::parse(draft, &context(Platform::Windows10))
            .expect_err("Windows needs a subject");
        let errors: Vec<(&str, &str)> = errors
            .errors()
            .iter()
            .map(|error| (error.field.as_str(), error.rule))
            .collect();
        assert_eq!(
            errors,
            [("subjectNameFormat", "requiredOnWindows")],
            "{}",
            certificate_type.as_str()
        );
    }
}

#[test]
fn device_certificates_refuse_formats_that_read_the_user_at_save() {
    for (platform, _, _) in PLATFORMS {
        for (format, field) in refused_cases() {
            let draft = draft(platform, format, CertificateType::Device);
            let errors = ScepCertificateProfile::parse(draft, &context(platform))
                .expect_err("a device certificate cannot read the user");
            let errors: Vec<(&str, &str)> = errors
                .errors()
                .iter()
                .map(|error| (error.field.as_str(), error.rule))
                .collect();
            assert_eq!(
                errors,
                [(field, "userVariableOnDeviceCertificate")],
                "{platform} {}",
                format_name(format)
            );
        }
    }
}

/// The format changes the subject only: each platform warns about the same
/// settings whatever the format.
#[test]
fn warnings_do_not_depend_on_the_format() {
    for (platform, _, _) in PLATFORMS {
        for certificate_type in [CertificateType::User, CertificateType::Device] {
            let warnings: BTreeSet<Vec<String>> = allowed_cases()
                .into_iter()
                .filter(|case| case.certificate_type == certificate_type)
                .filter(|case| !(platform.is_windows() && case.windows.is_none()))
                .map(|case| {
                    Scenario::new(platform, case.format, certificate_type)
                        .render()
                        .expect("renders")
                        .warnings
                })
                .collect();
            assert_eq!(
                warnings.len(),
                1,
                "{platform} {}: {warnings:?}",
                certificate_type.as_str()
            );
        }
    }
}
