//! The one place where errors become HTTP responses: RFC 9457
//! `application/problem+json` documents naming the field and rule that failed.

use actix_web::{
    http::{header, StatusCode},
    HttpResponse, ResponseError,
};
use scepter_domain::{FieldError, ValidationErrors};
use scepter_storage::StorageError;
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI identifying the kind of problem, e.g. `urn:scepter:problem:validation`.
    #[serde(rename = "type")]
    pub problem_type: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// Every broken rule, for validation problems (422).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("validation failed")]
    Validation(ValidationErrors),
    #[error("unauthenticated: {0}")]
    Unauthenticated(&'static str),
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed { allow: &'static str },
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("precondition failed: the resource is at version {current}")]
    PreconditionFailed { current: i64 },
    #[error("precondition required")]
    PreconditionRequired,
    #[error("payload larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// The body did not arrive within the body-read deadline.
    #[error("request body not received in time")]
    RequestTimeout,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn field(field: impl Into<String>, rule: &'static str, message: impl Into<String>) -> Self {
        ApiError::Validation(ValidationErrors::single(field, rule, message))
    }

    fn problem(&self) -> Problem {
        let (problem_type, title, detail, errors) = match self {
            ApiError::Malformed(detail) => (
                "urn:scepter:problem:malformed-request",
                "Malformed request",
                detail.clone(),
                vec![],
            ),
            ApiError::Validation(errors) => (
                "urn:scepter:problem:validation",
                "Validation failed",
                errors
                    .errors()
                    .iter()
                    .map(|error| format!("{}: {}", error.field, error.message))
                    .collect::<Vec<_>>()
                    .join("; "),
                errors.errors().to_vec(),
            ),
            ApiError::Unauthenticated(detail) => (
                "urn:scepter:problem:unauthenticated",
                "Unauthenticated",
                (*detail).to_owned(),
                vec![],
            ),
            ApiError::Forbidden(detail) => (
                "urn:scepter:problem:forbidden",
                "Forbidden",
                (*detail).to_owned(),
                vec![],
            ),
            ApiError::NotFound => (
                "urn:scepter:problem:not-found",
                "Not found",
                "no such resource".to_owned(),
                vec![],
            ),
            ApiError::MethodNotAllowed { .. } => (
                "urn:scepter:problem:method-not-allowed",
                "Method not allowed",
                "this resource does not support the method".to_owned(),
                vec![],
            ),
            ApiError::Conflict(detail) => {
                ("urn:scepter:problem:conflict", "Conflict", detail.clone(), vec![])
            }
            ApiError::PreconditionFailed { current } => (
                "urn:scepter:problem:precondition-failed",
                "Precondition failed",
                format!("If-Match does not match the current ETag \"{current}\": read the resource again"),
                vec![],
            ),
            ApiError::PreconditionRequired => (
                "urn:scepter:problem:precondition-required",
                "Precondition required",
                "send If-Match with the ETag of the version you read".to_owned(),
                vec![],
            ),
            ApiError::PayloadTooLarge { limit } => (
                "urn:scepter:problem:payload-too-large",
                "Payload too large",
                format!("the request body must be at most {limit} bytes"),
                vec![],
            ),
            ApiError::RequestTimeout => (
                "urn:scepter:problem:request-timeout",
                "Request timeout",
                "the request body did not arrive in time".to_owned(),
                vec![],
            ),
            ApiError::UnsupportedMediaType => (
                "urn:scepter:problem:unsupported-media-type",
                "Unsupported media type",
                "send the request body as application/json".to_owned(),
                vec![],
            ),
            ApiError::Unavailable(_) => (
                "urn:scepter:problem:unavailable",
                "Service unavailable",
                "the database is unavailable; retry later".to_owned(),
                vec![],
            ),
            // Internals stay in the log; the client learns only that it was not its fault.
            ApiError::Internal(_) => (
                "urn:scepter:problem:internal",
                "Internal server error",
                "an unexpected error occurred; it has been logged".to_owned(),
                vec![],
            ),
        };
        Problem {
            problem_type,
            title,
            status: self.status_code().as_u16(),
            detail,
            errors,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(cause) => tracing::error!(%cause, "request failed"),
            ApiError::Unavailable(cause) => tracing::warn!(%cause, "database unavailable"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        match self {
            ApiError::Unauthenticated(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"scepter\""));
            }
            ApiError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            ApiError::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, *allow));
            }
            // The rest of the body may still be on its way: the connection
            // cannot carry another request.
            ApiError::RequestTimeout => {
                response.force_close();
            }
            _ => {}
        }
        response.body(serde_json::to_vec(&self.problem()).unwrap_or_default())
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        ApiError::Validation(errors)
    }
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::NotFound => ApiError::NotFound,
            StorageError::VersionMismatch { current } => ApiError::PreconditionFailed { current },
            StorageError::Conflict(detail) => ApiError::Conflict(detail),
            StorageError::MissingReference => {
                ApiError::Conflict("a referenced resource does not exist".to_owned())
            }
            StorageError::Unavailable(cause) => ApiError::Unavailable(cause.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}
