//! # reviewlake-lake
//!
//! Storage for reviewlake. One URL chooses the store:
//!
//! | location | store |
//! |---|---|
//! | a plain path (default `./lake`) or `file:///abs/path` | local folder |
//! | `s3://bucket/prefix` | Amazon S3 or any S3-compatible server; credentials, region and endpoint from the usual `AWS_*` variables (`AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP=true` for plain HTTP) |
//! | `memory://` | in-process memory, for tests |
//!
//! Under the root live the [`Zone`]s (`raw`, `warehouse`, `features`, `models`,
//! `reports`); every table is a Delta Lake table at `<root>/<zone>/<name>`, readable by
//! Spark, DuckDB, Polars and Python's `deltalake`.
//!
//! **Architecture invariant:** other crates speak of zones and table names, never of
//! paths, buckets or credentials. Every write becomes visible in exactly one Delta commit.
//!
//! ```no_run
//! # async fn demo() -> Result<(), reviewlake_lake::LakeError> {
//! use reviewlake_lake::{Lake, Zone};
//! let lake = Lake::open("./lake")?;
//! let tables = lake.list_tables(Zone::Raw).await?;
//! println!("raw tables: {tables:?}");
//! # Ok(()) }
//! ```

mod rewrite;
mod writer;

use std::collections::HashMap;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use arrow_schema::SchemaRef;
use datafusion::prelude::SessionContext;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::transaction::CommitBuilder;
use deltalake::kernel::{Action, Add, Remove, StructType};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError};
use object_store::ObjectStore;
use object_store::memory::InMemory;
use url::Url;

pub use deltalake;
pub use reviewlake_schema::Zone;
pub use rewrite::TableRewrite;
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
        source: object_store::Error,
    },
    /// Writing a Parquet data file failed.
    #[error("parquet file {path}: {source}")]
    Parquet {
        /// The data file's path, relative to its table.
        path: String,
        /// The underlying error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// A query over the lake failed.
    #[error("query: {0}")]
    Query(#[source] Box<datafusion::error::DataFusionError>),
    /// A table's schema does not fit Delta Lake.
    #[error("schema of {table}: {reason}")]
    Schema {
        /// `zone/name` of the table.
        table: String,
        /// What is wrong.
        reason: String,
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
}

impl From<datafusion::error::DataFusionError> for LakeError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        LakeError::Query(Box::new(e))
    }
}

/// Result alias of this crate.
pub type Result<T, E = LakeError> = std::result::Result<T, E>;

#[derive(Clone)]
enum Backend {
    Local,
    S3,
    Memory(Arc<InMemory>),
}

/// A lake: a root location with zones of Delta tables.
#[derive(Clone)]
pub struct Lake {
    root: Url,
    backend: Backend,
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

impl Lake {
    /// Opens (and for a local folder, creates) the lake at `location`: a path, a
    /// `file://`, `s3://` or `memory://` URL. Each `memory://` lake is its own store.
    pub fn open(location: &str) -> Result<Lake> {
        let invalid = |reason: String| LakeError::InvalidLocation {
            location: location.to_string(),
            reason,
        };
        let url = match Url::parse(location) {
            Ok(u) if u.scheme().len() > 1 => u,
            _ => {
                // A plain local path.
                let p = std::path::Path::new(location);
                std::fs::create_dir_all(p).map_err(|e| LakeError::Io {
                    path: location.to_string(),
                    source: e,
                })?;
                let abs = std::fs::canonicalize(p).map_err(|e| LakeError::Io {
                    path: location.to_string(),
                    source: e,
                })?;
                Url::from_directory_path(&abs)
                    .map_err(|_| invalid("not an absolute path".into()))?
            }
        };
        let backend = match url.scheme() {
            "file" => {
                let p = url
                    .to_file_path()
                    .map_err(|_| invalid("not a local file URL".into()))?;
                std::fs::create_dir_all(&p).map_err(|e| LakeError::Io {
                    path: p.display().to_string(),
                    source: e,
                })?;
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
        Ok(Lake { root, backend })
    }

    /// The lake root URL (always ends with `/`).
    pub fn root(&self) -> &Url {
        &self.root
    }

    /// The URL of table `name` in `zone`.
    pub fn table_url(&self, zone: Zone, name: &str) -> Url {
        // Both joins are of plain identifiers: they cannot fail on a valid root.
        self.root
            .join(&format!("{}/{}/", zone.as_str(), name))
            .unwrap_or_else(|_| self.root.clone())
    }

    fn builder(&self, zone: Zone, name: &str) -> Result<DeltaTableBuilder> {
        let url = self.table_url(zone, name);
        let b = DeltaTableBuilder::from_url(url.clone()).map_err(|e| delta_err(zone, name, e))?;
        Ok(match &self.backend {
            Backend::Memory(store) => b.with_storage_backend(store.clone(), url),
            Backend::S3 => b.with_storage_options(s3_options_from_env()),
            Backend::Local => b,
        })
    }

    /// Opens table `name` in `zone` at its latest version; `None` if it does not exist.
    pub async fn table(&self, zone: Zone, name: &str) -> Result<Option<DeltaTable>> {
        if let Backend::Local = self.backend
            && let Ok(p) = self.table_url(zone, name).to_file_path()
            && !p.join("_delta_log").is_dir()
        {
            return Ok(None);
        }
        let mut t = self
            .builder(zone, name)?
            .build()
            .map_err(|e| delta_err(zone, name, e))?;
        match t.load().await {
            Ok(()) => Ok(Some(t)),
            Err(DeltaTableError::NotATable(_)) => Ok(None),
            Err(e) => Err(delta_err(zone, name, e)),
        }
    }

    /// Opens table `name` in `zone`, creating it empty with `schema` if it does not exist.
    /// The schema version (from the schema's metadata) is recorded as the table property
    /// [`SCHEMA_VERSION_PROPERTY`].
    pub async fn open_or_create(
        &self,
        zone: Zone,
        name: &str,
        schema: &SchemaRef,
    ) -> Result<DeltaTable> {
        if let Some(t) = self.table(zone, name).await? {
            return Ok(t);
        }
        let st: StructType =
            schema
                .as_ref()
                .try_into_kernel()
                .map_err(|e: arrow_schema::ArrowError| LakeError::Schema {
                    table: format!("{zone}/{name}"),
                    reason: e.to_string(),
                })?;
        let version = schema
            .metadata()
            .get(reviewlake_schema::SCHEMA_VERSION_KEY)
            .cloned()
            .unwrap_or_else(|| reviewlake_schema::SCHEMA_VERSION.to_string());
        if let Backend::Local = self.backend {
            let url = self.table_url(zone, name);
            if let Ok(p) = url.to_file_path() {
                std::fs::create_dir_all(&p).map_err(|e| LakeError::Io {
                    path: p.display().to_string(),
                    source: e,
                })?;
            }
        }
        let t = self
            .builder(zone, name)?
            .build()
            .map_err(|e| delta_err(zone, name, e))?;
        let created = t
            .create()
            .with_table_name(name)
            .with_columns(st.fields().cloned())
            .with_raise_if_key_not_exists(false)
            .with_configuration(vec![(SCHEMA_VERSION_PROPERTY, Some(version.as_str()))])
            .with_save_mode(SaveMode::Ignore)
            .await
            .map_err(|e| delta_err(zone, name, e))?;
        Ok(created)
    }

    /// A writer for a new Parquet data file `file_name` inside `table`'s folder. The file
    /// is invisible to readers until its [`Add`] is committed with [`Lake::commit`].
    pub fn data_file_writer(
        &self,
        table: &DeltaTable,
        file_name: &str,
        schema: SchemaRef,
    ) -> Result<DataFileWriter> {
        DataFileWriter::new(table.object_store(), file_name, schema)
    }

    /// Commits `adds` and `removes` to `table` as one atomic Delta commit and returns the
    /// new version. `app_metadata` lands in the commit info (e.g. the run id).
    pub async fn commit(
        &self,
        table: &mut DeltaTable,
        adds: Vec<Add>,
        removes: Vec<Remove>,
        app_metadata: HashMap<String, serde_json::Value>,
    ) -> Result<u64> {
        let name = table.table_url().to_string();
        let snapshot = table
            .snapshot()
            .map_err(|e| LakeError::Delta {
                table: name.clone(),
                source: Box::new(e),
            })?
            .clone();
        let mut actions: Vec<Action> = Vec::with_capacity(adds.len() + removes.len());
        actions.extend(removes.into_iter().map(Action::Remove));
        actions.extend(adds.into_iter().map(Action::Add));
        let op = DeltaOperation::Write {
            mode: SaveMode::Append,
            partition_by: None,
            predicate: None,
        };
        let done = CommitBuilder::default()
            .with_actions(actions)
            .with_app_metadata(app_metadata)
            .build(Some(&snapshot), table.log_store(), op)
            .await
            .map_err(|e| LakeError::Delta {
                table: name.clone(),
                source: Box::new(e),
            })?;
        table.load().await.map_err(|e| LakeError::Delta {
            table: name,
            source: Box::new(e),
        })?;
        Ok(done.version)
    }

    /// Names of the Delta tables that exist in `zone`, sorted.
    pub async fn list_tables(&self, zone: Zone) -> Result<Vec<String>> {
        use futures::TryStreamExt;
        let (store, prefix) = self.root_store_and_prefix()?;
        let zone_prefix = object_store::path::Path::from(format!("{prefix}{}", zone.as_str()));
        let listing = store
            .list_with_delimiter(Some(&zone_prefix))
            .await
            .map_err(|e| LakeError::ObjectStore {
                path: zone_prefix.to_string(),
                source: e,
            })?;
        let mut out = Vec::new();
        for dir in listing.common_prefixes {
            let Some(name) = dir.filename().map(str::to_string) else {
                continue;
            };
            let log = dir.clone().join("_delta_log");
            let mut s = store.list(Some(&log));
            if s.try_next()
                .await
                .map_err(|e| LakeError::ObjectStore {
                    path: log.to_string(),
                    source: e,
                })?
                .is_some()
            {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Deletes table `name` in `zone` entirely (its log and data files). Used for derived
    /// tables that are rebuilt from scratch when their schema changes. A missing table is
    /// not an error.
    pub async fn drop_table(&self, zone: Zone, name: &str) -> Result<()> {
        use futures::TryStreamExt;
        use object_store::ObjectStoreExt;
        let (store, prefix) = self.root_store_and_prefix()?;
        let table_prefix =
            object_store::path::Path::from(format!("{prefix}{}/{name}", zone.as_str()));
        let objects: Vec<object_store::path::Path> = store
            .list(Some(&table_prefix))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(|e| LakeError::ObjectStore {
                path: table_prefix.to_string(),
                source: e,
            })?;
        // The log goes first, so an interrupted drop never leaves a log pointing at
        // missing files.
        let (log, data): (Vec<_>, Vec<_>) = objects
            .into_iter()
            .partition(|p| p.as_ref().contains("/_delta_log/"));
        for p in log.into_iter().chain(data) {
            match store.delete(&p).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => {
                    return Err(LakeError::ObjectStore {
                        path: p.to_string(),
                        source: e,
                    });
                }
            }
        }
        if let Backend::Local = self.backend
            && let Ok(p) = self.table_url(zone, name).to_file_path()
        {
            let _ = std::fs::remove_dir_all(p);
        }
        Ok(())
    }

    /// The object store holding the lake root, and the key prefix of the root in it
    /// (empty or ending with `/`).
    fn root_store_and_prefix(&self) -> Result<(Arc<dyn ObjectStore>, String)> {
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
                            source: e,
                        }
                    })?;
                Ok((Arc::new(store), String::new()))
            }
            Backend::S3 => {
                let mut b =
                    object_store::aws::AmazonS3Builder::from_env().with_url(self.root.as_str());
                for (k, v) in s3_options_from_env() {
                    if let Ok(key) = k.to_ascii_lowercase().parse() {
                        b = b.with_config(key, v);
                    }
                }
                let store = b.build().map_err(|e| LakeError::ObjectStore {
                    path: self.root.to_string(),
                    source: e,
                })?;
                let p = self.root.path().trim_start_matches('/').to_string();
                Ok((Arc::new(store), p))
            }
        }
    }

    /// A DataFusion session with every table of every zone registered under its bare
    /// name (`yelp_review`) and its qualified name (`raw.yelp_review` is not used:
    /// names are unique across zones by convention; a later zone wins on a clash).
    pub async fn session(&self) -> Result<SessionContext> {
        let ctx = new_context();
        for zone in Zone::ALL {
            for name in self.list_tables(zone).await? {
                self.register(&ctx, zone, &name).await?;
            }
        }
        Ok(ctx)
    }

    /// Registers table `zone/name` in `ctx` under `name`.
    pub async fn register(&self, ctx: &SessionContext, zone: Zone, name: &str) -> Result<()> {
        let Some(table) = self.table(zone, name).await? else {
            return Err(LakeError::Schema {
                table: format!("{zone}/{name}"),
                reason: "no such table".into(),
            });
        };
        table
            .update_datafusion_session(&ctx.state())
            .map_err(|e| delta_err(zone, name, e))?;
        let provider = table.table_provider().await.map_err(LakeError::from)?;
        if ctx.table_exist(name)? {
            ctx.deregister_table(name)?;
        }
        ctx.register_table(name, provider)?;
        Ok(())
    }

    /// Runs `sql` over every table of the lake and collects the result.
    pub async fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        let ctx = self.session().await?;
        Ok(ctx.sql(sql).await?.collect().await?)
    }

    /// Reads a whole table (for tests and small tables).
    /// Batches come back in the table's own schema (string views, which the scan may
    /// produce, are cast back to plain strings).
    pub async fn read_table(&self, zone: Zone, name: &str) -> Result<Vec<RecordBatch>> {
        let ctx = new_context();
        self.register(&ctx, zone, name).await?;
        let batches = ctx.table(name).await?.collect().await?;
        batches.iter().map(plain_strings).collect()
    }
}

/// A DataFusion context whose results use the lake's own types (plain `Utf8` strings
/// rather than string views), so results compare and downcast as the schemas say.
pub fn new_context() -> SessionContext {
    let cfg = datafusion::prelude::SessionConfig::new().set_bool(
        "datafusion.execution.parquet.schema_force_view_types",
        false,
    );
    SessionContext::new_with_config(cfg)
}

/// Casts every string-view column of `batch` to a plain string column.
pub fn plain_strings(batch: &RecordBatch) -> Result<RecordBatch> {
    use arrow_schema::{DataType, Field, Schema};
    fn plain(t: &DataType) -> DataType {
        match t {
            DataType::Utf8View => DataType::Utf8,
            DataType::BinaryView => DataType::Binary,
            DataType::List(f) => DataType::List(Arc::new(
                f.as_ref().clone().with_data_type(plain(f.data_type())),
            )),
            DataType::Struct(fs) => DataType::Struct(
                fs.iter()
                    .map(|f| f.as_ref().clone().with_data_type(plain(f.data_type())))
                    .collect(),
            ),
            DataType::Map(f, sorted) => DataType::Map(
                Arc::new(f.as_ref().clone().with_data_type(plain(f.data_type()))),
                *sorted,
            ),
            other => other.clone(),
        }
    }
    let schema = batch.schema();
    if schema
        .fields()
        .iter()
        .all(|f| plain(f.data_type()) == *f.data_type())
    {
        return Ok(batch.clone());
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_data_type(plain(f.data_type())))
        .collect();
    let cols = batch
        .columns()
        .iter()
        .zip(&fields)
        .map(|(c, f)| arrow::compute::cast(c, f.data_type()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| LakeError::Query(Box::new(e.into())))?;
    let out_schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    RecordBatch::try_new(out_schema, cols).map_err(|e| LakeError::Query(Box::new(e.into())))
}

/// `AWS_*` environment variables as delta-rs storage options.
fn s3_options_from_env() -> HashMap<String, String> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("AWS_"))
        .collect()
}

fn delta_err(zone: Zone, name: &str, e: DeltaTableError) -> LakeError {
    LakeError::Delta {
        table: format!("{zone}/{name}"),
        source: Box::new(e),
    }
}

/// A [`Remove`] action for a data file that is currently in a table.
pub fn remove_action(path: &str, size: i64) -> Remove {
    Remove {
        path: path.to_string(),
        data_change: true,
        deletion_timestamp: Some(chrono::Utc::now().timestamp_millis()),
        extended_file_metadata: Some(true),
        partition_values: Some(HashMap::new()),
        size: Some(size),
        tags: None,
        deletion_vector: None,
        base_row_id: None,
        default_row_commit_version: None,
    }
}

/// The active data files of `table`: (path relative to the table root, size in bytes).
pub fn active_files(table: &DeltaTable) -> Result<Vec<(String, i64)>> {
    let snap = table.snapshot().map_err(|e| LakeError::Delta {
        table: table.table_url().to_string(),
        source: Box::new(e),
    })?;
    let data = snap.log_data();
    Ok(data
        .iter()
        .map(|f| (f.path().into_owned(), f.size()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]))
    }

    fn batch(ids: &[i64]) -> RecordBatch {
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int64Array::from(ids.to_vec())),
                Arc::new(StringArray::from(
                    ids.iter()
                        .map(|i| Some(format!("n{i}")))
                        .collect::<Vec<_>>(),
                )),
            ],
        )
        .unwrap()
    }

    async fn write_and_commit(lake: &Lake) -> DeltaTable {
        let mut t = lake
            .open_or_create(Zone::Raw, "t", &schema())
            .await
            .unwrap();
        let mut w = lake
            .data_file_writer(&t, "part-a.parquet", schema())
            .unwrap();
        w.write(&batch(&[1, 2, 3])).await.unwrap();
        let add = w.finish().await.unwrap().unwrap();
        let v = lake
            .commit(&mut t, vec![add], vec![], HashMap::new())
            .await
            .unwrap();
        assert_eq!(v, 1);
        t
    }

    #[tokio::test]
    async fn memory_lake_commit_is_visible_and_replaceable() {
        let lake = Lake::open("memory://").unwrap();
        let mut t = write_and_commit(&lake).await;
        assert_eq!(lake.list_tables(Zone::Raw).await.unwrap(), vec!["t"]);
        let rows: usize = lake
            .read_table(Zone::Raw, "t")
            .await
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum();
        assert_eq!(rows, 3);
        // Replace the file with another in one commit.
        let files = active_files(&t).unwrap();
        assert_eq!(files.len(), 1);
        let mut w = lake
            .data_file_writer(&t, "part-b.parquet", schema())
            .unwrap();
        w.write(&batch(&[7])).await.unwrap();
        let add = w.finish().await.unwrap().unwrap();
        let removes = files.iter().map(|(p, s)| remove_action(p, *s)).collect();
        lake.commit(&mut t, vec![add], removes, HashMap::new())
            .await
            .unwrap();
        let out = lake.sql("SELECT sum(id) AS s FROM t").await.unwrap();
        let s = out[0]
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .value(0);
        assert_eq!(s, 7);
    }

    #[tokio::test]
    async fn local_lake_records_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().join("lake").to_str().unwrap()).unwrap();
        let t = write_and_commit(&lake).await;
        let cfg = &t.snapshot().unwrap().metadata().configuration();
        assert_eq!(
            cfg.get(SCHEMA_VERSION_PROPERTY).map(|s| s.as_str()),
            Some(reviewlake_schema::SCHEMA_VERSION.to_string().as_str())
        );
        assert!(dir.path().join("lake/raw/t/_delta_log").is_dir());
    }

    #[test]
    fn rejects_unknown_scheme_and_bucketless_s3() {
        assert!(matches!(
            Lake::open("ftp://x/y"),
            Err(LakeError::InvalidLocation { .. })
        ));
        assert!(Lake::open("s3:///nobucket").is_err());
    }
}
