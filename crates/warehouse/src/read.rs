//! Streaming reads of raw tables through the snapshot's query session, and typed
//! column access (the lake's checked accessor).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, MapArray, RecordBatch, StringArray,
};
use reviewlake_lake::QuerySession;

use crate::{Result, WarehouseError};

/// Typed access to a batch's columns by name, with errors naming table and column.
pub(crate) type Cols<'a> = reviewlake_lake::Columns<'a>;

/// A raw table of the snapshot the build reads.
pub(crate) struct RawTable {
    session: QuerySession,
    name: String,
    exists: bool,
}

impl RawTable {
    pub(crate) async fn open(session: &QuerySession, name: &str) -> Result<RawTable> {
        Ok(RawTable {
            session: session.clone(),
            name: name.to_string(),
            exists: session.has_table(name),
        })
    }

    /// Whether the raw table exists in the snapshot.
    pub(crate) fn exists(&self) -> bool {
        self.exists
    }

    /// Streams `SELECT <cols> FROM <table>` (in no particular order); `None` if the
    /// table does not exist.
    pub(crate) async fn stream(&self, cols: &[&str]) -> Result<Option<BatchStream>> {
        if !self.exists {
            return Ok(None);
        }
        let list = cols
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        self.query(&format!("SELECT {list} FROM \"{}\"", self.name))
            .await
            .map(Some)
    }

    /// Streams the result of an arbitrary query over the snapshot.
    pub(crate) async fn query(&self, sql: &str) -> Result<BatchStream> {
        let inner = self.session.stream(sql).await.map_err(|e| match e {
            reviewlake_lake::LakeError::Query(q) => WarehouseError::Query {
                sql: sql.to_string(),
                source: q,
            },
            other => WarehouseError::Lake(other),
        })?;
        Ok(BatchStream {
            inner,
            table: self.name.clone(),
        })
    }
}

/// A stream of record batches with plain (non-view) strings.
pub(crate) struct BatchStream {
    inner: reviewlake_lake::BatchStream,
    table: String,
}

impl BatchStream {
    pub(crate) async fn next(&mut self) -> Result<Option<RecordBatch>> {
        match self.inner.next().await {
            None => Ok(None),
            Some(Err(reviewlake_lake::LakeError::Query(e))) => Err(WarehouseError::Read {
                table: self.table.clone(),
                source: e,
            }),
            Some(Err(e)) => Err(e.into()),
            Some(Ok(b)) => Ok(Some(b)),
        }
    }
}

/// All columns of a batch except the lineage ones (for content hashing).
pub(crate) fn content_columns(batch: &RecordBatch) -> Vec<ArrayRef> {
    let schema = batch.schema();
    schema
        .fields()
        .iter()
        .zip(batch.columns())
        .filter(|(f, _)| !f.name().starts_with('_'))
        .map(|(_, c)| Arc::clone(c))
        .collect()
}

/// The string at `i`, `None` if null.
#[inline]
pub(crate) fn opt_str(a: &StringArray, i: usize) -> Option<&str> {
    if a.is_null(i) { None } else { Some(a.value(i)) }
}

/// The i64 at `i`, `None` if null.
#[inline]
pub(crate) fn opt_i64(a: &Int64Array, i: usize) -> Option<i64> {
    if a.is_null(i) { None } else { Some(a.value(i)) }
}

/// The f64 at `i`, `None` if null or NaN.
#[inline]
pub(crate) fn opt_f64(a: &Float64Array, i: usize) -> Option<f64> {
    if a.is_null(i) || a.value(i).is_nan() {
        None
    } else {
        Some(a.value(i))
    }
}

/// The (key, value) string pairs of a map<string, string> at row `i`.
pub(crate) fn map_str_entries(m: &MapArray, i: usize) -> Vec<(&str, Option<&str>)> {
    if m.is_null(i) {
        return Vec::new();
    }
    let offsets = m.value_offsets();
    let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
    let keys = m.keys().as_string_opt::<i32>();
    let values = m.values().as_string_opt::<i32>();
    let (Some(keys), Some(values)) = (keys, values) else {
        return Vec::new();
    };
    (start..end)
        .map(|j| (keys.value(j), opt_str(values, j)))
        .collect()
}

/// The strings of a list<string> value (nulls skipped).
pub(crate) fn list_strs(list: &dyn Array) -> Vec<&str> {
    match list.as_string_opt::<i32>() {
        Some(s) => (0..s.len()).filter_map(|j| opt_str(s, j)).collect(),
        None => Vec::new(),
    }
}
