//! The lake's seams, driven through the `xtask` binary as a user would:
//! - a warehouse rebuild killed (SIGKILL) at several points, or failing its
//!   reconciliation, is never half seen: `xtask sql` and the features stage read the
//!   previous snapshot; the re-run completes and a new snapshot shows the new counts;
//! - one writer at a time: a second pipeline fails with the lease message, and after a
//!   SIGKILL of the holder the next run starts without clean-up;
//! - a table whose column type was changed by hand makes `report` and `features` fail
//!   with an error naming the table and the column (exit 1, no panic);
//! - `xtask sql` is read-only and honours LIMIT; `xtask vacuum` leaves exactly the files
//!   the Delta log references.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::datatypes::{DataType, Field, Schema};
use reviewlake_lake::{Lake, TableRewrite, Zone};

fn xtask() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_xtask"));
    c.env("RUST_LOG", "warn")
        .env_remove("REVIEWLAKE_TEST_PAUSE_AFTER_COMMITS");
    c
}

struct World {
    _dir: tempfile::TempDir,
    src: PathBuf,
    lake: PathBuf,
}

/// Generated sources and a lake built through the warehouse with every state.
fn world(reviews: u64) -> World {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    reviewlake_datagen::generate(&src, &reviewlake_datagen::GenOptions::new(reviews).seed(5))
        .unwrap();
    let lake = dir.path().join("lake");
    let w = World {
        _dir: dir,
        src,
        lake,
    };
    let out = run(&mut w.pipeline(&["--until", "warehouse", "--states", "all"]));
    assert!(out.status.success(), "{}", text(&out));
    w
}

impl World {
    fn pipeline(&self, args: &[&str]) -> Command {
        let mut c = xtask();
        c.args(["pipeline", "--quiet", "--source"])
            .arg(&self.src)
            .arg("--lake")
            .arg(&self.lake)
            .args(args);
        c
    }

    fn sql(&self, query: &str) -> Output {
        run(xtask()
            .args(["sql", "--format", "csv", "--lake"])
            .arg(&self.lake)
            .arg(query))
    }

    /// The single number a `SELECT count(*) ...` prints.
    fn count(&self, query: &str) -> i64 {
        let out = self.sql(query);
        assert!(out.status.success(), "{query}: {}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        stdout
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("{query}: no count in {stdout:?}"))
    }
}

fn run(c: &mut Command) -> Output {
    c.stdin(Stdio::null()).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Starts `c` with the pause hook at commit `n` and waits until it has paused.
fn start_paused(c: &mut Command, n: u32) -> Child {
    let mut child = c
        .env("REVIEWLAKE_TEST_PAUSE_AFTER_COMMITS", n.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.starts_with("reviewlake-test: paused after commit") {
                let _ = tx.send(Ok(line));
                return;
            }
            seen.push(line);
        }
        let _ = tx.send(Err(seen.join("\n")));
    });
    match rx.recv_timeout(Duration::from_secs(600)) {
        Ok(Ok(_)) => child,
        Ok(Err(stderr)) => {
            let _ = child.kill();
            panic!("the run ended before commit {n}: {stderr}")
        }
        Err(_) => {
            let _ = child.kill();
            panic!("no pause after commit {n} within 10 min")
        }
    }
}

fn sigkill(mut child: Child) {
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
}

const FACTS: &str = "SELECT count(*) FROM fact_review";
const CA_FACTS: &str = "SELECT count(*) FROM fact_review WHERE state = 'CA'";

#[test]
fn killed_or_failed_rebuilds_are_never_half_seen() {
    let w = world(3000);
    let all = w.count(FACTS);
    let ca = w.count(CA_FACTS);
    assert!(all > ca && ca > 0, "all {all}, CA {ca}");
    let snapshots_before = w.count("SELECT count(DISTINCT snapshot_id) FROM snapshots");

    // The warehouse writes 13 tables: kill after the first, in the middle, and after
    // the last one (all new tables committed, the snapshot not yet).
    for n in [1, 6, 13] {
        let child = start_paused(
            &mut w.pipeline(&[
                "--from",
                "warehouse",
                "--until",
                "warehouse",
                "--states",
                "CA",
            ]),
            n,
        );
        // The rebuild has committed n tables (dim_business among the first): a reader
        // still sees the whole previous build.
        assert_eq!(w.count(FACTS), all, "after {n} commits, while paused");
        sigkill(child);
        assert_eq!(w.count(FACTS), all, "after a kill at commit {n}");
        assert_eq!(
            w.count(
                "SELECT count(*) FROM fact_review f LEFT JOIN dim_business b \
                     ON f.business_key = b.business_key WHERE b.business_key IS NULL"
            ),
            0,
            "orphan facts after a kill at commit {n}"
        );
    }
    assert_eq!(
        w.count("SELECT count(DISTINCT snapshot_id) FROM snapshots"),
        snapshots_before
    );

    // A build that fails its reconciliation commits no snapshot either.
    let out = run(&mut w.pipeline(&[
        "--from",
        "warehouse",
        "--until",
        "warehouse",
        "--states",
        "CA",
        "--test-fail-reconciliation",
    ]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not reconcile"),
        "{}",
        text(&out)
    );
    assert_eq!(w.count(FACTS), all);

    // The features stage builds on the previous (complete) warehouse.
    let out = run(&mut w.pipeline(&["--from", "features", "--until", "features"]));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(w.count("SELECT count(*) FROM review_features"), all);

    // The re-run completes; its snapshot shows the new scope.
    let out = run(&mut w.pipeline(&[
        "--from",
        "warehouse",
        "--until",
        "warehouse",
        "--states",
        "CA",
    ]));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(w.count(FACTS), ca);
    assert_eq!(
        w.count("SELECT count(*) FROM fact_review WHERE state <> 'CA'"),
        0
    );
    assert_eq!(
        w.count("SELECT count(DISTINCT snapshot_id) FROM snapshots"),
        snapshots_before + 2
    );
    // An older snapshot stays readable by number.
    let out = run(xtask()
        .args([
            "sql",
            "--format",
            "csv",
            "--snapshot",
            &snapshots_before.to_string(),
            "--lake",
        ])
        .arg(&w.lake)
        .arg(FACTS));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .map(str::trim),
        Some(all.to_string().as_str())
    );
    // `xtask snapshots` lists them.
    let out = run(xtask().args(["snapshots", "--lake"]).arg(&w.lake));
    assert!(out.status.success(), "{}", text(&out));
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("warehouse") && listing.contains("features"),
        "{listing}"
    );
}

#[test]
fn one_writer_at_a_time_and_a_killed_holder_blocks_nobody() {
    let w = world(1500);
    let holder = start_paused(
        &mut w.pipeline(&["--from", "warehouse", "--until", "warehouse"]),
        1,
    );
    let t0 = Instant::now();
    let out = run(&mut w.pipeline(&["--from", "warehouse", "--until", "warehouse"]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let lake = std::fs::canonicalize(&w.lake).unwrap();
    assert!(
        err.contains(&format!("lake {} is being written by run ", lake.display()))
            && err.contains(" since "),
        "{err}"
    );
    assert!(t0.elapsed() < Duration::from_secs(30), "refused at once");
    // Ingest is a writer too.
    let out = run(&mut w.pipeline(&["--until", "ingest"]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    sigkill(holder);
    // No manual clean-up: the lease of a dead process is stale.
    let out = run(&mut w.pipeline(&["--from", "warehouse", "--until", "warehouse"]));
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_hand_changed_column_type_is_an_error_naming_table_and_column() {
    let w = world(1500);
    let out = run(&mut w.pipeline(&["--from", "features", "--until", "features"]));
    assert!(out.status.success(), "{}", text(&out));
    // Replace features/kpi by a table whose `value` is a string, keeping its history
    // (a schema with a higher version number may change types).
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let lake = Lake::open(w.lake.to_str().unwrap()).unwrap();
        let mut meta = std::collections::HashMap::new();
        meta.insert(
            reviewlake_schema::SCHEMA_VERSION_KEY.to_string(),
            "99".to_string(),
        );
        let fields: Vec<Field> = reviewlake_schema::features::kpi()
            .fields()
            .iter()
            .map(|f| match f.name().as_str() {
                "value" => Field::new("value", DataType::Utf8, true),
                _ => f.as_ref().clone(),
            })
            .collect();
        let schema = Arc::new(Schema::new_with_metadata(fields, meta));
        let guard = lake.acquire_writer("hand-edit").await.unwrap();
        let t = TableRewrite::open(&lake, Zone::Features, "kpi", schema.clone(), "hand")
            .await
            .unwrap();
        // No rows needed: the table's schema now says `value` is a string.
        t.commit().await.unwrap();
        lake.commit_snapshot(reviewlake_lake::Stage::Features)
            .await
            .unwrap();
        guard.release().await;
    });
    let report_file = w.lake.parent().unwrap().join("report.html");
    for (what, out) in [
        (
            "report",
            run(xtask()
                .args(["report", "--lake"])
                .arg(&w.lake)
                .arg("--out")
                .arg(&report_file)),
        ),
        ("features", run(&mut w.pipeline(&["--from", "features"]))),
    ] {
        assert_eq!(out.status.code(), Some(1), "{what}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("table features/kpi, column value: expected Float64, found Utf8"),
            "{what}: {err}"
        );
        assert!(!err.contains("panicked"), "{what}: {err}");
    }
}

fn parquet_rows_in(folder: &Path) -> i64 {
    let mut n = 0;
    for e in walkdir::WalkDir::new(folder) {
        let e = e.unwrap();
        let p = e.path();
        if p.extension().is_some_and(|x| x == "parquet")
            && !p.to_string_lossy().contains("_delta_log")
        {
            let f = std::fs::File::open(p).unwrap();
            let r = parquet::file::reader::SerializedFileReader::new(f).unwrap();
            n += parquet::file::reader::FileReader::metadata(&r)
                .file_metadata()
                .num_rows();
        }
    }
    n
}

#[test]
fn sql_is_read_only_honours_limit_and_vacuum_leaves_the_live_files() {
    let w = world(1500);
    let facts = w.count(FACTS);
    let version = |lake: &Path| {
        walkdir::WalkDir::new(lake.join("warehouse/fact_review/_delta_log"))
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .count()
    };
    let v0 = version(&w.lake);
    let copy_target = w.lake.join("warehouse/fact_review/copied.parquet");
    for q in [
        "INSERT INTO fact_review SELECT * FROM fact_review".to_string(),
        format!(
            "COPY (SELECT * FROM fact_review) TO '{}' STORED AS PARQUET",
            copy_target.display()
        ),
        "CREATE TABLE x AS SELECT * FROM fact_review".to_string(),
        "CREATE EXTERNAL TABLE y STORED AS PARQUET LOCATION '/tmp'".to_string(),
        "DROP TABLE fact_review".to_string(),
    ] {
        let out = w.sql(&q);
        assert_eq!(out.status.code(), Some(1), "{q}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("read-only"),
            "{q}: {}",
            text(&out)
        );
    }
    assert_eq!(w.count(FACTS), facts);
    assert_eq!(version(&w.lake), v0);
    assert!(!copy_target.exists());

    let out = w.sql("SELECT 1 AS one FROM fact_review LIMIT 2");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        3,
        "header + 2 rows"
    );

    // Rebuild twice: old files pile up until vacuum removes what no kept version needs.
    for _ in 0..2 {
        let out = run(&mut w.pipeline(&[
            "--from",
            "warehouse",
            "--until",
            "warehouse",
            "--states",
            "all",
        ]));
        assert!(out.status.success(), "{}", text(&out));
    }
    let folder = w.lake.join("warehouse/fact_review");
    assert!(
        parquet_rows_in(&folder) > facts,
        "old versions' files are still there"
    );
    let out = run(xtask()
        .args(["vacuum", "--retain-hours", "0", "--lake"])
        .arg(&w.lake));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(parquet_rows_in(&folder), facts);
    assert_eq!(w.count(FACTS), facts);
}
