//! Property tests of [`ChunkReader`]: on any bytes and any chunk size it never panics,
//! and every record comes out exactly once, in order, with its 1-based physical line
//! number and its byte offset in the decompressed source.
//!
//! Invariants checked (from `chunk.rs`):
//!
//! - JSON lines (unless the document is one top-level array — see [`is_array`]): every
//!   physical line (split on `\n`, one trailing `\r` dropped, a leading byte-order mark
//!   dropped) that is not all ASCII whitespace is one [`LineSpan`]; whitespace-only lines
//!   are counted in [`Chunk::blank`]; a last line without `\n` is a record too.
//! - Top-level JSON array: each element is one record (its bytes, with the trailing
//!   whitespace before the `,`/`]` that ended it for scalars), with the line and offset of
//!   its first byte; garbage after the array is one more record.
//! - Any mode, any input: a record's bytes are the source bytes at its offset, its line
//!   is 1 + the number of `\n` before that offset, records do not overlap and come in
//!   source order; `finish()` counts and hashes every raw (compressed) byte.
//! - Short reads (1..N bytes per `read`, the first one included) give the same records
//!   as a slice; gzip is recognised however few bytes the first read returns
//!   (`gzip_is_detected_whatever_the_first_read_size`).
//!
//! Note: `ChunkReader::new` raises `chunk_bytes` to at least 1024, so tiny chunk sizes
//! all mean 1024 and inputs here run to several KiB to cross many chunk boundaries.

use std::io::{self, Read, Write};

use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::RngSeed;
use proptest::test_runner::TestCaseError;
use reviewlake_ingest::ChunkReader;
use serde_json::Value;

/// `cases` cases from a fixed seed (CI is deterministic), no regression files written;
/// `PROPTEST_CASES` / `PROPTEST_RNG_SEED` override both for a longer or different run.
fn config(cases: u32) -> ProptestConfig {
    let env = ProptestConfig::default(); // reads the PROPTEST_* variables
    let set = |v: &str| std::env::var_os(v).is_some();
    ProptestConfig {
        cases: if set("PROPTEST_CASES") {
            env.cases
        } else {
            cases
        },
        rng_seed: if set("PROPTEST_RNG_SEED") {
            env.rng_seed
        } else {
            RngSeed::Fixed(0x7265_7669_6577)
        },
        failure_persistence: None,
        ..env
    }
}

/// One record as the reader reports it: (bytes, line, offset).
type Rec = (Vec<u8>, u64, u64);

#[derive(Debug, PartialEq, Eq)]
struct Output {
    records: Vec<Rec>,
    blank: u64,
    raw_bytes: u64,
    finish: (u64, String),
}

/// Reads a whole source through a [`ChunkReader`], checking each chunk's spans.
fn read_all<R: Read>(src: R, chunk_bytes: usize) -> io::Result<Output> {
    let mut reader = ChunkReader::new(src, chunk_bytes)?;
    let mut records = Vec::new();
    let mut blank = 0;
    let mut raw_bytes = 0;
    while let Some(chunk) = reader.next_chunk()? {
        blank += chunk.blank;
        raw_bytes += chunk.raw_bytes;
        for span in &chunk.lines {
            assert!(
                span.start <= span.end && span.end <= chunk.data.len(),
                "span {span:?} outside chunk data of {} bytes",
                chunk.data.len()
            );
            records.push((
                chunk.data[span.start..span.end].to_vec(),
                span.line,
                span.offset,
            ));
        }
    }
    let finish = reader.finish()?;
    Ok(Output {
        records,
        blank,
        raw_bytes,
        finish,
    })
}

/// A reader returning at most `sizes[k]` bytes on its k-th call (cycling), and at least
/// `first_min` bytes (if there are that many) on the first call.
struct ShortReads<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    k: usize,
    first_min: usize,
}

impl<'a> ShortReads<'a> {
    /// The first read returns at least 2 bytes: see
    /// `gzip_is_detected_whatever_the_first_read_size` for why.
    fn new(data: &'a [u8], sizes: Vec<usize>) -> Self {
        ShortReads {
            data,
            sizes,
            k: 0,
            first_min: 1,
        }
    }
}

impl Read for ShortReads<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut want = self.sizes[self.k % self.sizes.len()];
        if self.k == 0 {
            want = want.max(self.first_min);
        }
        self.k += 1;
        let n = want.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn hash(raw: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(raw))
}

/// A leading UTF-8 byte-order mark is not part of the first record.
fn bom_len(decoded: &[u8]) -> usize {
    if decoded.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    }
}

/// The reader's mode rule: a top-level array when the document is one — the first byte
/// after the BOM that is not ASCII whitespace is `[`, and the value it opens either
/// spans lines or closes on its line with only whitespace after it in the whole file.
fn is_array(decoded: &[u8]) -> bool {
    let body = &decoded[bom_len(decoded)..];
    let Some(at) = body.iter().position(|b| !b.is_ascii_whitespace()) else {
        return false;
    };
    if body[at] != b'[' {
        return false;
    }
    // Where the value closes, if before the end of its line.
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    for (i, &b) in body.iter().enumerate().skip(at) {
        if b == b'\n' {
            return true;
        }
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return body[i + 1..].iter().all(u8::is_ascii_whitespace);
                }
            }
            _ => {}
        }
    }
    true
}

/// What a JSON-lines read must give: (records, blank lines).
fn expected_lines(input: &[u8]) -> (Vec<Rec>, u64) {
    let bom = bom_len(input);
    let mut records = Vec::new();
    let mut blank = 0;
    let mut start = bom;
    let mut pieces: Vec<&[u8]> = input[bom..].split(|&b| b == b'\n').collect();
    if pieces.last().is_some_and(|p| p.is_empty()) {
        pieces.pop(); // after the final '\n' (or empty input): not a line
    }
    for (i, piece) in pieces.into_iter().enumerate() {
        let body = piece.strip_suffix(b"\r").unwrap_or(piece);
        if body.iter().all(u8::is_ascii_whitespace) {
            blank += 1;
        } else {
            records.push((body.to_vec(), i as u64 + 1, start as u64));
        }
        start += piece.len() + 1;
    }
    (records, blank)
}

/// Mode-independent invariants of the records of `decoded`.
fn check_positions(decoded: &[u8], records: &[Rec]) -> Result<(), TestCaseError> {
    let mut next_free = 0u64;
    // lines[k] = 1 + number of '\n' in decoded[..k]
    let mut lines = Vec::with_capacity(decoded.len() + 1);
    let mut n = 1u64;
    lines.push(n);
    for &b in decoded {
        n += u64::from(b == b'\n');
        lines.push(n);
    }
    for (bytes, line, offset) in records {
        let off = *offset as usize;
        prop_assert!(*offset >= next_free, "records overlap or are out of order");
        prop_assert!(off + bytes.len() <= decoded.len());
        prop_assert_eq!(
            &decoded[off..off + bytes.len()],
            &bytes[..],
            "bytes at offset {}",
            off
        );
        prop_assert_eq!(*line, lines[off], "line of the record at offset {}", off);
        next_free = offset + bytes.len() as u64;
    }
    Ok(())
}

/// Full check of one source: `raw` as the reader gets it, `decoded` its decompressed
/// content. Runs both a slice read and a short-read read.
fn check_source(
    raw: &[u8],
    decoded: &[u8],
    chunk_bytes: usize,
    sizes: Vec<usize>,
) -> Result<Output, TestCaseError> {
    let out = read_all(raw, chunk_bytes).map_err(|e| TestCaseError::fail(format!("{e}")))?;
    prop_assert_eq!(out.raw_bytes, raw.len() as u64, "sum of Chunk::raw_bytes");
    prop_assert_eq!(&out.finish, &(raw.len() as u64, hash(raw)));
    check_positions(decoded, &out.records)?;
    if !is_array(decoded) {
        let (records, blank) = expected_lines(decoded);
        prop_assert_eq!(&out.records, &records);
        prop_assert_eq!(out.blank, blank);
    }
    let short = read_all(ShortReads::new(raw, sizes), chunk_bytes)
        .map_err(|e| TestCaseError::fail(format!("short reads: {e}")))?;
    prop_assert_eq!(&short, &out, "short reads differ from a slice");
    Ok(out)
}

fn arb_chunk_bytes() -> impl Strategy<Value = usize> {
    prop_oneof![1usize..64, 900usize..1200, 1usize..6000, Just(1 << 20)]
}

fn arb_read_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop_oneof![1usize..8, 1usize..600, 1usize..5000], 1..8)
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        // Brackets, commas, quotes and backslashes inside strings must not confuse the
        // array scanner; a multi-byte char now and then.
        "[a-z0-9 \\[\\]{},:\"\\\\\n\té]{0,16}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z\\]\\[,\"]{0,5}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One physical line of a JSON-lines file, without its terminator.
fn arb_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // A record.
        4 => prop::collection::btree_map("[a-z]{1,6}", arb_value(), 0..4)
            .prop_map(|m| serde_json::to_vec(&Value::Object(m.into_iter().collect())).unwrap()),
        // A blank line.
        1 => prop::collection::vec(prop::sample::select(&b" \t\r\x0c"[..]), 0..4),
        // A long line around the (minimum) chunk size.
        1 => (1000usize..1100).prop_map(|n| {
            let mut v = b"{\"t\":\"".to_vec();
            v.resize(n - 2, b'x');
            v.extend_from_slice(b"\"}");
            v
        }),
        // Garbage without a newline.
        1 => prop::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 1..40),
    ]
}

/// A JSON-lines file: lines joined by `\n` or `\r\n`, maybe a BOM, maybe no final
/// newline.
fn arb_json_lines() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        prop::collection::vec((arb_line(), any::<bool>()), 0..40),
        any::<bool>(),
    )
        .prop_map(|(bom, lines, final_newline)| {
            let mut out = Vec::new();
            if bom {
                out.extend_from_slice(b"\xEF\xBB\xBF");
            }
            let n = lines.len();
            for (i, (line, crlf)) in lines.into_iter().enumerate() {
                out.extend_from_slice(&line);
                if i + 1 < n || final_newline {
                    out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                }
            }
            out
        })
}

/// Arbitrary bytes, with newlines and `[`/`{` over-represented.
fn arb_garbage() -> impl Strategy<Value = Vec<u8>> {
    const SPECIAL: &[u8] = b"\n\n\n\r [{]}\",\\ \xEF\xBB\xBF";
    (prop::collection::vec(any::<u8>(), 0..2500), 2u8..16).prop_map(|(mut v, every)| {
        // About one byte in `every` becomes a newline, bracket, quote or BOM byte.
        for b in &mut v {
            if *b % every == 0 {
                *b = SPECIAL[usize::from(*b / every) % SPECIAL.len()];
            }
        }
        v
    })
}

const WS: [&[u8]; 6] = [b"", b"", b" ", b"\n", b"\r\n  ", b"\t"];

/// A top-level JSON array written with random whitespace, and what the reader must give
/// for it: (record text with trailing whitespace trimmed, line, offset).
fn arb_array() -> impl Strategy<Value = (Vec<u8>, Vec<Rec>)> {
    (
        any::<bool>(),
        prop::collection::vec((arb_value(), any::<bool>()), 0..60),
        prop::collection::vec(prop::sample::select(&WS[..]), 1..16),
        prop::option::of("[a-z{}\\[\\]\" ,]{1,12}"),
    )
        .prop_map(|(bom, elements, ws, trailing)| {
            let mut k = 0usize;
            let mut w = |out: &mut Vec<u8>| {
                out.extend_from_slice(ws[k % ws.len()]);
                k += 1;
            };
            let mut out = Vec::new();
            let mut expected = Vec::new();
            if bom {
                out.extend_from_slice(b"\xEF\xBB\xBF");
            }
            w(&mut out);
            out.push(b'[');
            for (i, (v, pretty)) in elements.iter().enumerate() {
                if i > 0 {
                    w(&mut out);
                    out.push(b',');
                }
                w(&mut out);
                let text = if *pretty {
                    serde_json::to_vec_pretty(v).unwrap()
                } else {
                    serde_json::to_vec(v).unwrap()
                };
                let line = out.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
                expected.push((text.clone(), line, out.len() as u64));
                out.extend_from_slice(&text);
            }
            w(&mut out);
            out.push(b']');
            w(&mut out);
            if let Some(t) = trailing {
                let t = t.trim_start();
                if !t.is_empty() {
                    let line = out.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
                    expected.push((t.trim_end().as_bytes().to_vec(), line, out.len() as u64));
                    out.extend_from_slice(t.as_bytes());
                    w(&mut out);
                }
            }
            (out, expected)
        })
}

fn gzip(data: &[u8], level: u32, members: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let members = members.max(1);
    let step = data.len().div_ceil(members).max(1);
    let mut parts: Vec<&[u8]> = data.chunks(step).collect();
    if parts.is_empty() {
        parts.push(&[]);
    }
    for part in parts {
        let mut e = GzEncoder::new(Vec::new(), Compression::new(level));
        e.write_all(part).unwrap();
        out.extend_from_slice(&e.finish().unwrap());
    }
    out
}

fn trimmed(records: &[Rec]) -> Vec<Rec> {
    records
        .iter()
        .map(|(b, l, o)| (b.trim_ascii_end().to_vec(), *l, *o))
        .collect()
}

proptest! {
    #![proptest_config(config(256))]

    /// JSON lines with blank lines, CRLF, long lines, garbage lines, a BOM.
    #[test]
    fn json_lines(input in arb_json_lines(), chunk in arb_chunk_bytes(), sizes in arb_read_sizes()) {
        check_source(&input, &input, chunk, sizes)?;
    }

    /// Arbitrary bytes: lines mode or array mode, whichever the first byte says.
    #[test]
    fn garbage(input in arb_garbage(), chunk in arb_chunk_bytes(), sizes in arb_read_sizes()) {
        check_source(&input, &input, chunk, sizes)?;
    }
}

proptest! {
    // Costlier cases (recursive values, gzip in a debug build): fewer of them.
    #![proptest_config(config(128))]

    /// A top-level JSON array: one record per element, line and offset of its first
    /// byte, trailing garbage as one more record.
    #[test]
    fn json_array(
        (input, expected) in arb_array(),
        chunk in arb_chunk_bytes(),
        sizes in arb_read_sizes(),
    ) {
        prop_assume!(is_array(&input));
        let out = check_source(&input, &input, chunk, sizes)?;
        prop_assert_eq!(trimmed(&out.records), expected);
        prop_assert_eq!(out.blank, 0);
    }

    /// Gzip (one or more members) is transparent: the same records as the plain bytes,
    /// while the count and hash cover the compressed bytes.
    #[test]
    fn gzip_json_lines(
        input in prop_oneof![arb_json_lines(), arb_array().prop_map(|(a, _)| a), arb_garbage()],
        level in 0u32..10,
        members in 1usize..4,
        chunk in arb_chunk_bytes(),
        sizes in arb_read_sizes(),
    ) {
        let gz = gzip(&input, level, members);
        let out = check_source(&gz, &input, chunk, sizes)?;
        let plain = read_all(&input[..], chunk).unwrap();
        prop_assert_eq!(out.records, plain.records);
        prop_assert_eq!(out.blank, plain.blank);
    }

    /// Corrupt gzip (bytes flipped, arbitrary bytes appended): no panic, whatever
    /// comes out.
    #[test]
    fn corrupt_gzip(
        input in arb_json_lines(),
        flip in prop::option::of((any::<Index>(), 1u8..=255)),
        cut in any::<Index>(),
        tail in prop::collection::vec(any::<u8>(), 0..64),
        chunk in arb_chunk_bytes(),
    ) {
        let mut gz = gzip(&input, 6, 1);
        if let Some((i, x)) = flip {
            let at = 2 + i.index(gz.len() - 2);
            gz[at] ^= x;
        }
        gz.truncate(2 + cut.index(gz.len() - 1));
        gz.extend_from_slice(&tail);
        let _ = drain(&gz, chunk);
    }

    /// A truncated gzip stream: the records that come out before the error are the
    /// first records of the content, exactly (a line is never cut at the truncation).
    #[test]
    fn truncated_gzip(
        input in arb_json_lines(),
        cut in any::<Index>(),
        chunk in arb_chunk_bytes(),
    ) {
        prop_assume!(!is_array(&input));
        let mut gz = gzip(&input, 6, 1);
        gz.truncate(cut.index(gz.len()).max(2));
        let (got, failed) = drain(&gz, chunk);
        let (expected, _) = expected_lines(&input);
        prop_assert!(failed, "a truncated gzip stream must be an error");
        prop_assert!(got.len() <= expected.len());
        prop_assert_eq!(&got[..], &expected[..got.len()]);
    }
}

/// Reads until the end or the first error: (records, whether an error occurred).
fn drain(raw: &[u8], chunk: usize) -> (Vec<Rec>, bool) {
    let mut reader = match ChunkReader::new(raw, chunk) {
        Ok(r) => r,
        Err(_) => return (Vec::new(), true),
    };
    let mut got = Vec::new();
    loop {
        match reader.next_chunk() {
            Ok(Some(c)) => {
                for s in &c.lines {
                    got.push((c.data[s.start..s.end].to_vec(), s.line, s.offset));
                }
            }
            Ok(None) => return (got, reader.finish().is_err()),
            Err(_) => return (got, true),
        }
    }
}

/// Regression: `ChunkReader::new` once decided "gzip or not" from a single
/// `fill_buf()`, so when the source's first `read` returned 1 byte (a network stream
/// may) the gzip magic was never seen and the compressed bytes were read as one line of
/// text. It now reads until it has 2 bytes.
#[test]
fn gzip_is_detected_whatever_the_first_read_size() {
    let gz = gzip(b"{\"a\":1}\n", 6, 1);
    let one_byte = ShortReads {
        data: &gz,
        sizes: vec![1],
        k: 0,
        first_min: 1,
    };
    let out = read_all(one_byte, 1024).unwrap();
    assert_eq!(out.records, vec![(b"{\"a\":1}".to_vec(), 1, 0)]);
}
