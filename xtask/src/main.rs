//! `cargo xtask` — reviewlake's orchestration: generate data, run the pipeline, query
//! the lake, train and serve models, benchmarks.
//!
//! The usage text comes from clap (`cargo xtask` with no arguments, or `cargo xtask
//! help [COMMAND]`), so it lists every subcommand and option the code has.

/// Prints a line on stdout unless `quiet` (the `--quiet` of `pipeline` and `train`).
macro_rules! say {
    ($quiet:expr, $($arg:tt)*) => {
        if !$quiet {
            println!($($arg)*);
        }
    };
}

mod als;
mod bench;
mod bench_als;
mod bench_api;
mod cluster;
mod gdp_page;
mod pipeline;
mod progress;
mod serve;
mod sql;
mod train;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// reviewlake: Yelp + Google review lakehouse tasks.
#[derive(Parser, Debug)]
#[command(name = "cargo xtask", version, about, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate deterministic sample data in the published Yelp and Google formats.
    Gen {
        /// Number of reviews (Yelp + Google).
        #[arg(long, default_value_t = 50_000)]
        reviews: u64,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Random seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Fraction of lines to corrupt (0 to 1); a manifest lists every injection.
        #[arg(long, default_value_t = 0.0)]
        dirty: f64,
    },
    /// Run the pipeline stages in order.
    Pipeline(pipeline::PipelineArgs),
    /// A local Ballista cluster (scheduler and executors on loopback) for `pipeline
    /// --engine ballista`.
    Cluster {
        /// up, status or down.
        #[command(subcommand)]
        cmd: cluster::ClusterCmd,
    },
    /// Query the lake with SQL (every table registered by name).
    Sql(sql::SqlArgs),
    /// Rebuild the offline GDP page (crates/warehouse/data/gdp_by_state_wikipedia.html)
    /// from the BEA figures.
    GdpPage {
        /// BEA nominal GDP by state, millions of current dollars.
        #[arg(long, default_value = "tests/data/real/gdp/gdp_by_state.csv")]
        csv: PathBuf,
        /// Where to write the page.
        #[arg(
            long,
            default_value = "crates/warehouse/data/gdp_by_state_wikipedia.html"
        )]
        out: PathBuf,
    },
    /// VADER sentiment of stdin, one text per line, as one JSON object per line:
    /// {"neg":..,"neu":..,"pos":..,"compound":..}.
    Sentiment,
    /// Write the self-contained HTML report of a lake's KPIs.
    Report {
        /// Lake root (folder, s3:// or memory:// URL).
        #[arg(long, default_value = "lake")]
        lake: String,
        /// Output file.
        #[arg(long, default_value = "reports/report.html")]
        out: PathBuf,
    },
    /// List the lake's snapshots (newest last): id, stage, run, time, tables.
    Snapshots {
        /// Lake root (folder, s3:// or memory:// URL).
        #[arg(long, default_value = "lake")]
        lake: String,
        /// Also list every table and its Delta version, for this snapshot.
        #[arg(long)]
        show: Option<i64>,
    },
    /// Delete data files that no kept version references (old versions beyond the
    /// retention, files of killed runs). The latest snapshot's files are always kept.
    Vacuum {
        /// Lake root (folder, s3:// or memory:// URL).
        #[arg(long, default_value = "lake")]
        lake: String,
        /// Keep files removed less than this many hours ago (time travel window).
        #[arg(long, default_value_t = 168)]
        retain_hours: u64,
    },
    /// Train an ALS recommender on a ratings file (CSV or Parquet: user,item,rating) and
    /// print the RMSE on a held-out file (or ranking metrics with --implicit).
    Als(als::AlsArgs),
    /// Train the models on the lake's latest snapshot (the pipeline's `ml` stage alone):
    /// registry, predictions tables, tuning trials, an `ml` snapshot.
    Train(train::TrainArgs),
    /// List the model registry: every version, its metrics, the current one per name.
    Models {
        /// Lake root (folder, s3:// or memory:// URL).
        #[arg(long, default_value = "lake")]
        lake: String,
    },
    /// Serve the API and dashboard over a lake (crates/api): JSON under /v1, /docs,
    /// /metrics, the dashboard at /.
    Serve(serve::ServeArgs),
    /// Benchmarks that print figures (release build recommended).
    Bench {
        #[command(subcommand)]
        what: bench::BenchCommand,
    },
}

/// `xtask sentiment`: stdin lines -> JSON score lines, in order, scored in parallel.
fn sentiment() -> Result<()> {
    use rayon::prelude::*;
    use std::io::{BufRead, Write};
    let an = reviewlake_features::vader::SentimentAnalyzer::shared();
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut lines = stdin.lines();
    loop {
        let chunk: Vec<String> = lines
            .by_ref()
            .take(16_384)
            .collect::<std::io::Result<_>>()?;
        if chunk.is_empty() {
            break;
        }
        let scored: Vec<String> = chunk
            .par_iter()
            .map(|t| {
                let s = an.polarity_scores(t);
                serde_json::json!({"neg": s.neg, "neu": s.neu, "pos": s.pos, "compound": s.compound})
                    .to_string()
            })
            .collect();
        for s in scored {
            writeln!(out, "{s}")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `xtask snapshots`: the catalog, one line per snapshot.
fn snapshots(lake: &str, show: Option<i64>) -> Result<()> {
    use anyhow::Context;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let l = reviewlake_lake::Lake::open_existing(lake)
            .with_context(|| format!("opening lake {lake}"))?;
        let all = l.snapshots().await?;
        if all.is_empty() {
            println!("{lake} has no catalog yet: readers see every table at its latest version");
            return Ok(());
        }
        let mut t = comfy_table::Table::new();
        t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
        t.set_header(vec!["snapshot", "stage", "run", "created (UTC)", "tables"]);
        for s in &all {
            let when = chrono::DateTime::from_timestamp_micros(s.created_at_us)
                .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default();
            t.add_row(vec![
                s.id.to_string(),
                s.stage.clone(),
                s.run_id.clone(),
                when,
                s.tables.len().to_string(),
            ]);
        }
        println!("{t}");
        if let Some(id) = show {
            let s = l.snapshot_by_id(id).await?;
            for tv in &s.tables {
                println!("  {}/{:<24} version {}", tv.zone, tv.name, tv.version);
            }
        }
        Ok(())
    })
}

/// `xtask vacuum`.
fn vacuum(lake: &str, retain_hours: u64) -> Result<()> {
    use anyhow::Context;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let l = reviewlake_lake::Lake::open_existing(lake)
            .with_context(|| format!("opening lake {lake}"))?;
        let r = l
            .vacuum(retain_hours)
            .await
            .with_context(|| format!("vacuuming {lake}"))?;
        for t in r.tables.iter().filter(|t| t.files_deleted > 0) {
            println!("  {:<32} {:>6} files deleted", t.table, t.files_deleted);
        }
        println!(
            "vacuum: {} files deleted in {} tables (retention {retain_hours} h)",
            r.files_deleted(),
            r.tables.len()
        );
        Ok(())
    })
}

fn main() -> Result<()> {
    // Before any thread starts: the stages' memory stays near the pool's (see the docs).
    reviewlake_lake::limit_malloc_arenas();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Gen {
            reviews,
            out,
            seed,
            dirty,
        } => {
            anyhow::ensure!(
                (0.0..=1.0).contains(&dirty),
                "--dirty must be between 0 and 1"
            );
            let started = std::time::Instant::now();
            let opts = reviewlake_datagen::GenOptions::new(reviews)
                .seed(seed)
                .dirty(dirty)
                .reporter(progress::reporter(false));
            let summary = reviewlake_datagen::generate(&out, &opts)?;
            let bytes: u64 = summary.files.iter().map(|f| f.2).sum();
            println!(
                "generated {} reviews, {} businesses, {} users, {} injected faults: {} files, {:.1} MB in {:.1}s -> {}",
                summary.reviews,
                summary.businesses,
                summary.users,
                summary.injected,
                summary.files.len(),
                bytes as f64 / 1e6,
                started.elapsed().as_secs_f64(),
                out.display()
            );
            Ok(())
        }
        Command::Pipeline(args) => {
            let allow = args.allow_empty;
            let warnings = pipeline::run(args)?;
            if !warnings.is_empty() && !allow {
                std::process::exit(pipeline::EXIT_DATA_PROBLEMS);
            }
            Ok(())
        }
        Command::Sql(args) => sql::run(args),
        Command::Cluster { cmd } => cluster::run(cmd),
        Command::Sentiment => sentiment(),
        Command::Report { lake, out } => {
            use anyhow::Context;
            let rt = tokio::runtime::Runtime::new()?;
            let html = rt.block_on(async {
                let l = reviewlake_lake::Lake::open_existing(&lake)
                    .with_context(|| format!("opening lake {lake}"))?;
                reviewlake_features::report::render(&l)
                    .await
                    .with_context(|| format!("rendering the report of {lake}"))
            })?;
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::write(&out, html).with_context(|| format!("writing {}", out.display()))?;
            println!("report written to {}", out.display());
            Ok(())
        }
        Command::GdpPage { csv, out } => {
            use anyhow::Context;
            let text = std::fs::read_to_string(&csv)
                .with_context(|| format!("reading {}", csv.display()))?;
            let page = gdp_page::build_page_from_bea_csv(&text, None)?;
            std::fs::write(&out, page).with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {}", out.display());
            Ok(())
        }
        Command::Snapshots { lake, show } => snapshots(&lake, show),
        Command::Vacuum { lake, retain_hours } => vacuum(&lake, retain_hours),
        Command::Als(args) => als::run(args),
        Command::Train(args) => train::run(args),
        Command::Models { lake } => train::models(&lake),
        Command::Serve(args) => serve::run(args),
        Command::Bench { what } => bench::run(what),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// `cargo xtask` with no arguments prints the whole usage: every subcommand, and
    /// `cargo xtask bench` every bench target.
    #[test]
    fn no_arguments_lists_every_subcommand() {
        let cmd = super::Cli::command();
        let err = cmd
            .clone()
            .try_get_matches_from(["cargo xtask"])
            .expect_err("no subcommand is an error that prints the help");
        let text = err.render().to_string();
        let names: Vec<String> = cmd
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect();
        assert!(names.len() >= 13, "{names:?}");
        for n in &names {
            assert!(
                text.lines()
                    .any(|l| l.trim_start().starts_with(&format!("{n} "))),
                "`cargo xtask` does not list {n}:\n{text}"
            );
        }
        let bench = cmd
            .find_subcommand("bench")
            .expect("bench subcommand")
            .clone();
        let targets: Vec<String> = bench
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect();
        assert!(targets.len() >= 6, "{targets:?}");
        let err = cmd
            .try_get_matches_from(["cargo xtask", "bench"])
            .expect_err("bench without a target prints its help");
        let text = err.render().to_string();
        for t in &targets {
            assert!(
                text.lines()
                    .any(|l| l.trim_start().starts_with(&format!("{t} "))),
                "`cargo xtask bench` does not list {t}:\n{text}"
            );
        }
    }
}
