//! From a business × month panel to labelled rows: period bucketing, point-in-time
//! features, labels, static features and the category × state aggregation.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::GrowthError;

/// One row of `features/business_month` (or of an aggregated group panel).
#[derive(Clone, Debug, PartialEq)]
pub struct PanelRow {
    /// The entity: `business_key`, or a group id of [`aggregate_by_group`].
    pub entity: i64,
    /// Any day of the month (the table stores the first day).
    pub month: NaiveDate,
    /// Reviews in the month (>= 0).
    pub reviews: i64,
    /// Mean stars of the month's reviews.
    pub mean_stars: Option<f64>,
    /// Mean VADER compound of the month's reviews that have text.
    pub mean_sentiment: Option<f64>,
    /// Reviewers of the month reviewing this entity for the first time.
    pub new_reviewers: i64,
    /// Reviewers of the month who had reviewed it before.
    pub returning_reviewers: i64,
}

/// How panel months become label periods and how rows are labelled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelConfig {
    /// Period length in months, aligned on the calendar (3 = calendar quarters, 12 =
    /// years, 1 = months, 6 = halves). Must divide 12.
    pub period_months: u32,
    /// A row is labelled *grow* when `reviews(P) >= (1 + grow_threshold) * reviews(P-1)`,
    /// *decline* otherwise (so "decline" means "did not grow by the threshold": fewer,
    /// as many, or slightly more reviews).
    pub grow_threshold: f64,
    /// Rows whose previous period has fewer reviews than this are not built (a growth
    /// rate over 1 or 2 reviews is noise). Known before P, so it is no leakage.
    pub min_volume: i64,
    /// The panel's last period is dropped when the data ends before that period's last
    /// month (a half-observed quarter would look like a decline). It becomes the
    /// forecast period instead.
    pub drop_incomplete_last_period: bool,
}

impl Default for LabelConfig {
    fn default() -> Self {
        LabelConfig {
            period_months: 3,
            grow_threshold: 0.10,
            min_volume: 5,
            drop_incomplete_last_period: true,
        }
    }
}

impl LabelConfig {
    fn validate(&self) -> Result<(), GrowthError> {
        if self.period_months == 0 || 12 % self.period_months != 0 {
            return Err(GrowthError::Config(format!(
                "period_months must divide 12, got {}",
                self.period_months
            )));
        }
        if !self.grow_threshold.is_finite() || self.grow_threshold <= -1.0 {
            return Err(GrowthError::Config(format!(
                "grow_threshold must be finite and > -1, got {}",
                self.grow_threshold
            )));
        }
        if self.min_volume < 1 {
            return Err(GrowthError::Config(format!(
                "min_volume must be at least 1, got {}",
                self.min_volume
            )));
        }
        Ok(())
    }
}

/// Index of a calendar period of `len` months: `floor((year * 12 + month - 1) / len)`.
pub fn period_index(date: NaiveDate, len: u32) -> i64 {
    (date.year() as i64 * 12 + date.month0() as i64).div_euclid(len.max(1) as i64)
}

/// First day of period `index` of `len` months (None outside chrono's range).
pub fn period_start(index: i64, len: u32) -> Option<NaiveDate> {
    let m = index.checked_mul(len as i64)?;
    let year = i32::try_from(m.div_euclid(12)).ok()?;
    NaiveDate::from_ymd_opt(year, m.rem_euclid(12) as u32 + 1, 1)
}

/// Static (time-invariant) features per entity: a fixed list of names and, per entity,
/// one value per name (NaN = unknown, imputed at training time by the training mean).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StaticFeatures {
    /// Feature names (appended after the dynamic features).
    pub names: Vec<String>,
    /// Entity → values (same length as `names`).
    pub values: HashMap<i64, Vec<f64>>,
}

/// What the lead reads per business to build its static features: `business_features`
/// (`state`, `price_level`) and `warehouse/business_category` (`category`, several rows
/// per business).
#[derive(Clone, Debug, PartialEq)]
pub struct BusinessAttributes {
    /// `business_key`.
    pub key: i64,
    /// `state`.
    pub state: Option<String>,
    /// `price_level` (1-4).
    pub price_level: Option<i32>,
    /// The shared categories of the business.
    pub categories: Vec<String>,
}

impl StaticFeatures {
    /// No static feature.
    pub fn none() -> Self {
        Self::default()
    }

    /// An empty table with these feature names.
    pub fn new(names: Vec<String>) -> Self {
        StaticFeatures {
            names,
            values: HashMap::new(),
        }
    }

    /// Sets an entity's values; fails when the length differs from `names`.
    pub fn insert(&mut self, entity: i64, values: Vec<f64>) -> Result<(), GrowthError> {
        if values.len() != self.names.len() {
            return Err(GrowthError::Config(format!(
                "entity {entity}: {} static values for {} names",
                values.len(),
                self.names.len()
            )));
        }
        self.values.insert(entity, values);
        Ok(())
    }

    /// `price_level` (NaN when unknown), then one-hot `cat_<category>` and
    /// `state_<state>` columns for every category and state present (sorted).
    pub fn from_businesses(businesses: &[BusinessAttributes]) -> Self {
        let cats: BTreeSet<&str> = businesses
            .iter()
            .flat_map(|b| b.categories.iter().map(String::as_str))
            .collect();
        let states: BTreeSet<&str> = businesses
            .iter()
            .filter_map(|b| b.state.as_deref())
            .collect();
        let mut names = vec!["price_level".to_string()];
        names.extend(cats.iter().map(|c| format!("cat_{c}")));
        names.extend(states.iter().map(|s| format!("state_{s}")));
        let cat_pos: HashMap<&str, usize> =
            cats.iter().enumerate().map(|(i, c)| (*c, 1 + i)).collect();
        let state_pos: HashMap<&str, usize> = states
            .iter()
            .enumerate()
            .map(|(i, s)| (*s, 1 + cats.len() + i))
            .collect();
        let mut out = StaticFeatures::new(names);
        for b in businesses {
            let mut v = vec![0.0; out.names.len()];
            v[0] = b.price_level.map_or(f64::NAN, f64::from);
            for c in &b.categories {
                v[cat_pos[c.as_str()]] = 1.0;
            }
            if let Some(s) = &b.state {
                v[state_pos[s.as_str()]] = 1.0;
            }
            out.values.insert(b.key, v);
        }
        out
    }
}

/// A category × state group.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GroupKey {
    /// Shared category (`business_category.category`).
    pub category: String,
    /// State code.
    pub state: String,
}

/// The panel aggregated by group: entity `i` of `rows` is `groups[i]`.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupPanel {
    /// Group of each entity id (entity id = index).
    pub groups: Vec<GroupKey>,
    /// One row per group and month with at least one member row.
    pub rows: Vec<PanelRow>,
    /// One-hot `cat_<category>` and `state_<state>` per group.
    pub statics: StaticFeatures,
}

/// Aggregates a business panel by the caller's business → groups map (a business counts
/// in every group it belongs to; businesses absent from the map are left out).
///
/// Per group and month: reviews, new and returning reviewers are summed (a reviewer of
/// two member businesses counts twice); mean stars and mean sentiment are the
/// review-weighted means of the member means (exact for stars; for sentiment an
/// approximation, since a business's mean covers only its reviews with text).
pub fn aggregate_by_group(
    panel: &[PanelRow],
    membership: &HashMap<i64, Vec<GroupKey>>,
) -> GroupPanel {
    let groups: Vec<GroupKey> = membership
        .values()
        .flatten()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let id: HashMap<&GroupKey, i64> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g, i as i64))
        .collect();
    #[derive(Default)]
    struct Acc {
        reviews: i64,
        stars: (f64, f64),
        sentiment: (f64, f64),
        new: i64,
        returning: i64,
    }
    let mut acc: BTreeMap<(i64, i64), (NaiveDate, Acc)> = BTreeMap::new();
    for r in panel {
        let Some(gs) = membership.get(&r.entity) else {
            continue;
        };
        let month = NaiveDate::from_ymd_opt(r.month.year(), r.month.month(), 1).unwrap_or(r.month);
        let m = period_index(month, 1);
        let mut seen = BTreeSet::new();
        for g in gs {
            let gid = id[g];
            if !seen.insert(gid) {
                continue;
            }
            let (_, a) = acc
                .entry((gid, m))
                .or_insert_with(|| (month, Acc::default()));
            a.reviews += r.reviews;
            a.new += r.new_reviewers;
            a.returning += r.returning_reviewers;
            let w = r.reviews.max(0) as f64;
            if let Some(s) = r.mean_stars.filter(|s| s.is_finite()) {
                a.stars.0 += w * s;
                a.stars.1 += w;
            }
            if let Some(s) = r.mean_sentiment.filter(|s| s.is_finite()) {
                a.sentiment.0 += w * s;
                a.sentiment.1 += w;
            }
        }
    }
    let rows = acc
        .into_iter()
        .map(|((gid, _), (month, a))| PanelRow {
            entity: gid,
            month,
            reviews: a.reviews,
            mean_stars: (a.stars.1 > 0.0).then(|| a.stars.0 / a.stars.1),
            mean_sentiment: (a.sentiment.1 > 0.0).then(|| a.sentiment.0 / a.sentiment.1),
            new_reviewers: a.new,
            returning_reviewers: a.returning,
        })
        .collect();
    let cats: BTreeSet<&str> = groups.iter().map(|g| g.category.as_str()).collect();
    let states: BTreeSet<&str> = groups.iter().map(|g| g.state.as_str()).collect();
    let mut names: Vec<String> = cats.iter().map(|c| format!("cat_{c}")).collect();
    names.extend(states.iter().map(|s| format!("state_{s}")));
    let mut statics = StaticFeatures::new(names);
    for (i, g) in groups.iter().enumerate() {
        let mut v = vec![0.0; statics.names.len()];
        if let Some(p) = cats.iter().position(|c| *c == g.category) {
            v[p] = 1.0;
        }
        if let Some(p) = states.iter().position(|s| *s == g.state) {
            v[cats.len() + p] = 1.0;
        }
        statics.values.insert(i as i64, v);
    }
    GroupPanel {
        groups,
        rows,
        statics,
    }
}

/// Names of the dynamic (panel-derived) features, in feature-vector order. All are
/// computed from periods strictly before the label period P:
///
/// | name | definition |
/// |---|---|
/// | `log_reviews_last1` | ln(1 + reviews in P-1) |
/// | `log_reviews_last2` | ln(1 + reviews in P-2..P-1) |
/// | `log_reviews_last4` | ln(1 + reviews in P-4..P-1) |
/// | `log_growth_last` | ln(1 + r(P-1)) - ln(1 + r(P-2)) |
/// | `trend_log_reviews_4` | least-squares slope of ln(1 + r) over P-4..P-1 (per period) |
/// | `stars_recent` | review-weighted mean stars over P-2..P-1 |
/// | `stars_recent_minus_older` | `stars_recent` minus the same mean over every period before P-2 |
/// | `sentiment_recent` | review-weighted mean compound over P-2..P-1 |
/// | `sentiment_recent_minus_older` | as for stars |
/// | `returning_share_4` | returning / (new + returning) reviewers over P-4..P-1 |
/// | `age_periods` | P minus the entity's first period with a review |
/// | `season_sin`, `season_cos` | position of P in the calendar year (a calendar fact, not data) |
///
/// Periods before an entity's first review count as zero reviews. Undefined values
/// (no review in the window) are NaN and imputed by the training mean.
pub const DYNAMIC_FEATURES: [&str; 13] = [
    "log_reviews_last1",
    "log_reviews_last2",
    "log_reviews_last4",
    "log_growth_last",
    "trend_log_reviews_4",
    "stars_recent",
    "stars_recent_minus_older",
    "sentiment_recent",
    "sentiment_recent_minus_older",
    "returning_share_4",
    "age_periods",
    "season_sin",
    "season_cos",
];

/// One labelled (or forecast) row: an entity and a label period P.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelledRow {
    /// The entity (business key or group id).
    pub entity: i64,
    /// Index of P ([`period_index`] with the configured length).
    pub period: i64,
    /// First day of P.
    pub period_start: NaiveDate,
    /// Features ([`GrowthDataset::feature_names`] order; NaN = missing).
    pub features: Vec<f64>,
    /// Reviews in P-1 (the naive regression baseline and the growth denominator).
    pub last_reviews: f64,
    /// Reviews in P (the regression target); None for forecast rows.
    pub reviews: Option<f64>,
    /// Whether P grew by the threshold; None for forecast rows.
    pub grow: Option<bool>,
}

/// Where the panel rows went.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PanelAccounting {
    /// Panel rows given.
    pub rows_in: i64,
    /// Rows in complete periods, used for features and labels.
    pub rows_used: i64,
    /// Rows of the incomplete last period, ignored (see
    /// [`LabelConfig::drop_incomplete_last_period`]).
    pub rows_incomplete_period: i64,
    /// Labelled rows built (train + test candidates).
    pub labelled_rows: i64,
    /// Forecast rows built (the period after the last complete one, no label).
    pub forecast_rows: i64,
    /// (entity, period) pairs skipped because the previous period had fewer than
    /// `min_volume` reviews.
    pub skipped_low_volume: i64,
}

/// The labelled rows of a panel.
#[derive(Clone, Debug, PartialEq)]
pub struct GrowthDataset {
    /// [`DYNAMIC_FEATURES`] then the static feature names.
    pub feature_names: Vec<String>,
    /// Period length used (months).
    pub period_months: u32,
    /// Labelled rows then forecast rows, ordered by (period, entity).
    pub rows: Vec<LabelledRow>,
    /// Last complete period (the latest label period).
    pub last_period: i64,
    /// Row accounting.
    pub accounting: PanelAccounting,
}

#[derive(Clone, Copy, Default)]
struct PeriodAgg {
    reviews: f64,
    stars_sum: f64,
    stars_w: f64,
    sentiment_sum: f64,
    sentiment_w: f64,
    new: f64,
    returning: f64,
}

/// Builds labelled rows (every period P from an entity's second period to the last
/// complete period) and forecast rows (P = the period after the last complete one) from a
/// panel. See [`DYNAMIC_FEATURES`] and [`LabelConfig`] for the definitions.
///
/// Errors: invalid configuration, a negative count, the same (entity, month) twice, or a
/// panel with no complete period.
pub fn build_dataset(
    panel: &[PanelRow],
    statics: &StaticFeatures,
    config: &LabelConfig,
) -> Result<GrowthDataset, GrowthError> {
    config.validate()?;
    let len = config.period_months;
    let mut accounting = PanelAccounting {
        rows_in: panel.len() as i64,
        ..Default::default()
    };
    let Some(last_month) = panel.iter().map(|r| period_index(r.month, 1)).max() else {
        return Err(GrowthError::EmptyPanel);
    };
    let last_month_period = last_month.div_euclid(len as i64);
    let complete = (last_month + 1).rem_euclid(len as i64) == 0;
    let last_period = if complete || !config.drop_incomplete_last_period {
        last_month_period
    } else {
        last_month_period - 1
    };

    // entity -> period -> aggregate (complete periods only)
    let mut series: BTreeMap<i64, BTreeMap<i64, PeriodAgg>> = BTreeMap::new();
    let mut seen: HashMap<(i64, i64), ()> = HashMap::with_capacity(panel.len());
    for r in panel {
        if r.reviews < 0 || r.new_reviewers < 0 || r.returning_reviewers < 0 {
            return Err(GrowthError::InvalidPanel(format!(
                "entity {} month {}: negative count",
                r.entity, r.month
            )));
        }
        let m = period_index(r.month, 1);
        if seen.insert((r.entity, m), ()).is_some() {
            return Err(GrowthError::InvalidPanel(format!(
                "entity {} has two rows for month {}",
                r.entity, r.month
            )));
        }
        let p = m.div_euclid(len as i64);
        if p > last_period {
            accounting.rows_incomplete_period += 1;
            continue;
        }
        accounting.rows_used += 1;
        let a = series.entry(r.entity).or_default().entry(p).or_default();
        let w = r.reviews as f64;
        a.reviews += w;
        if let Some(s) = r.mean_stars.filter(|s| s.is_finite()) {
            a.stars_sum += w * s;
            a.stars_w += w;
        }
        if let Some(s) = r.mean_sentiment.filter(|s| s.is_finite()) {
            a.sentiment_sum += w * s;
            a.sentiment_w += w;
        }
        a.new += r.new_reviewers as f64;
        a.returning += r.returning_reviewers as f64;
    }

    let mut feature_names: Vec<String> = DYNAMIC_FEATURES.iter().map(|s| s.to_string()).collect();
    feature_names.extend(statics.names.iter().cloned());
    let missing_statics = vec![f64::NAN; statics.names.len()];

    let mut rows = Vec::new();
    for (&entity, periods) in &series {
        // First period with at least one review (a row of 0 reviews is not a start).
        let Some(first) = periods
            .iter()
            .find(|(_, a)| a.reviews > 0.0)
            .map(|(p, _)| *p)
        else {
            continue;
        };
        let n = (last_period - first + 1) as usize;
        // Dense series first..=last_period (absent periods: zero reviews).
        let dense: Vec<PeriodAgg> = (first..=last_period)
            .map(|p| periods.get(&p).copied().unwrap_or_default())
            .collect();
        let stat = statics.values.get(&entity).unwrap_or(&missing_statics);
        // Label periods t = first+1 ..= last_period+1 (the last one is the forecast).
        for i in 1..=n {
            let t = first + i as i64;
            let last = dense[i - 1].reviews;
            if last < config.min_volume as f64 {
                accounting.skipped_low_volume += 1;
                continue;
            }
            let history = &dense[..i];
            let mut features = dynamic_features(history, t, len);
            features.extend_from_slice(stat);
            let (reviews, grow) = if i < n {
                let r = dense[i].reviews;
                // "At least +threshold": a relative epsilon so 10 -> 11 at 10 % is growth
                // despite 1.1 * 10 = 11.000000000000002.
                let bar = (1.0 + config.grow_threshold) * last;
                (Some(r), Some(r >= bar - 1e-9 * bar.abs().max(1.0)))
            } else {
                (None, None)
            };
            if reviews.is_some() {
                accounting.labelled_rows += 1;
            } else {
                accounting.forecast_rows += 1;
            }
            rows.push(LabelledRow {
                entity,
                period: t,
                period_start: period_start(t, len).unwrap_or(NaiveDate::MIN),
                features,
                last_reviews: last,
                reviews,
                grow,
            });
        }
    }
    rows.sort_by_key(|r| (r.reviews.is_none(), r.period, r.entity));
    Ok(GrowthDataset {
        feature_names,
        period_months: len,
        rows,
        last_period,
        accounting,
    })
}

/// Features for label period `t` from `history` = the entity's periods first..t-1 (the
/// slice ends right before t: nothing at or after t can reach this function).
fn dynamic_features(history: &[PeriodAgg], t: i64, len: u32) -> Vec<f64> {
    let n = history.len();
    let r = |k: usize| if k <= n { history[n - k].reviews } else { 0.0 };
    let sum_last = |k: usize| (1..=k).map(r).sum::<f64>();
    let l1 = r(1).ln_1p();
    let l2 = r(2).ln_1p();
    // Slope of ln(1+r) over the last 4 periods (x = 0..3), zero-padded before the start.
    let ys: Vec<f64> = (1..=4).rev().map(|k| r(k).ln_1p()).collect();
    let trend = slope(&ys);
    let window = |from: usize, to: usize| {
        // periods n-to .. n-from (k-th last for k in from..=to)
        let mut a = PeriodAgg::default();
        for k in from..=to.min(n) {
            let p = &history[n - k];
            a.stars_sum += p.stars_sum;
            a.stars_w += p.stars_w;
            a.sentiment_sum += p.sentiment_sum;
            a.sentiment_w += p.sentiment_w;
            a.new += p.new;
            a.returning += p.returning;
        }
        a
    };
    let ratio = |s: f64, w: f64| if w > 0.0 { s / w } else { f64::NAN };
    let recent = window(1, 2);
    let older = if n > 2 {
        window(3, n)
    } else {
        PeriodAgg::default()
    };
    let stars_recent = ratio(recent.stars_sum, recent.stars_w);
    let stars_older = ratio(older.stars_sum, older.stars_w);
    let sent_recent = ratio(recent.sentiment_sum, recent.sentiment_w);
    let sent_older = ratio(older.sentiment_sum, older.sentiment_w);
    let last4 = window(1, 4);
    let returning_share = ratio(last4.returning, last4.new + last4.returning);
    let periods_per_year = (12 / len.max(1)) as f64;
    let phase = t.rem_euclid(periods_per_year as i64) as f64 / periods_per_year;
    let angle = std::f64::consts::TAU * phase;
    vec![
        l1,
        sum_last(2).ln_1p(),
        sum_last(4).ln_1p(),
        l1 - l2,
        trend,
        stars_recent,
        stars_recent - stars_older,
        sent_recent,
        sent_recent - sent_older,
        returning_share,
        n as f64,
        if len < 12 { angle.sin() } else { 0.0 },
        if len < 12 { angle.cos() } else { 0.0 },
    ]
}

/// Least-squares slope of `ys` against x = 0, 1, 2, ...
fn slope(ys: &[f64]) -> f64 {
    let n = ys.len() as f64;
    if ys.len() < 2 {
        return 0.0;
    }
    let mx = (n - 1.0) / 2.0;
    let my = ys.iter().sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for (i, y) in ys.iter().enumerate() {
        let dx = i as f64 - mx;
        num += dx * (y - my);
        den += dx * dx;
    }
    num / den
}
