//! Response bodies. Request bodies are the domain's `*Draft` types; responses
//! add identity, versioning, derived details and warnings, in Graph's names.

use chrono::{DateTime, Utc};
use scepter_domain::{
    checkin::RevokeStatus,
    diagnostics::{DiagnosticCode, EventId},
    directory::{Group, GroupType, User},
    scep_profile::{
        CertificateType, ExtendedKeyUsageDraft, HashAlgorithm, KeyStorageProvider, KeyUsage,
        SubjectAlternativeName, SubjectNameFormat, ValidityScale,
    },
    targeting::{EffectiveProfile, Intent, ProfileKind, TargetReason, TargetState},
    trusted_profile::DestinationStore,
    CertificateDetails, Platform, Record, ScepCertificateProfile, TrustedCertificateProfile,
};
use scepter_storage::{Assignment, GroupMember, StoredCertificate, StoredDevice, StoredEvent};
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

/// Named one-page list types (one schema per item type keeps generated clients simple).
macro_rules! page_of {
    ($($list:ident => $item:ty, $doc:literal;)*) => {$(
        #[doc = $doc]
        #[derive(Debug, Serialize, ToSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $list {
            pub items: Vec<$item>,
            /// Pass as `cursor` to get the next page; `null` on the last page.
            pub next_cursor: Option<String>,
        }

        impl $list {
            pub fn new<T>(page: scepter_storage::Page<T>, view: impl FnMut(T) -> $item) -> Self {
                Self {
                    next_cursor: page.next_cursor.map(|cursor| cursor.encode()),
                    items: page.items.into_iter().map(view).collect(),
                }
            }
        }
    )*};
}

page_of! {
    TrustedCertificateProfileList => TrustedCertificateProfileView, "One page of trusted certificate profiles.";
    ScepCertificateProfileList => ScepCertificateProfileView, "One page of SCEP certificate profiles.";
    UserList => UserView, "One page of users.";
    DeviceList => DeviceView, "One page of devices.";
    GroupList => GroupView, "One page of groups.";
    GroupMemberList => GroupMemberView, "One page of a group's members.";
    AssignmentList => AssignmentView, "One page of a profile's assignments.";
    EventList => EventView, "One page of events, oldest first.";
}

/// A stored diagnostic code as the seed writes it: `0x` and eight hex digits.
pub(crate) fn diagnostic_hex(code: u32) -> String {
    format!("0x{code:08X}")
}

/// The seed's name of a stored diagnostic code (`Unknown` for one it does not define).
pub(crate) fn diagnostic_name(code: u32) -> String {
    DiagnosticCode::from_code(code).map_or_else(|| "Unknown".to_owned(), |known| known.name().to_owned())
}

/// A certificate the CA issued to a device (the ledger renewal and revocation work from).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateView {
    pub id: Uuid,
    pub device_id: Uuid,
    pub profile_id: Uuid,
    /// The profile version the certificate was requested under.
    pub profile_version: i64,
    pub transaction_id: String,
    /// Upper-case hex, as Windows shows it.
    pub serial_number: String,
    /// SHA-1 of the DER, 40 upper-case hex digits.
    pub thumbprint_sha1: String,
    /// RFC 4514.
    pub issuer: String,
    /// RFC 4514.
    pub subject: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// When Scepter was notified of it.
    pub issued_date_time: DateTime<Utc>,
    pub certificate_revoke_status: RevokeStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_requested_date_time: Option<DateTime<Utc>>,
    /// The connector's diagnostic code for the revocation, e.g. `0x00000402`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_diagnostic_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_diagnostic_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_date_time: Option<DateTime<Utc>>,
}

impl From<StoredCertificate> for CertificateView {
    fn from(certificate: StoredCertificate) -> Self {
        Self {
            id: certificate.id,
            device_id: certificate.device_id,
            profile_id: certificate.profile_id,
            profile_version: certificate.profile_version,
            transaction_id: certificate.transaction_id,
            serial_number: certificate.serial_number,
            thumbprint_sha1: certificate.thumbprint_sha1,
            issuer: certificate.issuer,
            subject: certificate.subject,
            not_before: certificate.not_before,
            not_after: certificate.not_after,
            issued_date_time: certificate.issued_at,
            certificate_revoke_status: certificate.revoke_status,
            revoke_requested_date_time: certificate.revoke_requested_at,
            revoke_diagnostic_code: certificate.revoke_diagnostic_code.map(diagnostic_hex),
            revoke_diagnostic_name: certificate.revoke_diagnostic_code.map(diagnostic_name),
            revoke_message: certificate.revoke_message,
            revoked_date_time: certificate.revoked_at,
        }
    }
}

/// A connector event with the seed's id, name and diagnostic code.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub id: Uuid,
    /// The seed's event id, e.g. 20500.
    pub event_id: u32,
    /// The seed's event name, e.g. `CRPVerifyMetric_Success`.
    pub event_name: String,
    /// e.g. `0x00000411`.
    pub diagnostic_code: String,
    pub diagnostic_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    pub message: String,
    pub occurred_date_time: DateTime<Utc>,
}

impl From<StoredEvent> for EventView {
    fn from(event: StoredEvent) -> Self {
        Self {
            id: event.id,
            event_id: event.event_id,
            event_name: EventId::from_id(event.event_id)
                .map_or_else(|| "Unknown".to_owned(), |id| id.name().to_owned()),
            diagnostic_code: diagnostic_hex(event.diagnostic_code),
            diagnostic_name: diagnostic_name(event.diagnostic_code),
            device_id: event.device_id,
            profile_id: event.profile_id,
            certificate_id: event.certificate_id,
            transaction_id: event.transaction_id,
            message: event.message,
            occurred_date_time: event.occurred_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: Uuid,
    pub version: i64,
    pub created_date_time: DateTime<Utc>,
    pub last_modified_date_time: DateTime<Utc>,
    pub user_principal_name: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub on_premises_distinguished_name: Option<String>,
    pub on_premises_sam_account_name: Option<String>,
    /// The on-premises SID, `S-1-…` (for the KB5014754 strong mapping).
    pub on_premises_security_identifier: Option<String>,
    pub external_id: Option<String>,
}

impl From<Record<User>> for UserView {
    fn from(record: Record<User>) -> Self {
        let user = record.content;
        Self {
            id: record.id,
            version: record.version,
            created_date_time: record.created_at,
            last_modified_date_time: record.modified_at,
            user_principal_name: user.user_principal_name,
            display_name: user.display_name,
            mail: user.mail,
            on_premises_distinguished_name: user.on_premises_distinguished_name,
            on_premises_sam_account_name: user.on_premises_sam_account_name,
            on_premises_security_identifier: user.on_premises_security_identifier,
            external_id: user.external_id,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    pub id: Uuid,
    pub version: i64,
    /// When the device was added to Scepter.
    pub enrolled_date_time: DateTime<Utc>,
    pub last_modified_date_time: DateTime<Utc>,
    /// `null` until the device first checks in.
    pub last_check_in_date_time: Option<DateTime<Utc>>,
    pub device_name: String,
    pub platform: Platform,
    pub os_version: Option<String>,
    pub serial_number: Option<String>,
    pub imei: Option<String>,
    #[serde(rename = "azureADDeviceId")]
    pub azure_ad_device_id: Option<Uuid>,
    /// The primary user.
    pub user_id: Option<Uuid>,
    pub external_id: Option<String>,
    pub meid: Option<String>,
    #[serde(rename = "wiFiMacAddress")]
    pub wifi_mac_address: Option<String>,
    pub fully_qualified_domain_name: Option<String>,
}

impl From<Record<StoredDevice>> for DeviceView {
    fn from(record: Record<StoredDevice>) -> Self {
        let StoredDevice {
            device,
            last_check_in_at,
        } = record.content;
        Self {
            id: record.id,
            version: record.version,
            enrolled_date_time: record.created_at,
            last_modified_date_time: record.modified_at,
            last_check_in_date_time: last_check_in_at,
            device_name: device.device_name,
            platform: device.platform,
            os_version: device.os_version,
            serial_number: device.serial_number,
            imei: device.imei,
            azure_ad_device_id: device.azure_ad_device_id,
            user_id: device.user_id,
            external_id: device.external_id,
            meid: device.meid,
            wifi_mac_address: device.wifi_mac_address,
            fully_qualified_domain_name: device.fully_qualified_domain_name,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupView {
    pub id: Uuid,
    pub version: i64,
    pub created_date_time: DateTime<Utc>,
    pub last_modified_date_time: DateTime<Utc>,
    pub display_name: String,
    pub description: Option<String>,
    pub group_type: GroupType,
    pub external_id: Option<String>,
}

impl From<Record<Group>> for GroupView {
    fn from(record: Record<Group>) -> Self {
        let group = record.content;
        Self {
            id: record.id,
            version: record.version,
            created_date_time: record.created_at,
            last_modified_date_time: record.modified_at,
            display_name: group.display_name,
            description: group.description,
            group_type: group.group_type,
            external_id: group.external_id,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupMemberView {
    pub id: Uuid,
    /// `user` in user groups, `device` in device groups.
    pub member_type: GroupType,
    /// The user's display name or the device's name.
    pub display_name: String,
    pub external_id: Option<String>,
}

impl From<GroupMember> for GroupMemberView {
    fn from(member: GroupMember) -> Self {
        Self {
            id: member.id,
            member_type: member.member_type,
            display_name: member.display_name,
            external_id: member.external_id,
        }
    }
}

/// Members to add: users for a user group, devices for a device group.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddMembersRequest {
    /// Up to 10,000 ids, added in one transaction; ids that are already members are fine.
    pub member_ids: Vec<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipChangeView {
    pub added: u64,
    /// Ids that were already members.
    pub unchanged: u64,
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
        Self {
            id: assignment.id,
            profile_id: assignment.profile_id,
            profile_type: assignment.profile_kind,
            group_id: assignment.group_id,
            intent: assignment.intent,
            created_date_time: assignment.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveProfileView {
    pub profile_id: Uuid,
    pub profile_type: ProfileKind,
    pub state: TargetState,
    pub reason: Option<TargetReason>,
    /// The assignments that brought the profile (for `excluded`: the excluding ones).
    pub assignments: Vec<Uuid>,
}

impl From<EffectiveProfile> for EffectiveProfileView {
    fn from(profile: EffectiveProfile) -> Self {
        Self {
            profile_id: profile.profile_id,
            profile_type: profile.kind,
            state: profile.state,
            reason: profile.reason,
            assignments: profile.assignment_ids,
        }
    }
}

/// Every profile that reaches the device, with its state.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveProfileList {
    pub items: Vec<EffectiveProfileView>,
}
