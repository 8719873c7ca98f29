//! `cargo xtask sql "SELECT ..."`: query every table of the lake by name, read-only, over
//! one snapshot; results are written as they arrive.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use arrow::array::RecordBatch;
use clap::{Args, ValueEnum};
use reviewlake_lake::Lake;

/// Output formats of `xtask sql`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// A table for people (one table per batch of rows, as they arrive).
    Table,
    /// CSV with a header.
    Csv,
    /// One JSON object per line.
    Json,
    /// A Parquet file (needs --out, or stdout redirected to a file).
    Parquet,
}

/// `cargo xtask sql "SELECT ..." [--lake DIR|URL] [--snapshot N] [--format table|csv|json|parquet] [--out FILE]`
#[derive(Args, Debug, Clone)]
pub struct SqlArgs {
    /// The query. Every table of every zone is registered under its name
    /// (`fact_review`, `dim_business`, `yelp_review`, ..., and the catalog's
    /// `snapshots`). Queries cannot change the lake.
    pub query: String,
    /// Lake root (folder, s3:// or memory:// URL).
    #[arg(long, default_value = "lake")]
    pub lake: String,
    /// Read this snapshot (see `cargo xtask snapshots`) instead of the latest.
    #[arg(long)]
    pub snapshot: Option<i64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Memory the query may use (e.g. `512MiB`, `4GiB`): sorts, aggregates and joins
    /// spill to disk beyond it.
    #[arg(long, default_value = "2GiB")]
    pub memory_limit: String,
}

/// Runs the query and prints or writes the result as it streams in.
pub fn run(args: SqlArgs) -> Result<()> {
    if args.format == Format::Parquet
        && args.out.is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stdout())
    {
        bail!("--format parquet writes binary: give --out FILE or redirect stdout");
    }
    let memory_limit = reviewlake_lake::parse_size(&args.memory_limit)
        .map_err(|e| anyhow::anyhow!("--memory-limit: {e}"))?;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async {
        let lake = Lake::open_existing(&args.lake)
            .with_context(|| format!("opening lake {}", args.lake))?
            .with_engine(reviewlake_lake::QueryEngine::unbounded().with_memory_limit(memory_limit));
        let session = lake
            .session_at(args.snapshot)
            .await
            .context("opening the lake's snapshot")?;
        let mut stream = session
            .stream(&args.query)
            .await
            .with_context(|| format!("planning {:?}", args.query))?;
        let out: Box<dyn Write + Send> = match &args.out {
            Some(p) => Box::new(std::io::BufWriter::new(
                std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
            )),
            None => Box::new(std::io::BufWriter::new(std::io::stdout())),
        };
        let mut sink = Sink::new(args.format, out);
        while let Some(batch) = stream.next().await {
            let batch = batch.with_context(|| format!("running {:?}", args.query))?;
            sink.write(&batch)?;
        }
        sink.finish(stream.schema())
    })
}

/// Writes batches in one format as they come.
pub struct Sink {
    format: Format,
    out: Option<Box<dyn Write + Send>>,
    csv: Option<arrow_csv::Writer<Box<dyn Write + Send>>>,
    json: Option<arrow_json::LineDelimitedWriter<Box<dyn Write + Send>>>,
    parquet: Option<parquet::arrow::ArrowWriter<Box<dyn Write + Send>>>,
    rows: usize,
}

impl Sink {
    /// A sink writing `format` to `out`.
    pub fn new(format: Format, out: Box<dyn Write + Send>) -> Sink {
        Sink {
            format,
            out: Some(out),
            csv: None,
            json: None,
            parquet: None,
            rows: 0,
        }
    }

    /// Writes one batch.
    pub fn write(&mut self, b: &RecordBatch) -> Result<()> {
        self.rows += b.num_rows();
        match self.format {
            Format::Table => {
                if b.num_rows() > 0
                    && let Some(out) = self.out.as_mut()
                {
                    writeln!(
                        out,
                        "{}",
                        arrow::util::pretty::pretty_format_batches(std::slice::from_ref(b))?
                    )?;
                }
            }
            Format::Csv => {
                if self.csv.is_none()
                    && let Some(out) = self.out.take()
                {
                    self.csv = Some(arrow_csv::WriterBuilder::new().with_header(true).build(out));
                }
                if let Some(w) = self.csv.as_mut() {
                    w.write(b)?;
                }
            }
            Format::Json => {
                if self.json.is_none()
                    && let Some(out) = self.out.take()
                {
                    self.json = Some(arrow_json::LineDelimitedWriter::new(out));
                }
                if let Some(w) = self.json.as_mut() {
                    w.write(b)?;
                }
            }
            Format::Parquet => {
                if self.parquet.is_none()
                    && let Some(out) = self.out.take()
                {
                    self.parquet =
                        Some(parquet::arrow::ArrowWriter::try_new(out, b.schema(), None)?);
                }
                if let Some(w) = self.parquet.as_mut() {
                    w.write(b)?;
                    // Bound memory: flush a row group every ~64k rows.
                    if w.in_progress_rows() >= 65_536 {
                        w.flush()?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Ends the output; `schema` is used when no batch came (an empty result).
    pub fn finish(mut self, schema: &arrow::datatypes::SchemaRef) -> Result<()> {
        match self.format {
            Format::Table => {
                if let Some(out) = self.out.as_mut() {
                    if self.rows == 0 {
                        let empty = RecordBatch::new_empty(schema.clone());
                        writeln!(
                            out,
                            "{}",
                            arrow::util::pretty::pretty_format_batches(&[empty])?
                        )?;
                    }
                    writeln!(out, "{} row(s)", self.rows)?;
                    out.flush()?;
                }
            }
            Format::Csv => {
                if self.csv.is_none() {
                    self.write(&RecordBatch::new_empty(schema.clone()))?;
                }
                if let Some(w) = self.csv.take() {
                    w.into_inner().flush()?;
                }
            }
            Format::Json => {
                if let Some(mut w) = self.json.take() {
                    w.finish()?;
                    w.into_inner().flush()?;
                } else if let Some(out) = self.out.as_mut() {
                    out.flush()?;
                }
            }
            Format::Parquet => {
                if self.parquet.is_none() {
                    self.write(&RecordBatch::new_empty(schema.clone()))?;
                }
                if let Some(w) = self.parquet.take() {
                    let mut out = w.into_inner()?;
                    out.flush()?;
                }
            }
        }
        Ok(())
    }
}
