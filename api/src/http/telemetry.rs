//! Logging: `tracing` to stdout as text or JSON, and one span per request
//! carrying a request id that is also returned in `X-Request-Id`.

use std::time::Instant;

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
    HttpMessage,
};
use tracing::Instrument;
use tracing_subscriber::{fmt, EnvFilter};
use uuid::Uuid;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the global subscriber; `RUST_LOG` overrides the default `info` level.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = fmt().with_env_filter(filter).with_target(false);
    // A second init (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// The id [`request_span`] gave the request, in its extensions (the audit
/// trail records it, so an entry leads to the request's log lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestId(pub Uuid);

/// Wraps each request in a span with method, path and a fresh request id,
/// logs its outcome, and returns the id to the client. The query string is
/// left out: it is not needed to follow a request and may carry identifiers.
pub async fn request_span(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = Uuid::new_v4();
    request.extensions_mut().insert(RequestId(request_id));
    let route = request.match_pattern();
    let method = request.method().clone();
    let state = request
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .cloned();
    let span = tracing::info_span!(
        "request",
        %request_id,
        method = %request.method(),
        path = %request.path(),
    );
    let started = Instant::now();
    let result = next.call(request).instrument(span.clone()).await;
    let _entered = span.enter();
    match result {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let elapsed = started.elapsed().as_secs_f64();
            if let Some(state) = &state {
                state
                    .metrics
                    .observe_request(route.as_deref(), method.as_str(), status, elapsed);
            }
            let elapsed_ms = elapsed * 1000.0;
            if status >= 500 {
                tracing::warn!(status, elapsed_ms, "request finished");
            } else {
                tracing::info!(status, elapsed_ms, "request finished");
            }
            if let Ok(value) = HeaderValue::from_str(&request_id.to_string()) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
            }
            Ok(response)
        }
        Err(error) => {
            tracing::warn!(%error, "request failed");
            Err(error)
        }
    }
}
