//! Users, devices, groups and group members.

use super::{UniqueKey, VersionedTable};
use crate::StorageError;

pub(crate) const USERS: VersionedTable = VersionedTable {
    version: "SELECT version FROM users WHERE id = $1",
    delete: "DELETE FROM users WHERE id = $1 AND ($2 IS NULL OR version = $2)",
};

pub(crate) const DEVICES: VersionedTable = VersionedTable {
    version: "SELECT version FROM devices WHERE id = $1",
    delete: "DELETE FROM devices WHERE id = $1 AND ($2 IS NULL OR version = $2)",
};

pub(crate) const GROUPS: VersionedTable = VersionedTable {
    version: "SELECT version FROM directory_groups WHERE id = $1",
    delete: "DELETE FROM directory_groups WHERE id = $1 AND ($2 IS NULL OR version = $2)",
};

/// `$1` id, `$2` now, `$3` external id, then [`bind_user_attributes!`]'s `$4`–`$10`.
pub(crate) const INSERT_USER: &str = "INSERT INTO users (id, version, created_at, modified_at, external_id, \
     user_principal_name, user_principal_name_key, display_name, mail, on_premises_distinguished_name, \
     on_premises_sam_account_name, on_premises_security_identifier) \
     VALUES ($1, 1, $2, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *";

pub(crate) const SELECT_USER: &str = "SELECT * FROM users WHERE id = $1";

pub(crate) const LIST_USERS: &str = "SELECT * FROM users WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2";

/// `$1` id, `$2` expected version, `$3` now, `$4` external id, then [`bind_user_attributes!`]'s `$5`–`$11`.
pub(crate) const UPDATE_USER: &str = "UPDATE users SET version = version + 1, modified_at = $3, \
     external_id = $4, user_principal_name = $5, user_principal_name_key = $6, display_name = $7, mail = $8, \
     on_premises_distinguished_name = $9, on_premises_sam_account_name = $10, \
     on_premises_security_identifier = $11 WHERE id = $1 AND version = $2 RETURNING *";

/// `$1` id, `$2` now, `$3` external id, then [`bind_device_attributes!`]'s `$4`–`$13`.
pub(crate) const INSERT_DEVICE: &str =
    "INSERT INTO devices (id, version, created_at, modified_at, external_id, \
     device_name, platform, os_version, serial_number, imei, azure_ad_device_id, user_id, meid, \
     wifi_mac_address, fully_qualified_domain_name) \
     VALUES ($1, 1, $2, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING *";

pub(crate) const SELECT_DEVICE: &str = "SELECT * FROM devices WHERE id = $1";

pub(crate) const LIST_DEVICES: &str =
    "SELECT * FROM devices WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2";

/// `$1` id, `$2` expected version, `$3` now, `$4` external id, then [`bind_device_attributes!`]'s `$5`–`$14`.
pub(crate) const UPDATE_DEVICE: &str = "UPDATE devices SET version = version + 1, modified_at = $3, \
     external_id = $4, device_name = $5, platform = $6, os_version = $7, serial_number = $8, imei = $9, \
     azure_ad_device_id = $10, user_id = $11, meid = $12, wifi_mac_address = $13, \
     fully_qualified_domain_name = $14 WHERE id = $1 AND version = $2 RETURNING *";

pub(crate) const INSERT_GROUP: &str = "INSERT INTO directory_groups (id, version, created_at, modified_at, \
     display_name, description, group_type, external_id) VALUES ($1, 1, $2, $2, $3, $4, $5, $6) RETURNING *";

pub(crate) const SELECT_GROUP: &str = "SELECT * FROM directory_groups WHERE id = $1";

pub(crate) const LIST_GROUPS: &str =
    "SELECT * FROM directory_groups WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2";

/// group_type is not written: it is immutable (and the member tables' keys depend on it).
pub(crate) const UPDATE_GROUP: &str = "UPDATE directory_groups SET version = version + 1, modified_at = $3, \
     display_name = $4, description = $5, external_id = $6 WHERE id = $1 AND version = $2 RETURNING *";

pub(crate) const GROUP_TYPE: &str = "SELECT group_type FROM directory_groups WHERE id = $1";

pub(crate) const REMOVE_USER_MEMBER: &str =
    "DELETE FROM user_group_members WHERE group_id = $1 AND user_id = $2";

pub(crate) const REMOVE_DEVICE_MEMBER: &str =
    "DELETE FROM device_group_members WHERE group_id = $1 AND device_id = $2";

/// `$1` group, `$2` keyset, `$3` limit.
pub(crate) const LIST_USER_MEMBERS: &str =
    "SELECT u.id, u.display_name, u.external_id FROM user_group_members m \
     JOIN users u ON u.id = m.user_id \
     WHERE m.group_id = $1 AND ($2 IS NULL OR m.user_id > $2) ORDER BY m.user_id LIMIT $3";

/// As [`LIST_USER_MEMBERS`].
pub(crate) const LIST_DEVICE_MEMBERS: &str = "SELECT d.id, d.device_name AS display_name, d.external_id \
     FROM device_group_members m JOIN devices d ON d.id = m.device_id \
     WHERE m.group_id = $1 AND ($2 IS NULL OR m.device_id > $2) ORDER BY m.device_id LIMIT $3";

/// Ids per statement when checking or inserting members: far below
/// both backends' bind-parameter limits.
pub(crate) const MEMBER_CHUNK: usize = 1000;

/// What `add_members` reads and writes for a group of one type. Fixed
/// strings, never input.
pub(crate) struct MemberTables {
    /// The members' table.
    pub own: &'static str,
    /// The table of the other kind (to tell wrong-kind ids from unknown ones).
    pub other: &'static str,
    /// The member insert, up to its `VALUES`.
    pub insert: &'static str,
    /// Ends the insert: the ids it actually added (the audit entry's changes).
    pub returning: &'static str,
}

pub(crate) fn member_tables(group_type: &str) -> MemberTables {
    match group_type {
        "user" => MemberTables {
            own: "users",
            other: "devices",
            insert: "INSERT INTO user_group_members (group_id, user_id) ",
            returning: " ON CONFLICT DO NOTHING RETURNING user_id",
        },
        _ => MemberTables {
            own: "devices",
            other: "users",
            insert: "INSERT INTO device_group_members (group_id, device_id) ",
            returning: " ON CONFLICT DO NOTHING RETURNING device_id",
        },
    }
}

/// The audit trail's view of a member joining or leaving: it is a member of
/// its group, at `/members/{id}`, shown by its kind.
pub(crate) fn member_change(
    member_id: uuid::Uuid,
    member_type: &str,
    joined: bool,
) -> scepter_domain::audit::Change {
    let value = Some(serde_json::json!({ "memberType": member_type }));
    let path = scepter_domain::audit::pointer("/members", &member_id.to_string());
    if joined {
        scepter_domain::audit::Change::new(path, None, value)
    } else {
        scepter_domain::audit::Change::new(path, value, None)
    }
}

/// Binds a user's columns but `external_id` (7: the import keys on it), in
/// the order the statements list them.
macro_rules! bind_user_attributes {
    ($query:expr, $bind:ident, $user:expr) => {
        $query
            .$bind(&$user.user_principal_name)
            .$bind($user.principal_name_key())
            .$bind(&$user.display_name)
            .$bind(&$user.mail)
            .$bind(&$user.on_premises_distinguished_name)
            .$bind(&$user.on_premises_sam_account_name)
            .$bind(&$user.on_premises_security_identifier)
    };
}

/// Binds a device's columns but `external_id` (10), in the order the statements list them.
macro_rules! bind_device_attributes {
    ($query:expr, $bind:ident, $device:expr) => {
        $query
            .$bind(&$device.device_name)
            .$bind($device.platform.as_str())
            .$bind(&$device.os_version)
            .$bind(&$device.serial_number)
            .$bind(&$device.imei)
            .$bind($device.azure_ad_device_id)
            .$bind($device.user_id)
            .$bind(&$device.meid)
            .$bind(&$device.wifi_mac_address)
            .$bind(&$device.fully_qualified_domain_name)
    };
}

pub(crate) use {bind_device_attributes, bind_user_attributes};

/// A unique key said no to a user: its `externalId`, or else its UPN.
pub(crate) fn user_conflict(error: sqlx::Error) -> StorageError {
    match super::unique_violation(&error) {
        Some(UniqueKey::UserExternalId) => taken("externalId"),
        Some(_) => taken("userPrincipalName (compared case-insensitively)"),
        None => error.into(),
    }
}

/// A unique key said no to a device or group: the only one they have is `externalId`.
pub(crate) fn external_id_conflict(error: sqlx::Error) -> StorageError {
    match super::unique_violation(&error) {
        Some(_) => taken("externalId"),
        None => error.into(),
    }
}

fn taken(what: &str) -> StorageError {
    StorageError::Conflict(format!("{what} is already taken"))
}

macro_rules! impl_directory_repositories {
    ($store:ident, $db:ty) => {
        mod directory_repositories {
            use std::collections::HashSet;

            use async_trait::async_trait;
            use scepter_domain::{
                directory::{Device, Group, GroupType, User},
                Record,
            };
            use sqlx::QueryBuilder;
            use uuid::Uuid;

            use super::{fetch, versioned, $store};
            use crate::{
                rows::{now, DeviceRow, GroupRow, MemberRow, UserRow},
                sql::{bind_device_attributes, bind_user_attributes, directory::*},
                DeviceRepository, GroupMember, GroupRepository, MembershipChange, NewAuditEntry, Page,
                PageRequest, RejectedMembers, StorageError, StoredDevice, UserRepository,
            };

            /// `SELECT id FROM {table} WHERE id IN (…ids)`.
            fn existing_in(table: &'static str, ids: &[Uuid]) -> QueryBuilder<'static, $db> {
                let mut query = QueryBuilder::<$db>::new(format!("SELECT id FROM {table} WHERE id IN ("));
                let mut list = query.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                query.push(")");
                query
            }

            type Connection = <$db as sqlx::Database>::Connection;

            /// Adds members in the caller's transaction (the real write's, or
            /// a dry run's): all of them, or — when any id is unknown or of
            /// the wrong kind — none, saying which.
            pub(super) async fn add_members_in(
                connection: &mut Connection,
                group_id: Uuid,
                member_ids: &[Uuid],
                audit: &NewAuditEntry,
            ) -> Result<Result<MembershipChange, RejectedMembers>, StorageError> {
                let mut requested: Vec<Uuid> = member_ids.to_vec();
                requested.sort_unstable();
                requested.dedup();
                let group_type = sqlx::query_scalar::<_, String>(GROUP_TYPE)
                    .bind(group_id)
                    .fetch_optional(&mut *connection)
                    .await?
                    .ok_or(StorageError::NotFound)?;
                let tables = member_tables(&group_type);

                let mut found: HashSet<Uuid> = HashSet::with_capacity(requested.len());
                for chunk in requested.chunks(MEMBER_CHUNK) {
                    let ids = existing_in(tables.own, chunk)
                        .build_query_scalar::<Uuid>()
                        .fetch_all(&mut *connection)
                        .await?;
                    found.extend(ids);
                }
                let missing: Vec<Uuid> = requested
                    .iter()
                    .copied()
                    .filter(|id| !found.contains(id))
                    .collect();
                if !missing.is_empty() {
                    let mut wrong_kind: HashSet<Uuid> = HashSet::new();
                    for chunk in missing.chunks(MEMBER_CHUNK) {
                        let ids = existing_in(tables.other, chunk)
                            .build_query_scalar::<Uuid>()
                            .fetch_all(&mut *connection)
                            .await?;
                        wrong_kind.extend(ids);
                    }
                    let (wrong_kind, unknown): (Vec<Uuid>, Vec<Uuid>) =
                        missing.into_iter().partition(|id| wrong_kind.contains(id));
                    return Ok(Err(RejectedMembers {
                        unknown,
                        wrong_kind,
                    }));
                }

                let mut added: Vec<Uuid> = Vec::new();
                for chunk in requested.chunks(MEMBER_CHUNK) {
                    let mut query = QueryBuilder::<$db>::new(tables.insert);
                    query.push_values(chunk, |mut row, id| {
                        row.push_bind(group_id).push_bind(*id);
                    });
                    query.push(tables.returning);
                    added.extend(
                        query
                            .build_query_scalar::<Uuid>()
                            .fetch_all(&mut *connection)
                            .await?,
                    );
                }
                // Adding is idempotent: a request that adds nobody changes nothing to audit.
                if !added.is_empty() {
                    added.sort_unstable();
                    let changes = added
                        .iter()
                        .map(|id| member_change(*id, &group_type, true))
                        .collect();
                    let audit = audit.with_changes(changes);
                    versioned::audited(connection, &audit, group_id).await?;
                }
                let added = added.len() as u64;
                Ok(Ok(MembershipChange {
                    added,
                    unchanged: requested.len() as u64 - added,
                }))
            }

            /// Removes a member in the caller's transaction.
            pub(super) async fn remove_member_in(
                connection: &mut Connection,
                group_id: Uuid,
                member_id: Uuid,
                audit: &NewAuditEntry,
            ) -> Result<(), StorageError> {
                let mut removed_as = None;
                for (sql, member_type) in [
                    (REMOVE_USER_MEMBER, "user"),
                    (REMOVE_DEVICE_MEMBER, "device"),
                ] {
                    let removed = sqlx::query(sql)
                        .bind(group_id)
                        .bind(member_id)
                        .execute(&mut *connection)
                        .await?
                        .rows_affected();
                    if removed > 0 {
                        removed_as = Some(member_type);
                    }
                }
                let member_type = removed_as.ok_or(StorageError::NotFound)?;
                let audit = audit.with_changes(vec![member_change(member_id, member_type, false)]);
                versioned::audited(connection, &audit, group_id).await?;
                Ok(())
            }

            /// A device's replacement in the caller's transaction.
            pub(super) async fn update_device_in(
                connection: &mut Connection,
                id: Uuid,
                expected_version: i64,
                device: &Device,
                audit: &NewAuditEntry,
            ) -> Result<Record<StoredDevice>, StorageError> {
                let query = sqlx::query_as::<_, DeviceRow>(UPDATE_DEVICE)
                    .bind(id)
                    .bind(expected_version)
                    .bind(now())
                    .bind(&device.external_id);
                let row = bind_device_attributes!(query, bind, device)
                    .fetch_optional(&mut *connection)
                    .await
                    .map_err(external_id_conflict)?;
                let row = versioned::updated(row, connection, &DEVICES, id, audit).await?;
                row.try_into()
            }

            #[async_trait]
            impl UserRepository for $store {
                async fn insert_user(
                    &self,
                    user: &User,
                    audit: &NewAuditEntry,
                ) -> Result<Record<User>, StorageError> {
                    let id = Uuid::now_v7();
                    let mut transaction = self.pool.begin().await?;
                    let query = sqlx::query_as::<_, UserRow>(INSERT_USER)
                        .bind(id)
                        .bind(now())
                        .bind(&user.external_id);
                    let row = bind_user_attributes!(query, bind, user)
                        .fetch_one(&mut *transaction)
                        .await
                        .map_err(user_conflict)?;
                    versioned::audited(&mut transaction, audit, id).await?;
                    transaction.commit().await?;
                    row.try_into()
                }

                async fn user(&self, id: Uuid) -> Result<Option<Record<User>>, StorageError> {
                    fetch::one::<UserRow, _>(&self.pool, SELECT_USER, id).await
                }

                async fn list_users(&self, page: PageRequest) -> Result<Page<Record<User>>, StorageError> {
                    let rows = sqlx::query_as::<_, UserRow>(LIST_USERS)
                        .bind(page.after())
                        .bind(page.fetch_limit())
                        .fetch_all(&self.pool)
                        .await?;
                    Page::from_rows(rows, page, |record: &Record<User>| record.id)
                }

                async fn update_user(
                    &self,
                    id: Uuid,
                    expected_version: i64,
                    user: &User,
                    audit: &NewAuditEntry,
                ) -> Result<Record<User>, StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    let query = sqlx::query_as::<_, UserRow>(UPDATE_USER)
                        .bind(id)
                        .bind(expected_version)
                        .bind(now())
                        .bind(&user.external_id);
                    let row = bind_user_attributes!(query, bind, user)
                        .fetch_optional(&mut *transaction)
                        .await
                        .map_err(user_conflict)?;
                    let row = versioned::updated(row, &mut transaction, &USERS, id, audit).await?;
                    transaction.commit().await?;
                    row.try_into()
                }

                async fn delete_user(
                    &self,
                    id: Uuid,
                    expected_version: Option<i64>,
                    audit: &NewAuditEntry,
                ) -> Result<(), StorageError> {
                    versioned::delete_alone(&self.pool, &USERS, id, expected_version, audit).await
                }
            }

            #[async_trait]
            impl DeviceRepository for $store {
                async fn insert_device(
                    &self,
                    device: &Device,
                    audit: &NewAuditEntry,
                ) -> Result<Record<StoredDevice>, StorageError> {
                    let id = Uuid::now_v7();
                    let mut transaction = self.pool.begin().await?;
                    let query = sqlx::query_as::<_, DeviceRow>(INSERT_DEVICE)
                        .bind(id)
                        .bind(now())
                        .bind(&device.external_id);
                    let row = bind_device_attributes!(query, bind, device)
                        .fetch_one(&mut *transaction)
                        .await
                        .map_err(external_id_conflict)?;
                    versioned::audited(&mut transaction, audit, id).await?;
                    transaction.commit().await?;
                    row.try_into()
                }

                async fn device(&self, id: Uuid) -> Result<Option<Record<StoredDevice>>, StorageError> {
                    fetch::one::<DeviceRow, _>(&self.pool, SELECT_DEVICE, id).await
                }

                async fn devices(&self, ids: &[Uuid]) -> Result<Vec<Record<StoredDevice>>, StorageError> {
                    if ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    // An `IN` list of binds: both backends take it (SQLite has no arrays).
                    let mut query = sqlx::QueryBuilder::<$db>::new("SELECT * FROM devices WHERE id IN (");
                    let mut list = query.separated(", ");
                    for id in ids.iter().take(PageRequest::MAX_LIMIT as usize) {
                        list.push_bind(*id);
                    }
                    query.push(") ORDER BY id");
                    let rows: Vec<DeviceRow> = query.build_query_as().fetch_all(&self.pool).await?;
                    rows.into_iter().map(TryInto::try_into).collect()
                }

                async fn list_devices(
                    &self,
                    page: PageRequest,
                ) -> Result<Page<Record<StoredDevice>>, StorageError> {
                    let rows = sqlx::query_as::<_, DeviceRow>(LIST_DEVICES)
                        .bind(page.after())
                        .bind(page.fetch_limit())
                        .fetch_all(&self.pool)
                        .await?;
                    Page::from_rows(rows, page, |record: &Record<StoredDevice>| record.id)
                }

                async fn update_device(
                    &self,
                    id: Uuid,
                    expected_version: i64,
                    device: &Device,
                    audit: &NewAuditEntry,
                ) -> Result<Record<StoredDevice>, StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    let updated =
                        update_device_in(&mut transaction, id, expected_version, device, audit).await?;
                    transaction.commit().await?;
                    Ok(updated)
                }

                async fn delete_device(
                    &self,
                    id: Uuid,
                    expected_version: Option<i64>,
                    audit: &NewAuditEntry,
                ) -> Result<(), StorageError> {
                    versioned::delete_alone(&self.pool, &DEVICES, id, expected_version, audit).await
                }
            }

            #[async_trait]
            impl GroupRepository for $store {
                async fn insert_group(
                    &self,
                    group: &Group,
                    audit: &NewAuditEntry,
                ) -> Result<Record<Group>, StorageError> {
                    let id = Uuid::now_v7();
                    let mut transaction = self.pool.begin().await?;
                    let row = sqlx::query_as::<_, GroupRow>(INSERT_GROUP)
                        .bind(id)
                        .bind(now())
                        .bind(&group.display_name)
                        .bind(&group.description)
                        .bind(group.group_type.as_str())
                        .bind(&group.external_id)
                        .fetch_one(&mut *transaction)
                        .await
                        .map_err(external_id_conflict)?;
                    versioned::audited(&mut transaction, audit, id).await?;
                    transaction.commit().await?;
                    row.try_into()
                }

                async fn group(&self, id: Uuid) -> Result<Option<Record<Group>>, StorageError> {
                    fetch::one::<GroupRow, _>(&self.pool, SELECT_GROUP, id).await
                }

                async fn list_groups(&self, page: PageRequest) -> Result<Page<Record<Group>>, StorageError> {
                    let rows = sqlx::query_as::<_, GroupRow>(LIST_GROUPS)
                        .bind(page.after())
                        .bind(page.fetch_limit())
                        .fetch_all(&self.pool)
                        .await?;
                    Page::from_rows(rows, page, |record: &Record<Group>| record.id)
                }

                async fn update_group(
                    &self,
                    id: Uuid,
                    expected_version: i64,
                    group: &Group,
                    audit: &NewAuditEntry,
                ) -> Result<Record<Group>, StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    let row = sqlx::query_as::<_, GroupRow>(UPDATE_GROUP)
                        .bind(id)
                        .bind(expected_version)
                        .bind(now())
                        .bind(&group.display_name)
                        .bind(&group.description)
                        .bind(&group.external_id)
                        .fetch_optional(&mut *transaction)
                        .await
                        .map_err(external_id_conflict)?;
                    let row = versioned::updated(row, &mut transaction, &GROUPS, id, audit).await?;
                    transaction.commit().await?;
                    row.try_into()
                }

                async fn delete_group(
                    &self,
                    id: Uuid,
                    expected_version: Option<i64>,
                    audit: &NewAuditEntry,
                ) -> Result<(), StorageError> {
                    versioned::delete_alone(&self.pool, &GROUPS, id, expected_version, audit).await
                }

                async fn add_members(
                    &self,
                    group_id: Uuid,
                    member_ids: &[Uuid],
                    audit: &NewAuditEntry,
                ) -> Result<Result<MembershipChange, RejectedMembers>, StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    let change = add_members_in(&mut transaction, group_id, member_ids, audit).await?;
                    if change.is_ok() {
                        transaction.commit().await?;
                    }
                    Ok(change)
                }

                async fn remove_member(
                    &self,
                    group_id: Uuid,
                    member_id: Uuid,
                    audit: &NewAuditEntry,
                ) -> Result<(), StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    remove_member_in(&mut transaction, group_id, member_id, audit).await?;
                    transaction.commit().await?;
                    Ok(())
                }

                async fn list_members(
                    &self,
                    group_id: Uuid,
                    page: PageRequest,
                ) -> Result<Page<GroupMember>, StorageError> {
                    let group_type = sqlx::query_scalar::<_, String>(GROUP_TYPE)
                        .bind(group_id)
                        .fetch_optional(&self.pool)
                        .await?
                        .ok_or(StorageError::NotFound)?;
                    let (member_type, sql) = if group_type == "user" {
                        (GroupType::User, LIST_USER_MEMBERS)
                    } else {
                        (GroupType::Device, LIST_DEVICE_MEMBERS)
                    };
                    let rows = sqlx::query_as::<_, MemberRow>(sql)
                        .bind(group_id)
                        .bind(page.after())
                        .bind(page.fetch_limit())
                        .fetch_all(&self.pool)
                        .await?;
                    let members = rows
                        .into_iter()
                        .map(|row| row.into_member(member_type))
                        .collect();
                    Ok(Page::from_overfetched(
                        members,
                        page.limit,
                        |member: &GroupMember| member.id,
                    ))
                }
            }
        }
    };
}

pub(crate) use impl_directory_repositories;
