//! `cargo xtask cluster up|status|down` and `pipeline --engine ballista`: a local
//! cluster runs the warehouse and features stages to the same tables as the local
//! engine; a scheduler that is not there fails the run at once with nothing committed.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use reviewlake_lake::{Lake, Zone};
use reviewlake_tests::assert_zone_equal;

fn xtask() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_xtask"));
    c.env("RUST_LOG", "warn");
    c
}

fn run(c: &mut Command) -> Output {
    let out = c.output().expect("xtask runs");
    assert!(
        out.status.success(),
        "{:?} failed: {}\n{}",
        c,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn pipeline(src: &Path, lake: &Path) -> Command {
    let mut c = xtask();
    c.args(["pipeline", "--quiet", "--source"])
        .arg(src)
        .arg("--lake")
        .arg(lake);
    c
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

async fn snapshot(lake: &Path) -> anyhow::Result<Option<i64>> {
    let lake = Lake::open_existing(lake.to_str().unwrap_or("lake"))?;
    Ok(lake.session().await?.snapshot_id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_cluster_runs_the_stages_to_the_local_tables() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let src = dir.path().join("src");
    reviewlake_datagen::generate(&src, &reviewlake_datagen::GenOptions::new(600).seed(3))?;
    let work = dir.path().join("cluster");

    let up = run(xtask()
        .args([
            "cluster",
            "up",
            "--executors",
            "2",
            "--memory-limit",
            "512MiB",
            "--work",
        ])
        .arg(&work));
    let text = String::from_utf8_lossy(&up.stdout).to_string();
    let first = text.lines().next().unwrap_or_default();
    let url = first
        .strip_prefix("scheduler ")
        .filter(|u| u.starts_with("df://127.0.0.1:"))
        .unwrap_or_else(|| panic!("first line is the scheduler: {text}"))
        .to_string();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("cluster.json"))?)?;
    let pids: Vec<i32> = state["processes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p["pid"].as_i64())
                .map(|p| p as i32)
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(pids.len(), 3, "a scheduler and two executors: {state}");
    assert!(pids.iter().all(|&p| alive(p)));
    // A second `up` in the same folder refuses to start another cluster.
    let again = xtask()
        .args(["cluster", "up", "--work"])
        .arg(&work)
        .output()?;
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("still running"));
    let st = run(xtask().args(["cluster", "status", "--work"]).arg(&work));
    assert!(String::from_utf8_lossy(&st.stdout).contains("3 of 3 processes running"));

    // The stages on the cluster, and on the local engine.
    let on_cluster = dir.path().join("lake-ballista");
    run(pipeline(&src, &on_cluster).args([
        "--until",
        "features",
        "--engine",
        "ballista",
        "--scheduler",
        &url,
    ]));
    let local = dir.path().join("lake-local");
    run(pipeline(&src, &local).args(["--until", "features"]));
    let a = Lake::open_existing(local.to_str().unwrap_or("a"))?;
    let b = Lake::open_existing(on_cluster.to_str().unwrap_or("b"))?;
    let (tables, rows) = assert_zone_equal(&a, &b, Zone::Warehouse).await?;
    assert!(tables >= 8 && rows > 600, "{tables} tables, {rows} rows");
    assert_zone_equal(&a, &b, Zone::Features).await?;

    let down = run(xtask().args(["cluster", "down", "--work"]).arg(&work));
    assert!(String::from_utf8_lossy(&down.stdout).contains("stopped 3 processes"));
    assert!(
        pids.iter().all(|&p| !alive(p)),
        "down stops every process up started"
    );
    let st = run(xtask().args(["cluster", "status", "--work"]).arg(&work));
    assert!(String::from_utf8_lossy(&st.stdout).contains("no cluster"));
    Ok(())
}

/// Runs the warehouse stage of `lake` against the scheduler `url` and asserts it is
/// refused within 10 s, naming the address, with nothing committed.
async fn assert_refused(
    src: &Path,
    lake: &Path,
    url: &str,
    before: Option<i64>,
) -> anyhow::Result<()> {
    let t = Instant::now();
    let out = pipeline(src, lake)
        .args([
            "--from",
            "warehouse",
            "--engine",
            "ballista",
            "--scheduler",
            url,
        ])
        .output()?;
    let took = t.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a run against {url} succeeded");
    assert!(took < Duration::from_secs(10), "failed after {took:?}");
    assert!(
        err.contains(&format!("no Ballista scheduler at {url}")),
        "{err}"
    );
    assert_eq!(snapshot(lake).await?, before, "nothing committed");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_scheduler_fails_within_ten_seconds_and_commits_nothing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let src = dir.path().join("src");
    reviewlake_datagen::generate(&src, &reviewlake_datagen::GenOptions::new(300).seed(3))?;
    let lake = dir.path().join("lake");
    run(pipeline(&src, &lake).args(["--until", "ingest"]));
    let before = snapshot(&lake).await?;
    assert!(before.is_some());
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let url = format!("df://127.0.0.1:{port}");
    assert_refused(&src, &lake, &url, before).await?;
    assert!(
        !lake.join("warehouse").exists(),
        "no warehouse table written"
    );
    // Something else on the port (an HTTP/1 server, not gRPC): the same clear error.
    let other = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("df://{}", other.local_addr()?);
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut conn in other.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        }
    });
    assert_refused(&src, &lake, &url, before).await?;
    // --engine ballista without a scheduler is refused before any work.
    let out = pipeline(&src, &dir.path().join("new"))
        .args(["--engine", "ballista"])
        .env_remove("REVIEWLAKE_SCHEDULER")
        .output()?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --scheduler"));
    assert!(!dir.path().join("new").exists());
    // An in-memory lake cannot reach executors: refused before the scheduler is tried.
    let out = xtask()
        .args(["pipeline", "--quiet", "--source"])
        .arg(&src)
        .args(["--lake", "memory://bench", "--engine", "ballista"])
        .args(["--scheduler", &url])
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("cannot use an in-memory lake"), "{err}");
    Ok(())
}
