//! The assembled payload equals the renderer's output for the expanded name,
//! and an issued challenge is bound to exactly that name.

use uuid::Uuid;

use super::{scep_payload, trusted_payload, Challenge, PayloadError};
use crate::{
    challenge::{self, ChallengeKey},
    directory::{Device, User},
    platform::Platform,
    render::{self, ScepPayloadInput, TrustedProfileRef},
    scep_profile::{CertificateType, KeyUsage, SubjectNameFormat},
    subject_name::{expand_name, ExpansionError, NameContext},
    Record, ScepCertificateProfile, ScepCertificateProfileDraft, ScepProfileContext,
    TrustedCertificateProfile, TrustedCertificateProfileDraft,
};

const ROOT_CA: &str = include_str!("../../tests/fixtures/root-ca.pem");
const DEVICE_ID: Uuid = Uuid::from_u128(0x0193_4d2e_7c1a_7b3e_9f00_0000_0000_0041);
const ORGANIZATION: &str = "Contoso Ltd.";

fn root() -> Record<TrustedCertificateProfile> {
    root_for(Platform::Ios)
}

fn root_for(platform: Platform) -> Record<TrustedCertificateProfile> {
    let profile = TrustedCertificateProfile::parse(TrustedCertificateProfileDraft {
        display_name: "Contoso Root CA".to_owned(),
        description: None,
        platform,
        cert_file_name: Some("contoso-root.cer".to_owned()),
        trusted_root_certificate: ROOT_CA.to_owned(),
        destination_store: None,
        issuing_certificates: None,
    })
    .expect("valid trusted profile");
    record(0x22, 2, profile)
}

fn scep(root_id: Uuid) -> Record<ScepCertificateProfile> {
    let draft = ScepCertificateProfileDraft {
        display_name: "Contoso Wi-Fi certificate".to_owned(),
        description: None,
        platform: Platform::Ios,
        certificate_type: CertificateType::User,
        certificate_validity_period_value: None,
        certificate_validity_period_scale: None,
        key_storage_provider: None,
        subject_name_format: SubjectNameFormat::CommonNameIncludingEmail,
        subject_name_format_string: None,
        custom_subject_alternative_names: Vec::new(),
        key_usage: vec![KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment],
        key_size: 2048,
        hash_algorithm: None,
        root_certificate_id: root_id,
        extended_key_usages: None,
        renewal_threshold_percentage: None,
        scep_server_urls: vec!["https://ndes.contoso.example/certsrv/mscep/mscep.dll".to_owned()],
    };
    let context = ScepProfileContext {
        allow_http_scep_urls: false,
        root_platform: Some(Platform::Ios),
    };
    record(
        0x21,
        5,
        ScepCertificateProfile::parse(draft, &context).expect("valid SCEP profile"),
    )
}

fn record<T>(id: u128, version: i64, content: T) -> Record<T> {
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("a time");
    Record {
        id: Uuid::from_u128(id),
        version,
        created_at: at,
        modified_at: at,
        content,
    }
}

fn device() -> Device {
    Device {
        device_name: "JANE-PHONE".to_owned(),
        platform: Platform::Ios,
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

fn user(mail: Option<&str>) -> User {
    User {
        user_principal_name: "jane.doe@contoso.example".to_owned(),
        display_name: "Jane Doe".to_owned(),
        mail: mail.map(str::to_owned),
        on_premises_distinguished_name: None,
        on_premises_sam_account_name: None,
        on_premises_security_identifier: None,
        external_id: None,
    }
}

#[test]
fn a_placeholder_payload_is_the_rendering_of_the_expanded_name() {
    let (root, device, user) = (root(), device(), user(Some("jane@contoso.example")));
    let profile = scep(root.id);
    let context = NameContext {
        device_id: DEVICE_ID,
        device: &device,
        user: Some(&user),
    };

    let assembled = scep_payload(
        &profile,
        &root,
        &context,
        ORGANIZATION,
        Challenge::Placeholder("PREVIEW"),
    )
    .expect("a payload");

    let name = expand_name(&profile.content.settings, &context).expect("a name");
    let expected = render::render_scep(&ScepPayloadInput {
        profile_id: profile.id,
        profile_version: profile.version,
        profile: &profile.content,
        root: TrustedProfileRef::of(&root),
        device_id: DEVICE_ID,
        name: &name,
        challenge: "PREVIEW",
        organization: ORGANIZATION,
    })
    .expect("a rendering");
    assert_eq!(assembled, expected);
}

#[test]
fn an_issued_challenge_is_bound_to_the_device_profile_version_and_name() {
    let (root, device, user) = (root(), device(), user(Some("jane@contoso.example")));
    let profile = scep(root.id);
    let context = NameContext {
        device_id: DEVICE_ID,
        device: &device,
        user: Some(&user),
    };
    let key = ChallengeKey::new(&[7; 32]).expect("a key");
    let id = Uuid::from_u128(0x99);

    let payload = scep_payload(
        &profile,
        &root,
        &context,
        ORGANIZATION,
        Challenge::Issue {
            key: &key,
            id,
            issued_at: 1_000,
            lifetime_secs: 60,
        },
    )
    .expect("a payload");

    let body = String::from_utf8(payload.body).expect("UTF-8");
    let token = body
        .split("<key>Challenge</key>")
        .nth(1)
        .and_then(|rest| rest.split("<string>").nth(1))
        .and_then(|rest| rest.split("</string>").next())
        .expect("the payload carries a challenge");
    let claims = challenge::verify(&key, token, 1_030).expect("the challenge verifies");
    let name = expand_name(&profile.content.settings, &context).expect("a name");
    assert_eq!(claims.id, id);
    assert_eq!(claims.device_id, DEVICE_ID);
    assert_eq!((claims.profile_id, claims.profile_version), (profile.id, 5));
    assert_eq!(claims.name_digest, challenge::name_digest(&name));
    assert_eq!((claims.issued_at, claims.expires_at), (1_000, 1_060));
}

#[test]
fn a_missing_value_is_a_name_error() {
    let (root, device, user) = (root(), device(), user(None));
    let profile = scep(root.id);
    let context = NameContext {
        device_id: DEVICE_ID,
        device: &device,
        user: Some(&user),
    };

    let error = scep_payload(
        &profile,
        &root,
        &context,
        ORGANIZATION,
        Challenge::Placeholder("PREVIEW"),
    )
    .expect_err("no mail, no E= value");

    assert!(
        matches!(&error, PayloadError::Name(ExpansionError::MissingValues(missing)) if missing[0].variable == "EmailAddress"),
        "{error:?}"
    );
}

#[test]
fn a_trusted_payload_is_the_trusted_rendering() {
    let root = root();
    let payload = trusted_payload(&root, DEVICE_ID, ORGANIZATION).expect("a payload");
    assert_eq!(payload.content_type, render::APPLE_CONTENT_TYPE);
    assert!(String::from_utf8(payload.body)
        .expect("UTF-8")
        .contains("Contoso Root CA"));
}

/// Check-in renders a shared trusted payload once per profile version, so a
/// platform said to share it must render the same bytes for every device.
#[test]
fn shared_trusted_payloads_are_the_same_for_every_device() {
    for platform in Platform::ALL {
        let root = root_for(platform);
        let other_device = Uuid::from_u128(0x77);
        let mine = trusted_payload(&root, DEVICE_ID, ORGANIZATION).expect("a payload");
        let theirs = trusted_payload(&root, other_device, ORGANIZATION).expect("a payload");
        assert_eq!(
            mine == theirs,
            render::trusted_payload_is_shared(platform),
            "{platform}"
        );
    }
}
