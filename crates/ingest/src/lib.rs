//! # reviewlake-ingest
//!
//! Streams the published Yelp and Google review dumps into the raw zone of a
//! [`reviewlake_lake::Lake`]: one Delta table per dataset (`yelp_business`, `yelp_review`,
//! `yelp_user`, `yelp_checkin`, `yelp_tip`, `google_metadata`, `google_review`) plus
//! `quarantine` for every line that could not be read, and `ingest_log` recording which
//! source files (path, size, content hash) are in the lake.
//!
//! - Datasets are recognised by file name and folder layout ([`detect_dataset`]).
//! - JSON lines, a top-level JSON array, and gzip (`.gz` or gzip magic) are all accepted.
//! - Memory is bounded whatever the file size: files are cut into chunks at line
//!   boundaries, chunks are parsed in parallel (rayon) and written as they come.
//! - Every non-blank line ends in exactly one place: its raw table or the quarantine
//!   (with file, line, byte offset, the error naming the field, and the raw bytes).
//!   `read = written + quarantined` for every file.
//! - Incremental and crash-safe: each table gets one atomic Delta commit per run; a file
//!   already in the ingest log with the same size and content hash is skipped; a changed
//!   file, or one whose earlier run was interrupted, replaces its earlier rows.
//! - One writer at a time (the lake's writer lease); the run ends with a catalog
//!   snapshot, so readers see either the previous raw zone or the new one, whole.
//!
//! **Architecture invariant:** ingest never cleans or deduplicates: duplicate and odd
//! records stay in raw exactly as published. Cleaning belongs to the warehouse.
//!
//! ```no_run
//! # async fn demo() -> Result<(), reviewlake_ingest::IngestError> {
//! use reviewlake_ingest::{ingest, IngestOptions};
//! let lake = reviewlake_lake::Lake::open("./lake")?;
//! let report = ingest(&lake, &IngestOptions::new("tests/data/real")).await?;
//! for f in &report.files {
//!     assert_eq!(f.read, f.written + f.quarantined);
//! }
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod chunk;
mod parse;
mod run;
mod source;
mod validate;

use reviewlake_schema::progress::Reporter;
use serde::Serialize;

pub use chunk::{Chunk, ChunkReader, LineSpan};
pub use parse::{ParsedChunk, QuarantinedLine, parse_chunk};
pub use reviewlake_lake::source::{SourceFile, SourceRoot};
pub use reviewlake_schema::RawDataset;
pub use run::ingest;
pub use source::detect_dataset;
pub use validate::{MAX_DEPTH, ScannedField, scan_record, validate_record};

/// Errors from ingest.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Storage failed.
    #[error(transparent)]
    Lake(#[from] reviewlake_lake::LakeError),
    /// The source root could not be listed or a file could not be read.
    #[error("source {path}: {source}")]
    Source {
        /// The file or root.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The source root location is not understood.
    #[error("invalid source location {location:?}: {reason}")]
    InvalidSource {
        /// What the user gave.
        location: String,
        /// Why.
        reason: String,
    },
    /// Building Arrow data failed (a bug, not bad input: bad input goes to quarantine).
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// Some files failed to be read as a whole (I/O or corrupt compression). The other
    /// files were committed; the failed ones are retried by the next run.
    #[error("{} source file(s) failed: {}", .0.len(), .0.iter().map(|(p, e)| format!("{p}: {e}")).collect::<Vec<_>>().join("; "))]
    FilesFailed(Vec<(String, String)>),
    /// A background task panicked or was cancelled.
    #[error("ingest task failed: {0}")]
    Task(String),
}

/// Result alias of this crate.
pub type Result<T, E = IngestError> = std::result::Result<T, E>;

/// What to ingest and how.
#[derive(Clone)]
pub struct IngestOptions {
    /// Source root: a local folder, or an object-store URL (`s3://bucket/prefix`,
    /// `file:///...`).
    pub source: String,
    /// Files processed at the same time (default: number of cores).
    pub file_parallelism: usize,
    /// Target size of one parse chunk, in bytes of decompressed input (default 4 MiB).
    pub chunk_bytes: usize,
    /// Rows per data file before a new Parquet file is started (default 2,000,000).
    pub rows_per_file: u64,
    /// Where progress goes: task `ingest`, in source bytes (the total is announced
    /// once the files to read are known).
    pub reporter: Reporter,
}

impl std::fmt::Debug for IngestOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestOptions")
            .field("source", &self.source)
            .field("file_parallelism", &self.file_parallelism)
            .field("chunk_bytes", &self.chunk_bytes)
            .field("rows_per_file", &self.rows_per_file)
            .finish()
    }
}

impl IngestOptions {
    /// Defaults for `source`.
    pub fn new(source: impl Into<String>) -> Self {
        IngestOptions {
            source: source.into(),
            file_parallelism: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            chunk_bytes: 4 * 1024 * 1024,
            rows_per_file: 2_000_000,
            reporter: Reporter::none(),
        }
    }
}

/// What happened to one source file in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// Not in the lake before: ingested.
    New,
    /// In the lake with other content: its rows were replaced.
    Changed,
    /// In the lake with the same size and content hash: skipped.
    Unchanged,
    /// Could not be read as a whole; nothing of it was committed.
    Failed,
}

/// Per-file line of the run report. `read == written + quarantined` always.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// Path relative to the source root, forward slashes.
    pub path: String,
    /// Raw table name of the dataset.
    pub dataset: String,
    /// What happened to the file.
    pub status: FileStatus,
    /// Non-blank lines (records) read.
    pub read: u64,
    /// Rows written to the raw table.
    pub written: u64,
    /// Rows written with something kept in `_rescued_data` (fields outside the schema
    /// or values that did not fit their column); counted in `written` too.
    pub rescued: u64,
    /// Lines written to quarantine.
    pub quarantined: u64,
    /// Blank lines skipped (not records).
    pub blank: u64,
    /// Size of the source file in bytes (compressed size for `.gz`).
    pub bytes: u64,
    /// Wall-clock seconds spent on the file.
    pub seconds: f64,
    /// xxh3-128 of the file's bytes, hex.
    pub content_hash: String,
    /// A file-level data problem (e.g. the file is an HTML page): records were read but
    /// none landed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Error, for a failed file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The run report of one ingest.
#[derive(Debug, Clone, Serialize, Default)]
pub struct IngestReport {
    /// Source root as given.
    pub source: String,
    /// Lake root URL.
    pub lake: String,
    /// One line per recognised source file.
    pub files: Vec<FileReport>,
    /// Files under the source root that are not a known dataset (not ingested).
    pub ignored: Vec<String>,
    /// Delta version committed per table in this run (tables without change are absent).
    pub commits: std::collections::BTreeMap<String, i64>,
    /// The catalog snapshot this run committed (every table of the lake, consistent).
    pub snapshot: Option<i64>,
    /// Wall-clock seconds of the whole ingest.
    pub seconds: f64,
}

impl IngestReport {
    /// Sum of `read` over files.
    pub fn read(&self) -> u64 {
        self.files.iter().map(|f| f.read).sum()
    }
    /// Sum of `written` over files.
    pub fn written(&self) -> u64 {
        self.files.iter().map(|f| f.written).sum()
    }
    /// Sum of `quarantined` over files.
    pub fn quarantined(&self) -> u64 {
        self.files.iter().map(|f| f.quarantined).sum()
    }
    /// Sum of `rescued` over files.
    pub fn rescued(&self) -> u64 {
        self.files.iter().map(|f| f.rescued).sum()
    }

    /// Data problems a person must hear of, one line each: no recognised file under
    /// the source root, a file that is not JSON, a dataset whose every record went to
    /// quarantine. Empty when the run is clean.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.files.is_empty() {
            out.push(format!(
                "no recognised dataset file under {} ({} other files ignored)",
                self.source,
                self.ignored.len()
            ));
        }
        for f in &self.files {
            if let Some(p) = &f.problem {
                out.push(format!("{}: {p}", f.path));
            }
        }
        let mut by_dataset: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
        for f in &self.files {
            let e = by_dataset.entry(f.dataset.as_str()).or_default();
            e.0 += f.read;
            e.1 += f.written;
        }
        for (d, (read, written)) in by_dataset {
            let files_of = self.files.iter().filter(|f| f.dataset == d).count();
            if read > 0 && written == 0 && files_of > 1 {
                out.push(format!(
                    "dataset {d}: every one of its {read} records went to quarantine"
                ));
            }
        }
        out
    }
    /// Sum of `bytes` over files processed in this run (not skipped).
    pub fn bytes_processed(&self) -> u64 {
        self.files
            .iter()
            .filter(|f| matches!(f.status, FileStatus::New | FileStatus::Changed))
            .map(|f| f.bytes)
            .sum()
    }
}
