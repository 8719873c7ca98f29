//! No leakage: the features of the rows labelled P never depend on data at or after P,
//! and the time split never trains on the test period.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use proptest::prelude::*;
use reviewlake_ml::growth::{self, LabelConfig, PanelRow, StaticFeatures};

fn month(base: i64, k: i64) -> NaiveDate {
    let m = base + k;
    NaiveDate::from_ymd_opt(m.div_euclid(12) as i32, m.rem_euclid(12) as u32 + 1, 1).unwrap()
}

/// (entity, month offset, reviews, stars, sentiment, new, returning)
type Cell = (i64, i64, i64, Option<f64>, Option<f64>, i64, i64);

fn to_panel(base: i64, cells: &[Cell]) -> Vec<PanelRow> {
    let mut seen = std::collections::BTreeSet::new();
    cells
        .iter()
        .filter(|c| seen.insert((c.0, c.1)))
        .map(|c| PanelRow {
            entity: c.0,
            month: month(base, c.1),
            reviews: c.2,
            mean_stars: c.3,
            mean_sentiment: c.4,
            new_reviewers: c.5,
            returning_reviewers: c.6,
        })
        .collect()
}

fn cell(months: i64) -> impl Strategy<Value = Cell> {
    (
        0i64..6,
        0..months,
        0i64..40,
        proptest::option::of(1.0f64..5.0),
        proptest::option::of(-1.0f64..1.0),
        0i64..20,
        0i64..20,
    )
}

fn features_by_entity(ds: &growth::GrowthDataset, period: i64) -> BTreeMap<i64, Vec<u64>> {
    // Bit patterns, so NaN == NaN.
    ds.rows
        .iter()
        .filter(|r| r.period == period)
        .map(|r| (r.entity, r.features.iter().map(|f| f.to_bits()).collect()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    /// Rewrite every panel value at or after the start of P (and add rows after P): the
    /// features of every row labelled P are bit-identical, for every P and period length.
    #[test]
    fn features_of_period_p_ignore_data_from_p_on(
        cells in proptest::collection::vec(cell(48), 1..120),
        changes in proptest::collection::vec((0i64..40, proptest::option::of(1.0f64..5.0), 0i64..20), 1..200),
        extra in proptest::collection::vec(cell(48), 0..30),
        base in (2005i64 * 12)..(2020 * 12),
        len in prop_oneof![Just(1u32), Just(3), Just(6), Just(12)],
        cut in 0i64..48,
    ) {
        let cfg = LabelConfig { period_months: len, min_volume: 1, ..Default::default() };
        let panel = to_panel(base, &cells);
        let statics = StaticFeatures::none();
        let ds = growth::build_dataset(&panel, &statics, &cfg).unwrap();
        // P: the period containing month `cut`.
        let p = growth::period_index(month(base, cut), len);
        let p_start = growth::period_start(p, len).unwrap();
        // Mutate everything on or after P's first day; keep the last month present so the
        // panel's end (and hence which periods are labelled) is unchanged.
        let mut mutated: Vec<PanelRow> = panel.clone();
        for (i, r) in mutated.iter_mut().enumerate() {
            if r.month >= p_start {
                let (rev, stars, n) = changes[i % changes.len()];
                r.reviews = rev;
                r.mean_stars = stars;
                r.mean_sentiment = stars.map(|s| s / 5.0 - 0.5);
                r.new_reviewers = n;
                r.returning_reviewers = 19 - n;
            }
        }
        let last = panel.iter().map(|r| r.month).max().unwrap();
        let existing: std::collections::BTreeSet<(i64, NaiveDate)> = mutated.iter().map(|r| (r.entity, r.month)).collect();
        for e in to_panel(base, &extra) {
            if e.month >= p_start && e.month <= last && !existing.contains(&(e.entity, e.month)) {
                mutated.push(e);
            }
        }
        let ds2 = growth::build_dataset(&mutated, &statics, &cfg).unwrap();
        prop_assert_eq!(ds.last_period, ds2.last_period);
        let before = features_by_entity(&ds, p);
        let after = features_by_entity(&ds2, p);
        prop_assert_eq!(&before, &after);
        // Earlier label periods are untouched too (their features AND labels).
        for r in ds.rows.iter().filter(|r| r.period < p) {
            let r2 = ds2.rows.iter().find(|x| x.entity == r.entity && x.period == r.period);
            prop_assert!(r2.is_some());
            let r2 = r2.unwrap();
            prop_assert_eq!(r.grow, r2.grow);
            prop_assert_eq!(r.reviews, r2.reviews);
            prop_assert_eq!(
                r.features.iter().map(|f| f.to_bits()).collect::<Vec<_>>(),
                r2.features.iter().map(|f| f.to_bits()).collect::<Vec<_>>()
            );
        }
    }

    /// The split puts every row of the latest label period in test, every earlier
    /// labelled row in train, and unlabelled rows only in the forecast.
    #[test]
    fn time_split_never_trains_on_the_test_period(
        cells in proptest::collection::vec(cell(60), 1..150),
        base in (2005i64 * 12)..(2020 * 12),
        len in prop_oneof![Just(1u32), Just(3), Just(12)],
    ) {
        let cfg = LabelConfig { period_months: len, min_volume: 1, ..Default::default() };
        let ds = growth::build_dataset(&to_panel(base, &cells), &StaticFeatures::none(), &cfg).unwrap();
        match growth::time_split(&ds) {
            Ok(s) => {
                prop_assert_eq!(s.train.len() + s.test.len() + s.forecast.len(), ds.rows.len());
                prop_assert!(!s.test.is_empty() && !s.train.is_empty());
                for &i in &s.train {
                    prop_assert!(ds.rows[i].period < s.test_period);
                    prop_assert!(ds.rows[i].grow.is_some());
                }
                for &i in &s.test {
                    prop_assert_eq!(ds.rows[i].period, s.test_period);
                    prop_assert!(ds.rows[i].grow.is_some());
                }
                for &i in &s.forecast {
                    prop_assert!(ds.rows[i].grow.is_none() && ds.rows[i].reviews.is_none());
                    prop_assert_eq!(ds.rows[i].period, ds.last_period + 1);
                }
                // The latest period with a labelled row (the last complete period, unless
                // every entity was below the minimum volume before it).
                prop_assert!(s.test_period <= ds.last_period);
            }
            Err(e) => {
                // Only when there are fewer than two label periods.
                let periods: std::collections::BTreeSet<i64> =
                    ds.rows.iter().filter(|r| r.grow.is_some()).map(|r| r.period).collect();
                prop_assert!(periods.len() < 2, "{e}");
            }
        }
        let acc = &ds.accounting;
        prop_assert_eq!(acc.rows_in, acc.rows_used + acc.rows_incomplete_period);
        prop_assert_eq!((acc.labelled_rows + acc.forecast_rows) as usize, ds.rows.len());
    }
}

#[test]
fn hand_worked_row() {
    // One business, quarterly: Q1 2020 10 reviews, Q2 12, Q3 0 (no row), Q4 20.
    let row = |y, m, reviews, stars: f64, new, ret| PanelRow {
        entity: 7,
        month: NaiveDate::from_ymd_opt(y, m, 1).unwrap(),
        reviews,
        mean_stars: Some(stars),
        mean_sentiment: Some(stars / 10.0),
        new_reviewers: new,
        returning_reviewers: ret,
    };
    let panel = vec![
        row(2020, 1, 4, 3.0, 4, 0),
        row(2020, 3, 6, 4.0, 5, 1),
        row(2020, 5, 12, 5.0, 10, 2),
        row(2020, 12, 20, 2.0, 15, 5),
    ];
    let mut statics = StaticFeatures::new(vec!["price_level".into()]);
    statics.insert(7, vec![2.0]).unwrap();
    let cfg = LabelConfig::default(); // quarters, +10 %, at least 5 reviews before
    let ds = growth::build_dataset(&panel, &statics, &cfg).unwrap();
    assert_eq!(ds.feature_names.len(), growth::DYNAMIC_FEATURES.len() + 1);
    let q = |y, m| growth::period_index(NaiveDate::from_ymd_opt(y, m, 1).unwrap(), 3);
    // Rows: P = Q2 (prev Q1: 10 reviews), Q3 (prev 12), Q4 (prev 0: skipped),
    // forecast Q1 2021 (prev 20).
    let periods: Vec<i64> = ds.rows.iter().map(|r| r.period).collect();
    assert_eq!(periods, vec![q(2020, 4), q(2020, 7), q(2021, 1)]);
    assert_eq!(ds.accounting.skipped_low_volume, 1);
    assert_eq!(
        (ds.accounting.labelled_rows, ds.accounting.forecast_rows),
        (2, 1)
    );

    let q2 = &ds.rows[0];
    assert_eq!(
        q2.period_start,
        NaiveDate::from_ymd_opt(2020, 4, 1).unwrap()
    );
    assert_eq!(
        (q2.last_reviews, q2.reviews, q2.grow),
        (10.0, Some(12.0), Some(true))
    );
    let f = &q2.features;
    let ln = |v: f64| v.ln_1p();
    assert!((f[0] - ln(10.0)).abs() < 1e-12); // last1
    assert!((f[1] - ln(10.0)).abs() < 1e-12); // last2 (Q4 2019 = 0)
    assert!((f[3] - ln(10.0)).abs() < 1e-12); // log growth vs 0
    // trend: ln1p over [0, 0, 0, 10] at x = 0..3 -> slope 0.3 * ln(11)
    assert!((f[4] - 0.3 * ln(10.0)).abs() < 1e-12);
    assert!((f[5] - 3.6).abs() < 1e-12); // stars recent: (4*3 + 6*4) / 10
    assert!(f[6].is_nan()); // no older history
    assert!((f[9] - 0.1).abs() < 1e-12); // returning share 1 / 10
    assert_eq!(f[10], 1.0); // age
    assert_eq!(f[13], 2.0); // static price level

    let q3 = &ds.rows[1];
    assert_eq!(
        (q3.last_reviews, q3.reviews, q3.grow),
        (12.0, Some(0.0), Some(false))
    );
    assert!((q3.features[1] - ln(22.0)).abs() < 1e-12);
    assert!((q3.features[5] - (36.0 + 60.0) / 22.0).abs() < 1e-12); // Q1 and Q2
    let forecast = &ds.rows[2];
    assert_eq!(
        (forecast.last_reviews, forecast.reviews, forecast.grow),
        (20.0, None, None)
    );
    // stars recent (Q3 none, Q4 2.0) minus older (Q1-Q2: 96/22)
    assert!((forecast.features[6] - (2.0 - 96.0 / 22.0)).abs() < 1e-12);
}

#[test]
fn incomplete_last_quarter_is_not_a_label() {
    let row = |m, reviews| PanelRow {
        entity: 1,
        month: NaiveDate::from_ymd_opt(2021, m, 1).unwrap(),
        reviews,
        mean_stars: None,
        mean_sentiment: None,
        new_reviewers: reviews,
        returning_reviewers: 0,
    };
    // Data ends in May: Q2 is incomplete (its 1 review in May would look like a decline).
    let panel = vec![row(1, 10), row(4, 10), row(5, 1)];
    let ds =
        growth::build_dataset(&panel, &StaticFeatures::none(), &LabelConfig::default()).unwrap();
    let q1 = growth::period_index(NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(), 3);
    assert_eq!(ds.last_period, q1);
    assert_eq!(ds.accounting.rows_incomplete_period, 2);
    assert_eq!(ds.rows.len(), 1);
    assert_eq!(ds.rows[0].period, q1 + 1);
    assert!(ds.rows[0].grow.is_none(), "Q2 is the forecast period");
    let keep = LabelConfig {
        drop_incomplete_last_period: false,
        ..Default::default()
    };
    let ds = growth::build_dataset(&panel, &StaticFeatures::none(), &keep).unwrap();
    assert_eq!(ds.rows[0].grow, Some(true)); // 11 >= 1.1 * 10
}

#[test]
fn bad_panels_are_errors() {
    let cfg = LabelConfig::default();
    let none = StaticFeatures::none();
    assert!(matches!(
        growth::build_dataset(&[], &none, &cfg),
        Err(growth::GrowthError::EmptyPanel)
    ));
    let r = PanelRow {
        entity: 1,
        month: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
        reviews: 3,
        mean_stars: None,
        mean_sentiment: None,
        new_reviewers: 3,
        returning_reviewers: 0,
    };
    let dup = vec![r.clone(), r.clone()];
    assert!(matches!(
        growth::build_dataset(&dup, &none, &cfg),
        Err(growth::GrowthError::InvalidPanel(_))
    ));
    let neg = vec![PanelRow {
        reviews: -1,
        ..r.clone()
    }];
    assert!(matches!(
        growth::build_dataset(&neg, &none, &cfg),
        Err(growth::GrowthError::InvalidPanel(_))
    ));
    for bad in [
        LabelConfig {
            period_months: 5,
            ..Default::default()
        },
        LabelConfig {
            period_months: 0,
            ..Default::default()
        },
        LabelConfig {
            min_volume: 0,
            ..Default::default()
        },
        LabelConfig {
            grow_threshold: f64::NAN,
            ..Default::default()
        },
    ] {
        assert!(matches!(
            growth::build_dataset(std::slice::from_ref(&r), &none, &bad),
            Err(growth::GrowthError::Config(_))
        ));
    }
    // One row: a dataset with a forecast row and no label; the split refuses it.
    let ds = growth::build_dataset(
        &[PanelRow {
            reviews: 30,
            month: NaiveDate::from_ymd_opt(2020, 3, 1).unwrap(),
            ..r
        }],
        &none,
        &cfg,
    )
    .unwrap();
    assert_eq!(ds.rows.len(), 1);
    assert!(growth::time_split(&ds).is_err());
    assert!(growth::evaluate(&ds, "business", &Default::default()).is_err());
}
