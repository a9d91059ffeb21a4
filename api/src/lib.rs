//! Scepter's service: the HTTP API, the enrollment core and the `scepter` binary.
//!
//! # Layout
//!
//! Dependencies point down this list, never up:
//!
//! - [`cli`]: the `scepter` command (serve, migrate, token, import, openapi);
//!   builds an [`AppState`] and runs the [`http`] server.
//! - [`http`]: actix-web routes, authentication extractors, request parsing,
//!   response shapes and the OpenAPI document. Handlers parse, call one
//!   service or repository method, and answer.
//! - [`service`]: everything between a parsed request and storage — the
//!   enrollment core (check-in, SCEP verification and notification, device
//!   statuses, previews, the periodic sweep) and the admin writes of
//!   versioned resources (`If-Match`, revocations after a change). Reads
//!   facts from storage, lets `scepter_domain` decide, records the outcome.
//! - [`state`]: [`AppState`], what every handler and service can reach, and
//!   its caches.
//! - [`error`], [`metrics`], [`tokens`]: shared by all of the above — the one
//!   error enum mapped to problem+json, the Prometheus registry, and the
//!   admin token authority.
//!
//! Rules live in `scepter_domain` (pure) and persistence in `scepter_storage`.

pub mod cli;
pub mod error;
pub mod http;
pub mod metrics;
pub mod service;
pub mod state;
pub mod tokens;

pub use http::server::{Application, ServerSettings};
pub use state::{AppState, EnrollmentSettings, ProfilePolicy};
