//! Candidate pools: which items a ranking may put in front of a user.
//!
//! A catalogue of half a million places cannot be scored for every one of millions of
//! users (that is `users × items × rank` multiply-adds: hours at Yelp size), and most
//! of those scores are for places nobody near the user has heard of. A pool keeps, for
//! each user, the `global` most-reviewed items of the catalogue and the `per_group`
//! most-reviewed items of the user's group (their home state): a few thousand
//! candidates instead of the whole catalogue.
//!
//! The pool applies to every ranking alike: the held-out evaluation of every candidate
//! (through [`Pooled`]), the served lists and the similar-items table, so the measured
//! metrics are those of what is served.
//!
//! ```
//! use reviewlake_ml::recommend::{CandidatePool, PoolSizes};
//!
//! // Items 0..4 reviewed 5, 1, 3, 2 times; items 1 and 3 are in group 0, item 2 in
//! // group 1; user 0 lives in group 0, user 1 in no group.
//! let pool = CandidatePool::new(
//!     &[5, 1, 3, 2],
//!     vec![None, Some(0), Some(1), Some(0)],
//!     vec![Some(0), None],
//!     PoolSizes { global: 1, per_group: 1 },
//! );
//! assert_eq!(pool.items_of(Some(0)), vec![0, 3]); // the top item + group 0's top
//! assert_eq!(pool.items_of(None), vec![0]);
//! assert!(pool.admits(0, 3) && !pool.admits(1, 3) && !pool.admits(0, 1));
//! ```

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::data::UserItems;
use super::topn::{Ranker, Scored};

/// How many items a pool keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolSizes {
    /// The most-reviewed items of the whole catalogue, for everyone.
    pub global: usize,
    /// The most-reviewed items of each group (state), for the users of that group.
    pub per_group: usize,
}

impl Default for PoolSizes {
    /// 2,000 + 2,000: at Yelp size (560k places, 2M users) the top 2,000 places of a
    /// state hold most of its reviews.
    fn default() -> Self {
        PoolSizes {
            global: 2_000,
            per_group: 2_000,
        }
    }
}

/// The items each user's ranking may return (see the module documentation).
#[derive(Debug, Clone)]
pub struct CandidatePool {
    /// Per item: among the `global` most reviewed.
    global: Vec<bool>,
    /// Per item: among the `per_group` most reviewed of its own group.
    local: Vec<bool>,
    /// Per item: its group.
    item_group: Vec<Option<u32>>,
    /// Per user: their group.
    user_group: Vec<Option<u32>>,
}

impl CandidatePool {
    /// A pool over items with `counts[i]` reviews each (ties: the lower index first),
    /// item `i` in group `item_group[i]`, user `u` in group `user_group[u]`.
    pub fn new(
        counts: &[usize],
        item_group: Vec<Option<u32>>,
        user_group: Vec<Option<u32>>,
        sizes: PoolSizes,
    ) -> CandidatePool {
        let n = counts.len();
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
        let mut global = vec![false; n];
        for &i in order.iter().take(sizes.global) {
            global[i as usize] = true;
        }
        let mut local = vec![false; n];
        let mut taken: BTreeMap<u32, usize> = BTreeMap::new();
        for &i in &order {
            if let Some(g) = item_group.get(i as usize).copied().flatten() {
                let t = taken.entry(g).or_default();
                if *t < sizes.per_group {
                    *t += 1;
                    local[i as usize] = true;
                }
            }
        }
        CandidatePool {
            global,
            local,
            item_group,
            user_group,
        }
    }

    /// A pool over the items of `rated` (user → distinct items, the training data),
    /// counted by the number of users who rated them.
    pub fn from_rated(
        rated: &UserItems,
        items: usize,
        item_group: Vec<Option<u32>>,
        user_group: Vec<Option<u32>>,
        sizes: PoolSizes,
    ) -> CandidatePool {
        let mut counts = vec![0usize; items];
        for u in 0..rated.users() as u32 {
            for &i in rated.of(u) {
                if let Some(c) = counts.get_mut(i as usize) {
                    *c += 1;
                }
            }
        }
        CandidatePool::new(&counts, item_group, user_group, sizes)
    }

    /// Whether `item` may be ranked for `user`.
    #[inline]
    pub fn admits(&self, user: u32, item: u32) -> bool {
        let i = item as usize;
        if self.global.get(i).copied().unwrap_or(false) {
            return true;
        }
        self.local.get(i).copied().unwrap_or(false)
            && self
                .item_group(item)
                .is_some_and(|g| Some(g) == self.user_group(user))
    }

    /// The group of `user` (`None`: no group, the global items only).
    pub fn user_group(&self, user: u32) -> Option<u32> {
        self.user_group.get(user as usize).copied().flatten()
    }

    /// The group of `item`.
    pub fn item_group(&self, item: u32) -> Option<u32> {
        self.item_group.get(item as usize).copied().flatten()
    }

    /// The items a user of `group` may be shown, sorted.
    pub fn items_of(&self, group: Option<u32>) -> Vec<u32> {
        (0..self.global.len() as u32)
            .filter(|&i| {
                self.global[i as usize]
                    || (group.is_some() && self.local[i as usize] && self.item_group(i) == group)
            })
            .collect()
    }

    /// Positions of `users` grouped by their group (groups in order, `None` first).
    pub fn group_users(&self, users: &[u32]) -> BTreeMap<Option<u32>, Vec<usize>> {
        let mut out: BTreeMap<Option<u32>, Vec<usize>> = BTreeMap::new();
        for (p, &u) in users.iter().enumerate() {
            out.entry(self.user_group(u)).or_default().push(p);
        }
        out
    }
}

/// A ranker restricted to a pool: every list it returns holds pool items only.
#[derive(Clone, Copy)]
pub struct Pooled<'a> {
    /// The ranker.
    pub inner: &'a dyn Ranker,
    /// The pool (in the ranker's index space).
    pub pool: &'a CandidatePool,
}

impl Ranker for Pooled<'_> {
    fn top_n_where(
        &self,
        user: u32,
        n: usize,
        exclude: &[u32],
        keep: &(dyn Fn(u32) -> bool + Sync),
    ) -> Vec<Scored> {
        self.inner
            .top_n_where(user, n, exclude, &|i| self.pool.admits(user, i) && keep(i))
    }

    fn top_n_batch(&self, users: &[u32], n: usize, exclude: &UserItems) -> Vec<Vec<Scored>> {
        self.inner.top_n_batch_in(users, n, exclude, self.pool)
    }
}

/// [`Ranker::top_n_batch_in`]'s generic path: each user's list filtered by the pool.
pub(crate) fn filtered_batch(
    ranker: &(impl Ranker + ?Sized),
    users: &[u32],
    n: usize,
    exclude: &UserItems,
    pool: &CandidatePool,
) -> Vec<Vec<Scored>> {
    users
        .par_iter()
        .map(|&u| ranker.top_n_where(u, n, exclude.of(u), &|i| pool.admits(u, i)))
        .collect()
}
