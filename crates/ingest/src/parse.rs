//! Parsing a chunk of records into an Arrow batch, isolating bad lines.
//!
//! arrow-json's decoder stops at the first bad record, so a chunk is decoded whole on
//! the fast path; if that fails, it is bisected until every bad line stands alone with
//! its own error, and the good runs around it are decoded as they are. The cost of a bad
//! line is a few extra decodes of shrinking ranges, not a slow per-line path.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::compute::concat_batches;
use arrow_json::ReaderBuilder;
use arrow_schema::{ArrowError, SchemaRef};
use reviewlake_schema::RawDataset;

use crate::chunk::{Chunk, LineSpan};
use crate::validate::validate_record;

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
    /// Good rows in the raw table schema (lineage columns included); `None` if none.
    pub batch: Option<RecordBatch>,
    /// Bad lines, in source order.
    pub quarantined: Vec<QuarantinedLine>,
    /// Non-blank lines read (`batch rows + quarantined`).
    pub read: u64,
    /// Blank lines skipped.
    pub blank: u64,
    /// Raw source bytes this chunk stands for.
    pub raw_bytes: u64,
}

/// Parses `chunk` of `dataset` from `source_file` (path relative to the source root).
pub fn parse_chunk(
    dataset: RawDataset,
    source_file: &str,
    chunk: &Chunk,
) -> Result<ParsedChunk, ArrowError> {
    let schema = dataset.source_schema();
    let mut good: Vec<(RecordBatch, &[LineSpan])> = Vec::new();
    let mut bad: Vec<QuarantinedLine> = Vec::new();

    // Invalid UTF-8 and malformed JSON (which arrow-json partly tolerates: it reads
    // commas as whitespace) are found up front, so the decoder sees only records whose
    // remaining errors are about types.
    let utf8_ok = simdutf8::basic::from_utf8(&chunk.data).is_ok();
    let mut segments: Vec<&[LineSpan]> = Vec::new();
    let mut seg_start = 0;
    for (i, l) in chunk.lines.iter().enumerate() {
        let bytes = &chunk.data[l.start..l.end];
        let problem = if utf8_ok {
            validate_record(bytes).err()
        } else {
            match std::str::from_utf8(bytes) {
                Err(e) => Some(format!(
                    "invalid UTF-8 at byte {} of the line",
                    e.valid_up_to()
                )),
                Ok(_) => validate_record(bytes).err(),
            }
        };
        if let Some(error) = problem {
            if seg_start < i {
                segments.push(&chunk.lines[seg_start..i]);
            }
            seg_start = i + 1;
            bad.push(QuarantinedLine {
                line: l.line,
                offset: l.offset,
                error,
                raw: bytes.to_vec(),
            });
        }
    }
    if seg_start < chunk.lines.len() {
        segments.push(&chunk.lines[seg_start..]);
    }
    for seg in segments {
        decode_isolating(&schema, &chunk.data, seg, &mut good, &mut bad)?;
    }
    bad.sort_by_key(|q| q.line);

    let batch = if good.is_empty() {
        None
    } else {
        let raw_schema = dataset.raw_table_schema();
        let mut with_lineage = Vec::with_capacity(good.len());
        for (b, spans) in &good {
            with_lineage.push(add_lineage(&raw_schema, b, source_file, spans)?);
        }
        Some(concat_batches(&raw_schema, &with_lineage)?)
    };
    let rows = batch.as_ref().map_or(0, |b| b.num_rows()) as u64;
    Ok(ParsedChunk {
        read: rows + bad.len() as u64,
        batch,
        quarantined: bad,
        blank: chunk.blank,
        raw_bytes: chunk.raw_bytes,
    })
}

fn add_lineage(
    raw_schema: &SchemaRef,
    batch: &RecordBatch,
    source_file: &str,
    spans: &[LineSpan],
) -> Result<RecordBatch, ArrowError> {
    let n = batch.num_rows();
    let mut cols: Vec<ArrayRef> = batch.columns().to_vec();
    cols.push(Arc::new(StringArray::from_iter_values(
        std::iter::repeat_n(source_file, n),
    )));
    cols.push(Arc::new(Int64Array::from_iter_values(
        spans.iter().map(|s| s.line as i64),
    )));
    RecordBatch::try_new(raw_schema.clone(), cols)
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
    let bytes = &data[first.start..last.end];
    let mut decoder = ReaderBuilder::new(schema.clone())
        .with_batch_size(spans.len() + 1)
        .with_coerce_primitive(true)
        .build_decoder()
        .map_err(|e| e.to_string())?;
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
    if batch.num_rows() != spans.len() {
        return Err(if batch.num_rows() > spans.len() {
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

/// Decodes `spans`; on failure bisects until each bad line is alone.
fn decode_isolating<'a>(
    schema: &SchemaRef,
    data: &[u8],
    spans: &'a [LineSpan],
    good: &mut Vec<(RecordBatch, &'a [LineSpan])>,
    bad: &mut Vec<QuarantinedLine>,
) -> Result<(), ArrowError> {
    if spans.is_empty() {
        return Ok(());
    }
    match decode_range(schema, data, spans) {
        Ok(b) => {
            good.push((b, spans));
            Ok(())
        }
        Err(e) if spans.len() == 1 => {
            let l = spans[0];
            bad.push(QuarantinedLine {
                line: l.line,
                offset: l.offset,
                error: e,
                raw: data[l.start..l.end].to_vec(),
            });
            Ok(())
        }
        Err(_) => {
            let mid = spans.len() / 2;
            decode_isolating(schema, data, &spans[..mid], good, bad)?;
            decode_isolating(schema, data, &spans[mid..], good, bad)
        }
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
            blank: 0,
            raw_bytes: 0,
        };
        let mut batches = Vec::new();
        while let Some(c) = r.next_chunk().unwrap() {
            let p = parse_chunk(ds, "x.json", &c).unwrap();
            all.read += p.read;
            all.blank += p.blank;
            all.quarantined.extend(p.quarantined);
            batches.extend(p.batch);
        }
        all.batch = Some(concat_batches(&ds.raw_table_schema(), &batches).unwrap());
        all
    }

    #[test]
    fn bad_lines_are_isolated_with_field_errors() {
        let input = b"{\"review_id\":\"a\",\"stars\":4.0}\n{\"review_id\":\"b\",\"stars\":\"five\"}\n\n{\"review_id\":\"c\",\"stars\":\"3\"}\n{not json\n[1,2]\n{\"review_id\":\"d\"}{\"review_id\":\"e\"}\n{\"review_id\":\"f\",\"text\":\"\xff\xfe\"}\n{\"review_id\":\"g\",\"stars\":5}";
        let p = parse(RawDataset::YelpReview, input);
        assert_eq!(p.read, 8);
        assert_eq!(p.blank, 1);
        let b = p.batch.unwrap();
        assert_eq!(b.num_rows(), 3);
        let lines = b
            .column_by_name("_line")
            .unwrap()
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(lines.values().to_vec(), vec![1, 4, 9]);
        let stars = b
            .column_by_name("stars")
            .unwrap()
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert_eq!(
            stars.value(1),
            3.0,
            "numbers written as strings are accepted"
        );
        let q: Vec<u64> = p.quarantined.iter().map(|q| q.line).collect();
        assert_eq!(q, vec![2, 5, 6, 7, 8]);
        assert!(
            p.quarantined[0].error.contains("stars"),
            "{}",
            p.quarantined[0].error
        );
        assert!(p.quarantined[4].error.contains("UTF-8"));
        assert_eq!(
            p.quarantined[4].raw,
            b"{\"review_id\":\"f\",\"text\":\"\xff\xfe\"}".to_vec()
        );
        assert!(b.column_by_name("text").unwrap().is_null(0));
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
