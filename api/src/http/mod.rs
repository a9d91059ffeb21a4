//! The HTTP face: the server, one module per resource under `routes`, the
//! extractors that authenticate and parse requests, the response shapes
//! (`dto`) and the OpenAPI document generated from all of them. Handlers
//! parse the request, call one service or repository method, and answer.

pub mod auth;
pub mod body_deadline;
pub mod dry_run_guard;
pub mod dto;
pub mod extract;
pub mod openapi;
pub mod routes;
pub mod server;
pub mod telemetry;
pub mod webhook;
