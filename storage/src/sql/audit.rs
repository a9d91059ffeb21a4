//! The audit trail.

/// `$1`–`$9`: the columns in order.
pub(crate) const INSERT_AUDIT_ENTRY: &str =
    "INSERT INTO audit_events (id, occurred_at, actor, role, request_id, action, resource_type, \
     resource_id, changes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// `$1`–`$6` the filter (`NULL`: any), `$7` keyset, `$8` limit. Indexes:
/// audit_events_resource, _actor or _action, else the primary key.
pub(crate) const LIST_AUDIT_ENTRIES: &str =
    "SELECT id, occurred_at, actor, role, request_id, action, resource_type, resource_id, changes \
     FROM audit_events \
     WHERE ($1 IS NULL OR resource_id = $1) AND ($2 IS NULL OR resource_type = $2) \
     AND ($3 IS NULL OR actor = $3) AND ($4 IS NULL OR action = $4) \
     AND ($5 IS NULL OR occurred_at >= $5) AND ($6 IS NULL OR occurred_at < $6) \
     AND ($7 IS NULL OR id > $7) ORDER BY id LIMIT $8";

/// One bounded batch (the sweep loops). Index audit_events_occurred_at (0010).
pub(crate) const PURGE_AUDIT_ENTRIES: &str = "DELETE FROM audit_events WHERE id IN \
     (SELECT id FROM audit_events WHERE occurred_at < $1 LIMIT $2)";

macro_rules! impl_audit_repository {
    ($store:ident, $db:ty) => {
        mod audit_repository {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            use super::$store;
            use crate::{
                rows::{now, AuditRow},
                sql::audit::*,
                AuditFilter, AuditRepository, NewAuditEntry, Page, PageRequest, StorageError,
                StoredAuditEntry,
            };

            /// Records `entry` about resource `resource_id`, inside the
            /// transaction of the write it describes (`None`: an import).
            pub(crate) async fn insert_audit_entry(
                executor: impl sqlx::Executor<'_, Database = $db>,
                entry: &NewAuditEntry,
                resource_id: Option<Uuid>,
            ) -> Result<(), StorageError> {
                sqlx::query(INSERT_AUDIT_ENTRY)
                    .bind(Uuid::now_v7())
                    .bind(now())
                    .bind(&entry.actor.subject)
                    .bind(&entry.actor.role)
                    .bind(entry.actor.request_id)
                    .bind(entry.action.as_str())
                    .bind(entry.resource_type.as_str())
                    .bind(resource_id)
                    .bind(sqlx::types::Json(&entry.changes))
                    .execute(executor)
                    .await?;
                Ok(())
            }

            #[async_trait]
            impl AuditRepository for $store {
                async fn audit_entries(
                    &self,
                    filter: &AuditFilter,
                    page: PageRequest,
                ) -> Result<Page<StoredAuditEntry>, StorageError> {
                    let rows = sqlx::query_as::<_, AuditRow>(LIST_AUDIT_ENTRIES)
                        .bind(filter.resource_id)
                        .bind(filter.resource_type.map(|kind| kind.as_str()))
                        .bind(filter.actor.as_deref())
                        .bind(filter.action.map(|action| action.as_str()))
                        .bind(filter.from)
                        .bind(filter.to)
                        .bind(page.after())
                        .bind(page.fetch_limit())
                        .fetch_all(&self.pool)
                        .await?;
                    Page::from_rows(rows, page, |entry: &StoredAuditEntry| entry.id)
                }

                async fn purge_audit_entries(
                    &self,
                    before: DateTime<Utc>,
                    limit: u32,
                ) -> Result<u64, StorageError> {
                    Ok(sqlx::query(PURGE_AUDIT_ENTRIES)
                        .bind(before)
                        .bind(i64::from(limit))
                        .execute(&self.pool)
                        .await?
                        .rows_affected())
                }
            }
        }
    };
}

pub(crate) use impl_audit_repository;
