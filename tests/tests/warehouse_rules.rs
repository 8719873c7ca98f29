//! Every cleaning rule on a hand-made Yelp source whose answers are worked out here:
//! duplicates (identical lines and repeated ids), malformed ids, stars out of range and
//! unparseable dates to quarantine, negative votes and far coordinates nulled and
//! flagged, "None" strings to null, typed attributes, hours, elite years with the
//! "20,20" artefact, check-ins exploded, scope by state and category, inferred users.

use std::path::Path;

use reviewlake_ingest::{IngestOptions, ingest};
use reviewlake_lake::Lake;
use reviewlake_tests::scalar_i64;
use reviewlake_warehouse::{CategoryScope, StateScope, WarehouseOptions, build};
use serde_json::{Value, json};

/// A syntactically valid Yelp id (22 characters).
fn id(s: &str) -> String {
    format!("{s:_<22}")
}

fn write(dir: &Path, file: &str, rows: &[Value]) {
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(dir.join(file), text).unwrap();
}

fn business(bid: &str, state: &str, cats: &str, lat: f64, lon: f64) -> Value {
    json!({"business_id": bid, "name": "Casa", "address": "1 Main St", "city": "los  angeles",
           "state": state, "postal_code": "90001", "latitude": lat, "longitude": lon,
           "stars": 4.5, "review_count": 10, "is_open": 1, "attributes": null,
           "categories": cats, "hours": null})
}

fn review(rid: &str, bid: &str, uid: &str, stars: f64, date: &str, useful: i64) -> Value {
    json!({"review_id": rid, "user_id": uid, "business_id": bid, "stars": stars,
           "useful": useful, "funny": 0, "cool": 0, "text": "Tasty", "date": date})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cleaning_rule_counts_what_it_does() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let src = dir.path().join("src/yelp");
    std::fs::create_dir_all(&src)?;
    let (b1, b2, b3, u1, u2, u9) = (id("b1"), id("b2"), id("b3"), id("u1"), id("u2"), id("u9"));

    let mut b1_row = business(&b1, "CA", "Mexican, Restaurants", 34.05, -118.24);
    b1_row["attributes"] = json!({"RestaurantsPriceRange2": "2", "WiFi": "u'free'",
        "BusinessParking": "{'garage': False, 'lot': True, 'valet': None}"});
    b1_row["hours"] = json!({"Monday": "10:0-21:0", "Friday": "18:0-2:0", "Tuesday": "bogus"});
    let mut b2_row = business(&b2, "CA", "Bars, Nightlife", 48.8566, 2.3522); // Paris
    b2_row["name"] = json!("None");
    write(
        &src,
        "yelp_academic_dataset_business.json",
        &[
            b1_row.clone(),
            b2_row,
            b1_row, // identical line
            business(&b3, "NV", "Pizza, Restaurants", 36.1, -115.1),
            business("short", "CA", "Restaurants", 34.0, -118.0),
        ],
    );
    let r = |s: &str| id(s);
    let mut r6b = review(&r("r6"), &b1, &u1, 4.0, "2021-03-09 10:00:00", 0);
    r6b["text"] = json!("A different record under the same id");
    let r1 = review(&r("r1"), &b1, &u1, 5.0, "2021-03-04 12:00:00", 2);
    write(
        &src,
        "yelp_academic_dataset_review.json",
        &[
            r1.clone(),
            review(&r("r2"), &b1, &u1, 7.0, "2021-03-04 12:00:00", 0),
            review("bad id", &b1, &u1, 5.0, "2021-03-04 12:00:00", 0),
            review(&r("r4"), &b1, &u1, 5.0, "2020-13-45 00:00:00", 0),
            review(&r("r5"), &b1, &u1, 2.0, "2021-04-01 08:30:00", -1),
            r1,
            review(&r("r6"), &b1, &u1, 3.0, "2021-03-09 10:00:00", 0),
            r6b,
            review(&r("r7"), &b3, &u1, 5.0, "2021-03-04 12:00:00", 0),
            review(&r("r8"), &id("zz"), &u1, 5.0, "2021-03-04 12:00:00", 0),
            review(&r("r9"), &b2, &u9, 4.0, "2021-02-14 20:00:00", 0),
            review(&r("r10"), &b1, &u1, 1.0, "2021-05-06", 0),
        ],
    );
    write(
        &src,
        "yelp_academic_dataset_user.json",
        &[
            json!({"user_id": u1, "name": "Ana", "review_count": 9, "yelping_since": "2015-06-01 00:00:00",
                   "useful": 1, "funny": 0, "cool": 0, "elite": "2018,2019,20,20,2021",
                   "friends": format!("{u2}, {u9}"), "fans": 3, "average_stars": 4.1}),
            json!({"user_id": u2, "name": "Bo", "review_count": 1, "yelping_since": "2016-01-01",
                   "useful": 0, "funny": 0, "cool": 0, "elite": "", "friends": "None",
                   "fans": 0, "average_stars": 3.0}),
        ],
    );
    write(
        &src,
        "yelp_academic_dataset_checkin.json",
        &[
            json!({"business_id": b1, "date": "2021-01-01 10:00:00, 2021-01-02 11:00:00, garbage"}),
            json!({"business_id": b3, "date": "2021-01-01 10:00:00"}),
        ],
    );
    let tip = json!({"user_id": u1, "business_id": b1, "text": "Great", "date": "2021-02-02 10:00:00",
                     "compliment_count": 0});
    write(&src, "yelp_academic_dataset_tip.json", &[tip.clone(), tip]);

    let lake = Lake::open(dir.path().join("lake").to_str().unwrap())?;
    let ing = ingest(
        &lake,
        &IngestOptions::new(dir.path().join("src").to_str().unwrap()),
    )
    .await?;
    assert_eq!(
        ing.quarantined(),
        0,
        "every line is valid JSON of the right types"
    );
    let opts = WarehouseOptions {
        states: StateScope::parse("CA")?,
        categories: CategoryScope::FoodRelated,
        ..Default::default()
    };
    let rep = build(&lake, &opts).await?;
    assert!(rep.reconciles(), "{rep}");
    let m = |pairs: &[(&str, u64)]| -> std::collections::BTreeMap<String, u64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };

    let b = rep.source("yelp_business").unwrap();
    assert_eq!((b.read, b.carried), (5, 2), "{rep}");
    assert_eq!(
        b.dropped,
        m(&[("duplicate_line", 1), ("out_of_scope_state", 1)])
    );
    assert_eq!(b.quarantined, m(&[("malformed_business_id", 1)]));
    assert_eq!(b.altered.get("coordinates_outside_us"), Some(&1));
    assert_eq!(b.altered.get("unparseable_hours"), Some(&1));

    let r = rep.source("yelp_review").unwrap();
    assert_eq!((r.read, r.carried), (12, 5), "{rep}");
    assert_eq!(
        r.dropped,
        m(&[
            ("business_out_of_scope", 1),
            ("duplicate_line", 1),
            ("duplicate_review_id", 1),
            ("unknown_business", 1)
        ])
    );
    assert_eq!(
        r.quarantined,
        m(&[
            ("bad_timestamp", 1),
            ("malformed_review_id", 1),
            ("stars_out_of_range", 1)
        ])
    );
    assert_eq!(r.altered, m(&[("negative_votes", 1)]));

    let u = rep.source("yelp_user").unwrap();
    assert_eq!((u.read, u.carried), (2, 1));
    assert_eq!(u.dropped, m(&[("no_activity_in_scope", 1)]));
    assert_eq!(rep.inferred_users, 1);
    let c = rep.source("yelp_checkin").unwrap();
    assert_eq!((c.read, c.carried, c.produced), (2, 1, 2));
    assert_eq!(c.altered, m(&[("unparseable_checkin_timestamps", 1)]));
    let t = rep.source("yelp_tip").unwrap();
    assert_eq!((t.read, t.carried), (2, 1));
    assert_eq!(t.dropped, m(&[("duplicate_line", 1)]));

    // The tables say the same.
    let q = |sql: &'static str| {
        let lake = lake.clone();
        async move { scalar_i64(&lake, sql).await.unwrap() }
    };
    assert_eq!(q("SELECT count(*) FROM warehouse_quarantine").await, 4);
    assert_eq!(
        q(
            "SELECT count(*) FROM warehouse_quarantine WHERE reason = 'stars_out_of_range' \
           AND detail LIKE '%7.0%' AND _line = 2 AND record LIKE '%\"stars\":7.0%'"
        )
        .await,
        1
    );
    assert_eq!(q("SELECT count(*) FROM fact_review").await, 5);
    // The first of two records under one id wins, whatever the scan order.
    assert_eq!(
        q("SELECT CAST(stars AS BIGINT) FROM fact_review WHERE source_review_id LIKE 'r6%'").await,
        3
    );
    assert_eq!(
        q(
            "SELECT count(*) FROM fact_review WHERE votes_flagged AND useful IS NULL \
           AND source_review_id LIKE 'r5%'"
        )
        .await,
        1
    );
    assert_eq!(
        q("SELECT count(*) FROM fact_review WHERE date_key = 20210506").await,
        1
    );
    assert_eq!(
        q(
            "SELECT count(*) FROM dim_business WHERE coordinates_flagged AND latitude IS NULL \
           AND name IS NULL AND source_id LIKE 'b2%'"
        )
        .await,
        1
    );
    assert_eq!(
        q("SELECT count(*) FROM dim_business WHERE source_id LIKE 'b1%' AND price_level = 2 \
           AND wifi = 'free' AND is_restaurant AND city = 'Los Angeles' \
           AND array_has(categories, 'mexican') AND hours_unparsed = 1 \
           AND attributes_json LIKE '%\"BusinessParking\":{\"garage\":false,\"lot\":true,\"valet\":null}%'")
        .await,
        1
    );
    // Monday 10:00-21:00 and Friday 18:00-02:00 (past midnight).
    assert_eq!(
        q(
            "SELECT count(*) FROM (SELECT unnest(hours) AS h FROM dim_business) WHERE \
           (h['day'] = 0 AND h['open_minute'] = 600 AND h['close_minute'] = 1260) OR \
           (h['day'] = 4 AND h['open_minute'] = 1080 AND h['close_minute'] = 1560)"
        )
        .await,
        2
    );
    assert_eq!(
        q("SELECT count(*) FROM dim_user WHERE source_id LIKE 'u1%' \
           AND elite_years = [2018, 2019, 2020, 2021] AND friend_count = 2")
        .await,
        1
    );
    assert_eq!(
        q("SELECT count(*) FROM dim_user WHERE source_id LIKE 'u9%' AND is_inferred").await,
        1
    );
    assert_eq!(q("SELECT count(*) FROM fact_checkin").await, 2);
    assert_eq!(q("SELECT count(*) FROM fact_tip").await, 1);
    assert_eq!(
        q(
            "SELECT count(*) FROM fact_review r LEFT JOIN dim_date d ON r.date_key = d.date_key \
           WHERE d.date IS NULL"
        )
        .await,
        0
    );
    Ok(())
}
