//! SQLite, the embedded default: one file, no server to run.
//!
//! The file holds users, devices and the certificate ledger, so it is
//! created readable by its owner only (0600, whatever the umask); SQLite
//! gives its `-wal` and `-shm` files the database file's permissions.

use std::{path::Path, str::FromStr};

use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    SqlitePool,
};

use crate::{lane::CheckInLane, PoolSettings, StorageError};

pub struct SqliteStore {
    pool: SqlitePool,
    /// Always empty: the one connection is the pool's, and a ping of an
    /// in-process database costs no round trip.
    check_in_lane: CheckInLane<sqlx::Sqlite>,
}

impl SqliteStore {
    pub async fn connect(path: &Path, settings: PoolSettings) -> Result<Self, StorageError> {
        create_private(path)?;
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
        Ok(Self {
            pool,
            check_in_lane: CheckInLane::new(0),
        })
    }
}

/// Creates the database file with mode 0600 when it does not exist yet, and
/// warns when an existing one is open to group or others.
fn create_private(path: &Path) -> Result<(), StorageError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            #[cfg(unix)]
            if let Ok(metadata) = std::fs::metadata(path) {
                let mode = std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o777;
                if mode & 0o077 != 0 {
                    tracing::warn!(path = %path.display(), mode = format!("{mode:o}"),
                        "the database file is readable by group or others; restrict it with chmod 600");
                }
            }
            Ok(())
        }
        Err(error) => Err(StorageError::Unavailable(sqlx::Error::Io(std::io::Error::new(
            error.kind(),
            format!("creating the database file {}: {error}", path.display()),
        )))),
    }
}

crate::sql::impl_store!(SqliteStore, sqlx::Sqlite, "../migrations/sqlite");
