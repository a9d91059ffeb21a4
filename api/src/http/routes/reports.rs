//! `GET /api/v1/reports/certificate-health`: enrollment across the fleet.

use actix_web::{web, HttpResponse};
use chrono::Utc;

use super::{resource, Reply};
use crate::{
    http::{auth::Reader, dto::CertificateHealthReport},
    service::health,
    state::AppState,
};

pub fn configure(config: &mut web::ServiceConfig) {
    config.service(
        resource("/api/v1/reports/certificate-health", "GET").route(web::get().to(certificate_health)),
    );
}

/// Fleet certificate health
///
/// Per SCEP profile and in total: targeted devices and their enrollment
/// states (each profile's figures are its device-status summary), certificates
/// expiring within 7 and 30 days or expired and still in use, and failed
/// enrollments by diagnostic code. The same totals are Prometheus gauges on
/// `/metrics`, refreshed by the periodic sweep.
#[utoipa::path(get, path = "/api/v1/reports/certificate-health", tag = "reports",
    operation_id = "getCertificateHealth",
    responses((status = 200, description = "The report", body = CertificateHealthReport)))]
pub async fn certificate_health(_: Reader, state: web::Data<AppState>) -> Reply {
    let report = health::certificate_health(state.store.as_ref(), Utc::now()).await?;
    state.metrics.publish_certificate_health(&report);
    Ok(HttpResponse::Ok().json(CertificateHealthReport::from(&report)))
}
