//! Cutting a source stream into parse chunks at record boundaries.
//!
//! A [`ChunkReader`] reads raw bytes (hashing them and counting them as it goes),
//! decompresses gzip transparently, recognises JSON lines or a top-level JSON array, and
//! yields [`Chunk`]s of whole records with their line numbers and byte offsets. Memory is
//! one chunk plus one partial record.

use std::io::{BufReader, Read};

use flate2::bufread::MultiGzDecoder;
use xxhash_rust::xxh3::Xxh3;

/// One record's place in a chunk and in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineSpan {
    /// Start of the record in [`Chunk::data`].
    pub start: usize,
    /// End (exclusive) of the record in [`Chunk::data`], line terminator excluded.
    pub end: usize,
    /// 1-based physical line number in the decompressed source.
    pub line: u64,
    /// Byte offset of the record in the decompressed source.
    pub offset: u64,
}

/// A run of whole records.
#[derive(Debug, Default)]
pub struct Chunk {
    /// Record bytes. For JSON lines, the source bytes as they are; for a JSON array, the
    /// elements one per line.
    pub data: Vec<u8>,
    /// The non-blank records, in order.
    pub lines: Vec<LineSpan>,
    /// Blank (whitespace-only) lines skipped in this chunk.
    pub blank: u64,
    /// Raw (possibly compressed) source bytes consumed since the previous chunk.
    pub raw_bytes: u64,
}

struct HashingReader<R> {
    inner: R,
    hasher: Xxh3,
    count: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// The raw source: the sniffed first bytes, then the rest, hashed as it is read.
type RawSource<R> = BufReader<std::io::Chain<std::io::Cursor<Vec<u8>>, HashingReader<R>>>;

enum Decoded<R: Read> {
    Plain(Box<RawSource<R>>),
    Gzip(Box<MultiGzDecoder<RawSource<R>>>),
}

impl<R: Read> Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Decoded::Plain(r) => r.read(buf),
            Decoded::Gzip(r) => r.read(buf),
        }
    }
    fn hashing(&mut self) -> &mut RawSource<R> {
        match self {
            Decoded::Plain(r) => r,
            Decoded::Gzip(r) => r.get_mut(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Unknown,
    Lines,
    Array,
}

/// State of the top-level JSON array scanner, kept across chunks.
#[derive(Debug, Default)]
struct ArrayState {
    /// Depth of nesting: 0 before `[`, 1 inside the array between elements.
    depth: u32,
    in_string: bool,
    escape: bool,
    /// Bytes of the element being read, if any.
    element: Option<Vec<u8>>,
    element_line: u64,
    element_offset: u64,
    closed: bool,
    /// Garbage outside the array (reported as a record so it reaches quarantine).
    trailing: Option<(Vec<u8>, u64, u64)>,
}

/// Cuts a source stream into [`Chunk`]s.
pub struct ChunkReader<R: Read> {
    src: Decoded<R>,
    chunk_bytes: usize,
    mode: Mode,
    carry: Vec<u8>,
    /// Line number of the first byte of `carry`.
    next_line: u64,
    /// Decompressed offset of the first byte of `carry`.
    next_offset: u64,
    raw_reported: u64,
    eof: bool,
    array: ArrayState,
}

impl<R: Read> ChunkReader<R> {
    /// Wraps `inner` (raw file bytes). Gzip is recognised by its magic bytes.
    pub fn new(inner: R, chunk_bytes: usize) -> std::io::Result<Self> {
        let mut hashing = HashingReader {
            inner,
            hasher: Xxh3::new(),
            count: 0,
        };
        // The first two bytes decide gzip, however few bytes each read returns.
        let mut head = Vec::with_capacity(2);
        let mut byte = [0u8; 2];
        while head.len() < 2 {
            let n = match hashing.read(&mut byte[..2 - head.len()]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                break;
            }
            head.extend_from_slice(&byte[..n]);
        }
        let is_gzip = head.len() == 2 && head[0] == 0x1f && head[1] == 0x8b;
        let buffered =
            BufReader::with_capacity(256 * 1024, std::io::Cursor::new(head).chain(hashing));
        let src = if is_gzip {
            Decoded::Gzip(Box::new(MultiGzDecoder::new(buffered)))
        } else {
            Decoded::Plain(Box::new(buffered))
        };
        Ok(ChunkReader {
            src,
            chunk_bytes: chunk_bytes.max(1024),
            mode: Mode::Unknown,
            carry: Vec::new(),
            next_line: 1,
            next_offset: 0,
            raw_reported: 0,
            eof: false,
            array: ArrayState::default(),
        })
    }

    /// Reads until `buf` holds at least `want` bytes or the source ends.
    fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> std::io::Result<()> {
        let mut tmp = vec![0u8; 256 * 1024];
        while buf.len() < want && !self.eof {
            let n = self.src.read(&mut tmp)?;
            if n == 0 {
                self.eof = true;
            } else {
                buf.extend_from_slice(&tmp[..n]);
            }
        }
        Ok(())
    }

    /// The next chunk, or `None` at the end of the source.
    pub fn next_chunk(&mut self) -> std::io::Result<Option<Chunk>> {
        if self.mode == Mode::Unknown {
            let mut buf = std::mem::take(&mut self.carry);
            // Enough to see the first non-blank byte in all sane files.
            let mut want = 4096;
            loop {
                self.fill(&mut buf, want)?;
                // A UTF-8 byte-order mark is not part of the first record.
                if buf.len() >= 3 && buf[..3] == [0xEF, 0xBB, 0xBF] && self.next_offset == 0 {
                    buf.drain(..3);
                    self.next_offset = 3;
                }
                let first = buf.iter().position(|b| !b.is_ascii_whitespace());
                if first.is_some() || self.eof {
                    self.mode = match first {
                        Some(at) if buf[at] == b'[' => self.array_or_lines(&mut buf, at)?,
                        _ => Mode::Lines,
                    };
                    break;
                }
                want = buf.len() * 2;
            }
            self.carry = buf;
        }
        let chunk = match self.mode {
            Mode::Array => self.next_array_chunk()?,
            _ => self.next_lines_chunk()?,
        };
        Ok(chunk)
    }

    /// A file is a JSON array only when the document is one: when the value opened at
    /// `at` spans lines (a pretty-printed array), or closes on its line with nothing but
    /// whitespace after it. A first line like `[]` or `["oops"]` followed by more
    /// content is a JSON-lines file whose first line is not an object.
    fn array_or_lines(&mut self, buf: &mut Vec<u8>, at: usize) -> std::io::Result<Mode> {
        let Some(end) = value_end_on_line(buf, at) else {
            return Ok(Mode::Array);
        };
        let mut want = buf.len().max(4096);
        loop {
            if buf[end..].iter().any(|b| !b.is_ascii_whitespace()) {
                return Ok(Mode::Lines);
            }
            if self.eof {
                return Ok(Mode::Array);
            }
            want *= 2;
            let before = buf.len();
            self.fill(buf, want)?;
            if buf.len() == before && self.eof {
                return Ok(Mode::Array);
            }
        }
    }

    fn raw_delta(&mut self) -> u64 {
        let now = self.src.hashing().get_ref().get_ref().1.count;
        let d = now - self.raw_reported;
        self.raw_reported = now;
        d
    }

    fn next_lines_chunk(&mut self) -> std::io::Result<Option<Chunk>> {
        let mut buf = std::mem::take(&mut self.carry);
        let mut want = self.chunk_bytes;
        // Find the last newline; grow until one is found or the source ends.
        let cut = loop {
            self.fill(&mut buf, want)?;
            if let Some(pos) = memchr::memrchr(b'\n', &buf) {
                break pos + 1;
            }
            if self.eof {
                break buf.len();
            }
            want = buf.len() + self.chunk_bytes;
        };
        if buf.is_empty() {
            let raw = self.raw_delta();
            return Ok(if raw > 0 {
                Some(Chunk {
                    raw_bytes: raw,
                    ..Chunk::default()
                })
            } else {
                None
            });
        }
        self.carry = buf.split_off(cut);
        let mut lines = Vec::new();
        let mut blank = 0u64;
        let mut start = 0usize;
        let mut line_no = self.next_line;
        let base = self.next_offset;
        let mut push = |s: usize, e: usize, line_no: u64| {
            let mut end = e;
            if end > s && buf[end - 1] == b'\r' {
                end -= 1;
            }
            if buf[s..end].iter().all(|b| b.is_ascii_whitespace()) {
                blank += 1;
            } else {
                lines.push(LineSpan {
                    start: s,
                    end,
                    line: line_no,
                    offset: base + s as u64,
                });
            }
        };
        for nl in memchr::memchr_iter(b'\n', &buf) {
            push(start, nl, line_no);
            line_no += 1;
            start = nl + 1;
        }
        if start < buf.len() {
            // Last line without a terminator (end of source).
            push(start, buf.len(), line_no);
            line_no += 1;
        }
        self.next_line = line_no;
        self.next_offset = base + buf.len() as u64;
        Ok(Some(Chunk {
            data: buf,
            lines,
            blank,
            raw_bytes: self.raw_delta(),
        }))
    }

    fn next_array_chunk(&mut self) -> std::io::Result<Option<Chunk>> {
        let mut out = Chunk::default();
        let mut exhausted = false;
        while out.data.len() < self.chunk_bytes {
            let mut buf = std::mem::take(&mut self.carry);
            if buf.is_empty() {
                self.fill(&mut buf, self.chunk_bytes)?;
            }
            if buf.is_empty() {
                exhausted = true;
                break;
            }
            self.scan_array(&buf, &mut out);
        }
        if exhausted {
            self.finish_array(&mut out);
        }
        out.raw_bytes = self.raw_delta();
        if out.lines.is_empty() && out.raw_bytes == 0 && out.blank == 0 {
            return Ok(None);
        }
        Ok(Some(out))
    }

    fn emit(out: &mut Chunk, bytes: &[u8], line: u64, offset: u64) {
        let start = out.data.len();
        out.data.extend_from_slice(bytes);
        let end = out.data.len();
        out.data.push(b'\n');
        out.lines.push(LineSpan {
            start,
            end,
            line,
            offset,
        });
    }

    fn scan_array(&mut self, buf: &[u8], out: &mut Chunk) {
        let st = &mut self.array;
        let mut i = 0;
        while i < buf.len() {
            let b = buf[i];
            let offset = self.next_offset;
            let line = self.next_line;
            self.next_offset += 1;
            if b == b'\n' {
                self.next_line += 1;
            }
            i += 1;
            if st.closed {
                if !b.is_ascii_whitespace() {
                    match &mut st.trailing {
                        Some((bytes, _, _)) => bytes.push(b),
                        None => st.trailing = Some((vec![b], line, offset)),
                    }
                } else if let Some(t) = st.trailing.as_mut() {
                    t.0.push(b);
                }
                continue;
            }
            if let Some(el) = st.element.as_mut() {
                el.push(b);
                if st.in_string {
                    if st.escape {
                        st.escape = false;
                    } else if b == b'\\' {
                        st.escape = true;
                    } else if b == b'"' {
                        st.in_string = false;
                    }
                    continue;
                }
                match b {
                    b'"' => st.in_string = true,
                    b'{' | b'[' => st.depth += 1,
                    b'}' | b']' => {
                        st.depth -= 1;
                        if st.depth == 1 {
                            let el = st.element.take().unwrap_or_default();
                            Self::emit(out, &el, st.element_line, st.element_offset);
                        } else if st.depth == 0 {
                            // A scalar element ended by the closing bracket.
                            let mut el = st.element.take().unwrap_or_default();
                            el.pop();
                            Self::emit(out, &el, st.element_line, st.element_offset);
                            st.closed = true;
                        }
                    }
                    b',' if st.depth == 1 => {
                        let mut el = st.element.take().unwrap_or_default();
                        el.pop();
                        Self::emit(out, &el, st.element_line, st.element_offset);
                    }
                    _ => {}
                }
                continue;
            }
            // Between elements.
            match (st.depth, b) {
                (_, b) if b.is_ascii_whitespace() => {}
                (0, b'[') => st.depth = 1,
                (0, 0xEF | 0xBB | 0xBF) => {} // UTF-8 byte order mark
                (1, b',') => {}
                (1, b']') => {
                    st.depth = 0;
                    st.closed = true;
                }
                (1, _) => {
                    st.element = Some(vec![b]);
                    st.element_line = line;
                    st.element_offset = offset;
                    match b {
                        b'{' | b'[' => st.depth = 2,
                        b'"' => st.in_string = true,
                        _ => {}
                    }
                }
                (_, _) => {
                    // Garbage before the array opens: treat like trailing garbage.
                    st.closed = true;
                    st.trailing = Some((vec![b], line, offset));
                }
            }
        }
    }

    fn finish_array(&mut self, out: &mut Chunk) {
        let st = &mut self.array;
        if let Some(el) = st.element.take() {
            // Truncated element at end of file: let the parser reject it.
            Self::emit(out, &el, st.element_line, st.element_offset);
        }
        if let Some((bytes, line, offset)) = st.trailing.take() {
            let trimmed = bytes.trim_ascii_end().to_vec();
            Self::emit(out, &trimmed, line, offset);
        }
    }

    /// Finishes reading the raw source (so the hash covers every byte) and returns
    /// `(raw bytes, xxh3-128 hex)`.
    pub fn finish(mut self) -> std::io::Result<(u64, String)> {
        let mut sink = [0u8; 64 * 1024];
        let h = self.src.hashing();
        while h.read(&mut sink)? > 0 {}
        let (_, inner) = h.get_ref().get_ref();
        Ok((inner.count, format!("{:032x}", inner.hasher.digest128())))
    }
}

/// Where the JSON value starting at `buf[at]` ends (the index after its last byte), if
/// it ends before the next newline; `None` when the line (or the buffer) ends first.
fn value_end_on_line(buf: &[u8], at: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escape = false;
    for (i, &b) in buf.iter().enumerate().skip(at) {
        if b == b'\n' {
            return None;
        }
        if in_string {
            if escape {
                escape = false;
            } else if b == b'\\' {
                escape = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// xxh3-128 of a whole stream, hex; returns (bytes, hash).
pub(crate) fn hash_stream(mut r: impl Read) -> std::io::Result<(u64, String)> {
    let mut h = Xxh3::new();
    let mut buf = vec![0u8; 1024 * 1024];
    let mut n_total = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        n_total += n as u64;
    }
    Ok((n_total, format!("{:032x}", h.digest128())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8], chunk: usize) -> (Vec<(String, u64, u64)>, u64) {
        let mut r = ChunkReader::new(input, chunk).unwrap();
        let mut recs = Vec::new();
        let mut blank = 0;
        while let Some(c) = r.next_chunk().unwrap() {
            blank += c.blank;
            for l in &c.lines {
                recs.push((
                    String::from_utf8_lossy(&c.data[l.start..l.end]).into_owned(),
                    l.line,
                    l.offset,
                ));
            }
        }
        let (n, _) = r.finish().unwrap();
        assert_eq!(n, input.len() as u64);
        (recs, blank)
    }

    #[test]
    fn a_file_is_an_array_only_when_the_document_is_one() {
        // A JSON-lines file whose first line is `[]` or `["oops"]` keeps its records.
        for first in ["[]", "[\"oops\"]", "[1] "] {
            let input = format!("{first}\n{{\"a\":1}}\n{{\"a\":2}}\n");
            let (recs, _) = all(input.as_bytes(), 1024);
            let texts: Vec<&str> = recs.iter().map(|r| r.0.as_str()).collect();
            assert_eq!(texts, vec![first, "{\"a\":1}", "{\"a\":2}"], "{input:?}");
        }
        // One-line and pretty-printed arrays are arrays.
        let (recs, _) = all(b"[{\"a\":1},{\"a\":2}]\n", 1024);
        assert_eq!(recs.len(), 2);
        let (recs, _) = all(b"[\n  {\"a\": 1},\n  {\"a\": 2}\n]\n", 1024);
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].1, 3, "line of the second element");
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_record() {
        let (recs, _) = all(b"\xEF\xBB\xBF{\"a\":1}\n{\"a\":2}\n", 1024);
        assert_eq!(recs[0], ("{\"a\":1}".to_string(), 1, 3));
        let (recs, _) = all(b"\xEF\xBB\xBF[{\"a\":1}]", 1024);
        assert_eq!(recs, vec![("{\"a\":1}".to_string(), 1, 4)]);
    }

    #[test]
    fn json_lines_with_blanks_crlf_and_no_trailing_newline() {
        let input = b"{\"a\":1}\r\n\n  \n{\"a\":2}\n{\"a\":3";
        for chunk in [1, 5, 1024, 1 << 20] {
            let (recs, blank) = all(input, chunk);
            assert_eq!(
                recs,
                vec![
                    ("{\"a\":1}".to_string(), 1, 0),
                    ("{\"a\":2}".to_string(), 4, 13),
                    ("{\"a\":3".to_string(), 5, 21)
                ],
                "chunk {chunk}"
            );
            assert_eq!(blank, 2);
        }
    }

    #[test]
    fn top_level_array_pretty_printed() {
        let input = b"[\n  {\"a\": \"x]}\\\"\"},\n  {\"b\": [1,2]},\n  42\n]\n";
        for chunk in [1, 7, 1 << 20] {
            let (recs, _) = all(input, chunk);
            let texts: Vec<&str> = recs.iter().map(|r| r.0.as_str()).collect();
            assert_eq!(
                texts,
                vec!["{\"a\": \"x]}\\\"\"}", "{\"b\": [1,2]}", "42\n"],
                "chunk {chunk}"
            );
            assert_eq!(recs[0].1, 2);
            assert_eq!(recs[1].1, 3);
        }
    }

    #[test]
    fn truncated_array_element_is_emitted() {
        let (recs, _) = all(b"[{\"a\":1},{\"a\":", 1 << 20);
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].0, "{\"a\":");
    }

    #[test]
    fn gzip_is_transparent_and_hash_covers_compressed_bytes() {
        use flate2::{Compression, write::GzEncoder};
        use std::io::Write;
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(b"{\"a\":1}\n{\"a\":2}\n").unwrap();
        let gz = e.finish().unwrap();
        let (recs, _) = all(&gz, 1 << 20);
        assert_eq!(recs.len(), 2);
        let (_, h1) = hash_stream(&gz[..]).unwrap();
        let mut r = ChunkReader::new(&gz[..], 1024).unwrap();
        while r.next_chunk().unwrap().is_some() {}
        assert_eq!(r.finish().unwrap().1, h1);
    }
}
