//! Line-oriented output files with deterministic dirt injection and the
//! bookkeeping (`lines`, `records`, injections) needed by the manifests.
//!
//! A [`Sink`] writes either to a file of the tree or, for in-memory streams, to the
//! queue of finished [`Line`]s held by the [`DirtLog`].

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::util::{fnv, push_u64, rng_for};
use super::world::K_DIRT;
use crate::{DatagenError, Line};

type Result<T> = std::result::Result<T, DatagenError>;

const BUF: usize = 1 << 20;
/// A defect the generator injects into a line when asked for dirty data
/// ([`GenOptions::dirty`](crate::GenOptions::dirty)). Each injection is one line of
/// `dirty_manifest.jsonl`: `{"path":..,"line":..,"kind":..,"quarantine":..,"rescued":..}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// Not JSON: a missing brace or comma, an unquoted key, single quotes, garbage text.
    MalformedJson,
    /// Valid JSON whose field has a type that cannot be converted (`"stars":"five"`).
    WrongType,
    /// Bytes `FF FE` inside a string: the line is not UTF-8.
    InvalidUtf8,
    /// The last line of a file cut in the middle, without a final newline.
    TruncatedLastLine,
    /// A JSON value that is not an object (`[1,2,3]`, `42`, `null`).
    NotAnObject,
    /// An exact copy of the previous line.
    Duplicate,
    /// A Yelp review vote (`useful`, `funny`, `cool`) of `-1`.
    NegativeVotes,
    /// Coordinates on another continent.
    FarCoordinates,
    /// A number written as a string (`"stars":"4.0"`), still convertible.
    NumericString,
    /// An empty or whitespace-only line (before the record it precedes).
    BlankLine,
}

impl Fault {
    /// Every fault, in the order of the manifests.
    pub const ALL: [Fault; 10] = [
        Fault::MalformedJson,
        Fault::WrongType,
        Fault::InvalidUtf8,
        Fault::TruncatedLastLine,
        Fault::NotAnObject,
        Fault::Duplicate,
        Fault::NegativeVotes,
        Fault::FarCoordinates,
        Fault::NumericString,
        Fault::BlankLine,
    ];

    /// The name used in the manifests (`malformed_json`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Fault::MalformedJson => "malformed_json",
            Fault::WrongType => "wrong_type",
            Fault::InvalidUtf8 => "invalid_utf8",
            Fault::TruncatedLastLine => "truncated_last_line",
            Fault::NotAnObject => "not_an_object",
            Fault::Duplicate => "duplicate",
            Fault::NegativeVotes => "negative_votes",
            Fault::FarCoordinates => "far_coordinates",
            Fault::NumericString => "numeric_string",
            Fault::BlankLine => "blank_line",
        }
    }

    /// Whether a line with this fault cannot be read into its raw table and must end
    /// in quarantine (a line that is not exactly one JSON object).
    pub fn quarantine(self) -> bool {
        matches!(
            self,
            Fault::MalformedJson
                | Fault::InvalidUtf8
                | Fault::TruncatedLastLine
                | Fault::NotAnObject
        )
    }

    /// Whether a line with this fault lands in its raw table with the misfit value kept
    /// in `_rescued_data` (a JSON object whose field has a type its column cannot hold).
    pub fn rescued(self) -> bool {
        self == Fault::WrongType
    }

    fn idx(self) -> usize {
        self as usize
    }

    /// Relative frequency among the per-line kinds.
    fn weight(self) -> f64 {
        match self {
            Fault::MalformedJson => 0.20,
            Fault::WrongType => 0.15,
            Fault::InvalidUtf8 => 0.10,
            Fault::TruncatedLastLine => 0.0, // decided per file, not per line
            Fault::NotAnObject => 0.08,
            Fault::Duplicate => 0.17,
            Fault::NegativeVotes => 0.10,
            Fault::FarCoordinates => 0.10,
            Fault::NumericString => 0.08,
            Fault::BlankLine => 0.07,
        }
    }
}

/// The seven raw datasets (one definition, in the schema crate).
pub(crate) use reviewlake_schema::RawDataset as Dataset;

/// What the generator needs to know of each dataset to inject faults.
pub(crate) trait DatasetDirt: Copy {
    /// `(key, replacement)` pairs producing a non-convertible type.
    fn wrong_types(self) -> &'static [(&'static str, &'static str)];
    /// The key of the free-text field.
    fn text_key(self) -> &'static str;
    /// Numeric keys that may be written as strings.
    fn numeric_keys(self) -> &'static [&'static str];
    /// Whether fault `k` applies to this dataset.
    fn applicable(self, k: Fault) -> bool;
}

impl DatasetDirt for Dataset {
    /// `(key, replacement)` pairs producing a non-convertible type.
    fn wrong_types(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Dataset::YelpBusiness => &[
                ("stars", "\"five\""),
                ("review_count", "\"many\""),
                ("latitude", "\"north\""),
                ("is_open", "\"maybe\""),
            ],
            Dataset::YelpReview => &[
                ("stars", "\"five\""),
                ("useful", "\"lots\""),
                ("cool", "[1,2]"),
            ],
            Dataset::YelpUser => &[
                ("review_count", "\"many\""),
                ("fans", "{\"x\":1}"),
                ("average_stars", "\"high\""),
            ],
            Dataset::YelpCheckin => &[],
            Dataset::YelpTip => &[("compliment_count", "\"several\"")],
            Dataset::GoogleMetadata => &[
                ("latitude", "\"north\""),
                ("avg_rating", "\"great\""),
                ("num_of_reviews", "\"lots\""),
            ],
            Dataset::GoogleReview => &[("rating", "{\"x\":1}"), ("time", "\"yesterday\"")],
        }
    }

    /// A string field that is never null (target of invalid UTF-8).
    fn text_key(self) -> &'static str {
        match self {
            Dataset::YelpReview | Dataset::YelpTip => "text",
            Dataset::YelpCheckin => "date",
            _ => "name",
        }
    }

    /// Numeric fields that may be written as strings (still accepted).
    fn numeric_keys(self) -> &'static [&'static str] {
        match self {
            Dataset::YelpBusiness => &["stars", "review_count"],
            Dataset::YelpReview => &["stars", "useful"],
            Dataset::YelpUser => &["review_count", "fans"],
            Dataset::YelpCheckin => &[],
            Dataset::YelpTip => &["compliment_count"],
            Dataset::GoogleMetadata => &["avg_rating", "num_of_reviews"],
            Dataset::GoogleReview => &["rating"],
        }
    }

    fn applicable(self, k: Fault) -> bool {
        match k {
            Fault::TruncatedLastLine => false,
            Fault::WrongType => !self.wrong_types().is_empty(),
            Fault::NumericString => !self.numeric_keys().is_empty(),
            Fault::NegativeVotes => self == Dataset::YelpReview,
            Fault::FarCoordinates => {
                matches!(self, Dataset::YelpBusiness | Dataset::GoogleMetadata)
            }
            _ => true,
        }
    }
}

/// `dirty_manifest.jsonl` writer (when writing a tree) plus global per-kind counts,
/// and the queue of finished lines of in-memory sinks.
pub struct DirtLog {
    w: Option<(BufWriter<File>, PathBuf)>,
    pub counts: [u64; 10],
    buf: Vec<u8>,
    /// Lines completed by in-memory sinks, oldest first.
    pub queue: VecDeque<Line>,
}

impl DirtLog {
    /// A log written to `path`.
    pub fn create(path: &Path) -> Result<Self> {
        let f = File::create(path).map_err(DatagenError::io("create", path))?;
        Ok(DirtLog {
            w: Some((BufWriter::with_capacity(BUF / 4, f), path.to_path_buf())),
            ..DirtLog::memory()
        })
    }

    /// A log that only counts (the lines carry their faults).
    pub fn memory() -> Self {
        DirtLog {
            w: None,
            counts: [0; 10],
            buf: Vec::new(),
            queue: VecDeque::new(),
        }
    }

    fn record(&mut self, path: &str, line: u64, kind: Fault) -> Result<()> {
        self.counts[kind.idx()] += 1;
        let Some((w, log_path)) = &mut self.w else {
            return Ok(());
        };
        let b = &mut self.buf;
        b.clear();
        b.extend_from_slice(b"{\"path\":");
        super::util::push_str(b, path, false);
        b.extend_from_slice(b",\"line\":");
        push_u64(b, line);
        b.extend_from_slice(b",\"kind\":\"");
        b.extend_from_slice(kind.name().as_bytes());
        b.extend_from_slice(b"\",\"quarantine\":");
        b.extend_from_slice(if kind.quarantine() { b"true" } else { b"false" });
        b.extend_from_slice(b",\"rescued\":");
        b.extend_from_slice(if kind.rescued() { b"true" } else { b"false" });
        b.extend_from_slice(b"}\n");
        w.write_all(b)
            .map_err(DatagenError::io("write", log_path.as_path()))
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn finish(self) -> Result<()> {
        if let Some((mut w, path)) = self.w {
            w.flush().map_err(DatagenError::io("write", &path))?;
        }
        Ok(())
    }
}

/// Statistics of one finished output file.
#[derive(Clone, Debug)]
pub struct FileStats {
    /// Path relative to the output root, with forward slashes.
    pub rel: String,
    pub dataset: Dataset,
    /// Non-blank physical lines.
    pub lines: u64,
    /// Lines expected to parse into the raw table.
    pub records: u64,
    pub bytes: u64,
    /// Clean records generated for this file (before dirt).
    pub generated: u64,
    pub injected: [u64; 10],
}

/// Where a sink's lines go.
enum Target {
    /// A file of the tree.
    File { w: BufWriter<File>, path: PathBuf },
    /// [`DirtLog::queue`], as [`Line`]s of the file at `rel`.
    Memory { rel: Arc<str> },
}

/// One output file.
pub struct Sink {
    stats: FileStats,
    target: Target,
    phys: u64,
    pending: Vec<u8>,
    has_pending: bool,
    pending_kind: Option<Fault>,
    rng: ChaCha8Rng,
    rate: f64,
    force_truncate: bool,
    scratch: Vec<u8>,
}

impl Sink {
    /// Create `root/rel`, or an in-memory file `rel` when `root` is `None`.
    /// `force_truncate` guarantees a truncated last line when dirt is enabled (so
    /// every dirty run has at least one).
    pub fn create(
        root: Option<&Path>,
        rel: &str,
        dataset: Dataset,
        seed: u64,
        rate: f64,
        force_truncate: bool,
    ) -> Result<Self> {
        let target = match root {
            Some(root) => {
                let path = root.join(rel);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(DatagenError::io("create", dir))?;
                }
                let f = File::create(&path).map_err(DatagenError::io("create", &path))?;
                Target::File {
                    w: BufWriter::with_capacity(BUF, f),
                    path,
                }
            }
            None => Target::Memory { rel: rel.into() },
        };
        Ok(Sink {
            stats: FileStats {
                rel: rel.to_string(),
                dataset,
                lines: 0,
                records: 0,
                bytes: 0,
                generated: 0,
                injected: [0; 10],
            },
            target,
            phys: 0,
            pending: Vec::with_capacity(4096),
            has_pending: false,
            pending_kind: None,
            rng: rng_for(seed, K_DIRT, fnv(rel)),
            rate,
            force_truncate,
            scratch: Vec::with_capacity(4096),
        })
    }

    pub fn generated(&self) -> u64 {
        self.stats.generated
    }

    /// Write one clean record (without newline), possibly injecting dirt.
    pub fn record(&mut self, line: &[u8], log: &mut DirtLog) -> Result<()> {
        self.stats.generated += 1;
        if self.rate <= 0.0 || self.rng.random::<f64>() >= self.rate {
            return self.emit(line, None, log);
        }
        let ds = self.stats.dataset;
        let weights: Vec<f64> = Fault::ALL
            .iter()
            .map(|k| if ds.applicable(*k) { k.weight() } else { 0.0 })
            .collect();
        let kind = Fault::ALL[super::util::weighted(&weights, self.rng.random())];
        match kind {
            Fault::Duplicate => {
                self.emit(line, None, log)?;
                self.emit(line, Some(Fault::Duplicate), log)
            }
            Fault::BlankLine => {
                const BLANKS: [&[u8]; 3] = [b"", b"   ", b"\t"];
                let b = BLANKS[self.rng.random_range(0..BLANKS.len())];
                self.emit(b, Some(Fault::BlankLine), log)?;
                self.emit(line, None, log)
            }
            k => {
                let mut scratch = std::mem::take(&mut self.scratch);
                scratch.clear();
                let ok = corrupt(k, ds, line, &mut scratch, &mut self.rng);
                let r = if ok {
                    self.emit(&scratch, Some(k), log)
                } else {
                    self.emit(line, None, log)
                };
                self.scratch = scratch;
                r
            }
        }
    }

    /// Write the pending line (line number `self.phys`), its first `len` bytes, with
    /// or without its newline.
    fn write_pending(
        &mut self,
        len: usize,
        newline: bool,
        fault: Option<Fault>,
        log: &mut DirtLog,
    ) -> Result<()> {
        let bytes = &self.pending[..len];
        match &mut self.target {
            Target::File { w, path } => {
                let r = match w.write_all(bytes) {
                    Ok(()) if newline => w.write_all(b"\n"),
                    r => r,
                };
                r.map_err(DatagenError::io("write", path.as_path()))?;
            }
            Target::Memory { rel } => log.queue.push_back(Line {
                dataset: self.stats.dataset,
                path: Arc::clone(rel),
                number: self.phys,
                bytes: bytes.to_vec(),
                fault,
            }),
        }
        self.stats.bytes += len as u64 + u64::from(newline);
        self.has_pending = false;
        Ok(())
    }

    fn flush_pending(&mut self, log: &mut DirtLog) -> Result<()> {
        if self.has_pending {
            self.write_pending(self.pending.len(), true, self.pending_kind, log)?;
        }
        Ok(())
    }

    fn emit(&mut self, bytes: &[u8], kind: Option<Fault>, log: &mut DirtLog) -> Result<()> {
        self.flush_pending(log)?;
        self.pending.clear();
        self.pending.extend_from_slice(bytes);
        self.has_pending = true;
        self.pending_kind = kind;
        self.phys += 1;
        if kind != Some(Fault::BlankLine) {
            self.stats.lines += 1;
            self.stats.records += 1;
        }
        if let Some(k) = kind {
            self.note(k, log)?;
        }
        Ok(())
    }

    fn note(&mut self, k: Fault, log: &mut DirtLog) -> Result<()> {
        if k.quarantine() {
            self.stats.records -= 1;
        }
        self.stats.injected[k.idx()] += 1;
        log.record(&self.stats.rel, self.phys, k)
    }

    /// Flush the file (possibly truncating its last line) and return stats.
    pub fn finish(mut self, log: &mut DirtLog) -> Result<FileStats> {
        if self.has_pending {
            let truncate = self.rate > 0.0
                && self.pending_kind.is_none()
                && self.pending.len() >= 8
                && (self.force_truncate || self.rng.random::<f64>() < 0.25);
            if truncate {
                let mut cut = self.pending.len() / 2;
                while cut > 1 && (self.pending[cut] & 0xC0) == 0x80 {
                    cut -= 1; // stay on a UTF-8 character boundary
                }
                self.write_pending(cut, false, Some(Fault::TruncatedLastLine), log)?;
                self.note(Fault::TruncatedLastLine, log)?;
            } else {
                self.flush_pending(log)?;
            }
        }
        if let Target::File { w, path } = &mut self.target {
            w.flush()
                .map_err(DatagenError::io("write", path.as_path()))?;
        }
        Ok(self.stats)
    }
}

/// Position of the value of the first `"key":` in a JSON line, and its end.
fn value_span(line: &[u8], key: &str) -> Option<(usize, usize)> {
    let mut pat = Vec::with_capacity(key.len() + 3);
    pat.push(b'"');
    pat.extend_from_slice(key.as_bytes());
    pat.extend_from_slice(b"\":");
    let pos = line.windows(pat.len()).position(|w| w == pat.as_slice())?;
    let start = pos + pat.len();
    let first = *line.get(start)?;
    let end = match first {
        b'"' => {
            let mut i = start + 1;
            while i < line.len() {
                match line[i] {
                    b'\\' => i += 2,
                    b'"' => break,
                    _ => i += 1,
                }
            }
            i + 1
        }
        b'-' | b'0'..=b'9' | b'n' | b't' | b'f' => {
            let mut i = start;
            while i < line.len() && !matches!(line[i], b',' | b'}' | b']') {
                i += 1;
            }
            i
        }
        _ => return None,
    };
    (end <= line.len()).then_some((start, end))
}

fn replace_span(line: &[u8], span: (usize, usize), new: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&line[..span.0]);
    out.extend_from_slice(new);
    out.extend_from_slice(&line[span.1..]);
}

/// Build the corrupted version of `line` into `out`; false if not applicable.
fn corrupt(kind: Fault, ds: Dataset, line: &[u8], out: &mut Vec<u8>, rng: &mut ChaCha8Rng) -> bool {
    match kind {
        Fault::MalformedJson => {
            const GARBAGE: [&str; 6] = [
                "this is not json",
                "<html><body><h1>503 Service Unavailable</h1></body></html>",
                "ERROR 1205 (HY000): Lock wait timeout exceeded",
                "}{",
                "{{{",
                "{\"incomplete\": ",
            ];
            match rng.random_range(0..5) {
                0 => out.extend_from_slice(&line[..line.len() - 1]), // missing closing brace
                1 => {
                    // unquoted first key: {"key":... -> {key:...
                    let Some(end) = line[2..].iter().position(|b| *b == b'"') else {
                        return false;
                    };
                    out.push(b'{');
                    out.extend_from_slice(&line[2..2 + end]);
                    out.extend_from_slice(&line[2 + end + 1..]);
                }
                2 => out.extend_from_slice(GARBAGE[rng.random_range(0..GARBAGE.len())].as_bytes()),
                3 => out.extend(line.iter().map(|b| if *b == b'"' { b'\'' } else { *b })),
                _ => {
                    // missing comma between two members
                    let Some(p) = line.windows(2).position(|w| w == b",\"") else {
                        return false;
                    };
                    out.extend_from_slice(&line[..p]);
                    out.extend_from_slice(&line[p + 1..]);
                }
            }
            true
        }
        Fault::WrongType => {
            let opts = ds.wrong_types();
            let (key, bad) = opts[rng.random_range(0..opts.len())];
            match value_span(line, key) {
                Some(span) => {
                    replace_span(line, span, bad.as_bytes(), out);
                    true
                }
                None => false,
            }
        }
        Fault::InvalidUtf8 => match value_span(line, ds.text_key()) {
            Some((s, _)) if line[s] == b'"' => {
                out.extend_from_slice(&line[..=s]);
                out.extend_from_slice(&[0xFF, 0xFE]);
                out.extend_from_slice(&line[s + 1..]);
                true
            }
            _ => false,
        },
        Fault::NotAnObject => {
            const VALUES: [&str; 6] = [
                "[1,2,3]",
                "42",
                "\"just a string\"",
                "null",
                "true",
                "[{\"a\":1}]",
            ];
            out.extend_from_slice(VALUES[rng.random_range(0..VALUES.len())].as_bytes());
            true
        }
        Fault::NegativeVotes => {
            let key = ["useful", "funny", "cool"][rng.random_range(0..3)];
            match value_span(line, key) {
                Some(span) => {
                    replace_span(line, span, b"-1", out);
                    true
                }
                None => false,
            }
        }
        Fault::FarCoordinates => {
            const FAR: [(&str, &str); 4] = [
                ("48.8566", "2.3522"),
                ("35.6762", "139.6503"),
                ("-33.8688", "151.2093"),
                ("51.5074", "-0.1278"),
            ];
            let (lat, lon) = FAR[rng.random_range(0..FAR.len())];
            let (Some(a), Some(b)) = (value_span(line, "latitude"), value_span(line, "longitude"))
            else {
                return false;
            };
            if a.1 > b.0 {
                return false;
            }
            out.extend_from_slice(&line[..a.0]);
            out.extend_from_slice(lat.as_bytes());
            out.extend_from_slice(&line[a.1..b.0]);
            out.extend_from_slice(lon.as_bytes());
            out.extend_from_slice(&line[b.1..]);
            true
        }
        Fault::NumericString => {
            let keys = ds.numeric_keys();
            let key = keys[rng.random_range(0..keys.len())];
            match value_span(line, key) {
                Some((s, e)) if matches!(line[s], b'-' | b'0'..=b'9') => {
                    out.extend_from_slice(&line[..s]);
                    out.push(b'"');
                    out.extend_from_slice(&line[s..e]);
                    out.push(b'"');
                    out.extend_from_slice(&line[e..]);
                    true
                }
                _ => false,
            }
        }
        Fault::TruncatedLastLine | Fault::Duplicate | Fault::BlankLine => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn gen_sink_corruptions_behave() {
        let line = br#"{"review_id":"abc","user_id":"u","business_id":"b","stars":4.0,"useful":0,"funny":0,"cool":1,"text":"Good, \"very\" good","date":"2018-07-07 22:09:11"}"#;
        assert!(serde_json::from_slice::<serde_json::Value>(line).is_ok());
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..200 {
            for k in Fault::ALL {
                let mut out = Vec::new();
                if !corrupt(k, Dataset::YelpReview, line, &mut out, &mut rng) {
                    continue;
                }
                let parsed = serde_json::from_slice::<serde_json::Value>(&out);
                match k {
                    Fault::MalformedJson | Fault::InvalidUtf8 => assert!(parsed.is_err(), "{k:?}"),
                    Fault::NotAnObject => assert!(!parsed.unwrap().is_object()),
                    Fault::WrongType => {
                        let v = parsed.unwrap();
                        assert!(
                            !v["stars"].is_number()
                                || !v["useful"].is_number()
                                || !v["cool"].is_number()
                        );
                    }
                    Fault::NegativeVotes => {
                        let v = parsed.unwrap();
                        assert!(["useful", "funny", "cool"].iter().any(|k| v[k] == -1));
                    }
                    Fault::NumericString => {
                        let v = parsed.unwrap();
                        assert!(v["stars"].is_string() || v["useful"].is_string());
                    }
                    _ => unreachable!("{k:?}"),
                }
            }
        }
    }
}
