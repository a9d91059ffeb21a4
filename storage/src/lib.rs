//! Scepter's repositories: where profiles live between requests.
//!
//! The API talks to one [`Store`] trait object, composed of one repository
//! trait per aggregate, each declared with its types in
//! `repositories/<aggregate>.rs`: [`TrustedProfileRepository`] and
//! [`ScepProfileRepository`] (`profiles.rs`); [`UserRepository`],
//! [`DeviceRepository`] and [`GroupRepository`] (`directory.rs`);
//! [`AssignmentRepository`]; [`DeviceCredentialRepository`];
//! [`CheckInRepository`] (the facts a check-in decides on, and what it
//! records); [`LedgerRepository`] (used challenges, allowed and denied
//! requests, SCEP transactions, issued certificates, enrollment states,
//! revocations and their purges); [`EventRepository`] (the event log); and
//! [`ImportRepository`] (bulk import, `import.rs`, whose batch decisions are
//! pure Rust).
//!
//! Two backends implement them with the same SQL: PostgreSQL for production
//! and SQLite as the embedded default, chosen by [`DatabaseTarget`]. The SQL
//! lives once in `sql/`, one file per aggregate mirroring `repositories/`:
//! statements as `const`s or small functions, column binds as `bind_*!`
//! macros, and one `impl_*!` macro per file that instantiates the trait
//! implementations for a backend (sqlx's per-database traits make a generic
//! `impl<DB>` unreadable); `sql::impl_store!` applies them all, with the
//! optimistic-concurrency helpers they share, to [`PostgresStore`] and
//! [`SqliteStore`]. Row → record conversions are in `rows.rs`, keyset pages
//! in `pagination.rs`, and unique-key conflicts are classified by constraint
//! name, the same way on both backends, in `sql/constraints.rs`.
//!
//! PostgreSQL and SQLite accept the same statements here (`$n` parameters,
//! `RETURNING`, `ON CONFLICT`, the same column names), and sqlx decodes the
//! same Rust types from both. What differs — connection options, column types,
//! migrations — lives in `postgres.rs`, `sqlite.rs` and `migrations/`. Both
//! pass the same conformance suites in `tests/`, run once per backend by
//! [`store_tests!`] (feature `testing`, which also gives the black-box suite
//! [`backend_tests!`]).

mod error;
mod import;
mod lane;
mod pagination;
mod postgres;
mod repositories;
mod rows;
mod sql;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

use std::{path::PathBuf, sync::Arc, time::Duration};

pub use error::StorageError;
pub use import::{DeviceImport, ImportRepository, ImportRun, MembershipImport, RowOutcome};
pub use pagination::{Cursor, InvalidCursor, Page, PageRequest};
pub use postgres::PostgresStore;
pub use repositories::*;
pub use rows::now;
pub use sqlite::SqliteStore;

/// Which database to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// A `postgres://` URL (it may hold a password: never log it whole).
    Postgres { url: String },
    /// An SQLite file, created when missing.
    Sqlite { path: PathBuf },
}

impl DatabaseTarget {
    /// A description safe to log: backend and location, no credentials.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseTarget::Postgres { url } => match url.rsplit_once('@') {
                Some((_, host_and_db)) => format!("postgres://…@{host_and_db}"),
                None => url.clone(),
            },
            DatabaseTarget::Sqlite { path } => format!("sqlite:{}", path.display()),
        }
    }
}

/// Connection-pool settings shared by both backends.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// PostgreSQL pool size; SQLite always uses one connection (see `sqlite.rs`).
    pub max_connections: u32,
    /// How long a request waits for a connection before failing (API: 503), so
    /// an unreachable database fails requests fast instead of hanging them.
    pub acquire_timeout: Duration,
    /// PostgreSQL connections kept beside the pool for device credentials,
    /// the query of every check-in (see `lane.rs`); 0 turns the lane off.
    pub check_in_connections: u32,
}

impl PoolSettings {
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;
    /// As many as the pool: measured better than 4 or 8 at 32 check-in
    /// connections (BENCHMARKS.md).
    pub const DEFAULT_CHECK_IN_CONNECTIONS: u32 = 16;
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            acquire_timeout: Duration::from_secs(5),
            check_in_connections: Self::DEFAULT_CHECK_IN_CONNECTIONS,
        }
    }
}

/// Opens (and for SQLite creates) the database; does not migrate.
pub async fn connect(
    target: &DatabaseTarget,
    settings: PoolSettings,
) -> Result<Arc<dyn Store>, StorageError> {
    Ok(match target {
        DatabaseTarget::Postgres { url } => Arc::new(PostgresStore::connect(url, settings).await?),
        DatabaseTarget::Sqlite { path } => Arc::new(SqliteStore::connect(path, settings).await?),
    })
}
