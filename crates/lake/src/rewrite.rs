//! Rewriting derived tables: every build replaces a table's whole content in one Delta
//! commit (the previous files are removed in the same commit that adds the new ones), so
//! readers see either the old or the new table, never a mix.

use std::collections::HashMap;

use arrow::array::RecordBatch;
use arrow_schema::SchemaRef;
use deltalake::DeltaTable;
use deltalake::kernel::Add;

use crate::{DataFileWriter, Lake, LakeError, Result, Zone, active_files, remove_action};

/// One derived table being rewritten: write batches, then [`TableRewrite::commit`]
/// replaces the table's content atomically. Dropping it without committing leaves the
/// table as it was (the files written are never referenced).
pub struct TableRewrite {
    zone: Zone,
    name: String,
    schema: SchemaRef,
    table: DeltaTable,
    writer: Option<DataFileWriter>,
    adds: Vec<Add>,
    run_id: String,
    part: u32,
    rows: u64,
}

/// Rows per data file before a new file is started.
const ROWS_PER_FILE: u64 = 4_000_000;

impl TableRewrite {
    /// Opens (or creates) `zone/name` for rewriting with `schema`; a table whose columns
    /// differ (an older release wrote it) is dropped and recreated. `run_id` names the
    /// data files and is recorded in the commit.
    pub async fn open(
        lake: &Lake,
        zone: Zone,
        name: &str,
        schema: SchemaRef,
        run_id: &str,
    ) -> Result<TableRewrite> {
        if let Some(existing) = lake.table(zone, name).await?
            && !same_columns(&existing, &schema)
        {
            tracing::info!(table = name, "schema changed: dropping and recreating");
            lake.drop_table(zone, name).await?;
        }
        let table = lake.open_or_create(zone, name, &schema).await?;
        Ok(TableRewrite {
            zone,
            name: name.to_string(),
            schema,
            table,
            writer: None,
            adds: Vec::new(),
            run_id: run_id.to_string(),
            part: 0,
            rows: 0,
        })
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The schema batches must have.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Appends a batch (its columns must match the schema's types, in order).
    pub async fn write(&mut self, lake: &Lake, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let batch = batch
            .with_schema(self.schema.clone())
            .map_err(|e| LakeError::Schema {
                table: format!("{}/{}", self.zone, self.name),
                reason: format!("batch does not match the table: {e}"),
            })?;
        if self
            .writer
            .as_ref()
            .is_some_and(|w| w.rows() >= ROWS_PER_FILE)
            && let Some(w) = self.writer.take()
            && let Some(add) = w.finish().await?
        {
            self.adds.push(add);
        }
        if self.writer.is_none() {
            self.part += 1;
            let file = format!("part-{}-{:04}.parquet", self.run_id, self.part);
            self.writer = Some(lake.data_file_writer(&self.table, &file, self.schema.clone())?);
        }
        self.rows += batch.num_rows() as u64;
        if let Some(w) = self.writer.as_mut() {
            w.write(&batch).await?;
        }
        Ok(())
    }

    /// Closes the data files and commits them, replacing the table's previous content;
    /// returns the rows written.
    pub async fn commit(mut self, lake: &Lake) -> Result<u64> {
        if let Some(w) = self.writer.take()
            && let Some(add) = w.finish().await?
        {
            self.adds.push(add);
        }
        let removes = active_files(&self.table)?
            .into_iter()
            .map(|(p, s)| remove_action(&p, s))
            .collect();
        let mut meta = HashMap::new();
        meta.insert("reviewlake.run".to_string(), self.run_id.clone().into());
        meta.insert("reviewlake.rows".to_string(), self.rows.into());
        lake.commit(&mut self.table, self.adds, removes, meta)
            .await?;
        Ok(self.rows)
    }
}

fn same_columns(table: &DeltaTable, schema: &SchemaRef) -> bool {
    use deltalake::kernel::StructType;
    use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
    let Ok(snap) = table.snapshot() else {
        return false;
    };
    let existing = snap.schema();
    let Ok(want): std::result::Result<StructType, _> = schema.as_ref().try_into_kernel() else {
        return false;
    };
    let have: Vec<_> = existing
        .fields()
        .map(|f| (f.name().clone(), f.data_type().clone(), f.is_nullable()))
        .collect();
    let want: Vec<_> = want
        .fields()
        .map(|f| (f.name().clone(), f.data_type().clone(), f.is_nullable()))
        .collect();
    have == want
}
