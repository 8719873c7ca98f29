//! Cold start: popular, well-rated items for users the model cannot serve (unknown, or
//! with fewer than `min_ratings` training items), optionally within a group.

use serde::{Deserialize, Serialize};

use super::RecommendError;
use super::baseline::{Groups, order_by, walk};
use super::data::Interactions;
use super::model::FactorModel;
use super::topn::{Ranker, Scored};

/// `(prior_weight · prior_mean + sum) / (prior_weight + count)`: the mean of `count`
/// ratings summing to `sum`, shrunk towards `prior_mean` as if `prior_weight` more
/// ratings equal to it had been given (IMDb's weighted rating).
///
/// ```
/// use reviewlake_ml::recommend::bayesian_average;
/// // One 5-star review does not beat forty 4.6-star reviews.
/// let one = bayesian_average(5.0, 1.0, 3.8, 10.0);
/// let many = bayesian_average(4.6 * 40.0, 40.0, 3.8, 10.0);
/// assert!(one < many);
/// assert_eq!(bayesian_average(0.0, 0.0, 3.8, 10.0), 3.8);
/// ```
pub fn bayesian_average(sum: f64, count: f64, prior_mean: f64, prior_weight: f64) -> f64 {
    if prior_weight + count <= 0.0 {
        return prior_mean;
    }
    (prior_weight * prior_mean + sum) / (prior_weight + count)
}

/// When a user is cold, and how the fallback ranks items.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ColdStartParams {
    /// Users with fewer distinct training items than this get the fallback.
    pub min_ratings: usize,
    /// Pseudo-ratings at the global mean in the Bayesian average.
    pub prior_weight: f64,
}

impl Default for ColdStartParams {
    /// Fewer than 3 training items is cold; a prior of 10 ratings.
    fn default() -> ColdStartParams {
        ColdStartParams {
            min_ratings: 3,
            prior_weight: 10.0,
        }
    }
}

/// The fallback ranking: items by Bayesian-average rating over the training set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColdStart {
    /// Its parameters.
    pub params: ColdStartParams,
    /// The prior: the training mean.
    pub prior_mean: f64,
    /// Bayesian-average score by item index.
    pub scores: Vec<f32>,
    order: Vec<u32>,
}

impl ColdStart {
    /// Scores every item of `train`.
    pub fn fit(train: &Interactions, params: ColdStartParams) -> ColdStart {
        let n = train.items().len();
        let mut sum = vec![0f64; n];
        let mut count = vec![0f64; n];
        for t in train.triples() {
            sum[t.item as usize] += f64::from(t.value);
            count[t.item as usize] += 1.0;
        }
        let prior_mean = train.mean();
        let scores: Vec<f32> = sum
            .iter()
            .zip(&count)
            .map(|(&s, &c)| bayesian_average(s, c, prior_mean, params.prior_weight) as f32)
            .collect();
        ColdStart {
            params,
            prior_mean,
            order: order_by(&scores),
            scores,
        }
    }

    /// The `n` best items not in `exclude` (sorted) for which `keep` holds.
    pub fn top_n(&self, n: usize, exclude: &[u32], keep: &dyn Fn(u32) -> bool) -> Vec<Scored> {
        walk(&self.order, &self.scores, n, exclude, keep)
    }
}

/// A recommended item by native id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendedItem {
    /// Native item id.
    pub item: String,
    /// Model score (factor model) or Bayesian-average rating (cold start).
    pub score: f32,
}

/// Recommendations for one user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Native user id.
    pub user: String,
    /// Best first.
    pub items: Vec<RecommendedItem>,
    /// True if these come from the cold-start fallback, not the factor model.
    pub cold_start: bool,
}

/// Up to `n` recommendations for `user`: from `model` if the user has at least
/// `cold.params.min_ratings` distinct training items, else from the cold-start
/// ranking (flagged `cold_start`). Items the user had in training are excluded either
/// way. With `group = Some((groups, name))` (e.g. item states and `"PA"`), only items
/// of that group are returned (none if the group is unknown).
///
/// `model` and `cold` must come from the same training set (same item indices).
pub fn recommend_for_user(
    model: &FactorModel,
    cold: &ColdStart,
    user: &str,
    n: usize,
    group: Option<(&Groups, &str)>,
) -> Result<Recommendation, RecommendError> {
    if cold.scores.len() != model.items.len() {
        return Err(RecommendError::Shape(format!(
            "cold-start scores for {} items, model with {} items",
            cold.scores.len(),
            model.items.len()
        )));
    }
    let filter: Option<(&Groups, Option<u32>)> = group.map(|(g, name)| (g, g.group(name)));
    let keep = |i: u32| match filter {
        None => true,
        Some((g, Some(gi))) => g.has(i, gi),
        Some((_, None)) => false,
    };
    let u = model.users.index(user);
    let rated = u.map_or(&[][..], |u| model.rated.of(u));
    let warm = u.filter(|_| rated.len() >= cold.params.min_ratings);
    let (items, cold_start) = match warm {
        Some(u) if filter.is_none() => (model.top_n(u, n, rated), false),
        Some(u) => (model.top_n_filtered(u, n, rated, &keep), false),
        None => (cold.top_n(n, rated, &keep), true),
    };
    Ok(Recommendation {
        user: user.to_string(),
        items: model.named(items),
        cold_start,
    })
}

/// One business as the catalogue's cold-start ranking sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CatalogItem<K> {
    /// What the caller gets back for it (a key, an index).
    pub id: K,
    /// `business_key`: ties rank the lower one first.
    pub business_key: i64,
    /// The platform's rating (`None`: not ranked).
    pub rating: Option<f64>,
    /// The platform's review count (the rating's weight; `None` counts 0).
    pub review_count: Option<i64>,
    /// Whether it is open (`Some(false)`: not ranked).
    pub is_open: Option<bool>,
}

/// The cold-start ranking of a catalogue: open businesses with a platform rating, by the
/// Bayesian average of that rating weighted by the platform's review count — the prior
/// is the count-weighted mean rating of those businesses (their plain mean when no count
/// is known) with `prior_weight` pseudo-reviews — best first, ties by lower
/// `business_key`. The `ml` stage writes it for cold users and the API serves unknown
/// users with it: one definition for both.
///
/// ```
/// use reviewlake_ml::recommend::{CatalogItem, catalog_cold_start};
/// let item = |id, business_key, rating, n, is_open| CatalogItem {
///     id, business_key, rating: Some(rating), review_count: Some(n), is_open,
/// };
/// let items = [
///     item("one 5-star review", 1, 5.0, 1, Some(true)),
///     item("4.8 over 500", 2, 4.8, 500, None),
///     item("3.0 over 1000", 3, 3.0, 1000, Some(true)),
///     item("closed", 4, 5.0, 900, Some(false)),
/// ];
/// // The prior (3.6, the count-weighted mean) pulls the single review down to 3.73.
/// let ranked = catalog_cold_start(items, 10.0);
/// let order: Vec<&str> = ranked.iter().map(|r| r.0).collect();
/// assert_eq!(order, ["4.8 over 500", "one 5-star review", "3.0 over 1000"]);
/// ```
pub fn catalog_cold_start<K: Copy>(
    items: impl IntoIterator<Item = CatalogItem<K>>,
    prior_weight: f64,
) -> Vec<(K, f64)> {
    let rated: Vec<(CatalogItem<K>, f64, f64)> = items
        .into_iter()
        .filter(|b| b.is_open != Some(false))
        .filter_map(|b| {
            let r = b.rating?;
            Some((b, r, b.review_count.unwrap_or(0).max(0) as f64))
        })
        .collect();
    let (sum, weight) = rated
        .iter()
        .fold((0.0, 0.0), |(s, c), (_, r, w)| (s + r * w, c + w));
    let prior = if weight > 0.0 {
        sum / weight
    } else if !rated.is_empty() {
        rated.iter().map(|(_, r, _)| r).sum::<f64>() / rated.len() as f64
    } else {
        0.0
    };
    let mut ranked: Vec<(K, i64, f64)> = rated
        .iter()
        .map(|(b, r, w)| {
            (
                b.id,
                b.business_key,
                bayesian_average(r * w, *w, prior, prior_weight),
            )
        })
        .collect();
    ranked.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.1.cmp(&b.1)));
    ranked.into_iter().map(|(k, _, s)| (k, s)).collect()
}
