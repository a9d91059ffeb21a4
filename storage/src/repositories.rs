//! The repository traits the API depends on, one per aggregate.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scepter_domain::{
    directory::{Device, Group, GroupType, User},
    targeting::{DeviceMemberships, Intent, ProfileKind, TargetedProfile},
    Platform, Record, ScepCertificateProfile, TrustedCertificateProfile,
};
use uuid::Uuid;

use crate::{Page, PageRequest, StorageError};

/// Filter of the profile list endpoints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProfileFilter {
    pub platform: Option<Platform>,
}

/// Trusted certificate profiles.
#[async_trait]
pub trait TrustedProfileRepository: Send + Sync {
    async fn insert_trusted_profile(
        &self,
        profile: &TrustedCertificateProfile,
    ) -> Result<Record<TrustedCertificateProfile>, StorageError>;

    async fn trusted_profile(
        &self,
        id: Uuid,
    ) -> Result<Option<Record<TrustedCertificateProfile>>, StorageError>;

    async fn list_trusted_profiles(
        &self,
        filter: ProfileFilter,
        page: PageRequest,
    ) -> Result<Page<Record<TrustedCertificateProfile>>, StorageError>;

    /// Replaces the profile if it is still at `expected_version`. Fails with
    /// [`StorageError::Conflict`] when a new platform would no longer suit a
    /// SCEP profile that uses this one as its root.
    async fn update_trusted_profile(
        &self,
        id: Uuid,
        expected_version: i64,
        profile: &TrustedCertificateProfile,
    ) -> Result<Record<TrustedCertificateProfile>, StorageError>;

    /// Fails with [`StorageError::Conflict`] while a SCEP profile uses it as its root.
    async fn delete_trusted_profile(
        &self,
        id: Uuid,
        expected_version: Option<i64>,
    ) -> Result<(), StorageError>;
}

/// SCEP certificate profiles.
#[async_trait]
pub trait ScepProfileRepository: Send + Sync {
    /// Fails with [`StorageError::MissingReference`] when the root profile no longer exists.
    async fn insert_scep_profile(
        &self,
        profile: &ScepCertificateProfile,
    ) -> Result<Record<ScepCertificateProfile>, StorageError>;

    async fn scep_profile(&self, id: Uuid) -> Result<Option<Record<ScepCertificateProfile>>, StorageError>;

    async fn list_scep_profiles(
        &self,
        filter: ProfileFilter,
        page: PageRequest,
    ) -> Result<Page<Record<ScepCertificateProfile>>, StorageError>;

    async fn update_scep_profile(
        &self,
        id: Uuid,
        expected_version: i64,
        profile: &ScepCertificateProfile,
    ) -> Result<Record<ScepCertificateProfile>, StorageError>;

    async fn delete_scep_profile(&self, id: Uuid, expected_version: Option<i64>) -> Result<(), StorageError>;
}

/// A device as stored: its attributes and what Scepter observed of it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDevice {
    pub device: Device,
    pub last_check_in_at: Option<DateTime<Utc>>,
}

/// Users. UPN (case-insensitive) and `externalId` are unique:
/// a duplicate is [`StorageError::Conflict`].
#[async_trait]
pub trait UserRepository: Send + Sync {
    async fn insert_user(&self, user: &User) -> Result<Record<User>, StorageError>;
    async fn user(&self, id: Uuid) -> Result<Option<Record<User>>, StorageError>;
    async fn list_users(&self, page: PageRequest) -> Result<Page<Record<User>>, StorageError>;
    async fn update_user(
        &self,
        id: Uuid,
        expected_version: i64,
        user: &User,
    ) -> Result<Record<User>, StorageError>;
    /// Removes the user's group memberships and clears it as primary user of its devices.
    async fn delete_user(&self, id: Uuid, expected_version: Option<i64>) -> Result<(), StorageError>;
}

/// Devices. `externalId` is unique; `userId` must name a user ([`StorageError::MissingReference`]).
#[async_trait]
pub trait DeviceRepository: Send + Sync {
    async fn insert_device(&self, device: &Device) -> Result<Record<StoredDevice>, StorageError>;
    async fn device(&self, id: Uuid) -> Result<Option<Record<StoredDevice>>, StorageError>;
    async fn list_devices(&self, page: PageRequest) -> Result<Page<Record<StoredDevice>>, StorageError>;
    async fn update_device(
        &self,
        id: Uuid,
        expected_version: i64,
        device: &Device,
    ) -> Result<Record<StoredDevice>, StorageError>;
    async fn delete_device(&self, id: Uuid, expected_version: Option<i64>) -> Result<(), StorageError>;
}

/// A group member as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub id: Uuid,
    pub member_type: GroupType,
    /// The user's display name or the device's name.
    pub display_name: String,
    pub external_id: Option<String>,
}

/// Why some requested member ids cannot join a group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RejectedMembers {
    /// Ids that name no user and no device.
    pub unknown: Vec<Uuid>,
    /// Ids of the other kind (a device for a user group, or the reverse).
    pub wrong_kind: Vec<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MembershipChange {
    pub added: u64,
    /// Already members (adding is idempotent).
    pub unchanged: u64,
}

/// Groups and their members. Deleting a group removes its memberships and assignments.
#[async_trait]
pub trait GroupRepository: Send + Sync {
    async fn insert_group(&self, group: &Group) -> Result<Record<Group>, StorageError>;
    async fn group(&self, id: Uuid) -> Result<Option<Record<Group>>, StorageError>;
    async fn list_groups(&self, page: PageRequest) -> Result<Page<Record<Group>>, StorageError>;
    /// The caller checks that the type did not change ([`Group::check_replacement`]).
    async fn update_group(
        &self,
        id: Uuid,
        expected_version: i64,
        group: &Group,
    ) -> Result<Record<Group>, StorageError>;
    async fn delete_group(&self, id: Uuid, expected_version: Option<i64>) -> Result<(), StorageError>;

    /// Adds members in one transaction: all of them, or — when any id is
    /// unknown or of the wrong kind — none, with `Err(Ok(rejected))`.
    async fn add_members(
        &self,
        group_id: Uuid,
        member_ids: &[Uuid],
    ) -> Result<Result<MembershipChange, RejectedMembers>, StorageError>;
    /// [`StorageError::NotFound`] when the id is not a member.
    async fn remove_member(&self, group_id: Uuid, member_id: Uuid) -> Result<(), StorageError>;
    async fn list_members(
        &self,
        group_id: Uuid,
        page: PageRequest,
    ) -> Result<Page<GroupMember>, StorageError>;
}

/// An assignment of a profile to a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub id: Uuid,
    pub profile_kind: ProfileKind,
    pub profile_id: Uuid,
    pub group_id: Uuid,
    pub intent: Intent,
    pub created_at: DateTime<Utc>,
}

/// Profile assignments and the facts targeting decides on.
#[async_trait]
pub trait AssignmentRepository: Send + Sync {
    /// [`StorageError::NotFound`] for an unknown profile, [`StorageError::MissingReference`]
    /// for an unknown group, [`StorageError::Conflict`] when the group is already assigned.
    async fn insert_assignment(
        &self,
        kind: ProfileKind,
        profile_id: Uuid,
        group_id: Uuid,
        intent: Intent,
    ) -> Result<Assignment, StorageError>;
    async fn list_assignments(
        &self,
        kind: ProfileKind,
        profile_id: Uuid,
        page: PageRequest,
    ) -> Result<Page<Assignment>, StorageError>;
    async fn delete_assignment(
        &self,
        kind: ProfileKind,
        profile_id: Uuid,
        assignment_id: Uuid,
    ) -> Result<(), StorageError>;

    /// Every profile assigned to a group the device or its primary user is
    /// in, and those groups (groups without assignments are left out: they
    /// cannot change the outcome); `None` for an unknown device.
    async fn device_targeting_facts(
        &self,
        device_id: Uuid,
    ) -> Result<Option<(DeviceMemberships, Vec<TargetedProfile>)>, StorageError>;

    /// Devices of the profile's platform that the profile reaches and no
    /// exclusion stops (targeting rules 1–3), in id order. The SQL mirrors
    /// `scepter_domain::targeting`; the black-box suite checks they agree.
    async fn targeted_devices(
        &self,
        kind: ProfileKind,
        profile_id: Uuid,
        platform: Platform,
        page: PageRequest,
    ) -> Result<Page<Record<StoredDevice>>, StorageError>;
}

/// A stored device credential: whose it is and the SHA-256 of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredential {
    pub device_id: Uuid,
    pub secret_digest: Vec<u8>,
    pub revoked: bool,
}

/// Credentials devices authenticate with (only digests of their secrets).
#[async_trait]
pub trait DeviceCredentialRepository: Send + Sync {
    /// Revokes the device's credentials and stores a new one, in one
    /// transaction; [`StorageError::NotFound`] for an unknown device.
    async fn replace_device_credential(
        &self,
        device_id: Uuid,
        credential_id: Uuid,
        secret_digest: &[u8],
    ) -> Result<(), StorageError>;
    /// Revokes every credential of the device; [`StorageError::NotFound`] for an unknown device.
    async fn revoke_device_credentials(&self, device_id: Uuid) -> Result<(), StorageError>;
    async fn device_credential(&self, credential_id: Uuid) -> Result<Option<StoredCredential>, StorageError>;
}

/// Everything the API needs from a database.
#[async_trait]
pub trait Store:
    TrustedProfileRepository
    + ScepProfileRepository
    + UserRepository
    + DeviceRepository
    + GroupRepository
    + AssignmentRepository
    + DeviceCredentialRepository
    + crate::ImportRepository
{
    /// Applies the embedded migrations that have not run yet.
    async fn migrate(&self) -> Result<(), StorageError>;

    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> Result<(), StorageError>;

    /// Closes the pool, waiting for connections in use.
    async fn close(&self);
}
