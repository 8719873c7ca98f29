//! Indexed ratings: the training set, held-out sets, sparse row layouts.

use serde::{Deserialize, Serialize};

use super::RecommendError;
use super::ids::IdMap;
use super::split::{Rating, seeded_mix};

/// One observation with dense indices: a rating (explicit) or a weight (implicit).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Triple {
    /// User index (into [`Interactions::users`]).
    pub user: u32,
    /// Item index (into [`Interactions::items`]).
    pub item: u32,
    /// Rating or weight.
    pub value: f32,
}

/// A training set: the id maps it defines and its observations by index.
///
/// Duplicate (user, item) pairs are kept as separate observations (explicit ALS counts
/// each, as Spark does; implicit ALS sums their weights).
#[derive(Debug, Clone, Default)]
pub struct Interactions {
    users: IdMap,
    items: IdMap,
    triples: Vec<Triple>,
}

/// Refuses a value that is not finite, naming the pair.
fn check_value(user: &str, item: &str, value: f32) -> Result<(), RecommendError> {
    if value.is_finite() {
        return Ok(());
    }
    Err(RecommendError::InvalidValue {
        what: "rating",
        user: user.to_string(),
        item: item.to_string(),
        value: value.to_string(),
    })
}

impl Interactions {
    /// An empty set.
    pub fn new() -> Interactions {
        Interactions::default()
    }

    /// An empty set with room for `n` observations.
    pub fn with_capacity(n: usize) -> Interactions {
        Interactions {
            triples: Vec::with_capacity(n),
            ..Interactions::default()
        }
    }

    /// Adds one observation; refuses a value that is not finite.
    pub fn push(&mut self, user: &str, item: &str, value: f32) -> Result<(), RecommendError> {
        check_value(user, item, value)?;
        let user = self.users.get_or_insert(user);
        let item = self.items.get_or_insert(item);
        self.triples.push(Triple { user, item, value });
        Ok(())
    }

    /// A training set of native ratings (timestamps are not kept).
    pub fn from_ratings<'a>(
        ratings: impl IntoIterator<Item = &'a Rating>,
    ) -> Result<Interactions, RecommendError> {
        let mut out = Interactions::new();
        for r in ratings {
            check_value(&r.user, &r.item, r.rating)?;
            // The ratings' id allocations are shared, not copied.
            let user = out.users.get_or_insert_shared(&r.user);
            let item = out.items.get_or_insert_shared(&r.item);
            out.triples.push(Triple {
                user,
                item,
                value: r.rating,
            });
        }
        Ok(out)
    }

    /// The user ids (index order).
    pub fn users(&self) -> &IdMap {
        &self.users
    }

    /// The item ids (index order).
    pub fn items(&self) -> &IdMap {
        &self.items
    }

    /// The observations, in insertion order.
    pub fn triples(&self) -> &[Triple] {
        &self.triples
    }

    /// Number of observations.
    pub fn len(&self) -> usize {
        self.triples.len()
    }

    /// True without observations.
    pub fn is_empty(&self) -> bool {
        self.triples.is_empty()
    }

    /// Mean of the values (0 when empty), accumulated in `f64`.
    pub fn mean(&self) -> f64 {
        if self.triples.is_empty() {
            return 0.0;
        }
        self.triples.iter().map(|t| f64::from(t.value)).sum::<f64>() / self.triples.len() as f64
    }

    /// Observations by user (row = user, column = item), insertion order within a row.
    pub fn by_user(&self) -> SparseRows {
        SparseRows::from_triples(self.users.len(), self.items.len(), &self.triples, false)
    }

    /// Observations by item (row = item, column = user).
    pub fn by_item(&self) -> SparseRows {
        SparseRows::from_triples(self.items.len(), self.users.len(), &self.triples, true)
    }

    /// The distinct items of every user, sorted (what recommendations exclude).
    pub fn user_items(&self) -> UserItems {
        UserItems::from_rows(&self.by_user())
    }

    /// The same observations (same ids, indices and order) with every value mapped by
    /// `f`, for example ratings as implicit signals of 1. Refuses a mapped value that
    /// is not finite.
    ///
    /// ```
    /// use reviewlake_ml::recommend::Interactions;
    ///
    /// let mut r = Interactions::new();
    /// r.push("u", "a", 4.0)?;
    /// r.push("v", "a", 2.0)?;
    /// let ones = r.map_values(|_| 1.0)?;
    /// assert_eq!(ones.users(), r.users());
    /// assert_eq!(ones.mean(), 1.0);
    /// # Ok::<(), reviewlake_ml::recommend::RecommendError>(())
    /// ```
    pub fn map_values(&self, f: impl Fn(f32) -> f32) -> Result<Interactions, RecommendError> {
        let mut triples = Vec::with_capacity(self.triples.len());
        for t in &self.triples {
            let value = f(t.value);
            if !value.is_finite() {
                return Err(RecommendError::InvalidValue {
                    what: "rating",
                    user: self.users.id(t.user).unwrap_or_default().to_string(),
                    item: self.items.id(t.item).unwrap_or_default().to_string(),
                    value: value.to_string(),
                });
            }
            triples.push(Triple { value, ..*t });
        }
        Ok(Interactions {
            users: self.users.clone(),
            items: self.items.clone(),
            triples,
        })
    }
}

/// Held-out observations indexed against a training set. Pairs whose user or item is
/// unknown in training are not kept, only counted (as Spark's `coldStartStrategy=drop`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TestSet {
    /// Observations whose user and item are both known in training.
    pub known: Vec<Triple>,
    /// Observations skipped because the user is unknown in training.
    pub unknown_user: usize,
    /// Observations skipped because the user is known but the item is not.
    pub unknown_item: usize,
}

impl TestSet {
    /// An empty test set.
    pub fn new() -> TestSet {
        TestSet::default()
    }

    /// Indexes one held-out observation against `train`; returns whether it was kept.
    pub fn push(&mut self, train: &Interactions, user: &str, item: &str, value: f32) -> bool {
        let Some(u) = train.users.index(user) else {
            self.unknown_user += 1;
            return false;
        };
        let Some(i) = train.items.index(item) else {
            self.unknown_item += 1;
            return false;
        };
        self.known.push(Triple {
            user: u,
            item: i,
            value,
        });
        true
    }

    /// A test set of native ratings.
    pub fn from_ratings<'a>(
        train: &Interactions,
        ratings: impl IntoIterator<Item = &'a Rating>,
    ) -> TestSet {
        let mut t = TestSet::new();
        for r in ratings {
            t.push(train, &r.user, &r.item, r.rating);
        }
        t
    }

    /// Observations skipped (unknown user or item).
    pub fn skipped(&self) -> usize {
        self.unknown_user + self.unknown_item
    }

    /// The observations of at most `max_users` users, chosen by a seeded hash of their
    /// index (the same users for the same training set, `max_users` and seed); the
    /// whole set when it has no more users. Ranking metrics cost a full scoring of every
    /// evaluated user, so large held-out sets are evaluated on such a sample. The
    /// skipped counts are kept.
    ///
    /// ```
    /// use reviewlake_ml::recommend::{Interactions, TestSet};
    ///
    /// let mut train = Interactions::new();
    /// let mut test = TestSet::new();
    /// for u in 0..100 {
    ///     train.push(&format!("u{u}"), "a", 4.0)?;
    ///     train.push(&format!("u{u}"), "b", 3.0)?;
    ///     test.push(&train, &format!("u{u}"), "b", 5.0);
    /// }
    /// let s = test.sample_users(10, 1);
    /// assert_eq!(s.known.len(), 10);
    /// assert_eq!(s, test.sample_users(10, 1));
    /// assert_eq!(test.sample_users(1000, 1), test);
    /// # Ok::<(), reviewlake_ml::recommend::RecommendError>(())
    /// ```
    pub fn sample_users(&self, max_users: usize, seed: u64) -> TestSet {
        let mut users: Vec<u32> = self.known.iter().map(|t| t.user).collect();
        users.sort_unstable();
        users.dedup();
        if users.len() <= max_users {
            return self.clone();
        }
        users.sort_unstable_by_key(|&u| (seeded_mix(u64::from(u), seed), u));
        users.truncate(max_users);
        users.sort_unstable();
        TestSet {
            known: self
                .known
                .iter()
                .filter(|t| users.binary_search(&t.user).is_ok())
                .copied()
                .collect(),
            unknown_user: self.unknown_user,
            unknown_item: self.unknown_item,
        }
    }
}

/// A sparse matrix in compressed rows (CSR): row `r` holds columns
/// `indices[indptr[r]..indptr[r+1]]` with `values` alongside.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseRows {
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f32>,
    cols: usize,
}

impl SparseRows {
    /// Rows of `triples` (row = user, column = item; or the transpose), keeping the
    /// input order within each row (a stable counting sort, O(n)).
    ///
    /// # Panics
    /// If a triple's index is out of `rows`/`cols`.
    pub fn from_triples(rows: usize, cols: usize, triples: &[Triple], transpose: bool) -> Self {
        let key = |t: &Triple| {
            if transpose {
                (t.item as usize, t.user)
            } else {
                (t.user as usize, t.item)
            }
        };
        let mut indptr = vec![0usize; rows + 1];
        for t in triples {
            indptr[key(t).0 + 1] += 1;
        }
        for r in 0..rows {
            indptr[r + 1] += indptr[r];
        }
        let mut next = indptr.clone();
        let mut indices = vec![0u32; triples.len()];
        let mut values = vec![0f32; triples.len()];
        for t in triples {
            let (r, c) = key(t);
            assert!((c as usize) < cols, "column {c} out of {cols}");
            let at = next[r];
            indices[at] = c;
            values[at] = t.value;
            next[r] += 1;
        }
        SparseRows {
            indptr,
            indices,
            values,
            cols,
        }
    }

    /// Builds from raw CSR arrays, checking them.
    pub fn new(
        indptr: Vec<usize>,
        indices: Vec<u32>,
        values: Vec<f32>,
        cols: usize,
    ) -> Result<SparseRows, RecommendError> {
        let bad = |m: String| Err(RecommendError::Shape(m));
        if indptr.first() != Some(&0) || indptr.windows(2).any(|w| w[0] > w[1]) {
            return bad("indptr must start at 0 and not decrease".into());
        }
        let nnz = *indptr.last().unwrap_or(&0);
        if indices.len() != nnz || values.len() != nnz {
            return bad(format!(
                "indptr ends at {nnz}, {} indices, {} values",
                indices.len(),
                values.len()
            ));
        }
        if let Some(c) = indices.iter().find(|&&c| c as usize >= cols) {
            return bad(format!("column {c} out of {cols}"));
        }
        Ok(SparseRows {
            indptr,
            indices,
            values,
            cols,
        })
    }

    /// The same rows and columns with every value replaced by `f(column, value)`.
    pub fn map_values_by_column(&self, f: impl Fn(u32, f32) -> f32 + Sync) -> SparseRows {
        use rayon::prelude::*;
        let values = self
            .indices
            .par_iter()
            .zip(self.values.par_iter())
            .map(|(&c, &v)| f(c, v))
            .collect();
        SparseRows {
            indptr: self.indptr.clone(),
            indices: self.indices.clone(),
            values,
            cols: self.cols,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.indptr.len() - 1
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Columns and values of row `r`.
    pub fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[r], self.indptr[r + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }

    /// The same matrix with each row sorted by column and duplicate columns merged
    /// (values summed).
    pub fn merge_duplicates(&self) -> SparseRows {
        let mut indptr = Vec::with_capacity(self.indptr.len());
        let mut indices = Vec::with_capacity(self.nnz());
        let mut values = Vec::with_capacity(self.nnz());
        indptr.push(0);
        let mut pairs: Vec<(u32, f32)> = Vec::new();
        for r in 0..self.rows() {
            let (c, v) = self.row(r);
            pairs.clear();
            pairs.extend(c.iter().copied().zip(v.iter().copied()));
            pairs.sort_by_key(|p| p.0);
            for &(c, v) in &pairs {
                if indices.len() > indptr[r] && indices.last() == Some(&c) {
                    if let Some(last) = values.last_mut() {
                        *last += v;
                    }
                } else {
                    indices.push(c);
                    values.push(v);
                }
            }
            indptr.push(indices.len());
        }
        SparseRows {
            indptr,
            indices,
            values,
            cols: self.cols,
        }
    }

    /// The entries for which `keep(value)` holds (rows and order otherwise unchanged).
    pub fn filter(&self, keep: impl Fn(f32) -> bool) -> SparseRows {
        let mut indptr = Vec::with_capacity(self.indptr.len());
        let mut indices = Vec::with_capacity(self.nnz());
        let mut values = Vec::with_capacity(self.nnz());
        indptr.push(0);
        for r in 0..self.rows() {
            let (c, v) = self.row(r);
            for (&c, &v) in c.iter().zip(v) {
                if keep(v) {
                    indices.push(c);
                    values.push(v);
                }
            }
            indptr.push(indices.len());
        }
        SparseRows {
            indptr,
            indices,
            values,
            cols: self.cols,
        }
    }

    /// The same structure with every value replaced by `f(value)`.
    pub fn map_values(&self, f: impl Fn(f32) -> f32) -> SparseRows {
        SparseRows {
            values: self.values.iter().map(|&v| f(v)).collect(),
            ..self.clone()
        }
    }
}

/// The distinct items of each user, sorted: what a user already rated in training.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserItems {
    indptr: Vec<u64>,
    items: Vec<u32>,
}

impl UserItems {
    /// Row `i` holds `i` alone (every item excludes itself).
    pub(crate) fn diagonal(n: usize) -> UserItems {
        UserItems {
            indptr: (0..=n as u64).collect(),
            items: (0..n as u32).collect(),
        }
    }

    /// The distinct columns of each row of `rows`.
    pub fn from_rows(rows: &SparseRows) -> UserItems {
        let mut indptr = Vec::with_capacity(rows.rows() + 1);
        let mut items = Vec::with_capacity(rows.nnz());
        indptr.push(0);
        for r in 0..rows.rows() {
            let start = items.len();
            items.extend_from_slice(rows.row(r).0);
            items[start..].sort_unstable();
            let mut w = start;
            for k in start..items.len() {
                if w == start || items[w - 1] != items[k] {
                    items[w] = items[k];
                    w += 1;
                }
            }
            items.truncate(w);
            indptr.push(items.len() as u64);
        }
        UserItems { indptr, items }
    }

    /// Rows of already sorted, distinct items.
    pub(crate) fn from_sorted_rows<R: IntoIterator<Item = u32>>(
        rows: impl IntoIterator<Item = R>,
    ) -> UserItems {
        let mut indptr = vec![0u64];
        let mut items = Vec::new();
        for row in rows {
            items.extend(row);
            indptr.push(items.len() as u64);
        }
        UserItems { indptr, items }
    }

    /// Number of users.
    pub fn users(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    /// The sorted distinct items of `user` (empty if out of range).
    pub fn of(&self, user: u32) -> &[u32] {
        let u = user as usize;
        match (self.indptr.get(u), self.indptr.get(u + 1)) {
            (Some(&a), Some(&b)) => &self.items[a as usize..b as usize],
            _ => &[],
        }
    }

    /// Whether `user` has `item`.
    pub fn contains(&self, user: u32, item: u32) -> bool {
        self.of(user).binary_search(&item).is_ok()
    }
}
