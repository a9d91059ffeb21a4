//! A stored aggregate: the validated content plus the identity and
//! optimistic-concurrency metadata every API resource carries.

use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct Record<T> {
    pub id: Uuid,
    /// Starts at 1 and grows by one on every update; the API's `ETag`.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
    pub content: T,
}
