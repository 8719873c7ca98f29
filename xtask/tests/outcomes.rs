//! Loud outcomes, through the `xtask` binary: bad options fail at once with nothing
//! written; a lake that does not exist is refused by the stages that only read; a source
//! of HTML pages named as Yelp files ends with exit status 2 and one warning per file;
//! hostile files (a 100k-deep line, a `[]` first line, a byte-order mark) lose nothing
//! that is valid.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn xtask() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_xtask"));
    c.env("RUST_LOG", "warn")
        .env_remove("REVIEWLAKE_TEST_PAUSE_AFTER_COMMITS")
        .stdin(Stdio::null());
    c
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn pipeline(src: &Path, lake: &Path, args: &[&str]) -> Output {
    xtask()
        .args(["pipeline", "--quiet", "--source"])
        .arg(src)
        .arg("--lake")
        .arg(lake)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn bad_options_fail_at_once_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("yelp_academic_dataset_review.json"), "{}\n").unwrap();
    let lake = dir.path().join("lake");
    for (args, needle) in [
        (vec!["--states", "ZZ"], "unknown state \"ZZ\""),
        (
            vec!["--categories", "nosuch"],
            "unknown category \"nosuch\"",
        ),
        (vec!["--top-gdp", "0"], "--top-gdp must be at least 1"),
        (vec!["--top-gdp", "60"], "the GDP table has only"),
        (vec!["--until", "nowhere"], "unknown stage"),
        (
            vec!["--memory-limit", "lots"],
            "--memory-limit: \"lots\" is not a size",
        ),
        (vec!["--memory-limit", "3 parsecs"], "unknown unit"),
    ] {
        let t0 = Instant::now();
        let out = pipeline(&src, &lake, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(needle),
            "{args:?}: {}",
            text(&out)
        );
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "{args:?} took {:?}",
            t0.elapsed()
        );
        assert!(!lake.exists(), "{args:?} left a lake folder behind");
    }
    // A source that is not a folder: nothing created either.
    let out = pipeline(&dir.path().join("missing"), &lake, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!lake.exists());
}

#[test]
fn reading_commands_refuse_a_missing_lake() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("nolake");
    for args in [
        vec!["sql", "SELECT 1", "--lake"],
        vec!["report", "--lake"],
        vec!["snapshots", "--lake"],
    ] {
        let out = xtask().args(&args).arg(&lake).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("no lake at"),
            "{args:?}: {}",
            text(&out)
        );
        assert!(!lake.exists(), "{args:?} created the lake");
    }
    let out = pipeline(dir.path(), &lake, &["--from", "warehouse"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no lake at"));
    assert!(!lake.exists());
}

#[test]
fn html_pages_named_as_yelp_files_exit_2_with_one_warning_each() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let page = "<!DOCTYPE html>\n<html><head><title>Yelp</title></head>\n<body>\n<p>Sign in</p>\n</body>\n</html>\n";
    for name in [
        "yelp_academic_dataset_business.json",
        "yelp_academic_dataset_review.json",
    ] {
        std::fs::write(src.join(name), page).unwrap();
    }
    let lake = dir.path().join("lake");
    let report = dir.path().join("run.json");
    let out = pipeline(
        &src,
        &lake,
        &["--until", "warehouse", "--report", report.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // --quiet: the warnings are on stderr, nothing on stdout.
    assert!(out.stdout.is_empty(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    for name in [
        "yelp_academic_dataset_business.json",
        "yelp_academic_dataset_review.json",
    ] {
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| l.starts_with("warning:") && l.contains(name))
            .collect();
        assert_eq!(lines.len(), 1, "one warning for {name}: {err}");
        assert!(lines[0].contains("HTML"), "{}", lines[0]);
    }
    // Nothing of them reached the warehouse; everything is in quarantine.
    let count = |q: &str| -> i64 {
        let out = xtask()
            .args(["sql", "--format", "csv", "--lake"])
            .arg(&lake)
            .arg(q)
            .output()
            .unwrap();
        assert!(out.status.success(), "{q}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .unwrap()
    };
    assert_eq!(count("SELECT count(*) FROM fact_review"), 0);
    assert_eq!(count("SELECT count(*) FROM dim_business"), 0);
    assert_eq!(count("SELECT count(*) FROM quarantine"), 12);
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["warnings"].as_array().map(Vec::len), Some(2), "{r}");
    // --allow-empty accepts the same outcome.
    let out = pipeline(&src, &lake, &["--until", "warehouse", "--allow-empty"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn hostile_files_lose_nothing_valid() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let rec = |id: &str| format!("{{\"review_id\":\"{id}\",\"stars\":4,\"text\":\"ok\"}}");
    let deep = format!("{{\"x\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_known = format!(
        "{{\"review_id\":\"d\",\"text\":{}\"t\"{}}}",
        "[".repeat(40_000),
        "]".repeat(40_000)
    );
    std::fs::create_dir_all(src.join("deep")).unwrap();
    std::fs::write(
        src.join("deep/yelp_academic_dataset_review.json"),
        format!(
            "{}\n{deep}\n{}\n{deep_known}\n{}\n",
            rec("a"),
            rec("b"),
            rec("c")
        ),
    )
    .unwrap();
    std::fs::create_dir_all(src.join("brackets")).unwrap();
    std::fs::write(
        src.join("brackets/yelp_academic_dataset_review.json"),
        format!("[]\n{}\n{}\n", rec("e"), rec("f")),
    )
    .unwrap();
    std::fs::create_dir_all(src.join("bom")).unwrap();
    std::fs::write(
        src.join("bom/yelp_academic_dataset_review.json"),
        format!("\u{feff}{}\n{}\n", rec("g"), rec("h")),
    )
    .unwrap();
    let lake = dir.path().join("lake");
    let report = dir.path().join("run.json");
    let out = pipeline(
        &src,
        &lake,
        &["--until", "ingest", "--report", report.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let file = |p: &str| {
        r["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == p)
            .cloned()
            .unwrap_or_else(|| panic!("{p} not in {r}"))
    };
    let deep = file("deep/yelp_academic_dataset_review.json");
    assert_eq!(
        (
            deep["read"].as_u64(),
            deep["written"].as_u64(),
            deep["quarantined"].as_u64()
        ),
        (Some(5), Some(3), Some(2))
    );
    let brackets = file("brackets/yelp_academic_dataset_review.json");
    assert_eq!(
        (
            brackets["written"].as_u64(),
            brackets["quarantined"].as_u64()
        ),
        (Some(2), Some(1))
    );
    let bom = file("bom/yelp_academic_dataset_review.json");
    assert_eq!(
        (bom["written"].as_u64(), bom["quarantined"].as_u64()),
        (Some(2), Some(0))
    );
}
