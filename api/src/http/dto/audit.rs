//! The audit trail's entries.

use chrono::{DateTime, Utc};
use scepter_domain::audit::{AuditAction, Change, ResourceType};
use scepter_storage::StoredAuditEntry;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// One successful admin write: who, what, and the fields it changed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventView {
    pub id: Uuid,
    pub occurred_date_time: DateTime<Utc>,
    /// The bearer token's subject (`cli:<user>` for the command line).
    pub actor: String,
    /// The role the actor acted in.
    pub role: String,
    /// The request's `X-Request-Id`, to find its log lines.
    pub request_id: Option<Uuid>,
    pub action: AuditAction,
    pub resource_type: ResourceType,
    /// `null` for an import, which concerns many resources.
    pub resource_id: Option<Uuid>,
    /// Field-level differences, as JSON Pointers into the resource as the
    /// API shows it. Certificates appear as their SHA-1 thumbprints; secrets
    /// never appear. Assignments are changes of their profile at
    /// `/assignments/{id}`, members changes of their group at `/members/{id}`.
    pub changes: Vec<Change>,
}

impl From<StoredAuditEntry> for AuditEventView {
    fn from(entry: StoredAuditEntry) -> Self {
        Self {
            id: entry.id,
            occurred_date_time: entry.occurred_at,
            actor: entry.actor.subject,
            role: entry.actor.role,
            request_id: entry.actor.request_id,
            action: entry.action,
            resource_type: entry.resource_type,
            resource_id: entry.resource_id,
            changes: entry.changes,
        }
    }
}
