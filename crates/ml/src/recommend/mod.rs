//! Recommender: explicit and implicit alternating least squares (ALS) on `ndarray`,
//! baselines, splits, metrics, cold start and item-item similarity.
//!
//! Everything here is a pure function over in-memory data; nothing reads the lake.
//!
//! # Data flow
//!
//! ```text
//! native (user, item, rating) ──split──▶ train / test ──Interactions──▶ dense u32 indices
//!     ──Als::fit / ImplicitAls::fit──▶ FactorModel (serde: params, factors, id maps, mean)
//!     ──predict / top_n / similar_items / recommend_for_user (cold start fallback)
//!     ──evaluate_ratings / evaluate_ranking──▶ RMSE, MAE, precision/recall/NDCG@k
//! ```
//!
//! # Example
//!
//! ```
//! use reviewlake_ml::recommend::{Als, AlsParams, Interactions, TestSet, evaluate_ratings};
//!
//! let mut train = Interactions::new();
//! for (u, i, r) in [("ann", "taco", 5.0), ("ann", "sushi", 2.0), ("bob", "taco", 4.0),
//!                   ("bob", "pho", 5.0), ("cy", "sushi", 1.0), ("cy", "pho", 4.0)] {
//!     train.push(u, i, r)?;
//! }
//! let model = Als::new(AlsParams { rank: 2, iterations: 10, ..AlsParams::default() })
//!     .fit(&train)?;
//! let mut test = TestSet::new();
//! test.push(&train, "ann", "pho", 4.0);
//! test.push(&train, "dora", "pho", 3.0); // unknown user: skipped, counted
//! let m = evaluate_ratings(&model, &test);
//! assert_eq!((m.count, test.skipped()), (1, 1));
//! assert!(model.predict("ann", "pho").is_some());
//! let top = model.recommend("ann", 5).expect("known user");
//! assert!(top.iter().all(|r| r.item == "pho")); // rated items are excluded
//! # Ok::<(), reviewlake_ml::recommend::RecommendError>(())
//! ```
//!
//! # Choices (and where they follow Spark MLlib or `implicit`)
//!
//! - Factors are `f32` (as Spark and `implicit`'s default); explicit normal equations are
//!   accumulated and solved in `f64` (as Spark's `NormalEquation`/`CholeskySolver`).
//! - Explicit ALS is Spark's `ALS.train` with `implicitPrefs=false, nonnegative=false`:
//!   each iteration solves items from users, then users from items; row `u` solves
//!   `(VᵤᵀVᵤ + λ·nᵤ·I) x = Vᵤᵀ rᵤ` (ALS-WR), `nᵤ` counting every rating of the row
//!   (duplicate pairs included, as Spark).
//! - Implicit ALS is `implicit.cpu.als.AlternatingLeastSquares` (conjugate gradient,
//!   3 steps, warm start, users then items, `λ` not scaled by counts) with the
//!   Hu–Koren–Volinsky confidence `c = 1 + α·w`.
//! - Parallelism is rayon over fixed chunks of rows; every row is solved independently
//!   and written by index, so a training is bit-identical across runs and thread counts
//!   on the same machine (the SIMD path, AVX2+FMA or portable, is chosen at run time
//!   from the CPU, so other machines may differ in the last bits).

mod als;
mod baseline;
mod biased;
mod coldstart;
mod data;
mod ids;
mod implicit;
mod kernels;
mod metrics;
mod model;
mod pool;
mod segments;
mod select;
mod split;
mod topn;

pub use als::{Als, AlsParams, solve_biased_rows, solve_explicit_rows};
pub use baseline::{BiasBaseline, BiasParams, GlobalMean, Groups, Popularity, PopularityKind};
pub use biased::{BiasedAls, BiasedParams};
pub use coldstart::{
    CatalogItem, ColdStart, ColdStartParams, Recommendation, RecommendedItem, bayesian_average,
    catalog_cold_start, recommend_for_user,
};
pub use data::{Interactions, SparseRows, TestSet, Triple, UserItems};
pub use ids::IdMap;
pub use implicit::{ImplicitAls, ImplicitParams, ImplicitSolver, solve_implicit_rows};
pub use metrics::{
    ExternalRanking, RankingMetrics, RankingOptions, RatingMetrics, evaluate_ranking,
    evaluate_ratings, ndcg_at_k, precision_at_k, recall_at_k,
};
pub use model::{FactorModel, ModelKind};
pub use pool::{CandidatePool, PoolSizes, Pooled};
pub use segments::{
    BASELINES, Candidate, MIN_POLICY_USERS, PolicyScore, SEGMENTS, Segment, SegmentMetrics,
    choose_policy, evaluate_segments, policy_score, segment_of,
};
pub use select::{RatingModel, Tuned, tune_rating_model};
pub use split::{Rating, Split, SplitStrategy, latest_months_cutoff, sample_users, split};
pub use topn::{Ranker, RatingPredictor, Scored};

/// Errors of the recommender module.
#[derive(Debug, thiserror::Error)]
pub enum RecommendError {
    /// A rating, weight or timestamp that cannot be used.
    #[error("invalid {what} for user `{user}`, item `{item}`: {value}")]
    InvalidValue {
        /// What the value is ("rating", "weight", ...).
        what: &'static str,
        /// Native user id.
        user: String,
        /// Native item id.
        item: String,
        /// The value as text.
        value: String,
    },
    /// A parameter out of its domain.
    #[error("invalid parameter `{name}`: {message}")]
    InvalidParam {
        /// Parameter name.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Training needs at least one rating.
    #[error("no ratings to train on")]
    Empty,
    /// A row's normal equations are not positive definite (for example `reg = 0` and
    /// fewer distinct ratings than the rank).
    #[error("the normal equations of row {row} are not positive definite (try reg > 0)")]
    NotPositiveDefinite {
        /// Row index (user or item, depending on the half-step).
        row: usize,
    },
    /// Matrices whose shapes do not fit together.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A time split needs a timestamp on every rating.
    #[error("rating {index} (user `{user}`) has no timestamp; a time split needs one")]
    MissingTimestamp {
        /// Position of the rating in the input.
        index: usize,
        /// Native user id.
        user: String,
    },
    /// The model could not be serialised or deserialised.
    #[error("model (de)serialisation: {0}")]
    Serde(#[from] serde_json::Error),
}
