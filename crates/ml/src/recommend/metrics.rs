//! Evaluation: rating error and top-k ranking quality, with exact definitions.
//!
//! **Rating metrics** over the held-out pairs whose user and item are known in
//! training (the others are counted in [`TestSet`], as Spark's `coldStartStrategy =
//! "drop"`): `RMSE = sqrt(mean((r̂ − r)²))`, `MAE = mean(|r̂ − r|)`, accumulated in `f64`
//! (scikit-learn's `mean_squared_error` square-rooted and `mean_absolute_error`).
//!
//! **Ranking metrics at k** (binary relevance). For each user `u` known in training,
//! the relevant set `Pᵤ` is the distinct held-out items with rating `≥ threshold`
//! that are known in training and that `u` did not have in training (an item the user
//! already had can never be recommended to them). Users with empty `Pᵤ` are not
//! evaluated. The model ranks every item `u` did not have in training; `Rᵤ` is its top
//! `k` (possibly shorter). With `hits = |Rᵤ ∩ Pᵤ|`:
//!
//! - `precision@k = hits / k` (the denominator is `k` even when `Rᵤ` is shorter),
//! - `recall@k = hits / |Pᵤ|`,
//! - `NDCG@k = DCG / IDCG`, `DCG = Σ_{j=1..|Rᵤ|} [Rᵤ[j] ∈ Pᵤ] / log2(j + 1)`,
//!   `IDCG = Σ_{j=1..min(k, |Pᵤ|)} 1 / log2(j + 1)` (scikit-learn's `ndcg_score` with
//!   binary gains, no tie averaging since rankings here have no ties),
//!
//! each averaged over the evaluated users (macro average).

use std::collections::HashMap;

use super::data::{Interactions, TestSet, UserItems};
use super::topn::{Ranker, RatingPredictor, Scored};

/// RMSE and MAE over the known held-out pairs.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RatingMetrics {
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Pairs scored (NaN predictions excluded, none for the models here).
    pub count: usize,
}

/// Rating metrics of `model` on `test.known` (NaN when there is nothing to score).
pub fn evaluate_ratings<P: RatingPredictor + ?Sized>(model: &P, test: &TestSet) -> RatingMetrics {
    let mut se = 0.0f64;
    let mut ae = 0.0f64;
    let mut n = 0usize;
    for t in &test.known {
        let p = model.predict_index(t.user, t.item);
        if p.is_nan() {
            continue;
        }
        let e = f64::from(p) - f64::from(t.value);
        se += e * e;
        ae += e.abs();
        n += 1;
    }
    if n == 0 {
        return RatingMetrics {
            rmse: f64::NAN,
            mae: f64::NAN,
            count: 0,
        };
    }
    RatingMetrics {
        rmse: (se / n as f64).sqrt(),
        mae: ae / n as f64,
        count: n,
    }
}

/// What counts as relevant, and the cut-off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankingOptions {
    /// List length `k`.
    pub k: usize,
    /// A held-out rating `≥ threshold` is a positive.
    pub threshold: f32,
}

impl Default for RankingOptions {
    /// `k = 10`, positives are ratings ≥ 4.
    fn default() -> RankingOptions {
        RankingOptions {
            k: 10,
            threshold: 4.0,
        }
    }
}

/// Macro-averaged ranking metrics.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RankingMetrics {
    /// The `k` used.
    pub k: usize,
    /// Mean precision@k.
    pub precision: f64,
    /// Mean recall@k.
    pub recall: f64,
    /// Mean NDCG@k.
    pub ndcg: f64,
    /// Users evaluated (with at least one relevant held-out item).
    pub users: usize,
    /// Relevant (user, item) pairs over those users.
    pub positives: usize,
}

/// Ranking metrics of `model` (see the module docs): `train_items` are the items each
/// user had in training (excluded from the ranking and from the relevant sets).
pub fn evaluate_ranking<R: Ranker + ?Sized>(
    model: &R,
    train_items: &UserItems,
    test: &TestSet,
    opts: &RankingOptions,
) -> RankingMetrics {
    let mut pairs: Vec<(u32, u32)> = test
        .known
        .iter()
        .filter(|t| t.value >= opts.threshold && !train_items.contains(t.user, t.item))
        .map(|t| (t.user, t.item))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut users: Vec<u32> = Vec::new();
    let mut starts: Vec<usize> = Vec::new();
    for (j, &(u, _)) in pairs.iter().enumerate() {
        if users.last() != Some(&u) {
            users.push(u);
            starts.push(j);
        }
    }
    starts.push(pairs.len());
    let mut m = RankingMetrics {
        k: opts.k,
        users: users.len(),
        positives: pairs.len(),
        ..RankingMetrics::default()
    };
    if users.is_empty() {
        return m;
    }
    let recs = model.top_n_batch(&users, opts.k, train_items);
    let mut relevant: Vec<u32> = Vec::new();
    for (n, rec) in recs.iter().enumerate() {
        relevant.clear();
        relevant.extend(pairs[starts[n]..starts[n + 1]].iter().map(|p| p.1));
        let items: Vec<u32> = rec.iter().map(|s| s.item).collect();
        m.precision += precision_at_k(&items, &relevant, opts.k);
        m.recall += recall_at_k(&items, &relevant, opts.k);
        m.ndcg += ndcg_at_k(&items, &relevant, opts.k);
    }
    let u = users.len() as f64;
    m.precision /= u;
    m.recall /= u;
    m.ndcg /= u;
    m
}

fn hits(recommended: &[u32], relevant: &[u32], k: usize) -> usize {
    recommended
        .iter()
        .take(k)
        .filter(|i| relevant.binary_search(i).is_ok())
        .count()
}

/// `|top-k ∩ relevant| / k` (`relevant` sorted and distinct; 0 when `k = 0`).
///
/// ```
/// use reviewlake_ml::recommend::precision_at_k;
/// assert_eq!(precision_at_k(&[5, 1, 9], &[1, 2, 9], 4), 0.5);
/// ```
pub fn precision_at_k(recommended: &[u32], relevant: &[u32], k: usize) -> f64 {
    if k == 0 {
        return 0.0;
    }
    hits(recommended, relevant, k) as f64 / k as f64
}

/// `|top-k ∩ relevant| / |relevant|` (`relevant` sorted and distinct; 0 when empty).
///
/// ```
/// use reviewlake_ml::recommend::recall_at_k;
/// assert_eq!(recall_at_k(&[5, 1, 9], &[1, 2, 9, 11], 2), 0.25);
/// ```
pub fn recall_at_k(recommended: &[u32], relevant: &[u32], k: usize) -> f64 {
    if relevant.is_empty() {
        return 0.0;
    }
    hits(recommended, relevant, k) as f64 / relevant.len() as f64
}

/// Binary-relevance NDCG@k with the log2 discount (`relevant` sorted and distinct; 0
/// when empty).
///
/// ```
/// use reviewlake_ml::recommend::ndcg_at_k;
/// // One relevant item, ranked second: (1/log2 3) / (1/log2 2).
/// assert!((ndcg_at_k(&[7, 3], &[3], 10) - 1.0 / 3f64.log2()).abs() < 1e-12);
/// ```
pub fn ndcg_at_k(recommended: &[u32], relevant: &[u32], k: usize) -> f64 {
    if relevant.is_empty() || k == 0 {
        return 0.0;
    }
    let dcg: f64 = recommended
        .iter()
        .take(k)
        .enumerate()
        .filter(|(_, i)| relevant.binary_search(i).is_ok())
        .map(|(j, _)| 1.0 / ((j + 2) as f64).log2())
        .sum();
    let idcg: f64 = (0..k.min(relevant.len()))
        .map(|j| 1.0 / ((j + 2) as f64).log2())
        .sum();
    dcg / idcg
}

/// Ranked lists made elsewhere (another library's recommendations, read from a file),
/// as a [`Ranker`], so they are scored by exactly the same metric code.
#[derive(Debug, Clone, Default)]
pub struct ExternalRanking {
    lists: HashMap<u32, Vec<u32>>,
    unknown: usize,
}

impl ExternalRanking {
    /// Lists from `(user, item)` rows by native id, each user's rows in rank order
    /// (best first); rows whose user or item is unknown in `train` are counted
    /// ([`ExternalRanking::unknown_rows`]) and ignored.
    pub fn from_rows<'a>(
        train: &Interactions,
        rows: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> ExternalRanking {
        let mut r = ExternalRanking::default();
        for (u, i) in rows {
            match (train.users().index(u), train.items().index(i)) {
                (Some(u), Some(i)) => r.lists.entry(u).or_default().push(i),
                _ => r.unknown += 1,
            }
        }
        r
    }

    /// Rows ignored because their user or item was unknown.
    pub fn unknown_rows(&self) -> usize {
        self.unknown
    }
}

impl Ranker for ExternalRanking {
    /// The stored list without `exclude`d items, cut at `n`; scores are `-rank`.
    fn top_n_where(
        &self,
        user: u32,
        n: usize,
        exclude: &[u32],
        keep: &(dyn Fn(u32) -> bool + Sync),
    ) -> Vec<Scored> {
        self.lists
            .get(&user)
            .map(|l| {
                l.iter()
                    .filter(|i| exclude.binary_search(i).is_err() && keep(**i))
                    .take(n)
                    .enumerate()
                    .map(|(rank, &item)| Scored {
                        item,
                        score: -(rank as f32),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}
