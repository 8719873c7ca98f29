//! # reviewlake-api
//!
//! The service over the lake: a JSON API under `/v1`, OpenAPI 3.1 at `/openapi.json`
//! (generated from the handlers), interactive docs at `/docs`, Prometheus metrics at
//! `/metrics`, health at `/healthz` and `/readyz`, and the KPI dashboard at `/`.
//!
//! At start the service loads the lake's latest catalog snapshot into memory — the
//! warehouse's businesses and users, categories, timelines, KPI rows, sentiment
//! histograms, the models zone's tables and the current `als` recommendation model —
//! and answers every request from indexes built at load. It switches to a newer
//! snapshot without a restart (polling the catalog, or `POST /v1/admin/reload` with
//! the admin bearer token): requests in flight finish on the snapshot they started
//! with.
//!
//! **Architecture invariant:** requests never touch the lake and the service never
//! writes to it; only loading reads it, through a read-only session pinned to one
//! snapshot (warehouse, features and models zones) plus the current `als` artifact.
//! User input never produces a 5xx.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use clap::Parser;
//! let config = reviewlake_api::ServeConfig::parse_from(["serve", "--lake", "./lake", "--bind", "127.0.0.1:0"]);
//! let server = reviewlake_api::start(&config, reviewlake_lake::LakeOptions::from_env()).await?;
//! println!("listening on http://{}", server.addr());
//! server.stop().await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod conn;
mod dashboard;
pub mod error;
mod extract;
mod http;
mod lists;
mod load;
pub mod resources;
mod routes;
pub mod service;
pub mod snapshot;

use std::net::SocketAddr;
use std::time::Duration;

use reviewlake_lake::{Lake, LakeOptions};
use tokio::sync::watch;

pub use dashboard::CHART_JS_VERSION;
pub use error::{ApiError, ErrorBody, Result};
pub use routes::{MAX_LIMIT, MAX_N, MAX_OFFSET};
pub use service::Service;
pub use snapshot::LoadedSnapshot;

/// The service's configuration: flags, or the environment variables named below.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "reviewlake-api",
    version,
    about = "The reviewlake API and dashboard"
)]
pub struct ServeConfig {
    /// Lake root (folder, s3:// URL). Storage options come from the AWS_* variables.
    #[arg(long, env = "REVIEWLAKE_LAKE", default_value = "lake")]
    pub lake: String,
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    #[arg(long, env = "REVIEWLAKE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Bearer token of `POST /v1/admin/reload` (unset: admin endpoints answer 403).
    #[arg(long, env = "REVIEWLAKE_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Seconds between two looks at the catalog for a newer snapshot (0: never).
    #[arg(long, env = "REVIEWLAKE_POLL_SECONDS", default_value_t = 30)]
    pub poll_seconds: u64,
    /// Origins allowed by CORS, comma-separated, or `*` (default: same origin only).
    #[arg(long, env = "REVIEWLAKE_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Seconds a request may take before the service answers 503.
    #[arg(long, env = "REVIEWLAKE_REQUEST_TIMEOUT_SECONDS", default_value_t = 10)]
    pub request_timeout_seconds: u64,
    /// Largest request body, bytes (413 beyond).
    #[arg(long, env = "REVIEWLAKE_MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,
    /// Largest request head (request line and headers), bytes (431 beyond).
    #[arg(long, env = "REVIEWLAKE_MAX_HEADER_BYTES", default_value_t = 16 * 1024)]
    pub max_header_bytes: usize,
    /// Seconds a request head (request line and headers) may take to arrive whole,
    /// from its first byte (from the connection's opening for the first request); a
    /// slower client is disconnected.
    #[arg(
        long,
        env = "REVIEWLAKE_HEADER_READ_TIMEOUT_SECONDS",
        default_value_t = 5,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub header_read_timeout_seconds: u64,
    /// Seconds a keep-alive connection may stay idle between requests before the
    /// server closes it.
    #[arg(
        long,
        env = "REVIEWLAKE_IDLE_TIMEOUT_SECONDS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub idle_timeout_seconds: u64,
    /// Connections open at once; a connection beyond it is answered 503 and closed.
    /// Keep it below the process's file-descriptor limit (`ulimit -n`).
    #[arg(
        long,
        env = "REVIEWLAKE_MAX_CONNECTIONS",
        default_value_t = 4096,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_connections: u64,
}

impl ServeConfig {
    fn conn_limits(&self) -> conn::ConnLimits {
        conn::ConnLimits {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_seconds.max(1)),
            idle_timeout: Duration::from_secs(self.idle_timeout_seconds.max(1)),
            max_connections: usize::try_from(self.max_connections)
                .unwrap_or(usize::MAX)
                .max(1),
            // Requests in flight get their own timeout, plus a little to write.
            shutdown_grace: Duration::from_secs(self.request_timeout_seconds.max(1) + 5),
        }
    }
}

/// The OpenAPI document of the service (what `/openapi.json` serves).
pub fn openapi() -> utoipa::openapi::OpenApi {
    http::router_and_openapi(&http::Limits::default()).1
}

/// The whole application (API, docs, metrics, dashboard, middleware) over `service`.
pub fn app(service: Service, config: &ServeConfig) -> axum::Router {
    let limits = http::Limits::from_config(config);
    let (router, api) = http::router_and_openapi(&limits);
    http::finish(router, api, service, &limits)
}

/// The process-wide Prometheus recorder (installed on first use; `None` if another
/// recorder was installed first).
pub fn metrics_handle() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    http::metrics_handle()
}

/// A server started by [`start`].
pub struct RunningServer {
    addr: SocketAddr,
    service: Service,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl RunningServer {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The service state (snapshot, reload).
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// Waits until the first snapshot is loaded, at most `timeout`.
    pub async fn ready(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.service.is_ready() {
            if tokio::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// Stops accepting connections, lets requests in flight finish, and returns.
    pub async fn stop(self) -> Result<()> {
        let _ = self.stop.send(true);
        self.wait().await
    }

    /// Waits until the server ends (after a stop, or an error).
    pub async fn wait(self) -> Result<()> {
        match self.task.await {
            Ok(r) => Ok(r?),
            Err(e) => Err(ApiError::Io(std::io::Error::other(e))),
        }
    }

    /// A future that stops the server when `signal` resolves, then waits for it.
    pub async fn stop_on(self, signal: impl std::future::Future<Output = ()>) -> Result<()> {
        let stop = self.stop.clone();
        let mut ended = self.stop.subscribe();
        tokio::select! {
            _ = signal => { let _ = stop.send(true); }
            _ = ended.wait_for(|v| *v) => {}
        }
        self.wait().await
    }
}

/// Opens the lake, binds `config.bind`, and serves in the background: the first
/// snapshot loads right away (`/readyz` answers 503 until it is loaded), then the
/// catalog is polled every `config.poll_seconds`.
pub async fn start(config: &ServeConfig, options: LakeOptions) -> Result<RunningServer> {
    let lake = Lake::open_with(&config.lake, options.create_if_missing(false))?;
    let service = Service::new(lake, config.admin_token.clone(), metrics_handle());
    let app = app(service.clone(), config);
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);

    let first = service.clone();
    tokio::spawn(async move {
        if let Err(e) = first.reload(false).await {
            tracing::error!(error = %e, "loading the first snapshot failed (retrying at each poll)");
        }
    });
    if config.poll_seconds > 0 {
        let mut rx = stopped.clone();
        tokio::spawn(
            service
                .clone()
                .poll(Duration::from_secs(config.poll_seconds), async move {
                    let _ = rx.wait_for(|v| *v).await;
                }),
        );
    }
    if let Some(h) = service.metrics().cloned() {
        let mut rx = stopped.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tokio::select! {
                    _ = rx.wait_for(|v| *v) => return,
                    _ = tick.tick() => h.run_upkeep(),
                }
            }
        });
    }
    let task = tokio::spawn(conn::serve(listener, app, config.conn_limits(), stopped));
    tracing::info!(%addr, lake = %config.lake, "serving");
    Ok(RunningServer {
        addr,
        service,
        stop,
        task,
    })
}

/// Resolves on SIGTERM or ctrl-c (SIGINT).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Runs the server until SIGTERM or ctrl-c, printing `listening on http://ADDR` on
/// stdout once bound (what `reviewlake-api` and `cargo xtask serve` do).
pub async fn run(config: ServeConfig) -> Result<()> {
    let server = start(&config, LakeOptions::from_env()).await?;
    println!("listening on http://{}", server.addr());
    use std::io::Write;
    let _ = std::io::stdout().flush();
    server.stop_on(shutdown_signal()).await
}
