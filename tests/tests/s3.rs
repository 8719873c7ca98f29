//! The lake on a real S3-compatible server (s3s-fs) over loopback: the source is read
//! from `s3://`, the Delta tables are written to `s3://` and read back through the URL.

use reviewlake_ingest::{IngestOptions, ingest};
use reviewlake_lake::{Lake, Zone};
use reviewlake_tests::{count, real_data, s3_options, start_s3};

fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()))?;
        } else {
            std::fs::copy(e.path(), to.join(e.file_name()))?;
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lake_round_trips_through_s3() -> anyhow::Result<()> {
    let server = start_s3(&["sources", "lake"])?;
    // Credentials go in explicitly: the process environment is not touched.
    let opts = s3_options(&server);
    // Put the sources in the bucket through the server's own folder.
    let real = real_data();
    copy_dir(
        &real.join("yelp-joined"),
        &server.root.path().join("sources/real/yelp-joined"),
    )?;
    copy_dir(
        &real.join("google-meta"),
        &server.root.path().join("sources/real/google-meta"),
    )?;

    let lake = Lake::open_with("s3://lake/reviewlake", opts.clone())?;
    let report = ingest(&lake, &IngestOptions::new("s3://sources/real")).await?;
    assert_eq!(report.files.len(), 4, "{:?}", report.files);
    assert_eq!(report.read(), 2787 + 2787 + 25 + 11291);
    assert_eq!(report.quarantined(), 0);
    assert_eq!(
        report.snapshot,
        Some(1),
        "the run ends with a catalog snapshot"
    );

    // Read back through a fresh handle on the s3:// URL.
    let back = Lake::open_with("s3://lake/reviewlake", opts.clone())?;
    assert_eq!(count(&back, Zone::Raw, "yelp_review").await?, 2787);
    assert_eq!(count(&back, Zone::Raw, "yelp_business").await?, 2787);
    assert_eq!(count(&back, Zone::Raw, "google_metadata").await?, 11291);
    let tables = back.list_tables(Zone::Raw).await?;
    assert!(tables.contains(&"quarantine".to_string()), "{tables:?}");
    // The Delta log really is in the bucket.
    assert!(
        server
            .root
            .path()
            .join("lake/reviewlake/raw/yelp_review/_delta_log")
            .is_dir()
    );

    // A second run re-commits nothing and keeps the tables readable.
    let again = ingest(&back, &IngestOptions::new("s3://sources/real")).await?;
    assert!(again.commits.is_empty());
    assert_eq!(again.snapshot, None, "nothing changed: no new snapshot");
    assert_eq!(count(&back, Zone::Raw, "yelp_user").await?, 25);
    // Queries over S3 read the snapshot's versions.
    let session = back.session().await?;
    assert_eq!(session.snapshot_id(), Some(1));
    let n = session
        .collect("SELECT count(*) AS n FROM google_metadata")
        .await?;
    let n = arrow::compute::cast(n[0].column(0), &arrow::datatypes::DataType::Int64)?;
    assert_eq!(
        arrow::array::AsArray::as_primitive::<arrow::datatypes::Int64Type>(&n).value(0),
        11291
    );
    Ok(())
}
