//! Schemas of the features zone: sentiment and derived features, and the KPI table.
//!
//! Every table lives at `<lake>/features/<name>`.

use arrow_schema::{DataType, Field, SchemaRef};

use crate::versioned;
use crate::warehouse::ts_type;

/// `review_features`: one row per warehouse review, with its VADER scores.
pub const REVIEW_FEATURES: &str = "review_features";
/// `tip_features`: one row per warehouse tip, with its VADER scores.
pub const TIP_FEATURES: &str = "tip_features";
/// `business_features`: one row per business in scope.
pub const BUSINESS_FEATURES: &str = "business_features";
/// `business_checkins`: check-ins per business, year and hour of day.
pub const BUSINESS_CHECKINS: &str = "business_checkins";
/// `user_features`: one row per reviewer.
pub const USER_FEATURES: &str = "user_features";
/// `business_month`: one row per business and calendar month with reviews.
pub const BUSINESS_MONTH: &str = "business_month";
/// `kpi`: the four KPIs (and the check-in retention variant) in long form.
pub const KPI: &str = "kpi";

/// Every features table.
pub const ALL_TABLES: [&str; 7] = [
    REVIEW_FEATURES,
    TIP_FEATURES,
    BUSINESS_FEATURES,
    BUSINESS_CHECKINS,
    USER_FEATURES,
    BUSINESS_MONTH,
    KPI,
];

fn f(name: &str, dt: DataType, nullable: bool) -> Field {
    Field::new(name, dt, nullable)
}
fn key(name: &str) -> Field {
    f(name, DataType::Int64, false)
}
fn i64n(name: &str) -> Field {
    f(name, DataType::Int64, true)
}
fn i32n(name: &str) -> Field {
    f(name, DataType::Int32, true)
}
fn f64n(name: &str) -> Field {
    f(name, DataType::Float64, true)
}
fn s(name: &str) -> Field {
    f(name, DataType::Utf8, true)
}

/// The VADER score columns (`neg`, `neu`, `pos`, `compound`; null when there is no text).
fn vader() -> Vec<Field> {
    vec![f64n("neg"), f64n("neu"), f64n("pos"), f64n("compound")]
}

/// Schema of [`REVIEW_FEATURES`].
pub fn review_features() -> SchemaRef {
    let mut v = vec![
        key("review_key"),
        f("source", DataType::Utf8, false),
        key("business_key"),
        key("user_key"),
        s("state"),
        f("review_ts", ts_type(), false),
        f("date_key", DataType::Int32, false),
        f("stars", DataType::Float64, false),
    ];
    v.extend(vader());
    v.extend([
        f("word_count", DataType::Int32, false),
        f("year", DataType::Int32, false),
        f("month", DataType::Int32, false),
        f("weekday", DataType::Int32, false),
        f("hour", DataType::Int32, false),
        // Days from the review to the newest review in the warehouse.
        f("age_days", DataType::Int32, false),
        i64n("votes"),
        f("has_response", DataType::Boolean, false),
        f64n("response_hours"),
    ]);
    versioned(v, Some(REVIEW_FEATURES))
}

/// Schema of [`TIP_FEATURES`].
pub fn tip_features() -> SchemaRef {
    let mut v = vec![
        key("tip_key"),
        key("business_key"),
        key("user_key"),
        f("tip_ts", ts_type(), false),
    ];
    v.extend(vader());
    v.push(f("word_count", DataType::Int32, false));
    versioned(v, Some(TIP_FEATURES))
}

/// Schema of [`BUSINESS_FEATURES`]; `category_columns` are the shared category names,
/// one-hot encoded as `cat_<name>` (0 or 1).
pub fn business_features(category_columns: &[&str]) -> SchemaRef {
    let mut v = vec![
        key("business_key"),
        f("source", DataType::Utf8, false),
        s("name"),
        s("state"),
        s("city"),
        f64n("latitude"),
        f64n("longitude"),
        i32n("price_level"),
        f("is_restaurant", DataType::Boolean, false),
        f("reviews", DataType::Int64, false),
        f64n("mean_stars"),
        f64n("mean_sentiment"),
        f64n("stars_trend_12m"),
        f64n("sentiment_trend_12m"),
        f64n("volume_trend_12m"),
        f64n("reviews_per_month"),
        f64n("repeat_customer_share"),
        f64n("response_rate"),
        f("first_review", ts_type(), true),
        f("last_review", ts_type(), true),
        f("checkins", DataType::Int64, false),
        i32n("peak_checkin_hour"),
        f64n("tip_sentiment"),
    ];
    for c in category_columns {
        v.push(f(&format!("cat_{c}"), DataType::Int32, false));
    }
    versioned(v, Some(BUSINESS_FEATURES))
}

/// Schema of [`BUSINESS_CHECKINS`].
pub fn business_checkins() -> SchemaRef {
    versioned(
        vec![
            key("business_key"),
            f("year", DataType::Int32, false),
            f("hour", DataType::Int32, false),
            f("checkins", DataType::Int64, false),
        ],
        Some(BUSINESS_CHECKINS),
    )
}

/// Schema of [`USER_FEATURES`].
pub fn user_features() -> SchemaRef {
    versioned(
        vec![
            key("user_key"),
            f("source", DataType::Utf8, false),
            f("reviews", DataType::Int64, false),
            f("businesses", DataType::Int64, false),
            f64n("mean_rating"),
            f64n("rating_bias"),
            f64n("mean_sentiment"),
            f("first_review", ts_type(), true),
            f("last_review", ts_type(), true),
            f("active_days", DataType::Int32, false),
            i32n("elite_years"),
            i32n("friends"),
            i64n("fans"),
            f("is_inferred", DataType::Boolean, false),
        ],
        Some(USER_FEATURES),
    )
}

/// Schema of [`BUSINESS_MONTH`].
pub fn business_month() -> SchemaRef {
    versioned(
        vec![
            key("business_key"),
            f("month", DataType::Date32, false),
            f("reviews", DataType::Int64, false),
            f64n("mean_stars"),
            f64n("mean_sentiment"),
            f("new_reviewers", DataType::Int64, false),
            f("returning_reviewers", DataType::Int64, false),
        ],
        Some(BUSINESS_MONTH),
    )
}

/// Schema of [`KPI`]: a null `state`, `category`, `source` or `business_key` means
/// "all".
pub fn kpi() -> SchemaRef {
    versioned(
        vec![
            f("grain", DataType::Utf8, false),
            f("period_start", DataType::Date32, false),
            s("state"),
            s("category"),
            s("source"),
            i64n("business_key"),
            f("kpi", DataType::Utf8, false),
            f64n("value"),
            f64n("previous_value"),
            f("target_met", DataType::Boolean, true),
        ],
        Some(KPI),
    )
}
