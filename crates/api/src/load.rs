//! Loading one snapshot of the lake into memory: every table read once through a
//! read-only [`QuerySession`] pinned to the snapshot, columns by name and type
//! ([`Columns`]), indexes built, and every table's rows accounted for (read = kept +
//! skipped, with the reason).
//!
//! Tables of later stages may be missing (a lake built `--until features` has no models
//! zone; one built `--until warehouse` no features): the service then serves what it can
//! (cold-start recommendations, empty lists).

use std::collections::HashMap;
use std::time::Instant;

use arrow::array::{Array, RecordBatch};
use reviewlake_lake::{Columns, Lake, QuerySession, Snapshot, Zone};
use reviewlake_ml::recommend::{CatalogItem, ColdStartParams, FactorModel, catalog_cold_start};
use reviewlake_schema::col;
use reviewlake_schema::models::col as mcol;
use reviewlake_schema::{features, models, warehouse};

use crate::error::{ApiError, Result};
use crate::resources::{
    Business, FacetCount, Facets, Grain, KpiName, LoadAccount, ModelInfo, ModelRef, SampleUser,
    SiteCandidate, SnapshotInfo, SnapshotTable, Source,
};
use crate::snapshot::{
    AlsServing, GrowthRow, KpiKey, KpiRow, LoadedSnapshot, MonthRow, SentimentAgg, finite,
    sentiment_bin, source_slot,
};

/// The zones the service reads.
const SERVED_ZONES: [Zone; 3] = [Zone::Warehouse, Zone::Features, Zone::Models];

/// Days from 0001-01-01 (CE day 1) to 1970-01-01.
const UNIX_EPOCH_CE_DAYS: i32 = 719_163;

fn date32(d: i32) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::from_num_days_from_ce_opt(d.checked_add(UNIX_EPOCH_CE_DAYS)?)
}

/// RFC 3339 (seconds, `Z`) of a timestamp in µs since the epoch.
pub(crate) fn rfc3339_us(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn opt_str(a: &arrow::array::StringArray, i: usize) -> Option<String> {
    (!a.is_null(i)).then(|| a.value(i).to_string())
}
fn opt_f64(a: &arrow::array::Float64Array, i: usize) -> Option<f64> {
    finite((!a.is_null(i)).then(|| a.value(i)))
}
fn opt_i64(a: &arrow::array::Int64Array, i: usize) -> Option<i64> {
    (!a.is_null(i)).then(|| a.value(i))
}
fn opt_i32(a: &arrow::array::Int32Array, i: usize) -> Option<i32> {
    (!a.is_null(i)).then(|| a.value(i))
}
fn opt_bool(a: &arrow::array::BooleanArray, i: usize) -> Option<bool> {
    (!a.is_null(i)).then(|| a.value(i))
}

/// Row accounting of one table.
pub(crate) struct Account {
    table: String,
    pub(crate) read: i64,
    pub(crate) kept: i64,
    notes: Vec<(i64, String)>,
}

impl Account {
    pub(crate) fn new(zone: Zone, name: &str) -> Account {
        Account {
            table: format!("{zone}/{name}"),
            read: 0,
            kept: 0,
            notes: Vec::new(),
        }
    }

    pub(crate) fn skip(&mut self, n: i64, why: &str) {
        if n == 0 {
            return;
        }
        match self.notes.iter_mut().find(|(_, w)| w == why) {
            Some((c, _)) => *c += n,
            None => self.notes.push((n, why.to_string())),
        }
    }

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

pub(crate) async fn collect(session: &QuerySession, sql: &str) -> Result<Vec<RecordBatch>> {
    Ok(session.collect(sql).await?)
}

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

impl LoadedSnapshot {
    /// Loads `snapshot` of `lake` (or, for a lake without catalog, every table at its
    /// latest version when `snapshot` is `None`).
    pub async fn load(lake: &Lake, snapshot: Option<&Snapshot>) -> Result<LoadedSnapshot> {
        let started = Instant::now();
        // Only the zones served: raw tables are neither opened nor checked.
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
        let has = |zone: Zone, name: &str| {
            session
                .tables()
                .iter()
                .any(|t| t.zone == zone && t.name == name)
        };
        if !has(Zone::Warehouse, warehouse::DIM_BUSINESS) {
            return Err(ApiError::Data(format!(
                "the lake {} has no warehouse yet (run the pipeline through the warehouse stage)",
                lake.display_root()
            )));
        }
        let mut accounts = Vec::new();

        // Businesses, their categories and features.
        let mut businesses: Vec<Business> = Vec::new();
        let mut by_key: HashMap<i64, u32> = HashMap::new();
        let mut by_native: [HashMap<Box<str>, u32>; 2] = [HashMap::new(), HashMap::new()];
        let mut acc = Account::new(Zone::Warehouse, warehouse::DIM_BUSINESS);
        for b in collect(
            &session,
            "SELECT business_key, source, source_id, name, address, city, state, postal_code, \
             latitude, longitude, rating, review_count, price_level, is_open FROM dim_business \
             ORDER BY business_key",
        )
        .await?
        {
            let c = Columns::new(&b, "warehouse/dim_business");
            let (key, source, sid, name, address, city, state, postal) = (
                c.i64(col::BUSINESS_KEY)?,
                c.str(col::SOURCE)?,
                c.str(col::SOURCE_ID)?,
                c.str(col::NAME)?,
                c.str(col::ADDRESS)?,
                c.str(col::CITY)?,
                c.str(col::STATE)?,
                c.str(col::POSTAL_CODE)?,
            );
            let (lat, lon, rating, count, price, open) = (
                c.f64(col::LATITUDE)?,
                c.f64(col::LONGITUDE)?,
                c.f64(col::RATING)?,
                c.i64(col::REVIEW_COUNT)?,
                c.i32(col::PRICE_LEVEL)?,
                c.bool(col::IS_OPEN)?,
            );
            for i in 0..b.num_rows() {
                acc.read += 1;
                let Some(src) = Source::parse(source.value(i)) else {
                    acc.skip(1, "with an unknown source");
                    continue;
                };
                let idx = businesses.len() as u32;
                if by_key.insert(key.value(i), idx).is_some() {
                    acc.skip(1, "with a duplicate business_key");
                    continue;
                }
                if by_native[source_slot(src)]
                    .insert(sid.value(i).into(), idx)
                    .is_some()
                {
                    by_key.remove(&key.value(i));
                    acc.skip(1, "with a duplicate (source, source_id)");
                    continue;
                }
                businesses.push(Business {
                    source: src,
                    id: sid.value(i).to_string(),
                    business_key: key.value(i),
                    name: opt_str(name, i),
                    address: opt_str(address, i),
                    city: opt_str(city, i),
                    state: opt_str(state, i),
                    postal_code: opt_str(postal, i),
                    latitude: opt_f64(lat, i),
                    longitude: opt_f64(lon, i),
                    rating: opt_f64(rating, i),
                    review_count: opt_i64(count, i),
                    price_level: opt_i32(price, i),
                    is_open: opt_bool(open, i),
                    categories: Vec::new(),
                    reviews: None,
                    mean_stars: None,
                    mean_sentiment: None,
                });
                acc.kept += 1;
            }
        }
        accounts.push(acc.finish()?);

        if has(Zone::Warehouse, warehouse::BUSINESS_CATEGORY) {
            let mut acc = Account::new(Zone::Warehouse, warehouse::BUSINESS_CATEGORY);
            for b in collect(
                &session,
                "SELECT business_key, category FROM business_category",
            )
            .await?
            {
                let c = Columns::new(&b, "warehouse/business_category");
                let (key, cat) = (c.i64(col::BUSINESS_KEY)?, c.str(col::CATEGORY)?);
                for i in 0..b.num_rows() {
                    acc.read += 1;
                    match by_key.get(&key.value(i)) {
                        Some(&idx) => {
                            businesses[idx as usize]
                                .categories
                                .push(cat.value(i).to_string());
                            acc.kept += 1;
                        }
                        None => acc.skip(1, "of businesses not in dim_business"),
                    }
                }
            }
            for b in &mut businesses {
                b.categories.sort();
                b.categories.dedup();
            }
            accounts.push(acc.finish()?);
        }

        if has(Zone::Features, features::BUSINESS_FEATURES) {
            let mut acc = Account::new(Zone::Features, features::BUSINESS_FEATURES);
            for b in collect(
                &session,
                "SELECT business_key, reviews, mean_stars, mean_sentiment FROM business_features",
            )
            .await?
            {
                let c = Columns::new(&b, "features/business_features");
                let (key, reviews, stars, sent) = (
                    c.i64(col::BUSINESS_KEY)?,
                    c.i64(col::REVIEWS)?,
                    c.f64(col::MEAN_STARS)?,
                    c.f64(col::MEAN_SENTIMENT)?,
                );
                for i in 0..b.num_rows() {
                    acc.read += 1;
                    match by_key.get(&key.value(i)) {
                        Some(&idx) => {
                            let bz = &mut businesses[idx as usize];
                            bz.reviews = Some(reviews.value(i));
                            bz.mean_stars = opt_f64(stars, i);
                            bz.mean_sentiment = opt_f64(sent, i);
                            acc.kept += 1;
                        }
                        None => acc.skip(1, "of businesses not in dim_business"),
                    }
                }
            }
            accounts.push(acc.finish()?);
        }

        // Search orders.
        let n = businesses.len() as u32;
        let mut order_reviews: Vec<u32> = (0..n).collect();
        order_reviews.sort_by(|&a, &b| {
            let (x, y) = (&businesses[a as usize], &businesses[b as usize]);
            desc_nulls_last(x.review_count, y.review_count)
                .then(x.business_key.cmp(&y.business_key))
        });
        let mut order_rating: Vec<u32> = (0..n).collect();
        order_rating.sort_by(|&a, &b| {
            let (x, y) = (&businesses[a as usize], &businesses[b as usize]);
            desc_nulls_last_f64(x.rating, y.rating)
                .then(desc_nulls_last(x.review_count, y.review_count))
                .then(x.business_key.cmp(&y.business_key))
        });
        let mut order_name: Vec<u32> = (0..n).collect();
        order_name.sort_by(|&a, &b| {
            let (x, y) = (&businesses[a as usize], &businesses[b as usize]);
            match (&x.name, &y.name) {
                (Some(p), Some(q)) => p.as_bytes().cmp(q.as_bytes()),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            }
            .then(x.business_key.cmp(&y.business_key))
        });
        let names_lower: Vec<Box<str>> = businesses
            .iter()
            .map(|b| b.name.as_deref().unwrap_or("").to_lowercase().into())
            .collect();

        // Cold start: the ml crate's catalogue ranking (the one the ml stage writes).
        let cold: Vec<(u32, f64)> = catalog_cold_start(
            businesses.iter().enumerate().map(|(i, b)| CatalogItem {
                id: i as u32,
                business_key: b.business_key,
                rating: b.rating,
                review_count: b.review_count,
                is_open: b.is_open,
            }),
            ColdStartParams::default().prior_weight,
        );

        // Users and what they reviewed.
        let mut users: [HashMap<Box<str>, i64>; 2] = [HashMap::new(), HashMap::new()];
        let mut acc = Account::new(Zone::Warehouse, warehouse::DIM_USER);
        if has(Zone::Warehouse, warehouse::DIM_USER) {
            for b in collect(&session, "SELECT user_key, source, source_id FROM dim_user").await? {
                let c = Columns::new(&b, "warehouse/dim_user");
                let (key, source, sid) = (
                    c.i64(col::USER_KEY)?,
                    c.str(col::SOURCE)?,
                    c.str(col::SOURCE_ID)?,
                );
                for i in 0..b.num_rows() {
                    acc.read += 1;
                    let Some(src) = Source::parse(source.value(i)) else {
                        acc.skip(1, "with an unknown source");
                        continue;
                    };
                    if users[source_slot(src)]
                        .insert(sid.value(i).into(), key.value(i))
                        .is_some()
                    {
                        acc.skip(1, "with a duplicate (source, source_id)");
                    } else {
                        acc.kept += 1;
                    }
                }
            }
            accounts.push(acc.finish()?);
        }
        let mut pairs: Vec<(i64, u32)> = Vec::new();
        if has(Zone::Warehouse, warehouse::FACT_REVIEW) {
            let mut acc = Account::new(Zone::Warehouse, warehouse::FACT_REVIEW);
            let mut s = session
                .stream("SELECT user_key, business_key FROM fact_review")
                .await?;
            while let Some(b) = s.next().await {
                let b = b?;
                let c = Columns::new(&b, "warehouse/fact_review");
                let (u, k) = (c.i64(col::USER_KEY)?, c.i64(col::BUSINESS_KEY)?);
                for i in 0..b.num_rows() {
                    acc.read += 1;
                    match by_key.get(&k.value(i)) {
                        Some(&idx) => {
                            pairs.push((u.value(i), idx));
                            acc.kept += 1;
                        }
                        None => acc.skip(1, "of businesses not in dim_business"),
                    }
                }
            }
            accounts.push(acc.finish()?);
        }
        pairs.sort_unstable();
        pairs.dedup();
        let mut user_keys = Vec::new();
        let mut user_offsets = vec![0u32];
        let mut user_reviewed = Vec::with_capacity(pairs.len());
        for (u, b) in pairs {
            if user_keys.last() != Some(&u) {
                if !user_keys.is_empty() {
                    user_offsets.push(user_reviewed.len() as u32);
                }
                user_keys.push(u);
            }
            user_reviewed.push(b);
        }
        if !user_keys.is_empty() {
            user_offsets.push(user_reviewed.len() as u32);
        }

        let facets = facets(&businesses, &users, &user_keys, &user_offsets);

        // Timelines.
        let mut months_by: Vec<(u32, MonthRow)> = Vec::new();
        if has(Zone::Features, features::BUSINESS_MONTH) {
            let mut acc = Account::new(Zone::Features, features::BUSINESS_MONTH);
            for b in collect(
                &session,
                "SELECT business_key, month, reviews, mean_stars, mean_sentiment, new_reviewers, \
                 returning_reviewers FROM business_month",
            )
            .await?
            {
                let c = Columns::new(&b, "features/business_month");
                let (key, month, reviews, stars, sent, newr, ret) = (
                    c.i64(col::BUSINESS_KEY)?,
                    c.date32(col::MONTH)?,
                    c.i64(col::REVIEWS)?,
                    c.f64(col::MEAN_STARS)?,
                    c.f64(col::MEAN_SENTIMENT)?,
                    c.i64(col::NEW_REVIEWERS)?,
                    c.i64(col::RETURNING_REVIEWERS)?,
                );
                for i in 0..b.num_rows() {
                    acc.read += 1;
                    let (Some(&idx), Some(m)) = (by_key.get(&key.value(i)), date32(month.value(i)))
                    else {
                        acc.skip(1, "of businesses not in dim_business");
                        continue;
                    };
                    months_by.push((
                        idx,
                        MonthRow {
                            month: m,
                            reviews: reviews.value(i),
                            mean_stars: opt_f64(stars, i),
                            mean_sentiment: opt_f64(sent, i),
                            new_reviewers: newr.value(i),
                            returning_reviewers: ret.value(i),
                        },
                    ));
                    acc.kept += 1;
                }
            }
            accounts.push(acc.finish()?);
        }
        months_by.sort_by_key(|a| (a.0, a.1.month));
        let mut month_offsets = vec![0u32; n as usize + 1];
        for (idx, _) in &months_by {
            month_offsets[*idx as usize + 1] += 1;
        }
        for i in 0..n as usize {
            month_offsets[i + 1] += month_offsets[i];
        }
        let months: Vec<MonthRow> = months_by.into_iter().map(|(_, m)| m).collect();

        // KPIs of groups (per-business rows are not served).
        let mut kpis: HashMap<KpiKey, Vec<KpiRow>> = HashMap::new();
        if has(Zone::Features, features::KPI) {
            let mut acc = Account::new(Zone::Features, features::KPI);
            let total = count_rows(&session, "kpi").await?;
            acc.read = total;
            let mut s = session
                .stream(
                    "SELECT grain, period_start, state, category, source, kpi, value, \
                     previous_value, target_met, low_support, partial FROM kpi \
                     WHERE business_key IS NULL",
                )
                .await?;
            let mut group_rows = 0;
            while let Some(b) = s.next().await {
                let b = b?;
                let c = Columns::new(&b, "features/kpi");
                let (grain, period, state, cat, source, kpi) = (
                    c.str(col::GRAIN)?,
                    c.date32(col::PERIOD_START)?,
                    c.str(col::STATE)?,
                    c.str(col::CATEGORY)?,
                    c.str(col::SOURCE)?,
                    c.str(col::KPI)?,
                );
                let (value, prev, met) = (
                    c.f64(col::VALUE)?,
                    c.f64(col::PREVIOUS_VALUE)?,
                    c.bool(col::TARGET_MET)?,
                );
                let (low, partial) = (c.bool(col::LOW_SUPPORT)?, c.bool(col::PARTIAL)?);
                for i in 0..b.num_rows() {
                    group_rows += 1;
                    let (Some(k), Some(g), Some(p)) = (
                        KpiName::parse(kpi.value(i)),
                        Grain::parse(grain.value(i)),
                        date32(period.value(i)),
                    ) else {
                        acc.skip(1, "with an unknown kpi or grain");
                        continue;
                    };
                    let src = if source.is_null(i) {
                        None
                    } else {
                        match Source::parse(source.value(i)) {
                            Some(s) => Some(s),
                            None => {
                                acc.skip(1, "with an unknown source");
                                continue;
                            }
                        }
                    };
                    let key = (
                        k,
                        g,
                        opt_str(state, i).map(|s| s.to_uppercase()),
                        opt_str(cat, i).map(|s| s.to_lowercase()),
                        src,
                    );
                    kpis.entry(key).or_default().push(KpiRow {
                        period_start: p,
                        value: opt_f64(value, i),
                        previous_value: opt_f64(prev, i),
                        target_met: opt_bool(met, i),
                        low_support: opt_bool(low, i).unwrap_or(false),
                        partial: opt_bool(partial, i).unwrap_or(false),
                    });
                    acc.kept += 1;
                }
            }
            acc.skip(total - group_rows, "per-business rows (not served)");
            for rows in kpis.values_mut() {
                rows.sort_by_key(|r| r.period_start);
            }
            accounts.push(acc.finish()?);
        }

        // Sentiment histograms, by platform and by platform and state.
        let mut sentiment: HashMap<(Source, Option<String>), SentimentAgg> = HashMap::new();
        if has(Zone::Features, features::REVIEW_FEATURES) {
            let mut acc = Account::new(Zone::Features, features::REVIEW_FEATURES);
            let mut s = session
                .stream("SELECT source, state, compound FROM review_features")
                .await?;
            while let Some(b) = s.next().await {
                let b = b?;
                let c = Columns::new(&b, "features/review_features");
                let (source, state, compound) = (
                    c.str(col::SOURCE)?,
                    c.str(col::STATE)?,
                    c.f64(col::COMPOUND)?,
                );
                for i in 0..b.num_rows() {
                    acc.read += 1;
                    let Some(src) = Source::parse(source.value(i)) else {
                        acc.skip(1, "with an unknown source");
                        continue;
                    };
                    let Some(v) = opt_f64(compound, i) else {
                        acc.skip(1, "without a sentiment score (no text)");
                        continue;
                    };
                    let bin = sentiment_bin(v);
                    let mut add = |key: (Source, Option<String>)| {
                        let a = sentiment.entry(key).or_default();
                        a.counts[bin] += 1;
                        a.reviews += 1;
                        a.sum += v;
                    };
                    add((src, None));
                    if let Some(st) = opt_str(state, i) {
                        add((src, Some(st.to_uppercase())));
                    }
                    acc.kept += 1;
                }
            }
            accounts.push(acc.finish()?);
        }

        // Models zone.
        let mut registry = Vec::new();
        if has(Zone::Models, models::REGISTRY) {
            let mut acc = Account::new(Zone::Models, models::REGISTRY);
            for b in collect(
                &session,
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
        }

        let als = match registry.iter().find(|r| r.name == "als" && r.current) {
            Some(rec) => load_als(lake, rec, &by_key, &businesses, &mut accounts).await,
            None => None,
        };

        // The precomputed lists (the serving policy of the current `als` version).
        let lists = if has(Zone::Models, models::RECOMMENDATIONS) {
            let mut acc = Account::new(Zone::Models, models::RECOMMENDATIONS);
            let lists = crate::lists::load_lists(&session, &by_key, &mut acc).await?;
            accounts.push(acc.finish()?);
            lists
        } else {
            crate::lists::Lists::default()
        };
        let filter_index = crate::lists::FilterIndex::build(&businesses);

        let mut similar: HashMap<u32, Vec<(u32, i32, f64)>> = HashMap::new();
        let mut similar_version = None;
        if has(Zone::Models, models::SIMILAR_BUSINESSES) {
            let mut acc = Account::new(Zone::Models, models::SIMILAR_BUSINESSES);
            for b in collect(
                &session,
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
                    let (Some(&a), Some(&o)) =
                        (by_key.get(&key.value(i)), by_key.get(&other.value(i)))
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

        let mut sites = Vec::new();
        if has(Zone::Models, models::SITE_CANDIDATES) {
            let mut acc = Account::new(Zone::Models, models::SITE_CANDIDATES);
            for b in collect(
                &session,
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
                (&a.state, &a.category, a.rank, a.cluster).cmp(&(
                    &b.state,
                    &b.category,
                    b.rank,
                    b.cluster,
                ))
            });
            accounts.push(acc.finish()?);
        }

        let mut growth = Vec::new();
        if has(Zone::Models, models::GROWTH_PREDICTIONS) {
            let mut acc = Account::new(Zone::Models, models::GROWTH_PREDICTIONS);
            for b in collect(
                &session,
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
        }

        let mut data_through = None;
        if has(Zone::Warehouse, warehouse::FACT_REVIEW) {
            for b in collect(&session, "SELECT max(review_ts) AS latest FROM fact_review").await? {
                let c = Columns::new(&b, "warehouse/fact_review");
                let a = c.timestamp_us("latest")?;
                if b.num_rows() > 0 && !a.is_null(0) {
                    data_through =
                        chrono::DateTime::from_timestamp_micros(a.value(0)).map(|d| d.date_naive());
                }
            }
        }

        let info = SnapshotInfo {
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
            als_model: als.as_ref().map(|a| a.model_ref.clone()),
            data_through: data_through.map(|d| d.to_string()),
        };
        // Every business's JSON, serialized once per snapshot (recommendation answers
        // are assembled from it).
        let business_json = businesses
            .iter()
            .map(|b| serde_json::to_string(b).map(String::into_boxed_str))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| ApiError::Data(format!("serialising a business: {e}")))?;
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

/// Loads the current `als` model's artifact; a missing or unreadable artifact is logged
/// and the service goes on without a model (cold start for everyone).
async fn load_als(
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

fn desc_nulls_last(a: Option<i64>, b: Option<i64>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(x), Some(y)) => y.cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}

fn desc_nulls_last_f64(a: Option<f64>, b: Option<f64>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}

/// Filter values with their business counts, and the most active reviewers.
fn facets(
    businesses: &[Business],
    users: &[HashMap<Box<str>, i64>; 2],
    user_keys: &[i64],
    user_offsets: &[u32],
) -> Facets {
    fn counted(mut m: HashMap<String, i64>) -> Vec<FacetCount> {
        let mut v: Vec<FacetCount> = m
            .drain()
            .map(|(value, businesses)| FacetCount { value, businesses })
            .collect();
        v.sort_by(|a, b| {
            b.businesses
                .cmp(&a.businesses)
                .then_with(|| a.value.cmp(&b.value))
        });
        v
    }
    let (mut states, mut cats, mut sources) = (HashMap::new(), HashMap::new(), HashMap::new());
    for b in businesses {
        if let Some(s) = &b.state {
            *states.entry(s.clone()).or_insert(0) += 1;
        }
        for c in &b.categories {
            *cats.entry(c.clone()).or_insert(0) += 1;
        }
        *sources.entry(b.source.as_str().to_string()).or_insert(0) += 1;
    }
    // Reviewed counts by user key, then the top 5 of each platform.
    let reviewed = |key: i64| -> i64 {
        match user_keys.binary_search(&key) {
            Ok(i) => i64::from(user_offsets[i + 1] - user_offsets[i]),
            Err(_) => 0,
        }
    };
    let mut sample_users = Vec::new();
    for source in [Source::Yelp, Source::Google] {
        let mut v: Vec<(i64, &str)> = users[source_slot(source)]
            .iter()
            .map(|(id, &key)| (reviewed(key), &**id))
            .filter(|(n, _)| *n > 0)
            .collect();
        v.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        sample_users.extend(v.into_iter().take(5).map(|(n, id)| SampleUser {
            source,
            id: id.to_string(),
            reviewed: n,
        }));
    }
    Facets {
        snapshot_id: None,
        states: counted(states),
        categories: counted(cats),
        sources: counted(sources),
        sample_users,
    }
}
