//! The reviewlake Ballista scheduler: Ballista's scheduler with the project's UDFs and
//! the lake's object stores. Prints `scheduler df://HOST:PORT` once it listens.

use anyhow::Context;
use clap::Parser;
use reviewlake_cluster::{SchedulerOptions, run_scheduler};

/// Runs a reviewlake Ballista scheduler.
#[derive(Parser, Debug)]
#[command(name = "reviewlake-scheduler", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
    /// Port (0: any free port, printed on the first line).
    #[arg(long, default_value_t = 50050)]
    port: u16,
    /// Seconds without a heartbeat after which an executor is dead and its tasks move.
    #[arg(long, default_value_t = 30)]
    executor_timeout: u64,
}

fn main() -> anyhow::Result<()> {
    reviewlake_cluster::serve(run())
}

async fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    let opts = SchedulerOptions {
        bind_host: args.bind.clone(),
        port: args.port,
        executor_timeout_seconds: args.executor_timeout,
        ..SchedulerOptions::default()
    };
    run_scheduler(opts, |addr| {
        println!("scheduler df://{addr}");
    })
    .await
    .with_context(|| format!("scheduler on {}:{}", args.bind, args.port))
}
