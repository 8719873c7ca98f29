//! Schemas of the models zone: the model registry, every hyper-parameter trial, and the
//! prediction tables. Trained models themselves are artifacts (bytes) at
//! `<lake>/models/<name>/<version>/`.

use arrow_schema::{DataType, Field, SchemaRef};

use crate::versioned;
use crate::warehouse::ts_type;

/// `registry`: one row per trained model version; `current` marks the served one.
pub const REGISTRY: &str = "registry";
/// `trials`: every hyper-parameter trial of every tuning run.
pub const TRIALS: &str = "trials";
/// `recommendations`: top-N businesses for every user of `dim_user`.
pub const RECOMMENDATIONS: &str = "recommendations";
/// `similar_businesses`: "people who liked X also liked Y".
pub const SIMILAR_BUSINESSES: &str = "similar_businesses";
/// `site_candidates`: candidate areas for a new branch, ranked per state.
pub const SITE_CANDIDATES: &str = "site_candidates";
/// `growth_predictions`: next-period growth or decline of businesses and of
/// category × state groups.
pub const GROWTH_PREDICTIONS: &str = "growth_predictions";

/// Every table of the models zone.
pub const ALL_TABLES: [&str; 6] = [
    REGISTRY,
    TRIALS,
    RECOMMENDATIONS,
    SIMILAR_BUSINESSES,
    SITE_CANDIDATES,
    GROWTH_PREDICTIONS,
];

/// Column names of the models zone's tables (those not already in [`crate::col`]).
pub mod col {
    /// Utf8: model name (`als`, `implicit_als`, `sites`, `growth_logistic`, ...).
    pub const MODEL: &str = "model";
    /// Registry: the model's name (`als`, `implicit_als`, `sites`, `growth_business`, ...).
    pub const NAME: &str = "name";
    /// Registry: the model's version (1, 2, ... per name).
    pub const VERSION: &str = "version";
    /// Int64: model version, increasing per name.
    pub const MODEL_VERSION: &str = "model_version";
    /// Timestamp: when the model was trained.
    pub const CREATED_AT: &str = "created_at";
    /// Int64: the catalog snapshot the model was trained on.
    pub const SNAPSHOT_ID: &str = "snapshot_id";
    /// Utf8 (JSON object): hyper-parameters.
    pub const PARAMS_JSON: &str = "params_json";
    /// Utf8 (JSON object): evaluation metrics.
    pub const METRICS_JSON: &str = "metrics_json";
    /// Boolean: the served version of its name.
    pub const CURRENT: &str = "current";
    /// Utf8: the metric promotion compares.
    pub const PRIMARY_METRIC: &str = "primary_metric";
    /// Float64: its value.
    pub const PRIMARY_VALUE: &str = "primary_value";
    /// Boolean: whether a larger primary value is better.
    pub const HIGHER_IS_BETTER: &str = "higher_is_better";
    /// Utf8: the artifact folder (`<name>/<version>`) in the models zone.
    pub const ARTIFACT: &str = "artifact";
    /// Int32: 1-based rank.
    pub const RANK: &str = "rank";
    /// Float64: a model score.
    pub const SCORE: &str = "score";
    /// Boolean: cold-start recommendation (popular places, not the user's factors).
    pub const COLD_START: &str = "cold_start";
    /// Utf8: the user segment by number of training ratings (`0`, `1`, `2-4`, `5-9`,
    /// `10+`).
    pub const SEGMENT: &str = "segment";
    /// Int64: the business a similarity row points to.
    pub const SIMILAR_BUSINESS_KEY: &str = "similar_business_key";
    /// Utf8: tuning model family.
    pub const FAMILY: &str = "family";
    /// Utf8: the run that produced the row.
    pub const RUN_ID: &str = "run_id";
    /// Int64: candidate number within its study.
    pub const TRIAL: &str = "trial";
    /// Utf8: `grid` or `random`.
    pub const SEARCH: &str = "search";
    /// Int64: the study's seed.
    pub const SEED: &str = "seed";
    /// Utf8: `maximize` or `minimize`.
    pub const DIRECTION: &str = "direction";
    /// Utf8: why a trial failed.
    pub const ERROR: &str = "error";
    /// Utf8: the metric of a trial.
    pub const METRIC: &str = "metric";
    /// List<Float64>: one score per fold.
    pub const FOLD_SCORES: &str = "fold_scores";
    /// Float64: mean of the fold scores.
    pub const MEAN: &str = "mean";
    /// Float64: standard deviation of the fold scores.
    pub const STD: &str = "std";
    /// Float64: seconds spent.
    pub const SECONDS: &str = "seconds";
    /// Utf8: clustering method (`kmeans`, `dbscan`).
    pub const METHOD: &str = "method";
    /// Int32: cluster number.
    pub const CLUSTER: &str = "cluster";
    /// Float64: cluster centroid latitude.
    pub const CENTROID_LATITUDE: &str = "centroid_latitude";
    /// Float64: cluster centroid longitude.
    pub const CENTROID_LONGITUDE: &str = "centroid_longitude";
    /// Float64: cluster radius, km.
    pub const RADIUS_KM: &str = "radius_km";
    /// Int64: places in the cluster.
    pub const MEMBERS: &str = "members";
    /// Float64: normalised demand component of the opportunity score.
    pub const DEMAND: &str = "demand";
    /// Float64: normalised satisfaction-gap component.
    pub const SATISFACTION_GAP: &str = "satisfaction_gap";
    /// Float64: normalised competition component.
    pub const COMPETITION: &str = "competition";
    /// Utf8: the reasons behind a score, for people.
    pub const REASONS: &str = "reasons";
    /// Utf8: the level of a growth row (`business` or `category_state`).
    pub const LEVEL: &str = "level";
    /// Utf8: predicted class (`grow` or `decline`).
    pub const PREDICTED_CLASS: &str = "predicted_class";
    /// Float64: predicted probability of growth.
    pub const PROBABILITY: &str = "probability";
    /// Float64: predicted next-period value (the regressor's target).
    pub const PREDICTED_VALUE: &str = "predicted_value";
}

fn f(name: &str, dt: DataType, nullable: bool) -> Field {
    Field::new(name, dt, nullable)
}

/// Schema of [`REGISTRY`].
pub fn registry() -> SchemaRef {
    versioned(
        vec![
            f(col::NAME, DataType::Utf8, false),
            f(col::VERSION, DataType::Int64, false),
            f(col::CREATED_AT, ts_type(), false),
            f(col::SNAPSHOT_ID, DataType::Int64, true),
            f(col::PARAMS_JSON, DataType::Utf8, false),
            f(col::METRICS_JSON, DataType::Utf8, false),
            f(col::CURRENT, DataType::Boolean, false),
            f(col::PRIMARY_METRIC, DataType::Utf8, false),
            f(col::PRIMARY_VALUE, DataType::Float64, true),
            f(col::HIGHER_IS_BETTER, DataType::Boolean, false),
            f(col::ARTIFACT, DataType::Utf8, false),
        ],
        Some(REGISTRY),
    )
}

/// Schema of [`TRIALS`]: one row per hyper-parameter candidate of every tuning run.
pub fn trials() -> SchemaRef {
    versioned(
        vec![
            f(col::RUN_ID, DataType::Utf8, false),
            f(col::CREATED_AT, ts_type(), false),
            f(col::FAMILY, DataType::Utf8, false),
            f(col::TRIAL, DataType::Int64, false),
            f(col::SEARCH, DataType::Utf8, false),
            f(col::SEED, DataType::Int64, false),
            f(col::PARAMS_JSON, DataType::Utf8, false),
            f(col::METRIC, DataType::Utf8, false),
            f(col::DIRECTION, DataType::Utf8, false),
            f(col::FOLD_SCORES, crate::list_type(DataType::Float64), false),
            f(col::MEAN, DataType::Float64, true),
            f(col::STD, DataType::Float64, true),
            f(col::RANK, DataType::Int64, false),
            f(col::SECONDS, DataType::Float64, false),
            f(col::ERROR, DataType::Utf8, true),
        ],
        Some(TRIALS),
    )
}

/// Schema of [`RECOMMENDATIONS`].
pub fn recommendations() -> SchemaRef {
    versioned(
        vec![
            f(crate::col::USER_KEY, DataType::Int64, false),
            f(crate::col::BUSINESS_KEY, DataType::Int64, false),
            f(col::RANK, DataType::Int32, false),
            f(col::SCORE, DataType::Float64, false),
            f(col::COLD_START, DataType::Boolean, false),
            f(col::MODEL_VERSION, DataType::Int64, false),
            f(col::MODEL, DataType::Utf8, false),
            f(col::SEGMENT, DataType::Utf8, false),
        ],
        Some(RECOMMENDATIONS),
    )
}

/// Schema of [`SIMILAR_BUSINESSES`].
pub fn similar_businesses() -> SchemaRef {
    versioned(
        vec![
            f(crate::col::BUSINESS_KEY, DataType::Int64, false),
            f(col::SIMILAR_BUSINESS_KEY, DataType::Int64, false),
            f(col::RANK, DataType::Int32, false),
            f(col::SCORE, DataType::Float64, false),
            f(col::MODEL_VERSION, DataType::Int64, false),
        ],
        Some(SIMILAR_BUSINESSES),
    )
}

/// Schema of [`SITE_CANDIDATES`].
pub fn site_candidates() -> SchemaRef {
    versioned(
        vec![
            f(crate::col::STATE, DataType::Utf8, false),
            f(crate::col::CATEGORY, DataType::Utf8, true),
            f(col::RANK, DataType::Int32, false),
            f(col::METHOD, DataType::Utf8, false),
            f(col::CLUSTER, DataType::Int32, false),
            f(col::CENTROID_LATITUDE, DataType::Float64, false),
            f(col::CENTROID_LONGITUDE, DataType::Float64, false),
            f(col::RADIUS_KM, DataType::Float64, false),
            f(col::MEMBERS, DataType::Int64, false),
            f(col::SCORE, DataType::Float64, false),
            f(col::DEMAND, DataType::Float64, false),
            f(col::SATISFACTION_GAP, DataType::Float64, false),
            f(col::COMPETITION, DataType::Float64, false),
            f(col::REASONS, DataType::Utf8, false),
            f(col::MODEL_VERSION, DataType::Int64, false),
        ],
        Some(SITE_CANDIDATES),
    )
}

/// Schema of [`GROWTH_PREDICTIONS`].
pub fn growth_predictions() -> SchemaRef {
    versioned(
        vec![
            f(col::LEVEL, DataType::Utf8, false),
            f(crate::col::BUSINESS_KEY, DataType::Int64, true),
            f(crate::col::CATEGORY, DataType::Utf8, true),
            f(crate::col::STATE, DataType::Utf8, true),
            f(crate::col::PERIOD_START, DataType::Date32, false),
            f(col::MODEL, DataType::Utf8, false),
            f(col::PREDICTED_CLASS, DataType::Utf8, false),
            f(col::PROBABILITY, DataType::Float64, true),
            f(col::PREDICTED_VALUE, DataType::Float64, true),
            f(col::MODEL_VERSION, DataType::Int64, false),
        ],
        Some(GROWTH_PREDICTIONS),
    )
}

/// The schema of models table `name`, if it is one.
pub fn schema_of(name: &str) -> Option<SchemaRef> {
    Some(match name {
        REGISTRY => registry(),
        TRIALS => trials(),
        RECOMMENDATIONS => recommendations(),
        SIMILAR_BUSINESSES => similar_businesses(),
        SITE_CANDIDATES => site_candidates(),
        GROWTH_PREDICTIONS => growth_predictions(),
        _ => return None,
    })
}
