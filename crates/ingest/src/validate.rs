//! A strict, fast structural check of one JSON record.
//!
//! arrow-json's tape decoder treats commas as whitespace, so `{"a":1 "b":2}` and
//! `{"a":1,,}` would be accepted. This check enforces the JSON grammar's punctuation
//! (commas, colons, brackets, literals) and that the record is one object, before the
//! decoder sees it. String contents are skipped with `memchr`, so on review data (mostly
//! text) it costs a small fraction of the decode.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// A value (after `:`, `[` or `,` in an array, or at the top).
    Value,
    /// A value or `]` (just after `[`).
    ValueOrClose,
    /// A key (after `,` in an object).
    Key,
    /// A key or `}` (just after `{`).
    KeyOrClose,
    /// `:` after a key.
    Colon,
    /// `,` or the closing bracket after a value.
    CommaOrClose,
    /// Nothing but whitespace (after the top-level value).
    End,
}

/// Checks that `line` is exactly one well-formed JSON object. Returns a message naming
/// the byte position on failure.
pub fn validate_record(line: &[u8]) -> Result<(), String> {
    check(line, usize::MAX, None)
}

/// Deepest nesting of objects and arrays a record may have before ingest sends it to
/// quarantine (far beyond any real record; it keeps recursive decoders safe).
pub const MAX_DEPTH: usize = 64;

/// A top-level field of a scanned record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScannedField {
    /// Byte range of the key's raw text between its quotes (escapes not resolved).
    pub key: (usize, usize),
    /// Whether the value holds a number with a fraction or an exponent anywhere in it
    /// (such a number must not be decoded into an integer column).
    pub fractional: bool,
}

/// Like [`validate_record`], and also refuses nesting deeper than `max_depth` levels
/// (before any recursive decoder sees the line), and returns the record's top-level
/// fields.
///
/// ```
/// use reviewlake_ingest::scan_record;
/// let line = br#"{"a": 1, "b": {"c": [2.5]}}"#;
/// let fields = scan_record(line, 64).unwrap();
/// let names: Vec<&[u8]> = fields.iter().map(|f| &line[f.key.0..f.key.1]).collect();
/// assert_eq!(names, vec![&b"a"[..], &b"b"[..]]);
/// assert_eq!(fields.iter().map(|f| f.fractional).collect::<Vec<_>>(), [false, true]);
/// assert!(scan_record(br#"{"a":[[[1]]]}"#, 3).unwrap_err().contains("deeper than 3"));
/// ```
pub fn scan_record(line: &[u8], max_depth: usize) -> Result<Vec<ScannedField>, String> {
    let mut fields = Vec::new();
    check(line, max_depth, Some(&mut fields))?;
    Ok(fields)
}

fn check(
    line: &[u8],
    max_depth: usize,
    mut keys: Option<&mut Vec<ScannedField>>,
) -> Result<(), String> {
    let mut stack: Vec<u8> = Vec::with_capacity(8);
    let mut expect = Expect::Value;
    let mut i = 0;
    let n = line.len();
    let fail = |i: usize, what: &str| Err(format!("malformed JSON at byte {i}: {what}"));
    while i < n {
        let b = line[i];
        if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
            continue;
        }
        let after_value = |stack: &Vec<u8>| {
            if stack.is_empty() {
                Expect::End
            } else {
                Expect::CommaOrClose
            }
        };
        match expect {
            Expect::End => return fail(i, "more than one JSON value on the line"),
            Expect::Colon => {
                if b != b':' {
                    return fail(i, "expected ':' after a key");
                }
                expect = Expect::Value;
                i += 1;
            }
            Expect::CommaOrClose => match b {
                b',' => {
                    expect = if stack.last() == Some(&b'{') {
                        Expect::Key
                    } else {
                        Expect::Value
                    };
                    i += 1;
                }
                b'}' | b']' => {
                    let open = stack.pop();
                    if (b == b'}' && open != Some(b'{')) || (b == b']' && open != Some(b'[')) {
                        return fail(i, "mismatched closing bracket");
                    }
                    expect = after_value(&stack);
                    i += 1;
                }
                _ => return fail(i, "expected ',' or a closing bracket"),
            },
            Expect::Key | Expect::KeyOrClose => match b {
                b'"' => {
                    let start = i;
                    i = skip_string(line, i).ok_or_else(|| {
                        format!("malformed JSON at byte {i}: unterminated string")
                    })?;
                    if stack.len() == 1
                        && let Some(k) = keys.as_deref_mut()
                    {
                        k.push(ScannedField {
                            key: (start + 1, i - 1),
                            fractional: false,
                        });
                    }
                    expect = Expect::Colon;
                }
                b'}' if expect == Expect::KeyOrClose => {
                    stack.pop();
                    expect = after_value(&stack);
                    i += 1;
                }
                _ => return fail(i, "expected a quoted key"),
            },
            Expect::Value | Expect::ValueOrClose => {
                if stack.is_empty() && b != b'{' {
                    return fail(i, "the record is not a JSON object");
                }
                if matches!(b, b'{' | b'[') && stack.len() >= max_depth {
                    return Err(format!(
                        "malformed record at byte {i}: nesting deeper than {max_depth} levels"
                    ));
                }
                match b {
                    b'{' => {
                        stack.push(b'{');
                        expect = Expect::KeyOrClose;
                        i += 1;
                    }
                    b'[' => {
                        stack.push(b'[');
                        expect = Expect::ValueOrClose;
                        i += 1;
                    }
                    b']' if expect == Expect::ValueOrClose => {
                        stack.pop();
                        expect = after_value(&stack);
                        i += 1;
                    }
                    b'"' => {
                        i = skip_string(line, i).ok_or_else(|| {
                            format!("malformed JSON at byte {i}: unterminated string")
                        })?;
                        expect = after_value(&stack);
                    }
                    b't' | b'f' | b'n' => {
                        let lit: &[u8] = match b {
                            b't' => b"true",
                            b'f' => b"false",
                            _ => b"null",
                        };
                        if !line[i..].starts_with(lit) {
                            return fail(i, "invalid literal");
                        }
                        i += lit.len();
                        expect = after_value(&stack);
                    }
                    b'-' | b'0'..=b'9' => {
                        let start = i;
                        while i < n
                            && matches!(line[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                        {
                            i += 1;
                        }
                        if !is_number(&line[start..i]) {
                            return fail(start, "invalid number");
                        }
                        if line[start..i]
                            .iter()
                            .any(|c| matches!(c, b'.' | b'e' | b'E'))
                            && let Some(f) = keys.as_deref_mut().and_then(|k| k.last_mut())
                        {
                            f.fractional = true;
                        }
                        expect = after_value(&stack);
                    }
                    _ => return fail(i, "expected a value"),
                }
            }
        }
    }
    if expect != Expect::End {
        return fail(n, "the record ends before the JSON object closes");
    }
    Ok(())
}

/// Given `line[i] == b'"'`, returns the index just past the closing quote.
fn skip_string(line: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        let rel = memchr::memchr2(b'"', b'\\', &line[i..])?;
        i += rel;
        if line[i] == b'\\' {
            i += 2;
            if i > line.len() {
                return None;
            }
        } else {
            return Some(i + 1);
        }
    }
}

/// JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
fn is_number(s: &[u8]) -> bool {
    let mut i = 0;
    if s.get(i) == Some(&b'-') {
        i += 1;
    }
    match s.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while matches!(s.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        _ => return false,
    }
    if s.get(i) == Some(&b'.') {
        i += 1;
        let st = i;
        while matches!(s.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        if i == st {
            return false;
        }
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(s.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let st = i;
        while matches!(s.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        if i == st {
            return false;
        }
    }
    i == s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_records() {
        for ok in [
            &b"{}"[..],
            b"{\"a\":1}",
            b" { \"a\" : [1, -2.5e3, true, false, null, \"x\\\"y\"], \"b\": {\"c\": []} } ",
            b"{\"t\":\"caf\xc3\xa9 \\u00e9 \\\\\"}",
            b"{\"h\":[[\"Mon\",\"8AM\xe2\x80\x935PM\"]],\"m\":{}}",
        ] {
            assert_eq!(
                validate_record(ok),
                Ok(()),
                "{}",
                String::from_utf8_lossy(ok)
            );
        }
    }

    #[test]
    fn rejects_what_arrow_json_lets_through() {
        for bad in [
            &b"{\"a\":1 \"b\":2}"[..],
            b"{\"a\":1,,\"b\":2}",
            b"{\"a\":1,}",
            b"{,\"a\":1}",
            b"{\"a\":[1 2]}",
            b"{\"a\":[1,]}",
            b"{\"a\" 1}",
            b"{\"a\":1}{\"b\":2}",
            b"{\"a\":01}",
            b"{\"a\":tru}",
            b"[1,2]",
            b"42",
            b"{\"a\":1",
            b"{\"a\":\"x}",
            b"{\"a\":1]",
            b"{a:1}",
        ] {
            assert!(
                validate_record(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
