//! The actix-web server: middleware, routes and connection limits around an [`AppState`].

use std::{net::TcpListener, sync::Arc, time::Duration};

use actix_web::{dev::Server, middleware, web, App, HttpServer};

use super::{body_deadline, dry_run_guard, extract, routes, telemetry};
use crate::{
    error::ApiError,
    state::{write_behind, AppState},
};

/// Server settings that are not part of [`AppState`]: how long and how many
/// connections a client may hold, so slow or idle clients cannot exhaust the server.
#[derive(Debug, Clone, Copy)]
pub struct ServerSettings {
    pub workers: usize,
    /// Seconds in-flight requests get to finish after SIGTERM.
    pub shutdown_timeout_secs: u64,
    /// Time a client has to send a request's head (line and headers).
    pub client_request_timeout: Duration,
    /// Time a client has to send a request's body, counted from when its
    /// head arrived; a body still incomplete then is answered 408.
    pub body_read_timeout: Duration,
    /// How long an idle kept-alive connection stays open.
    pub keep_alive: Duration,
    /// Most open client connections, shared evenly by the workers; beyond
    /// it new connections wait in the listen backlog.
    pub max_connections: usize,
}

impl ServerSettings {
    pub const DEFAULT_CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
    pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
    pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(5);
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 25_000;
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            workers: 2,
            shutdown_timeout_secs: 30,
            client_request_timeout: Self::DEFAULT_CLIENT_REQUEST_TIMEOUT,
            body_read_timeout: Self::DEFAULT_BODY_READ_TIMEOUT,
            keep_alive: Self::DEFAULT_KEEP_ALIVE,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS as usize,
        }
    }
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    /// Writes check-in times and payload offers behind the check-ins (see `state::write_behind`).
    observation_writer: tokio::task::JoinHandle<()>,
}

impl Application {
    /// Binds the routes to `listener`; the server starts when [`Application::run`] is awaited
    /// (or the [`Server`] is spawned). actix-web stops gracefully on SIGTERM and SIGINT.
    pub fn build(listener: TcpListener, state: AppState, settings: ServerSettings) -> std::io::Result<Self> {
        let port = listener.local_addr()?.port();
        let workers = settings.workers.max(1);
        let state = web::Data::new(state);
        let observation_writer = tokio::spawn(write_behind::flush_periodically(
            Arc::clone(&state.write_behind),
            Arc::clone(&state.store),
        ));
        let app_state = state.clone();
        let body_read_timeout = settings.body_read_timeout;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::PathConfig::default().error_handler(extract::path_error))
                .wrap(middleware::from_fn(move |request, next| {
                    body_deadline::limit_body_reading(body_read_timeout, request, next)
                }))
                .wrap(middleware::from_fn(dry_run_guard::refuse_unsupported_dry_runs))
                .wrap(middleware::from_fn(telemetry::request_span))
                .configure(routes::configure)
                .default_service(web::to(|| async {
                    Err::<actix_web::HttpResponse, _>(ApiError::NotFound)
                }))
        })
        .workers(workers)
        .shutdown_timeout(settings.shutdown_timeout_secs)
        .client_request_timeout(settings.client_request_timeout)
        .keep_alive(settings.keep_alive)
        .max_connections(settings.max_connections.div_ceil(workers).max(1))
        .listen(listener)?
        .run();
        Ok(Self {
            port,
            server,
            state: app_state,
            observation_writer,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server alone; the observation writer keeps running on
    /// the runtime (until it ends) without the final flush of [`Self::run`].
    pub fn into_server(self) -> Server {
        self.server
    }

    /// Serves until stopped, then writes the observations still pending.
    pub async fn run(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.observation_writer.abort();
        if let Err(error) = self.state.write_behind.flush(self.state.store.as_ref()).await {
            tracing::warn!(%error, "writing the last check-in times and payload offers failed");
        }
        served
    }
}
