//! Site selection: where in a state could a new restaurant of a chosen category open?
//!
//! For one state at a time ([`select_state`], or [`select_all`] grouping by
//! [`Place::state`]):
//!
//! 1. project the restaurants' coordinates onto a local plane in km ([`LocalPlane`]:
//!    equirectangular around the state's mean latitude);
//! 2. cluster them — k-means (linfa-clustering, seeded) with k chosen by the best mean
//!    silhouette over a range, or DBSCAN (eps in km) as the alternative [`Method`];
//! 3. describe each cluster: centroid (back to lat/lon), radius (90th percentile of the
//!    member distances to the centroid, km), members, review volume and growth, mean
//!    sentiment and stars, members of the chosen category;
//! 4. score it: demand (volume, growth), satisfaction gap (sentiment and stars below the
//!    state's) and competition (category members), each min-max normalised across the
//!    state's clusters, combined with [`Weights`]; rank, and explain in words
//!    ([`CandidateArea::reasons`]).
//!
//! Definitions: `docs/MODELS.md`, section "Site selection".

mod silhouette;

use std::collections::{BTreeMap, BTreeSet};

use linfa::prelude::*;
use linfa_clustering::{Dbscan, KMeans};
use ndarray::Array2;
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use silhouette::{sample_indices, silhouette};

use crate::tuning::{self, BoxError, Direction, Search, SearchSpace, Study, Trial};

/// Mean Earth radius (IUGG), km.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Errors of site selection.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// No place with valid coordinates in the state.
    #[error("state {0}: no place with valid coordinates")]
    NoPlaces(String),
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The clustering library failed.
    #[error("clustering: {0}")]
    Clustering(String),
    /// A tuning error.
    #[error(transparent)]
    Tuning(#[from] tuning::TuningError),
}

/// One restaurant: what the lead reads from `features/business_features` (key, state,
/// latitude, longitude, reviews, mean_sentiment, mean_stars, the `cat_<category>`
/// one-hot) and `features/business_month` (reviews of the last 12 months and of the 12
/// before, see [`yearly_reviews`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// `business_key`.
    pub key: i64,
    /// State code.
    pub state: String,
    /// Degrees north.
    pub latitude: f64,
    /// Degrees east.
    pub longitude: f64,
    /// All-time reviews (weights the means below).
    pub reviews: f64,
    /// Reviews in the 12 months ending at the panel's last month (demand volume).
    pub reviews_last_year: f64,
    /// Reviews in the 12 months before those (growth denominator).
    pub reviews_prev_year: f64,
    /// Mean VADER compound of its reviews.
    pub mean_sentiment: Option<f64>,
    /// Mean stars of its reviews.
    pub mean_stars: Option<f64>,
    /// Whether it serves the chosen category (`cat_<category> = 1`).
    pub serves_category: bool,
}

/// Column of [`yearly_reviews_sql`]: reviews of the last 12 months (`DOUBLE`).
pub const REVIEWS_LAST_YEAR: &str = "reviews_last_year";
/// Column of [`yearly_reviews_sql`]: reviews of the 12 months before those (`DOUBLE`).
pub const REVIEWS_PREV_YEAR: &str = "reviews_prev_year";

/// [`yearly_reviews`] as a DataFusion aggregate over the `business_month` table (what
/// the ml stage runs, so the panel is never held in memory): one row per business,
/// `business_key`, [`REVIEWS_LAST_YEAR`] and [`REVIEWS_PREV_YEAR`]. Months are the first
/// days of months, as the features stage writes them; a null month counts in neither
/// window.
pub fn yearly_reviews_sql() -> String {
    use reviewlake_schema::{col, features as ft};
    let (key, month, reviews) = (col::BUSINESS_KEY, col::MONTH, col::REVIEWS);
    let table = ft::BUSINESS_MONTH;
    format!(
        "SELECT b.{key} AS {key}, \
         CAST(SUM(CASE WHEN b.{month} > l.last - INTERVAL '12 months' THEN b.{reviews} ELSE 0 END) AS DOUBLE) AS {REVIEWS_LAST_YEAR}, \
         CAST(SUM(CASE WHEN b.{month} <= l.last - INTERVAL '12 months' AND b.{month} > l.last - INTERVAL '24 months' THEN b.{reviews} ELSE 0 END) AS DOUBLE) AS {REVIEWS_PREV_YEAR} \
         FROM {table} b CROSS JOIN (SELECT max({month}) AS last FROM {table}) l \
         GROUP BY b.{key}"
    )
}

/// Reviews of the last 12 months and of the 12 before, per business, from
/// `business_month` rows `(business_key, month, reviews)`. "Last" ends at the latest
/// month of the whole panel, so every business is measured over the same window.
/// The stage runs it as a plan, [`yearly_reviews_sql`]; this is its in-memory
/// definition (a test checks that both agree on a pipeline-built lake).
pub fn yearly_reviews(rows: &[(i64, chrono::NaiveDate, i64)]) -> BTreeMap<i64, (f64, f64)> {
    let idx = |d: &chrono::NaiveDate| crate::growth::period_index(*d, 1);
    let Some(last) = rows.iter().map(|r| idx(&r.1)).max() else {
        return BTreeMap::new();
    };
    let mut out: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for (key, month, reviews) in rows {
        let age = last - idx(month);
        let e = out.entry(*key).or_default();
        if (0..12).contains(&age) {
            e.0 += *reviews as f64;
        } else if (12..24).contains(&age) {
            e.1 += *reviews as f64;
        }
    }
    out
}

/// Equirectangular projection around a reference point: `x = R·Δλ·cos φ0`, `y = R·Δφ`
/// (km). Within a US state (a few hundred km) the distortion is a few percent; longitudes
/// are not wrapped at ±180°.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocalPlane {
    /// Reference latitude, degrees (the state's mean).
    pub lat0: f64,
    /// Reference longitude, degrees (the state's mean).
    pub lon0: f64,
}

impl LocalPlane {
    /// Centred on the mean of the given coordinates (None when empty).
    pub fn around(coords: impl IntoIterator<Item = (f64, f64)>) -> Option<Self> {
        let (mut n, mut la, mut lo) = (0.0, 0.0, 0.0);
        for (lat, lon) in coords {
            n += 1.0;
            la += lat;
            lo += lon;
        }
        (n > 0.0).then(|| LocalPlane {
            lat0: la / n,
            lon0: lo / n,
        })
    }

    /// (x, y) km of a (latitude, longitude).
    pub fn project(&self, lat: f64, lon: f64) -> (f64, f64) {
        let c = self.lat0.to_radians().cos();
        (
            EARTH_RADIUS_KM * (lon - self.lon0).to_radians() * c,
            EARTH_RADIUS_KM * (lat - self.lat0).to_radians(),
        )
    }

    /// (latitude, longitude) of a point (x, y) km.
    pub fn unproject(&self, x: f64, y: f64) -> (f64, f64) {
        let c = self.lat0.to_radians().cos().max(1e-9);
        (
            self.lat0 + (y / EARTH_RADIUS_KM).to_degrees(),
            self.lon0 + (x / (EARTH_RADIUS_KM * c)).to_degrees(),
        )
    }
}

/// The clustering method.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Method {
    /// k-means for every k in `k_min..=min(k_max, n / min_cluster_size, distinct
    /// coordinates)`, keeping the k with the best mean silhouette (ties: smaller k).
    /// With fewer places than `2 * min_cluster_size`, the state is one area.
    KMeans {
        /// Smallest k tried (>= 2).
        k_min: usize,
        /// Largest k tried.
        k_max: usize,
        /// Places per cluster the range allows on average (k <= n / this).
        min_cluster_size: usize,
        /// k-means restarts per k (best inertia kept).
        n_runs: usize,
    },
    /// DBSCAN: a cluster is a dense region where points have at least `min_points`
    /// neighbours (themselves included) within `eps_km`; other points are noise.
    Dbscan {
        /// Neighbourhood radius, km.
        eps_km: f64,
        /// Minimum neighbours of a core point (>= 2).
        min_points: usize,
    },
}

impl Method {
    /// The default k-means range: 2..=15, at least 5 places per cluster, 10 restarts.
    pub fn kmeans() -> Self {
        Method::KMeans {
            k_min: 2,
            k_max: 15,
            min_cluster_size: 5,
            n_runs: 10,
        }
    }

    /// k-means with a fixed k.
    pub fn kmeans_fixed(k: usize) -> Self {
        Method::KMeans {
            k_min: k,
            k_max: k,
            min_cluster_size: 1,
            n_runs: 10,
        }
    }

    /// DBSCAN with `eps_km` and `min_points`.
    pub fn dbscan(eps_km: f64, min_points: usize) -> Self {
        Method::Dbscan { eps_km, min_points }
    }

    fn name(&self) -> &'static str {
        match self {
            Method::KMeans { .. } => "kmeans",
            Method::Dbscan { .. } => "dbscan",
        }
    }
}

/// Weights of the opportunity score's components (each in [0, 1] after normalisation);
/// the score is their weighted mean. Non-negative, not all zero.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// Review volume of the last 12 months (log scale).
    pub volume: f64,
    /// Review growth, last 12 months vs the 12 before.
    pub growth: f64,
    /// How far mean sentiment and stars fall below the state's.
    pub satisfaction_gap: f64,
    /// Few restaurants of the chosen category (1 = fewest in the state).
    pub low_competition: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            volume: 0.30,
            growth: 0.20,
            satisfaction_gap: 0.30,
            low_competition: 0.20,
        }
    }
}

/// Configuration of [`select_state`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteConfig {
    /// Clustering method.
    pub method: Method,
    /// Score weights.
    pub weights: Weights,
    /// Quantile of member distances reported as the radius (0.9).
    pub radius_quantile: f64,
    /// How the category reads in the reasons ("Mexican" → "2 Mexican restaurants").
    pub category_label: String,
    /// Seed (k-means initialisation, silhouette sample).
    pub seed: u64,
    /// Largest number of points the silhouette is computed on (a seeded sample beyond:
    /// it is quadratic).
    pub silhouette_sample: usize,
    /// Largest number of points k-means is fitted on (a seeded sample beyond; every
    /// point is then labelled by its nearest centre). k-means' cost grows with the
    /// points × k × restarts: at 7M generated reviews (250k restaurants) site selection
    /// took 65 s on every point and 12 s with this sample (docs/BENCHMARKS.md). The
    /// silhouette is computed on its own sample ([`SiteConfig::silhouette_sample`]).
    #[serde(default = "default_fit_sample")]
    pub fit_sample: usize,
}

/// The default [`SiteConfig::fit_sample`].
pub const DEFAULT_FIT_SAMPLE: usize = 5_000;

fn default_fit_sample() -> usize {
    DEFAULT_FIT_SAMPLE
}

impl Default for SiteConfig {
    fn default() -> Self {
        SiteConfig {
            method: Method::kmeans(),
            weights: Weights::default(),
            radius_quantile: 0.9,
            category_label: String::new(),
            seed: 42,
            silhouette_sample: 2000,
            fit_sample: DEFAULT_FIT_SAMPLE,
        }
    }
}

/// One candidate area (a cluster), ranked within its state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CandidateArea {
    /// State code.
    pub state: String,
    /// 1 = best opportunity in the state.
    pub rank: i64,
    /// Cluster id within the state's clustering (0-based).
    pub cluster: i64,
    /// `kmeans` or `dbscan`.
    pub method: String,
    /// Centroid latitude (mean of the members on the plane, projected back).
    pub centroid_latitude: f64,
    /// Centroid longitude.
    pub centroid_longitude: f64,
    /// Quantile (`radius_quantile`) of the members' distances to the centroid, km.
    pub radius_km: f64,
    /// Restaurants in the area.
    pub members: i64,
    /// Restaurants of the chosen category in the area.
    pub category_members: i64,
    /// Reviews in the last 12 months, all members.
    pub reviews_per_year: f64,
    /// `(last 12 months - 12 before) / 12 before`; null when the 12 before had none.
    pub review_growth: Option<f64>,
    /// Review-weighted mean sentiment of the members.
    pub mean_sentiment: Option<f64>,
    /// Review-weighted mean stars of the members.
    pub mean_stars: Option<f64>,
    /// Normalised volume component.
    pub volume_score: f64,
    /// Normalised growth component.
    pub growth_score: f64,
    /// Normalised satisfaction-gap component.
    pub satisfaction_gap_score: f64,
    /// Normalised low-competition component.
    pub low_competition_score: f64,
    /// Weighted mean of the four components, in [0, 1].
    pub opportunity_score: f64,
    /// Why, in words: demand; satisfaction; competition (joined with "; ").
    pub reasons: String,
    /// Business keys of the members.
    pub member_keys: Vec<i64>,
}

/// The silhouette of one clustering tried (one k, or the DBSCAN run).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SilhouetteTrial {
    /// State code.
    pub state: String,
    /// `kmeans` or `dbscan`.
    pub method: String,
    /// Clusters (k for k-means; found clusters for DBSCAN).
    pub k: i64,
    /// Mean silhouette (of the non-noise points for DBSCAN); null when undefined.
    pub silhouette: Option<f64>,
    /// Whether this clustering was kept.
    pub chosen: bool,
}

/// Where each valid place went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaceAssignment {
    /// Business key.
    pub key: i64,
    /// Cluster id; null for DBSCAN noise.
    pub cluster: Option<i64>,
}

/// Row accounting: `places_in = clustered + noise + invalid`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteAccounting {
    /// Places given for the state.
    pub places_in: i64,
    /// Places in a cluster.
    pub clustered: i64,
    /// DBSCAN noise.
    pub noise: i64,
    /// Places left out for invalid coordinates (NaN, |lat| > 90, |lon| > 180).
    pub invalid: i64,
}

/// The result for one state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateSites {
    /// State code.
    pub state: String,
    /// `kmeans` or `dbscan`.
    pub method: String,
    /// Clusters kept.
    pub k: i64,
    /// Silhouette of the kept clustering (null when undefined, e.g. one cluster).
    pub silhouette: Option<f64>,
    /// Every clustering tried, with its silhouette.
    pub trials: Vec<SilhouetteTrial>,
    /// Candidate areas, best first.
    pub candidates: Vec<CandidateArea>,
    /// Cluster of every valid place (input order).
    pub assignments: Vec<PlaceAssignment>,
    /// Keys of places left out for invalid coordinates.
    pub invalid_keys: Vec<i64>,
    /// Row accounting.
    pub accounting: SiteAccounting,
    /// Remarks (fallbacks taken).
    pub notes: Vec<String>,
}

fn valid_coords(p: &Place) -> bool {
    p.latitude.is_finite()
        && p.longitude.is_finite()
        && p.latitude.abs() <= 90.0
        && p.longitude.abs() <= 180.0
}

impl SiteConfig {
    fn validate(&self) -> Result<(), SiteError> {
        let w = &self.weights;
        let ws = [w.volume, w.growth, w.satisfaction_gap, w.low_competition];
        if ws.iter().any(|v| !v.is_finite() || *v < 0.0) || ws.iter().sum::<f64>() <= 0.0 {
            return Err(SiteError::Config(
                "weights must be >= 0 and not all 0".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.radius_quantile) {
            return Err(SiteError::Config(
                "radius_quantile must be in [0, 1]".into(),
            ));
        }
        if self.silhouette_sample < 3 {
            return Err(SiteError::Config("silhouette_sample must be >= 3".into()));
        }
        if self.fit_sample < 2 {
            return Err(SiteError::Config("fit_sample must be >= 2".into()));
        }
        match &self.method {
            Method::KMeans {
                k_min,
                k_max,
                min_cluster_size,
                n_runs,
            } => {
                if *k_min < 1 || k_max < k_min || *min_cluster_size < 1 || *n_runs < 1 {
                    return Err(SiteError::Config(
                        "k-means needs 1 <= k_min <= k_max, min_cluster_size >= 1, n_runs >= 1"
                            .into(),
                    ));
                }
            }
            Method::Dbscan { eps_km, min_points } => {
                if !(eps_km.is_finite() && *eps_km > 0.0) || *min_points < 2 {
                    return Err(SiteError::Config(
                        "DBSCAN needs eps_km > 0 and min_points >= 2".into(),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A clustering of the valid places: dense labels (None = noise), the silhouette trials.
struct Clustering {
    labels: Vec<Option<usize>>,
    k: usize,
    silhouette: Option<f64>,
    trials: Vec<(usize, Option<f64>)>,
    notes: Vec<String>,
}

/// One k tried: k, the dense labels, the silhouette.
type KTrial = (usize, Vec<usize>, Option<f64>);

/// The points k-means is fitted on (built once, shared by every k).
type FitPoints = DatasetBase<Array2<f64>, ndarray::Array1<()>>;

/// k-means with k clusters fitted on `fit_on`, every point of `xy` labelled by its
/// nearest centre; labels made dense (empty clusters dropped).
fn kmeans_labels(
    xy: &Array2<f64>,
    fit_on: &FitPoints,
    k: usize,
    n_runs: usize,
    seed: u64,
) -> Result<Vec<usize>, SiteError> {
    let rng = Xoshiro256Plus::seed_from_u64(seed);
    let model = KMeans::params_with_rng(k, rng)
        .n_runs(n_runs)
        .max_n_iterations(300)
        .tolerance(1e-6)
        .fit(fit_on)
        .map_err(|e| SiteError::Clustering(format!("k-means (k = {k}): {e}")))?;
    let raw = model.predict(xy);
    Ok(densify(raw.iter().copied()))
}

fn densify(labels: impl Iterator<Item = usize>) -> Vec<usize> {
    let raw: Vec<usize> = labels.collect();
    let ids: BTreeSet<usize> = raw.iter().copied().collect();
    let map: BTreeMap<usize, usize> = ids.into_iter().enumerate().map(|(i, l)| (l, i)).collect();
    raw.iter().map(|l| map[l]).collect()
}

fn sampled_silhouette(xy: &Array2<f64>, labels: &[usize], sample: &[usize]) -> Option<f64> {
    if sample.len() == xy.nrows() {
        return silhouette(xy.view(), labels);
    }
    let sub = xy.select(ndarray::Axis(0), sample);
    let l: Vec<usize> = sample.iter().map(|&i| labels[i]).collect();
    silhouette(sub.view(), &l)
}

fn distinct_points(xy: &Array2<f64>) -> usize {
    let mut v: Vec<(i64, i64)> = xy
        .rows()
        .into_iter()
        // 1 m grid: closer points count as the same location.
        .map(|r| {
            (
                (r[0] * 1000.0).round() as i64,
                (r[1] * 1000.0).round() as i64,
            )
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v.len()
}

fn cluster(xy: &Array2<f64>, config: &SiteConfig) -> Result<Clustering, SiteError> {
    let n = xy.nrows();
    let sample = sample_indices(n, config.silhouette_sample, config.seed);
    match &config.method {
        Method::KMeans {
            k_min,
            k_max,
            min_cluster_size,
            n_runs,
        } => {
            let distinct = distinct_points(xy);
            let hi = (*k_max).min(n / min_cluster_size).min(distinct);
            let lo = (*k_min).max(2);
            if hi < lo {
                let note = format!(
                    "one area: {n} place(s), {distinct} distinct location(s) allow no k in \
                     {k_min}..={k_max} with {min_cluster_size} places per cluster"
                );
                return Ok(Clustering {
                    labels: vec![Some(0); n],
                    k: 1,
                    silhouette: None,
                    trials: Vec::new(),
                    notes: vec![note],
                });
            }
            // A seeded sample to fit on (every point when there are no more).
            let fit_rows = sample_indices(n, config.fit_sample, config.seed.wrapping_add(1));
            let fit_on = FitPoints::from(if fit_rows.len() == n {
                xy.clone()
            } else {
                xy.select(ndarray::Axis(0), &fit_rows)
            });
            let results: Vec<Result<KTrial, SiteError>> = (lo..=hi)
                .into_par_iter()
                .map(|k| {
                    let seed = tuning::fold_seed(config.seed, k);
                    let labels = kmeans_labels(xy, &fit_on, k, *n_runs, seed)?;
                    let s = sampled_silhouette(xy, &labels, &sample);
                    Ok((k, labels, s))
                })
                .collect();
            let mut trials = Vec::new();
            let mut best: Option<(usize, Vec<usize>, f64)> = None;
            for r in results {
                let (k, labels, s) = r?;
                trials.push((k, s));
                if let Some(s) = s
                    && best.as_ref().is_none_or(|b| s > b.2)
                {
                    best = Some((k, labels, s));
                }
            }
            match best {
                Some((k, labels, s)) => Ok(Clustering {
                    labels: labels.into_iter().map(Some).collect(),
                    k,
                    silhouette: Some(s),
                    trials,
                    notes: Vec::new(),
                }),
                None => Ok(Clustering {
                    labels: vec![Some(0); n],
                    k: 1,
                    silhouette: None,
                    trials,
                    notes: vec!["one area: no k gave a defined silhouette".into()],
                }),
            }
        }
        Method::Dbscan { eps_km, min_points } => {
            let params = Dbscan::params(*min_points)
                .tolerance(*eps_km)
                .check()
                .map_err(|e| SiteError::Config(format!("DBSCAN: {e}")))?;
            let raw = params.transform(xy);
            let ids: BTreeSet<usize> = raw.iter().flatten().copied().collect();
            let map: BTreeMap<usize, usize> =
                ids.iter().enumerate().map(|(i, l)| (*l, i)).collect();
            let labels: Vec<Option<usize>> = raw.iter().map(|l| l.map(|l| map[&l])).collect();
            let k = map.len();
            // Silhouette over the clustered points only.
            let kept: Vec<usize> = (0..n).filter(|&i| labels[i].is_some()).collect();
            let s = if kept.is_empty() {
                None
            } else {
                let sub = xy.select(ndarray::Axis(0), &kept);
                let l: Vec<usize> = kept.iter().map(|&i| labels[i].unwrap_or(0)).collect();
                let sample = sample_indices(kept.len(), config.silhouette_sample, config.seed);
                sampled_silhouette(&sub, &l, &sample)
            };
            let mut notes = Vec::new();
            if k == 0 {
                notes.push(format!(
                    "no dense area: no place has {min_points} neighbours within {eps_km} km"
                ));
            }
            Ok(Clustering {
                labels,
                k,
                silhouette: s,
                trials: vec![(k, s)],
                notes,
            })
        }
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Review-weighted mean of `values` (weights = all-time reviews; unweighted when every
/// weight is 0).
fn weighted_mean<'a>(items: impl Iterator<Item = (&'a Place, Option<f64>)> + Clone) -> Option<f64> {
    let (mut s, mut w, mut s0, mut n0) = (0.0, 0.0, 0.0, 0.0);
    for (p, v) in items {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            let wt = if p.reviews.is_finite() {
                p.reviews.max(0.0)
            } else {
                0.0
            };
            s += wt * v;
            w += wt;
            s0 += v;
            n0 += 1.0;
        }
    }
    if w > 0.0 {
        Some(s / w)
    } else if n0 > 0.0 {
        Some(s0 / n0)
    } else {
        None
    }
}

/// Min-max normalisation to [0, 1]; all values 0.5 when they are equal.
fn minmax(v: &[f64]) -> Vec<f64> {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // Also catches NaN bounds (comparisons with NaN are false).
    if (hi - lo).partial_cmp(&1e-12) != Some(std::cmp::Ordering::Greater) {
        return vec![0.5; v.len()];
    }
    v.iter().map(|x| (x - lo) / (hi - lo)).collect()
}

fn growth_of(last: f64, prev: f64) -> Option<f64> {
    (prev > 0.0).then(|| (last - prev) / prev)
}

fn fmt_count(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

fn level(score: f64, high: &'static str, mid: &'static str, low: &'static str) -> &'static str {
    if score >= 2.0 / 3.0 {
        high
    } else if score < 1.0 / 3.0 {
        low
    } else {
        mid
    }
}

/// Clusters one state's restaurants and ranks the clusters as candidate areas.
///
/// Every place given is taken as the state's (`state` labels the output). Degenerate
/// inputs do not panic: no valid place is an error; fewer places than a two-cluster
/// k-means allows, or a single distinct location, gives one area; a DBSCAN run finding
/// no dense region gives no candidate (every place noise).
pub fn select_state(
    state: &str,
    places: &[Place],
    config: &SiteConfig,
) -> Result<StateSites, SiteError> {
    config.validate()?;
    let valid: Vec<&Place> = places.iter().filter(|p| valid_coords(p)).collect();
    let invalid_keys: Vec<i64> = places
        .iter()
        .filter(|p| !valid_coords(p))
        .map(|p| p.key)
        .collect();
    let Some(plane) = LocalPlane::around(valid.iter().map(|p| (p.latitude, p.longitude))) else {
        return Err(SiteError::NoPlaces(state.to_string()));
    };
    let n = valid.len();
    let mut xy = Array2::<f64>::zeros((n, 2));
    for (i, p) in valid.iter().enumerate() {
        let (x, y) = plane.project(p.latitude, p.longitude);
        xy[[i, 0]] = x;
        xy[[i, 1]] = y;
    }
    let clustering = cluster(&xy, config)?;
    let method = config.method.name().to_string();

    // State baselines.
    let state_sent = weighted_mean(valid.iter().map(|p| (*p, p.mean_sentiment)));
    let state_stars = weighted_mean(valid.iter().map(|p| (*p, p.mean_stars)));
    let state_last: f64 = valid.iter().map(|p| p.reviews_last_year.max(0.0)).sum();
    let state_prev: f64 = valid.iter().map(|p| p.reviews_prev_year.max(0.0)).sum();
    let state_growth = growth_of(state_last, state_prev).unwrap_or(0.0);

    struct Stats {
        members: Vec<usize>,
        centroid: (f64, f64),
        radius: f64,
        last: f64,
        growth: Option<f64>,
        sent: Option<f64>,
        stars: Option<f64>,
        category: usize,
    }
    let mut stats = Vec::with_capacity(clustering.k);
    for c in 0..clustering.k {
        let members: Vec<usize> = (0..n)
            .filter(|&i| clustering.labels[i] == Some(c))
            .collect();
        if members.is_empty() {
            continue;
        }
        let m = members.len() as f64;
        let cx = members.iter().map(|&i| xy[[i, 0]]).sum::<f64>() / m;
        let cy = members.iter().map(|&i| xy[[i, 1]]).sum::<f64>() / m;
        let mut d: Vec<f64> = members
            .iter()
            .map(|&i| ((xy[[i, 0]] - cx).powi(2) + (xy[[i, 1]] - cy).powi(2)).sqrt())
            .collect();
        d.sort_by(f64::total_cmp);
        let last: f64 = members
            .iter()
            .map(|&i| valid[i].reviews_last_year.max(0.0))
            .sum();
        let prev: f64 = members
            .iter()
            .map(|&i| valid[i].reviews_prev_year.max(0.0))
            .sum();
        stats.push(Stats {
            centroid: (cx, cy),
            radius: quantile(&d, config.radius_quantile),
            last,
            growth: growth_of(last, prev),
            sent: weighted_mean(members.iter().map(|&i| (valid[i], valid[i].mean_sentiment))),
            stars: weighted_mean(members.iter().map(|&i| (valid[i], valid[i].mean_stars))),
            category: members
                .iter()
                .filter(|&&i| valid[i].serves_category)
                .count(),
            members,
        });
    }

    // Components, normalised across the state's clusters.
    let vol = minmax(&stats.iter().map(|s| s.last.ln_1p()).collect::<Vec<_>>());
    let gro = minmax(
        &stats
            .iter()
            .map(|s| s.growth.unwrap_or(state_growth))
            .collect::<Vec<_>>(),
    );
    let gap_sent = minmax(
        &stats
            .iter()
            .map(|s| state_sent.unwrap_or(0.0) - s.sent.or(state_sent).unwrap_or(0.0))
            .collect::<Vec<_>>(),
    );
    let gap_stars = minmax(
        &stats
            .iter()
            .map(|s| state_stars.unwrap_or(0.0) - s.stars.or(state_stars).unwrap_or(0.0))
            .collect::<Vec<_>>(),
    );
    let comp = minmax(&stats.iter().map(|s| s.category as f64).collect::<Vec<_>>());
    let w = &config.weights;
    let wsum = w.volume + w.growth + w.satisfaction_gap + w.low_competition;
    let label = if config.category_label.trim().is_empty() {
        "category".to_string()
    } else {
        config.category_label.trim().to_string()
    };

    let mut candidates: Vec<CandidateArea> = stats
        .iter()
        .enumerate()
        .map(|(c, s)| {
            let gap = (gap_sent[c] + gap_stars[c]) / 2.0;
            let low_comp = 1.0 - comp[c];
            let score = (w.volume * vol[c]
                + w.growth * gro[c]
                + w.satisfaction_gap * gap
                + w.low_competition * low_comp)
                / wsum;
            let demand = (vol[c] * w.volume + gro[c] * w.growth) / (w.volume + w.growth).max(1e-12);
            let growth_txt = s.growth.map_or("growth n/a".to_string(), |g| {
                format!("{:+}% growth", (g * 100.0).round() as i64)
            });
            let mut reasons = vec![format!(
                "{} demand: {} reviews/yr, {growth_txt}",
                level(demand, "high", "moderate", "low"),
                fmt_count(s.last)
            )];
            let mut sat = Vec::new();
            if let (Some(v), Some(st)) = (s.sent, state_sent) {
                sat.push(format!("mean sentiment {v:.2} vs state {st:.2}"));
            }
            if let (Some(v), Some(st)) = (s.stars, state_stars) {
                sat.push(format!("mean stars {v:.1} vs state {st:.1}"));
            }
            if !sat.is_empty() {
                reasons.push(format!(
                    "{} satisfaction: {}",
                    level(gap, "low", "average", "high"),
                    sat.join(", ")
                ));
            }
            reasons.push(match s.category {
                0 => format!("no {label} restaurant"),
                1 => format!("1 {label} restaurant"),
                k => format!("{k} {label} restaurants"),
            });
            let (lat, lon) = plane.unproject(s.centroid.0, s.centroid.1);
            CandidateArea {
                state: state.to_string(),
                rank: 0,
                cluster: c as i64,
                method: method.clone(),
                centroid_latitude: lat,
                centroid_longitude: lon,
                radius_km: s.radius,
                members: s.members.len() as i64,
                category_members: s.category as i64,
                reviews_per_year: s.last,
                review_growth: s.growth,
                mean_sentiment: s.sent,
                mean_stars: s.stars,
                volume_score: vol[c],
                growth_score: gro[c],
                satisfaction_gap_score: gap,
                low_competition_score: low_comp,
                opportunity_score: score,
                reasons: reasons.join("; "),
                member_keys: s.members.iter().map(|&i| valid[i].key).collect(),
            }
        })
        .collect();
    candidates.sort_by(|a, b| {
        b.opportunity_score
            .total_cmp(&a.opportunity_score)
            .then(a.cluster.cmp(&b.cluster))
    });
    for (r, c) in candidates.iter_mut().enumerate() {
        c.rank = r as i64 + 1;
    }

    let noise = clustering.labels.iter().filter(|l| l.is_none()).count();
    let trials = clustering
        .trials
        .iter()
        .map(|(k, s)| SilhouetteTrial {
            state: state.to_string(),
            method: method.clone(),
            k: *k as i64,
            silhouette: *s,
            chosen: *k == clustering.k,
        })
        .collect();
    Ok(StateSites {
        state: state.to_string(),
        method,
        k: clustering.k as i64,
        silhouette: clustering.silhouette,
        trials,
        candidates,
        assignments: valid
            .iter()
            .zip(&clustering.labels)
            .map(|(p, l)| PlaceAssignment {
                key: p.key,
                cluster: l.map(|l| l as i64),
            })
            .collect(),
        invalid_keys,
        accounting: SiteAccounting {
            places_in: places.len() as i64,
            clustered: (n - noise) as i64,
            noise: noise as i64,
            invalid: (places.len() - n) as i64,
        },
        notes: clustering.notes,
    })
}

/// [`select_state`] for every state of `places` (grouped by [`Place::state`], states in
/// name order, run in parallel). Each state's result is independent.
pub fn select_all(
    places: &[Place],
    config: &SiteConfig,
) -> Vec<(String, Result<StateSites, SiteError>)> {
    let mut by_state: BTreeMap<&str, Vec<Place>> = BTreeMap::new();
    for p in places {
        by_state
            .entry(p.state.as_str())
            .or_default()
            .push(p.clone());
    }
    let groups: Vec<(&str, Vec<Place>)> = by_state.into_iter().collect();
    groups
        .par_iter()
        .map(|(s, ps)| (s.to_string(), select_state(s, ps, config)))
        .collect()
}

/// Search space of k-means: k ∈ 2..=15.
pub fn kmeans_space() -> SearchSpace {
    SearchSpace::new().int_range("k", 2, 15)
}

/// Search space of DBSCAN: eps_km ∈ {0.25, 0.5, 1, 2, 3, 5}, min_points ∈ {3, 5, 10}.
pub fn dbscan_space() -> SearchSpace {
    SearchSpace::new()
        .floats("eps_km", [0.25, 0.5, 1.0, 2.0, 3.0, 5.0])
        .ints("min_points", [3, 5, 10])
}

/// Tunes the clustering of one state with [`crate::tuning`]: `method` is `"kmeans"`
/// (parameter `k`) or `"dbscan"` (`eps_km`, `min_points`). The score, maximised, is the
/// silhouette times the share of places clustered (so DBSCAN cannot win by declaring the
/// hard points noise); one "fold" holding every place ([`tuning::whole`]), since nothing is
/// held out in clustering.
pub fn tune(
    places: &[Place],
    method: &str,
    space: &SearchSpace,
    search: Search,
    config: &SiteConfig,
) -> Result<Vec<Trial>, SiteError> {
    let valid: Vec<&Place> = places.iter().filter(|p| valid_coords(p)).collect();
    let Some(plane) = LocalPlane::around(valid.iter().map(|p| (p.latitude, p.longitude))) else {
        return Err(SiteError::NoPlaces(
            places.first().map(|p| p.state.clone()).unwrap_or_default(),
        ));
    };
    let mut xy = Array2::<f64>::zeros((valid.len(), 2));
    for (i, p) in valid.iter().enumerate() {
        let (x, y) = plane.project(p.latitude, p.longitude);
        xy[[i, 0]] = x;
        xy[[i, 1]] = y;
    }
    let is_kmeans = match method {
        "kmeans" => true,
        "dbscan" => false,
        other => return Err(SiteError::Config(format!("unknown method {other}"))),
    };
    let study = Study::new(
        &format!("sites/{method}"),
        "silhouette_x_clustered_share",
        Direction::Maximize,
        search,
        config.seed,
    );
    let folds = tuning::whole(valid.len());
    let trials = tuning::run_study(&study, space, &folds, |t| -> Result<f64, BoxError> {
        let mut cfg = config.clone();
        cfg.method = if is_kmeans {
            let k = tuning::param_i64(t.params, "k")?.max(1) as usize;
            Method::kmeans_fixed(k)
        } else {
            Method::dbscan(
                tuning::param_f64(t.params, "eps_km")?,
                tuning::param_i64(t.params, "min_points")?.max(0) as usize,
            )
        };
        cfg.validate()?;
        let c = cluster(&xy, &cfg)?;
        let clustered =
            c.labels.iter().filter(|l| l.is_some()).count() as f64 / xy.nrows().max(1) as f64;
        c.silhouette
            .map(|s| s * clustered)
            .ok_or_else(|| "silhouette undefined (fewer than 2 clusters)".into())
    })?;
    Ok(trials)
}
