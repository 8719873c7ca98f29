//! `cargo xtask bench api`: the service's recommendations endpoint under wrk (Debian's
//! `wrk`) on loopback, on a lake of generated reviews built once by the pipeline
//! (`<work>/lake-api-<reviews>`, reused).
//!
//! The server is this binary's `serve` in a child process pinned to one core (`taskset`),
//! wrk runs on the other core with one thread; its Lua script rotates over many real
//! user ids (native Yelp and Google ids from `dim_user`, of every segment; every fifth
//! request filtered by a state or a category). The
//! report gives requests/s, p50/p99/max latency, errors (non-2xx and socket errors), the
//! server's resident memory with the snapshot loaded, and the `dist` binary's size.
//!
//! wrk is a closed loop: with `c` connections there are always `c` requests in the
//! server, so on one server core the latency grows with `c` by Little's law
//! (`latency ≈ c / throughput`). The benchmark therefore sweeps the connection count
//! (`--connections 4,8,16,32`) and judges the target (≥ 25,000 requests/s with p99
//! < 5 ms and no errors) at the highest level that keeps p99 under 5 ms.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use arrow::array::Array;
use reviewlake_lake::{Columns, Lake};

/// Parameters of `bench api`.
#[derive(Debug, Clone)]
pub struct ApiBench {
    /// Generated reviews in the lake.
    pub reviews: u64,
    /// Work folder.
    pub work: PathBuf,
    /// Seconds of measured load.
    pub duration: u64,
    /// wrk connections: one measured run per level (a concurrency sweep).
    pub connections: Vec<u32>,
    /// Distinct users rotated over.
    pub users: usize,
    /// Recommendations per request (`?n=`).
    pub n: u32,
    /// CPU list of the server (`taskset -c`).
    pub server_cpus: String,
    /// CPU list of wrk.
    pub wrk_cpus: String,
    /// The wrk binary.
    pub wrk: String,
}

/// Runs the benchmark.
pub fn run(b: ApiBench) -> Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; use `cargo xtask-release bench api` for real figures");
    }
    std::fs::create_dir_all(&b.work)?;
    let lake_dir = lake(&b)?;
    let rt = tokio::runtime::Runtime::new()?;
    let (paths, served) = rt.block_on(async {
        ensure_als(&lake_dir).await?;
        user_paths(&lake_dir, b.users, b.n).await
    })?;
    let script = b.work.join("api-wrk.lua");
    std::fs::write(&script, lua_script(&paths))?;
    println!(
        "{} users, n={}, every {FILTERED_EVERY}th request filtered (state or category); served by: {}",
        paths.len(),
        b.n,
        served
            .iter()
            .map(|(m, k)| format!("{m} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let server = Server::start(&lake_dir, &b.server_cpus)?;
    let rss_loaded = server.rss_kib()?;
    println!(
        "server pid {} on cpus {}: ready in {:.1} s, RSS {:.0} MiB with the snapshot loaded",
        server.child.id(),
        b.server_cpus,
        server.ready_after.as_secs_f64(),
        rss_loaded as f64 / 1024.0
    );
    let url = format!("http://{}", server.addr);
    let wrk = |connections: u32, seconds: u64| -> Result<WrkResult> {
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", &b.wrk_cpus, &b.wrk, "-t1"])
            .arg(format!("-c{connections}"))
            .arg(format!("-d{seconds}s"))
            .args(["--latency", "-s"])
            .arg(&script)
            .arg(&url);
        let shown = format!("{cmd:?}").replace('"', "");
        let out = cmd
            .output()
            .with_context(|| format!("running {shown} (apt-get install wrk)"))?;
        anyhow::ensure!(
            out.status.success(),
            "wrk failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        WrkResult::parse(&text, shown)
    };
    let first = b.connections.first().copied().unwrap_or(8);
    let _warmup = wrk(first, 5)?;
    let mut runs = Vec::new();
    for &c in &b.connections {
        let r = wrk(c, b.duration)?;
        println!(
            "  {c} connections: {:.0} requests/s, p99 {:.2} ms",
            r.rps,
            r.p99_us as f64 / 1000.0
        );
        runs.push((c, r));
    }
    let rss_after = server.rss_kib()?;
    let hwm = server.hwm_kib()?;
    server.stop()?;

    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/dist/reviewlake-api");
    let dist_size = std::fs::metadata(&dist).map(|m| m.len()).ok();
    println!();
    println!(
        "GET /v1/users/{{source}}/{{id}}/recommendations?n={} over {} users, {} s per level:",
        b.n,
        paths.len(),
        b.duration
    );
    println!();
    println!("| connections | requests/s | p50 (ms) | p99 (ms) | max (ms) | requests | errors |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for (c, r) in &runs {
        println!(
            "| {c} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} |",
            r.rps,
            r.p50_us as f64 / 1000.0,
            r.p99_us as f64 / 1000.0,
            r.max_us as f64 / 1000.0,
            r.requests,
            r.errors
        );
    }
    println!();
    if let Some((_, r)) = runs.last() {
        println!("command (last level): {}", r.command);
    }
    let errors: u64 = runs.iter().map(|(_, r)| r.errors).sum();
    let within = runs
        .iter()
        .filter(|(_, r)| r.p99_us < 5_000)
        .max_by_key(|(c, _)| *c);
    match within {
        Some((c, r)) => println!(
            "target (≥ 25,000 requests/s at p99 < 5 ms, no errors): {} at {c} connections ({:.0} requests/s, p99 {:.2} ms)",
            if r.rps >= 25_000.0 && errors == 0 {
                "met"
            } else {
                "NOT met"
            },
            r.rps,
            r.p99_us as f64 / 1000.0
        ),
        None => println!(
            "target (≥ 25,000 requests/s at p99 < 5 ms, no errors): NOT met (p99 ≥ 5 ms at every level)"
        ),
    }
    println!(
        "server: RSS {:.0} MiB after load, {:.0} MiB after the run (peak {:.0} MiB)",
        rss_loaded as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    match dist_size {
        Some(s) => println!("dist binary: {} = {:.1} MB", dist.display(), s as f64 / 1e6),
        None => println!("dist binary: not built (cargo build --profile dist -p reviewlake-api)"),
    }
    println!(
        "lake: {} ({} generated reviews); cores: {}",
        lake_dir.display(),
        b.reviews,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    if errors > 0 {
        bail!("{errors} requests failed");
    }
    Ok(())
}

/// The lake: generated once, built once through the pipeline (every stage, `--no-tune`:
/// the benchmark measures serving, not model search).
fn lake(b: &ApiBench) -> Result<PathBuf> {
    let src = b.work.join(format!("src-{}", b.reviews));
    if !src.join("manifest.json").is_file() {
        println!("generating {} reviews into {}", b.reviews, src.display());
        let opts = reviewlake_datagen::GenOptions::new(b.reviews)
            .seed(42)
            .reporter(crate::progress::reporter(false));
        reviewlake_datagen::generate(&src, &opts)?;
    }
    let lake_dir = b.work.join(format!("lake-api-{}", b.reviews));
    if !lake_dir.join("catalog/snapshots").is_dir() {
        let _ = std::fs::remove_dir_all(&lake_dir);
        println!("building the lake {} (once)", lake_dir.display());
        let st = Command::new(std::env::current_exe()?)
            .args(["pipeline", "--quiet", "--no-tune", "--source"])
            .arg(&src)
            .arg("--lake")
            .arg(&lake_dir)
            .stdout(Stdio::null())
            .status()?;
        anyhow::ensure!(st.success(), "building the lake failed");
    }
    Ok(lake_dir)
}

/// Makes sure the lake has an `als` serving policy: a lake built before the pipeline had
/// its `ml` stage gets one from `xtask train --model als` (a child process). A version
/// that is not current (its policy did not beat the baselines) still wrote the lists
/// the service answers from.
async fn ensure_als(dir: &Path) -> Result<()> {
    let lake = Lake::open_existing(dir.to_str().context("lake path")?)?;
    let registry = reviewlake_ml::registry::Registry::load(&lake).await?;
    if registry.records().iter().any(|r| r.name == "als") {
        return Ok(());
    }
    println!("the lake has no ALS serving policy: training one (xtask train --model als)");
    let started = Instant::now();
    let st = Command::new(std::env::current_exe()?)
        .args(["train", "--model", "als", "--no-tune", "--lake"])
        .arg(dir)
        .stdout(Stdio::null())
        .status()?;
    anyhow::ensure!(st.success(), "training the ALS model failed");
    println!("trained in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Share of the requests with a filter: every 5th user's request, alternately by the
/// state of a place they reviewed and by the `restaurant` category.
const FILTERED_EVERY: usize = 5;

/// Recommendation paths of `users` reviewers (spread over the user keys; every
/// [`FILTERED_EVERY`]th filtered), and how many of them each candidate of the serving
/// policy serves (from `models/recommendations`).
async fn user_paths(
    dir: &Path,
    users: usize,
    n: u32,
) -> Result<(Vec<String>, std::collections::BTreeMap<String, usize>)> {
    let lake = Lake::open_existing(dir.to_str().context("lake path")?)?;
    let session = lake.session().await?;
    let sql = format!(
        "SELECT u.source, u.source_id, u.user_key, min(b.state) AS state, \
           min(r.model) AS model \
         FROM dim_user u JOIN fact_review f ON f.user_key = u.user_key \
         JOIN dim_business b ON b.business_key = f.business_key \
         LEFT JOIN (SELECT user_key, model FROM recommendations WHERE rank = 1) r \
           ON r.user_key = u.user_key \
         GROUP BY u.source, u.source_id, u.user_key \
         ORDER BY u.user_key % 1000003, u.user_key LIMIT {users}"
    );
    let mut paths = Vec::new();
    let mut served: std::collections::BTreeMap<String, usize> = Default::default();
    for b in session.collect(&sql).await? {
        let c = Columns::new(&b, "dim_user");
        let (src, id, state, model) = (
            c.str("source")?,
            c.str("source_id")?,
            c.str("state")?,
            c.str("model")?,
        );
        for i in 0..b.num_rows() {
            let k = paths.len();
            let filter = if k % FILTERED_EVERY != FILTERED_EVERY - 1 {
                String::new()
            } else if (k / FILTERED_EVERY).is_multiple_of(2) && !state.is_null(i) {
                format!("&state={}", encode(state.value(i)))
            } else {
                "&category=restaurant".to_string()
            };
            paths.push(format!(
                "/v1/users/{}/{}/recommendations?n={n}{filter}",
                src.value(i),
                encode(id.value(i))
            ));
            let m = if model.is_null(i) {
                "(no list)"
            } else {
                model.value(i)
            };
            *served.entry(m.to_string()).or_default() += 1;
        }
    }
    anyhow::ensure!(!paths.is_empty(), "the lake has no reviewers");
    Ok((paths, served))
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A wrk script: one request per path in turn; prints the summary as one line.
fn lua_script(paths: &[String]) -> String {
    let mut s = String::from("local paths = {\n");
    for p in paths {
        s.push_str(&format!("  \"{p}\",\n"));
    }
    s.push_str(
        r#"}
local i = 0
function setup(thread) thread:set("offset", math.random(#paths)) end
function init(args) i = offset or 0 end
function request()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d non2xx=%d socket=%d p50=%d p99=%d max=%d duration_us=%d\n",
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, summary.duration))
end
"#,
    );
    s
}

struct WrkResult {
    requests: u64,
    errors: u64,
    rps: f64,
    p50_us: u64,
    p99_us: u64,
    max_us: u64,
    command: String,
}

impl WrkResult {
    fn parse(text: &str, command: String) -> Result<WrkResult> {
        let line = text
            .lines()
            .find(|l| l.starts_with("RESULT "))
            .with_context(|| format!("no RESULT line in wrk's output:\n{text}"))?;
        let field = |name: &str| -> Result<u64> {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .and_then(|v| v.parse().ok())
                .with_context(|| format!("no {name} in {line}"))
        };
        let requests = field("requests")?;
        let duration = field("duration_us")? as f64 / 1e6;
        Ok(WrkResult {
            requests,
            errors: field("non2xx")? + field("socket")?,
            rps: requests as f64 / duration,
            p50_us: field("p50")?,
            p99_us: field("p99")?,
            max_us: field("max")?,
            command,
        })
    }
}

/// The server under test: `xtask serve` pinned with taskset, one tokio worker.
struct Server {
    child: Child,
    addr: String,
    ready_after: Duration,
}

impl Server {
    fn start(lake: &Path, cpus: &str) -> Result<Server> {
        let started = Instant::now();
        let mut child = Command::new("taskset")
            .args(["-c", cpus])
            .arg(std::env::current_exe()?)
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--poll-seconds",
                "0",
                "--lake",
            ])
            .arg(lake)
            .env("TOKIO_WORKER_THREADS", "1")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the server (is taskset installed?)")?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .with_context(|| format!("unexpected first line from the server: {line:?}"))?
            .to_string();
        // Ready: /readyz answers 200.
        let deadline = Instant::now() + Duration::from_secs(900);
        loop {
            if http_status(&addr, "/readyz").unwrap_or(0) == 200 {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("the server was not ready within 15 minutes");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(Server {
            child,
            addr,
            ready_after: started.elapsed(),
        })
    }

    /// The pid of the server itself (taskset execs it, so it is the child's).
    fn status_kib(&self, field: &str) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no {field} in /proc/{}/status", self.child.id()))
    }

    fn rss_kib(&self) -> Result<u64> {
        self.status_kib("VmRSS:")
    }

    fn hwm_kib(&self) -> Result<u64> {
        self.status_kib("VmHWM:")
    }

    fn stop(mut self) -> Result<()> {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let status = self.child.wait()?;
        anyhow::ensure!(status.success(), "the server exited with {status}");
        Ok(())
    }
}

/// A plain HTTP/1.1 GET on loopback: the status code.
fn http_status(addr: &str, path: &str) -> Result<u16> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let head = String::from_utf8_lossy(&buf);
    head.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .context("no status line")
}
