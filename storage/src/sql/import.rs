//! Bulk import: gathers what a batch needs to know in a few `IN (…)` lookups,
//! lets `crate::import` decide every row, then applies the decision with
//! multi-row `INSERT`s and per-row conditional `UPDATE`s, all in one
//! transaction. Nothing is sent for a rejected or unchanged row.

/// Values per `IN (…)` list and rows per multi-row `INSERT` (at most
/// 12 binds each): far below both backends' bind-parameter limits
/// (SQLite 32,766, PostgreSQL 65,535).
pub(crate) const CHUNK: usize = 1000;

pub(crate) const USERS_BY_EXTERNAL_ID: &str = "SELECT * FROM users WHERE external_id";

pub(crate) const UPN_HOLDERS: &str =
    "SELECT user_principal_name_key, id, external_id FROM users WHERE user_principal_name_key";

/// Values: id, version, created, modified, external id, then [`crate::sql::bind_user_attributes!`]'s.
pub(crate) const INSERT_USERS: &str =
    "INSERT INTO users (id, version, created_at, modified_at, external_id, \
     user_principal_name, user_principal_name_key, display_name, mail, on_premises_distinguished_name, \
     on_premises_sam_account_name, on_premises_security_identifier) ";

/// `$1` id, `$2` version, `$3` now, then [`crate::sql::bind_user_attributes!`]'s `$4`–`$10`.
pub(crate) const UPDATE_USER: &str = "UPDATE users SET version = version + 1, modified_at = $3, \
     user_principal_name = $4, user_principal_name_key = $5, display_name = $6, mail = $7, \
     on_premises_distinguished_name = $8, on_premises_sam_account_name = $9, \
     on_premises_security_identifier = $10 WHERE id = $1 AND version = $2";

pub(crate) const DEVICES_BY_EXTERNAL_ID: &str = "SELECT * FROM devices WHERE external_id";

/// Values: id, version, created, modified, external id, then [`crate::sql::bind_device_attributes!`]'s.
pub(crate) const INSERT_DEVICES: &str =
    "INSERT INTO devices (id, version, created_at, modified_at, external_id, \
     device_name, platform, os_version, serial_number, imei, azure_ad_device_id, user_id, meid, \
     wifi_mac_address, fully_qualified_domain_name) ";

/// `$1` id, `$2` version, `$3` now, then [`crate::sql::bind_device_attributes!`]'s `$4`–`$13`
/// (not `external_id`: the key the row was found by).
pub(crate) const UPDATE_DEVICE: &str = "UPDATE devices SET version = version + 1, modified_at = $3, \
     device_name = $4, platform = $5, os_version = $6, serial_number = $7, imei = $8, \
     azure_ad_device_id = $9, user_id = $10, meid = $11, wifi_mac_address = $12, \
     fully_qualified_domain_name = $13 WHERE id = $1 AND version = $2";

pub(crate) const USER_IDS_BY_EXTERNAL_ID: &str = "SELECT external_id, id FROM users WHERE external_id";

pub(crate) const DEVICE_IDS_BY_EXTERNAL_ID: &str = "SELECT external_id, id FROM devices WHERE external_id";

pub(crate) const GROUPS_BY_EXTERNAL_ID: &str =
    "SELECT external_id, id, group_type FROM directory_groups WHERE external_id";

pub(crate) const USER_MEMBERSHIPS: &str = "SELECT group_id, user_id FROM user_group_members WHERE user_id";

pub(crate) const DEVICE_MEMBERSHIPS: &str =
    "SELECT group_id, device_id FROM device_group_members WHERE device_id";

pub(crate) fn insert_members(group_type: scepter_domain::directory::GroupType) -> &'static str {
    match group_type {
        scepter_domain::directory::GroupType::User => "INSERT INTO user_group_members (group_id, user_id) ",
        scepter_domain::directory::GroupType::Device => {
            "INSERT INTO device_group_members (group_id, device_id) "
        }
    }
}

/// Applies the planned conditional updates of an import (`$plan.updates`,
/// each `$bind`-ing its value after id, version and `$now`) and marks those
/// that matched no row: the row changed or went away since the lookup.
macro_rules! apply_updates {
    ($plan:ident, $connection:expr, $sql:expr, $now:expr, $bind:ident) => {{
        let mut lost = Vec::new();
        for update in &$plan.updates {
            let query = sqlx::query($sql).bind(update.id).bind(update.version).bind($now);
            if $bind!(query, bind, update.value)
                .execute(&mut *$connection)
                .await?
                .rows_affected()
                == 0
            {
                lost.push(update.index);
            }
        }
        for index in lost {
            $plan.lost_race(index);
        }
    }};
}

pub(crate) use apply_updates;

macro_rules! impl_import_repository {
    ($store:ident, $db:ty) => {
        mod import_repository {
            use std::collections::{HashMap, HashSet};

            use async_trait::async_trait;
            use scepter_domain::{
                directory::{GroupType, User},
                Record,
            };
            use sqlx::{query_builder::Separated, QueryBuilder};
            use uuid::Uuid;

            use super::{audit_repository::insert_audit_entry, $store};
            use crate::{
                import::{distinct, plan_devices, plan_memberships, plan_users, GroupRef, UpnHolder},
                rows::{now, parse_group_type, DeviceRow, UserRow},
                sql::{bind_device_attributes, bind_user_attributes, import::*},
                DeviceImport, ImportRepository, ImportRun, MembershipImport, RowOutcome, StorageError,
                StoredDevice,
            };

            type Connection = <$db as sqlx::Database>::Connection;

            /// `{select} IN ($1, $2, …)` for each chunk of `values`, decoded as `T`.
            async fn fetch_in<'v, T, V>(
                connection: &mut Connection,
                select: &str,
                values: &'v [V],
            ) -> Result<Vec<T>, StorageError>
            where
                T: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row> + Send + Unpin,
                V: Copy + Send + Sync + sqlx::Encode<'v, $db> + sqlx::Type<$db> + 'v,
            {
                let mut rows = Vec::with_capacity(values.len());
                for chunk in values.chunks(CHUNK) {
                    let mut query = QueryBuilder::<$db>::new(select);
                    query.push(" IN (");
                    let mut list = query.separated(", ");
                    for value in chunk {
                        list.push_bind(*value);
                    }
                    query.push(")");
                    rows.extend(
                        query
                            .build_query_as::<T>()
                            .fetch_all(&mut *connection)
                            .await?,
                    );
                }
                Ok(rows)
            }

            /// `{insert} VALUES (…), (…)` with `push`'s values for each chunk of `rows`, then `suffix`.
            async fn insert_chunked<'a, T: Sync>(
                connection: &mut Connection,
                insert: &str,
                rows: &'a [T],
                suffix: &str,
                mut push: impl FnMut(Separated<'_, 'a, $db, &'static str>, &'a T) + Send,
            ) -> Result<(), StorageError> {
                for chunk in rows.chunks(CHUNK) {
                    let mut query = QueryBuilder::<$db>::new(insert);
                    query.push_values(chunk, |row, value| push(row, value));
                    query.push(suffix);
                    query.build().execute(&mut *connection).await?;
                }
                Ok(())
            }

            /// `externalId` → id, from `select` (one of the `*_IDS_BY_EXTERNAL_ID`).
            async fn ids_by_external_id(
                connection: &mut Connection,
                select: &str,
                external_ids: &[&str],
            ) -> Result<HashMap<String, Uuid>, StorageError> {
                Ok(
                    fetch_in::<(String, Uuid), _>(connection, select, external_ids)
                        .await?
                        .into_iter()
                        .collect(),
                )
            }

            #[async_trait]
            impl ImportRepository for $store {
                async fn upsert_users(
                    &self,
                    users: &[User],
                    run: &ImportRun,
                ) -> Result<Vec<RowOutcome>, StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    let external_ids = distinct(users.iter().filter_map(|user| user.external_id.as_deref()));
                    let keys: Vec<String> = users.iter().map(User::principal_name_key).collect();
                    let keys = distinct(keys.iter().map(String::as_str));

                    let mut existing: HashMap<String, Record<User>> = HashMap::new();
                    for row in
                        fetch_in::<UserRow, _>(&mut transaction, USERS_BY_EXTERNAL_ID, &external_ids).await?
                    {
                        if let Some(external_id) = row.external_id.clone() {
                            existing.insert(external_id, row.try_into()?);
                        }
                    }
                    let holders: HashMap<String, UpnHolder> =
                        fetch_in::<(String, Uuid, Option<String>), _>(&mut transaction, UPN_HOLDERS, &keys)
                            .await?
                            .into_iter()
                            .map(|(key, id, external_id)| (key, UpnHolder { id, external_id }))
                            .collect();

                    let mut plan = plan_users(users, &existing, &holders);
                    let now = now();
                    insert_chunked(
                        &mut transaction,
                        INSERT_USERS,
                        &plan.inserts,
                        "",
                        |mut row, user| {
                            let row = row
                                .push_bind(Uuid::now_v7())
                                .push_bind(1_i64)
                                .push_bind(now)
                                .push_bind(now)
                                .push_bind(&user.external_id);
                            bind_user_attributes!(row, push_bind, user);
                        },
                    )
                    .await?;
                    apply_updates!(plan, transaction, UPDATE_USER, now, bind_user_attributes);
                    let audit = run.batch_entry("users", &plan.outcomes);
                    insert_audit_entry(&mut *transaction, &audit, Some(run.id)).await?;
                    transaction.commit().await?;
                    Ok(plan.outcomes)
                }

                async fn upsert_devices(
                    &self,
                    devices: &[DeviceImport],
                    run: &ImportRun,
                ) -> Result<Vec<RowOutcome>, StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    let external_ids = distinct(
                        devices
                            .iter()
                            .filter_map(|import| import.device.external_id.as_deref()),
                    );
                    let user_external_ids = distinct(
                        devices
                            .iter()
                            .filter_map(|import| import.user_external_id.as_deref()),
                    );

                    let mut existing: HashMap<String, Record<StoredDevice>> = HashMap::new();
                    for row in
                        fetch_in::<DeviceRow, _>(&mut transaction, DEVICES_BY_EXTERNAL_ID, &external_ids)
                            .await?
                    {
                        if let Some(external_id) = row.external_id.clone() {
                            existing.insert(external_id, row.try_into()?);
                        }
                    }
                    let users = ids_by_external_id(
                        &mut transaction,
                        USER_IDS_BY_EXTERNAL_ID,
                        &user_external_ids,
                    )
                    .await?;

                    let mut plan = plan_devices(devices, &existing, &users);
                    let now = now();
                    insert_chunked(
                        &mut transaction,
                        INSERT_DEVICES,
                        &plan.inserts,
                        "",
                        |mut row, device| {
                            let row = row
                                .push_bind(Uuid::now_v7())
                                .push_bind(1_i64)
                                .push_bind(now)
                                .push_bind(now)
                                .push_bind(&device.external_id);
                            bind_device_attributes!(row, push_bind, device);
                        },
                    )
                    .await?;
                    apply_updates!(
                        plan,
                        transaction,
                        UPDATE_DEVICE,
                        now,
                        bind_device_attributes
                    );
                    let audit = run.batch_entry("devices", &plan.outcomes);
                    insert_audit_entry(&mut *transaction, &audit, Some(run.id)).await?;
                    transaction.commit().await?;
                    Ok(plan.outcomes)
                }

                async fn import_memberships(
                    &self,
                    rows: &[MembershipImport],
                    run: &ImportRun,
                ) -> Result<Vec<RowOutcome>, StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    let group_external_ids = distinct(rows.iter().map(|row| row.group_external_id.as_str()));
                    let member_external_ids =
                        distinct(rows.iter().map(|row| row.member_external_id.as_str()));

                    let mut groups: HashMap<String, GroupRef> = HashMap::new();
                    for (external_id, id, group_type) in fetch_in::<(String, Uuid, String), _>(
                        &mut transaction,
                        GROUPS_BY_EXTERNAL_ID,
                        &group_external_ids,
                    )
                    .await?
                    {
                        let group_type = parse_group_type(id, &group_type)?;
                        groups.insert(external_id, GroupRef { id, group_type });
                    }
                    // A member's kind follows from its group; the other table only
                    // explains a rejection (wrong kind rather than unknown).
                    let users = ids_by_external_id(
                        &mut transaction,
                        USER_IDS_BY_EXTERNAL_ID,
                        &member_external_ids,
                    )
                    .await?;
                    let devices = ids_by_external_id(
                        &mut transaction,
                        DEVICE_IDS_BY_EXTERNAL_ID,
                        &member_external_ids,
                    )
                    .await?;

                    let user_ids: Vec<Uuid> = users.values().copied().collect();
                    let device_ids: Vec<Uuid> = devices.values().copied().collect();
                    let mut members: HashSet<(Uuid, Uuid)> = HashSet::new();
                    members.extend(
                        fetch_in::<(Uuid, Uuid), _>(&mut transaction, USER_MEMBERSHIPS, &user_ids).await?,
                    );
                    members.extend(
                        fetch_in::<(Uuid, Uuid), _>(&mut transaction, DEVICE_MEMBERSHIPS, &device_ids)
                            .await?,
                    );

                    let plan = plan_memberships(rows, &groups, &users, &devices, &members);
                    for group_type in [GroupType::User, GroupType::Device] {
                        let inserts: Vec<_> = plan
                            .inserts
                            .iter()
                            .filter(|insert| insert.group_type == group_type)
                            .collect();
                        // A concurrent import may have added it since the lookup: a member either way.
                        insert_chunked(
                            &mut transaction,
                            insert_members(group_type),
                            &inserts,
                            " ON CONFLICT DO NOTHING",
                            |mut row, insert| {
                                row.push_bind(insert.group_id).push_bind(insert.member_id);
                            },
                        )
                        .await?;
                    }
                    let audit = run.batch_entry("memberships", &plan.outcomes);
                    insert_audit_entry(&mut *transaction, &audit, Some(run.id)).await?;
                    transaction.commit().await?;
                    Ok(plan.outcomes)
                }
            }
        }
    };
}

pub(crate) use impl_import_repository;
