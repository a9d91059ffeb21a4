//! `scepter serve`: apply migrations, build the [`AppState`], run the server and the periodic sweep.

use std::{net::TcpListener, time::Duration};

use anyhow::Context;
use clap::Args;
use scepter_domain::retention::RetentionPolicy;

use super::{
    settings::{
        parse_positive_duration, DatabaseArgs, EnrollmentArgs, PreviousSecretArgs, SecretArgs,
        TokenLifetimeArgs,
    },
    SecretFlag,
};
use crate::{
    http::{
        server::{Application, ServerSettings},
        telemetry::{self, LogFormat},
    },
    service::{health, sweep},
    state::{AppState, ProfilePolicy},
    tokens::TokenAuthority,
};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SCEPTER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub secret: SecretArgs,
    #[command(flatten)]
    pub previous_secret: PreviousSecretArgs,
    #[command(flatten)]
    pub token_lifetimes: TokenLifetimeArgs,
    #[command(flatten)]
    pub enrollment: EnrollmentArgs,
    #[arg(long, env = "SCEPTER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Largest accepted request body in bytes (larger ones get 413).
    #[arg(long, env = "SCEPTER_MAX_BODY_BYTES", default_value_t = AppState::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Lab only: accept plain-http SCEP server URLs in profiles.
    #[arg(long, env = "SCEPTER_ALLOW_HTTP_SCEP_URLS")]
    pub allow_http_scep_urls: bool,
    /// Organization name shown on devices in installed profiles.
    #[arg(long, env = "SCEPTER_ORGANIZATION", default_value = AppState::DEFAULT_ORGANIZATION)]
    pub organization: String,
    /// Devices whose check-in facts are cached per instance (0 disables the cache).
    #[arg(long, env = "SCEPTER_CHECK_IN_CACHE_DEVICES", default_value_t = crate::state::facts_cache::DEFAULT_CAPACITY)]
    pub check_in_cache_devices: usize,
    /// How old the certificate health report may be: it is recomputed in the
    /// background every half of this and served from that snapshot (a request
    /// can ask for a fresher one). 0 computes it on every request.
    #[arg(long, env = "SCEPTER_CERTIFICATE_HEALTH_MAX_AGE", value_parser = humantime::parse_duration,
        default_value = "60s")]
    pub certificate_health_max_age: Duration,
    /// Device-status reports each instance computes at once; more wait for
    /// their turn, so reports cannot take the cores check-ins need.
    #[arg(long, env = "SCEPTER_REPORT_CONCURRENCY",
        default_value_t = crate::state::report_gate::ReportGate::DEFAULT_CONCURRENCY)]
    pub report_concurrency: usize,
    /// Percent of the time device-status reports may run while they queue
    /// (1–100): a report that ran t while another waited is followed by
    /// t·(100/share − 1) of rest, so pollers cannot keep the database busy
    /// for check-ins.
    #[arg(long, env = "SCEPTER_REPORT_TIME_SHARE",
        default_value_t = crate::state::report_gate::ReportGate::DEFAULT_SHARE_PERCENT,
        value_parser = clap::value_parser!(u32).range(1..=100))]
    pub report_time_share: u32,
    /// HTTP worker threads (default: one per CPU).
    #[arg(long, env = "SCEPTER_WORKERS")]
    pub workers: Option<usize>,
    #[command(flatten)]
    pub connections: ConnectionArgs,
}

/// How long and how many connections clients may hold.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// Time a client has to send a request's line and headers (then 408).
    #[arg(long, env = "SCEPTER_CLIENT_REQUEST_TIMEOUT", value_parser = humantime::parse_duration,
        default_value = "5s")]
    pub client_request_timeout: Duration,
    /// Time a client has to send a request's body after its headers (then 408).
    #[arg(long, env = "SCEPTER_BODY_READ_TIMEOUT", value_parser = parse_positive_duration,
        default_value = "30s")]
    pub body_read_timeout: Duration,
    /// How long an idle kept-alive connection stays open (0 disables keep-alive).
    #[arg(long, env = "SCEPTER_KEEP_ALIVE", value_parser = humantime::parse_duration, default_value = "5s")]
    pub keep_alive: Duration,
    /// Most open client connections (shared evenly by the workers).
    #[arg(long, env = "SCEPTER_MAX_CONNECTIONS", default_value_t = ServerSettings::DEFAULT_MAX_CONNECTIONS,
        value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
}

pub async fn serve(args: ServeArgs, secret_flags: &[SecretFlag]) -> anyhow::Result<()> {
    telemetry::init(args.log_format);
    for flag in secret_flags {
        tracing::warn!("{}", flag.warning());
    }
    let target = args.database.target()?;
    let secret = args.secret.resolve(&target)?;
    let previous_secret = args.previous_secret.resolve()?;
    let enrollment = args.enrollment.resolve(&target)?;
    tracing::info!(database = %target.redacted(), "opening database");
    let store = scepter_storage::connect(&target, args.database.pool_settings())
        .await
        .context("connecting to the database")?;
    store.migrate().await.context("applying migrations")?;
    let listener =
        TcpListener::bind(&args.listen).with_context(|| format!("listening on {}", args.listen))?;
    tracing::info!(address = %listener.local_addr()?, "serving");
    let tokens = match &previous_secret {
        Some(previous) => TokenAuthority::new(&secret).with_previous_secret(previous),
        None => TokenAuthority::new(&secret),
    }
    .with_lifetimes(args.token_lifetimes.lifetimes());
    let state = AppState::new(store.clone(), tokens, enrollment)
        .with_policy(ProfilePolicy {
            allow_http_scep_urls: args.allow_http_scep_urls,
        })
        .with_max_body_bytes(args.max_body_bytes)
        .with_organization(args.organization)
        .with_check_in_cache(args.check_in_cache_devices)
        .with_certificate_health_max_age(args.certificate_health_max_age)
        .with_report_gate(args.report_concurrency, args.report_time_share);
    let retention = RetentionPolicy {
        retention_days: args.enrollment.event_retention_days,
        challenge_lifetime_secs: args.enrollment.challenge_ttl,
    };
    let sweeper = (args.enrollment.revocation_sweep_secs > 0).then(|| {
        tokio::spawn(sweep::sweep_periodically(
            store.clone(),
            Duration::from_secs(args.enrollment.revocation_sweep_secs),
            retention,
        ))
    });
    let health_refresher = (!args.certificate_health_max_age.is_zero()).then(|| {
        tokio::spawn(health::refresh_periodically(
            store.clone(),
            args.certificate_health_max_age,
            state.metrics.certificate_health_gauges(),
        ))
    });
    if args.allow_http_scep_urls {
        tracing::warn!("lab mode: plain-http SCEP server URLs are accepted");
    }
    let settings = ServerSettings {
        workers: args
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from)),
        client_request_timeout: args.connections.client_request_timeout,
        body_read_timeout: args.connections.body_read_timeout,
        keep_alive: args.connections.keep_alive,
        max_connections: usize::try_from(args.connections.max_connections).unwrap_or(usize::MAX),
        ..ServerSettings::default()
    };
    Application::build(listener, state, settings)?.run().await?;
    for task in [sweeper, health_refresher].into_iter().flatten() {
        task.abort();
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}
