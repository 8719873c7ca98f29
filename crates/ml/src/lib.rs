//! # reviewlake-ml
//!
//! Models over the lake: explicit and implicit ALS recommenders ([`recommend`]), site
//! selection by clustering ([`sites`]), growth/decline classifiers and regressors
//! ([`growth`]), hyper-parameter search ([`tuning`]), the model registry ([`registry`])
//! and the `ml` stage ([`stage`], [`train`]). Details and definitions: `docs/MODELS.md`.
//!
//! [`train`] takes the lake's writer lease, reads the warehouse and features of the
//! latest snapshot by SQL, registers every model (artifacts
//! `<lake>/models/<name>/<version>/{model,meta}.json` and a row of `models/registry`,
//! which is read at its latest Delta version and rewritten in one commit; a new version
//! is promoted only when it beats the current one on its primary metric, or forced),
//! rewrites the prediction tables, appends the tuning trials, and commits an `ml`
//! snapshot.
//!
//! **Architecture invariant:** algorithms are pure functions over in-memory data
//! (`ndarray`, plain vectors); only the [`stage`] and [`registry`] modules talk to the
//! lake, and only through `reviewlake-lake`, so every model can be tested and
//! benchmarked without storage.

#![warn(missing_docs)]

/// Growth / decline prediction from the business × month panel: point-in-time features,
/// time split, classifiers and a regressor beside naive baselines.
pub mod growth;
/// Recommender: explicit ALS (Spark MLlib's ALS-WR) and implicit ALS (the `implicit`
/// library's conjugate gradient) on ndarray, baselines, splits, metrics, cold start,
/// item-item similarity and top-n for every user.
pub mod recommend;
/// The model registry: artifacts in the lake's models zone and the `registry` table.
pub mod registry;
/// Site selection: clustering a state's restaurants (k-means chosen by silhouette, or
/// DBSCAN) into candidate areas ranked by an opportunity score with reasons.
pub mod sites;
/// The `ml` stage: training on the lake's latest snapshot, registry, prediction tables.
pub mod stage;
/// Hyper-parameter search (grid, seeded random) with pluggable cross-validation folds.
pub mod tuning;

pub use stage::{ModelSet, TrainOptions, TrainReport, train};

/// Errors of the lake-facing parts of this crate (registry, training stage).
#[derive(Debug, thiserror::Error)]
pub enum MlError {
    /// The lake failed.
    #[error(transparent)]
    Lake(#[from] reviewlake_lake::LakeError),
    /// An Arrow operation failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// The recommender failed.
    #[error(transparent)]
    Recommend(#[from] recommend::RecommendError),
    /// Site selection failed.
    #[error(transparent)]
    Sites(#[from] sites::SiteError),
    /// A growth model failed.
    #[error(transparent)]
    Growth(#[from] growth::GrowthError),
    /// Tuning failed.
    #[error(transparent)]
    Tuning(#[from] tuning::TuningError),
    /// Data read from the lake is not what a model needs.
    #[error("{0}")]
    Data(String),
}

/// Result alias of the lake-facing parts of this crate.
pub type Result<T, E = MlError> = std::result::Result<T, E>;
