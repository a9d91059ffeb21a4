//! The event log.

/// `$1`–`$9`: the columns in order.
pub(crate) const INSERT_EVENT: &str =
    "INSERT INTO events (id, event_id, device_id, profile_id, certificate_id, \
     transaction_id, diagnostic_code, message, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// `$1`–`$5` the filter (`NULL`: any), `$6` keyset, `$7` limit.
pub(crate) const LIST_EVENTS: &str =
    "SELECT id, event_id, device_id, profile_id, certificate_id, transaction_id, \
     diagnostic_code, message, occurred_at FROM events \
     WHERE ($1 IS NULL OR device_id = $1) AND ($2 IS NULL OR profile_id = $2) \
     AND ($3 IS NULL OR event_id = $3) AND ($4 IS NULL OR occurred_at >= $4) \
     AND ($5 IS NULL OR occurred_at < $5) AND ($6 IS NULL OR id > $6) \
     ORDER BY id LIMIT $7";

/// One bounded batch (the sweep loops). Index events_occurred_at (0008).
pub(crate) const PURGE_EVENTS: &str =
    "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE occurred_at < $1 LIMIT $2)";

macro_rules! impl_event_repository {
    ($store:ident, $db:ty) => {
        mod event_repository {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            use super::$store;
            use crate::{
                rows::{now, EventRow},
                sql::events::*,
                EventFilter, EventRepository, NewEvent, Page, PageRequest, StorageError, StoredEvent,
            };

            /// Records `event` as occurred `at` (also inside the ledger's transactions).
            pub(super) async fn insert_event(
                executor: impl sqlx::Executor<'_, Database = $db>,
                event: &NewEvent,
                at: DateTime<Utc>,
            ) -> Result<(), StorageError> {
                sqlx::query(INSERT_EVENT)
                    .bind(Uuid::now_v7())
                    .bind(i64::from(event.event.id()))
                    .bind(event.device_id)
                    .bind(event.profile_id)
                    .bind(event.certificate_id)
                    .bind(event.transaction_id.as_deref())
                    .bind(i64::from(event.diagnostic.code()))
                    .bind(&event.message)
                    .bind(at)
                    .execute(executor)
                    .await?;
                Ok(())
            }

            #[async_trait]
            impl EventRepository for $store {
                async fn record_event(&self, event: &NewEvent) -> Result<(), StorageError> {
                    insert_event(&self.pool, event, now()).await
                }

                async fn list_events(
                    &self,
                    filter: EventFilter,
                    page: PageRequest,
                ) -> Result<Page<StoredEvent>, StorageError> {
                    let rows = sqlx::query_as::<_, EventRow>(LIST_EVENTS)
                        .bind(filter.device_id)
                        .bind(filter.profile_id)
                        .bind(filter.event_id.map(i64::from))
                        .bind(filter.from)
                        .bind(filter.to)
                        .bind(page.after())
                        .bind(page.fetch_limit())
                        .fetch_all(&self.pool)
                        .await?;
                    Page::from_rows(rows, page, |event: &StoredEvent| event.id)
                }

                async fn purge_events(&self, before: DateTime<Utc>, limit: u32) -> Result<u64, StorageError> {
                    Ok(sqlx::query(PURGE_EVENTS)
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

pub(crate) use impl_event_repository;
