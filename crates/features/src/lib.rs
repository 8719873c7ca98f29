//! # reviewlake-features
//!
//! Sentiment and derived features over the warehouse of a [`Lake`], and the KPI table:
//!
//! - [`vader`]: an exact Rust port of VADER (vaderSentiment 3.3.2, the authors' reference
//!   implementation), checked text by text against the Python on a parity fixture.
//! - [`build`]: writes `<lake>/features/{review_features, tip_features, business_features,
//!   business_checkins, user_features, business_month, kpi}` (schemas in
//!   [`reviewlake_schema::features`]).
//! - [`kpi`]: the four KPIs (definitions in `docs/KPIS.md`) computed from grouped
//!   aggregates.
//! - [`report`]: a self-contained HTML report (inline SVG charts, no network).
//!
//! ```
//! use reviewlake_features::vader::SentimentAnalyzer;
//! let s = SentimentAnalyzer::shared().polarity_scores("The tacos were GREAT!!! :)");
//! assert!(s.compound > 0.8);
//! ```
//!
//! **Architecture invariant:** features read only the warehouse of one snapshot (and
//! their own fresh output), by column name and type, never by position; the build
//! becomes visible in one catalog snapshot.
//!
//! [`Lake`]: reviewlake_lake::Lake

#![warn(missing_docs)]

pub mod kpi;
pub mod report;
pub mod udf;
pub mod vader;

mod build;

pub use build::{DEFAULT_MIN_SUPPORT, FeaturesOptions, FeaturesReport, build};

/// Errors of the features build and the report.
#[derive(Debug, thiserror::Error)]
pub enum FeaturesError {
    /// The lake failed.
    #[error(transparent)]
    Lake(#[from] reviewlake_lake::LakeError),
    /// A query failed.
    #[error("query failed: {source}\n{sql}")]
    Query {
        /// The query.
        sql: String,
        /// The error.
        #[source]
        source: Box<datafusion::error::DataFusionError>,
    },
    /// An Arrow operation failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// The warehouse is missing a table the features need.
    #[error("warehouse table {0} is missing: run the warehouse stage first")]
    MissingTable(String),
}

/// Result alias of this crate.
pub type Result<T, E = FeaturesError> = std::result::Result<T, E>;
