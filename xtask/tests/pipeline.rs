//! Pipeline-level tests that drive the `xtask` binary: dirty generated data reconciles
//! with the generator's manifest, and a SIGKILL in the middle of ingest is repaired by a
//! re-run without duplicates.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use arrow::array::{Array, Int64Array, StringArray};
use reviewlake_lake::{Lake, Zone};
use reviewlake_schema::RawDataset;
use reviewlake_tests::{Fingerprint, fingerprint};

fn xtask() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_xtask"));
    c.env("RUST_LOG", "warn");
    c
}

fn generate(out: &Path, reviews: u64, dirty: f64) {
    let opts = reviewlake_datagen::GenOptions::new(reviews)
        .seed(11)
        .dirty(dirty);
    reviewlake_datagen::generate(out, &opts).unwrap();
}

fn pipeline(source: &Path, lake: &Path, report: Option<&Path>) -> Command {
    let mut c = xtask();
    c.args(["pipeline", "--quiet", "--until", "ingest", "--source"])
        .arg(source)
        .arg("--lake")
        .arg(lake)
        .stdout(Stdio::null());
    if let Some(r) = report {
        c.arg("--report").arg(r);
    }
    c
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

#[test]
fn dirty_data_quarantine_holds_exactly_the_injected_lines() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    generate(&src, 4000, 0.02);
    let lake_dir = dir.path().join("lake");
    let report_path = dir.path().join("report.json");
    let st = pipeline(&src, &lake_dir, Some(&report_path))
        .status()
        .unwrap();
    assert!(st.success());

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("manifest.json")).unwrap()).unwrap();
    let files = report["files"].as_array().unwrap();
    let mfiles = manifest["files"].as_array().unwrap();
    let mut rescued_lines: std::collections::HashMap<String, u64> = Default::default();
    for l in std::fs::read_to_string(src.join("dirty_manifest.jsonl"))
        .unwrap()
        .lines()
    {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        if v["rescued"].as_bool() == Some(true) {
            *rescued_lines
                .entry(v["path"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    assert!(
        rescued_lines.values().sum::<u64>() > 0,
        "no wrong-type injection"
    );
    assert_eq!(files.len(), mfiles.len());
    for m in mfiles {
        let path = m["path"].as_str().unwrap();
        let f = files.iter().find(|f| f["path"] == path).unwrap();
        assert_eq!(f["dataset"], m["dataset"], "{path}");
        let (read, written, quarantined) = (
            f["read"].as_u64().unwrap(),
            f["written"].as_u64().unwrap(),
            f["quarantined"].as_u64().unwrap(),
        );
        assert_eq!(read, written + quarantined, "{path}");
        assert_eq!(read, m["lines"].as_u64().unwrap(), "{path} lines");
        assert_eq!(written, m["records"].as_u64().unwrap(), "{path} records");
        // Wrong-type fields land with the value in `_rescued_data` (counted per file).
        assert_eq!(
            f["rescued"].as_u64().unwrap(),
            rescued_lines.get(path).copied().unwrap_or(0),
            "{path} rescued"
        );
    }

    // The quarantine table holds exactly the injected malformed lines.
    let expected: BTreeSet<(String, i64)> =
        std::fs::read_to_string(src.join("dirty_manifest.jsonl"))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["quarantine"].as_bool() == Some(true))
            .map(|v| {
                (
                    v["path"].as_str().unwrap().to_string(),
                    v["line"].as_i64().unwrap(),
                )
            })
            .collect();
    assert!(
        expected.len() > 10,
        "too few injections: {}",
        expected.len()
    );
    let lake = Lake::open(lake_dir.to_str().unwrap()).unwrap();
    let batches = rt()
        .block_on(lake.read_table(Zone::Raw, "quarantine"))
        .unwrap();
    let mut got = BTreeSet::new();
    for b in &batches {
        let f = b
            .column_by_name("_source_file")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        let l = b
            .column_by_name("_line")
            .unwrap()
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        let e = b
            .column_by_name("error")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        for i in 0..b.num_rows() {
            assert!(!e.value(i).is_empty());
            got.insert((f.value(i).to_string(), l.value(i)));
        }
    }
    assert_eq!(got, expected);
}

fn fingerprints(lake_dir: &Path) -> Vec<(String, Fingerprint)> {
    let lake = Lake::open(lake_dir.to_str().unwrap()).unwrap();
    rt().block_on(async {
        let mut out = Vec::new();
        for t in RawDataset::ALL
            .iter()
            .map(|d| d.table_name())
            .chain(["quarantine"])
        {
            out.push((t.to_string(), fingerprint(&lake, t).await.unwrap()));
        }
        out
    })
}

#[test]
fn sigkill_mid_ingest_then_rerun_equals_one_clean_run() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    generate(&src, 40_000, 0.005);

    // A clean run, timed.
    let clean = dir.path().join("clean");
    let t0 = Instant::now();
    assert!(pipeline(&src, &clean, None).status().unwrap().success());
    let clean_time = t0.elapsed();
    let want = fingerprints(&clean);
    let rows = |t: &str| {
        want.iter()
            .find(|(n, _)| n == t)
            .map_or(0, |(_, r)| r.len())
    };
    assert!(rows("yelp_review") > 0 && rows("google_review") > 0);

    // Kill runs at several points of the ingest, re-running in between.
    let lake = dir.path().join("killed");
    let mut killed_mid_run = 0;
    for frac in [0.3, 0.6, 0.9] {
        let mut child = pipeline(&src, &lake, None).spawn().unwrap();
        std::thread::sleep(clean_time.mul_f64(frac));
        if child.try_wait().unwrap().is_none() {
            killed_mid_run += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Whatever was committed is readable.
        let l = Lake::open(lake.to_str().unwrap()).unwrap();
        rt().block_on(async {
            for t in l.list_tables(Zone::Raw).await.unwrap() {
                l.read_table(Zone::Raw, &t).await.unwrap();
            }
        });
    }
    assert!(
        killed_mid_run > 0,
        "no kill landed mid-run (clean run took {clean_time:?})"
    );
    let st = pipeline(&src, &lake, None).status().unwrap();
    assert!(st.success());
    assert_eq!(fingerprints(&lake), want);
    // And once more: nothing changes.
    assert!(pipeline(&src, &lake, None).status().unwrap().success());
    assert_eq!(fingerprints(&lake), want);
}
