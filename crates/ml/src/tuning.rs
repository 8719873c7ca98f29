//! Hyper-parameter search: grid and seeded random search over a [`SearchSpace`], each
//! candidate scored by cross-validation on caller-built [`Fold`]s.
//!
//! The API is generic over the model family: an *objective* closure receives one
//! candidate's parameters and one fold ([`TrialInput`]), fits on the fold's training
//! indices and returns the score on its validation indices. What the indices point at is
//! the caller's business — rows of a feature matrix (growth models), places (site
//! clustering), ratings (an ALS recommender) — so the fold construction is pluggable:
//!
//! - [`kfold`]: plain shuffled k-fold, for data without a time order;
//! - [`forward_chaining`]: expanding-window folds over label periods (train on every
//!   period before the validation period), for anything that forecasts;
//! - [`whole`]: one "fold" whose training and validation sets are all rows, for
//!   unsupervised scores such as a silhouette;
//! - or any `Vec<Fold>` the caller builds (per-user rating hold-outs, ...).
//!
//! Every candidate becomes one [`Trial`] row (family, parameters as JSON, fold scores,
//! mean, standard deviation, rank, duration) — a flat serde struct meant to be written to
//! `<lake>/models/trials`.
//!
//! **Determinism:** the candidate list depends only on the space, the search kind and its
//! seed; trials run in parallel (rayon) but their results are put back in candidate order;
//! the seed each objective call receives ([`TrialInput::seed`]) depends only on the study
//! seed and the fold index (the same for every candidate: common random numbers, so two
//! candidates differ by their parameters, not by their luck). Only `duration_ms` varies
//! between runs.
//!
//! ```
//! use reviewlake_ml::tuning::{self, Direction, Search, SearchSpace, Study};
//!
//! // Minimise (x - 3)^2 over a grid; the "folds" are irrelevant here.
//! let space = SearchSpace::new().ints("x", [1, 2, 3, 4]);
//! let study = Study::new("toy", "squared_error", Direction::Minimize, Search::Grid, 7);
//! let trials = tuning::run_study(&study, &space, &tuning::whole(10), |t| {
//!     let x = tuning::param_f64(t.params, "x")?;
//!     Ok((x - 3.0).powi(2))
//! })
//! .unwrap();
//! let best = tuning::best(&trials).unwrap();
//! assert_eq!(best.params_json, r#"{"x":3}"#);
//! assert_eq!(best.rank, 1);
//! ```

use std::collections::BTreeMap;
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Errors of the tuning API.
#[derive(Debug, thiserror::Error)]
pub enum TuningError {
    /// The search space has no dimension or a dimension with no value.
    #[error("empty search space: {0}")]
    EmptySpace(String),
    /// A dimension cannot be enumerated by a grid search (a continuous range).
    #[error("parameter {0} is continuous: a grid search needs a list of values")]
    ContinuousInGrid(String),
    /// A range with `low > high`, a non-finite bound or a non-positive log-uniform bound.
    #[error("invalid range for parameter {name}: {reason}")]
    InvalidRange {
        /// The parameter.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The grid would have more candidates than [`MAX_GRID`].
    #[error("grid of {0} candidates is larger than the limit of {MAX_GRID}")]
    GridTooLarge(u128),
    /// A random search of zero trials.
    #[error("a random search needs at least one trial")]
    NoTrials,
    /// The fold construction cannot satisfy the request (too few rows or periods).
    #[error("cannot build folds: {0}")]
    Folds(String),
    /// No fold was given to [`run_study`].
    #[error("no fold to evaluate on")]
    NoFolds,
    /// A parameter the objective asked for is missing or has the wrong type.
    #[error("parameter {name}: {reason}")]
    Param {
        /// The parameter.
        name: String,
        /// Missing, or the type found.
        reason: String,
    },
}

/// The error type an objective returns (any error; it is recorded in the trial's `error`).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Largest grid [`SearchSpace::grid`] expands.
pub const MAX_GRID: u128 = 100_000;

/// One hyper-parameter value. Serialised untagged: `3`, `0.5`, `"kmeans"`, `true`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// A boolean switch.
    Bool(bool),
    /// An integer (tree count, k, depth, ...).
    Int(i64),
    /// A real number (regularisation, ratio, eps, ...).
    Float(f64),
    /// A categorical choice (method name, ...).
    Text(String),
}

impl From<i64> for ParamValue {
    fn from(v: i64) -> Self {
        ParamValue::Int(v)
    }
}
impl From<f64> for ParamValue {
    fn from(v: f64) -> Self {
        ParamValue::Float(v)
    }
}
impl From<bool> for ParamValue {
    fn from(v: bool) -> Self {
        ParamValue::Bool(v)
    }
}
impl From<&str> for ParamValue {
    fn from(v: &str) -> Self {
        ParamValue::Text(v.to_string())
    }
}

/// One candidate: parameter name → value, in name order (so its JSON is canonical).
pub type Params = BTreeMap<String, ParamValue>;

/// A real-valued parameter (an integer is accepted and converted).
pub fn param_f64(params: &Params, name: &str) -> Result<f64, TuningError> {
    match params.get(name) {
        Some(ParamValue::Float(v)) => Ok(*v),
        Some(ParamValue::Int(v)) => Ok(*v as f64),
        Some(other) => Err(param_type(name, other)),
        None => Err(param_missing(name)),
    }
}

/// An integer parameter (a float with no fractional part is accepted).
pub fn param_i64(params: &Params, name: &str) -> Result<i64, TuningError> {
    match params.get(name) {
        Some(ParamValue::Int(v)) => Ok(*v),
        Some(ParamValue::Float(v)) if v.fract() == 0.0 && v.abs() < 9.0e15 => Ok(*v as i64),
        Some(other) => Err(param_type(name, other)),
        None => Err(param_missing(name)),
    }
}

/// A text parameter.
pub fn param_str<'a>(params: &'a Params, name: &str) -> Result<&'a str, TuningError> {
    match params.get(name) {
        Some(ParamValue::Text(v)) => Ok(v),
        Some(other) => Err(param_type(name, other)),
        None => Err(param_missing(name)),
    }
}

/// A boolean parameter.
pub fn param_bool(params: &Params, name: &str) -> Result<bool, TuningError> {
    match params.get(name) {
        Some(ParamValue::Bool(v)) => Ok(*v),
        Some(other) => Err(param_type(name, other)),
        None => Err(param_missing(name)),
    }
}

fn param_missing(name: &str) -> TuningError {
    TuningError::Param {
        name: name.to_string(),
        reason: "missing".into(),
    }
}

fn param_type(name: &str, found: &ParamValue) -> TuningError {
    TuningError::Param {
        name: name.to_string(),
        reason: format!("unexpected value {found:?}"),
    }
}

/// The values one parameter may take.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Domain {
    /// An explicit list: the grid takes every value, random search one uniformly.
    Values(Vec<ParamValue>),
    /// Integers `low..=high`: the grid takes every one, random search one uniformly.
    IntRange {
        /// Smallest value.
        low: i64,
        /// Largest value (inclusive).
        high: i64,
    },
    /// A real in `[low, high)`, uniform (random search only).
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// A real in `[low, high)` whose logarithm is uniform (random search only; for
    /// regularisation strengths and learning rates). Both bounds must be positive.
    LogUniform {
        /// Lower bound (> 0).
        low: f64,
        /// Upper bound.
        high: f64,
    },
}

/// Named parameter domains; a candidate takes one value of each.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchSpace {
    /// Parameter name → domain (name order).
    pub dims: BTreeMap<String, Domain>,
}

impl SearchSpace {
    /// An empty space (add dimensions with the builder methods).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a dimension.
    pub fn with(mut self, name: &str, domain: Domain) -> Self {
        self.dims.insert(name.to_string(), domain);
        self
    }

    /// Adds a list of integers.
    pub fn ints(self, name: &str, values: impl IntoIterator<Item = i64>) -> Self {
        let v = values.into_iter().map(ParamValue::Int).collect();
        self.with(name, Domain::Values(v))
    }

    /// Adds a list of reals.
    pub fn floats(self, name: &str, values: impl IntoIterator<Item = f64>) -> Self {
        let v = values.into_iter().map(ParamValue::Float).collect();
        self.with(name, Domain::Values(v))
    }

    /// Adds a list of text choices.
    pub fn texts<'a>(self, name: &str, values: impl IntoIterator<Item = &'a str>) -> Self {
        let v = values.into_iter().map(ParamValue::from).collect();
        self.with(name, Domain::Values(v))
    }

    /// Adds the integers `low..=high`.
    pub fn int_range(self, name: &str, low: i64, high: i64) -> Self {
        self.with(name, Domain::IntRange { low, high })
    }

    /// Adds a log-uniform real range (random search only).
    pub fn log_uniform(self, name: &str, low: f64, high: f64) -> Self {
        self.with(name, Domain::LogUniform { low, high })
    }

    /// Adds a uniform real range (random search only).
    pub fn uniform(self, name: &str, low: f64, high: f64) -> Self {
        self.with(name, Domain::Uniform { low, high })
    }

    fn validate(&self) -> Result<(), TuningError> {
        if self.dims.is_empty() {
            return Err(TuningError::EmptySpace("no parameter".into()));
        }
        for (name, d) in &self.dims {
            let bad = |reason: &str| TuningError::InvalidRange {
                name: name.clone(),
                reason: reason.to_string(),
            };
            match d {
                Domain::Values(v) if v.is_empty() => {
                    return Err(TuningError::EmptySpace(format!("{name} has no value")));
                }
                Domain::Values(_) => {}
                Domain::IntRange { low, high } if low > high => return Err(bad("low > high")),
                Domain::IntRange { .. } => {}
                Domain::Uniform { low, high } | Domain::LogUniform { low, high }
                    if !(low.is_finite() && high.is_finite() && low <= high) =>
                {
                    return Err(bad("bounds must be finite with low <= high"));
                }
                Domain::LogUniform { low, .. } if *low <= 0.0 => {
                    return Err(bad("log-uniform bounds must be positive"));
                }
                Domain::Uniform { .. } | Domain::LogUniform { .. } => {}
            }
        }
        Ok(())
    }

    /// Every combination of the listed values (the cartesian product, in name order, the
    /// last name varying fastest). Fails on continuous dimensions and grids larger than
    /// [`MAX_GRID`].
    pub fn grid(&self) -> Result<Vec<Params>, TuningError> {
        self.validate()?;
        let mut lists: Vec<(&String, Vec<ParamValue>)> = Vec::with_capacity(self.dims.len());
        let mut size: u128 = 1;
        for (name, d) in &self.dims {
            let values = match d {
                Domain::Values(v) => v.clone(),
                Domain::IntRange { low, high } => {
                    let n = (*high as i128 - *low as i128 + 1) as u128;
                    if n > MAX_GRID {
                        return Err(TuningError::GridTooLarge(n));
                    }
                    (*low..=*high).map(ParamValue::Int).collect()
                }
                Domain::Uniform { .. } | Domain::LogUniform { .. } => {
                    return Err(TuningError::ContinuousInGrid(name.clone()));
                }
            };
            size = size.saturating_mul(values.len() as u128);
            if size > MAX_GRID {
                return Err(TuningError::GridTooLarge(size));
            }
            lists.push((name, values));
        }
        let mut out: Vec<Params> = vec![Params::new()];
        for (name, values) in lists {
            let mut next = Vec::with_capacity(out.len() * values.len());
            for p in &out {
                for v in &values {
                    let mut q = p.clone();
                    q.insert(name.clone(), v.clone());
                    next.push(q);
                }
            }
            out = next;
        }
        Ok(out)
    }

    /// `trials` candidates drawn independently (ChaCha8 seeded with `seed`; the same seed
    /// gives the same list). Duplicates are possible on small discrete spaces.
    pub fn sample(&self, trials: usize, seed: u64) -> Result<Vec<Params>, TuningError> {
        self.validate()?;
        if trials == 0 {
            return Err(TuningError::NoTrials);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut out = Vec::with_capacity(trials);
        for _ in 0..trials {
            let mut p = Params::new();
            for (name, d) in &self.dims {
                let v = match d {
                    Domain::Values(v) => v[rng.random_range(0..v.len())].clone(),
                    Domain::IntRange { low, high } => {
                        ParamValue::Int(rng.random_range(*low..=*high))
                    }
                    Domain::Uniform { low, high } => {
                        ParamValue::Float(low + (high - low) * rng.random::<f64>())
                    }
                    Domain::LogUniform { low, high } => {
                        let (a, b) = (low.ln(), high.ln());
                        ParamValue::Float((a + (b - a) * rng.random::<f64>()).exp())
                    }
                };
                p.insert(name.clone(), v);
            }
            out.push(p);
        }
        Ok(out)
    }
}

/// Training and validation indices of one fold (indices into the caller's rows).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fold {
    /// Rows to fit on.
    pub train: Vec<usize>,
    /// Rows to score on.
    pub validation: Vec<usize>,
    /// What the fold is ("fold 2/5", "validate on period 2019-04-01", ...).
    pub label: String,
}

/// Plain k-fold: the rows `0..n` shuffled (ChaCha8, `seed`) and cut into `k` parts of
/// sizes differing by at most one; fold `i` validates on part `i` and trains on the rest.
/// Needs `2 <= k <= n`.
pub fn kfold(n: usize, k: usize, seed: u64) -> Result<Vec<Fold>, TuningError> {
    if k < 2 || k > n {
        return Err(TuningError::Folds(format!(
            "k-fold needs 2 <= k <= rows, got k = {k} for {n} rows"
        )));
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut folds = Vec::with_capacity(k);
    let mut start = 0;
    for i in 0..k {
        let len = n / k + usize::from(i < n % k);
        let mut validation: Vec<usize> = idx[start..start + len].to_vec();
        let mut train: Vec<usize> = idx[..start]
            .iter()
            .chain(&idx[start + len..])
            .copied()
            .collect();
        validation.sort_unstable();
        train.sort_unstable();
        folds.push(Fold {
            train,
            validation,
            label: format!("fold {}/{k}", i + 1),
        });
        start += len;
    }
    Ok(folds)
}

/// Expanding-window (forward-chaining) folds over time: `periods[i]` is row `i`'s period
/// (any increasing integer: a period index, a day number). With the distinct periods
/// `p_1 < ... < p_m`, fold `j` (of `n_folds`) validates on the rows of period
/// `p_{m - n_folds + j}` and trains on every row of an earlier period, so no fold ever
/// trains on its future. Needs `m >= min_train_periods + n_folds` (and
/// `min_train_periods >= 1`).
pub fn forward_chaining(
    periods: &[i64],
    n_folds: usize,
    min_train_periods: usize,
) -> Result<Vec<Fold>, TuningError> {
    let mut distinct: Vec<i64> = periods.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let m = distinct.len();
    if n_folds == 0 || min_train_periods == 0 || m < min_train_periods + n_folds {
        return Err(TuningError::Folds(format!(
            "forward chaining with {n_folds} fold(s) and at least {min_train_periods} training \
             period(s) needs {} distinct periods, found {m}",
            min_train_periods.max(1) + n_folds.max(1)
        )));
    }
    let mut folds = Vec::with_capacity(n_folds);
    for j in 0..n_folds {
        let v = distinct[m - n_folds + j];
        let train = (0..periods.len()).filter(|&i| periods[i] < v).collect();
        let validation = (0..periods.len()).filter(|&i| periods[i] == v).collect();
        folds.push(Fold {
            train,
            validation,
            label: format!("validate on period {v}"),
        });
    }
    Ok(folds)
}

/// One fold whose training and validation sets are both `0..n`: for unsupervised scores
/// (silhouette) where there is nothing to hold out.
pub fn whole(n: usize) -> Vec<Fold> {
    let all: Vec<usize> = (0..n).collect();
    vec![Fold {
        train: all.clone(),
        validation: all,
        label: "all rows".into(),
    }]
}

/// Whether a larger or a smaller score is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// Larger is better (accuracy, ROC-AUC, silhouette).
    Maximize,
    /// Smaller is better (RMSE, MAE).
    Minimize,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::Maximize => "maximize",
            Direction::Minimize => "minimize",
        }
    }
}

/// How the candidates are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Search {
    /// Every combination of [`SearchSpace::grid`].
    Grid,
    /// `trials` candidates of [`SearchSpace::sample`] with the study seed.
    Random {
        /// Number of candidates.
        trials: usize,
    },
}

/// What is being tuned and how: written into every [`Trial`] row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Study {
    /// Model family ("growth/logistic", "sites/kmeans", "als/implicit", ...).
    pub model_family: String,
    /// Name of the score ("roc_auc", "rmse", "silhouette", "ndcg@10", ...).
    pub metric: String,
    /// Whether the score is maximised or minimised.
    pub direction: Direction,
    /// Grid or random search.
    pub search: Search,
    /// Seed of the random search and of every objective call.
    pub seed: u64,
}

impl Study {
    /// A study description.
    pub fn new(
        model_family: &str,
        metric: &str,
        direction: Direction,
        search: Search,
        seed: u64,
    ) -> Self {
        Study {
            model_family: model_family.to_string(),
            metric: metric.to_string(),
            direction,
            search,
            seed,
        }
    }

    /// The candidates this study evaluates on `space`.
    pub fn candidates(&self, space: &SearchSpace) -> Result<Vec<Params>, TuningError> {
        match self.search {
            Search::Grid => space.grid(),
            Search::Random { trials } => space.sample(trials, self.seed),
        }
    }
}

/// What the objective receives for one (candidate, fold) evaluation.
#[derive(Clone, Copy, Debug)]
pub struct TrialInput<'a> {
    /// The candidate's parameters.
    pub params: &'a Params,
    /// The fold: fit on `fold.train`, score on `fold.validation`.
    pub fold: &'a Fold,
    /// Index of the fold in the list given to [`run_study`].
    pub fold_index: usize,
    /// Index of the candidate.
    pub trial: usize,
    /// Seed for any randomness of the fit (depends on the study seed and the fold only).
    pub seed: u64,
}

/// One evaluated candidate: the row written to `<lake>/models/trials`.
///
/// Field types are kept flat (String, f64, i64, `Vec<f64>`, nullable f64/String).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// [`Study::model_family`].
    pub model_family: String,
    /// Candidate index within the study (0-based, candidate order).
    pub trial: i64,
    /// `"grid"` or `"random"`.
    pub search: String,
    /// [`Study::seed`] (as i64, bit-cast).
    pub seed: i64,
    /// The parameters as a JSON object with sorted keys, e.g. `{"alpha":0.1}`.
    pub params_json: String,
    /// [`Study::metric`].
    pub metric: String,
    /// `"maximize"` or `"minimize"`.
    pub direction: String,
    /// One score per fold, in fold order (empty when the trial failed).
    pub fold_scores: Vec<f64>,
    /// Mean of the fold scores (null when the trial failed).
    pub mean_score: Option<f64>,
    /// Population standard deviation of the fold scores (null when the trial failed).
    pub std_score: Option<f64>,
    /// 1 = best mean (direction-aware; ties keep candidate order); failed trials rank
    /// after every successful one.
    pub rank: i64,
    /// Wall time of the trial's fits and scores, milliseconds.
    pub duration_ms: f64,
    /// Why the trial failed (the first failing fold's error or a non-finite score).
    pub error: Option<String>,
}

/// Derives the seed of fold `fold` from the study seed (SplitMix64 finaliser).
pub fn fold_seed(study_seed: u64, fold: usize) -> u64 {
    let mut z = study_seed
        ^ (fold as u64)
            .wrapping_add(1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Evaluates every candidate of `study` on `space` across `folds` with `objective`
/// (higher or lower is better per [`Study::direction`]) and returns one [`Trial`] per
/// candidate, in candidate order, ranked.
///
/// A candidate whose objective fails on any fold, or returns a non-finite score, is kept
/// as a failed trial (`error` set, no mean) rather than aborting the study.
pub fn run_study<F>(
    study: &Study,
    space: &SearchSpace,
    folds: &[Fold],
    objective: F,
) -> Result<Vec<Trial>, TuningError>
where
    F: Fn(&TrialInput<'_>) -> Result<f64, BoxError> + Sync,
{
    let candidates = study.candidates(space)?;
    evaluate_candidates(study, &candidates, folds, objective)
}

/// Like [`run_study`] with an explicit candidate list (for warm starts or a hand-picked
/// shortlist); `study.search` is only recorded.
pub fn evaluate_candidates<F>(
    study: &Study,
    candidates: &[Params],
    folds: &[Fold],
    objective: F,
) -> Result<Vec<Trial>, TuningError>
where
    F: Fn(&TrialInput<'_>) -> Result<f64, BoxError> + Sync,
{
    if folds.is_empty() {
        return Err(TuningError::NoFolds);
    }
    if candidates.is_empty() {
        return Err(TuningError::EmptySpace("no candidate".into()));
    }
    let search = match study.search {
        Search::Grid => "grid",
        Search::Random { .. } => "random",
    };
    let mut trials: Vec<Trial> = candidates
        .par_iter()
        .enumerate()
        .map(|(i, params)| {
            let started = Instant::now();
            let mut scores = Vec::with_capacity(folds.len());
            let mut error = None;
            for (f, fold) in folds.iter().enumerate() {
                let input = TrialInput {
                    params,
                    fold,
                    fold_index: f,
                    trial: i,
                    seed: fold_seed(study.seed, f),
                };
                match objective(&input) {
                    Ok(s) if s.is_finite() => scores.push(s),
                    Ok(s) => {
                        error = Some(format!("{}: non-finite score {s}", fold.label));
                        break;
                    }
                    Err(e) => {
                        error = Some(format!("{}: {e}", fold.label));
                        break;
                    }
                }
            }
            let (fold_scores, mean_score, std_score) = match error {
                Some(_) => (Vec::new(), None, None),
                None => {
                    let n = scores.len() as f64;
                    let mean = scores.iter().sum::<f64>() / n;
                    let var = scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n;
                    (scores, Some(mean), Some(var.sqrt()))
                }
            };
            Trial {
                model_family: study.model_family.clone(),
                trial: i as i64,
                search: search.to_string(),
                seed: study.seed as i64,
                params_json: serde_json::to_string(params).unwrap_or_default(),
                metric: study.metric.clone(),
                direction: study.direction.as_str().to_string(),
                fold_scores,
                mean_score,
                std_score,
                rank: 0,
                duration_ms: started.elapsed().as_secs_f64() * 1e3,
                error,
            }
        })
        .collect();
    rank_trials(&mut trials, study.direction);
    Ok(trials)
}

fn rank_trials(trials: &mut [Trial], direction: Direction) {
    let mut order: Vec<usize> = (0..trials.len()).collect();
    order.sort_by(|&a, &b| {
        let key = |t: &Trial| {
            t.mean_score.map(|m| match direction {
                Direction::Maximize => -m,
                Direction::Minimize => m,
            })
        };
        match (key(&trials[a]), key(&trials[b])) {
            (Some(x), Some(y)) => x.total_cmp(&y).then(a.cmp(&b)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.cmp(&b),
        }
    });
    for (r, &i) in order.iter().enumerate() {
        trials[i].rank = r as i64 + 1;
    }
}

/// The trial ranked 1 (if any trial succeeded).
pub fn best(trials: &[Trial]) -> Option<&Trial> {
    trials
        .iter()
        .find(|t| t.rank == 1)
        .filter(|t| t.error.is_none())
}

/// The parameters of a trial, parsed back from its JSON.
pub fn trial_params(trial: &Trial) -> Result<Params, TuningError> {
    serde_json::from_str(&trial.params_json).map_err(|e| TuningError::Param {
        name: "params_json".into(),
        reason: e.to_string(),
    })
}
