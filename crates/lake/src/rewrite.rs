//! Rewriting derived tables: every build replaces a table's whole content in one Delta
//! commit recorded as an overwrite (the previous files are removed in the same commit
//! that adds the new ones), so readers see either the old or the new table, never a
//! mix. A change of columns is part of that commit (a metadata action): the table keeps
//! its identity and history.

use std::collections::HashMap;

use arrow::array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::columns::{first_type_conflict, same_columns};
use crate::table::{remove_action, schema_version_of};
use crate::{CommitKind, DataFile, DataFileWriter, FileSink, Lake, LakeError, Result, Table, Zone};

/// One derived table being rewritten: write batches, then [`TableRewrite::commit`]
/// replaces the table's content atomically. Dropping it without committing leaves the
/// table as it was (the files written are never referenced; `vacuum` removes them).
///
/// The Parquet encoding runs in a task of its own, fed through a queue of a few
/// batches (`QUEUED_BATCHES`): the caller computes its next batches (a query, a walk
/// over its results) while the previous ones are compressed and written. Memory stays
/// bounded by the queue and one row group.
pub struct TableRewrite {
    schema: SchemaRef,
    table: Table,
    schema_change: bool,
    encoder: Option<Encoder>,
    run_id: String,
    rows: u64,
}

/// Rows per data file before a new file is started.
const ROWS_PER_FILE: u64 = 4_000_000;

/// Batches waiting for the encoding task, at most.
const QUEUED_BATCHES: usize = 4;

/// The task writing a [`TableRewrite`]'s data files, and its queue.
struct Encoder {
    queue: tokio::sync::mpsc::Sender<RecordBatch>,
    task: tokio::task::JoinHandle<Result<Vec<DataFile>>>,
}

impl Encoder {
    fn start(sink: FileSink, schema: SchemaRef, run_id: String) -> Encoder {
        let (queue, batches) = tokio::sync::mpsc::channel(QUEUED_BATCHES);
        let task = tokio::spawn(encode(sink, schema, run_id, batches));
        Encoder { queue, task }
    }

    /// Closes the queue and waits for the task: the data files it wrote, or its error.
    async fn finish(self, table: &str) -> Result<Vec<DataFile>> {
        let Encoder { queue, task } = self;
        drop(queue);
        task.await.map_err(|e| LakeError::Writer {
            table: table.to_string(),
            reason: e.to_string(),
        })?
    }
}

/// Writes the batches of `batches` into data files of at most [`ROWS_PER_FILE`] rows.
async fn encode(
    sink: FileSink,
    schema: SchemaRef,
    run_id: String,
    mut batches: tokio::sync::mpsc::Receiver<RecordBatch>,
) -> Result<Vec<DataFile>> {
    let mut files = Vec::new();
    let mut writer: Option<DataFileWriter> = None;
    let mut part = 0u32;
    while let Some(batch) = batches.recv().await {
        if writer.as_ref().is_some_and(|w| w.rows() >= ROWS_PER_FILE)
            && let Some(w) = writer.take()
            && let Some(f) = w.finish().await?
        {
            files.push(f);
        }
        let w = match writer.as_mut() {
            Some(w) => w,
            None => {
                part += 1;
                // Unique per write: an old version's file is never overwritten.
                let file = format!(
                    "part-{run_id}-{part:04}-{}.parquet",
                    &uuid::Uuid::new_v4().simple().to_string()[..12]
                );
                writer.insert(sink.writer(&file, schema.clone())?)
            }
        };
        w.write(&batch).await?;
    }
    if let Some(w) = writer.take()
        && let Some(f) = w.finish().await?
    {
        files.push(f);
    }
    Ok(files)
}

impl Drop for TableRewrite {
    fn drop(&mut self) {
        // Not committed: stop writing files nobody will reference.
        if let Some(e) = self.encoder.take() {
            e.task.abort();
        }
    }
}

impl TableRewrite {
    /// Opens (or creates) `zone/name` for rewriting with `schema`. `run_id` names the
    /// data files and is recorded in the commit.
    ///
    /// A table whose columns differ from `schema` gets the new schema in the same commit
    /// as its new content when columns were added or removed, or when the table was
    /// written by an older schema version. A column of the same name whose type differs
    /// in a table of the current schema version was changed by someone else: that is
    /// [`LakeError::Column`] (naming table, column, expected and found type), and nothing
    /// is written.
    pub async fn open(
        lake: &Lake,
        zone: Zone,
        name: &str,
        schema: SchemaRef,
        run_id: &str,
    ) -> Result<TableRewrite> {
        let (table, schema_change) = match lake.table(zone, name).await? {
            Some(existing) => {
                let have = existing.arrow_schema()?;
                if same_columns(&have, &schema) {
                    (existing, false)
                } else {
                    let ours = schema_version_of(&schema);
                    let theirs = existing.schema_version().unwrap_or(0);
                    if theirs >= ours
                        && let Some((column, expected, found)) = first_type_conflict(&schema, &have)
                    {
                        return Err(LakeError::Column {
                            table: format!("{zone}/{name}"),
                            column,
                            expected,
                            found,
                        });
                    }
                    tracing::info!(
                        table = %existing.label(),
                        "columns changed: the new schema is committed with the new content"
                    );
                    (existing, true)
                }
            }
            None => (lake.open_or_create(zone, name, &schema).await?, false),
        };
        Ok(TableRewrite {
            schema,
            table,
            schema_change,
            encoder: None,
            run_id: run_id.to_string(),
            rows: 0,
        })
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        self.table.name()
    }

    /// The table's zone.
    pub fn zone(&self) -> Zone {
        self.table.zone()
    }

    /// The schema batches must have.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Appends a batch (its columns must match the schema's types, in order). The
    /// batch is queued for the encoding task; an error of that task (a file that could
    /// not be written) is returned by the next `write` or by [`TableRewrite::commit`].
    pub async fn write(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let batch = batch
            .with_schema(self.schema.clone())
            .map_err(|e| LakeError::Schema {
                table: self.table.label(),
                reason: format!("batch does not match the table: {e}"),
            })?;
        let rows = batch.num_rows() as u64;
        let encoder = self.encoder.get_or_insert_with(|| {
            Encoder::start(
                self.table.file_sink(),
                self.schema.clone(),
                self.run_id.clone(),
            )
        });
        if encoder.queue.send(batch).await.is_err() {
            // The task has stopped: its error says why.
            let label = self.table.label();
            if let Some(e) = self.encoder.take() {
                e.finish(&label).await?;
            }
            return Err(LakeError::Writer {
                table: label,
                reason: "the encoding task stopped".into(),
            });
        }
        self.rows += rows;
        Ok(())
    }

    /// Closes the data files and commits them, replacing the table's previous content
    /// (and schema, when it changed); returns (rows written, the new table version).
    pub async fn commit(mut self) -> Result<(u64, i64)> {
        let files = match self.encoder.take() {
            Some(e) => e.finish(&self.table.label()).await?,
            None => Vec::new(),
        };
        let removes = self
            .table
            .files()?
            .into_iter()
            .map(|(p, s)| remove_action(&p, s))
            .collect();
        let mut meta = HashMap::new();
        meta.insert("reviewlake.run".to_string(), self.run_id.clone().into());
        meta.insert("reviewlake.rows".to_string(), self.rows.into());
        let new_schema = self
            .schema_change
            .then(|| (&self.schema, schema_version_of(&self.schema)));
        let version = self
            .table
            .commit_actions(files, removes, new_schema, CommitKind::Overwrite, meta)
            .await?;
        Ok((self.rows, version))
    }
}
