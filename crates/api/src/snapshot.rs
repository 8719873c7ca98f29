//! One lake snapshot in memory: the indexes built at load (see [`crate::load`]) and the
//! queries every endpoint answers from them. Nothing here touches the lake; a
//! [`LoadedSnapshot`] is immutable once built and shared by `Arc` between requests.

use std::collections::HashMap;

use std::sync::Arc;

use reviewlake_ml::recommend::FactorModel;

use crate::resources::{
    Business, CategoryTrend, Facets, Grain, KpiName, KpiPoint, ModelInfo, ModelRef, MonthPoint,
    SentimentSeries, SiteCandidate, SnapshotInfo, Source,
};

/// Filters shared by search and recommendations: each `None` means "any"; strings
/// compare case-insensitively.
#[derive(Debug, Clone, Default)]
pub struct BusinessFilter {
    /// State code.
    pub state: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Shared category.
    pub category: Option<String>,
    /// Platform.
    pub source: Option<Source>,
    /// Minimum platform rating (businesses without a rating never match).
    pub min_rating: Option<f64>,
    /// Text the name contains, lower-cased (see [`BusinessFilter::name_contains`]).
    pub name: Option<String>,
}

impl BusinessFilter {
    /// Sets the name filter: names containing `text`, ignoring case.
    pub fn name_contains(mut self, text: &str) -> BusinessFilter {
        self.name = Some(text.to_lowercase());
        self
    }
}

/// Orders of the business search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchOrder {
    /// `review_count` descending (nulls last), then `business_key`.
    Reviews,
    /// `rating` descending (nulls last), then `review_count` descending (nulls last),
    /// then `business_key`.
    Rating,
    /// `name` ascending (byte order, nulls last), then `business_key`.
    Name,
}

/// One `business_month` row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MonthRow {
    pub month: chrono::NaiveDate,
    pub reviews: i64,
    pub mean_stars: Option<f64>,
    pub mean_sentiment: Option<f64>,
    pub new_reviewers: i64,
    pub returning_reviewers: i64,
}

/// One KPI period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct KpiRow {
    pub period_start: chrono::NaiveDate,
    pub value: Option<f64>,
    pub previous_value: Option<f64>,
    pub target_met: Option<bool>,
    pub low_support: bool,
    pub partial: bool,
}

/// A KPI group: (kpi, grain, state upper-cased, category lower-cased, source).
pub(crate) type KpiKey = (
    KpiName,
    Grain,
    Option<String>,
    Option<String>,
    Option<Source>,
);

/// Sentiment histogram of one platform (and state).
#[derive(Debug, Clone, Default)]
pub(crate) struct SentimentAgg {
    pub counts: [i64; SENTIMENT_BINS],
    pub reviews: i64,
    pub sum: f64,
}

/// Bins of the sentiment histogram, over [-1, 1].
pub const SENTIMENT_BINS: usize = 20;

/// The bin of a VADER compound score: `floor((c + 1) * 10)`, clamped to 0..=19.
pub fn sentiment_bin(compound: f64) -> usize {
    let b = ((compound + 1.0) * 10.0).floor();
    if b.is_nan() || b < 0.0 {
        0
    } else {
        (b as usize).min(SENTIMENT_BINS - 1)
    }
}

/// The current `als` model, ready to serve: its item factors copied factor-major so a
/// user's scores over every item are `rank` vectorisable passes (`scores += x_k *
/// factor_k`), and the model's items mapped to businesses once.
pub(crate) struct AlsServing {
    pub model_ref: ModelRef,
    /// The explicit model it is (`biased` or `als`): the name the serving policy and
    /// the precomputed lists use for it.
    pub kind: Arc<str>,
    pub model: FactorModel,
    /// `item_factors_t[k * items + i]` = factor `k` of item `i`.
    pub item_factors_t: Vec<f32>,
    /// Model item index → business index (`None` for an item not in `dim_business`).
    pub item_business: Vec<Option<u32>>,
    /// Business index → model item index (`u32::MAX` when the model does not know it).
    pub business_item: Vec<u32>,
    /// Items that may be recommended at all: in `dim_business` and not closed.
    pub item_open: Vec<bool>,
}

impl AlsServing {
    /// The model item of business `b`.
    pub fn item_of(&self, b: u32) -> Option<u32> {
        self.business_item
            .get(b as usize)
            .copied()
            .filter(|&i| i != u32::MAX)
    }

    /// The `n` best open items for model user `u`, none of `training` (the user's
    /// training items, sorted) nor of the businesses `reviewed`, each passing `accept`
    /// (called only for candidates good enough to enter): (business, score), best first,
    /// ties by item index.
    pub fn top(
        &self,
        u: u32,
        n: usize,
        reviewed: &[u32],
        accept: &dyn Fn(u32) -> bool,
    ) -> Vec<(u32, f32)> {
        let items = self.item_business.len();
        if n == 0 || items == 0 || (u as usize) >= self.model.user_factors.nrows() {
            return Vec::new();
        }
        let mut scores = vec![0f32; items];
        for (k, &x) in self.model.user_factors.row(u as usize).iter().enumerate() {
            let col = &self.item_factors_t[k * items..(k + 1) * items];
            for (s, &f) in scores.iter_mut().zip(col) {
                *s += x * f;
            }
        }
        for &i in self.model.rated.of(u) {
            if let Some(s) = scores.get_mut(i as usize) {
                *s = f32::NEG_INFINITY;
            }
        }
        for &b in reviewed {
            if let Some(i) = self.item_of(b) {
                scores[i as usize] = f32::NEG_INFINITY;
            }
        }
        // Best first; a candidate enters when it beats the current n-th.
        let mut best: Vec<(f32, u32)> = Vec::with_capacity(n + 1);
        for (i, &s) in scores.iter().enumerate() {
            if !s.is_finite() || (best.len() == n && s <= best[n - 1].0) || !self.item_open[i] {
                continue;
            }
            let Some(b) = self.item_business[i] else {
                continue;
            };
            if !accept(b) {
                continue;
            }
            let at = best.partition_point(|&(t, _)| t >= s);
            best.insert(at, (s, b));
            best.truncate(n);
        }
        best.into_iter().map(|(s, b)| (b, s)).collect()
    }

    /// [`AlsServing::top`] over the businesses `among` only (a filter's index): scores
    /// just those, never every item.
    pub fn top_among(
        &self,
        u: u32,
        n: usize,
        among: &[u32],
        reviewed: &[u32],
        accept: &dyn Fn(u32) -> bool,
    ) -> Vec<(u32, f32)> {
        if n == 0 || (u as usize) >= self.model.user_factors.nrows() {
            return Vec::new();
        }
        let x = self.model.user_factors.row(u as usize);
        let rated = self.model.rated.of(u);
        let mut best: Vec<(f32, u32)> = Vec::with_capacity(n + 1);
        for &b in among {
            let Some(i) = self.item_of(b) else { continue };
            if !self.item_open[i as usize]
                || rated.binary_search(&i).is_ok()
                || reviewed.binary_search(&b).is_ok()
            {
                continue;
            }
            let s = x.dot(&self.model.item_factors.row(i as usize));
            if !s.is_finite() || (best.len() == n && s <= best[n - 1].0) || !accept(b) {
                continue;
            }
            // Ties: the lower item index first, as in `top`.
            let at = best.partition_point(|&(t, bb)| {
                t > s || (t == s && self.item_of(bb).is_some_and(|j| j < i))
            });
            best.insert(at, (s, b));
            best.truncate(n);
        }
        best.into_iter().map(|(s, b)| (b, s)).collect()
    }
}

/// A growth prediction row, with its business resolved.
#[derive(Debug, Clone)]
pub(crate) struct GrowthRow {
    pub level: String,
    pub business: Option<u32>,
    pub category: Option<String>,
    pub state: Option<String>,
    pub period_start: chrono::NaiveDate,
    pub model: String,
    pub predicted_class: String,
    pub probability: Option<f64>,
    pub predicted_value: Option<f64>,
    pub model_version: i64,
}

/// A snapshot of the lake in memory, with every index the endpoints need.
pub struct LoadedSnapshot {
    pub(crate) info: SnapshotInfo,
    pub(crate) businesses: Vec<Business>,
    /// `businesses[i]` as JSON, serialized once.
    pub(crate) business_json: Vec<Box<str>>,
    pub(crate) by_key: HashMap<i64, u32>,
    pub(crate) by_native: [HashMap<Box<str>, u32>; 2],
    /// Lower-cased names, by business index (for the name search).
    pub(crate) names_lower: Vec<Box<str>>,
    pub(crate) order_reviews: Vec<u32>,
    pub(crate) order_rating: Vec<u32>,
    pub(crate) order_name: Vec<u32>,
    pub(crate) users: [HashMap<Box<str>, i64>; 2],
    /// Reviewed businesses per user: `user_keys` sorted, `reviewed[offsets[i]..offsets[i+1]]`
    /// the sorted business indexes of `user_keys[i]`.
    pub(crate) user_keys: Vec<i64>,
    pub(crate) user_offsets: Vec<u32>,
    pub(crate) user_reviewed: Vec<u32>,
    /// `months[month_offsets[b]..month_offsets[b+1]]`: business `b`'s months, oldest first.
    pub(crate) months: Vec<MonthRow>,
    pub(crate) month_offsets: Vec<u32>,
    pub(crate) kpis: HashMap<KpiKey, Vec<KpiRow>>,
    pub(crate) sentiment: HashMap<(Source, Option<String>), SentimentAgg>,
    /// Cold-start ranking: (business index, Bayesian-average rating), best first.
    pub(crate) cold: Vec<(u32, f64)>,
    pub(crate) als: Option<AlsServing>,
    /// The `ml` stage's lists, by the current serving policy.
    pub(crate) lists: crate::lists::Lists,
    /// Businesses by state, city and category.
    pub(crate) filter_index: crate::lists::FilterIndex,
    pub(crate) registry: Vec<ModelInfo>,
    /// Similar businesses per business index: (other index, rank, score), by rank.
    pub(crate) similar: HashMap<u32, Vec<(u32, i32, f64)>>,
    pub(crate) similar_model: Option<ModelRef>,
    pub(crate) sites: Vec<SiteCandidate>,
    pub(crate) growth: Vec<GrowthRow>,
    pub(crate) facets: Facets,
    /// Date of the latest review.
    pub(crate) data_through: Option<chrono::NaiveDate>,
}

impl std::fmt::Debug for LoadedSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedSnapshot")
            .field("id", &self.info.id)
            .field("businesses", &self.businesses.len())
            .field("users", &self.user_keys.len())
            .finish()
    }
}

/// One recommended item, before it becomes JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct RecommendedItem {
    /// Business index.
    pub business: u32,
    /// Score.
    pub score: f64,
    /// From the cold-start ranking.
    pub cold_start: bool,
    /// The candidate of the serving policy that produced it (`biased`, `popularity`,
    /// ..., `cold_start`).
    pub model: Arc<str>,
}

/// What [`LoadedSnapshot::recommend`] found.
#[derive(Debug, Clone)]
pub struct RecommendOutcome {
    /// `dim_user.user_key` of the user, if known.
    pub user_key: Option<i64>,
    /// Businesses the user reviewed.
    pub reviewed: usize,
    /// Whether a candidate of the serving policy (not the cold-start ranking) served the
    /// user.
    pub in_model: bool,
    /// The user's segment by number of ratings (`0`, `1`, `2-4`, `5-9`, `10+`), when
    /// the `ml` stage listed the user.
    pub segment: Option<Arc<str>>,
    /// Whether the answer came from the precomputed list as it is (no scoring).
    pub precomputed: bool,
    /// Best first.
    pub items: Vec<RecommendedItem>,
}

fn eq_ci(a: Option<&str>, b: &str) -> bool {
    a.is_some_and(|a| a.eq_ignore_ascii_case(b))
}

impl LoadedSnapshot {
    /// The snapshot's id (`None` for a lake without catalog).
    pub fn id(&self) -> Option<i64> {
        self.info.id
    }

    /// What was loaded, from which snapshot, with the row accounting.
    pub fn info(&self) -> &SnapshotInfo {
        &self.info
    }

    /// Number of businesses.
    pub fn business_count(&self) -> usize {
        self.businesses.len()
    }

    /// Number of users.
    pub fn user_count(&self) -> usize {
        self.users[0].len() + self.users[1].len()
    }

    /// The business at `idx`.
    pub fn business(&self, idx: u32) -> &Business {
        &self.businesses[idx as usize]
    }

    /// The business at `idx` as JSON (serialized once when the snapshot was loaded).
    pub fn business_json(&self, idx: u32) -> &str {
        &self.business_json[idx as usize]
    }

    /// The index of business `(source, native id)`.
    pub fn business_by_native(&self, source: Source, id: &str) -> Option<u32> {
        self.by_native[source_slot(source)].get(id).copied()
    }

    /// The index of business `business_key`.
    pub fn business_by_key(&self, key: i64) -> Option<u32> {
        self.by_key.get(&key).copied()
    }

    /// `dim_user.user_key` of user `(source, native id)`.
    pub fn user_key(&self, source: Source, id: &str) -> Option<i64> {
        self.users[source_slot(source)].get(id).copied()
    }

    /// The sorted business indexes `user_key` reviewed.
    pub fn reviewed_by(&self, user_key: i64) -> &[u32] {
        match self.user_keys.binary_search(&user_key) {
            Ok(i) => {
                let (a, b) = (self.user_offsets[i], self.user_offsets[i + 1]);
                &self.user_reviewed[a as usize..b as usize]
            }
            Err(_) => &[],
        }
    }

    /// Whether business `idx` passes `f`.
    pub fn matches(&self, idx: u32, f: &BusinessFilter) -> bool {
        let b = &self.businesses[idx as usize];
        if let Some(s) = &f.state
            && !eq_ci(b.state.as_deref(), s)
        {
            return false;
        }
        if let Some(c) = &f.city
            && !eq_ci(b.city.as_deref(), c)
        {
            return false;
        }
        if let Some(src) = f.source
            && b.source != src
        {
            return false;
        }
        if let Some(min) = f.min_rating
            && !b.rating.is_some_and(|r| r >= min)
        {
            return false;
        }
        if let Some(cat) = &f.category
            && !b.categories.iter().any(|c| c.eq_ignore_ascii_case(cat))
        {
            return false;
        }
        if let Some(q) = &f.name
            && !self.names_lower[idx as usize].contains(q.as_str())
        {
            return false;
        }
        true
    }

    /// Businesses matching `f` in `order`: the total and the page `offset..offset+limit`.
    pub fn search(
        &self,
        f: &BusinessFilter,
        order: SearchOrder,
        limit: usize,
        offset: usize,
    ) -> (usize, Vec<u32>) {
        let order = match order {
            SearchOrder::Reviews => &self.order_reviews,
            SearchOrder::Rating => &self.order_rating,
            SearchOrder::Name => &self.order_name,
        };
        let mut total = 0usize;
        let mut page = Vec::with_capacity(limit.min(1024));
        for &i in order {
            if self.matches(i, f) {
                if total >= offset && page.len() < limit {
                    page.push(i);
                }
                total += 1;
            }
        }
        (total, page)
    }

    /// Up to `n` recommendations for user `(source, id)` within `f`, by the serving
    /// policy of the current `als` version: an unfiltered request is answered from the
    /// user's precomputed list (`models/recommendations`) when it holds `n` items; a
    /// filtered or longer one is scored by the explicit model over the filter's index
    /// only, when the policy serves the user's segment by that model. A user of a
    /// segment another candidate serves (a baseline, implicit ALS) gets the items of
    /// their precomputed list within the filter first. The cold-start ranking (within
    /// the filter) completes a short list and answers unknown users. A lake without lists (from before serving policies) falls
    /// back to the model for users with at least
    /// [`ColdStartParams::min_ratings`](reviewlake_ml::recommend::ColdStartParams)
    /// training items. Never a business the user reviewed (in `fact_review`), a
    /// business the model had as the user's training item, or a closed business.
    pub fn recommend(
        &self,
        source: Source,
        id: &str,
        n: usize,
        f: &BusinessFilter,
    ) -> RecommendOutcome {
        let user_key = self.user_key(source, id);
        let reviewed = user_key.map_or(&[][..], |k| self.reviewed_by(k));
        let keep = |b: u32| {
            self.businesses[b as usize].is_open != Some(false)
                && reviewed.binary_search(&b).is_err()
                && self.matches(b, f)
        };
        let unfiltered = f.state.is_none()
            && f.city.is_none()
            && f.category.is_none()
            && f.source.is_none()
            && f.min_rating.is_none()
            && f.name.is_none();
        let listed = user_key.and_then(|k| self.lists.of(k));
        let segment = listed.map(|(s, _)| s.clone());
        // The candidate serving the user's segment (the first row not from cold start).
        let served_by = listed.and_then(|(_, l)| {
            l.iter()
                .map(|it| self.lists.name(it.model))
                .find(|m| m.as_ref() != crate::lists::COLD_START_MODEL)
        });
        let by_model = |als: &AlsServing| served_by.is_some_and(|m| *m == als.kind);
        // The explicit model answers its users' filtered requests by scoring the
        // filter's businesses; the other candidates' users get their precomputed list
        // within the filter (then the cold-start ranking within it).
        let scored = self.als.as_ref().is_some_and(by_model);
        let mut items: Vec<RecommendedItem> = Vec::with_capacity(n);
        if let (true, Some((_, list))) = (unfiltered || !scored, listed) {
            for it in list {
                if items.len() >= n {
                    break;
                }
                if keep(it.business) {
                    let model = self.lists.name(it.model).clone();
                    items.push(RecommendedItem {
                        business: it.business,
                        score: it.score,
                        cold_start: model.as_ref() == crate::lists::COLD_START_MODEL,
                        model,
                    });
                }
            }
            if items.len() >= n {
                return RecommendOutcome {
                    user_key,
                    reviewed: reviewed.len(),
                    in_model: served_by.is_some(),
                    segment,
                    precomputed: true,
                    items,
                };
            }
            // Too short: the explicit model scores a longer list for its users; a
            // baseline's list is completed by the cold-start ranking.
            if scored {
                items.clear();
            }
        }
        let mut in_model = served_by.is_some();
        if let (Some(als), Some(key), true) = (&self.als, user_key, items.is_empty()) {
            // With lists: the explicit model scores only the users the policy gives it.
            // Without (an older lake): users with enough training items.
            let by_policy = listed.map(|_| by_model(als));
            let min = reviewlake_ml::recommend::ColdStartParams::default().min_ratings;
            if let Some(u) = als.model.users.index(&key.to_string())
                && by_policy.unwrap_or_else(|| als.model.rated.of(u).len() >= min)
            {
                in_model = true;
                let accept = |b: u32| unfiltered || self.matches(b, f);
                let among = self.filter_index.narrowest(
                    f.state.as_deref(),
                    f.city.as_deref(),
                    f.category.as_deref(),
                );
                let top = match among {
                    Some(among) => als.top_among(u, n, among, reviewed, &accept),
                    None => als.top(u, n, reviewed, &accept),
                };
                for (b, score) in top {
                    items.push(RecommendedItem {
                        business: b,
                        score: f64::from(score),
                        cold_start: false,
                        model: als.kind.clone(),
                    });
                }
            }
        }
        if items.len() < n {
            let cold: Arc<str> = Arc::from(crate::lists::COLD_START_MODEL);
            for &(b, score) in &self.cold {
                if items.len() >= n {
                    break;
                }
                if keep(b) && !items.iter().any(|it| it.business == b) {
                    items.push(RecommendedItem {
                        business: b,
                        score,
                        cold_start: true,
                        model: cold.clone(),
                    });
                }
            }
        }
        RecommendOutcome {
            user_key,
            reviewed: reviewed.len(),
            in_model,
            segment,
            precomputed: false,
            items,
        }
    }

    /// The kind of the current `als` model (`biased` or `als`), if one was loaded.
    pub fn als_kind(&self) -> Option<&str> {
        self.als.as_ref().map(|a| a.kind.as_ref())
    }

    /// The current `als` model, if one was loaded.
    pub fn als_model(&self) -> Option<&ModelRef> {
        self.als.as_ref().map(|a| &a.model_ref)
    }

    /// Up to `n` businesses similar to business `idx`: `(index, rank, score)`, with the
    /// method (`table`, `model` or `none`) and the model behind it.
    pub fn similar(&self, idx: u32, n: usize) -> SimilarOutcome {
        if let Some(rows) = self.similar.get(&idx) {
            let v = rows.iter().take(n).copied().collect();
            return ("table", self.similar_model.clone(), v);
        }
        if !self.similar.is_empty() {
            // The table covers the model's businesses; this one has no neighbours.
            return ("table", self.similar_model.clone(), Vec::new());
        }
        if let Some(als) = &self.als {
            let Some(item) = als.item_of(idx) else {
                return ("model", Some(als.model_ref.clone()), Vec::new());
            };
            let mut out = Vec::with_capacity(n);
            // Ask for a few more: items not in dim_business are skipped.
            for s in als.model.similar_items_index(item, n + 8) {
                if out.len() >= n {
                    break;
                }
                if let Some(Some(b)) = als.item_business.get(s.item as usize)
                    && s.score.is_finite()
                {
                    out.push((*b, out.len() as i32 + 1, f64::from(s.score)));
                }
            }
            return ("model", Some(als.model_ref.clone()), out);
        }
        ("none", None, Vec::new())
    }

    /// Business `idx`'s months, oldest first.
    pub fn timeline(&self, idx: u32) -> Vec<MonthPoint> {
        let (a, b) = (
            self.month_offsets[idx as usize] as usize,
            self.month_offsets[idx as usize + 1] as usize,
        );
        self.months[a..b]
            .iter()
            .map(|m| MonthPoint {
                month: m.month.to_string(),
                reviews: m.reviews,
                mean_stars: finite(m.mean_stars),
                mean_sentiment: finite(m.mean_sentiment),
                new_reviewers: m.new_reviewers,
                returning_reviewers: m.returning_reviewers,
            })
            .collect()
    }

    /// One KPI series of one group, periods within `from..=to`.
    pub fn kpi_points(
        &self,
        key: &KpiKey,
        from: Option<chrono::NaiveDate>,
        to: Option<chrono::NaiveDate>,
    ) -> Vec<KpiPoint> {
        let Some(rows) = self.kpis.get(key) else {
            return Vec::new();
        };
        rows.iter()
            .filter(|r| {
                from.is_none_or(|f| r.period_start >= f) && to.is_none_or(|t| r.period_start <= t)
            })
            .map(|r| KpiPoint {
                period_start: r.period_start.to_string(),
                value: finite(r.value),
                previous_value: finite(r.previous_value),
                target_met: r.target_met,
                low_support: r.low_support,
                partial: r.partial,
            })
            .collect()
    }

    /// Review growth of every category of a group in its latest period with values (or
    /// in `period` if given): (period, rising fastest first, declining fastest first).
    /// The default period is the latest one that ends by the latest review: a period
    /// cut short by the end of the data would show every category declining.
    pub fn category_trends(
        &self,
        grain: Grain,
        state: Option<&str>,
        source: Option<Source>,
        period: Option<chrono::NaiveDate>,
        limit: usize,
    ) -> (
        Option<chrono::NaiveDate>,
        Vec<CategoryTrend>,
        Vec<CategoryTrend>,
    ) {
        let state = state.map(str::to_uppercase);
        let series: Vec<(&String, &Vec<KpiRow>)> = self
            .kpis
            .iter()
            .filter(|((k, g, s, c, src), _)| {
                *k == KpiName::ReviewGrowthRate
                    && *g == grain
                    && *s == state
                    && c.is_some()
                    && *src == source
            })
            .filter_map(|((_, _, _, c, _), rows)| c.as_ref().map(|c| (c, rows)))
            .collect();
        // By default the latest complete period (one that ends by the latest review).
        let complete = |p: chrono::NaiveDate| match (self.data_through, grain.period_end(p)) {
            (Some(through), Some(end)) => end <= through,
            _ => true,
        };
        let period = period.or_else(|| {
            series
                .iter()
                .flat_map(|(_, rows)| rows.iter().filter(|r| finite(r.value).is_some()))
                .map(|r| r.period_start)
                .filter(|p| complete(*p))
                .max()
        });
        let Some(p) = period else {
            return (None, Vec::new(), Vec::new());
        };
        let mut all: Vec<CategoryTrend> = series
            .iter()
            .filter_map(|(c, rows)| {
                let r = rows.iter().find(|r| r.period_start == p)?;
                Some(CategoryTrend {
                    category: (*c).clone(),
                    value: finite(r.value)?,
                    previous_value: finite(r.previous_value),
                })
            })
            .collect();
        all.sort_by(|a, b| {
            b.value
                .total_cmp(&a.value)
                .then_with(|| a.category.cmp(&b.category))
        });
        let rising: Vec<CategoryTrend> = all
            .iter()
            .filter(|t| t.value > 0.0)
            .take(limit)
            .cloned()
            .collect();
        let mut declining: Vec<CategoryTrend> = all.into_iter().filter(|t| t.value < 0.0).collect();
        declining.sort_by(|a, b| {
            a.value
                .total_cmp(&b.value)
                .then_with(|| a.category.cmp(&b.category))
        });
        declining.truncate(limit);
        (Some(p), rising, declining)
    }

    /// The sentiment histogram per platform, for all states or one.
    pub fn sentiment(&self, state: Option<&str>) -> Vec<SentimentSeries> {
        let state = state.map(str::to_uppercase);
        [Source::Yelp, Source::Google]
            .into_iter()
            .map(|source| {
                let agg = self
                    .sentiment
                    .get(&(source, state.clone()))
                    .cloned()
                    .unwrap_or_default();
                SentimentSeries {
                    source,
                    counts: agg.counts.to_vec(),
                    reviews: agg.reviews,
                    mean_compound: (agg.reviews > 0)
                        .then(|| agg.sum / agg.reviews as f64)
                        .filter(|m| m.is_finite()),
                }
            })
            .collect()
    }
}

/// The slot of a source in the per-source arrays.
pub(crate) fn source_slot(s: Source) -> usize {
    match s {
        Source::Yelp => 0,
        Source::Google => 1,
    }
}

/// `v` if it is a finite number (JSON has no NaN or infinities).
pub(crate) fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

/// What [`Snapshot::similar`] found: the method (`table`, `model` or `none`), the model
/// behind it, and `(business index, rank, score)` rows.
pub type SimilarOutcome = (&'static str, Option<ModelRef>, Vec<(u32, i32, f64)>);

#[cfg(test)]
mod tests {
    use super::*;
    use reviewlake_ml::recommend::{Als, AlsParams, Interactions};

    /// A small model over businesses 0..12 (business = item id), business 5 closed.
    fn serving() -> AlsServing {
        let mut t = Interactions::new();
        for u in 0..6u32 {
            for i in 0..12u32 {
                if (u * 7 + i * 3) % 4 != 0 {
                    t.push(&format!("u{u}"), &i.to_string(), ((u + i) % 5 + 1) as f32)
                        .unwrap();
                }
            }
        }
        let model = Als::new(AlsParams {
            rank: 3,
            iterations: 5,
            reg: 0.1,
            seed: 1,
        })
        .fit(&t)
        .unwrap();
        let items = model.items.len();
        let item_business: Vec<Option<u32>> = (0..items as u32)
            .map(|i| model.items.id(i).and_then(|id| id.parse().ok()))
            .collect();
        let mut business_item = vec![u32::MAX; 12];
        for (i, b) in item_business.iter().enumerate() {
            if let Some(b) = b {
                business_item[*b as usize] = i as u32;
            }
        }
        let item_open = item_business.iter().map(|b| *b != Some(5)).collect();
        let rank = model.item_factors.ncols();
        let mut item_factors_t = vec![0f32; items * rank];
        for (i, row) in model.item_factors.rows().into_iter().enumerate() {
            for (k, &v) in row.iter().enumerate() {
                item_factors_t[k * items + i] = v;
            }
        }
        AlsServing {
            model_ref: ModelRef {
                name: "als".into(),
                version: 1,
            },
            kind: Arc::from("als"),
            model,
            item_factors_t,
            item_business,
            business_item,
            item_open,
        }
    }

    #[test]
    fn scoring_a_filters_businesses_equals_scoring_every_item_then_filtering() {
        let s = serving();
        let among: Vec<u32> = vec![0, 2, 3, 5, 7, 8, 11];
        let reviewed = [3u32];
        let mut compared = 0;
        for u in 0..6 {
            let u = s.model.users.index(&format!("u{u}")).unwrap();
            for n in [1, 3, 10] {
                let want = s.top(u, n, &reviewed, &|b| among.contains(&b));
                let got = s.top_among(u, n, &among, &reviewed, &|_| true);
                assert_eq!(got, want, "user {u}, n {n}");
                // Never closed (5), reviewed (3) or a training item of the user.
                for (b, _) in &got {
                    assert!(*b != 5 && *b != 3);
                    let i = s.item_of(*b).unwrap();
                    assert!(!s.model.rated.of(u).contains(&i));
                }
                compared += got.len();
            }
        }
        assert!(compared > 0);
        // An accept function still applies; an empty index gives nothing.
        let u = s.model.users.index("u0").unwrap();
        let even = s.top_among(u, 10, &among, &[], &|b| b % 2 == 0);
        assert!(even.iter().all(|(b, _)| b % 2 == 0));
        assert!(s.top_among(u, 10, &[], &[], &|_| true).is_empty());
    }
}
