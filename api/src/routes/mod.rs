//! HTTP routes, one module per resource.

pub mod docs;
pub mod health;
pub mod scep_profiles;
pub mod trusted_profiles;

use actix_web::{http::header, web, HttpResponse};
use scepter_domain::Platform;
use scepter_storage::{Cursor, PageRequest, ProfileFilter};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::{error::ApiError, extract::etag};

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .configure(health::configure)
        .configure(docs::configure)
        .configure(trusted_profiles::configure)
        .configure(scep_profiles::configure);
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

/// A resource at `path` whose unsupported methods get a 405 problem document.
pub fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(|| async {
        Err::<HttpResponse, _>(ApiError::MethodNotAllowed)
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
