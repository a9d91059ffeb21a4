//! `scepter migrate`: apply the database migrations and exit.

use clap::Args;

use super::settings::DatabaseArgs;
use crate::http::telemetry::{self, LogFormat};

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
}

pub async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    telemetry::init(LogFormat::Text);
    let target = args.database.target()?;
    let store = scepter_storage::connect(&target, args.database.pool_settings()).await?;
    store.migrate().await?;
    store.close().await;
    tracing::info!(database = %target.redacted(), "migrations applied");
    Ok(())
}
