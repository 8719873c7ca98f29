//! Parsing a chunk of records into an Arrow batch: lossless, isolating bad lines.
//!
//! - A line that is not exactly one JSON object (malformed, not an object, invalid
//!   UTF-8, nested deeper than [`MAX_DEPTH`]) goes to quarantine, whole.
//! - Every valid record lands. A top-level field the dataset's schema does not have, or
//!   whose value does not fit its column's type, is kept with its original JSON value in
//!   `_rescued_data` (the typed column is null): nothing of a valid record is dropped.
//!
//! The fast path decodes runs of records whose top-level keys are all known with
//! arrow-json in strict mode (an unknown nested key is an error, not silently dropped);
//! a run that fails is bisected until each failing record stands alone. Records with an
//! unknown key, or that fail alone, take the slow path: parsed with `serde_json`, the
//! fields that do not decode are moved to `_rescued_data` one by one, and the rest is
//! decoded. The cost of an odd record is a few small decodes, not a slow path for all.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::compute::concat_batches;
use arrow_json::ReaderBuilder;
use arrow_schema::{ArrowError, Schema, SchemaRef};
use reviewlake_schema::RawDataset;

use crate::chunk::{Chunk, LineSpan};
use crate::validate::{MAX_DEPTH, scan_record};

/// One line that could not become a raw row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedLine {
    /// 1-based line number in the source.
    pub line: u64,
    /// Byte offset in the (decompressed) source.
    pub offset: u64,
    /// Why, naming the field where the decoder could tell.
    pub error: String,
    /// The line's bytes, exactly.
    pub raw: Vec<u8>,
}

/// The outcome of parsing one chunk.
#[derive(Debug)]
pub struct ParsedChunk {
    /// Good rows in the raw table schema (lineage and `_rescued_data` included); `None`
    /// if none.
    pub batch: Option<RecordBatch>,
    /// Bad lines, in source order.
    pub quarantined: Vec<QuarantinedLine>,
    /// Non-blank lines read (`batch rows + quarantined`).
    pub read: u64,
    /// Rows with something in `_rescued_data`.
    pub rescued: u64,
    /// Blank lines skipped.
    pub blank: u64,
    /// Raw source bytes this chunk stands for.
    pub raw_bytes: u64,
}

/// Decoded rows of consecutive lines, with what was rescued from each (`None`: nothing).
struct Good<'a> {
    batch: RecordBatch,
    spans: &'a [LineSpan],
    rescued: Vec<Option<String>>,
}

/// Parses `chunk` of `dataset` from `source_file` (path relative to the source root).
pub fn parse_chunk(
    dataset: RawDataset,
    source_file: &str,
    chunk: &Chunk,
) -> Result<ParsedChunk, ArrowError> {
    let schema = dataset.source_schema();
    let known: HashSet<&[u8]> = schema
        .fields()
        .iter()
        .map(|f| f.name().as_bytes())
        .collect();
    // Fields with an integer somewhere in their type: a fractional number there would
    // be truncated by the decoder, so such records take the slow path.
    let integral: HashSet<&[u8]> = schema
        .fields()
        .iter()
        .filter(|f| has_integer(f.data_type()))
        .map(|f| f.name().as_bytes())
        .collect();
    let mut good: Vec<Good<'_>> = Vec::new();
    let mut bad: Vec<QuarantinedLine> = Vec::new();
    let mut slow: Vec<&[LineSpan]> = Vec::new();

    // Invalid UTF-8, malformed JSON (which arrow-json partly tolerates: it reads commas
    // as whitespace) and hostile nesting are found up front, so the decoder sees only
    // records whose remaining problems are about fields.
    let utf8_ok = simdutf8::basic::from_utf8(&chunk.data).is_ok();
    let mut segments: Vec<&[LineSpan]> = Vec::new();
    let mut seg_start = 0;
    for (i, l) in chunk.lines.iter().enumerate() {
        let bytes = &chunk.data[l.start..l.end];
        let scanned = if utf8_ok {
            scan_record(bytes, MAX_DEPTH)
        } else {
            match std::str::from_utf8(bytes) {
                Err(e) => Err(format!(
                    "invalid UTF-8 at byte {} of the line",
                    e.valid_up_to()
                )),
                Ok(_) => scan_record(bytes, MAX_DEPTH),
            }
        };
        let fast = match &scanned {
            Ok(fields) => fields.iter().all(|f| {
                let key = &bytes[f.key.0..f.key.1];
                known.contains(key) && !(f.fractional && integral.contains(key))
            }),
            Err(_) => false,
        };
        if fast {
            continue;
        }
        if seg_start < i {
            segments.push(&chunk.lines[seg_start..i]);
        }
        seg_start = i + 1;
        match scanned {
            Err(error) => bad.push(QuarantinedLine {
                line: l.line,
                offset: l.offset,
                error,
                raw: bytes.to_vec(),
            }),
            Ok(_) => slow.push(&chunk.lines[i..=i]),
        }
    }
    if seg_start < chunk.lines.len() {
        segments.push(&chunk.lines[seg_start..]);
    }
    for seg in segments {
        decode_isolating(&schema, &chunk.data, seg, &mut good, &mut slow)?;
    }
    for one in slow {
        let l = one[0];
        match rescue_record(&schema, &chunk.data[l.start..l.end]) {
            Ok((batch, rescued)) => good.push(Good {
                batch,
                spans: one,
                rescued: vec![rescued],
            }),
            Err(error) => bad.push(QuarantinedLine {
                line: l.line,
                offset: l.offset,
                error,
                raw: chunk.data[l.start..l.end].to_vec(),
            }),
        }
    }
    bad.sort_by_key(|q| q.line);
    good.sort_by_key(|g| g.spans.first().map_or(0, |s| s.line));

    let rescued = good
        .iter()
        .flat_map(|g| g.rescued.iter())
        .filter(|r| r.is_some())
        .count() as u64;
    let batch = if good.is_empty() {
        None
    } else {
        let raw_schema = dataset.raw_table_schema();
        let mut with_lineage = Vec::with_capacity(good.len());
        for g in &good {
            with_lineage.push(add_lineage(&raw_schema, g, source_file)?);
        }
        Some(concat_batches(&raw_schema, &with_lineage)?)
    };
    let rows = batch.as_ref().map_or(0, |b| b.num_rows()) as u64;
    Ok(ParsedChunk {
        read: rows + bad.len() as u64,
        rescued,
        batch,
        quarantined: bad,
        blank: chunk.blank,
        raw_bytes: chunk.raw_bytes,
    })
}

fn add_lineage(
    raw_schema: &SchemaRef,
    g: &Good<'_>,
    source_file: &str,
) -> Result<RecordBatch, ArrowError> {
    let n = g.batch.num_rows();
    let mut cols: Vec<ArrayRef> = g.batch.columns().to_vec();
    cols.push(Arc::new(StringArray::from_iter_values(
        std::iter::repeat_n(source_file, n),
    )));
    cols.push(Arc::new(Int64Array::from_iter_values(
        g.spans.iter().map(|s| s.line as i64),
    )));
    cols.push(if g.rescued.iter().all(Option::is_none) {
        arrow::array::new_null_array(&arrow_schema::DataType::Utf8, n)
    } else {
        Arc::new(StringArray::from(g.rescued.clone()))
    });
    RecordBatch::try_new(raw_schema.clone(), cols)
}

/// A strict decoder for `schema`: unknown fields (nested ones too) are errors.
fn decoder(schema: &SchemaRef, rows: usize) -> Result<arrow_json::reader::Decoder, String> {
    ReaderBuilder::new(schema.clone())
        .with_batch_size(rows + 1)
        .with_coerce_primitive(true)
        .with_strict_mode(true)
        .build_decoder()
        .map_err(|e| e.to_string())
}

/// Decodes `spans` (contiguous in `data`) as one batch, requiring one row per span.
fn decode_range(
    schema: &SchemaRef,
    data: &[u8],
    spans: &[LineSpan],
) -> Result<RecordBatch, String> {
    let (Some(first), Some(last)) = (spans.first(), spans.last()) else {
        return Ok(RecordBatch::new_empty(schema.clone()));
    };
    decode_bytes(schema, &data[first.start..last.end], spans.len())
}

/// Decodes `bytes` holding exactly `rows` JSON objects.
fn decode_bytes(schema: &SchemaRef, bytes: &[u8], rows: usize) -> Result<RecordBatch, String> {
    let mut decoder = decoder(schema, rows)?;
    let consumed = decoder.decode(bytes).map_err(clean_error)?;
    if consumed < bytes.len() {
        return Err("the line holds more than one JSON value".to_string());
    }
    if decoder.has_partial_record() {
        return Err("truncated record: the JSON value is not closed".to_string());
    }
    let batch = decoder
        .flush()
        .map_err(clean_error)?
        .unwrap_or_else(|| RecordBatch::new_empty(schema.clone()));
    if batch.num_rows() != rows {
        return Err(if batch.num_rows() > rows {
            "the line holds more than one JSON value".to_string()
        } else {
            "no JSON object on the line".to_string()
        });
    }
    Ok(batch)
}

fn clean_error(e: ArrowError) -> String {
    match e {
        ArrowError::JsonError(s) => s,
        other => other.to_string(),
    }
}

/// Decodes `spans`; on failure bisects until each failing record is alone, and sends it
/// to the slow path.
fn decode_isolating<'a>(
    schema: &SchemaRef,
    data: &[u8],
    spans: &'a [LineSpan],
    good: &mut Vec<Good<'a>>,
    slow: &mut Vec<&'a [LineSpan]>,
) -> Result<(), ArrowError> {
    if spans.is_empty() {
        return Ok(());
    }
    match decode_range(schema, data, spans) {
        Ok(batch) => {
            good.push(Good {
                batch,
                spans,
                rescued: vec![None; spans.len()],
            });
            Ok(())
        }
        Err(_) if spans.len() == 1 => {
            slow.push(spans);
            Ok(())
        }
        Err(_) => {
            let mid = spans.len() / 2;
            decode_isolating(schema, data, &spans[..mid], good, slow)?;
            decode_isolating(schema, data, &spans[mid..], good, slow)
        }
    }
}

/// The slow path for one valid JSON object: fields outside `schema`, and fields whose
/// value does not decode into their column, go to the rescued JSON object; the rest is
/// decoded. Returns the one-row batch and the rescued object (`None` when empty).
fn rescue_record(
    schema: &SchemaRef,
    bytes: &[u8],
) -> Result<(RecordBatch, Option<String>), String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    let serde_json::Value::Object(record) = value else {
        return Err("the record is not a JSON object".to_string());
    };
    let mut rescued = serde_json::Map::new();
    let mut kept = serde_json::Map::new();
    for (k, v) in record {
        if v.is_null() {
            continue;
        }
        match schema.field_with_name(&k) {
            Ok(f) if integers_fit(&v, f.data_type()) => {
                kept.insert(k, v);
            }
            _ => {
                rescued.insert(k, v);
            }
        }
    }
    let encode = |m: &serde_json::Map<String, serde_json::Value>| {
        serde_json::to_vec(m).map_err(|e| format!("re-encoding the record: {e}"))
    };
    let batch = match decode_bytes(schema, &encode(&kept)?, 1) {
        Ok(b) => b,
        Err(whole) => {
            // Which fields do not fit? Each is tried on its own.
            let misfits: Vec<String> = kept
                .iter()
                .filter(|(k, v)| !field_fits(schema, k, v))
                .map(|(k, _)| k.clone())
                .collect();
            if misfits.is_empty() {
                return Err(whole);
            }
            for k in misfits {
                if let Some(v) = kept.remove(&k) {
                    rescued.insert(k, v);
                }
            }
            decode_bytes(schema, &encode(&kept)?, 1)?
        }
    };
    let rescued = (!rescued.is_empty())
        .then(|| serde_json::to_string(&rescued))
        .transpose()
        .map_err(|e| format!("encoding the rescued fields: {e}"))?;
    Ok((batch, rescued))
}

/// Whether `t` has an integer type anywhere in it.
fn has_integer(t: &arrow_schema::DataType) -> bool {
    use arrow_schema::DataType::*;
    match t {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => true,
        List(f) | LargeList(f) | Map(f, _) => has_integer(f.data_type()),
        Struct(fs) => fs.iter().any(|f| has_integer(f.data_type())),
        _ => false,
    }
}

/// Whether every number of `value` that lands in an integer column of type `t` is an
/// integer (the decoder would silently truncate `4.5` to `4`).
fn integers_fit(value: &serde_json::Value, t: &arrow_schema::DataType) -> bool {
    use arrow_schema::DataType::*;
    use serde_json::Value as V;
    match (t, value) {
        (Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64, V::Number(n)) => {
            n.is_i64() || n.is_u64()
        }
        (Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64, V::String(s)) => {
            s.trim().parse::<i64>().is_ok()
        }
        (List(f) | LargeList(f), V::Array(items)) => {
            items.iter().all(|x| integers_fit(x, f.data_type()))
        }
        (Struct(fs), V::Object(m)) => fs.iter().all(|f| {
            m.get(f.name())
                .is_none_or(|x| integers_fit(x, f.data_type()))
        }),
        (Map(entry, _), V::Object(m)) => match entry.data_type() {
            Struct(kv) if kv.len() == 2 => m.values().all(|x| integers_fit(x, kv[1].data_type())),
            _ => true,
        },
        _ => true,
    }
}

/// Whether `value` decodes into field `name` of `schema`.
fn field_fits(schema: &SchemaRef, name: &str, value: &serde_json::Value) -> bool {
    let Ok(field) = schema.field_with_name(name) else {
        return false;
    };
    let one = Arc::new(Schema::new(vec![field.clone()]));
    let mut m = serde_json::Map::new();
    m.insert(name.to_string(), value.clone());
    match serde_json::to_vec(&m) {
        Ok(bytes) => decode_bytes(&one, &bytes, 1).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::ChunkReader;
    use arrow::array::{Array, Float64Array};

    /// Parses every chunk of `input` and merges the results.
    fn parse(ds: RawDataset, input: &[u8]) -> ParsedChunk {
        let mut r = ChunkReader::new(input, 1 << 20).unwrap();
        let mut all = ParsedChunk {
            batch: None,
            quarantined: Vec::new(),
            read: 0,
            rescued: 0,
            blank: 0,
            raw_bytes: 0,
        };
        let mut batches = Vec::new();
        while let Some(c) = r.next_chunk().unwrap() {
            let p = parse_chunk(ds, "x.json", &c).unwrap();
            all.read += p.read;
            all.rescued += p.rescued;
            all.blank += p.blank;
            all.quarantined.extend(p.quarantined);
            batches.extend(p.batch);
        }
        all.batch = Some(concat_batches(&ds.raw_table_schema(), &batches).unwrap());
        all
    }

    fn strings(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
        let a = b
            .column_by_name(name)
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        (0..a.len())
            .map(|i| (!a.is_null(i)).then(|| a.value(i).to_string()))
            .collect()
    }

    #[test]
    fn bad_lines_are_quarantined_and_mistyped_fields_rescued() {
        let input = b"{\"review_id\":\"a\",\"stars\":4.0}\n{\"review_id\":\"b\",\"stars\":\"five\"}\n\n{\"review_id\":\"c\",\"stars\":\"3\"}\n{not json\n[1,2]\n{\"review_id\":\"d\"}{\"review_id\":\"e\"}\n{\"review_id\":\"f\",\"text\":\"\xff\xfe\"}\n{\"review_id\":\"g\",\"stars\":5}";
        let p = parse(RawDataset::YelpReview, input);
        assert_eq!(p.read, 8);
        assert_eq!(p.blank, 1);
        assert_eq!(p.rescued, 1);
        let b = p.batch.unwrap();
        assert_eq!(b.num_rows(), 4);
        let lines = b
            .column_by_name("_line")
            .unwrap()
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(lines.values().to_vec(), vec![1, 2, 4, 9]);
        let stars = b
            .column_by_name("stars")
            .unwrap()
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert!(
            stars.is_null(1),
            "a mistyped value leaves the typed column null"
        );
        assert_eq!(
            stars.value(2),
            3.0,
            "numbers written as strings are accepted"
        );
        assert_eq!(
            strings(&b, "_rescued_data"),
            vec![None, Some(r#"{"stars":"five"}"#.to_string()), None, None]
        );
        assert_eq!(strings(&b, "review_id")[1].as_deref(), Some("b"));
        let q: Vec<u64> = p.quarantined.iter().map(|q| q.line).collect();
        assert_eq!(q, vec![5, 6, 7, 8]);
        assert!(p.quarantined[3].error.contains("UTF-8"));
        assert_eq!(
            p.quarantined[3].raw,
            b"{\"review_id\":\"f\",\"text\":\"\xff\xfe\"}".to_vec()
        );
    }

    #[test]
    fn unknown_fields_and_nested_unknown_keys_are_rescued_with_their_values() {
        // A 2013-style review: `type` and a `votes` object the schema does not have.
        let input = br#"{"type":"review","review_id":"r1","stars":4,"votes":{"funny":0,"useful":2,"cool":1},"date":"2012-05-01"}
{"user_id":"u","gmap_id":"g","time":1,"resp":{"time":2,"text":"thanks","lang":"en"}}
"#;
        let p = parse(
            RawDataset::YelpReview,
            &input[..input.iter().position(|&c| c == b'\n').unwrap() + 1],
        );
        let b = p.batch.unwrap();
        assert_eq!(p.rescued, 1);
        assert_eq!(strings(&b, "review_id"), vec![Some("r1".to_string())]);
        assert_eq!(strings(&b, "date"), vec![Some("2012-05-01".to_string())]);
        let r: serde_json::Value =
            serde_json::from_str(strings(&b, "_rescued_data")[0].as_deref().unwrap()).unwrap();
        assert_eq!(
            r,
            serde_json::json!({"type": "review", "votes": {"funny": 0, "useful": 2, "cool": 1}})
        );
        // A struct field with a key the schema lacks is rescued whole (never half kept).
        let start = input.iter().position(|&c| c == b'\n').unwrap() + 1;
        let p = parse(RawDataset::GoogleReview, &input[start..]);
        let b = p.batch.unwrap();
        assert_eq!(p.rescued, 1);
        assert!(b.column_by_name("resp").unwrap().is_null(0));
        let r: serde_json::Value =
            serde_json::from_str(strings(&b, "_rescued_data")[0].as_deref().unwrap()).unwrap();
        assert_eq!(
            r,
            serde_json::json!({"resp": {"time": 2, "text": "thanks", "lang": "en"}})
        );
        assert_eq!(strings(&b, "user_id"), vec![Some("u".to_string())]);
    }

    #[test]
    fn hostile_nesting_is_quarantined_and_the_rest_lands() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
        let deep_known = format!(
            "{{\"review_id\":\"x\",\"text\":{}\"t\"{}}}",
            "[".repeat(40_000),
            "]".repeat(40_000)
        );
        let input =
            format!("{{\"review_id\":\"a\"}}\n{deep}\n{deep_known}\n{{\"review_id\":\"b\"}}\n");
        let p = parse(RawDataset::YelpReview, input.as_bytes());
        assert_eq!(p.read, 4);
        assert_eq!(p.batch.unwrap().num_rows(), 2);
        let q: Vec<u64> = p.quarantined.iter().map(|q| q.line).collect();
        assert_eq!(q, vec![2, 3]);
        assert!(
            p.quarantined[0].error.contains("deeper than 64"),
            "{}",
            p.quarantined[0].error
        );
    }

    #[test]
    fn truncated_last_line_is_quarantined() {
        let p = parse(
            RawDataset::YelpTip,
            b"{\"user_id\":\"u\"}\n{\"user_id\":\"v\",\"te",
        );
        assert_eq!(p.batch.unwrap().num_rows(), 1);
        assert_eq!(p.quarantined.len(), 1);
        assert_eq!(p.quarantined[0].line, 2);
    }
}
