//! Users, devices, groups and their members, and what reaches a device.

use chrono::{DateTime, Utc};
use scepter_domain::{
    directory::{Group, GroupType, User},
    targeting::{EffectiveProfile, ProfileKind, TargetReason, TargetState},
    Platform, Record,
};
use scepter_storage::{GroupMember, MembershipChange, StoredDevice};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

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
        let GroupMember {
            id,
            member_type,
            display_name,
            external_id,
        } = member;
        Self {
            id,
            member_type,
            display_name,
            external_id,
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

impl From<MembershipChange> for MembershipChangeView {
    fn from(MembershipChange { added, unchanged }: MembershipChange) -> Self {
        Self { added, unchanged }
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
        let EffectiveProfile {
            profile_id,
            kind,
            state,
            reason,
            assignment_ids,
        } = profile;
        Self {
            profile_id,
            profile_type: kind,
            state,
            reason,
            assignments: assignment_ids,
        }
    }
}

/// Every profile that reaches the device, with its state.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveProfileList {
    pub items: Vec<EffectiveProfileView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EffectiveProfilesQuery {
    /// Also list profiles that reach the device but do not install: excluded
    /// ones (with the excluding assignments) and those for another platform.
    #[serde(default)]
    pub explain: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedCredential {
    pub credential_id: Uuid,
    /// The device's bearer credential for `/device/v1`. Shown once: Scepter keeps only its digest.
    pub credential: String,
}
