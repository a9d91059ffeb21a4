//! Fixtures shared by the storage test suites (they run on both backends
//! through `scepter_storage::store_tests!`).

#![allow(dead_code)] // Each test crate uses a different part.

use scepter_domain::{
    directory::{Device, Group, GroupType, User},
    scep_profile::{CertificateType, KeyUsage, SubjectNameFormat},
    Platform, ScepCertificateProfile, ScepCertificateProfileDraft, ScepProfileContext,
    TrustedCertificateProfile, TrustedCertificateProfileDraft,
};
use uuid::Uuid;

pub const ROOT_PEM: &str = include_str!("../../../domain/tests/fixtures/root-ca.pem");

pub fn user(upn: &str) -> User {
    User {
        user_principal_name: upn.to_owned(),
        display_name: format!("User {upn}"),
        mail: None,
        on_premises_distinguished_name: None,
        on_premises_sam_account_name: None,
        external_id: None,
        on_premises_security_identifier: None,
    }
}

pub fn device(name: &str, platform: Platform, user_id: Option<Uuid>) -> Device {
    Device {
        device_name: name.to_owned(),
        platform,
        os_version: None,
        serial_number: None,
        imei: None,
        azure_ad_device_id: None,
        user_id,
        external_id: None,
        meid: None,
        wifi_mac_address: None,
        fully_qualified_domain_name: None,
    }
}

pub fn group(name: &str, group_type: GroupType) -> Group {
    Group {
        display_name: name.to_owned(),
        description: None,
        group_type,
        external_id: None,
    }
}

pub fn trusted(platform: Platform) -> TrustedCertificateProfile {
    TrustedCertificateProfile::parse(TrustedCertificateProfileDraft {
        display_name: "Contoso Root".to_owned(),
        description: None,
        platform,
        cert_file_name: None,
        trusted_root_certificate: ROOT_PEM.to_owned(),
        destination_store: None,
        issuing_certificates: None,
    })
    .expect("valid trusted profile")
}

pub fn scep(platform: Platform, root_id: Uuid, certificate_type: CertificateType) -> ScepCertificateProfile {
    let draft = ScepCertificateProfileDraft {
        display_name: "Wi-Fi certificate".to_owned(),
        description: None,
        platform,
        certificate_type,
        certificate_validity_period_value: None,
        certificate_validity_period_scale: None,
        key_storage_provider: None,
        subject_name_format: SubjectNameFormat::CommonName,
        subject_name_format_string: None,
        custom_subject_alternative_names: vec![],
        key_usage: vec![KeyUsage::DigitalSignature],
        key_size: 2048,
        hash_algorithm: None,
        root_certificate_id: root_id,
        extended_key_usages: None,
        renewal_threshold_percentage: None,
        scep_server_urls: vec!["https://ndes.contoso.example/certsrv/mscep/mscep.dll".to_owned()],
    };
    let context = ScepProfileContext {
        allow_http_scep_urls: false,
        root_platform: Some(platform),
    };
    ScepCertificateProfile::parse(draft, &context).expect("valid SCEP profile")
}
