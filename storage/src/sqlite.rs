//! SQLite, the embedded default: one file, no server to run.

use std::{path::Path, str::FromStr};

use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    SqlitePool,
};

use async_trait::async_trait;

use crate::{
    sql::{
        impl_assignment_repository, impl_credential_repository, impl_directory_repositories,
        impl_import_repository, impl_lifecycle_repository, impl_profile_repositories,
    },
    PoolSettings, PoolStatus, StorageError, Store,
};

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(path: &Path, settings: PoolSettings) -> Result<Self, StorageError> {
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            // WAL lets readers proceed while one writer commits; NORMAL sync is
            // durable across application crashes, which is what WAL needs.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(settings.acquire_timeout);
        // One connection: SQLite has one writer at a time anyway, and a second
        // connection whose read transaction wants to become a write while the
        // first still holds (or is rolling back) the write lock gets
        // SQLITE_BUSY at once, without the busy timeout — seen as spurious
        // "database is locked" errors. Serialising through one connection
        // trades read parallelism, which the embedded default does not need.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StorageError> {
        sqlx::migrate!("../migrations/sqlite").run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    fn pool_status(&self) -> PoolStatus {
        PoolStatus {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }
}

impl_profile_repositories!(SqliteStore, sqlx::Sqlite);
impl_directory_repositories!(SqliteStore, sqlx::Sqlite);
impl_assignment_repository!(SqliteStore, sqlx::Sqlite);
impl_credential_repository!(SqliteStore, sqlx::Sqlite);
impl_lifecycle_repository!(SqliteStore, sqlx::Sqlite);
impl_import_repository!(SqliteStore, sqlx::Sqlite);
