//! The warehouse and features stages on a Ballista cluster — the project's scheduler and
//! two executors on loopback, the lake in a real S3-compatible server (s3s-fs) — give
//! the same tables as the local engine, row for row; and an executor killed mid-stage
//! is either survived or fails the stage with nothing published, after which a re-run
//! gives the same tables.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reviewlake_features::{FeaturesOptions, build as features};
use reviewlake_ingest::{IngestOptions, ingest};
use reviewlake_lake::{Lake, QueryEngine, Scheduler, Zone};
use reviewlake_tests::{S3Server, assert_zone_equal, s3_options, start_s3};
use reviewlake_warehouse::{CategoryScope, StateScope, WarehouseOptions, build};

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct TestCluster {
    scheduler: Scheduler,
    _scheduler: Proc,
    executors: Vec<(Proc, PathBuf)>,
}

fn s3_env(s3: &S3Server) -> Vec<(String, String)> {
    s3_options(s3)
        .storage()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn wait_for_line(log: &Path, needle: &str, timeout: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(needle) {
            return Ok(());
        }
        anyhow::ensure!(
            start.elapsed() < timeout,
            "{needle:?} not in {} after {timeout:?}:\n{text}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts the project's scheduler (any free port, executors declared dead after 10 s
/// without heartbeat) and `n` executors, each with 2 task slots and a 512 MiB pool.
fn start_cluster(dir: &Path, env: &[(String, String)], n: usize) -> anyhow::Result<TestCluster> {
    std::fs::create_dir_all(dir)?;
    let mut sched = Command::new(env!("CARGO_BIN_EXE_reviewlake-scheduler"));
    sched
        .args(["--port", "0", "--executor-timeout", "10"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("scheduler.log"))?);
    let mut child = sched.spawn()?;
    let out = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no scheduler stdout"))?;
    let child = Proc(child);
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line)?;
    let url = line
        .trim()
        .strip_prefix("scheduler ")
        .ok_or_else(|| anyhow::anyhow!("scheduler printed {line:?}"))?;
    let scheduler = Scheduler::parse(url)?;
    let mut executors = Vec::new();
    for i in 0..n {
        let log = dir.join(format!("executor-{i}.log"));
        let c = Command::new(env!("CARGO_BIN_EXE_reviewlake-executor"))
            .args([
                "--scheduler",
                url,
                "--concurrent-tasks",
                "2",
                "--memory-limit",
                "512MiB",
            ])
            .arg("--work-dir")
            .arg(dir.join(format!("executor-{i}")))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()?;
        executors.push((Proc(c), log));
    }
    for (_, log) in &executors {
        wait_for_line(
            log,
            "Executor registration succeed",
            Duration::from_secs(30),
        )?;
    }
    Ok(TestCluster {
        scheduler,
        _scheduler: child,
        executors,
    })
}

fn warehouse_options() -> WarehouseOptions {
    WarehouseOptions {
        states: StateScope::All,
        categories: CategoryScope::All,
        ..Default::default()
    }
}

async fn stages(lake: &Lake) -> anyhow::Result<()> {
    build(lake, &warehouse_options()).await?;
    features(lake, &FeaturesOptions::default()).await?;
    Ok(())
}

async fn latest_snapshot(lake: &Lake) -> anyhow::Result<Option<i64>> {
    Ok(lake.session().await?.snapshot_id())
}

/// How long one cluster job may take before it is cancelled and its stage fails.
const JOB_TIMEOUT: Duration = Duration::from_secs(180);

/// Whatever hangs, the test ends: after `TEST_LIMIT` it prints the tail of every
/// cluster log under `dir` and exits the test process with a failure.
const TEST_LIMIT: Duration = Duration::from_secs(20 * 60);

fn watchdog(dir: PathBuf) {
    std::thread::spawn(move || {
        std::thread::sleep(TEST_LIMIT);
        eprintln!("the Ballista test did not finish within {TEST_LIMIT:?}; cluster logs:");
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "log") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = &lines[lines.len().saturating_sub(40)..];
                eprintln!(
                    "--- {} (last {} lines)\n{}",
                    path.display(),
                    tail.len(),
                    tail.join("\n")
                );
            }
        }
        std::process::exit(101);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ballista_builds_the_same_tables_as_the_local_engine() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let src = dir.path().join("src");
    reviewlake_datagen::generate(&src, &reviewlake_datagen::GenOptions::new(2000).seed(5))?;
    let src = src.to_str().unwrap_or("src").to_string();

    // The local engine, on a local lake.
    let t = Instant::now();
    let local = Lake::open(dir.path().join("local").to_str().unwrap_or("local"))?
        .with_engine(QueryEngine::unbounded().with_memory_limit(512 << 20));
    ingest(&local, &IngestOptions::new(&src)).await?;
    stages(&local).await?;
    eprintln!("local engine: {:.1} s", t.elapsed().as_secs_f64());

    // Ballista, with the lake in s3s-fs.
    let s3 = start_s3(&["lake"])?;
    let cluster_dir = dir.path().join("cluster");
    watchdog(cluster_dir.clone());
    let cluster = start_cluster(&cluster_dir, &s3_env(&s3), 2)?;
    let lake = Lake::open_with("s3://lake/reviewlake", s3_options(&s3))?;
    ingest(&lake, &IngestOptions::new(&src)).await?;
    // A job that hangs (Ballista 55 can, after losing an executor) fails its stage.
    let on_cluster = lake.clone().with_engine(
        QueryEngine::ballista(cluster.scheduler.clone()).with_job_timeout(JOB_TIMEOUT),
    );
    let t = Instant::now();
    stages(&on_cluster).await?;
    eprintln!("ballista: {:.1} s", t.elapsed().as_secs_f64());
    // The executors did the work.
    for (_, log) in &cluster.executors {
        let text = std::fs::read_to_string(log)?;
        assert!(
            text.contains("Execute task"),
            "an executor ran no task:\n{text}"
        );
    }
    let (tables, rows) = assert_zone_equal(&local, &lake, Zone::Warehouse).await?;
    assert!(tables >= 8 && rows > 2000, "{tables} tables, {rows} rows");
    let (tables, rows) = assert_zone_equal(&local, &lake, Zone::Features).await?;
    assert!(tables >= 5 && rows > 2000, "{tables} tables, {rows} rows");

    // A job past its time limit is cancelled: the stage fails with the limit named and
    // publishes nothing.
    let before = latest_snapshot(&lake).await?;
    let hasty = lake.clone().with_engine(
        QueryEngine::ballista(cluster.scheduler.clone())
            .with_job_timeout(Duration::from_millis(300)),
    );
    match build(&hasty, &warehouse_options()).await {
        Ok(_) => anyhow::bail!("a warehouse build with a 300 ms job limit succeeded"),
        Err(e) => {
            let msg = format!("{e:#}");
            assert!(msg.contains("job time limit"), "{msg}");
        }
    }
    assert_eq!(
        latest_snapshot(&lake).await?,
        before,
        "a timed-out stage published"
    );

    // An executor killed while the warehouse is being rebuilt.
    let before = latest_snapshot(&lake).await?;
    let (victim, victim_log) = &cluster.executors[1];
    let seen = std::fs::read_to_string(victim_log)?
        .matches("Execute task")
        .count();
    // The stages run here while a watcher kills the executor once it is busy with them.
    let killer = async {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let n = std::fs::read_to_string(victim_log)
                .unwrap_or_default()
                .matches("Execute task")
                .count();
            if n >= seen + 3 || Instant::now() > deadline {
                break n >= seen + 3;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let kill = async {
        let busy = killer.await;
        // SAFETY: a signal to our own child process.
        unsafe { libc::kill(victim.0.id() as i32, libc::SIGKILL) };
        busy
    };
    let (result, busy) = tokio::join!(stages(&on_cluster), kill);
    assert!(busy, "the executor got no new task to be killed in");
    match result {
        Ok(()) => eprintln!("the run survived the lost executor"),
        Err(e) => {
            eprintln!("the run failed with the executor: {e:#}");
            let after = latest_snapshot(&lake).await?;
            assert!(
                after == before || after.is_some_and(|a| before.is_some_and(|b| a == b + 1)),
                "a failed run publishes at most the finished warehouse stage: {before:?} -> {after:?}"
            );
            stages(&on_cluster).await?;
        }
    }
    assert_zone_equal(&local, &lake, Zone::Warehouse).await?;
    assert_zone_equal(&local, &lake, Zone::Features).await?;
    Ok(())
}
