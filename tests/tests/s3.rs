//! The lake on a real S3-compatible server (s3s-fs) over loopback: the source is read
//! from `s3://`, the Delta tables are written to `s3://` and read back through the URL.

use reviewlake_ingest::{IngestOptions, ingest};
use reviewlake_lake::{Lake, Zone};
use reviewlake_tests::{S3_ACCESS_KEY, S3_SECRET_KEY, count, real_data, start_s3};

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
    // This is the only test in this binary, so setting the process environment is safe.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL", &server.endpoint);
        std::env::set_var("AWS_ALLOW_HTTP", "true");
        std::env::set_var("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY);
        std::env::set_var("AWS_SECRET_ACCESS_KEY", S3_SECRET_KEY);
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_S3_ALLOW_UNSAFE_RENAME", "true");
        std::env::remove_var("AWS_PROFILE");
    }
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

    let lake = Lake::open("s3://lake/reviewlake")?;
    let report = ingest(&lake, &IngestOptions::new("s3://sources/real")).await?;
    assert_eq!(report.files.len(), 4, "{:?}", report.files);
    assert_eq!(report.read(), 2787 + 2787 + 25 + 11291);
    assert_eq!(report.quarantined(), 0);

    // Read back through a fresh handle on the s3:// URL.
    let back = Lake::open("s3://lake/reviewlake")?;
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
    assert_eq!(count(&back, Zone::Raw, "yelp_user").await?, 25);
    Ok(())
}
