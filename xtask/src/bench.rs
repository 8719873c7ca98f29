//! `cargo xtask bench ...`: benchmarks that print figures, beside named peers, in the
//! same run. Each contender runs as its own child process, so its peak RSS is measured
//! exactly (`wait4` rusage) and nothing is shared between them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Subcommand;

/// What to benchmark.
#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Ingest throughput (MB/s) and peak RSS on a generated source tree, beside DuckDB
    /// (`COPY (SELECT * FROM read_json(FILE, ignore_errors=true)) TO ... (FORMAT parquet,
    /// COMPRESSION zstd)` per file, from PyPI's duckdb).
    Ingest {
        /// Reviews in the generated source tree.
        #[arg(long, default_value_t = 1_000_000)]
        reviews: u64,
        /// Work folder (source tree and outputs are created under it).
        #[arg(long, default_value = "target/bench")]
        work: PathBuf,
        /// Python interpreter with duckdb installed.
        #[arg(long, default_value = "python3")]
        python: String,
        /// Skip DuckDB (for machines without it).
        #[arg(long)]
        no_duckdb: bool,
    },
}

/// Wall time and peak resident memory of one child process.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Peak RSS in bytes.
    pub peak_rss: u64,
}

/// Runs `cmd` to completion, feeding it `stdin` if given, and measures it; fails if it
/// fails.
pub fn measure(cmd: &mut Command, stdin: Option<&[u8]>) -> Result<Measured> {
    let started = Instant::now();
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().with_context(|| format!("starting {cmd:?}"))?;
    if let Some(data) = stdin {
        use std::io::Write;
        let mut pipe = child.stdin.take().context("child stdin")?;
        pipe.write_all(data)?;
    }
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child `pid`, which is
    // reaped here (std's Child is not waited on afterwards).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = started.elapsed().as_secs_f64();
    if r != pid {
        bail!("wait4 failed for {cmd:?}");
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        bail!("{cmd:?} failed (status {status})");
    }
    std::mem::forget(child);
    Ok(Measured {
        seconds,
        // ru_maxrss is in KiB on Linux.
        peak_rss: usage.ru_maxrss as u64 * 1024,
    })
}

fn dir_bytes(p: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let path = e.path();
            if path.is_dir() {
                total += dir_bytes(&path);
            } else if let Ok(m) = e.metadata() {
                total += m.len();
            }
        }
    }
    total
}

/// Source files (relative paths) listed in a generated tree's manifest.
fn manifest_files(src: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(src.join("manifest.json"))
        .with_context(|| format!("reading {}/manifest.json", src.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    let files = v["files"]
        .as_array()
        .context("manifest has no files")?
        .iter()
        .filter_map(|f| f["path"].as_str().map(str::to_string))
        .collect();
    Ok(files)
}

const DUCKDB_SCRIPT: &str = r#"
import duckdb, os, sys
src, out = sys.argv[1], sys.argv[2]
files = [l.strip() for l in sys.stdin if l.strip()]
con = duckdb.connect()
for i, f in enumerate(files):
    target = os.path.join(out, f"{i}.parquet")
    path = os.path.join(src, f).replace("'", "''")
    con.execute(f"COPY (SELECT * FROM read_json('{path}', ignore_errors=true)) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
"#;

/// Runs a benchmark.
pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Ingest {
            reviews,
            work,
            python,
            no_duckdb,
        } => bench_ingest(reviews, &work, &python, no_duckdb),
    }
}

fn bench_ingest(reviews: u64, work: &Path, python: &str, no_duckdb: bool) -> Result<()> {
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: debug build; use `cargo xtask-release bench ...` or `cargo run --release -p xtask -- bench ...` for real figures"
        );
    }
    let src = work.join(format!("src-{reviews}"));
    if !src.join("manifest.json").is_file() {
        println!("generating {reviews} reviews into {}", src.display());
        crate::datagen::run(&crate::datagen::GenOptions {
            reviews,
            out: src.clone(),
            seed: 42,
            dirty: 0.0,
            progress: true,
        })?;
    }
    let files = manifest_files(&src)?;
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(src.join(f)).map(|m| m.len()).unwrap_or(0))
        .sum();
    let mb = bytes as f64 / 1e6;
    println!(
        "source: {} files, {:.1} MB, {reviews} reviews ({})",
        files.len(),
        mb,
        src.display()
    );
    let exe = std::env::current_exe()?;
    let mut rows = Vec::new();

    // reviewlake: the pipeline's ingest stage into a fresh local lake.
    let lake = work.join("lake-reviewlake");
    let _ = std::fs::remove_dir_all(&lake);
    let m = measure(
        Command::new(&exe)
            .args(["pipeline", "--quiet", "--until", "ingest", "--source"])
            .arg(&src)
            .arg("--lake")
            .arg(&lake)
            .stdout(Stdio::null()),
        None,
    )?;
    rows.push(("reviewlake ingest (Delta, zstd)", m, dir_bytes(&lake)));

    if !no_duckdb {
        let out = work.join("out-duckdb");
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out)?;
        let m = measure(
            Command::new(python)
                .arg("-c")
                .arg(DUCKDB_SCRIPT)
                .arg(&src)
                .arg(&out)
                .stdout(Stdio::null()),
            Some(files.join("\n").as_bytes()),
        )
        .context("DuckDB run failed (is `pip install duckdb` done?)")?;
        rows.push(("DuckDB read_json -> parquet zstd", m, dir_bytes(&out)));
    }

    println!();
    println!("| contender | seconds | MB/s | peak RSS (MiB) | output (MB) |");
    println!("|---|---:|---:|---:|---:|");
    for (name, m, out) in &rows {
        println!(
            "| {name} | {:.2} | {:.1} | {:.0} | {:.1} |",
            m.seconds,
            mb / m.seconds,
            m.peak_rss as f64 / (1024.0 * 1024.0),
            *out as f64 / 1e6
        );
    }
    println!();
    println!(
        "input: {reviews} generated reviews, {:.1} MB in {} files; cores: {}",
        mb,
        files.len(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    Ok(())
}
