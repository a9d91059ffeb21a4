//! Bulk import: gathers what a batch needs to know in a few `IN (…)` lookups,
//! lets `crate::import` decide every row, then applies the decision with
//! multi-row `INSERT`s and per-row conditional `UPDATE`s, all in one
//! transaction. Nothing is sent for a rejected or unchanged row.

macro_rules! impl_import_repository {
    ($store:ident, $db:ty) => {
      mod import_repository {
        use std::collections::{HashMap, HashSet};

        use async_trait::async_trait;
        use scepter_domain::{
            directory::{GroupType, User},
            Record,
        };
        use sqlx::QueryBuilder;
        use uuid::Uuid;

        use super::$store;
        use crate::{
            import::{plan_devices, plan_memberships, plan_users, GroupRef, UpnHolder},
            rows::{now, DeviceRow, UserRow},
            DeviceImport, ImportRepository, MembershipImport, RowOutcome, StorageError, StoredDevice,
        };

        type Connection = <$db as sqlx::Database>::Connection;

        /// Values per `IN (…)` list and rows per multi-row `INSERT` (at most
        /// 12 binds each): far below both backends' bind-parameter limits
        /// (SQLite 32,766, PostgreSQL 65,535).
        const CHUNK: usize = 1000;

        /// `{select} IN ($1, $2, …)` for each chunk of `values`, decoded as `T`.
        async fn fetch_in<T>(
            connection: &mut Connection,
            select: &str,
            values: &[&str],
        ) -> Result<Vec<T>, StorageError>
        where
            T: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row> + Send + Unpin,
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
                rows.extend(query.build_query_as::<T>().fetch_all(&mut *connection).await?);
            }
            Ok(rows)
        }

        /// Same, for uuid lists.
        async fn fetch_in_ids<T>(
            connection: &mut Connection,
            select: &str,
            ids: &[Uuid],
        ) -> Result<Vec<T>, StorageError>
        where
            T: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row> + Send + Unpin,
        {
            let mut rows = Vec::with_capacity(ids.len());
            for chunk in ids.chunks(CHUNK) {
                let mut query = QueryBuilder::<$db>::new(select);
                query.push(" IN (");
                let mut list = query.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                query.push(")");
                rows.extend(query.build_query_as::<T>().fetch_all(&mut *connection).await?);
            }
            Ok(rows)
        }

        /// Each distinct value once, in first-seen order.
        fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
            let mut seen = HashSet::new();
            values.filter(|value| seen.insert(*value)).collect()
        }

        /// `externalId` → id of the users or devices table.
        async fn ids_by_external_id(
            connection: &mut Connection,
            table: &'static str,
            external_ids: &[&str],
        ) -> Result<HashMap<String, Uuid>, StorageError> {
            let select = match table {
                "users" => "SELECT external_id, id FROM users WHERE external_id",
                _ => "SELECT external_id, id FROM devices WHERE external_id",
            };
            Ok(fetch_in::<(String, Uuid)>(connection, select, external_ids).await?.into_iter().collect())
        }

        #[async_trait]
        impl ImportRepository for $store {
            async fn upsert_users(&self, users: &[User]) -> Result<Vec<RowOutcome>, StorageError> {
                let mut transaction = self.pool.begin().await?;
                let external_ids = distinct(users.iter().filter_map(|user| user.external_id.as_deref()));
                let keys: Vec<String> = users.iter().map(User::principal_name_key).collect();
                let keys = distinct(keys.iter().map(String::as_str));

                let existing: HashMap<String, Record<User>> =
                    fetch_in::<UserRow>(&mut transaction, "SELECT * FROM users WHERE external_id", &external_ids)
                        .await?
                        .into_iter()
                        .filter_map(|row| Some((row.external_id.clone()?, Record::from(row))))
                        .collect();
                let holders: HashMap<String, UpnHolder> = fetch_in::<(String, Uuid, Option<String>)>(
                    &mut transaction,
                    "SELECT user_principal_name_key, id, external_id FROM users WHERE user_principal_name_key",
                    &keys,
                )
                .await?
                .into_iter()
                .map(|(key, id, external_id)| (key, UpnHolder { id, external_id }))
                .collect();

                let mut plan = plan_users(users, &existing, &holders);
                let now = now();
                for chunk in plan.inserts.chunks(CHUNK) {
                    let mut query = QueryBuilder::<$db>::new(
                        "INSERT INTO users (id, version, created_at, modified_at, user_principal_name, \
                         user_principal_name_key, display_name, mail, on_premises_distinguished_name, \
                         on_premises_sam_account_name, external_id, on_premises_security_identifier) ",
                    );
                    query.push_values(chunk, |mut row, insert| {
                        let user = *insert;
                        row.push_bind(Uuid::now_v7())
                            .push_bind(1_i64)
                            .push_bind(now)
                            .push_bind(now)
                            .push_bind(&user.user_principal_name)
                            .push_bind(user.principal_name_key())
                            .push_bind(&user.display_name)
                            .push_bind(&user.mail)
                            .push_bind(&user.on_premises_distinguished_name)
                            .push_bind(&user.on_premises_sam_account_name)
                            .push_bind(&user.external_id)
                            .push_bind(&user.on_premises_security_identifier);
                    });
                    query.build().execute(&mut *transaction).await?;
                }
                let mut results = Vec::with_capacity(plan.updates.len());
                for update in &plan.updates {
                    let user = update.value;
                    let updated = sqlx::query(
                        "UPDATE users SET version = version + 1, modified_at = $3, user_principal_name = $4, \
                         user_principal_name_key = $5, display_name = $6, mail = $7, \
                         on_premises_distinguished_name = $8, on_premises_sam_account_name = $9, \
                         on_premises_security_identifier = $10 WHERE id = $1 AND version = $2",
                    )
                    .bind(update.id)
                    .bind(update.version)
                    .bind(now)
                    .bind(&user.user_principal_name)
                    .bind(user.principal_name_key())
                    .bind(&user.display_name)
                    .bind(&user.mail)
                    .bind(&user.on_premises_distinguished_name)
                    .bind(&user.on_premises_sam_account_name)
                    .bind(&user.on_premises_security_identifier)
                    .execute(&mut *transaction)
                    .await?;
                    results.push((update.index, updated.rows_affected()));
                }
                for (index, rows_affected) in results {
                    // The row changed or went away since the lookup.
                    if rows_affected == 0 {
                        plan.lost_race(index);
                    }
                }
                transaction.commit().await?;
                Ok(plan.outcomes)
            }

            async fn upsert_devices(&self, devices: &[DeviceImport]) -> Result<Vec<RowOutcome>, StorageError> {
                let mut transaction = self.pool.begin().await?;
                let external_ids =
                    distinct(devices.iter().filter_map(|import| import.device.external_id.as_deref()));
                let user_external_ids =
                    distinct(devices.iter().filter_map(|import| import.user_external_id.as_deref()));

                let mut existing: HashMap<String, Record<StoredDevice>> = HashMap::new();
                for row in
                    fetch_in::<DeviceRow>(&mut transaction, "SELECT * FROM devices WHERE external_id", &external_ids)
                        .await?
                {
                    if let Some(external_id) = row.external_id.clone() {
                        existing.insert(external_id, row.try_into()?);
                    }
                }
                let users = ids_by_external_id(&mut transaction, "users", &user_external_ids).await?;

                let mut plan = plan_devices(devices, &existing, &users);
                let now = now();
                for chunk in plan.inserts.chunks(CHUNK) {
                    let mut query = QueryBuilder::<$db>::new(
                        "INSERT INTO devices (id, version, created_at, modified_at, device_name, platform, \
                         os_version, serial_number, imei, azure_ad_device_id, user_id, external_id, meid, \
                         wifi_mac_address, fully_qualified_domain_name) ",
                    );
                    query.push_values(chunk, |mut row, insert| {
                        let device = insert;
                        row.push_bind(Uuid::now_v7())
                            .push_bind(1_i64)
                            .push_bind(now)
                            .push_bind(now)
                            .push_bind(&device.device_name)
                            .push_bind(device.platform.as_str())
                            .push_bind(&device.os_version)
                            .push_bind(&device.serial_number)
                            .push_bind(&device.imei)
                            .push_bind(device.azure_ad_device_id)
                            .push_bind(device.user_id)
                            .push_bind(&device.external_id)
                            .push_bind(&device.meid)
                            .push_bind(&device.wifi_mac_address)
                            .push_bind(&device.fully_qualified_domain_name);
                    });
                    query.build().execute(&mut *transaction).await?;
                }
                let mut results = Vec::with_capacity(plan.updates.len());
                for update in &plan.updates {
                    let device = &update.value;
                    let updated = sqlx::query(
                        "UPDATE devices SET version = version + 1, modified_at = $3, device_name = $4, \
                         platform = $5, os_version = $6, serial_number = $7, imei = $8, \
                         azure_ad_device_id = $9, user_id = $10, meid = $11, wifi_mac_address = $12, \
                         fully_qualified_domain_name = $13 WHERE id = $1 AND version = $2",
                    )
                    .bind(update.id)
                    .bind(update.version)
                    .bind(now)
                    .bind(&device.device_name)
                    .bind(device.platform.as_str())
                    .bind(&device.os_version)
                    .bind(&device.serial_number)
                    .bind(&device.imei)
                    .bind(device.azure_ad_device_id)
                    .bind(device.user_id)
                    .bind(&device.meid)
                    .bind(&device.wifi_mac_address)
                    .bind(&device.fully_qualified_domain_name)
                    .execute(&mut *transaction)
                    .await?;
                    results.push((update.index, updated.rows_affected()));
                }
                for (index, rows_affected) in results {
                    // The row changed or went away since the lookup.
                    if rows_affected == 0 {
                        plan.lost_race(index);
                    }
                }
                transaction.commit().await?;
                Ok(plan.outcomes)
            }

            async fn import_memberships(&self, rows: &[MembershipImport]) -> Result<Vec<RowOutcome>, StorageError> {
                let mut transaction = self.pool.begin().await?;
                let group_external_ids = distinct(rows.iter().map(|row| row.group_external_id.as_str()));
                let member_external_ids = distinct(rows.iter().map(|row| row.member_external_id.as_str()));

                let mut groups: HashMap<String, GroupRef> = HashMap::new();
                for (external_id, id, group_type) in fetch_in::<(String, Uuid, String)>(
                    &mut transaction,
                    "SELECT external_id, id, group_type FROM directory_groups WHERE external_id",
                    &group_external_ids,
                )
                .await?
                {
                    let group_type = match group_type.as_str() {
                        "user" => GroupType::User,
                        "device" => GroupType::Device,
                        other => return Err(StorageError::Corrupt(format!("group {id}: group type {other:?}"))),
                    };
                    groups.insert(external_id, GroupRef { id, group_type });
                }
                // A member's kind follows from its group; the other table only
                // explains a rejection (wrong kind rather than unknown).
                let users = ids_by_external_id(&mut transaction, "users", &member_external_ids).await?;
                let devices = ids_by_external_id(&mut transaction, "devices", &member_external_ids).await?;

                let user_ids: Vec<Uuid> = users.values().copied().collect();
                let device_ids: Vec<Uuid> = devices.values().copied().collect();
                let mut members: HashSet<(Uuid, Uuid)> = HashSet::new();
                members.extend(
                    fetch_in_ids::<(Uuid, Uuid)>(
                        &mut transaction,
                        "SELECT group_id, user_id FROM user_group_members WHERE user_id",
                        &user_ids,
                    )
                    .await?,
                );
                members.extend(
                    fetch_in_ids::<(Uuid, Uuid)>(
                        &mut transaction,
                        "SELECT group_id, device_id FROM device_group_members WHERE device_id",
                        &device_ids,
                    )
                    .await?,
                );

                let plan = plan_memberships(rows, &groups, &users, &devices, &members);
                for group_type in [GroupType::User, GroupType::Device] {
                    let inserts: Vec<_> =
                        plan.inserts.iter().filter(|insert| insert.group_type == group_type).collect();
                    let sql = match group_type {
                        GroupType::User => "INSERT INTO user_group_members (group_id, user_id) ",
                        GroupType::Device => "INSERT INTO device_group_members (group_id, device_id) ",
                    };
                    for chunk in inserts.chunks(CHUNK) {
                        let mut query = QueryBuilder::<$db>::new(sql);
                        query.push_values(chunk, |mut row, insert| {
                            row.push_bind(insert.group_id).push_bind(insert.member_id);
                        });
                        // A concurrent import may have added it since the lookup: a member either way.
                        query.push(" ON CONFLICT DO NOTHING");
                        query.build().execute(&mut *transaction).await?;
                    }
                }
                transaction.commit().await?;
                Ok(plan.outcomes)
            }
        }
      }
    };
}

pub(crate) use impl_import_repository;
