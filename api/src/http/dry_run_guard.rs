//! `?dryRun` on a write that cannot rehearse is refused before the handler
//! runs: an unknown query parameter is otherwise ignored, and a delete meant
//! as a rehearsal would really delete.

use actix_web::{
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::Method,
    middleware::Next,
    ResponseError,
};

use crate::service::dry_run;

/// The writes that answer `?dryRun=true`, by method and route pattern: those
/// that can change what devices get.
const REHEARSABLE: [(&str, &str); 14] = [
    ("PUT", "/api/v1/scep-certificate-profiles/{id}"),
    ("DELETE", "/api/v1/scep-certificate-profiles/{id}"),
    ("POST", "/api/v1/scep-certificate-profiles/{id}/assignments"),
    (
        "DELETE",
        "/api/v1/scep-certificate-profiles/{id}/assignments/{assignmentId}",
    ),
    ("PUT", "/api/v1/trusted-certificate-profiles/{id}"),
    ("DELETE", "/api/v1/trusted-certificate-profiles/{id}"),
    ("POST", "/api/v1/trusted-certificate-profiles/{id}/assignments"),
    (
        "DELETE",
        "/api/v1/trusted-certificate-profiles/{id}/assignments/{assignmentId}",
    ),
    ("POST", "/api/v1/groups/{id}/members"),
    ("DELETE", "/api/v1/groups/{id}/members/{memberId}"),
    ("DELETE", "/api/v1/groups/{id}"),
    ("PUT", "/api/v1/devices/{id}"),
    ("DELETE", "/api/v1/devices/{id}"),
    ("DELETE", "/api/v1/users/{id}"),
];

/// Whether a query string names the `dryRun` parameter (whatever its value).
fn names_dry_run(query: &str) -> bool {
    query
        .split('&')
        .any(|pair| pair.split('=').next() == Some("dryRun"))
}

pub async fn refuse_unsupported_dry_runs(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if request.method() != Method::GET && names_dry_run(request.query_string()) {
        let route = request.match_pattern();
        let method = request.method().as_str();
        let rehearsable = REHEARSABLE
            .iter()
            .any(|(allowed, pattern)| *allowed == method && route.as_deref() == Some(*pattern));
        if !rehearsable && request.path().starts_with("/api/") {
            let refusal =
                dry_run::unsupported(&format!("{method} {}", route.as_deref().unwrap_or("this path")));
            let response = refusal.error_response().map_into_right_body();
            return Ok(request.into_response(response));
        }
    }
    next.call(request).await.map(ServiceResponse::map_into_left_body)
}

#[cfg(test)]
mod tests {
    use super::names_dry_run;

    #[test]
    fn the_parameter_is_found_whatever_its_value_or_position() {
        assert!(names_dry_run("dryRun=true"));
        assert!(names_dry_run("limit=5&dryRun=false"));
        assert!(names_dry_run("dryRun"));
        assert!(!names_dry_run("dryRunner=1&x=dryRun"));
        assert!(!names_dry_run(""));
    }
}
