//! The biased explicit model (`μ + b_u + b_i + x·y`): its half-step against an
//! independent dense solve, and on planted data shaped like a review dump (power-law
//! activity, most users with one to three ratings, user and item biases, latent
//! tastes) against the baselines, overall and per user segment.

mod common;

use common::{affinities, dense_solve, gauss, pick_items};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reviewlake_ml::recommend::{
    Als, AlsParams, BiasBaseline, BiasParams, BiasedAls, BiasedParams, FactorModel, GlobalMean,
    Interactions, ModelKind, Rating, RatingModel, RatingPredictor, SparseRows, SplitStrategy,
    TestSet, Triple, evaluate_ratings, solve_biased_rows, split, tune_rating_model,
};

/// Rows shorter than the unknowns (dual form, bias column rescaled) and longer ones
/// (primal form) both equal the dense solve of
/// `(YᵀY + diag(λn, …, λn, λ_b)) x = Yᵀ r` — the bias λ constant, the factor λ scaled.
#[test]
fn biased_half_step_matches_dense_solve_with_a_constant_bias_reg() {
    for &k in &[2usize, 3, 5, 8, 11] {
        let mut rng = ChaCha8Rng::seed_from_u64(100 + k as u64);
        let n_items = 30u32;
        // Fixed side: k − 1 factors and the constant 1 of the bias.
        let mut fixed = Array2::<f32>::zeros((n_items as usize, k));
        for (i, mut row) in fixed.rows_mut().into_iter().enumerate() {
            for x in row.iter_mut() {
                *x = rng.random::<f32>() * 2.0 - 1.0;
            }
            row[k - 1] = 1.0;
            let _ = i;
        }
        let n_users = 2 * k as u32 + 2;
        let mut t = Vec::new();
        for u in 0..n_users {
            for e in 0..=u {
                let item = (u * 5 + e * 3) % n_items;
                t.push(Triple {
                    user: u,
                    item,
                    value: rng.random::<f32>() * 4.0 - 2.0,
                });
            }
        }
        let rows = SparseRows::from_triples(n_users as usize, n_items as usize, &t, false);
        let (reg, bias_reg) = (0.2, 7.5);
        let mut out = Array2::<f32>::zeros((n_users as usize, k));
        solve_biased_rows(&rows, fixed.view(), reg, bias_reg, &mut out).unwrap();
        for u in 0..n_users {
            let mut a = vec![vec![0.0f64; k]; k];
            let mut b = vec![0.0f64; k];
            let mut n = 0.0;
            for tr in t.iter().filter(|tr| tr.user == u) {
                let v = fixed.row(tr.item as usize);
                for i in 0..k {
                    b[i] += f64::from(tr.value) * f64::from(v[i]);
                    for j in 0..k {
                        a[i][j] += f64::from(v[i]) * f64::from(v[j]);
                    }
                }
                n += 1.0;
            }
            for (i, row) in a.iter_mut().enumerate() {
                row[i] += if i == k - 1 { bias_reg } else { reg * n };
            }
            let want = dense_solve(a, b);
            for j in 0..k {
                let got = f64::from(out[[u as usize, j]]);
                assert!(
                    (got - want[j]).abs() < 1e-4 * (1.0 + want[j].abs()),
                    "k {k}, user {u} ({n} ratings), unknown {j}: {got} vs {}",
                    want[j]
                );
            }
        }
    }
    // A bias λ of zero or less is refused (the bias of a one-rating row would be free).
    let rows = SparseRows::from_triples(1, 1, &[], false);
    let mut out = Array2::<f32>::zeros((1, 2));
    assert!(
        solve_biased_rows(
            &rows,
            Array2::<f32>::ones((1, 2)).view(),
            0.1,
            0.0,
            &mut out
        )
        .is_err()
    );
}

/// Review-dump-shaped ratings: 4,000 users whose number of ratings follows a power law
/// (half of them rate once, three quarters at most three times, a few up to 80), 400
/// items chosen by popularity and taste; rating = clipped, rounded
/// (3.6 + b_u + b_i + 0.9·taste + noise).
fn planted(seed: u64) -> Vec<Rating> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (n_users, n_items, k) = (4000usize, 400usize, 3usize);
    let q: Vec<Vec<f64>> = (0..n_items)
        .map(|_| (0..k).map(|_| gauss(&mut rng)).collect())
        .collect();
    let item_bias: Vec<f64> = (0..n_items).map(|_| 0.5 * gauss(&mut rng)).collect();
    let pop: Vec<f64> = (0..n_items)
        .map(|i| 1.0 / (1.0 + i as f64).powf(0.7))
        .collect();
    let mut out = Vec::new();
    for u in 0..n_users {
        let p: Vec<f64> = (0..k).map(|_| gauss(&mut rng)).collect();
        let user_bias = 0.5 * gauss(&mut rng);
        // Pareto(1): P(m = 1) = 1/2, P(m ≤ 3) = 3/4.
        let x = (1.0 - rng.random::<f64>()).powf(-1.0) - 1.0;
        let m = (1 + x.floor() as usize).min(80);
        let aff = affinities(&p, &q);
        for i in pick_items(&mut rng, &pop, &aff, 1.0, m) {
            let r = (3.6 + user_bias + item_bias[i] + 0.9 * aff[i] + 0.4 * gauss(&mut rng))
                .round()
                .clamp(1.0, 5.0);
            out.push(Rating {
                user: format!("u{u}").into(),
                item: format!("i{i}").into(),
                rating: r as f32,
                timestamp: None,
            });
        }
    }
    out
}

/// RMSE of `model` over the test pairs of users whose training count is in `range`.
fn segment_rmse(
    model: &dyn RatingPredictor,
    train: &Interactions,
    test: &TestSet,
    range: std::ops::RangeInclusive<usize>,
) -> (f64, usize) {
    let counts = train.by_user();
    let (mut se, mut n) = (0.0f64, 0usize);
    for t in &test.known {
        let c = counts.row(t.user as usize).0.len();
        if range.contains(&c) {
            let e = f64::from(model.predict_index(t.user, t.item)) - f64::from(t.value);
            se += e * e;
            n += 1;
        }
    }
    ((se / n.max(1) as f64).sqrt(), n)
}

#[test]
fn biased_model_beats_the_bias_baseline_overall_and_for_active_users() {
    let ratings = planted(3);
    let ones = {
        let mut per_user = std::collections::HashMap::<&str, usize>::new();
        for r in &ratings {
            *per_user.entry(&*r.user).or_default() += 1;
        }
        let few = per_user.values().filter(|&&c| c <= 3).count();
        few as f64 / per_user.len() as f64
    };
    assert!(ones > 0.6, "most users have 1-3 ratings: {ones}");
    let s = split(
        &ratings,
        &SplitStrategy::Random {
            test_fraction: 0.2,
            seed: 9,
        },
    )
    .unwrap();
    let train = Interactions::from_ratings(&s.train).unwrap();
    let test = TestSet::from_ratings(&train, &s.test);
    let params = BiasedParams {
        rank: 5,
        iterations: 10,
        reg: 0.1,
        bias_reg_user: 2.0,
        bias_reg_item: 5.0,
        seed: 7,
    };
    let biased = BiasedAls::new(params).fit(&train).unwrap();
    assert!(matches!(biased.kind, ModelKind::Biased(_)));
    assert_eq!(biased.rank(), 5);
    let bias = BiasBaseline::fit(
        &train,
        BiasParams {
            reg_user: 2.0,
            reg_item: 5.0,
            ..BiasParams::default()
        },
    );
    let koren = BiasBaseline::fit(&train, BiasParams::default());
    let mean = GlobalMean::fit(&train);
    let plain = Als::new(AlsParams {
        rank: 5,
        iterations: 10,
        reg: 0.1,
        seed: 7,
    })
    .fit(&train)
    .unwrap();
    let (rb, rbias, rkoren, rmean, rplain) = (
        evaluate_ratings(&biased, &test),
        evaluate_ratings(&bias, &test),
        evaluate_ratings(&koren, &test),
        evaluate_ratings(&mean, &test),
        evaluate_ratings(&plain, &test),
    );
    eprintln!(
        "RMSE biased {:.4}, bias baseline {:.4} (Koren λ {:.4}), global mean {:.4}, plain ALS {:.4} over {} pairs",
        rb.rmse, rbias.rmse, rkoren.rmse, rmean.rmse, rplain.rmse, rb.count
    );
    let best_baseline = rbias.rmse.min(rkoren.rmse).min(rmean.rmse);
    assert!(
        rb.rmse < best_baseline,
        "biased {rb:?} vs best baseline {best_baseline}"
    );
    // And plain ALS-WR, which fits every one-rating user's offset with its factors.
    assert!(
        rb.rmse < rplain.rmse,
        "biased {rb:?} vs plain ALS {rplain:?}"
    );
    for range in [1..=1usize, 2..=4, 5..=9, 10..=usize::MAX] {
        let (mb, n) = segment_rmse(&biased, &train, &test, range.clone());
        let (mbias, _) = segment_rmse(&bias, &train, &test, range.clone());
        let (mkoren, _) = segment_rmse(&koren, &train, &test, range.clone());
        let (mplain, _) = segment_rmse(&plain, &train, &test, range.clone());
        eprintln!(
            "  users with {range:?} training ratings: {n} pairs; biased {mb:.4}, bias baseline {mbias:.4} (Koren {mkoren:.4}), plain ALS {mplain:.4}"
        );
        if *range.start() >= 5 {
            assert!(n > 200, "{range:?}: {n} pairs");
            assert!(
                mb < mbias.min(mkoren),
                "{range:?}: biased {mb} vs bias baseline {mbias} / {mkoren}"
            );
        }
    }

    // Predictions are μ + b_u + b_i + x·y: the model's two bias columns hold them.
    let u = train.users().index("u0").unwrap();
    let row = biased.user_factors.row(u as usize);
    assert_eq!(row[6], 1.0, "users' last column is the constant 1");
    assert!((row[5] - bias.mean).abs() < 1.5, "μ + b_u in column rank");

    // Deterministic, and it survives a JSON round trip with its kind.
    let again = BiasedAls::new(params).fit(&train).unwrap();
    assert_eq!(again, biased);
    let back = FactorModel::from_json(&biased.to_json().unwrap()).unwrap();
    assert_eq!(back, biased);
    // Similar items use the latent columns only: an item's nearest neighbour by taste.
    let sim = biased.similar_items("i0", 5).unwrap();
    assert_eq!(sim.len(), 5);
    assert!(sim.iter().all(|r| r.item != "i0"));
}

/// `tune_rating_model` picks its candidate by cross-validation; the chosen model is
/// one of the grid's and beats the bias baseline on the held-out pairs.
#[test]
fn tuning_picks_a_grid_candidate_that_beats_the_baseline() {
    let ratings = planted(4);
    let s = split(
        &ratings,
        &SplitStrategy::Random {
            test_fraction: 0.2,
            seed: 1,
        },
    )
    .unwrap();
    let base = RatingModel::Biased(BiasedParams {
        iterations: 6,
        ..BiasedParams::default()
    });
    let space = reviewlake_ml::tuning::SearchSpace::new()
        .ints("rank", [3, 8])
        .floats("reg", [0.1, 0.5])
        .floats("bias_reg_user", [5.0])
        .floats("bias_reg_item", [10.0]);
    let tuned = tune_rating_model(&s.train, base, &space, 3, 5).unwrap();
    assert_eq!(tuned.trials.len(), 4);
    assert!(tuned.trials.iter().all(|t| t.fold_scores.len() == 3));
    let best = reviewlake_ml::tuning::best(&tuned.trials).unwrap();
    let RatingModel::Biased(p) = tuned.model else {
        panic!("the family is kept")
    };
    assert!(
        best.params_json.contains(&format!("\"rank\":{}", p.rank)),
        "{} vs {p:?}",
        best.params_json
    );
    let train = Interactions::from_ratings(&s.train).unwrap();
    let test = TestSet::from_ratings(&train, &s.test);
    let fitted = tuned.model.fit(&train).unwrap();
    let bias = BiasBaseline::fit(&train, BiasParams::default());
    let (rf, rb) = (
        evaluate_ratings(&fitted, &test),
        evaluate_ratings(&bias, &test),
    );
    assert!(rf.rmse < rb.rmse, "tuned {rf:?} vs bias {rb:?}");
}
