//! Table rows and their conversion to domain records. Stored values pass
//! through the domain's parsers again on the way out, so a hand-edited row
//! surfaces as [`StorageError::Corrupt`] instead of a bad payload.

use chrono::{DateTime, SubsecRound, Utc};
use scepter_domain::{
    directory::{Device, Group, GroupType, User},
    scep_profile::{CertificateType, ScepSettings},
    targeting::{AssignmentFact, ProfileKind, TargetedProfile},
    text::{CertFileName, Description, DisplayName},
    trusted_profile::DestinationStore,
    CaCertificate, Platform, Record, ScepCertificateProfile, TrustedCertificateProfile,
};
use serde::de::{value::StrDeserializer, DeserializeOwned, IntoDeserializer};
use sqlx::types::Json;
use uuid::Uuid;

use scepter_domain::diagnostics::DiagnosticCode;

use crate::{
    Assignment, DeviceProfileState, DeviceStep, EnrollmentStep, FactsGenerations, GroupMember, PayloadOffer,
    ProfileVersionChange, ScepTransaction, StatusDevice, StorageError, StoredCertificate, StoredCredential,
    StoredDevice, StoredEvent,
};

/// Both backends keep microseconds (PostgreSQL's resolution), so a value
/// reads back exactly as it was written on either.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The columns every versioned table starts with.
#[derive(sqlx::FromRow)]
pub(crate) struct RecordMeta {
    pub id: Uuid,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
}

impl RecordMeta {
    fn record<T>(self, content: T) -> Record<T> {
        Record {
            id: self.id,
            version: self.version,
            created_at: self.created_at,
            modified_at: self.modified_at,
            content,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TrustedProfileRow {
    #[sqlx(flatten)]
    pub meta: RecordMeta,
    pub display_name: String,
    pub description: String,
    pub platform: String,
    pub cert_file_name: Option<String>,
    pub certificate_der: Vec<u8>,
    pub destination_store: Option<String>,
    pub issuing_certificates_der: Vec<u8>,
}

/// The issuing CAs' DER certificates back to back, as stored.
pub(crate) fn concatenated_der(certificates: &[CaCertificate]) -> Vec<u8> {
    certificates
        .iter()
        .flat_map(|certificate| certificate.der().iter().copied())
        .collect()
}

#[derive(sqlx::FromRow)]
pub(crate) struct ScepProfileRow {
    #[sqlx(flatten)]
    pub meta: RecordMeta,
    pub display_name: String,
    pub description: String,
    pub platform: String,
    pub root_certificate_id: Uuid,
    pub settings: Json<ScepSettings>,
}

fn corrupt(id: Uuid, what: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(format!("row {id}: {what}"))
}

/// Parses a stored enum by its serde (API) name.
fn parse_enum<T: DeserializeOwned>(id: Uuid, value: &str) -> Result<T, StorageError> {
    let deserializer: StrDeserializer<'_, serde::de::value::Error> = value.into_deserializer();
    T::deserialize(deserializer).map_err(|error| corrupt(id, error))
}

fn parse_platform(id: Uuid, value: &str) -> Result<Platform, StorageError> {
    value.parse().map_err(|error| corrupt(id, error))
}

impl TryFrom<TrustedProfileRow> for Record<TrustedCertificateProfile> {
    type Error = StorageError;

    fn try_from(row: TrustedProfileRow) -> Result<Self, Self::Error> {
        let id = row.meta.id;
        let content = TrustedCertificateProfile {
            display_name: DisplayName::try_from(row.display_name).map_err(|e| corrupt(id, e))?,
            description: Description::try_from(row.description).map_err(|e| corrupt(id, e))?,
            platform: parse_platform(id, &row.platform)?,
            cert_file_name: row
                .cert_file_name
                .map(CertFileName::try_from)
                .transpose()
                .map_err(|e| corrupt(id, e))?,
            certificate: CaCertificate::from_der(&row.certificate_der).map_err(|e| corrupt(id, e))?,
            destination_store: row
                .destination_store
                .as_deref()
                .map(|store| parse_enum::<DestinationStore>(id, store))
                .transpose()?,
            issuing_certificates: CaCertificate::from_concatenated_der(&row.issuing_certificates_der)
                .map_err(|e| corrupt(id, e))?,
        };
        Ok(row.meta.record(content))
    }
}

impl TryFrom<ScepProfileRow> for Record<ScepCertificateProfile> {
    type Error = StorageError;

    fn try_from(row: ScepProfileRow) -> Result<Self, Self::Error> {
        let id = row.meta.id;
        let content = ScepCertificateProfile {
            display_name: DisplayName::try_from(row.display_name).map_err(|e| corrupt(id, e))?,
            description: Description::try_from(row.description).map_err(|e| corrupt(id, e))?,
            platform: parse_platform(id, &row.platform)?,
            root_certificate_id: row.root_certificate_id,
            settings: row.settings.0,
        };
        Ok(row.meta.record(content))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    #[sqlx(flatten)]
    pub meta: RecordMeta,
    pub user_principal_name: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub on_premises_distinguished_name: Option<String>,
    pub on_premises_sam_account_name: Option<String>,
    pub on_premises_security_identifier: Option<String>,
    pub external_id: Option<String>,
}

/// Infallible today; a `TryFrom` like the other rows so every query reads them alike.
impl TryFrom<UserRow> for Record<User> {
    type Error = StorageError;

    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        Ok(row.meta.record(User {
            user_principal_name: row.user_principal_name,
            display_name: row.display_name,
            mail: row.mail,
            on_premises_distinguished_name: row.on_premises_distinguished_name,
            on_premises_sam_account_name: row.on_premises_sam_account_name,
            on_premises_security_identifier: row.on_premises_security_identifier,
            external_id: row.external_id,
        }))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DeviceRow {
    #[sqlx(flatten)]
    pub meta: RecordMeta,
    pub device_name: String,
    pub platform: String,
    pub os_version: Option<String>,
    pub serial_number: Option<String>,
    pub imei: Option<String>,
    pub azure_ad_device_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub external_id: Option<String>,
    pub meid: Option<String>,
    pub wifi_mac_address: Option<String>,
    pub fully_qualified_domain_name: Option<String>,
    pub last_check_in_at: Option<DateTime<Utc>>,
}

/// A targeted device and whether the profile's root reaches it (1 or 0).
#[derive(sqlx::FromRow)]
pub(crate) struct StatusDeviceRow {
    #[sqlx(flatten)]
    pub device: DeviceRow,
    pub root_installed: i64,
}

impl TryFrom<StatusDeviceRow> for StatusDevice {
    type Error = StorageError;

    fn try_from(row: StatusDeviceRow) -> Result<Self, Self::Error> {
        Ok(StatusDevice {
            device: row.device.try_into()?,
            root_installed: row.root_installed != 0,
        })
    }
}

impl TryFrom<DeviceRow> for Record<StoredDevice> {
    type Error = StorageError;

    fn try_from(row: DeviceRow) -> Result<Self, Self::Error> {
        let id = row.meta.id;
        Ok(row.meta.record(StoredDevice {
            device: Device {
                device_name: row.device_name,
                platform: parse_platform(id, &row.platform)?,
                os_version: row.os_version,
                serial_number: row.serial_number,
                imei: row.imei,
                azure_ad_device_id: row.azure_ad_device_id,
                user_id: row.user_id,
                external_id: row.external_id,
                meid: row.meid,
                wifi_mac_address: row.wifi_mac_address,
                fully_qualified_domain_name: row.fully_qualified_domain_name,
            },
            last_check_in_at: row.last_check_in_at,
        }))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct GroupRow {
    #[sqlx(flatten)]
    pub meta: RecordMeta,
    pub display_name: String,
    pub description: Option<String>,
    pub group_type: String,
    pub external_id: Option<String>,
}

impl TryFrom<GroupRow> for Record<Group> {
    type Error = StorageError;

    fn try_from(row: GroupRow) -> Result<Self, Self::Error> {
        let id = row.meta.id;
        Ok(row.meta.record(Group {
            display_name: row.display_name,
            description: row.description,
            group_type: parse_enum(id, &row.group_type)?,
            external_id: row.external_id,
        }))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MemberRow {
    pub id: Uuid,
    pub display_name: String,
    pub external_id: Option<String>,
}

impl MemberRow {
    pub fn into_member(self, member_type: GroupType) -> GroupMember {
        GroupMember {
            id: self.id,
            member_type,
            display_name: self.display_name,
            external_id: self.external_id,
        }
    }
}

/// A group's type as bulk import reads it (with its own wording when corrupt).
pub(crate) fn parse_group_type(id: Uuid, value: &str) -> Result<GroupType, StorageError> {
    match value {
        "user" => Ok(GroupType::User),
        "device" => Ok(GroupType::Device),
        other => Err(StorageError::Corrupt(format!("group {id}: group type {other:?}"))),
    }
}

/// `device_id, secret_sha256, revoked, facts generation, policy generation`, as `SELECT_CREDENTIAL` reads them.
pub(crate) type CredentialRow = (Uuid, Vec<u8>, bool, i64, i64);

impl From<CredentialRow> for StoredCredential {
    fn from((device_id, secret_digest, revoked, device, policy): CredentialRow) -> Self {
        StoredCredential {
            device_id,
            secret_digest,
            revoked,
            generations: FactsGenerations { device, policy },
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AssignmentRow {
    pub id: Uuid,
    pub profile_id: Uuid,
    pub group_id: Uuid,
    pub intent: String,
    pub created_at: DateTime<Utc>,
}

impl AssignmentRow {
    pub fn into_assignment(self, profile_kind: ProfileKind) -> Result<Assignment, StorageError> {
        Ok(Assignment {
            id: self.id,
            profile_kind,
            profile_id: self.profile_id,
            group_id: self.group_id,
            intent: parse_enum(self.id, &self.intent)?,
            created_at: self.created_at,
        })
    }
}

/// One row of `device_targeting_facts`: an assignment to one of the device's
/// groups, with what targeting needs of its profile.
#[derive(sqlx::FromRow)]
pub(crate) struct TargetingRow {
    pub assignment_id: Uuid,
    pub group_id: Uuid,
    pub group_type: String,
    pub intent: String,
    pub profile_kind: String,
    pub profile_id: Uuid,
    pub profile_version: i64,
    pub platform: String,
    pub certificate_type: Option<String>,
    pub root_profile_id: Option<Uuid>,
}

/// A row of `DEVICE_TARGETING_FACTS`: the device, and an assignment when one reaches it.
#[derive(sqlx::FromRow)]
pub(crate) struct DeviceTargetingRow {
    pub device_platform: String,
    pub device_user_id: Option<Uuid>,
    pub assignment_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub group_type: Option<String>,
    pub intent: Option<String>,
    pub profile_kind: Option<String>,
    pub profile_id: Option<Uuid>,
    pub profile_version: Option<i64>,
    pub platform: Option<String>,
    pub certificate_type: Option<String>,
    pub root_profile_id: Option<Uuid>,
}

impl DeviceTargetingRow {
    /// The assignment on this row; `None` on the row of a device no assignment reaches.
    pub(crate) fn into_assignment(self) -> Result<Option<TargetingRow>, StorageError> {
        let Some(assignment_id) = self.assignment_id else {
            return Ok(None);
        };
        let missing =
            || StorageError::Corrupt(format!("assignment {assignment_id}: a targeting column is NULL"));
        Ok(Some(TargetingRow {
            assignment_id,
            group_id: self.group_id.ok_or_else(missing)?,
            group_type: self.group_type.ok_or_else(missing)?,
            intent: self.intent.ok_or_else(missing)?,
            profile_kind: self.profile_kind.ok_or_else(missing)?,
            profile_id: self.profile_id.ok_or_else(missing)?,
            profile_version: self.profile_version.ok_or_else(missing)?,
            platform: self.platform.ok_or_else(missing)?,
            certificate_type: self.certificate_type,
            root_profile_id: self.root_profile_id,
        }))
    }
}

/// Groups assignment rows, which arrive ordered by profile, into profiles.
pub(crate) fn targeted_profiles(rows: Vec<TargetingRow>) -> Result<Vec<TargetedProfile>, StorageError> {
    let mut profiles: Vec<TargetedProfile> = Vec::new();
    for row in rows {
        let kind: ProfileKind = parse_enum(row.profile_id, &row.profile_kind)?;
        let assignment = AssignmentFact {
            assignment_id: row.assignment_id,
            group_id: row.group_id,
            group_type: parse_enum(row.group_id, &row.group_type)?,
            intent: parse_enum(row.assignment_id, &row.intent)?,
        };
        match profiles
            .last_mut()
            .filter(|last| last.profile_id == row.profile_id && last.kind == kind)
        {
            Some(profile) => profile.assignments.push(assignment),
            None => profiles.push(TargetedProfile {
                profile_id: row.profile_id,
                kind,
                version: row.profile_version,
                platform: parse_platform(row.profile_id, &row.platform)?,
                certificate_type: row
                    .certificate_type
                    .as_deref()
                    .map(|value| parse_enum::<CertificateType>(row.profile_id, value))
                    .transpose()?,
                root_profile_id: row.root_profile_id,
                assignments: vec![assignment],
            }),
        }
    }
    Ok(profiles)
}

#[derive(sqlx::FromRow)]
pub(crate) struct CertificateRow {
    pub id: Uuid,
    pub device_id: Uuid,
    pub profile_id: Uuid,
    pub profile_version: i64,
    pub transaction_id: String,
    pub serial_number: String,
    pub thumbprint_sha1: String,
    pub issuer: String,
    pub subject: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub issued_at: DateTime<Utc>,
    pub revoke_status: String,
    pub revoke_requested_at: Option<DateTime<Utc>>,
    pub revoke_diagnostic_code: Option<i64>,
    pub revoke_message: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub reported_at: Option<DateTime<Utc>>,
}

fn diagnostic_code(id: Uuid, code: i64) -> Result<u32, StorageError> {
    u32::try_from(code).map_err(|_| corrupt(id, format!("diagnostic code {code} out of range")))
}

impl TryFrom<CertificateRow> for StoredCertificate {
    type Error = StorageError;

    fn try_from(row: CertificateRow) -> Result<Self, Self::Error> {
        Ok(StoredCertificate {
            revoke_status: parse_enum(row.id, &row.revoke_status)?,
            revoke_diagnostic_code: row
                .revoke_diagnostic_code
                .map(|code| diagnostic_code(row.id, code))
                .transpose()?,
            id: row.id,
            device_id: row.device_id,
            profile_id: row.profile_id,
            profile_version: row.profile_version,
            transaction_id: row.transaction_id,
            serial_number: row.serial_number,
            thumbprint_sha1: row.thumbprint_sha1,
            issuer: row.issuer,
            subject: row.subject,
            not_before: row.not_before,
            not_after: row.not_after,
            issued_at: row.issued_at,
            revoke_requested_at: row.revoke_requested_at,
            revoke_message: row.revoke_message,
            revoked_at: row.revoked_at,
            reported_at: row.reported_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TransactionRow {
    pub transaction_id: String,
    pub device_id: Uuid,
    pub profile_id: Uuid,
    pub profile_version: i64,
    pub challenge_id: Uuid,
    pub public_key_sha256: Vec<u8>,
    pub name_digest: Vec<u8>,
    pub verified_at: DateTime<Utc>,
    pub certificate_id: Option<Uuid>,
}

impl From<TransactionRow> for ScepTransaction {
    fn from(row: TransactionRow) -> Self {
        ScepTransaction {
            transaction_id: row.transaction_id,
            device_id: row.device_id,
            profile_id: row.profile_id,
            profile_version: row.profile_version,
            challenge_id: row.challenge_id,
            public_key_sha256: row.public_key_sha256,
            name_digest: row.name_digest,
            verified_at: row.verified_at,
            certificate_id: row.certificate_id,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct StateRow {
    pub device_id: Uuid,
    pub profile_version: i64,
    pub state: String,
    pub diagnostic_code: Option<i64>,
    pub reason: Option<String>,
    pub updated_at: DateTime<Utc>,
}

fn enrollment_step(id: Uuid, state: &str, code: Option<i64>) -> Result<EnrollmentStep, StorageError> {
    match (state, code) {
        ("challengeIssued", _) => Ok(EnrollmentStep::ChallengeIssued),
        ("failed", Some(code)) => Ok(EnrollmentStep::Failed(
            DiagnosticCode::from_code(diagnostic_code(id, code)?).unwrap_or(DiagnosticCode::UnknownError),
        )),
        (other, _) => Err(corrupt(id, format!("enrollment state {other:?}"))),
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct StepRow {
    pub profile_id: Uuid,
    pub profile_version: i64,
    pub state: String,
    pub diagnostic_code: Option<i64>,
}

impl TryFrom<StepRow> for DeviceStep {
    type Error = StorageError;

    fn try_from(row: StepRow) -> Result<Self, Self::Error> {
        Ok(DeviceStep {
            step: enrollment_step(row.profile_id, &row.state, row.diagnostic_code)?,
            profile_id: row.profile_id,
            profile_version: row.profile_version,
        })
    }
}

impl TryFrom<StateRow> for DeviceProfileState {
    type Error = StorageError;

    fn try_from(row: StateRow) -> Result<Self, Self::Error> {
        let step = enrollment_step(row.device_id, &row.state, row.diagnostic_code)?;
        Ok(DeviceProfileState {
            device_id: row.device_id,
            profile_version: row.profile_version,
            step,
            reason: row.reason,
            updated_at: row.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    pub id: Uuid,
    pub event_id: i64,
    pub device_id: Option<Uuid>,
    pub profile_id: Option<Uuid>,
    pub certificate_id: Option<Uuid>,
    pub transaction_id: Option<String>,
    pub diagnostic_code: i64,
    pub message: String,
    pub occurred_at: DateTime<Utc>,
}

impl TryFrom<EventRow> for StoredEvent {
    type Error = StorageError;

    fn try_from(row: EventRow) -> Result<Self, Self::Error> {
        Ok(StoredEvent {
            event_id: u32::try_from(row.event_id)
                .map_err(|_| corrupt(row.id, format!("event id {} out of range", row.event_id)))?,
            diagnostic_code: diagnostic_code(row.id, row.diagnostic_code)?,
            id: row.id,
            device_id: row.device_id,
            profile_id: row.profile_id,
            certificate_id: row.certificate_id,
            transaction_id: row.transaction_id,
            message: row.message,
            occurred_at: row.occurred_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub actor: String,
    pub role: String,
    pub request_id: Option<Uuid>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<Uuid>,
    pub changes: Json<Vec<scepter_domain::audit::Change>>,
}

impl TryFrom<AuditRow> for crate::StoredAuditEntry {
    type Error = StorageError;

    fn try_from(row: AuditRow) -> Result<Self, Self::Error> {
        Ok(crate::StoredAuditEntry {
            action: row.action.parse().map_err(|error| corrupt(row.id, error))?,
            resource_type: row
                .resource_type
                .parse()
                .map_err(|error| corrupt(row.id, error))?,
            id: row.id,
            occurred_at: row.occurred_at,
            actor: crate::Actor {
                subject: row.actor,
                role: row.role,
                request_id: row.request_id,
            },
            resource_id: row.resource_id,
            changes: row.changes.0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PayloadOfferRow {
    pub device_id: Uuid,
    pub profile_id: Uuid,
    pub profile_version: i64,
    pub scep_server_urls: String,
    pub challenge_expires_at: DateTime<Utc>,
    pub offered_at: DateTime<Utc>,
}

impl TryFrom<PayloadOfferRow> for PayloadOffer {
    type Error = StorageError;

    fn try_from(row: PayloadOfferRow) -> Result<Self, Self::Error> {
        Ok(PayloadOffer {
            scep_server_urls: serde_json::from_str(&row.scep_server_urls)
                .map_err(|error| corrupt(row.device_id, format!("payload offer URLs: {error}")))?,
            device_id: row.device_id,
            profile_id: row.profile_id,
            profile_version: row.profile_version,
            challenge_expires_at: row.challenge_expires_at,
            offered_at: row.offered_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProfileVersionRow {
    pub profile_id: Uuid,
    pub version: i64,
    pub changed_at: DateTime<Utc>,
}

impl From<ProfileVersionRow> for ProfileVersionChange {
    fn from(row: ProfileVersionRow) -> Self {
        ProfileVersionChange {
            profile_id: row.profile_id,
            version: row.version,
            changed_at: row.changed_at,
        }
    }
}
