//! reviewlake on Apache Ballista.
//!
//! Ballista's stock scheduler and executor know DataFusion's functions and object
//! stores, not the project's: the warehouse's UDFs (`is_yelp_id`, `row_hash`,
//! `user_key`, …), VADER (`vader`), and the lake's S3 credentials. This crate builds
//! the project's own `reviewlake-scheduler` and `reviewlake-executor` binaries with all
//! of them registered, so the plans the stages build with
//! [`QueryEngine::ballista`](reviewlake_lake::QueryEngine::ballista) run unchanged on
//! a cluster.
//!
//! Tables reach the cluster as listing tables of the Parquet files of each pinned Delta
//! version (`reviewlake_lake::Table::parquet_files`): delta-rs has no physical codec
//! for its scan (delta-rs#4171). Results stream back to the driver, which writes and
//! commits the lake's tables as it does with the local engine.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! use reviewlake_cluster::{SchedulerOptions, run_scheduler};
//! let opts = SchedulerOptions { port: 50050, ..SchedulerOptions::default() };
//! run_scheduler(opts, |addr| println!("scheduler df://{addr}")).await?;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ballista_core::RuntimeProducer;
use ballista_core::extension::{
    SessionConfigExt, ballista_aggregate_functions, ballista_scalar_functions,
    ballista_window_functions,
};
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::{create_scheduler, start_grpc_service_with_listener};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionConfig;
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use reviewlake_lake::{LakeOptions, QueryEngine};

/// Errors of the cluster processes.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Ballista refused a setting or failed to start.
    #[error("ballista: {0}")]
    Ballista(#[from] ballista_core::error::BallistaError),
    /// DataFusion failed (a session or runtime could not be built).
    #[error("datafusion: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// A socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Stack of the cluster processes' runtime threads (32 MiB): the plans of the features
/// stage are deep trees that Ballista plans and (de)serializes recursively; 2 MiB, tokio's
/// default, overflowed in debug builds.
pub const THREAD_STACK_BYTES: usize = 32 << 20;

/// Runs `process` (a scheduler's or an executor's main future) the way both cluster
/// binaries do: logs through `tracing` to stderr (`RUST_LOG`, default `info`), on a
/// multi-threaded tokio runtime whose threads have [`THREAD_STACK_BYTES`] of stack,
/// with [`reviewlake_lake::limit_malloc_arenas`].
///
/// # Errors
/// The runtime cannot start ([`std::io::Error`], converted into `E`), or `process`
/// fails.
pub fn serve<F, T, E>(process: F) -> std::result::Result<T, E>
where
    F: std::future::Future<Output = std::result::Result<T, E>>,
    E: From<std::io::Error>,
{
    reviewlake_lake::limit_malloc_arenas();
    // Planning, serializing and deserializing the stages' plans recurses over deep
    // expression trees: the default 2 MiB worker stacks overflow in debug builds.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK_BYTES)
        .build()?;
    runtime.block_on(async {
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
            )
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
        process.await
    })
}

/// Result alias of this crate.
pub type Result<T, E = ClusterError> = std::result::Result<T, E>;

/// The project's scalar functions: the warehouse's and the features stage's.
pub fn udfs() -> Vec<ScalarUDF> {
    let mut v = reviewlake_warehouse::udf::all();
    v.extend(reviewlake_features::udf::all());
    v
}

/// Every function an executor can run: DataFusion's (as Ballista registers them, plus
/// the array functions such as `cardinality` it leaves out) and [`udfs`].
pub fn function_registry() -> BallistaFunctionRegistry {
    let mut r = BallistaFunctionRegistry::default();
    for f in datafusion::functions_nested::all_default_nested_functions() {
        r.scalar_functions.entry(f.name().to_string()).or_insert(f);
    }
    for f in udfs() {
        r.scalar_functions.insert(f.name().to_string(), Arc::new(f));
    }
    r
}

/// The scheduler's session for each job: Ballista's defaults plus [`udfs`] (the
/// scheduler plans the physical stages, so it must resolve every function the
/// driver's logical plan names) and the lake's object stores (it lists the files).
pub fn session_state(
    config: SessionConfig,
    storage: &LakeOptions,
) -> datafusion::error::Result<SessionState> {
    let runtime = RuntimeEnvBuilder::new()
        .with_object_store_registry(reviewlake_lake::object_store_registry(storage.clone()))
        .build_arc()?;
    let mut scalar = ballista_scalar_functions();
    scalar.extend(udfs().into_iter().map(Arc::new));
    Ok(SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_optimizer_rules(ballista_core::optimizer::ballista_default_optimizer_rules())
        .with_scalar_functions(scalar)
        .with_aggregate_functions(ballista_aggregate_functions())
        .with_window_functions(ballista_window_functions())
        .build())
}

/// The executors' runtime for each session: the lake's object stores, spill files
/// under `work_dir`. (Ballista adds each task's share of the memory pool.)
pub fn runtime_producer(storage: LakeOptions, work_dir: PathBuf) -> RuntimeProducer {
    Arc::new(
        move |_cfg: &SessionConfig| -> datafusion::error::Result<Arc<RuntimeEnv>> {
            RuntimeEnvBuilder::new()
                .with_object_store_registry(reviewlake_lake::object_store_registry(storage.clone()))
                .with_temp_file_path(work_dir.clone())
                .build_arc()
        },
    )
}

/// The session settings of every node: the lake engine's (plain strings, no
/// leaf-expression pushdown, …) with Ballista's.
pub fn session_config() -> SessionConfig {
    QueryEngine::default().config().upgrade_for_ballista()
}

/// How a scheduler runs.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Address to listen on (default `127.0.0.1`).
    pub bind_host: String,
    /// Port (0: any free port; the callback of [`run_scheduler`] gets the real one).
    pub port: u16,
    /// Seconds without a heartbeat after which an executor is declared dead and its
    /// tasks are run elsewhere (default 30; Ballista's own default is 180).
    pub executor_timeout_seconds: u64,
    /// Storage options for the lake's files (default: the `AWS_*` variables).
    pub storage: LakeOptions,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        SchedulerOptions {
            bind_host: "127.0.0.1".into(),
            port: 50050,
            executor_timeout_seconds: 30,
            storage: LakeOptions::from_env(),
        }
    }
}

/// Runs a scheduler until the process ends. `ready` is called with the bound address
/// once the port is open.
pub async fn run_scheduler(opts: SchedulerOptions, ready: impl FnOnce(SocketAddr)) -> Result<()> {
    let addr = format!("{}:{}", opts.bind_host, opts.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| ClusterError::Bind {
            addr: addr.clone(),
            source: e,
        })?;
    let bound = listener.local_addr().map_err(|e| ClusterError::Bind {
        addr: addr.clone(),
        source: e,
    })?;
    let storage = opts.storage.clone();
    let mut config = SchedulerConfig::default()
        .with_hostname(opts.bind_host.clone())
        .with_port(bound.port())
        .with_override_config_producer(Arc::new(session_config))
        .with_override_session_builder(Arc::new(move |cfg| session_state(cfg, &storage)));
    config.bind_host = opts.bind_host.clone();
    config.executor_timeout_seconds = opts.executor_timeout_seconds;
    config.expire_dead_executor_interval_seconds = opts.executor_timeout_seconds.clamp(1, 15);
    config.no_executors_grace_period_seconds = opts.executor_timeout_seconds;
    let config = Arc::new(config);
    let cluster = BallistaCluster::new_from_config(&config).await?;
    let scheduler = create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, config).await?;
    ready(bound);
    start_grpc_service_with_listener(listener, scheduler).await?;
    Ok(())
}

/// How an executor runs.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// Address to listen on (default `127.0.0.1`).
    pub bind_host: String,
    /// Arrow Flight port (shuffle and results).
    pub port: u16,
    /// gRPC port.
    pub grpc_port: u16,
    /// Scheduler host.
    pub scheduler_host: String,
    /// Scheduler port.
    pub scheduler_port: u16,
    /// Tasks run at once (0: one per core).
    pub concurrent_tasks: usize,
    /// Memory shared by the executor's tasks; beyond it they spill (`None`: Ballista
    /// sizes it from the host's memory).
    pub memory_limit: Option<u64>,
    /// Shuffle and spill files.
    pub work_dir: PathBuf,
    /// Storage options for the lake's files (default: the `AWS_*` variables).
    pub storage: LakeOptions,
}

/// Runs an executor until the process ends (it registers with the scheduler,
/// retrying for up to 10 s).
pub async fn run_executor(opts: ExecutorOptions) -> Result<()> {
    std::fs::create_dir_all(&opts.work_dir).map_err(|e| ClusterError::Bind {
        addr: opts.work_dir.display().to_string(),
        source: e,
    })?;
    let config = ExecutorProcessConfig {
        bind_host: opts.bind_host.clone(),
        external_host: Some(opts.bind_host.clone()),
        port: opts.port,
        grpc_port: opts.grpc_port,
        scheduler_host: opts.scheduler_host.clone(),
        scheduler_port: opts.scheduler_port,
        scheduler_connect_timeout_seconds: 10,
        vcores: opts.concurrent_tasks,
        work_dir: Some(opts.work_dir.display().to_string()),
        memory_pool_size: opts.memory_limit,
        executor_heartbeat_interval_seconds: 5,
        print_thread_info: false,
        override_function_registry: Some(Arc::new(function_registry())),
        override_runtime_producer: Some(runtime_producer(
            opts.storage.clone(),
            opts.work_dir.clone(),
        )),
        override_config_producer: Some(Arc::new(session_config)),
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(config)).await?;
    Ok(())
}

/// A free TCP port on `host` (bound and released: good enough on loopback).
pub fn free_port(host: &str) -> Result<u16> {
    let l = std::net::TcpListener::bind((host, 0)).map_err(|e| ClusterError::Bind {
        addr: format!("{host}:0"),
        source: e,
    })?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| ClusterError::Bind {
            addr: format!("{host}:0"),
            source: e,
        })
}
