//! `scepter token issue`: mint an admin, reader or connector token.

use std::time::Duration;

use anyhow::bail;
use clap::Args;

use super::settings::{parse_positive_duration, DatabaseArgs, SecretArgs, TokenLifetimeArgs};
use crate::tokens::{Role, TokenAuthority};

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

pub fn issue_token(args: TokenIssueArgs) -> anyhow::Result<()> {
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
