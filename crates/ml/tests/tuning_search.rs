//! Grid and random search, fold construction, ranking, reproducibility, and the growth
//! models tuned with forward-chaining folds.

use chrono::NaiveDate;
use proptest::prelude::*;
use reviewlake_ml::growth::{self, Family, LabelConfig, PanelRow, StaticFeatures};
use reviewlake_ml::tuning::{
    self, Direction, Domain, Fold, ParamValue, Params, Search, SearchSpace, Study, TuningError,
};

#[test]
fn grid_is_the_cartesian_product_in_name_order() {
    let space = SearchSpace::new()
        .ints("b", [1, 2])
        .texts("a", ["x", "y", "z"])
        .int_range("c", 5, 6);
    let grid = space.grid().unwrap();
    assert_eq!(grid.len(), 12);
    let first = serde_json::to_string(&grid[0]).unwrap();
    let second = serde_json::to_string(&grid[1]).unwrap();
    assert_eq!(first, r#"{"a":"x","b":1,"c":5}"#);
    assert_eq!(second, r#"{"a":"x","b":1,"c":6}"#);
    let distinct: std::collections::BTreeSet<String> = grid
        .iter()
        .map(|p| serde_json::to_string(p).unwrap())
        .collect();
    assert_eq!(distinct.len(), 12);
    // Continuous dimensions cannot be gridded; empty dimensions are refused.
    let cont = SearchSpace::new().log_uniform("alpha", 1e-3, 1e2);
    assert!(matches!(cont.grid(), Err(TuningError::ContinuousInGrid(_))));
    assert!(matches!(
        SearchSpace::new().grid(),
        Err(TuningError::EmptySpace(_))
    ));
    assert!(matches!(
        SearchSpace::new().floats("x", []).grid(),
        Err(TuningError::EmptySpace(_))
    ));
    assert!(
        SearchSpace::new()
            .int_range("k", 0, 10_000_000)
            .grid()
            .is_err()
    );
    assert!(
        SearchSpace::new()
            .log_uniform("a", 0.0, 1.0)
            .sample(3, 1)
            .is_err()
    );
    assert!(
        SearchSpace::new()
            .int_range("a", 3, 1)
            .sample(3, 1)
            .is_err()
    );
}

#[test]
fn random_search_is_seeded_and_in_bounds() {
    let space = SearchSpace::new()
        .log_uniform("alpha", 1e-3, 1e2)
        .uniform("ratio", 0.2, 0.9)
        .int_range("depth", 2, 12)
        .texts("kind", ["a", "b"]);
    let a = space.sample(50, 7).unwrap();
    let b = space.sample(50, 7).unwrap();
    let c = space.sample(50, 8).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    for p in &a {
        let alpha = tuning::param_f64(p, "alpha").unwrap();
        assert!((1e-3..1e2).contains(&alpha));
        let ratio = tuning::param_f64(p, "ratio").unwrap();
        assert!((0.2..0.9).contains(&ratio));
        let depth = tuning::param_i64(p, "depth").unwrap();
        assert!((2..=12).contains(&depth));
        assert!(["a", "b"].contains(&tuning::param_str(p, "kind").unwrap()));
    }
    // Log-uniform: about half the draws below the geometric midpoint (0.316).
    let below = a
        .iter()
        .filter(|p| tuning::param_f64(p, "alpha").unwrap() < 0.316)
        .count();
    assert!((15..=35).contains(&below), "{below}");
    assert!(matches!(space.sample(0, 1), Err(TuningError::NoTrials)));
}

proptest! {
    /// k-fold partitions the rows: each row validates exactly once, train and
    /// validation are disjoint and cover everything, sizes differ by at most one.
    #[test]
    fn kfold_partitions(n in 2usize..300, k in 2usize..12, seed in any::<u64>()) {
        prop_assume!(k <= n);
        let folds = tuning::kfold(n, k, seed).unwrap();
        prop_assert_eq!(folds.len(), k);
        let mut count = vec![0usize; n];
        let sizes: Vec<usize> = folds.iter().map(|f| f.validation.len()).collect();
        prop_assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
        for f in &folds {
            prop_assert_eq!(f.train.len() + f.validation.len(), n);
            for &v in &f.validation {
                count[v] += 1;
                prop_assert!(f.train.binary_search(&v).is_err());
            }
        }
        prop_assert!(count.iter().all(|c| *c == 1));
        prop_assert_eq!(folds, tuning::kfold(n, k, seed).unwrap());
    }

    /// Forward chaining never trains on the validation period or later.
    #[test]
    fn forward_chaining_trains_on_the_past_only(
        periods in proptest::collection::vec(0i64..20, 1..200),
        n_folds in 1usize..5,
        min_train in 1usize..4,
    ) {
        let distinct: std::collections::BTreeSet<i64> = periods.iter().copied().collect();
        match tuning::forward_chaining(&periods, n_folds, min_train) {
            Ok(folds) => {
                prop_assert_eq!(folds.len(), n_folds);
                for f in &folds {
                    let v = periods[f.validation[0]];
                    prop_assert!(f.validation.iter().all(|&i| periods[i] == v));
                    prop_assert!(f.train.iter().all(|&i| periods[i] < v));
                    let train_periods: std::collections::BTreeSet<i64> = f.train.iter().map(|&i| periods[i]).collect();
                    prop_assert!(train_periods.len() >= min_train);
                    // Expanding window: every earlier row is in training.
                    prop_assert_eq!(f.train.len(), periods.iter().filter(|p| **p < v).count());
                }
            }
            Err(_) => prop_assert!(distinct.len() < min_train + n_folds),
        }
    }
}

#[test]
fn kfold_refuses_impossible_requests() {
    assert!(tuning::kfold(5, 1, 0).is_err());
    assert!(tuning::kfold(3, 4, 0).is_err());
    assert!(tuning::kfold(0, 2, 0).is_err());
    assert!(tuning::forward_chaining(&[], 1, 1).is_err());
    assert!(tuning::forward_chaining(&[1, 2], 1, 0).is_err());
}

#[test]
fn trials_are_ranked_by_direction_and_failures_rank_last() {
    let space = SearchSpace::new().ints("x", [-2, 0, 1, 3, 5]);
    let folds = tuning::kfold(10, 5, 1).unwrap();
    let objective = |t: &tuning::TrialInput<'_>| -> Result<f64, tuning::BoxError> {
        let x = tuning::param_i64(t.params, "x")?;
        if x < 0 {
            return Err("negative x".into());
        }
        if x == 5 {
            return Ok(f64::NAN);
        }
        // Score depends on the fold a little, so std > 0.
        Ok((x as f64 - 1.0).powi(2) + t.fold_index as f64 * 0.1)
    };
    let min = Study::new("toy", "loss", Direction::Minimize, Search::Grid, 3);
    let trials = tuning::run_study(&min, &space, &folds, objective).unwrap();
    assert_eq!(trials.len(), 5);
    let rank = |x: i64| {
        trials
            .iter()
            .find(|t| t.params_json == format!(r#"{{"x":{x}}}"#))
            .unwrap()
            .rank
    };
    assert_eq!((rank(1), rank(0), rank(3)), (1, 2, 3));
    assert_eq!(
        rank(-2),
        4,
        "failed trials rank after successes, in candidate order"
    );
    assert_eq!(rank(5), 5);
    let failed = trials
        .iter()
        .find(|t| t.params_json == r#"{"x":-2}"#)
        .unwrap();
    assert!(failed.error.as_deref().unwrap().contains("negative x"));
    assert!(failed.mean_score.is_none() && failed.fold_scores.is_empty());
    let nan = trials
        .iter()
        .find(|t| t.params_json == r#"{"x":5}"#)
        .unwrap();
    assert!(nan.error.as_deref().unwrap().contains("non-finite"));
    let best = tuning::best(&trials).unwrap();
    assert_eq!(best.fold_scores.len(), 5);
    assert!((best.mean_score.unwrap() - 0.2).abs() < 1e-12);
    assert!((best.std_score.unwrap() - (0.02f64).sqrt()).abs() < 1e-12);
    assert_eq!(best.direction, "minimize");
    assert_eq!(best.search, "grid");
    let max = Study::new("toy", "gain", Direction::Maximize, Search::Grid, 3);
    let trials = tuning::run_study(&max, &space, &folds, objective).unwrap();
    assert_eq!(tuning::best(&trials).unwrap().params_json, r#"{"x":3}"#);
    // The trial row is flat serde: it round-trips through JSON.
    let json = serde_json::to_string(&trials).unwrap();
    let back: Vec<tuning::Trial> = serde_json::from_str(&json).unwrap();
    assert_eq!(back.len(), trials.len());
    assert_eq!(
        tuning::trial_params(&back[0]).unwrap()["x"],
        ParamValue::Int(-2)
    );
    assert!(matches!(
        tuning::run_study(&max, &space, &[], objective),
        Err(TuningError::NoFolds)
    ));
}

#[test]
fn random_study_is_reproducible_and_seeds_depend_on_fold_only() {
    let space = SearchSpace::new()
        .with(
            "alpha",
            Domain::LogUniform {
                low: 1e-2,
                high: 1e2,
            },
        )
        .ints("k", [1, 2, 3]);
    let study = Study::new(
        "toy",
        "score",
        Direction::Maximize,
        Search::Random { trials: 12 },
        99,
    );
    let folds = tuning::kfold(20, 4, 5).unwrap();
    let run = || {
        tuning::run_study(&study, &space, &folds, |t| {
            // A "model" whose randomness comes from the provided seed.
            let a = tuning::param_f64(t.params, "alpha")?;
            Ok(-(a.ln()).abs() + (t.seed % 1000) as f64 * 1e-6)
        })
        .unwrap()
    };
    let (a, b) = (run(), run());
    let strip = |v: &[tuning::Trial]| {
        v.iter()
            .map(|t| (t.params_json.clone(), t.fold_scores.clone(), t.rank))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&a), strip(&b));
    assert_eq!(a.len(), 12);
    assert!(a.iter().all(|t| t.search == "random" && t.seed == 99));
    assert_eq!(tuning::fold_seed(99, 0), tuning::fold_seed(99, 0));
    assert_ne!(tuning::fold_seed(99, 0), tuning::fold_seed(99, 1));
}

#[test]
fn folds_are_pluggable_for_a_recommender() {
    // A recommender's folds: hold out each user's last rating (leave-one-out by user),
    // built by the caller; the objective interprets the indices as ratings.
    let ratings: Vec<(u32, u32, f64)> = (0..60)
        .map(|i| (i % 6, i / 6, ((i * 7) % 5 + 1) as f64))
        .collect();
    let mut validation = Vec::new();
    for u in 0..6 {
        validation.push(ratings.iter().rposition(|r| r.0 == u).unwrap());
    }
    validation.sort_unstable();
    let train = (0..ratings.len())
        .filter(|i| !validation.contains(i))
        .collect();
    let folds = vec![Fold {
        train,
        validation,
        label: "leave last rating out".into(),
    }];
    let study = Study::new("als/explicit", "rmse", Direction::Minimize, Search::Grid, 1);
    let space = SearchSpace::new().floats("shrink", [0.0, 1.0, 10.0]);
    let trials = tuning::run_study(&study, &space, &folds, |t| {
        // "Model": per-item mean of the training ratings, shrunk towards the global mean.
        let shrink = tuning::param_f64(t.params, "shrink")?;
        let tr: Vec<&(u32, u32, f64)> = t.fold.train.iter().map(|&i| &ratings[i]).collect();
        let global = tr.iter().map(|r| r.2).sum::<f64>() / tr.len() as f64;
        let mut se = 0.0;
        for &i in &t.fold.validation {
            let (_, item, y) = ratings[i];
            let its: Vec<f64> = tr.iter().filter(|r| r.1 == item).map(|r| r.2).collect();
            let pred =
                (its.iter().sum::<f64>() + shrink * global) / (its.len() as f64 + shrink).max(1e-9);
            se += (pred - y).powi(2);
        }
        Ok((se / t.fold.validation.len() as f64).sqrt())
    })
    .unwrap();
    assert_eq!(trials.len(), 3);
    assert!(
        trials
            .iter()
            .all(|t| t.error.is_none() && t.fold_scores.len() == 1)
    );
    let ranks: std::collections::BTreeSet<i64> = trials.iter().map(|t| t.rank).collect();
    assert_eq!(ranks, (1..=3).collect());
}

/// A panel where last quarter's growth repeats: enough for tuning to have signal.
fn momentum_panel() -> Vec<PanelRow> {
    let mut panel = Vec::new();
    for b in 0..60i64 {
        let up = b % 2 == 0;
        for q in 0..16i64 {
            let wobble = (b * 7 + q * 3) % 5 - 2;
            let base = if up {
                10.0 * 1.2f64.powi(q as i32)
            } else {
                200.0 * 0.85f64.powi(q as i32)
            } as i64;
            let reviews = (base + wobble).max(1);
            panel.push(PanelRow {
                entity: b,
                month: NaiveDate::from_ymd_opt(2018 + (q / 4) as i32, (q % 4 * 3 + 1) as u32, 1)
                    .unwrap(),
                reviews,
                mean_stars: Some(if up { 4.2 } else { 3.4 }),
                mean_sentiment: Some(0.3),
                new_reviewers: reviews,
                returning_reviewers: 0,
            });
        }
    }
    // Extend to the end of the last quarter so it is complete.
    panel.push(PanelRow {
        entity: 0,
        month: NaiveDate::from_ymd_opt(2021, 12, 1).unwrap(),
        reviews: 0,
        mean_stars: None,
        mean_sentiment: None,
        new_reviewers: 0,
        returning_reviewers: 0,
    });
    panel
}

#[test]
fn growth_models_tune_on_training_periods_only() {
    let ds = growth::build_dataset(
        &momentum_panel(),
        &StaticFeatures::none(),
        &LabelConfig::default(),
    )
    .unwrap();
    let split = growth::time_split(&ds).unwrap();
    let logit = growth::tune(
        &ds,
        Family::Logistic,
        &Family::Logistic.space(),
        Search::Grid,
        3,
        5,
    )
    .unwrap();
    assert_eq!(logit.len(), 6);
    assert!(
        logit
            .iter()
            .all(|t| t.metric == "roc_auc" && t.fold_scores.len() == 3)
    );
    let best = tuning::best(&logit).unwrap();
    eprintln!(
        "logistic best {} auc {:?}",
        best.params_json, best.mean_score
    );
    assert!(best.mean_score.unwrap() > 0.9);

    let forest = growth::tune(
        &ds,
        Family::Forest,
        &Family::Forest.space(),
        Search::Random { trials: 4 },
        2,
        5,
    )
    .unwrap();
    assert_eq!(forest.len(), 4);
    assert!(
        forest
            .iter()
            .all(|t| t.model_family == "growth/random_forest" && t.error.is_none())
    );

    let ridge = growth::tune(
        &ds,
        Family::Ridge,
        &Family::Ridge.space(),
        Search::Grid,
        3,
        5,
    )
    .unwrap();
    assert_eq!(ridge.len(), 6);
    let best = tuning::best(&ridge).unwrap();
    assert_eq!(best.direction, "minimize");
    assert!(
        ridge
            .iter()
            .all(|t| t.mean_score.unwrap() >= best.mean_score.unwrap())
    );

    // The folds used are over training periods: validating on the last three of them.
    let periods: Vec<i64> = split.train.iter().map(|&i| ds.rows[i].period).collect();
    let folds = tuning::forward_chaining(&periods, 3, 1).unwrap();
    for f in &folds {
        assert!(
            f.validation
                .iter()
                .all(|&k| ds.rows[split.train[k]].period < split.test_period)
        );
    }
    // Tuned parameters feed back into the model config.
    let p: Params = tuning::trial_params(tuning::best(&logit).unwrap()).unwrap();
    let params = growth::LogisticParams::from_params(&p).unwrap();
    assert!(params.alpha > 0.0);
    assert!(
        growth::tune(
            &ds,
            Family::Logistic,
            &Family::Logistic.space(),
            Search::Grid,
            50,
            5
        )
        .is_err()
    );
}
