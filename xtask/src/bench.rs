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
    /// Warehouse build time on a generated tree (ingested first, not timed), then the
    /// query "restaurant reviews per state and month: count, mean stars, distinct users"
    /// on DataFusion over the warehouse's Delta tables beside DuckDB over the same
    /// Parquet files, in the same run.
    Warehouse {
        /// Reviews in the generated source tree.
        #[arg(long, default_value_t = 1_000_000)]
        reviews: u64,
        /// Work folder.
        #[arg(long, default_value = "target/bench")]
        work: PathBuf,
        /// Python interpreter with duckdb installed.
        #[arg(long, default_value = "python3")]
        python: String,
        /// Query repetitions (the best and the median are reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Warehouse scope for the build (`all` keeps every state and category).
        #[arg(long, default_value = "all")]
        scope: String,
    },
    /// `xtask sql` on a warehouse lake: peak memory and time of `SELECT * FROM
    /// fact_review` written `--format parquet` (streamed, never held whole), and of a
    /// grouped query, each as its own process.
    Sql {
        /// Reviews in the generated source tree.
        #[arg(long, default_value_t = 1_000_000)]
        reviews: u64,
        /// Work folder.
        #[arg(long, default_value = "target/bench")]
        work: PathBuf,
    },
    /// ALS recommender beside Spark MLlib's ALS (explicit: fit time and RMSE over seeds)
    /// and the `implicit` library (time per iteration, precision@10), on the same
    /// generated ratings and split, plus our peak RSS (see `xtask/src/bench_als.rs`).
    Als {
        /// Generated reviews (Yelp + Google) turned into ratings.
        #[arg(long, default_value_t = 1_000_000)]
        reviews: u64,
        /// Work folder (ratings files and outputs under `<work>/als-<reviews>`).
        #[arg(long, default_value = "target/bench")]
        work: PathBuf,
        /// Python with `pip install -r xtask/bench/requirements-als.txt` done.
        #[arg(long, default_value = "python3")]
        python: String,
        /// Seeds per contender (1..=N).
        #[arg(long, default_value_t = 3)]
        seeds: u64,
        /// Explicit rank.
        #[arg(long, default_value_t = 10)]
        rank: usize,
        /// Explicit iterations.
        #[arg(long, default_value_t = 10)]
        iterations: usize,
        /// Explicit regularisation (Spark's regParam).
        #[arg(long, default_value_t = 0.1)]
        reg: f64,
        /// Implicit factors.
        #[arg(long, default_value_t = 64)]
        factors: usize,
        /// Implicit iterations.
        #[arg(long, default_value_t = 15)]
        implicit_iterations: usize,
        /// Implicit regularisation.
        #[arg(long, default_value_t = 0.01)]
        implicit_reg: f64,
        /// Implicit confidence slope (confidence = 1 + alpha * count).
        #[arg(long, default_value_t = 10.0)]
        alpha: f64,
        /// Skip Spark.
        #[arg(long)]
        no_spark: bool,
        /// Skip the implicit library.
        #[arg(long)]
        no_implicit: bool,
    },
    /// Each stage of the pipeline in its own process on generated trees of one or more
    /// sizes: wall time and peak RSS per stage (`--reviews 500000,2000000` shows how
    /// memory grows with the data; `--reviews 7000000` is the Yelp dump's size).
    Scale {
        /// Generated reviews per tree (comma-separated: one run per size).
        #[arg(long, value_delimiter = ',', default_value = "7000000")]
        reviews: Vec<u64>,
        /// Work folder (trees and lakes under `<work>/scale-<reviews>`).
        #[arg(long, default_value = "target/bench")]
        work: PathBuf,
        /// The plans' memory limit (`pipeline --memory-limit`).
        #[arg(long, default_value = "2GiB")]
        memory_limit: String,
        /// Stages to measure, in order (each also needs the ones before it done).
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "ingest,warehouse,features,ml"
        )]
        stages: Vec<String>,
        /// Where the warehouse and features stages run: `local`, `ballista` (a local
        /// cluster started per stage: a scheduler and --executors executors, each with
        /// --memory-limit; their peak RSS is reported beside the driver's) or `both`.
        #[arg(long, default_value = "local", value_parser = ["local", "ballista", "both"])]
        engine: String,
        /// Executors of the `ballista` runs.
        #[arg(long, default_value_t = 2)]
        executors: usize,
    },
    /// The API's recommendations endpoint under wrk on loopback: requests/s, p50/p99
    /// latency, errors, server memory with the snapshot loaded, dist binary size (see
    /// `xtask/src/bench_api.rs`).
    Api {
        /// Generated reviews in the lake (built once under the work folder).
        #[arg(long, default_value_t = 1_000_000)]
        reviews: u64,
        /// Work folder.
        #[arg(long, default_value = "target/bench")]
        work: PathBuf,
        /// Seconds of measured load (after a 5 s warm-up).
        #[arg(long, default_value_t = 30)]
        duration: u64,
        /// wrk connections, one measured run per level (comma-separated).
        #[arg(long, value_delimiter = ',', default_value = "4,8,16,32")]
        connections: Vec<u32>,
        /// Distinct users the requests rotate over.
        #[arg(long, default_value_t = 10_000)]
        users: usize,
        /// Recommendations per request.
        #[arg(long, default_value_t = 10)]
        n: u32,
        /// CPUs of the server (taskset -c).
        #[arg(long, default_value = "1")]
        server_cpus: String,
        /// CPUs of wrk (taskset -c).
        #[arg(long, default_value = "0")]
        wrk_cpus: String,
        /// The wrk binary.
        #[arg(long, default_value = "wrk")]
        wrk: String,
    },
    /// Sentiment throughput (texts/s): the Rust VADER port, one thread and all cores,
    /// beside vaderSentiment 3.3.2 (PyPI) on the same review texts, in the same run.
    Sentiment {
        /// Number of review texts (taken from a generated tree).
        #[arg(long, default_value_t = 50_000)]
        texts: usize,
        /// Work folder.
        #[arg(long, default_value = "target/bench")]
        work: PathBuf,
        /// Python interpreter with vaderSentiment installed.
        #[arg(long, default_value = "python3")]
        python: String,
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
        BenchCommand::Warehouse {
            reviews,
            work,
            python,
            runs,
            scope,
        } => bench_warehouse(reviews, &work, &python, runs, &scope),
        BenchCommand::Sentiment {
            texts,
            work,
            python,
        } => bench_sentiment(texts, &work, &python),
        BenchCommand::Sql { reviews, work } => bench_sql(reviews, &work),
        BenchCommand::Scale {
            reviews,
            work,
            memory_limit,
            stages,
            engine,
            executors,
        } => bench_scale(&reviews, &work, &memory_limit, &stages, &engine, executors),
        BenchCommand::Api {
            reviews,
            work,
            duration,
            connections,
            users,
            n,
            server_cpus,
            wrk_cpus,
            wrk,
        } => crate::bench_api::run(crate::bench_api::ApiBench {
            reviews,
            work,
            duration,
            connections,
            users,
            n,
            server_cpus,
            wrk_cpus,
            wrk,
        }),
        BenchCommand::Als {
            reviews,
            work,
            python,
            seeds,
            rank,
            iterations,
            reg,
            factors,
            implicit_iterations,
            implicit_reg,
            alpha,
            no_spark,
            no_implicit,
        } => crate::bench_als::run(crate::bench_als::AlsBench {
            reviews,
            work,
            python,
            seeds,
            rank,
            iterations,
            reg,
            factors,
            implicit_iterations,
            implicit_reg,
            alpha,
            no_spark,
            no_implicit,
        }),
    }
}

/// A lake built through the warehouse (all states and categories) from `reviews`
/// generated reviews, reused when it already has a snapshot.
fn warehouse_lake(reviews: u64, work: &Path) -> Result<PathBuf> {
    let src = work.join(format!("src-{reviews}"));
    if !src.join("manifest.json").is_file() {
        println!("generating {reviews} reviews into {}", src.display());
        let opts = reviewlake_datagen::GenOptions::new(reviews)
            .seed(42)
            .reporter(crate::progress::reporter(false));
        reviewlake_datagen::generate(&src, &opts)?;
    }
    let lake_dir = work.join(format!("lake-sql-{reviews}"));
    if !lake_dir.join("catalog/snapshots").is_dir() {
        let _ = std::fs::remove_dir_all(&lake_dir);
        println!("building the warehouse of {} (not timed)", src.display());
        let st = Command::new(std::env::current_exe()?)
            .args(["pipeline", "--quiet", "--until", "warehouse"])
            .args(["--states", "all", "--categories", "all", "--source"])
            .arg(&src)
            .arg("--lake")
            .arg(&lake_dir)
            .stdout(Stdio::null())
            .status()?;
        anyhow::ensure!(st.success(), "building the lake failed");
    }
    Ok(lake_dir)
}

/// `bench scale`: every stage alone, in its own process, per tree size.
/// Peak RSS (VmHWM) of a running process, bytes.
fn peak_rss_of(pid: i64) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// The pipeline command that runs `stage` alone on the tree `src` and the lake `lake`
/// (all states and categories, no tuning, no progress output).
fn stage_command(src: &Path, lake: &Path, stage: &str) -> Result<Command> {
    let mut c = Command::new(std::env::current_exe()?);
    c.args(["pipeline", "--quiet", "--no-tune", "--states", "all"])
        .args(["--categories", "all", "--from", stage, "--until", stage])
        .arg("--source")
        .arg(src)
        .arg("--lake")
        .arg(lake)
        .stdout(Stdio::null());
    Ok(c)
}

/// Runs `stage` of the pipeline on a fresh local Ballista cluster: the driver's time
/// and peak RSS, and the cluster's peak RSS (executors summed, the scheduler apart).
fn scale_on_cluster(
    src: &Path,
    lake: &Path,
    stage: &str,
    memory_limit: &str,
    executors: usize,
    work: &Path,
) -> Result<(Measured, u64, u64)> {
    crate::cluster::down(work)?;
    let cluster = crate::cluster::up(executors, work, memory_limit, 0)?;
    let result = measure(
        stage_command(src, lake, stage)?.args([
            "--engine",
            "ballista",
            "--scheduler",
            &cluster.scheduler,
        ]),
        None,
    );
    let (mut executors_rss, mut scheduler_rss) = (0, 0);
    for p in &cluster.processes {
        let rss = peak_rss_of(i64::from(p.pid));
        if p.role == "scheduler" {
            scheduler_rss = rss;
        } else {
            executors_rss += rss;
        }
    }
    crate::cluster::down(work)?;
    Ok((result?, executors_rss, scheduler_rss))
}

fn bench_scale(
    sizes: &[u64],
    work: &Path,
    memory_limit: &str,
    stages: &[String],
    engine: &str,
    executors: usize,
) -> Result<()> {
    reviewlake_lake::parse_size(memory_limit)
        .map_err(|e| anyhow::anyhow!("--memory-limit: {e}"))?;
    for st in stages {
        anyhow::ensure!(
            crate::pipeline::STAGES.contains(&st.as_str()),
            "unknown stage {st:?}: stages are {}",
            crate::pipeline::STAGES.join(", ")
        );
    }
    if cfg!(debug_assertions) {
        println!("warning: debug build; use `cargo xtask-release bench scale` for real figures");
    }
    #[allow(clippy::type_complexity)]
    let mut results: Vec<(u64, String, String, Measured, Option<(u64, u64)>)> = Vec::new();
    for &n in sizes {
        let dir = work.join(format!("scale-{n}"));
        let src = dir.join("src");
        if !src.join("manifest.json").is_file() {
            println!("generating {n} reviews into {}", src.display());
            let opts = reviewlake_datagen::GenOptions::new(n)
                .seed(42)
                .reporter(crate::progress::reporter(false));
            reviewlake_datagen::generate(&src, &opts)?;
        }
        let lake = dir.join("lake");
        if stages.first().map(String::as_str) == Some("ingest") {
            let _ = std::fs::remove_dir_all(&lake);
        }
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        let local = engine != "ballista";
        for st in stages {
            let on_cluster = st == "warehouse" || st == "features";
            if local || !on_cluster {
                let m = measure(
                    stage_command(&src, &lake, st)?.args(["--memory-limit", memory_limit]),
                    None,
                )?;
                println!(
                    "{n} reviews, {st}: {:.1} s, peak RSS {:.0} MiB",
                    m.seconds,
                    mib(m.peak_rss)
                );
                results.push((n, st.clone(), "local".into(), m, None));
            }
        }
        if engine != "local" {
            for st in stages
                .iter()
                .filter(|s| *s == "warehouse" || *s == "features")
            {
                let (m, ex, sc) = scale_on_cluster(
                    &src,
                    &lake,
                    st,
                    memory_limit,
                    executors,
                    &dir.join("cluster"),
                )?;
                println!(
                    "{n} reviews, {st} on ballista ({executors} executors): {:.1} s, driver peak RSS {:.0} MiB, executors {:.0} MiB, scheduler {:.0} MiB",
                    m.seconds,
                    mib(m.peak_rss),
                    mib(ex),
                    mib(sc)
                );
                results.push((n, st.clone(), "ballista".into(), m, Some((ex, sc))));
            }
        }
    }
    println!();
    println!("memory limit {memory_limit}");
    println!(
        "| reviews | stage | engine | seconds | peak RSS (MiB) | RSS vs the smallest size | executors' peak RSS, summed (MiB) | scheduler (MiB) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (n, st, en, m, cl) in &results {
        let base = results
            .iter()
            .find(|(_, s, e, _, _)| s == st && e == en)
            .map_or(m.peak_rss, |(_, _, _, b, _)| b.peak_rss);
        let (ex, sc) = match cl {
            Some((ex, sc)) => (
                format!("{:.0}", *ex as f64 / 1048576.0),
                format!("{:.0}", *sc as f64 / 1048576.0),
            ),
            None => ("".into(), "".into()),
        };
        println!(
            "| {n} | {st} | {en} | {:.1} | {:.0} | {:.2}x | {ex} | {sc} |",
            m.seconds,
            m.peak_rss as f64 / (1024.0 * 1024.0),
            m.peak_rss as f64 / base.max(1) as f64
        );
    }
    Ok(())
}

fn bench_sql(reviews: u64, work: &Path) -> Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; use `cargo xtask-release bench sql` for real figures");
    }
    let lake = warehouse_lake(reviews, work)?;
    let exe = std::env::current_exe()?;
    let out = work.join("fact_review.parquet");
    let run = |query: &str, format: &str, out: Option<&Path>| -> Result<Measured> {
        let mut cmd = Command::new(&exe);
        cmd.args(["sql", "--format", format, "--lake"])
            .arg(&lake)
            .arg(query)
            .stdout(Stdio::null());
        if let Some(o) = out {
            cmd.arg("--out").arg(o);
        }
        measure(&mut cmd, None)
    };
    let all = run("SELECT * FROM fact_review", "parquet", Some(&out))?;
    let rows = {
        let f = std::fs::File::open(&out)?;
        let r = parquet::file::reader::SerializedFileReader::new(f)?;
        parquet::file::reader::FileReader::metadata(&r)
            .file_metadata()
            .num_rows()
    };
    let grouped = run(
        "SELECT state, source, count(*) AS n, avg(stars) AS stars FROM fact_review GROUP BY 1, 2",
        "csv",
        None,
    )?;
    let mib = |m: &Measured| m.peak_rss as f64 / (1024.0 * 1024.0);
    println!();
    println!(
        "xtask sql \"SELECT * FROM fact_review\" --format parquet: {rows} rows, {:.1} MB file, {:.2} s, peak RSS {:.0} MiB",
        std::fs::metadata(&out)?.len() as f64 / 1e6,
        all.seconds,
        mib(&all)
    );
    println!(
        "xtask sql (state x source aggregate) --format csv: {:.2} s, peak RSS {:.0} MiB",
        grouped.seconds,
        mib(&grouped)
    );
    Ok(())
}

/// The first `n` review texts of a generated tree (Yelp, then Google), generating a
/// tree large enough if needed.
fn review_texts(n: usize, work: &Path) -> Result<Vec<String>> {
    use std::io::BufRead;
    let reviews = (n as u64 * 4).max(10_000);
    let src = work.join(format!("src-{reviews}"));
    if !src.join("manifest.json").is_file() {
        let opts = reviewlake_datagen::GenOptions::new(reviews).seed(42);
        reviewlake_datagen::generate(&src, &opts)?;
    }
    let mut files = vec![src.join("yelp/yelp_academic_dataset_review.json")];
    for f in manifest_files(&src)? {
        if f.contains("reviews-estados") {
            files.push(src.join(f));
        }
    }
    let mut out = Vec::with_capacity(n);
    for f in files {
        let r = std::io::BufReader::new(
            std::fs::File::open(&f).with_context(|| format!("opening {}", f.display()))?,
        );
        for line in r.lines() {
            let v: serde_json::Value = serde_json::from_str(&line?)?;
            if let Some(t) = v["text"].as_str() {
                out.push(t.to_string());
                if out.len() == n {
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}

fn bench_sentiment(n: usize, work: &Path, python: &str) -> Result<()> {
    use rayon::prelude::*;
    use reviewlake_features::vader::SentimentAnalyzer;
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: debug build; use `cargo xtask-release bench sentiment` for real figures"
        );
    }
    std::fs::create_dir_all(work)?;
    let texts = review_texts(n, work)?;
    let file = work.join(format!("texts-{}.jsonl", texts.len()));
    let body: String = texts
        .iter()
        .map(|t| serde_json::Value::from(t.as_str()).to_string() + "\n")
        .collect();
    std::fs::write(&file, body)?;
    let mean_words = texts
        .iter()
        .map(|t| t.split_whitespace().count())
        .sum::<usize>() as f64
        / texts.len() as f64;
    let an = SentimentAnalyzer::shared();
    // Warm-up, then the timed loops (repeated until at least a second has passed).
    let checksum: f64 = texts
        .iter()
        .take(1000)
        .map(|t| an.polarity_scores(t).compound)
        .sum();
    let time = |parallel: bool| -> (f64, usize) {
        let t0 = Instant::now();
        let mut done = 0usize;
        let mut sink = 0.0;
        while t0.elapsed().as_secs_f64() < 1.0 || done == 0 {
            sink += if parallel {
                texts
                    .par_iter()
                    .map(|t| an.polarity_scores(t).compound)
                    .sum::<f64>()
            } else {
                texts
                    .iter()
                    .map(|t| an.polarity_scores(t).compound)
                    .sum::<f64>()
            };
            done += texts.len();
        }
        std::hint::black_box(sink);
        (done as f64 / t0.elapsed().as_secs_f64(), done)
    };
    let (one, _) = time(false);
    let (all, _) = time(true);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/features/benches/vader_py.py"
    );
    let out = Command::new(python)
        .arg(script)
        .arg(&file)
        .output()
        .context("running vaderSentiment (is `pip install vaderSentiment==3.3.2` done?)")?;
    anyhow::ensure!(
        out.status.success(),
        "vaderSentiment run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // "vaderSentiment <version>: <N> texts in <S> s = <R> texts/s"
    let py: f64 = line
        .rsplit('=')
        .next()
        .and_then(|r| r.split_whitespace().next())
        .and_then(|x| x.parse().ok())
        .with_context(|| format!("unexpected output from the Python script: {line}"))?;
    println!();
    println!(
        "{} review texts, {:.1} words on average ({}); checksum {checksum:.4}",
        texts.len(),
        mean_words,
        file.display()
    );
    println!();
    println!("| scorer | texts/s | vs Python |");
    println!("|---|---:|---:|");
    println!(
        "| reviewlake VADER, 1 thread | {one:.0} | {:.0}x |",
        one / py
    );
    println!(
        "| reviewlake VADER, {} threads (rayon) | {all:.0} | {:.0}x |",
        rayon::current_num_threads(),
        all / py
    );
    println!(
        "| {} | {py:.0} | 1x |",
        line.split(':').next().unwrap_or("vaderSentiment")
    );
    Ok(())
}

/// The benchmark query, in SQL both engines accept (`{r}`/`{b}` are the table names).
pub const STATE_MONTH_QUERY: &str = "SELECT r.state, date_trunc('month', r.review_ts) AS month, \
     count(*) AS reviews, avg(r.stars) AS mean_stars, count(DISTINCT r.user_key) AS users \
     FROM {r} r JOIN {b} b ON r.business_key = b.business_key \
     WHERE b.is_restaurant GROUP BY 1, 2 ORDER BY 1, 2";

const DUCKDB_QUERY_SCRIPT: &str = r#"
import duckdb, json, sys, time
runs = int(sys.argv[1]); query = sys.argv[2]
files = json.loads(sys.stdin.read())
con = duckdb.connect()
con.execute("SET TimeZone='UTC'")
def lst(fs): return "[" + ",".join("'" + f.replace("'", "''") + "'" for f in fs) + "]"
q = query.replace("{r}", "read_parquet(" + lst(files["fact_review"]) + ")").replace("{b}", "read_parquet(" + lst(files["dim_business"]) + ")")
times = []
for _ in range(runs):
    t = time.perf_counter(); rows = con.execute(q).fetchall(); times.append(time.perf_counter() - t)
total = sum(r[2] for r in rows)
print(json.dumps({"times": times, "rows": len(rows), "reviews": total, "users": sum(r[4] for r in rows)}))
"#;

fn bench_warehouse(
    reviews: u64,
    work: &Path,
    python: &str,
    runs: usize,
    scope: &str,
) -> Result<()> {
    use reviewlake_lake::{Columns, Lake, Zone};
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: debug build; use `cargo xtask-release bench warehouse` for real figures"
        );
    }
    let src = work.join(format!("src-{reviews}"));
    if !src.join("manifest.json").is_file() {
        println!("generating {reviews} reviews into {}", src.display());
        let opts = reviewlake_datagen::GenOptions::new(reviews)
            .seed(42)
            .reporter(crate::progress::reporter(false));
        reviewlake_datagen::generate(&src, &opts)?;
    }
    let exe = std::env::current_exe()?;
    let lake_dir = work.join(format!("lake-warehouse-{reviews}"));
    let _ = std::fs::remove_dir_all(&lake_dir);
    println!("ingesting {} (not timed)", src.display());
    let st = Command::new(&exe)
        .args(["pipeline", "--quiet", "--until", "ingest", "--source"])
        .arg(&src)
        .arg("--lake")
        .arg(&lake_dir)
        .stdout(Stdio::null())
        .status()?;
    anyhow::ensure!(st.success(), "ingest failed");
    let (states, cats) = if scope == "all" {
        ("all", "all")
    } else {
        ("", "food")
    };
    let mut cmd = Command::new(&exe);
    cmd.args([
        "pipeline",
        "--quiet",
        "--from",
        "warehouse",
        "--until",
        "warehouse",
        "--source",
    ])
    .arg(&src)
    .arg("--lake")
    .arg(&lake_dir)
    .args(["--categories", cats])
    .stdout(Stdio::null());
    if !states.is_empty() {
        cmd.args(["--states", states]);
    }
    let build = measure(&mut cmd, None)?;

    let rt = tokio::runtime::Runtime::new()?;
    let (ours, files, rows, total, users) = rt.block_on(async {
        let lake = Lake::open(lake_dir.to_str().context("lake path")?)?;
        let session = lake.session().await?;
        let q = STATE_MONTH_QUERY
            .replace("{r}", "fact_review")
            .replace("{b}", "dim_business");
        let mut times = Vec::new();
        let mut last = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            last = session.collect(&q).await?;
            times.push(t.elapsed().as_secs_f64());
        }
        let mut rows = 0usize;
        let mut total = 0i64;
        let mut users = 0i64;
        for b in &last {
            rows += b.num_rows();
            let c = Columns::new(b, "state x month query");
            let n = c.i64("reviews")?;
            let u = c.i64("users")?;
            total += n.iter().flatten().sum::<i64>();
            users += u.iter().flatten().sum::<i64>();
        }
        let mut files = serde_json::Map::new();
        for t in ["fact_review", "dim_business"] {
            let table = lake
                .table(Zone::Warehouse, t)
                .await?
                .with_context(|| format!("no table {t}"))?;
            let base = lake_dir.join("warehouse").join(t);
            let list: Vec<serde_json::Value> = table
                .files()?
                .into_iter()
                .map(|(p, _)| base.join(p).display().to_string().into())
                .collect();
            files.insert(t.into(), list.into());
        }
        anyhow::Ok((times, files, rows, total, users))
    })?;
    let fact_rows = count_rows(&rt, &lake_dir)?;
    let out = {
        use std::io::Write;
        let mut child = Command::new(python)
            .arg("-c")
            .arg(DUCKDB_QUERY_SCRIPT)
            .arg(runs.to_string())
            .arg(STATE_MONTH_QUERY)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting python (is `pip install duckdb` done?)")?;
        child
            .stdin
            .take()
            .context("stdin")?
            .write_all(serde_json::Value::Object(files).to_string().as_bytes())?;
        let out = child.wait_with_output()?;
        anyhow::ensure!(out.status.success(), "DuckDB query failed");
        serde_json::from_slice::<serde_json::Value>(&out.stdout)?
    };
    let duck: Vec<f64> = out["times"]
        .as_array()
        .context("times")?
        .iter()
        .filter_map(|v| v.as_f64())
        .collect();
    let stat = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(|a, b| a.total_cmp(b));
        (
            s.first().copied().unwrap_or(0.0),
            s.get(s.len() / 2).copied().unwrap_or(0.0),
        )
    };
    let (ob, om) = stat(&ours);
    let (db, dm) = stat(&duck);
    println!();
    println!(
        "warehouse build ({} scope): {:.2} s, peak RSS {:.0} MiB; fact_review {} rows",
        scope,
        build.seconds,
        build.peak_rss as f64 / (1024.0 * 1024.0),
        fact_rows
    );
    println!();
    println!(
        "| engine | best (s) | median (s) | result rows | reviews counted | sum of distinct users |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| reviewlake (DataFusion over Delta) | {ob:.3} | {om:.3} | {rows} | {total} | {users} |"
    );
    println!(
        "| DuckDB {} (read_parquet, same files) | {db:.3} | {dm:.3} | {} | {} | {} |",
        duckdb_version(python),
        out["rows"],
        out["reviews"],
        out["users"]
    );
    anyhow::ensure!(
        out["rows"].as_u64() == Some(rows as u64) && out["reviews"].as_i64() == Some(total),
        "the two engines disagree"
    );
    println!();
    println!(
        "input: {reviews} generated reviews; {runs} runs each; cores: {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    Ok(())
}

fn count_rows(rt: &tokio::runtime::Runtime, lake_dir: &Path) -> Result<i64> {
    rt.block_on(async {
        let lake = reviewlake_lake::Lake::open(lake_dir.to_str().context("lake path")?)?;
        let b = lake.sql("SELECT count(*) AS n FROM fact_review").await?;
        match b.first() {
            Some(b) => Ok(reviewlake_lake::Columns::new(b, "fact_review")
                .i64("n")?
                .value(0)),
            None => Ok(0),
        }
    })
}

fn duckdb_version(python: &str) -> String {
    Command::new(python)
        .args(["-c", "import duckdb; print(duckdb.__version__)"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
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
        let opts = reviewlake_datagen::GenOptions::new(reviews)
            .seed(42)
            .reporter(crate::progress::reporter(false));
        reviewlake_datagen::generate(&src, &opts)?;
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
