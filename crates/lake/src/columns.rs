//! Checked, typed access to columns by name, and schema checks against what this
//! release expects: a table with an unexpected type is an error naming the table, the
//! column, the expected and the found type — never a panic, never a misread.

use arrow::array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array,
    ListArray, MapArray, RecordBatch, StringArray, StructArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Schema};

use crate::{LakeError, Result};

/// Typed access to a batch's columns by name; every accessor checks the type and
/// returns [`LakeError::Column`] naming the table and column when it does not fit.
///
/// ```
/// use std::sync::Arc;
/// use arrow::array::{Int64Array, RecordBatch, StringArray};
/// use arrow_schema::{DataType, Field, Schema};
/// use reviewlake_lake::Columns;
///
/// let schema = Arc::new(Schema::new(vec![
///     Field::new("id", DataType::Int64, false),
///     Field::new("name", DataType::Utf8, true),
/// ]));
/// let batch = RecordBatch::try_new(schema, vec![
///     Arc::new(Int64Array::from(vec![1, 2])),
///     Arc::new(StringArray::from(vec![Some("a"), None])),
/// ]).unwrap();
/// let c = Columns::new(&batch, "demo");
/// assert_eq!(c.i64("id").unwrap().value(1), 2);
/// let err = c.f64("name").unwrap_err().to_string();
/// assert_eq!(err, "table demo, column name: expected Float64, found Utf8");
/// assert!(c.str("nope").unwrap_err().to_string().contains("found missing"));
/// ```
#[derive(Clone, Copy)]
pub struct Columns<'a> {
    batch: &'a RecordBatch,
    table: &'a str,
}

impl<'a> Columns<'a> {
    /// Accessor over `batch`, which came from `table` (named in errors).
    pub fn new(batch: &'a RecordBatch, table: &'a str) -> Columns<'a> {
        Columns { batch, table }
    }

    /// The batch.
    pub fn batch(&self) -> &'a RecordBatch {
        self.batch
    }

    /// Rows in the batch.
    pub fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// The column called `name`, whatever its type.
    pub fn array(&self, name: &str) -> Result<&'a ArrayRef> {
        self.batch
            .column_by_name(name)
            .ok_or_else(|| self.error(name, "any type", "missing".into()))
    }

    fn error(&self, name: &str, expected: &str, found: String) -> LakeError {
        LakeError::Column {
            table: self.table.to_string(),
            column: name.to_string(),
            expected: expected.to_string(),
            found,
        }
    }

    fn typed<T: 'static>(&self, name: &str, expected: &str) -> Result<&'a T> {
        let a = self
            .batch
            .column_by_name(name)
            .ok_or_else(|| self.error(name, expected, "missing".into()))?;
        a.as_any()
            .downcast_ref::<T>()
            .ok_or_else(|| self.error(name, expected, type_name(a.data_type())))
    }

    /// A `Utf8` column.
    pub fn str(&self, name: &str) -> Result<&'a StringArray> {
        self.typed(name, "Utf8")
    }
    /// An `Int64` column.
    pub fn i64(&self, name: &str) -> Result<&'a Int64Array> {
        self.typed(name, "Int64")
    }
    /// An `Int32` column.
    pub fn i32(&self, name: &str) -> Result<&'a Int32Array> {
        self.typed(name, "Int32")
    }
    /// A `Float64` column.
    pub fn f64(&self, name: &str) -> Result<&'a Float64Array> {
        self.typed(name, "Float64")
    }
    /// A `Boolean` column.
    pub fn bool(&self, name: &str) -> Result<&'a BooleanArray> {
        self.typed(name, "Boolean")
    }
    /// A `Date32` column.
    pub fn date32(&self, name: &str) -> Result<&'a Date32Array> {
        self.typed(name, "Date32")
    }
    /// A `Timestamp(Microsecond, _)` column (values are µs since the epoch, UTC).
    pub fn timestamp_us(&self, name: &str) -> Result<&'a TimestampMicrosecondArray> {
        self.typed(name, "Timestamp(µs)")
    }
    /// A `Binary` column.
    pub fn binary(&self, name: &str) -> Result<&'a BinaryArray> {
        self.typed(name, "Binary")
    }
    /// A `List` column.
    pub fn list(&self, name: &str) -> Result<&'a ListArray> {
        self.typed(name, "List")
    }
    /// A `Map` column.
    pub fn map(&self, name: &str) -> Result<&'a MapArray> {
        self.typed(name, "Map")
    }
    /// A `Struct` column.
    pub fn strukt(&self, name: &str) -> Result<&'a StructArray> {
        self.typed(name, "Struct")
    }
}

/// A short, stable name of an Arrow type for messages.
pub(crate) fn type_name(t: &DataType) -> String {
    match t {
        DataType::Timestamp(u, tz) => format!(
            "Timestamp({u:?}{})",
            tz.as_ref().map(|z| format!(", {z}")).unwrap_or_default()
        ),
        DataType::List(f) | DataType::LargeList(f) => {
            format!("List({})", type_name(f.data_type()))
        }
        DataType::Map(..) => "Map".into(),
        DataType::Struct(_) => "Struct".into(),
        other => format!("{other:?}"),
    }
}

/// Whether data of type `found` (as a reader produces it) serves as `expected`: equal
/// up to string views, field names of nested types, nullability and time zone spelling.
pub(crate) fn compatible(expected: &DataType, found: &DataType) -> bool {
    use DataType::*;
    match (expected, found) {
        (Utf8, Utf8 | Utf8View | LargeUtf8) => true,
        (Binary, Binary | BinaryView | LargeBinary) => true,
        (Timestamp(a, _), Timestamp(b, _)) => a == b,
        (List(a), List(b) | LargeList(b)) => compatible(a.data_type(), b.data_type()),
        (Map(a, _), Map(b, _)) => compatible(a.data_type(), b.data_type()),
        (Struct(a), Struct(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b.iter())
                    .all(|(x, y)| x.name() == y.name() && compatible(x.data_type(), y.data_type()))
        }
        (a, b) => a == b,
    }
}

/// Checks that every column of `expected` is in `found` with a compatible type.
/// Columns `found` has beyond `expected` are allowed.
pub(crate) fn check_schema(table: &str, expected: &Schema, found: &Schema) -> Result<()> {
    for f in expected.fields() {
        match found.field_with_name(f.name()) {
            Err(_) => {
                return Err(LakeError::Column {
                    table: table.to_string(),
                    column: f.name().clone(),
                    expected: type_name(f.data_type()),
                    found: "missing".into(),
                });
            }
            Ok(g) if !compatible(f.data_type(), g.data_type()) => {
                return Err(LakeError::Column {
                    table: table.to_string(),
                    column: f.name().clone(),
                    expected: type_name(f.data_type()),
                    found: type_name(g.data_type()),
                });
            }
            Ok(_) => {}
        }
    }
    Ok(())
}

/// The first column present in both schemas whose types differ: (name, expected, found).
pub(crate) fn first_type_conflict(
    expected: &Schema,
    found: &Schema,
) -> Option<(String, String, String)> {
    expected.fields().iter().find_map(|f| {
        let g = found.field_with_name(f.name()).ok()?;
        (!compatible(f.data_type(), g.data_type())).then(|| {
            (
                f.name().clone(),
                type_name(f.data_type()),
                type_name(g.data_type()),
            )
        })
    })
}

/// Whether two schemas have the same columns, in order, with compatible types and
/// the same nullability.
pub(crate) fn same_columns(a: &Schema, b: &Schema) -> bool {
    a.fields().len() == b.fields().len()
        && a.fields().iter().zip(b.fields()).all(|(x, y)| {
            x.name() == y.name()
                && x.is_nullable() == y.is_nullable()
                && compatible(x.data_type(), y.data_type())
                && compatible(y.data_type(), x.data_type())
        })
}
