//! Render one payload per platform format: `cargo bench -p scepter-domain --bench render`.
//! Target (issue: rendering): a `.mobileconfig` and a SyncML render each ≤ 20 µs.
//! Also the `.mobileconfig` written into its frame, as check-in makes it.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use scepter_domain::{
    directory::{Device, User},
    render::{self, ScepPayloadInput, TrustedProfileRef},
    scep_profile::{CertificateType, KeyUsage, SanType, SubjectAlternativeName, SubjectNameFormat},
    subject_name::{expand_name, NameContext},
    Platform, ScepCertificateProfile, ScepCertificateProfileDraft, ScepProfileContext,
    TrustedCertificateProfile, TrustedCertificateProfileDraft,
};
use uuid::Uuid;

const ROOT_PEM: &str = include_str!("../tests/fixtures/root-ca.pem");

fn root(platform: Platform) -> TrustedCertificateProfile {
    TrustedCertificateProfile::parse(TrustedCertificateProfileDraft {
        display_name: "Contoso Root".to_owned(),
        description: None,
        platform,
        cert_file_name: Some("root.cer".to_owned()),
        trusted_root_certificate: ROOT_PEM.to_owned(),
        destination_store: None,
        issuing_certificates: None,
    })
    .expect("valid root")
}

fn profile(platform: Platform) -> ScepCertificateProfile {
    let draft = ScepCertificateProfileDraft {
        display_name: "User certificate".to_owned(),
        description: Some("Wi-Fi and VPN".to_owned()),
        platform,
        certificate_type: CertificateType::User,
        certificate_validity_period_value: None,
        certificate_validity_period_scale: None,
        key_storage_provider: None,
        subject_name_format: SubjectNameFormat::Custom,
        subject_name_format_string: Some(
            "CN={{UserName}},E={{EmailAddress}},OU=Mobile,O=Contoso,C=US".to_owned(),
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
        key_usage: vec![KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment],
        key_size: 2048,
        hash_algorithm: None,
        root_certificate_id: Uuid::from_u128(1),
        extended_key_usages: None,
        renewal_threshold_percentage: None,
        scep_server_urls: vec![
            "https://ndes1.contoso.example/certsrv/mscep/mscep.dll".to_owned(),
            "https://ndes2.contoso.example/certsrv/mscep/mscep.dll".to_owned(),
        ],
    };
    let context = ScepProfileContext {
        allow_http_scep_urls: false,
        root_platform: Some(platform),
    };
    ScepCertificateProfile::parse(draft, &context).expect("valid profile")
}

fn bench_render(criterion: &mut Criterion) {
    let user = User {
        user_principal_name: "jane.doe@contoso.example".to_owned(),
        display_name: "Jane Doe".to_owned(),
        mail: Some("jane.doe@contoso.example".to_owned()),
        on_premises_distinguished_name: None,
        on_premises_sam_account_name: Some("jdoe".to_owned()),
        on_premises_security_identifier: None,
        external_id: None,
    };
    for (name, platform) in [
        ("mobileconfig (iOS)", Platform::Ios),
        ("SyncML (Windows 10)", Platform::Windows10),
    ] {
        let root = root(platform);
        let profile = profile(platform);
        let device = Device {
            device_name: "JANE-DEVICE".to_owned(),
            platform,
            os_version: None,
            serial_number: Some("C02XK0AAJGH5".to_owned()),
            imei: None,
            azure_ad_device_id: Some(Uuid::from_u128(7)),
            user_id: Some(Uuid::from_u128(3)),
            external_id: None,
            meid: None,
            wifi_mac_address: None,
            fully_qualified_domain_name: None,
        };
        let device_id = Uuid::from_u128(42);
        let context = NameContext {
            device_id,
            device: &device,
            user: Some(&user),
        };
        let expanded = expand_name(&profile.settings, &context).expect("expands");
        let input = ScepPayloadInput {
            profile_id: Uuid::from_u128(2),
            profile_version: 3,
            profile: &profile,
            root: TrustedProfileRef {
                id: Uuid::from_u128(1),
                version: 1,
                profile: &root,
            },
            device_id,
            name: &expanded,
            challenge: "R09MREVOLUNIQUxMRU5HRQ==",
            organization: "Contoso",
        };
        criterion.bench_function(&format!("render {name}"), |bench| {
            bench.iter(|| render::render_scep(black_box(&input)).expect("renders"))
        });
        // Check-in writes each device's strings into a frame kept per
        // profile version (`ScepFrame`); other platforms fall back to the above.
        if platform == Platform::Ios {
            let frame = render::ScepFrame::new(&input);
            assert_eq!(frame.render(&input), render::render_scep(&input));
            criterion.bench_function(&format!("render {name} into its frame"), |bench| {
                bench.iter(|| frame.render(black_box(&input)).expect("renders"))
            });
        }
        criterion.bench_function(&format!("expand subject and SANs ({name})"), |bench| {
            bench.iter(|| expand_name(black_box(&profile.settings), black_box(&context)).expect("expands"))
        });
    }
}

criterion_group!(benches, bench_render);
criterion_main!(benches);
