//! Parity of the Rust VADER port with vaderSentiment 3.3.2.
//!
//! `tests/fixtures/vader_parity.jsonl` holds, one JSON object per line, a
//! text and the `neg`/`neu`/`pos`/`compound` scores Python's
//! `SentimentIntensityAnalyzer().polarity_scores` gave for it; it is made by
//! `tests/fixtures/make_vader_parity.py`. Every text must score the same to
//! four decimals.

use reviewlake_features::vader::{SentimentAnalyzer, SentimentScores};

const MIN_TEXTS: usize = 2_000;
const MAX_REPORTED: usize = 20;

/// A score as an integer number of 1e-4 units, so that equal four-decimal
/// values compare equal whatever their last binary digit.
fn to_4dp(x: f64) -> i64 {
    (x * 1e4).round() as i64
}

fn field(obj: &serde_json::Value, name: &str, line_no: usize) -> f64 {
    obj.get(name)
        .and_then(serde_json::Value::as_f64)
        .unwrap_or_else(|| panic!("line {line_no}: missing numeric field {name:?}"))
}

fn truncate(text: &str, max_chars: usize) -> String {
    let mut out: String = text.chars().take(max_chars).collect();
    if text.chars().nth(max_chars).is_some() {
        out.push_str("...");
    }
    out
}

#[test]
fn vader_matches_python_on_every_fixture_text() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/vader_parity.jsonl"
    );
    let data = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let analyzer = SentimentAnalyzer::new();

    let mut total = 0usize;
    let mut mismatches: Vec<String> = Vec::new();
    let mut mismatch_count = 0usize;
    for (idx, line) in data.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let line_no = idx + 1;
        let obj: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("line {line_no}: invalid JSON: {e}"));
        let text = obj
            .get("text")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_else(|| panic!("line {line_no}: missing string field \"text\""));
        let expected = SentimentScores {
            neg: field(&obj, "neg", line_no),
            neu: field(&obj, "neu", line_no),
            pos: field(&obj, "pos", line_no),
            compound: field(&obj, "compound", line_no),
        };
        total += 1;

        let got = analyzer.polarity_scores(text);
        let same = [
            (got.neg, expected.neg),
            (got.neu, expected.neu),
            (got.pos, expected.pos),
            (got.compound, expected.compound),
        ]
        .iter()
        .all(|&(a, b)| to_4dp(a) == to_4dp(b));
        if !same {
            mismatch_count += 1;
            if mismatches.len() < MAX_REPORTED {
                mismatches.push(format!(
                    "line {line_no}: text {:?}\n    python {expected:?}\n    rust   {got:?}",
                    truncate(text, 200)
                ));
            }
        }
    }

    assert!(
        total >= MIN_TEXTS,
        "fixture has only {total} texts, expected at least {MIN_TEXTS}"
    );
    assert!(
        mismatch_count == 0,
        "{mismatch_count} of {total} texts differ from vaderSentiment; first ones:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn shared_analyzer_matches_a_fresh_one() {
    let fresh = SentimentAnalyzer::new();
    let text = "The food was GREAT, but the service was not good :( 😡!!";
    assert_eq!(
        SentimentAnalyzer::shared().polarity_scores(text),
        fresh.polarity_scores(text)
    );
}
