//! # reviewlake-warehouse
//!
//! Cleans the raw Yelp and Google tables of a [`Lake`] into one star schema at
//! `<lake>/warehouse/<name>` (see [`reviewlake_schema::warehouse`] for the tables),
//! scoped by default to the food-related businesses of the five US states with the
//! largest GDP (scraped from a Wikipedia-style HTML table, [`gdp`]).
//!
//! Raw tables are streamed through a read-only DataFusion session over the raw zone of
//! the snapshot: de-duplication's first pass reads only key and lineage columns; the
//! second pass over the business, user and review tables reads every column
//! (`SELECT *`, for content hashes and whole quarantined rows); tips and check-ins are
//! read with one fixed column list. Cleaning is row-wise Rust over Arrow batches
//! ([`parse`] holds the field parsers); the output tables are Delta tables rewritten
//! atomically on every build. Every raw row is accounted for in the
//! [`WarehouseReport`]: carried, dropped (with a reason) or quarantined (with a reason,
//! in `warehouse_quarantine`).
//!
//! A build reads the raw zone of the lake's latest snapshot, holds the writer lease, and
//! ends with a catalog snapshot committed only after every raw table reconciles: readers
//! see the previous warehouse or the new one, never a mix.
//!
//! **Architecture invariant:** the warehouse reads only the raw zone of one snapshot and
//! accounts for every raw row (read = carried + dropped + quarantined, per raw table);
//! it never touches storage except through the lake's tables.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use reviewlake_lake::Lake;
//! use reviewlake_warehouse::{WarehouseOptions, build};
//! let lake = Lake::open("lake")?;
//! let report = build(&lake, &WarehouseOptions::default()).await?;
//! assert!(report.reconciles());
//! println!("{report}");
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod gdp;
pub mod keys;
pub mod parse;
pub mod states;
pub mod taxonomy;
pub mod udf;

mod build;
mod dedupe;
mod read;
mod report;

pub use build::build;
pub use keys::Source;
pub use report::{SourceReport, WarehouseReport};

use reviewlake_lake::LakeError;
use reviewlake_schema::progress::Reporter;

/// Which states the warehouse keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateScope {
    /// The N US states (or DC) with the largest GDP in the scraped table.
    TopGdp(usize),
    /// These state codes (`CA`, `TX`, ...).
    States(Vec<String>),
    /// Every state, and businesses with no state.
    All,
}

/// Which businesses the warehouse keeps, by shared category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CategoryScope {
    /// Businesses with at least one food-related shared category (restaurants, bars,
    /// cafés, bakeries, desserts, ...). The default.
    FoodRelated,
    /// Every business.
    All,
    /// Businesses with at least one of these shared categories.
    Named(Vec<String>),
}

/// Where the GDP table comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GdpSource {
    /// The saved page shipped in this crate ([`gdp::OFFLINE_PAGE`]).
    Offline,
    /// A page fetched or read by the caller: (where it came from, its HTML).
    Html {
        /// URL or path, recorded in `state_gdp.source`.
        origin: String,
        /// The page.
        html: String,
    },
}

/// Options of a warehouse build.
#[derive(Debug, Clone)]
pub struct WarehouseOptions {
    /// State scope (default: top 5 by GDP).
    pub states: StateScope,
    /// Category scope (default: food-related).
    pub categories: CategoryScope,
    /// GDP page (default: offline copy).
    pub gdp: GdpSource,
    /// Where progress goes: task `warehouse`, in raw rows read, with a note per step.
    pub reporter: Reporter,
    /// For tests of failure handling: count one phantom raw row, so the build fails its
    /// reconciliation check after writing its tables (and commits no snapshot).
    pub inject_reconciliation_failure: bool,
}

impl Default for WarehouseOptions {
    fn default() -> Self {
        WarehouseOptions {
            states: StateScope::TopGdp(5),
            categories: CategoryScope::FoodRelated,
            gdp: GdpSource::Offline,
            reporter: Reporter::none(),
            inject_reconciliation_failure: false,
        }
    }
}

impl StateScope {
    /// Parses `--states`: `all` or a comma-separated list of state codes.
    pub fn parse(s: &str) -> Result<StateScope> {
        if s.trim().eq_ignore_ascii_case("all") {
            return Ok(StateScope::All);
        }
        let mut v = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let r = states::by_abbr(part)
                .or_else(|| states::by_name(part))
                .ok_or_else(|| WarehouseError::Option(format!("unknown state {part:?}")))?;
            v.push(r.abbr.to_string());
        }
        if v.is_empty() {
            return Err(WarehouseError::Option("--states is empty".into()));
        }
        Ok(StateScope::States(v))
    }
}

impl CategoryScope {
    /// Parses `--categories`: `all`, `food`, or a comma-separated list of shared
    /// category names (see `data/shared_categories.csv`).
    pub fn parse(s: &str) -> Result<CategoryScope> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("all") {
            return Ok(CategoryScope::All);
        }
        if t.eq_ignore_ascii_case("food") || t.eq_ignore_ascii_case("default") {
            return Ok(CategoryScope::FoodRelated);
        }
        let tax = taxonomy::Taxonomy::embedded();
        let mut v = Vec::new();
        for part in t.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let lc = part.to_ascii_lowercase();
            if tax.index_of(&lc).is_none() {
                let known: Vec<&str> = tax.categories().iter().map(|c| &*c.name).collect();
                return Err(WarehouseError::Option(format!(
                    "unknown category {part:?}; known: {}",
                    known.join(", ")
                )));
            }
            v.push(lc);
        }
        if v.is_empty() {
            return Err(WarehouseError::Option("--categories is empty".into()));
        }
        Ok(CategoryScope::Named(v))
    }

    /// How the scope is written in reports.
    pub fn describe(&self) -> String {
        match self {
            CategoryScope::FoodRelated => "food".into(),
            CategoryScope::All => "all".into(),
            CategoryScope::Named(v) => v.join(","),
        }
    }
}

/// Errors of a warehouse build.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    /// The lake failed.
    #[error(transparent)]
    Lake(#[from] LakeError),
    /// A query failed.
    #[error("query {sql:?}: {source}")]
    Query {
        /// The query.
        sql: String,
        /// The error.
        #[source]
        source: Box<datafusion::error::DataFusionError>,
    },
    /// Reading a raw table failed.
    #[error("reading raw table {table}: {source}")]
    Read {
        /// The raw table.
        table: String,
        /// The error.
        #[source]
        source: Box<datafusion::error::DataFusionError>,
    },
    /// The GDP page could not be used.
    #[error("GDP table: {0}")]
    Gdp(#[from] gdp::GdpError),
    /// An option is invalid.
    #[error("invalid option: {0}")]
    Option(String),
    /// Two source identifiers hashed to the same surrogate key.
    #[error("surrogate key collision in {table}: {a:?} and {b:?} both hash to {key}")]
    KeyCollision {
        /// The dimension.
        table: String,
        /// One id.
        a: String,
        /// The other id.
        b: String,
        /// The key.
        key: i64,
    },
    /// An Arrow operation failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A bug: an invariant of the build did not hold.
    #[error("internal: {0}")]
    Internal(String),
}

/// Result alias of this crate.
pub type Result<T, E = WarehouseError> = std::result::Result<T, E>;
