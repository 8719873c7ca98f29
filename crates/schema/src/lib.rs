//! # reviewlake-schema
//!
//! The Arrow schemas every reviewlake crate shares: the seven raw datasets exactly as
//! published (Yelp business, review, user, checkin, tip; Google metadata and review),
//! the raw tables they land in (source fields plus lineage columns), the quarantine
//! table and the lake's ingest log.
//!
//! **Architecture invariant:** this crate does no I/O and depends on nothing but
//! `arrow-schema`. No other crate spells a column list again: they ask this one.
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
//! assert_eq!(schema.metadata()["reviewlake.schema_version"], "1");
//! ```

pub mod features;
pub mod warehouse;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

pub use arrow_schema::{DataType, Field, Schema, SchemaRef};

/// Version of every schema in this crate. Bumped whenever a column is added, removed or
/// retyped; recorded in each schema's metadata under [`SCHEMA_VERSION_KEY`] and in each
/// Delta table's configuration.
pub const SCHEMA_VERSION: u32 = 1;

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
}

/// Lake zones. Each zone is a folder (or key prefix) under the lake root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
}

impl Zone {
    /// Every zone, in data-flow order.
    pub const ALL: [Zone; 5] = [
        Zone::Raw,
        Zone::Warehouse,
        Zone::Features,
        Zone::Models,
        Zone::Reports,
    ];

    /// The folder name of the zone.
    pub fn as_str(self) -> &'static str {
        match self {
            Zone::Raw => "raw",
            Zone::Warehouse => "warehouse",
            Zone::Features => "features",
            Zone::Models => "models",
            Zone::Reports => "reports",
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
                utf8("business_id"),
                utf8("name"),
                utf8("address"),
                utf8("city"),
                utf8("state"),
                utf8("postal_code"),
                f64f("latitude"),
                f64f("longitude"),
                f64f("stars"),
                i64f("review_count"),
                i64f("is_open"),
                map_of("attributes", DataType::Utf8),
                utf8("categories"),
                map_of("hours", DataType::Utf8),
            ],
            RawDataset::YelpReview => vec![
                utf8("review_id"),
                utf8("user_id"),
                utf8("business_id"),
                f64f("stars"),
                i64f("useful"),
                i64f("funny"),
                i64f("cool"),
                utf8("text"),
                utf8("date"),
            ],
            RawDataset::YelpUser => {
                let mut v = vec![
                    utf8("user_id"),
                    utf8("name"),
                    i64f("review_count"),
                    utf8("yelping_since"),
                    i64f("useful"),
                    i64f("funny"),
                    i64f("cool"),
                    utf8("elite"),
                    utf8("friends"),
                    i64f("fans"),
                    f64f("average_stars"),
                ];
                for c in YELP_USER_COMPLIMENTS {
                    v.push(i64f(c));
                }
                v
            }
            RawDataset::YelpCheckin => vec![utf8("business_id"), utf8("date")],
            RawDataset::YelpTip => vec![
                utf8("user_id"),
                utf8("business_id"),
                utf8("text"),
                utf8("date"),
                i64f("compliment_count"),
            ],
            RawDataset::GoogleMetadata => vec![
                utf8("name"),
                utf8("address"),
                utf8("gmap_id"),
                utf8("description"),
                f64f("latitude"),
                f64f("longitude"),
                list_of("category", DataType::Utf8),
                f64f("avg_rating"),
                i64f("num_of_reviews"),
                utf8("price"),
                // [[day, hours], ...]
                list_of("hours", list_type(DataType::Utf8)),
                map_of("MISC", list_type(DataType::Utf8)),
                // Opening status ("Open ⋅ Closes 9PM"), NOT a US state.
                utf8("state"),
                list_of("relative_results", DataType::Utf8),
                utf8("url"),
            ],
            RawDataset::GoogleReview => vec![
                // A 21-digit number: overflows int64, so kept as a string.
                utf8("user_id"),
                utf8("name"),
                // Epoch milliseconds.
                i64f("time"),
                f64f("rating"),
                utf8("text"),
                list_of(
                    "pics",
                    DataType::Struct(vec![list_of("url", DataType::Utf8)].into()),
                ),
                Field::new(
                    "resp",
                    DataType::Struct(vec![i64f("time"), utf8("text")].into()),
                    true,
                ),
                utf8("gmap_id"),
            ],
        };
        versioned(fields, Some(self.table_name()))
    }

    /// The raw table schema: the source fields followed by the [`lineage`] columns.
    pub fn raw_table_schema(self) -> SchemaRef {
        let mut fields: Vec<Field> = self
            .source_schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.extend(lineage_fields());
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
            Field::new("dataset", DataType::Utf8, false),
            Field::new(lineage::SOURCE_FILE, DataType::Utf8, false),
            Field::new(lineage::LINE, DataType::Int64, false),
            Field::new("byte_offset", DataType::Int64, false),
            Field::new("error", DataType::Utf8, false),
            Field::new("raw_text", DataType::Utf8, false),
            Field::new("raw_bytes", DataType::Binary, false),
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
            Field::new("path", DataType::Utf8, false),
            Field::new("dataset", DataType::Utf8, false),
            Field::new("size", DataType::Int64, false),
            Field::new("content_hash", DataType::Utf8, false),
            Field::new("read", DataType::Int64, false),
            Field::new("written", DataType::Int64, false),
            Field::new("quarantined", DataType::Int64, false),
            Field::new("blank", DataType::Int64, false),
            Field::new("ingested_at_ms", DataType::Int64, false),
        ],
        Some(INGEST_LOG_TABLE),
    )
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
                    Field::new("value", value, true),
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
    fn raw_tables_end_with_lineage_and_carry_version() {
        for d in RawDataset::ALL {
            let s = d.raw_table_schema();
            let n = s.fields().len();
            assert_eq!(s.field(n - 2).name(), lineage::SOURCE_FILE);
            assert_eq!(s.field(n - 1).name(), lineage::LINE);
            assert_eq!(s.metadata()[SCHEMA_VERSION_KEY], SCHEMA_VERSION.to_string());
            assert_eq!(n, d.source_schema().fields().len() + 2);
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
