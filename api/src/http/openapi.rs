//! The OpenAPI 3.1 document, generated from the handlers' annotations.
//!
//! Error responses every operation shares (401, 404, 422, …) are added by
//! [`StandardResponses`] from the method and path, so each handler documents
//! only what is particular to it. `openapi/openapi.json` is the committed
//! copy; a test fails when it drifts from this.

use std::sync::OnceLock;

use utoipa::{
    openapi::{
        path::{Operation, ParameterIn},
        security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme},
        ContentBuilder, Ref, ResponseBuilder,
    },
    Modify, OpenApi,
};

use super::routes::{
    assignments, audit, certificates, checkin, connector, credentials, device_statuses, devices,
    enrollment_timeline, events, groups, health, preview, reports, revocations, scep_profiles, step_ca,
    trusted_profiles, users,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Scepter",
        description = "Certificate-profile service for mobile-device management: trusted root and SCEP certificate profiles, the directory they target, and assignments.",
        license(name = "Apache-2.0")
    ),
    paths(
        health::healthz,
        health::readyz,
        health::metrics,
        trusted_profiles::create,
        trusted_profiles::list,
        trusted_profiles::get,
        trusted_profiles::replace,
        trusted_profiles::delete,
        scep_profiles::create,
        scep_profiles::list,
        scep_profiles::get,
        scep_profiles::replace,
        scep_profiles::delete,
        assignments::docs::create_trusted,
        assignments::docs::list_trusted,
        assignments::docs::delete_trusted,
        assignments::docs::targeted_trusted,
        assignments::docs::create_scep,
        assignments::docs::list_scep,
        assignments::docs::delete_scep,
        assignments::docs::targeted_scep,
        users::create,
        users::list,
        users::get,
        users::replace,
        users::delete,
        devices::create,
        devices::list,
        devices::get,
        devices::replace,
        devices::delete,
        devices::effective,
        enrollment_timeline::enrollment_timeline,
        groups::create,
        groups::list,
        groups::get,
        groups::replace,
        groups::delete,
        groups::add_members,
        groups::list_members,
        groups::remove_member,
        preview::scep,
        preview::trusted,
        credentials::issue,
        credentials::revoke,
        credentials::me,
        checkin::check_in,
        connector::verify,
        connector::notify,
        revocations::revocations,
        revocations::revocation_result,
        step_ca::scep_challenge,
        step_ca::notifying,
        certificates::device_certificates,
        certificates::revoke_certificate,
        device_statuses::device_statuses,
        events::events,
        audit::audit_events,
        audit::history,
        reports::certificate_health,
    ),
    components(schemas(crate::error::Problem, audit::AuditedCollection)),
    modifiers(&StandardResponses),
    tags(
        (name = "trusted-certificate-profiles", description = "CA certificates that devices must trust"),
        (name = "scep-certificate-profiles", description = "How devices enroll for certificates over SCEP"),
        (name = "users", description = "The directory's users"),
        (name = "devices", description = "Managed devices and the profiles that reach them"),
        (name = "groups", description = "User and device groups that profiles are assigned to"),
        (name = "device", description = "The API devices call with their own credential"),
        (name = "connector", description = "What the SCEP server's policy module calls: challenge verification, issued certificates, revocations (role `connector`), and step-ca webhooks"),
        (name = "events", description = "Connector events with the seed's event ids and diagnostic codes"),
        (name = "reports", description = "Fleet-wide figures"),
        (name = "audit", description = "Who changed what: every successful admin write, with field-level differences"),
        (name = "operations", description = "Health and readiness"),
    )
)]
pub struct ApiDoc;

/// The pretty-printed document, as committed in `openapi/openapi.json`.
pub fn to_json() -> String {
    let mut json = ApiDoc::openapi().to_pretty_json().unwrap_or_else(|error| {
        // Serialising a document built from static annotations cannot fail; say so loudly if it ever does.
        panic!("the OpenAPI document does not serialise: {error}")
    });
    json.push('\n');
    json
}

/// The document's `components.schemas` as JSON, built once: request bodies are
/// checked against it for what serde does not enforce (see
/// [`crate::http::extract::parse_json_body`]).
pub fn component_schemas() -> &'static serde_json::Map<String, serde_json::Value> {
    static SCHEMAS: OnceLock<serde_json::Map<String, serde_json::Value>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let document = serde_json::to_value(ApiDoc::openapi())
            .unwrap_or_else(|error| panic!("the OpenAPI document does not serialise: {error}"));
        match document.pointer("/components/schemas") {
            Some(serde_json::Value::Object(schemas)) => schemas.clone(),
            _ => serde_json::Map::new(),
        }
    })
}

/// (status, component name, description) of the shared problem responses.
const PROBLEMS: &[(&str, &str, &str)] = &[
    ("400", "BadRequest", "Malformed JSON, header or query string"),
    ("401", "Unauthorized", "Missing, invalid or expired bearer token"),
    ("403", "Forbidden", "The token's role may not do this"),
    ("404", "NotFound", "No such resource"),
    (
        "412",
        "PreconditionFailed",
        "If-Match does not match the current ETag",
    ),
    ("413", "PayloadTooLarge", "The body exceeds the configured limit"),
    ("415", "UnsupportedMediaType", "The body is not application/json"),
    (
        "422",
        "ValidationFailed",
        "A field breaks a rule; `errors` names each field and rule",
    ),
    ("428", "PreconditionRequired", "If-Match is required"),
    (
        "500",
        "InternalError",
        "Unexpected error (details are logged, not returned)",
    ),
    ("503", "Unavailable", "The database is unreachable; retry later"),
];

struct StandardResponses;

impl Modify for StandardResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        for (_, name, description) in PROBLEMS {
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build();
            let response = ResponseBuilder::new()
                .description(*description)
                .content("application/problem+json", content)
                .build();
            components.responses.insert((*name).to_owned(), response.into());
        }

        components.add_security_scheme(
            "deviceCredential",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("device credential (POST /api/v1/devices/{id}/credentials)")
                    .build(),
            ),
        );

        for (path, item) in openapi.paths.paths.iter_mut() {
            let security = if path.starts_with("/connector/v1/step-ca/") {
                // Authenticated by the X-Smallstep-Signature HMAC, not a bearer token.
                None
            } else if path.starts_with("/api/") || path.starts_with("/connector/") {
                Some("bearer")
            } else if path.starts_with("/device/") {
                Some("deviceCredential")
            } else {
                continue;
            };
            let by_id = path.contains('{');
            let operations = [
                (&mut item.get, Method::Get),
                (&mut item.post, Method::Post),
                (&mut item.put, Method::Put),
                (&mut item.delete, Method::Delete),
            ];
            for (operation, method) in operations {
                if let Some(operation) = operation {
                    add_standard_responses(operation, method, by_id, security);
                }
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
    Put,
    Delete,
}

fn add_standard_responses(operation: &mut Operation, method: Method, by_id: bool, security: Option<&str>) {
    operation.security = Some(match security {
        Some(scheme) => vec![SecurityRequirement::new(scheme, Vec::<String>::new())],
        None => vec![SecurityRequirement::default()],
    });
    let mut statuses = vec!["401", "500", "503"];
    if security == Some("bearer") {
        // Every role-checked operation, reads included: a token of another
        // role (a connector token on /api, an admin token on /connector) is 403.
        statuses.push("403");
    }
    if by_id {
        statuses.push("404");
    }
    let has_if_match = operation.parameters.iter().flatten().any(|parameter| {
        parameter.parameter_in == ParameterIn::Header && parameter.name.eq_ignore_ascii_case("If-Match")
    });
    let has_query = operation
        .parameters
        .iter()
        .flatten()
        .any(|parameter| parameter.parameter_in == ParameterIn::Query);
    statuses.extend(match method {
        Method::Get if has_query => &["400", "422"][..],
        Method::Get => &[][..],
        Method::Post => &["400", "403", "413", "415", "422"][..],
        Method::Put => &["400", "403", "412", "413", "415", "422", "428"][..],
        // 412 only where an If-Match can be stale (deleting an assignment or a membership takes none).
        Method::Delete if has_if_match => &["400", "403", "412"][..],
        Method::Delete => &["400", "403"][..],
    });
    for status in statuses {
        let Some((_, name, _)) = PROBLEMS.iter().find(|(code, _, _)| *code == status) else {
            continue;
        };
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| Ref::from_response_name(*name).into());
    }
}
