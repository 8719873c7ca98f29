//! Serving (top-n, cold start, similar items, saved models), splits, metrics, baselines.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reviewlake_ml::recommend::{
    Als, AlsParams, BiasBaseline, BiasParams, CandidatePool, ColdStart, ColdStartParams,
    ExternalRanking, FactorModel, Groups, IdMap, Interactions, PoolSizes, Pooled, Popularity,
    PopularityKind, Ranker, RankingOptions, Rating, RatingPredictor, SplitStrategy, TestSet,
    evaluate_ranking, evaluate_ratings, latest_months_cutoff, ndcg_at_k, precision_at_k,
    recall_at_k, recommend_for_user, split,
};

/// 60 users × 40 items, random sparse ratings (seeded).
fn small_train(seed: u64) -> Interactions {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut t = Interactions::new();
    for u in 0..60 {
        for i in 0..40 {
            if rng.random_bool(0.2) || (u == 0 && i < 3) {
                let r = rng.random_range(1..=5) as f32;
                t.push(&format!("u{u}"), &format!("i{i}"), r).unwrap();
            }
        }
    }
    t
}

fn model(train: &Interactions) -> FactorModel {
    Als::new(AlsParams {
        rank: 3,
        iterations: 5,
        reg: 0.1,
        seed: 9,
    })
    .fit(train)
    .unwrap()
}

#[test]
fn recommendations_exclude_training_items_are_sorted_and_batch_matches_single() {
    let train = small_train(1);
    let m = model(&train);
    let all = m.recommend_all(7);
    assert_eq!(all.len(), train.users().len());
    let mut checked = 0;
    for (u, recs) in all.iter().enumerate() {
        let u = u as u32;
        let rated = m.rated.of(u);
        let candidates = train.items().len() - rated.len();
        assert_eq!(recs.len(), 7.min(candidates));
        for w in recs.windows(2) {
            assert!(
                w[0].score > w[1].score || (w[0].score == w[1].score && w[0].item < w[1].item),
                "user {u}: not sorted {w:?}"
            );
        }
        for r in recs {
            assert!(
                !m.rated.contains(u, r.item),
                "user {u} got training item {}",
                r.item
            );
            let want = m.predict_index(u, r.item);
            assert!((r.score - want).abs() < 1e-5);
        }
        // The blocked batch path and the single-user path agree.
        let single = m.top_n(u, 7, rated);
        assert_eq!(
            single.iter().map(|s| s.item).collect::<Vec<_>>(),
            recs.iter().map(|s| s.item).collect::<Vec<_>>(),
            "user {u}"
        );
        // Nothing better was left out: the 7th best beats every other candidate.
        if let Some(last) = recs.last() {
            for i in 0..train.items().len() as u32 {
                if !m.rated.contains(u, i) && !recs.iter().any(|r| r.item == i) {
                    assert!(m.predict_index(u, i) <= last.score + 1e-6);
                }
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 60);
    // By native id: same as by index.
    let named = m.recommend("u0", 7).unwrap();
    let idx: Vec<&str> = all[0].iter().map(|s| m.items.id(s.item).unwrap()).collect();
    assert_eq!(
        named.iter().map(|r| r.item.as_str()).collect::<Vec<_>>(),
        idx
    );
    assert!(m.recommend("nobody", 7).is_none());
}

#[test]
fn cold_start_users_are_flagged_and_groups_filter() {
    let mut train = small_train(2);
    // "few" has one rating: below min_ratings = 3.
    train.push("few", "i5", 4.0).unwrap();
    let m = model(&train);
    let cold = ColdStart::fit(&train, ColdStartParams::default());
    let unknown = recommend_for_user(&m, &cold, "stranger", 5, None).unwrap();
    assert!(unknown.cold_start);
    assert_eq!(unknown.items.len(), 5);
    for w in unknown.items.windows(2) {
        assert!(w[0].score >= w[1].score);
    }
    let few = recommend_for_user(&m, &cold, "few", 5, None).unwrap();
    assert!(few.cold_start);
    assert!(
        few.items.iter().all(|r| r.item != "i5"),
        "rated item excluded"
    );
    let warm = recommend_for_user(&m, &cold, "u0", 5, None).unwrap();
    assert!(!warm.cold_start);
    assert_eq!(
        warm.items,
        m.recommend("u0", 5).unwrap(),
        "warm users get the factor model"
    );

    // Items i0..i9 are in PA, the others in CA.
    let ids: Vec<String> = train.items().iter().map(str::to_string).collect();
    let states: Vec<(&str, &str)> = ids
        .iter()
        .map(|i| {
            let n: usize = i[1..].parse().unwrap();
            (i.as_str(), if n < 10 { "PA" } else { "CA" })
        })
        .collect();
    let groups = Groups::new(train.items(), states.iter().copied());
    let in_pa = |item: &str| item[1..].parse::<usize>().unwrap() < 10;
    for user in ["stranger", "few", "u0"] {
        let r = recommend_for_user(&m, &cold, user, 4, Some((&groups, "PA"))).unwrap();
        assert!(!r.items.is_empty());
        assert!(r.items.iter().all(|x| in_pa(&x.item)), "{user}: {r:?}");
    }
    let none = recommend_for_user(&m, &cold, "stranger", 4, Some((&groups, "ZZ"))).unwrap();
    assert!(none.items.is_empty());

    // The cold ranking is the Bayesian average: recompute one item's score.
    let (mut sum, mut n) = (0.0f64, 0.0f64);
    for t in train.triples().iter().filter(|t| t.item == 0) {
        sum += f64::from(t.value);
        n += 1.0;
    }
    let want = (10.0 * train.mean() + sum) / (10.0 + n);
    assert!((f64::from(cold.scores[0]) - want).abs() < 1e-5);
}

#[test]
fn ids_round_trip_and_saved_model_predicts_the_same() {
    let train = small_train(3);
    for (i, id) in train.users().iter().enumerate() {
        assert_eq!(train.users().index(id), Some(i as u32));
        assert_eq!(train.users().id(i as u32), Some(id));
    }
    let json = serde_json::to_string(train.items()).unwrap();
    let back: IdMap = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, train.items());

    let m = model(&train);
    let bytes = m.to_json().unwrap();
    let loaded = FactorModel::from_json(&bytes).unwrap();
    assert_eq!(loaded, m);
    for u in train.users().iter() {
        for i in train.items().iter() {
            assert_eq!(
                loaded.predict(u, i).map(f32::to_bits),
                m.predict(u, i).map(f32::to_bits)
            );
        }
        assert_eq!(loaded.recommend(u, 5), m.recommend(u, 5));
    }
    assert_eq!(loaded.predict("u1", "nope"), None);
    assert_eq!(loaded.predict_or_mean("u1", "nope"), m.global_mean);

    // A model whose id map does not match its factors is refused.
    let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    v["users"].as_array_mut().unwrap().push("extra".into());
    assert!(FactorModel::from_json(v.to_string().as_bytes()).is_err());
}

#[test]
fn similar_items_by_cosine() {
    let train = small_train(4);
    let m = model(&train);
    let sims = m.similar_items_index(3, 5);
    assert_eq!(sims.len(), 5);
    let cos = |a: usize, b: usize| {
        let (x, y) = (m.item_factors.row(a), m.item_factors.row(b));
        x.dot(&y) / (x.dot(&x).sqrt() * y.dot(&y).sqrt())
    };
    let mut all: Vec<(f32, u32)> = (0..train.items().len())
        .filter(|&j| j != 3)
        .map(|j| (cos(3, j), j as u32))
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (s, (c, j)) in sims.iter().zip(&all) {
        assert_eq!(s.item, *j);
        assert!((s.score - c).abs() < 1e-5);
    }
    // The batch of every item gives each item's own list.
    let batch = m.similar_items_all(5);
    assert_eq!(batch.len(), train.items().len());
    for (i, list) in batch.iter().enumerate() {
        let one = m.similar_items_index(i as u32, 5);
        assert_eq!(list.len(), one.len());
        assert!(list.iter().all(|s| s.item != i as u32));
        for (a, b) in list.iter().zip(&one) {
            assert!((a.score - b.score).abs() < 1e-5, "item {i}: {a:?} vs {b:?}");
        }
    }
    let named = m.similar_items(m.items.id(3).unwrap(), 5).unwrap();
    assert_eq!(named.len(), 5);
    assert!(named.iter().all(|r| r.item != m.items.id(3).unwrap()));
}

fn rating(user: &str, item: &str, r: f32, t: i64) -> Rating {
    Rating {
        user: user.into(),
        item: item.into(),
        rating: r,
        timestamp: Some(t),
    }
}

#[test]
fn splits_are_seeded_order_independent_and_respect_their_rules() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut ratings: Vec<Rating> = (0..3000)
        .map(|n| {
            rating(
                &format!("u{}", rng.random_range(0..200)),
                &format!("i{}", rng.random_range(0..300)),
                rng.random_range(1..=5) as f32,
                1_600_000_000 + n * 3600,
            )
        })
        .collect();
    // A repeated pair must stay on one side.
    ratings.push(rating("u1", "i1", 5.0, 1_600_000_000));
    ratings.push(rating("u1", "i1", 3.0, 1_700_000_000));
    let random = SplitStrategy::Random {
        test_fraction: 0.25,
        seed: 3,
    };
    let a = split(&ratings, &random).unwrap();
    assert_eq!(a.train.len() + a.test.len(), ratings.len());
    let frac = a.test.len() as f64 / ratings.len() as f64;
    assert!((0.21..0.29).contains(&frac), "{frac}");
    let mut reversed = ratings.clone();
    reversed.reverse();
    let b = split(&reversed, &random).unwrap();
    let key = |v: &[Rating]| {
        let mut k: Vec<(std::sync::Arc<str>, std::sync::Arc<str>, i64)> = v
            .iter()
            .map(|r| (r.user.clone(), r.item.clone(), r.timestamp.unwrap()))
            .collect();
        k.sort();
        k
    };
    assert_eq!(key(&a.test), key(&b.test), "order-independent");
    let side = |s: &reviewlake_ml::recommend::Split| {
        s.test
            .iter()
            .filter(|r| &*r.user == "u1" && &*r.item == "i1")
            .count()
    };
    assert!(side(&a) == 0 || side(&a) == 2);
    let other = split(
        &ratings,
        &SplitStrategy::Random {
            test_fraction: 0.25,
            seed: 4,
        },
    )
    .unwrap();
    assert_ne!(key(&a.test), key(&other.test));

    let per_user = split(
        &ratings,
        &SplitStrategy::PerUser {
            test_fraction: 0.5,
            seed: 1,
            min_train: 4,
        },
    )
    .unwrap();
    let mut count = std::collections::HashMap::<&str, (usize, usize)>::new();
    for r in &per_user.train {
        count.entry(&r.user).or_default().0 += 1;
    }
    for r in &per_user.test {
        count.entry(&r.user).or_default().1 += 1;
    }
    for (u, (tr, te)) in count {
        let n = tr + te;
        if n <= 4 {
            assert_eq!(te, 0, "{u}");
        } else {
            assert_eq!(te, ((n as f64 * 0.5).round() as usize).min(n - 4), "{u}");
        }
    }

    let cutoff = latest_months_cutoff(&ratings, 2).unwrap();
    let latest = ratings.iter().filter_map(|r| r.timestamp).max().unwrap();
    assert!(
        (latest - cutoff - 61 * 86_400).abs() <= 3 * 86_400,
        "about two months"
    );
    let t = split(&ratings, &SplitStrategy::Time { cutoff }).unwrap();
    assert!(t.train.iter().all(|r| r.timestamp.unwrap() < cutoff));
    assert!(t.test.iter().all(|r| r.timestamp.unwrap() >= cutoff));
    assert!(!t.test.is_empty() && !t.train.is_empty());
    ratings[7].timestamp = None;
    assert!(split(&ratings, &SplitStrategy::Time { cutoff }).is_err());
}

#[test]
fn metrics_match_scikit_learn_reference_values() {
    // Reference values from scikit-learn 1.9.1:
    //   ndcg_score([truth], [scores], k=k)  for each case below;
    //   sqrt(mean_squared_error(y, p)), mean_absolute_error(y, p).
    let cases: [(&[u8], &[f64], usize, f64); 4] = [
        (
            &[0, 1, 0, 0, 1, 0, 0, 0],
            &[0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2],
            3,
            0.3868528072345415,
        ),
        (
            &[1, 0, 0, 0, 0, 0, 0, 1],
            &[0.1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3],
            5,
            0.0,
        ),
        (
            &[1, 1, 1, 0, 0, 0, 0, 0],
            &[0.3, 0.2, 0.1, 0.9, 0.8, 0.7, 0.6, 0.5],
            10,
            0.47162765245672067,
        ),
        (
            &[0, 0, 1, 1, 1, 1, 0, 0],
            &[0.95, 0.1, 0.9, 0.2, 0.85, 0.3, 0.8, 0.4],
            2,
            0.3868528072345415,
        ),
    ];
    for (truth, scores, k, want) in cases {
        let mut ranking: Vec<u32> = (0..scores.len() as u32).collect();
        ranking.sort_by(|&a, &b| scores[b as usize].total_cmp(&scores[a as usize]));
        let relevant: Vec<u32> = (0..truth.len() as u32)
            .filter(|&i| truth[i as usize] == 1)
            .collect();
        let got = ndcg_at_k(&ranking, &relevant, k);
        assert!((got - want).abs() < 1e-12, "k={k}: {got} vs {want}");
    }
    assert_eq!(precision_at_k(&[3, 1, 4, 1], &[1, 4], 10), 0.3);
    assert_eq!(recall_at_k(&[3, 1, 4], &[1, 4, 9, 10], 2), 0.25);

    // RMSE/MAE through the evaluation API: a predictor returning fixed values.
    struct Fixed(Vec<f32>);
    impl RatingPredictor for Fixed {
        fn predict_index(&self, _u: u32, item: u32) -> f32 {
            self.0[item as usize]
        }
    }
    let mut train = Interactions::new();
    let y = [4.0f32, 3.0, 5.0, 1.0, 2.5];
    for i in 0..5 {
        train.push("u", &format!("i{i}"), 3.0).unwrap();
    }
    let mut test = TestSet::new();
    for (i, r) in y.iter().enumerate() {
        test.push(&train, "u", &format!("i{i}"), *r);
    }
    test.push(&train, "v", "i0", 1.0);
    test.push(&train, "u", "new", 1.0);
    assert_eq!((test.unknown_user, test.unknown_item), (1, 1));
    let m = evaluate_ratings(&Fixed(vec![3.5, 3.2, 4.1, 2.0, 2.5]), &test);
    assert_eq!(m.count, 5);
    assert!((m.rmse - 0.6480740698407861).abs() < 1e-6, "{m:?}");
    assert!((m.mae - 0.5200000000000001).abs() < 1e-6, "{m:?}");
}

#[test]
fn ranking_evaluation_counts_the_right_positives() {
    let mut train = Interactions::new();
    for (u, i) in [("a", "x"), ("a", "y"), ("b", "x"), ("c", "z"), ("d", "w")] {
        train.push(u, i, 4.0).unwrap();
    }
    let mut test = TestSet::new();
    test.push(&train, "a", "z", 5.0); // positive
    test.push(&train, "a", "w", 3.0); // below threshold
    test.push(&train, "a", "x", 5.0); // already had in training: not a positive
    test.push(&train, "b", "y", 4.0); // positive
    test.push(&train, "b", "y", 5.0); // duplicate pair counts once
    test.push(&train, "c", "q", 5.0); // unknown item: skipped
    test.push(&train, "e", "x", 5.0); // unknown user: skipped
    let rows = [("a", "w"), ("a", "z"), ("b", "z"), ("b", "w"), ("c", "x")];
    let lists = ExternalRanking::from_rows(&train, rows.iter().copied());
    let m = evaluate_ranking(
        &lists,
        &train.user_items(),
        &test,
        &RankingOptions {
            k: 2,
            threshold: 4.0,
        },
    );
    assert_eq!((m.users, m.positives), (2, 2));
    // a: [w, z], z relevant at rank 2; b: [z, w], y missed.
    assert!((m.precision - (0.5 + 0.0) / 2.0).abs() < 1e-12);
    assert!((m.recall - (1.0 + 0.0) / 2.0).abs() < 1e-12);
    assert!((m.ndcg - (1.0 / 3f64.log2()) / 2.0).abs() < 1e-12);
}

#[test]
fn baselines_bias_and_popularity_by_group() {
    let mut train = Interactions::new();
    // Item "good" rated 5 by many, "bad" rated 1 by many, "mid" in between.
    for u in 0..30 {
        let user = format!("u{u}");
        train.push(&user, "good", 5.0).unwrap();
        train.push(&user, "bad", 1.0).unwrap();
        if u < 10 {
            train.push(&user, "mid", 3.0).unwrap();
        }
    }
    train.push("solo", "gem", 5.0).unwrap();
    let bias = BiasBaseline::fit(&train, BiasParams::default());
    let idx = |i: &str| train.items().index(i).unwrap();
    assert!(bias.item_bias[idx("good") as usize] > bias.item_bias[idx("mid") as usize]);
    assert!(bias.item_bias[idx("mid") as usize] > bias.item_bias[idx("bad") as usize]);
    // One 5-star rating is shrunk by λ_item = 25: less than "good".
    assert!(bias.item_bias[idx("gem") as usize] < bias.item_bias[idx("good") as usize]);
    let solo = train.users().index("solo").unwrap();
    let top = bias.top_n(solo, 2, train.user_items().of(solo));
    assert_eq!(top[0].item, idx("good"));

    let most = Popularity::fit(&train, PopularityKind::MostRated);
    let u0 = train.users().index("u0").unwrap();
    let ex = train.user_items();
    let got: Vec<u32> = most
        .top_n(solo, 4, ex.of(solo))
        .iter()
        .map(|s| s.item)
        .collect();
    assert_eq!(got, vec![idx("good"), idx("bad"), idx("mid")]);
    let best = Popularity::fit(&train, PopularityKind::BestRated { prior_weight: 5.0 });
    assert_eq!(best.top_n(solo, 1, ex.of(solo))[0].item, idx("good"));

    // Groups: "solo" lives in NV, where only "bad" is; the rest is in PA.
    let items = Groups::new(
        train.items(),
        [("good", "PA"), ("bad", "NV"), ("mid", "PA"), ("gem", "PA")],
    );
    let users = Groups::new(train.users(), [("solo", "NV"), ("u0", "PA")]);
    let by_state = Popularity::fit_by_group(&train, PopularityKind::MostRated, items, users);
    let got: Vec<u32> = by_state
        .top_n(solo, 2, ex.of(solo))
        .iter()
        .map(|s| s.item)
        .collect();
    assert_eq!(
        got,
        vec![idx("bad"), idx("good")],
        "own state first, then overall"
    );
    assert_eq!(
        by_state.top_n(u0, 3, ex.of(u0)).len(),
        1,
        "only gem is new to u0"
    );
}

#[test]
fn batch_top_n_matches_single_across_tiles() {
    // 300 users (3 user blocks) × 2500 items (2 item tiles).
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut train = Interactions::new();
    for i in 0..2500 {
        let u = i % 300;
        train
            .push(
                &format!("u{u}"),
                &format!("i{i}"),
                rng.random_range(1..=5) as f32,
            )
            .unwrap();
    }
    for _ in 0..3000 {
        let (u, i) = (rng.random_range(0..300), rng.random_range(0..2500));
        train
            .push(
                &format!("u{u}"),
                &format!("i{i}"),
                rng.random_range(1..=5) as f32,
            )
            .unwrap();
    }
    let m = model(&train);
    let all = m.recommend_all(12);
    assert_eq!(all.len(), 300);
    for (u, recs) in all.iter().enumerate() {
        let single = m.top_n(u as u32, 12, m.rated.of(u as u32));
        assert_eq!(recs.len(), 12);
        let a: Vec<u32> = recs.iter().map(|s| s.item).collect();
        let b: Vec<u32> = single.iter().map(|s| s.item).collect();
        assert_eq!(a, b, "user {u}");
        assert!(a.iter().all(|&i| !m.rated.contains(u as u32, i)));
    }
}

/// A pool over `train`: items and users in three groups by index, small sizes so that
/// most items are outside every pool.
fn small_pool(train: &Interactions, m: &FactorModel) -> CandidatePool {
    let items = train.items().len();
    CandidatePool::from_rated(
        &m.rated,
        items,
        (0..items as u32)
            .map(|i| (i % 4 != 3).then_some(i % 3))
            .collect(),
        (0..train.users().len() as u32)
            .map(|u| (u % 5 != 0).then_some(u % 3))
            .collect(),
        PoolSizes {
            global: 4,
            per_group: 3,
        },
    )
}

#[test]
fn pooled_rankings_hold_pool_items_only_and_the_gathered_path_matches_the_filter() {
    let train = small_train(7);
    let m = model(&train);
    let pool = small_pool(&train, &m);
    let users: Vec<u32> = (0..train.users().len() as u32).collect();
    let gathered = m.top_n_batch_in(&users, 5, &m.rated, &pool);
    let bias = BiasBaseline::fit(&train, BiasParams::default());
    let bias_lists = Pooled {
        inner: &bias,
        pool: &pool,
    }
    .top_n_batch(&users, 5, &m.rated);
    let mut nonempty = 0;
    for &u in &users {
        let allowed: Vec<u32> = pool
            .items_of(pool.user_group(u))
            .into_iter()
            .filter(|&i| !m.rated.contains(u, i))
            .collect();
        // The blocked, gathered path = the per-user filtered scan.
        let filtered = m.top_n_where(u, 5, m.rated.of(u), &|i| pool.admits(u, i));
        let a: Vec<u32> = gathered[u as usize].iter().map(|s| s.item).collect();
        let b: Vec<u32> = filtered.iter().map(|s| s.item).collect();
        assert_eq!(a, b, "user {u}");
        assert_eq!(a.len(), 5.min(allowed.len()), "user {u}");
        assert!(a.iter().all(|i| allowed.contains(i)), "user {u}: {a:?}");
        for s in &gathered[u as usize] {
            assert!((s.score - m.predict_index(u, s.item)).abs() < 1e-5);
        }
        // Baselines too: only pool items, the best of them by item bias.
        let c: Vec<u32> = bias_lists[u as usize].iter().map(|s| s.item).collect();
        assert!(c.iter().all(|i| allowed.contains(i)), "user {u}: {c:?}");
        assert_eq!(c.len(), a.len());
        nonempty += usize::from(!a.is_empty());
    }
    assert!(nonempty > 50);
    // Users of a group see more than the global items; those of none see only them.
    let global = pool.items_of(None);
    assert_eq!(global.len(), 4);
    assert!(pool.items_of(Some(1)).len() > global.len());
}

#[test]
fn pooled_similar_items_match_the_filtered_scan() {
    let train = small_train(8);
    let m = model(&train);
    let pool = small_pool(&train, &m);
    let pooled = m.similar_items_all_in(3, &pool);
    let full = m.similar_items_all(train.items().len());
    assert_eq!(pooled.len(), train.items().len());
    for (i, list) in pooled.iter().enumerate() {
        let allowed = pool.items_of(pool.item_group(i as u32));
        // The full list filtered to the pool, cut at 3.
        let want: Vec<u32> = full[i]
            .iter()
            .map(|s| s.item)
            .filter(|j| allowed.contains(j))
            .take(3)
            .collect();
        let got: Vec<u32> = list.iter().map(|s| s.item).collect();
        assert_eq!(got, want, "item {i}");
        assert!(!got.contains(&(i as u32)));
    }
}
