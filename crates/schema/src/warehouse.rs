//! Schemas of the warehouse zone: the unified Google + Yelp star schema.
//!
//! Every table lives at `<lake>/warehouse/<name>`; the names are the constants of this
//! module. Surrogate keys (`business_key`, `user_key`, `review_key`, ...) are `Int64`
//! values derived from the source identifiers, so they are identical across runs and
//! across re-runs with more input. Timestamps are microseconds, UTC.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, SchemaRef, TimeUnit};

use crate::{lineage_fields, list_type, versioned};

/// `state_gdp`: the scraped GDP table (one row per state).
pub const STATE_GDP: &str = "state_gdp";
/// `dim_business`: businesses and places of both platforms.
pub const DIM_BUSINESS: &str = "dim_business";
/// `dim_user`: reviewers of both platforms.
pub const DIM_USER: &str = "dim_user";
/// `dim_category`: the shared category taxonomy.
pub const DIM_CATEGORY: &str = "dim_category";
/// `business_category`: bridge between businesses and shared categories.
pub const BUSINESS_CATEGORY: &str = "business_category";
/// `dim_location`: (state, city) pairs.
pub const DIM_LOCATION: &str = "dim_location";
/// `dim_date`: one row per calendar day the facts cover.
pub const DIM_DATE: &str = "dim_date";
/// `fact_review`: one row per review.
pub const FACT_REVIEW: &str = "fact_review";
/// `fact_tip`: one row per Yelp tip.
pub const FACT_TIP: &str = "fact_tip";
/// `fact_checkin`: one row per Yelp check-in event.
pub const FACT_CHECKIN: &str = "fact_checkin";
/// `warehouse_quarantine`: raw rows refused by cleaning (bad id, star out of range, ...).
pub const WAREHOUSE_QUARANTINE: &str = "warehouse_quarantine";
/// `build_report`: the last build's reconciliation (raw table, outcome, reason, rows).
pub const BUILD_REPORT: &str = "build_report";

/// Every warehouse table, in build order.
pub const ALL_TABLES: [&str; 12] = [
    STATE_GDP,
    DIM_CATEGORY,
    DIM_BUSINESS,
    BUSINESS_CATEGORY,
    DIM_LOCATION,
    FACT_REVIEW,
    FACT_TIP,
    FACT_CHECKIN,
    DIM_USER,
    DIM_DATE,
    WAREHOUSE_QUARANTINE,
    BUILD_REPORT,
];

/// The timestamp type of the warehouse: microseconds, UTC.
pub fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC")))
}

/// The item type of `dim_business.hours`: one opening interval.
/// `day` 0 = Monday .. 6 = Sunday; minutes from midnight of `day` (an interval past
/// midnight closes after minute 1440).
pub fn hours_interval_fields() -> Fields {
    vec![
        Field::new("day", DataType::Int32, false),
        Field::new("open_minute", DataType::Int32, false),
        Field::new("close_minute", DataType::Int32, false),
    ]
    .into()
}

fn f(name: &str, dt: DataType, nullable: bool) -> Field {
    Field::new(name, dt, nullable)
}
fn key(name: &str) -> Field {
    f(name, DataType::Int64, false)
}
fn s(name: &str) -> Field {
    f(name, DataType::Utf8, true)
}
fn s_nn(name: &str) -> Field {
    f(name, DataType::Utf8, false)
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
fn b(name: &str) -> Field {
    f(name, DataType::Boolean, true)
}
fn b_nn(name: &str) -> Field {
    f(name, DataType::Boolean, false)
}
fn ts(name: &str) -> Field {
    f(name, ts_type(), true)
}
fn ts_nn(name: &str) -> Field {
    f(name, ts_type(), false)
}

/// Schema of [`STATE_GDP`].
pub fn state_gdp() -> SchemaRef {
    versioned(
        vec![
            s_nn("state"),
            s_nn("state_name"),
            f("gdp_millions_usd", DataType::Float64, false),
            i32n("year"),
            f("rank", DataType::Int32, false),
            s_nn("source"),
        ],
        Some(STATE_GDP),
    )
}

/// Schema of [`DIM_BUSINESS`].
pub fn dim_business() -> SchemaRef {
    let mut v = vec![
        key("business_key"),
        s_nn("source"),
        s_nn("source_id"),
        s("name"),
        s("address"),
        s("city"),
        s("state"),
        s("postal_code"),
        key("location_key"),
        f64n("latitude"),
        f64n("longitude"),
        b_nn("coordinates_flagged"),
        i32n("price_level"),
        b("is_open"),
        f64n("rating"),
        i64n("review_count"),
        b_nn("is_restaurant"),
        f("categories", list_type(DataType::Utf8), true),
        f("source_categories", list_type(DataType::Utf8), true),
        s("attributes_json"),
        b("takeout"),
        b("delivery"),
        b("dine_in"),
        b("reservations"),
        b("outdoor_seating"),
        b("good_for_kids"),
        s("wifi"),
        s("alcohol"),
        s("noise_level"),
        f(
            "hours",
            list_type(DataType::Struct(hours_interval_fields())),
            true,
        ),
        f("hours_unparsed", DataType::Int32, false),
        s("description"),
        s("url"),
    ];
    v.extend(lineage_fields());
    versioned(v, Some(DIM_BUSINESS))
}

/// Schema of [`DIM_USER`].
pub fn dim_user() -> SchemaRef {
    versioned(
        vec![
            key("user_key"),
            s_nn("source"),
            s_nn("source_id"),
            s("name"),
            i64n("review_count"),
            ts("member_since"),
            i64n("useful"),
            i64n("funny"),
            i64n("cool"),
            i64n("fans"),
            f64n("average_stars"),
            f("elite_years", list_type(DataType::Int32), true),
            f("friends", list_type(DataType::Utf8), true),
            i32n("friend_count"),
            i64n("compliments"),
            b_nn("votes_flagged"),
            b_nn("is_inferred"),
        ],
        Some(DIM_USER),
    )
}

/// Schema of [`DIM_CATEGORY`].
pub fn dim_category() -> SchemaRef {
    versioned(
        vec![
            key("category_key"),
            s_nn("category"),
            s_nn("kind"),
            b_nn("food_related"),
        ],
        Some(DIM_CATEGORY),
    )
}

/// Schema of [`BUSINESS_CATEGORY`].
pub fn business_category() -> SchemaRef {
    versioned(
        vec![key("business_key"), key("category_key"), s_nn("category")],
        Some(BUSINESS_CATEGORY),
    )
}

/// Schema of [`DIM_LOCATION`].
pub fn dim_location() -> SchemaRef {
    versioned(
        vec![
            key("location_key"),
            s("state"),
            s("state_name"),
            s("country"),
            s("city"),
        ],
        Some(DIM_LOCATION),
    )
}

/// Schema of [`DIM_DATE`].
pub fn dim_date() -> SchemaRef {
    versioned(
        vec![
            f("date_key", DataType::Int32, false),
            f("date", DataType::Date32, false),
            f("year", DataType::Int32, false),
            f("quarter", DataType::Int32, false),
            f("month", DataType::Int32, false),
            f("day", DataType::Int32, false),
            f("weekday", DataType::Int32, false),
            b_nn("is_weekend"),
        ],
        Some(DIM_DATE),
    )
}

/// Schema of [`FACT_REVIEW`].
pub fn fact_review() -> SchemaRef {
    let mut v = vec![
        key("review_key"),
        s_nn("source"),
        s_nn("source_review_id"),
        key("business_key"),
        key("user_key"),
        f("date_key", DataType::Int32, false),
        ts_nn("review_ts"),
        f("stars", DataType::Float64, false),
        s("text"),
        s("state"),
        i64n("useful"),
        i64n("funny"),
        i64n("cool"),
        b_nn("votes_flagged"),
        b_nn("has_response"),
        ts("response_ts"),
        s("response_text"),
        i32n("pic_count"),
    ];
    v.extend(lineage_fields());
    versioned(v, Some(FACT_REVIEW))
}

/// Schema of [`FACT_TIP`].
pub fn fact_tip() -> SchemaRef {
    let mut v = vec![
        key("tip_key"),
        s_nn("source"),
        key("business_key"),
        key("user_key"),
        f("date_key", DataType::Int32, false),
        ts_nn("tip_ts"),
        s("text"),
        i64n("compliment_count"),
        s("state"),
    ];
    v.extend(lineage_fields());
    versioned(v, Some(FACT_TIP))
}

/// Schema of [`FACT_CHECKIN`].
pub fn fact_checkin() -> SchemaRef {
    versioned(
        vec![
            s_nn("source"),
            key("business_key"),
            f("date_key", DataType::Int32, false),
            ts_nn("checkin_ts"),
            s("state"),
        ],
        Some(FACT_CHECKIN),
    )
}

/// Schema of [`WAREHOUSE_QUARANTINE`].
pub fn warehouse_quarantine() -> SchemaRef {
    versioned(
        vec![
            s_nn("source_table"),
            s_nn(crate::lineage::SOURCE_FILE),
            f(crate::lineage::LINE, DataType::Int64, false),
            s_nn("reason"),
            s("detail"),
            s("record"),
        ],
        Some(WAREHOUSE_QUARANTINE),
    )
}

/// Schema of [`BUILD_REPORT`]. `outcome` is `carried`, `dropped`, `quarantined` or
/// `altered` (carried with a field nulled or fixed); per raw table,
/// rows read = carried + dropped + quarantined.
pub fn build_report() -> SchemaRef {
    versioned(
        vec![
            s_nn("source_table"),
            s_nn("outcome"),
            s_nn("reason"),
            key("rows"),
        ],
        Some(BUILD_REPORT),
    )
}

/// The schema of warehouse table `name`, if it is one.
pub fn schema_of(name: &str) -> Option<SchemaRef> {
    Some(match name {
        STATE_GDP => state_gdp(),
        DIM_BUSINESS => dim_business(),
        DIM_USER => dim_user(),
        DIM_CATEGORY => dim_category(),
        BUSINESS_CATEGORY => business_category(),
        DIM_LOCATION => dim_location(),
        DIM_DATE => dim_date(),
        FACT_REVIEW => fact_review(),
        FACT_TIP => fact_tip(),
        FACT_CHECKIN => fact_checkin(),
        WAREHOUSE_QUARANTINE => warehouse_quarantine(),
        BUILD_REPORT => build_report(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_a_schema_and_keys_are_not_null() {
        for t in ALL_TABLES {
            let s = schema_of(t).unwrap();
            assert_eq!(s.metadata()["reviewlake.table"], t);
            for fld in s.fields() {
                if fld.name().ends_with("_key") {
                    assert!(!fld.is_nullable(), "{t}.{}", fld.name());
                }
            }
        }
    }
}
