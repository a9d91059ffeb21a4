//! PostgreSQL, the production backend.

use sqlx::{postgres::PgPoolOptions, PgPool};

use crate::{PoolSettings, StorageError};

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(url: &str, settings: PoolSettings) -> Result<Self, StorageError> {
        let pool = PgPoolOptions::new()
            // No ping (a round trip) before each use: a connection the
            // database dropped fails its one request with 503 (Unavailable)
            // and is discarded, instead of every request paying for a check.
            .test_before_acquire(false)
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect(url)
            .await?;
        Ok(Self { pool })
    }
}

crate::sql::impl_store!(PostgresStore, sqlx::Postgres, "../migrations/postgres");
