//! Every published Yelp and Google variant, from the fixtures in `tests/data/variants`
//! (see its README), through `ingest` and the warehouse build on a fresh lake: nothing
//! is quarantined, every raw table reconciles, and each variant's fields reach the
//! warehouse with the values worked out here from the fixture files themselves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use reviewlake_ingest::{IngestOptions, IngestReport, ingest};
use reviewlake_lake::Lake;
use reviewlake_tests::scalar_i64;
use reviewlake_warehouse::{CategoryScope, StateScope, WarehouseOptions, WarehouseReport, build};
use serde_json::Value;

fn variants() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/variants")
}

/// A fresh lake with `variant` ingested and the warehouse built on every state and
/// category; the lake's folder lives as long as the returned `TempDir`.
async fn lake_of(
    variant: &str,
) -> anyhow::Result<(tempfile::TempDir, Lake, IngestReport, WarehouseReport)> {
    let dir = tempfile::tempdir()?;
    let lake = Lake::open(dir.path().join("lake").to_str().unwrap())?;
    let src = variants().join(variant);
    let ing = ingest(&lake, &IngestOptions::new(src.to_str().unwrap())).await?;
    assert!(!ing.files.is_empty(), "{variant}: no file recognised");
    for f in &ing.files {
        assert_eq!(f.quarantined, 0, "{variant}: {} quarantined lines", f.path);
        assert_eq!(f.written, f.read, "{variant}: {}", f.path);
    }
    let opts = WarehouseOptions {
        states: StateScope::All,
        categories: CategoryScope::All,
        ..Default::default()
    };
    let report = build(&lake, &opts).await?;
    assert!(report.reconciles(), "{report}");
    for s in &report.sources {
        assert_eq!(s.quarantined_total(), 0, "{variant}: {report}");
    }
    Ok((dir, lake, ing, report))
}

/// Every row of a query, each value cast to text (`None` for null).
async fn rows(lake: &Lake, sql: &str) -> anyhow::Result<Vec<Vec<Option<String>>>> {
    let mut out = Vec::new();
    for b in lake.sql(sql).await? {
        let cols = b
            .columns()
            .iter()
            .map(|c| cast(c, &DataType::Utf8))
            .collect::<Result<Vec<_>, _>>()?;
        for i in 0..b.num_rows() {
            out.push(
                cols.iter()
                    .map(|c| {
                        let s = c.as_string::<i32>();
                        (!s.is_null(i)).then(|| s.value(i).to_string())
                    })
                    .collect(),
            );
        }
    }
    Ok(out)
}

/// `rows` keyed by the first column, the others as text ("null" for null).
async fn keyed(lake: &Lake, sql: &str) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
    Ok(rows(lake, sql)
        .await?
        .into_iter()
        .map(|r| {
            let mut it = r.into_iter().map(|v| v.unwrap_or_else(|| "null".into()));
            (it.next().unwrap_or_default(), it.collect())
        })
        .collect())
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`), written out here so the expectations do not come from the code
/// under test.
fn days(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Microseconds since the epoch of a UTC time.
fn utc(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> i64 {
    ((days(y, mo, d) * 24 + h) * 60 + mi) * 60_000_000 + s * 1_000_000
}

/// The fixture's JSON lines.
fn records(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(variants().join(file)).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_yelp_date_form_reaches_fact_review_in_exact_utc() -> anyhow::Result<()> {
    let (_dir, lake, ing, report) = lake_of("yelp-dates").await?;
    // The dates are typed (numbers land as their decimal text): nothing was rescued.
    assert!(ing.files.iter().all(|f| f.rescued == 0), "{:?}", ing.files);

    // Each review's UTC time, worked out by hand from the fixture.
    let expect = [
        // pandas to_json: epoch milliseconds as JSON numbers.
        ("DATESrevEpochMsNum0001", utc(2018, 7, 7, 22, 9, 11)),
        ("DATESrevEpochMsNum0002", utc(2015, 1, 1, 0, 0, 0)),
        // Milliseconds as strings.
        ("DATESrevEpochMsStr0003", utc(2018, 7, 7, 22, 9, 11)),
        (
            "DATESrevEpochMsStr0004",
            utc(2020, 12, 31, 23, 59, 59) + 999_000,
        ),
        // Epoch seconds, number and string.
        ("DATESrevEpochSecs00005", utc(2018, 7, 7, 22, 9, 11)),
        ("DATESrevEpochSecs00006", utc(2010, 1, 1, 0, 0, 0)),
        // ISO 8601 with a zone: Z, +02:00 (a day earlier in UTC), -05:00 on a leap day.
        ("DATESrevIsoZulu0000007", utc(2018, 7, 7, 22, 9, 11)),
        ("DATESrevIsoOffset00008", utc(2019, 3, 30, 23, 30, 0)),
        ("DATESrevIsoOffset00009", utc(2016, 2, 29, 17, 0, 0)),
        // A plain date (midnight) and the current releases' form.
        ("DATESrevPlainDate00010", utc(2012, 3, 14, 0, 0, 0)),
        ("DATESrevDateTime000011", utc(2021, 1, 20, 15, 45, 30)),
    ];
    let got = keyed(
        &lake,
        "SELECT source_review_id, CAST(review_ts AS BIGINT), date_key FROM fact_review",
    )
    .await?;
    assert_eq!(got.len(), expect.len(), "{got:?}\n{report}");
    for (id, ts) in expect {
        let row = got
            .get(id)
            .unwrap_or_else(|| panic!("{id} not in fact_review"));
        assert_eq!(row[0], ts.to_string(), "{id}");
        // The date key is the UTC calendar day.
        let d = ts.div_euclid(86_400_000_000);
        let (y, m, dd) = (1970..2100)
            .flat_map(|y| (1..=12).map(move |m| (y, m)))
            .flat_map(|(y, m)| (1..=31).map(move |dd| (y, m, dd)))
            .find(|&(y, m, dd)| days(y, m, dd) == d)
            .unwrap();
        assert_eq!(row[1], (y * 10_000 + m * 100 + dd).to_string(), "{id}");
    }
    let rev = report.source("yelp_review").unwrap();
    assert_eq!((rev.read, rev.carried), (11, 11), "{report}");

    // dim_date covers every fact day, from the first to the last.
    assert_eq!(
        scalar_i64(
            &lake,
            "SELECT count(*) FROM fact_review r LEFT JOIN dim_date d ON r.date_key = d.date_key \
             WHERE d.date_key IS NULL"
        )
        .await?,
        0
    );
    assert_eq!(
        scalar_i64(&lake, "SELECT min(date_key) FROM dim_date").await?,
        20100101
    );
    assert_eq!(
        scalar_i64(&lake, "SELECT max(date_key) FROM dim_date").await?,
        20210120
    );
    // The tip saved with epoch milliseconds too.
    assert_eq!(
        scalar_i64(&lake, "SELECT CAST(tip_ts AS BIGINT) FROM fact_tip").await?,
        utc(2020, 12, 31, 23, 59, 59) + 999_000
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yelp_2014_release_reaches_every_table() -> anyhow::Result<()> {
    let (_dir, lake, ing, report) = lake_of("yelp-2014").await?;
    // Every line of that release has a field outside the current schema (`type`).
    for f in &ing.files {
        assert_eq!(f.rescued, f.read, "{}", f.path);
    }
    assert!(
        report.sources.iter().all(|s| s.dropped_total() == 0),
        "{report}"
    );

    // Businesses: carried, not quarantined, with the 2014 fields mapped.
    let biz = keyed(
        &lake,
        "SELECT source_id, address, city, state, postal_code, is_open, \
           array_to_string(array_sort(categories), ','), takeout, delivery, reservations, outdoor_seating, \
           good_for_kids, wifi, alcohol, noise_level, price_level, cardinality(hours), \
           hours_unparsed FROM dim_business",
    )
    .await?;
    let casa = &biz["Y14casaMexicanaPhx0001"];
    assert_eq!(
        casa,
        &[
            "4840 E Indian School Rd, Ste 101",
            "Phoenix",
            "AZ",
            "85018",
            "true",
            "mexican,restaurant",
            "true",
            "false",
            "true",
            "false",
            "true",
            "free",
            "full_bar",
            "average",
            "2",
            "3",
            "0",
        ]
        .map(String::from),
        "{biz:?}"
    );
    let tire = &biz["Y14tireShopPhoenix0002"];
    assert_eq!(
        (
            &tire[0], &tire[3], &tire[4], &tire[11], &tire[14], &tire[15]
        ),
        (
            &"2502 W Bethany Home Rd".to_string(),
            &"85017".to_string(),
            &"false".to_string(),
            &"no".to_string(),
            &"1".to_string(),
            &"0".to_string()
        ),
        "{tire:?}"
    );
    // The nested attributes are kept whole as JSON.
    let attrs = rows(
        &lake,
        "SELECT attributes_json FROM dim_business WHERE source_id = 'Y14casaMexicanaPhx0001'",
    )
    .await?;
    let attrs: Value = serde_json::from_str(attrs[0][0].as_deref().unwrap())?;
    let published = &records("yelp-2014/yelp_academic_dataset_business.json")[0]["attributes"];
    assert_eq!(&attrs, published);
    // Hours from {"Friday": {"open": "11:00", "close": "02:00"}}: past midnight.
    assert_eq!(
        scalar_i64(
            &lake,
            "SELECT h['close_minute'] FROM (SELECT unnest(hours) AS h FROM dim_business \
             WHERE source_id = 'Y14casaMexicanaPhx0001') WHERE h['day'] = 4"
        )
        .await?,
        26 * 60
    );

    // Reviews carry the votes object.
    let rev = keyed(
        &lake,
        "SELECT source_review_id, useful, funny, cool, date_key FROM fact_review",
    )
    .await?;
    for r in records("yelp-2014/yelp_academic_dataset_review.json") {
        let got = &rev[r["review_id"].as_str().unwrap()];
        let v = &r["votes"];
        let want: Vec<String> = [&v["useful"], &v["funny"], &v["cool"]]
            .iter()
            .map(|x| x.to_string())
            .chain([r["date"].as_str().unwrap().replace('-', "")])
            .collect();
        assert_eq!(got, &want, "{r}");
    }

    // Check-ins: one row per histogram cell, the counts adding up to the histogram.
    let checkins = records("yelp-2014/yelp_academic_dataset_checkin.json");
    let cells: usize = checkins
        .iter()
        .map(|c| c["checkin_info"].as_object().unwrap().len())
        .sum();
    assert_eq!(
        report.source("yelp_checkin").unwrap().produced,
        cells as u64
    );
    for c in &checkins {
        let want: i64 = c["checkin_info"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_i64().unwrap())
            .sum();
        let sql = format!(
            "SELECT sum(c.checkins) FROM fact_checkin c JOIN dim_business b \
             ON c.business_key = b.business_key WHERE b.source_id = '{}'",
            c["business_id"].as_str().unwrap()
        );
        assert_eq!(scalar_i64(&lake, &sql).await?, want, "{c}");
    }
    // "hour-day" with day 0 = Sunday: "9-5" is Friday 9h, "0-0" Sunday 0h (weekday 0 =
    // Monday in the warehouse); no date for a histogram cell.
    let cells = keyed(
        &lake,
        "SELECT concat(weekday, '@', hour), checkins, date_key, checkin_ts FROM fact_checkin",
    )
    .await?;
    assert_eq!(cells["4@9"], ["1", "null", "null"]);
    assert_eq!(cells["2@14"], ["2", "null", "null"]);
    assert_eq!(cells["6@0"], ["3", "null", "null"]);
    assert_eq!(cells["5@23"], ["1", "null", "null"]);
    assert_eq!(cells["0@12"], ["4", "null", "null"]);

    // Tips carry their likes.
    let tips = keyed(&lake, "SELECT t.text, t.likes, t.date_key FROM fact_tip t").await?;
    for t in records("yelp-2014/yelp_academic_dataset_tip.json") {
        assert_eq!(
            tips[t["text"].as_str().unwrap()],
            [
                t["likes"].to_string(),
                t["date"].as_str().unwrap().replace('-', "")
            ]
        );
    }

    // Users: votes, friends and elite lists, compliments, "YYYY-MM" since.
    let users = keyed(
        &lake,
        "SELECT source_id, useful, funny, cool, fans, friend_count, \
           array_to_string(friends, ','), array_to_string(elite_years, ','), compliments, \
           CAST(member_since AS BIGINT), is_inferred FROM dim_user",
    )
    .await?;
    for u in records("yelp-2014/yelp_academic_dataset_user.json") {
        let got = &users[u["user_id"].as_str().unwrap()];
        let friends: Vec<&str> = u["friends"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        let elite: Vec<String> = u["elite"]
            .as_array()
            .unwrap()
            .iter()
            .map(|y| y.to_string())
            .collect();
        let compliments: i64 = u["compliments"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_i64().unwrap())
            .sum();
        let (y, m) = u["yelping_since"]
            .as_str()
            .unwrap()
            .split_once('-')
            .unwrap();
        let since = utc(y.parse()?, m.parse()?, 1, 0, 0, 0);
        let want = [
            u["votes"]["useful"].to_string(),
            u["votes"]["funny"].to_string(),
            u["votes"]["cool"].to_string(),
            u["fans"].to_string(),
            friends.len().to_string(),
            friends.join(","),
            elite.join(","),
            if compliments == 0 && u["compliments"].as_object().unwrap().is_empty() {
                "null".to_string()
            } else {
                compliments.to_string()
            },
            since.to_string(),
            "false".to_string(),
        ];
        assert_eq!(got, &want, "{u}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yelp_2017_and_2018_lists_and_check_in_histograms() -> anyhow::Result<()> {
    // 2017: attributes as "Name: value" strings, categories and hours as lists,
    // check-ins as "Day-hour:count" strings.
    let (_dir, lake, _ing, report) = lake_of("yelp-2017").await?;
    let biz = rows(
        &lake,
        "SELECT takeout, delivery, good_for_kids, wifi, noise_level, price_level, \
           array_to_string(array_sort(categories), ','), cardinality(hours), hours_unparsed, postal_code \
         FROM dim_business",
    )
    .await?;
    assert_eq!(
        biz[0]
            .iter()
            .map(|v| v.as_deref().unwrap_or("null"))
            .collect::<Vec<_>>(),
        [
            "true",
            "false",
            "true",
            "no",
            "quiet",
            "1",
            "food_truck,mexican,restaurant",
            "4",
            "0",
            "89119"
        ]
    );
    let attrs = rows(&lake, "SELECT attributes_json FROM dim_business").await?;
    let attrs: Value = serde_json::from_str(attrs[0][0].as_deref().unwrap())?;
    assert_eq!(
        attrs["BusinessParking"]["street"],
        Value::Bool(true),
        "{attrs}"
    );
    let want: i64 = records("yelp-2017/yelp_academic_dataset_checkin.json")[0]["time"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    assert_eq!(
        scalar_i64(&lake, "SELECT sum(checkins) FROM fact_checkin").await?,
        want
    );
    // "Fri-0:2": Friday (4) at midnight, two check-ins.
    assert_eq!(
        scalar_i64(
            &lake,
            "SELECT checkins FROM fact_checkin WHERE weekday = 4 AND hour = 0"
        )
        .await?,
        2
    );
    assert_eq!(report.source("yelp_checkin").unwrap().produced, 4);
    assert_eq!(
        scalar_i64(&lake, "SELECT useful FROM fact_review").await?,
        3
    );

    // 2018: check-ins as {"Friday": {"20:00": 2, ...}, ...}.
    let (_dir, lake, _ing, _report) = lake_of("yelp-2018").await?;
    let c = &records("yelp-2018/yelp_academic_dataset_checkin.json")[0]["time"];
    let want: i64 = c
        .as_object()
        .unwrap()
        .values()
        .flat_map(|h| h.as_object().unwrap().values())
        .map(|n| n.as_i64().unwrap())
        .sum();
    assert_eq!(
        scalar_i64(&lake, "SELECT sum(checkins) FROM fact_checkin").await?,
        want
    );
    assert_eq!(
        scalar_i64(
            &lake,
            "SELECT checkins FROM fact_checkin WHERE weekday = 5 AND hour = 10"
        )
        .await?,
        5
    );
    assert_eq!(
        scalar_i64(&lake, "SELECT price_level FROM dim_business").await?,
        2
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_files_named_by_state_anywhere_give_every_place_its_state() -> anyhow::Result<()> {
    // meta_South_Dakota.json.gz and review_South_Dakota.json in unrelated folders.
    let (_dir, lake, ing, report) = lake_of("google-named").await?;
    assert_eq!(ing.files.len(), 2, "{:?}", ing.files);
    assert!(ing.ignored.is_empty(), "{:?}", ing.ignored);
    let meta = report.source("google_metadata").unwrap();
    assert_eq!((meta.read, meta.carried), (4, 4), "{report}");
    // Three from the address (one spelled out, "Mitchell, South Dakota 57301"), the one
    // without an address from the file name; the `state` field (opening status) never.
    assert_eq!(
        meta.altered.get("state_from_file_name"),
        Some(&1),
        "{report}"
    );
    assert_eq!(
        rows(&lake, "SELECT DISTINCT state FROM dim_business").await?,
        [[Some("SD".to_string())]]
    );
    // Every review joins its place, and carries the place's state.
    let reviews = records("google-named/elsewhere/2021/review_South_Dakota.json").len() as i64;
    assert_eq!(
        scalar_i64(
            &lake,
            "SELECT count(*) FROM fact_review r JOIN dim_business b \
             ON r.business_key = b.business_key WHERE r.state = 'SD'"
        )
        .await?,
        reviews
    );
    assert_eq!(
        scalar_i64(
            &lake,
            "SELECT count(*) FROM dim_business WHERE source_id = \
             '0x878a5b6c7d8e9f01:0x23456789abcdef01' AND city = 'Mitchell' AND NOT is_open"
        )
        .await?,
        1
    );

    // The published layout: metadata-sitios/N.json, the state of a place without an
    // address from the folder its reviews are filed under.
    let (_dir, lake, _ing, report) = lake_of("google-sitios").await?;
    let meta = report.source("google_metadata").unwrap();
    assert_eq!(
        meta.altered.get("state_from_review_folder"),
        Some(&1),
        "{report}"
    );
    assert_eq!(
        rows(&lake, "SELECT DISTINCT state FROM dim_business").await?,
        [[Some("SD".to_string())]]
    );
    assert_eq!(
        scalar_i64(
            &lake,
            "SELECT count(*) FROM fact_review r JOIN dim_business b \
             ON r.business_key = b.business_key"
        )
        .await?,
        2
    );
    Ok(())
}
