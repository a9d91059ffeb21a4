//! `GET /api/v1/events`: the connector's event log.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use scepter_storage::EventFilter;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{page_request, resource};
use crate::http::extract::Query;
use crate::{
    error::ApiError,
    http::{
        auth::Reader,
        dto::{EventList, EventView},
    },
    state::AppState,
};

pub fn configure(config: &mut web::ServiceConfig) {
    config.service(resource("/api/v1/events", "GET").route(web::get().to(events)));
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct EventQuery {
    pub device_id: Option<Uuid>,
    pub profile_id: Option<Uuid>,
    /// The seed's event id, e.g. 20500.
    // Documented with the range the server parses (u32); utoipa would say int32.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4294967295_u32)]
    pub event_id: Option<u32>,
    /// Events at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Events before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Page size, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// Events
///
/// Connector events (challenge verification, notification, revocation),
/// oldest first, filtered by device, profile, event id and time range.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", operation_id = "listEvents",
    params(EventQuery),
    responses((status = 200, description = "One page of events", body = EventList)))]
pub async fn events(
    _: Reader,
    state: web::Data<AppState>,
    query: Query<EventQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(query.limit, query.cursor.as_deref())?;
    if let (Some(from), Some(to)) = (query.from, query.to) {
        if to <= from {
            return Err(ApiError::field("to", "range", "must be after from"));
        }
    }
    let filter = EventFilter {
        device_id: query.device_id,
        profile_id: query.profile_id,
        event_id: query.event_id,
        from: query.from,
        to: query.to,
    };
    let events = state.store.list_events(filter, page).await?;
    Ok(HttpResponse::Ok().json(EventList::new(events, EventView::from)))
}
