use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::Int64Type;
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use super::*;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
    ]))
}

fn batch(ids: &[i64]) -> RecordBatch {
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int64Array::from(ids.to_vec())),
            Arc::new(StringArray::from(
                ids.iter()
                    .map(|i| Some(format!("n{i}")))
                    .collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap()
}

async fn append(lake: &Lake, zone: Zone, name: &str, ids: &[i64]) -> Table {
    let mut t = lake.open_or_create(zone, name, &schema()).await.unwrap();
    let mut w = t
        .file_writer(&format!("part-{}.parquet", uuid::Uuid::new_v4()), schema())
        .unwrap();
    w.write(&batch(ids)).await.unwrap();
    let f = w.finish().await.unwrap().unwrap();
    t.commit(vec![f], &|_| false, CommitKind::Append, HashMap::new())
        .await
        .unwrap();
    t
}

async fn rewrite(lake: &Lake, zone: Zone, name: &str, ids: &[i64]) -> i64 {
    let mut r = TableRewrite::open(lake, zone, name, schema(), "run")
        .await
        .unwrap();
    r.write(batch(ids)).await.unwrap();
    r.commit().await.unwrap().1
}

async fn scalar(session: &QuerySession, sql: &str) -> i64 {
    let b = session.collect(sql).await.unwrap();
    let c = arrow::compute::cast(b[0].column(0), &DataType::Int64).unwrap();
    c.as_primitive::<Int64Type>().value(0)
}

#[tokio::test]
async fn commits_are_visible_and_replace_files_atomically() {
    let lake = Lake::open("memory://").unwrap();
    let mut t = append(&lake, Zone::Raw, "t", &[1, 2, 3]).await;
    assert_eq!(lake.list_tables(Zone::Raw).await.unwrap(), vec!["t"]);
    assert_eq!(t.row_count(), Some(3));
    let old: Vec<String> = t.files().unwrap().into_iter().map(|f| f.0).collect();
    let mut w = t.file_writer("part-b.parquet", schema()).unwrap();
    w.write(&batch(&[7])).await.unwrap();
    let f = w.finish().await.unwrap().unwrap();
    let v = t
        .commit(
            vec![f],
            &|p| old.iter().any(|o| o == p),
            CommitKind::ReplaceWhere("id < 7".into()),
            HashMap::new(),
        )
        .await
        .unwrap();
    assert_eq!(v, Some(2));
    let s = lake.session().await.unwrap();
    assert_eq!(scalar(&s, "SELECT sum(id) FROM t").await, 7);
    // Nothing to do: no commit.
    assert_eq!(
        t.commit(vec![], &|_| false, CommitKind::Append, HashMap::new())
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn local_lake_records_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().join("lake").to_str().unwrap()).unwrap();
    let t = append(&lake, Zone::Raw, "t", &[1]).await;
    assert_eq!(t.schema_version(), Some(reviewlake_schema::SCHEMA_VERSION));
    assert!(dir.path().join("lake/raw/t/_delta_log").is_dir());
}

#[test]
fn rejects_unknown_scheme_bucketless_s3_and_missing_lakes() {
    assert!(matches!(
        Lake::open("ftp://x/y"),
        Err(LakeError::InvalidLocation { .. })
    ));
    assert!(Lake::open("s3:///nobucket").is_err());
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nolake");
    let err = Lake::open_existing(missing.to_str().unwrap()).unwrap_err();
    assert!(err.to_string().starts_with("no lake at"), "{err}");
    assert!(!missing.exists(), "reading must not create the folder");
}

#[tokio::test]
async fn bad_table_names_are_errors_not_paths() {
    let lake = Lake::open("memory://").unwrap();
    for bad in ["../x", "a/b", "", "x y", ".."] {
        assert!(
            matches!(
                lake.open_or_create(Zone::Raw, bad, &schema()).await,
                Err(LakeError::InvalidName { .. })
            ),
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn sessions_are_read_only() {
    let lake = Lake::open("memory://").unwrap();
    append(&lake, Zone::Warehouse, "t", &[1, 2, 3]).await;
    let s = lake.session().await.unwrap();
    for sql in [
        "INSERT INTO t SELECT * FROM t",
        "CREATE TABLE u AS SELECT * FROM t",
        "COPY (SELECT * FROM t) TO '/tmp/reviewlake-copy-test' STORED AS PARQUET",
        "DROP TABLE t",
        "SET datafusion.execution.batch_size = 1",
    ] {
        match s.sql(sql).await {
            Err(LakeError::ReadOnly(m)) => assert!(m.contains("not supported"), "{m}"),
            Err(e) => panic!("{sql}: wrong error {e}"),
            Ok(_) => panic!("{sql}: accepted"),
        }
    }
    assert_eq!(scalar(&s, "SELECT count(*) FROM t").await, 3);
    assert_eq!(
        lake.table(Zone::Warehouse, "t")
            .await
            .unwrap()
            .unwrap()
            .version(),
        1
    );
}

#[tokio::test]
async fn scans_give_plain_strings_and_filters_on_them_still_prune() {
    let lake = Lake::open("memory://").unwrap();
    append(&lake, Zone::Warehouse, "t", &[1, 2, 3]).await;
    append(&lake, Zone::Warehouse, "t", &[4, 5]).await;
    let s = lake.session().await.unwrap();
    // The plan itself (not only the streamed result) reads `Utf8`: delta-rs's scan
    // gives string views, which a hash join's build side must not hold.
    let df = s
        .sql("SELECT a.name, b.id FROM t a JOIN t b ON a.name = b.name WHERE a.name <> 'n2'")
        .await
        .unwrap();
    assert_eq!(df.schema().field(0).data_type(), &DataType::Utf8);
    let batches = df.collect().await.unwrap();
    assert!(
        batches
            .iter()
            .all(|b| b.column(0).data_type() == &DataType::Utf8)
    );
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 4);
    assert_eq!(
        scalar(&s, "SELECT count(*) FROM t WHERE name = 'n4'").await,
        1
    );
    assert_eq!(
        scalar(&s, "SELECT count(*) FROM t WHERE name IN ('n1', 'n5', 'x')").await,
        2
    );
}

#[tokio::test]
async fn limit_is_honoured_even_without_columns() {
    let lake = Lake::open("memory://").unwrap();
    for chunk in (0..40).collect::<Vec<i64>>().chunks(10) {
        append(&lake, Zone::Warehouse, "t", chunk).await;
    }
    let s = lake.session().await.unwrap();
    for sql in [
        "SELECT 1 FROM t LIMIT 2",
        "SELECT * FROM t LIMIT 2",
        "SELECT id FROM t WHERE id > 3 LIMIT 2",
        "SELECT 1 FROM t LIMIT 2 OFFSET 5",
    ] {
        let rows: usize = s
            .collect(sql)
            .await
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum();
        assert_eq!(rows, 2, "{sql}");
    }
}

#[tokio::test]
async fn snapshots_pin_versions_until_the_next_stage_commits() {
    let lake = Lake::open("memory://").unwrap();
    let guard = lake.acquire_writer("run-1").await.unwrap();
    rewrite(&lake, Zone::Raw, "r", &[1, 2]).await;
    let s1 = lake.commit_snapshot(Stage::Ingest).await.unwrap();
    assert_eq!(s1.id, 1);
    assert_eq!(s1.version_of(Zone::Raw, "r"), Some(1));
    rewrite(&lake, Zone::Warehouse, "w", &[1, 2, 3]).await;
    let s2 = lake.commit_snapshot(Stage::Warehouse).await.unwrap();
    assert_eq!(s2.id, 2);
    assert_eq!(s2.tables.len(), 2);
    // A half-done rebuild: a new version of w but no snapshot.
    rewrite(&lake, Zone::Warehouse, "w", &[9]).await;
    let s = lake.session().await.unwrap();
    assert_eq!(s.snapshot_id(), Some(2));
    assert_eq!(scalar(&s, "SELECT count(*) FROM w").await, 3);
    // An older snapshot by id; the catalog itself is queryable.
    let old = lake.session_at(Some(1)).await.unwrap();
    assert!(!old.has_table("w"));
    assert_eq!(
        scalar(&s, "SELECT count(DISTINCT snapshot_id) FROM snapshots").await,
        2
    );
    // The next warehouse snapshot takes the new version; raw stays pinned.
    let s3 = lake.commit_snapshot(Stage::Warehouse).await.unwrap();
    assert_eq!(s3.version_of(Zone::Warehouse, "w"), Some(2));
    assert_eq!(s3.version_of(Zone::Raw, "r"), Some(1));
    let s = lake.session().await.unwrap();
    assert_eq!(scalar(&s, "SELECT count(*) FROM w").await, 1);
    guard.release().await;
    // Without the lease no snapshot can be committed.
    assert!(matches!(
        lake.commit_snapshot(Stage::Warehouse).await,
        Err(LakeError::NotLeaseHolder { .. })
    ));
}

#[tokio::test]
async fn a_session_loads_each_table_once() {
    let lake = Lake::open("memory://").unwrap();
    append(&lake, Zone::Raw, "a", &[1]).await;
    append(&lake, Zone::Warehouse, "b", &[1, 2]).await;
    let before = lake.table_loads();
    let s = lake.session().await.unwrap();
    let built = lake.table_loads() - before;
    assert!(built >= 2, "{built}");
    for _ in 0..5 {
        let c = s.clone();
        assert_eq!(scalar(&c, "SELECT count(*) FROM b").await, 2);
    }
    assert_eq!(
        lake.table_loads() - before,
        built,
        "queries reopened tables"
    );
}

#[tokio::test]
async fn a_second_writer_is_refused_while_the_first_holds_the_lease() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lake");
    let a = Lake::open(path.to_str().unwrap()).unwrap();
    let b = Lake::open(path.to_str().unwrap()).unwrap();
    let g = a.acquire_writer("run-a").await.unwrap();
    // Nested acquisition through the same handle is fine.
    let g2 = a.acquire_writer("run-a").await.unwrap();
    let err = b.acquire_writer("run-b").await.unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "lake {} is being written by run run-a since ",
            a.display_root()
        )),
        "{err}"
    );
    g2.release().await;
    assert!(b.acquire_writer("run-b").await.is_err(), "still held once");
    g.release().await;
    let gb = b.acquire_writer("run-b").await.unwrap();
    gb.release().await;
}

#[tokio::test]
async fn a_lease_of_a_dead_process_is_stale() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    // A lease left by a process of this host that no longer exists.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    std::fs::create_dir_all(dir.path().join("_lease")).unwrap();
    let info = serde_json::json!({
        "run": "dead-run", "host": std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string()).unwrap_or_else(|_| "unknown-host".into()),
        "pid": pid, "since": "2026-01-01T00:00:00Z",
        "renewed_ms": chrono::Utc::now().timestamp_millis(),
    });
    std::fs::write(
        dir.path().join("_lease/lease-000000000007.json"),
        info.to_string(),
    )
    .unwrap();
    let g = lake.acquire_writer("next").await.unwrap();
    assert!(dir.path().join("_lease/lease-000000000008.json").is_file());
    assert!(!dir.path().join("_lease/lease-000000000007.json").exists());
    g.release().await;
}

#[tokio::test]
async fn rewrites_keep_history_evolve_columns_and_refuse_foreign_types() {
    let lake = Lake::open("memory://").unwrap();
    rewrite(&lake, Zone::Features, "f", &[1, 2]).await;
    rewrite(&lake, Zone::Features, "f", &[3]).await;
    // Added column: same table, new schema, history kept.
    let wider = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("score", DataType::Float64, true),
    ]));
    let mut r = TableRewrite::open(&lake, Zone::Features, "f", wider.clone(), "run")
        .await
        .unwrap();
    r.write(
        RecordBatch::try_new(
            wider.clone(),
            vec![
                Arc::new(Int64Array::from(vec![4])),
                Arc::new(StringArray::from(vec!["x"])),
                Arc::new(Float64Array::from(vec![0.5])),
            ],
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let (_, v) = r.commit().await.unwrap();
    assert_eq!(v, 3);
    let t = lake.table(Zone::Features, "f").await.unwrap().unwrap();
    assert!(t.arrow_schema().unwrap().field_with_name("score").is_ok());
    let hist: Vec<_> = futures::StreamExt::collect::<Vec<_>>(t.delta.history(None)).await;
    let ops: Vec<String> = hist
        .into_iter()
        .filter_map(|c| c.ok())
        .filter_map(|c| c.operation)
        .collect();
    assert_eq!(
        ops.iter().filter(|o| o.as_str() == "WRITE").count(),
        3,
        "{ops:?}"
    );
    // The same column with another type, same schema version: refused, table unchanged.
    let retyped = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("score", DataType::Float64, true),
    ]));
    let err = TableRewrite::open(&lake, Zone::Features, "f", retyped, "run")
        .await
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        err,
        "table features/f, column id: expected Utf8, found Int64"
    );
}

#[tokio::test]
async fn sessions_refuse_tables_with_unexpected_types() {
    let lake = Lake::open("memory://").unwrap();
    // A kpi table whose `value` is a string (the schema crate says Float64).
    let bad = Arc::new(Schema::new(vec![Field::new("value", DataType::Utf8, true)]));
    let mut t = lake
        .open_or_create(Zone::Features, "kpi", &bad)
        .await
        .unwrap();
    let mut w = t.file_writer("x.parquet", bad.clone()).unwrap();
    w.write(
        &RecordBatch::try_new(bad.clone(), vec![Arc::new(StringArray::from(vec!["1"]))]).unwrap(),
    )
    .await
    .unwrap();
    let f = w.finish().await.unwrap().unwrap();
    t.commit(vec![f], &|_| false, CommitKind::Append, HashMap::new())
        .await
        .unwrap();
    let err = lake.session().await.unwrap_err().to_string();
    assert!(err.starts_with("table features/kpi, column "), "{err}");
}

#[tokio::test]
async fn vacuum_leaves_exactly_the_live_files() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    rewrite(&lake, Zone::Warehouse, "w", &[1, 2]).await;
    rewrite(&lake, Zone::Warehouse, "w", &[3, 4, 5]).await;
    let parquet_files = || {
        walkdir::WalkDir::new(dir.path().join("warehouse/w"))
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "parquet"))
            .filter(|e| !e.path().to_string_lossy().contains("_delta_log"))
            .count()
    };
    assert_eq!(parquet_files(), 2);
    let r = lake.vacuum(0).await.unwrap();
    assert!(r.files_deleted() >= 1, "{r:?}");
    assert_eq!(parquet_files(), 1);
    let s = lake.session().await.unwrap();
    assert_eq!(scalar(&s, "SELECT count(*) FROM w").await, 3);
    assert!(!s.collect("SELECT * FROM w").await.unwrap().is_empty());
    let b = &s.collect("SELECT name FROM w ORDER BY id").await.unwrap()[0];
    assert_eq!(b.column(0).as_string::<i32>().value(0), "n3");
    assert!(b.column(0).is_valid(0));
}

#[tokio::test]
async fn an_older_table_gains_new_nullable_columns_in_place() {
    let lake = Lake::open("memory://").unwrap();
    append(&lake, Zone::Raw, "r", &[1, 2]).await;
    let wider = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("_rescued_data", DataType::Utf8, true),
    ]));
    let t = lake.open_or_create(Zone::Raw, "r", &wider).await.unwrap();
    assert_eq!(t.version(), 2, "one ADD COLUMNS commit");
    let hist: Vec<_> = futures::StreamExt::collect::<Vec<_>>(t.delta.history(None)).await;
    assert!(
        hist.iter()
            .filter_map(|c| c.as_ref().ok())
            .any(|c| c.operation.as_deref() == Some("ADD COLUMN")),
        "{hist:?}"
    );
    let s = lake.session().await.unwrap();
    assert_eq!(
        scalar(&s, "SELECT count(*) FROM r WHERE _rescued_data IS NULL").await,
        2,
        "old rows read the new column as null"
    );
    // Opening again changes nothing; a retyped column is refused.
    let again = lake.open_or_create(Zone::Raw, "r", &wider).await.unwrap();
    assert_eq!(again.version(), 2);
    let retyped = Arc::new(Schema::new(vec![Field::new("id", DataType::Utf8, true)]));
    let err = lake
        .open_or_create(Zone::Raw, "r", &retyped)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "table raw/r, column id: expected Utf8, found Int64"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewrite_writes_every_queued_batch_and_a_dropped_one_changes_nothing() {
    let lake = Lake::open("memory://").unwrap();
    rewrite(&lake, Zone::Features, "q", &[1]).await;
    // Many more batches than the encoding task's queue holds, written while the task
    // compresses the earlier ones.
    let mut r = TableRewrite::open(&lake, Zone::Features, "q", schema(), "run2")
        .await
        .unwrap();
    for i in 0..50 {
        r.write(batch(&[i * 2, i * 2 + 1])).await.unwrap();
    }
    assert_eq!(r.rows(), 100);
    let (rows, _) = r.commit().await.unwrap();
    assert_eq!(rows, 100);
    let s = lake.session().await.unwrap();
    assert_eq!(scalar(&s, "SELECT count(*) FROM q").await, 100);
    assert_eq!(
        scalar(&s, "SELECT sum(id) FROM q").await,
        (0..100).sum::<i64>()
    );
    // A rewrite dropped before its commit: its task stops, the table stays as it was.
    let mut r = TableRewrite::open(&lake, Zone::Features, "q", schema(), "run3")
        .await
        .unwrap();
    r.write(batch(&[1000])).await.unwrap();
    drop(r);
    let s = lake.session().await.unwrap();
    assert_eq!(scalar(&s, "SELECT count(*) FROM q").await, 100);
}
