//! Baselines in the same evaluation API as the factor models: the global mean, user +
//! item biases, popularity (overall and within a group such as a state).

use rayon::prelude::*;

use super::coldstart::bayesian_average;
use super::data::Interactions;
use super::ids::IdMap;
use super::topn::{Ranker, RatingPredictor, Scored};

/// Predicts the training mean for every pair (a rating baseline only).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GlobalMean {
    /// The mean training rating.
    pub mean: f32,
}

impl GlobalMean {
    /// The mean of `train`.
    pub fn fit(train: &Interactions) -> GlobalMean {
        GlobalMean {
            mean: train.mean() as f32,
        }
    }
}

impl RatingPredictor for GlobalMean {
    fn predict_index(&self, _user: u32, _item: u32) -> f32 {
        self.mean
    }
}

/// Regularisation of [`BiasBaseline`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BiasParams {
    /// λ of the user biases.
    pub reg_user: f64,
    /// λ of the item biases.
    pub reg_item: f64,
    /// Alternating passes (items, then users).
    pub iterations: usize,
}

impl Default for BiasParams {
    /// λ_user = 10, λ_item = 25 (Koren's baseline predictors, 2010), 5 passes.
    fn default() -> BiasParams {
        BiasParams {
            reg_user: 10.0,
            reg_item: 25.0,
            iterations: 5,
        }
    }
}

/// `r̂ = μ + b_u + b_i`, fitted by alternating exact minimisation of
/// `Σ (r − μ − b_u − b_i)² + λ_u Σ b_u² + λ_i Σ b_i²`:
/// `b_i = Σ_u (r − μ − b_u) / (λ_i + n_i)`, then `b_u = Σ_i (r − μ − b_i) / (λ_u + n_u)`.
/// Ranks items by `b_i` (the user bias does not change a user's order).
#[derive(Debug, Clone, PartialEq)]
pub struct BiasBaseline {
    /// μ, the training mean.
    pub mean: f32,
    /// `b_u` by user index.
    pub user_bias: Vec<f32>,
    /// `b_i` by item index.
    pub item_bias: Vec<f32>,
    order: Vec<u32>,
}

impl BiasBaseline {
    /// Fits on `train`.
    pub fn fit(train: &Interactions, params: BiasParams) -> BiasBaseline {
        let mu = train.mean();
        let mut bu = vec![0f64; train.users().len()];
        let mut bi = vec![0f64; train.items().len()];
        let mut sum = vec![0f64; 0];
        let mut cnt = vec![0f64; 0];
        for _ in 0..params.iterations {
            sum.clear();
            sum.resize(bi.len(), 0.0);
            cnt.clear();
            cnt.resize(bi.len(), 0.0);
            for t in train.triples() {
                sum[t.item as usize] += f64::from(t.value) - mu - bu[t.user as usize];
                cnt[t.item as usize] += 1.0;
            }
            for (b, (s, c)) in bi.iter_mut().zip(sum.iter().zip(&cnt)) {
                *b = s / (params.reg_item + c);
            }
            sum.clear();
            sum.resize(bu.len(), 0.0);
            cnt.clear();
            cnt.resize(bu.len(), 0.0);
            for t in train.triples() {
                sum[t.user as usize] += f64::from(t.value) - mu - bi[t.item as usize];
                cnt[t.user as usize] += 1.0;
            }
            for (b, (s, c)) in bu.iter_mut().zip(sum.iter().zip(&cnt)) {
                // A user without ratings (impossible from `Interactions`) keeps 0.
                *b = if params.reg_user + c > 0.0 {
                    s / (params.reg_user + c)
                } else {
                    0.0
                };
            }
        }
        let item_bias: Vec<f32> = bi.iter().map(|&b| b as f32).collect();
        BiasBaseline {
            mean: mu as f32,
            user_bias: bu.iter().map(|&b| b as f32).collect(),
            order: order_by(&item_bias),
            item_bias,
        }
    }
}

impl RatingPredictor for BiasBaseline {
    fn predict_index(&self, user: u32, item: u32) -> f32 {
        let bu = self.user_bias.get(user as usize).copied().unwrap_or(0.0);
        let bi = self.item_bias.get(item as usize).copied().unwrap_or(0.0);
        self.mean + bu + bi
    }
}

impl Ranker for BiasBaseline {
    fn top_n_where(
        &self,
        _user: u32,
        n: usize,
        exclude: &[u32],
        keep: &(dyn Fn(u32) -> bool + Sync),
    ) -> Vec<Scored> {
        walk(&self.order, &self.item_bias, n, exclude, keep)
    }
}

/// Items sorted by score, best first (ties: lower index first).
pub(crate) fn order_by(scores: &[f32]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..scores.len() as u32).collect();
    order.par_sort_by(|&a, &b| {
        scores[b as usize]
            .total_cmp(&scores[a as usize])
            .then(a.cmp(&b))
    });
    order
}

/// The first `n` items of `order` not in `exclude` (sorted) and passing `keep`.
pub(crate) fn walk(
    order: &[u32],
    scores: &[f32],
    n: usize,
    exclude: &[u32],
    keep: impl Fn(u32) -> bool,
) -> Vec<Scored> {
    order
        .iter()
        .copied()
        .filter(|i| exclude.binary_search(i).is_err() && keep(*i))
        .take(n)
        .map(|item| Scored {
            item,
            score: scores[item as usize],
        })
        .collect()
}

/// Group memberships (state, city, category, ...) of users or items, by index.
///
/// ```
/// use reviewlake_ml::recommend::{Groups, IdMap};
///
/// let mut items = IdMap::new();
/// items.get_or_insert("taco-pa");
/// items.get_or_insert("pho-ca");
/// let states = Groups::new(&items, [("taco-pa", "PA"), ("pho-ca", "CA"), ("gone", "NV")]);
/// let pa = states.group("PA").expect("known group");
/// assert!(states.has(0, pa) && !states.has(1, pa));
/// assert_eq!(states.unknown_ids(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Groups {
    names: IdMap,
    of: Vec<Vec<u32>>,
    unknown: usize,
}

impl Groups {
    /// Memberships from `(native id, group name)` pairs for the entities of `ids`; an
    /// entity may be in several groups; pairs with an id not in `ids` are counted
    /// ([`Groups::unknown_ids`]) and ignored.
    pub fn new<'a>(ids: &IdMap, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Groups {
        let mut g = Groups {
            of: vec![Vec::new(); ids.len()],
            ..Groups::default()
        };
        for (id, group) in pairs {
            let Some(e) = ids.index(id) else {
                g.unknown += 1;
                continue;
            };
            let gi = g.names.get_or_insert(group);
            let list = &mut g.of[e as usize];
            if !list.contains(&gi) {
                list.push(gi);
            }
        }
        g
    }

    /// The index of group `name`.
    pub fn group(&self, name: &str) -> Option<u32> {
        self.names.index(name)
    }

    /// The group names.
    pub fn names(&self) -> &IdMap {
        &self.names
    }

    /// The groups of entity `e` (empty if none or out of range).
    pub fn of(&self, e: u32) -> &[u32] {
        self.of.get(e as usize).map_or(&[], Vec::as_slice)
    }

    /// Whether entity `e` is in group `g`.
    pub fn has(&self, e: u32, g: u32) -> bool {
        self.of(e).contains(&g)
    }

    /// Pairs whose id was unknown.
    pub fn unknown_ids(&self) -> usize {
        self.unknown
    }
}

/// What "popular" means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PopularityKind {
    /// Most training ratings.
    MostRated,
    /// Highest Bayesian-average rating: `(m·μ + Σr) / (m + n)` with the global mean μ
    /// as prior and `prior_weight` = m pseudo-ratings.
    BestRated {
        /// Pseudo-ratings of the prior.
        prior_weight: f64,
    },
}

/// Recommends the same popular items to everyone — or, with groups, the popular items
/// of the user's group first (e.g. the user's state), then the popular items overall.
#[derive(Debug, Clone, PartialEq)]
pub struct Popularity {
    /// The kind of popularity.
    pub kind: PopularityKind,
    /// Score by item index (count, or Bayesian average).
    pub scores: Vec<f32>,
    order: Vec<u32>,
    groups: Option<GroupOrders>,
}

#[derive(Debug, Clone, PartialEq)]
struct GroupOrders {
    items: Groups,
    users: Groups,
    /// Item group of each user group (matched by name), if any item is in it.
    item_group_of: Vec<Option<u32>>,
    /// Items of each item group, best first.
    order: Vec<Vec<u32>>,
}

impl Popularity {
    /// Overall popularity in `train`.
    pub fn fit(train: &Interactions, kind: PopularityKind) -> Popularity {
        let n_items = train.items().len();
        let mut count = vec![0f64; n_items];
        let mut sum = vec![0f64; n_items];
        for t in train.triples() {
            count[t.item as usize] += 1.0;
            sum[t.item as usize] += f64::from(t.value);
        }
        let mu = train.mean();
        let scores: Vec<f32> = match kind {
            PopularityKind::MostRated => count.iter().map(|&c| c as f32).collect(),
            PopularityKind::BestRated { prior_weight } => sum
                .iter()
                .zip(&count)
                .map(|(&s, &c)| bayesian_average(s, c, mu, prior_weight) as f32)
                .collect(),
        };
        Popularity {
            kind,
            order: order_by(&scores),
            scores,
            groups: None,
        }
    }

    /// Popularity within groups: `item_groups` over `train.items()`, `user_groups` over
    /// `train.users()` (a user's first group is theirs; groups match by name).
    pub fn fit_by_group(
        train: &Interactions,
        kind: PopularityKind,
        item_groups: Groups,
        user_groups: Groups,
    ) -> Popularity {
        let mut p = Popularity::fit(train, kind);
        let mut order = vec![Vec::new(); item_groups.names().len()];
        for &i in &p.order {
            for &g in item_groups.of(i) {
                order[g as usize].push(i);
            }
        }
        let item_group_of = user_groups
            .names()
            .iter()
            .map(|name| item_groups.group(name))
            .collect();
        p.groups = Some(GroupOrders {
            items: item_groups,
            users: user_groups,
            item_group_of,
            order,
        });
        p
    }
}

impl Ranker for Popularity {
    fn top_n_where(
        &self,
        user: u32,
        n: usize,
        exclude: &[u32],
        keep: &(dyn Fn(u32) -> bool + Sync),
    ) -> Vec<Scored> {
        let Some(g) = &self.groups else {
            return walk(&self.order, &self.scores, n, exclude, keep);
        };
        let group = g
            .users
            .of(user)
            .first()
            .and_then(|&ug| g.item_group_of[ug as usize]);
        let Some(group) = group else {
            return walk(&self.order, &self.scores, n, exclude, keep);
        };
        let mut out = walk(&g.order[group as usize], &self.scores, n, exclude, keep);
        if out.len() < n {
            let rest = walk(&self.order, &self.scores, n - out.len(), exclude, |i| {
                !g.items.has(i, group) && keep(i)
            });
            out.extend(rest);
        }
        out
    }
}
