//! `cargo xtask sql "SELECT ..."`: query every table of the lake by name.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use arrow::array::RecordBatch;
use clap::{Args, ValueEnum};
use reviewlake_lake::{Lake, plain_strings};

/// Output formats of `xtask sql`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// A table for people.
    Table,
    /// CSV with a header.
    Csv,
    /// One JSON object per line.
    Json,
    /// A Parquet file (needs --out, or stdout redirected to a file).
    Parquet,
}

/// `cargo xtask sql "SELECT ..." [--lake DIR|URL] [--format table|csv|json|parquet] [--out FILE]`
#[derive(Args, Debug, Clone)]
pub struct SqlArgs {
    /// The query. Every table of every zone is registered under its name
    /// (`fact_review`, `dim_business`, `yelp_review`, ...).
    pub query: String,
    /// Lake root (folder, s3:// or memory:// URL).
    #[arg(long, default_value = "lake")]
    pub lake: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs the query and prints or writes the result.
pub fn run(args: SqlArgs) -> Result<()> {
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let (schema, batches) = rt.block_on(async {
        let lake = Lake::open(&args.lake).with_context(|| format!("opening lake {}", args.lake))?;
        let ctx = lake
            .session()
            .await
            .context("registering the lake's tables")?;
        let df = ctx
            .sql(&args.query)
            .await
            .with_context(|| format!("planning {:?}", args.query))?;
        let schema: arrow::datatypes::SchemaRef =
            std::sync::Arc::new(df.schema().as_arrow().clone());
        let batches = df
            .collect()
            .await
            .with_context(|| format!("running {:?}", args.query))?;
        let batches = batches
            .iter()
            .map(plain_strings)
            .collect::<Result<Vec<RecordBatch>, _>>()
            .context("converting the result")?;
        let schema = batches.first().map(|b| b.schema()).unwrap_or(schema);
        anyhow::Ok((schema, batches))
    })?;
    let mut out: Box<dyn Write> = match &args.out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => {
            if args.format == Format::Parquet
                && std::io::IsTerminal::is_terminal(&std::io::stdout())
            {
                bail!("--format parquet writes binary: give --out FILE or redirect stdout");
            }
            Box::new(std::io::BufWriter::new(std::io::stdout().lock()))
        }
    };
    write_batches(&schema, &batches, args.format, &mut out)?;
    out.flush()?;
    Ok(())
}

/// Writes `batches` in `format`.
pub fn write_batches(
    schema: &arrow::datatypes::SchemaRef,
    batches: &[RecordBatch],
    format: Format,
    out: &mut dyn Write,
) -> Result<()> {
    match format {
        Format::Table => {
            let t = arrow::util::pretty::pretty_format_batches(batches)?;
            writeln!(out, "{t}")?;
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            writeln!(out, "{rows} row(s)")?;
        }
        Format::Csv => {
            let mut w = arrow_csv::WriterBuilder::new().with_header(true).build(out);
            for b in batches {
                w.write(b)?;
            }
        }
        Format::Json => {
            let mut w = arrow_json::LineDelimitedWriter::new(out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        Format::Parquet => {
            let mut buf = Vec::new();
            let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, schema.clone(), None)?;
            for b in batches {
                w.write(b)?;
            }
            w.close()?;
            out.write_all(&buf)?;
        }
    }
    Ok(())
}
