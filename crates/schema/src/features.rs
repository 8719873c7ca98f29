//! Schemas of the features zone: sentiment and derived features, and the KPI table.
//!
//! Every table lives at `<lake>/features/<name>`.

use arrow_schema::{DataType, Field, SchemaRef};

use crate::warehouse::ts_type;
use crate::{col, versioned};

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
    vec![
        f64n(col::NEG),
        f64n(col::NEU),
        f64n(col::POS),
        f64n(col::COMPOUND),
    ]
}

/// Schema of [`REVIEW_FEATURES`].
pub fn review_features() -> SchemaRef {
    let mut v = vec![
        key(col::REVIEW_KEY),
        f(col::SOURCE, DataType::Utf8, false),
        key(col::BUSINESS_KEY),
        key(col::USER_KEY),
        s(col::STATE),
        f(col::REVIEW_TS, ts_type(), false),
        f(col::DATE_KEY, DataType::Int32, false),
        f(col::STARS, DataType::Float64, false),
    ];
    v.extend(vader());
    v.extend([
        f(col::WORD_COUNT, DataType::Int32, false),
        f(col::YEAR, DataType::Int32, false),
        f(col::MONTH, DataType::Int32, false),
        f(col::WEEKDAY, DataType::Int32, false),
        f(col::HOUR, DataType::Int32, false),
        // Days from the review to the newest review in the warehouse.
        f(col::AGE_DAYS, DataType::Int32, false),
        i64n(col::VOTES),
        f(col::HAS_RESPONSE, DataType::Boolean, false),
        f64n(col::RESPONSE_HOURS),
        // The first review of its reviewer at its business (its own time when it is
        // their only one) and how many reviews of that business the reviewer wrote:
        // new and returning reviewers without a per-pair aggregate in every KPI plan.
        f(col::FIRST_VISIT, ts_type(), false),
        f(col::VISITS, DataType::Int64, false),
    ]);
    versioned(v, Some(REVIEW_FEATURES))
}

/// Schema of [`TIP_FEATURES`].
pub fn tip_features() -> SchemaRef {
    let mut v = vec![
        key(col::TIP_KEY),
        key(col::BUSINESS_KEY),
        key(col::USER_KEY),
        f(col::TIP_TS, ts_type(), false),
    ];
    v.extend(vader());
    v.push(f(col::WORD_COUNT, DataType::Int32, false));
    versioned(v, Some(TIP_FEATURES))
}

/// Schema of [`BUSINESS_FEATURES`]; `category_columns` are the shared category names,
/// one-hot encoded as `cat_<name>` (0 or 1).
pub fn business_features(category_columns: &[&str]) -> SchemaRef {
    let mut v = vec![
        key(col::BUSINESS_KEY),
        f(col::SOURCE, DataType::Utf8, false),
        s(col::NAME),
        s(col::STATE),
        s(col::CITY),
        f64n(col::LATITUDE),
        f64n(col::LONGITUDE),
        i32n(col::PRICE_LEVEL),
        f(col::IS_RESTAURANT, DataType::Boolean, false),
        f(col::REVIEWS, DataType::Int64, false),
        f64n(col::MEAN_STARS),
        f64n(col::MEAN_SENTIMENT),
        f64n(col::STARS_TREND_12M),
        f64n(col::SENTIMENT_TREND_12M),
        f64n(col::VOLUME_TREND_12M),
        f64n(col::REVIEWS_PER_MONTH),
        f64n(col::REPEAT_CUSTOMER_SHARE),
        f64n(col::RESPONSE_RATE),
        f(col::FIRST_REVIEW, ts_type(), true),
        f(col::LAST_REVIEW, ts_type(), true),
        f(col::CHECKINS, DataType::Int64, false),
        i32n(col::PEAK_CHECKIN_HOUR),
        f64n(col::TIP_SENTIMENT),
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
            key(col::BUSINESS_KEY),
            f(col::YEAR, DataType::Int32, false),
            f(col::HOUR, DataType::Int32, false),
            f(col::CHECKINS, DataType::Int64, false),
        ],
        Some(BUSINESS_CHECKINS),
    )
}

/// Schema of [`USER_FEATURES`].
pub fn user_features() -> SchemaRef {
    versioned(
        vec![
            key(col::USER_KEY),
            f(col::SOURCE, DataType::Utf8, false),
            f(col::REVIEWS, DataType::Int64, false),
            f(col::BUSINESSES, DataType::Int64, false),
            f64n(col::MEAN_RATING),
            f64n(col::RATING_BIAS),
            f64n(col::MEAN_SENTIMENT),
            f(col::FIRST_REVIEW, ts_type(), true),
            f(col::LAST_REVIEW, ts_type(), true),
            f(col::ACTIVE_DAYS, DataType::Int32, false),
            i32n(col::ELITE_YEARS),
            i32n(col::FRIENDS),
            i64n(col::FANS),
            f(col::IS_INFERRED, DataType::Boolean, false),
        ],
        Some(USER_FEATURES),
    )
}

/// Schema of [`BUSINESS_MONTH`].
pub fn business_month() -> SchemaRef {
    versioned(
        vec![
            key(col::BUSINESS_KEY),
            f(col::MONTH, DataType::Date32, false),
            f(col::REVIEWS, DataType::Int64, false),
            f64n(col::MEAN_STARS),
            f64n(col::MEAN_SENTIMENT),
            f(col::NEW_REVIEWERS, DataType::Int64, false),
            f(col::RETURNING_REVIEWERS, DataType::Int64, false),
        ],
        Some(BUSINESS_MONTH),
    )
}

/// Schema of [`KPI`]: a null `state`, `category`, `source` or `business_key` means
/// "all".
pub fn kpi() -> SchemaRef {
    versioned(
        vec![
            f(col::GRAIN, DataType::Utf8, false),
            f(col::PERIOD_START, DataType::Date32, false),
            s(col::STATE),
            s(col::CATEGORY),
            s(col::SOURCE),
            i64n(col::BUSINESS_KEY),
            f(col::KPI, DataType::Utf8, false),
            f64n(col::VALUE),
            f64n(col::PREVIOUS_VALUE),
            f(col::TARGET_MET, DataType::Boolean, true),
            // Reviews behind the value and behind the previous period's (check-in
            // retention: businesses with check-ins in the previous period and the one
            // before), and whether either is below the build's minimum support.
            f(col::SUPPORT, DataType::Int64, true),
            f(col::PREVIOUS_SUPPORT, DataType::Int64, true),
            f(col::LOW_SUPPORT, DataType::Boolean, true),
            // The period is not fully covered by the data of the platforms the group
            // counts: one platform's data begins or ends inside it (the last, unfinished
            // period included). Never a headline.
            f(col::PARTIAL, DataType::Boolean, false),
        ],
        Some(KPI),
    )
}

/// The schema of features table `name`, if it is one. For [`BUSINESS_FEATURES`] the
/// one-hot `cat_<name>` columns depend on the taxonomy and are left out.
pub fn schema_of(name: &str) -> Option<SchemaRef> {
    Some(match name {
        REVIEW_FEATURES => review_features(),
        TIP_FEATURES => tip_features(),
        BUSINESS_FEATURES => business_features(&[]),
        BUSINESS_CHECKINS => business_checkins(),
        USER_FEATURES => user_features(),
        BUSINESS_MONTH => business_month(),
        KPI => kpi(),
        _ => return None,
    })
}
