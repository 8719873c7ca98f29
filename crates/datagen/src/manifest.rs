//! `manifest.json`: what the generator wrote, per file and per dataset.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Plan;
use super::sink::{Fault, FileStats};

/// The content of `manifest.json`: per-file line and record counts, injected faults,
/// entity counts. Serialized by [`generate`](crate::generate) with
/// `serde_json::to_string_pretty` (fields in this order) plus a final newline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Review records asked for ([`GenOptions::reviews`](crate::GenOptions::reviews)).
    pub reviews: u64,
    /// The seed.
    pub seed: u64,
    /// The fraction of lines that got a fault.
    pub dirty: f64,
    /// Every data file, Yelp first, then Google metadata parts, then Google reviews by
    /// state and part.
    pub files: Vec<FileEntry>,
    /// Injection counts per fault name (every [`Fault`] listed, zeros included).
    pub injected: BTreeMap<String, u64>,
    /// Total number of injections (lines of `dirty_manifest.jsonl`).
    pub injected_total: u64,
    /// File name of the injection list: `dirty_manifest.jsonl`.
    pub dirty_manifest: String,
    /// Entity counts derived from the number of reviews.
    pub entities: Entities,
    /// Sums of the file entries per raw table name (`yelp_review`, ...).
    pub datasets: BTreeMap<String, Totals>,
    /// The generator's name.
    pub generator: String,
}

/// One data file of a [`Manifest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the tree root, with `/` separators.
    pub path: String,
    /// Raw table name of its dataset ([`RawDataset::table_name`](crate::RawDataset::table_name)).
    pub dataset: String,
    /// Non-blank lines.
    pub lines: u64,
    /// Lines expected to parse into the raw table (lines - quarantined).
    pub records: u64,
    /// File size.
    pub bytes: u64,
    /// Clean records generated before dirt (duplicates and blank lines excluded).
    pub generated: u64,
    /// Injection counts per fault name in this file (non-zero kinds only).
    pub injected: BTreeMap<String, u64>,
}

/// Entity counts of a generated tree: pure functions of the number of reviews.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entities {
    /// Yelp reviews (45% of the reviews).
    pub yelp_reviews: u64,
    /// Google reviews (the rest).
    pub google_reviews: u64,
    /// Yelp businesses.
    pub yelp_businesses: u64,
    /// Google places.
    pub google_places: u64,
    /// Yelp users.
    pub yelp_users: u64,
    /// Google users.
    pub google_users: u64,
    /// Yelp tips.
    pub yelp_tips: u64,
}

impl Entities {
    /// The entity counts the generator derives from `reviews` review records.
    ///
    /// ```
    /// let e = reviewlake_datagen::Entities::new(1000);
    /// assert_eq!(e.yelp_reviews + e.google_reviews, 1000);
    /// assert_eq!(e.yelp_businesses, 40);
    /// ```
    pub fn new(reviews: u64) -> Entities {
        Entities::from(&Plan::new(reviews))
    }
}

impl From<&Plan> for Entities {
    fn from(plan: &Plan) -> Entities {
        Entities {
            yelp_reviews: plan.yelp_reviews,
            google_reviews: plan.google_reviews,
            yelp_businesses: plan.yelp_businesses,
            google_places: plan.google_places,
            yelp_users: plan.yelp_users,
            google_users: plan.google_users,
            yelp_tips: plan.tips,
        }
    }
}

/// Sums of the [`FileEntry`]s of one dataset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Number of files.
    pub files: u64,
    /// Non-blank lines.
    pub lines: u64,
    /// Lines expected in the raw table.
    pub records: u64,
    /// Bytes.
    pub bytes: u64,
    /// Clean records generated before dirt.
    pub generated: u64,
}

fn fault_map(counts: &[u64; 10], all: bool) -> BTreeMap<String, u64> {
    Fault::ALL
        .iter()
        .map(|k| (k.name().to_string(), counts[*k as usize]))
        .filter(|(_, c)| all || *c > 0)
        .collect()
}

impl Manifest {
    pub(crate) fn build(
        reviews: u64,
        seed: u64,
        dirty: f64,
        plan: &Plan,
        files: &[FileStats],
        kinds: &[u64; 10],
    ) -> Manifest {
        let mut datasets: BTreeMap<String, Totals> = BTreeMap::new();
        for f in files {
            let t = datasets
                .entry(f.dataset.table_name().to_string())
                .or_default();
            t.files += 1;
            t.lines += f.lines;
            t.records += f.records;
            t.bytes += f.bytes;
            t.generated += f.generated;
        }
        Manifest {
            reviews,
            seed,
            dirty,
            files: files
                .iter()
                .map(|f| FileEntry {
                    path: f.rel.clone(),
                    dataset: f.dataset.table_name().to_string(),
                    lines: f.lines,
                    records: f.records,
                    bytes: f.bytes,
                    generated: f.generated,
                    injected: fault_map(&f.injected, false),
                })
                .collect(),
            injected: fault_map(kinds, true),
            injected_total: kinds.iter().sum(),
            dirty_manifest: crate::DIRTY_MANIFEST.to_string(),
            entities: Entities::from(plan),
            datasets,
            generator: "reviewlake xtask gen".to_string(),
        }
    }
}
