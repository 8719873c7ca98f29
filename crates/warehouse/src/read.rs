//! Streaming reads of raw tables through the snapshot's query session, and typed
//! column access (the lake's checked accessor).

use std::cell::OnceCell;

use arrow::array::{Array, AsArray, Float64Array, Int64Array, MapArray, RecordBatch, StringArray};
use reviewlake_lake::QuerySession;
use reviewlake_schema::lineage;
use serde_json::{Map, Value};

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

    /// The table's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Its content columns (all but the lineage ones; the rescued fields are content),
    /// quoted and comma-separated for a query.
    pub(crate) async fn content_columns(&self) -> Result<String> {
        let s = self
            .query(&format!("SELECT * FROM \"{}\" LIMIT 0", self.name))
            .await?;
        Ok(s.inner
            .schema()
            .fields()
            .iter()
            .map(|f| f.name())
            .filter(|n| *n != lineage::SOURCE_FILE && *n != lineage::LINE)
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", "))
    }

    /// Whether the raw table exists in the snapshot.
    pub(crate) fn exists(&self) -> bool {
        self.exists
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

/// The `_rescued_data` column of a raw batch: per row, the JSON object of the fields
/// ingest could not put in a typed column (null when there were none).
#[derive(Clone, Copy)]
pub(crate) struct RescuedCol<'a>(&'a StringArray);

impl<'a> RescuedCol<'a> {
    /// The column of `c`'s batch (an error naming the table if it is missing).
    pub(crate) fn of(c: &Cols<'a>) -> Result<RescuedCol<'a>> {
        Ok(RescuedCol(c.str(lineage::RESCUED_DATA)?))
    }

    /// The column `a` (a `_rescued_data` column however it was read).
    pub(crate) fn new(a: &'a StringArray) -> RescuedCol<'a> {
        RescuedCol(a)
    }

    /// Row `i`'s rescued fields, parsed on first use.
    pub(crate) fn row(&self, i: usize) -> Rescued<'a> {
        Rescued {
            text: opt_str(self.0, i),
            parsed: OnceCell::new(),
        }
    }
}

/// The rescued fields of one raw row. The JSON is parsed (with `serde_json`) the first
/// time a field is asked for, and only when the row has any: rows of the current
/// releases, which have none, cost nothing.
pub(crate) struct Rescued<'a> {
    text: Option<&'a str>,
    parsed: OnceCell<Option<Map<String, Value>>>,
}

impl Rescued<'_> {
    /// Rescued field `key` with its original JSON value; `None` when absent or null.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        let text = self.text?;
        self.parsed
            .get_or_init(|| match serde_json::from_str(text) {
                Ok(Value::Object(m)) => Some(m),
                _ => None,
            })
            .as_ref()?
            .get(key)
            .filter(|v| !v.is_null())
    }

    /// Rescued field `key` as a boolean: `true`/`false`, `1`/`0`, or those as strings.
    pub(crate) fn bool(&self, key: &str) -> Option<bool> {
        json_bool(self.get(key)?)
    }

    /// Rescued field `key` as text: a string as it is, a number or boolean as written.
    pub(crate) fn text(&self, key: &str) -> Option<String> {
        json_text(self.get(key)?)
    }
}

/// A JSON integer (or a float with no fraction, or a string holding an integer).
pub(crate) fn json_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A JSON boolean, `1`/`0`, or a string `"true"`/`"false"` (any case).
pub(crate) fn json_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => {
            let t = s.trim();
            if t.eq_ignore_ascii_case("true") {
                Some(true)
            } else if t.eq_ignore_ascii_case("false") {
                Some(false)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// A JSON scalar as text (a string as it is; a number or boolean as JSON writes it).
pub(crate) fn json_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The strings of a JSON array (other items skipped); numbers count as their text.
pub(crate) fn json_strings(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Array(items) => Some(items.iter().filter_map(json_text).collect()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rescued_fields_are_read_lazily_and_typed() {
        let col = StringArray::from(vec![
            None,
            Some(r#"{"votes":{"useful":2},"likes":"3","open":true,"type":"tip","x":null}"#),
            Some("not json"),
        ]);
        let r = RescuedCol(&col);
        assert!(r.row(0).get("votes").is_none());
        let one = r.row(1);
        assert!(
            one.parsed.get().is_none(),
            "nothing parsed before a field is asked for"
        );
        assert_eq!(
            one.get("votes")
                .and_then(|v| v.get("useful"))
                .and_then(json_i64),
            Some(2)
        );
        assert_eq!(one.get("likes").and_then(json_i64), Some(3));
        assert_eq!(one.bool("open"), Some(true));
        assert_eq!(one.text("type").as_deref(), Some("tip"));
        assert!(one.get("x").is_none(), "a null is absent");
        assert!(
            r.row(2).get("votes").is_none(),
            "unreadable JSON is empty, not a panic"
        );
        assert_eq!(json_i64(&serde_json::json!(4.0)), Some(4));
        assert_eq!(json_i64(&serde_json::json!(4.5)), None);
        assert_eq!(json_bool(&serde_json::json!(0)), Some(false));
        assert_eq!(json_bool(&serde_json::json!("True")), Some(true));
        assert_eq!(
            json_strings(&serde_json::json!(["a", 2012, null, {"b": 1}])),
            Some(vec!["a".to_string(), "2012".to_string()])
        );
    }
}
