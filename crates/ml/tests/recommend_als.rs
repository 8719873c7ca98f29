//! ALS solvers against independent dense solves, and end-to-end on planted data.

mod common;

use common::{affinities, dense_solve, gauss, pick_items};
use ndarray::{Array2, array};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reviewlake_ml::recommend::{
    Als, AlsParams, BiasBaseline, BiasParams, GlobalMean, ImplicitAls, ImplicitParams,
    ImplicitSolver, Interactions, Popularity, PopularityKind, RankingOptions, Rating, SparseRows,
    SplitStrategy, TestSet, Triple, evaluate_ranking, evaluate_ratings, solve_explicit_rows,
    solve_implicit_rows, split,
};

fn triples(v: &[(u32, u32, f32)]) -> Vec<Triple> {
    v.iter()
        .map(|&(user, item, value)| Triple { user, item, value })
        .collect()
}

#[test]
fn explicit_half_step_equals_dense_normal_equations_with_count_scaled_reg() {
    // 4 users × 3 items; user 3 rated item 1 twice (two observations, as Spark).
    let t = triples(&[
        (0, 0, 5.0),
        (0, 1, 3.0),
        (1, 1, 4.0),
        (1, 2, 1.0),
        (1, 0, 2.0),
        (2, 2, 5.0),
        (3, 1, 4.0),
        (3, 1, 2.0),
    ]);
    let rows = SparseRows::from_triples(4, 3, &t, false);
    let items = array![[0.9f32, -0.3], [0.2, 1.1], [-0.7, 0.5]];
    let reg = 0.35;
    let mut out = Array2::<f32>::zeros((4, 2));
    solve_explicit_rows(&rows, items.view(), reg, &mut out).unwrap();
    for u in 0..4u32 {
        let mut a = vec![vec![0.0f64; 2]; 2];
        let mut b = vec![0.0f64; 2];
        let mut n = 0.0;
        for tr in t.iter().filter(|tr| tr.user == u) {
            let v = items.row(tr.item as usize);
            for i in 0..2 {
                b[i] += f64::from(tr.value) * f64::from(v[i]);
                for j in 0..2 {
                    a[i][j] += f64::from(v[i]) * f64::from(v[j]);
                }
            }
            n += 1.0;
        }
        for (i, row) in a.iter_mut().enumerate() {
            row[i] += reg * n;
        }
        let want = dense_solve(a, b);
        for j in 0..2 {
            let got = f64::from(out[[u as usize, j]]);
            assert!(
                (got - want[j]).abs() < 1e-5 * (1.0 + want[j].abs()),
                "user {u} factor {j}: {got} vs {want:?}"
            );
        }
    }
    // Rank 1 has a closed form: x = Σ r v / (Σ v² + λ n).
    let items1 = array![[2.0f32], [-1.0], [0.5]];
    let mut out1 = Array2::<f32>::zeros((4, 1));
    solve_explicit_rows(&rows, items1.view(), reg, &mut out1).unwrap();
    let x1 = (-4.0 + 1.0 * 0.5 + 2.0 * 2.0) / (1.0 + 0.25 + 4.0 + reg * 3.0);
    assert!(
        (f64::from(out1[[1, 0]]) - x1).abs() < 1e-6,
        "{}",
        out1[[1, 0]]
    );
}

/// Rows with fewer entries than factors take the dual `n×n` path, the others the padded
/// `k×k` path; both must equal the dense primal solve, for ranks that are and are not
/// multiples of the SIMD width, and with repeated columns.
#[test]
fn explicit_half_step_short_and_long_rows_match_dense_solve_at_several_ranks() {
    for &k in &[1usize, 3, 4, 7, 10, 13] {
        let mut rng = ChaCha8Rng::seed_from_u64(k as u64);
        let n_items = 40u32;
        let mut fixed = Array2::<f32>::zeros((n_items as usize, k));
        for x in fixed.iter_mut() {
            *x = rng.random::<f32>() * 2.0 - 1.0;
        }
        // User u has u + 1 ratings (1 ..= 2k + 2 entries), some items twice.
        let n_users = 2 * k as u32 + 2;
        let mut t = Vec::new();
        for u in 0..n_users {
            for e in 0..=u {
                let item = (u * 7 + e * 3) % n_items;
                t.push((u, item, 1.0 + (rng.random::<f32>() * 4.0).round()));
                if e == 1 {
                    t.push((u, item, 3.0));
                }
            }
        }
        let t = triples(&t);
        let rows = SparseRows::from_triples(n_users as usize, n_items as usize, &t, false);
        let reg = 0.1;
        let mut out = Array2::<f32>::zeros((n_users as usize, k));
        solve_explicit_rows(&rows, fixed.view(), reg, &mut out).unwrap();
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
                row[i] += reg * n;
            }
            let want = dense_solve(a, b);
            for j in 0..k {
                let got = f64::from(out[[u as usize, j]]);
                assert!(
                    (got - want[j]).abs() < 1e-4 * (1.0 + want[j].abs()),
                    "rank {k}, user {u} ({n} ratings), factor {j}: {got} vs {}",
                    want[j]
                );
            }
        }
    }
}

#[test]
fn implicit_cg_converges_to_dense_direct_solve() {
    // k = 4 takes the kernels' remainder paths, k = 75 their 64/8-wide blocks too.
    for (n_items, k) in [(9usize, 4usize), (120, 75)] {
        implicit_cg_case(n_items, k);
    }
}

fn implicit_cg_case(n_items: usize, k: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let n_users = 5usize;
    let y = Array2::from_shape_fn((n_items, k), |_| rng.random::<f32>() - 0.5);
    let mut t = Vec::new();
    for u in 0..n_users as u32 {
        for i in 0..n_items as u32 {
            if rng.random_bool(0.4) {
                t.push(Triple {
                    user: u,
                    item: i,
                    value: 1.0 + 2.0 * rng.random_range(1..4) as f32,
                });
            }
        }
    }
    // Make sure user 4 has no observations: its factors must become zero.
    t.retain(|tr| tr.user != 4);
    let conf = SparseRows::from_triples(n_users, n_items, &t, false);
    let reg = 0.1;
    let x0 = Array2::from_shape_fn((n_users, k), |_| rng.random::<f32>() * 0.01);
    let mut cg = x0.clone();
    solve_implicit_rows(
        &conf,
        y.view(),
        reg,
        ImplicitSolver::ConjugateGradient { steps: 4 * k },
        &mut cg,
    )
    .unwrap();
    let mut direct = x0.clone();
    solve_implicit_rows(&conf, y.view(), reg, ImplicitSolver::Cholesky, &mut direct).unwrap();
    for u in 0..n_users {
        // Dense: every item, c = 1 and p = 0 unless observed.
        let mut a = vec![vec![0.0f64; k]; k];
        let mut b = vec![0.0f64; k];
        for i in 0..n_items {
            let c = t
                .iter()
                .find(|tr| tr.user as usize == u && tr.item as usize == i)
                .map_or(1.0, |tr| f64::from(tr.value));
            let p = if c > 1.0 { 1.0 } else { 0.0 };
            for r in 0..k {
                b[r] += c * p * f64::from(y[[i, r]]);
                for s in 0..k {
                    a[r][s] += c * f64::from(y[[i, r]]) * f64::from(y[[i, s]]);
                }
            }
        }
        for (r, row) in a.iter_mut().enumerate() {
            row[r] += reg;
        }
        let want = if u == 4 {
            vec![0.0; k]
        } else {
            dense_solve(a, b)
        };
        for r in 0..k {
            for (name, m) in [("cg", &cg), ("cholesky", &direct)] {
                let got = f64::from(m[[u, r]]);
                assert!(
                    (got - want[r]).abs() < 2e-3 * (1.0 + want[r].abs()),
                    "{name} user {u} factor {r}: {got} vs {}",
                    want[r]
                );
            }
        }
    }
    // Three CG steps from a cold start are not yet the solution: the test can fail.
    let mut three = x0.clone();
    solve_implicit_rows(
        &conf,
        y.view(),
        reg,
        ImplicitSolver::ConjugateGradient { steps: 1 },
        &mut three,
    )
    .unwrap();
    let gap: f32 = (&three - &direct).iter().map(|d| d.abs()).sum();
    assert!(gap > 1e-4, "one CG step already converged: gap {gap}");
}

#[test]
fn implicit_hybrid_solves_short_rows_exactly_and_long_rows_by_cg() {
    // k = 5 takes the kernels' remainder paths, k = 40 their 32/8-wide blocks too.
    for k in [5usize, 40] {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (n_users, n_items) = (60usize, 50usize);
        let y = Array2::from_shape_fn((n_items, k), |_| rng.random::<f32>() - 0.5);
        // User u has u % 7 entries: 0 (zero factors), 1-3 (exact), 4-6 (CG); user 59
        // has a negative confidence (preference 0).
        let mut t = Vec::new();
        for u in 0..n_users as u32 {
            let mut items: Vec<u32> = (0..n_items as u32).collect();
            for j in 0..(u % 7) as usize {
                let pick = rng.random_range(j..items.len());
                items.swap(j, pick);
                let value = if u == 59 && j == 0 {
                    -2.5
                } else {
                    1.0 + 3.0 * rng.random::<f32>()
                };
                t.push(Triple {
                    user: u,
                    item: items[j],
                    value,
                });
            }
        }
        let conf = SparseRows::from_triples(n_users, n_items, &t, false);
        let reg = 0.05;
        let x0 = Array2::from_shape_fn((n_users, k), |_| rng.random::<f32>() * 0.01);
        let solve = |solver| {
            let mut x = x0.clone();
            solve_implicit_rows(&conf, y.view(), reg, solver, &mut x).unwrap();
            x
        };
        let hybrid = solve(ImplicitSolver::Hybrid { steps: 3 });
        let direct = solve(ImplicitSolver::Cholesky);
        let cg = solve(ImplicitSolver::ConjugateGradient { steps: 3 });
        let mut cg_differs = false;
        for u in 0..n_users {
            let n = u % 7;
            for r in 0..k {
                let (h, d, c) = (hybrid[[u, r]], direct[[u, r]], cg[[u, r]]);
                if n <= 3 {
                    assert!(
                        (h - d).abs() <= 1e-4 * (1.0 + d.abs()),
                        "k {k} user {u} ({n} entries) factor {r}: hybrid {h} vs exact {d}"
                    );
                    cg_differs |= (c - d).abs() > 1e-3 * (1.0 + d.abs());
                } else {
                    assert_eq!(h, c, "k {k} user {u} ({n} entries) factor {r}: not CG's");
                }
            }
        }
        // Three CG steps from the start are not exact on the short rows: the comparison
        // above could fail.
        assert!(cg_differs, "k {k}: CG already exact on every short row");
    }
}

/// Users and items with latent tastes; users rate more often what they like and what
/// is popular; ratings = clipped, rounded (3.4 + item bias + 0.9·taste + noise).
fn planted(seed: u64) -> Vec<Rating> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (n_users, n_items, k) = (500usize, 300usize, 3usize);
    let p: Vec<Vec<f64>> = (0..n_users)
        .map(|_| (0..k).map(|_| gauss(&mut rng)).collect())
        .collect();
    let q: Vec<Vec<f64>> = (0..n_items)
        .map(|_| (0..k).map(|_| gauss(&mut rng)).collect())
        .collect();
    let bias: Vec<f64> = (0..n_items).map(|_| 0.4 * gauss(&mut rng)).collect();
    let pop: Vec<f64> = (0..n_items)
        .map(|i| 1.0 / (1.0 + i as f64).powf(0.5))
        .collect();
    let mut out = Vec::new();
    for (u, pu) in p.iter().enumerate() {
        let m = 15 + rng.random_range(0..30);
        let aff = affinities(pu, &q);
        for i in pick_items(&mut rng, &pop, &aff, 1.5, m) {
            let r = (3.4 + bias[i] + 0.9 * aff[i] + 0.4 * gauss(&mut rng))
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

#[test]
fn als_beats_baselines_on_planted_structure_and_is_deterministic() {
    let ratings = planted(11);
    let s = split(
        &ratings,
        &SplitStrategy::PerUser {
            test_fraction: 0.2,
            seed: 5,
            min_train: 5,
        },
    )
    .unwrap();
    let train = Interactions::from_ratings(&s.train).unwrap();
    let test = TestSet::from_ratings(&train, &s.test);
    assert!(
        test.known.len() > 1000,
        "{} known test pairs",
        test.known.len()
    );
    let params = AlsParams {
        rank: 4,
        iterations: 12,
        reg: 0.1,
        seed: 42,
    };
    let als = Als::new(params).fit(&train).unwrap();
    let bias = BiasBaseline::fit(&train, BiasParams::default());
    let mean = GlobalMean::fit(&train);
    let (r_als, r_bias, r_mean) = (
        evaluate_ratings(&als, &test),
        evaluate_ratings(&bias, &test),
        evaluate_ratings(&mean, &test),
    );
    assert_eq!(r_als.count, test.known.len());
    assert!(
        r_bias.rmse < r_mean.rmse,
        "bias {r_bias:?} vs mean {r_mean:?}"
    );
    assert!(
        r_als.rmse < r_bias.rmse - 0.05,
        "ALS {r_als:?} vs bias {r_bias:?}"
    );

    let opts = RankingOptions::default();
    let rated = train.user_items();
    let k_als = evaluate_ranking(&als, &rated, &test, &opts);
    let pop = Popularity::fit(&train, PopularityKind::MostRated);
    let k_pop = evaluate_ranking(&pop, &rated, &test, &opts);
    assert!(k_als.users > 100 && k_als.users == k_pop.users);
    assert!(
        k_als.ndcg > k_pop.ndcg,
        "ALS {k_als:?} vs popularity {k_pop:?}"
    );

    let implicit = ImplicitAls::new(ImplicitParams {
        factors: 8,
        iterations: 10,
        reg: 0.1,
        alpha: 5.0,
        seed: 1,
        ..ImplicitParams::default()
    });
    // Implicit signals: every training review counts once.
    let mut signals = Interactions::new();
    for r in &s.train {
        signals.push(&r.user, &r.item, 1.0).unwrap();
    }
    let imp = implicit.fit(&signals).unwrap();
    let signal_test = TestSet::from_ratings(&signals, &s.test);
    let k_imp = evaluate_ranking(&imp, &signals.user_items(), &signal_test, &opts);
    assert!(
        k_imp.ndcg > k_pop.ndcg,
        "implicit {k_imp:?} vs popularity {k_pop:?}"
    );

    eprintln!(
        "RMSE ALS {:.4} bias {:.4} mean {:.4}; NDCG@10 ALS {:.4} implicit {:.4} popularity {:.4}",
        r_als.rmse, r_bias.rmse, r_mean.rmse, k_als.ndcg, k_imp.ndcg, k_pop.ndcg
    );

    // Same seed: bit-identical factors, also with a single thread; another seed differs.
    let bits = |m: &Array2<f32>| m.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let again = Als::new(params).fit(&train).unwrap();
    assert_eq!(bits(&als.user_factors), bits(&again.user_factors));
    assert_eq!(bits(&als.item_factors), bits(&again.item_factors));
    assert_eq!(evaluate_ratings(&again, &test), r_als);
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| (Als::new(params).fit(&train), implicit.fit(&signals)));
    let (single, single_imp) = (one_thread.0.unwrap(), one_thread.1.unwrap());
    assert_eq!(bits(&als.user_factors), bits(&single.user_factors));
    assert_eq!(bits(&imp.item_factors), bits(&single_imp.item_factors));
    let other = Als::new(AlsParams { seed: 43, ..params })
        .fit(&train)
        .unwrap();
    assert_ne!(bits(&als.user_factors), bits(&other.user_factors));
}

#[test]
fn training_refuses_bad_input() {
    let mut t = Interactions::new();
    assert!(t.push("u", "i", f32::NAN).is_err());
    assert!(Als::default().fit(&t).is_err());
    t.push("u", "i", -1.0).unwrap();
    assert!(ImplicitAls::default().fit(&t).is_err(), "negative weight");
    let zero_rank = AlsParams {
        rank: 0,
        ..AlsParams::default()
    };
    assert!(Als::new(zero_rank).fit(&t).is_err());
    // reg = 0 with rank 2 and one rating: singular normal equations.
    let singular = AlsParams {
        rank: 2,
        reg: 0.0,
        ..AlsParams::default()
    };
    assert!(Als::new(singular).fit(&t).is_err());
}
