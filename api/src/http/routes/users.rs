//! `/api/v1/users`: the people whose devices get user certificates.

use actix_web::{web, HttpResponse};
use scepter_domain::directory::{User, UserDraft};
use uuid::Uuid;

use super::{created_record, crud, dry_run_answer, no_content, ok_record, page_request, PageQuery, Reply};
use crate::http::extract::Query;
use crate::{
    http::auth::{Admin, Reader},
    http::dto::{DeletionDryRun, DryRunQuery, UserList, UserView},
    http::extract::{IfMatch, ValidJson},
    service::versioned,
    state::AppState,
};

pub const PATH: &str = "/api/v1/users";

pub fn configure(config: &mut web::ServiceConfig) {
    crud(config, PATH, (create, list), (get, replace, delete));
}

/// Create a user
///
/// `userPrincipalName` (case-insensitive) and `externalId` are unique (409 when taken).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", operation_id = "createUser",
    request_body = UserDraft,
    responses((status = 201, description = "Created", body = UserView,
        headers(("ETag" = String, description = "Version tag for If-Match"), ("Location" = String, description = "URL of the new user"))),
        (status = 409, description = "UPN or externalId taken", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create(admin: Admin, state: web::Data<AppState>, body: ValidJson<UserDraft>) -> Reply {
    created_record(
        PATH,
        versioned::create::<User>(&state, &admin.actor(), body.0).await?,
        UserView::from,
    )
}

/// List users
#[utoipa::path(get, path = "/api/v1/users", tag = "users", operation_id = "listUsers", params(PageQuery),
    responses((status = 200, description = "One page, in creation order", body = UserList)))]
pub async fn list(_: Reader, state: web::Data<AppState>, query: Query<PageQuery>) -> Reply {
    let page = state.store.list_users(query.page()?).await?;
    Ok(HttpResponse::Ok().json(UserList::new(page, UserView::from)))
}

/// Get a user
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", operation_id = "getUser",
    params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "The user", body = UserView,
        headers(("ETag" = String, description = "Version tag for If-Match")))))]
pub async fn get(_: Reader, state: web::Data<AppState>, id: web::Path<Uuid>) -> Reply {
    ok_record(versioned::get::<User>(&state, *id).await?, UserView::from)
}

/// Replace a user
#[utoipa::path(put, path = "/api/v1/users/{id}", tag = "users", operation_id = "replaceUser",
    params(("id" = Uuid, Path, description = "User id"),
        ("If-Match" = String, Header, description = "ETag of the version being replaced")),
    request_body = UserDraft,
    responses((status = 200, description = "Replaced", body = UserView,
        headers(("ETag" = String, description = "Version tag for If-Match"))),
        (status = 409, description = "UPN or externalId taken", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn replace(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UserDraft>,
) -> Reply {
    ok_record(
        versioned::replace::<User>(&state, &admin.actor(), *id, &if_match, body.0).await?,
        UserView::from,
    )
}

/// Delete a user
///
/// Also removes the user from its groups and clears it as primary user of its devices.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", operation_id = "deleteUser",
    params(("id" = Uuid, Path, description = "User id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being deleted"), DryRunQuery),
    responses((status = 204, description = "Deleted"),
        (status = 200, description = "With dryRun=true: what the delete would do to the user's devices; nothing is written",
            body = DeletionDryRun)))]
pub async fn delete(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    query: Query<DryRunQuery>,
) -> Reply {
    if query.is_dry_run() {
        let devices = page_request(query.limit, query.cursor.as_deref())?;
        let run = versioned::delete_dry_run::<User>(&state, &admin.actor(), *id, &if_match, devices).await?;
        return dry_run_answer(&state, run, |_| None, DeletionDryRun::new).await;
    }
    versioned::delete::<User>(&state, &admin.actor(), *id, &if_match).await?;
    no_content()
}
