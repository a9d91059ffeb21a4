//! The `scepter` command line: one [`Cli`] parsed once in `main`, with every
//! setting also readable from the environment.

use std::{
    fs,
    io::Write,
    net::TcpListener,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{bail, Context};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use clap::{parser::ValueSource, ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use rand::RngCore;
use scepter_domain::{
    challenge::{self, ChallengeKey},
    retention::{self, RetentionPolicy},
};
use scepter_storage::{DatabaseTarget, PoolSettings};

use crate::{
    app::{AppState, Application, EnrollmentSettings, ProfilePolicy, ServerSettings},
    auth::{JwtSecret, Role, TokenAuthority, TokenLifetimes},
    facts_cache::FactsCache,
    import::{self, ImportArgs},
    metrics::Metrics,
    openapi,
    profile_cache::ProfileCache,
    sweep,
    telemetry::{self, LogFormat},
};

#[derive(Debug, Parser)]
#[command(
    name = "scepter",
    version,
    about = "Certificate-profile service for mobile-device management"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Secrets given as command-line flags (see [`Cli::parse_args`]).
    #[arg(skip)]
    pub secret_flags: Vec<SecretFlag>,
}

impl Cli {
    /// Parses the process's arguments, noting which secrets came as flags:
    /// those are visible to every user of the machine in the process list
    /// (environment variables and files are not), so each is warned about once.
    pub fn parse_args() -> Self {
        let matches = Self::command().get_matches();
        let mut cli = Self::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
        cli.secret_flags = SecretFlag::given_on_command_line(&matches);
        cli
    }
}

/// A secret-carrying argument and the `*_FILE` setting to use instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretFlag {
    id: &'static str,
    flag: &'static str,
    file_setting: &'static str,
}

impl SecretFlag {
    const ALL: [SecretFlag; 5] = [
        SecretFlag::new("jwt_secret", "--jwt-secret", "SCEPTER_JWT_SECRET_FILE"),
        SecretFlag::new(
            "jwt_secret_previous",
            "--jwt-secret-previous",
            "SCEPTER_JWT_SECRET_PREVIOUS_FILE",
        ),
        SecretFlag::new("challenge_key", "--challenge-key", "SCEPTER_CHALLENGE_KEY_FILE"),
        SecretFlag::new(
            "step_ca_challenge_secret",
            "--step-ca-challenge-secret",
            "SCEPTER_STEP_CA_CHALLENGE_SECRET_FILE",
        ),
        SecretFlag::new(
            "step_ca_notify_secret",
            "--step-ca-notify-secret",
            "SCEPTER_STEP_CA_NOTIFY_SECRET_FILE",
        ),
    ];

    const fn new(id: &'static str, flag: &'static str, file_setting: &'static str) -> Self {
        Self {
            id,
            flag,
            file_setting,
        }
    }

    /// The secret arguments of the invoked (sub)command given as flags, not
    /// through their environment variable (clap records where each value came from).
    fn given_on_command_line(matches: &ArgMatches) -> Vec<SecretFlag> {
        let mut leaf = matches;
        while let Some((_, subcommand)) = leaf.subcommand() {
            leaf = subcommand;
        }
        // Only ids this command has may be asked about (clap panics otherwise).
        let present: Vec<&str> = leaf.ids().map(|id| id.as_str()).collect();
        Self::ALL
            .into_iter()
            .filter(|secret| {
                present.contains(&secret.id) && leaf.value_source(secret.id) == Some(ValueSource::CommandLine)
            })
            .collect()
    }

    pub fn warning(&self) -> String {
        format!(
            "{} puts a secret on the command line, where every user of this machine can read it in the \
             process list; write it to a file only Scepter's user can read (chmod 600) and set {} instead",
            self.flag, self.file_setting
        )
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations and serve the API.
    Serve(Box<ServeArgs>),
    /// Apply the database migrations and exit.
    Migrate(MigrateArgs),
    /// Bearer tokens for the API.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Print the OpenAPI document (the committed openapi/openapi.json).
    Openapi,
    /// Bulk-import users, devices or group members from CSV or JSON lines (upsert by externalId).
    Import(ImportArgs),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint a token and print it on stdout.
    Issue(TokenIssueArgs),
}

#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL URL (`postgres://user:pass@host/db`). Without it, Scepter uses the SQLite file.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// SQLite database file, used when no DATABASE_URL is set.
    #[arg(long, env = "SCEPTER_SQLITE_PATH", default_value = "scepter.db")]
    pub sqlite_path: PathBuf,
    /// Largest number of pooled PostgreSQL connections (SQLite uses one).
    #[arg(long, env = "SCEPTER_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
    /// How long a request waits for a database connection before failing with 503.
    #[arg(long, env = "SCEPTER_DB_ACQUIRE_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub db_acquire_timeout: Duration,
}

impl DatabaseArgs {
    pub fn target(&self) -> anyhow::Result<DatabaseTarget> {
        match &self.database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(DatabaseTarget::Postgres { url: url.clone() })
            }
            Some(_) => bail!("DATABASE_URL must be a postgres:// URL; unset it to use the SQLite file"),
            None => Ok(DatabaseTarget::Sqlite {
                path: self.sqlite_path.clone(),
            }),
        }
    }

    pub(crate) fn pool_settings(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.db_max_connections.max(1),
            acquire_timeout: self.db_acquire_timeout,
        }
    }
}

#[derive(Debug, Args)]
pub struct SecretArgs {
    /// HMAC secret for bearer tokens, at least 32 bytes.
    #[arg(long, env = "SCEPTER_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// File holding the HMAC secret. With SQLite and neither option set,
    /// `<database file stem>.key` beside the database is used, and created with
    /// a random secret when missing.
    #[arg(long, env = "SCEPTER_JWT_SECRET_FILE", conflicts_with = "jwt_secret")]
    pub jwt_secret_file: Option<PathBuf>,
}

impl SecretArgs {
    /// There is no built-in secret: it comes from configuration, or — for the
    /// single-machine SQLite default only — from a key file generated on first
    /// use. A PostgreSQL deployment (possibly several instances) must configure one.
    pub fn resolve(&self, target: &DatabaseTarget) -> anyhow::Result<JwtSecret> {
        let bytes = match (&self.jwt_secret, &self.jwt_secret_file, target) {
            (Some(secret), _, _) => secret.trim().as_bytes().to_vec(),
            (None, Some(path), _) => read_secret_file(path)?,
            (None, None, DatabaseTarget::Sqlite { path }) => {
                read_or_create_secret_file(&path.with_extension("key"))?
            }
            (None, None, DatabaseTarget::Postgres { .. }) => {
                bail!("set SCEPTER_JWT_SECRET or --jwt-secret-file: a PostgreSQL deployment needs an explicit secret")
            }
        };
        JwtSecret::new(bytes).map_err(anyhow::Error::msg)
    }
}

/// The secret tokens were signed with before a rotation: still accepted,
/// never used to sign. Remove it once the tokens it signed have expired.
#[derive(Debug, Args)]
pub struct PreviousSecretArgs {
    /// The previous HMAC secret for bearer tokens (verify only).
    #[arg(long, env = "SCEPTER_JWT_SECRET_PREVIOUS", hide_env_values = true)]
    pub jwt_secret_previous: Option<String>,
    /// File holding the previous HMAC secret.
    #[arg(
        long,
        env = "SCEPTER_JWT_SECRET_PREVIOUS_FILE",
        conflicts_with = "jwt_secret_previous"
    )]
    pub jwt_secret_previous_file: Option<PathBuf>,
}

impl PreviousSecretArgs {
    pub fn resolve(&self) -> anyhow::Result<Option<JwtSecret>> {
        let bytes = match (&self.jwt_secret_previous, &self.jwt_secret_previous_file) {
            (Some(secret), _) => secret.trim().as_bytes().to_vec(),
            (None, Some(path)) => read_secret_file(path)?,
            (None, None) => return Ok(None),
        };
        JwtSecret::new(bytes)
            .map(Some)
            .map_err(|error| anyhow::anyhow!("SCEPTER_JWT_SECRET_PREVIOUS: {error}"))
    }
}

/// The longest lifetime of a token per role: `token issue` refuses longer
/// ones and `serve` rejects them.
#[derive(Debug, Args)]
pub struct TokenLifetimeArgs {
    /// Longest lifetime of an admin token.
    #[arg(long, env = "SCEPTER_MAX_TOKEN_LIFETIME_ADMIN", value_parser = parse_positive_duration,
        default_value = "24h")]
    pub max_token_lifetime_admin: Duration,
    /// Longest lifetime of a reader token.
    #[arg(long, env = "SCEPTER_MAX_TOKEN_LIFETIME_READER", value_parser = parse_positive_duration,
        default_value = "24h")]
    pub max_token_lifetime_reader: Duration,
    /// Longest lifetime of a connector token.
    #[arg(long, env = "SCEPTER_MAX_TOKEN_LIFETIME_CONNECTOR", value_parser = parse_positive_duration,
        default_value = "30d")]
    pub max_token_lifetime_connector: Duration,
}

impl TokenLifetimeArgs {
    pub fn lifetimes(&self) -> TokenLifetimes {
        TokenLifetimes {
            admin: self.max_token_lifetime_admin,
            reader: self.max_token_lifetime_reader,
            connector: self.max_token_lifetime_connector,
        }
    }

    fn setting(role: Role) -> &'static str {
        match role {
            Role::Admin => "SCEPTER_MAX_TOKEN_LIFETIME_ADMIN",
            Role::Reader => "SCEPTER_MAX_TOKEN_LIFETIME_READER",
            Role::Connector => "SCEPTER_MAX_TOKEN_LIFETIME_CONNECTOR",
        }
    }
}

/// Reads a secret from `path`, which only its owner may access.
fn read_secret_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    refuse_shared_file(path)?;
    let text =
        fs::read_to_string(path).with_context(|| format!("reading the secret file {}", path.display()))?;
    Ok(text.trim().as_bytes().to_vec())
}

/// A secret file others can read is no longer a secret; refusing to start is
/// the only way to make sure the operator notices.
#[cfg(unix)]
fn refuse_shared_file(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let metadata =
        fs::metadata(path).with_context(|| format!("reading the secret file {}", path.display()))?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "the secret file {path} is accessible to group or others (mode {mode:03o}); \
             restrict it with `chmod 600 {path}`",
            path = path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_shared_file(_: &Path) -> anyhow::Result<()> {
    Ok(())
}

/// Reads the secret at `path`, creating it (mode 0600) with 32 random bytes
/// in hex when missing — only for the single-machine SQLite default.
fn read_or_create_secret_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path.exists() {
        return read_secret_file(path);
    }
    let mut random = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut random);
    let secret = hex_encode(&random);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())
                .with_context(|| format!("writing the secret file {}", path.display()))?;
            tracing::info!(path = %path.display(), "generated a new secret");
            Ok(secret.into_bytes())
        }
        // Another process created it first: use theirs.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => read_secret_file(path),
        Err(error) => Err(error).with_context(|| format!("creating the secret file {}", path.display())),
    }
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[derive(Debug, Args)]
pub struct EnrollmentArgs {
    /// HMAC key that signs SCEP challenges, at least 32 bytes; separate from
    /// the JWT secret. Every instance on one database needs the same key.
    #[arg(long, env = "SCEPTER_CHALLENGE_KEY", hide_env_values = true)]
    pub challenge_key: Option<String>,
    /// File holding the challenge key. With SQLite and neither option set,
    /// `<database file stem>.challenge-key` is used, created when missing.
    #[arg(long, env = "SCEPTER_CHALLENGE_KEY_FILE", conflicts_with = "challenge_key")]
    pub challenge_key_file: Option<PathBuf>,
    /// Seconds a challenge stays valid (60 s – 7 days).
    #[arg(long, env = "SCEPTER_CHALLENGE_TTL", default_value_t = challenge::DEFAULT_LIFETIME_SECONDS,
        value_parser = clap::value_parser!(i64).range(60..=7 * 24 * 3600))]
    pub challenge_ttl: i64,
    /// Signing secret of step-ca's SCEPCHALLENGE webhook, base64 as step-ca prints it.
    #[arg(long, env = "SCEPTER_STEP_CA_CHALLENGE_SECRET", hide_env_values = true)]
    pub step_ca_challenge_secret: Option<String>,
    /// File holding the SCEPCHALLENGE webhook's signing secret.
    #[arg(
        long,
        env = "SCEPTER_STEP_CA_CHALLENGE_SECRET_FILE",
        conflicts_with = "step_ca_challenge_secret"
    )]
    pub step_ca_challenge_secret_file: Option<PathBuf>,
    /// Signing secret of step-ca's NOTIFYING webhook, base64 as step-ca prints it.
    #[arg(long, env = "SCEPTER_STEP_CA_NOTIFY_SECRET", hide_env_values = true)]
    pub step_ca_notify_secret: Option<String>,
    /// File holding the NOTIFYING webhook's signing secret.
    #[arg(
        long,
        env = "SCEPTER_STEP_CA_NOTIFY_SECRET_FILE",
        conflicts_with = "step_ca_notify_secret"
    )]
    pub step_ca_notify_secret_file: Option<PathBuf>,
    /// Seconds between sweeps that queue revocations for certificates whose
    /// profile no longer reaches their device (writes also queue them) and
    /// purge rows past their retention (0 disables both).
    #[arg(long, env = "SCEPTER_REVOCATION_SWEEP_SECS", default_value_t = 600)]
    pub revocation_sweep_secs: u64,
    /// Days events, and SCEP transactions never notified, are kept (0: forever).
    #[arg(long, env = "SCEPTER_EVENT_RETENTION_DAYS", default_value_t = retention::DEFAULT_RETENTION_DAYS)]
    pub event_retention_days: u32,
}

impl EnrollmentArgs {
    pub fn resolve(&self, target: &DatabaseTarget) -> anyhow::Result<EnrollmentSettings> {
        let key = match (&self.challenge_key, &self.challenge_key_file, target) {
            (Some(key), _, _) => key.trim().as_bytes().to_vec(),
            (None, Some(path), _) => read_secret_file(path)?,
            (None, None, DatabaseTarget::Sqlite { path }) => {
                read_or_create_secret_file(&path.with_extension("challenge-key"))?
            }
            (None, None, DatabaseTarget::Postgres { .. }) => bail!(
                "set SCEPTER_CHALLENGE_KEY or --challenge-key-file: a PostgreSQL deployment needs an explicit key"
            ),
        };
        let challenge_key = ChallengeKey::new(&key).map_err(anyhow::Error::msg)?;
        let webhook_secret = |name: &str, value: &Option<String>, file: &Option<PathBuf>| {
            let text = match (value, file) {
                (Some(text), _) => text.clone(),
                (None, Some(path)) => String::from_utf8(read_secret_file(path)?)
                    .with_context(|| format!("{name}_FILE must hold base64 text"))?,
                (None, None) => return Ok(None),
            };
            let secret = STANDARD
                .decode(text.trim())
                .with_context(|| format!("{name} must be base64, as step-ca prints it"))?;
            if secret.len() < 16 {
                bail!("{name} is too short ({} bytes)", secret.len());
            }
            Ok(Some(secret))
        };
        Ok(EnrollmentSettings {
            challenge_key,
            challenge_lifetime_secs: self.challenge_ttl,
            step_ca_challenge_secret: webhook_secret(
                "SCEPTER_STEP_CA_CHALLENGE_SECRET",
                &self.step_ca_challenge_secret,
                &self.step_ca_challenge_secret_file,
            )?,
            step_ca_notify_secret: webhook_secret(
                "SCEPTER_STEP_CA_NOTIFY_SECRET",
                &self.step_ca_notify_secret,
                &self.step_ca_notify_secret_file,
            )?,
        })
    }
}

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
    #[arg(long, env = "SCEPTER_ORGANIZATION", default_value = "Scepter")]
    pub organization: String,
    /// Devices whose check-in facts are cached per instance (0 disables the cache).
    #[arg(long, env = "SCEPTER_CHECK_IN_CACHE_DEVICES", default_value_t = crate::facts_cache::DEFAULT_CAPACITY)]
    pub check_in_cache_devices: usize,
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

fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        Ok(_) => Err("must be more than 0".to_owned()),
        Err(error) => Err(error.to_string()),
    }
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct TokenIssueArgs {
    #[arg(long, value_enum)]
    pub role: Role,
    /// Lifetime, e.g. `30m`, `1h`, `7d`: at most the role's cap
    /// (`SCEPTER_MAX_TOKEN_LIFETIME_*`: 24h for admin and reader, 30d for connector).
    #[arg(long, default_value = "1h", value_parser = parse_positive_duration)]
    pub ttl: Duration,
    /// Who the token is for (the `sub` claim), shown in logs.
    #[arg(long, default_value = "admin")]
    pub subject: String,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub secret: SecretArgs,
    #[command(flatten)]
    pub token_lifetimes: TokenLifetimeArgs,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let Cli {
        command,
        secret_flags,
    } = cli;
    // `serve` logs them; other commands may print results on stdout, so stderr.
    if !matches!(command, Command::Serve(_)) {
        for flag in &secret_flags {
            eprintln!("warning: {}", flag.warning());
        }
    }
    match command {
        Command::Serve(args) => serve(*args, &secret_flags).await,
        Command::Migrate(args) => migrate(args).await,
        Command::Token {
            command: TokenCommand::Issue(args),
        } => issue_token(args),
        Command::Openapi => {
            print!("{}", openapi::to_json());
            Ok(())
        }
        Command::Import(args) => import::run(args).await,
    }
}

async fn serve(args: ServeArgs, secret_flags: &[SecretFlag]) -> anyhow::Result<()> {
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
    let state = AppState {
        store: store.clone(),
        tokens: match &previous_secret {
            Some(previous) => TokenAuthority::new(&secret).with_previous_secret(previous),
            None => TokenAuthority::new(&secret),
        }
        .with_lifetimes(args.token_lifetimes.lifetimes()),
        policy: ProfilePolicy {
            allow_http_scep_urls: args.allow_http_scep_urls,
        },
        max_body_bytes: args.max_body_bytes,
        settings_fingerprint: AppState::settings_fingerprint(&args.organization),
        organization: args.organization,
        enrollment,
        profiles: ProfileCache::default(),
        check_in_facts: FactsCache::with_capacity(args.check_in_cache_devices),
        metrics: Metrics::new(),
    };
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
    if let Some(sweeper) = sweeper {
        sweeper.abort();
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    telemetry::init(LogFormat::Text);
    let target = args.database.target()?;
    let store = scepter_storage::connect(&target, args.database.pool_settings()).await?;
    store.migrate().await?;
    store.close().await;
    tracing::info!(database = %target.redacted(), "migrations applied");
    Ok(())
}

fn issue_token(args: TokenIssueArgs) -> anyhow::Result<()> {
    let lifetimes = args.token_lifetimes.lifetimes();
    let max = lifetimes.max(args.role);
    if args.ttl > max {
        bail!(
            "--ttl {} is longer than a {} token may live ({}; raise {} to allow more)",
            humantime::format_duration(args.ttl),
            args.role.as_str(),
            humantime::format_duration(max),
            TokenLifetimeArgs::setting(args.role)
        );
    }
    let target = args.database.target()?;
    let secret = args.secret.resolve(&target)?;
    let token =
        TokenAuthority::new(&secret)
            .with_lifetimes(lifetimes)
            .issue(&args.subject, args.role, args.ttl)?;
    println!("{token}");
    Ok(())
}
