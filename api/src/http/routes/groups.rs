//! `/api/v1/groups`: user and device groups, and their members.

use actix_web::{web, HttpResponse};
use scepter_domain::directory::{Group, GroupDraft};
use uuid::Uuid;

use scepter_storage::WouldWrite;

use super::{
    created_record, crud, dry_run_answer, no_content, ok_record, page_request, resource, PageQuery, Reply,
};
use crate::http::extract::Query;
use crate::{
    http::auth::{Admin, Reader},
    http::dto::{
        AddMembersRequest, DeletionDryRun, DryRunQuery, GroupList, GroupMemberList, GroupMemberView,
        GroupView, MembershipAddition, MembershipChangeView, MembershipDryRun,
    },
    http::extract::{IfMatch, ValidJson},
    service::{directory, versioned},
    state::AppState,
};

pub const PATH: &str = "/api/v1/groups";

pub fn configure(config: &mut web::ServiceConfig) {
    crud(config, PATH, (create, list), (get, replace, delete));
    config
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
pub async fn create(admin: Admin, state: web::Data<AppState>, body: ValidJson<GroupDraft>) -> Reply {
    created_record(
        PATH,
        versioned::create::<Group>(&state, &admin.actor(), body.0).await?,
        GroupView::from,
    )
}

/// List groups
#[utoipa::path(get, path = "/api/v1/groups", tag = "groups", operation_id = "listGroups", params(PageQuery),
    responses((status = 200, description = "One page, in creation order", body = GroupList)))]
pub async fn list(_: Reader, state: web::Data<AppState>, query: Query<PageQuery>) -> Reply {
    let page = state.store.list_groups(query.page()?).await?;
    Ok(HttpResponse::Ok().json(GroupList::new(page, GroupView::from)))
}

/// Get a group
#[utoipa::path(get, path = "/api/v1/groups/{id}", tag = "groups", operation_id = "getGroup",
    params(("id" = Uuid, Path, description = "Group id")),
    responses((status = 200, description = "The group", body = GroupView,
        headers(("ETag" = String, description = "Version tag for If-Match")))))]
pub async fn get(_: Reader, state: web::Data<AppState>, id: web::Path<Uuid>) -> Reply {
    ok_record(versioned::get::<Group>(&state, *id).await?, GroupView::from)
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
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<GroupDraft>,
) -> Reply {
    ok_record(
        versioned::replace::<Group>(&state, &admin.actor(), *id, &if_match, body.0).await?,
        GroupView::from,
    )
}

/// Delete a group
///
/// Also removes its memberships and the profile assignments that name it, in
/// one transaction. `dryRun=true` says what its members would gain and lose.
#[utoipa::path(delete, path = "/api/v1/groups/{id}", tag = "groups", operation_id = "deleteGroup",
    params(("id" = Uuid, Path, description = "Group id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being deleted"), DryRunQuery),
    responses((status = 204, description = "Deleted"),
        (status = 200, description = "With dryRun=true: what the delete would do; nothing is written", body = DeletionDryRun)))]
pub async fn delete(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    query: Query<DryRunQuery>,
) -> Reply {
    if query.is_dry_run() {
        let devices = page_request(query.limit, query.cursor.as_deref())?;
        let run = versioned::delete_dry_run::<Group>(&state, &admin.actor(), *id, &if_match, devices).await?;
        return dry_run_answer(&state, run, |_| None, DeletionDryRun::new).await;
    }
    versioned::delete::<Group>(&state, &admin.actor(), *id, &if_match).await?;
    no_content()
}

/// Add members
///
/// Users to a user group, devices to a device group: up to 10,000 ids in one
/// transaction. Ids already in the group are fine (idempotent). When any id is
/// unknown or of the wrong kind, nothing is added and the 422 lists each of them.
/// `dryRun=true` says what the new members would gain (or lose, when the
/// group is excluded from a profile), before anything changes.
#[utoipa::path(post, path = "/api/v1/groups/{id}/members", tag = "groups", operation_id = "addGroupMembers",
    params(("id" = Uuid, Path, description = "Group id"), DryRunQuery),
    request_body = AddMembersRequest,
    responses((status = 200, description = "Added; with dryRun=true, what adding would do and nothing written",
        body = MembershipAddition)))]
pub async fn add_members(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: Query<DryRunQuery>,
    body: ValidJson<AddMembersRequest>,
) -> Reply {
    if query.is_dry_run() {
        let devices = page_request(query.limit, query.cursor.as_deref())?;
        let run =
            directory::add_members_dry_run(&state, &admin.actor(), *id, &body.0.member_ids, devices).await?;
        let result = |written| match written {
            WouldWrite::Members(change) => Some(MembershipChangeView::from(change)),
            _ => None,
        };
        return dry_run_answer(&state, run, result, MembershipDryRun::new).await;
    }
    let change = directory::add_members(&state, &admin.actor(), *id, &body.0.member_ids).await?;
    Ok(HttpResponse::Ok().json(MembershipChangeView::from(change)))
}

/// List members
#[utoipa::path(get, path = "/api/v1/groups/{id}/members", tag = "groups", operation_id = "listGroupMembers",
    params(("id" = Uuid, Path, description = "Group id"), PageQuery),
    responses((status = 200, description = "One page of members, in id order", body = GroupMemberList)))]
pub async fn list_members(
    _: Reader,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: Query<PageQuery>,
) -> Reply {
    let page = state.store.list_members(*id, query.page()?).await?;
    Ok(HttpResponse::Ok().json(GroupMemberList::new(page, GroupMemberView::from)))
}

/// Remove a member
///
/// `dryRun=true` says what the member's devices would lose, before anything changes.
#[utoipa::path(delete, path = "/api/v1/groups/{id}/members/{memberId}", tag = "groups",
    operation_id = "removeGroupMember",
    params(("id" = Uuid, Path, description = "Group id"), ("memberId" = Uuid, Path, description = "User or device id"),
        DryRunQuery),
    responses((status = 204, description = "Removed"),
        (status = 200, description = "With dryRun=true: what the removal would do; nothing is written", body = MembershipDryRun)))]
pub async fn remove_member(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    query: Query<DryRunQuery>,
) -> Reply {
    let (group_id, member_id) = path.into_inner();
    if query.is_dry_run() {
        let devices = page_request(query.limit, query.cursor.as_deref())?;
        let run =
            directory::remove_member_dry_run(&state, &admin.actor(), group_id, member_id, devices).await?;
        return dry_run_answer(&state, run, |_| None, MembershipDryRun::new).await;
    }
    directory::remove_member(&state, &admin.actor(), group_id, member_id).await?;
    no_content()
}
