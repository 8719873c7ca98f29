//! The trained factor model: serialisable, queried by native ids.

use std::collections::BTreeMap;

use ndarray::{Array1, Array2, ArrayView1};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::RecommendError;
use super::als::AlsParams;
use super::biased::BiasedParams;
use super::coldstart::RecommendedItem;
use super::data::{Interactions, UserItems};
use super::ids::IdMap;
use super::implicit::ImplicitParams;
use super::pool::{CandidatePool, filtered_batch};
use super::topn::{Ranker, RatingPredictor, Scored, TopK, top_n_by_factors, top_n_in_items};

/// Which algorithm trained a [`FactorModel`], with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ModelKind {
    /// Explicit ALS: scores are predicted ratings.
    Explicit(AlsParams),
    /// Implicit ALS: scores are preferences (about 0..1), not ratings.
    Implicit(ImplicitParams),
    /// Biased explicit ALS: scores are predicted ratings `μ + b_u + b_i + x·y`; the
    /// factor rows hold `rank` latent values, then the bias columns (see
    /// [`BiasedAls`](super::BiasedAls)).
    Biased(BiasedParams),
}

impl ModelKind {
    /// Whether scores are predicted ratings (explicit and biased models).
    pub fn predicts_ratings(&self) -> bool {
        !matches!(self, ModelKind::Implicit(_))
    }
}

/// A matrix-factorisation model: `score(u, i) = user_factors[u] · item_factors[i]`.
///
/// Everything needed to serve it is inside: parameters, factors, the native id maps,
/// the training mean, and the items each user had in training (excluded from their
/// recommendations). Serialise it with [`FactorModel::to_json`], load it with
/// [`FactorModel::from_json`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactorModel {
    /// Algorithm and parameters.
    pub kind: ModelKind,
    /// User ids; row `u` of `user_factors` is user `users.id(u)`.
    pub users: IdMap,
    /// Item ids; row `i` of `item_factors` is item `items.id(i)`.
    pub items: IdMap,
    /// Users × rank.
    pub user_factors: Array2<f32>,
    /// Items × rank.
    pub item_factors: Array2<f32>,
    /// Mean training value (the fallback rating for unknown users or items).
    pub global_mean: f32,
    /// Distinct training items of each user.
    pub rated: UserItems,
    /// Number of training observations.
    pub trained_on: usize,
}

impl FactorModel {
    pub(crate) fn from_training(
        kind: ModelKind,
        train: &Interactions,
        user_factors: Array2<f32>,
        item_factors: Array2<f32>,
    ) -> FactorModel {
        FactorModel {
            kind,
            users: train.users().clone(),
            items: train.items().clone(),
            user_factors,
            item_factors,
            global_mean: train.mean() as f32,
            rated: train.user_items(),
            trained_on: train.len(),
        }
    }

    /// A model with no user, no item and no factor: every user is unknown to it (what is
    /// served when no trained version may be).
    pub fn empty() -> FactorModel {
        FactorModel {
            kind: ModelKind::Explicit(AlsParams::default()),
            users: IdMap::default(),
            items: IdMap::default(),
            user_factors: Array2::zeros((0, 1)),
            item_factors: Array2::zeros((0, 1)),
            global_mean: 0.0,
            rated: UserItems::default(),
            trained_on: 0,
        }
    }

    /// Number of latent factors (without a biased model's two bias columns).
    pub fn rank(&self) -> usize {
        match self.kind {
            ModelKind::Biased(p) => p.rank.min(self.item_factors.ncols()),
            _ => self.item_factors.ncols(),
        }
    }

    /// The score of `item` for `user` (a predicted rating for explicit models), or
    /// `None` if either is unknown in training.
    pub fn predict(&self, user: &str, item: &str) -> Option<f32> {
        let u = self.users.index(user)?;
        let i = self.items.index(item)?;
        Some(self.predict_index(u, i))
    }

    /// [`FactorModel::predict`], or the training mean for an unknown user or item.
    pub fn predict_or_mean(&self, user: &str, item: &str) -> f32 {
        self.predict(user, item).unwrap_or(self.global_mean)
    }

    /// The `n` best items for a known `user` that they did not have in training, best
    /// first; `None` for an unknown user (see
    /// [`recommend_for_user`](super::recommend_for_user) for the cold-start fallback).
    pub fn recommend(&self, user: &str, n: usize) -> Option<Vec<RecommendedItem>> {
        let u = self.users.index(user)?;
        Some(self.named(self.top_n(u, n, self.rated.of(u))))
    }

    /// [`Ranker::top_n`] keeping only items for which `keep` holds.
    pub fn top_n_filtered(
        &self,
        user: u32,
        n: usize,
        exclude: &[u32],
        keep: &(dyn Fn(u32) -> bool + Sync),
    ) -> Vec<Scored> {
        let mut heap = TopK::new(n);
        let Some(x) = self.user_row(user) else {
            return Vec::new();
        };
        let scores = self.item_factors.dot(&x);
        let mut ex = exclude.iter().peekable();
        for (i, &s) in scores.iter().enumerate() {
            let i = i as u32;
            while ex.next_if(|&&e| e < i).is_some() {}
            if ex.next_if_eq(&&i).is_some() || !keep(i) {
                continue;
            }
            heap.push(i, s);
        }
        heap.into_sorted()
    }

    /// The `n` best new items of every training user (index `u` of the result is user
    /// `u`), by blocked matrix products in parallel over users.
    pub fn recommend_all(&self, n: usize) -> Vec<Vec<Scored>> {
        let users: Vec<u32> = (0..self.users.len() as u32).collect();
        self.top_n_batch(&users, n, &self.rated)
    }

    /// The `n` items most similar to `item` by cosine of item factors ("people who
    /// liked X also liked Y"), best first, `item` itself excluded; `None` if unknown.
    pub fn similar_items(&self, item: &str, n: usize) -> Option<Vec<RecommendedItem>> {
        let i = self.items.index(item)?;
        Some(self.named(self.similar_items_index(i, n)))
    }

    /// [`FactorModel::similar_items_index`] of every item (index `i` of the result is
    /// item `i`), by blocked matrix products of the unit-length latent factors in
    /// parallel: the similar-business table of a large catalogue in one pass.
    pub fn similar_items_all(&self, n: usize) -> Vec<Vec<Scored>> {
        let unit = self.unit_latent();
        let items: Vec<u32> = (0..unit.nrows() as u32).collect();
        top_n_by_factors(
            unit.view(),
            unit.view(),
            &items,
            n,
            &UserItems::diagonal(unit.nrows()),
            None,
        )
    }

    /// [`FactorModel::similar_items_all`] among pool items: the items similar to item
    /// `i` are taken from the pool of `i`'s group (its state's most reviewed places and
    /// the catalogue's), so the table costs `items × pool` products.
    pub fn similar_items_all_in(&self, n: usize, pool: &CandidatePool) -> Vec<Vec<Scored>> {
        let unit = self.unit_latent();
        let all: Vec<u32> = (0..unit.nrows() as u32).collect();
        let mut by_group: BTreeMap<Option<u32>, Vec<u32>> = BTreeMap::new();
        for &i in &all {
            by_group.entry(pool.item_group(i)).or_default().push(i);
        }
        let mut out = vec![Vec::new(); all.len()];
        for (group, members) in by_group {
            let items = pool.items_of(group);
            let lists = top_n_in_items(
                unit.view(),
                unit.view(),
                &items,
                members.iter().copied(),
                n,
                |i| [i],
            );
            for (i, l) in members.into_iter().zip(lists) {
                out[i as usize] = l;
            }
        }
        out
    }

    /// The latent item factors (no bias columns) scaled to unit length (an all-zero
    /// row stays zero).
    fn unit_latent(&self) -> Array2<f32> {
        let mut unit = self
            .item_factors
            .slice(ndarray::s![.., ..self.rank()])
            .to_owned();
        for mut row in unit.rows_mut() {
            let l = norm(row.view());
            if l > 0.0 {
                row.mapv_inplace(|x| x / l);
            }
        }
        unit
    }

    /// [`FactorModel::similar_items`] by index (empty if out of range). An item with an
    /// all-zero factor vector is similar to nothing (cosine taken as 0).
    pub fn similar_items_index(&self, item: u32, n: usize) -> Vec<Scored> {
        let Some(q) = self.item_row_checked(item) else {
            return Vec::new();
        };
        // Similar tastes: the latent columns only (a biased model's bias columns say
        // how liked an item is, not by whom).
        let latent = self.item_factors.slice(ndarray::s![.., ..self.rank()]);
        let q = q.slice(ndarray::s![..self.rank()]).to_owned();
        let qn = norm(q.view());
        let dots = latent.dot(&q);
        let cos: Vec<f32> = dots
            .as_slice()
            .unwrap_or_default()
            .par_iter()
            .enumerate()
            .map(|(j, &d)| {
                let jn = norm(latent.row(j));
                if qn > 0.0 && jn > 0.0 {
                    d / (qn * jn)
                } else {
                    0.0
                }
            })
            .collect();
        let mut heap = TopK::new(n);
        for (j, &c) in cos.iter().enumerate() {
            if j as u32 != item {
                heap.push(j as u32, c);
            }
        }
        heap.into_sorted()
    }

    /// The model as JSON bytes.
    pub fn to_json(&self) -> Result<Vec<u8>, RecommendError> {
        // Sized up front (about 12 bytes a factor, 24 an id): a large model's text is
        // gigabytes, and a vector grown by doubling would hold up to twice that.
        let factors = self.user_factors.len() + self.item_factors.len();
        let ids = self.users.len() + self.items.len();
        let mut out = Vec::with_capacity(factors * 12 + ids * 24 + 4096);
        serde_json::to_writer(&mut out, self)?;
        Ok(out)
    }

    /// A model from [`FactorModel::to_json`] bytes, checked for consistent shapes.
    pub fn from_json(bytes: &[u8]) -> Result<FactorModel, RecommendError> {
        let m: FactorModel = serde_json::from_slice(bytes)?;
        if m.user_factors.nrows() != m.users.len()
            || m.item_factors.nrows() != m.items.len()
            || m.user_factors.ncols() != m.item_factors.ncols()
            || m.rated.users() != m.users.len()
        {
            return Err(RecommendError::Shape(format!(
                "{} users, {} user factor rows, {} items, {} item factor rows, ranks {} and {}, \
                 {} users with training items",
                m.users.len(),
                m.user_factors.nrows(),
                m.items.len(),
                m.item_factors.nrows(),
                m.user_factors.ncols(),
                m.item_factors.ncols(),
                m.rated.users()
            )));
        }
        Ok(m)
    }

    /// Item indices to native ids.
    pub(crate) fn named(&self, v: Vec<Scored>) -> Vec<RecommendedItem> {
        v.into_iter()
            .map(|s| RecommendedItem {
                item: self.items.id(s.item).unwrap_or_default().to_string(),
                score: s.score,
            })
            .collect()
    }

    fn user_row(&self, u: u32) -> Option<ArrayView1<'_, f32>> {
        ((u as usize) < self.user_factors.nrows()).then(|| self.user_factors.row(u as usize))
    }

    fn item_row_checked(&self, i: u32) -> Option<Array1<f32>> {
        ((i as usize) < self.item_factors.nrows())
            .then(|| self.item_factors.row(i as usize).to_owned())
    }
}

fn norm(v: ArrayView1<'_, f32>) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

impl RatingPredictor for FactorModel {
    /// `user_factors[user] · item_factors[item]` (NaN if out of range).
    fn predict_index(&self, user: u32, item: u32) -> f32 {
        if (user as usize) >= self.user_factors.nrows()
            || (item as usize) >= self.item_factors.nrows()
        {
            return f32::NAN;
        }
        self.user_factors
            .row(user as usize)
            .dot(&self.item_factors.row(item as usize))
    }
}

impl Ranker for FactorModel {
    fn top_n_where(
        &self,
        user: u32,
        n: usize,
        exclude: &[u32],
        keep: &(dyn Fn(u32) -> bool + Sync),
    ) -> Vec<Scored> {
        self.top_n_filtered(user, n, exclude, keep)
    }

    /// Per group of users, the pool's item factors gathered into one matrix and scored
    /// by the blocked products of [`Ranker::top_n_batch`]: `users × pool` scores, not
    /// `users × catalogue`.
    fn top_n_batch_in(
        &self,
        users: &[u32],
        n: usize,
        exclude: &UserItems,
        pool: &CandidatePool,
    ) -> Vec<Vec<Scored>> {
        if users
            .iter()
            .any(|&u| (u as usize) >= self.user_factors.nrows())
        {
            // Rare (bad input): keep positions, unknown users get nothing.
            return filtered_batch(self, users, n, exclude, pool);
        }
        let mut out = vec![Vec::new(); users.len()];
        for (group, positions) in pool.group_users(users) {
            let items = pool.items_of(group);
            let lists = top_n_in_items(
                self.user_factors.view(),
                self.item_factors.view(),
                &items,
                positions.iter().map(|&p| users[p]),
                n,
                |u| exclude.of(u),
            );
            for (p, l) in positions.into_iter().zip(lists) {
                out[p] = l;
            }
        }
        out
    }

    fn top_n_batch(&self, users: &[u32], n: usize, exclude: &UserItems) -> Vec<Vec<Scored>> {
        let known: Vec<u32> = users
            .iter()
            .copied()
            .filter(|&u| (u as usize) < self.user_factors.nrows())
            .collect();
        if known.len() != users.len() {
            // Rare (bad input): keep positions, unknown users get nothing.
            return users
                .par_iter()
                .map(|&u| self.top_n(u, n, exclude.of(u)))
                .collect();
        }
        top_n_by_factors(
            self.user_factors.view(),
            self.item_factors.view(),
            users,
            n,
            exclude,
            None,
        )
    }
}
