//! Scepter's repositories: where profiles live between requests.
//!
//! The API talks to one [`Store`] trait object. Two backends implement it with
//! the same SQL ([`sql_store`] holds it once): PostgreSQL for production and
//! SQLite as the embedded default, chosen by [`DatabaseTarget`]. Both pass
//! the one conformance suite in `tests/conformance.rs`.

mod error;
mod pagination;
mod postgres;
mod rows;
mod sql_store;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

use std::{path::PathBuf, sync::Arc, time::Duration};

use async_trait::async_trait;
use scepter_domain::{Platform, Record, ScepCertificateProfile, TrustedCertificateProfile};
use uuid::Uuid;

pub use error::StorageError;
pub use pagination::{Cursor, InvalidCursor, Page, PageRequest};
pub use postgres::PostgresStore;
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

/// Filter of the profile list endpoints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProfileFilter {
    pub platform: Option<Platform>,
}

/// Trusted certificate profiles.
#[async_trait]
pub trait TrustedProfileRepository: Send + Sync {
    async fn insert_trusted_profile(
        &self,
        profile: &TrustedCertificateProfile,
    ) -> Result<Record<TrustedCertificateProfile>, StorageError>;

    async fn trusted_profile(
        &self,
        id: Uuid,
    ) -> Result<Option<Record<TrustedCertificateProfile>>, StorageError>;

    async fn list_trusted_profiles(
        &self,
        filter: ProfileFilter,
        page: PageRequest,
    ) -> Result<Page<Record<TrustedCertificateProfile>>, StorageError>;

    /// Replaces the profile if it is still at `expected_version`. Fails with
    /// [`StorageError::Conflict`] when a new platform would no longer suit a
    /// SCEP profile that uses this one as its root.
    async fn update_trusted_profile(
        &self,
        id: Uuid,
        expected_version: i64,
        profile: &TrustedCertificateProfile,
    ) -> Result<Record<TrustedCertificateProfile>, StorageError>;

    /// Fails with [`StorageError::Conflict`] while a SCEP profile uses it as its root.
    async fn delete_trusted_profile(
        &self,
        id: Uuid,
        expected_version: Option<i64>,
    ) -> Result<(), StorageError>;
}

/// SCEP certificate profiles.
#[async_trait]
pub trait ScepProfileRepository: Send + Sync {
    /// Fails with [`StorageError::MissingReference`] when the root profile no longer exists.
    async fn insert_scep_profile(
        &self,
        profile: &ScepCertificateProfile,
    ) -> Result<Record<ScepCertificateProfile>, StorageError>;

    async fn scep_profile(&self, id: Uuid) -> Result<Option<Record<ScepCertificateProfile>>, StorageError>;

    async fn list_scep_profiles(
        &self,
        filter: ProfileFilter,
        page: PageRequest,
    ) -> Result<Page<Record<ScepCertificateProfile>>, StorageError>;

    async fn update_scep_profile(
        &self,
        id: Uuid,
        expected_version: i64,
        profile: &ScepCertificateProfile,
    ) -> Result<Record<ScepCertificateProfile>, StorageError>;

    async fn delete_scep_profile(&self, id: Uuid, expected_version: Option<i64>) -> Result<(), StorageError>;
}

/// Everything the API needs from a database.
#[async_trait]
pub trait Store: TrustedProfileRepository + ScepProfileRepository {
    /// Applies the embedded migrations that have not run yet.
    async fn migrate(&self) -> Result<(), StorageError>;

    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> Result<(), StorageError>;

    /// Closes the pool, waiting for connections in use.
    async fn close(&self);
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
