//! Evaluation by user segment: users split by their number of training ratings, every
//! candidate (models and baselines) scored on each segment's held-out pairs, and the
//! serving policy that picks, per segment, the candidate with the best NDCG@k.
//!
//! A review dump's users are mostly one-time reviewers; a model that wins on average
//! can lose badly on them (plain ALS on one-rating users), and a baseline that wins on
//! them can lose on the active few. The table says which is which.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::data::{Interactions, TestSet};
use super::metrics::{RankingOptions, ndcg_at_k, precision_at_k, recall_at_k};
use super::topn::{Ranker, RatingPredictor};

/// A user segment: users with `min..=max` training ratings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// `1`, `2-4`, `5-9` or `10+`.
    pub name: &'static str,
    /// Fewest training ratings.
    pub min: usize,
    /// Most training ratings.
    pub max: usize,
}

/// The segments, by number of training ratings: 1, 2-4, 5-9, 10+.
pub const SEGMENTS: [Segment; 4] = [
    Segment {
        name: "1",
        min: 1,
        max: 1,
    },
    Segment {
        name: "2-4",
        min: 2,
        max: 4,
    },
    Segment {
        name: "5-9",
        min: 5,
        max: 9,
    },
    Segment {
        name: "10+",
        min: 10,
        max: usize::MAX,
    },
];

/// The segment of a user with `ratings` training ratings (`None` for 0: a cold user).
pub fn segment_of(ratings: usize) -> Option<&'static str> {
    SEGMENTS
        .iter()
        .find(|s| (s.min..=s.max).contains(&ratings))
        .map(|s| s.name)
}

/// A candidate to evaluate: a name, and what it can do.
#[derive(Clone, Copy)]
pub struct Candidate<'a> {
    /// Its name in the table (`biased`, `bias_baseline`, `popularity`, ...).
    pub name: &'a str,
    /// Predicts ratings (RMSE), if it does.
    pub predictor: Option<&'a dyn RatingPredictor>,
    /// Ranks items (precision, recall, NDCG, hit rate, coverage), if it does.
    pub ranker: Option<&'a dyn Ranker>,
}

impl std::fmt::Debug for Candidate<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Candidate")
            .field("name", &self.name)
            .field("predictor", &self.predictor.is_some())
            .field("ranker", &self.ranker.is_some())
            .finish()
    }
}

/// One candidate on one segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentMetrics {
    /// Candidate name.
    pub candidate: String,
    /// Segment name.
    pub segment: String,
    /// Held-out pairs of the segment's users (user and item known in training).
    pub pairs: usize,
    /// RMSE over them (`None` for a candidate that does not predict ratings, or no pair).
    pub rmse: Option<f64>,
    /// Users with at least one held-out positive (ranking metrics are over them).
    pub ranking_users: usize,
    /// precision@k.
    pub precision: Option<f64>,
    /// recall@k.
    pub recall: Option<f64>,
    /// NDCG@k.
    pub ndcg: Option<f64>,
    /// Share of those users with at least one held-out positive in their top k.
    pub hit_rate: Option<f64>,
    /// Distinct recommended items / items in training.
    pub coverage: Option<f64>,
    /// Share of the recommended items that are among the 100 most rated in training.
    pub top100_share: Option<f64>,
}

/// Scores every candidate on every segment of `test` (pairs indexed against `train`).
/// Ranking metrics use `opts` (k, the rating threshold of a positive) and never count
/// a training item of the user.
pub fn evaluate_segments(
    candidates: &[Candidate<'_>],
    train: &Interactions,
    test: &TestSet,
    opts: &RankingOptions,
) -> Vec<SegmentMetrics> {
    let by_user = train.by_user();
    let train_items = train.user_items();
    let n_items = train.items().len();
    // The 100 most rated training items.
    let mut counts = vec![0usize; n_items];
    for t in train.triples() {
        counts[t.item as usize] += 1;
    }
    let mut order: Vec<u32> = (0..n_items as u32).collect();
    order.sort_by(|a, b| counts[*b as usize].cmp(&counts[*a as usize]).then(a.cmp(b)));
    let mut top100 = vec![false; n_items];
    for &i in order.iter().take(100) {
        top100[i as usize] = true;
    }
    let mut out = Vec::new();
    for seg in SEGMENTS {
        let known: Vec<_> = test
            .known
            .iter()
            .filter(|t| {
                let n = by_user.row(t.user as usize).0.len();
                (seg.min..=seg.max).contains(&n)
            })
            .copied()
            .collect();
        // Positives per user (sorted, distinct, never a training item).
        let mut pos: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for t in &known {
            if t.value >= opts.threshold && !train_items.contains(t.user, t.item) {
                pos.entry(t.user).or_default().push(t.item);
            }
        }
        for v in pos.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        let users: Vec<u32> = pos.keys().copied().collect();
        for c in candidates {
            let rmse = c.predictor.filter(|_| !known.is_empty()).map(|p| {
                let se: f64 = known
                    .iter()
                    .map(|t| {
                        let e = f64::from(p.predict_index(t.user, t.item)) - f64::from(t.value);
                        e * e
                    })
                    .sum();
                (se / known.len() as f64).sqrt()
            });
            let mut m = SegmentMetrics {
                candidate: c.name.to_string(),
                segment: seg.name.to_string(),
                pairs: known.len(),
                rmse,
                ranking_users: users.len(),
                precision: None,
                recall: None,
                ndcg: None,
                hit_rate: None,
                coverage: None,
                top100_share: None,
            };
            if let (Some(r), false) = (c.ranker, users.is_empty()) {
                let lists = r.top_n_batch(&users, opts.k, &train_items);
                let (mut p, mut rc, mut nd, mut hit) = (0.0, 0.0, 0.0, 0.0);
                let mut seen = vec![false; n_items];
                let (mut listed, mut popular) = (0usize, 0usize);
                for (u, list) in users.iter().zip(&lists) {
                    let items: Vec<u32> = list.iter().map(|s| s.item).collect();
                    let rel = &pos[u];
                    p += precision_at_k(&items, rel, opts.k);
                    rc += recall_at_k(&items, rel, opts.k);
                    nd += ndcg_at_k(&items, rel, opts.k);
                    if items.iter().any(|i| rel.binary_search(i).is_ok()) {
                        hit += 1.0;
                    }
                    for &i in &items {
                        if let Some(s) = seen.get_mut(i as usize) {
                            *s = true;
                        }
                        listed += 1;
                        if top100.get(i as usize).copied().unwrap_or(false) {
                            popular += 1;
                        }
                    }
                }
                let n = users.len() as f64;
                m.precision = Some(p / n);
                m.recall = Some(rc / n);
                m.ndcg = Some(nd / n);
                m.hit_rate = Some(hit / n);
                m.coverage =
                    Some(seen.iter().filter(|s| **s).count() as f64 / n_items.max(1) as f64);
                m.top100_share = (listed > 0).then(|| popular as f64 / listed as f64);
            }
            out.push(m);
        }
    }
    out
}

/// Fewest users with held-out positives a segment needs on the primary split before
/// its policy is chosen there (otherwise the fallback split decides).
pub const MIN_POLICY_USERS: usize = 30;

/// Candidates that win ties, in this order: with equal NDCG the simpler ranking serves.
const TIE_ORDER: [&str; 3] = ["popularity", "popularity_by_state", "bias_baseline"];

/// The serving policy: for each segment, the candidate with the best NDCG@k on
/// `primary` (the time split) when at least [`MIN_POLICY_USERS`] of its users have
/// held-out positives there, else on `fallback` (the random split). Ties go to the
/// baselines (popularity, then popularity by state, then the bias baseline), then to
/// the earlier candidate. Segments measured on neither split are absent. Returns, per
/// segment, the candidate and the split (`"primary"` or `"fallback"`) that chose it.
pub fn choose_policy(
    primary: &[SegmentMetrics],
    fallback: &[SegmentMetrics],
) -> BTreeMap<String, (String, &'static str)> {
    let mut out = BTreeMap::new();
    for seg in SEGMENTS {
        let rows = |all: &[SegmentMetrics]| -> Vec<SegmentMetrics> {
            all.iter()
                .filter(|r| r.segment == seg.name && r.ndcg.is_some_and(f64::is_finite))
                .cloned()
                .collect()
        };
        let p = rows(primary);
        let (candidates, which) = if p
            .first()
            .is_some_and(|r| r.ranking_users >= MIN_POLICY_USERS)
        {
            (p, "primary")
        } else {
            (rows(fallback), "fallback")
        };
        let rank = |name: &str| {
            TIE_ORDER
                .iter()
                .position(|t| *t == name)
                .unwrap_or(TIE_ORDER.len())
        };
        let best = candidates.iter().enumerate().max_by(|(i, a), (j, b)| {
            let (x, y) = (
                a.ndcg.unwrap_or(f64::NEG_INFINITY),
                b.ndcg.unwrap_or(f64::NEG_INFINITY),
            );
            x.total_cmp(&y)
                .then_with(|| rank(&b.candidate).cmp(&rank(&a.candidate)))
                .then_with(|| j.cmp(i))
        });
        if let Some((_, r)) = best {
            out.insert(seg.name.to_string(), (r.candidate.clone(), which));
        }
    }
    out
}

/// The naive candidates a serving policy must beat: popularity overall and by state, and
/// the bias baseline (the global mean does not rank).
pub const BASELINES: [&str; 3] = TIE_ORDER;

/// A serving policy's score on held-out data: per segment, the NDCG@k of the candidate
/// that serves it on the split that chose it, averaged over the segments weighted by
/// their users with held-out positives; and the same average for each baseline serving
/// every segment alone (same splits, same weights).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyScore {
    /// The policy's weighted NDCG@k.
    pub ndcg: f64,
    /// Users behind it (the weights' sum).
    pub users: usize,
    /// Each baseline's weighted NDCG@k over the same segments.
    pub baselines: BTreeMap<String, f64>,
}

impl PolicyScore {
    /// The best baseline's weighted NDCG@k (`None` without a measured baseline).
    pub fn best_baseline(&self) -> Option<f64> {
        self.baselines.values().copied().reduce(f64::max)
    }
}

/// Scores `policy` (from [`choose_policy`] over the same `primary` and `fallback`
/// tables). `None` when no segment of the policy has users with held-out positives.
pub fn policy_score(
    policy: &BTreeMap<String, (String, &'static str)>,
    primary: &[SegmentMetrics],
    fallback: &[SegmentMetrics],
) -> Option<PolicyScore> {
    let (mut sum, mut users) = (0.0, 0usize);
    let mut base: BTreeMap<String, f64> = BTreeMap::new();
    for (seg, (cand, which)) in policy {
        let rows = if *which == "primary" {
            primary
        } else {
            fallback
        };
        let ndcg = |name: &str| {
            rows.iter()
                .find(|r| r.segment == *seg && r.candidate == name)
                .and_then(|r| {
                    r.ndcg
                        .filter(|v| v.is_finite())
                        .map(|v| (v, r.ranking_users))
                })
        };
        let Some((v, n)) = ndcg(cand) else { continue };
        if n == 0 {
            continue;
        }
        sum += v * n as f64;
        users += n;
        for b in BASELINES {
            // A baseline that could not rank the segment scores 0 there.
            let bv = ndcg(b).map_or(0.0, |(x, _)| x);
            *base.entry(b.to_string()).or_default() += bv * n as f64;
        }
    }
    (users > 0).then(|| PolicyScore {
        ndcg: sum / users as f64,
        users,
        baselines: base
            .into_iter()
            .map(|(k, v)| (k, v / users as f64))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cand: &str, seg: &str, users: usize, ndcg: Option<f64>) -> SegmentMetrics {
        SegmentMetrics {
            candidate: cand.into(),
            segment: seg.into(),
            pairs: users * 2,
            rmse: None,
            ranking_users: users,
            precision: None,
            recall: None,
            ndcg,
            hit_rate: None,
            coverage: None,
            top100_share: None,
        }
    }

    #[test]
    fn the_policy_takes_the_best_ndcg_falls_back_on_thin_segments_and_ties_go_to_baselines() {
        let time = vec![
            row("biased", "1", 50, Some(0.10)),
            row("popularity", "1", 50, Some(0.08)),
            // Too few users on the time split: the random split decides.
            row("biased", "2-4", 5, Some(0.50)),
            row("popularity", "2-4", 5, Some(0.00)),
            // A tie: the baseline serves.
            row("biased", "5-9", 40, Some(0.0)),
            row("popularity_by_state", "5-9", 40, Some(0.0)),
        ];
        let random = vec![
            row("biased", "2-4", 300, Some(0.02)),
            row("popularity", "2-4", 300, Some(0.05)),
            row("global_mean", "10+", 30, None),
        ];
        let p = choose_policy(&time, &random);
        assert_eq!(p["1"], ("biased".to_string(), "primary"));
        assert_eq!(p["2-4"], ("popularity".to_string(), "fallback"));
        assert_eq!(p["5-9"], ("popularity_by_state".to_string(), "primary"));
        // No candidate with an NDCG: no policy for the segment.
        assert!(!p.contains_key("10+"));
        assert_eq!(segment_of(0), None);
        assert_eq!(segment_of(1), Some("1"));
        assert_eq!(segment_of(4), Some("2-4"));
        assert_eq!(segment_of(9), Some("5-9"));
        assert_eq!(segment_of(250), Some("10+"));

        // Scored over the segments it serves, weighted by users: "1" (biased 0.10, 50
        // users, popularity 0.08 there), "2-4" (popularity 0.05, 300 users, on the random
        // split) and "5-9" (0.0, 40 users).
        let s = policy_score(&p, &time, &random).unwrap();
        assert_eq!(s.users, 390);
        let want = (0.10 * 50.0 + 0.05 * 300.0) / 390.0;
        assert!((s.ndcg - want).abs() < 1e-12, "{s:?}");
        let pop = (0.08 * 50.0 + 0.05 * 300.0) / 390.0;
        assert!((s.baselines["popularity"] - pop).abs() < 1e-12, "{s:?}");
        // popularity_by_state is measured only on "5-9" (0.0): 0 elsewhere.
        assert_eq!(s.baselines["popularity_by_state"], 0.0);
        assert!((s.best_baseline().unwrap() - pop).abs() < 1e-12);
        assert!(s.ndcg > s.best_baseline().unwrap());
        // A policy of baselines only equals its best baseline: it does not beat it.
        let only_pop: BTreeMap<String, (String, &'static str)> =
            [("2-4".to_string(), ("popularity".to_string(), "fallback"))].into();
        let s = policy_score(&only_pop, &time, &random).unwrap();
        assert_eq!(s.ndcg, s.best_baseline().unwrap());
        assert!(policy_score(&BTreeMap::new(), &time, &random).is_none());
    }
}
