//! `cargo xtask sentiment`: texts on stdin, one JSON object of VADER scores per line on
//! stdout, in order, equal to vaderSentiment 3.3.2 (the parity fixture's values).

use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn sentiment_cli_scores_stdin_lines_like_the_reference() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/features/tests/fixtures/vader_parity.jsonl"
    );
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(fixture)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        // One text per line: texts holding a line break cannot be fed this way.
        .filter(|v: &serde_json::Value| !v["text"].as_str().unwrap().contains(['\n', '\r']))
        .take(300)
        .collect();
    let input: String = rows
        .iter()
        .map(|v| format!("{}\n", v["text"].as_str().unwrap()))
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("sentiment")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let got: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got.len(), rows.len());
    for (g, want) in got.iter().zip(&rows) {
        for k in ["neg", "neu", "pos", "compound"] {
            let (a, b) = (g[k].as_f64().unwrap(), want[k].as_f64().unwrap());
            assert!(
                (a * 1e4).round() == (b * 1e4).round(),
                "{k}: {a} vs {b} for {:?}",
                want["text"]
            );
        }
        assert_eq!(g.as_object().unwrap().len(), 4);
    }
}
