//! Assignments of profiles to groups, and the devices a profile reaches:
//! `/api/v1/{trusted,scep}-certificate-profiles/{id}/assignments` and
//! `/…/{id}/targeted-devices`. One implementation serves both profile kinds;
//! the thin per-kind functions exist so each operation is documented.

use actix_web::{web, HttpResponse};
use scepter_domain::targeting::ProfileKind;
use uuid::Uuid;

use scepter_storage::WouldWrite;

use super::{
    dry_run_answer, no_content, page_request, resource, scep_profiles, trusted_profiles, PageQuery, Reply,
};
use crate::http::extract::Query;
use crate::{
    http::auth::{Admin, Reader},
    http::dto::{
        AssignmentDryRun, AssignmentList, AssignmentRequest, AssignmentView, DeviceList, DeviceView,
        DryRunQuery,
    },
    http::extract::ValidJson,
    service::{dry_run::DryRun, profiles},
    state::AppState,
};

pub fn configure(config: &mut web::ServiceConfig) {
    for (base, kind) in [
        (trusted_profiles::PATH, ProfileKind::TrustedCertificate),
        (scep_profiles::PATH, ProfileKind::ScepCertificate),
    ] {
        let kind = web::Data::new(kind);
        config
            .service(
                resource(&format!("{base}/{{id}}/assignments"), "GET, POST")
                    .app_data(kind.clone())
                    .route(web::post().to(create))
                    .route(web::get().to(list)),
            )
            .service(
                resource(&format!("{base}/{{id}}/assignments/{{assignmentId}}"), "DELETE")
                    .app_data(kind.clone())
                    .route(web::delete().to(delete)),
            )
            .service(
                resource(&format!("{base}/{{id}}/targeted-devices"), "GET")
                    .app_data(kind)
                    .route(web::get().to(targeted_devices)),
            );
    }
}

async fn create(
    admin: Admin,
    state: web::Data<AppState>,
    kind: web::Data<ProfileKind>,
    id: web::Path<Uuid>,
    query: Query<DryRunQuery>,
    body: ValidJson<AssignmentRequest>,
) -> Reply {
    let AssignmentRequest { group_id, intent } = body.0;
    if query.is_dry_run() {
        let devices = page_request(query.limit, query.cursor.as_deref())?;
        let run =
            profiles::assign_dry_run(&state, &admin.actor(), **kind, *id, group_id, intent, devices).await?;
        return dry_run_reply(&state, run).await;
    }
    let assignment = profiles::assign(&state, &admin.actor(), **kind, *id, group_id, intent).await?;
    Ok(HttpResponse::Created().json(AssignmentView::from(assignment)))
}

async fn list(
    _: Reader,
    state: web::Data<AppState>,
    kind: web::Data<ProfileKind>,
    id: web::Path<Uuid>,
    query: Query<PageQuery>,
) -> Reply {
    let page = state.store.list_assignments(**kind, *id, query.page()?).await?;
    Ok(HttpResponse::Ok().json(AssignmentList::new(page, AssignmentView::from)))
}

async fn delete(
    admin: Admin,
    state: web::Data<AppState>,
    kind: web::Data<ProfileKind>,
    path: web::Path<(Uuid, Uuid)>,
    query: Query<DryRunQuery>,
) -> Reply {
    let (profile_id, assignment_id) = path.into_inner();
    if query.is_dry_run() {
        let devices = page_request(query.limit, query.cursor.as_deref())?;
        let run =
            profiles::unassign_dry_run(&state, &admin.actor(), **kind, profile_id, assignment_id, devices)
                .await?;
        return dry_run_reply(&state, run).await;
    }
    profiles::unassign(&state, &admin.actor(), **kind, profile_id, assignment_id).await?;
    no_content()
}

/// 200 with an assignment's dry run.
async fn dry_run_reply(state: &AppState, run: DryRun) -> Reply {
    let result = |written| match written {
        WouldWrite::Assignment(assignment) => Some(AssignmentView::from(assignment)),
        _ => None,
    };
    dry_run_answer(state, run, result, AssignmentDryRun::new).await
}

async fn targeted_devices(
    _: Reader,
    state: web::Data<AppState>,
    kind: web::Data<ProfileKind>,
    id: web::Path<Uuid>,
    query: Query<PageQuery>,
) -> Reply {
    let devices = profiles::targeted_devices(&state, **kind, *id, query.page()?).await?;
    Ok(HttpResponse::Ok().json(DeviceList::new(devices, DeviceView::from)))
}

/// The operations as documented, one set per profile kind. They are not
/// routed: [`configure`] routes the shared handlers above.
pub mod docs {
    use super::*;

    macro_rules! documented {
        ($tag:literal, $name:literal, $create:ident, $list:ident, $delete:ident, $targeted:ident) => {
            /// Assign the profile to a group
            ///
            /// `include` or `exclude`; exclusion wins over inclusion across user and
            /// device groups. A group can be assigned to a profile once (409).
            #[utoipa::path(post, path = concat!("/api/v1/", $tag, "/{id}/assignments"), tag = $tag,
                operation_id = concat!("create", $name, "Assignment"),
                params(("id" = Uuid, Path, description = "Profile id"), DryRunQuery),
                request_body = AssignmentRequest,
                responses((status = 201, description = "Assigned", body = AssignmentView),
                    (status = 409, description = "The group is already assigned", body = crate::error::Problem, content_type = "application/problem+json"),
                    (status = 200, description = "With dryRun=true: what the change would do; nothing is written", body = AssignmentDryRun)))]
            pub fn $create() {}

            /// List the profile's assignments
            #[utoipa::path(get, path = concat!("/api/v1/", $tag, "/{id}/assignments"), tag = $tag,
                operation_id = concat!("list", $name, "Assignments"),
                params(("id" = Uuid, Path, description = "Profile id"), PageQuery),
                responses((status = 200, description = "One page of assignments", body = AssignmentList)))]
            pub fn $list() {}

            /// Remove an assignment
            #[utoipa::path(delete, path = concat!("/api/v1/", $tag, "/{id}/assignments/{assignmentId}"), tag = $tag,
                operation_id = concat!("delete", $name, "Assignment"),
                params(("id" = Uuid, Path, description = "Profile id"),
                    ("assignmentId" = Uuid, Path, description = "Assignment id"), DryRunQuery),
                responses((status = 204, description = "Removed"),
                    (status = 200, description = "With dryRun=true: what the change would do; nothing is written", body = AssignmentDryRun)))]
            pub fn $delete() {}

            /// Devices the profile reaches
            ///
            /// Devices of the profile's platform in an included device group, or whose
            /// primary user is in an included user group, and in no excluded one —
            /// the impact of the assignments before any device checks in.
            #[utoipa::path(get, path = concat!("/api/v1/", $tag, "/{id}/targeted-devices"), tag = $tag,
                operation_id = concat!("list", $name, "TargetedDevices"),
                params(("id" = Uuid, Path, description = "Profile id"), PageQuery),
                responses((status = 200, description = "One page of devices, in id order", body = DeviceList)))]
            pub fn $targeted() {}
        };
    }

    // The tag is also the collection's name: `/api/v1/{tag}`.
    documented! {"trusted-certificate-profiles", "TrustedCertificateProfile",
    create_trusted, list_trusted, delete_trusted, targeted_trusted}
    documented! {"scep-certificate-profiles", "ScepCertificateProfile",
    create_scep, list_scep, delete_scep, targeted_scep}
}
