//! Every denial of the policy, without a database: facts are plain values.

use uuid::Uuid;

use super::{judge, screen_challenge, Denial, DenyReason, EnrollmentFacts};
use crate::{
    challenge::{self, ChallengeClaims, ChallengeKey},
    csr::CertificateRequest,
    directory::Device,
    scep_profile::{
        CertificateType, KeyUsage, ScepCertificateProfileDraft, ScepProfileContext, SubjectNameFormat,
    },
    subject_name::{expand_name, NameContext},
    Platform, ScepCertificateProfile,
};

const ALLOWED: &str = include_str!("../../tests/fixtures/csr/ext_allowed.pem");
const ASKS_CA: &str = include_str!("../../tests/fixtures/csr/ext_ca.pem");
const ASKS_KEY_CERT_SIGN: &str = include_str!("../../tests/fixtures/csr/ext_key_cert_sign.pem");
const ASKS_CODE_SIGNING: &str = include_str!("../../tests/fixtures/csr/ext_eku_outside.pem");
const ASKS_NAME_CONSTRAINTS: &str = include_str!("../../tests/fixtures/csr/ext_name_constraints.pem");
const ASKS_UNKNOWN_CRITICAL: &str = include_str!("../../tests/fixtures/csr/ext_unknown_critical.pem");
/// `CN=jane@contoso.com, OU=Mobile` with four SANs.
const OTHER_NAME: &str = include_str!("../../tests/fixtures/csr/rsa2048_sha256.pem");
/// `CN=legacy-device`, RSA 1024.
const SMALL_KEY: &str = include_str!("../../tests/fixtures/csr/rsa1024_sha1.pem");

const DEVICE_ID: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
const PROFILE_ID: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002);
const NOW: i64 = 1_800_000_000;

fn key() -> ChallengeKey {
    ChallengeKey::new(&[7u8; 32]).expect("a 32-byte key")
}

fn profile(template: &str, key_size: i64) -> ScepCertificateProfile {
    ScepCertificateProfile::parse(
        ScepCertificateProfileDraft {
            display_name: "Device certificate".to_owned(),
            description: None,
            platform: Platform::Android,
            certificate_type: CertificateType::Device,
            certificate_validity_period_value: None,
            certificate_validity_period_scale: None,
            key_storage_provider: None,
            subject_name_format: SubjectNameFormat::Custom,
            subject_name_format_string: Some(template.to_owned()),
            custom_subject_alternative_names: Vec::new(),
            key_usage: vec![KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment],
            key_size,
            hash_algorithm: None,
            root_certificate_id: Uuid::nil(),
            extended_key_usages: None,
            renewal_threshold_percentage: None,
            scep_server_urls: vec!["https://ndes.contoso.com/certsrv/mscep/mscep.dll".to_owned()],
        },
        &ScepProfileContext {
            allow_http_scep_urls: false,
            root_platform: Some(Platform::Android),
        },
    )
    .expect("a valid profile")
}

fn device(name: &str) -> Device {
    Device {
        device_name: name.to_owned(),
        platform: Platform::Android,
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

/// Claims as check-in would issue them for `device` and `profile` at version 3.
fn claims_for(device: &Device, profile: &ScepCertificateProfile) -> ChallengeClaims {
    let name = expand_name(&profile.settings, &context(device)).expect("the name expands");
    ChallengeClaims {
        id: Uuid::from_u128(42),
        device_id: DEVICE_ID,
        profile_id: PROFILE_ID,
        profile_version: 3,
        name_digest: challenge::name_digest(&name),
        issued_at: NOW - 60,
        expires_at: NOW + 3600,
    }
}

fn context(device: &Device) -> NameContext<'_> {
    NameContext {
        device_id: DEVICE_ID,
        device,
        user: None,
    }
}

fn facts<'a>(device: &'a Device, profile: &'a ScepCertificateProfile) -> EnrollmentFacts<'a> {
    EnrollmentFacts {
        device: Some(context(device)),
        applicable: true,
        profile: Some((3, profile)),
    }
}

fn csr(pem: &str) -> CertificateRequest {
    CertificateRequest::parse(pem).expect("the fixture parses")
}

fn denial_of(pem: &str) -> (DenyReason, String) {
    let profile = profile("CN={{DeviceName}}", 2048);
    let device = device("ext-device");
    let claims = claims_for(&device, &profile);
    let denial = judge(&claims, &csr(pem), &facts(&device, &profile)).expect_err("denied");
    (denial.reason, denial.detail)
}

#[test]
fn a_request_for_exactly_what_the_profile_grants_is_allowed() {
    let profile = profile("CN={{DeviceName}}", 2048);
    let device = device("ext-device");
    let claims = claims_for(&device, &profile);
    let name = judge(&claims, &csr(ALLOWED), &facts(&device, &profile)).expect("allowed");
    assert_eq!(challenge::name_digest(&name), claims.name_digest);
}

#[test]
fn a_request_asking_to_be_a_ca_is_denied_naming_basic_constraints() {
    let (reason, detail) = denial_of(ASKS_CA);
    assert_eq!(reason, DenyReason::ExtensionNotAllowed);
    assert!(detail.contains("basicConstraints"), "{detail}");
}

#[test]
fn key_usage_outside_the_profile_is_denied_naming_the_bit() {
    let (reason, detail) = denial_of(ASKS_KEY_CERT_SIGN);
    assert_eq!(reason, DenyReason::ExtensionNotAllowed);
    assert!(detail.contains("keyCertSign"), "{detail}");
}

#[test]
fn an_extended_key_usage_outside_the_profile_is_denied_naming_the_oid() {
    let (reason, detail) = denial_of(ASKS_CODE_SIGNING);
    assert_eq!(reason, DenyReason::ExtensionNotAllowed);
    assert!(detail.contains("1.3.6.1.5.5.7.3.3"), "{detail}");
}

#[test]
fn name_constraints_and_unknown_critical_extensions_are_denied() {
    let (reason, detail) = denial_of(ASKS_NAME_CONSTRAINTS);
    assert_eq!(reason, DenyReason::ExtensionNotAllowed);
    assert!(detail.contains("nameConstraints"), "{detail}");
    let (reason, detail) = denial_of(ASKS_UNKNOWN_CRITICAL);
    assert_eq!(reason, DenyReason::ExtensionNotAllowed);
    assert!(detail.contains("1.2.3.4"), "{detail}");
}

#[test]
fn a_subject_mismatch_names_expected_and_received_without_debug_output() {
    let (reason, detail) = denial_of(OTHER_NAME);
    assert_eq!(reason, DenyReason::SubjectMismatch);
    assert!(detail.contains("expected subject \"CN=ext-device\""), "{detail}");
    assert!(detail.contains("CN=jane@contoso.com"), "{detail}");
    assert!(!detail.contains("Some(") && !detail.contains("Rdn("), "{detail}");
    assert!(
        detail.starts_with("RDN 1 differs: expected \"CN=ext-device\", received \"CN=jane@contoso.com\""),
        "{detail}"
    );
}

#[test]
fn a_denial_reads_back_from_its_event_message() {
    for reason in DenyReason::ALL {
        let denial = Denial::new(reason, "RDN 2 differs: expected \"O=A\", received \"O=B\"");
        assert_eq!(Denial::from_event_message(&denial.event_message()), Some(denial));
    }
    assert_eq!(Denial::from_event_message("verified the client challenge"), None);
    assert_eq!(Denial::from_event_message("denied (noSuchReason): x"), None);
}

#[test]
fn a_small_key_is_denied_after_the_name_checks() {
    let profile = profile("CN=legacy-device", 2048);
    let device = device("any");
    let claims = claims_for(&device, &profile);
    let denial = judge(&claims, &csr(SMALL_KEY), &facts(&device, &profile)).expect_err("denied");
    assert_eq!(denial.reason, DenyReason::KeyTooSmall);
    assert_eq!(denial.detail, "the key has 1024 bits, the profile requires 2048");
}

#[test]
fn facts_that_changed_since_the_challenge_deny_in_order() {
    let profile = profile("CN={{DeviceName}}", 2048);
    let device = device("ext-device");
    let claims = claims_for(&device, &profile);
    let request = csr(ALLOWED);

    let gone = EnrollmentFacts {
        device: None,
        ..facts(&device, &profile)
    };
    assert_eq!(
        judge(&claims, &request, &gone).unwrap_err().reason,
        DenyReason::DeviceUnknown
    );

    let unassigned = EnrollmentFacts {
        applicable: false,
        ..facts(&device, &profile)
    };
    assert_eq!(
        judge(&claims, &request, &unassigned).unwrap_err().reason,
        DenyReason::NotAssigned
    );

    let deleted = EnrollmentFacts {
        profile: None,
        ..facts(&device, &profile)
    };
    assert_eq!(
        judge(&claims, &request, &deleted).unwrap_err().reason,
        DenyReason::NotAssigned
    );

    let edited = EnrollmentFacts {
        profile: Some((4, &profile)),
        ..facts(&device, &profile)
    };
    let denial = judge(&claims, &request, &edited).unwrap_err();
    assert_eq!(denial.reason, DenyReason::ProfileChanged);
    assert!(
        denial.detail.contains("version 3") && denial.detail.contains("version 4"),
        "{}",
        denial.detail
    );

    let renamed = device_renamed();
    let denial = judge(&claims, &request, &facts(&renamed, &profile)).unwrap_err();
    assert_eq!(denial.reason, DenyReason::NameChanged);
}

fn device_renamed() -> Device {
    device("renamed-device")
}

#[test]
fn screening_refuses_missing_forged_and_expired_challenges_before_anything_else() {
    let key = key();
    let missing = screen_challenge(&key, None, || Ok(None), NOW).unwrap_err();
    assert_eq!(missing.reason, DenyReason::ChallengeMissing);

    let unreadable_csr = screen_challenge(&key, None, || Err("not base64".to_owned()), NOW).unwrap_err();
    assert_eq!(unreadable_csr.reason, DenyReason::CsrInvalid);

    let forged = screen_challenge(&key, Some("AAAA"), || unreachable!(), NOW).unwrap_err();
    assert_eq!(forged.reason, DenyReason::ChallengeInvalid);

    let profile = profile("CN={{DeviceName}}", 2048);
    let claims = claims_for(&device("ext-device"), &profile);
    let token = challenge::issue(&key, &claims);
    let expired = screen_challenge(&key, Some(&token), || unreachable!(), claims.expires_at + 1).unwrap_err();
    assert_eq!(expired.reason, DenyReason::ChallengeExpired);

    let other_key = ChallengeKey::new(&[8u8; 32]).unwrap();
    let wrong_key = screen_challenge(&other_key, Some(&token), || unreachable!(), NOW).unwrap_err();
    assert_eq!(wrong_key.reason, DenyReason::ChallengeInvalid);

    let from_csr = screen_challenge(&key, None, || Ok(Some(token.clone())), NOW).expect("authentic");
    assert_eq!(from_csr, claims);
}

#[test]
fn replays_and_taken_transaction_ids_do_not_mark_the_device_failed() {
    assert!(!DenyReason::ChallengeReplayed.marks_device_failed());
    assert!(!DenyReason::TransactionInUse.marks_device_failed());
    assert!(DenyReason::SubjectMismatch.marks_device_failed());
    for reason in [DenyReason::ExtensionNotAllowed, DenyReason::TransactionInUse] {
        assert_eq!(reason.outcome().1.code(), 0x410, "{reason:?}");
    }
}
