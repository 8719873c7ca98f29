//! Loaders of the warehouse and features tables.

use std::collections::HashMap;

use arrow::array::Array;
use reviewlake_lake::{Columns, QuerySession, Zone};
use reviewlake_schema::col;
use reviewlake_schema::{features, warehouse};

use super::{
    Account, collect, count_rows, date32, has, opt_bool, opt_f64, opt_i32, opt_i64, opt_str,
};
use crate::error::Result;
use crate::resources::{Business, Grain, KpiName, LoadAccount, Source};
use crate::snapshot::{KpiKey, KpiRow, MonthRow, SentimentAgg, sentiment_bin, source_slot};

/// The businesses of `warehouse/dim_business` and their lookups.
pub(super) struct Businesses {
    /// By `business_key`; a business's index is its position here.
    pub(super) businesses: Vec<Business>,
    /// Business index by `business_key`.
    pub(super) by_key: HashMap<i64, u32>,
    /// Business index by `source_id`, per source slot.
    pub(super) by_native: [HashMap<Box<str>, u32>; 2],
}

/// Loads `warehouse/dim_business` (required: the caller has checked it is there),
/// without categories or features.
pub(super) async fn load_businesses(
    session: &QuerySession,
    accounts: &mut Vec<LoadAccount>,
) -> Result<Businesses> {
    let mut businesses: Vec<Business> = Vec::new();
    let mut by_key: HashMap<i64, u32> = HashMap::new();
    let mut by_native: [HashMap<Box<str>, u32>; 2] = [HashMap::new(), HashMap::new()];
    let mut acc = Account::new(Zone::Warehouse, warehouse::DIM_BUSINESS);
    for b in collect(
        session,
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
    Ok(Businesses {
        businesses,
        by_key,
        by_native,
    })
}

/// Adds `warehouse/business_category` to the businesses' categories (sorted, without
/// duplicates).
pub(super) async fn load_categories(
    session: &QuerySession,
    by_key: &HashMap<i64, u32>,
    businesses: &mut [Business],
    accounts: &mut Vec<LoadAccount>,
) -> Result<()> {
    if !has(session, Zone::Warehouse, warehouse::BUSINESS_CATEGORY) {
        return Ok(());
    }
    let mut acc = Account::new(Zone::Warehouse, warehouse::BUSINESS_CATEGORY);
    for b in collect(
        session,
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
    for b in businesses.iter_mut() {
        b.categories.sort();
        b.categories.dedup();
    }
    accounts.push(acc.finish()?);
    Ok(())
}

/// Sets the businesses' features from `features/business_features`.
pub(super) async fn load_business_features(
    session: &QuerySession,
    by_key: &HashMap<i64, u32>,
    businesses: &mut [Business],
    accounts: &mut Vec<LoadAccount>,
) -> Result<()> {
    if !has(session, Zone::Features, features::BUSINESS_FEATURES) {
        return Ok(());
    }
    let mut acc = Account::new(Zone::Features, features::BUSINESS_FEATURES);
    for b in collect(
        session,
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
    Ok(())
}

/// Loads `warehouse/dim_user`: `user_key` by `source_id`, per source slot.
pub(super) async fn load_users(
    session: &QuerySession,
    accounts: &mut Vec<LoadAccount>,
) -> Result<[HashMap<Box<str>, i64>; 2]> {
    let mut users: [HashMap<Box<str>, i64>; 2] = [HashMap::new(), HashMap::new()];
    if !has(session, Zone::Warehouse, warehouse::DIM_USER) {
        return Ok(users);
    }
    let mut acc = Account::new(Zone::Warehouse, warehouse::DIM_USER);
    for b in collect(session, "SELECT user_key, source, source_id FROM dim_user").await? {
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
    Ok(users)
}

/// The businesses each user reviewed: `user_reviewed[user_offsets[i]..user_offsets[i+1]]`
/// the sorted business indexes of `user_keys[i]` (`user_keys` sorted).
pub(super) struct Reviewed {
    /// Users who reviewed a known business, sorted.
    pub(super) user_keys: Vec<i64>,
    /// Offsets into `user_reviewed`, one more than `user_keys`.
    pub(super) user_offsets: Vec<u32>,
    /// Business indexes.
    pub(super) user_reviewed: Vec<u32>,
}

/// Loads the distinct (user, business) pairs of `warehouse/fact_review`.
pub(super) async fn load_reviewed(
    session: &QuerySession,
    by_key: &HashMap<i64, u32>,
    accounts: &mut Vec<LoadAccount>,
) -> Result<Reviewed> {
    let mut pairs: Vec<(i64, u32)> = Vec::new();
    if has(session, Zone::Warehouse, warehouse::FACT_REVIEW) {
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
    Ok(Reviewed {
        user_keys,
        user_offsets,
        user_reviewed,
    })
}

/// The businesses' monthly timelines: `months[month_offsets[b]..month_offsets[b+1]]`
/// the months of business `b`, oldest first.
pub(super) struct Months {
    /// Every business's months.
    pub(super) months: Vec<MonthRow>,
    /// Offsets into `months`, one more than the businesses.
    pub(super) month_offsets: Vec<u32>,
}

/// Loads `features/business_month`.
pub(super) async fn load_months(
    session: &QuerySession,
    by_key: &HashMap<i64, u32>,
    businesses: &[Business],
    accounts: &mut Vec<LoadAccount>,
) -> Result<Months> {
    let mut months_by: Vec<(u32, MonthRow)> = Vec::new();
    if has(session, Zone::Features, features::BUSINESS_MONTH) {
        let mut acc = Account::new(Zone::Features, features::BUSINESS_MONTH);
        for b in collect(
            session,
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
    let n = businesses.len();
    let mut month_offsets = vec![0u32; n + 1];
    for (idx, _) in &months_by {
        month_offsets[*idx as usize + 1] += 1;
    }
    for i in 0..n {
        month_offsets[i + 1] += month_offsets[i];
    }
    let months = months_by.into_iter().map(|(_, m)| m).collect();
    Ok(Months {
        months,
        month_offsets,
    })
}

/// Loads the KPIs of groups of `features/kpi` (per-business rows are not served), each
/// series by period.
pub(super) async fn load_kpis(
    session: &QuerySession,
    accounts: &mut Vec<LoadAccount>,
) -> Result<HashMap<KpiKey, Vec<KpiRow>>> {
    let mut kpis: HashMap<KpiKey, Vec<KpiRow>> = HashMap::new();
    if !has(session, Zone::Features, features::KPI) {
        return Ok(kpis);
    }
    let mut acc = Account::new(Zone::Features, features::KPI);
    let total = count_rows(session, "kpi").await?;
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
    Ok(kpis)
}

/// Loads the sentiment histograms of `features/review_features`, by platform and by
/// platform and state.
pub(super) async fn load_sentiment(
    session: &QuerySession,
    accounts: &mut Vec<LoadAccount>,
) -> Result<HashMap<(Source, Option<String>), SentimentAgg>> {
    let mut sentiment: HashMap<(Source, Option<String>), SentimentAgg> = HashMap::new();
    if !has(session, Zone::Features, features::REVIEW_FEATURES) {
        return Ok(sentiment);
    }
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
    Ok(sentiment)
}

/// The date of the latest review of `warehouse/fact_review` (not accounted: an
/// aggregate).
pub(super) async fn data_through(session: &QuerySession) -> Result<Option<chrono::NaiveDate>> {
    let mut data_through = None;
    if has(session, Zone::Warehouse, warehouse::FACT_REVIEW) {
        for b in collect(session, "SELECT max(review_ts) AS latest FROM fact_review").await? {
            let c = Columns::new(&b, "warehouse/fact_review");
            let a = c.timestamp_us("latest")?;
            if b.num_rows() > 0 && !a.is_null(0) {
                data_through =
                    chrono::DateTime::from_timestamp_micros(a.value(0)).map(|d| d.date_naive());
            }
        }
    }
    Ok(data_through)
}
