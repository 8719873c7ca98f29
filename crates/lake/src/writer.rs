//! Streaming Parquet data-file writer for Delta tables.

use std::collections::HashMap;

use arrow::record_batch::RecordBatch;
use arrow_schema::SchemaRef;
use deltalake::kernel::Add;

use crate::table::DataFile;
use deltalake::logstore::ObjectStoreRef;
use object_store::ObjectStoreExt;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::{LakeError, Result, store_err};

/// Rows are flushed to a new row group once the in-memory encoded size passes this.
/// Bounds the writer's memory whatever the row width.
const ROW_GROUP_BYTES: usize = 48 * 1024 * 1024;

/// Writes one Parquet data file (zstd) into a Delta table's folder, streaming: memory is
/// bounded by one row group. The file becomes part of the table only when the
/// [`DataFile`] returned by [`DataFileWriter::finish`] is committed
/// ([`crate::Table::commit`]).
pub struct DataFileWriter {
    store: ObjectStoreRef,
    path: Path,
    writer: AsyncArrowWriter<BufWriter>,
    rows: u64,
}

impl DataFileWriter {
    /// Starts `file_name` (relative to the table root) in the table whose store is `store`.
    pub(crate) fn new(store: ObjectStoreRef, file_name: &str, schema: SchemaRef) -> Result<Self> {
        let path = Path::from(file_name);
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(256 * 1024))
            .build();
        let obj = BufWriter::new(store.clone(), path.clone());
        let writer = AsyncArrowWriter::try_new(obj, schema, Some(props)).map_err(|e| {
            LakeError::Parquet {
                path: file_name.to_string(),
                source: Box::new(e),
            }
        })?;
        Ok(DataFileWriter {
            store,
            path,
            writer,
            rows: 0,
        })
    }

    /// Appends a batch.
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows() as u64;
        self.writer.write(batch).await.map_err(|e| self.perr(e))?;
        if self.writer.in_progress_size() > ROW_GROUP_BYTES {
            self.writer.flush().await.map_err(|e| self.perr(e))?;
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Closes the file and returns it for a commit, or `None` (and deletes the file)
    /// when no row was written.
    pub async fn finish(self) -> Result<Option<DataFile>> {
        let DataFileWriter {
            store,
            path,
            writer,
            rows,
        } = self;
        writer.close().await.map_err(|e| LakeError::Parquet {
            path: path.to_string(),
            source: Box::new(e),
        })?;
        let meta = store.head(&path).await.map_err(|e| store_err(&path, e))?;
        if rows == 0 {
            store.delete(&path).await.map_err(|e| store_err(&path, e))?;
            return Ok(None);
        }
        Ok(Some(DataFile(Add {
            path: path.to_string(),
            partition_values: HashMap::new(),
            size: meta.size as i64,
            modification_time: meta.last_modified.timestamp_millis(),
            data_change: true,
            stats: Some(format!("{{\"numRecords\":{rows}}}")),
            tags: None,
            deletion_vector: None,
            base_row_id: None,
            default_row_commit_version: None,
            clustering_provider: None,
        })))
    }

    fn perr(&self, e: parquet::errors::ParquetError) -> LakeError {
        LakeError::Parquet {
            path: self.path.to_string(),
            source: Box::new(e),
        }
    }
}
