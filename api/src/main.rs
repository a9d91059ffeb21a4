use scepter_api::cli::{self, Cli};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    cli::run(Cli::parse_args()).await
}
