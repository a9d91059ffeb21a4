//! Bulk import (`scepter import`): upserts of users, devices and group members
//! keyed by the source directory's `externalId`, a batch at a time.
//!
//! Onboarding brings tens of thousands of rows, so the repository works on
//! batches: one transaction each, a handful of set-based statements (one
//! `IN (…)` lookup of what already exists, one multi-row `INSERT`, an `UPDATE`
//! only per row that really changed). A bad row must not cost the good ones
//! their batch, so every conflict a unique index or foreign key would raise is
//! decided up front, in Rust, from those lookups — a row that would fail comes
//! back as [`RowOutcome::Rejected`] with a reason, and no statement is sent
//! for it. An identical re-run finds every row equal to what is stored and
//! writes nothing: versions and modification times stay as they are.
//!
//! The deciding is pure (the `plan_*` functions below, unit-tested here); the
//! SQL that gathers the facts and applies the plan lives once for both
//! backends in `sql/import.rs`.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use scepter_domain::{
    directory::{Device, GroupType, User},
    Record,
};
use uuid::Uuid;

use crate::{StorageError, StoredDevice};

/// What an import did with one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    /// No row had its `externalId`: inserted at version 1.
    Created,
    /// A row had its `externalId` and other values: replaced, version + 1.
    Updated,
    /// A row had its `externalId` and the same values: nothing written.
    Unchanged,
    /// Not written; the reason is a sentence for the operator.
    Rejected(String),
}

/// One run of an import, for the audit trail. Each batch records, in its own
/// transaction, one entry about the run (resource type `import`, the run's
/// id): the batch's counts per outcome. A run of up to one batch is one
/// entry; a longer run is one entry per committed batch, so no committed row
/// is ever without its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRun {
    pub id: Uuid,
    pub actor: crate::Actor,
    /// The imported file's name, as the operator gave it.
    pub source: String,
}

impl ImportRun {
    /// The entry of one batch of `kind` (`users`, `devices`, `memberships`).
    pub(crate) fn batch_entry(&self, kind: &str, outcomes: &[RowOutcome]) -> crate::NewAuditEntry {
        use scepter_domain::audit::{pointer, AuditAction, Change, ResourceType};
        let count =
            |wanted: fn(&RowOutcome) -> bool| outcomes.iter().filter(|outcome| wanted(outcome)).count();
        let counts = [
            ("created", count(|outcome| *outcome == RowOutcome::Created)),
            ("updated", count(|outcome| *outcome == RowOutcome::Updated)),
            ("unchanged", count(|outcome| *outcome == RowOutcome::Unchanged)),
            (
                "rejected",
                count(|outcome| matches!(outcome, RowOutcome::Rejected(_))),
            ),
        ];
        let mut changes = vec![Change::new("/source", None, Some(self.source.clone().into()))];
        changes.extend(counts.into_iter().map(|(outcome, count)| {
            Change::new(pointer(&format!("/{kind}"), outcome), None, Some(count.into()))
        }));
        crate::NewAuditEntry::new(&self.actor, AuditAction::Import, ResourceType::Import, changes)
    }
}

/// A device to import. Its primary user is named by the user's `externalId`
/// (the source directory's key), resolved to a user id inside the batch's
/// transaction; `device.user_id` is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceImport {
    pub device: Device,
    /// `None`: the device has no primary user (an existing one is cleared).
    pub user_external_id: Option<String>,
}

/// A group membership to import: both ends named by `externalId`. Whether the
/// member is a user or a device follows from the group's type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MembershipImport {
    pub group_external_id: String,
    pub member_external_id: String,
}

/// Batch upserts for bulk import. Each method takes one batch, runs it in one
/// transaction and returns one outcome per input row, in input order. A batch
/// of any length is accepted (statements are chunked below the backends'
/// bind-parameter limits), but the caller keeps batches to about a thousand
/// rows so transactions stay short. `Err` means the batch was not applied at
/// all (database unreachable, or a concurrent writer won a race on a unique
/// key); re-running the import is then safe.
#[async_trait]
pub trait ImportRepository: Send + Sync {
    /// Inserts or replaces users by `externalId`. Rejected: a user without
    /// `externalId`; a second row with the same `externalId` in the batch (the
    /// first one is imported); a `userPrincipalName` (compared
    /// case-insensitively) that another user holds, in the database or on an
    /// earlier row of the batch.
    async fn upsert_users(&self, users: &[User], run: &ImportRun) -> Result<Vec<RowOutcome>, StorageError>;

    /// Inserts or replaces devices by `externalId`, the primary user resolved
    /// from `user_external_id`. Rejected: a device without `externalId`; a
    /// repeated `externalId` in the batch (the first one is imported); an
    /// unknown `user_external_id`. The device's last check-in is kept.
    async fn upsert_devices(
        &self,
        devices: &[DeviceImport],
        run: &ImportRun,
    ) -> Result<Vec<RowOutcome>, StorageError>;

    /// Adds members to groups. `Unchanged` when already a member (also for a
    /// pair repeated in the batch). Rejected: an unknown group `externalId`;
    /// an unknown member `externalId`; a member of the other kind than the
    /// group holds. Never removes members.
    async fn import_memberships(
        &self,
        rows: &[MembershipImport],
        run: &ImportRun,
    ) -> Result<Vec<RowOutcome>, StorageError>;
}

/// A conditional replacement: applied only if the row is still at `version`.
#[derive(Debug)]
pub(crate) struct PlannedUpdate<T> {
    pub index: usize,
    pub id: Uuid,
    pub version: i64,
    pub value: T,
}

/// The decided fate of a batch: outcomes for every row, and the writes that
/// realise the `Created` (`inserts`) and `Updated` ones.
#[derive(Debug)]
pub(crate) struct Plan<T> {
    pub outcomes: Vec<RowOutcome>,
    pub inserts: Vec<T>,
    pub updates: Vec<PlannedUpdate<T>>,
}

impl<T> Plan<T> {
    fn with_capacity(rows: usize) -> Self {
        Self {
            outcomes: Vec::with_capacity(rows),
            inserts: Vec::new(),
            updates: Vec::new(),
        }
    }

    /// Row `index` is written: `Updated` over the `stored` record (at its
    /// version), or `Created` when there is none.
    fn write<S>(&mut self, index: usize, stored: Option<&Record<S>>, value: T) {
        match stored {
            Some(record) => {
                self.outcomes.push(RowOutcome::Updated);
                self.updates.push(PlannedUpdate {
                    index,
                    id: record.id,
                    version: record.version,
                    value,
                });
            }
            None => {
                self.outcomes.push(RowOutcome::Created);
                self.inserts.push(value);
            }
        }
    }

    /// A conditional update that matched no row: someone changed or deleted it
    /// between the lookup and the write.
    pub fn lost_race(&mut self, index: usize) {
        self.outcomes[index] = RowOutcome::Rejected(
            "changed or deleted by someone else during the import; run the import again".to_owned(),
        );
    }
}

/// Each distinct value once, in first-seen order.
pub(crate) fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    values.filter(|value| seen.insert(*value)).collect()
}

/// Who holds a user principal name key now.
#[derive(Debug, Clone)]
pub(crate) struct UpnHolder {
    pub id: Uuid,
    pub external_id: Option<String>,
}

fn required_external_id(what: &str) -> RowOutcome {
    RowOutcome::Rejected(format!("externalId is required to import a {what}"))
}

fn repeated_external_id(external_id: &str) -> RowOutcome {
    RowOutcome::Rejected(format!(
        "externalId {external_id:?} is given more than once in the batch; only its first row is imported"
    ))
}

/// Decides a batch of users. `existing`: stored users by `externalId`;
/// `holders`: stored users by UPN key, for every key of the batch.
///
/// A UPN key counts as taken while any other stored user holds it, even one
/// this batch renames: that keeps the writes free of unique violations in any
/// order (swaps included), and a re-run imports what waited.
pub(crate) fn plan_users<'a>(
    users: &'a [User],
    existing: &HashMap<String, Record<User>>,
    holders: &HashMap<String, UpnHolder>,
) -> Plan<&'a User> {
    let mut plan = Plan::with_capacity(users.len());
    let mut seen: HashSet<&str> = HashSet::with_capacity(users.len());
    // Keys given to earlier rows of this batch, with their rows' externalIds.
    let mut claimed: HashMap<String, &str> = HashMap::new();
    for (index, user) in users.iter().enumerate() {
        let Some(external_id) = user.external_id.as_deref() else {
            plan.outcomes.push(required_external_id("user"));
            continue;
        };
        if !seen.insert(external_id) {
            plan.outcomes.push(repeated_external_id(external_id));
            continue;
        }
        let stored = existing.get(external_id);
        if stored.is_some_and(|record| record.content == *user) {
            plan.outcomes.push(RowOutcome::Unchanged);
            continue;
        }
        let key = user.principal_name_key();
        let own_id = stored.map(|record| record.id);
        let taken_by = match (holders.get(&key), claimed.get(&key)) {
            (Some(holder), _) if Some(holder.id) != own_id => Some(match &holder.external_id {
                Some(other) => format!("the user with externalId {other:?}"),
                None => format!("user {} (which has no externalId)", holder.id),
            }),
            // Same words as for a stored holder: whether the earlier row sits in
            // this batch or a committed one is the caller's batching, not news.
            (_, Some(other)) => Some(format!("the user with externalId {other:?}")),
            _ => None,
        };
        if let Some(taken_by) = taken_by {
            plan.outcomes.push(RowOutcome::Rejected(format!(
                "userPrincipalName {:?} is already used by {taken_by} (compared case-insensitively)",
                user.user_principal_name
            )));
            continue;
        }
        claimed.insert(key, external_id);
        plan.write(index, stored, user);
    }
    plan
}

/// Decides a batch of devices. `existing`: stored devices by `externalId`;
/// `users`: user ids by `externalId`, for every `user_external_id` of the batch.
pub(crate) fn plan_devices(
    devices: &[DeviceImport],
    existing: &HashMap<String, Record<StoredDevice>>,
    users: &HashMap<String, Uuid>,
) -> Plan<Device> {
    let mut plan = Plan::with_capacity(devices.len());
    let mut seen: HashSet<&str> = HashSet::with_capacity(devices.len());
    for (index, import) in devices.iter().enumerate() {
        let Some(external_id) = import.device.external_id.as_deref() else {
            plan.outcomes.push(required_external_id("device"));
            continue;
        };
        if !seen.insert(external_id) {
            plan.outcomes.push(repeated_external_id(external_id));
            continue;
        }
        let user_id = match import.user_external_id.as_deref() {
            None => None,
            Some(user_external_id) => match users.get(user_external_id) {
                Some(id) => Some(*id),
                None => {
                    plan.outcomes.push(RowOutcome::Rejected(format!(
                        "unknown userExternalId {user_external_id:?}: no user has that externalId"
                    )));
                    continue;
                }
            },
        };
        let device = Device {
            user_id,
            ..import.device.clone()
        };
        match existing.get(external_id) {
            Some(record) if record.content.device == device => plan.outcomes.push(RowOutcome::Unchanged),
            stored => plan.write(index, stored, device),
        }
    }
    plan
}

/// A stored group as membership import needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GroupRef {
    pub id: Uuid,
    pub group_type: GroupType,
}

/// A membership to insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct NewMembership {
    pub group_type: GroupType,
    pub group_id: Uuid,
    pub member_id: Uuid,
}

/// Decides a batch of memberships. `groups`, `users`, `devices`: stored ids by
/// `externalId` for every `externalId` of the batch; `members`: the stored
/// (group id, member id) pairs of every user and device found.
pub(crate) fn plan_memberships(
    rows: &[MembershipImport],
    groups: &HashMap<String, GroupRef>,
    users: &HashMap<String, Uuid>,
    devices: &HashMap<String, Uuid>,
    members: &HashSet<(Uuid, Uuid)>,
) -> Plan<NewMembership> {
    let mut plan = Plan::with_capacity(rows.len());
    let mut planned: HashSet<(Uuid, Uuid)> = HashSet::new();
    for row in rows {
        let Some(group) = groups.get(&row.group_external_id) else {
            plan.outcomes.push(RowOutcome::Rejected(format!(
                "unknown groupExternalId {:?}: no group has that externalId",
                row.group_external_id
            )));
            continue;
        };
        let (own, other, own_kind, other_kind) = match group.group_type {
            GroupType::User => (users, devices, "user", "device"),
            GroupType::Device => (devices, users, "device", "user"),
        };
        let Some(member_id) = own.get(&row.member_external_id).copied() else {
            let reason = if other.contains_key(&row.member_external_id) {
                format!(
                    "memberExternalId {:?} is a {other_kind}, but group {:?} is a {own_kind} group",
                    row.member_external_id, row.group_external_id
                )
            } else {
                format!(
                    "unknown memberExternalId {:?}: no {own_kind} has that externalId",
                    row.member_external_id
                )
            };
            plan.outcomes.push(RowOutcome::Rejected(reason));
            continue;
        };
        let pair = (group.id, member_id);
        if members.contains(&pair) || !planned.insert(pair) {
            plan.outcomes.push(RowOutcome::Unchanged);
            continue;
        }
        plan.outcomes.push(RowOutcome::Created);
        plan.inserts.push(NewMembership {
            group_type: group.group_type,
            group_id: group.id,
            member_id,
        });
    }
    plan
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use scepter_domain::Platform;

    use super::*;

    fn user(external_id: Option<&str>, upn: &str) -> User {
        User {
            user_principal_name: upn.to_owned(),
            display_name: "Someone".to_owned(),
            mail: None,
            on_premises_distinguished_name: None,
            on_premises_sam_account_name: None,
            on_premises_security_identifier: None,
            external_id: external_id.map(str::to_owned),
        }
    }

    fn record<T>(content: T) -> Record<T> {
        Record {
            id: Uuid::now_v7(),
            version: 3,
            created_at: Utc::now(),
            modified_at: Utc::now(),
            content,
        }
    }

    fn device(external_id: &str) -> Device {
        Device {
            device_name: "Laptop".to_owned(),
            platform: Platform::Windows10,
            os_version: None,
            serial_number: None,
            imei: None,
            meid: None,
            wifi_mac_address: None,
            fully_qualified_domain_name: None,
            azure_ad_device_id: None,
            user_id: None,
            external_id: Some(external_id.to_owned()),
        }
    }

    fn rejected(outcome: &RowOutcome) -> &str {
        match outcome {
            RowOutcome::Rejected(reason) => reason,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn users_are_created_updated_or_left_alone() {
        let same = record(user(Some("same"), "same@contoso.com"));
        let changed = record(user(Some("changed"), "changed@contoso.com"));
        let existing = HashMap::from([
            ("same".to_owned(), same.clone()),
            ("changed".to_owned(), changed.clone()),
        ]);
        let holders = HashMap::from([
            (
                "same@contoso.com".to_owned(),
                UpnHolder {
                    id: same.id,
                    external_id: Some("same".to_owned()),
                },
            ),
            (
                "changed@contoso.com".to_owned(),
                UpnHolder {
                    id: changed.id,
                    external_id: Some("changed".to_owned()),
                },
            ),
        ]);
        let batch = vec![
            user(Some("same"), "same@contoso.com"),
            user(Some("changed"), "Changed@Contoso.com"),
            user(Some("new"), "new@contoso.com"),
        ];
        let plan = plan_users(&batch, &existing, &holders);
        assert_eq!(
            plan.outcomes,
            [RowOutcome::Unchanged, RowOutcome::Updated, RowOutcome::Created]
        );
        assert_eq!(plan.updates.len(), 1);
        assert_eq!(
            (plan.updates[0].index, plan.updates[0].id, plan.updates[0].version),
            (1, changed.id, 3)
        );
        assert_eq!(plan.inserts, [&batch[2]]);
    }

    #[test]
    fn a_taken_upn_rejects_only_its_row() {
        let other = record(user(None, "taken@contoso.com"));
        let holders = HashMap::from([(
            "taken@contoso.com".to_owned(),
            UpnHolder {
                id: other.id,
                external_id: None,
            },
        )]);
        let batch = vec![
            user(Some("a"), "TAKEN@contoso.com"),
            user(Some("b"), "b@contoso.com"),
            user(Some("c"), "b@CONTOSO.com"),
            user(None, "d@contoso.com"),
            user(Some("b"), "e@contoso.com"),
        ];
        let plan = plan_users(&batch, &HashMap::new(), &holders);
        assert!(rejected(&plan.outcomes[0]).contains("which has no externalId"));
        assert_eq!(plan.outcomes[1], RowOutcome::Created);
        assert!(rejected(&plan.outcomes[2]).contains("used by the user with externalId \"b\""));
        assert!(rejected(&plan.outcomes[3]).contains("externalId is required"));
        assert!(rejected(&plan.outcomes[4]).contains("more than once"));
        assert_eq!(plan.inserts, [&batch[1]]);
    }

    #[test]
    fn devices_resolve_their_user_and_compare_with_it() {
        let user_id = Uuid::now_v7();
        let stored = record(StoredDevice {
            device: Device {
                user_id: Some(user_id),
                ..device("kept")
            },
            last_check_in_at: None,
        });
        let existing = HashMap::from([("kept".to_owned(), stored)]);
        let users = HashMap::from([("u1".to_owned(), user_id)]);
        let import = |external_id: &str, user: Option<&str>| DeviceImport {
            device: device(external_id),
            user_external_id: user.map(str::to_owned),
        };
        let batch = vec![
            import("kept", Some("u1")),
            import("new", Some("nobody")),
            import("new2", None),
            import("kept", None),
        ];
        let plan = plan_devices(&batch, &existing, &users);
        assert_eq!(plan.outcomes[0], RowOutcome::Unchanged);
        assert!(rejected(&plan.outcomes[1]).contains("unknown userExternalId \"nobody\""));
        assert_eq!(plan.outcomes[2], RowOutcome::Created);
        assert!(rejected(&plan.outcomes[3]).contains("more than once"));

        let clear_user = vec![import("kept", None)];
        let plan = plan_devices(&clear_user, &existing, &users);
        assert_eq!(plan.outcomes, [RowOutcome::Updated]);
        assert_eq!(plan.updates[0].value.user_id, None);
    }

    #[test]
    fn memberships_need_a_known_group_and_member_of_its_kind() {
        let group = GroupRef {
            id: Uuid::now_v7(),
            group_type: GroupType::User,
        };
        let user_a = Uuid::now_v7();
        let user_b = Uuid::now_v7();
        let groups = HashMap::from([("g".to_owned(), group)]);
        let users = HashMap::from([("a".to_owned(), user_a), ("b".to_owned(), user_b)]);
        let devices = HashMap::from([("d".to_owned(), Uuid::now_v7())]);
        let members = HashSet::from([(group.id, user_a)]);
        let row = |group: &str, member: &str| MembershipImport {
            group_external_id: group.to_owned(),
            member_external_id: member.to_owned(),
        };
        let batch = vec![
            row("g", "a"),
            row("g", "b"),
            row("g", "b"),
            row("g", "d"),
            row("g", "x"),
            row("h", "a"),
        ];
        let plan = plan_memberships(&batch, &groups, &users, &devices, &members);
        assert_eq!(
            plan.outcomes[..3],
            [RowOutcome::Unchanged, RowOutcome::Created, RowOutcome::Unchanged]
        );
        assert!(rejected(&plan.outcomes[3]).contains("is a device, but group \"g\" is a user group"));
        assert!(rejected(&plan.outcomes[4]).contains("unknown memberExternalId \"x\""));
        assert!(rejected(&plan.outcomes[5]).contains("unknown groupExternalId \"h\""));
        assert_eq!(plan.inserts.len(), 1);
        assert_eq!(plan.inserts[0].member_id, user_b);
    }
}
