//! # reviewlake-lake
//!
//! Storage for reviewlake, and the only crate that touches it (delta-rs, object_store,
//! credentials). One URL chooses the store:
//!
//! | location | store |
//! |---|---|
//! | a plain path (default `./lake`) or `file:///abs/path` | local folder |
//! | `s3://bucket/prefix` | Amazon S3 or any S3-compatible server; settings from [`LakeOptions`] (by default the usual `AWS_*` variables: `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP=true` for plain HTTP, credentials, region) |
//! | `memory://` | in-process memory, for tests |
//!
//! Under the root live the [`Zone`]s (`raw`, `warehouse`, `features`, `models`,
//! `reports`) and the `catalog`; every table is a Delta Lake table at
//! `<root>/<zone>/<name>`, readable by Spark, DuckDB, Polars and Python's `deltalake`.
//!
//! What the stages get, at their level:
//! - source locations to read ([`source::SourceRoot`]),
//! - tables to append to or replace files of in one commit ([`Table`], [`DataFileWriter`]),
//!   or to rewrite whole in one commit, schema changes included ([`TableRewrite`]),
//! - artifacts (bytes) in the `models` and `reports` zones ([`Lake::put_artifact`]),
//! - one writer at a time ([`Lake::acquire_writer`]: a lease object in the lake),
//! - consistent multi-table snapshots ([`Lake::commit_snapshot`], `catalog/snapshots`),
//! - read-only query sessions pinned to a snapshot ([`QuerySession`]),
//! - checked, typed column access by name ([`Columns`]),
//! - clean-up of files no kept version needs ([`Lake::vacuum`]).
//!
//! **Architecture invariant:** other crates speak of zones and table names, never of
//! paths, buckets, credentials or Delta actions. Every write becomes visible in exactly
//! one Delta commit, and a multi-table build becomes visible in one catalog commit.
//!
//! ```no_run
//! # async fn demo() -> Result<(), reviewlake_lake::LakeError> {
//! use reviewlake_lake::{Lake, Zone};
//! let lake = Lake::open("./lake")?;
//! let tables = lake.list_tables(Zone::Raw).await?;
//! println!("raw tables: {tables:?}");
//! let session = lake.session().await?; // the latest snapshot, read-only
//! let batches = session.collect("SELECT count(*) FROM fact_review").await?;
//! # let _ = batches; Ok(()) }
//! ```

#![warn(missing_docs)]

mod artifact;
pub use artifact::ARTIFACT_CHUNK;
mod catalog;
mod columns;
mod engine;
mod hooks;
mod lease;
mod rewrite;
mod session;
pub mod source;
mod stores;
mod table;
mod vacuum;
mod writer;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::record_batch::RecordBatch;
use deltalake::{DeltaTableBuilder, DeltaTableError};
use object_store::ObjectStore;
use object_store::memory::InMemory;
use url::Url;

pub use catalog::{Snapshot, Stage, TableVersion};
pub use columns::Columns;
pub use engine::{DEFAULT_MEMORY_LIMIT, QueryEngine, Scheduler, limit_malloc_arenas, parse_size};
pub use lease::WriterGuard;
pub use reviewlake_schema::Zone;
pub use rewrite::TableRewrite;
pub use session::{BatchStream, QuerySession};
pub use stores::object_store_registry;
pub use table::{CommitKind, DataFile, FileSink, Table};
pub use vacuum::{VacuumReport, VacuumedTable};
pub use writer::DataFileWriter;

/// Errors from the lake.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// The lake location could not be understood.
    #[error("invalid lake location {location:?}: {reason}")]
    InvalidLocation {
        /// What the user gave.
        location: String,
        /// Why it was refused.
        reason: String,
    },
    /// There is no lake at the location and the caller did not ask to create one.
    #[error("no lake at {location} (run the ingest stage first, or check --lake)")]
    NoLake {
        /// The location.
        location: String,
    },
    /// A table or artifact name that could leave the lake layout.
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The name.
        name: String,
        /// Why it was refused.
        reason: String,
    },
    /// The writer of a streamed artifact ([`Lake::put_artifact_with`]) failed; nothing
    /// was stored.
    #[error("writing artifact {path}: {source}")]
    ArtifactWrite {
        /// The artifact's object path.
        path: String,
        /// The writer's error.
        #[source]
        source: std::io::Error,
    },
    /// A Delta Lake operation failed.
    #[error("delta table {table}: {source}")]
    Delta {
        /// `zone/name` of the table.
        table: String,
        /// The underlying error.
        #[source]
        source: Box<DeltaTableError>,
    },
    /// An object store operation failed.
    #[error("object store at {path}: {source}")]
    ObjectStore {
        /// The object's path.
        path: String,
        /// The underlying error.
        #[source]
        source: Box<object_store::Error>,
    },
    /// Writing a Parquet data file failed.
    #[error("parquet file {path}: {source}")]
    Parquet {
        /// The data file's path, relative to its table.
        path: String,
        /// The underlying error.
        #[source]
        source: Box<parquet::errors::ParquetError>,
    },
    /// A query over the lake failed.
    #[error("query: {0}")]
    Query(#[source] Box<datafusion::error::DataFusionError>),
    /// A statement that would change the lake was given to a read-only session.
    #[error("read-only session: {0}")]
    ReadOnly(String),
    /// A table's schema does not fit.
    #[error("schema of {table}: {reason}")]
    Schema {
        /// `zone/name` of the table.
        table: String,
        /// What is wrong.
        reason: String,
    },
    /// A column is missing or has another type than expected.
    #[error("table {table}, column {column}: expected {expected}, found {found}")]
    Column {
        /// `zone/name` (or the name) of the table.
        table: String,
        /// The column.
        column: String,
        /// The type this release expects.
        expected: String,
        /// What the table has (`missing` when absent).
        found: String,
    },
    /// Another run holds the writer lease.
    #[error("lake {lake} is being written by run {run} since {since}")]
    LeaseHeld {
        /// The lake root.
        lake: String,
        /// The holder's run id.
        run: String,
        /// When the holder took the lease (RFC 3339).
        since: String,
    },
    /// An operation that writes needs the writer lease, which this process does not hold.
    #[error("lake {lake}: {reason}")]
    NotLeaseHolder {
        /// The lake root.
        lake: String,
        /// What happened.
        reason: String,
    },
    /// A snapshot that does not exist.
    #[error("lake {lake} has no snapshot {id}")]
    NoSnapshot {
        /// The lake root.
        lake: String,
        /// The snapshot asked for.
        id: i64,
    },
    /// Local I/O failed.
    #[error("local i/o at {path}: {source}")]
    Io {
        /// The local path.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An Arrow operation failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// The query engine cannot run the plans (e.g. no Ballista scheduler answers).
    #[error("{0}")]
    Engine(String),
    /// The background task that encodes a table's data files stopped without an error
    /// of its own (it panicked or was cancelled).
    #[error("writing table {table}: {reason}")]
    Writer {
        /// `zone/name`.
        table: String,
        /// What happened to the task.
        reason: String,
    },
    /// A table uses a Delta feature the cluster engine cannot read from plain Parquet
    /// files (deletion vectors, column mapping, partitions).
    #[error("table {table}: {reason}")]
    Unsupported {
        /// `zone/name`.
        table: String,
        /// What the table uses.
        reason: String,
    },
}

impl From<datafusion::error::DataFusionError> for LakeError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        LakeError::Query(Box::new(e))
    }
}

/// Result alias of this crate.
pub type Result<T, E = LakeError> = std::result::Result<T, E>;

/// Storage settings of a lake (and of source locations): object-store options such as
/// `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_ALLOW_HTTP`. [`LakeOptions::default`]
/// takes them from the `AWS_*` environment variables; a library user or a server can
/// pass them explicitly instead, without touching the process environment.
///
/// ```
/// use reviewlake_lake::LakeOptions;
/// let opts = LakeOptions::empty()
///     .with("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
///     .with("AWS_ALLOW_HTTP", "true");
/// assert_eq!(opts.get("AWS_ALLOW_HTTP"), Some("true"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeOptions {
    storage: HashMap<String, String>,
    create: bool,
}

impl Default for LakeOptions {
    fn default() -> Self {
        LakeOptions::from_env()
    }
}

impl LakeOptions {
    /// The `AWS_*` environment variables; a missing local lake folder is created.
    pub fn from_env() -> LakeOptions {
        LakeOptions {
            storage: std::env::vars()
                .filter(|(k, _)| k.starts_with("AWS_"))
                .collect(),
            create: true,
        }
    }

    /// No storage options at all; a missing local lake folder is created.
    pub fn empty() -> LakeOptions {
        LakeOptions {
            storage: HashMap::new(),
            create: true,
        }
    }

    /// Sets one storage option (an `AWS_*` name or any `object_store` S3 config key).
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> LakeOptions {
        self.storage.insert(key.into(), value.into());
        self
    }

    /// Whether [`Lake::open_with`] may create a missing local lake folder (default
    /// `true`). Stages that only read set it to `false`, so a mistyped `--lake` is an
    /// error ("no lake at PATH") instead of a new empty lake.
    pub fn create_if_missing(mut self, create: bool) -> LakeOptions {
        self.create = create;
        self
    }

    /// One storage option.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.storage.get(key).map(String::as_str)
    }

    /// Every storage option.
    pub fn storage(&self) -> &HashMap<String, String> {
        &self.storage
    }
}

#[derive(Clone)]
enum Backend {
    Local,
    S3,
    Memory(Arc<InMemory>),
}

/// State shared by the clones of one [`Lake`] handle.
#[derive(Default)]
struct Shared {
    table_loads: AtomicU64,
    lease: std::sync::Mutex<Option<lease::Held>>,
}

/// A lake: a root location with zones of Delta tables. Cheap to clone; clones share
/// the writer lease and the counters.
#[derive(Clone)]
pub struct Lake {
    root: Url,
    backend: Backend,
    options: Arc<LakeOptions>,
    shared: Arc<Shared>,
    engine: Arc<QueryEngine>,
}

impl std::fmt::Debug for Lake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lake")
            .field("root", &self.root.as_str())
            .finish()
    }
}

/// The Delta table property recording the reviewlake schema version.
pub const SCHEMA_VERSION_PROPERTY: &str = "reviewlake.schemaVersion";

/// Checks a table name: ASCII letters, digits and `_`, 1 to 128 characters.
pub(crate) fn check_table_name(name: &str) -> Result<()> {
    let bad = |reason: &str| LakeError::InvalidName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() || name.len() > 128 {
        return Err(bad("a table name has 1 to 128 characters"));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(bad("a table name has only ASCII letters, digits and '_'"));
    }
    Ok(())
}

impl Lake {
    /// Opens the lake at `location` (a path, a `file://`, `s3://` or `memory://` URL)
    /// with the default [`LakeOptions`] (the `AWS_*` variables); a missing local folder
    /// is created. Each `memory://` lake is its own store.
    pub fn open(location: &str) -> Result<Lake> {
        Lake::open_with(location, LakeOptions::default())
    }

    /// Opens an existing lake for reading: like [`Lake::open`], but a local location
    /// without a lake is an error ([`LakeError::NoLake`]) and nothing is created.
    pub fn open_existing(location: &str) -> Result<Lake> {
        Lake::open_with(location, LakeOptions::default().create_if_missing(false))
    }

    /// Opens the lake at `location` with explicit storage options.
    pub fn open_with(location: &str, options: LakeOptions) -> Result<Lake> {
        let invalid = |reason: String| LakeError::InvalidLocation {
            location: location.to_string(),
            reason,
        };
        let local_dir = |p: &std::path::Path| -> Result<std::path::PathBuf> {
            if !p.exists() {
                if !options.create {
                    return Err(LakeError::NoLake {
                        location: location.to_string(),
                    });
                }
                std::fs::create_dir_all(p).map_err(|e| LakeError::Io {
                    path: p.display().to_string(),
                    source: e,
                })?;
            } else if !p.is_dir() {
                return Err(invalid("not a folder".into()));
            } else if !options.create && !looks_like_lake(p) {
                return Err(LakeError::NoLake {
                    location: location.to_string(),
                });
            }
            std::fs::canonicalize(p).map_err(|e| LakeError::Io {
                path: p.display().to_string(),
                source: e,
            })
        };
        let url = match Url::parse(location) {
            Ok(u) if u.scheme().len() > 1 => u,
            _ => {
                let abs = local_dir(std::path::Path::new(location))?;
                Url::from_directory_path(&abs)
                    .map_err(|_| invalid("not an absolute path".into()))?
            }
        };
        let backend = match url.scheme() {
            "file" => {
                let p = url
                    .to_file_path()
                    .map_err(|_| invalid("not a local file URL".into()))?;
                local_dir(&p)?;
                Backend::Local
            }
            "s3" | "s3a" => {
                if url.host_str().unwrap_or("").is_empty() {
                    return Err(invalid("s3 URL needs a bucket: s3://bucket/prefix".into()));
                }
                deltalake::aws::register_handlers(None);
                Backend::S3
            }
            "memory" => Backend::Memory(Arc::new(InMemory::new())),
            other => {
                return Err(invalid(format!(
                    "unsupported scheme {other}:// (use a path, file://, s3:// or memory://)"
                )));
            }
        };
        let mut root = url;
        if !root.path().ends_with('/') {
            let p = format!("{}/", root.path());
            root.set_path(&p);
        }
        Ok(Lake {
            root,
            backend,
            options: Arc::new(options),
            shared: Arc::new(Shared::default()),
            engine: Arc::new(QueryEngine::unbounded()),
        })
    }

    /// The same lake, its query sessions running on `engine` (a memory limit and a
    /// spill folder for the stages' plans).
    pub fn with_engine(mut self, engine: QueryEngine) -> Lake {
        self.engine = Arc::new(engine);
        self
    }

    /// The engine this lake's query sessions run on.
    pub fn engine(&self) -> &QueryEngine {
        &self.engine
    }

    /// The lake root URL (always ends with `/`).
    pub fn root(&self) -> &Url {
        &self.root
    }

    /// The lake root for messages: a local path, or the URL.
    pub fn display_root(&self) -> String {
        match (&self.backend, self.root.to_file_path()) {
            (Backend::Local, Ok(p)) => {
                let s = p.display().to_string();
                match s.strip_suffix('/') {
                    Some(t) if !t.is_empty() => t.to_string(),
                    _ => s,
                }
            }
            _ => self.root.to_string(),
        }
    }

    /// The storage options this lake was opened with.
    pub fn options(&self) -> &LakeOptions {
        &self.options
    }

    /// How many times a Delta table was loaded through this handle (and its clones):
    /// a measure of how much work sessions do, for tests and metrics.
    pub fn table_loads(&self) -> u64 {
        self.shared.table_loads.load(Ordering::Relaxed)
    }

    /// The URL of table `name` in `zone`.
    pub(crate) fn table_url(&self, zone: Zone, name: &str) -> Url {
        // Both joins are of checked identifiers: they cannot fail on a valid root.
        self.root
            .join(&format!("{}/{}/", zone.as_str(), name))
            .unwrap_or_else(|_| self.root.clone())
    }

    pub(crate) fn builder(&self, zone: Zone, name: &str) -> Result<DeltaTableBuilder> {
        check_table_name(name)?;
        let url = self.table_url(zone, name);
        let b = DeltaTableBuilder::from_url(url.clone()).map_err(|e| delta_err(zone, name, e))?;
        Ok(match &self.backend {
            Backend::Memory(store) => b.with_storage_backend(store.clone(), url),
            Backend::S3 => b.with_storage_options(self.options.storage.clone()),
            Backend::Local => b,
        })
    }

    pub(crate) fn count_load(&self) {
        self.shared.table_loads.fetch_add(1, Ordering::Relaxed);
    }

    /// Names of the Delta tables that exist in `zone`, sorted.
    pub async fn list_tables(&self, zone: Zone) -> Result<Vec<String>> {
        use futures::TryStreamExt;
        let (store, prefix) = self.root_store_and_prefix()?;
        let zone_prefix = object_store::path::Path::from(format!("{prefix}{}", zone.as_str()));
        let listing = store
            .list_with_delimiter(Some(&zone_prefix))
            .await
            .map_err(|e| store_err(&zone_prefix, e))?;
        let mut out = Vec::new();
        for dir in listing.common_prefixes {
            let Some(name) = dir.filename().map(str::to_string) else {
                continue;
            };
            if check_table_name(&name).is_err() {
                continue;
            }
            let log = dir.clone().join("_delta_log");
            let mut s = store.list(Some(&log));
            if s.try_next()
                .await
                .map_err(|e| store_err(&log, e))?
                .is_some()
            {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }

    /// The object store holding the lake root, and the key prefix of the root in it
    /// (empty or ending with `/`).
    pub(crate) fn root_store_and_prefix(&self) -> Result<(Arc<dyn ObjectStore>, String)> {
        match &self.backend {
            Backend::Memory(store) => {
                let p = self.root.path().trim_start_matches('/').to_string();
                Ok((store.clone(), p))
            }
            Backend::Local => {
                let path = self
                    .root
                    .to_file_path()
                    .map_err(|_| LakeError::InvalidLocation {
                        location: self.root.to_string(),
                        reason: "not a local path".into(),
                    })?;
                let store =
                    object_store::local::LocalFileSystem::new_with_prefix(&path).map_err(|e| {
                        LakeError::ObjectStore {
                            path: path.display().to_string(),
                            source: Box::new(e),
                        }
                    })?;
                Ok((Arc::new(store), String::new()))
            }
            Backend::S3 => {
                let store = source::s3_store(&self.root, &self.options)?;
                let p = self.root.path().trim_start_matches('/').to_string();
                Ok((store, p))
            }
        }
    }

    /// Runs `sql` over the latest snapshot (read-only) and collects the result. For
    /// small results (tests, tools); servers keep a [`QuerySession`] and stream.
    pub async fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        self.session().await?.collect(sql).await
    }

    /// Reads a whole table at its latest version (for tests and small tables).
    /// Batches come back in the table's own schema with plain (non-view) strings.
    pub async fn read_table(&self, zone: Zone, name: &str) -> Result<Vec<RecordBatch>> {
        let Some(table) = self.table(zone, name).await? else {
            return Err(LakeError::Schema {
                table: format!("{zone}/{name}"),
                reason: "no such table".into(),
            });
        };
        let session = QuerySession::empty(self.clone())?;
        session.register(&table, name).await?;
        session.collect(&format!("SELECT * FROM \"{name}\"")).await
    }
}

/// Whether a local folder holds a lake (a zone or the catalog folder).
fn looks_like_lake(p: &std::path::Path) -> bool {
    Zone::ALL
        .into_iter()
        .chain([Zone::Catalog])
        .any(|z| p.join(z.as_str()).is_dir())
}

/// `s` as a SQL string literal (quotes doubled), for the values that queries and Delta
/// predicates built from text spell inline.
///
/// ```
/// assert_eq!(reviewlake_lake::sql_literal("O'Hare"), "'O''Hare'");
/// ```
pub fn sql_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A DataFusion context whose results use the lake's own types (plain `Utf8` strings
/// rather than string views), so results compare and downcast as the schemas say.
pub fn new_context() -> datafusion::prelude::SessionContext {
    let cfg = datafusion::prelude::SessionConfig::new().set_bool(
        "datafusion.execution.parquet.schema_force_view_types",
        false,
    );
    datafusion::prelude::SessionContext::new_with_config(cfg)
}

/// `t` with every string or binary view (at any depth) replaced by its plain type.
pub(crate) fn plain_type(t: &arrow_schema::DataType) -> arrow_schema::DataType {
    use arrow_schema::DataType;
    match t {
        DataType::Utf8View => DataType::Utf8,
        DataType::BinaryView => DataType::Binary,
        DataType::List(f) => DataType::List(Arc::new(
            f.as_ref().clone().with_data_type(plain_type(f.data_type())),
        )),
        DataType::Struct(fs) => DataType::Struct(
            fs.iter()
                .map(|f| f.as_ref().clone().with_data_type(plain_type(f.data_type())))
                .collect(),
        ),
        DataType::Map(f, sorted) => DataType::Map(
            Arc::new(f.as_ref().clone().with_data_type(plain_type(f.data_type()))),
            *sorted,
        ),
        other => other.clone(),
    }
}

/// Casts every string-view column of `batch` to a plain string column.
pub fn plain_strings(batch: &RecordBatch) -> Result<RecordBatch> {
    use arrow_schema::{Field, Schema};
    let schema = batch.schema();
    if schema
        .fields()
        .iter()
        .all(|f| plain_type(f.data_type()) == *f.data_type())
    {
        return Ok(batch.clone());
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_data_type(plain_type(f.data_type())))
        .collect();
    let cols = batch
        .columns()
        .iter()
        .zip(&fields)
        .map(|(c, f)| arrow::compute::cast(c, f.data_type()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let out_schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    Ok(RecordBatch::try_new(out_schema, cols)?)
}

pub(crate) fn delta_err(zone: Zone, name: &str, e: DeltaTableError) -> LakeError {
    LakeError::Delta {
        table: format!("{zone}/{name}"),
        source: Box::new(e),
    }
}

pub(crate) fn store_err(path: &object_store::path::Path, e: object_store::Error) -> LakeError {
    LakeError::ObjectStore {
        path: path.to_string(),
        source: Box::new(e),
    }
}

#[cfg(test)]
mod tests;
