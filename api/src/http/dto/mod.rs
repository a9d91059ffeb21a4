//! Request and response bodies, and the query strings of list endpoints.
//! Request bodies are mostly the domain's `*Draft` types; responses add
//! identity, versioning, derived details and warnings, in Graph's names.

mod audit;
mod directory;
mod dry_run;
mod enrollment;
mod health;
mod profiles;

use scepter_domain::Platform;
use scepter_storage::{Cursor, PageRequest, ProfileFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub use audit::*;
pub use directory::*;
pub use dry_run::*;
pub use enrollment::*;
pub use health::*;
pub use profiles::*;

use crate::error::ApiError;

/// Named one-page list types (one schema per item type keeps generated clients simple).
macro_rules! page_of {
    ($($list:ident => $item:ty, $doc:literal;)*) => {$(
        #[doc = $doc]
        #[derive(Debug, Serialize, ToSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $list {
            pub items: Vec<$item>,
            /// Pass as `cursor` to get the next page; `null` on the last page.
            pub next_cursor: Option<String>,
        }

        impl $list {
            pub fn new<T>(page: scepter_storage::Page<T>, view: impl FnMut(T) -> $item) -> Self {
                Self {
                    next_cursor: page.next_cursor.map(|cursor| cursor.encode()),
                    items: page.items.into_iter().map(view).collect(),
                }
            }
        }
    )*};
}

page_of! {
    TrustedCertificateProfileList => TrustedCertificateProfileView, "One page of trusted certificate profiles.";
    ScepCertificateProfileList => ScepCertificateProfileView, "One page of SCEP certificate profiles.";
    UserList => UserView, "One page of users.";
    DeviceList => DeviceView, "One page of devices.";
    GroupList => GroupView, "One page of groups.";
    GroupMemberList => GroupMemberView, "One page of a group's members.";
    AssignmentList => AssignmentView, "One page of a profile's assignments.";
    EventList => EventView, "One page of events, oldest first.";
    AuditEventList => AuditEventView, "One page of audit events, oldest first.";
    DeviceImpactList => DeviceImpactView, "One page of the devices a dry run concerns, by id.";
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

/// A page of at most `limit` items (1–500, default 100) after `cursor`, a `nextCursor`.
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
