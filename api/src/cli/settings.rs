//! Argument groups shared by several commands: database, secrets, token
//! lifetimes and enrollment settings, each also readable from the environment.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{bail, Context};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use clap::Args;
use rand::RngCore;
use scepter_domain::{
    challenge::{self, ChallengeKey},
    retention::{self},
};
use scepter_storage::{DatabaseTarget, PoolSettings};

use crate::{
    state::EnrollmentSettings,
    tokens::{JwtSecret, Role, TokenLifetimes},
};

#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL URL (`postgres://user:pass@host/db`). Without it, Scepter uses the SQLite file.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// SQLite database file, used when no DATABASE_URL is set.
    #[arg(long, env = "SCEPTER_SQLITE_PATH", default_value = "scepter.db")]
    pub sqlite_path: PathBuf,
    /// Largest number of pooled PostgreSQL connections (SQLite uses one).
    #[arg(long, env = "SCEPTER_DB_MAX_CONNECTIONS", default_value_t = PoolSettings::DEFAULT_MAX_CONNECTIONS)]
    pub db_max_connections: u32,
    /// How long a request waits for a database connection before failing with 503.
    #[arg(long, env = "SCEPTER_DB_ACQUIRE_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub db_acquire_timeout: Duration,
    /// PostgreSQL connections kept beside the pool for the credential query
    /// of device check-ins, reused without sqlx's on-release ping (0: off).
    #[arg(long, env = "SCEPTER_DB_CHECK_IN_CONNECTIONS",
        default_value_t = PoolSettings::DEFAULT_CHECK_IN_CONNECTIONS)]
    pub db_check_in_connections: u32,
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
            check_in_connections: self.db_check_in_connections,
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

    pub fn setting(role: Role) -> &'static str {
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
    /// Days events and audit entries, and SCEP transactions never notified, are kept (0: forever).
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

pub fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        Ok(_) => Err("must be more than 0".to_owned()),
        Err(error) => Err(error.to_string()),
    }
}
