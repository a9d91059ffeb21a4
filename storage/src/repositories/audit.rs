//! The audit trail. Entries are written by the admin writes themselves, in
//! their own transactions (each write method takes a [`NewAuditEntry`]);
//! this repository reads the trail and keeps it bounded.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scepter_domain::audit::{AuditAction, Change, ResourceType};
use uuid::Uuid;

use crate::{Page, PageRequest, StorageError};

/// Who made a change: the caller of the admin API (or the CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The token's subject; `cli:<user>` for the command line.
    pub subject: String,
    /// The role the caller acted in, e.g. `admin`.
    pub role: String,
    /// The request's `X-Request-Id`, to find its log lines.
    pub request_id: Option<Uuid>,
}

/// An entry to record with a write. The resource's id is the write's own
/// (a create learns it only when it inserts), so the write method supplies it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    pub actor: Actor,
    pub action: AuditAction,
    pub resource_type: ResourceType,
    /// Field-level differences; never secrets or certificate bytes.
    pub changes: Vec<Change>,
}

impl NewAuditEntry {
    pub fn new(
        actor: &Actor,
        action: AuditAction,
        resource_type: ResourceType,
        changes: Vec<Change>,
    ) -> Self {
        Self {
            actor: actor.clone(),
            action,
            resource_type,
            changes,
        }
    }

    /// This entry with `changes`: for writes whose differences only the store
    /// knows (ids it assigns, members a request actually added).
    pub fn with_changes(&self, changes: Vec<Change>) -> Self {
        Self {
            changes,
            ..self.clone()
        }
    }
}

/// A recorded entry.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAuditEntry {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub actor: Actor,
    pub action: AuditAction,
    pub resource_type: ResourceType,
    /// `None` for an import, which concerns many resources.
    pub resource_id: Option<Uuid>,
    pub changes: Vec<Change>,
}

/// Filter of the trail; every field narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub resource_id: Option<Uuid>,
    pub resource_type: Option<ResourceType>,
    pub actor: Option<String>,
    pub action: Option<AuditAction>,
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait AuditRepository: Send + Sync {
    /// One page of entries, oldest first.
    async fn audit_entries(
        &self,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<StoredAuditEntry>, StorageError>;

    /// Deletes up to `limit` entries that occurred before `before`; returns how many.
    async fn purge_audit_entries(&self, before: DateTime<Utc>, limit: u32) -> Result<u64, StorageError>;
}
