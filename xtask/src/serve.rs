//! `cargo xtask serve`: the API and dashboard (crates/api) over a lake, with the same
//! flags and environment variables as the `reviewlake-api` binary (`REVIEWLAKE_LAKE`,
//! `REVIEWLAKE_BIND`, `REVIEWLAKE_ADMIN_TOKEN`, ...). Prints `listening on
//! http://ADDR` once bound; stops gracefully on SIGTERM or ctrl-c. Access logs with
//! `RUST_LOG=info`.

use anyhow::Result;
use clap::Args;

/// `cargo xtask serve [--lake URL] [--bind ADDR] [--admin-token T] [--poll-seconds S] ...`
#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    config: reviewlake_api::ServeConfig,
}

/// Serves until SIGTERM or ctrl-c.
pub fn run(args: ServeArgs) -> Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(reviewlake_api::run(args.config))?;
    Ok(())
}
