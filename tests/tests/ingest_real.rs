//! Ingest of the real Yelp and Google excerpts in `tests/data/real`: every file is
//! recognised, every line lands in its raw table, nothing is quarantined, and a second
//! run changes nothing.

use reviewlake_ingest::{FileStatus, IngestOptions, ingest};
use reviewlake_lake::{Lake, Zone};
use reviewlake_tests::{count, real_data, scalar_i64};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_samples_ingest_with_exact_counts_and_rerun_is_a_no_op() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let lake = Lake::open(dir.path().join("lake").to_str().unwrap())?;
    let mut opts = IngestOptions::new(real_data().to_str().unwrap());
    // Small chunks so the multi-chunk paths run on small files too.
    opts.chunk_bytes = 256 * 1024;
    let report = ingest(&lake, &opts).await?;

    let by_path = |p: &str| {
        report
            .files
            .iter()
            .find(|f| f.path == p)
            .unwrap_or_else(|| panic!("{p} not in report: {:?}", report.files))
    };
    let expect = [
        (
            "yelp-joined/yelp_academic_dataset_business.json.gz",
            "yelp_business",
            2787,
        ),
        (
            "yelp-joined/yelp_academic_dataset_review.json.gz",
            "yelp_review",
            2787,
        ),
        (
            "yelp-joined/yelp_academic_dataset_user.json.gz",
            "yelp_user",
            25,
        ),
        (
            "yelp-2022-business-head/yelp_academic_dataset_business.json.gz",
            "yelp_business",
            5000,
        ),
        ("google-meta/meta-Vermont.json.gz", "google_metadata", 11291),
    ];
    for (path, dataset, n) in expect {
        let f = by_path(path);
        assert_eq!(f.dataset, dataset, "{path}");
        assert_eq!(f.status, FileStatus::New);
        assert_eq!(f.read, n, "{path} read");
        assert_eq!(f.written, n, "{path} written");
        assert_eq!(f.quarantined, 0, "{path} quarantined");
    }
    assert_eq!(report.files.len(), expect.len());
    assert!(report.ignored.iter().any(|p| p.ends_with("SOURCES.md")));

    // The tables hold exactly those rows, duplicates included.
    assert_eq!(count(&lake, Zone::Raw, "yelp_business").await?, 2787 + 5000);
    assert_eq!(count(&lake, Zone::Raw, "yelp_review").await?, 2787);
    assert_eq!(count(&lake, Zone::Raw, "yelp_user").await?, 25);
    assert_eq!(count(&lake, Zone::Raw, "google_metadata").await?, 11291);
    assert_eq!(count(&lake, Zone::Raw, "quarantine").await?, 0);
    assert_eq!(count(&lake, Zone::Raw, "google_review").await?, 0);
    // Exact duplicate business lines stay in raw (411 of them in yelp-joined).
    let distinct = scalar_i64(
        &lake,
        "SELECT count(DISTINCT business_id) FROM yelp_business \
         WHERE _source_file LIKE 'yelp-joined/%'",
    )
    .await?;
    assert_eq!(distinct, 2376);
    // Nested fields are typed: Google hours are [day, hours] pairs, MISC a map.
    let hours = scalar_i64(
        &lake,
        "SELECT count(*) FROM google_metadata WHERE hours IS NOT NULL \
         AND array_length(hours[1]) = 2",
    )
    .await?;
    assert!(hours > 1000, "{hours} places with typed hours");
    let lines = scalar_i64(&lake, "SELECT max(_line) FROM google_metadata").await?;
    assert_eq!(lines, 11291);

    // Re-running the same input changes nothing.
    let again = ingest(&lake, &opts).await?;
    assert!(
        again
            .files
            .iter()
            .all(|f| f.status == FileStatus::Unchanged)
    );
    assert!(again.commits.is_empty(), "{:?}", again.commits);
    assert_eq!(count(&lake, Zone::Raw, "yelp_business").await?, 2787 + 5000);
    Ok(())
}
