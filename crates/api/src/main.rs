//! `reviewlake-api`: the service binary for deployment. Configuration by flags or
//! environment (`REVIEWLAKE_LAKE`, `REVIEWLAKE_BIND`, `REVIEWLAKE_ADMIN_TOKEN`, the
//! lake's `AWS_*` storage options; `--help` lists all); logs on stderr (`RUST_LOG`,
//! `REVIEWLAKE_LOG_FORMAT=json` for JSON lines). Stops gracefully on SIGTERM or ctrl-c.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let config = reviewlake_api::ServeConfig::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("warn,reviewlake_api=info,tower_http=info")
    });
    let json = std::env::var("REVIEWLAKE_LOG_FORMAT").is_ok_and(|v| v == "json");
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        fmt.json().init();
    } else {
        fmt.init();
    }
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(reviewlake_api::run(config))?;
    Ok(())
}
