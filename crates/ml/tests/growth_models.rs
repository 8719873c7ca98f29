//! Growth / decline models on a synthetic panel with momentum (growth persists), metrics
//! against hand-worked and scikit-learn documented values, group aggregation,
//! determinism and degenerate training sets.

use std::collections::HashMap;

use chrono::NaiveDate;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reviewlake_ml::growth::{
    self, BusinessAttributes, ClassifierSpec, ForestParams, GroupKey, LabelConfig, LogisticParams,
    ModelConfig, PanelRow, StaticFeatures,
};

fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Poisson by inversion (small means) or a rounded normal (large means).
fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> i64 {
    if mean > 30.0 {
        return (mean + mean.sqrt() * gauss(rng)).round().max(0.0) as i64;
    }
    let (mut k, mut p, l) = (0i64, 1.0, (-mean).exp());
    loop {
        p *= rng.random::<f64>();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

struct Synthetic {
    panel: Vec<PanelRow>,
    businesses: Vec<BusinessAttributes>,
}

/// `n` businesses over 2015-01..=2023-02 (data ends mid-quarter). Each business's
/// monthly review rate is `exp(level + dev)`, `dev` mean-reverting (0.9 per quarter) and
/// pushed by a drift that persists (AR(1), 0.8): past growth predicts next-quarter
/// growth. Stars and sentiment rise with the drift, returning reviewers are ~20 %.
fn synthetic(n: usize, seed: u64) -> Synthetic {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let states = ["CA", "TX", "NY"];
    let cats = ["mexican", "pizza", "sushi", "burgers"];
    let mut panel = Vec::new();
    let mut businesses = Vec::new();
    for b in 0..n as i64 {
        let start_q = rng.random_range(0..12); // opens within the first three years
        let level = (1.5 + 6.0 * rng.random::<f64>()).ln(); // 1.5-7.5 reviews/month
        let (mut dev, mut drift) = (0.0, 0.1 * gauss(&mut rng));
        for q in start_q..33 {
            drift = 0.8 * drift + 0.1 * gauss(&mut rng);
            dev = 0.9 * dev + drift;
            let log_rate = (level + dev).min(6.0);
            for m in 0..3 {
                let month0 = q * 3 + m;
                if month0 >= 98 {
                    break; // last month: 2023-02 (incomplete quarter)
                }
                let season =
                    1.0 + 0.15 * (std::f64::consts::TAU * (month0 % 12) as f64 / 12.0).sin();
                let reviews = poisson(&mut rng, log_rate.exp() * season);
                if reviews == 0 {
                    continue;
                }
                let returning = (reviews as f64 * 0.2).round() as i64;
                panel.push(PanelRow {
                    entity: b,
                    month: NaiveDate::from_ymd_opt(2015 + month0 / 12, (month0 % 12) as u32 + 1, 1)
                        .unwrap(),
                    reviews,
                    mean_stars: Some((3.6 + 2.0 * drift + 0.3 * gauss(&mut rng)).clamp(1.0, 5.0)),
                    mean_sentiment: Some(
                        (0.3 + 1.5 * drift + 0.2 * gauss(&mut rng)).clamp(-1.0, 1.0),
                    ),
                    new_reviewers: reviews - returning,
                    returning_reviewers: returning,
                });
            }
        }
        businesses.push(BusinessAttributes {
            key: b,
            state: Some(states[b as usize % 3].to_string()),
            price_level: (b % 5 != 0).then_some((b % 4 + 1) as i32),
            categories: vec![cats[b as usize % 4].to_string()],
        });
    }
    Synthetic { panel, businesses }
}

fn small_forest() -> ForestParams {
    ForestParams {
        trees: 40,
        max_depth: Some(6),
        feature_ratio: 0.6,
        bootstrap_ratio: 0.7,
        min_weight_leaf: 10.0,
    }
}

#[test]
fn classifiers_and_regressor_beat_the_naive_baselines() {
    let s = synthetic(400, 11);
    let statics = StaticFeatures::from_businesses(&s.businesses);
    assert_eq!(statics.names.len(), 1 + 4 + 3);
    let ds = growth::build_dataset(&s.panel, &statics, &LabelConfig::default()).unwrap();
    // Data ends in 2023-02: the last complete quarter is Q4 2022, the forecast Q1 2023.
    assert_eq!(
        growth::period_start(ds.last_period, 3).unwrap(),
        NaiveDate::from_ymd_opt(2022, 10, 1).unwrap()
    );
    assert!(ds.accounting.rows_incomplete_period > 0);
    let cfg = ModelConfig {
        forest: small_forest(),
        ..Default::default()
    };
    let report = growth::evaluate(&ds, "business", &cfg).unwrap();
    let m = &report.metrics;
    eprintln!(
        "{}",
        serde_json::to_string_pretty(m)
            .unwrap()
            .lines()
            .filter(|l| !l.contains("\"cat_")
                && !l.contains("\"state_")
                && !l.contains("\"log_")
                && !l.contains("season")
                && !l.contains("recent")
                && !l.contains("share_4")
                && !l.contains("age_periods")
                && !l.contains("price_level")
                && !l.contains("trend_log"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(m.test_period_start, "2022-10-01");
    assert!(
        m.train_rows > 5000 && m.test_rows > 200,
        "{} / {}",
        m.train_rows,
        m.test_rows
    );
    let by = |name: &str| m.classifiers.iter().find(|c| c.model == name).unwrap();
    let (base, logit, forest) = (by("majority"), by("logistic"), by("random_forest"));
    assert_eq!(base.roc_auc, Some(0.5));
    for c in [logit, forest] {
        assert!(c.roc_auc.unwrap() > 0.65, "{} auc {:?}", c.model, c.roc_auc);
        assert!(
            c.f1_macro > base.f1_macro + 0.1,
            "{} macro F1 {}",
            c.model,
            c.f1_macro
        );
        assert!(c.validation_roc_auc.unwrap() > 0.6);
    }
    let reg = |name: &str| m.regressors.iter().find(|c| c.model == name).unwrap();
    assert!(
        reg("ridge").rmse < reg("last_value").rmse,
        "{:?}",
        m.regressors
    );
    assert!(
        reg("ridge").mae < reg("last_value").mae,
        "{:?}",
        m.regressors
    );

    // Predictions: one per test row and forecast row, from the chosen classifier.
    let test: Vec<_> = report
        .predictions
        .iter()
        .filter(|p| p.split == "test")
        .collect();
    let forecast: Vec<_> = report
        .predictions
        .iter()
        .filter(|p| p.split == "forecast")
        .collect();
    assert_eq!(test.len() as i64, m.test_rows);
    assert_eq!(forecast.len() as i64, m.forecast_rows);
    assert!(
        forecast
            .iter()
            .all(|p| p.period_start == "2023-01-01" && p.actual_grow.is_none())
    );
    assert!(
        test.iter()
            .all(|p| p.actual_grow.is_some() && p.classifier == m.chosen_classifier)
    );
    assert!(
        report
            .predictions
            .iter()
            .all(|p| (0.0..=1.0).contains(&p.grow_probability)
                && p.predicted_reviews >= 0.0
                && p.predicted_grow == (p.grow_probability >= 0.5))
    );
}

#[test]
fn same_seed_same_report() {
    let s = synthetic(80, 12);
    let ds = growth::build_dataset(
        &s.panel,
        &StaticFeatures::from_businesses(&s.businesses),
        &LabelConfig::default(),
    )
    .unwrap();
    let cfg = ModelConfig {
        forest: ForestParams {
            trees: 10,
            ..small_forest()
        },
        ..Default::default()
    };
    let a = serde_json::to_string(&growth::evaluate(&ds, "business", &cfg).unwrap()).unwrap();
    let b = serde_json::to_string(&growth::evaluate(&ds, "business", &cfg).unwrap()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn category_state_groups_use_the_same_builder() {
    let s = synthetic(120, 13);
    let mut membership: HashMap<i64, Vec<GroupKey>> = HashMap::new();
    for b in &s.businesses {
        let groups = b
            .categories
            .iter()
            .map(|c| GroupKey {
                category: c.clone(),
                state: b.state.clone().unwrap(),
            })
            .collect();
        membership.insert(b.key, groups);
    }
    let gp = growth::aggregate_by_group(&s.panel, &membership);
    assert_eq!(gp.groups.len(), 12);
    // Reviews are conserved (every business is in exactly one group here).
    let total: i64 = s.panel.iter().map(|r| r.reviews).sum();
    assert_eq!(gp.rows.iter().map(|r| r.reviews).sum::<i64>(), total);
    // Review-weighted stars of a group-month equal the mean over its members' reviews.
    let g0 = &gp.rows[0];
    let members: Vec<&PanelRow> = s
        .panel
        .iter()
        .filter(|r| {
            r.month == g0.month && membership[&r.entity].contains(&gp.groups[g0.entity as usize])
        })
        .collect();
    let w: f64 = members.iter().map(|r| r.reviews as f64).sum();
    let stars: f64 = members
        .iter()
        .map(|r| r.reviews as f64 * r.mean_stars.unwrap())
        .sum::<f64>()
        / w;
    assert!((g0.mean_stars.unwrap() - stars).abs() < 1e-9);

    let cfg = LabelConfig {
        min_volume: 20,
        ..Default::default()
    };
    let ds = growth::build_dataset(&gp.rows, &gp.statics, &cfg).unwrap();
    assert_eq!(
        ds.feature_names.len(),
        growth::DYNAMIC_FEATURES.len() + 4 + 3
    );
    let report = growth::evaluate(
        &ds,
        "category_state",
        &ModelConfig {
            forest: ForestParams {
                trees: 20,
                min_weight_leaf: 3.0,
                ..small_forest()
            },
            ..Default::default()
        },
    )
    .unwrap();
    eprintln!(
        "groups: train {} test {} classifiers {:?} regressors {:?}",
        report.metrics.train_rows,
        report.metrics.test_rows,
        report
            .metrics
            .classifiers
            .iter()
            .map(|c| (c.model.clone(), c.accuracy, c.roc_auc))
            .collect::<Vec<_>>(),
        report.metrics.regressors
    );
    assert_eq!(report.metrics.test_rows, 12);
    assert_eq!(report.metrics.level, "category_state");
    assert!(
        report
            .predictions
            .iter()
            .all(|p| p.entity >= 0 && p.entity < 12)
    );
}

#[test]
fn one_class_training_sets_give_constant_models() {
    // Every business grows every quarter: one class in training.
    let mut panel = Vec::new();
    for b in 0..5 {
        for q in 0..8 {
            panel.push(PanelRow {
                entity: b,
                month: NaiveDate::from_ymd_opt(2020 + q / 4, (q % 4 * 3 + 1) as u32, 1).unwrap(),
                reviews: 10 * 2i64.pow(q as u32),
                mean_stars: Some(4.0),
                mean_sentiment: None,
                new_reviewers: 1,
                returning_reviewers: 0,
            });
        }
    }
    let ds =
        growth::build_dataset(&panel, &StaticFeatures::none(), &LabelConfig::default()).unwrap();
    let report = growth::evaluate(&ds, "business", &ModelConfig::default()).unwrap();
    for c in &report.metrics.classifiers {
        assert_eq!(c.accuracy, 1.0, "{}", c.model);
        assert_eq!(c.roc_auc, None, "one class in test: AUC undefined");
    }
    assert!(report.predictions.iter().all(|p| p.grow_probability == 1.0));
    // Fitting directly on one class, or on nothing, does not panic.
    let x = ndarray::Array2::<f64>::zeros((3, 2));
    for spec in [
        ClassifierSpec::Logistic(LogisticParams::default()),
        ClassifierSpec::Forest(small_forest()),
    ] {
        let m = growth::fit_classifier(&spec, x.view(), &[false, false, false], 1).unwrap();
        assert_eq!(m.grow_probability(x.view()), vec![0.0; 3]);
        assert!(growth::fit_classifier(&spec, x.slice(ndarray::s![0..0, ..]), &[], 1).is_err());
    }
    // Ridge with a zero or negative penalty is refused.
    let bad = growth::RidgeParams { lambda: 0.0 };
    assert!(growth::fit_ridge(&bad, x.view(), &[1.0, 2.0, 3.0], &[1.0, 1.0, 1.0]).is_err());
}

#[test]
fn logistic_probability_is_p_grow_whichever_class_is_the_majority() {
    // linfa-logistic 0.8.1 models P(majority class): check we flip when decline is the
    // majority.
    let x = ndarray::array![
        [-2.0],
        [-1.5],
        [-1.0],
        [-0.5],
        [0.5],
        [1.0],
        [1.5],
        [2.0],
        [-3.0],
        [-2.5]
    ];
    let y = [
        false, false, false, false, true, true, true, true, false, false,
    ];
    let m = growth::fit_classifier(
        &ClassifierSpec::Logistic(LogisticParams::default()),
        x.view(),
        &y,
        0,
    )
    .unwrap();
    let p = m.grow_probability(x.view());
    assert!(p[7] > 0.5 && p[0] < 0.5, "{p:?}");
    let y_flip: Vec<bool> = y.iter().map(|v| !v).collect();
    let m = growth::fit_classifier(
        &ClassifierSpec::Logistic(LogisticParams::default()),
        x.view(),
        &y_flip,
        0,
    )
    .unwrap();
    let p = m.grow_probability(x.view());
    assert!(p[7] < 0.5 && p[0] > 0.5, "{p:?}");
    // Forest vote fractions.
    let f = growth::fit_classifier(
        &ClassifierSpec::Forest(ForestParams {
            min_weight_leaf: 1.0,
            ..small_forest()
        }),
        x.view(),
        &y,
        3,
    )
    .unwrap();
    let p = f.grow_probability(x.view());
    assert!(p[7] > 0.5 && p[0] < 0.5, "{p:?}");
    assert!(
        p.iter()
            .all(|v| (v * 40.0 - (v * 40.0).round()).abs() < 1e-9),
        "vote fractions of 40 trees"
    );
}

#[test]
fn metrics_match_scikit_learn_definitions() {
    // roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75 (scikit-learn docs).
    assert_eq!(
        growth::roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
        Some(0.75)
    );
    // Ties count one half; constant scores give 0.5; one class gives None.
    assert_eq!(
        growth::roc_auc(&[0.5, 0.5, 0.5], &[true, false, false]),
        Some(0.5)
    );
    assert_eq!(
        growth::roc_auc(&[0.2, 0.5, 0.5], &[false, true, false]),
        Some(0.75)
    );
    assert_eq!(growth::roc_auc(&[0.2, 0.5], &[true, true]), None);
    // y_true 1 1 0 0 1, y_pred 1 0 0 1 1: tp 2, fp 1, fn 1, tn 1.
    let s = growth::classification_scores(
        &[true, false, false, true, true],
        &[0.9, 0.4, 0.1, 0.6, 0.8],
        &[true, true, false, false, true],
    );
    assert!((s.accuracy - 0.6).abs() < 1e-12);
    assert!((s.f1_grow - 2.0 / 3.0).abs() < 1e-12);
    assert!((s.f1_decline - 0.5).abs() < 1e-12);
    assert!((s.f1_macro - 7.0 / 12.0).abs() < 1e-12);
    // positives 0.9, 0.4, 0.8 vs negatives 0.1, 0.6: 5 of 6 pairs ordered.
    assert!((s.roc_auc.unwrap() - 5.0 / 6.0).abs() < 1e-12);
    // zero_division = 0: no predicted or actual grow.
    let s = growth::classification_scores(&[false, false], &[0.1, 0.2], &[false, false]);
    assert_eq!((s.f1_grow, s.f1_decline, s.accuracy), (0.0, 1.0, 1.0));
    assert!((growth::rmse(&[1.0, 3.0], &[2.0, 5.0]) - (2.5f64).sqrt()).abs() < 1e-12);
    assert!((growth::mae(&[1.0, 3.0], &[2.0, 5.0]) - 1.5).abs() < 1e-12);
}

#[test]
fn the_training_cap_keeps_a_seeded_ordered_subset_and_every_test_row() {
    let full = growth::TimeSplit {
        train: (0..1000).map(|i| i * 3).collect(),
        test: vec![5000, 5001],
        forecast: vec![6000],
        test_period: 7,
    };
    let mut a = full.clone();
    a.cap_train(100, 1);
    let mut b = full.clone();
    b.cap_train(100, 1);
    let mut c = full.clone();
    c.cap_train(100, 2);
    assert_eq!(a, b, "same seed, same sample");
    assert_ne!(a.train, c.train, "another seed, another sample");
    assert_eq!(a.train.len(), 100);
    assert!(
        a.train.windows(2).all(|w| w[0] < w[1]),
        "in order, distinct"
    );
    assert!(a.train.iter().all(|i| full.train.contains(i)));
    assert_eq!((&a.test, &a.forecast), (&full.test, &full.forecast));
    // Under the cap: untouched.
    let mut d = full.clone();
    d.cap_train(1000, 1);
    assert_eq!(d, full);
}
