//! Removing files no kept version needs.

use deltalake::operations::vacuum::VacuumMode;

use crate::{Lake, Result, Zone, delta_err};

/// What [`Lake::vacuum`] did to one table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VacuumedTable {
    /// `zone/name`.
    pub table: String,
    /// Files deleted.
    pub files_deleted: usize,
    /// Versions whose files were kept: the latest, and the snapshot's if it differs.
    pub kept_versions: Vec<i64>,
}

/// What [`Lake::vacuum`] did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct VacuumReport {
    /// Per table.
    pub tables: Vec<VacuumedTable>,
}

impl VacuumReport {
    /// Files deleted in all tables.
    pub fn files_deleted(&self) -> usize {
        self.tables.iter().map(|t| t.files_deleted).sum()
    }
}

impl Lake {
    /// Deletes the data files that no kept version of any table references: files
    /// removed from a table more than `retain_hours` ago, and files never committed
    /// (left by a killed run) older than that. The files of the latest snapshot are
    /// always kept, whatever `retain_hours`. Takes the writer lease for its duration.
    /// Older snapshots whose files are deleted can no longer be read.
    pub async fn vacuum(&self, retain_hours: u64) -> Result<VacuumReport> {
        let guard = self.acquire_writer("vacuum").await?;
        let snapshot = self.latest_snapshot().await?;
        let mut report = VacuumReport::default();
        for zone in Zone::ALL.into_iter().chain([Zone::Catalog]) {
            for name in self.list_tables(zone).await? {
                let Some(table) = self.table(zone, &name).await? else {
                    continue;
                };
                let latest = table.version();
                let mut keep = vec![latest];
                if let Some(v) = snapshot.as_ref().and_then(|s| s.version_of(zone, &name))
                    && v != latest
                {
                    keep.push(v);
                }
                let keep_u: Vec<_> = keep.iter().map(|v| (*v).max(0) as _).collect();
                let mut builder = table
                    .delta
                    .vacuum()
                    .with_retention_period(chrono::Duration::hours(retain_hours as i64))
                    .with_enforce_retention_duration(false)
                    .with_mode(VacuumMode::Full);
                if keep.len() > 1 {
                    builder = builder.with_keep_versions(&keep_u);
                }
                let (_, metrics) = builder.await.map_err(|e| delta_err(zone, &name, e))?;
                report.tables.push(VacuumedTable {
                    table: format!("{zone}/{name}"),
                    files_deleted: metrics.files_deleted.len(),
                    kept_versions: keep,
                });
            }
        }
        guard.release().await;
        Ok(report)
    }
}
