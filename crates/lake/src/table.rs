//! One Delta table of the lake: open, create, write data files, commit.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::SchemaRef;
use deltalake::DeltaTable;
use deltalake::kernel::engine::arrow_conversion::{TryIntoArrow, TryIntoKernel};
use deltalake::kernel::transaction::CommitBuilder;
use deltalake::kernel::{Action, Add, MetadataExt, Remove, StructType};
use deltalake::protocol::{DeltaOperation, SaveMode};

use crate::{
    DataFileWriter, Lake, LakeError, Result, SCHEMA_VERSION_PROPERTY, Zone, delta_err, hooks,
};

/// A data file written into a table's folder and not yet committed: pass it to
/// [`Table::commit`]. Until then no reader sees it.
#[derive(Debug, Clone)]
pub struct DataFile(pub(crate) Add);

impl DataFile {
    /// Path of the file relative to the table root.
    pub fn path(&self) -> &str {
        &self.0.path
    }

    /// Size in bytes.
    pub fn size(&self) -> i64 {
        self.0.size
    }
}

/// Creates data files in one table's folder from any task (see [`Table::file_sink`]).
#[derive(Clone)]
pub struct FileSink {
    store: deltalake::logstore::ObjectStoreRef,
}

impl std::fmt::Debug for FileSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileSink")
    }
}

impl FileSink {
    /// A writer for a new Parquet data file `file_name` (relative to the table root).
    pub fn writer(&self, file_name: &str, schema: SchemaRef) -> Result<DataFileWriter> {
        DataFileWriter::new(self.store.clone(), file_name, schema)
    }
}

/// How a commit is recorded in the table's Delta history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitKind {
    /// New files only (`WRITE mode=Append`).
    Append,
    /// Some files replaced by others: `WRITE mode=Overwrite` with this predicate text
    /// describing what was replaced (e.g. the source files re-read).
    ReplaceWhere(String),
    /// The whole content replaced (`WRITE mode=Overwrite`).
    Overwrite,
}

/// A Delta table of the lake, at one version.
pub struct Table {
    pub(crate) zone: Zone,
    pub(crate) name: String,
    pub(crate) delta: DeltaTable,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("zone", &self.zone)
            .field("name", &self.name)
            .field("version", &self.version())
            .finish()
    }
}

impl Table {
    /// The table's zone.
    pub fn zone(&self) -> Zone {
        self.zone
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `zone/name`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.zone, self.name)
    }

    /// The Delta version this handle is at (`-1` before the first commit).
    pub fn version(&self) -> i64 {
        self.delta.version().map(|v| v as i64).unwrap_or(-1)
    }

    /// The table's schema as Arrow.
    pub fn arrow_schema(&self) -> Result<SchemaRef> {
        let snap = self.delta.snapshot().map_err(|e| self.err(e))?;
        let s: arrow_schema::Schema =
            snap.schema()
                .as_ref()
                .try_into_arrow()
                .map_err(|e: arrow_schema::ArrowError| LakeError::Schema {
                    table: self.label(),
                    reason: e.to_string(),
                })?;
        Ok(Arc::new(s))
    }

    /// The table's reviewlake schema version (its [`SCHEMA_VERSION_PROPERTY`]), if set.
    pub fn schema_version(&self) -> Option<u32> {
        let snap = self.delta.snapshot().ok()?;
        snap.metadata()
            .configuration()
            .get(SCHEMA_VERSION_PROPERTY)
            .and_then(|v| v.parse().ok())
    }

    /// The active data files: (path relative to the table root, size in bytes).
    pub fn files(&self) -> Result<Vec<(String, i64)>> {
        let snap = self.delta.snapshot().map_err(|e| self.err(e))?;
        Ok(snap
            .log_data()
            .iter()
            .map(|f| (f.path().into_owned(), f.size()))
            .collect())
    }

    /// The active data files as plain Parquet files: what an engine without a Delta
    /// reader (a Ballista cluster: delta-rs has no physical codec for its scan) reads
    /// to see exactly this version. Valid because the project writes no deletion
    /// vectors, no column mapping and no partitions; a table that has any is refused
    /// with [`LakeError::Unsupported`] rather than read wrong.
    pub fn parquet_files(&self) -> Result<Vec<String>> {
        let snap = self.delta.snapshot().map_err(|e| self.err(e))?;
        let unsupported = |reason: String| LakeError::Unsupported {
            table: self.label(),
            reason,
        };
        if let Some(mode) = snap
            .metadata()
            .configuration()
            .get("delta.columnMapping.mode")
            && mode != "none"
        {
            return Err(unsupported(format!(
                "column mapping ({mode}) cannot be read as plain Parquet files"
            )));
        }
        if !snap.metadata().partition_columns().is_empty() {
            return Err(unsupported(
                "partitioned tables cannot be read as a list of Parquet files".into(),
            ));
        }
        let mut out = Vec::new();
        for f in snap.log_data().iter() {
            if f.deletion_vector_descriptor().is_some() {
                return Err(unsupported(format!(
                    "file {} has a deletion vector: its Parquet rows are not the table's",
                    f.path()
                )));
            }
            out.push(f.path().into_owned());
        }
        Ok(out)
    }

    /// Rows of the active files, from the statistics each commit recorded (`None` if
    /// some file has none).
    pub fn row_count(&self) -> Option<u64> {
        let snap = self.delta.snapshot().ok()?;
        let mut n = 0u64;
        for f in snap.log_data().iter() {
            n += f.num_records()? as u64;
        }
        Some(n)
    }

    /// A writer for a new Parquet data file `file_name` (relative to the table root).
    /// The writer is independent of this handle: many may run at once, on any task.
    pub fn file_writer(&self, file_name: &str, schema: SchemaRef) -> Result<DataFileWriter> {
        DataFileWriter::new(self.delta.object_store(), file_name, schema)
    }

    /// A clonable, `Send` factory of data-file writers for this table, for tasks that
    /// write files in parallel while the handle stays with the committer.
    pub fn file_sink(&self) -> FileSink {
        FileSink {
            store: self.delta.object_store(),
        }
    }

    /// Commits `added` files and removes the active files for which `remove` returns
    /// true, as one atomic Delta commit recorded as `kind` (a `ReplaceWhere` that
    /// removes nothing is recorded as an append); returns the new version, or
    /// `None` when there was nothing to do. `app_metadata` lands in the commit info
    /// (e.g. the run id).
    pub async fn commit(
        &mut self,
        added: Vec<DataFile>,
        remove: &dyn Fn(&str) -> bool,
        kind: CommitKind,
        app_metadata: HashMap<String, serde_json::Value>,
    ) -> Result<Option<i64>> {
        let removes: Vec<Remove> = self
            .files()?
            .into_iter()
            .filter(|(p, _)| remove(p))
            .map(|(p, s)| remove_action(&p, s))
            .collect();
        if added.is_empty() && removes.is_empty() {
            return Ok(None);
        }
        let kind = match kind {
            CommitKind::ReplaceWhere(_) if removes.is_empty() => CommitKind::Append,
            k => k,
        };
        let v = self
            .commit_actions(added, removes, None, kind, app_metadata)
            .await?;
        Ok(Some(v))
    }

    /// The table's metadata with `schema` and schema version `version` (same table id,
    /// so the commit keeps the table's identity and history).
    fn metadata_for(
        &self,
        snapshot: &deltalake::table::state::DeltaTableState,
        schema: &SchemaRef,
        version: u32,
    ) -> Result<deltalake::kernel::Metadata> {
        let st: StructType =
            schema
                .as_ref()
                .try_into_kernel()
                .map_err(|e: arrow_schema::ArrowError| LakeError::Schema {
                    table: self.label(),
                    reason: e.to_string(),
                })?;
        snapshot
            .metadata()
            .clone()
            .with_schema(&st)
            .and_then(|m| {
                m.add_config_key(SCHEMA_VERSION_PROPERTY.to_string(), version.to_string())
            })
            .map_err(|e| LakeError::Schema {
                table: self.label(),
                reason: format!("new table metadata: {e}"),
            })
    }

    /// Commits adds, removes and optionally a new schema (a metadata action that keeps
    /// the table's identity and history) as one Delta commit.
    pub(crate) async fn commit_actions(
        &mut self,
        added: Vec<DataFile>,
        removes: Vec<Remove>,
        new_schema: Option<(&SchemaRef, u32)>,
        kind: CommitKind,
        app_metadata: HashMap<String, serde_json::Value>,
    ) -> Result<i64> {
        let snapshot = self.delta.snapshot().map_err(|e| self.err(e))?.clone();
        let mut actions: Vec<Action> = Vec::with_capacity(added.len() + removes.len() + 1);
        if let Some((schema, version)) = new_schema {
            actions.push(Action::Metadata(
                self.metadata_for(&snapshot, schema, version)?,
            ));
        }
        actions.extend(removes.into_iter().map(Action::Remove));
        actions.extend(added.into_iter().map(|f| Action::Add(f.0)));
        let op = match kind {
            CommitKind::Append => DeltaOperation::Write {
                mode: SaveMode::Append,
                partition_by: None,
                predicate: None,
            },
            CommitKind::ReplaceWhere(p) => DeltaOperation::Write {
                mode: SaveMode::Overwrite,
                partition_by: None,
                predicate: Some(p),
            },
            CommitKind::Overwrite => DeltaOperation::Write {
                mode: SaveMode::Overwrite,
                partition_by: None,
                predicate: None,
            },
        };
        let done = CommitBuilder::default()
            .with_actions(actions)
            .with_app_metadata(app_metadata)
            .build(Some(&snapshot), self.delta.log_store(), op)
            .await
            .map_err(|e| self.err(e))?;
        self.delta.load().await.map_err(|e| self.err(e))?;
        hooks::after_commit(&self.label());
        Ok(done.version as i64)
    }

    /// Adds the columns of `schema` this table lacks (they must be nullable) in one
    /// `ADD COLUMNS` commit, and records `schema`'s version; checks the shared columns'
    /// types. Returns whether anything changed.
    pub async fn add_missing_columns(&mut self, schema: &SchemaRef) -> Result<bool> {
        let have = self.arrow_schema()?;
        if let Some((column, expected, found)) = crate::columns::first_type_conflict(schema, &have)
        {
            return Err(LakeError::Column {
                table: self.label(),
                column,
                expected,
                found,
            });
        }
        let missing: Vec<arrow_schema::Field> = schema
            .fields()
            .iter()
            .filter(|f| have.field_with_name(f.name()).is_err())
            .map(|f| f.as_ref().clone())
            .collect();
        if missing.is_empty() {
            return Ok(false);
        }
        if let Some(f) = missing.iter().find(|f| !f.is_nullable()) {
            return Err(LakeError::Schema {
                table: self.label(),
                reason: format!(
                    "column {} is missing and cannot be added: it is not nullable",
                    f.name()
                ),
            });
        }
        let mut fields: Vec<arrow_schema::Field> =
            have.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.extend(missing.iter().cloned());
        let merged = Arc::new(arrow_schema::Schema::new_with_metadata(
            fields,
            schema.metadata().clone(),
        ));
        let added: StructType = (&arrow_schema::Schema::new(missing.clone()))
            .try_into_kernel()
            .map_err(|e: arrow_schema::ArrowError| LakeError::Schema {
                table: self.label(),
                reason: e.to_string(),
            })?;
        tracing::info!(
            table = %self.label(),
            columns = ?missing.iter().map(|f| f.name()).collect::<Vec<_>>(),
            "adding columns (schema evolution)"
        );
        self.commit_metadata(
            &merged,
            schema_version_of(schema),
            DeltaOperation::AddColumn {
                fields: added.fields().cloned().collect(),
            },
        )
        .await?;
        Ok(true)
    }

    /// Commits only a new schema (and schema version) for the table.
    async fn commit_metadata(
        &mut self,
        schema: &SchemaRef,
        version: u32,
        op: DeltaOperation,
    ) -> Result<i64> {
        let snapshot = self.delta.snapshot().map_err(|e| self.err(e))?.clone();
        let meta = self.metadata_for(&snapshot, schema, version)?;
        let done = CommitBuilder::default()
            .with_actions(vec![Action::Metadata(meta)])
            .build(Some(&snapshot), self.delta.log_store(), op)
            .await
            .map_err(|e| self.err(e))?;
        self.delta.load().await.map_err(|e| self.err(e))?;
        hooks::after_commit(&self.label());
        Ok(done.version as i64)
    }

    fn err(&self, e: deltalake::DeltaTableError) -> LakeError {
        delta_err(self.zone, &self.name, e)
    }
}

impl Lake {
    /// Opens table `name` in `zone` at its latest version; `None` if it does not exist.
    pub async fn table(&self, zone: Zone, name: &str) -> Result<Option<Table>> {
        self.load_table(zone, name, None).await
    }

    /// Opens table `name` in `zone` at `version` (Delta time travel).
    pub async fn table_at(&self, zone: Zone, name: &str, version: i64) -> Result<Table> {
        self.load_table(zone, name, Some(version))
            .await?
            .ok_or_else(|| LakeError::Schema {
                table: format!("{zone}/{name}"),
                reason: "no such table".into(),
            })
    }

    async fn load_table(
        &self,
        zone: Zone,
        name: &str,
        version: Option<i64>,
    ) -> Result<Option<Table>> {
        let builder = self.builder(zone, name)?;
        if let Some(p) = self.local_table_dir(zone, name)
            && !p.join("_delta_log").is_dir()
        {
            return Ok(None);
        }
        let builder = match version {
            Some(v) => builder.with_version(v.max(0) as _),
            None => builder,
        };
        let mut t = builder.build().map_err(|e| delta_err(zone, name, e))?;
        self.count_load();
        let loaded = match version {
            Some(v) => t.load_version(v.max(0) as _).await,
            None => t.load().await,
        };
        match loaded {
            Ok(()) => Ok(Some(Table {
                zone,
                name: name.to_string(),
                delta: t,
            })),
            Err(deltalake::DeltaTableError::NotATable(_)) => Ok(None),
            Err(e) => Err(delta_err(zone, name, e)),
        }
    }

    fn local_table_dir(&self, zone: Zone, name: &str) -> Option<std::path::PathBuf> {
        match self.backend {
            crate::Backend::Local => self.table_url(zone, name).to_file_path().ok(),
            _ => None,
        }
    }

    /// Opens table `name` in `zone`, creating it empty with `schema` if it does not exist.
    /// The schema version (from the schema's metadata) is recorded as the table property
    /// [`SCHEMA_VERSION_PROPERTY`].
    ///
    /// An existing table that lacks some (nullable) columns of `schema` — written by an
    /// older release — gets them in one `ADD COLUMNS` commit (old rows read them as
    /// null; history kept). A column whose type differs is [`LakeError::Column`].
    pub async fn open_or_create(
        &self,
        zone: Zone,
        name: &str,
        schema: &SchemaRef,
    ) -> Result<Table> {
        if let Some(mut t) = self.table(zone, name).await? {
            t.add_missing_columns(schema).await?;
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
        let version = schema_version_of(schema).to_string();
        if let Some(p) = self.local_table_dir(zone, name) {
            std::fs::create_dir_all(&p).map_err(|e| LakeError::Io {
                path: p.display().to_string(),
                source: e,
            })?;
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
        hooks::after_commit(&format!("{zone}/{name}"));
        Ok(Table {
            zone,
            name: name.to_string(),
            delta: created,
        })
    }
}

/// The reviewlake schema version recorded in a schema's metadata.
pub(crate) fn schema_version_of(schema: &SchemaRef) -> u32 {
    schema
        .metadata()
        .get(reviewlake_schema::SCHEMA_VERSION_KEY)
        .and_then(|v| v.parse().ok())
        .unwrap_or(reviewlake_schema::SCHEMA_VERSION)
}

/// A [`Remove`] action for a data file that is currently in a table.
pub(crate) fn remove_action(path: &str, size: i64) -> Remove {
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
