//! The repository SQL, written once for both backends (see the crate docs).
//!
//! One file per aggregate, mirroring `repositories/`. Each holds its
//! statements as `const`s (or, where a statement is assembled from parts,
//! plain functions) and one macro that implements its repository traits for
//! a store type: sqlx's traits are per database, so the implementations are
//! instantiated per backend, but what they share lives outside the macros —
//! row → record conversions in `rows.rs`, the column binds of each aggregate
//! in a `bind_*!` macro next to its statements, unique-key classification in
//! `constraints.rs`, keyset pages in `pagination.rs`, and the optimistic
//! concurrency of versioned rows in [`impl_store!`]'s `versioned` module.

pub(crate) mod assignments;
pub(crate) mod audit;
pub(crate) mod checkin;
pub(crate) mod constraints;
pub(crate) mod credentials;
pub(crate) mod directory;
pub(crate) mod events;
pub(crate) mod impact;
pub(crate) mod import;
pub(crate) mod ledger;
pub(crate) mod profiles;
pub(crate) mod snapshots;
pub(crate) mod statuses;
pub(crate) mod timeline;

pub(crate) use assignments::impl_assignment_repository;
pub(crate) use audit::impl_audit_repository;
pub(crate) use checkin::impl_check_in_repository;
pub(crate) use constraints::{unique_violation, UniqueKey};
pub(crate) use credentials::impl_credential_repository;
pub(crate) use directory::{bind_device_attributes, bind_user_attributes, impl_directory_repositories};
pub(crate) use events::impl_event_repository;
pub(crate) use impact::impl_impact_repository;
pub(crate) use import::impl_import_repository;
pub(crate) use ledger::impl_ledger_repository;
pub(crate) use profiles::impl_profile_repositories;
pub(crate) use snapshots::impl_report_snapshot_repository;
pub(crate) use statuses::impl_status_repository;
pub(crate) use timeline::impl_enrollment_history_repository;

/// What the two backends spell differently; the macros reach it as `<$db as Dialect>`.
/// The conformance suite runs every statement built from it on both.
pub(crate) trait Dialect {
    /// Run first in a transaction that records observations in bulk
    /// (check-in times): its commit need not wait for the disk. A crash may
    /// lose the last fraction of a second of them — observations the next
    /// check-in makes again, never an admin change or a certificate.
    /// `None` where commits cost no disk wait worth avoiding.
    const OBSERVATIONS_COMMIT: Option<&'static str>;

    /// Run first in the transaction of a device-status report's reads, if anything.
    const BEFORE_STATUS_READS: Option<&'static str>;

    /// Run first in a dry run's transaction, if anything.
    const BEFORE_IMPACT_READS: Option<&'static str>;

    /// Ends a subquery in `FROM` whose columns the outer query uses more than
    /// once, so that they are computed once per row: without it both planners
    /// inline the subquery and copy its expressions into every use (for a
    /// targeting condition, one more set of hashed member sets each).
    const SUBQUERY_FENCE: &'static str;

    /// `column` (a stored `DateTime<Utc>`) as an integer count of microseconds.
    fn epoch_micros(column: &str) -> String;
}

impl Dialect for sqlx::Postgres {
    const OBSERVATIONS_COMMIT: Option<&'static str> = Some("SET LOCAL synchronous_commit TO OFF");

    /// No JIT: the targeting conditions' cost estimates are far above what a
    /// range read does (the planner cannot see the LIMIT stop early), and
    /// compiling, which they would trigger, costs more than the reads. More
    /// sort memory: the summary ranks every valid certificate per device,
    /// which at 100,000 devices spills to disk under the default 4 MB.
    const BEFORE_STATUS_READS: Option<&'static str> =
        Some("SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true)");

    /// As for status reads, and no parallel workers: a dry run's applicability
    /// statements hash the members of every assigned group, and each worker
    /// builds the same hashes again — on two cores, measured at 100,000
    /// devices, the serial plan is about a third faster.
    const BEFORE_IMPACT_READS: Option<&'static str> = Some(
        "SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true), \
         set_config('max_parallel_workers_per_gather', '0', true)",
    );

    const SUBQUERY_FENCE: &'static str = "OFFSET 0";

    /// `timestamptz` keeps microseconds, and `EXTRACT` returns an exact numeric.
    fn epoch_micros(column: &str) -> String {
        format!("CAST(EXTRACT(EPOCH FROM {column}) * 1000000 AS BIGINT)")
    }
}

impl Dialect for sqlx::Sqlite {
    // One process on a local file; its commits are already cheap.
    const OBSERVATIONS_COMMIT: Option<&'static str> = None;

    const BEFORE_STATUS_READS: Option<&'static str> = None;

    const BEFORE_IMPACT_READS: Option<&'static str> = None;

    /// SQLite accepts OFFSET only after a LIMIT; −1 is none.
    const SUBQUERY_FENCE: &'static str = "LIMIT -1 OFFSET 0";

    /// sqlx stores a `DateTime<Utc>` as RFC 3339 text,
    /// `YYYY-MM-DDTHH:MM:SS[.fraction]+00:00`: the whole seconds from
    /// `strftime('%s')` (SQLite's own date functions keep only milliseconds),
    /// the microseconds from the first six digits of the fraction.
    fn epoch_micros(column: &str) -> String {
        format!(
            "(CAST(strftime('%s', {column}) AS INTEGER) * 1000000 + \
             CASE WHEN substr({column}, 20, 1) = '.' THEN CAST(substr(substr({column}, 21, \
             instr(substr({column}, 21), '+') - 1) || '00000', 1, 6) AS INTEGER) ELSE 0 END)"
        )
    }
}

/// The statements that check and delete a row with a version (optimistic concurrency).
pub(crate) struct VersionedTable {
    /// `$1`: id.
    pub version: &'static str,
    /// `$1`: id, `$2`: the expected version, or `NULL` for any.
    pub delete: &'static str,
}

/// Implements [`crate::Store`] and every repository trait for `$store`, a
/// struct whose `pool` is a `sqlx::Pool<$db>`; `$migrations` is the path of
/// the backend's migrations for `sqlx::migrate!`.
macro_rules! impl_store {
    ($store:ident, $db:ty, $migrations:tt) => {
        /// Optimistic concurrency, shared by every repository with versioned rows.
        mod versioned {
            use uuid::Uuid;

            use crate::{sql::VersionedTable, NewAuditEntry, StorageError};

            type Connection = <$db as sqlx::Database>::Connection;

            /// Records `audit`, about row `id`, in the transaction of the write it describes.
            pub(super) async fn audited(
                connection: &mut Connection,
                audit: &NewAuditEntry,
                id: Uuid,
            ) -> Result<(), StorageError> {
                super::audit_repository::insert_audit_entry(connection, audit, Some(id)).await
            }

            /// After a conditional write matched no row: missing, or at another version?
            pub(super) async fn mismatch_or_missing(
                connection: &mut Connection,
                table: &VersionedTable,
                id: Uuid,
            ) -> StorageError {
                match sqlx::query_scalar::<_, i64>(table.version)
                    .bind(id)
                    .fetch_optional(connection)
                    .await
                {
                    Ok(Some(current)) => StorageError::VersionMismatch { current },
                    Ok(None) => StorageError::NotFound,
                    Err(error) => error.into(),
                }
            }

            /// The row a conditional update returned, with its audit entry
            /// recorded, or why there was none.
            pub(super) async fn updated<R>(
                row: Option<R>,
                connection: &mut Connection,
                table: &VersionedTable,
                id: Uuid,
                audit: &NewAuditEntry,
            ) -> Result<R, StorageError> {
                match row {
                    Some(row) => {
                        audited(connection, audit, id).await?;
                        Ok(row)
                    }
                    None => Err(mismatch_or_missing(connection, table, id).await),
                }
            }

            /// Deletes the row if it is at `expected_version` (or at any, for
            /// `None`), and records `audit`.
            pub(super) async fn delete(
                connection: &mut Connection,
                table: &VersionedTable,
                id: Uuid,
                expected_version: Option<i64>,
                audit: &NewAuditEntry,
            ) -> Result<(), StorageError> {
                let deleted = sqlx::query(table.delete)
                    .bind(id)
                    .bind(expected_version)
                    .execute(&mut *connection)
                    .await?;
                if deleted.rows_affected() == 0 {
                    return Err(mismatch_or_missing(connection, table, id).await);
                }
                audited(connection, audit, id).await
            }

            /// [`delete`] in a transaction of its own.
            pub(super) async fn delete_alone(
                pool: &sqlx::Pool<$db>,
                table: &VersionedTable,
                id: Uuid,
                expected_version: Option<i64>,
                audit: &NewAuditEntry,
            ) -> Result<(), StorageError> {
                let mut transaction = pool.begin().await?;
                delete(&mut transaction, table, id, expected_version, audit).await?;
                transaction.commit().await?;
                Ok(())
            }
        }

        /// Reads of rows keyed by one id, converted to records.
        mod fetch {
            use uuid::Uuid;

            use crate::StorageError;

            /// A row type this backend decodes and that converts to a `T`.
            pub(super) trait RowOf<T>:
                for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row>
                + TryInto<T, Error = StorageError>
                + Send
                + Unpin
            {
            }

            impl<T, R> RowOf<T> for R where
                R: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row>
                    + TryInto<T, Error = StorageError>
                    + Send
                    + Unpin
            {
            }

            /// The row `sql` finds for `$1 = key`, converted to a `T`.
            pub(super) async fn one<R: RowOf<T>, T>(
                executor: impl sqlx::Executor<'_, Database = $db>,
                sql: &'static str,
                key: Uuid,
            ) -> Result<Option<T>, StorageError> {
                let row = sqlx::query_as::<_, R>(sql)
                    .bind(key)
                    .fetch_optional(executor)
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            /// Every row `sql` finds for `$1 = key`, converted to `T`s.
            pub(super) async fn all<R: RowOf<T>, T>(
                executor: impl sqlx::Executor<'_, Database = $db>,
                sql: &'static str,
                key: Uuid,
            ) -> Result<Vec<T>, StorageError> {
                let rows = sqlx::query_as::<_, R>(sql)
                    .bind(key)
                    .fetch_all(executor)
                    .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            /// Every row `sql` finds for `$1 = key` and ids in `[$2, $3]`, converted to `T`s.
            pub(super) async fn all_in_range<R: RowOf<T>, T>(
                executor: impl sqlx::Executor<'_, Database = $db>,
                sql: &'static str,
                key: Uuid,
                (lower, upper): (Uuid, Uuid),
            ) -> Result<Vec<T>, StorageError> {
                let rows = sqlx::query_as::<_, R>(sql)
                    .bind(key)
                    .bind(lower)
                    .bind(upper)
                    .fetch_all(executor)
                    .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }
        }

        /// Transactions for observations (check-in times, payload offers):
        /// facts the service saw rather than changes an admin made, so a
        /// crash may lose the last moment of them (see
        /// [`Dialect::OBSERVATIONS_COMMIT`](crate::sql::Dialect::OBSERVATIONS_COMMIT)).
        mod observations {
            use crate::{sql::Dialect, StorageError};

            /// A transaction whose commit does not wait for the disk where the backend allows it.
            pub(super) async fn begin(
                pool: &sqlx::Pool<$db>,
            ) -> Result<sqlx::Transaction<'static, $db>, StorageError> {
                let mut transaction = pool.begin().await?;
                if let Some(statement) = <$db as Dialect>::OBSERVATIONS_COMMIT {
                    sqlx::query(statement).execute(&mut *transaction).await?;
                }
                Ok(transaction)
            }
        }

        $crate::sql::impl_audit_repository!($store, $db);
        $crate::sql::impl_profile_repositories!($store, $db);
        $crate::sql::impl_directory_repositories!($store, $db);
        $crate::sql::impl_assignment_repository!($store, $db);
        $crate::sql::impl_credential_repository!($store, $db);
        $crate::sql::impl_check_in_repository!($store, $db);
        $crate::sql::impl_ledger_repository!($store, $db);
        $crate::sql::impl_event_repository!($store, $db);
        $crate::sql::impl_import_repository!($store, $db);
        $crate::sql::impl_status_repository!($store, $db);
        $crate::sql::impl_impact_repository!($store, $db);
        $crate::sql::impl_enrollment_history_repository!($store, $db);
        $crate::sql::impl_report_snapshot_repository!($store, $db);

        #[async_trait::async_trait]
        impl $crate::Store for $store {
            async fn migrate(&self) -> Result<(), $crate::StorageError> {
                sqlx::migrate!($migrations).run(&self.pool).await?;
                Ok(())
            }

            async fn ping(&self) -> Result<(), $crate::StorageError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn close(&self) {
                self.check_in_lane.close().await;
                self.pool.close().await;
            }

            fn pool_status(&self) -> $crate::PoolStatus {
                $crate::PoolStatus {
                    pool: $crate::ConnectionCounts {
                        size: self.pool.size(),
                        idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
                        max: self.pool.options().get_max_connections(),
                    },
                    check_in: self.check_in_lane.status(),
                }
            }
        }
    };
}

pub(crate) use impl_store;
