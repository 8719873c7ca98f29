//! Top-n selection: the evaluation traits, a bounded heap, blocked factor scoring.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, s};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::data::UserItems;
use super::pool::{CandidatePool, filtered_batch};

/// An item index with its score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// Item index.
    pub item: u32,
    /// Score (higher is better).
    pub score: f32,
}

/// A model that predicts ratings for known (user, item) indices.
pub trait RatingPredictor: Sync {
    /// The predicted rating of `item` by `user` (both indices of the training set).
    fn predict_index(&self, user: u32, item: u32) -> f32;
}

/// A model that ranks items for a known user.
pub trait Ranker: Sync {
    /// The `n` best items for `user`, best first (ties: lower item index first), never
    /// an item of `exclude` (sorted, distinct item indices). Fewer than `n` when fewer
    /// candidates exist.
    fn top_n(&self, user: u32, n: usize, exclude: &[u32]) -> Vec<Scored> {
        self.top_n_where(user, n, exclude, &|_| true)
    }

    /// [`Ranker::top_n`] among the items for which `keep` holds.
    fn top_n_where(
        &self,
        user: u32,
        n: usize,
        exclude: &[u32],
        keep: &(dyn Fn(u32) -> bool + Sync),
    ) -> Vec<Scored>;

    /// [`Ranker::top_n`] for every user of `users` (in that order), excluding each
    /// user's items of `exclude`; parallel over users.
    fn top_n_batch(&self, users: &[u32], n: usize, exclude: &UserItems) -> Vec<Vec<Scored>> {
        users
            .par_iter()
            .map(|&u| self.top_n(u, n, exclude.of(u)))
            .collect()
    }

    /// [`Ranker::top_n_batch`] among each user's items of `pool` only.
    fn top_n_batch_in(
        &self,
        users: &[u32],
        n: usize,
        exclude: &UserItems,
        pool: &CandidatePool,
    ) -> Vec<Vec<Scored>> {
        filtered_batch(self, users, n, exclude, pool)
    }
}

/// Heap entry ordered so that the heap's top is the *worst* kept candidate.
#[derive(Clone, Copy)]
struct Worst(Scored);

impl PartialEq for Worst {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Worst {
    fn cmp(&self, o: &Self) -> Ordering {
        // Greater = worse: lower score, then higher item index.
        o.0.score
            .total_cmp(&self.0.score)
            .then(self.0.item.cmp(&o.0.item))
    }
}

/// Keeps the `n` best of a stream of candidates in O(log n) per accepted candidate.
pub(crate) struct TopK {
    n: usize,
    heap: BinaryHeap<Worst>,
}

impl TopK {
    pub(crate) fn new(n: usize) -> TopK {
        TopK {
            n,
            heap: BinaryHeap::with_capacity(n + 1),
        }
    }

    /// The score a candidate must beat to enter (`-inf` until full).
    #[inline]
    pub(crate) fn threshold(&self) -> f32 {
        if self.heap.len() < self.n {
            f32::NEG_INFINITY
        } else {
            self.heap.peek().map_or(f32::INFINITY, |w| w.0.score)
        }
    }

    /// Offers a candidate; NaN and `-inf` scores are never kept.
    #[inline]
    pub(crate) fn push(&mut self, item: u32, score: f32) {
        if self.n == 0 || score.is_nan() || score == f32::NEG_INFINITY {
            return;
        }
        let cand = Worst(Scored { item, score });
        if self.heap.len() < self.n {
            self.heap.push(cand);
        } else if let Some(mut top) = self.heap.peek_mut()
            && cand < *top
        {
            *top = cand;
        }
    }

    /// The kept candidates, best first.
    pub(crate) fn into_sorted(self) -> Vec<Scored> {
        let mut v: Vec<Scored> = self.heap.into_iter().map(|w| w.0).collect();
        v.sort_by_key(|s| Worst(*s));
        v
    }
}

/// Users per block and items per block of the blocked scoring (a 128 × 2048 `f32`
/// score tile is 1 MiB, cache-resident).
const USER_BLOCK: usize = 128;
const ITEM_BLOCK: usize = 2048;
/// Scores tested at once for a candidate.
const SCAN: usize = 64;

/// The `n` best items of each user of `users` by `user_factors[u] · item_factors[i]`,
/// excluding `exclude.of(u)` and items failing `keep`. Scores are computed a tile at a
/// time (users × items, one matrix product per tile on `matrixmultiply`), in parallel
/// over user blocks; results are in the order of `users`.
pub(crate) fn top_n_by_factors(
    user_factors: ArrayView2<'_, f32>,
    item_factors: ArrayView2<'_, f32>,
    users: &[u32],
    n: usize,
    exclude: &UserItems,
    keep: Option<&(dyn Fn(u32) -> bool + Sync)>,
) -> Vec<Vec<Scored>> {
    let k = item_factors.ncols();
    let n_items = item_factors.nrows();
    let blocks: Vec<Vec<Vec<Scored>>> = users
        .par_chunks(USER_BLOCK)
        .map(|block| {
            let mut ub = Array2::<f32>::zeros((block.len(), k));
            for (row, &u) in block.iter().enumerate() {
                ub.row_mut(row).assign(&user_factors.row(u as usize));
            }
            let mut heaps: Vec<TopK> = block.iter().map(|_| TopK::new(n)).collect();
            let mut cursors = vec![0usize; block.len()];
            let mut tile = vec![0f32; block.len() * ITEM_BLOCK.min(n_items)];
            let mut start = 0;
            while start < n_items {
                let end = (start + ITEM_BLOCK).min(n_items);
                let width = end - start;
                let vb = item_factors.slice(s![start..end, ..]);
                let tile = &mut tile[..block.len() * width];
                if let Ok(mut t) = ArrayViewMut2::from_shape((block.len(), width), &mut *tile) {
                    ndarray::linalg::general_mat_mul(1.0, &ub, &vb.t(), 0.0, &mut t);
                }
                for (row, (&u, scores)) in
                    block.iter().zip(tile.chunks_exact_mut(width)).enumerate()
                {
                    // Excluded items of this tile: -inf never enters a heap.
                    let ex = exclude.of(u);
                    let c = &mut cursors[row];
                    while *c < ex.len() && (ex[*c] as usize) < end {
                        let i = ex[*c] as usize;
                        if i >= start {
                            scores[i - start] = f32::NEG_INFINITY;
                        }
                        *c += 1;
                    }
                    let heap = &mut heaps[row];
                    let mut thr = heap.threshold();
                    for (c, chunk) in scores.chunks(SCAN).enumerate() {
                        // Once the heap is full most chunks hold no candidate: test a
                        // whole chunk with a vectorisable OR before looking closer.
                        if !chunk.iter().fold(false, |any, &sc| any | (sc > thr)) {
                            continue;
                        }
                        for (j, &sc) in chunk.iter().enumerate() {
                            // Items arrive in increasing index order, so an equal score
                            // would rank after the kept one: strict `>` is the tie rule.
                            if sc > thr {
                                let item = (start + c * SCAN + j) as u32;
                                if keep.is_none_or(|f| f(item)) {
                                    heap.push(item, sc);
                                    thr = heap.threshold();
                                }
                            }
                        }
                    }
                }
                start = end;
            }
            heaps.into_iter().map(TopK::into_sorted).collect()
        })
        .collect();
    blocks.into_iter().flatten().collect()
}

/// Users gathered at once by [`top_n_in_items`] (bounds the copy of their factors).
const GATHER_USERS: usize = 65_536;

/// The `n` best of `items` (sorted, distinct item indices) for each of `users`, by
/// `user_factors[u] · item_factors[i]`, never an item of `exclude(u)` (sorted item
/// indices); results in the order of `users`, as item indices of `item_factors`.
///
/// The rows of `items` are gathered into one matrix and the users' rows into another,
/// so [`top_n_by_factors`] scores `users × items`, not the whole catalogue; ties still
/// go to the lower item index (`items` is sorted).
pub(crate) fn top_n_in_items<X: AsRef<[u32]>>(
    user_factors: ArrayView2<'_, f32>,
    item_factors: ArrayView2<'_, f32>,
    items: &[u32],
    users: impl Iterator<Item = u32>,
    n: usize,
    exclude: impl Fn(u32) -> X,
) -> Vec<Vec<Scored>> {
    let rows: Vec<usize> = items.iter().map(|&i| i as usize).collect();
    let pool = item_factors.select(Axis(0), &rows);
    let users: Vec<u32> = users.collect();
    let mut out = Vec::with_capacity(users.len());
    for chunk in users.chunks(GATHER_USERS) {
        let rows: Vec<usize> = chunk.iter().map(|&u| u as usize).collect();
        let uf = user_factors.select(Axis(0), &rows);
        // Each user's excluded items, as positions in `items`.
        let local = UserItems::from_sorted_rows(chunk.iter().map(|&u| {
            exclude(u)
                .as_ref()
                .iter()
                .filter_map(|i| items.binary_search(i).ok().map(|p| p as u32))
                .collect::<Vec<u32>>()
        }));
        let positions: Vec<u32> = (0..chunk.len() as u32).collect();
        let lists = top_n_by_factors(uf.view(), pool.view(), &positions, n, &local, None);
        out.extend(lists.into_iter().map(|l| {
            l.into_iter()
                .map(|s| Scored {
                    item: items[s.item as usize],
                    score: s.score,
                })
                .collect::<Vec<_>>()
        }));
    }
    out
}
