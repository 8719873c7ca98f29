//! Loading one snapshot of the lake into memory: every table read once through a
//! read-only [`QuerySession`] pinned to the snapshot, columns by name and type
//! ([`reviewlake_lake::Columns`]), indexes built, and every table's rows accounted for
//! (read = kept + skipped, with the reason).
//!
//! Tables of later stages may be missing (a lake built `--until features` has no models
//! zone; one built `--until warehouse` no features): the service then serves what it can
//! (cold-start recommendations, empty lists).
//!
//! [`LoadedSnapshot::load`] only orchestrates. Every table has its own loader, which
//! checks that its table is in the snapshot (an absent table yields empty data and no
//! account), reads it, and pushes its [`LoadAccount`] onto the load's accounts:
//! - [`tables`]: the warehouse and features zones;
//! - [`model_tables`]: the models zone (and the current `als` model's artifact);
//! - [`indexes`]: what is derived in memory from the businesses and users.

mod indexes;
mod model_tables;
mod tables;

use std::time::Instant;

use arrow::array::{Array, RecordBatch};
use reviewlake_lake::{Columns, Lake, QuerySession, Snapshot, Zone};
use reviewlake_schema::warehouse;

use self::indexes::{SearchOrders, cold_start, facets, search_orders};
use self::model_tables::{
    Similar, load_als, load_growth, load_recommendations, load_registry, load_similar, load_sites,
};
use self::tables::{
    Businesses, Months, Reviewed, data_through, load_business_features, load_businesses,
    load_categories, load_kpis, load_months, load_reviewed, load_sentiment, load_users,
};
use crate::error::{ApiError, Result};
use crate::lists::FilterIndex;
use crate::resources::{Business, LoadAccount, SnapshotInfo, SnapshotTable};
use crate::snapshot::{AlsServing, LoadedSnapshot, finite};

/// The zones the service reads.
const SERVED_ZONES: [Zone; 3] = [Zone::Warehouse, Zone::Features, Zone::Models];

/// Days from 0001-01-01 (CE day 1) to 1970-01-01.
const UNIX_EPOCH_CE_DAYS: i32 = 719_163;

/// The date of a `Date32` value (days since the epoch), if it is one.
fn date32(d: i32) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::from_num_days_from_ce_opt(d.checked_add(UNIX_EPOCH_CE_DAYS)?)
}

/// RFC 3339 (seconds, `Z`) of a timestamp in µs since the epoch.
pub(crate) fn rfc3339_us(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Value `i` of a string column, `None` if null.
fn opt_str(a: &arrow::array::StringArray, i: usize) -> Option<String> {
    (!a.is_null(i)).then(|| a.value(i).to_string())
}
/// Value `i` of a float column, `None` if null or not finite.
fn opt_f64(a: &arrow::array::Float64Array, i: usize) -> Option<f64> {
    finite((!a.is_null(i)).then(|| a.value(i)))
}
/// Value `i` of an `Int64` column, `None` if null.
fn opt_i64(a: &arrow::array::Int64Array, i: usize) -> Option<i64> {
    (!a.is_null(i)).then(|| a.value(i))
}
/// Value `i` of an `Int32` column, `None` if null.
fn opt_i32(a: &arrow::array::Int32Array, i: usize) -> Option<i32> {
    (!a.is_null(i)).then(|| a.value(i))
}
/// Value `i` of a boolean column, `None` if null.
fn opt_bool(a: &arrow::array::BooleanArray, i: usize) -> Option<bool> {
    (!a.is_null(i)).then(|| a.value(i))
}

/// Row accounting of one table.
pub(crate) struct Account {
    /// `zone/name` of the table.
    table: String,
    /// Rows read.
    pub(crate) read: i64,
    /// Rows kept.
    pub(crate) kept: i64,
    /// Rows skipped, by reason (in the order the reasons were first met).
    notes: Vec<(i64, String)>,
}

impl Account {
    /// An empty account of table `name` of `zone`.
    pub(crate) fn new(zone: Zone, name: &str) -> Account {
        Account {
            table: format!("{zone}/{name}"),
            read: 0,
            kept: 0,
            notes: Vec::new(),
        }
    }

    /// Counts `n` rows skipped because of `why`.
    pub(crate) fn skip(&mut self, n: i64, why: &str) {
        if n == 0 {
            return;
        }
        match self.notes.iter_mut().find(|(_, w)| w == why) {
            Some((c, _)) => *c += n,
            None => self.notes.push((n, why.to_string())),
        }
    }

    /// The account as served, or an error if read ≠ kept + skipped.
    pub(crate) fn finish(self) -> Result<LoadAccount> {
        let skipped: i64 = self.notes.iter().map(|(n, _)| n).sum();
        if self.read != self.kept + skipped {
            return Err(ApiError::Data(format!(
                "{}: {} rows read, {} kept, {} skipped: the load does not reconcile",
                self.table, self.read, self.kept, skipped
            )));
        }
        Ok(LoadAccount {
            table: self.table,
            rows_read: self.read,
            rows_kept: self.kept,
            rows_skipped: skipped,
            note: self
                .notes
                .iter()
                .map(|(n, w)| format!("{n} {w}"))
                .collect::<Vec<_>>()
                .join("; "),
        })
    }
}

/// Every batch of the answer to `sql`.
pub(crate) async fn collect(session: &QuerySession, sql: &str) -> Result<Vec<RecordBatch>> {
    Ok(session.collect(sql).await?)
}

/// The number of rows of `table`.
async fn count_rows(session: &QuerySession, table: &str) -> Result<i64> {
    let b = collect(session, &format!("SELECT count(*) AS n FROM {table}")).await?;
    let mut n = 0;
    for b in &b {
        let c = Columns::new(b, table);
        let a = c.i64("n")?;
        n += a.iter().flatten().sum::<i64>();
    }
    Ok(n)
}

/// Whether table `name` of `zone` is in the session's snapshot.
fn has(session: &QuerySession, zone: Zone, name: &str) -> bool {
    session
        .tables()
        .iter()
        .any(|t| t.zone == zone && t.name == name)
}

impl LoadedSnapshot {
    /// Loads `snapshot` of `lake` (or, for a lake without catalog, every table at its
    /// latest version when `snapshot` is `None`).
    pub async fn load(lake: &Lake, snapshot: Option<&Snapshot>) -> Result<LoadedSnapshot> {
        let started = Instant::now();
        let session = open_session(lake, snapshot).await?;
        // The order of the loaders is the order of `accounts` (served in the snapshot
        // info).
        let mut accounts = Vec::new();

        // Businesses, their categories and features, and the indexes over them.
        let Businesses {
            mut businesses,
            by_key,
            by_native,
        } = load_businesses(&session, &mut accounts).await?;
        load_categories(&session, &by_key, &mut businesses, &mut accounts).await?;
        load_business_features(&session, &by_key, &mut businesses, &mut accounts).await?;
        let SearchOrders {
            order_reviews,
            order_rating,
            order_name,
            names_lower,
        } = search_orders(&businesses);
        let cold = cold_start(&businesses);

        // Users and what they reviewed.
        let users = load_users(&session, &mut accounts).await?;
        let Reviewed {
            user_keys,
            user_offsets,
            user_reviewed,
        } = load_reviewed(&session, &by_key, &mut accounts).await?;
        let facets = facets(&businesses, &users, &user_keys, &user_offsets);

        // Timelines, KPIs of groups, sentiment histograms.
        let Months {
            months,
            month_offsets,
        } = load_months(&session, &by_key, &businesses, &mut accounts).await?;
        let kpis = load_kpis(&session, &mut accounts).await?;
        let sentiment = load_sentiment(&session, &mut accounts).await?;

        // Models zone.
        let registry = load_registry(&session, &mut accounts).await?;
        let als = match registry.iter().find(|r| r.name == "als" && r.current) {
            Some(rec) => load_als(lake, rec, &by_key, &businesses, &mut accounts).await,
            None => None,
        };
        let lists = load_recommendations(&session, &by_key, &mut accounts).await?;
        let filter_index = FilterIndex::build(&businesses);
        let Similar {
            similar,
            similar_model,
        } = load_similar(&session, &by_key, &businesses, &mut accounts).await?;
        let sites = load_sites(&session, &mut accounts).await?;
        let growth = load_growth(&session, &by_key, &businesses, &mut accounts).await?;

        let data_through = data_through(&session).await?;
        let info = snapshot_info(
            snapshot,
            &session,
            started,
            accounts,
            als.as_ref(),
            data_through,
        );
        let business_json = business_json(&businesses)?;
        Ok(LoadedSnapshot {
            info,
            business_json,
            businesses,
            by_key,
            by_native,
            names_lower,
            order_reviews,
            order_rating,
            order_name,
            users,
            user_keys,
            user_offsets,
            user_reviewed,
            months,
            month_offsets,
            kpis,
            sentiment,
            cold,
            als,
            lists,
            filter_index,
            registry,
            similar,
            similar_model,
            sites,
            growth,
            facets,
            data_through,
        })
    }
}

/// A read-only session over the served zones of `snapshot` (raw tables are neither
/// opened nor checked), or of every served table at its latest version; an error if it
/// has no warehouse (no `dim_business`).
async fn open_session(lake: &Lake, snapshot: Option<&Snapshot>) -> Result<QuerySession> {
    let session = match snapshot {
        Some(s) => {
            let served = Snapshot {
                tables: s
                    .tables
                    .iter()
                    .filter(|t| SERVED_ZONES.contains(&t.zone))
                    .cloned()
                    .collect(),
                ..s.clone()
            };
            lake.session_for(&served).await?
        }
        None => lake.session_zones(&SERVED_ZONES).await?,
    };
    if !has(&session, Zone::Warehouse, warehouse::DIM_BUSINESS) {
        return Err(ApiError::Data(format!(
            "the lake {} has no warehouse yet (run the pipeline through the warehouse stage)",
            lake.display_root()
        )));
    }
    Ok(session)
}

/// What the service tells of the loaded snapshot (`loaded_at` and `load_seconds` as
/// of now).
fn snapshot_info(
    snapshot: Option<&Snapshot>,
    session: &QuerySession,
    started: Instant,
    accounts: Vec<LoadAccount>,
    als: Option<&AlsServing>,
    data_through: Option<chrono::NaiveDate>,
) -> SnapshotInfo {
    SnapshotInfo {
        id: snapshot.map(|s| s.id),
        stage: snapshot.map(|s| s.stage.clone()),
        run_id: snapshot.map(|s| s.run_id.clone()),
        created_at: snapshot.map(|s| rfc3339_us(s.created_at_us)),
        loaded_at: rfc3339_us(chrono::Utc::now().timestamp_micros()),
        load_seconds: started.elapsed().as_secs_f64(),
        tables: session
            .tables()
            .iter()
            .map(|t| SnapshotTable {
                zone: t.zone.as_str().to_string(),
                name: t.name.clone(),
                version: t.version,
            })
            .collect(),
        load: accounts,
        als_model: als.map(|a| a.model_ref.clone()),
        data_through: data_through.map(|d| d.to_string()),
    }
}

/// Every business's JSON, serialized once per snapshot (recommendation answers are
/// assembled from it).
fn business_json(businesses: &[Business]) -> Result<Vec<Box<str>>> {
    businesses
        .iter()
        .map(|b| serde_json::to_string(b).map(String::into_boxed_str))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| ApiError::Data(format!("serialising a business: {e}")))
}
