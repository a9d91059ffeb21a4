//! Users, devices, groups and group members.

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

        use super::$store;
        use crate::{
            rows::{now, DeviceRow, GroupRow, MemberRow, UserRow},
            DeviceRepository, GroupMember, GroupRepository, MembershipChange, Page, PageRequest,
            RejectedMembers, StorageError, StoredDevice, UserRepository,
        };

        /// Ids per statement when checking or inserting members: far below
        /// both backends' bind-parameter limits.
        const MEMBER_CHUNK: usize = 1000;

        /// A unique index said no: name what is taken.
        fn unique_violation(error: sqlx::Error, what: &str) -> StorageError {
            match &error {
                sqlx::Error::Database(database_error) if database_error.is_unique_violation() => {
                    StorageError::Conflict(format!("{what} is already taken"))
                }
                _ => error.into(),
            }
        }

        fn user_conflict(error: sqlx::Error) -> StorageError {
            let message = error.as_database_error().map(|e| e.message().to_owned()).unwrap_or_default();
            if message.contains("external_id") {
                unique_violation(error, "externalId")
            } else {
                unique_violation(error, "userPrincipalName (compared case-insensitively)")
            }
        }

        /// After a conditional write matched no row: missing, or at another version?
        async fn version_mismatch_or_missing(
            executor: impl sqlx::Executor<'_, Database = $db>,
            table: &'static str,
            id: Uuid,
        ) -> StorageError {
            let sql = match table {
                "users" => "SELECT version FROM users WHERE id = $1",
                "devices" => "SELECT version FROM devices WHERE id = $1",
                _ => "SELECT version FROM directory_groups WHERE id = $1",
            };
            match sqlx::query_scalar::<_, i64>(sql).bind(id).fetch_optional(executor).await {
                Ok(Some(current)) => StorageError::VersionMismatch { current },
                Ok(None) => StorageError::NotFound,
                Err(error) => error.into(),
            }
        }

        async fn delete_versioned(
            store: &$store,
            table: &'static str,
            id: Uuid,
            expected_version: Option<i64>,
        ) -> Result<(), StorageError> {
            let sql = match table {
                "users" => "DELETE FROM users WHERE id = $1 AND ($2 IS NULL OR version = $2)",
                "devices" => "DELETE FROM devices WHERE id = $1 AND ($2 IS NULL OR version = $2)",
                _ => "DELETE FROM directory_groups WHERE id = $1 AND ($2 IS NULL OR version = $2)",
            };
            let mut transaction = store.pool.begin().await?;
            let deleted = sqlx::query(sql).bind(id).bind(expected_version).execute(&mut *transaction).await?;
            if deleted.rows_affected() == 0 {
                return Err(version_mismatch_or_missing(&mut *transaction, table, id).await);
            }
            transaction.commit().await?;
            Ok(())
        }

        #[async_trait]
        impl UserRepository for $store {
            async fn insert_user(&self, user: &User) -> Result<Record<User>, StorageError> {
                let row = sqlx::query_as::<_, UserRow>(
                    "INSERT INTO users (id, version, created_at, modified_at, user_principal_name, \
                     user_principal_name_key, display_name, mail, on_premises_distinguished_name, \
                     on_premises_sam_account_name, external_id, on_premises_security_identifier) \
                     VALUES ($1, 1, $2, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *",
                )
                .bind(Uuid::now_v7())
                .bind(now())
                .bind(&user.user_principal_name)
                .bind(user.principal_name_key())
                .bind(&user.display_name)
                .bind(&user.mail)
                .bind(&user.on_premises_distinguished_name)
                .bind(&user.on_premises_sam_account_name)
                .bind(&user.external_id)
                .bind(&user.on_premises_security_identifier)
                .fetch_one(&self.pool)
                .await
                .map_err(user_conflict)?;
                Ok(row.into())
            }

            async fn user(&self, id: Uuid) -> Result<Option<Record<User>>, StorageError> {
                let row = sqlx::query_as::<_, UserRow>("SELECT * FROM users WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(Into::into))
            }

            async fn list_users(&self, page: PageRequest) -> Result<Page<Record<User>>, StorageError> {
                let rows = sqlx::query_as::<_, UserRow>(
                    "SELECT * FROM users WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2",
                )
                .bind(page.cursor.map(|cursor| cursor.last_id()))
                .bind(i64::from(page.limit) + 1)
                .fetch_all(&self.pool)
                .await?;
                let records = rows.into_iter().map(Into::into).collect();
                Ok(Page::from_overfetched(records, page.limit, |record: &Record<User>| record.id))
            }

            async fn update_user(&self, id: Uuid, expected_version: i64, user: &User) -> Result<Record<User>, StorageError> {
                let mut transaction = self.pool.begin().await?;
                let row = sqlx::query_as::<_, UserRow>(
                    "UPDATE users SET version = version + 1, modified_at = $3, user_principal_name = $4, \
                     user_principal_name_key = $5, display_name = $6, mail = $7, \
                     on_premises_distinguished_name = $8, on_premises_sam_account_name = $9, external_id = $10, \
                     on_premises_security_identifier = $11 WHERE id = $1 AND version = $2 RETURNING *",
                )
                .bind(id)
                .bind(expected_version)
                .bind(now())
                .bind(&user.user_principal_name)
                .bind(user.principal_name_key())
                .bind(&user.display_name)
                .bind(&user.mail)
                .bind(&user.on_premises_distinguished_name)
                .bind(&user.on_premises_sam_account_name)
                .bind(&user.external_id)
                .bind(&user.on_premises_security_identifier)
                .fetch_optional(&mut *transaction)
                .await
                .map_err(user_conflict)?;
                let Some(row) = row else {
                    return Err(version_mismatch_or_missing(&mut *transaction, "users", id).await);
                };
                transaction.commit().await?;
                Ok(row.into())
            }

            async fn delete_user(&self, id: Uuid, expected_version: Option<i64>) -> Result<(), StorageError> {
                delete_versioned(self, "users", id, expected_version).await
            }
        }

        #[async_trait]
        impl DeviceRepository for $store {
            async fn insert_device(&self, device: &Device) -> Result<Record<StoredDevice>, StorageError> {
                sqlx::query_as::<_, DeviceRow>(
                    "INSERT INTO devices (id, version, created_at, modified_at, device_name, platform, \
                     os_version, serial_number, imei, azure_ad_device_id, user_id, external_id, meid, \
                     wifi_mac_address, fully_qualified_domain_name) \
                     VALUES ($1, 1, $2, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING *",
                )
                .bind(Uuid::now_v7())
                .bind(now())
                .bind(&device.device_name)
                .bind(device.platform.as_str())
                .bind(&device.os_version)
                .bind(&device.serial_number)
                .bind(&device.imei)
                .bind(device.azure_ad_device_id)
                .bind(device.user_id)
                .bind(&device.external_id)
                .bind(&device.meid)
                .bind(&device.wifi_mac_address)
                .bind(&device.fully_qualified_domain_name)
                .fetch_one(&self.pool)
                .await
                .map_err(|error| unique_violation(error, "externalId"))?
                .try_into()
            }

            async fn device(&self, id: Uuid) -> Result<Option<Record<StoredDevice>>, StorageError> {
                sqlx::query_as::<_, DeviceRow>("SELECT * FROM devices WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TryInto::try_into)
                    .transpose()
            }

            async fn list_devices(&self, page: PageRequest) -> Result<Page<Record<StoredDevice>>, StorageError> {
                let rows = sqlx::query_as::<_, DeviceRow>(
                    "SELECT * FROM devices WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2",
                )
                .bind(page.cursor.map(|cursor| cursor.last_id()))
                .bind(i64::from(page.limit) + 1)
                .fetch_all(&self.pool)
                .await?;
                let records = rows.into_iter().map(TryInto::try_into).collect::<Result<Vec<_>, _>>()?;
                Ok(Page::from_overfetched(records, page.limit, |record: &Record<StoredDevice>| record.id))
            }

            async fn update_device(
                &self,
                id: Uuid,
                expected_version: i64,
                device: &Device,
            ) -> Result<Record<StoredDevice>, StorageError> {
                let mut transaction = self.pool.begin().await?;
                let row = sqlx::query_as::<_, DeviceRow>(
                    "UPDATE devices SET version = version + 1, modified_at = $3, device_name = $4, platform = $5, \
                     os_version = $6, serial_number = $7, imei = $8, azure_ad_device_id = $9, user_id = $10, \
                     external_id = $11, meid = $12, wifi_mac_address = $13, fully_qualified_domain_name = $14 \
                     WHERE id = $1 AND version = $2 RETURNING *",
                )
                .bind(id)
                .bind(expected_version)
                .bind(now())
                .bind(&device.device_name)
                .bind(device.platform.as_str())
                .bind(&device.os_version)
                .bind(&device.serial_number)
                .bind(&device.imei)
                .bind(device.azure_ad_device_id)
                .bind(device.user_id)
                .bind(&device.external_id)
                .bind(&device.meid)
                .bind(&device.wifi_mac_address)
                .bind(&device.fully_qualified_domain_name)
                .fetch_optional(&mut *transaction)
                .await
                .map_err(|error| unique_violation(error, "externalId"))?;
                let Some(row) = row else {
                    return Err(version_mismatch_or_missing(&mut *transaction, "devices", id).await);
                };
                transaction.commit().await?;
                row.try_into()
            }

            async fn delete_device(&self, id: Uuid, expected_version: Option<i64>) -> Result<(), StorageError> {
                delete_versioned(self, "devices", id, expected_version).await
            }
        }

        #[async_trait]
        impl GroupRepository for $store {
            async fn insert_group(&self, group: &Group) -> Result<Record<Group>, StorageError> {
                sqlx::query_as::<_, GroupRow>(
                    "INSERT INTO directory_groups (id, version, created_at, modified_at, display_name, \
                     description, group_type, external_id) VALUES ($1, 1, $2, $2, $3, $4, $5, $6) RETURNING *",
                )
                .bind(Uuid::now_v7())
                .bind(now())
                .bind(&group.display_name)
                .bind(&group.description)
                .bind(group.group_type.as_str())
                .bind(&group.external_id)
                .fetch_one(&self.pool)
                .await
                .map_err(|error| unique_violation(error, "externalId"))?
                .try_into()
            }

            async fn group(&self, id: Uuid) -> Result<Option<Record<Group>>, StorageError> {
                sqlx::query_as::<_, GroupRow>("SELECT * FROM directory_groups WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TryInto::try_into)
                    .transpose()
            }

            async fn list_groups(&self, page: PageRequest) -> Result<Page<Record<Group>>, StorageError> {
                let rows = sqlx::query_as::<_, GroupRow>(
                    "SELECT * FROM directory_groups WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2",
                )
                .bind(page.cursor.map(|cursor| cursor.last_id()))
                .bind(i64::from(page.limit) + 1)
                .fetch_all(&self.pool)
                .await?;
                let records = rows.into_iter().map(TryInto::try_into).collect::<Result<Vec<_>, _>>()?;
                Ok(Page::from_overfetched(records, page.limit, |record: &Record<Group>| record.id))
            }

            async fn update_group(&self, id: Uuid, expected_version: i64, group: &Group) -> Result<Record<Group>, StorageError> {
                let mut transaction = self.pool.begin().await?;
                // group_type is not written: it is immutable (and the member tables' keys depend on it).
                let row = sqlx::query_as::<_, GroupRow>(
                    "UPDATE directory_groups SET version = version + 1, modified_at = $3, display_name = $4, \
                     description = $5, external_id = $6 WHERE id = $1 AND version = $2 RETURNING *",
                )
                .bind(id)
                .bind(expected_version)
                .bind(now())
                .bind(&group.display_name)
                .bind(&group.description)
                .bind(&group.external_id)
                .fetch_optional(&mut *transaction)
                .await
                .map_err(|error| unique_violation(error, "externalId"))?;
                let Some(row) = row else {
                    return Err(version_mismatch_or_missing(&mut *transaction, "groups", id).await);
                };
                transaction.commit().await?;
                row.try_into()
            }

            async fn delete_group(&self, id: Uuid, expected_version: Option<i64>) -> Result<(), StorageError> {
                delete_versioned(self, "groups", id, expected_version).await
            }

            async fn add_members(
                &self,
                group_id: Uuid,
                member_ids: &[Uuid],
            ) -> Result<Result<MembershipChange, RejectedMembers>, StorageError> {
                let mut requested: Vec<Uuid> = member_ids.to_vec();
                requested.sort_unstable();
                requested.dedup();
                let mut transaction = self.pool.begin().await?;
                let group_type = sqlx::query_scalar::<_, String>("SELECT group_type FROM directory_groups WHERE id = $1")
                    .bind(group_id)
                    .fetch_optional(&mut *transaction)
                    .await?
                    .ok_or(StorageError::NotFound)?;
                let (own, other, insert) = match group_type.as_str() {
                    "user" => ("users", "devices", "INSERT INTO user_group_members (group_id, user_id) "),
                    _ => ("devices", "users", "INSERT INTO device_group_members (group_id, device_id) "),
                };

                let existing_in = |table: &'static str, ids: &[Uuid]| {
                    let mut query = QueryBuilder::<$db>::new(format!("SELECT id FROM {table} WHERE id IN ("));
                    let mut list = query.separated(", ");
                    for id in ids {
                        list.push_bind(*id);
                    }
                    query.push(")");
                    query
                };
                let mut found: HashSet<Uuid> = HashSet::with_capacity(requested.len());
                for chunk in requested.chunks(MEMBER_CHUNK) {
                    let ids = existing_in(own, chunk).build_query_scalar::<Uuid>().fetch_all(&mut *transaction).await?;
                    found.extend(ids);
                }
                let missing: Vec<Uuid> = requested.iter().copied().filter(|id| !found.contains(id)).collect();
                if !missing.is_empty() {
                    let mut wrong_kind: HashSet<Uuid> = HashSet::new();
                    for chunk in missing.chunks(MEMBER_CHUNK) {
                        let ids =
                            existing_in(other, chunk).build_query_scalar::<Uuid>().fetch_all(&mut *transaction).await?;
                        wrong_kind.extend(ids);
                    }
                    let (wrong_kind, unknown): (Vec<Uuid>, Vec<Uuid>) =
                        missing.into_iter().partition(|id| wrong_kind.contains(id));
                    return Ok(Err(RejectedMembers { unknown, wrong_kind }));
                }

                let mut added = 0;
                for chunk in requested.chunks(MEMBER_CHUNK) {
                    let mut query = QueryBuilder::<$db>::new(insert);
                    query.push_values(chunk, |mut row, id| {
                        row.push_bind(group_id).push_bind(*id);
                    });
                    query.push(" ON CONFLICT DO NOTHING");
                    added += query.build().execute(&mut *transaction).await?.rows_affected();
                }
                transaction.commit().await?;
                Ok(Ok(MembershipChange {
                    added,
                    unchanged: requested.len() as u64 - added,
                }))
            }

            async fn remove_member(&self, group_id: Uuid, member_id: Uuid) -> Result<(), StorageError> {
                let removed = sqlx::query(
                    "DELETE FROM user_group_members WHERE group_id = $1 AND user_id = $2",
                )
                .bind(group_id)
                .bind(member_id)
                .execute(&self.pool)
                .await?
                .rows_affected()
                    + sqlx::query("DELETE FROM device_group_members WHERE group_id = $1 AND device_id = $2")
                        .bind(group_id)
                        .bind(member_id)
                        .execute(&self.pool)
                        .await?
                        .rows_affected();
                if removed == 0 {
                    return Err(StorageError::NotFound);
                }
                Ok(())
            }

            async fn list_members(&self, group_id: Uuid, page: PageRequest) -> Result<Page<GroupMember>, StorageError> {
                let group_type = sqlx::query_scalar::<_, String>("SELECT group_type FROM directory_groups WHERE id = $1")
                    .bind(group_id)
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or(StorageError::NotFound)?;
                let (member_type, sql) = if group_type == "user" {
                    (
                        GroupType::User,
                        "SELECT u.id, u.display_name, u.external_id FROM user_group_members m \
                         JOIN users u ON u.id = m.user_id \
                         WHERE m.group_id = $1 AND ($2 IS NULL OR m.user_id > $2) ORDER BY m.user_id LIMIT $3",
                    )
                } else {
                    (
                        GroupType::Device,
                        "SELECT d.id, d.device_name AS display_name, d.external_id FROM device_group_members m \
                         JOIN devices d ON d.id = m.device_id \
                         WHERE m.group_id = $1 AND ($2 IS NULL OR m.device_id > $2) ORDER BY m.device_id LIMIT $3",
                    )
                };
                let rows = sqlx::query_as::<_, MemberRow>(sql)
                    .bind(group_id)
                    .bind(page.cursor.map(|cursor| cursor.last_id()))
                    .bind(i64::from(page.limit) + 1)
                    .fetch_all(&self.pool)
                    .await?;
                let members = rows
                    .into_iter()
                    .map(|row| GroupMember {
                        id: row.id,
                        member_type,
                        display_name: row.display_name,
                        external_id: row.external_id,
                    })
                    .collect();
                Ok(Page::from_overfetched(members, page.limit, |member: &GroupMember| member.id))
            }
        }
      }
    };
}

pub(crate) use impl_directory_repositories;
