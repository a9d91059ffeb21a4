//! Every rule of [`ScepCertificateProfile::parse`], each asserted by the exact
//! `field` and `rule` it reports, plus the values accepted or defaulted.

use uuid::Uuid;

use super::{
    CertificateType, ExtendedKeyUsage, ExtendedKeyUsageDraft, HashAlgorithm, KeySize, KeyStorageProvider,
    KeyUsage, Oid, RenewalThreshold, SanType, ScepCertificateProfile, ScepCertificateProfileDraft,
    ScepProfileContext, ScepServerUrl, ScepSettings, SubjectAlternativeName, SubjectNameFormat,
    ValidityPeriod, ValidityScale, MAX_EXTENDED_KEY_USAGES, MAX_SCEP_SERVER_URLS,
    MAX_SUBJECT_ALTERNATIVE_NAMES,
};
use crate::{platform::Platform, validation::ValidationErrors};

const ROOT_ID: Uuid = Uuid::from_u128(0x0193_4d2e_7c1a_7b3e_9f00_1234_5678_9abc);
const NDES: &str = "https://ndes.contoso.example/certsrv/mscep/mscep.dll";

const WINDOWS: [Platform; 3] = [Platform::Windows10, Platform::Windows81, Platform::WindowsPhone81];
const NOT_WINDOWS: [Platform; 3] = [Platform::Android, Platform::Ios, Platform::Macos];
const APPLE: [Platform; 2] = [Platform::Ios, Platform::Macos];
const NOT_APPLE: [Platform; 4] = [
    Platform::Android,
    Platform::Windows10,
    Platform::Windows81,
    Platform::WindowsPhone81,
];

/// The smallest valid draft: every optional setting left out.
fn draft(platform: Platform) -> ScepCertificateProfileDraft {
    ScepCertificateProfileDraft {
        display_name: "Corp Wi-Fi".to_owned(),
        description: None,
        platform,
        certificate_type: CertificateType::Device,
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
        scep_server_urls: vec![NDES.to_owned()],
    }
}

fn draft_with(
    platform: Platform,
    change: impl FnOnce(&mut ScepCertificateProfileDraft),
) -> ScepCertificateProfileDraft {
    let mut draft = draft(platform);
    change(&mut draft);
    draft
}

/// The root exists and is for the draft's own platform; plain http is not allowed.
fn context_for(platform: Platform) -> ScepProfileContext {
    ScepProfileContext {
        allow_http_scep_urls: false,
        root_platform: Some(platform),
    }
}

fn parse(draft: ScepCertificateProfileDraft) -> Result<ScepCertificateProfile, ValidationErrors> {
    let context = context_for(draft.platform);
    ScepCertificateProfile::parse(draft, &context)
}

fn accepted(draft: ScepCertificateProfileDraft) -> ScepCertificateProfile {
    parse(draft)
        .unwrap_or_else(|errors| panic!("expected the draft to be accepted, got {:?}", errors.errors()))
}

fn field_rules(errors: &ValidationErrors) -> Vec<(String, &'static str)> {
    errors
        .errors()
        .iter()
        .map(|error| (error.field.clone(), error.rule))
        .collect()
}

fn errors_with(
    draft: ScepCertificateProfileDraft,
    context: &ScepProfileContext,
) -> Vec<(String, &'static str)> {
    match ScepCertificateProfile::parse(draft, context) {
        Ok(profile) => panic!("expected errors, got {profile:?}"),
        Err(errors) => field_rules(&errors),
    }
}

fn errors(draft: ScepCertificateProfileDraft) -> Vec<(String, &'static str)> {
    let context = context_for(draft.platform);
    errors_with(draft, &context)
}

fn one(field: &str, rule: &'static str) -> Vec<(String, &'static str)> {
    vec![(field.to_owned(), rule)]
}

fn san(san_type: SanType, name: &str) -> SubjectAlternativeName {
    SubjectAlternativeName {
        san_type,
        name: name.to_owned(),
    }
}

fn eku(name: &str, oid: &str) -> ExtendedKeyUsageDraft {
    ExtendedKeyUsageDraft {
        name: name.to_owned(),
        object_identifier: oid.to_owned(),
    }
}

fn client_authentication() -> ExtendedKeyUsage {
    ExtendedKeyUsage {
        name: "Client Authentication".to_owned(),
        object_identifier: Oid::parse("1.3.6.1.5.5.7.3.2").unwrap(),
    }
}

// ---------------------------------------------------------------- defaults

#[test]
fn minimal_draft_is_accepted_with_defaults_on_every_platform() {
    for platform in Platform::ALL {
        let profile = accepted(draft(platform));
        let settings = &profile.settings;

        assert_eq!(profile.display_name.as_str(), "Corp Wi-Fi", "{platform}");
        assert_eq!(profile.description.as_str(), "", "{platform}");
        assert_eq!(profile.platform, platform);
        assert_eq!(profile.root_certificate_id, ROOT_ID);
        assert_eq!(settings.certificate_type, CertificateType::Device);
        assert_eq!(settings.validity_period, None, "{platform}");
        let expected_provider = platform
            .is_windows()
            .then_some(KeyStorageProvider::UseTpmKspOtherwiseUseSoftwareKsp);
        assert_eq!(settings.key_storage_provider, expected_provider, "{platform}");
        assert_eq!(settings.subject_name_format, SubjectNameFormat::CommonName);
        assert_eq!(settings.subject_name_format_string, None);
        assert_eq!(settings.custom_subject_alternative_names, []);
        assert_eq!(
            settings.key_usage,
            [KeyUsage::KeyEncipherment, KeyUsage::DigitalSignature]
        );
        assert_eq!(settings.key_size, KeySize::Bits2048);
        let expected_hash = (!platform.is_apple()).then_some(HashAlgorithm::Sha2);
        assert_eq!(settings.hash_algorithm, expected_hash, "{platform}");
        assert_eq!(settings.extended_key_usages, [client_authentication()]);
        assert_eq!(settings.renewal_threshold_percentage.percent(), 20);
        assert_eq!(settings.scep_server_urls.len(), 1);
        assert_eq!(settings.scep_server_urls[0].as_str(), NDES);
    }
}

#[test]
fn fully_specified_windows_draft_keeps_every_value() {
    let profile = accepted(draft_with(Platform::Windows10, |draft| {
        draft.description = Some("Wi-Fi and VPN for corporate laptops".to_owned());
        draft.certificate_type = CertificateType::User;
        draft.certificate_validity_period_value = Some(6);
        draft.certificate_validity_period_scale = Some(ValidityScale::Months);
        draft.key_storage_provider = Some(KeyStorageProvider::UseSoftwareKsp);
        draft.subject_name_format = SubjectNameFormat::Custom;
        draft.subject_name_format_string = Some("CN={{UserPrincipalName}},O=Contoso".to_owned());
        draft.custom_subject_alternative_names = vec![
            san(SanType::UserPrincipalName, "{{UserPrincipalName}}"),
            san(SanType::EmailAddress, "{{EmailAddress}}"),
        ];
        draft.key_usage = vec![KeyUsage::DigitalSignature];
        draft.key_size = 4096;
        draft.hash_algorithm = Some(HashAlgorithm::Sha1);
        draft.extended_key_usages = Some(vec![
            eku("Client Authentication", "1.3.6.1.5.5.7.3.2"),
            eku("Smart Card Logon", "1.3.6.1.4.1.311.20.2.2"),
        ]);
        draft.renewal_threshold_percentage = Some(35);
        draft.scep_server_urls = vec![
            NDES.to_owned(),
            "https://ndes2.contoso.example/certsrv/mscep/mscep.dll".to_owned(),
        ];
    }));
    let settings = profile.settings;

    assert_eq!(
        profile.description.as_str(),
        "Wi-Fi and VPN for corporate laptops"
    );
    assert_eq!(settings.certificate_type, CertificateType::User);
    assert_eq!(
        settings.validity_period,
        Some(ValidityPeriod {
            value: 6,
            scale: ValidityScale::Months
        })
    );
    assert_eq!(
        settings.key_storage_provider,
        Some(KeyStorageProvider::UseSoftwareKsp)
    );
    assert_eq!(settings.subject_name_format, SubjectNameFormat::Custom);
    assert_eq!(
        settings.subject_name_format_string.as_deref(),
        Some("CN={{UserPrincipalName}},O=Contoso")
    );
    assert_eq!(settings.custom_subject_alternative_names.len(), 2);
    assert_eq!(settings.key_usage, [KeyUsage::DigitalSignature]);
    assert_eq!(settings.key_size, KeySize::Bits4096);
    assert_eq!(settings.hash_algorithm, Some(HashAlgorithm::Sha1));
    let oids: Vec<&str> = settings
        .extended_key_usages
        .iter()
        .map(|usage| usage.object_identifier.as_str())
        .collect();
    assert_eq!(oids, ["1.3.6.1.5.5.7.3.2", "1.3.6.1.4.1.311.20.2.2"]);
    assert_eq!(settings.extended_key_usages[1].name, "Smart Card Logon");
    assert_eq!(settings.renewal_threshold_percentage.percent(), 35);
    assert_eq!(settings.scep_server_urls.len(), 2);
}

// ---------------------------------------------------------------- displayName, description

#[test]
fn display_name_rules() {
    let cases = [
        ("empty", String::new(), Some("required")),
        ("blank", "   ".to_owned(), Some("required")),
        ("201 characters", "n".repeat(201), Some("maxLength")),
        (
            "control character",
            "Corp\u{0}Wi-Fi".to_owned(),
            Some("noControlCharacters"),
        ),
        (
            "line break",
            "Corp\nWi-Fi".to_owned(),
            Some("noControlCharacters"),
        ),
        ("200 characters", "n".repeat(200), None),
        ("200 multi-byte characters", "ß".repeat(200), None),
    ];
    for (case, value, rule) in cases {
        let draft = draft_with(Platform::Android, |draft| draft.display_name = value.clone());
        match rule {
            Some(rule) => assert_eq!(errors(draft), one("displayName", rule), "{case}"),
            None => assert_eq!(accepted(draft).display_name.as_str(), value, "{case}"),
        }
    }
}

#[test]
fn description_longer_than_1500_characters_is_rejected() {
    let draft = draft_with(Platform::Android, |draft| {
        draft.description = Some("d".repeat(1501))
    });
    assert_eq!(errors(draft), one("description", "maxLength"));
}

#[test]
fn description_of_1500_characters_is_accepted() {
    let draft = draft_with(Platform::Android, |draft| {
        draft.description = Some("d".repeat(1500))
    });
    assert_eq!(accepted(draft).description.as_str().len(), 1500);
}

// ---------------------------------------------------------------- validity period

#[test]
fn validity_value_without_scale_requires_the_scale() {
    let draft = draft_with(Platform::Android, |draft| {
        draft.certificate_validity_period_value = Some(30)
    });
    assert_eq!(
        errors(draft),
        one("certificateValidityPeriodScale", "requiredWith")
    );
}

#[test]
fn validity_scale_without_value_requires_the_value() {
    let draft = draft_with(Platform::Android, |draft| {
        draft.certificate_validity_period_scale = Some(ValidityScale::Days)
    });
    assert_eq!(
        errors(draft),
        one("certificateValidityPeriodValue", "requiredWith")
    );
}

#[test]
fn validity_must_stay_within_24_months() {
    use ValidityScale::{Days, Months, Years};
    let cases = [
        (1, Days, true),
        (730, Days, true),
        (731, Days, false),
        (0, Days, false),
        (1, Months, true),
        (24, Months, true),
        (25, Months, false),
        (0, Months, false),
        (1, Years, true),
        (2, Years, true),
        (3, Years, false),
        (0, Years, false),
        (-1, Days, false),
        (-730, Days, false),
        (65_537, Days, false),
        (i64::MAX, Years, false),
        (i64::MIN, Months, false),
    ];
    for (value, scale, ok) in cases {
        let draft = draft_with(Platform::Windows10, |draft| {
            draft.certificate_validity_period_value = Some(value);
            draft.certificate_validity_period_scale = Some(scale);
        });
        if ok {
            let expected = ValidityPeriod {
                value: u16::try_from(value).unwrap(),
                scale,
            };
            assert_eq!(
                accepted(draft).settings.validity_period,
                Some(expected),
                "{value} {scale:?}"
            );
        } else {
            assert_eq!(
                errors(draft),
                one("certificateValidityPeriodValue", "range"),
                "{value} {scale:?}"
            );
        }
    }
}

#[test]
fn validity_range_message_names_the_bounds() {
    let error = ValidityPeriod::parse(731, ValidityScale::Days).unwrap_err();
    assert_eq!(error.field, "certificateValidityPeriodValue");
    assert_eq!(error.rule, "range");
    assert_eq!(
        error.message,
        "must be between 1 and 730 days (24 months at most in total), got 731"
    );
}

#[test]
fn validity_defaults_to_the_ca_template() {
    assert_eq!(accepted(draft(Platform::Android)).settings.validity_period, None);
}

#[test]
fn apple_profiles_warn_that_validity_is_ignored() {
    for platform in Platform::ALL {
        assert_eq!(
            accepted(draft(platform)).warnings(),
            Vec::<String>::new(),
            "{platform} without validity"
        );
        let warnings = accepted(draft_with(platform, |draft| {
            draft.certificate_validity_period_value = Some(6);
            draft.certificate_validity_period_scale = Some(ValidityScale::Months);
        }))
        .warnings();
        if platform.is_apple() {
            assert_eq!(
                warnings,
                [format!(
                    "{platform} ignores certificateValidityPeriod: the CA template's validity period is used"
                )]
            );
        } else {
            assert_eq!(warnings, Vec::<String>::new(), "{platform}");
        }
    }
}

// ---------------------------------------------------------------- key storage provider, key size

#[test]
fn key_storage_provider_is_rejected_outside_windows() {
    for platform in NOT_WINDOWS {
        let draft = draft_with(platform, |draft| {
            draft.key_storage_provider = Some(KeyStorageProvider::UseSoftwareKsp)
        });
        assert_eq!(
            errors(draft),
            one("keyStorageProvider", "windowsOnly"),
            "{platform}"
        );
    }
}

#[test]
fn key_storage_provider_defaults_to_tpm_then_software_on_windows() {
    for platform in WINDOWS {
        assert_eq!(
            accepted(draft(platform)).settings.key_storage_provider,
            Some(KeyStorageProvider::UseTpmKspOtherwiseUseSoftwareKsp),
            "{platform}"
        );
    }
    assert_eq!(
        KeyStorageProvider::DEFAULT,
        KeyStorageProvider::UseTpmKspOtherwiseUseSoftwareKsp
    );
}

#[test]
fn key_storage_provider_chosen_on_windows_is_kept() {
    for provider in [
        KeyStorageProvider::UseTpmKspOtherwiseUseSoftwareKsp,
        KeyStorageProvider::UseTpmKspOtherwiseFail,
        KeyStorageProvider::UsePassportForWorkKspOtherwiseFail,
        KeyStorageProvider::UseSoftwareKsp,
    ] {
        let draft = draft_with(Platform::Windows81, |draft| {
            draft.key_storage_provider = Some(provider)
        });
        assert_eq!(accepted(draft).settings.key_storage_provider, Some(provider));
    }
}

#[test]
fn key_size_must_be_1024_2048_or_4096() {
    for bits in [1000, 0, -2048, 512, 2047, 2049, 3072, 8192, i64::MAX] {
        let draft = draft_with(Platform::Android, |draft| draft.key_size = bits);
        assert_eq!(errors(draft), one("keySize", "oneOf"), "{bits}");
    }
}

#[test]
fn key_sizes_1024_2048_and_4096_are_accepted() {
    let cases = [
        (1024, KeySize::Bits1024),
        (2048, KeySize::Bits2048),
        (4096, KeySize::Bits4096),
    ];
    for (bits, size) in cases {
        let draft = draft_with(Platform::Android, |draft| draft.key_size = bits);
        assert_eq!(accepted(draft).settings.key_size, size);
        assert_eq!(i64::from(size.bits()), bits);
    }
}

#[test]
fn key_size_4096_on_windows_requires_software_ksp() {
    let providers = [
        None,
        Some(KeyStorageProvider::UseTpmKspOtherwiseUseSoftwareKsp),
        Some(KeyStorageProvider::UseTpmKspOtherwiseFail),
        Some(KeyStorageProvider::UsePassportForWorkKspOtherwiseFail),
    ];
    for platform in WINDOWS {
        for provider in providers {
            let draft = draft_with(platform, |draft| {
                draft.key_size = 4096;
                draft.key_storage_provider = provider;
            });
            assert_eq!(
                errors(draft),
                one("keySize", "tpmKeySize"),
                "{platform} {provider:?}"
            );
        }
        let draft = draft_with(platform, |draft| {
            draft.key_size = 4096;
            draft.key_storage_provider = Some(KeyStorageProvider::UseSoftwareKsp);
        });
        assert_eq!(accepted(draft).settings.key_size, KeySize::Bits4096, "{platform}");
    }
}

#[test]
fn key_sizes_below_4096_work_with_a_tpm() {
    for bits in [1024, 2048] {
        let draft = draft_with(Platform::Windows10, |draft| {
            draft.key_size = bits;
            draft.key_storage_provider = Some(KeyStorageProvider::UseTpmKspOtherwiseFail);
        });
        assert!(parse(draft).is_ok(), "{bits}");
    }
}

#[test]
fn key_size_4096_needs_no_key_storage_provider_outside_windows() {
    for platform in NOT_WINDOWS {
        let draft = draft_with(platform, |draft| draft.key_size = 4096);
        assert_eq!(accepted(draft).settings.key_size, KeySize::Bits4096, "{platform}");
    }
}

#[test]
fn key_size_4096_with_a_provider_outside_windows_reports_only_the_provider() {
    let draft = draft_with(Platform::Android, |draft| {
        draft.key_size = 4096;
        draft.key_storage_provider = Some(KeyStorageProvider::UseTpmKspOtherwiseFail);
    });
    assert_eq!(errors(draft), one("keyStorageProvider", "windowsOnly"));
}

// ---------------------------------------------------------------- hash algorithm

#[test]
fn hash_algorithm_is_rejected_on_ios_and_macos() {
    for platform in APPLE {
        for algorithm in [HashAlgorithm::Sha1, HashAlgorithm::Sha2] {
            let draft = draft_with(platform, |draft| draft.hash_algorithm = Some(algorithm));
            assert_eq!(
                errors(draft),
                one("hashAlgorithm", "notForApple"),
                "{platform} {algorithm:?}"
            );
        }
    }
}

#[test]
fn hash_algorithm_defaults_to_sha2_on_android_and_windows() {
    for platform in NOT_APPLE {
        assert_eq!(
            accepted(draft(platform)).settings.hash_algorithm,
            Some(HashAlgorithm::Sha2),
            "{platform}"
        );
    }
}

#[test]
fn hash_algorithm_is_absent_on_apple_when_not_set() {
    for platform in APPLE {
        assert_eq!(
            accepted(draft(platform)).settings.hash_algorithm,
            None,
            "{platform}"
        );
    }
}

#[test]
fn hash_algorithm_chosen_on_android_and_windows_is_kept() {
    for platform in NOT_APPLE {
        let draft = draft_with(platform, |draft| draft.hash_algorithm = Some(HashAlgorithm::Sha1));
        assert_eq!(
            accepted(draft).settings.hash_algorithm,
            Some(HashAlgorithm::Sha1),
            "{platform}"
        );
    }
}

// ---------------------------------------------------------------- subject name

#[test]
fn custom_subject_name_format_requires_a_non_blank_format_string() {
    for template in [None, Some(""), Some("   "), Some("\t")] {
        let draft = draft_with(Platform::Ios, |draft| {
            draft.subject_name_format = SubjectNameFormat::Custom;
            draft.subject_name_format_string = template.map(str::to_owned);
        });
        assert_eq!(
            errors(draft),
            one("subjectNameFormatString", "required"),
            "{template:?}"
        );
    }
}

#[test]
fn custom_subject_name_format_keeps_its_format_string() {
    for template in [
        "CN={{DeviceId}}",
        "CN={{UserName}},E={{EmailAddress}},OU=Mobile",
        // Stored as written, not in canonical form.
        " cn = {{AzureADDeviceId}} ; st=\"Washington\" ",
        &format!("CN={}", "x".repeat(1021)),
    ] {
        let draft = draft_with(Platform::Ios, |draft| {
            draft.certificate_type = CertificateType::User;
            draft.subject_name_format = SubjectNameFormat::Custom;
            draft.subject_name_format_string = Some(template.to_owned());
        });
        assert_eq!(
            accepted(draft).settings.subject_name_format_string.as_deref(),
            Some(template)
        );
    }
}

#[test]
fn custom_subject_name_format_string_is_bounded_and_has_no_control_characters() {
    let cases = [
        ("x".repeat(1025), "maxLength"),
        ("CN=a\nOU=b".to_owned(), "noControlCharacters"),
        ("CN=a\u{0}".to_owned(), "noControlCharacters"),
    ];
    for (template, rule) in cases {
        let draft = draft_with(Platform::Android, |draft| {
            draft.subject_name_format = SubjectNameFormat::Custom;
            draft.subject_name_format_string = Some(template.clone());
        });
        assert_eq!(
            errors(draft),
            one("subjectNameFormatString", rule),
            "{template:?}"
        );
    }
}

#[test]
fn subject_name_format_string_is_rejected_unless_format_is_custom() {
    let formats = [
        SubjectNameFormat::NotConfigured,
        SubjectNameFormat::CommonName,
        SubjectNameFormat::CommonNameIncludingEmail,
        SubjectNameFormat::CommonNameAsEmail,
        SubjectNameFormat::CommonNameAsImei,
        SubjectNameFormat::CommonNameAsSerialNumber,
    ];
    for format in formats {
        for template in ["CN={{DeviceId}}", ""] {
            let draft = draft_with(Platform::Android, |draft| {
                draft.certificate_type = CertificateType::User;
                draft.subject_name_format = format;
                draft.subject_name_format_string = Some(template.to_owned());
            });
            assert_eq!(
                errors(draft),
                one("subjectNameFormatString", "onlyWithCustom"),
                "{format:?} {template:?}"
            );
        }
        let draft = draft_with(Platform::Android, |draft| {
            draft.certificate_type = CertificateType::User;
            draft.subject_name_format = format;
        });
        assert_eq!(accepted(draft).settings.subject_name_format, format);
    }
}

#[test]
fn custom_subject_name_format_string_must_be_a_valid_template() {
    let cases = [
        ("CN=a,XX=b", "template", "at position 5: unknown attribute `XX`"),
        ("CN=\"Doe, Jane", "template", "at position 3: unterminated quoted value"),
        ("CN=a,,O=b", "template", "at position 5: expected KEYWORD=value"),
        ("C=USA", "template", "at position 2: C must be a two-letter country code"),
        ("CN={{UserName", "template", "at position 3: `{{` without a matching `}}`"),
        ("CN={{Foo}}", "unknownVariable", "at position 3: unknown variable {{Foo}}"),
        (
            "CN={{username}}",
            "unknownVariable",
            "at position 3: unknown variable {{username}}; names are case-sensitive: did you mean {{UserName}}?",
        ),
        ("   CN=a", "", ""),
    ];
    for (template, rule, message) in cases {
        let draft = draft_with(Platform::Windows10, |draft| {
            draft.certificate_type = CertificateType::User;
            draft.subject_name_format = SubjectNameFormat::Custom;
            draft.subject_name_format_string = Some(template.to_owned());
        });
        if rule.is_empty() {
            accepted(draft);
            continue;
        }
        let errors = parse(draft).expect_err(template);
        assert_eq!(
            field_rules(&errors),
            one("subjectNameFormatString", rule),
            "{template}"
        );
        assert!(
            errors.errors()[0].message.starts_with(message),
            "{template}: {}",
            errors.errors()[0].message
        );
    }
}

#[test]
fn device_certificate_subject_may_not_use_user_variables() {
    let user_variables = [
        "{{UserName}}",
        "{{UserPrincipalName}}",
        "{{EmailAddress}}",
        "{{OnPrem_Distinguished_Name}}",
        "{{onPremisesSamAccountName}}",
        "{{OnPremisesSecurityIdentifier}}",
    ];
    for variable in user_variables {
        let template = format!("CN={{{{DeviceName}}}},OU={variable}");
        let device = draft_with(Platform::Windows10, |draft| {
            draft.subject_name_format = SubjectNameFormat::Custom;
            draft.subject_name_format_string = Some(template.clone());
        });
        let errors = parse(device).expect_err(&template);
        assert_eq!(
            field_rules(&errors),
            one("subjectNameFormatString", "userVariableOnDeviceCertificate"),
            "{template}"
        );
        assert!(
            errors.errors()[0]
                .message
                .starts_with(&format!("at position 21: {variable} is a user variable")),
            "{}",
            errors.errors()[0].message
        );
        let user = draft_with(Platform::Windows10, |draft| {
            draft.certificate_type = CertificateType::User;
            draft.subject_name_format = SubjectNameFormat::Custom;
            draft.subject_name_format_string = Some(template.clone());
        });
        accepted(user);
    }
}

#[test]
fn device_certificate_subject_may_use_device_variables() {
    let template = "CN={{AAD_Device_ID}},OU={{DeviceId}}+OU={{DeviceName}},SERIALNUMBER={{SerialNumber}},\
                    T={{IMEINumber}},I={{MEID}},UID={{WiFiMacAddress}},DC={{FullyQualifiedDomainName}}";
    let draft = draft_with(Platform::Windows10, |draft| {
        draft.subject_name_format = SubjectNameFormat::Custom;
        draft.subject_name_format_string = Some(template.to_owned());
    });
    assert_eq!(
        accepted(draft).settings.subject_name_format_string.as_deref(),
        Some(template)
    );
}

#[test]
fn predefined_formats_that_read_the_user_are_refused_for_device_certificates() {
    let cases = [
        (SubjectNameFormat::NotConfigured, None),
        (SubjectNameFormat::CommonName, None),
        (SubjectNameFormat::CommonNameIncludingEmail, Some("{{UserName}}")),
        (SubjectNameFormat::CommonNameAsEmail, Some("{{EmailAddress}}")),
        (SubjectNameFormat::CommonNameAsImei, None),
        (SubjectNameFormat::CommonNameAsSerialNumber, None),
    ];
    for (format, user_variable) in cases {
        let device = draft_with(Platform::Android, |draft| draft.subject_name_format = format);
        match user_variable {
            None => assert_eq!(accepted(device).settings.subject_name_format, format),
            Some(variable) => {
                let errors = parse(device).expect_err("refused");
                assert_eq!(
                    field_rules(&errors),
                    one("subjectNameFormat", "userVariableOnDeviceCertificate"),
                    "{format:?}"
                );
                assert!(
                    errors.errors()[0]
                        .message
                        .starts_with(&format!("puts the user variable {variable} in the subject")),
                    "{}",
                    errors.errors()[0].message
                );
            }
        }
        let user = draft_with(Platform::Android, |draft| {
            draft.certificate_type = CertificateType::User;
            draft.subject_name_format = format;
        });
        assert_eq!(accepted(user).settings.subject_name_format, format, "{format:?}");
    }
}

// ---------------------------------------------------------------- subject alternative names

#[test]
fn subject_alternative_name_must_be_a_valid_value_template_at_its_index() {
    let cases = [
        (
            "{{Mail}}",
            "unknownVariable",
            "at position 0: unknown variable {{Mail}}",
        ),
        (
            "{{DeviceName}}.{{ DeviceName }}",
            "template",
            "at position 15: `{{` without a matching `}}`",
        ),
        (
            "x{{UserName",
            "template",
            "at position 1: `{{` without a matching `}}`",
        ),
    ];
    for (name, rule, message) in cases {
        let draft = draft_with(Platform::Windows10, |draft| {
            draft.certificate_type = CertificateType::User;
            draft.custom_subject_alternative_names = vec![
                san(SanType::DomainNameService, "{{DeviceName}}.contoso.example"),
                san(SanType::UniversalResourceIdentifier, name),
            ]
        });
        let errors = parse(draft).expect_err(name);
        assert_eq!(
            field_rules(&errors),
            one("customSubjectAlternativeNames[1].name", rule),
            "{name}"
        );
        assert!(
            errors.errors()[0].message.starts_with(message),
            "{name}: {}",
            errors.errors()[0].message
        );
    }
}

#[test]
fn subject_alternative_names_are_plain_text_around_variables() {
    let sans = vec![
        san(SanType::DomainNameService, "{{DeviceName}}.contoso.example"),
        san(SanType::UniversalResourceIdentifier, "urn:a,b;c+d=e\"f\\{g}"),
        san(
            SanType::UniversalResourceIdentifier,
            "{{FullyQualifiedDomainName}}",
        ),
    ];
    let draft = draft_with(Platform::Windows10, |draft| {
        draft.custom_subject_alternative_names = sans.clone()
    });
    assert_eq!(accepted(draft).settings.custom_subject_alternative_names, sans);
}

#[test]
fn device_certificate_subject_alternative_names_may_not_use_user_variables() {
    let draft = draft_with(Platform::Windows10, |draft| {
        draft.custom_subject_alternative_names = vec![
            san(SanType::DomainNameService, "{{DeviceName}}.contoso.example"),
            san(SanType::UserPrincipalName, "{{UserPrincipalName}}"),
        ]
    });
    let errors = parse(draft).expect_err("refused");
    assert_eq!(
        field_rules(&errors),
        one(
            "customSubjectAlternativeNames[1].name",
            "userVariableOnDeviceCertificate"
        )
    );
    assert!(errors.errors()[0]
        .message
        .starts_with("at position 0: {{UserPrincipalName}} is a user variable"));
}

#[test]
fn subject_alternative_name_with_empty_name_is_rejected_at_its_index() {
    for (index, name) in [(0, ""), (1, "  "), (2, "\t")] {
        let mut sans = vec![
            san(SanType::DomainNameService, "a.contoso.example"),
            san(SanType::EmailAddress, "{{EmailAddress}}"),
        ];
        sans.insert(index, san(SanType::UserPrincipalName, name));
        let draft = draft_with(Platform::Android, |draft| {
            draft.certificate_type = CertificateType::User;
            draft.custom_subject_alternative_names = sans
        });
        assert_eq!(
            errors(draft),
            one(
                &format!("customSubjectAlternativeNames[{index}].name"),
                "required"
            ),
            "{name:?} at {index}"
        );
    }
}

#[test]
fn duplicate_subject_alternative_name_is_rejected() {
    let draft = draft_with(Platform::Windows10, |draft| {
        draft.certificate_type = CertificateType::User;
        draft.custom_subject_alternative_names = vec![
            san(SanType::UserPrincipalName, "{{UserPrincipalName}}"),
            san(SanType::UserPrincipalName, "{{UserPrincipalName}}"),
        ]
    });
    assert_eq!(
        errors(draft),
        one("customSubjectAlternativeNames[1].name", "unique")
    );
}

#[test]
fn same_name_with_different_san_types_is_not_a_duplicate() {
    let sans = vec![
        san(SanType::EmailAddress, "{{EmailAddress}}"),
        san(SanType::UserPrincipalName, "{{EmailAddress}}"),
    ];
    let draft = draft_with(Platform::Windows10, |draft| {
        draft.certificate_type = CertificateType::User;
        draft.custom_subject_alternative_names = sans.clone()
    });
    assert_eq!(accepted(draft).settings.custom_subject_alternative_names, sans);
}

#[test]
fn more_than_25_subject_alternative_names_are_rejected() {
    let sans = |count: usize| -> Vec<SubjectAlternativeName> {
        (0..count)
            .map(|i| san(SanType::DomainNameService, &format!("host{i}.contoso.example")))
            .collect()
    };
    assert_eq!(MAX_SUBJECT_ALTERNATIVE_NAMES, 25);
    let draft_26 = draft_with(Platform::Android, |draft| {
        draft.custom_subject_alternative_names = sans(26)
    });
    assert_eq!(errors(draft_26), one("customSubjectAlternativeNames", "maxItems"));
    let draft_25 = draft_with(Platform::Android, |draft| {
        draft.custom_subject_alternative_names = sans(25)
    });
    assert_eq!(
        accepted(draft_25).settings.custom_subject_alternative_names.len(),
        25
    );
}

#[test]
fn subject_alternative_name_is_bounded_and_has_no_control_characters() {
    let cases = [
        ("n".repeat(1025), "maxLength"),
        ("{{UserPrincipalName}}\r\n".to_owned(), "noControlCharacters"),
    ];
    for (name, rule) in cases {
        let draft = draft_with(Platform::Android, |draft| {
            draft.custom_subject_alternative_names = vec![san(SanType::UniversalResourceIdentifier, &name)]
        });
        assert_eq!(
            errors(draft),
            one("customSubjectAlternativeNames[0].name", rule),
            "{name:?}"
        );
    }
}

// ---------------------------------------------------------------- key usage

#[test]
fn key_usage_must_not_be_empty() {
    let draft = draft_with(Platform::Android, |draft| draft.key_usage = Vec::new());
    assert_eq!(errors(draft), one("keyUsage", "minItems"));
}

#[test]
fn key_usage_must_not_repeat() {
    for usages in [
        vec![KeyUsage::DigitalSignature, KeyUsage::DigitalSignature],
        vec![
            KeyUsage::KeyEncipherment,
            KeyUsage::DigitalSignature,
            KeyUsage::KeyEncipherment,
        ],
    ] {
        let draft = draft_with(Platform::Android, |draft| draft.key_usage = usages.clone());
        assert_eq!(errors(draft), one("keyUsage", "unique"), "{usages:?}");
    }
}

#[test]
fn key_usage_is_accepted_in_a_canonical_order() {
    let cases = [
        (vec![KeyUsage::DigitalSignature], vec![KeyUsage::DigitalSignature]),
        (vec![KeyUsage::KeyEncipherment], vec![KeyUsage::KeyEncipherment]),
        (
            vec![KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment],
            vec![KeyUsage::KeyEncipherment, KeyUsage::DigitalSignature],
        ),
    ];
    for (given, expected) in cases {
        let draft = draft_with(Platform::Android, |draft| draft.key_usage = given.clone());
        assert_eq!(accepted(draft).settings.key_usage, expected, "{given:?}");
    }
}

// ---------------------------------------------------------------- extended key usages

#[test]
fn extended_key_usages_default_to_client_authentication() {
    assert_eq!(Oid::CLIENT_AUTHENTICATION, "1.3.6.1.5.5.7.3.2");
    for platform in Platform::ALL {
        assert_eq!(
            accepted(draft(platform)).settings.extended_key_usages,
            [client_authentication()]
        );
    }
}

#[test]
fn extended_key_usages_accept_valid_object_identifiers() {
    for oid in [
        "1.3.6.1.5.5.7.3.2",
        "2.999.1",
        "0.0",
        "1.39",
        "2.40",
        "2.999",
        "1.3.6.1.4.1.311.20.2.2",
        "2.25.329800735698586629295641978511506172918",
    ] {
        let draft = draft_with(Platform::Android, |draft| {
            draft.extended_key_usages = Some(vec![eku("Custom", oid)])
        });
        let usages = accepted(draft).settings.extended_key_usages;
        assert_eq!(usages.len(), 1);
        assert_eq!(usages[0].object_identifier.as_str(), oid);
        assert_eq!(usages[0].name, "Custom");
    }
}

#[test]
fn extended_key_usages_reject_invalid_object_identifiers() {
    let too_long = format!("1.3{}", ".6".repeat(99));
    for oid in [
        "1",
        "3.1",
        "1.40",
        "0.40",
        "1.3.06",
        "01.3",
        "1..3",
        "a.b",
        "",
        ".",
        ".1.3",
        "1.3.",
        "1.3.6.1 ",
        " 1.3.6.1",
        "-1.3",
        "+1.3",
        "1.-3",
        "1.3.6.1.5.5.7.3.2\n",
        "1.2.99999999999999999999999999999999999999999",
        too_long.as_str(),
    ] {
        let draft = draft_with(Platform::Android, |draft| {
            draft.extended_key_usages = Some(vec![eku("Custom", oid)])
        });
        assert_eq!(
            errors(draft),
            one("extendedKeyUsages[0].objectIdentifier", "oid"),
            "{oid:?}"
        );
    }
}

#[test]
fn extended_key_usage_errors_point_at_the_offending_entry() {
    let draft = draft_with(Platform::Android, |draft| {
        draft.extended_key_usages = Some(vec![
            eku("Client Authentication", "1.3.6.1.5.5.7.3.2"),
            eku("Server Authentication", "1.3.6.1.5.5.7.3.1"),
            eku("Broken", "1.3.6..1"),
        ])
    });
    assert_eq!(errors(draft), one("extendedKeyUsages[2].objectIdentifier", "oid"));
}

#[test]
fn duplicate_extended_key_usage_oids_are_rejected() {
    let draft = draft_with(Platform::Android, |draft| {
        draft.extended_key_usages = Some(vec![
            eku("Client Authentication", "1.3.6.1.5.5.7.3.2"),
            eku("Client Auth (again)", "1.3.6.1.5.5.7.3.2"),
        ])
    });
    assert_eq!(
        errors(draft),
        one("extendedKeyUsages[1].objectIdentifier", "unique")
    );
}

#[test]
fn extended_key_usage_name_rules() {
    let cases = [
        ("empty", String::new(), "required"),
        ("blank", "  ".to_owned(), "required"),
        ("201 characters", "n".repeat(201), "maxLength"),
        (
            "control character",
            "Client\tAuthentication".to_owned(),
            "noControlCharacters",
        ),
        (
            "201 characters with a control character",
            format!("\t{}", "n".repeat(200)),
            "maxLength",
        ),
    ];
    for (case, name, rule) in cases {
        let draft = draft_with(Platform::Android, |draft| {
            draft.extended_key_usages = Some(vec![eku(&name, "1.3.6.1.5.5.7.3.2")])
        });
        assert_eq!(errors(draft), one("extendedKeyUsages[0].name", rule), "{case}");
    }
    let draft = draft_with(Platform::Android, |draft| {
        draft.extended_key_usages = Some(vec![eku(&"n".repeat(200), "1.3.6.1.5.5.7.3.2")])
    });
    assert_eq!(accepted(draft).settings.extended_key_usages[0].name.len(), 200);
}

#[test]
fn extended_key_usage_with_bad_name_and_bad_oid_reports_both() {
    let draft = draft_with(Platform::Android, |draft| {
        draft.extended_key_usages = Some(vec![eku("", "1")])
    });
    assert_eq!(
        errors(draft),
        [
            ("extendedKeyUsages[0].name".to_owned(), "required"),
            ("extendedKeyUsages[0].objectIdentifier".to_owned(), "oid"),
        ]
    );
}

#[test]
fn more_than_25_extended_key_usages_are_rejected() {
    let usages = |count: u32| -> Vec<ExtendedKeyUsageDraft> {
        (0..count)
            .map(|i| eku(&format!("Custom {i}"), &format!("1.3.6.1.4.1.99999.{i}")))
            .collect()
    };
    assert_eq!(MAX_EXTENDED_KEY_USAGES, 25);
    let draft_26 = draft_with(Platform::Android, |draft| {
        draft.extended_key_usages = Some(usages(26))
    });
    assert_eq!(errors(draft_26), one("extendedKeyUsages", "maxItems"));
    let draft_25 = draft_with(Platform::Android, |draft| {
        draft.extended_key_usages = Some(usages(25))
    });
    assert_eq!(accepted(draft_25).settings.extended_key_usages.len(), 25);
}

#[test]
fn extended_key_usages_explicit_empty_list_is_rejected() {
    let draft = draft_with(Platform::Android, |draft| {
        draft.extended_key_usages = Some(Vec::new())
    });
    assert_eq!(errors(draft), one("extendedKeyUsages", "minItems"));
}

#[test]
fn oid_parse_follows_x660() {
    let valid = [
        "0.0",
        "0.39",
        "1.0",
        "1.39",
        "2.0",
        "2.40",
        "2.999.1",
        "1.3.6.1.5.5.7.3.2",
    ];
    for oid in valid {
        assert_eq!(
            Oid::parse(oid).map(|oid| oid.as_str().to_owned()),
            Ok(oid.to_owned())
        );
    }
    let invalid = [
        "", "1", "3.1", "1.40", "0.40", "1.3.06", "00.1", "1..3", "a.b", "1.3.6.1a",
    ];
    for oid in invalid {
        assert!(Oid::parse(oid).is_err(), "{oid:?}");
    }
    let too_long = format!("1.3{}", ".6".repeat(99));
    assert_eq!(too_long.len(), 201);
    assert_eq!(
        Oid::parse(&too_long),
        Err("must be at most 200 characters, got 201".to_owned())
    );
    let longest = format!("1.3{}", ".6".repeat(98) + "6");
    assert_eq!(longest.len(), 200);
    assert!(Oid::parse(&longest).is_ok());
    assert!(serde_json::from_str::<Oid>("\"1.40\"").is_err());
    assert_eq!(
        serde_json::to_string(&Oid::parse("2.999.1").unwrap()).unwrap(),
        "\"2.999.1\""
    );
}

// ---------------------------------------------------------------- renewal threshold

#[test]
fn renewal_threshold_must_be_between_1_and_99() {
    for percent in [0, 100, -1, 255, 256, -20, i64::MAX, i64::MIN] {
        let draft = draft_with(Platform::Android, |draft| {
            draft.renewal_threshold_percentage = Some(percent)
        });
        assert_eq!(
            errors(draft),
            one("renewalThresholdPercentage", "range"),
            "{percent}"
        );
    }
}

#[test]
fn renewal_threshold_accepts_1_to_99() {
    for percent in [1, 20, 50, 99] {
        let draft = draft_with(Platform::Android, |draft| {
            draft.renewal_threshold_percentage = Some(percent)
        });
        assert_eq!(
            i64::from(accepted(draft).settings.renewal_threshold_percentage.percent()),
            percent
        );
    }
}

#[test]
fn renewal_threshold_defaults_to_20_percent() {
    assert_eq!(RenewalThreshold::DEFAULT.percent(), 20);
    assert_eq!(
        accepted(draft(Platform::Macos))
            .settings
            .renewal_threshold_percentage,
        RenewalThreshold::DEFAULT
    );
}

// ---------------------------------------------------------------- SCEP server URLs

#[test]
fn scep_server_urls_must_list_1_to_10_entries() {
    assert_eq!(MAX_SCEP_SERVER_URLS, 10);
    let urls = |count: usize| -> Vec<String> {
        (0..count)
            .map(|i| format!("https://ndes{i}.contoso.example/certsrv/mscep/mscep.dll"))
            .collect()
    };
    for count in [0, 11, 50] {
        let draft = draft_with(Platform::Android, |draft| draft.scep_server_urls = urls(count));
        assert_eq!(errors(draft), one("scepServerUrls", "itemCount"), "{count}");
    }
    for count in [1, 10] {
        let draft = draft_with(Platform::Android, |draft| draft.scep_server_urls = urls(count));
        assert_eq!(accepted(draft).settings.scep_server_urls.len(), count);
    }
}

#[test]
fn scep_server_url_rules() {
    let cases = [
        ("relative path", "/certsrv/mscep/mscep.dll", "absoluteUrl"),
        (
            "no scheme",
            "ndes.contoso.example/certsrv/mscep/mscep.dll",
            "absoluteUrl",
        ),
        ("empty", "", "absoluteUrl"),
        ("scheme only", "https://", "absoluteUrl"),
        ("bad port", "https://ndes.contoso.example:99999/", "absoluteUrl"),
        (
            "ftp",
            "ftp://ndes.contoso.example/certsrv/mscep/mscep.dll",
            "httpsUrl",
        ),
        ("file", "file:///etc/passwd", "httpsUrl"),
        ("mailto", "mailto:pki@contoso.example", "httpsUrl"),
        (
            "plain http",
            "http://ndes.contoso.example/certsrv/mscep/mscep.dll",
            "httpsUrl",
        ),
        (
            "user and password",
            "https://admin:secret@ndes.contoso.example/certsrv",
            "noCredentials",
        ),
        (
            "user only",
            "https://admin@ndes.contoso.example/certsrv",
            "noCredentials",
        ),
        (
            "password only",
            "https://:secret@ndes.contoso.example/certsrv",
            "noCredentials",
        ),
        (
            "fragment",
            "https://ndes.contoso.example/certsrv/mscep/mscep.dll#main",
            "noFragment",
        ),
        (
            "empty fragment",
            "https://ndes.contoso.example/certsrv#",
            "noFragment",
        ),
    ];
    for (case, url, rule) in cases {
        let draft = draft_with(Platform::Windows10, |draft| {
            draft.scep_server_urls = vec![url.to_owned()]
        });
        assert_eq!(errors(draft), one("scepServerUrls[0]", rule), "{case}");
    }
}

#[test]
fn http_scep_url_is_accepted_only_with_the_lab_flag() {
    let http = "http://ndes.lab.example/certsrv/mscep/mscep.dll";
    let draft = || {
        draft_with(Platform::Android, |draft| {
            draft.scep_server_urls = vec![http.to_owned()]
        })
    };
    assert_eq!(errors(draft()), one("scepServerUrls[0]", "httpsUrl"));

    let lab = ScepProfileContext {
        allow_http_scep_urls: true,
        root_platform: Some(Platform::Android),
    };
    let profile = ScepCertificateProfile::parse(draft(), &lab).expect("lab mode allows http");
    let url = &profile.settings.scep_server_urls[0];
    assert_eq!(url.as_str(), http);
    assert!(!url.is_https());
}

#[test]
fn lab_flag_does_not_relax_other_url_rules() {
    let lab = ScepProfileContext {
        allow_http_scep_urls: true,
        root_platform: Some(Platform::Android),
    };
    let cases = [
        ("ftp://ndes.lab.example/", "httpsUrl"),
        ("http://admin:secret@ndes.lab.example/", "noCredentials"),
        ("http://ndes.lab.example/#x", "noFragment"),
        ("/certsrv", "absoluteUrl"),
    ];
    for (url, rule) in cases {
        let draft = draft_with(Platform::Android, |draft| {
            draft.scep_server_urls = vec![url.to_owned()]
        });
        assert_eq!(errors_with(draft, &lab), one("scepServerUrls[0]", rule), "{url}");
    }
}

#[test]
fn duplicate_scep_server_urls_are_rejected_after_normalisation() {
    let duplicates = [
        NDES,
        "HTTPS://NDES.contoso.example/certsrv/mscep/mscep.dll",
        "https://ndes.contoso.example:443/certsrv/mscep/mscep.dll",
    ];
    for duplicate in duplicates {
        let draft = draft_with(Platform::Android, |draft| {
            draft.scep_server_urls = vec![NDES.to_owned(), duplicate.to_owned()]
        });
        assert_eq!(errors(draft), one("scepServerUrls[1]", "unique"), "{duplicate}");
    }
}

#[test]
fn scep_server_url_errors_point_at_each_offending_entry() {
    let draft = draft_with(Platform::Android, |draft| {
        draft.scep_server_urls = vec![
            NDES.to_owned(),
            "http://ndes.contoso.example/certsrv".to_owned(),
            "https://ndes2.contoso.example/certsrv".to_owned(),
            "https://ndes.contoso.example/#frag".to_owned(),
            NDES.to_owned(),
        ]
    });
    assert_eq!(
        errors(draft),
        [
            ("scepServerUrls[1]".to_owned(), "httpsUrl"),
            ("scepServerUrls[3]".to_owned(), "noFragment"),
            ("scepServerUrls[4]".to_owned(), "unique"),
        ]
    );
}

#[test]
fn scep_server_url_is_stored_normalised() {
    let url = ScepServerUrl::parse("HTTPS://NDES.Contoso.Example").unwrap();
    assert_eq!(url.as_str(), "https://ndes.contoso.example/");
    assert!(url.is_https());
    assert!(serde_json::from_str::<ScepServerUrl>("\"https://a@ndes.contoso.example/\"").is_err());
    // Stored lab URLs must still load even where http is no longer allowed.
    assert!(serde_json::from_str::<ScepServerUrl>("\"http://ndes.lab.example/\"").is_ok());
}

// ---------------------------------------------------------------- root certificate

#[test]
fn missing_root_certificate_profile_is_reported() {
    let context = ScepProfileContext {
        allow_http_scep_urls: false,
        root_platform: None,
    };
    assert_eq!(
        errors_with(draft(Platform::Android), &context),
        one("rootCertificateId", "exists")
    );
}

#[test]
fn root_of_an_incompatible_platform_is_rejected() {
    let context = ScepProfileContext {
        allow_http_scep_urls: false,
        root_platform: Some(Platform::Android),
    };
    assert_eq!(
        errors_with(draft(Platform::Ios), &context),
        one("rootCertificateId", "compatiblePlatform")
    );
}

#[test]
fn windows10_profile_rejects_a_windows81_root() {
    let context = ScepProfileContext {
        allow_http_scep_urls: false,
        root_platform: Some(Platform::Windows81),
    };
    assert_eq!(
        errors_with(draft(Platform::Windows10), &context),
        one("rootCertificateId", "compatiblePlatform")
    );
}

#[test]
fn root_compatibility_follows_accepts_root_from_for_every_pair() {
    for platform in Platform::ALL {
        for root in Platform::ALL {
            let context = ScepProfileContext {
                allow_http_scep_urls: false,
                root_platform: Some(root),
            };
            let result = ScepCertificateProfile::parse(draft(platform), &context);
            if platform.accepts_root_from(root) {
                assert!(result.is_ok(), "{platform} profile, {root} root");
            } else {
                assert_eq!(
                    field_rules(&result.unwrap_err()),
                    one("rootCertificateId", "compatiblePlatform"),
                    "{platform} profile, {root} root"
                );
            }
        }
    }
}

// ---------------------------------------------------------------- several rules at once

#[test]
fn multiple_errors_are_all_reported_at_once_in_field_order() {
    let draft = ScepCertificateProfileDraft {
        display_name: " ".to_owned(),
        description: Some("d".repeat(1501)),
        platform: Platform::Ios,
        certificate_type: CertificateType::User,
        certificate_validity_period_value: Some(12),
        certificate_validity_period_scale: None,
        key_storage_provider: Some(KeyStorageProvider::UseSoftwareKsp),
        subject_name_format: SubjectNameFormat::Custom,
        subject_name_format_string: None,
        custom_subject_alternative_names: vec![san(SanType::EmailAddress, "")],
        key_usage: Vec::new(),
        key_size: 1000,
        hash_algorithm: Some(HashAlgorithm::Sha2),
        root_certificate_id: ROOT_ID,
        extended_key_usages: Some(vec![eku("Custom", "1.40"), eku("", "2.999.1")]),
        renewal_threshold_percentage: Some(0),
        scep_server_urls: vec![
            "ftp://ndes.contoso.example/".to_owned(),
            "http://ndes.contoso.example/".to_owned(),
        ],
    };
    let context = ScepProfileContext {
        allow_http_scep_urls: false,
        root_platform: None,
    };
    let expected = [
        ("displayName", "required"),
        ("description", "maxLength"),
        ("certificateValidityPeriodScale", "requiredWith"),
        ("keyStorageProvider", "windowsOnly"),
        ("subjectNameFormatString", "required"),
        ("customSubjectAlternativeNames[0].name", "required"),
        ("keyUsage", "minItems"),
        ("keySize", "oneOf"),
        ("hashAlgorithm", "notForApple"),
        ("rootCertificateId", "exists"),
        ("extendedKeyUsages[0].objectIdentifier", "oid"),
        ("extendedKeyUsages[1].name", "required"),
        ("renewalThresholdPercentage", "range"),
        ("scepServerUrls[0]", "httpsUrl"),
        ("scepServerUrls[1]", "httpsUrl"),
    ]
    .map(|(field, rule)| (field.to_owned(), rule));
    assert_eq!(errors_with(draft, &context), expected);
}

#[test]
fn windows_key_size_conflict_is_reported_alongside_other_errors() {
    let draft = draft_with(Platform::Windows10, |draft| {
        draft.key_size = 4096;
        draft.renewal_threshold_percentage = Some(100);
    });
    assert_eq!(
        errors(draft),
        [
            ("keySize".to_owned(), "tpmKeySize"),
            ("renewalThresholdPercentage".to_owned(), "range")
        ]
    );
}

// ---------------------------------------------------------------- JSON shapes

#[test]
fn draft_deserialises_from_camel_case_json() {
    let json = serde_json::json!({
        "displayName": "Corp Wi-Fi",
        "platform": "windows10",
        "certificateType": "user",
        "certificateValidityPeriodValue": 90,
        "certificateValidityPeriodScale": "days",
        "keyStorageProvider": "useTpmKspOtherwiseFail",
        "subjectNameFormat": "commonNameAsIMEI",
        "customSubjectAlternativeNames": [{"sanType": "userPrincipalName", "name": "{{UserPrincipalName}}"}],
        "keyUsage": ["digitalSignature"],
        "keySize": 2048,
        "hashAlgorithm": "sha1",
        "rootCertificateId": ROOT_ID,
        "extendedKeyUsages": [{"name": "Client Authentication", "objectIdentifier": "1.3.6.1.5.5.7.3.2"}],
        "renewalThresholdPercentage": 10,
        "scepServerUrls": [NDES],
    });
    let draft: ScepCertificateProfileDraft = serde_json::from_value(json).unwrap();
    let profile = accepted(draft);
    let settings = profile.settings;
    assert_eq!(settings.subject_name_format, SubjectNameFormat::CommonNameAsImei);
    assert_eq!(
        settings.validity_period,
        Some(ValidityPeriod {
            value: 90,
            scale: ValidityScale::Days
        })
    );
    assert_eq!(
        settings.key_storage_provider,
        Some(KeyStorageProvider::UseTpmKspOtherwiseFail)
    );
    assert_eq!(
        settings.custom_subject_alternative_names,
        [san(SanType::UserPrincipalName, "{{UserPrincipalName}}")]
    );
    assert_eq!(settings.renewal_threshold_percentage.percent(), 10);
}

#[test]
fn out_of_range_numbers_reach_the_rules_instead_of_failing_deserialisation() {
    let json = serde_json::json!({
        "displayName": "Corp Wi-Fi",
        "platform": "android",
        "certificateType": "device",
        "certificateValidityPeriodValue": 100_000,
        "certificateValidityPeriodScale": "years",
        "subjectNameFormat": "commonName",
        "keyUsage": ["keyEncipherment"],
        "keySize": 1_000_000,
        "rootCertificateId": ROOT_ID,
        "renewalThresholdPercentage": -5,
        "scepServerUrls": [NDES],
    });
    let draft: ScepCertificateProfileDraft = serde_json::from_value(json).unwrap();
    assert_eq!(
        errors(draft),
        [
            ("certificateValidityPeriodValue".to_owned(), "range"),
            ("keySize".to_owned(), "oneOf"),
            ("renewalThresholdPercentage".to_owned(), "range"),
        ]
    );
}

#[test]
fn draft_rejects_unknown_fields() {
    let base = serde_json::json!({
        "displayName": "Corp Wi-Fi",
        "platform": "android",
        "certificateType": "device",
        "subjectNameFormat": "commonName",
        "keyUsage": ["keyEncipherment"],
        "keySize": 2048,
        "rootCertificateId": ROOT_ID,
        "scepServerUrls": [NDES],
    });
    assert!(serde_json::from_value::<ScepCertificateProfileDraft>(base.clone()).is_ok());

    let mut unknown_top_level = base.clone();
    unknown_top_level["keysize"] = serde_json::json!(2048);
    assert!(serde_json::from_value::<ScepCertificateProfileDraft>(unknown_top_level).is_err());

    let mut unknown_in_san = base;
    unknown_in_san["customSubjectAlternativeNames"] =
        serde_json::json!([{"sanType": "emailAddress", "name": "{{EmailAddress}}", "critical": true}]);
    assert!(serde_json::from_value::<ScepCertificateProfileDraft>(unknown_in_san).is_err());
}

#[test]
fn settings_round_trip_through_json() {
    let settings = accepted(draft_with(Platform::Windows10, |draft| {
        draft.custom_subject_alternative_names =
            vec![san(SanType::DomainNameService, "{{DeviceName}}.contoso.example")];
        draft.extended_key_usages = Some(vec![eku("Custom", "2.999.1")]);
    }))
    .settings;
    let json = serde_json::to_value(&settings).unwrap();
    assert_eq!(json["keySize"], 2048);
    assert_eq!(json["renewalThresholdPercentage"], 20);
    assert_eq!(json["validityPeriod"], serde_json::Value::Null);
    assert_eq!(json["scepServerUrls"], serde_json::json!([NDES]));
    assert_eq!(serde_json::from_value::<ScepSettings>(json).unwrap(), settings);
}

#[test]
fn stored_settings_with_bad_values_do_not_load() {
    let settings = accepted(draft(Platform::Android)).settings;
    let good = serde_json::to_value(&settings).unwrap();
    let cases = [
        ("keySize", serde_json::json!(1000)),
        ("renewalThresholdPercentage", serde_json::json!(0)),
        (
            "scepServerUrls",
            serde_json::json!(["ftp://ndes.contoso.example/"]),
        ),
        (
            "extendedKeyUsages",
            serde_json::json!([{"name": "Custom", "objectIdentifier": "1.40"}]),
        ),
    ];
    for (field, value) in cases {
        let mut stored = good.clone();
        stored[field] = value;
        assert!(serde_json::from_value::<ScepSettings>(stored).is_err(), "{field}");
    }
}

#[test]
fn key_size_and_renewal_threshold_conversions() {
    assert_eq!(KeySize::try_from(4096), Ok(KeySize::Bits4096));
    assert_eq!(
        KeySize::try_from(1000),
        Err("must be 1024, 2048 or 4096, got 1000".to_owned())
    );
    assert_eq!(u16::from(KeySize::Bits1024), 1024);
    assert_eq!(
        RenewalThreshold::try_from(99).map(RenewalThreshold::percent),
        Ok(99)
    );
    assert_eq!(
        RenewalThreshold::try_from(100),
        Err("must be between 1 and 99, got 100".to_owned())
    );
    assert_eq!(u8::from(RenewalThreshold::DEFAULT), 20);
}
