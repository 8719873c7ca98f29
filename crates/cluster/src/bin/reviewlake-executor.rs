//! The reviewlake Ballista executor: Ballista's executor with the project's UDFs and
//! the lake's object stores.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use reviewlake_cluster::{ExecutorOptions, free_port, run_executor};
use reviewlake_lake::{LakeOptions, Scheduler, parse_size};

/// Runs a reviewlake Ballista executor.
#[derive(Parser, Debug)]
#[command(name = "reviewlake-executor", version)]
struct Args {
    /// The scheduler, `df://HOST:PORT`.
    #[arg(long, default_value = "df://127.0.0.1:50050")]
    scheduler: String,
    /// Address to listen on (and to advertise to the scheduler).
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
    /// Arrow Flight port (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// gRPC port (0: any free port).
    #[arg(long, default_value_t = 0)]
    grpc_port: u16,
    /// Tasks at once (0: one per core).
    #[arg(long, default_value_t = 0)]
    concurrent_tasks: usize,
    /// Memory the tasks share before they spill, e.g. `2GiB` (default: Ballista's
    /// share of the host's memory).
    #[arg(long, value_parser = parse_size)]
    memory_limit: Option<u64>,
    /// Shuffle and spill files.
    #[arg(long, default_value = "target/cluster/executor")]
    work_dir: PathBuf,
}

fn main() -> anyhow::Result<()> {
    reviewlake_cluster::serve(run())
}

async fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    let scheduler = Scheduler::parse(&args.scheduler).context("--scheduler")?;
    let port = match args.port {
        0 => free_port(&args.bind)?,
        p => p,
    };
    let grpc_port = match args.grpc_port {
        0 => free_port(&args.bind)?,
        p => p,
    };
    let opts = ExecutorOptions {
        bind_host: args.bind.clone(),
        port,
        grpc_port,
        scheduler_host: scheduler.host().to_string(),
        scheduler_port: scheduler.port(),
        concurrent_tasks: args.concurrent_tasks,
        memory_limit: args.memory_limit,
        work_dir: args.work_dir.clone(),
        storage: LakeOptions::from_env(),
    };
    println!(
        "executor {}:{port} (grpc {grpc_port}) -> {scheduler}",
        args.bind
    );
    run_executor(opts)
        .await
        .with_context(|| format!("executor registering with {scheduler}"))
}
