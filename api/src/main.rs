use scepter_api::cli::{self, Cli};

/// mimalloc rather than glibc's malloc: a check-in allocates a few hundred
/// small buffers (report, facts, rendered payloads, the JSON answer) across
/// worker threads, and glibc's allocator took a fifth of a changed
/// check-in's CPU under load (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    cli::run(Cli::parse_args()).await
}
