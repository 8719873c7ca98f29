//! # reviewlake-schema
//!
//! The Arrow schemas every reviewlake crate shares, one per table the project writes:
//! the seven raw datasets exactly as published (Yelp business, review, user, checkin,
//! tip; Google metadata and review), the raw tables they land in (source fields plus
//! lineage columns and `_rescued_data`), the quarantine table and the lake's ingest
//! log; the [`warehouse`], [`features`], [`models`] and [`catalog`] tables. [`col`]
//! holds every column name as a constant; [`expected_schema`] says what this release
//! writes for a table; every schema records [`SCHEMA_VERSION`] under
//! `reviewlake.schema_version`. [`progress`] is the one progress-event vocabulary every
//! library reports through.
//!
//! [`Source`] (the platform) and [`Reason`] (why cleaning dropped, quarantined or altered
//! a row) are the domain words the crates share.
//!
//! **Architecture invariant:** this crate does no I/O and depends on nothing but
//! `arrow-schema` (plus, behind the optional features `serde` and `openapi`, the derives
//! the API needs for [`Source`]). Other crates ask this one for column lists and names instead of
//! spelling them again (the warehouse's raw readers too; what they still spell are the
//! JSON keys inside rescued fields of old releases).
//!
//! Nested types use the Delta Lake naming conventions (`element` for list items,
//! `key_value`/`key`/`value` for maps) so the Parquet files written against these
//! schemas round-trip through delta-rs, Spark, DuckDB and Polars unchanged.
//!
//! ```
//! use reviewlake_schema::RawDataset;
//! let ds = RawDataset::from_table_name("google_review").unwrap();
//! let schema = ds.raw_table_schema();
//! assert!(schema.field_with_name("user_id").is_ok());
//! assert_eq!(
//!     schema.metadata()["reviewlake.schema_version"],
//!     reviewlake_schema::SCHEMA_VERSION.to_string()
//! );
//! assert_eq!(schema.fields().last().unwrap().name(), "_rescued_data");
//! ```

#![warn(missing_docs)]

pub mod catalog;
pub mod col;
pub mod features;
pub mod models;
pub mod progress;
pub mod source;
pub mod warehouse;

pub use source::{Outcome, Reason, Source, UnknownName};

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

pub use arrow_schema::{DataType, Field, Schema, SchemaRef};

/// Version of every schema in this crate. Bumped whenever a column is added, removed or
/// retyped; recorded in each schema's metadata under [`SCHEMA_VERSION_KEY`] and in each
/// Delta table's configuration.
///
/// - 1: the first release.
/// - 2: raw tables gain [`lineage::RESCUED_DATA`] (lossless raw zone); a raw table of
///   version 1 is migrated in place by the next ingest (the column is added, old rows
///   read it as null).
/// - 3: `features/kpi` gains `partial` (the features stage rewrites it).
/// - 4: `models/recommendations` gains `model` (the candidate of the serving policy
///   that produced the row, or `cold_start`) and `segment` (the user's segment by number
///   of ratings); the ml stage rewrites it.
/// - 5: `features/review_features` gains `first_visit` (the time of the reviewer's first
///   review of the business) and `visits` (their number of reviews of it); the features
///   stage rewrites it.
pub const SCHEMA_VERSION: u32 = 5;

/// Metadata key under which a schema records [`SCHEMA_VERSION`].
pub const SCHEMA_VERSION_KEY: &str = "reviewlake.schema_version";

/// Lineage columns appended to every raw table.
pub mod lineage {
    /// Path of the source file the row came from, relative to the source root
    /// (forward slashes), e.g. `google/reviews-estados/review-Texas/1.json`.
    pub const SOURCE_FILE: &str = "_source_file";
    /// 1-based physical line number of the record in the (decompressed) source file.
    /// For a top-level JSON array, the line on which the element starts.
    pub const LINE: &str = "_line";
    /// Utf8 holding a JSON object, null when nothing was rescued: every top-level field
    /// of the record that is not in the dataset's schema, or whose value does not fit
    /// its column's type, with its original JSON value (the typed column is then null).
    pub const RESCUED_DATA: &str = "_rescued_data";
}

/// Lake zones. Each zone is a folder (or key prefix) under the lake root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Zone {
    /// Raw tables exactly as the sources published them, plus quarantine.
    Raw,
    /// Cleaned, unified star schema.
    Warehouse,
    /// Derived features and KPI tables.
    Features,
    /// Trained model artifacts.
    Models,
    /// Run reports and rendered outputs.
    Reports,
    /// The lake's catalog: the `snapshots` table that pins consistent table versions.
    Catalog,
}

impl Zone {
    /// Every data zone, in data-flow order (the catalog is not a data zone).
    pub const ALL: [Zone; 5] = [
        Zone::Raw,
        Zone::Warehouse,
        Zone::Features,
        Zone::Models,
        Zone::Reports,
    ];

    /// The zone called `name` (`raw`, `warehouse`, ...), catalog included.
    pub fn from_name(name: &str) -> Option<Zone> {
        Zone::ALL
            .into_iter()
            .chain([Zone::Catalog])
            .find(|z| z.as_str() == name)
    }

    /// The folder name of the zone.
    pub fn as_str(self) -> &'static str {
        match self {
            Zone::Raw => "raw",
            Zone::Warehouse => "warehouse",
            Zone::Features => "features",
            Zone::Models => "models",
            Zone::Reports => "reports",
            Zone::Catalog => "catalog",
        }
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Name of the quarantine table in the raw zone.
pub const QUARANTINE_TABLE: &str = "quarantine";
/// Name of the ingest log table in the raw zone (one row per ingested source file).
pub const INGEST_LOG_TABLE: &str = "ingest_log";

/// The seven raw datasets of the two platforms, as published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RawDataset {
    /// `yelp_academic_dataset_business.json`
    YelpBusiness,
    /// `yelp_academic_dataset_review.json`
    YelpReview,
    /// `yelp_academic_dataset_user.json`
    YelpUser,
    /// `yelp_academic_dataset_checkin.json`
    YelpCheckin,
    /// `yelp_academic_dataset_tip.json`
    YelpTip,
    /// Google `metadata-sitios/*.json` (also `meta-<State>.json.gz`)
    GoogleMetadata,
    /// Google `reviews-estados/review-<State>/*.json`
    GoogleReview,
}

impl RawDataset {
    /// Every dataset.
    pub const ALL: [RawDataset; 7] = [
        RawDataset::YelpBusiness,
        RawDataset::YelpReview,
        RawDataset::YelpUser,
        RawDataset::YelpCheckin,
        RawDataset::YelpTip,
        RawDataset::GoogleMetadata,
        RawDataset::GoogleReview,
    ];

    /// Raw table name in the lake (`<lake>/raw/<name>`).
    pub fn table_name(self) -> &'static str {
        match self {
            RawDataset::YelpBusiness => "yelp_business",
            RawDataset::YelpReview => "yelp_review",
            RawDataset::YelpUser => "yelp_user",
            RawDataset::YelpCheckin => "yelp_checkin",
            RawDataset::YelpTip => "yelp_tip",
            RawDataset::GoogleMetadata => "google_metadata",
            RawDataset::GoogleReview => "google_review",
        }
    }

    /// The dataset whose raw table is called `name`.
    pub fn from_table_name(name: &str) -> Option<RawDataset> {
        RawDataset::ALL.into_iter().find(|d| d.table_name() == name)
    }

    /// The schema of one record as the source publishes it (no lineage columns).
    pub fn source_schema(self) -> SchemaRef {
        let fields = match self {
            RawDataset::YelpBusiness => vec![
                utf8(col::BUSINESS_ID),
                utf8(col::NAME),
                utf8(col::ADDRESS),
                utf8(col::CITY),
                utf8(col::STATE),
                utf8(col::POSTAL_CODE),
                f64f(col::LATITUDE),
                f64f(col::LONGITUDE),
                f64f(col::STARS),
                i64f(col::REVIEW_COUNT),
                i64f(col::IS_OPEN),
                map_of(col::ATTRIBUTES, DataType::Utf8),
                utf8(col::CATEGORIES),
                map_of(col::HOURS, DataType::Utf8),
            ],
            RawDataset::YelpReview => vec![
                utf8(col::REVIEW_ID),
                utf8(col::USER_ID),
                utf8(col::BUSINESS_ID),
                f64f(col::STARS),
                i64f(col::USEFUL),
                i64f(col::FUNNY),
                i64f(col::COOL),
                utf8(col::TEXT),
                utf8(col::DATE),
            ],
            RawDataset::YelpUser => {
                let mut v = vec![
                    utf8(col::USER_ID),
                    utf8(col::NAME),
                    i64f(col::REVIEW_COUNT),
                    utf8(col::YELPING_SINCE),
                    i64f(col::USEFUL),
                    i64f(col::FUNNY),
                    i64f(col::COOL),
                    utf8(col::ELITE),
                    utf8(col::FRIENDS),
                    i64f(col::FANS),
                    f64f(col::AVERAGE_STARS),
                ];
                for c in YELP_USER_COMPLIMENTS {
                    v.push(i64f(c));
                }
                v
            }
            RawDataset::YelpCheckin => vec![utf8(col::BUSINESS_ID), utf8(col::DATE)],
            RawDataset::YelpTip => vec![
                utf8(col::USER_ID),
                utf8(col::BUSINESS_ID),
                utf8(col::TEXT),
                utf8(col::DATE),
                i64f(col::COMPLIMENT_COUNT),
            ],
            RawDataset::GoogleMetadata => vec![
                utf8(col::NAME),
                utf8(col::ADDRESS),
                utf8(col::GMAP_ID),
                utf8(col::DESCRIPTION),
                f64f(col::LATITUDE),
                f64f(col::LONGITUDE),
                list_of(col::CATEGORY, DataType::Utf8),
                f64f(col::AVG_RATING),
                i64f(col::NUM_OF_REVIEWS),
                utf8(col::PRICE),
                // [[day, hours], ...]
                list_of(col::HOURS, list_type(DataType::Utf8)),
                map_of(col::MISC, list_type(DataType::Utf8)),
                // Opening status ("Open ⋅ Closes 9PM"), NOT a US state.
                utf8(col::STATE),
                list_of(col::RELATIVE_RESULTS, DataType::Utf8),
                utf8(col::URL),
            ],
            RawDataset::GoogleReview => vec![
                // A 21-digit number: overflows int64, so kept as a string.
                utf8(col::USER_ID),
                utf8(col::NAME),
                // Epoch milliseconds.
                i64f(col::TIME),
                f64f(col::RATING),
                utf8(col::TEXT),
                list_of(
                    col::PICS,
                    DataType::Struct(vec![list_of(col::URL, DataType::Utf8)].into()),
                ),
                Field::new(
                    col::RESP,
                    DataType::Struct(vec![i64f(col::TIME), utf8(col::TEXT)].into()),
                    true,
                ),
                utf8(col::GMAP_ID),
            ],
        };
        versioned(fields, Some(self.table_name()))
    }

    /// The raw table schema: the source fields, the [`lineage`] columns, then
    /// [`lineage::RESCUED_DATA`].
    pub fn raw_table_schema(self) -> SchemaRef {
        let mut fields: Vec<Field> = self
            .source_schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.extend(lineage_fields());
        fields.push(Field::new(lineage::RESCUED_DATA, DataType::Utf8, true));
        versioned(fields, Some(self.table_name()))
    }
}

impl fmt::Display for RawDataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.table_name())
    }
}

/// The eleven `compliment_*` counters of a Yelp user.
pub const YELP_USER_COMPLIMENTS: [&str; 11] = [
    "compliment_hot",
    "compliment_more",
    "compliment_profile",
    "compliment_cute",
    "compliment_list",
    "compliment_note",
    "compliment_plain",
    "compliment_cool",
    "compliment_funny",
    "compliment_writer",
    "compliment_photos",
];

/// Schema of `<lake>/raw/quarantine`: every source line that could not become a raw row.
///
/// `raw_bytes` keeps the line exactly (it may not be valid UTF-8); `raw_text` is the same
/// line decoded lossily, for people reading the table.
pub fn quarantine_schema() -> SchemaRef {
    versioned(
        vec![
            Field::new(col::DATASET, DataType::Utf8, false),
            Field::new(lineage::SOURCE_FILE, DataType::Utf8, false),
            Field::new(lineage::LINE, DataType::Int64, false),
            Field::new(col::BYTE_OFFSET, DataType::Int64, false),
            Field::new(col::ERROR, DataType::Utf8, false),
            Field::new(col::RAW_TEXT, DataType::Utf8, false),
            Field::new(col::RAW_BYTES, DataType::Binary, false),
        ],
        Some(QUARANTINE_TABLE),
    )
}

/// Schema of `<lake>/raw/ingest_log`: one row per source file currently in the raw zone.
///
/// A source file whose `(path, size, content_hash)` is in the log is skipped by the next
/// ingest; a changed file replaces its earlier rows.
pub fn ingest_log_schema() -> SchemaRef {
    versioned(
        vec![
            Field::new(col::PATH, DataType::Utf8, false),
            Field::new(col::DATASET, DataType::Utf8, false),
            Field::new(col::SIZE, DataType::Int64, false),
            Field::new(col::CONTENT_HASH, DataType::Utf8, false),
            Field::new(col::READ, DataType::Int64, false),
            Field::new(col::WRITTEN, DataType::Int64, false),
            Field::new(col::QUARANTINED, DataType::Int64, false),
            Field::new(col::BLANK, DataType::Int64, false),
            Field::new(col::INGESTED_AT_MS, DataType::Int64, false),
            Field::new(col::RESCUED, DataType::Int64, true),
        ],
        Some(INGEST_LOG_TABLE),
    )
}

/// The schema this release writes for table `name` of `zone`, if the project defines
/// that table. Readers compare a lake's tables against it, so a table with another
/// column type is refused with an error naming the column instead of being misread.
pub fn expected_schema(zone: Zone, name: &str) -> Option<SchemaRef> {
    match zone {
        Zone::Raw => match name {
            QUARANTINE_TABLE => Some(quarantine_schema()),
            INGEST_LOG_TABLE => Some(ingest_log_schema()),
            _ => RawDataset::from_table_name(name).map(|d| d.raw_table_schema()),
        },
        Zone::Warehouse => warehouse::schema_of(name),
        Zone::Features => features::schema_of(name),
        Zone::Catalog => (name == catalog::SNAPSHOTS).then(catalog::snapshots),
        Zone::Models => models::schema_of(name),
        Zone::Reports => None,
    }
}

/// The lineage columns appended to every raw table.
pub fn lineage_fields() -> [Field; 2] {
    [
        Field::new(lineage::SOURCE_FILE, DataType::Utf8, false),
        Field::new(lineage::LINE, DataType::Int64, false),
    ]
}

/// A list type whose item field is named `element` (the Delta Lake convention).
pub fn list_type(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("element", item, true)))
}

/// A map type with string keys, entries named `key_value`/`key`/`value` (the Delta Lake
/// convention).
pub fn map_type(value: DataType) -> DataType {
    DataType::Map(
        Arc::new(Field::new(
            "key_value",
            DataType::Struct(
                vec![
                    Field::new("key", DataType::Utf8, false),
                    Field::new(col::VALUE, value, true),
                ]
                .into(),
            ),
            false,
        )),
        false,
    )
}

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn f64f(name: &str) -> Field {
    Field::new(name, DataType::Float64, true)
}

fn i64f(name: &str) -> Field {
    Field::new(name, DataType::Int64, true)
}

fn list_of(name: &str, item: DataType) -> Field {
    Field::new(name, list_type(item), true)
}

fn map_of(name: &str, value: DataType) -> Field {
    Field::new(name, map_type(value), true)
}

fn versioned(fields: Vec<Field>, table: Option<&str>) -> SchemaRef {
    let mut meta = HashMap::new();
    meta.insert(SCHEMA_VERSION_KEY.to_string(), SCHEMA_VERSION.to_string());
    if let Some(t) = table {
        meta.insert("reviewlake.table".to_string(), t.to_string());
    }
    Arc::new(Schema::new_with_metadata(fields, meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_round_trip() {
        for d in RawDataset::ALL {
            assert_eq!(RawDataset::from_table_name(d.table_name()), Some(d));
        }
        assert_eq!(RawDataset::from_table_name("nope"), None);
    }

    #[test]
    fn raw_tables_end_with_lineage_and_rescued_data_and_carry_version() {
        for d in RawDataset::ALL {
            let s = d.raw_table_schema();
            let n = s.fields().len();
            assert_eq!(s.field(n - 3).name(), lineage::SOURCE_FILE);
            assert_eq!(s.field(n - 2).name(), lineage::LINE);
            assert_eq!(s.field(n - 1).name(), lineage::RESCUED_DATA);
            assert!(s.field(n - 1).is_nullable());
            assert_eq!(s.metadata()[SCHEMA_VERSION_KEY], SCHEMA_VERSION.to_string());
            assert_eq!(n, d.source_schema().fields().len() + 3);
        }
    }

    #[test]
    fn google_user_id_is_a_string_and_hours_are_pairs() {
        let r = RawDataset::GoogleReview.source_schema();
        assert_eq!(
            r.field_with_name("user_id").unwrap().data_type(),
            &DataType::Utf8
        );
        let m = RawDataset::GoogleMetadata.source_schema();
        assert_eq!(
            m.field_with_name("hours").unwrap().data_type(),
            &list_type(list_type(DataType::Utf8))
        );
        assert!(matches!(
            m.field_with_name("MISC").unwrap().data_type(),
            DataType::Map(_, _)
        ));
    }

    #[test]
    fn yelp_user_has_all_compliments() {
        let s = RawDataset::YelpUser.source_schema();
        for c in YELP_USER_COMPLIMENTS {
            assert_eq!(s.field_with_name(c).unwrap().data_type(), &DataType::Int64);
        }
    }
}
