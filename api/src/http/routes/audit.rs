//! The audit trail: `GET /api/v1/audit-events` (filtered) and
//! `GET /api/v1/{collection}/{id}/history` (one resource's entries).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use scepter_domain::audit::{AuditAction, ResourceType};
use scepter_storage::AuditFilter;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{page_request, resource, PageQuery, Reply};
use crate::http::extract::Query;
use crate::{
    error::ApiError,
    http::{
        auth::Reader,
        dto::{AuditEventList, AuditEventView},
    },
    state::AppState,
};

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(resource("/api/v1/audit-events", "GET").route(web::get().to(audit_events)))
        .service(resource("/api/v1/{collection}/{id}/history", "GET").route(web::get().to(history)));
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct AuditQuery {
    /// Entries about this resource (also deleted ones).
    pub resource_id: Option<Uuid>,
    pub resource_type: Option<ResourceType>,
    /// The token subject that made the change.
    pub actor: Option<String>,
    pub action: Option<AuditAction>,
    /// Entries at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Entries before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Page size, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// Audit events
///
/// Every successful admin write — creates, replacements and deletes,
/// assignments, group members, device credentials, certificates revoked by
/// hand, imports — recorded in the write's own transaction, oldest first.
#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit", operation_id = "listAuditEvents",
    params(AuditQuery),
    responses((status = 200, description = "One page of audit events", body = AuditEventList)))]
pub async fn audit_events(_: Reader, state: web::Data<AppState>, query: Query<AuditQuery>) -> Reply {
    let page = page_request(query.limit, query.cursor.as_deref())?;
    if let (Some(from), Some(to)) = (query.from, query.to) {
        if to <= from {
            return Err(ApiError::field("to", "range", "must be after from"));
        }
    }
    if query
        .actor
        .as_deref()
        .is_some_and(|actor| actor.len() > MAX_ACTOR_LENGTH)
    {
        return Err(ApiError::field(
            "actor",
            "maxLength",
            format!("at most {MAX_ACTOR_LENGTH} bytes"),
        ));
    }
    let query = query.into_inner();
    let filter = AuditFilter {
        resource_id: query.resource_id,
        resource_type: query.resource_type,
        actor: query.actor,
        action: query.action,
        from: query.from,
        to: query.to,
    };
    let entries = state.store.audit_entries(&filter, page).await?;
    Ok(HttpResponse::Ok().json(AuditEventList::new(entries, AuditEventView::from)))
}

/// Longer than any token subject Scepter issues; a longer filter matches nothing.
const MAX_ACTOR_LENGTH: usize = 256;

/// The collections with a history, by their path segment.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AuditedCollection {
    TrustedCertificateProfiles,
    ScepCertificateProfiles,
    Users,
    Devices,
    Groups,
}

impl AuditedCollection {
    fn resource_type(self) -> ResourceType {
        match self {
            Self::TrustedCertificateProfiles => ResourceType::TrustedCertificateProfile,
            Self::ScepCertificateProfiles => ResourceType::ScepCertificateProfile,
            Self::Users => ResourceType::User,
            Self::Devices => ResourceType::Device,
            Self::Groups => ResourceType::Group,
        }
    }
}

/// History of a resource
///
/// The audit events of one profile, user, device or group, oldest first —
/// including its assignments (profiles), members (groups) and credentials
/// (devices), and its deletion: a deleted resource keeps its history until
/// retention removes it, so an unknown id answers an empty page, not 404.
#[utoipa::path(get, path = "/api/v1/{collection}/{id}/history", tag = "audit", operation_id = "getResourceHistory",
    params(("collection" = AuditedCollection, Path, description = "The resource's collection"),
        ("id" = Uuid, Path, description = "The resource's id"), PageQuery),
    responses((status = 200, description = "One page of the resource's audit events", body = AuditEventList)))]
pub async fn history(
    _: Reader,
    state: web::Data<AppState>,
    path: web::Path<(AuditedCollection, Uuid)>,
    query: Query<PageQuery>,
) -> Reply {
    // An unknown collection or a malformed id names no resource: 404 (`extract::path_error`).
    let (collection, id) = path.into_inner();
    let filter = AuditFilter {
        resource_id: Some(id),
        resource_type: Some(collection.resource_type()),
        ..AuditFilter::default()
    };
    let entries = state.store.audit_entries(&filter, query.page()?).await?;
    Ok(HttpResponse::Ok().json(AuditEventList::new(entries, AuditEventView::from)))
}
