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
use crate::{CommitKind, DataFile, DataFileWriter, Lake, LakeError, Result, Table, Zone};

/// One derived table being rewritten: write batches, then [`TableRewrite::commit`]
/// replaces the table's content atomically. Dropping it without committing leaves the
/// table as it was (the files written are never referenced; `vacuum` removes them).
pub struct TableRewrite {
    schema: SchemaRef,
    table: Table,
    schema_change: bool,
    writer: Option<DataFileWriter>,
    files: Vec<DataFile>,
    run_id: String,
    part: u32,
    rows: u64,
}

/// Rows per data file before a new file is started.
const ROWS_PER_FILE: u64 = 4_000_000;

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
            writer: None,
            files: Vec::new(),
            run_id: run_id.to_string(),
            part: 0,
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

    /// Appends a batch (its columns must match the schema's types, in order).
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
        if self
            .writer
            .as_ref()
            .is_some_and(|w| w.rows() >= ROWS_PER_FILE)
            && let Some(w) = self.writer.take()
            && let Some(f) = w.finish().await?
        {
            self.files.push(f);
        }
        if self.writer.is_none() {
            self.part += 1;
            // Unique per write: an old version's file is never overwritten.
            let file = format!(
                "part-{}-{:04}-{}.parquet",
                self.run_id,
                self.part,
                &uuid::Uuid::new_v4().simple().to_string()[..12]
            );
            self.writer = Some(self.table.file_writer(&file, self.schema.clone())?);
        }
        self.rows += batch.num_rows() as u64;
        if let Some(w) = self.writer.as_mut() {
            w.write(&batch).await?;
        }
        Ok(())
    }

    /// Closes the data files and commits them, replacing the table's previous content
    /// (and schema, when it changed); returns (rows written, the new table version).
    pub async fn commit(mut self) -> Result<(u64, i64)> {
        if let Some(w) = self.writer.take()
            && let Some(f) = w.finish().await?
        {
            self.files.push(f);
        }
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
            .commit_actions(
                std::mem::take(&mut self.files),
                removes,
                new_schema,
                CommitKind::Overwrite,
                meta,
            )
            .await?;
        Ok((self.rows, version))
    }
}
