//! `/api/v1/groups`: user and device groups, and their members.

use std::collections::HashSet;

use actix_web::{web, HttpResponse};
use scepter_domain::{
    directory::{Group, GroupDraft, MAX_MEMBERS_PER_REQUEST},
    ValidationErrors,
};
use uuid::Uuid;

use super::{created, ok_with_etag, optional_precondition, resource, PageQuery};
use scepter_storage::RevocationScope;

use crate::{
    error::ApiError,
    http::auth::{Admin, Reader},
    http::dto::{
        AddMembersRequest, GroupList, GroupMemberList, GroupMemberView, GroupView, MembershipChangeView,
    },
    http::extract::{IfMatch, ValidJson},
    service::enrollment,
    state::AppState,
};

pub const PATH: &str = "/api/v1/groups";

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
        )
        .service(
            resource(&format!("{PATH}/{{id}}/members"), "GET, POST")
                .route(web::post().to(add_members))
                .route(web::get().to(list_members)),
        )
        .service(
            resource(&format!("{PATH}/{{id}}/members/{{memberId}}"), "DELETE")
                .route(web::delete().to(remove_member)),
        );
}

/// Create a group
#[utoipa::path(post, path = "/api/v1/groups", tag = "groups", operation_id = "createGroup",
    request_body = GroupDraft,
    responses((status = 201, description = "Created", body = GroupView,
        headers(("ETag" = String, description = "Version tag for If-Match"), ("Location" = String, description = "URL of the new group"))),
        (status = 409, description = "externalId taken", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create(
    _: Admin,
    state: web::Data<AppState>,
    body: ValidJson<GroupDraft>,
) -> Result<HttpResponse, ApiError> {
    let group = Group::parse(body.0)?;
    let record = state.store.insert_group(&group).await?;
    Ok(created(
        format!("{PATH}/{}", record.id),
        record.version,
        &GroupView::from(record),
    ))
}

/// List groups
#[utoipa::path(get, path = "/api/v1/groups", tag = "groups", operation_id = "listGroups", params(PageQuery),
    responses((status = 200, description = "One page, in creation order", body = GroupList)))]
pub async fn list(
    _: Reader,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = state.store.list_groups(query.page()?).await?;
    Ok(HttpResponse::Ok().json(GroupList::new(page, GroupView::from)))
}

/// Get a group
#[utoipa::path(get, path = "/api/v1/groups/{id}", tag = "groups", operation_id = "getGroup",
    params(("id" = Uuid, Path, description = "Group id")),
    responses((status = 200, description = "The group", body = GroupView,
        headers(("ETag" = String, description = "Version tag for If-Match")))))]
pub async fn get(
    _: Reader,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let record = state.store.group(*id).await?.ok_or(ApiError::NotFound)?;
    Ok(ok_with_etag(record.version, &GroupView::from(record)))
}

/// Replace a group
///
/// `groupType` cannot change (422).
#[utoipa::path(put, path = "/api/v1/groups/{id}", tag = "groups", operation_id = "replaceGroup",
    params(("id" = Uuid, Path, description = "Group id"),
        ("If-Match" = String, Header, description = "ETag of the version being replaced")),
    request_body = GroupDraft,
    responses((status = 200, description = "Replaced", body = GroupView,
        headers(("ETag" = String, description = "Version tag for If-Match"))),
        (status = 409, description = "externalId taken", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn replace(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<GroupDraft>,
) -> Result<HttpResponse, ApiError> {
    let current = state.store.group(*id).await?.ok_or(ApiError::NotFound)?;
    let expected_version = if_match.expect(current.version)?;
    let group = Group::parse(body.0)?;
    current.content.check_replacement(&group)?;
    let record = state.store.update_group(*id, expected_version, &group).await?;
    Ok(ok_with_etag(record.version, &GroupView::from(record)))
}

/// Delete a group
///
/// Also removes its memberships and the profile assignments that name it, in one transaction.
#[utoipa::path(delete, path = "/api/v1/groups/{id}", tag = "groups", operation_id = "deleteGroup",
    params(("id" = Uuid, Path, description = "Group id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being deleted")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let current_version = async { Ok(state.store.group(*id).await?.map(|record| record.version)) };
    let expected_version = optional_precondition(if_match, current_version).await?;
    state.store.delete_group(*id, expected_version).await?;
    enrollment::queue_revocations(&state, RevocationScope::All).await;
    Ok(HttpResponse::NoContent().finish())
}

/// Add members
///
/// Users to a user group, devices to a device group: up to 10,000 ids in one
/// transaction. Ids already in the group are fine (idempotent). When any id is
/// unknown or of the wrong kind, nothing is added and the 422 lists each of them.
#[utoipa::path(post, path = "/api/v1/groups/{id}/members", tag = "groups", operation_id = "addGroupMembers",
    params(("id" = Uuid, Path, description = "Group id")),
    request_body = AddMembersRequest,
    responses((status = 200, description = "Added", body = MembershipChangeView)))]
pub async fn add_members(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ValidJson<AddMembersRequest>,
) -> Result<HttpResponse, ApiError> {
    let member_ids = body.0.member_ids;
    if member_ids.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(ApiError::field(
            "memberIds",
            "maxItems",
            format!(
                "at most {MAX_MEMBERS_PER_REQUEST} ids per request, got {}",
                member_ids.len()
            ),
        ));
    }
    match state.store.add_members(*id, &member_ids).await? {
        Ok(change) => Ok(HttpResponse::Ok().json(MembershipChangeView {
            added: change.added,
            unchanged: change.unchanged,
        })),
        Err(rejected) => {
            let unknown: HashSet<Uuid> = rejected.unknown.into_iter().collect();
            let wrong_kind: HashSet<Uuid> = rejected.wrong_kind.into_iter().collect();
            let mut errors = ValidationErrors::new();
            for (index, member_id) in member_ids.iter().enumerate() {
                if unknown.contains(member_id) {
                    errors.push(
                        format!("memberIds[{index}]"),
                        "exists",
                        format!("{member_id} names no user or device"),
                    );
                } else if wrong_kind.contains(member_id) {
                    errors.push(
                        format!("memberIds[{index}]"),
                        "memberType",
                        format!("{member_id} is not of the group's type"),
                    );
                }
            }
            Err(errors.into())
        }
    }
}

/// List members
#[utoipa::path(get, path = "/api/v1/groups/{id}/members", tag = "groups", operation_id = "listGroupMembers",
    params(("id" = Uuid, Path, description = "Group id"), PageQuery),
    responses((status = 200, description = "One page of members, in id order", body = GroupMemberList)))]
pub async fn list_members(
    _: Reader,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = state.store.list_members(*id, query.page()?).await?;
    Ok(HttpResponse::Ok().json(GroupMemberList::new(page, GroupMemberView::from)))
}

/// Remove a member
#[utoipa::path(delete, path = "/api/v1/groups/{id}/members/{memberId}", tag = "groups",
    operation_id = "removeGroupMember",
    params(("id" = Uuid, Path, description = "Group id"), ("memberId" = Uuid, Path, description = "User or device id")),
    responses((status = 204, description = "Removed")))]
pub async fn remove_member(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (group_id, member_id) = path.into_inner();
    state.store.remove_member(group_id, member_id).await?;
    // A device member is checked alone; a user member stands for all their devices.
    let scope = match state.store.device(member_id).await? {
        Some(_) => RevocationScope::Devices(vec![member_id]),
        None => RevocationScope::All,
    };
    enrollment::queue_revocations(&state, scope).await;
    Ok(HttpResponse::NoContent().finish())
}
