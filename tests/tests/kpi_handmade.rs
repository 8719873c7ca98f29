//! The KPIs on a tiny hand-made dataset whose answers are worked out below.
//!
//! Two businesses, three users, January and February 2021:
//!
//! | business | month | user | stars | text  | compound |
//! |----------|-------|------|-------|-------|----------|
//! | B1 (CA, Mexican restaurant) | Jan | U1 | 4 | good  | 0.4404 |
//! | B1       | Jan   | U2   | 2     | bad   | -0.5423 |
//! | B2 (TX, bar) | Jan | U1 | 3   | good  | 0.4404 |
//! | B1       | Feb   | U1   | 5     | great | 0.6249 |
//! | B1       | Feb   | U3   | 3     | good  | 0.4404 |
//! | B1       | Feb   | U3   | 5     | great | 0.6249 |
//!
//! Check-ins: B1 in January and February, B2 in January only.

use std::collections::HashMap;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Date32Type, Float64Type, Int64Type};
use reviewlake_features::{FeaturesOptions, build as features};
use reviewlake_ingest::{IngestOptions, ingest};
use reviewlake_lake::{Lake, plain_strings};
use reviewlake_tests::scalar_i64;
use reviewlake_warehouse::keys::{Source, business_key};
use reviewlake_warehouse::parse::days_from_civil;
use reviewlake_warehouse::{CategoryScope, StateScope, WarehouseOptions, build};
use serde_json::json;

const GOOD: f64 = 0.4404;
const BAD: f64 = -0.5423;
const GREAT: f64 = 0.6249;

fn id(s: &str) -> String {
    format!("{s:_<22}")
}

use reviewlake_tests::KpiKey as Key;

async fn kpis(
    lake: &Lake,
) -> anyhow::Result<HashMap<Key, (Option<f64>, Option<f64>, Option<bool>)>> {
    let mut out = HashMap::new();
    for b in lake
        .sql(
            "SELECT grain, period_start, state, category, source, business_key, kpi, value, \
             previous_value, target_met FROM kpi",
        )
        .await?
    {
        let b = plain_strings(&b)?;
        let s = |c: usize, i: usize| {
            let a = b.column(c).as_string::<i32>();
            (!a.is_null(i)).then(|| a.value(i).to_string())
        };
        let f = |c: usize, i: usize| {
            let a = b.column(c).as_primitive::<Float64Type>();
            (!a.is_null(i)).then(|| a.value(i))
        };
        let p = b.column(1).as_primitive::<Date32Type>();
        let k = b.column(5).as_primitive::<Int64Type>();
        let t = b.column(9).as_boolean();
        for i in 0..b.num_rows() {
            let key = (
                s(0, i).unwrap(),
                p.value(i),
                s(2, i),
                s(3, i),
                s(4, i),
                (!k.is_null(i)).then(|| k.value(i)),
                s(6, i).unwrap(),
            );
            let prev = out.insert(
                key.clone(),
                (f(7, i), f(8, i), (!t.is_null(i)).then(|| t.value(i))),
            );
            assert!(prev.is_none(), "duplicate KPI row {key:?}");
        }
    }
    Ok(out)
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => (x - y).abs() < 1e-9,
        (None, None) => true,
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kpi_matches_the_worked_out_values() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let src = dir.path().join("src/yelp");
    std::fs::create_dir_all(&src)?;
    let (b1, b2) = (id("b1"), id("b2"));
    let (u1, u2, u3) = (id("u1"), id("u2"), id("u3"));
    let biz = |bid: &str, state: &str, cats: &str| {
        json!({"business_id": bid, "name": "X", "address": "1 Main St", "city": "Town",
               "state": state, "postal_code": "00000", "latitude": null, "longitude": null,
               "stars": 4.0, "review_count": 3, "is_open": 1, "attributes": null,
               "categories": cats, "hours": null})
    };
    let lines = |rows: Vec<serde_json::Value>| -> String {
        rows.iter().map(|r| format!("{r}\n")).collect()
    };
    std::fs::write(
        src.join("yelp_academic_dataset_business.json"),
        lines(vec![
            biz(&b1, "CA", "Mexican, Restaurants"),
            biz(&b2, "TX", "Bars, Nightlife"),
        ]),
    )?;
    let rev = |n: u32, b: &str, u: &str, stars: f64, text: &str, date: &str| {
        json!({"review_id": id(&format!("r{n}")), "user_id": u, "business_id": b, "stars": stars,
               "useful": 0, "funny": 0, "cool": 0, "text": text, "date": date})
    };
    std::fs::write(
        src.join("yelp_academic_dataset_review.json"),
        lines(vec![
            rev(1, &b1, &u1, 4.0, "good", "2021-01-05 10:00:00"),
            rev(2, &b1, &u2, 2.0, "bad", "2021-01-20 10:00:00"),
            rev(3, &b2, &u1, 3.0, "good", "2021-01-31 23:59:59"),
            rev(4, &b1, &u1, 5.0, "great", "2021-02-01 00:00:00"),
            rev(5, &b1, &u3, 3.0, "good", "2021-02-10 12:00:00"),
            rev(6, &b1, &u3, 5.0, "great", "2021-02-28 12:00:00"),
        ]),
    )?;
    let user = |u: &str| {
        json!({"user_id": u, "name": "N", "review_count": 1, "yelping_since": "2015-01-01 00:00:00",
               "useful": 0, "funny": 0, "cool": 0, "elite": "", "friends": "None", "fans": 0,
               "average_stars": 4.0})
    };
    std::fs::write(
        src.join("yelp_academic_dataset_user.json"),
        lines(vec![user(&u1), user(&u2), user(&u3)]),
    )?;
    std::fs::write(
        src.join("yelp_academic_dataset_checkin.json"),
        lines(vec![
            json!({"business_id": b1, "date": "2021-01-03 10:00:00, 2021-02-03 10:00:00"}),
            json!({"business_id": b2, "date": "2021-01-04 10:00:00"}),
        ]),
    )?;

    let lake = Lake::open(dir.path().join("lake").to_str().unwrap())?;
    ingest(
        &lake,
        &IngestOptions::new(dir.path().join("src").to_str().unwrap()),
    )
    .await?;
    let opts = WarehouseOptions {
        states: StateScope::All,
        categories: CategoryScope::All,
        ..Default::default()
    };
    build(&lake, &opts).await?;
    let fr = features(&lake, &FeaturesOptions::default()).await?;
    assert_eq!(fr.reviews_scored, 6);
    let got = kpis(&lake).await?;

    let jan = days_from_civil(2021, 1, 1) as i32;
    let feb = days_from_civil(2021, 2, 1) as i32;
    let k1 = business_key(Source::Yelp, &b1);
    let s = |x: &str| Some(x.to_string());
    let check = |grain: &str,
                 p: i32,
                 state: Option<String>,
                 cat: Option<String>,
                 src: Option<String>,
                 biz: Option<i64>,
                 kpi: &str,
                 value: Option<f64>,
                 previous: Option<f64>| {
        let key: Key = (grain.into(), p, state, cat, src, biz, kpi.into());
        let row = got.get(&key).unwrap_or_else(|| panic!("no row {key:?}"));
        assert!(
            close(row.0, value),
            "{key:?}: value {:?}, expected {value:?}",
            row.0
        );
        assert!(
            close(row.1, previous),
            "{key:?}: previous {:?}, expected {previous:?}",
            row.1
        );
        let target = value.map(|v| match kpi {
            "retention_rate" | "checkin_retention_rate" => v > 70.0,
            "review_growth_rate" => v > 0.0,
            _ => v >= 0.0,
        });
        assert_eq!(row.2, target, "{key:?}: target_met");
    };

    // All of everything, by month.
    let jan_stars = (4.0 + 2.0 + 3.0) / 3.0;
    let feb_stars = (5.0 + 3.0 + 5.0) / 3.0;
    let jan_sent = (GOOD + BAD + GOOD) / 3.0;
    let feb_sent = (GREAT + GOOD + GREAT) / 3.0;
    check(
        "month",
        jan,
        None,
        None,
        None,
        None,
        "retention_rate",
        Some(0.0),
        None,
    );
    check(
        "month",
        jan,
        None,
        None,
        None,
        None,
        "review_growth_rate",
        None,
        None,
    );
    check(
        "month",
        jan,
        None,
        None,
        None,
        None,
        "avg_rating_variation",
        None,
        None,
    );
    check(
        "month",
        jan,
        None,
        None,
        None,
        None,
        "sentiment_variation",
        None,
        None,
    );
    // February: reviewers U1 (reviewed B1 in January: returning) and U3 -> 1 / 2.
    check(
        "month",
        feb,
        None,
        None,
        None,
        None,
        "retention_rate",
        Some(50.0),
        Some(0.0),
    );
    check(
        "month",
        feb,
        None,
        None,
        None,
        None,
        "review_growth_rate",
        Some(0.0),
        None,
    );
    check(
        "month",
        feb,
        None,
        None,
        None,
        None,
        "avg_rating_variation",
        Some((feb_stars - jan_stars) / jan_stars * 100.0),
        None,
    );
    check(
        "month",
        feb,
        None,
        None,
        None,
        None,
        "sentiment_variation",
        Some((feb_sent - jan_sent) / jan_sent * 100.0),
        None,
    );
    // The platform filter: everything is Yelp.
    check(
        "month",
        feb,
        None,
        None,
        s("yelp"),
        None,
        "retention_rate",
        Some(50.0),
        Some(0.0),
    );
    // California = B1: 2 reviews in January, 3 in February.
    check(
        "month",
        feb,
        s("CA"),
        None,
        None,
        None,
        "review_growth_rate",
        Some(50.0),
        None,
    );
    check(
        "month",
        feb,
        s("CA"),
        None,
        None,
        None,
        "avg_rating_variation",
        Some((feb_stars - 3.0) / 3.0 * 100.0),
        None,
    );
    check(
        "month",
        feb,
        s("CA"),
        None,
        None,
        None,
        "sentiment_variation",
        Some((feb_sent - (GOOD + BAD) / 2.0) / ((GOOD + BAD) / 2.0) * 100.0),
        None,
    );
    // Categories: B1 is a Mexican restaurant, B2 a bar (no February reviews: no row).
    check(
        "month",
        feb,
        None,
        s("mexican"),
        None,
        None,
        "review_growth_rate",
        Some(50.0),
        None,
    );
    check(
        "month",
        jan,
        None,
        s("bar"),
        None,
        None,
        "retention_rate",
        Some(0.0),
        None,
    );
    assert!(!got.contains_key(&(
        "month".into(),
        feb,
        None,
        s("bar"),
        None,
        None,
        "retention_rate".into()
    )));
    // One business: B1 in February.
    check(
        "month",
        feb,
        s("CA"),
        None,
        s("yelp"),
        Some(k1),
        "retention_rate",
        Some(50.0),
        Some(0.0),
    );
    check(
        "month",
        feb,
        s("CA"),
        None,
        s("yelp"),
        Some(k1),
        "review_growth_rate",
        Some(50.0),
        None,
    );
    // The quarter holds all six reviews; nobody reviewed before January: retention 0.
    check(
        "quarter",
        jan,
        None,
        None,
        None,
        None,
        "retention_rate",
        Some(0.0),
        None,
    );
    check(
        "quarter",
        jan,
        None,
        None,
        None,
        None,
        "review_growth_rate",
        None,
        None,
    );
    check(
        "year",
        jan,
        None,
        None,
        None,
        None,
        "retention_rate",
        Some(0.0),
        None,
    );
    // Check-in retention: of {B1, B2} active in January, B1 is active in February.
    check(
        "month",
        feb,
        None,
        None,
        s("yelp"),
        None,
        "checkin_retention_rate",
        Some(50.0),
        None,
    );
    check(
        "month",
        jan,
        None,
        None,
        s("yelp"),
        None,
        "checkin_retention_rate",
        None,
        None,
    );

    // The business x month panel: B1 in February has one new (U3) and one returning (U1)
    // reviewer.
    assert_eq!(
        scalar_i64(
            &lake,
            &format!(
                "SELECT new_reviewers * 10 + returning_reviewers FROM business_month \
                 WHERE business_key = {k1} AND month = DATE '2021-02-01'"
            ),
        )
        .await?,
        11
    );
    // Repeat customers of B1: U1 and U3 reviewed it twice, U2 once.
    let share = lake
        .sql(&format!(
            "SELECT repeat_customer_share FROM business_features WHERE business_key = {k1}"
        ))
        .await?;
    let v = share[0].column(0).as_primitive::<Float64Type>().value(0);
    assert!((v - 2.0 / 3.0).abs() < 1e-9, "{v}");

    // User features. B1's mean stars: (4 + 2 + 5 + 3 + 5) / 5 = 3.8; B2's: 3.
    // U1: 3 reviews of 2 businesses, mean 4, bias (0.2 + 0 + 1.2) / 3, sentiment
    // (good + good + great) / 3; U3: 2 reviews of B1, mean 4, bias (-0.8 + 1.2) / 2.
    let uk = |u: &str| reviewlake_warehouse::keys::user_key(Source::Yelp, u);
    for (u, reviews, businesses, mean, bias, sentiment) in [
        (&u1, 3, 2, 4.0, 1.4 / 3.0, (GOOD + GOOD + GREAT) / 3.0),
        (&u3, 2, 1, 4.0, 0.2, (GOOD + GREAT) / 2.0),
        (&u2, 1, 1, 2.0, 2.0 - 3.8, BAD),
    ] {
        let b = lake
            .sql(&format!(
                "SELECT reviews, businesses, mean_rating, rating_bias, mean_sentiment \
                 FROM user_features WHERE user_key = {}",
                uk(u)
            ))
            .await?;
        assert_eq!(b[0].num_rows(), 1, "{u}");
        let i = |c: usize| b[0].column(c).as_primitive::<Int64Type>().value(0);
        let f = |c: usize| b[0].column(c).as_primitive::<Float64Type>().value(0);
        assert_eq!((i(0), i(1)), (reviews, businesses), "{u}");
        for (got, want) in [(f(2), mean), (f(3), bias), (f(4), sentiment)] {
            assert!((got - want).abs() < 1e-9, "{u}: {got} vs {want}");
        }
    }
    Ok(())
}
