//! Streaming reads of raw tables through DataFusion, and typed column access.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, ListArray, MapArray,
    RecordBatch, StringArray, StructArray,
};
use arrow::datatypes::{Float64Type, Int64Type};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use reviewlake_lake::{Lake, Zone, new_context, plain_strings};

use crate::{Result, WarehouseError};

/// A raw table opened for streaming.
pub(crate) struct RawTable {
    ctx: SessionContext,
    name: String,
    exists: bool,
}

impl RawTable {
    pub(crate) async fn open(lake: &Lake, name: &str) -> Result<RawTable> {
        let ctx = new_context();
        let exists = lake.table(Zone::Raw, name).await?.is_some();
        if exists {
            lake.register(&ctx, Zone::Raw, name).await?;
        }
        Ok(RawTable {
            ctx,
            name: name.to_string(),
            exists,
        })
    }

    /// Whether the raw table exists.
    pub(crate) fn exists(&self) -> bool {
        self.exists
    }

    /// Streams `SELECT <cols> FROM <table>` (in no particular order); empty if the table
    /// does not exist.
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

    /// Streams the result of an arbitrary query over this table (registered under its
    /// name).
    pub(crate) async fn query(&self, sql: &str) -> Result<BatchStream> {
        let df = self
            .ctx
            .sql(sql)
            .await
            .map_err(WarehouseError::query(sql))?;
        let s = df
            .execute_stream()
            .await
            .map_err(WarehouseError::query(sql))?;
        Ok(BatchStream {
            inner: s,
            table: self.name.clone(),
        })
    }
}

/// A stream of record batches with plain (non-view) strings.
pub(crate) struct BatchStream {
    inner: SendableRecordBatchStream,
    table: String,
}

impl BatchStream {
    pub(crate) async fn next(&mut self) -> Result<Option<RecordBatch>> {
        match self.inner.next().await {
            None => Ok(None),
            Some(Err(e)) => Err(WarehouseError::Read {
                table: self.table.clone(),
                source: Box::new(e),
            }),
            Some(Ok(b)) => Ok(Some(plain_strings(&b)?)),
        }
    }
}

/// Typed access to a batch's columns by name, with errors naming the column.
pub(crate) struct Cols<'a> {
    pub batch: &'a RecordBatch,
    table: &'a str,
}

impl<'a> Cols<'a> {
    pub(crate) fn new(batch: &'a RecordBatch, table: &'a str) -> Self {
        Cols { batch, table }
    }

    pub(crate) fn col(&self, name: &str) -> Result<&'a ArrayRef> {
        self.batch
            .column_by_name(name)
            .ok_or_else(|| WarehouseError::Column {
                table: self.table.to_string(),
                column: name.to_string(),
                reason: "missing".into(),
            })
    }

    fn typed<T: 'static>(&self, name: &str, want: &str) -> Result<&'a T> {
        self.col(name)?
            .as_any()
            .downcast_ref::<T>()
            .ok_or_else(|| WarehouseError::Column {
                table: self.table.to_string(),
                column: name.to_string(),
                reason: format!("expected {want}"),
            })
    }

    pub(crate) fn str(&self, name: &str) -> Result<&'a StringArray> {
        self.typed::<StringArray>(name, "Utf8")
    }
    pub(crate) fn i64(&self, name: &str) -> Result<&'a Int64Array> {
        match self.col(name)?.as_primitive_opt::<Int64Type>() {
            Some(a) => Ok(a),
            None => self.typed::<Int64Array>(name, "Int64"),
        }
    }
    pub(crate) fn f64(&self, name: &str) -> Result<&'a Float64Array> {
        match self.col(name)?.as_primitive_opt::<Float64Type>() {
            Some(a) => Ok(a),
            None => self.typed::<Float64Array>(name, "Float64"),
        }
    }
    pub(crate) fn list(&self, name: &str) -> Result<&'a ListArray> {
        self.typed::<ListArray>(name, "List")
    }
    pub(crate) fn map(&self, name: &str) -> Result<&'a MapArray> {
        self.typed::<MapArray>(name, "Map")
    }
    pub(crate) fn strukt(&self, name: &str) -> Result<&'a StructArray> {
        self.typed::<StructArray>(name, "Struct")
    }
    #[allow(dead_code)]
    pub(crate) fn bool(&self, name: &str) -> Result<&'a BooleanArray> {
        self.typed::<BooleanArray>(name, "Boolean")
    }
    /// All columns except the lineage ones (for content hashing).
    pub(crate) fn content_columns(&self) -> Vec<ArrayRef> {
        let schema = self.batch.schema();
        schema
            .fields()
            .iter()
            .zip(self.batch.columns())
            .filter(|(f, _)| !f.name().starts_with('_'))
            .map(|(_, c)| Arc::clone(c))
            .collect()
    }
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
