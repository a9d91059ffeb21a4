//! The directory's writes: users, devices and groups (see [`super::versioned`]),
//! group members, and device credentials.

use std::collections::HashSet;

use rand::RngCore;
use scepter_domain::audit::{AuditAction, Change, ResourceType};
use scepter_domain::{
    device_credential::DeviceCredential,
    directory::{Device, DeviceDraft, Group, GroupDraft, User, UserDraft, MAX_MEMBERS_PER_REQUEST},
    Record, ValidationErrors,
};
use scepter_storage::{
    Actor, MembershipChange, NewAuditEntry, PageRequest, PlannedChange, RejectedMembers, RevocationScope,
    StorageError, Store, StoredDevice, WouldWrite,
};
use serde_json::Value;
use uuid::Uuid;

use super::{
    audit,
    dry_run::{self, DryRun},
    enrollment,
    versioned::{missing_reference, Pending, Versioned},
};
use crate::{
    error::ApiError,
    http::dto::{DeviceView, GroupView, UserView},
    state::AppState,
};

impl Versioned for User {
    type Draft = UserDraft;
    type Stored = User;
    const RESOURCE_TYPE: ResourceType = ResourceType::User;

    async fn validate(_: &AppState, draft: UserDraft, _: Option<&Record<User>>) -> Result<Self, ApiError> {
        Ok(User::parse(draft)?)
    }
    fn snapshot(user: &User) -> Value {
        audit::view_snapshot(user.clone(), UserView::from)
    }
    fn content(user: &User) -> &User {
        user
    }
    fn insert<'a>(
        store: &'a dyn Store,
        user: &'a User,
        audit: &'a NewAuditEntry,
    ) -> Pending<'a, Record<User>> {
        store.insert_user(user, audit)
    }
    fn read(store: &dyn Store, id: Uuid) -> Pending<'_, Option<Record<User>>> {
        store.user(id)
    }
    fn update<'a>(
        store: &'a dyn Store,
        id: Uuid,
        version: i64,
        user: &'a User,
        audit: &'a NewAuditEntry,
    ) -> Pending<'a, Record<User>> {
        store.update_user(id, version, user, audit)
    }
    fn delete<'a>(
        store: &'a dyn Store,
        id: Uuid,
        version: Option<i64>,
        audit: &'a NewAuditEntry,
    ) -> Pending<'a, ()> {
        store.delete_user(id, version, audit)
    }
    /// Its devices lose their primary user, and with it user-group profiles.
    fn revocations_after_delete(_: Uuid) -> Option<RevocationScope> {
        Some(RevocationScope::All)
    }
    fn planned_delete(id: Uuid, expected_version: Option<i64>) -> Option<PlannedChange<'static>> {
        Some(PlannedChange::DeleteUser {
            user_id: id,
            expected_version,
        })
    }
}

impl Versioned for Device {
    type Draft = DeviceDraft;
    type Stored = StoredDevice;
    const RESOURCE_TYPE: ResourceType = ResourceType::Device;

    async fn validate(
        _: &AppState,
        draft: DeviceDraft,
        _: Option<&Record<StoredDevice>>,
    ) -> Result<Self, ApiError> {
        Ok(Device::parse(draft)?)
    }
    /// What the admin set; not what Scepter observed (its last check-in).
    fn snapshot(device: &Device) -> Value {
        let stored = StoredDevice {
            device: device.clone(),
            last_check_in_at: None,
        };
        audit::view_snapshot(stored, DeviceView::from)
    }
    fn content(stored: &StoredDevice) -> &Device {
        &stored.device
    }
    fn insert<'a>(
        store: &'a dyn Store,
        device: &'a Device,
        audit: &'a NewAuditEntry,
    ) -> Pending<'a, Record<StoredDevice>> {
        store.insert_device(device, audit)
    }
    fn read(store: &dyn Store, id: Uuid) -> Pending<'_, Option<Record<StoredDevice>>> {
        store.device(id)
    }
    fn update<'a>(
        store: &'a dyn Store,
        id: Uuid,
        version: i64,
        device: &'a Device,
        audit: &'a NewAuditEntry,
    ) -> Pending<'a, Record<StoredDevice>> {
        store.update_device(id, version, device, audit)
    }
    fn delete<'a>(
        store: &'a dyn Store,
        id: Uuid,
        version: Option<i64>,
        audit: &'a NewAuditEntry,
    ) -> Pending<'a, ()> {
        store.delete_device(id, version, audit)
    }
    /// The primary user was not found (or deleted meanwhile).
    fn write_error(error: StorageError) -> ApiError {
        missing_reference(error, "userId", "does not name an existing user")
    }
    /// A new primary user or platform can stop profiles reaching the device.
    fn revocations_after_replace(id: Uuid) -> Option<RevocationScope> {
        Some(RevocationScope::Devices(vec![id]))
    }
    /// A retired device's certificates are revoked.
    fn revocations_after_delete(id: Uuid) -> Option<RevocationScope> {
        Some(RevocationScope::Devices(vec![id]))
    }
    fn planned_replace(id: Uuid, expected_version: i64, device: &Self) -> Option<PlannedChange<'_>> {
        Some(PlannedChange::ReplaceDevice {
            device_id: id,
            expected_version,
            device,
        })
    }
    fn planned_delete(id: Uuid, expected_version: Option<i64>) -> Option<PlannedChange<'static>> {
        Some(PlannedChange::DeleteDevice {
            device_id: id,
            expected_version,
        })
    }
}

impl Versioned for Group {
    type Draft = GroupDraft;
    type Stored = Group;
    const RESOURCE_TYPE: ResourceType = ResourceType::Group;

    /// A replacement keeps the group's type.
    async fn validate(
        _: &AppState,
        draft: GroupDraft,
        current: Option<&Record<Group>>,
    ) -> Result<Self, ApiError> {
        let group = Group::parse(draft)?;
        if let Some(current) = current {
            current.content.check_replacement(&group)?;
        }
        Ok(group)
    }
    fn snapshot(group: &Group) -> Value {
        audit::view_snapshot(group.clone(), GroupView::from)
    }
    fn content(group: &Group) -> &Group {
        group
    }
    fn insert<'a>(
        store: &'a dyn Store,
        group: &'a Group,
        audit: &'a NewAuditEntry,
    ) -> Pending<'a, Record<Group>> {
        store.insert_group(group, audit)
    }
    fn read(store: &dyn Store, id: Uuid) -> Pending<'_, Option<Record<Group>>> {
        store.group(id)
    }
    fn update<'a>(
        store: &'a dyn Store,
        id: Uuid,
        version: i64,
        group: &'a Group,
        audit: &'a NewAuditEntry,
    ) -> Pending<'a, Record<Group>> {
        store.update_group(id, version, group, audit)
    }
    /// Also removes its memberships and the assignments that name it.
    fn delete<'a>(
        store: &'a dyn Store,
        id: Uuid,
        version: Option<i64>,
        audit: &'a NewAuditEntry,
    ) -> Pending<'a, ()> {
        store.delete_group(id, version, audit)
    }
    fn revocations_after_delete(_: Uuid) -> Option<RevocationScope> {
        Some(RevocationScope::All)
    }
    fn planned_delete(id: Uuid, expected_version: Option<i64>) -> Option<PlannedChange<'static>> {
        Some(PlannedChange::DeleteGroup {
            group_id: id,
            expected_version,
        })
    }
}

/// Adds members to a group in one transaction, or — when any id is unknown or
/// of the wrong kind — none, with a 422 naming each such id. A group can be
/// excluded from a SCEP profile: the revocations that can follow are queued.
pub async fn add_members(
    state: &AppState,
    actor: &Actor,
    group_id: Uuid,
    member_ids: &[Uuid],
) -> Result<MembershipChange, ApiError> {
    check_member_count(member_ids)?;
    let audit = add_members_entry(actor);
    match state.store.add_members(group_id, member_ids, &audit).await? {
        Ok(change) => {
            enrollment::queue_revocations(state, member_scope(state, member_ids).await?).await;
            Ok(change)
        }
        Err(rejected) => Err(rejected_members(member_ids, rejected)),
    }
}

/// A dry run of [`add_members`].
pub async fn add_members_dry_run(
    state: &AppState,
    actor: &Actor,
    group_id: Uuid,
    member_ids: &[Uuid],
    devices: PageRequest,
) -> Result<DryRun, ApiError> {
    check_member_count(member_ids)?;
    let audit = add_members_entry(actor);
    let change = PlannedChange::AddMembers { group_id, member_ids };
    let revocations = member_scope(state, member_ids).await?;
    let run = dry_run::measure(state, change, &audit, Some(revocations), devices).await?;
    match run.written {
        WouldWrite::RejectedMembers(rejected) => Err(rejected_members(member_ids, rejected)),
        _ => Ok(run),
    }
}

fn check_member_count(member_ids: &[Uuid]) -> Result<(), ApiError> {
    if member_ids.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(ApiError::field(
            "memberIds",
            "maxItems",
            format!(
                "at most {MAX_MEMBERS_PER_REQUEST} ids per request, got {}",
                member_ids.len()
            ),
        ));
    }
    Ok(())
}

/// The store lists the members it actually added.
fn add_members_entry(actor: &Actor) -> NewAuditEntry {
    audit::entry_with(actor, AuditAction::AddMembers, ResourceType::Group, Vec::new())
}

/// The 422 naming each member id that is unknown or of the wrong kind.
fn rejected_members(member_ids: &[Uuid], rejected: RejectedMembers) -> ApiError {
    let unknown: HashSet<Uuid> = rejected.unknown.into_iter().collect();
    let wrong_kind: HashSet<Uuid> = rejected.wrong_kind.into_iter().collect();
    let mut errors = ValidationErrors::new();
    for (index, member_id) in member_ids.iter().enumerate() {
        if unknown.contains(member_id) {
            errors.push(
                format!("memberIds[{index}]"),
                "exists",
                format!("{member_id} names no user or device"),
            );
        } else if wrong_kind.contains(member_id) {
            errors.push(
                format!("memberIds[{index}]"),
                "memberType",
                format!("{member_id} is not of the group's type"),
            );
        }
    }
    errors.into()
}

/// The certificates to check after members joined or left: those of the
/// devices themselves, or — as a user stands for all their devices — all.
async fn member_scope(state: &AppState, member_ids: &[Uuid]) -> Result<RevocationScope, ApiError> {
    let mut devices: Vec<Uuid> = member_ids.to_vec();
    devices.sort_unstable();
    devices.dedup();
    let found = state.store.devices(&devices).await?;
    Ok(if found.len() == devices.len() {
        RevocationScope::Devices(devices)
    } else {
        RevocationScope::All
    })
}

/// Removes a member and queues the revocations that can follow.
pub async fn remove_member(
    state: &AppState,
    actor: &Actor,
    group_id: Uuid,
    member_id: Uuid,
) -> Result<(), ApiError> {
    state
        .store
        .remove_member(group_id, member_id, &remove_member_entry(actor))
        .await?;
    enrollment::queue_revocations(state, member_scope(state, &[member_id]).await?).await;
    Ok(())
}

/// A dry run of [`remove_member`].
pub async fn remove_member_dry_run(
    state: &AppState,
    actor: &Actor,
    group_id: Uuid,
    member_id: Uuid,
    devices: PageRequest,
) -> Result<DryRun, ApiError> {
    let change = PlannedChange::RemoveMember { group_id, member_id };
    let revocations = member_scope(state, &[member_id]).await?;
    Ok(dry_run::measure(
        state,
        change,
        &remove_member_entry(actor),
        Some(revocations),
        devices,
    )
    .await?)
}

/// The store records which kind of member left.
fn remove_member_entry(actor: &Actor) -> NewAuditEntry {
    audit::entry_with(actor, AuditAction::RemoveMember, ResourceType::Group, Vec::new())
}

/// Revokes the device's earlier credentials and returns a new one; only its digest is stored.
pub async fn issue_device_credential(
    state: &AppState,
    actor: &Actor,
    device_id: Uuid,
) -> Result<DeviceCredential, ApiError> {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let credential = DeviceCredential::new(Uuid::now_v7(), secret);
    // The credential by id only: its secret appears nowhere but in the response.
    let audit = audit::entry_with(
        actor,
        AuditAction::IssueCredential,
        ResourceType::Device,
        vec![Change::new(
            "/credentialId",
            None,
            Some(credential.id().to_string().into()),
        )],
    );
    state
        .store
        .replace_device_credential(device_id, credential.id(), &credential.secret_digest(), &audit)
        .await?;
    tracing::info!(%device_id, credential_id = %credential.id(), "issued a device credential");
    Ok(credential)
}
