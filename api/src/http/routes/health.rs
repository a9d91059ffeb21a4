//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: it can
//! also reach its database), kept apart so an orchestrator restarts a wedged
//! process but only stops routing to one whose database is away.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{error::ApiError, http::auth::Reader, state::AppState};

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(super::resource("/healthz", "GET").route(web::get().to(healthz)))
        .service(super::resource("/readyz", "GET").route(web::get().to(readyz)))
        .service(super::resource("/metrics", "GET").route(web::get().to(metrics)));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthStatus {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness
#[utoipa::path(get, path = "/healthz", tag = "operations", operation_id = "healthz", security(),
    responses((status = 200, description = "The process is up", body = HealthStatus)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthStatus { status: "ok" })
}

/// Readiness: the database answers
#[utoipa::path(get, path = "/readyz", tag = "operations", operation_id = "readyz", security(),
    responses((status = 200, description = "Ready to serve", body = HealthStatus),
        (status = 503, description = "The database is unreachable", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => Ok(HttpResponse::Ok().json(HealthStatus { status: "ready" })),
        Ok(Err(error)) => Err(ApiError::Unavailable(error.to_string())),
        Err(_) => Err(ApiError::Unavailable("database ping timed out".to_owned())),
    }
}

/// Prometheus metrics
///
/// Requests by route pattern and status with latency histograms, check-ins by
/// outcome, challenge verifications by diagnostic code, and database pool use,
/// in the Prometheus text format. Needs a token of role `reader` or `admin`
/// (Prometheus: `authorization: {credentials: …}` in the scrape config).
#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics",
    responses((status = 200, description = "Metrics in the Prometheus text exposition format",
        content_type = "text/plain; version=0.0.4", body = String),
        (status = 401, description = "Missing or invalid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token's role may not read metrics", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn metrics(_: Reader, state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render(state.store.pool_status()))
}
