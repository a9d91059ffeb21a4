//! Property-based fuzzing of every parser that reads untrusted input: subject
//! name templates, CA and issued certificates, certificate requests,
//! challenges, device credentials and the check-in body. The property is the
//! same everywhere: any input yields `Ok` or `Err` — never a panic — in
//! bounded time and memory.
//!
//! Why proptest and not cargo-fuzz: cargo-fuzz needs a nightly toolchain for
//! its sanitizer flags, and this project builds with the one stable toolchain
//! it has. Two generators make up for coverage-guided mutation: arbitrary
//! input, and *mutations of valid samples* (byte flips, truncations,
//! insertions), which reach deep into the DER and template parsers where
//! random bytes never get.

use proptest::prelude::*;
use scepter_domain::{
    challenge::{self, ChallengeKey},
    checkin::CheckInReport,
    csr::CertificateRequest,
    device_credential::DeviceCredential,
    directory::{Device, DeviceDraft, User, UserDraft},
    issued_certificate::IssuedCertificate,
    render::{self, ScepPayloadInput, TrustedPayloadInput, TrustedProfileRef},
    scep_profile::CertificateType,
    scep_profile::{KeyUsage, SanType, ScepProfileContext, SubjectAlternativeName, SubjectNameFormat},
    subject_name::{expand_name, NameContext},
    subject_name::{parse_windows_subject_name, SubjectTemplate, ValueTemplate},
    CaCertificate, Platform, Record, ScepCertificateProfile, ScepCertificateProfileDraft,
    TrustedCertificateProfile, TrustedCertificateProfileDraft,
};

const ROOT_CA: &str = include_str!("fixtures/root-ca.pem");
const LEAF: &str = include_str!("fixtures/csr/issued-leaf.pem");
const REQUEST: &str = include_str!("fixtures/csr/rsa2048_sha256.pem");
const EC_REQUEST: &str = include_str!("fixtures/csr/p256_sha256.pem");
const TEMPLATE: &str = r#"CN={{UserName}},E={{EmailAddress}},OU=Mobile,O="Contoso, Ltd",C=US+L=Delft"#;
const CHECK_IN: &str = r#"{"installedProfiles":[{"profileId":"01934d2e-7c1a-7b3e-9f00-000000000011","version":3}],"installedCertificates":[{"profileId":"01934d2e-7c1a-7b3e-9f00-000000000011","thumbprintSha1":"F4BF1446572532247C20B94FB6D57E638735DE06","notBefore":"2026-01-01T00:00:00Z","notAfter":"2027-01-01T00:00:00Z"}]}"#;

fn der_of(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
    base64_decode(&body)
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::{engine::general_purpose::STANDARD, Engine as _};
    STANDARD.decode(text).expect("fixture is base64")
}

/// A mutation of `sample`: flip, overwrite, insert or delete bytes, or truncate.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(
        prop_oneof![
            (any::<usize>(), 1..=255u8).prop_map(|(at, bits)| Mutation::Flip(at, bits)),
            (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert(at, byte)),
            any::<usize>().prop_map(Mutation::Delete),
            any::<usize>().prop_map(Mutation::Truncate),
        ],
        1..6,
    )
}

fn mutate(sample: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = sample.to_vec();
    for mutation in mutations {
        if bytes.is_empty() {
            break;
        }
        match *mutation {
            Mutation::Flip(at, bits) => {
                let at = at % bytes.len();
                bytes[at] ^= bits;
            }
            Mutation::Insert(at, byte) => bytes.insert(at % (bytes.len() + 1), byte),
            Mutation::Delete(at) => {
                let at = at % bytes.len();
                bytes.remove(at);
            }
            Mutation::Truncate(at) => bytes.truncate(at % bytes.len()),
        }
    }
    bytes
}

fn mutated_text(sample: &str, mutations: &[Mutation]) -> String {
    String::from_utf8_lossy(&mutate(sample.as_bytes(), mutations)).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn subject_templates_never_panic(text in ".{0,300}") {
        let _ = SubjectTemplate::parse(&text);
        let _ = SubjectTemplate::parse_for(&text, CertificateType::Device);
        let _ = ValueTemplate::parse(&text);
        let _ = parse_windows_subject_name(&text);
    }

    #[test]
    fn mutated_subject_templates_never_panic(mutations in mutations()) {
        let text = mutated_text(TEMPLATE, &mutations);
        let _ = SubjectTemplate::parse(&text);
        let _ = parse_windows_subject_name(&text);
    }

    #[test]
    fn certificates_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = CaCertificate::from_der(&bytes);
        let _ = IssuedCertificate::from_der(&bytes);
        let _ = CertificateRequest::from_der(&bytes);
    }

    #[test]
    fn mutated_certificates_never_panic(mutations in mutations()) {
        let _ = CaCertificate::from_der(&mutate(&der_of(ROOT_CA), &mutations));
        let _ = IssuedCertificate::from_der(&mutate(&der_of(LEAF), &mutations));
        let _ = CaCertificate::parse(&mutated_text(ROOT_CA, &mutations));
        let _ = IssuedCertificate::parse(&mutated_text(LEAF, &mutations));
    }

    #[test]
    fn mutated_certificate_requests_never_panic(mutations in mutations()) {
        for sample in [REQUEST, EC_REQUEST] {
            let _ = CertificateRequest::from_der(&mutate(&der_of(sample), &mutations));
            let _ = CertificateRequest::parse(&mutated_text(sample, &mutations));
        }
    }

    #[test]
    fn challenges_and_credentials_never_panic(text in "[A-Za-z0-9+/=_ -]{0,300}") {
        let key = ChallengeKey::new(&[7; 32]).unwrap();
        let _ = challenge::verify(&key, &text, 1_700_000_000);
        let _ = DeviceCredential::parse(&text);
        let _ = DeviceCredential::parse(&format!("scd_{text}"));
    }

    #[test]
    fn check_in_bodies_never_panic(mutations in mutations(), text in ".{0,200}") {
        for body in [mutated_text(CHECK_IN, &mutations), text] {
            if let Ok(report) = serde_json::from_str::<CheckInReport>(&body) {
                let _ = report.validate();
            }
        }
    }
}

/// The largest inputs the API lets through (its 1 MiB body limit) neither
/// panic nor overflow the stack: deep nesting is refused, long runs are read.
#[test]
fn large_and_deep_inputs_are_refused_or_read() {
    let long_template = "CN=".to_owned() + &"{{UserName}}".repeat(40_000);
    let _ = SubjectTemplate::parse(&long_template);
    let nested = "[".repeat(100_000);
    assert!(serde_json::from_str::<CheckInReport>(&nested).is_err());
    let _ = CertificateRequest::from_der(&vec![0x30; 1 << 20]);
    let _ = IssuedCertificate::from_der(&vec![0x30; 1 << 20]);
    let _ = CaCertificate::parse(&"A".repeat(1 << 20));
}

/// Any Unicode text, weighted towards what breaks payloads: noncharacters,
/// controls, bidi overrides, separators, quotes and markup characters.
fn messy_text() -> impl Strategy<Value = String> {
    let nasty = prop::sample::select(vec![
        '\u{FFFF}',
        '\u{FFFE}',
        '\u{FDD0}',
        '\u{1FFFE}',
        '\u{0}',
        '\u{7}',
        '\u{202E}',
        '\u{2028}',
        ';',
        ',',
        '+',
        '"',
        '<',
        '&',
        '{',
        '}',
        '\\',
        ' ',
        'é',
        '\u{1F600}',
        '\u{301}',
    ]);
    let plain = "[a-zA-Z0-9 .@-]".prop_map(|s| s.chars().next().unwrap_or('a'));
    prop::collection::vec(prop_oneof![8 => plain, 1 => any::<char>(), 1 => nasty], 1..40)
        .prop_map(|chars| chars.into_iter().collect())
}

fn record<T>(content: T) -> Record<T> {
    Record {
        id: uuid::Uuid::from_u128(7),
        version: 1,
        created_at: chrono::DateTime::UNIX_EPOCH,
        modified_at: chrono::DateTime::UNIX_EPOCH,
        content,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever text an admin saves, saving answers Ok or a validation error;
    /// a saved profile name always renders, and a device's values either
    /// render or give a per-device error — never a panic. (Check-in turns
    /// such an error into one `failed` item, so no value can fail a check-in.)
    #[test]
    fn saved_text_renders_or_fails_per_device(
        name in messy_text(),
        upn in messy_text(),
        profile_name in messy_text(),
        platform in prop::sample::select(vec![Platform::Ios, Platform::Macos, Platform::Windows10, Platform::Android]),
    ) {
        let root = TrustedCertificateProfile::parse(TrustedCertificateProfileDraft {
            display_name: profile_name.clone(),
            description: None,
            platform,
            cert_file_name: None,
            trusted_root_certificate: ROOT_CA.to_owned(),
            destination_store: None,
            issuing_certificates: None,
        });
        let Ok(root) = root.map(record) else { return Ok(()) };
        let trusted = render::render_trusted(&TrustedPayloadInput {
            profile: TrustedProfileRef::of(&root),
            device_id: uuid::Uuid::from_u128(9),
            organization: "Contoso",
        });
        prop_assert!(trusted.is_ok(), "a saved profile name must render: {:?} {:?}", profile_name, trusted);

        let device = Device::parse(device_draft(name, platform));
        let user = User::parse(UserDraft {
            user_principal_name: upn,
            display_name: "Jane".to_owned(),
            mail: None,
            on_premises_distinguished_name: None,
            on_premises_sam_account_name: None,
            on_premises_security_identifier: None,
            external_id: None,
        });
        let (Ok(device), Ok(user)) = (device, user) else { return Ok(()) };
        let profile = scep_profile(platform);
        let context = NameContext { device_id: uuid::Uuid::from_u128(9), device: &device, user: Some(&user) };
        if let Ok(name) = expand_name(&profile.settings, &context) {
            let _ = render::render_scep(&ScepPayloadInput {
                profile_id: uuid::Uuid::from_u128(8),
                profile_version: 1,
                profile: &profile,
                root: TrustedProfileRef::of(&root),
                device_id: uuid::Uuid::from_u128(9),
                name: &name,
                challenge: "Q0hBTExFTkdF",
                organization: "Contoso",
            });
        }
    }
}

fn device_draft(device_name: String, platform: Platform) -> DeviceDraft {
    DeviceDraft {
        device_name,
        platform,
        os_version: None,
        serial_number: None,
        imei: None,
        meid: None,
        wifi_mac_address: None,
        fully_qualified_domain_name: None,
        azure_ad_device_id: None,
        user_id: None,
        external_id: None,
    }
}

/// A user certificate whose subject and every SAN type read the messy values.
fn scep_profile(platform: Platform) -> ScepCertificateProfile {
    let san = |san_type, name: &str| SubjectAlternativeName {
        san_type,
        name: name.to_owned(),
    };
    ScepCertificateProfile::parse(
        ScepCertificateProfileDraft {
            display_name: "Messy".to_owned(),
            description: None,
            platform,
            certificate_type: scepter_domain::scep_profile::CertificateType::User,
            certificate_validity_period_value: None,
            certificate_validity_period_scale: None,
            key_storage_provider: None,
            subject_name_format: SubjectNameFormat::Custom,
            subject_name_format_string: Some("CN={{DeviceName}},OU={{UserPrincipalName}}".to_owned()),
            custom_subject_alternative_names: vec![
                san(SanType::UserPrincipalName, "{{UserPrincipalName}}"),
                san(SanType::DomainNameService, "{{DeviceName}}"),
                san(SanType::EmailAddress, "{{UserPrincipalName}}"),
                san(SanType::UniversalResourceIdentifier, "urn:device:{{DeviceName}}"),
            ],
            key_usage: vec![KeyUsage::DigitalSignature],
            key_size: 2048,
            hash_algorithm: None,
            root_certificate_id: uuid::Uuid::from_u128(7),
            extended_key_usages: None,
            renewal_threshold_percentage: None,
            scep_server_urls: vec!["https://ndes.contoso.com/certsrv/mscep/mscep.dll".to_owned()],
        },
        &ScepProfileContext {
            allow_http_scep_urls: false,
            root_platform: Some(platform),
        },
    )
    .expect("a valid profile")
}
