//! The model registry: every trained model is an artifact in the lake's models zone
//! (`<lake>/models/<name>/<version>/model.json` and `meta.json`), and a row of the Delta
//! table `<lake>/models/registry` (name, version, creation time, the snapshot it was
//! trained on, parameters, metrics, and whether it is the current one).
//!
//! A new version becomes current only when it beats the current one on its primary
//! metric (in the metric's direction), or when promotion is forced — and never when it
//! does not beat its best naive baseline on the same held-out data
//! ([`NewModel::baseline`]), even with no predecessor.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::TimestampMicrosecondArray;
use arrow::array::{BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use bytes::Bytes;
use reviewlake_lake::{Columns, Lake, TableRewrite, Zone};
use reviewlake_schema::models::{self as m, col};
use serde::{Deserialize, Serialize};

use crate::{MlError, Result};

/// One registered model version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// Model name (`als`, `implicit_als`, `sites`, `growth_logistic`, ...).
    pub name: String,
    /// Version, 1, 2, ... per name.
    pub version: i64,
    /// Training time, µs since the epoch (UTC).
    pub created_at_us: i64,
    /// The catalog snapshot the model was trained on.
    pub snapshot_id: Option<i64>,
    /// Hyper-parameters.
    pub params: serde_json::Value,
    /// Evaluation metrics.
    pub metrics: serde_json::Value,
    /// Whether this is the served version of its name.
    pub current: bool,
    /// The metric promotion compares.
    pub primary_metric: String,
    /// Its value (`None` when it could not be computed).
    pub primary_value: Option<f64>,
    /// Whether a larger primary value is better.
    pub higher_is_better: bool,
}

impl ModelRecord {
    /// The artifact folder of this version in the models zone: `<name>/<version>`.
    pub fn artifact(&self) -> String {
        format!("{}/{}", self.name, self.version)
    }

    /// Whether this record's primary metric is better than `other`'s (a missing value
    /// is never better; anything beats a missing value).
    pub fn beats(&self, other: &ModelRecord) -> bool {
        match (self.primary_value, other.primary_value) {
            (Some(a), Some(b)) if self.higher_is_better => a > b,
            (Some(a), Some(b)) => a < b,
            (Some(_), None) => true,
            _ => false,
        }
    }
}

/// A model's serialised form, stored as `<name>/<version>/model.json`.
#[derive(Clone)]
pub enum Artifact {
    /// Bytes already in memory (small artifacts).
    Bytes(Bytes),
    /// Written straight into the lake as it is produced ([`Lake::put_artifact_with`]), so
    /// a model of millions of users is never held twice, once as text.
    Streamed(ArtifactWriter),
    /// No artifact: the version records an evaluation only. It is never made current
    /// (there is nothing to serve); used for a model that did not beat its baseline on
    /// held-out data, whose serving refit would never be served.
    None,
}

/// Writes a streamed [`Artifact`].
pub type ArtifactWriter = Arc<dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()> + Send + Sync>;

impl Artifact {
    /// `value` as JSON, streamed into the lake (the same bytes as `serde_json::to_vec`).
    pub fn json<T: Serialize + Send + Sync + 'static>(value: Arc<T>) -> Artifact {
        Artifact::Streamed(Arc::new(move |w| {
            serde_json::to_writer(w, &*value).map_err(std::io::Error::from)
        }))
    }
}

impl From<Bytes> for Artifact {
    fn from(bytes: Bytes) -> Artifact {
        Artifact::Bytes(bytes)
    }
}

impl std::fmt::Debug for Artifact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Artifact::Bytes(b) => f.debug_tuple("Bytes").field(&b.len()).finish(),
            Artifact::Streamed(_) => f.write_str("Streamed"),
            Artifact::None => f.write_str("None"),
        }
    }
}

/// A model to register: what [`Registry::add`] needs.
#[derive(Debug, Clone)]
pub struct NewModel {
    /// Model name.
    pub name: String,
    /// Hyper-parameters.
    pub params: serde_json::Value,
    /// Evaluation metrics.
    pub metrics: serde_json::Value,
    /// The metric promotion compares, its value and its direction.
    pub primary: (String, Option<f64>, bool),
    /// The serialised model.
    pub artifact: Artifact,
    /// The snapshot it was trained on.
    pub snapshot_id: Option<i64>,
    /// The best naive baseline's value of the primary metric on the same held-out data
    /// (same direction), if the model has baselines: a version that does not beat it
    /// is never made current, not even with `force`.
    pub baseline: Option<f64>,
}

impl NewModel {
    /// Whether the primary metric beats the best baseline ([`NewModel::baseline`]; true
    /// without one). A version that does not is never current.
    pub fn beats_baseline(&self) -> bool {
        let (_, value, higher_is_better) = self.primary;
        match (self.baseline, value) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(b), Some(v)) if higher_is_better => v > b,
            (Some(b), Some(v)) => v < b,
        }
    }
}

/// The registry as read from the lake, with the versions added by this run.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    records: Vec<ModelRecord>,
    changed: bool,
}

impl Registry {
    /// Reads `<lake>/models/registry` (empty if there is none yet).
    pub async fn load(lake: &Lake) -> Result<Registry> {
        let mut records = Vec::new();
        if lake.table(Zone::Models, m::REGISTRY).await?.is_some() {
            let label = format!("models/{}", m::REGISTRY);
            for b in lake.read_table(Zone::Models, m::REGISTRY).await? {
                let c = Columns::new(&b, &label);
                let (name, version, created, snap) = (
                    c.str(col::NAME)?,
                    c.i64(col::VERSION)?,
                    c.timestamp_us(col::CREATED_AT)?,
                    c.i64(col::SNAPSHOT_ID)?,
                );
                let (params, metrics, current) = (
                    c.str(col::PARAMS_JSON)?,
                    c.str(col::METRICS_JSON)?,
                    c.bool(col::CURRENT)?,
                );
                let (metric, value, higher) = (
                    c.str(col::PRIMARY_METRIC)?,
                    c.f64(col::PRIMARY_VALUE)?,
                    c.bool(col::HIGHER_IS_BETTER)?,
                );
                use arrow::array::Array;
                for i in 0..b.num_rows() {
                    let json = |s: &str| {
                        serde_json::from_str(s)
                            .map_err(|e| MlError::Data(format!("{label}: row {i}: bad JSON: {e}")))
                    };
                    records.push(ModelRecord {
                        name: name.value(i).to_string(),
                        version: version.value(i),
                        created_at_us: created.value(i),
                        snapshot_id: (!snap.is_null(i)).then(|| snap.value(i)),
                        params: json(params.value(i))?,
                        metrics: json(metrics.value(i))?,
                        current: current.value(i),
                        primary_metric: metric.value(i).to_string(),
                        primary_value: (!value.is_null(i)).then(|| value.value(i)),
                        higher_is_better: higher.value(i),
                    });
                }
            }
        }
        records.sort_by(|a, b| (&a.name, a.version).cmp(&(&b.name, b.version)));
        Ok(Registry {
            records,
            changed: false,
        })
    }

    /// Every record, by name then version.
    pub fn records(&self) -> &[ModelRecord] {
        &self.records
    }

    /// The current version of `name`.
    pub fn current(&self, name: &str) -> Option<&ModelRecord> {
        self.records.iter().find(|r| r.name == name && r.current)
    }

    /// Stores `model`'s artifact as the next version of its name and registers it; it
    /// becomes current when it beats [`NewModel::baseline`] (if given) and there is no
    /// current version, it beats the current one on the primary metric (or the current
    /// one was measured on another metric), or `force` is set. A version no better than its best baseline is never current. Returns the new
    /// record.
    pub async fn add(&mut self, lake: &Lake, model: NewModel, force: bool) -> Result<ModelRecord> {
        let version = self
            .records
            .iter()
            .filter(|r| r.name == model.name)
            .map(|r| r.version)
            .max()
            .unwrap_or(0)
            + 1;
        let beats_baseline = model.beats_baseline();
        let mut rec = ModelRecord {
            name: model.name.clone(),
            version,
            created_at_us: chrono::Utc::now().timestamp_micros(),
            snapshot_id: model.snapshot_id,
            params: model.params,
            metrics: model.metrics,
            current: false,
            primary_metric: model.primary.0,
            primary_value: model.primary.1,
            higher_is_better: model.primary.2,
        };
        if !beats_baseline {
            tracing::warn!(
                model = %rec.name,
                metric = %rec.primary_metric,
                value = ?rec.primary_value,
                baseline = ?model.baseline,
                "not promoted: no better than the best baseline"
            );
        }
        let promote = beats_baseline
            && !matches!(model.artifact, Artifact::None)
            && (force
                || match self.current(&rec.name) {
                    None => true,
                    // A current version measured on another metric (from before
                    // the metric changed) cannot be compared: the new one, better
                    // than its baselines, replaces it.
                    Some(cur) => cur.primary_metric != rec.primary_metric || rec.beats(cur),
                });
        let folder = rec.artifact();
        let model_json = format!("{folder}/model.json");
        match model.artifact {
            Artifact::Bytes(bytes) => lake.put_artifact(Zone::Models, &model_json, bytes).await?,
            Artifact::Streamed(write) => {
                lake.put_artifact_with(Zone::Models, &model_json, move |w| write(w))
                    .await?;
            }
            Artifact::None => {}
        }
        let meta = serde_json::to_vec_pretty(&rec)
            .map_err(|e| MlError::Data(format!("serialising {folder}/meta.json: {e}")))?;
        lake.put_artifact(
            Zone::Models,
            &format!("{folder}/meta.json"),
            Bytes::from(meta),
        )
        .await?;
        if promote {
            for r in self.records.iter_mut().filter(|r| r.name == rec.name) {
                r.current = false;
            }
            rec.current = true;
        }
        tracing::info!(
            model = %rec.name,
            version = rec.version,
            current = rec.current,
            metric = %rec.primary_metric,
            value = ?rec.primary_value,
            "model registered"
        );
        self.records.push(rec.clone());
        self.changed = true;
        Ok(rec)
    }

    /// Loads the artifact of `name`'s current version (`None` without one).
    pub async fn load_current(
        &self,
        lake: &Lake,
        name: &str,
    ) -> Result<Option<(ModelRecord, Bytes)>> {
        let Some(rec) = self.current(name) else {
            return Ok(None);
        };
        let bytes = lake
            .get_artifact(Zone::Models, &format!("{}/model.json", rec.artifact()))
            .await?
            .ok_or_else(|| {
                MlError::Data(format!(
                    "model {} version {} is registered but its artifact is missing",
                    rec.name, rec.version
                ))
            })?;
        Ok(Some((rec.clone(), bytes)))
    }

    /// Rewrites `<lake>/models/registry` when versions were added (one commit).
    pub async fn commit(&mut self, lake: &Lake, run_id: &str) -> Result<()> {
        if !self.changed && lake.table(Zone::Models, m::REGISTRY).await?.is_some() {
            return Ok(());
        }
        let r = &self.records;
        let batch = RecordBatch::try_new(
            m::registry(),
            vec![
                Arc::new(StringArray::from_iter_values(
                    r.iter().map(|x| x.name.as_str()),
                )),
                Arc::new(Int64Array::from_iter_values(r.iter().map(|x| x.version))),
                Arc::new(
                    TimestampMicrosecondArray::from_iter_values(r.iter().map(|x| x.created_at_us))
                        .with_timezone("UTC"),
                ),
                Arc::new(Int64Array::from(
                    r.iter().map(|x| x.snapshot_id).collect::<Vec<_>>(),
                )),
                Arc::new(StringArray::from_iter_values(
                    r.iter().map(|x| x.params.to_string()),
                )),
                Arc::new(StringArray::from_iter_values(
                    r.iter().map(|x| x.metrics.to_string()),
                )),
                Arc::new(BooleanArray::from(
                    r.iter().map(|x| x.current).collect::<Vec<_>>(),
                )),
                Arc::new(StringArray::from_iter_values(
                    r.iter().map(|x| x.primary_metric.as_str()),
                )),
                Arc::new(Float64Array::from(
                    r.iter().map(|x| x.primary_value).collect::<Vec<_>>(),
                )),
                Arc::new(BooleanArray::from(
                    r.iter().map(|x| x.higher_is_better).collect::<Vec<_>>(),
                )),
                Arc::new(StringArray::from_iter_values(
                    r.iter().map(|x| x.artifact()),
                )),
            ],
        )?;
        let mut sink =
            TableRewrite::open(lake, Zone::Models, m::REGISTRY, m::registry(), run_id).await?;
        sink.write(batch).await?;
        sink.commit().await?;
        self.changed = false;
        Ok(())
    }

    /// Current versions by name.
    pub fn current_versions(&self) -> BTreeMap<String, i64> {
        self.records
            .iter()
            .filter(|r| r.current)
            .map(|r| (r.name.clone(), r.version))
            .collect()
    }
}
