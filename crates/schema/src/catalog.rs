//! Schema of the lake's catalog: `<lake>/catalog/snapshots`, one row per table per
//! snapshot. A stage (ingest, warehouse, features, ml) writes its tables, checks its
//! reconciliation and only then appends one snapshot naming every table of the lake at
//! the Delta version that belongs to it. Readers open every table at the versions of
//! the latest snapshot, so a failed, running or killed build is never half seen.

use arrow_schema::{DataType, Field, SchemaRef};

use crate::versioned;
use crate::warehouse::ts_type;

/// `snapshots`: the catalog table (in the catalog zone).
pub const SNAPSHOTS: &str = "snapshots";

/// Column names of [`SNAPSHOTS`].
pub mod col {
    /// Int64, increasing: the snapshot's number.
    pub const SNAPSHOT_ID: &str = "snapshot_id";
    /// Utf8: the stage that committed the snapshot (`ingest`, `warehouse`, `features`, `ml`).
    pub const STAGE: &str = "stage";
    /// Utf8: `zone/name` of a table.
    pub const TABLE_NAME: &str = "table_name";
    /// Int64: that table's Delta version in this snapshot.
    pub const VERSION: &str = "version";
    /// Timestamp (µs, UTC): when the snapshot was committed.
    pub const CREATED_AT: &str = "created_at";
    /// Utf8: the run that committed the snapshot.
    pub const RUN_ID: &str = "run_id";
}

/// Schema of [`SNAPSHOTS`].
pub fn snapshots() -> SchemaRef {
    versioned(
        vec![
            Field::new(col::SNAPSHOT_ID, DataType::Int64, false),
            Field::new(col::STAGE, DataType::Utf8, false),
            Field::new(col::TABLE_NAME, DataType::Utf8, false),
            Field::new(col::VERSION, DataType::Int64, false),
            Field::new(col::CREATED_AT, ts_type(), false),
            Field::new(col::RUN_ID, DataType::Utf8, false),
        ],
        Some(SNAPSHOTS),
    )
}
