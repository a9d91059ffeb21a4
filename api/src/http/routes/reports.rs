//! `GET /api/v1/reports/certificate-health`: enrollment across the fleet.

use actix_web::{web, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{resource, Reply};
use crate::http::extract::Query;
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct HealthQuery {
    /// The oldest report the caller accepts, in seconds (default: the
    /// server's `--certificate-health-max-age`, 60 s unless set). `0`
    /// computes it now, which at fleet scale takes seconds.
    #[param(minimum = 0)]
    pub max_age_seconds: Option<u32>,
}

/// Fleet certificate health
///
/// Per SCEP profile and in total: targeted devices and their enrollment
/// states (each profile's figures are its device-status summary), certificates
/// expiring within 7 and 30 days or expired and still in use, and failed
/// enrollments by diagnostic code.
///
/// Computing it evaluates every profile over the fleet, so the server keeps
/// the latest result, recomputed in the background to stay younger than
/// `--certificate-health-max-age`, and answers from it: `generatedDateTime`
/// says when its figures were true. `maxAgeSeconds` asks for a fresher one
/// (`0`: compute it now; one such computation runs at a time per instance,
/// and requests that wait for it share its result). The same totals are
/// Prometheus gauges on `/metrics`.
#[utoipa::path(get, path = "/api/v1/reports/certificate-health", tag = "reports",
    operation_id = "getCertificateHealth",
    params(HealthQuery),
    responses((status = 200, description = "The report", body = CertificateHealthReport)))]
pub async fn certificate_health(_: Reader, state: web::Data<AppState>, query: Query<HealthQuery>) -> Reply {
    let max_age = health::accepted_age(query.max_age_seconds, state.certificate_health_max_age);
    let report = health::latest(state.store.as_ref(), &state.health_on_demand, Utc::now(), max_age).await?;
    state.metrics.publish_certificate_health(&report);
    Ok(HttpResponse::Ok().json(CertificateHealthReport::from(&report)))
}
