//! PostgreSQL, the production backend.

use sqlx::{postgres::PgPoolOptions, PgPool};

use crate::{lane::CheckInLane, PoolSettings, StorageError};

pub struct PostgresStore {
    pool: PgPool,
    check_in_lane: CheckInLane<sqlx::Postgres>,
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
        Ok(Self {
            pool,
            check_in_lane: CheckInLane::new(settings.check_in_connections),
        })
    }
}

crate::sql::impl_store!(PostgresStore, sqlx::Postgres, "../migrations/postgres");
