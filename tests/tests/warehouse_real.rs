//! The warehouse on the real excerpts in `tests/data/real`: duplicates collapse to
//! the documented counts, Vermont places get their state and city from the address,
//! every hours value parses or is counted, the report reconciles, and keys are stable
//! across runs and after more input arrives.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray};
use reviewlake_ingest::{IngestOptions, ingest};
use reviewlake_lake::{Lake, plain_strings};
use reviewlake_tests::{real_data, scalar_i64};
use reviewlake_warehouse::{CategoryScope, StateScope, WarehouseOptions, build};

fn everything() -> WarehouseOptions {
    WarehouseOptions {
        states: StateScope::All,
        categories: CategoryScope::All,
        ..Default::default()
    }
}

async fn keys(lake: &Lake, sql: &str) -> anyhow::Result<BTreeMap<String, i64>> {
    let mut out = BTreeMap::new();
    for b in lake.sql(sql).await? {
        let b = plain_strings(&b)?;
        let ids = b.column(0).as_string::<i32>();
        let keys = b.column(1).as_primitive::<arrow::datatypes::Int64Type>();
        for i in 0..b.num_rows() {
            out.insert(ids.value(i).to_string(), keys.value(i));
        }
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yelp_joined_collapses_duplicates_and_keys_are_stable() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let lake = Lake::open(dir.path().join("lake").to_str().unwrap())?;
    // A source root holding only yelp-joined; the 2022 file is added to it later.
    let src = dir.path().join("src");
    let copy = |folder: &str| -> anyhow::Result<()> {
        std::fs::create_dir_all(src.join(folder))?;
        for e in std::fs::read_dir(real_data().join(folder))? {
            let e = e?;
            std::fs::copy(e.path(), src.join(folder).join(e.file_name()))?;
        }
        Ok(())
    };
    copy("yelp-joined")?;
    let source = IngestOptions::new(src.to_str().unwrap());
    ingest(&lake, &source).await?;
    let report = build(&lake, &everything()).await?;
    assert!(report.reconciles(), "{report}");

    // 2,787 business lines, 411 of them exact duplicates: 2,376 businesses.
    let biz = report.source("yelp_business").unwrap();
    assert_eq!(biz.read, 2787);
    assert_eq!(biz.dropped.get("duplicate_line"), Some(&411), "{report}");
    assert_eq!(biz.carried, 2376, "{report}");
    assert_eq!(
        scalar_i64(&lake, "SELECT count(*) FROM dim_business").await?,
        2376
    );
    assert_eq!(
        scalar_i64(
            &lake,
            "SELECT count(DISTINCT business_key) FROM dim_business"
        )
        .await?,
        2376
    );
    // Every review joins to a business and a user.
    let rev = report.source("yelp_review").unwrap();
    assert_eq!(rev.read, 2787);
    assert_eq!(
        scalar_i64(&lake, "SELECT count(*) FROM fact_review").await? as u64,
        rev.carried
    );
    assert_eq!(
        rev.carried + rev.dropped_total() + rev.quarantined_total(),
        2787
    );
    assert_eq!(
        scalar_i64(&lake, "SELECT count(*) FROM dim_user").await?,
        25
    );
    assert_eq!(report.inferred_users, 0);
    // The build report table holds the same reconciliation.
    assert_eq!(
        scalar_i64(
            &lake,
            "SELECT rows FROM build_report WHERE source_table = 'yelp_business' \
             AND outcome = 'dropped' AND reason = 'duplicate_line'"
        )
        .await?,
        411
    );

    // Keys: identical across two runs...
    let q_biz = "SELECT source_id, business_key FROM dim_business";
    let q_user = "SELECT source_id, user_key FROM dim_user";
    let (b1, u1) = (keys(&lake, q_biz).await?, keys(&lake, q_user).await?);
    build(&lake, &everything()).await?;
    assert_eq!(keys(&lake, q_biz).await?, b1);
    assert_eq!(keys(&lake, q_user).await?, u1);
    // ... and after more input is added (the 2022 business file).
    copy("yelp-2022-business-head")?;
    ingest(&lake, &source).await?;
    let r3 = build(&lake, &everything()).await?;
    assert!(r3.reconciles());
    let b3 = keys(&lake, q_biz).await?;
    assert!(b3.len() > b1.len(), "more businesses after more input");
    for (id, k) in &b1 {
        assert_eq!(b3.get(id), Some(k), "business {id} changed key");
    }
    assert_eq!(keys(&lake, q_user).await?, u1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_real_samples_build_and_vermont_gets_state_and_city() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let lake = Lake::open(dir.path().join("lake").to_str().unwrap())?;
    ingest(&lake, &IngestOptions::new(real_data().to_str().unwrap())).await?;
    let report = build(&lake, &everything()).await?;
    assert!(report.reconciles(), "{report}");
    println!("{report}");

    let g = report.source("google_metadata").unwrap();
    assert_eq!(g.read, 11291);
    // Vermont places get VT, from the address tail ("..., Rutland, VT 05701") or, for
    // the 78 without an address, from the file name; the file also holds a handful of
    // places across the border, whose address says NH or NY.
    let vt = scalar_i64(
        &lake,
        "SELECT count(*) FROM dim_business WHERE source = 'google' AND state = 'VT'",
    )
    .await? as u64;
    let neighbours = scalar_i64(
        &lake,
        "SELECT count(*) FROM dim_business WHERE source = 'google' AND state IN ('NH', 'NY', 'MA')",
    )
    .await? as u64;
    assert_eq!(vt + neighbours, g.carried);
    assert!(neighbours <= 10, "{neighbours} places outside Vermont");
    assert_eq!(
        scalar_i64(
            &lake,
            "SELECT count(*) FROM dim_business WHERE source_id = \
             '0x89e02445cb9db457:0x37f42bff4edf7a43' AND city = 'Rutland' \
             AND postal_code = '05701' AND address = '150 Woodstock Ave'"
        )
        .await?,
        1
    );
    let with_city = scalar_i64(
        &lake,
        "SELECT count(*) FROM dim_business WHERE source = 'google' AND city IS NOT NULL",
    )
    .await? as u64;
    assert!(
        with_city as f64 >= 0.98 * g.carried as f64,
        "{with_city} of {} Vermont places have a city",
        g.carried
    );
    // Google's `state` field (opening status) never becomes a state.
    assert_eq!(
        scalar_i64(
            &lake,
            "SELECT count(*) FROM dim_business WHERE state LIKE '%Open%' OR state LIKE '%Closed%'"
        )
        .await?,
        0
    );

    // Hours: every value either parsed into intervals or counted as unparseable.
    let unparsed_rows = scalar_i64(
        &lake,
        "SELECT coalesce(sum(hours_unparsed), 0) FROM dim_business",
    )
    .await? as u64;
    let counted: u64 = report
        .sources
        .iter()
        .filter_map(|s| s.altered.get("unparseable_hours"))
        .sum();
    // Counted per raw row carried or not; the carried ones are in the table.
    assert!(unparsed_rows <= counted);
    let with_hours = scalar_i64(
        &lake,
        "SELECT count(*) FROM dim_business WHERE cardinality(hours) > 0",
    )
    .await?;
    assert!(
        with_hours > 5000,
        "{with_hours} businesses with parsed hours"
    );
    // Opening intervals are sane: a day of the week, open before close, within 2 days.
    let bad = scalar_i64(
        &lake,
        "SELECT count(*) FROM (SELECT unnest(hours) AS h FROM dim_business) \
         WHERE h['day'] NOT BETWEEN 0 AND 6 OR h['open_minute'] >= h['close_minute'] \
         OR h['open_minute'] < 0 OR h['close_minute'] > 2880",
    )
    .await?;
    assert_eq!(bad, 0);

    // Yelp attributes became typed JSON; price levels are 1-4.
    let attrs = lake
        .sql(
            "SELECT attributes_json FROM dim_business WHERE source = 'yelp' \
             AND attributes_json LIKE '%BusinessParking%' LIMIT 20",
        )
        .await?;
    let mut n = 0;
    for b in &attrs {
        let b = plain_strings(b)?;
        let col = b.column(0).as_string::<i32>();
        for i in 0..b.num_rows() {
            let v: serde_json::Value = serde_json::from_str(col.value(i))?;
            let parking = &v["BusinessParking"];
            assert!(
                parking.is_object() || parking.is_null(),
                "BusinessParking parsed to an object: {parking}"
            );
            n += usize::from(!col.is_null(i));
        }
    }
    assert!(n > 0);
    assert_eq!(
        scalar_i64(
            &lake,
            "SELECT count(*) FROM dim_business WHERE price_level NOT BETWEEN 1 AND 4"
        )
        .await?,
        0
    );
    Ok(())
}
