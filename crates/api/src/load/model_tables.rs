//! Loaders of the models zone: the registry, the current `als` model's artifact, the
//! precomputed lists, similar businesses, site candidates and growth predictions.

use std::collections::HashMap;

use reviewlake_lake::{Columns, Lake, QuerySession, Zone};
use reviewlake_ml::recommend::FactorModel;
use reviewlake_schema::col;
use reviewlake_schema::models;
use reviewlake_schema::models::col as mcol;

use super::indexes::desc_nulls_last_f64;
use super::{Account, collect, date32, has, opt_f64, opt_i64, opt_str, rfc3339_us};
use crate::error::Result;
use crate::lists::Lists;
use crate::resources::{Business, LoadAccount, ModelInfo, ModelRef, SiteCandidate};
use crate::snapshot::{AlsServing, GrowthRow, finite};

/// Loads `models/registry`, by name and version.
pub(super) async fn load_registry(
    session: &QuerySession,
    accounts: &mut Vec<LoadAccount>,
) -> Result<Vec<ModelInfo>> {
    let mut registry = Vec::new();
    if !has(session, Zone::Models, models::REGISTRY) {
        return Ok(registry);
    }
    let mut acc = Account::new(Zone::Models, models::REGISTRY);
    for b in collect(
        session,
        "SELECT \"name\", \"version\", created_at, snapshot_id, params_json, metrics_json, \
         \"current\", primary_metric, primary_value, higher_is_better FROM registry \
         ORDER BY \"name\", \"version\"",
    )
    .await?
    {
        let c = Columns::new(&b, "models/registry");
        let (name, version, created, snap, params, metrics) = (
            c.str(mcol::NAME)?,
            c.i64(mcol::VERSION)?,
            c.timestamp_us(mcol::CREATED_AT)?,
            c.i64(mcol::SNAPSHOT_ID)?,
            c.str(mcol::PARAMS_JSON)?,
            c.str(mcol::METRICS_JSON)?,
        );
        let (current, metric, value, higher) = (
            c.bool(mcol::CURRENT)?,
            c.str(mcol::PRIMARY_METRIC)?,
            c.f64(mcol::PRIMARY_VALUE)?,
            c.bool(mcol::HIGHER_IS_BETTER)?,
        );
        for i in 0..b.num_rows() {
            acc.read += 1;
            let json = |s: &str| -> serde_json::Value {
                match serde_json::from_str::<serde_json::Value>(s) {
                    Ok(v @ serde_json::Value::Object(_)) => v,
                    _ => serde_json::Value::Object(Default::default()),
                }
            };
            registry.push(ModelInfo {
                name: name.value(i).to_string(),
                version: version.value(i),
                created_at: rfc3339_us(created.value(i)),
                snapshot_id: opt_i64(snap, i),
                params: json(params.value(i)),
                metrics: json(metrics.value(i)),
                current: current.value(i),
                primary_metric: metric.value(i).to_string(),
                primary_value: opt_f64(value, i),
                higher_is_better: higher.value(i),
            });
            acc.kept += 1;
        }
    }
    accounts.push(acc.finish()?);
    Ok(registry)
}

/// Loads the current `als` model's artifact; a missing or unreadable artifact is logged
/// and the service goes on without a model (cold start for everyone).
pub(super) async fn load_als(
    lake: &Lake,
    rec: &ModelInfo,
    by_key: &HashMap<i64, u32>,
    businesses: &[Business],
    accounts: &mut Vec<LoadAccount>,
) -> Option<AlsServing> {
    let artifact = format!("{}/{}/model.json", rec.name, rec.version);
    let bytes = match lake.get_artifact(Zone::Models, &artifact).await {
        Ok(Some(b)) => b,
        Ok(None) => {
            tracing::warn!(%artifact, "the current als model has no artifact: serving cold start only");
            return None;
        }
        Err(e) => {
            tracing::warn!(%artifact, error = %e, "cannot read the current als model: serving cold start only");
            return None;
        }
    };
    let parsed = tokio::task::spawn_blocking(move || FactorModel::from_json(&bytes)).await;
    let model = match parsed {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => {
            tracing::warn!(%artifact, error = %e, "the current als model cannot be read: serving cold start only");
            return None;
        }
        Err(e) => {
            tracing::warn!(%artifact, error = %e, "loading the als model failed: serving cold start only");
            return None;
        }
    };
    let mut acc = Account::new(Zone::Models, &format!("{}_{}_items", rec.name, rec.version));
    acc.table = format!("models/{artifact} (items)");
    let item_business: Vec<Option<u32>> = model
        .items
        .iter()
        .map(|id| {
            acc.read += 1;
            let b = id.parse::<i64>().ok().and_then(|k| by_key.get(&k).copied());
            match b {
                Some(_) => acc.kept += 1,
                None => acc.skip(1, "items not in dim_business"),
            }
            b
        })
        .collect();
    let mut business_item = vec![u32::MAX; businesses.len()];
    for (i, b) in item_business.iter().enumerate() {
        if let Some(b) = b {
            business_item[*b as usize] = i as u32;
        }
    }
    let item_open = item_business
        .iter()
        .map(|b| b.is_some_and(|b| businesses[b as usize].is_open != Some(false)))
        .collect();
    let (items, rank) = (model.item_factors.nrows(), model.item_factors.ncols());
    let mut item_factors_t = vec![0f32; items * rank];
    for (i, row) in model.item_factors.rows().into_iter().enumerate() {
        for (k, &v) in row.iter().enumerate() {
            item_factors_t[k * items + i] = v;
        }
    }
    if let Ok(a) = acc.finish() {
        accounts.push(a);
    }
    Some(AlsServing {
        model_ref: ModelRef {
            name: rec.name.clone(),
            version: rec.version,
        },
        kind: std::sync::Arc::from(
            rec.params["model"]
                .as_str()
                .or_else(|| rec.metrics["model"].as_str())
                .unwrap_or("als"),
        ),
        model,
        item_factors_t,
        item_business,
        business_item,
        item_open,
    })
}

/// Loads the precomputed lists of `models/recommendations` (the serving policy of the
/// current `als` version; see [`crate::lists::load_lists`]).
pub(super) async fn load_recommendations(
    session: &QuerySession,
    by_key: &HashMap<i64, u32>,
    accounts: &mut Vec<LoadAccount>,
) -> Result<Lists> {
    if !has(session, Zone::Models, models::RECOMMENDATIONS) {
        return Ok(Lists::default());
    }
    let mut acc = Account::new(Zone::Models, models::RECOMMENDATIONS);
    let lists = crate::lists::load_lists(session, by_key, &mut acc).await?;
    accounts.push(acc.finish()?);
    Ok(lists)
}

/// The similar businesses of `models/similar_businesses`.
pub(super) struct Similar {
    /// Per business index: (other index, rank, score), by rank then `business_key`.
    pub(super) similar: HashMap<u32, Vec<(u32, i32, f64)>>,
    /// The `als` version that wrote them (the latest, if several did).
    pub(super) similar_model: Option<ModelRef>,
}

/// Loads `models/similar_businesses`.
pub(super) async fn load_similar(
    session: &QuerySession,
    by_key: &HashMap<i64, u32>,
    businesses: &[Business],
    accounts: &mut Vec<LoadAccount>,
) -> Result<Similar> {
    let mut similar: HashMap<u32, Vec<(u32, i32, f64)>> = HashMap::new();
    let mut similar_version = None;
    if has(session, Zone::Models, models::SIMILAR_BUSINESSES) {
        let mut acc = Account::new(Zone::Models, models::SIMILAR_BUSINESSES);
        for b in collect(
            session,
            "SELECT business_key, similar_business_key, rank, score, model_version \
             FROM similar_businesses",
        )
        .await?
        {
            let c = Columns::new(&b, "models/similar_businesses");
            let (key, other, rank, score, version) = (
                c.i64(col::BUSINESS_KEY)?,
                c.i64(mcol::SIMILAR_BUSINESS_KEY)?,
                c.i32(mcol::RANK)?,
                c.f64(mcol::SCORE)?,
                c.i64(mcol::MODEL_VERSION)?,
            );
            for i in 0..b.num_rows() {
                acc.read += 1;
                let (Some(&a), Some(&o)) = (by_key.get(&key.value(i)), by_key.get(&other.value(i)))
                else {
                    acc.skip(1, "of businesses not in dim_business");
                    continue;
                };
                let Some(s) = finite(Some(score.value(i))) else {
                    acc.skip(1, "with a score that is not a number");
                    continue;
                };
                similar.entry(a).or_default().push((o, rank.value(i), s));
                similar_version = similar_version.max(Some(version.value(i)));
                acc.kept += 1;
            }
        }
        for v in similar.values_mut() {
            v.sort_by(|x, y| {
                (x.1, businesses[x.0 as usize].business_key)
                    .cmp(&(y.1, businesses[y.0 as usize].business_key))
            });
        }
        accounts.push(acc.finish()?);
    }
    let similar_model = similar_version.map(|version| ModelRef {
        name: "als".into(),
        version,
    });
    Ok(Similar {
        similar,
        similar_model,
    })
}

/// Loads `models/site_candidates`, by state, category, rank and cluster.
pub(super) async fn load_sites(
    session: &QuerySession,
    accounts: &mut Vec<LoadAccount>,
) -> Result<Vec<SiteCandidate>> {
    let mut sites = Vec::new();
    if !has(session, Zone::Models, models::SITE_CANDIDATES) {
        return Ok(sites);
    }
    let mut acc = Account::new(Zone::Models, models::SITE_CANDIDATES);
    for b in collect(
        session,
        "SELECT state, category, rank, method, \"cluster\", centroid_latitude, \
         centroid_longitude, radius_km, members, score, demand, satisfaction_gap, \
         competition, reasons, model_version FROM site_candidates",
    )
    .await?
    {
        let c = Columns::new(&b, "models/site_candidates");
        let (state, cat, rank, method, cluster) = (
            c.str(col::STATE)?,
            c.str(col::CATEGORY)?,
            c.i32(mcol::RANK)?,
            c.str(mcol::METHOD)?,
            c.i32(mcol::CLUSTER)?,
        );
        let (lat, lon, radius, members, score) = (
            c.f64(mcol::CENTROID_LATITUDE)?,
            c.f64(mcol::CENTROID_LONGITUDE)?,
            c.f64(mcol::RADIUS_KM)?,
            c.i64(mcol::MEMBERS)?,
            c.f64(mcol::SCORE)?,
        );
        let (demand, gap, comp, reasons, version) = (
            c.f64(mcol::DEMAND)?,
            c.f64(mcol::SATISFACTION_GAP)?,
            c.f64(mcol::COMPETITION)?,
            c.str(mcol::REASONS)?,
            c.i64(mcol::MODEL_VERSION)?,
        );
        for i in 0..b.num_rows() {
            acc.read += 1;
            let nums = [
                lat.value(i),
                lon.value(i),
                radius.value(i),
                score.value(i),
                demand.value(i),
                gap.value(i),
                comp.value(i),
            ];
            if nums.iter().any(|v| !v.is_finite()) {
                acc.skip(1, "with a value that is not a number");
                continue;
            }
            sites.push(SiteCandidate {
                state: state.value(i).to_string(),
                category: opt_str(cat, i),
                rank: rank.value(i),
                method: method.value(i).to_string(),
                cluster: cluster.value(i),
                centroid_latitude: nums[0],
                centroid_longitude: nums[1],
                radius_km: nums[2],
                members: members.value(i),
                score: nums[3],
                demand: nums[4],
                satisfaction_gap: nums[5],
                competition: nums[6],
                reasons: reasons.value(i).to_string(),
                model_version: version.value(i),
            });
            acc.kept += 1;
        }
    }
    sites.sort_by(|a, b| {
        (&a.state, &a.category, a.rank, a.cluster).cmp(&(&b.state, &b.category, b.rank, b.cluster))
    });
    accounts.push(acc.finish()?);
    Ok(sites)
}

/// Loads `models/growth_predictions`, most probable first.
pub(super) async fn load_growth(
    session: &QuerySession,
    by_key: &HashMap<i64, u32>,
    businesses: &[Business],
    accounts: &mut Vec<LoadAccount>,
) -> Result<Vec<GrowthRow>> {
    let mut growth = Vec::new();
    if !has(session, Zone::Models, models::GROWTH_PREDICTIONS) {
        return Ok(growth);
    }
    let mut acc = Account::new(Zone::Models, models::GROWTH_PREDICTIONS);
    for b in collect(
        session,
        "SELECT level, business_key, category, state, period_start, model, \
         predicted_class, probability, predicted_value, model_version FROM growth_predictions",
    )
    .await?
    {
        let c = Columns::new(&b, "models/growth_predictions");
        let (level, key, cat, state, period) = (
            c.str(mcol::LEVEL)?,
            c.i64(col::BUSINESS_KEY)?,
            c.str(col::CATEGORY)?,
            c.str(col::STATE)?,
            c.date32(col::PERIOD_START)?,
        );
        let (model, class, prob, value, version) = (
            c.str(mcol::MODEL)?,
            c.str(mcol::PREDICTED_CLASS)?,
            c.f64(mcol::PROBABILITY)?,
            c.f64(mcol::PREDICTED_VALUE)?,
            c.i64(mcol::MODEL_VERSION)?,
        );
        for i in 0..b.num_rows() {
            acc.read += 1;
            let business = match opt_i64(key, i) {
                Some(k) => match by_key.get(&k) {
                    Some(&idx) => Some(idx),
                    None => {
                        acc.skip(1, "of businesses not in dim_business");
                        continue;
                    }
                },
                None => None,
            };
            let Some(p) = date32(period.value(i)) else {
                acc.skip(1, "with an impossible period");
                continue;
            };
            growth.push(GrowthRow {
                level: level.value(i).to_string(),
                business,
                category: opt_str(cat, i),
                state: opt_str(state, i),
                period_start: p,
                model: model.value(i).to_string(),
                predicted_class: class.value(i).to_string(),
                probability: opt_f64(prob, i),
                predicted_value: opt_f64(value, i),
                model_version: version.value(i),
            });
            acc.kept += 1;
        }
    }
    let key_of = |g: &GrowthRow| g.business.map(|b| businesses[b as usize].business_key);
    growth.sort_by(|a, b| {
        desc_nulls_last_f64(a.probability, b.probability)
            .then_with(|| a.level.cmp(&b.level))
            .then_with(|| a.model.cmp(&b.model))
            .then_with(|| a.category.cmp(&b.category))
            .then_with(|| a.state.cmp(&b.state))
            .then_with(|| key_of(a).cmp(&key_of(b)))
            .then_with(|| a.period_start.cmp(&b.period_start))
    });
    accounts.push(acc.finish()?);
    Ok(growth)
}
