//! Seeded, deterministic train/test splits of native ratings.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::RecommendError;

/// One rating with native ids.
///
/// The ids are shared strings: copies of a rating (splits, samples, folds) and the
/// ratings of one user or item can share one allocation (`Arc::clone`), which keeps
/// millions of ratings small.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rating {
    /// Native user id.
    pub user: Arc<str>,
    /// Native item id.
    pub item: Arc<str>,
    /// Rating (stars) or weight.
    pub rating: f32,
    /// Seconds since the Unix epoch (UTC), if known; time splits need it.
    pub timestamp: Option<i64>,
}

/// How to split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SplitStrategy {
    /// Each rating goes to test when a seeded hash of its (user, item) pair falls
    /// below `test_fraction`: about that fraction of *all* ratings, independent of the
    /// input order, and repeated pairs (a user reviewing a place twice) always land on
    /// the same side (no leak of a pair into its own test).
    Random {
        /// Expected fraction of ratings in test, in `[0, 1]`.
        test_fraction: f64,
        /// Seed of the hash.
        seed: u64,
    },
    /// For each user with more than `min_train` ratings, the
    /// `round(test_fraction · n)` ratings first in a seeded hash order (capped so that
    /// `min_train` stay) go to test; users with `n ≤ min_train` stay in train whole.
    PerUser {
        /// Fraction of each user's ratings in test, in `[0, 1]`.
        test_fraction: f64,
        /// Seed of the hash.
        seed: u64,
        /// Ratings each user keeps in training.
        min_train: usize,
    },
    /// Train: ratings with `timestamp < cutoff`; test: the rest (see
    /// [`latest_months_cutoff`]). Every rating needs a timestamp.
    Time {
        /// Cutoff, seconds since the epoch.
        cutoff: i64,
    },
}

/// The two sides of a split, each in input order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Split {
    /// Training ratings.
    pub train: Vec<Rating>,
    /// Held-out ratings.
    pub test: Vec<Rating>,
}

/// Splits `ratings` by `strategy`; the same input and strategy give the same split.
///
/// ```
/// use reviewlake_ml::recommend::{Rating, SplitStrategy, split};
///
/// let ratings: Vec<Rating> = (0..1000)
///     .map(|i| Rating { user: format!("u{}", i % 50).into(), item: format!("i{i}").into(),
///                       rating: 4.0, timestamp: Some(i) })
///     .collect();
/// let s = split(&ratings, &SplitStrategy::Random { test_fraction: 0.2, seed: 7 })?;
/// assert_eq!(s.train.len() + s.test.len(), 1000);
/// assert!((150..250).contains(&s.test.len()));
/// let t = split(&ratings, &SplitStrategy::Time { cutoff: 900 })?;
/// assert_eq!(t.test.len(), 100);
/// # Ok::<(), reviewlake_ml::recommend::RecommendError>(())
/// ```
pub fn split(ratings: &[Rating], strategy: &SplitStrategy) -> Result<Split, RecommendError> {
    let check = |f: f64| {
        if (0.0..=1.0).contains(&f) {
            Ok(())
        } else {
            Err(RecommendError::InvalidParam {
                name: "test_fraction",
                message: format!("must be within [0, 1], got {f}"),
            })
        }
    };
    let in_test: Vec<bool> = match *strategy {
        SplitStrategy::Random {
            test_fraction,
            seed,
        } => {
            check(test_fraction)?;
            ratings
                .iter()
                .map(|r| unit(pair_hash(seed, &r.user, &r.item)) < test_fraction)
                .collect()
        }
        SplitStrategy::PerUser {
            test_fraction,
            seed,
            min_train,
        } => {
            check(test_fraction)?;
            let mut by_user: HashMap<&str, Vec<usize>> = HashMap::new();
            for (i, r) in ratings.iter().enumerate() {
                by_user.entry(&r.user).or_default().push(i);
            }
            let mut flags = vec![false; ratings.len()];
            for (user, mut idx) in by_user {
                let n = idx.len();
                if n <= min_train {
                    continue;
                }
                let hold = ((test_fraction * n as f64).round() as usize).min(n - min_train);
                idx.sort_by_key(|&i| (pair_hash(seed, user, &ratings[i].item), i));
                for &i in &idx[..hold] {
                    flags[i] = true;
                }
            }
            flags
        }
        SplitStrategy::Time { cutoff } => ratings
            .iter()
            .enumerate()
            .map(|(index, r)| match r.timestamp {
                Some(t) => Ok(t >= cutoff),
                None => Err(RecommendError::MissingTimestamp {
                    index,
                    user: r.user.to_string(),
                }),
            })
            .collect::<Result<_, _>>()?,
    };
    let mut out = Split::default();
    for (r, t) in ratings.iter().zip(in_test) {
        if t {
            out.test.push(r.clone());
        } else {
            out.train.push(r.clone());
        }
    }
    Ok(out)
}

/// Every rating of a seeded sample of users: a user is kept when a hash of their id
/// (and `seed`) falls below `fraction`, so about that fraction of the users (and, on
/// average, of the ratings) stays, each with their whole history. The same input,
/// fraction and seed give the same sample; `fraction ≥ 1` keeps everything.
///
/// ```
/// use reviewlake_ml::recommend::{Rating, sample_users};
///
/// let ratings: Vec<Rating> = (0..10_000)
///     .map(|i| Rating { user: format!("u{}", i % 1000).into(), item: format!("i{i}").into(),
///                       rating: 4.0, timestamp: None })
///     .collect();
/// let s = sample_users(&ratings, 0.1, 7);
/// assert!((500..1500).contains(&s.len()));
/// // Whole histories: every kept user keeps their 10 ratings.
/// assert_eq!(s.len() % 10, 0);
/// assert_eq!(sample_users(&ratings, 1.0, 7).len(), 10_000);
/// ```
pub fn sample_users(ratings: &[Rating], fraction: f64, seed: u64) -> Vec<Rating> {
    if fraction >= 1.0 {
        return ratings.to_vec();
    }
    ratings
        .iter()
        .filter(|r| unit(pair_hash(seed ^ 0x5eed_05e5, &r.user, "")) < fraction)
        .cloned()
        .collect()
}

/// The cutoff that puts the latest `months` calendar months in test: the latest
/// timestamp minus `months` months (UTC; day clamped to the month's end), or `None`
/// without timestamps.
pub fn latest_months_cutoff(ratings: &[Rating], months: u32) -> Option<i64> {
    let latest = ratings.iter().filter_map(|r| r.timestamp).max()?;
    let t = chrono::DateTime::from_timestamp(latest, 0)?;
    Some(
        t.checked_sub_months(chrono::Months::new(months))?
            .timestamp(),
    )
}

/// FNV-1a over `user`, a separator and `item`, then a SplitMix64 finaliser mixed with
/// the seed: stable across platforms and releases (a split must not change when a
/// standard-library hasher does).
fn pair_hash(seed: u64, user: &str, item: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in user.bytes().chain([0xff]).chain(item.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    seeded_mix(h, seed)
}

/// `h` mixed with `seed` by the SplitMix64 finaliser: the stable hash of splits and
/// samples.
pub(crate) fn seeded_mix(h: u64, seed: u64) -> u64 {
    let mut z = h ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A hash as a number in `[0, 1)`.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}
