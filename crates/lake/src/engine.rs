//! The query engine the stages run their plans on: DataFusion in this process, with a
//! memory pool and disk spilling, or (feature `ballista`) the same plans on an Apache
//! Ballista cluster.
//!
//! Every [`QuerySession`](crate::QuerySession) of a [`Lake`](crate::Lake) shares the
//! lake's engine, so a stage's queries draw on one memory pool: operators that can spill
//! (sorts, grouped aggregates, window sorts) write to the spill folder instead of
//! growing past the limit. Hash joins cannot spill: the stages' plans join big tables
//! only with dimension-sized ones (and use window functions, not self-joins, for
//! per-key facts such as a reviewer's first visit).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use std::num::NonZeroUsize;

use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::{LakeError, Result};

/// The default memory limit of the stages' plans: 2 GiB.
pub const DEFAULT_MEMORY_LIMIT: u64 = 2 << 30;

/// How the lake's query sessions run plans.
#[derive(Debug, Default)]
pub struct QueryEngine {
    memory_limit: Option<u64>,
    spill_dir: Option<PathBuf>,
    target_partitions: Option<usize>,
    scheduler: Option<Scheduler>,
    job_timeout: Option<std::time::Duration>,
    runtime: OnceLock<Arc<RuntimeEnv>>,
}

/// The address of a Ballista scheduler (`df://HOST:PORT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduler {
    host: String,
    port: u16,
}

impl Scheduler {
    /// Parses `df://HOST:PORT` (`df://HOST` means port 50050, Ballista's default).
    ///
    /// ```
    /// use reviewlake_lake::Scheduler;
    /// let s = Scheduler::parse("df://127.0.0.1:50077").unwrap();
    /// assert_eq!(s.to_string(), "df://127.0.0.1:50077");
    /// assert!(Scheduler::parse("http://x:1").is_err());
    /// ```
    pub fn parse(url: &str) -> Result<Scheduler> {
        let bad = |reason: &str| LakeError::InvalidLocation {
            location: url.to_string(),
            reason: reason.to_string(),
        };
        let rest = url
            .strip_prefix("df://")
            .ok_or_else(|| bad("a scheduler address is df://HOST:PORT"))?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| bad("the port is a number from 1 to 65535"))?,
            ),
            None => (rest, 50050),
        };
        if host.is_empty() || port == 0 {
            return Err(bad("a scheduler address is df://HOST:PORT"));
        }
        Ok(Scheduler {
            host: host.to_string(),
            port,
        })
    }

    /// The host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The scheduler's gRPC endpoint, `http://HOST:PORT`.
    pub fn grpc_url(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }

    /// Checks within `timeout` that a Ballista scheduler answers at the address: a run
    /// against a scheduler that is not there (or against some other server on that
    /// port) fails before it does any work. With the `ballista` feature the check is a
    /// gRPC call of the scheduler's service (a job-status query for a job that does not
    /// exist, which a scheduler answers with an empty status); without it, a TCP
    /// connection.
    pub async fn check_reachable(&self, timeout: std::time::Duration) -> Result<()> {
        let addr = format!("{}:{}", self.host, self.port);
        let unreachable = |why: String| {
            LakeError::Engine(format!(
                "no Ballista scheduler at {self}: {why} (start one with `cargo xtask cluster up`, \
             or run with --engine local)"
            ))
        };
        let probe = async {
            let tcp = tokio::net::TcpStream::connect(&addr)
                .await
                .map_err(|e| e.to_string())?;
            drop(tcp);
            #[cfg(feature = "ballista")]
            {
                use ballista_core::serde::protobuf::GetJobStatusParams;
                use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
                let mut client = SchedulerGrpcClient::connect(self.grpc_url())
                    .await
                    .map_err(|e| format!("no gRPC service on that port ({e})"))?;
                // A scheduler answers a job it does not know with an empty status.
                client
                    .get_job_status(GetJobStatusParams {
                        job_id: "reviewlake-probe".to_string(),
                    })
                    .await
                    .map_err(|s| {
                        format!(
                            "the server there is not a Ballista scheduler ({})",
                            s.message()
                        )
                    })?;
            }
            Ok::<(), String>(())
        };
        match tokio::time::timeout(timeout, probe).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(unreachable(why)),
            Err(_) => Err(unreachable(format!(
                "no answer within {} s",
                timeout.as_secs()
            ))),
        }
    }
}

impl std::fmt::Display for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "df://{}:{}", self.host, self.port)
    }
}

impl Clone for QueryEngine {
    fn clone(&self) -> Self {
        QueryEngine {
            memory_limit: self.memory_limit,
            spill_dir: self.spill_dir.clone(),
            target_partitions: self.target_partitions,
            scheduler: self.scheduler.clone(),
            job_timeout: self.job_timeout,
            runtime: OnceLock::new(),
        }
    }
}

impl QueryEngine {
    /// No memory limit (DataFusion's unbounded pool), the system temp folder for
    /// spills: what a read-only server wants.
    pub fn unbounded() -> QueryEngine {
        QueryEngine::default()
    }

    /// Plans share a pool of `bytes` and spill beyond it.
    pub fn with_memory_limit(mut self, bytes: u64) -> QueryEngine {
        self.memory_limit = Some(bytes);
        self
    }

    /// Spill files go under `dir` (default: the system temp folder).
    pub fn with_spill_dir(mut self, dir: impl Into<PathBuf>) -> QueryEngine {
        self.spill_dir = Some(dir.into());
        self
    }

    /// Partitions per plan (default: the number of cores).
    pub fn with_target_partitions(mut self, n: usize) -> QueryEngine {
        self.target_partitions = Some(n.max(1));
        self
    }

    /// Plans run on the Ballista cluster of `scheduler`: tables are read as the Parquet
    /// files of their pinned Delta versions, the project's UDFs must be known to the
    /// cluster (its own scheduler and executor binaries, crate `reviewlake-cluster`), and
    /// results stream back to this process. The memory limit is then the executors'.
    #[cfg(feature = "ballista")]
    pub fn ballista(scheduler: Scheduler) -> QueryEngine {
        QueryEngine {
            scheduler: Some(scheduler),
            ..QueryEngine::default()
        }
    }

    /// A cluster job that has not returned its first rows within `limit` is cancelled
    /// and fails its query with [`LakeError::Engine`] (default: no limit). Ballista 55
    /// can leave a job running forever after it lost an executor (for instance when
    /// the loss is noticed by a failed task launch rather than by the heartbeat
    /// reaper: apache/datafusion-ballista#2226); the limit turns such a hang into a
    /// failed stage that publishes nothing, and a re-run finishes the work. No effect
    /// on the local engine.
    pub fn with_job_timeout(mut self, limit: std::time::Duration) -> QueryEngine {
        self.job_timeout = Some(limit);
        self
    }

    /// The cluster job time limit, if any.
    pub fn job_timeout(&self) -> Option<std::time::Duration> {
        self.job_timeout
    }

    /// The Ballista scheduler plans run on, `None` for this process.
    pub fn scheduler(&self) -> Option<&Scheduler> {
        self.scheduler.as_ref()
    }

    /// The memory limit, if any.
    pub fn memory_limit(&self) -> Option<u64> {
        self.memory_limit
    }

    fn runtime(&self) -> Result<Arc<RuntimeEnv>> {
        if let Some(rt) = self.runtime.get() {
            return Ok(rt.clone());
        }
        let mut b = RuntimeEnvBuilder::new();
        if let Some(limit) = self.memory_limit {
            // The error of an exhausted pool names its largest consumers.
            b = b.with_memory_pool(Arc::new(TrackConsumersPool::new(
                FairSpillPool::new(limit as usize),
                NonZeroUsize::new(8).unwrap_or(NonZeroUsize::MIN),
            )));
        }
        if let Some(dir) = &self.spill_dir {
            std::fs::create_dir_all(dir).map_err(|e| LakeError::Io {
                path: dir.display().to_string(),
                source: e,
            })?;
            b = b.with_temp_file_path(dir.clone());
        }
        let rt = b.build_arc()?;
        Ok(self.runtime.get_or_init(|| rt).clone())
    }

    /// A new context on this engine's runtime (shared pool), with the lake's types
    /// (plain `Utf8` strings rather than string views).
    pub fn context(&self) -> Result<SessionContext> {
        let cfg = with_env_overrides(self.config())?;
        #[cfg(feature = "ballista")]
        if let Some(s) = &self.scheduler {
            use ballista_core::extension::{SessionConfigExt, SessionStateExt};
            // Ballista 55's adaptive planner (its default) loses a job when an executor
            // dies: the stage it rolls back is no longer "active", the re-run task's
            // result cannot be recorded ("Can't find active stage to update stage
            // outputs") and the job stays running forever. The static planner re-runs
            // the lost tasks and finishes.
            let cfg = cfg
                .upgrade_for_ballista()
                .with_ballista_adaptive_query_planner(false);
            let state = datafusion::execution::SessionStateBuilder::new()
                .with_default_features()
                .with_config(cfg)
                .with_runtime_env(self.runtime()?)
                .build()
                .upgrade_for_ballista(s.grpc_url())?;
            return Ok(SessionContext::new_with_state(state));
        }
        Ok(SessionContext::new_with_config_rt(cfg, self.runtime()?))
    }

    /// The settings every session of this engine (and every cluster node) plans with.
    pub fn config(&self) -> SessionConfig {
        let mut cfg = SessionConfig::new()
            .set_bool(
                "datafusion.execution.parquet.schema_force_view_types",
                false,
            )
            // The pass copies an expensive expression into each field taken from its
            // struct result (`v['neg']`, `v['pos']`, ... of `vader(text) AS v`).
            .set_bool(
                "datafusion.optimizer.enable_leaf_expression_pushdown",
                false,
            );
        if let Some(n) = self.target_partitions {
            cfg = cfg.with_target_partitions(n);
        }
        if let Some(limit) = self.memory_limit {
            // Each sort reserves this much up front for merging its spilled runs
            // (default 10 MB): a plan with dozens of sorts would hold most of a small
            // pool in reservations alone.
            let merge = (limit / 256).clamp(1 << 20, 10 << 20);
            cfg = cfg.set_usize(
                "datafusion.execution.sort_spill_reservation_bytes",
                merge as usize,
            );
        }
        cfg
    }
}

/// `cfg` with the DataFusion settings given in the environment on top, each under its
/// key in capitals with `_` for `.` (`DATAFUSION_EXECUTION_BATCH_SIZE=16384`): the knobs
/// an operator tunes a run with, over the engine's own settings. A value the setting
/// does not take is an error naming the variable.
fn with_env_overrides(mut cfg: SessionConfig) -> Result<SessionConfig> {
    let keys: Vec<String> = cfg.options().entries().into_iter().map(|e| e.key).collect();
    for key in keys {
        let var = key.to_uppercase().replace('.', "_");
        if let Ok(value) = std::env::var(&var) {
            cfg.options_mut().set(&key, &value).map_err(|e| {
                LakeError::Query(Box::new(e.context(format!("environment variable {var}"))))
            })?;
            tracing::debug!(setting = %key, %value, "setting from the environment");
        }
    }
    Ok(cfg)
}

/// Parses a size: a number of bytes, or a number with a unit `KiB`, `MiB`, `GiB`, `TiB`
/// (powers of 1024; `K`, `M`, `G`, `T`, `KB`, `MB`, `GB`, `TB` mean the same).
///
/// ```
/// use reviewlake_lake::parse_size;
/// assert_eq!(parse_size("512MiB").unwrap(), 512 << 20);
/// assert_eq!(parse_size("4GiB").unwrap(), 4 << 30);
/// assert_eq!(parse_size("1.5G").unwrap(), 3 << 29);
/// assert!(parse_size("lots").is_err());
/// ```
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 512MiB, 4GiB)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => return Err(format!("{s:?}: unknown unit {other:?} (use MiB, GiB)")),
    };
    let v = n * mult as f64;
    if !v.is_finite() || v < 1.0 {
        return Err(format!("{s:?} is not a positive size"));
    }
    Ok(v as u64)
}

/// Caps glibc's malloc at two arenas (unless `MALLOC_ARENA_MAX` says otherwise), for a
/// process about to start its threads. With one arena per thread (glibc's default, up
/// to eight per core), the Arrow buffers that the stages allocate and free on every
/// worker thread leave each arena's freed pages resident: at 2M reviews and a 512 MiB
/// pool the warehouse stage peaked at 762 MiB with the default and about 540 MiB with
/// two arenas (the features stage: 671 and 525 MiB, same speed; docs/BENCHMARKS.md). A
/// no-op elsewhere than Linux with glibc.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; callers run it before their
        // other threads start.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
