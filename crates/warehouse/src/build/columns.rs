//! Column vectors -> Arrow arrays of the warehouse types.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, ListArray, ListBuilder,
    StringArray, StringBuilder, StructArray, TimestampMicrosecondArray,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field};
use reviewlake_schema::warehouse::hours_interval_fields;

use crate::parse::OpenInterval;

pub(crate) fn utf8(v: Vec<Option<String>>) -> ArrayRef {
    Arc::new(StringArray::from(v))
}
pub(crate) fn utf8_nn(v: Vec<String>) -> ArrayRef {
    Arc::new(StringArray::from(v))
}
pub(crate) fn i64s(v: Vec<Option<i64>>) -> ArrayRef {
    Arc::new(Int64Array::from(v))
}
pub(crate) fn i64_nn(v: Vec<i64>) -> ArrayRef {
    Arc::new(Int64Array::from(v))
}
pub(crate) fn i32s(v: Vec<Option<i32>>) -> ArrayRef {
    Arc::new(Int32Array::from(v))
}
pub(crate) fn i32_nn(v: Vec<i32>) -> ArrayRef {
    Arc::new(Int32Array::from(v))
}
pub(crate) fn f64s(v: Vec<Option<f64>>) -> ArrayRef {
    Arc::new(Float64Array::from(v))
}
pub(crate) fn bools(v: Vec<Option<bool>>) -> ArrayRef {
    Arc::new(BooleanArray::from(v))
}
pub(crate) fn bool_nn(v: Vec<bool>) -> ArrayRef {
    Arc::new(BooleanArray::from(v))
}
pub(crate) fn ts(v: Vec<Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
}

pub(crate) fn list_utf8(v: Vec<Option<Vec<String>>>) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new()).with_field(Field::new(
        "element",
        DataType::Utf8,
        true,
    ));
    for row in v {
        match row {
            None => b.append(false),
            Some(items) => {
                for s in items {
                    b.values().append_value(s);
                }
                b.append(true);
            }
        }
    }
    Arc::new(b.finish())
}

pub(crate) fn list_i32(v: Vec<Option<Vec<i32>>>) -> ArrayRef {
    let mut b = ListBuilder::new(arrow::array::Int32Builder::new()).with_field(Field::new(
        "element",
        DataType::Int32,
        true,
    ));
    for row in v {
        match row {
            None => b.append(false),
            Some(items) => {
                for x in items {
                    b.values().append_value(x);
                }
                b.append(true);
            }
        }
    }
    Arc::new(b.finish())
}

pub(crate) fn hours(v: Vec<Option<Vec<OpenInterval>>>) -> ArrayRef {
    let mut offsets = Vec::with_capacity(v.len() + 1);
    offsets.push(0i32);
    let mut valid = Vec::with_capacity(v.len());
    let (mut day, mut open, mut close) = (Vec::new(), Vec::new(), Vec::new());
    for row in &v {
        valid.push(row.is_some());
        if let Some(items) = row {
            for iv in items {
                day.push(iv.day as i32);
                open.push(iv.open_minute as i32);
                close.push(iv.close_minute as i32);
            }
        }
        offsets.push(day.len() as i32);
    }
    let fields = hours_interval_fields();
    let values = StructArray::new(
        fields.clone(),
        vec![
            Arc::new(Int32Array::from(day)),
            Arc::new(Int32Array::from(open)),
            Arc::new(Int32Array::from(close)),
        ],
        None,
    );
    let item = Arc::new(Field::new("element", DataType::Struct(fields), true));
    Arc::new(ListArray::new(
        item,
        OffsetBuffer::new(offsets.into()),
        Arc::new(values),
        Some(NullBuffer::from(valid)),
    ))
}
