//! Trusted and SCEP certificate profiles, and their assignments.

use chrono::{DateTime, Utc};
use scepter_domain::{
    scep_profile::{
        CertificateType, ExtendedKeyUsageDraft, HashAlgorithm, KeyStorageProvider, KeyUsage,
        SubjectAlternativeName, SubjectNameFormat, ValidityScale,
    },
    targeting::{Intent, ProfileKind},
    trusted_profile::DestinationStore,
    CertificateDetails, Platform, Record, ScepCertificateProfile, TrustedCertificateProfile,
};
use scepter_storage::Assignment;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrustedCertificateProfileView {
    pub id: Uuid,
    /// Grows by one on every update; also sent as the `ETag`.
    pub version: i64,
    pub created_date_time: DateTime<Utc>,
    pub last_modified_date_time: DateTime<Utc>,
    pub display_name: String,
    pub description: String,
    pub platform: Platform,
    pub cert_file_name: Option<String>,
    /// The certificate as base64 DER.
    pub trusted_root_certificate: String,
    /// Set for Windows platforms only.
    pub destination_store: Option<DestinationStore>,
    pub certificate_details: CertificateDetails,
    /// The registered issuing CAs (base64 DER each), in the order given.
    pub issuing_certificates: Vec<String>,
    /// Their details, in the same order.
    pub issuing_certificate_details: Vec<CertificateDetails>,
    /// Accepted but noteworthy: expired, not yet valid, not self-signed.
    pub warnings: Vec<String>,
}

impl TrustedCertificateProfileView {
    pub fn new(record: &Record<TrustedCertificateProfile>, now: DateTime<Utc>) -> Self {
        let profile = &record.content;
        Self {
            id: record.id,
            version: record.version,
            created_date_time: record.created_at,
            last_modified_date_time: record.modified_at,
            display_name: profile.display_name.as_str().to_owned(),
            description: profile.description.as_str().to_owned(),
            platform: profile.platform,
            cert_file_name: profile
                .cert_file_name
                .as_ref()
                .map(|name| name.as_str().to_owned()),
            trusted_root_certificate: profile.certificate.to_base64(),
            destination_store: profile.destination_store,
            certificate_details: profile.certificate.details().clone(),
            issuing_certificates: profile
                .issuing_certificates
                .iter()
                .map(|ca| ca.to_base64())
                .collect(),
            issuing_certificate_details: profile
                .issuing_certificates
                .iter()
                .map(|ca| ca.details().clone())
                .collect(),
            warnings: profile.warnings(now),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScepCertificateProfileView {
    pub id: Uuid,
    /// Grows by one on every update; also sent as the `ETag`.
    pub version: i64,
    pub created_date_time: DateTime<Utc>,
    pub last_modified_date_time: DateTime<Utc>,
    pub display_name: String,
    pub description: String,
    pub platform: Platform,
    pub certificate_type: CertificateType,
    /// `null`: the CA template's validity applies.
    pub certificate_validity_period_value: Option<u16>,
    pub certificate_validity_period_scale: Option<ValidityScale>,
    /// Set for Windows platforms only.
    pub key_storage_provider: Option<KeyStorageProvider>,
    pub subject_name_format: SubjectNameFormat,
    pub subject_name_format_string: Option<String>,
    pub custom_subject_alternative_names: Vec<SubjectAlternativeName>,
    pub key_usage: Vec<KeyUsage>,
    #[schema(example = 2048)]
    pub key_size: u16,
    /// Not set for iOS and macOS.
    pub hash_algorithm: Option<HashAlgorithm>,
    pub root_certificate_id: Uuid,
    pub extended_key_usages: Vec<ExtendedKeyUsageDraft>,
    pub renewal_threshold_percentage: u8,
    pub scep_server_urls: Vec<String>,
    /// Accepted settings that will not take effect as written.
    pub warnings: Vec<String>,
}

impl From<&Record<ScepCertificateProfile>> for ScepCertificateProfileView {
    fn from(record: &Record<ScepCertificateProfile>) -> Self {
        let profile = &record.content;
        let settings = &profile.settings;
        Self {
            id: record.id,
            version: record.version,
            created_date_time: record.created_at,
            last_modified_date_time: record.modified_at,
            display_name: profile.display_name.as_str().to_owned(),
            description: profile.description.as_str().to_owned(),
            platform: profile.platform,
            certificate_type: settings.certificate_type,
            certificate_validity_period_value: settings.validity_period.map(|period| period.value),
            certificate_validity_period_scale: settings.validity_period.map(|period| period.scale),
            key_storage_provider: settings.key_storage_provider,
            subject_name_format: settings.subject_name_format,
            subject_name_format_string: settings.subject_name_format_string.clone(),
            custom_subject_alternative_names: settings.custom_subject_alternative_names.clone(),
            key_usage: settings.key_usage.clone(),
            key_size: settings.key_size.bits(),
            hash_algorithm: settings.hash_algorithm,
            root_certificate_id: profile.root_certificate_id,
            extended_key_usages: settings
                .extended_key_usages
                .iter()
                .map(|usage| ExtendedKeyUsageDraft {
                    name: usage.name.clone(),
                    object_identifier: usage.object_identifier.as_str().to_owned(),
                })
                .collect(),
            renewal_threshold_percentage: settings.renewal_threshold_percentage.percent(),
            scep_server_urls: settings
                .scep_server_urls
                .iter()
                .map(|url| url.as_str().to_owned())
                .collect(),
            warnings: profile.warnings(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignmentRequest {
    pub group_id: Uuid,
    pub intent: Intent,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentView {
    pub id: Uuid,
    pub profile_id: Uuid,
    pub profile_type: ProfileKind,
    pub group_id: Uuid,
    pub intent: Intent,
    pub created_date_time: DateTime<Utc>,
}

impl From<Assignment> for AssignmentView {
    fn from(assignment: Assignment) -> Self {
        let Assignment {
            id,
            profile_kind,
            profile_id,
            group_id,
            intent,
            created_at,
        } = assignment;
        Self {
            id,
            profile_id,
            profile_type: profile_kind,
            group_id,
            intent,
            created_date_time: created_at,
        }
    }
}
