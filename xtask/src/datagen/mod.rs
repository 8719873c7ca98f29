//! `cargo xtask gen`: deterministic synthetic Yelp + Google Maps review dumps.
//!
//! Output layout under `out`:
//!
//! ```text
//! yelp/yelp_academic_dataset_{business,review,user,checkin,tip}.json
//! google/metadata-sitios/{1,2,..}.json            (<= 20,000 places each)
//! google/reviews-estados/review-<State>/{1,..}.json (<= 100,000 reviews each)
//! manifest.json                                   (per-file line/record counts)
//! dirty_manifest.jsonl                            (one line per injected defect)
//! ```
//!
//! Every entity property is a pure function of `(seed, kind, index)`, so the
//! generator runs in constant memory; the review streams use one seeded
//! ChaCha8 RNG each. Same `(reviews, seed, dirty)` => byte-identical files.

mod google;
mod model;
mod sink;
mod text;
mod util;
mod world;
mod yelp;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use sink::{DirtLog, FileStats, Kind};
use util::Zipf;
use world::K_ZIPF;

/// Options of `cargo xtask gen`.
#[derive(Clone, Debug)]
pub struct GenOptions {
    /// Total number of review records (Yelp + Google) before dirt.
    pub reviews: u64,
    /// Output directory.
    pub out: PathBuf,
    pub seed: u64,
    /// Fraction (0.0..=1.0) of data lines that get a defect injected.
    pub dirty: f64,
    /// Show a progress bar (by reviews written).
    pub progress: bool,
}

/// What `run` wrote.
#[derive(Clone, Debug)]
pub struct GenSummary {
    /// Data files: (path, non-blank lines, bytes).
    pub files: Vec<(PathBuf, u64, u64)>,
    /// Review records generated (Yelp + Google), before dirt.
    pub reviews: u64,
    /// Yelp businesses + Google places.
    pub businesses: u64,
    /// Yelp users + Google users.
    pub users: u64,
    /// Number of injected defects (lines of `dirty_manifest.jsonl`).
    pub injected: u64,
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
    pub out: PathBuf,
    pub yelp_biz_pop: Zipf,
    pub yelp_user_pop: Zipf,
    pub google_place_pop: Zipf,
    pub google_user_pop: Zipf,
    pub progress: Option<ProgressBar>,
}

pub const METADATA_PER_FILE: u64 = 20_000;
pub const REVIEWS_PER_FILE: u64 = 100_000;

/// Generate the dumps. See the module docs for the layout.
pub fn run(opts: &GenOptions) -> Result<GenSummary> {
    if !(0.0..=1.0).contains(&opts.dirty) {
        bail!("--dirty must be within 0.0..=1.0, got {}", opts.dirty);
    }
    let plan = Plan::new(opts.reviews);
    let out = opts.out.clone();
    std::fs::create_dir_all(&out).with_context(|| format!("create {}", out.display()))?;
    remove_stale(&out)?;

    let progress = opts.progress.then(|| {
        let pb = ProgressBar::new(plan.reviews);
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} gen [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} reviews ({per_sec}, eta {eta})",
            )
            .expect("progress template"),
        );
        pb
    });
    let seed = opts.seed;
    let g = Gen {
        seed,
        plan,
        dirty: opts.dirty,
        out: out.clone(),
        yelp_biz_pop: Zipf::new(plan.yelp_businesses, 0.55, util::h(seed, K_ZIPF, 1)),
        yelp_user_pop: Zipf::new(plan.yelp_users, 0.6, util::h(seed, K_ZIPF, 2)),
        google_place_pop: Zipf::new(plan.google_places, 0.55, util::h(seed, K_ZIPF, 3)),
        google_user_pop: Zipf::new(plan.google_users, 0.6, util::h(seed, K_ZIPF, 4)),
        progress,
    };

    let mut log = DirtLog::create(&out.join("dirty_manifest.jsonl"))?;
    let mut files: Vec<FileStats> = vec![
        yelp::businesses(&g, &mut log)?,
        yelp::users(&g, &mut log)?,
        yelp::reviews(&g, &mut log)?,
        yelp::tips(&g, &mut log)?,
        yelp::checkins(&g, &mut log)?,
    ];
    files.extend(google::metadata(&g, &mut log)?);
    files.extend(google::reviews(&g, &mut log)?);
    if let Some(pb) = &g.progress {
        pb.finish();
    }
    let kind_counts = log.counts;
    let injected = log.total();
    log.finish()?;

    write_manifest(opts, &plan, &files, &kind_counts)?;

    Ok(GenSummary {
        files: files
            .iter()
            .map(|f| (out.join(&f.rel), f.lines, f.bytes))
            .collect(),
        reviews: plan.yelp_reviews + plan.google_reviews,
        businesses: plan.yelp_businesses + plan.google_places,
        users: plan.yelp_users + plan.google_users,
        injected,
    })
}

#[derive(Serialize)]
struct Manifest<'a> {
    reviews: u64,
    seed: u64,
    dirty: f64,
    files: Vec<FileEntry<'a>>,
    /// Injection counts per kind (all kinds listed).
    injected: BTreeMap<&'static str, u64>,
    injected_total: u64,
    dirty_manifest: &'static str,
    entities: Entities,
    datasets: BTreeMap<&'static str, Totals>,
    generator: &'static str,
}

#[derive(Serialize)]
struct FileEntry<'a> {
    path: &'a str,
    dataset: &'static str,
    /// Non-blank lines.
    lines: u64,
    /// Lines expected to parse into the raw table (lines - quarantined).
    records: u64,
    bytes: u64,
    /// Clean records generated before dirt (duplicates/blank lines excluded).
    generated: u64,
    /// Injection counts per kind in this file (non-zero kinds only).
    injected: BTreeMap<&'static str, u64>,
}

#[derive(Serialize)]
struct Entities {
    yelp_reviews: u64,
    google_reviews: u64,
    yelp_businesses: u64,
    google_places: u64,
    yelp_users: u64,
    google_users: u64,
    yelp_tips: u64,
}

#[derive(Serialize, Default)]
struct Totals {
    files: u64,
    lines: u64,
    records: u64,
    bytes: u64,
    generated: u64,
}

fn kind_map(counts: &[u64; 10], all: bool) -> BTreeMap<&'static str, u64> {
    Kind::ALL
        .iter()
        .map(|k| (k.name(), counts[*k as usize]))
        .filter(|(_, c)| all || *c > 0)
        .collect()
}

fn write_manifest(
    opts: &GenOptions,
    plan: &Plan,
    files: &[FileStats],
    kinds: &[u64; 10],
) -> Result<()> {
    let mut datasets: BTreeMap<&'static str, Totals> = BTreeMap::new();
    for f in files {
        let t = datasets.entry(f.dataset.table_name()).or_default();
        t.files += 1;
        t.lines += f.lines;
        t.records += f.records;
        t.bytes += f.bytes;
        t.generated += f.generated;
    }
    let manifest = Manifest {
        reviews: opts.reviews,
        seed: opts.seed,
        dirty: opts.dirty,
        files: files
            .iter()
            .map(|f| FileEntry {
                path: &f.rel,
                dataset: f.dataset.table_name(),
                lines: f.lines,
                records: f.records,
                bytes: f.bytes,
                generated: f.generated,
                injected: kind_map(&f.injected, false),
            })
            .collect(),
        injected: kind_map(kinds, true),
        injected_total: kinds.iter().sum(),
        dirty_manifest: "dirty_manifest.jsonl",
        entities: Entities {
            yelp_reviews: plan.yelp_reviews,
            google_reviews: plan.google_reviews,
            yelp_businesses: plan.yelp_businesses,
            google_places: plan.google_places,
            yelp_users: plan.yelp_users,
            google_users: plan.google_users,
            yelp_tips: plan.tips,
        },
        datasets,
        generator: "reviewlake xtask gen",
    };
    let path = opts.out.join("manifest.json");
    let mut text = serde_json::to_string_pretty(&manifest)?;
    text.push('\n');
    std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))?;
    Ok(())
}

/// Remove numbered part files left over by a previous (larger) run, so the
/// directory only holds what the manifest lists. Nothing else is touched.
fn remove_stale(out: &Path) -> Result<()> {
    fn numbered_json(p: &Path) -> bool {
        p.extension().is_some_and(|e| e == "json")
            && p.file_stem()
                .and_then(|s| s.to_str())
                .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
    }
    fn clean_dir(dir: &Path) -> Result<()> {
        if !dir.is_dir() {
            return Ok(());
        }
        for e in std::fs::read_dir(dir)? {
            let p = e?.path();
            if p.is_file() && numbered_json(&p) {
                std::fs::remove_file(&p).with_context(|| format!("remove {}", p.display()))?;
            }
        }
        Ok(())
    }
    clean_dir(&out.join("google").join("metadata-sitios"))?;
    let reviews = out.join("google").join("reviews-estados");
    if reviews.is_dir() {
        for e in std::fs::read_dir(&reviews)? {
            let p = e?.path();
            let is_state_dir = p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("review-"));
            if is_state_dir {
                clean_dir(&p)?;
                // Drop the folder if it is now empty (state absent this run).
                let _ = std::fs::remove_dir(&p);
            }
        }
    }
    Ok(())
}

impl Gen {
    pub(crate) fn tick(&self, n: u64) {
        if let Some(pb) = &self.progress {
            pb.inc(n);
        }
    }
}
