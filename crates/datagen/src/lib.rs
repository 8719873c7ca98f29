//! # reviewlake-datagen
//!
//! Deterministic synthetic Yelp + Google Maps review dumps, in the published formats,
//! optionally with injected faults. Same `(reviews, seed, dirty)` => byte-identical
//! output, whatever the machine.
//!
//! Two ways to get the data:
//!
//! - [`generate`] writes a source tree (what `cargo xtask gen` does):
//!
//!   ```text
//!   yelp/yelp_academic_dataset_{business,review,user,checkin,tip}.json
//!   google/metadata-sitios/{1,2,..}.json              (<= 20,000 places each)
//!   google/reviews-estados/review-<State>/{1,..}.json (<= 100,000 reviews each)
//!   manifest.json                                     (per-file line/record counts)
//!   dirty_manifest.jsonl                              (one line per injected fault)
//!   ```
//!
//! - [`records`] and [`all_records`] stream the lines of those files in memory, without
//!   touching the disk, and give the [`Manifest`] at the end.
//!
//! Every entity property is a pure function of `(seed, kind, index)`, so the generator
//! runs in constant memory; the review streams use one seeded ChaCha8 RNG each.
//! Progress (task `gen`, [`Unit::Items`] counting reviews) goes to the
//! [`GenOptions::reporter`].
//!
//! Its users are all in `xtask`: `cargo xtask gen`, the default sample of `cargo xtask
//! pipeline` (no `--source`), the benches, and the `xtask/tests` that build a lake from
//! generated sources. No library crate's tests use it.
//!
//! **Architecture invariant:** same `(reviews, seed, dirty)`, byte-identical output in
//! constant memory; the only reviewlake dependency is the schema crate (no lake, no
//! storage beyond the output folder).
//!
//! ```
//! use reviewlake_datagen::{GenOptions, generate};
//!
//! let dir = tempfile::tempdir()?;
//! let summary = generate(dir.path(), &GenOptions::new(200).seed(7))?;
//! assert_eq!(summary.reviews, 200);
//! assert!(dir.path().join("yelp/yelp_academic_dataset_review.json").is_file());
//! assert!(dir.path().join("manifest.json").is_file());
//! // The manifest tells what every file holds.
//! let reviews: u64 = summary
//!     .manifest
//!     .files
//!     .iter()
//!     .filter(|f| f.dataset == "yelp_review" || f.dataset == "google_review")
//!     .map(|f| f.records)
//!     .sum();
//! assert_eq!(reviews, 200);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod google;
mod manifest;
mod model;
mod sink;
mod stream;
mod text;
mod util;
mod world;
mod yelp;

#[cfg(test)]
mod tests;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use reviewlake_schema::progress::{Reporter, Unit};
use walkdir::WalkDir;

pub use manifest::{Entities, FileEntry, Manifest, Totals};
pub use reviewlake_schema::RawDataset;
pub use sink::Fault;
pub use stream::Records;

use sink::{DirtLog, FileStats};
use stream::DatasetRun;
use util::Zipf;
use world::K_ZIPF;

/// Places per Google metadata file (`metadata-sitios/N.json`).
pub const METADATA_PER_FILE: u64 = 20_000;
/// Reviews per Google review file (`reviews-estados/review-<State>/N.json`).
pub const REVIEWS_PER_FILE: u64 = 100_000;
/// Name of the progress task the generator reports.
pub const PROGRESS_TASK: &str = "gen";
/// File name of the manifest [`generate`] writes at the root.
pub const MANIFEST: &str = "manifest.json";
/// File name of the list of injected faults [`generate`] writes at the root.
pub const DIRTY_MANIFEST: &str = "dirty_manifest.jsonl";

/// Errors of the generator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatagenError {
    /// Creating, writing or removing a file or folder failed.
    #[error("cannot {op} {}", path.display())]
    Io {
        /// What was being done: `create`, `write`, `read`, `remove`.
        op: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// An option is out of its range.
    #[error("invalid option {name}: {message}")]
    InvalidOption {
        /// The option ([`GenOptions`] field name).
        name: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl DatagenError {
    /// Maps an I/O error of `op` on `path`.
    pub(crate) fn io(op: &'static str, path: impl AsRef<Path>) -> impl FnOnce(io::Error) -> Self {
        let path = path.as_ref().to_path_buf();
        move |source| DatagenError::Io { op, path, source }
    }
}

/// What to generate.
///
/// ```
/// use reviewlake_datagen::GenOptions;
/// let opts = GenOptions::new(1000).seed(7).dirty(0.01);
/// assert_eq!((opts.reviews, opts.seed, opts.dirty), (1000, 7, 0.01));
/// ```
#[derive(Clone, Debug)]
pub struct GenOptions {
    /// Total number of review records (Yelp + Google) before dirt. Every other count
    /// derives from it (see [`Entities::new`]).
    pub reviews: u64,
    /// The seed: same `(reviews, seed, dirty)`, same bytes.
    pub seed: u64,
    /// Fraction (0.0..=1.0) of data lines that get a [`Fault`] injected.
    pub dirty: f64,
    /// Where progress goes: task [`PROGRESS_TASK`], [`Unit::Items`] counting reviews.
    pub reporter: Reporter,
}

impl GenOptions {
    /// `reviews` clean reviews with seed 42 (the default of `cargo xtask gen`), no
    /// progress reporting.
    pub fn new(reviews: u64) -> GenOptions {
        GenOptions {
            reviews,
            seed: 42,
            dirty: 0.0,
            reporter: Reporter::none(),
        }
    }

    /// With seed `seed`.
    pub fn seed(mut self, seed: u64) -> GenOptions {
        self.seed = seed;
        self
    }

    /// With a fraction `rate` of faulty lines.
    pub fn dirty(mut self, rate: f64) -> GenOptions {
        self.dirty = rate;
        self
    }

    /// Reporting progress to `reporter`.
    pub fn reporter(mut self, reporter: Reporter) -> GenOptions {
        self.reporter = reporter;
        self
    }
}

/// What [`generate`] wrote.
#[derive(Clone, Debug)]
pub struct GenSummary {
    /// Data files: (path under the output folder, non-blank lines, bytes).
    pub files: Vec<(PathBuf, u64, u64)>,
    /// Review records generated (Yelp + Google), before dirt.
    pub reviews: u64,
    /// Yelp businesses + Google places.
    pub businesses: u64,
    /// Yelp users + Google users.
    pub users: u64,
    /// Number of injected faults (lines of `dirty_manifest.jsonl`).
    pub injected: u64,
    /// The content of `manifest.json`.
    pub manifest: Manifest,
}

/// One line of a generated file, as [`Records`] yields it.
///
/// The file is the concatenation of its lines, each followed by `\n` except a
/// truncated last line ([`Line::ends_with_newline`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// The dataset of the file.
    pub dataset: RawDataset,
    /// Path of the file relative to the tree root, `/`-separated
    /// (`yelp/yelp_academic_dataset_review.json`, `google/metadata-sitios/1.json`).
    pub path: Arc<str>,
    /// Line number in the file, from 1 (blank lines count).
    pub number: u64,
    /// The line without its newline: a JSON object, unless `fault` says otherwise.
    pub bytes: Vec<u8>,
    /// The fault injected into this line, as listed in `dirty_manifest.jsonl`.
    pub fault: Option<Fault>,
}

impl Line {
    /// The line as text, if it is UTF-8 (always, unless [`Fault::InvalidUtf8`]).
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.bytes).ok()
    }

    /// Whether the file has a `\n` after this line (all but a truncated last line).
    pub fn ends_with_newline(&self) -> bool {
        self.fault != Some(Fault::TruncatedLastLine)
    }

    /// Whether a reader must quarantine this line rather than load it into the raw
    /// table ([`Fault::quarantine`]).
    pub fn quarantined(&self) -> bool {
        self.fault.is_some_and(Fault::quarantine)
    }
}

/// Entity counts derived from the number of reviews.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    pub reviews: u64,
    pub yelp_reviews: u64,
    pub google_reviews: u64,
    pub yelp_businesses: u64,
    pub google_places: u64,
    pub yelp_users: u64,
    pub google_users: u64,
    pub tips: u64,
}

impl Plan {
    pub fn new(reviews: u64) -> Self {
        let yelp_reviews = (reviews as f64 * 0.45).round() as u64;
        Plan {
            reviews,
            yelp_reviews,
            google_reviews: reviews - yelp_reviews,
            yelp_businesses: (reviews / 25).max(20),
            google_places: (reviews / 25).max(20),
            yelp_users: (reviews / 6).max(30),
            google_users: (reviews / 6).max(30),
            tips: reviews / 10,
        }
    }
}

/// Shared generation context.
pub(crate) struct Gen {
    pub seed: u64,
    pub plan: Plan,
    pub dirty: f64,
    pub yelp_biz_pop: Zipf,
    pub yelp_user_pop: Zipf,
    pub google_place_pop: Zipf,
    pub google_user_pop: Zipf,
}

impl Gen {
    fn new(opts: &GenOptions) -> Result<Gen, DatagenError> {
        if !(0.0..=1.0).contains(&opts.dirty) {
            return Err(DatagenError::InvalidOption {
                name: "dirty",
                message: format!("must be within 0.0..=1.0, got {}", opts.dirty),
            });
        }
        let seed = opts.seed;
        let plan = Plan::new(opts.reviews);
        Ok(Gen {
            seed,
            plan,
            dirty: opts.dirty,
            yelp_biz_pop: Zipf::new(plan.yelp_businesses, 0.55, util::h(seed, K_ZIPF, 1)),
            yelp_user_pop: Zipf::new(plan.yelp_users, 0.6, util::h(seed, K_ZIPF, 2)),
            google_place_pop: Zipf::new(plan.google_places, 0.55, util::h(seed, K_ZIPF, 3)),
            google_user_pop: Zipf::new(plan.google_users, 0.6, util::h(seed, K_ZIPF, 4)),
        })
    }
}

/// Writes the source tree of `opts` under `out` (created if needed; see the crate docs
/// for the layout), with `manifest.json` and `dirty_manifest.jsonl`, and returns what it
/// wrote. Numbered Google part files left in `out` by an earlier, larger run are
/// removed; nothing else is touched.
///
/// ```
/// use reviewlake_datagen::{DIRTY_MANIFEST, GenOptions, Manifest, generate};
///
/// let dir = tempfile::tempdir()?;
/// let summary = generate(dir.path(), &GenOptions::new(300).seed(3).dirty(0.05))?;
/// assert!(summary.injected > 0);
/// let text = std::fs::read_to_string(dir.path().join(DIRTY_MANIFEST))?;
/// assert_eq!(text.lines().count() as u64, summary.injected);
/// let manifest: Manifest =
///     serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json"))?)?;
/// assert_eq!(manifest, summary.manifest);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn generate(out: impl AsRef<Path>, opts: &GenOptions) -> Result<GenSummary, DatagenError> {
    let out = out.as_ref();
    let g = Gen::new(opts)?;
    std::fs::create_dir_all(out).map_err(DatagenError::io("create", out))?;
    remove_stale(out)?;

    let reporter = &opts.reporter;
    reporter.start(PROGRESS_TASK, Some(g.plan.reviews), Unit::Items);
    let mut log = DirtLog::create(&out.join(DIRTY_MANIFEST))?;
    let mut files: Vec<FileStats> = Vec::new();
    let mut buf = Vec::with_capacity(4096);
    for ds in stream::ORDER {
        let mut run = DatasetRun::new(&g, ds, Some(out))?;
        while run.step(&g, &mut buf, &mut log, reporter)? {}
        files.extend(run.into_files());
    }
    reporter.finish(PROGRESS_TASK);
    let kind_counts = log.counts;
    let injected = log.total();
    log.finish()?;

    let manifest = Manifest::build(
        opts.reviews,
        opts.seed,
        opts.dirty,
        &g.plan,
        &files,
        &kind_counts,
    );
    let path = out.join(MANIFEST);
    let mut text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| DatagenError::io("write", &path)(e.into()))?;
    text.push('\n');
    std::fs::write(&path, text).map_err(DatagenError::io("write", &path))?;

    let plan = g.plan;
    Ok(GenSummary {
        files: files
            .iter()
            .map(|f| (out.join(&f.rel), f.lines, f.bytes))
            .collect(),
        reviews: plan.yelp_reviews + plan.google_reviews,
        businesses: plan.yelp_businesses + plan.google_places,
        users: plan.yelp_users + plan.google_users,
        injected,
        manifest,
    })
}

/// The lines of the files of one dataset, generated in memory: exactly the bytes
/// [`generate`] writes for that dataset with the same options. Fails only on invalid
/// options.
///
/// ```
/// use reviewlake_datagen::{GenOptions, RawDataset, records};
///
/// let mut reviews = records(&GenOptions::new(200).seed(7), RawDataset::YelpReview)?;
/// let first = reviews.next().expect("a review");
/// assert_eq!(first.path.as_ref(), "yelp/yelp_academic_dataset_review.json");
/// let json: serde_json::Value = serde_json::from_str(first.as_str().expect("UTF-8"))?;
/// assert!(json["stars"].is_number());
/// assert_eq!(reviews.by_ref().count() + 1, 90); // 45% of the reviews are Yelp's
/// // Once the stream is over, its manifest is complete.
/// let manifest = reviews.manifest();
/// assert_eq!(manifest.files.len(), 1);
/// assert_eq!(manifest.files[0].records, 90);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn records(opts: &GenOptions, dataset: RawDataset) -> Result<Records, DatagenError> {
    Records::new(opts, vec![dataset])
}

/// The lines of every file of the tree, generated in memory in the order [`generate`]
/// writes them (Yelp business, user, review, tip, checkin, then Google metadata and
/// reviews). [`Records::manifest`] is then the whole `manifest.json`, and the lines
/// with a [`Line::fault`] are the entries of `dirty_manifest.jsonl`.
///
/// ```
/// use reviewlake_datagen::{GenOptions, all_records};
///
/// let mut lines = all_records(&GenOptions::new(200).seed(7).dirty(0.05))?;
/// let faults = lines.by_ref().filter(|l| l.fault.is_some()).count() as u64;
/// let manifest = lines.manifest();
/// assert_eq!(manifest.injected_total, faults);
/// assert_eq!(manifest.datasets.len(), 7);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn all_records(opts: &GenOptions) -> Result<Records, DatagenError> {
    Records::new(opts, stream::ORDER.to_vec())
}

/// Remove numbered part files left over by a previous (larger) run, so the
/// directory only holds what the manifest lists. Nothing else is touched.
fn remove_stale(out: &Path) -> Result<(), DatagenError> {
    fn numbered_json(p: &Path) -> bool {
        p.extension().is_some_and(|e| e == "json")
            && p.file_stem()
                .and_then(|s| s.to_str())
                .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
    }
    fn is_state_dir(p: &Path) -> bool {
        p.is_dir()
            && p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("review-"))
    }
    fn walk_error(root: &Path) -> impl Fn(walkdir::Error) -> DatagenError {
        move |e| {
            let path = e.path().unwrap_or(root).to_path_buf();
            DatagenError::Io {
                op: "read",
                path,
                source: e.into(),
            }
        }
    }
    fn remove(p: &Path) -> Result<(), DatagenError> {
        std::fs::remove_file(p).map_err(DatagenError::io("remove", p))
    }

    let metadata = out.join("google").join("metadata-sitios");
    if metadata.is_dir() {
        let walk = WalkDir::new(&metadata)
            .min_depth(1)
            .max_depth(1)
            .follow_links(true);
        for e in walk {
            let p = e.map_err(walk_error(&metadata))?.into_path();
            if p.is_file() && numbered_json(&p) {
                remove(&p)?;
            }
        }
    }
    let reviews = out.join("google").join("reviews-estados");
    if reviews.is_dir() {
        // Contents first: a state folder comes after its files.
        let walk = WalkDir::new(&reviews)
            .min_depth(1)
            .max_depth(2)
            .follow_links(true)
            .contents_first(true);
        for e in walk {
            let e = e.map_err(walk_error(&reviews))?;
            let p = e.path();
            if e.depth() == 2 {
                if p.is_file() && numbered_json(p) && p.parent().is_some_and(is_state_dir) {
                    remove(p)?;
                }
            } else if is_state_dir(p) {
                // Drop the folder if it is now empty (state absent this run).
                let _ = std::fs::remove_dir(p);
            }
        }
    }
    Ok(())
}
