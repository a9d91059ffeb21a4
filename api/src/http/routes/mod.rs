//! HTTP routes, one module per resource.

pub mod assignments;
pub mod certificates;
pub mod checkin;
pub mod connector;
pub mod credentials;
pub mod device_statuses;
pub mod devices;
pub mod docs;
pub mod events;
pub mod groups;
pub mod health;
pub mod preview;
pub mod revocations;
pub mod scep_profiles;
pub mod step_ca;
pub mod trusted_profiles;
pub mod users;

use std::future::Future;

use actix_web::{http::header, web, HttpResponse};
use scepter_domain::Platform;
use scepter_storage::{Cursor, PageRequest, ProfileFilter, StorageError};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::{
    error::ApiError,
    http::extract::{etag, IfMatch},
};

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .configure(health::configure)
        .configure(docs::configure)
        .configure(trusted_profiles::configure)
        .configure(scep_profiles::configure)
        .configure(assignments::configure)
        .configure(users::configure)
        .configure(devices::configure)
        .configure(groups::configure)
        .configure(preview::configure)
        .configure(credentials::configure)
        .configure(checkin::configure)
        .configure(connector::configure)
        .configure(revocations::configure)
        .configure(step_ca::configure)
        .configure(certificates::configure)
        .configure(device_statuses::configure)
        .configure(events::configure);
}

/// Query parameters of the profile list endpoints.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProfileListQuery {
    /// Only profiles for this platform.
    #[param(value_type = Option<Platform>)]
    pub platform: Option<String>,
    /// Page size, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

impl ProfileListQuery {
    pub fn parse(&self) -> Result<(ProfileFilter, PageRequest), ApiError> {
        let platform = self
            .platform
            .as_deref()
            .map(|platform| {
                platform
                    .parse::<Platform>()
                    .map_err(|error| ApiError::field("platform", "oneOf", error.to_string()))
            })
            .transpose()?;
        Ok((
            ProfileFilter { platform },
            page_request(self.limit, self.cursor.as_deref())?,
        ))
    }
}

/// Query parameters of list endpoints without filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        page_request(self.limit, self.cursor.as_deref())
    }
}

/// The expected version of a write whose `If-Match` is optional (deletes):
/// none without the header; otherwise the current version, which
/// `current_version` reads only then.
pub async fn optional_precondition(
    if_match: IfMatch,
    current_version: impl Future<Output = Result<Option<i64>, StorageError>>,
) -> Result<Option<i64>, ApiError> {
    match if_match {
        IfMatch::Absent => Ok(None),
        condition => {
            let current = current_version.await?.ok_or(ApiError::NotFound)?;
            Ok(Some(condition.expect(current)?))
        }
    }
}

/// The expected version of a write that needs `If-Match` (replacements).
pub async fn required_precondition(
    if_match: IfMatch,
    current_version: impl Future<Output = Result<Option<i64>, StorageError>>,
) -> Result<i64, ApiError> {
    let current = current_version.await?.ok_or(ApiError::NotFound)?;
    if_match.expect(current)
}

pub fn page_request(limit: Option<i64>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
    let max = i64::from(PageRequest::MAX_LIMIT);
    let limit = match limit {
        None => PageRequest::DEFAULT_LIMIT,
        Some(limit @ 1..) if limit <= max => limit as u32,
        Some(other) => {
            return Err(ApiError::field(
                "limit",
                "range",
                format!("must be between 1 and {max}, got {other}"),
            ))
        }
    };
    let cursor = cursor
        .map(|cursor| {
            Cursor::decode(cursor).map_err(|error| ApiError::field("cursor", "cursor", error.to_string()))
        })
        .transpose()?;
    Ok(PageRequest { limit, cursor })
}

/// A resource at `path` serving the methods in `allow` (e.g. `"GET, POST"`);
/// others get a 405 problem document with that `Allow` header.
pub fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || async move {
        Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allow })
    }))
}

/// 200 with the body and the version's `ETag`.
pub fn ok_with_etag(version: i64, body: &impl Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(header::ETag(etag(version)))
        .json(body)
}

/// 201 with the body, its `Location` and the version's `ETag`.
pub fn created(location: String, version: i64, body: &impl Serialize) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .insert_header(header::ETag(etag(version)))
        .json(body)
}
