//! Scepter's repositories: where profiles live between requests.
//!
//! The API talks to one [`Store`] trait object, composed of one repository
//! trait per aggregate. Two backends implement it with the same SQL (`sql/`
//! holds it once): PostgreSQL for production and SQLite as the embedded
//! default, chosen by [`DatabaseTarget`]. Both pass the one conformance suite
//! in `tests/conformance.rs`.
//!
//! PostgreSQL and SQLite accept the same statements here (`$n` parameters,
//! `RETURNING`, `ON CONFLICT`, the same column names), and sqlx decodes the
//! same Rust types from both. What differs — connection options, column types,
//! migrations — lives in `postgres.rs`, `sqlite.rs` and `migrations/`. Macros
//! instantiate the implementations per backend because sqlx's per-database
//! traits make a generic `impl<DB>` unreadable.

mod error;
mod import;
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
pub use import::{DeviceImport, ImportRepository, MembershipImport, RowOutcome};
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
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
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
