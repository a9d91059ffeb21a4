//! Report snapshots: one row per name, conditional upserts on integer times.

/// `$1` name, `$2` generated (µs), `$3` body: stored only over an older snapshot.
pub(crate) const SAVE_SNAPSHOT: &str = "INSERT INTO report_snapshots \
     (name, generated_micros, body, refresh_claimed_until_micros) VALUES ($1, $2, $3, 0) \
     ON CONFLICT (name) DO UPDATE SET generated_micros = excluded.generated_micros, body = excluded.body, \
     refresh_claimed_until_micros = 0 WHERE report_snapshots.generated_micros < excluded.generated_micros";

/// `$1` name.
pub(crate) const SELECT_SNAPSHOT: &str =
    "SELECT generated_micros, body FROM report_snapshots WHERE name = $1 AND generated_micros > 0";

/// `$1` name, `$2` stale before, `$3` now, `$4` lease until (µs): a row
/// comes back when the claim was taken.
pub(crate) const CLAIM_REFRESH: &str = "INSERT INTO report_snapshots \
     (name, generated_micros, body, refresh_claimed_until_micros) VALUES ($1, 0, 'null', $4) \
     ON CONFLICT (name) DO UPDATE SET refresh_claimed_until_micros = excluded.refresh_claimed_until_micros \
     WHERE report_snapshots.generated_micros <= $2 AND report_snapshots.refresh_claimed_until_micros < $3 \
     RETURNING name";

macro_rules! impl_report_snapshot_repository {
    ($store:ident, $db:ty) => {
        mod report_snapshot_repository {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};

            use super::$store;
            use crate::{sql::snapshots::*, ReportSnapshot, ReportSnapshotRepository, StorageError};

            fn micros(at: DateTime<Utc>) -> i64 {
                at.timestamp_micros()
            }

            #[async_trait]
            impl ReportSnapshotRepository for $store {
                async fn report_snapshot(&self, name: &str) -> Result<Option<ReportSnapshot>, StorageError> {
                    let row = sqlx::query_as::<_, (i64, String)>(SELECT_SNAPSHOT)
                        .bind(name)
                        .fetch_optional(&self.pool)
                        .await?;
                    row.map(|(generated, body)| {
                        let generated_at =
                            DateTime::<Utc>::from_timestamp_micros(generated).ok_or_else(|| {
                                StorageError::Corrupt(format!("report snapshot time {generated}"))
                            })?;
                        Ok(ReportSnapshot { generated_at, body })
                    })
                    .transpose()
                }

                async fn save_report_snapshot(
                    &self,
                    name: &str,
                    snapshot: &ReportSnapshot,
                ) -> Result<bool, StorageError> {
                    let saved = sqlx::query(SAVE_SNAPSHOT)
                        .bind(name)
                        .bind(micros(snapshot.generated_at))
                        .bind(&snapshot.body)
                        .execute(&self.pool)
                        .await?;
                    Ok(saved.rows_affected() == 1)
                }

                async fn claim_report_refresh(
                    &self,
                    name: &str,
                    stale_before: DateTime<Utc>,
                    now: DateTime<Utc>,
                    lease_until: DateTime<Utc>,
                ) -> Result<bool, StorageError> {
                    let claimed = sqlx::query_scalar::<_, String>(CLAIM_REFRESH)
                        .bind(name)
                        .bind(micros(stale_before))
                        .bind(micros(now))
                        .bind(micros(lease_until))
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(claimed.is_some())
                }
            }
        }
    };
}

pub(crate) use impl_report_snapshot_repository;
