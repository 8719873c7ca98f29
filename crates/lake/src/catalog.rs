//! The catalog: consistent snapshots across tables.
//!
//! A Delta table is atomic on its own; a build of many tables is not. So every stage
//! writes its tables, checks its reconciliation, and only then appends one snapshot to
//! `<lake>/catalog/snapshots` (one Delta commit): one row per table of the lake, at the
//! Delta version that belongs to the snapshot. The tables of the stage's own zone are
//! taken at their new versions; every other table keeps the version of the previous
//! snapshot. Readers open each table at the version of the latest snapshot (time
//! travel), so a failed, running or killed build is never half seen.
//!
//! A lake without a catalog (written before it existed) is read at the tables' latest
//! versions, and its first snapshot takes every table as it is.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use reviewlake_schema::catalog::{self as cat, col};

use crate::{Columns, CommitKind, Lake, LakeError, QuerySession, Result, Zone};

/// The stages that commit snapshots, each owning one zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Sources into the raw zone.
    Ingest,
    /// Raw into the warehouse zone.
    Warehouse,
    /// Warehouse into the features zone.
    Features,
    /// Features into the models zone.
    Ml,
}

impl Stage {
    /// The stage's name (`ingest`, `warehouse`, `features`, `ml`).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Ingest => "ingest",
            Stage::Warehouse => "warehouse",
            Stage::Features => "features",
            Stage::Ml => "ml",
        }
    }

    /// The zone whose tables the stage (re)writes.
    pub fn zone(self) -> Zone {
        match self {
            Stage::Ingest => Zone::Raw,
            Stage::Warehouse => Zone::Warehouse,
            Stage::Features => Zone::Features,
            Stage::Ml => Zone::Models,
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One table at one Delta version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct TableVersion {
    /// The table's zone.
    #[serde(serialize_with = "zone_name")]
    pub zone: Zone,
    /// The table's name.
    pub name: String,
    /// Its Delta version.
    pub version: i64,
}

fn zone_name<S: serde::Serializer>(z: &Zone, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(z.as_str())
}

/// A consistent set of table versions, as committed by one stage.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Snapshot {
    /// Increasing number of the snapshot.
    pub id: i64,
    /// The stage that committed it.
    pub stage: String,
    /// The run that committed it.
    pub run_id: String,
    /// When it was committed, µs since the epoch (UTC).
    pub created_at_us: i64,
    /// Every table of the lake at its version, sorted by zone and name.
    pub tables: Vec<TableVersion>,
}

impl Snapshot {
    /// The version of `zone/name` in this snapshot.
    pub fn version_of(&self, zone: Zone, name: &str) -> Option<i64> {
        self.tables
            .iter()
            .find(|t| t.zone == zone && t.name == name)
            .map(|t| t.version)
    }
}

impl Lake {
    /// Every snapshot of the catalog, oldest first (empty for a lake without catalog).
    pub async fn snapshots(&self) -> Result<Vec<Snapshot>> {
        let Some(table) = self.table(Zone::Catalog, cat::SNAPSHOTS).await? else {
            return Ok(Vec::new());
        };
        let session = QuerySession::empty(self.clone())?;
        session.register(&table, cat::SNAPSHOTS).await?;
        let batches = session
            .collect(&format!("SELECT * FROM \"{}\"", cat::SNAPSHOTS))
            .await?;
        let label = format!("{}/{}", Zone::Catalog, cat::SNAPSHOTS);
        let mut by_id: BTreeMap<i64, Snapshot> = BTreeMap::new();
        for b in &batches {
            let c = Columns::new(b, &label);
            let (id, stage, table, version, created, run) = (
                c.i64(col::SNAPSHOT_ID)?,
                c.str(col::STAGE)?,
                c.str(col::TABLE_NAME)?,
                c.i64(col::VERSION)?,
                c.timestamp_us(col::CREATED_AT)?,
                c.str(col::RUN_ID)?,
            );
            for i in 0..b.num_rows() {
                let s = by_id.entry(id.value(i)).or_insert_with(|| Snapshot {
                    id: id.value(i),
                    stage: stage.value(i).to_string(),
                    run_id: run.value(i).to_string(),
                    created_at_us: created.value(i),
                    tables: Vec::new(),
                });
                let full = table.value(i);
                let (zone, name) = full.split_once('/').ok_or_else(|| LakeError::Schema {
                    table: label.clone(),
                    reason: format!("table_name {full:?} is not zone/name"),
                })?;
                let zone = Zone::from_name(zone).ok_or_else(|| LakeError::Schema {
                    table: label.clone(),
                    reason: format!("unknown zone in {full:?}"),
                })?;
                s.tables.push(TableVersion {
                    zone,
                    name: name.to_string(),
                    version: version.value(i),
                });
            }
        }
        Ok(by_id
            .into_values()
            .map(|mut s| {
                s.tables.sort();
                s
            })
            .collect())
    }

    /// The newest snapshot, `None` for a lake without catalog.
    pub async fn latest_snapshot(&self) -> Result<Option<Snapshot>> {
        Ok(self.snapshots().await?.pop())
    }

    /// Snapshot `id`.
    pub async fn snapshot_by_id(&self, id: i64) -> Result<Snapshot> {
        self.snapshots()
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| LakeError::NoSnapshot {
                lake: self.display_root(),
                id,
            })
    }

    /// The tables a reader sees: those of the latest snapshot, or, for a lake without
    /// catalog, every table at its latest version.
    pub(crate) async fn current_tables(&self) -> Result<(Option<i64>, Vec<TableVersion>)> {
        if let Some(s) = self.latest_snapshot().await? {
            return Ok((Some(s.id), s.tables));
        }
        let mut out = Vec::new();
        for zone in Zone::ALL {
            for name in self.list_tables(zone).await? {
                if let Some(t) = self.table(zone, &name).await? {
                    out.push(TableVersion {
                        zone,
                        name,
                        version: t.version(),
                    });
                }
            }
        }
        Ok((None, out))
    }

    /// Commits a snapshot for `stage`: every table of the stage's zone at its latest
    /// version, every other table at its version in the previous snapshot (or, without
    /// one, at its latest version). Needs the writer lease; returns the new snapshot.
    /// Call it only after the stage's tables are written and its counts reconcile.
    pub async fn commit_snapshot(&self, stage: Stage) -> Result<Snapshot> {
        let run_id = self.check_lease().await?;
        let prev = self.latest_snapshot().await?;
        let mut tables: BTreeMap<(String, String), (Zone, i64)> = BTreeMap::new();
        let mut put = |zone: Zone, name: &str, v: i64| {
            tables.insert((zone.as_str().to_string(), name.to_string()), (zone, v));
        };
        match &prev {
            Some(p) => {
                for t in p.tables.iter().filter(|t| t.zone != stage.zone()) {
                    put(t.zone, &t.name, t.version);
                }
            }
            None => {
                for zone in Zone::ALL.into_iter().filter(|z| *z != stage.zone()) {
                    for name in self.list_tables(zone).await? {
                        if let Some(t) = self.table(zone, &name).await? {
                            put(zone, &name, t.version());
                        }
                    }
                }
            }
        }
        for name in self.list_tables(stage.zone()).await? {
            if let Some(t) = self.table(stage.zone(), &name).await? {
                put(stage.zone(), &name, t.version());
            }
        }
        let id = prev.as_ref().map_or(1, |p| p.id + 1);
        let created = chrono::Utc::now().timestamp_micros();
        let rows: Vec<(String, i64)> = tables
            .iter()
            .map(|((z, n), (_, v))| (format!("{z}/{n}"), *v))
            .collect();
        let n = rows.len();
        let batch = RecordBatch::try_new(
            cat::snapshots(),
            vec![
                Arc::new(Int64Array::from(vec![id; n])),
                Arc::new(StringArray::from(vec![stage.as_str(); n])),
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.0))),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1))),
                Arc::new(TimestampMicrosecondArray::from(vec![created; n]).with_timezone("UTC")),
                Arc::new(StringArray::from(vec![run_id.as_str(); n])),
            ],
        )?;
        let mut catalog = self
            .open_or_create(Zone::Catalog, cat::SNAPSHOTS, &cat::snapshots())
            .await?;
        let mut w = catalog.file_writer(
            &format!(
                "snapshot-{id:010}-{}.parquet",
                uuid::Uuid::new_v4().simple()
            ),
            cat::snapshots(),
        )?;
        w.write(&batch).await?;
        let files = w.finish().await?.into_iter().collect();
        let mut meta = std::collections::HashMap::new();
        meta.insert("reviewlake.run".to_string(), run_id.clone().into());
        meta.insert("reviewlake.snapshot".to_string(), id.into());
        catalog
            .commit(files, &|_| false, CommitKind::Append, meta)
            .await?;
        tracing::info!(snapshot = id, stage = %stage, tables = n, "snapshot committed");
        Ok(Snapshot {
            id,
            stage: stage.as_str().to_string(),
            run_id,
            created_at_us: created,
            tables: tables
                .into_iter()
                .map(|((_, name), (zone, version))| TableVersion {
                    zone,
                    name,
                    version,
                })
                .collect(),
        })
    }
}
