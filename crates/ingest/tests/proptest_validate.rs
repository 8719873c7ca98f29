//! Differential property test of [`validate_record`] against `serde_json`.
//!
//! The oracle: a line is a record iff `serde_json::from_slice::<Value>(line)` is `Ok` and
//! an object. Differences that are part of `validate_record`'s contract (it checks the
//! JSON grammar's structure and punctuation only, "string contents are skipped") or
//! limits of the oracle rather than of the grammar are tolerated, in one direction only
//! (validate accepts, serde_json refuses), by the serde_json error class:
//!
//! - string contents: raw control characters, invalid escapes, lone surrogates in `\u`
//!   escapes, invalid UTF-8 inside a string (ingest checks UTF-8 up front);
//! - numbers that are grammatical but out of `f64` range (`1e400`);
//! - serde_json's recursion limit (128 levels), which the grammar does not have.
//!
//! Everything else must agree exactly, and a refusal must name a byte position inside
//! the line.

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::RngSeed;
use proptest::test_runner::TestCaseError;
use reviewlake_ingest::validate_record;
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

/// serde_json errors that `validate_record` does not look for, by design.
fn tolerated(e: &serde_json::Error) -> bool {
    let m = e.to_string();
    [
        "control character",
        "invalid escape",
        "invalid unicode code point",
        "lone leading surrogate",
        "unexpected end of hex escape",
        "number out of range",
        "recursion limit exceeded",
    ]
    .iter()
    .any(|t| m.contains(t))
}

fn show(line: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(line))
}

/// The differential check itself.
fn agree(line: &[u8]) -> Result<(), TestCaseError> {
    let ours = validate_record(line);
    let oracle = serde_json::from_slice::<Value>(line);
    if let Err(msg) = &ours {
        let pos = msg
            .strip_prefix("malformed JSON at byte ")
            .and_then(|r| r.split(':').next())
            .and_then(|n| n.parse::<usize>().ok());
        prop_assert!(
            pos.is_some_and(|p| p <= line.len()),
            "error does not name a byte position in the line: {msg:?} for {}",
            show(line)
        );
    }
    match (&ours, &oracle) {
        (Ok(()), Ok(v)) => prop_assert!(
            v.is_object(),
            "validate_record accepted a non-object: {}",
            show(line)
        ),
        (Err(msg), Ok(v)) => prop_assert!(
            !v.is_object(),
            "validate_record refused a JSON object ({msg}): {}",
            show(line)
        ),
        (Ok(()), Err(e)) => prop_assert!(
            tolerated(e),
            "validate_record accepted invalid JSON (serde_json: {e}): {}",
            show(line)
        ),
        (Err(_), Err(_)) => {}
    }
    Ok(())
}

/// A JSON document tree that, unlike `serde_json::Value`, can hold duplicate keys and
/// numbers spelled any grammatical way.
#[derive(Debug, Clone)]
enum J {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

/// Numbers: mostly grammatical, sometimes not (`01`, `1.`, `-`, `1e+`, `+1`, `.5`).
fn arb_number() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<i64>().prop_map(|i| i.to_string()),
        2 => any::<u64>().prop_map(|i| i.to_string()),
        3 => any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| f.to_string()),
        6 => "-?(0|[1-9][0-9]{0,20})(\\.[0-9]{1,8})?([eE][+-]?[0-9]{1,3})?",
        1 => "[-+]?[0-9]{0,3}\\.?[0-9]{0,2}([eE][+-]?)?[0-9]{0,2}",
    ]
}

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z\"\\\\/{}\\[\\]:, \u{0}-\u{1f}\u{7f}é\u{2028}😀]{0,12}",
    ]
}

fn arb_j() -> impl Strategy<Value = J> {
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        arb_number().prop_map(J::Num),
        arb_string().prop_map(J::Str),
    ];
    leaf.prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(J::Arr),
            prop::collection::vec((arb_key(), inner), 0..6).prop_map(J::Obj),
        ]
    })
}

/// Keys from a small set too, so objects get duplicate keys.
fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        arb_string(),
        prop::sample::select(vec!["a", "b", ""]).prop_map(String::from)
    ]
}

fn arb_object() -> impl Strategy<Value = J> {
    prop::collection::vec((arb_key(), arb_j()), 0..6).prop_map(J::Obj)
}

/// Whitespace to put between tokens: JSON's four whitespace bytes, mostly nothing.
fn arb_ws() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(
        prop::sample::select(vec!["", "", "", " ", "\t", "\r", "\n", "  \r\n "]),
        1..16,
    )
}

/// Tokens of a document (a string or a number is one token).
fn tokens(j: &J, out: &mut Vec<Vec<u8>>) {
    match j {
        J::Null => out.push(b"null".to_vec()),
        J::Bool(b) => out.push(if *b {
            b"true".to_vec()
        } else {
            b"false".to_vec()
        }),
        J::Num(n) => out.push(n.clone().into_bytes()),
        J::Str(s) => out.push(serde_json::to_vec(s).unwrap()),
        J::Arr(items) => {
            out.push(b"[".to_vec());
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b",".to_vec());
                }
                tokens(it, out);
            }
            out.push(b"]".to_vec());
        }
        J::Obj(entries) => {
            out.push(b"{".to_vec());
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(b",".to_vec());
                }
                out.push(serde_json::to_vec(k).unwrap());
                out.push(b":".to_vec());
                tokens(v, out);
            }
            out.push(b"}".to_vec());
        }
    }
}

/// Tokens joined with whitespace taken cyclically from `ws` (before, between, after).
fn join(toks: &[Vec<u8>], ws: &[&'static str]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, t) in toks.iter().enumerate() {
        out.extend_from_slice(ws[k % ws.len()].as_bytes());
        out.extend_from_slice(t);
    }
    out.extend_from_slice(ws[toks.len() % ws.len()].as_bytes());
    out
}

fn write(j: &J, ws: &[&'static str]) -> Vec<u8> {
    let mut toks = Vec::new();
    tokens(j, &mut toks);
    join(&toks, ws)
}

/// Tokens to insert or to build token soup from: punctuation, literals (some broken),
/// numbers (some invalid), strings (some unterminated or with a bad escape).
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ",",
    ":",
    "\"k\"",
    "\"\"",
    "\"a\\\"b\"",
    "\"x",
    "\"\\\"",
    "\"\\u12\"",
    "1",
    "-0",
    "-",
    "01",
    "1.",
    ".5",
    "1e",
    "1e+5",
    "2.5E-3",
    "+1",
    "--1",
    "null",
    "true",
    "false",
    "nul",
    "tru",
    "nulll",
    "NaN",
    "Infinity",
    "x",
    "'a'",
    "/",
];

/// Structural tokens, where targeted mutations happen.
const PUNCT: &[&str] = &["{", "}", "[", "]", ",", ":"];

/// Tokens inserted next to structural ones.
const SMALL: &[&str] = &[",", ",", ":", "{", "}", "[", "]", "1", "\"k\"", "null"];

#[derive(Debug, Clone)]
enum TokenMutation {
    Delete(Index),
    Duplicate(Index),
    Insert(Index, &'static str),
    Swap(Index),
    Replace(Index, &'static str),
    /// Insert `tok` before (or after) one of the `anchor` tokens: `{"a":1,}`, `[,1]`.
    InsertNear(Index, &'static str, bool, &'static str),
    /// Delete one of the `anchor` tokens: a missing comma, colon or bracket.
    DeleteOf(Index, &'static str),
    /// Replace one of the `anchor` tokens: `{"a":1]`.
    ReplaceOf(Index, &'static str, &'static str),
}

fn arb_token_mutation() -> impl Strategy<Value = TokenMutation> {
    let tok = prop::sample::select(TOKENS);
    let punct = prop::sample::select(PUNCT);
    let small = prop::sample::select(SMALL);
    prop_oneof![
        1 => any::<Index>().prop_map(TokenMutation::Delete),
        1 => any::<Index>().prop_map(TokenMutation::Duplicate),
        1 => (any::<Index>(), tok.clone()).prop_map(|(i, t)| TokenMutation::Insert(i, t)),
        1 => any::<Index>().prop_map(TokenMutation::Swap),
        1 => (any::<Index>(), tok).prop_map(|(i, t)| TokenMutation::Replace(i, t)),
        3 => (any::<Index>(), punct.clone(), any::<bool>(), small.clone())
            .prop_map(|(i, a, b, t)| TokenMutation::InsertNear(i, a, b, t)),
        2 => (any::<Index>(), punct.clone()).prop_map(|(i, a)| TokenMutation::DeleteOf(i, a)),
        2 => (any::<Index>(), punct, small).prop_map(|(i, a, t)| TokenMutation::ReplaceOf(i, a, t)),
    ]
}

fn mutate_tokens(toks: &mut Vec<Vec<u8>>, m: &TokenMutation) {
    let find = |toks: &Vec<Vec<u8>>, i: &Index, anchor: &str| {
        let at: Vec<usize> = (0..toks.len())
            .filter(|&k| toks[k] == anchor.as_bytes())
            .collect();
        (!at.is_empty()).then(|| at[i.index(at.len())])
    };
    match m {
        TokenMutation::Insert(i, t) => {
            let at = i.index(toks.len() + 1);
            toks.insert(at, t.as_bytes().to_vec());
        }
        TokenMutation::InsertNear(i, anchor, before, t) => {
            if let Some(at) = find(toks, i, anchor) {
                toks.insert(at + usize::from(!before), t.as_bytes().to_vec());
            }
        }
        TokenMutation::DeleteOf(i, anchor) => {
            if let Some(at) = find(toks, i, anchor) {
                toks.remove(at);
            }
        }
        TokenMutation::ReplaceOf(i, anchor, t) => {
            if let Some(at) = find(toks, i, anchor) {
                toks[at] = t.as_bytes().to_vec();
            }
        }
        _ if toks.is_empty() => {}
        TokenMutation::Delete(i) => {
            toks.remove(i.index(toks.len()));
        }
        TokenMutation::Duplicate(i) => {
            let at = i.index(toks.len());
            toks.insert(at, toks[at].clone());
        }
        TokenMutation::Swap(i) => {
            let at = i.index(toks.len());
            if at + 1 < toks.len() {
                toks.swap(at, at + 1);
            }
        }
        TokenMutation::Replace(i, t) => {
            let at = i.index(toks.len());
            toks[at] = t.as_bytes().to_vec();
        }
    }
}

/// JSON's structural alphabet, so random byte strings get past the first byte.
const ALPHABET: &[u8] = b"{}[]\":,  \t\n\r0123456789-+.eEtrufalsn\\ax\x00\xc3\xa9\xff";

fn arb_json_ish_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..48).prop_map(|mut v| {
        // Most real candidates start with '{'.
        if v.first() != Some(&b'[') {
            v.insert(0, b'{');
        }
        v
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(Index),
    Insert(Index, u8),
    Duplicate(Index),
    RemoveComma(Index),
    Swap(Index),
    Truncate(Index),
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![3 => prop::sample::select(ALPHABET), 1 => any::<u8>()];
    prop_oneof![
        1 => any::<Index>().prop_map(Mutation::Delete),
        1 => (any::<Index>(), byte).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => any::<Index>().prop_map(Mutation::Duplicate),
        3 => any::<Index>().prop_map(Mutation::RemoveComma),
        1 => any::<Index>().prop_map(Mutation::Swap),
        1 => any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(line: &mut Vec<u8>, m: &Mutation) {
    match m {
        Mutation::Insert(i, b) => {
            let at = i.index(line.len() + 1);
            line.insert(at, *b);
        }
        _ if line.is_empty() => {}
        Mutation::Delete(i) => {
            line.remove(i.index(line.len()));
        }
        Mutation::Duplicate(i) => {
            let at = i.index(line.len());
            line.insert(at, line[at]);
        }
        Mutation::RemoveComma(i) => {
            let commas: Vec<usize> = (0..line.len()).filter(|&k| line[k] == b',').collect();
            if !commas.is_empty() {
                line.remove(commas[i.index(commas.len())]);
            }
        }
        Mutation::Swap(i) => {
            let at = i.index(line.len());
            if at + 1 < line.len() {
                line.swap(at, at + 1);
            }
        }
        Mutation::Truncate(i) => line.truncate(i.index(line.len())),
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// (a) Objects serialised by serde_json itself are accepted; other values refused.
    #[test]
    fn serde_json_values(j in arb_j(), pretty in any::<bool>()) {
        // (Numbers out of f64 range have no serde_json value: nothing to serialise.)
        let Ok(v) = serde_json::from_slice::<Value>(&write(&j, &[""])) else {
            return Ok(());
        };
        let line = if pretty {
            serde_json::to_vec_pretty(&v).unwrap()
        } else {
            serde_json::to_vec(&v).unwrap()
        };
        prop_assert_eq!(validate_record(&line).is_ok(), v.is_object(), "{}", show(&line));
        agree(&line)?;
    }

    /// (a) Hand-written documents: duplicate keys, any number spelling, whitespace
    /// between every token; objects and every other kind of top-level value.
    #[test]
    fn written_documents(j in prop_oneof![arb_object(), arb_j()], ws in arb_ws()) {
        agree(&write(&j, &ws))?;
    }

    /// (b) Arbitrary bytes.
    #[test]
    fn arbitrary_bytes(line in prop::collection::vec(any::<u8>(), 0..64)) {
        agree(&line)?;
    }

    /// (b) Byte strings over JSON's own alphabet, which get much deeper.
    #[test]
    fn json_alphabet_bytes(line in arb_json_ish_bytes()) {
        agree(&line)?;
    }

    /// (c) Valid objects with one to three small mutations (deleted, inserted or
    /// duplicated byte, a comma removed, two bytes swapped, truncation).
    #[test]
    fn mutated_objects(
        j in arb_object(),
        ws in arb_ws(),
        muts in prop::collection::vec(arb_mutation(), 1..4),
    ) {
        let mut line = write(&j, &ws);
        for m in &muts {
            mutate(&mut line, m);
        }
        agree(&line)?;
    }

    /// (c) Two objects on one line, or an object and a trailing value, are refused.
    #[test]
    fn two_values_on_a_line(a in arb_object(), b in arb_j(), ws in arb_ws()) {
        let mut line = write(&a, &ws);
        line.extend_from_slice(&write(&b, &ws));
        prop_assert!(validate_record(&line).is_err(), "{}", show(&line));
        agree(&line)?;
    }
}

proptest! {
    // Cheap cases: more of them, to reach the rare structural corners.
    #![proptest_config(config(1024))]

    /// (c) Valid objects with one to three token-level mutations (a token deleted,
    /// duplicated, swapped with the next, replaced or inserted): trailing commas,
    /// missing colons, `{"a":1 "b":2}`, unbalanced brackets, broken literals.
    #[test]
    fn token_mutated_objects(
        j in arb_object(),
        ws in arb_ws(),
        muts in prop::collection::vec(arb_token_mutation(), 1..4),
    ) {
        let mut toks = Vec::new();
        tokens(&j, &mut toks);
        for m in &muts {
            mutate_tokens(&mut toks, m);
        }
        agree(&join(&toks, &ws))?;
    }

    /// (b) Token soup: random sequences of JSON tokens, mostly opening with `{`.
    #[test]
    fn token_soup(
        open in prop::bool::weighted(0.9),
        toks in prop::collection::vec(prop::sample::select(TOKENS), 0..16),
        ws in arb_ws(),
    ) {
        let mut all: Vec<Vec<u8>> = Vec::new();
        if open {
            all.push(b"{".to_vec());
        }
        all.extend(toks.iter().map(|t| t.as_bytes().to_vec()));
        agree(&join(&all, &ws))?;
    }
}

/// The commas-as-whitespace cases arrow-json would let through, explicitly.
#[test]
fn missing_commas_are_refused() {
    for line in [
        &br#"{"a":1 "b":2}"#[..],
        br#"{"a":[1 2]}"#,
        br#"{"a":{"b":1 "c":2}}"#,
        br#"{"a":1,,"b":2}"#,
        br#"{"a":1,}"#,
    ] {
        assert!(validate_record(line).is_err(), "{}", show(line));
        agree(line).unwrap();
    }
}

/// Very deep nesting: no stack overflow and no panic (the checker keeps its bracket
/// stack on the heap). The verdict is not asserted: serde_json stops at 128 levels,
/// the grammar has no limit.
#[test]
fn deep_nesting_does_not_overflow() {
    for depth in [127usize, 128, 129, 100_000] {
        let mut line = Vec::new();
        line.extend(std::iter::repeat_n(&b"{\"a\":["[..], depth).flatten());
        line.extend_from_slice(b"{}");
        line.extend(std::iter::repeat_n(&b"]}"[..], depth).flatten());
        let _ = validate_record(&line);
        agree(&line).unwrap();
        // Unbalanced: never accepted.
        line.pop();
        assert!(validate_record(&line).is_err());
    }
}
