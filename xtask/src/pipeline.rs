//! `cargo xtask pipeline`: the stages in order, with progress and a summary.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use reviewlake_ingest::{IngestOptions, IngestReport, ingest};
use reviewlake_lake::Lake;
use reviewlake_schema::progress::Reporter;

/// Stages, in order.
pub const STAGES: [&str; 3] = ["ingest", "warehouse", "features"];

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
    /// Last stage to run (ingest, warehouse, features). Default: all of them.
    #[arg(long, default_value = "features")]
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
    /// No progress bars (also off when stderr is not a terminal).
    #[arg(long)]
    pub quiet: bool,
    /// For tests of failure handling: make the warehouse build fail its reconciliation
    /// check after writing its tables.
    #[arg(long, hide = true)]
    pub test_fail_reconciliation: bool,
}

/// Runs the pipeline.
pub fn run(args: PipelineArgs) -> Result<()> {
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
    let source = match &args.source {
        Some(s) => s.clone(),
        None if first == 0 => ensure_sample(Path::new(DEFAULT_SAMPLE))?,
        None => String::new(),
    };
    let reporter = crate::progress::reporter(
        args.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()),
    );
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async move {
        // Only ingest creates a lake; later stages need an existing one.
        let lake = if first == 0 {
            Lake::open(&args.lake)
        } else {
            Lake::open_existing(&args.lake)
        }
        .with_context(|| format!("opening lake {}", args.lake))?;
        let run_id = format!("pipeline-{}", std::process::id());
        // One writer at a time for the whole run; each stage joins this lease.
        let guard = lake.acquire_writer(&run_id).await?;
        let result = run_stages(&lake, &args, &source, first, last, &reporter).await;
        guard.release().await;
        result
    })
}

async fn run_stages(
    lake: &Lake,
    args: &PipelineArgs,
    source: &str,
    first: usize,
    last: usize,
    reporter: &Reporter,
) -> Result<()> {
    let mut report_json = serde_json::Map::new();
    if first == 0 {
        let mut opts = IngestOptions::new(source);
        opts.reporter = reporter.clone();
        let report = ingest(lake, &opts)
            .await
            .with_context(|| format!("ingesting {source} into {}", lake.root()))?;
        print_ingest_summary(&report);
        if let serde_json::Value::Object(m) = ingest_json(&report) {
            report_json.extend(m);
        }
    }
    if first <= 1 && last >= 1 {
        let mut opts = warehouse_options(args).await?;
        opts.reporter = reporter.clone();
        let wr = reviewlake_warehouse::build(lake, &opts)
            .await
            .with_context(|| format!("building the warehouse of {}", lake.root()))?;
        println!("{wr}");
        report_json.insert("warehouse".into(), serde_json::to_value(&wr)?);
    }
    if first <= 2 && last >= 2 {
        let fr = reviewlake_features::build(
            lake,
            &reviewlake_features::FeaturesOptions {
                reporter: reporter.clone(),
            },
        )
        .await
        .with_context(|| format!("building the features of {}", lake.root()))?;
        println!("{fr}");
        report_json.insert("features".into(), serde_json::to_value(&fr)?);
    }
    tracing::debug!(last_stage = STAGES[last], "pipeline done");
    if let Some(path) = &args.report {
        let text = serde_json::to_string_pretty(&serde_json::Value::Object(report_json))?;
        std::fs::write(path, text).with_context(|| format!("writing report {}", path.display()))?;
        println!("report written to {}", path.display());
    }
    Ok(())
}

/// The warehouse options given on the command line.
pub async fn warehouse_options(
    args: &PipelineArgs,
) -> Result<reviewlake_warehouse::WarehouseOptions> {
    use reviewlake_warehouse::{CategoryScope, GdpSource, StateScope, WarehouseOptions};
    let states = match &args.states {
        Some(s) => StateScope::parse(s)?,
        None => StateScope::TopGdp(args.top_gdp),
    };
    let gdp = match &args.fetch_gdp {
        None => GdpSource::Offline,
        Some(url) => GdpSource::Html {
            origin: url.clone(),
            html: fetch(url).await?,
        },
    };
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

fn ensure_sample(dir: &Path) -> Result<String> {
    if !dir.join("manifest.json").is_file() {
        println!(
            "no --source given: generating a {DEFAULT_SAMPLE_REVIEWS}-review sample into {} (once)",
            dir.display()
        );
        let opts = reviewlake_datagen::GenOptions::new(DEFAULT_SAMPLE_REVIEWS)
            .seed(42)
            .reporter(crate::progress::reporter(false));
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
        r.quarantined().to_string(),
        format!(
            "{:.1}",
            r.files.iter().map(|f| f.bytes).sum::<u64>() as f64 / 1e6
        ),
        format!("{:.2}", r.seconds),
    ]);
    println!("{t}");
    let mb = r.bytes_processed() as f64 / 1e6;
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
