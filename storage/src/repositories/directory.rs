//! Users, devices, groups and group members.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scepter_domain::{
    directory::{Device, Group, GroupType, User},
    Record,
};
use uuid::Uuid;

use crate::{NewAuditEntry, Page, PageRequest, StorageError};

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
    async fn insert_user(&self, user: &User, audit: &NewAuditEntry) -> Result<Record<User>, StorageError>;
    async fn user(&self, id: Uuid) -> Result<Option<Record<User>>, StorageError>;
    async fn list_users(&self, page: PageRequest) -> Result<Page<Record<User>>, StorageError>;
    async fn update_user(
        &self,
        id: Uuid,
        expected_version: i64,
        user: &User,
        audit: &NewAuditEntry,
    ) -> Result<Record<User>, StorageError>;
    /// Removes the user's group memberships and clears it as primary user of its devices.
    async fn delete_user(
        &self,
        id: Uuid,
        expected_version: Option<i64>,
        audit: &NewAuditEntry,
    ) -> Result<(), StorageError>;
}

/// Devices. `externalId` is unique; `userId` must name a user ([`StorageError::MissingReference`]).
#[async_trait]
pub trait DeviceRepository: Send + Sync {
    async fn insert_device(
        &self,
        device: &Device,
        audit: &NewAuditEntry,
    ) -> Result<Record<StoredDevice>, StorageError>;
    async fn device(&self, id: Uuid) -> Result<Option<Record<StoredDevice>>, StorageError>;
    /// The devices among `ids` that exist, by id, in one round trip (at most
    /// [`PageRequest::MAX_LIMIT`] ids: a page's worth).
    async fn devices(&self, ids: &[Uuid]) -> Result<Vec<Record<StoredDevice>>, StorageError>;
    async fn list_devices(&self, page: PageRequest) -> Result<Page<Record<StoredDevice>>, StorageError>;
    async fn update_device(
        &self,
        id: Uuid,
        expected_version: i64,
        device: &Device,
        audit: &NewAuditEntry,
    ) -> Result<Record<StoredDevice>, StorageError>;
    async fn delete_device(
        &self,
        id: Uuid,
        expected_version: Option<i64>,
        audit: &NewAuditEntry,
    ) -> Result<(), StorageError>;
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
    async fn insert_group(&self, group: &Group, audit: &NewAuditEntry)
        -> Result<Record<Group>, StorageError>;
    async fn group(&self, id: Uuid) -> Result<Option<Record<Group>>, StorageError>;
    async fn list_groups(&self, page: PageRequest) -> Result<Page<Record<Group>>, StorageError>;
    /// The caller checks that the type did not change ([`Group::check_replacement`]).
    async fn update_group(
        &self,
        id: Uuid,
        expected_version: i64,
        group: &Group,
        audit: &NewAuditEntry,
    ) -> Result<Record<Group>, StorageError>;
    async fn delete_group(
        &self,
        id: Uuid,
        expected_version: Option<i64>,
        audit: &NewAuditEntry,
    ) -> Result<(), StorageError>;

    /// Adds members in one transaction: all of them, or — when any id is
    /// unknown or of the wrong kind — none, with `Err(Ok(rejected))`.
    async fn add_members(
        &self,
        group_id: Uuid,
        member_ids: &[Uuid],
        audit: &NewAuditEntry,
    ) -> Result<Result<MembershipChange, RejectedMembers>, StorageError>;
    /// [`StorageError::NotFound`] when the id is not a member.
    async fn remove_member(
        &self,
        group_id: Uuid,
        member_id: Uuid,
        audit: &NewAuditEntry,
    ) -> Result<(), StorageError>;
    async fn list_members(
        &self,
        group_id: Uuid,
        page: PageRequest,
    ) -> Result<Page<GroupMember>, StorageError>;
}
