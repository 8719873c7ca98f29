//! The build report: what happened to every raw row.

use std::collections::BTreeMap;
use std::fmt;

use reviewlake_schema::{Outcome, Reason};
use serde::Serialize;

/// What one build did with the rows of one raw table.
///
/// Every row read is counted exactly once in `carried`, in `dropped` (by reason) or in
/// `quarantined` (by reason): [`SourceReport::reconciles`] checks it. `altered` counts
/// carried rows that had a field nulled or fixed, by reason (a row may have several).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SourceReport {
    /// Raw table name (`yelp_review`, ...).
    pub table: String,
    /// Rows read from the raw table.
    pub read: u64,
    /// Rows carried into the warehouse.
    pub carried: u64,
    /// Rows not carried, by reason (the names of [`Reason`]s whose outcome is dropped).
    pub dropped: BTreeMap<String, u64>,
    /// Rows refused as invalid and written to `warehouse_quarantine`, by reason (names of
    /// quarantining [`Reason`]s).
    pub quarantined: BTreeMap<String, u64>,
    /// Carried rows with a value nulled or fixed, by reason (names of altering
    /// [`Reason`]s).
    pub altered: BTreeMap<String, u64>,
    /// Rows the carried ones became in the warehouse (a check-in row explodes into many
    /// events; otherwise equal to `carried`).
    pub produced: u64,
}

impl SourceReport {
    pub(crate) fn new(table: &str) -> Self {
        SourceReport {
            table: table.to_string(),
            ..Default::default()
        }
    }
    pub(crate) fn drop(&mut self, reason: Reason) {
        self.drop_n(reason, 1);
    }
    pub(crate) fn drop_n(&mut self, reason: Reason, n: u64) {
        debug_assert_eq!(reason.outcome(), Outcome::Dropped, "{reason}");
        if n > 0 {
            *self.dropped.entry(reason.as_str().to_string()).or_default() += n;
        }
    }
    pub(crate) fn quarantine(&mut self, reason: Reason) {
        debug_assert_eq!(reason.outcome(), Outcome::Quarantined, "{reason}");
        *self
            .quarantined
            .entry(reason.as_str().to_string())
            .or_default() += 1;
    }
    pub(crate) fn alter(&mut self, reason: Reason) {
        self.alter_n(reason, 1);
    }
    pub(crate) fn alter_n(&mut self, reason: Reason, n: u64) {
        debug_assert_eq!(reason.outcome(), Outcome::Altered, "{reason}");
        if n > 0 {
            *self.altered.entry(reason.as_str().to_string()).or_default() += n;
        }
    }

    /// Rows dropped, all reasons.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }
    /// Rows quarantined, all reasons.
    pub fn quarantined_total(&self) -> u64 {
        self.quarantined.values().sum()
    }
    /// `read == carried + dropped + quarantined`.
    pub fn reconciles(&self) -> bool {
        self.read == self.carried + self.dropped_total() + self.quarantined_total()
    }
}

/// The whole build's report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WarehouseReport {
    /// The states in scope (`None` = all states).
    pub states: Option<Vec<String>>,
    /// The category scope, as given (`food` = food-related shared categories).
    pub categories: String,
    /// The GDP ranking used to pick the states: (state, GDP in millions of USD).
    pub gdp_top: Vec<(String, f64)>,
    /// Where the GDP table came from.
    pub gdp_source: String,
    /// One entry per raw table read.
    pub sources: Vec<SourceReport>,
    /// Rows written per warehouse table.
    pub tables: BTreeMap<String, u64>,
    /// Yelp users referenced by reviews or tips but absent from the user file: they get
    /// a `dim_user` row with `is_inferred = true` (so no fact is orphaned).
    pub inferred_users: u64,
    /// The catalog snapshot that made this build visible.
    pub snapshot: Option<i64>,
    /// Wall time of the build, seconds.
    pub seconds: f64,
}

impl WarehouseReport {
    /// The report of raw table `name`.
    pub fn source(&self, name: &str) -> Option<&SourceReport> {
        self.sources.iter().find(|s| s.table == name)
    }
    /// True when every source reconciles.
    pub fn reconciles(&self) -> bool {
        self.sources.iter().all(SourceReport::reconciles)
    }
}

impl fmt::Display for WarehouseReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let states = match &self.states {
            Some(s) => s.join(","),
            None => "all".into(),
        };
        writeln!(
            f,
            "scope: states {states}; categories {}; GDP from {}",
            self.categories, self.gdp_source
        )?;
        for s in &self.sources {
            writeln!(
                f,
                "  {:<16} read {:>10}  carried {:>10}  dropped {:>8}  quarantined {:>6}{}",
                s.table,
                s.read,
                s.carried,
                s.dropped_total(),
                s.quarantined_total(),
                if s.reconciles() {
                    ""
                } else {
                    "  (DOES NOT RECONCILE)"
                }
            )?;
            for (k, v) in &s.dropped {
                writeln!(f, "      dropped     {k:<32} {v:>10}")?;
            }
            for (k, v) in &s.quarantined {
                writeln!(f, "      quarantined {k:<32} {v:>10}")?;
            }
            for (k, v) in &s.altered {
                writeln!(f, "      altered     {k:<32} {v:>10}")?;
            }
        }
        if self.inferred_users > 0 {
            writeln!(
                f,
                "  {} Yelp users referenced but missing from the user file: inferred dim_user rows",
                self.inferred_users
            )?;
        }
        for (t, n) in &self.tables {
            writeln!(f, "  warehouse/{t:<22} {n:>10} rows")?;
        }
        match self.snapshot {
            Some(id) => write!(f, "built in {:.2} s; snapshot {id}", self.seconds),
            None => write!(f, "built in {:.2} s", self.seconds),
        }
    }
}
