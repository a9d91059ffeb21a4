//! Scepter's HTTP face: actix-web handlers, authentication, RFC 9457 errors
//! and the OpenAPI contract. Handlers are thin: they parse the request into
//! domain types, call the domain or one repository method, and map the result.

pub mod app;
pub mod auth;
pub mod body_deadline;
pub mod cli;
pub mod dto;
pub mod enrollment;
pub mod error;
pub mod extract;
pub mod facts_cache;
pub mod import;
pub mod metrics;
pub mod openapi;
pub mod profile_cache;
pub mod routes;
pub mod sweep;
pub mod telemetry;

pub use app::{AppState, Application, EnrollmentSettings, ProfilePolicy};
