//! HTTP routes, one module per resource, and the response shapes they share.

pub mod assignments;
pub mod audit;
pub mod certificates;
pub mod checkin;
pub mod connector;
pub mod console;
pub mod credentials;
pub mod device_statuses;
pub mod devices;
pub mod docs;
pub mod enrollment_timeline;
pub mod events;
pub mod groups;
pub mod health;
pub mod preview;
pub mod reports;
pub mod revocations;
pub mod scep_profiles;
pub mod step_ca;
pub mod trusted_profiles;
pub mod users;

use actix_web::{http::header, web, FromRequest, Handler, HttpResponse};
use scepter_domain::Record;
use serde::Serialize;

pub use crate::http::dto::{page_request, PageQuery, ProfileListQuery};
use crate::{
    error::ApiError,
    http::{
        dto::{DeviceImpactList, DeviceImpactView},
        extract::etag,
    },
    state::AppState,
};

/// Every route of the service. The router tries them in this order, and every pattern with a `{param}`
/// is a regular-expression match: the routes devices and the connector call
/// at fleet rate (fixed paths) come first, so they never wait behind the
/// admin API's patterns — the request metrics' route lookup walks the same
/// order.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .configure(health::configure)
        .configure(checkin::configure)
        .configure(connector::configure)
        .configure(docs::configure)
        .configure(console::configure)
        .configure(trusted_profiles::configure)
        .configure(scep_profiles::configure)
        .configure(assignments::configure)
        .configure(users::configure)
        .configure(devices::configure)
        .configure(groups::configure)
        .configure(preview::configure)
        .configure(credentials::configure)
        .configure(revocations::configure)
        .configure(step_ca::configure)
        .configure(certificates::configure)
        .configure(device_statuses::configure)
        .configure(enrollment_timeline::configure)
        .configure(events::configure)
        .configure(audit::configure)
        .configure(reports::configure);
}

/// What a handler answers.
pub type Reply = Result<HttpResponse, ApiError>;

/// Routes a versioned resource: `POST` (create) and `GET` (list) on `path`;
/// `GET`, `PUT` (replace) and `DELETE` on `path/{id}`.
pub fn crud<C, Ca, L, La, G, Ga, R, Ra, D, Da>(
    config: &mut web::ServiceConfig,
    path: &str,
    (create, list): (C, L),
    (get, replace, delete): (G, R, D),
) where
    C: Handler<Ca, Output = Reply>,
    L: Handler<La, Output = Reply>,
    G: Handler<Ga, Output = Reply>,
    R: Handler<Ra, Output = Reply>,
    D: Handler<Da, Output = Reply>,
    Ca: FromRequest + 'static,
    La: FromRequest + 'static,
    Ga: FromRequest + 'static,
    Ra: FromRequest + 'static,
    Da: FromRequest + 'static,
{
    config
        .service(
            resource(path, "GET, POST")
                .route(web::post().to(create))
                .route(web::get().to(list)),
        )
        .service(
            resource(&format!("{path}/{{id}}"), "GET, PUT, DELETE")
                .route(web::get().to(get))
                .route(web::put().to(replace))
                .route(web::delete().to(delete)),
        );
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

/// [`ok_with_etag`] for a record, shown as `view`.
pub fn ok_record<T, V: Serialize>(record: Record<T>, view: impl FnOnce(Record<T>) -> V) -> Reply {
    Ok(ok_with_etag(record.version, &view(record)))
}

/// [`created`] for a record new in the collection at `path`, shown as `view`.
pub fn created_record<T, V: Serialize>(
    path: &str,
    record: Record<T>,
    view: impl FnOnce(Record<T>) -> V,
) -> Reply {
    Ok(created(
        format!("{path}/{}", record.id),
        record.version,
        &view(record),
    ))
}

/// A dry run's page of devices, with their names (one read for the page).
pub async fn impacted_devices(
    state: &AppState,
    page: scepter_storage::Page<scepter_domain::impact::DeviceImpact>,
) -> Result<DeviceImpactList, ApiError> {
    let ids: Vec<uuid::Uuid> = page.items.iter().map(|impact| impact.device_id).collect();
    let names: std::collections::HashMap<uuid::Uuid, String> = state
        .store
        .devices(&ids)
        .await?
        .into_iter()
        .map(|record| (record.id, record.content.device.device_name))
        .collect();
    Ok(DeviceImpactList::new(page, |impact| {
        let name = names.get(&impact.device_id).cloned();
        DeviceImpactView::new(impact, name)
    }))
}

/// 204: done, nothing to show.
pub fn no_content() -> Reply {
    Ok(HttpResponse::NoContent().finish())
}
