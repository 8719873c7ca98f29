//! `cargo xtask cluster up|status|down`: a Ballista scheduler and executors (the
//! project's own binaries, crate `reviewlake-cluster`) as local processes on loopback.
//!
//! `up` writes `cluster.json` (the scheduler address and every process id) and the
//! logs under the work folder; `down` stops exactly the processes listed there.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// `cargo xtask cluster ...`
#[derive(clap::Subcommand, Debug)]
pub enum ClusterCmd {
    /// Start a scheduler and N executors on loopback; prints `scheduler df://HOST:PORT`
    /// first.
    Up {
        /// Executors to start.
        #[arg(long, default_value_t = 2)]
        executors: usize,
        /// Logs, process ids and the executors' shuffle and spill files.
        #[arg(long, default_value = "target/cluster")]
        work: PathBuf,
        /// Memory each executor's tasks share before they spill (e.g. `1GiB`).
        #[arg(long, default_value = "2GiB")]
        memory_limit: String,
        /// Tasks each executor runs at once (0: one per core).
        #[arg(long, default_value_t = 0)]
        concurrent_tasks: usize,
    },
    /// Whether the processes `up` started in the work folder are running.
    Status {
        /// The folder `up` used.
        #[arg(long, default_value = "target/cluster")]
        work: PathBuf,
    },
    /// Stop the processes `up` started in the work folder.
    Down {
        /// The folder `up` used.
        #[arg(long, default_value = "target/cluster")]
        work: PathBuf,
    },
}

/// What `up` started, in `WORK/cluster.json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    /// The scheduler, `df://HOST:PORT`.
    pub scheduler: String,
    /// The scheduler's and the executors' processes.
    pub processes: Vec<Proc>,
}

/// One process of a cluster.
#[derive(Debug, Serialize, Deserialize)]
pub struct Proc {
    /// `scheduler` or `executor-N`.
    pub role: String,
    /// Process id.
    pub pid: i32,
    /// Its log file.
    pub log: PathBuf,
}

const STATE: &str = "cluster.json";

/// Runs a `cluster` subcommand.
pub fn run(cmd: ClusterCmd) -> Result<()> {
    match cmd {
        ClusterCmd::Up {
            executors,
            work,
            memory_limit,
            concurrent_tasks,
        } => {
            let state = up(executors, &work, &memory_limit, concurrent_tasks)?;
            println!("scheduler {}", state.scheduler);
            for p in &state.processes {
                println!("{:<12} pid {:<8} log {}", p.role, p.pid, p.log.display());
            }
            println!(
                "run: cargo xtask pipeline --engine ballista --scheduler {}   stop: cargo xtask cluster down --work {}",
                state.scheduler,
                work.display()
            );
            Ok(())
        }
        ClusterCmd::Status { work } => status(&work),
        ClusterCmd::Down { work } => {
            match down(&work)? {
                Some(s) => println!("stopped {} processes ({})", s.processes.len(), s.scheduler),
                None => println!("no cluster in {}", work.display()),
            }
            Ok(())
        }
    }
}

/// The folder of the cluster binaries: beside this executable (cargo puts every
/// workspace binary of a profile in one folder), built there when missing.
fn binaries() -> Result<(PathBuf, PathBuf)> {
    let dir = match std::env::var_os("REVIEWLAKE_CLUSTER_BIN") {
        Some(d) => PathBuf::from(d),
        None => {
            let exe = std::env::current_exe().context("locating the xtask binary")?;
            let mut d = exe.parent().map(Path::to_path_buf).unwrap_or_default();
            // Test binaries live one level down, in deps/.
            if d.ends_with("deps") {
                d.pop();
            }
            d
        }
    };
    let sched = dir.join("reviewlake-scheduler");
    let exec = dir.join("reviewlake-executor");
    if !sched.exists() || !exec.exists() {
        let release = dir.ends_with("release");
        eprintln!("building the cluster binaries (cargo build -p reviewlake-cluster)...");
        let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        c.args(["build", "-p", "reviewlake-cluster", "--bins"]);
        if release {
            c.arg("--release");
        }
        let st = c.status().context("running cargo build")?;
        anyhow::ensure!(st.success(), "cargo build -p reviewlake-cluster failed");
    }
    Ok((sched, exec))
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    pid > 0 && unsafe { libc::kill(pid, 0) } == 0 && !zombie(pid)
}

fn zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

fn read_state(work: &Path) -> Result<Option<State>> {
    let p = work.join(STATE);
    match std::fs::read_to_string(&p) {
        Ok(s) => Ok(Some(
            serde_json::from_str(&s).with_context(|| format!("reading {}", p.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
    }
}

fn spawn(bin: &Path, args: &[String], log: &Path) -> Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    let out = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let err = out.try_clone()?;
    let mut c = Command::new(bin);
    c.args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        // `up` reads the processes' readiness from their info-level logs: the cluster
        // has its own log level, whatever this process's RUST_LOG says.
        .env(
            "RUST_LOG",
            std::env::var("REVIEWLAKE_CLUSTER_LOG").unwrap_or_else(|_| "info".into()),
        );
    // Its own session: the cluster outlives this command and a Ctrl-C in its terminal.
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        c.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    c.spawn()
        .with_context(|| format!("starting {}", bin.display()))
}

/// Waits until `log` has a line containing `needle`; returns that line.
fn wait_for(log: &Path, needle: &str, pid: i32, timeout: Duration) -> Result<String> {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(l) = text.lines().find(|l| l.contains(needle)) {
            return Ok(l.to_string());
        }
        if !alive(pid) {
            bail!(
                "process {pid} exited before it was ready; its log ({}):\n{}",
                log.display(),
                tail(&text, 20)
            );
        }
        if start.elapsed() > timeout {
            bail!(
                "process {pid} not ready after {} s; its log ({}):\n{}",
                timeout.as_secs(),
                log.display(),
                tail(&text, 20)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Starts a scheduler and `executors` executors with their files in `work`, waits until
/// every executor has registered, and returns what it started (also in
/// `work/cluster.json`).
pub fn up(
    executors: usize,
    work: &Path,
    memory_limit: &str,
    concurrent_tasks: usize,
) -> Result<State> {
    anyhow::ensure!(executors >= 1, "--executors must be 1 or more");
    reviewlake_lake::parse_size(memory_limit)
        .map_err(|e| anyhow::anyhow!("--memory-limit: {e}"))?;
    if let Some(s) = read_state(work)?
        && s.processes.iter().any(|p| alive(p.pid))
    {
        bail!(
            "a cluster started in {} is still running (scheduler {}): `cargo xtask cluster down --work {}` first",
            work.display(),
            s.scheduler,
            work.display()
        );
    }
    std::fs::create_dir_all(work).with_context(|| format!("creating {}", work.display()))?;
    let work = std::fs::canonicalize(work)?;
    let (sched_bin, exec_bin) = binaries()?;
    let mut state = State {
        scheduler: String::new(),
        processes: Vec::new(),
    };
    let result = (|| -> Result<()> {
        let log = work.join("scheduler.log");
        let child = spawn(&sched_bin, &["--port".into(), "0".into()], &log)?;
        let pid = child.id() as i32;
        state.processes.push(Proc {
            role: "scheduler".into(),
            pid,
            log: log.clone(),
        });
        write_state(&work, &state)?;
        let line = wait_for(&log, "scheduler df://", pid, Duration::from_secs(60))?;
        state.scheduler = line
            .split_whitespace()
            .find(|w| w.starts_with("df://"))
            .unwrap_or_default()
            .to_string();
        write_state(&work, &state)?;
        for i in 0..executors {
            let log = work.join(format!("executor-{i}.log"));
            let args = vec![
                "--scheduler".to_string(),
                state.scheduler.clone(),
                "--memory-limit".into(),
                memory_limit.to_string(),
                "--concurrent-tasks".into(),
                concurrent_tasks.to_string(),
                "--work-dir".into(),
                work.join(format!("executor-{i}")).display().to_string(),
            ];
            let child = spawn(&exec_bin, &args, &log)?;
            state.processes.push(Proc {
                role: format!("executor-{i}"),
                pid: child.id() as i32,
                log,
            });
            write_state(&work, &state)?;
        }
        for p in state.processes.iter().filter(|p| p.role != "scheduler") {
            wait_for(
                &p.log,
                "Executor registration succeed",
                p.pid,
                Duration::from_secs(60),
            )?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        stop(&state.processes);
        let _ = std::fs::remove_file(work.join(STATE));
        return Err(e);
    }
    Ok(state)
}

fn write_state(work: &Path, state: &State) -> Result<()> {
    let p = work.join(STATE);
    let tmp = work.join(format!("{STATE}.tmp"));
    std::fs::write(&tmp, serde_json::to_string_pretty(state)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &p).with_context(|| format!("writing {}", p.display()))?;
    Ok(())
}

fn status(work: &Path) -> Result<()> {
    let Some(s) = read_state(work)? else {
        println!("no cluster in {}", work.display());
        return Ok(());
    };
    println!("scheduler {}", s.scheduler);
    let mut running = 0;
    for p in &s.processes {
        let up = alive(p.pid);
        running += usize::from(up);
        println!(
            "{:<12} pid {:<8} {}",
            p.role,
            p.pid,
            if up { "running" } else { "stopped" }
        );
    }
    println!("{running} of {} processes running", s.processes.len());
    Ok(())
}

/// Stops `procs`: SIGTERM, then SIGKILL after 5 s. Only processes that are still the
/// cluster's binaries (their command line says so) are signalled.
fn stop(procs: &[Proc]) {
    let ours = |pid: i32| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| String::from_utf8_lossy(&c).contains("reviewlake-"))
            .unwrap_or(false)
    };
    let targets: Vec<i32> = procs
        .iter()
        .map(|p| p.pid)
        .filter(|&pid| alive(pid) && ours(pid))
        .collect();
    // Executors first (they tell the scheduler they stop), then the scheduler.
    let scheduler: Vec<i32> = procs
        .iter()
        .filter(|p| p.role == "scheduler")
        .map(|p| p.pid)
        .collect();
    for group in [false, true] {
        let pids: Vec<i32> = targets
            .iter()
            .copied()
            .filter(|p| scheduler.contains(p) == group)
            .collect();
        for &pid in &pids {
            // SAFETY: plain signal to a process id read from our own state file.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let start = Instant::now();
        while pids.iter().any(|&p| alive(p)) && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    for &pid in targets.iter().filter(|&&p| alive(p)) {
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// Stops the cluster `up` started in `work`; what it stopped, `None` if there was none.
pub fn down(work: &Path) -> Result<Option<State>> {
    let Some(s) = read_state(work)? else {
        return Ok(None);
    };
    stop(&s.processes);
    std::fs::remove_file(work.join(STATE))
        .with_context(|| format!("removing {}", work.join(STATE).display()))?;
    Ok(Some(s))
}
