//! The KPIs, computed from grouped review aggregates (see `docs/KPIS.md`).
//!
//! A group is a period of a [`Grain`] plus optional state, category, source and business
//! (`None` = all). For each group with reviews:
//!
//! - `retention_rate` = returning reviewers / reviewers × 100, where a reviewer of the
//!   period is returning when they reviewed the same business before the period started;
//!   target: above 70.
//! - `review_growth_rate` = (reviews − previous reviews) / previous reviews × 100;
//!   target: above 0.
//! - `avg_rating_variation` = (mean stars − previous mean stars) / previous mean stars ×
//!   100; target: at least 0.
//! - `sentiment_variation` = (mean compound − previous mean compound) / previous mean
//!   compound × 100; target: at least 0.
//!
//! "Previous" is the calendar period just before (the month, quarter or year before);
//! the three variations are null when it has no reviews (or a zero mean). Each row also
//! carries `previous_value`: the same KPI of the same group one period earlier.

use std::collections::HashMap;

use reviewlake_warehouse::parse::{civil_from_days, days_from_civil};

/// Period length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grain {
    /// Calendar month.
    Month,
    /// Calendar quarter.
    Quarter,
    /// Calendar year.
    Year,
}

impl Grain {
    /// All grains.
    pub const ALL: [Grain; 3] = [Grain::Month, Grain::Quarter, Grain::Year];

    /// `month`, `quarter` or `year` (also the `date_trunc` unit).
    pub fn as_str(self) -> &'static str {
        match self {
            Grain::Month => "month",
            Grain::Quarter => "quarter",
            Grain::Year => "year",
        }
    }

    /// Months in a period.
    pub fn months(self) -> i64 {
        match self {
            Grain::Month => 1,
            Grain::Quarter => 3,
            Grain::Year => 12,
        }
    }

    /// The start (days since the epoch) of the period `n` periods after the one starting
    /// at `start` (before it when `n` is negative).
    pub fn shift(self, start: i32, n: i64) -> i32 {
        let (y, m, _) = civil_from_days(start as i64);
        let idx = y as i64 * 12 + (m as i64 - 1) + n * self.months();
        days_from_civil(
            idx.div_euclid(12) as i32,
            (idx.rem_euclid(12) + 1) as u32,
            1,
        ) as i32
    }

    /// The start (days since the epoch) of the period before the one starting at `start`.
    pub fn previous(self, start: i32) -> i32 {
        self.shift(start, -1)
    }

    /// The start (days since the epoch) of the period after the one starting at `start`.
    pub fn next(self, start: i32) -> i32 {
        self.shift(start, 1)
    }

    /// The grain called `s` (`month`, `quarter`, `year`).
    pub fn parse(s: &str) -> Option<Grain> {
        Grain::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// The days a platform's data covers: its first and last day with a review (or, for
/// check-in KPIs, a check-in), in days since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    /// First day with data.
    pub first_day: i32,
    /// Last day with data.
    pub last_day: i32,
}

/// Whether the period of `grain` starting at `start` is partial for a group that counts
/// the platforms of `coverages`: one of them begins after the period's first day or
/// ends before its last day (the dump's last, unfinished period; or, for a group of all
/// platforms, every period after the first platform's data has ended). Partial values
/// compare unlike with like (half a quarter against a whole one) and are never
/// headlined.
pub fn is_partial<'a>(
    grain: Grain,
    start: i32,
    coverages: impl IntoIterator<Item = &'a Coverage>,
) -> bool {
    let last = grain.next(start) - 1;
    coverages
        .into_iter()
        .any(|c| c.first_day > start || c.last_day < last)
}

/// A KPI group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Group {
    /// Period length.
    pub grain: Grain,
    /// Period start, days since the epoch.
    pub period_start: i32,
    /// State code, `None` = all.
    pub state: Option<String>,
    /// Shared category, `None` = all.
    pub category: Option<String>,
    /// `yelp` or `google`, `None` = all.
    pub source: Option<String>,
    /// One business, `None` = all.
    pub business_key: Option<i64>,
}

impl Group {
    fn previous(&self) -> Group {
        Group {
            period_start: self.grain.previous(self.period_start),
            ..self.clone()
        }
    }
}

/// What the KPIs need of a group's reviews.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ReviewAgg {
    /// Reviews.
    pub reviews: i64,
    /// Mean stars.
    pub mean_stars: Option<f64>,
    /// Mean VADER compound of the reviews with text.
    pub mean_sentiment: Option<f64>,
    /// Distinct reviewers.
    pub reviewers: i64,
    /// Distinct reviewers who reviewed the same business before the period.
    pub returning: i64,
}

/// One row of the KPI table.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiRow {
    /// The group.
    pub group: Group,
    /// KPI name.
    pub kpi: &'static str,
    /// Value (percent).
    pub value: Option<f64>,
    /// The same KPI one period earlier.
    pub previous_value: Option<f64>,
    /// Whether the value meets the KPI's target (null when the value is).
    pub target_met: Option<bool>,
    /// What the value stands on: the group's reviews in the period (for check-in
    /// retention: the businesses with check-ins in the previous period).
    pub support: i64,
    /// The same for the previous period (0 when it had none).
    pub previous_support: i64,
}

impl KpiRow {
    /// Whether the value stands on fewer than `min` reviews — in this period, or, for
    /// the KPIs that compare with the previous period, in that one. Such values are
    /// marked `low_support` in the KPI table and kept out of report headlines and chart
    /// scales.
    pub fn low_support(&self, min: i64) -> bool {
        low_support(self.kpi, self.support, self.previous_support, min)
    }
}

/// Whether a value of `kpi` standing on `support` reviews (and `previous_support` in the
/// previous period) is below the minimum support `min` (see [`KpiRow::low_support`]).
pub fn low_support(kpi: &str, support: i64, previous_support: i64, min: i64) -> bool {
    let needs_previous = kpi != "retention_rate";
    support < min || (needs_previous && previous_support < min)
}

/// KPI names, in output order.
pub const KPIS: [&str; 4] = [
    "retention_rate",
    "review_growth_rate",
    "avg_rating_variation",
    "sentiment_variation",
];

/// The check-in based retention variant (Yelp only).
pub const CHECKIN_RETENTION: &str = "checkin_retention_rate";

/// Whether `value` of `kpi` meets its target.
pub fn target_met(kpi: &str, value: f64) -> bool {
    match kpi {
        "retention_rate" | CHECKIN_RETENTION => value > 70.0,
        "review_growth_rate" => value > 0.0,
        _ => value >= 0.0,
    }
}

fn variation(now: Option<f64>, before: Option<f64>) -> Option<f64> {
    match (now, before) {
        (Some(a), Some(b)) if b != 0.0 => Some((a - b) / b * 100.0),
        _ => None,
    }
}

/// The value of `kpi` for a group, given its aggregate and the previous period's.
pub fn value(kpi: &str, now: &ReviewAgg, before: Option<&ReviewAgg>) -> Option<f64> {
    let before = before.filter(|b| b.reviews > 0);
    match kpi {
        "retention_rate" => {
            (now.reviewers > 0).then(|| now.returning as f64 / now.reviewers as f64 * 100.0)
        }
        "review_growth_rate" => {
            before.map(|b| (now.reviews - b.reviews) as f64 / b.reviews as f64 * 100.0)
        }
        "avg_rating_variation" => variation(now.mean_stars, before.and_then(|b| b.mean_stars)),
        "sentiment_variation" => {
            variation(now.mean_sentiment, before.and_then(|b| b.mean_sentiment))
        }
        _ => None,
    }
}

/// Every KPI row of every group in `aggs`: the reference implementation, in memory (the
/// features build computes the same rows with a DataFusion plan; a test checks they
/// agree).
pub fn kpi_rows(aggs: &HashMap<Group, ReviewAgg>) -> Vec<KpiRow> {
    let mut values: HashMap<(&Group, &'static str), Option<f64>> = HashMap::new();
    for (g, a) in aggs {
        let prev = aggs.get(&g.previous());
        for k in KPIS {
            values.insert((g, k), value(k, a, prev));
        }
    }
    let mut groups: Vec<&Group> = aggs.keys().collect();
    groups.sort();
    let mut out = Vec::with_capacity(groups.len() * KPIS.len());
    for g in groups {
        let prev_group = g.previous();
        let support = aggs.get(g).map_or(0, |a| a.reviews);
        let previous_support = aggs.get(&prev_group).map_or(0, |a| a.reviews);
        for k in KPIS {
            let v = values.get(&(g, k)).copied().flatten();
            let pv = aggs
                .get_key_value(&prev_group)
                .and_then(|(pg, _)| values.get(&(pg, k)).copied().flatten());
            out.push(KpiRow {
                group: g.clone(),
                kpi: k,
                value: v,
                previous_value: pv,
                target_met: v.map(|x| target_met(k, x)),
                support,
                previous_support,
            });
        }
    }
    out
}

/// Check-in retention: of the businesses (in the group) with check-ins in the previous
/// period, the share with check-ins in this period too, × 100. `active` maps a group
/// (source `yelp`, no business) to its businesses with check-ins. The reference
/// implementation, in memory, as [`kpi_rows`].
pub fn checkin_rows(active: &HashMap<Group, std::collections::HashSet<i64>>) -> Vec<KpiRow> {
    let mut groups: Vec<&Group> = active.keys().collect();
    groups.sort();
    let value_of = |g: &Group| -> Option<f64> {
        let now = active.get(g)?;
        let before = active.get(&g.previous()).filter(|b| !b.is_empty())?;
        let kept = before.iter().filter(|b| now.contains(b)).count();
        Some(kept as f64 / before.len() as f64 * 100.0)
    };
    groups
        .into_iter()
        .map(|g| {
            let v = value_of(g);
            let prev = g.previous();
            let count = |g: &Group| active.get(g).map_or(0, |s| s.len() as i64);
            KpiRow {
                group: g.clone(),
                kpi: CHECKIN_RETENTION,
                value: v,
                previous_value: value_of(&prev),
                target_met: v.map(|x| target_met(CHECKIN_RETENTION, x)),
                support: count(&prev),
                previous_support: count(&prev.previous()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::ops::Not;

    use super::*;

    fn day(y: i32, m: u32) -> i32 {
        days_from_civil(y, m, 1) as i32
    }

    #[test]
    fn previous_periods_cross_year_boundaries() {
        assert_eq!(Grain::Month.previous(day(2021, 1)), day(2020, 12));
        assert_eq!(Grain::Quarter.previous(day(2021, 1)), day(2020, 10));
        assert_eq!(Grain::Year.previous(day(2021, 1)), day(2020, 1));
    }

    #[test]
    fn partial_periods_are_the_ones_a_platform_does_not_cover() {
        let d = |y, m, dd| days_from_civil(y, m, dd) as i32;
        let yelp = Coverage {
            first_day: d(2005, 3, 1),
            last_day: d(2022, 1, 19),
        };
        let google = Coverage {
            first_day: d(2008, 1, 1),
            last_day: d(2021, 9, 30),
        };
        let q = |y, m| day(y, m);
        // Yelp alone: its last, unfinished quarter and month are partial.
        assert!(is_partial(Grain::Quarter, q(2022, 1), [&yelp]));
        assert!(!is_partial(Grain::Quarter, q(2021, 10), [&yelp]));
        assert!(is_partial(Grain::Month, q(2022, 1), [&yelp]));
        assert!(!is_partial(Grain::Month, q(2021, 12), [&yelp]));
        // Both platforms: after Google's data ended, every period is partial.
        assert!(is_partial(Grain::Quarter, q(2021, 10), [&yelp, &google]));
        assert!(!is_partial(Grain::Quarter, q(2021, 7), [&yelp, &google]));
        assert!(is_partial(Grain::Year, q(2021, 1), [&yelp, &google]));
        // A platform that starts inside the period.
        assert!(is_partial(Grain::Year, q(2008, 1), [&yelp]).not());
        assert!(is_partial(Grain::Year, q(2005, 1), [&yelp]));
        assert!(!is_partial(Grain::Month, q(2005, 3), [&yelp]));
        assert_eq!(Grain::Quarter.next(q(2021, 10)), q(2022, 1));
        assert_eq!(Grain::Year.shift(q(2021, 1), -2), q(2019, 1));
    }

    #[test]
    fn values_follow_the_definitions() {
        let now = ReviewAgg {
            reviews: 6,
            mean_stars: Some(4.5),
            mean_sentiment: Some(0.3),
            reviewers: 4,
            returning: 3,
        };
        let before = ReviewAgg {
            reviews: 4,
            mean_stars: Some(4.0),
            mean_sentiment: Some(0.6),
            reviewers: 4,
            returning: 0,
        };
        assert_eq!(value("retention_rate", &now, Some(&before)), Some(75.0));
        assert_eq!(value("review_growth_rate", &now, Some(&before)), Some(50.0));
        assert_eq!(
            value("avg_rating_variation", &now, Some(&before)),
            Some(12.5)
        );
        assert_eq!(
            value("sentiment_variation", &now, Some(&before)),
            Some(-50.0)
        );
        assert_eq!(value("review_growth_rate", &now, None), None);
        assert!(target_met("retention_rate", 75.0));
        assert!(!target_met("retention_rate", 70.0));
    }
}
