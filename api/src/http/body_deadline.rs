//! The body-read deadline: every request body must have arrived within a
//! configured time of its head, so a client that sends a body one byte a
//! second cannot hold a connection (and a handler) indefinitely.
//!
//! actix-web bounds the time to receive a request's head
//! (`client_request_timeout`) but not its body, so this middleware wraps the
//! body stream of every request: past the deadline the stream ends with a
//! timed-out I/O error, which [`crate::http::extract`] answers with 408 and a closed
//! connection. Extractors that read the body any other way see the same error.

use std::{io, time::Duration};

use actix_web::{
    body::MessageBody,
    dev::{Payload, ServiceRequest, ServiceResponse},
    error::PayloadError,
    middleware::Next,
    HttpMessage,
};
use futures_util::{stream, StreamExt};

const MESSAGE: &str = "the request body did not arrive before the body-read deadline";

/// Middleware: limits reading the request body to `limit` from now.
pub async fn limit_body_reading(
    limit: Duration,
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let payload = request.take_payload();
    if !matches!(payload, Payload::None) {
        request.set_payload(with_deadline(payload, tokio::time::Instant::now() + limit));
    }
    next.call(request).await
}

/// `payload` that ends with a timed-out error once `deadline` passes.
fn with_deadline(payload: Payload, deadline: tokio::time::Instant) -> Payload {
    let chunks = stream::unfold(Some(payload), move |payload| async move {
        let mut payload = payload?;
        match tokio::time::timeout_at(deadline, payload.next()).await {
            Ok(Some(chunk)) => Some((chunk, Some(payload))),
            Ok(None) => None,
            Err(_) => Some((
                Err(PayloadError::Io(io::Error::new(io::ErrorKind::TimedOut, MESSAGE))),
                None,
            )),
        }
    });
    Payload::Stream {
        payload: Box::pin(chunks),
    }
}

/// Whether a body-read error is this deadline passing.
pub fn is_deadline(error: &PayloadError) -> bool {
    matches!(error, PayloadError::Io(error) if error.kind() == io::ErrorKind::TimedOut)
}
