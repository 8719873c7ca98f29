//! `cargo xtask pipeline`: the stages in order, with progress and a summary.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use reviewlake_ingest::{IngestOptions, IngestReport, ingest};
use reviewlake_lake::Lake;
use reviewlake_schema::progress::Reporter;

/// Stages, in order.
pub const STAGES: [&str; 4] = ["ingest", "warehouse", "features", "ml"];

/// Default sample folder, generated on first use.
pub const DEFAULT_SAMPLE: &str = "data/sample";
/// Reviews in the default sample.
pub const DEFAULT_SAMPLE_REVIEWS: u64 = 50_000;

/// `cargo xtask pipeline [--source DIR|URL] [--lake DIR|URL] [--until STAGE] [--report FILE]`
#[derive(Args, Debug, Clone)]
pub struct PipelineArgs {
    /// Source root (folder or s3:// URL). Default: a ~50k-review sample generated once
    /// into ./data/sample.
    #[arg(long)]
    pub source: Option<String>,
    /// Lake root (folder, s3:// or memory:// URL).
    #[arg(long, default_value = "lake")]
    pub lake: String,
    /// Last stage to run (ingest, warehouse, features, ml). Default: all of them.
    #[arg(long, default_value = "ml")]
    pub until: String,
    /// First stage to run (earlier ones are assumed done), e.g. `--from warehouse` to
    /// rebuild the warehouse without checking the sources again.
    #[arg(long, default_value = "ingest")]
    pub from: String,
    /// Warehouse scope: `all` or state codes (`CA,TX`). Default: the top GDP states.
    #[arg(long)]
    pub states: Option<String>,
    /// Warehouse scope: the N US states with the largest GDP (ignored with --states).
    #[arg(long, default_value_t = 5)]
    pub top_gdp: usize,
    /// Warehouse scope: `food` (restaurants and related, default), `all`, or shared
    /// categories (`restaurant,bar`).
    #[arg(long, default_value = "food")]
    pub categories: String,
    /// Download the GDP page from this URL instead of the offline copy (for example
    /// https://en.wikipedia.org/wiki/List_of_U.S._states_and_territories_by_GDP).
    #[arg(long)]
    pub fetch_gdp: Option<String>,
    /// Write the run report as JSON to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Nothing on stdout for a successful run: no progress bars (also off when stderr
    /// is not a terminal), no summary tables. Warnings and errors still go to stderr,
    /// the exit status still says what happened, and `--report FILE` still writes the
    /// machine-readable summary.
    #[arg(long)]
    pub quiet: bool,
    /// Exit 0 even when the run found data problems (a dataset with no usable record,
    /// a file that is not JSON, no recognised file); by default they exit with 2.
    #[arg(long)]
    pub allow_empty: bool,
    /// KPI values on fewer reviews than this are marked low_support and kept out of
    /// report headlines.
    #[arg(long, default_value_t = reviewlake_features::DEFAULT_MIN_SUPPORT)]
    pub min_support: i64,
    /// ml stage: skip the hyper-parameter searches (faster; default parameters).
    #[arg(long)]
    pub no_tune: bool,
    /// ml stage: seed of splits, initialisations and searches.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Memory the warehouse and features plans may use together (e.g. `512MiB`,
    /// `4GiB`): sorts, aggregates and joins spill to disk beyond it.
    #[arg(long, default_value = "2GiB")]
    pub memory_limit: String,
    /// Folder for the plans' spill files (default: the system temp folder).
    #[arg(long)]
    pub spill_dir: Option<PathBuf>,
    /// Where the warehouse and features plans run: `local` (this process, with
    /// --memory-limit) or `ballista` (the cluster of --scheduler; ingest, ml, commits
    /// and the lease stay here).
    #[arg(long, default_value = "local", value_parser = ["local", "ballista"])]
    pub engine: String,
    /// The Ballista scheduler for `--engine ballista`, `df://HOST:PORT` (`cargo xtask
    /// cluster up` prints it).
    #[arg(long, env = "REVIEWLAKE_SCHEDULER")]
    pub scheduler: Option<String>,
    /// With `--engine ballista`: seconds a cluster job may run before it returns its
    /// first rows; a job past it is cancelled and its stage fails, publishing nothing
    /// (a Ballista job can hang after losing an executor). 0: no limit.
    #[arg(long, default_value_t = 3600)]
    pub job_timeout: u64,
    /// Partitions of each plan stage (default: the cores here with `--engine local`,
    /// 8 with `--engine ballista`: about the task slots of the cluster).
    #[arg(long)]
    pub partitions: Option<usize>,
    /// For tests of failure handling: make the warehouse build fail its reconciliation
    /// check after writing its tables.
    #[arg(long, hide = true)]
    pub test_fail_reconciliation: bool,
}

/// Exit status of a run that completed with data problems (and no `--allow-empty`).
pub const EXIT_DATA_PROBLEMS: i32 = 2;

/// Runs the pipeline. Returns the data problems found (each already printed as a
/// warning); the caller exits with [`EXIT_DATA_PROBLEMS`] when there are any.
pub fn run(args: PipelineArgs) -> Result<Vec<String>> {
    let Some(last) = STAGES.iter().position(|s| *s == args.until) else {
        bail!(
            "unknown stage {:?}: stages are {}",
            args.until,
            STAGES.join(", ")
        );
    };
    let Some(first) = STAGES.iter().position(|s| *s == args.from) else {
        bail!(
            "unknown stage {:?}: stages are {}",
            args.from,
            STAGES.join(", ")
        );
    };
    anyhow::ensure!(
        first <= last,
        "--from {} comes after --until {}",
        args.from,
        args.until
    );
    anyhow::ensure!(args.min_support >= 0, "--min-support must be 0 or more");
    let memory_limit = reviewlake_lake::parse_size(&args.memory_limit)
        .map_err(|e| anyhow::anyhow!("--memory-limit: {e}"))?;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    // Every option is checked before any work starts (and before a lake is created).
    let cluster = match (args.engine.as_str(), &args.scheduler) {
        ("ballista", Some(s)) => {
            let s = reviewlake_lake::Scheduler::parse(s).context("--scheduler")?;
            // Executors open the lake's files themselves: an in-memory lake lives in this
            // process only.
            anyhow::ensure!(
                !args.lake.starts_with("memory://"),
                "--engine ballista cannot use an in-memory lake ({}): its executors read the tables from a folder or S3",
                args.lake
            );
            if first <= 2 && last >= 1 {
                // A scheduler that is not there fails the run before any work.
                rt.block_on(s.check_reachable(std::time::Duration::from_secs(5)))?;
            }
            Some(s)
        }
        ("ballista", None) => {
            bail!(
                "--engine ballista needs --scheduler df://HOST:PORT (`cargo xtask cluster up` prints it)"
            )
        }
        _ => None,
    };
    let warehouse = if first <= 1 && last >= 1 {
        Some(rt.block_on(warehouse_options(&args))?)
    } else {
        None
    };
    let source = match &args.source {
        Some(s) if first == 0 => {
            reviewlake_ingest::SourceRoot::parse(s)
                .with_context(|| format!("reading the source {s}"))?;
            s.clone()
        }
        Some(s) => s.clone(),
        None if first == 0 => ensure_sample(Path::new(DEFAULT_SAMPLE), args.quiet)?,
        None => String::new(),
    };
    let reporter = crate::progress::reporter(
        args.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()),
    );
    let local_lake = (!args.lake.contains("://")).then(|| PathBuf::from(&args.lake));
    let created = local_lake.as_ref().is_some_and(|p| !p.exists());
    let result = rt.block_on(async {
        // Only ingest creates a lake; later stages need an existing one.
        let lake = if first == 0 {
            Lake::open(&args.lake)
        } else {
            Lake::open_existing(&args.lake)
        }
        .with_context(|| format!("opening lake {}", args.lake))?;
        let mut engine = reviewlake_lake::QueryEngine::unbounded().with_memory_limit(memory_limit);
        if let Some(n) = args.partitions {
            engine = engine.with_target_partitions(n);
        }
        if let Some(dir) = &args.spill_dir {
            engine = engine.with_spill_dir(dir);
        }
        let lake = lake.with_engine(engine);
        // The warehouse and features plans run on the cluster; the handle shares this
        // one's writer lease.
        let stage_lake = match &cluster {
            Some(s) => {
                let mut engine = reviewlake_lake::QueryEngine::ballista(s.clone())
                    .with_target_partitions(args.partitions.unwrap_or(8));
                if args.job_timeout > 0 {
                    engine =
                        engine.with_job_timeout(std::time::Duration::from_secs(args.job_timeout));
                }
                lake.clone().with_engine(engine)
            }
            None => lake.clone(),
        };
        let run_id = format!("pipeline-{}", std::process::id());
        // One writer at a time for the whole run; each stage joins this lease.
        let guard = lake.acquire_writer(&run_id).await?;
        let result = run_stages(
            &lake,
            &stage_lake,
            &args,
            warehouse,
            &source,
            first,
            last,
            &reporter,
        )
        .await;
        guard.release().await;
        result
    });
    if result.is_err()
        && created
        && let Some(p) = &local_lake
        && !p.join("catalog").exists()
    {
        // A run that created the lake and failed before its first snapshot leaves
        // nothing behind.
        let _ = std::fs::remove_dir_all(p);
    }
    let warnings = result?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if !warnings.is_empty() {
        eprintln!(
            "completed with {} data problem(s){}",
            warnings.len(),
            if args.allow_empty {
                " (--allow-empty: exit status 0)"
            } else {
                ": exit status 2 (--allow-empty to accept)"
            }
        );
    }
    Ok(warnings)
}

#[allow(clippy::too_many_arguments)]
async fn run_stages(
    lake: &Lake,
    stage_lake: &Lake,
    args: &PipelineArgs,
    warehouse: Option<reviewlake_warehouse::WarehouseOptions>,
    source: &str,
    first: usize,
    last: usize,
    reporter: &Reporter,
) -> Result<Vec<String>> {
    let mut report_json = serde_json::Map::new();
    let mut warnings = Vec::new();
    let mut ingest_report = None;
    if first == 0 {
        let mut opts = IngestOptions::new(source);
        opts.reporter = reporter.clone();
        let report = ingest(lake, &opts)
            .await
            .with_context(|| format!("ingesting {source} into {}", lake.root()))?;
        if !args.quiet {
            print_ingest_summary(&report);
        }
        warnings.extend(report.warnings());
        if let serde_json::Value::Object(m) = ingest_json(&report) {
            report_json.extend(m);
        }
        ingest_report = Some(report);
    }
    let mut warehouse_report = None;
    if let Some(mut opts) = warehouse {
        opts.reporter = reporter.clone();
        let wr = reviewlake_warehouse::build(stage_lake, &opts)
            .await
            .with_context(|| format!("building the warehouse of {}", lake.root()))?;
        say!(args.quiet, "{wr}");
        warnings.extend(warehouse_warnings(&wr));
        report_json.insert("warehouse".into(), serde_json::to_value(&wr)?);
        warehouse_report = Some(wr);
    }
    if first <= 2 && last >= 2 {
        let fr = reviewlake_features::build(
            stage_lake,
            &reviewlake_features::FeaturesOptions {
                reporter: reporter.clone(),
                min_support: args.min_support,
            },
        )
        .await
        .with_context(|| format!("building the features of {}", lake.root()))?;
        say!(args.quiet, "{fr}");
        report_json.insert("features".into(), serde_json::to_value(&fr)?);
    }
    if first <= 3 && last >= 3 {
        let mut opts = reviewlake_ml::TrainOptions {
            tune: !args.no_tune,
            seed: args.seed,
            reporter: reporter.clone(),
            ..reviewlake_ml::TrainOptions::default()
        };
        opts.als.seed = args.seed;
        opts.implicit.seed = args.seed;
        let mr = crate::train::train(lake, &opts).await?;
        say!(args.quiet, "{mr}");
        report_json.insert("ml".into(), serde_json::to_value(&mr)?);
    }
    if !args.quiet {
        print_dataset_summary(ingest_report.as_ref(), warehouse_report.as_ref());
    }
    tracing::debug!(last_stage = STAGES[last], "pipeline done");
    report_json.insert("warnings".into(), serde_json::to_value(&warnings)?);
    if let Some(path) = &args.report {
        let text = serde_json::to_string_pretty(&serde_json::Value::Object(report_json))?;
        std::fs::write(path, text).with_context(|| format!("writing report {}", path.display()))?;
        say!(args.quiet, "report written to {}", path.display());
    }
    Ok(warnings)
}

/// Drop reasons that are the scope's doing or repeats, not bad data.
fn benign_drop(reason: &str) -> bool {
    reason.starts_with("duplicate_")
        || reason.starts_with("out_of_scope")
        || reason == "no_activity_in_scope"
}

/// A raw dataset with records none of which reached the warehouse because they were
/// invalid (scope filters and duplicates do not count) is a data problem.
fn warehouse_warnings(wr: &reviewlake_warehouse::WarehouseReport) -> Vec<String> {
    let mut out = Vec::new();
    for s in &wr.sources {
        let invalid: u64 = s.quarantined_total()
            + s.dropped
                .iter()
                .filter(|(k, _)| !benign_drop(k))
                .map(|(_, v)| *v)
                .sum::<u64>();
        if s.read > 0 && s.carried == 0 && invalid > 0 {
            let mut reasons: Vec<(&String, &u64)> = s
                .quarantined
                .iter()
                .chain(s.dropped.iter().filter(|(k, _)| !benign_drop(k)))
                .collect();
            reasons.sort_by(|a, b| b.1.cmp(a.1));
            let top: Vec<String> = reasons
                .iter()
                .take(3)
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            out.push(format!(
                "dataset {}: none of its {} records reached the warehouse ({} invalid: {})",
                s.table,
                s.read,
                invalid,
                top.join(", ")
            ));
        }
    }
    out
}

/// Per dataset: what ingest read, rescued and quarantined, and what the warehouse
/// carried.
fn print_dataset_summary(
    ingest: Option<&IngestReport>,
    warehouse: Option<&reviewlake_warehouse::WarehouseReport>,
) {
    if ingest.is_none() && warehouse.is_none() {
        return;
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec![
        "dataset",
        "read",
        "rescued",
        "quarantined (ingest)",
        "carried",
        "dropped",
        "quarantined (warehouse)",
    ]);
    for d in reviewlake_ingest::RawDataset::ALL {
        let name = d.table_name();
        let files: Vec<_> = ingest
            .map(|r| r.files.iter().filter(|f| f.dataset == name).collect())
            .unwrap_or_default();
        let w = warehouse.and_then(|w| w.source(name));
        if files.is_empty() && w.is_none_or(|s| s.read == 0) {
            continue;
        }
        let sum = |f: fn(&reviewlake_ingest::FileReport) -> u64| -> String {
            if ingest.is_none() {
                return "-".into();
            }
            files.iter().map(|x| f(x)).sum::<u64>().to_string()
        };
        let wv = |f: &dyn Fn(&reviewlake_warehouse::SourceReport) -> u64| {
            w.map(|s| f(s).to_string()).unwrap_or_else(|| "-".into())
        };
        t.add_row(vec![
            name.to_string(),
            sum(|f| f.read),
            sum(|f| f.rescued),
            sum(|f| f.quarantined),
            wv(&|s| s.carried),
            wv(&|s| s.dropped_total()),
            wv(&|s| s.quarantined_total()),
        ]);
    }
    println!("{t}");
}

/// The warehouse options given on the command line.
pub async fn warehouse_options(
    args: &PipelineArgs,
) -> Result<reviewlake_warehouse::WarehouseOptions> {
    use reviewlake_warehouse::{CategoryScope, GdpSource, StateScope, WarehouseOptions};
    let states = match &args.states {
        Some(s) => StateScope::parse(s)?,
        None => {
            anyhow::ensure!(args.top_gdp > 0, "--top-gdp must be at least 1");
            StateScope::TopGdp(args.top_gdp)
        }
    };
    let gdp = match &args.fetch_gdp {
        None => GdpSource::Offline,
        Some(url) => GdpSource::Html {
            origin: url.clone(),
            html: fetch(url).await?,
        },
    };
    if let StateScope::TopGdp(n) = states {
        let page = match &gdp {
            GdpSource::Offline => reviewlake_warehouse::gdp::OFFLINE_PAGE,
            GdpSource::Html { html, .. } => html.as_str(),
        };
        let rows =
            reviewlake_warehouse::gdp::parse_gdp_html(page).context("reading the GDP table")?;
        let top = reviewlake_warehouse::gdp::top_states(&rows, n);
        anyhow::ensure!(
            top.len() == n,
            "--top-gdp {n}: the GDP table has only {} US states",
            top.len()
        );
    }
    Ok(WarehouseOptions {
        states,
        categories: CategoryScope::parse(&args.categories)?,
        gdp,
        inject_reconciliation_failure: args.test_fail_reconciliation,
        ..WarehouseOptions::default()
    })
}

/// Downloads a page (or reads it, for a local path or file:// URL).
async fn fetch(url: &str) -> Result<String> {
    if let Some(path) =
        url.strip_prefix("file://")
            .or(if url.contains("://") { None } else { Some(url) })
    {
        return std::fs::read_to_string(path).with_context(|| format!("reading {path}"));
    }
    let resp = reqwest::Client::builder()
        .user_agent("reviewlake/0.1 (GDP table scraper)")
        .build()?
        .get(url)
        .send()
        .await
        .with_context(|| format!("fetching {url}"))?;
    let status = resp.status();
    anyhow::ensure!(status.is_success(), "fetching {url}: HTTP {status}");
    resp.text()
        .await
        .with_context(|| format!("reading the body of {url}"))
}

fn ensure_sample(dir: &Path, quiet: bool) -> Result<String> {
    if !dir.join("manifest.json").is_file() {
        say!(
            quiet,
            "no --source given: generating a {DEFAULT_SAMPLE_REVIEWS}-review sample into {} (once)",
            dir.display()
        );
        let opts = reviewlake_datagen::GenOptions::new(DEFAULT_SAMPLE_REVIEWS)
            .seed(42)
            .reporter(crate::progress::reporter(quiet));
        reviewlake_datagen::generate(dir, &opts).context("generating the default sample")?;
    }
    Ok(dir.display().to_string())
}

/// The ingest report as JSON, with totals.
pub fn ingest_json(r: &IngestReport) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    if let serde_json::Value::Object(m) = &mut v {
        m.insert(
            "totals".into(),
            serde_json::json!({
                "files": r.files.len(),
                "read": r.read(),
                "written": r.written(),
                "quarantined": r.quarantined(),
                "bytes_processed": r.bytes_processed(),
            }),
        );
    }
    v
}

fn print_ingest_summary(r: &IngestReport) {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec![
        "file",
        "dataset",
        "status",
        "read",
        "written",
        "rescued",
        "quarantined",
        "MB",
        "s",
    ]);
    for f in &r.files {
        t.add_row(vec![
            f.path.clone(),
            f.dataset.clone(),
            format!("{:?}", f.status).to_lowercase(),
            f.read.to_string(),
            f.written.to_string(),
            f.rescued.to_string(),
            f.quarantined.to_string(),
            format!("{:.1}", f.bytes as f64 / 1e6),
            format!("{:.2}", f.seconds),
        ]);
    }
    t.add_row(vec![
        "TOTAL".to_string(),
        String::new(),
        String::new(),
        r.read().to_string(),
        r.written().to_string(),
        r.rescued().to_string(),
        r.quarantined().to_string(),
        format!(
            "{:.1}",
            r.files.iter().map(|f| f.bytes).sum::<u64>() as f64 / 1e6
        ),
        format!("{:.2}", r.seconds),
    ]);
    println!("{t}");
    let mb = r.bytes_processed() as f64 / 1e6;
    if !r.ignored.is_empty() {
        let shown: Vec<&str> = r.ignored.iter().take(10).map(String::as_str).collect();
        println!(
            "ignored (not a recognised dataset file): {}{}",
            shown.join(", "),
            if r.ignored.len() > shown.len() {
                format!(" and {} more", r.ignored.len() - shown.len())
            } else {
                String::new()
            }
        );
    }
    if let Some(id) = r.snapshot {
        println!("ingest: snapshot {id}");
    }
    println!(
        "ingest: {} files ({} ignored) into {} — {:.1} MB processed in {:.1}s ({:.1} MB/s); read = written + quarantined: {}",
        r.files.len(),
        r.ignored.len(),
        r.lake,
        mb,
        r.seconds,
        if r.seconds > 0.0 { mb / r.seconds } else { 0.0 },
        if r.read() == r.written() + r.quarantined() {
            "ok"
        } else {
            "MISMATCH"
        }
    );
}
