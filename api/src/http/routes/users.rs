//! `/api/v1/users`: the people whose devices get user certificates.

use actix_web::{web, HttpResponse};
use scepter_domain::directory::{User, UserDraft};
use uuid::Uuid;

use super::{created, ok_with_etag, optional_precondition, required_precondition, resource, PageQuery};
use scepter_storage::RevocationScope;

use crate::{
    error::ApiError,
    http::auth::{Admin, Reader},
    http::dto::{UserList, UserView},
    http::extract::{IfMatch, ValidJson},
    service::enrollment,
    state::AppState,
};

pub const PATH: &str = "/api/v1/users";

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            resource(PATH, "GET, POST")
                .route(web::post().to(create))
                .route(web::get().to(list)),
        )
        .service(
            resource(&format!("{PATH}/{{id}}"), "GET, PUT, DELETE")
                .route(web::get().to(get))
                .route(web::put().to(replace))
                .route(web::delete().to(delete)),
        );
}

/// Create a user
///
/// `userPrincipalName` (case-insensitive) and `externalId` are unique (409 when taken).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", operation_id = "createUser",
    request_body = UserDraft,
    responses((status = 201, description = "Created", body = UserView,
        headers(("ETag" = String, description = "Version tag for If-Match"), ("Location" = String, description = "URL of the new user"))),
        (status = 409, description = "UPN or externalId taken", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create(
    _: Admin,
    state: web::Data<AppState>,
    body: ValidJson<UserDraft>,
) -> Result<HttpResponse, ApiError> {
    let user = User::parse(body.0)?;
    let record = state.store.insert_user(&user).await?;
    Ok(created(
        format!("{PATH}/{}", record.id),
        record.version,
        &UserView::from(record),
    ))
}

/// List users
#[utoipa::path(get, path = "/api/v1/users", tag = "users", operation_id = "listUsers", params(PageQuery),
    responses((status = 200, description = "One page, in creation order", body = UserList)))]
pub async fn list(
    _: Reader,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = state.store.list_users(query.page()?).await?;
    Ok(HttpResponse::Ok().json(UserList::new(page, UserView::from)))
}

/// Get a user
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", operation_id = "getUser",
    params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "The user", body = UserView,
        headers(("ETag" = String, description = "Version tag for If-Match")))))]
pub async fn get(
    _: Reader,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let record = state.store.user(*id).await?.ok_or(ApiError::NotFound)?;
    Ok(ok_with_etag(record.version, &UserView::from(record)))
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
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UserDraft>,
) -> Result<HttpResponse, ApiError> {
    let current_version = async { Ok(state.store.user(*id).await?.map(|record| record.version)) };
    let expected_version = required_precondition(if_match, current_version).await?;
    let user = User::parse(body.0)?;
    let record = state.store.update_user(*id, expected_version, &user).await?;
    Ok(ok_with_etag(record.version, &UserView::from(record)))
}

/// Delete a user
///
/// Also removes the user from its groups and clears it as primary user of its devices.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", operation_id = "deleteUser",
    params(("id" = Uuid, Path, description = "User id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being deleted")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let current_version = async { Ok(state.store.user(*id).await?.map(|record| record.version)) };
    let expected_version = optional_precondition(if_match, current_version).await?;
    state.store.delete_user(*id, expected_version).await?;
    // Its devices lose their primary user, and with it user-group profiles.
    enrollment::queue_revocations(&state, RevocationScope::All).await;
    Ok(HttpResponse::NoContent().finish())
}
