use thiserror::Error;

/// What can go wrong in a repository. The API maps each variant to one status code.
#[derive(Debug, Error)]
pub enum StorageError {
    #[error("not found")]
    NotFound,
    /// Optimistic concurrency: the row changed since the client read it.
    #[error("the resource is at version {current}, not the expected one")]
    VersionMismatch { current: i64 },
    /// The change would break a relationship between resources.
    #[error("{0}")]
    Conflict(String),
    /// A referenced resource does not exist (anymore).
    #[error("a referenced resource does not exist")]
    MissingReference,
    /// The database cannot be reached or answered too slowly.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// A stored row that the domain rejects: a bug or a hand-edited database.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StorageError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => StorageError::Unavailable(error),
            sqlx::Error::Database(database_error) if database_error.is_foreign_key_violation() => {
                StorageError::MissingReference
            }
            _ => StorageError::Database(error),
        }
    }
}
