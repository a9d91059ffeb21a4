//! PostgreSQL, the production backend.

use sqlx::{postgres::PgPoolOptions, PgPool};

use async_trait::async_trait;

use crate::{
    sql::{
        impl_assignment_repository, impl_credential_repository, impl_directory_repositories,
        impl_import_repository, impl_lifecycle_repository, impl_profile_repositories,
    },
    PoolSettings, PoolStatus, StorageError, Store,
};

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(url: &str, settings: PoolSettings) -> Result<Self, StorageError> {
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect(url)
            .await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn migrate(&self) -> Result<(), StorageError> {
        sqlx::migrate!("../migrations/postgres").run(&self.pool).await?;
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

impl_profile_repositories!(PostgresStore, sqlx::Postgres);
impl_directory_repositories!(PostgresStore, sqlx::Postgres);
impl_assignment_repository!(PostgresStore, sqlx::Postgres);
impl_credential_repository!(PostgresStore, sqlx::Postgres);
impl_lifecycle_repository!(PostgresStore, sqlx::Postgres);
impl_import_repository!(PostgresStore, sqlx::Postgres);
