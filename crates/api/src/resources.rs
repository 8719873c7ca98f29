//! The JSON resources of the API: what each endpoint returns, with its OpenAPI schema
//! (`utoipa::ToSchema`). A field that may be missing in the lake is an `Option` and is
//! always present in the JSON, as `null` when missing.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A review platform (one enum for the whole project: `reviewlake_schema::Source`).
pub use reviewlake_schema::Source;

/// A business (Yelp) or place (Google) of the warehouse, with its features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Business {
    /// Platform.
    pub source: Source,
    /// Native id on the platform (Yelp `business_id`, Google `gmap_id`).
    pub id: String,
    /// Warehouse surrogate key (`dim_business.business_key`).
    pub business_key: i64,
    /// Name.
    pub name: Option<String>,
    /// Street address.
    pub address: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State code (`CA`, `TX`, ...).
    pub state: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Latitude (degrees).
    pub latitude: Option<f64>,
    /// Longitude (degrees).
    pub longitude: Option<f64>,
    /// Rating published by the platform (stars, 1 to 5).
    pub rating: Option<f64>,
    /// Review count published by the platform.
    pub review_count: Option<i64>,
    /// Price level (1 to 4).
    pub price_level: Option<i32>,
    /// Whether the business is open (null when unknown).
    pub is_open: Option<bool>,
    /// Shared categories (`business_category`), sorted.
    pub categories: Vec<String>,
    /// Reviews in the warehouse scope (`business_features.reviews`).
    pub reviews: Option<i64>,
    /// Mean stars of those reviews.
    pub mean_stars: Option<f64>,
    /// Mean VADER compound score of those reviews (-1 to 1).
    pub mean_sentiment: Option<f64>,
}

/// A model version, as referenced by a result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ModelRef {
    /// Model name (`als`, ...).
    pub name: String,
    /// Version.
    pub version: i64,
}

/// The user a recommendation is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UserRef {
    /// Platform.
    pub source: Source,
    /// Native user id, as asked.
    pub id: String,
    /// Warehouse surrogate key (`dim_user.user_key`); null for a user the lake does not
    /// know.
    pub user_key: Option<i64>,
    /// Businesses of the warehouse the user reviewed (never recommended to them).
    pub reviewed: i64,
    /// Whether a candidate of the serving policy (a model or a baseline, not the
    /// cold-start ranking) serves the user.
    pub in_model: bool,
    /// The user's segment by number of ratings (`0`, `1`, `2-4`, `5-9`, `10+`); null
    /// for a user the `ml` stage did not list.
    #[serde(default)]
    pub segment: Option<String>,
}

/// One recommended business.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecommendedBusiness {
    /// 1-based rank.
    pub rank: i32,
    /// Model score (a predicted rating) or, for cold start, the Bayesian-average rating.
    pub score: f64,
    /// True when the item comes from the cold-start ranking (popular, well-rated places)
    /// rather than the user's factors.
    pub cold_start: bool,
    /// The candidate of the serving policy that produced the item: `biased`, `als`,
    /// `implicit_als`, `bias_baseline`, `popularity`, `popularity_by_state` or
    /// `cold_start`.
    #[serde(default)]
    pub model: String,
    /// The business.
    pub business: Business,
}

/// Recommendations for one user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Recommendations {
    /// The snapshot that answered.
    pub snapshot_id: Option<i64>,
    /// The user.
    pub user: UserRef,
    /// The model that scored the warm items (null without a current `als` model).
    pub model: Option<ModelRef>,
    /// True when every item is a cold-start item.
    pub cold_start: bool,
    /// Best first.
    pub items: Vec<RecommendedBusiness>,
}

/// A business similar to another one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SimilarBusiness {
    /// 1-based rank.
    pub rank: i32,
    /// Similarity (cosine of item factors).
    pub score: f64,
    /// The business.
    pub business: Business,
}

/// Businesses similar to one business ("people who liked X also liked Y").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Similar {
    /// The snapshot that answered.
    pub snapshot_id: Option<i64>,
    /// The business asked about.
    pub business: Business,
    /// `table` (the models zone's `similar_businesses`), `model` (computed from the
    /// current `als` model's item factors) or `none` (no model: empty list).
    pub method: String,
    /// The model behind the list.
    pub model: Option<ModelRef>,
    /// Most similar first.
    pub items: Vec<SimilarBusiness>,
}

/// One month of a business (`business_month`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MonthPoint {
    /// First day of the month (`YYYY-MM-DD`).
    pub month: String,
    /// Reviews in the month.
    pub reviews: i64,
    /// Mean stars.
    pub mean_stars: Option<f64>,
    /// Mean VADER compound score (null when no review had text).
    pub mean_sentiment: Option<f64>,
    /// Reviewers reviewing the business for the first time.
    pub new_reviewers: i64,
    /// Reviewers who had reviewed it before.
    pub returning_reviewers: i64,
}

/// Sentiment and rating of a business by month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Timeline {
    /// The snapshot that answered.
    pub snapshot_id: Option<i64>,
    /// The business.
    pub business: Business,
    /// Months with reviews, oldest first.
    pub months: Vec<MonthPoint>,
}

/// A page of businesses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BusinessPage {
    /// The snapshot that answered.
    pub snapshot_id: Option<i64>,
    /// Businesses matching the filters (all pages).
    pub total: i64,
    /// Page size asked.
    pub limit: i64,
    /// Offset asked.
    pub offset: i64,
    /// This page.
    pub items: Vec<Business>,
}

/// A KPI name (see docs/KPIS.md).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum KpiName {
    /// Share of a period's reviewers who had reviewed the same business before (%).
    RetentionRate,
    /// Change in review count from the previous period (%).
    ReviewGrowthRate,
    /// Change in mean stars from the previous period (%).
    AvgRatingVariation,
    /// Change in mean VADER compound from the previous period (%).
    SentimentVariation,
    /// Yelp: share of the previous period's checked-in businesses checked in again (%).
    CheckinRetentionRate,
}

impl KpiName {
    /// Every KPI, in the order of docs/KPIS.md.
    pub const ALL: [KpiName; 5] = [
        KpiName::RetentionRate,
        KpiName::ReviewGrowthRate,
        KpiName::AvgRatingVariation,
        KpiName::SentimentVariation,
        KpiName::CheckinRetentionRate,
    ];

    /// The name in the `kpi` table.
    pub fn as_str(self) -> &'static str {
        match self {
            KpiName::RetentionRate => "retention_rate",
            KpiName::ReviewGrowthRate => "review_growth_rate",
            KpiName::AvgRatingVariation => "avg_rating_variation",
            KpiName::SentimentVariation => "sentiment_variation",
            KpiName::CheckinRetentionRate => "checkin_retention_rate",
        }
    }

    /// The KPI called `s`.
    pub fn parse(s: &str) -> Option<KpiName> {
        KpiName::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Its target (docs/KPIS.md).
    pub fn target(self) -> KpiTarget {
        let (comparison, value) = match self {
            KpiName::RetentionRate | KpiName::CheckinRetentionRate => ("gt", 70.0),
            KpiName::ReviewGrowthRate => ("gt", 0.0),
            KpiName::AvgRatingVariation | KpiName::SentimentVariation => ("ge", 0.0),
        };
        KpiTarget {
            comparison: comparison.to_string(),
            value,
        }
    }
}

/// A calendar grain.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Grain {
    /// Calendar months.
    Month,
    /// Calendar quarters.
    Quarter,
    /// Calendar years.
    Year,
}

impl Grain {
    /// The last day of the period starting at `start`.
    pub fn period_end(self, start: chrono::NaiveDate) -> Option<chrono::NaiveDate> {
        let months = match self {
            Grain::Month => 1,
            Grain::Quarter => 3,
            Grain::Year => 12,
        };
        start
            .checked_add_months(chrono::Months::new(months))?
            .pred_opt()
    }

    /// The name in the `kpi` table.
    pub fn as_str(self) -> &'static str {
        match self {
            Grain::Month => "month",
            Grain::Quarter => "quarter",
            Grain::Year => "year",
        }
    }

    /// The grain called `s`.
    pub fn parse(s: &str) -> Option<Grain> {
        [Grain::Month, Grain::Quarter, Grain::Year]
            .into_iter()
            .find(|g| g.as_str() == s)
    }
}

/// A KPI's target: `value` must be greater than (`gt`) or at least (`ge`) it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KpiTarget {
    /// `gt` or `ge`.
    pub comparison: String,
    /// The threshold, in percent.
    pub value: f64,
}

/// One period of a KPI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KpiPoint {
    /// First day of the period (`YYYY-MM-DD`).
    pub period_start: String,
    /// The KPI in percent (null when undefined).
    pub value: Option<f64>,
    /// The same KPI one period earlier.
    pub previous_value: Option<f64>,
    /// Whether `value` meets the target (null when `value` is null).
    pub target_met: Option<bool>,
    /// The value stands on fewer reviews than the build's minimum support (in this
    /// period or, for comparisons, the previous one): shown greyed, not headlined.
    pub low_support: bool,
    /// The period is partial: a platform's data begins or ends inside it (the last,
    /// unfinished period included). Never headlined.
    pub partial: bool,
}

/// One KPI over time for one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KpiSeries {
    /// The KPI.
    pub kpi: KpiName,
    /// Its target.
    pub target: KpiTarget,
    /// Periods oldest first.
    pub points: Vec<KpiPoint>,
}

/// KPIs of one group (state, category, platform; null = all) at one grain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Kpis {
    /// The snapshot that answered.
    pub snapshot_id: Option<i64>,
    /// Grain.
    pub grain: Grain,
    /// State filter (null = all states).
    pub state: Option<String>,
    /// Category filter (null = all categories).
    pub category: Option<String>,
    /// Platform filter (null = both).
    pub source: Option<Source>,
    /// First period included (`YYYY-MM-DD`), if limited.
    pub from: Option<String>,
    /// Last period included (`YYYY-MM-DD`), if limited.
    pub to: Option<String>,
    /// One series per KPI asked (all five when `kpi` is not given).
    pub series: Vec<KpiSeries>,
}

/// A category's review growth in one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CategoryTrend {
    /// Shared category.
    pub category: String,
    /// `review_growth_rate` of the period (%).
    pub value: f64,
    /// `review_growth_rate` of the period before (%).
    pub previous_value: Option<f64>,
}

/// Rising and declining categories: review growth of one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CategoryTrends {
    /// The snapshot that answered.
    pub snapshot_id: Option<i64>,
    /// Grain.
    pub grain: Grain,
    /// State filter (null = all).
    pub state: Option<String>,
    /// Platform filter (null = both).
    pub source: Option<Source>,
    /// The period compared with the one before (`YYYY-MM-DD`); null without data.
    pub period_start: Option<String>,
    /// Growing categories, fastest first.
    pub rising: Vec<CategoryTrend>,
    /// Shrinking categories, fastest decline first.
    pub declining: Vec<CategoryTrend>,
}

/// The distribution of review sentiment on one platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SentimentSeries {
    /// Platform.
    pub source: Source,
    /// Reviews per bin (`bin_edges[i]` to `bin_edges[i + 1]`).
    pub counts: Vec<i64>,
    /// Reviews with a score.
    pub reviews: i64,
    /// Their mean compound score.
    pub mean_compound: Option<f64>,
}

/// Review sentiment (VADER compound) by platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SentimentDistribution {
    /// The snapshot that answered.
    pub snapshot_id: Option<i64>,
    /// State filter (null = all).
    pub state: Option<String>,
    /// 21 edges from -1 to 1: 20 bins, the last one closed.
    pub bin_edges: Vec<f64>,
    /// One series per platform.
    pub sources: Vec<SentimentSeries>,
}

/// A candidate area for a new branch (`site_candidates`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SiteCandidate {
    /// State.
    pub state: String,
    /// Shared category (null = all restaurants).
    pub category: Option<String>,
    /// 1-based rank within the state (and category).
    pub rank: i32,
    /// Clustering method (`kmeans`, `dbscan`).
    pub method: String,
    /// Cluster number.
    pub cluster: i32,
    /// Centroid latitude.
    pub centroid_latitude: f64,
    /// Centroid longitude.
    pub centroid_longitude: f64,
    /// Radius, km.
    pub radius_km: f64,
    /// Places in the cluster.
    pub members: i64,
    /// Opportunity score.
    pub score: f64,
    /// Normalised demand component.
    pub demand: f64,
    /// Normalised satisfaction-gap component.
    pub satisfaction_gap: f64,
    /// Normalised competition component.
    pub competition: f64,
    /// Why, for people.
    pub reasons: String,
    /// The `sites` model version.
    pub model_version: i64,
}

/// Site-selection candidates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Sites {
    /// The snapshot that answered.
    pub snapshot_id: Option<i64>,
    /// Candidates matching the filters (all pages).
    pub total: i64,
    /// Candidates by state, category (all first) and rank.
    pub items: Vec<SiteCandidate>,
}

/// A growth or decline prediction (`growth_predictions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GrowthPrediction {
    /// `business` or `category_state`.
    pub level: String,
    /// The business, for `business` rows.
    pub business: Option<Business>,
    /// Category, for `category_state` rows.
    pub category: Option<String>,
    /// State.
    pub state: Option<String>,
    /// The period predicted (`YYYY-MM-DD`).
    pub period_start: String,
    /// The model (`growth_logistic`, ...).
    pub model: String,
    /// `grow` or `decline`.
    pub predicted_class: String,
    /// Predicted probability of growth.
    pub probability: Option<f64>,
    /// Predicted next-period value.
    pub predicted_value: Option<f64>,
    /// Model version.
    pub model_version: i64,
}

/// Growth predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Growth {
    /// The snapshot that answered.
    pub snapshot_id: Option<i64>,
    /// Predictions matching the filters (all pages).
    pub total: i64,
    /// Page size asked.
    pub limit: i64,
    /// Offset asked.
    pub offset: i64,
    /// Most probable growth first.
    pub items: Vec<GrowthPrediction>,
}

/// A registered model version (`registry`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ModelInfo {
    /// Model name.
    pub name: String,
    /// Version.
    pub version: i64,
    /// Training time (RFC 3339, UTC).
    pub created_at: String,
    /// The snapshot it was trained on.
    pub snapshot_id: Option<i64>,
    /// Hyper-parameters (a JSON object).
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    /// Evaluation metrics (a JSON object).
    #[schema(value_type = Object)]
    pub metrics: serde_json::Value,
    /// Whether this is the served version of its name.
    pub current: bool,
    /// The metric promotion compares.
    pub primary_metric: String,
    /// Its value.
    pub primary_value: Option<f64>,
    /// Whether a larger primary value is better.
    pub higher_is_better: bool,
}

/// The model registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Models {
    /// The snapshot that answered.
    pub snapshot_id: Option<i64>,
    /// Versions by name then version.
    pub models: Vec<ModelInfo>,
}

/// One table of the snapshot at its Delta version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SnapshotTable {
    /// Zone (`raw`, `warehouse`, `features`, `models`).
    pub zone: String,
    /// Table name.
    pub name: String,
    /// Delta version.
    pub version: i64,
}

/// What the service read from one table at load, and what it kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LoadAccount {
    /// `zone/name`.
    pub table: String,
    /// Rows read.
    pub rows_read: i64,
    /// Rows indexed.
    pub rows_kept: i64,
    /// Rows left out, with the reason in `note`.
    pub rows_skipped: i64,
    /// Why rows were left out (empty when none were).
    pub note: String,
}

/// The snapshot the service answers from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SnapshotInfo {
    /// Catalog snapshot id (null for a lake without catalog).
    pub id: Option<i64>,
    /// The stage that committed it.
    pub stage: Option<String>,
    /// The run that committed it.
    pub run_id: Option<String>,
    /// When it was committed (RFC 3339, UTC).
    pub created_at: Option<String>,
    /// When this service loaded it (RFC 3339, UTC).
    pub loaded_at: String,
    /// Seconds the load took.
    pub load_seconds: f64,
    /// Every table at its version.
    pub tables: Vec<SnapshotTable>,
    /// Row accounting of the load: per table, read = kept + skipped.
    pub load: Vec<LoadAccount>,
    /// The current recommendation model, if any.
    pub als_model: Option<ModelRef>,
    /// Date of the latest review (`YYYY-MM-DD`): periods ending after it are partial.
    pub data_through: Option<String>,
}

/// `/healthz` and `/readyz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`, `ready` or `loading`.
    pub status: String,
    /// The loaded snapshot, if any.
    pub snapshot_id: Option<i64>,
}

/// The outcome of `POST /v1/admin/reload`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Reloaded {
    /// Whether a new snapshot was loaded.
    pub reloaded: bool,
    /// The snapshot answered from before.
    pub previous_snapshot_id: Option<i64>,
    /// The snapshot answered from now.
    pub snapshot_id: Option<i64>,
}

/// A filter value and how many businesses have it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FacetCount {
    /// The value (a state code, a category, a platform).
    pub value: String,
    /// Businesses with it.
    pub businesses: i64,
}

/// A user with reviews, to try the recommendations with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SampleUser {
    /// Platform.
    pub source: Source,
    /// Native user id.
    pub id: String,
    /// Businesses of the warehouse the user reviewed.
    pub reviewed: i64,
}

/// The values the filters can take, most frequent first, and a few active users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Facets {
    /// The snapshot that answered.
    pub snapshot_id: Option<i64>,
    /// States.
    pub states: Vec<FacetCount>,
    /// Shared categories.
    pub categories: Vec<FacetCount>,
    /// Platforms.
    pub sources: Vec<FacetCount>,
    /// The most active reviewers of each platform (up to 5 each).
    pub sample_users: Vec<SampleUser>,
}
