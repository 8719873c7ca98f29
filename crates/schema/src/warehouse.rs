//! Schemas of the warehouse zone: the unified Google + Yelp star schema.
//!
//! Every table lives at `<lake>/warehouse/<name>`; the names are the constants of this
//! module. Surrogate keys (`business_key`, `user_key`, `review_key`, ...) are `Int64`
//! values derived from the source identifiers, so they are identical across runs and
//! across re-runs with more input. Timestamps are microseconds, UTC.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, SchemaRef, TimeUnit};

use crate::{col, lineage_fields, list_type, versioned};

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
/// `business_scope`: every business cleaning admitted, in the build's scope or not (its
/// key, state and whether it is in scope). The fact builders join it to tell a fact of
/// an unknown business (`unknown_business`) from one of a business out of scope
/// (`business_out_of_scope`); `dim_business` holds the ones in scope.
pub const BUSINESS_SCOPE: &str = "business_scope";
/// `dim_location`: (state, city) pairs.
pub const DIM_LOCATION: &str = "dim_location";
/// `dim_date`: one row per calendar day the facts cover.
pub const DIM_DATE: &str = "dim_date";
/// `fact_review`: one row per review.
pub const FACT_REVIEW: &str = "fact_review";
/// `fact_tip`: one row per Yelp tip.
pub const FACT_TIP: &str = "fact_tip";
/// `fact_checkin`: one row per Yelp check-in event (`checkins` = 1, with its time), or
/// per hour-of-week cell of an older release's check-in histogram (`checkins` = the
/// cell's count, no time: `date_key` and `checkin_ts` are null).
pub const FACT_CHECKIN: &str = "fact_checkin";
/// `warehouse_quarantine`: raw rows refused by cleaning (bad id, star out of range, ...).
pub const WAREHOUSE_QUARANTINE: &str = "warehouse_quarantine";
/// `build_report`: the last build's reconciliation (raw table, outcome, reason, rows).
pub const BUILD_REPORT: &str = "build_report";

/// Every warehouse table, in build order.
pub const ALL_TABLES: [&str; 13] = [
    STATE_GDP,
    DIM_CATEGORY,
    DIM_BUSINESS,
    BUSINESS_CATEGORY,
    BUSINESS_SCOPE,
    DIM_LOCATION,
    FACT_REVIEW,
    FACT_TIP,
    FACT_CHECKIN,
    DIM_USER,
    DIM_DATE,
    WAREHOUSE_QUARANTINE,
    BUILD_REPORT,
];

/// Column `likes` of [`FACT_TIP`] (the tips of the 2013–2016 Yelp releases). Kept here
/// until it joins the other names in [`crate::col`].
pub const LIKES: &str = "likes";

/// The timestamp type of the warehouse: microseconds, UTC.
pub fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC")))
}

/// The item type of `dim_business.hours`: one opening interval.
/// `day` 0 = Monday .. 6 = Sunday; minutes from midnight of `day` (an interval past
/// midnight closes after minute 1440).
pub fn hours_interval_fields() -> Fields {
    vec![
        Field::new(col::DAY, DataType::Int32, false),
        Field::new(col::OPEN_MINUTE, DataType::Int32, false),
        Field::new(col::CLOSE_MINUTE, DataType::Int32, false),
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
            s_nn(col::STATE),
            s_nn(col::STATE_NAME),
            f(col::GDP_MILLIONS_USD, DataType::Float64, false),
            i32n(col::YEAR),
            f(col::RANK, DataType::Int32, false),
            s_nn(col::SOURCE),
        ],
        Some(STATE_GDP),
    )
}

/// Schema of [`DIM_BUSINESS`].
pub fn dim_business() -> SchemaRef {
    let mut v = vec![
        key(col::BUSINESS_KEY),
        s_nn(col::SOURCE),
        s_nn(col::SOURCE_ID),
        s(col::NAME),
        s(col::ADDRESS),
        s(col::CITY),
        s(col::STATE),
        s(col::POSTAL_CODE),
        key(col::LOCATION_KEY),
        f64n(col::LATITUDE),
        f64n(col::LONGITUDE),
        b_nn(col::COORDINATES_FLAGGED),
        i32n(col::PRICE_LEVEL),
        b(col::IS_OPEN),
        f64n(col::RATING),
        i64n(col::REVIEW_COUNT),
        b_nn(col::IS_RESTAURANT),
        f(col::CATEGORIES, list_type(DataType::Utf8), true),
        f(col::SOURCE_CATEGORIES, list_type(DataType::Utf8), true),
        s(col::ATTRIBUTES_JSON),
        b(col::TAKEOUT),
        b(col::DELIVERY),
        b(col::DINE_IN),
        b(col::RESERVATIONS),
        b(col::OUTDOOR_SEATING),
        b(col::GOOD_FOR_KIDS),
        s(col::WIFI),
        s(col::ALCOHOL),
        s(col::NOISE_LEVEL),
        f(
            col::HOURS,
            list_type(DataType::Struct(hours_interval_fields())),
            true,
        ),
        f(col::HOURS_UNPARSED, DataType::Int32, false),
        s(col::DESCRIPTION),
        s(col::URL),
    ];
    v.extend(lineage_fields());
    versioned(v, Some(DIM_BUSINESS))
}

/// Schema of [`DIM_USER`].
pub fn dim_user() -> SchemaRef {
    versioned(
        vec![
            key(col::USER_KEY),
            s_nn(col::SOURCE),
            s_nn(col::SOURCE_ID),
            s(col::NAME),
            i64n(col::REVIEW_COUNT),
            ts(col::MEMBER_SINCE),
            i64n(col::USEFUL),
            i64n(col::FUNNY),
            i64n(col::COOL),
            i64n(col::FANS),
            f64n(col::AVERAGE_STARS),
            f(col::ELITE_YEARS, list_type(DataType::Int32), true),
            f(col::FRIENDS, list_type(DataType::Utf8), true),
            i32n(col::FRIEND_COUNT),
            i64n(col::COMPLIMENTS),
            b_nn(col::VOTES_FLAGGED),
            b_nn(col::IS_INFERRED),
        ],
        Some(DIM_USER),
    )
}

/// Schema of [`DIM_CATEGORY`].
pub fn dim_category() -> SchemaRef {
    versioned(
        vec![
            key(col::CATEGORY_KEY),
            s_nn(col::CATEGORY),
            s_nn(col::KIND),
            b_nn(col::FOOD_RELATED),
        ],
        Some(DIM_CATEGORY),
    )
}

/// Schema of [`BUSINESS_CATEGORY`].
pub fn business_category() -> SchemaRef {
    versioned(
        vec![
            key(col::BUSINESS_KEY),
            key(col::CATEGORY_KEY),
            s_nn(col::CATEGORY),
        ],
        Some(BUSINESS_CATEGORY),
    )
}

/// Schema of [`BUSINESS_SCOPE`].
pub fn business_scope() -> SchemaRef {
    versioned(
        vec![
            s_nn(col::SOURCE),
            s_nn(col::SOURCE_ID),
            key(col::BUSINESS_KEY),
            s(col::STATE),
            b_nn(col::IN_SCOPE),
        ],
        Some(BUSINESS_SCOPE),
    )
}

/// Schema of [`DIM_LOCATION`].
pub fn dim_location() -> SchemaRef {
    versioned(
        vec![
            key(col::LOCATION_KEY),
            s(col::STATE),
            s(col::STATE_NAME),
            s(col::COUNTRY),
            s(col::CITY),
        ],
        Some(DIM_LOCATION),
    )
}

/// Schema of [`DIM_DATE`].
pub fn dim_date() -> SchemaRef {
    versioned(
        vec![
            f(col::DATE_KEY, DataType::Int32, false),
            f(col::DATE, DataType::Date32, false),
            f(col::YEAR, DataType::Int32, false),
            f(col::QUARTER, DataType::Int32, false),
            f(col::MONTH, DataType::Int32, false),
            f(col::DAY, DataType::Int32, false),
            f(col::WEEKDAY, DataType::Int32, false),
            b_nn(col::IS_WEEKEND),
        ],
        Some(DIM_DATE),
    )
}

/// Schema of [`FACT_REVIEW`].
pub fn fact_review() -> SchemaRef {
    let mut v = vec![
        key(col::REVIEW_KEY),
        s_nn(col::SOURCE),
        s_nn(col::SOURCE_REVIEW_ID),
        key(col::BUSINESS_KEY),
        key(col::USER_KEY),
        f(col::DATE_KEY, DataType::Int32, false),
        ts_nn(col::REVIEW_TS),
        f(col::STARS, DataType::Float64, false),
        s(col::TEXT),
        s(col::STATE),
        i64n(col::USEFUL),
        i64n(col::FUNNY),
        i64n(col::COOL),
        b_nn(col::VOTES_FLAGGED),
        b_nn(col::HAS_RESPONSE),
        ts(col::RESPONSE_TS),
        s(col::RESPONSE_TEXT),
        i32n(col::PIC_COUNT),
    ];
    v.extend(lineage_fields());
    versioned(v, Some(FACT_REVIEW))
}

/// Schema of [`FACT_TIP`].
pub fn fact_tip() -> SchemaRef {
    let mut v = vec![
        key(col::TIP_KEY),
        s_nn(col::SOURCE),
        key(col::BUSINESS_KEY),
        key(col::USER_KEY),
        f(col::DATE_KEY, DataType::Int32, false),
        ts_nn(col::TIP_TS),
        s(col::TEXT),
        i64n(col::COMPLIMENT_COUNT),
        s(col::STATE),
    ];
    v.extend(lineage_fields());
    // Added in schema version 2 (after the lineage columns: columns are only appended).
    v.push(i64n(LIKES));
    versioned(v, Some(FACT_TIP))
}

/// Schema of [`FACT_CHECKIN`]. `weekday` (0 = Monday, as `dim_date`) and `hour` (0–23,
/// UTC) place every row in the week; `checkins` is 1 for an event and the count of a
/// histogram cell, so totals are `sum(checkins)` and anything by date or year uses the
/// rows with a `checkin_ts`.
pub fn fact_checkin() -> SchemaRef {
    versioned(
        vec![
            s_nn(col::SOURCE),
            key(col::BUSINESS_KEY),
            // Null for histogram rows (schema version 2; was not null).
            f(col::DATE_KEY, DataType::Int32, true),
            ts(col::CHECKIN_TS),
            s(col::STATE),
            // Added in schema version 2.
            i32n(col::WEEKDAY),
            i32n(col::HOUR),
            i64n(col::CHECKINS),
        ],
        Some(FACT_CHECKIN),
    )
}

/// Schema of [`WAREHOUSE_QUARANTINE`].
pub fn warehouse_quarantine() -> SchemaRef {
    versioned(
        vec![
            s_nn(col::SOURCE_TABLE),
            s_nn(crate::lineage::SOURCE_FILE),
            f(crate::lineage::LINE, DataType::Int64, false),
            s_nn(col::REASON),
            s(col::DETAIL),
            s(col::RECORD),
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
            s_nn(col::SOURCE_TABLE),
            s_nn(col::OUTCOME),
            s_nn(col::REASON),
            key(col::ROWS),
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
        BUSINESS_SCOPE => business_scope(),
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
    fn version_2_only_appends_columns_or_relaxes_nullability() {
        let tip = fact_tip();
        assert_eq!(tip.fields().last().map(|f| f.name().as_str()), Some(LIKES));
        let chk = fact_checkin();
        let names: Vec<&str> = chk.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            [
                col::SOURCE,
                col::BUSINESS_KEY,
                col::DATE_KEY,
                col::CHECKIN_TS,
                col::STATE,
                col::WEEKDAY,
                col::HOUR,
                col::CHECKINS
            ]
        );
        assert!(chk.fields().iter().skip(2).all(|f| f.is_nullable()));
    }

    #[test]
    fn every_table_has_a_schema_and_keys_are_not_null() {
        for t in ALL_TABLES {
            let s = schema_of(t).unwrap();
            assert_eq!(s.metadata()["reviewlake.table"], t);
            for fld in s.fields() {
                // The one exception: histogram check-ins have no date.
                let dateless = t == FACT_CHECKIN && fld.name() == col::DATE_KEY;
                if fld.name().ends_with("_key") && !dateless {
                    assert!(!fld.is_nullable(), "{t}.{}", fld.name());
                }
            }
        }
    }
}
