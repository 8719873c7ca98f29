//! The features build: warehouse -> features zone.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow::compute::cast;
use arrow::datatypes::SchemaRef;
use reviewlake_lake::{Columns, Lake, LakeError, QuerySession, Stage, TableRewrite, Zone};
use reviewlake_schema::col;
use reviewlake_schema::features as ft;
use reviewlake_schema::progress::{Reporter, Unit};
use reviewlake_schema::warehouse as wh;
use serde::Serialize;

use crate::kpi::{self, Grain, Group, KpiRow, ReviewAgg};
use crate::{FeaturesError, Result};

const DAY_US: i64 = 86_400_000_000;
const HOUR_US: i64 = 3_600_000_000;
/// The progress task of the features build (unit: texts scored; a note per step).
const TASK: &str = "features";

/// Options of a features build.
#[derive(Debug, Clone)]
pub struct FeaturesOptions {
    /// Where progress goes: task `features`, counting review and tip texts scored,
    /// with a note for every table and KPI grain.
    pub reporter: Reporter,
    /// KPI values standing on fewer reviews than this (in the period, or in the
    /// previous one for the comparisons) are marked `low_support` (default 30).
    pub min_support: i64,
}

/// The default minimum support of a KPI value, in reviews.
pub const DEFAULT_MIN_SUPPORT: i64 = 30;

impl Default for FeaturesOptions {
    fn default() -> Self {
        FeaturesOptions {
            reporter: Reporter::none(),
            min_support: DEFAULT_MIN_SUPPORT,
        }
    }
}

/// What a features build did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FeaturesReport {
    /// Rows written per features table.
    pub tables: BTreeMap<String, u64>,
    /// Review texts scored.
    pub reviews_scored: u64,
    /// Tip texts scored.
    pub tips_scored: u64,
    /// Texts scored per second (both kinds, all cores).
    pub texts_per_second: f64,
    /// KPI rows below the minimum support (marked `low_support`, kept out of headlines).
    pub kpi_low_support: u64,
    /// KPI rows of partial periods (a platform's data begins or ends inside the period:
    /// marked `partial`, never headlined).
    pub kpi_partial: u64,
    /// The minimum support of this build (reviews behind a value and its previous one).
    pub min_support: i64,
    /// The catalog snapshot that made this build visible.
    pub snapshot: Option<i64>,
    /// Wall time, seconds.
    pub seconds: f64,
}

impl std::fmt::Display for FeaturesReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "features: {} review and {} tip texts scored with VADER ({:.0} texts/s)",
            self.reviews_scored, self.tips_scored, self.texts_per_second
        )?;
        for (t, n) in &self.tables {
            writeln!(f, "  features/{t:<22} {n:>10} rows")?;
        }
        if let Some(n) = self.tables.get("kpi") {
            writeln!(
                f,
                "  {} of {n} KPI rows rest on fewer than {} reviews (low_support: greyed or left out of the report)",
                self.kpi_low_support, self.min_support
            )?;
            writeln!(
                f,
                "  {} of {n} KPI rows are of partial periods (a platform's data begins or ends inside them: never headlined)",
                self.kpi_partial
            )?;
        }
        match self.snapshot {
            Some(id) => write!(f, "built in {:.2} s; snapshot {id}", self.seconds),
            None => write!(f, "built in {:.2} s", self.seconds),
        }
    }
}

/// Maps a lake error of query `sql` to a features error that names the query.
fn qerr(sql: &str) -> impl FnOnce(LakeError) -> FeaturesError {
    let sql = sql.to_string();
    move |e| match e {
        LakeError::Query(source) => FeaturesError::Query { sql, source },
        other => FeaturesError::Lake(other),
    }
}

/// Casts the columns of a query batch to `schema`, taking each column by its name
/// (every SELECT below names its columns as the schema does).
fn conform(batch: &RecordBatch, schema: &SchemaRef, table: &str) -> Result<RecordBatch> {
    let c = Columns::new(batch, table);
    let cols: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| Ok(cast(c.array(f.name())?, f.data_type())?))
        .collect::<Result<_>>()?;
    Ok(RecordBatch::try_new(schema.clone(), cols)?)
}

struct Run<'a> {
    lake: &'a Lake,
    session: QuerySession,
    run_id: String,
    reporter: Reporter,
    min_support: i64,
    report: FeaturesReport,
}

impl Run<'_> {
    async fn open(&self, name: &str, schema: SchemaRef) -> Result<TableRewrite> {
        Ok(TableRewrite::open(self.lake, Zone::Features, name, schema, &self.run_id).await?)
    }

    fn step(&self, what: &str) {
        self.reporter.note(TASK, what);
        tracing::info!("features: {what}");
    }

    async fn collect(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        self.session.collect(sql).await.map_err(qerr(sql))
    }

    async fn stream(&self, sql: &str) -> Result<reviewlake_lake::BatchStream> {
        self.session.stream(sql).await.map_err(qerr(sql))
    }

    /// Commits `sink` and makes the new table visible to this run's later queries.
    async fn commit(&mut self, sink: TableRewrite) -> Result<()> {
        let name = sink.name().to_string();
        let (rows, _) = sink.commit().await?;
        self.report.tables.insert(name.clone(), rows);
        self.session.refresh(Zone::Features, &name).await?;
        Ok(())
    }

    /// Runs `sql` and writes its result as table `name` (columns by name).
    async fn write_sql(&mut self, name: &str, schema: SchemaRef, sql: &str) -> Result<()> {
        self.step(name);
        self.write_stream(name, schema, sql, |_| {}).await
    }

    /// Runs `sql` and streams its result into table `name` (columns by name), calling
    /// `seen` with every written batch.
    async fn write_stream(
        &mut self,
        name: &str,
        schema: SchemaRef,
        sql: &str,
        mut seen: impl FnMut(&RecordBatch),
    ) -> Result<()> {
        let mut sink = self.open(name, schema.clone()).await?;
        let mut stream = self.stream(sql).await?;
        while let Some(b) = stream.next().await {
            let b = conform(&b.map_err(qerr(sql))?, &schema, name)?;
            seen(&b);
            sink.write(b).await?;
        }
        self.commit(sink).await
    }
}

/// Builds every features table of `lake` from the warehouse of its latest snapshot.
/// Takes the lake's writer lease; the new tables become visible together, in one
/// catalog snapshot at the end.
pub async fn build(lake: &Lake, opts: &FeaturesOptions) -> Result<FeaturesReport> {
    let run_id = format!(
        "{}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let guard = lake.acquire_writer(&run_id).await?;
    let result = build_locked(lake, opts, run_id).await;
    guard.release().await;
    result
}

async fn build_locked(
    lake: &Lake,
    opts: &FeaturesOptions,
    run_id: String,
) -> Result<FeaturesReport> {
    let t0 = Instant::now();
    let session = lake.session_zones(&[Zone::Warehouse]).await?;
    for f in crate::udf::all() {
        session.register_udf(f);
    }
    for t in [
        wh::FACT_REVIEW,
        wh::DIM_BUSINESS,
        wh::BUSINESS_CATEGORY,
        wh::DIM_USER,
    ] {
        if !session.has_table(t) {
            return Err(FeaturesError::MissingTable(t.into()));
        }
    }
    let mut run = Run {
        lake,
        session,
        run_id,
        reporter: opts.reporter.clone(),
        min_support: opts.min_support,
        report: FeaturesReport {
            min_support: opts.min_support,
            ..FeaturesReport::default()
        },
    };
    let texts = count(&run, "SELECT count(*) AS n FROM fact_review").await?
        + if run.session.has_table(wh::FACT_TIP) {
            count(&run, "SELECT count(*) AS n FROM fact_tip").await?
        } else {
            0
        };
    run.reporter.start(TASK, Some(texts), Unit::Rows);
    let t_score = Instant::now();
    review_features(&mut run).await?;
    tip_features(&mut run).await?;
    let scored = run.report.reviews_scored + run.report.tips_scored;
    run.report.texts_per_second = scored as f64 / t_score.elapsed().as_secs_f64().max(1e-9);
    derived_tables(&mut run).await?;
    kpis(&mut run).await?;
    run.step("snapshot");
    run.report.snapshot = Some(lake.commit_snapshot(Stage::Features).await?.id);
    run.reporter.finish(TASK);
    run.report.seconds = t0.elapsed().as_secs_f64();
    Ok(run.report)
}

/// The single `n` of a `SELECT count(*) AS n` query.
async fn count(run: &Run<'_>, sql: &str) -> Result<u64> {
    let b = run.collect(sql).await?;
    let Some(b) = b.iter().find(|b| b.num_rows() > 0) else {
        return Ok(0);
    };
    Ok(Columns::new(b, sql).i64("n")?.value(0).max(0) as u64)
}

/// The newest review time of the warehouse, µs (0 without reviews).
async fn newest_review(run: &Run<'_>) -> Result<i64> {
    let sql = "SELECT CAST(max(review_ts) AS BIGINT) AS m FROM fact_review";
    let b = run.collect(sql).await?;
    Ok(match b.iter().find(|b| b.num_rows() > 0) {
        Some(b) => {
            let m = Columns::new(b, wh::FACT_REVIEW).i64("m")?;
            if m.is_null(0) { 0 } else { m.value(0) }
        }
        None => 0,
    })
}

/// Texts scored in a written batch (a row with text has a non-null `neg`).
fn scored_in(batch: &RecordBatch) -> u64 {
    batch
        .column_by_name(col::NEG)
        .map_or(0, |a| (a.len() - a.null_count()) as u64)
}

/// The VADER columns of a query over a table with a `text` column: the score struct
/// is computed once (in the inner projection) and taken apart by name.
const VADER_COLS: &str = "v['neg'] AS neg, v['neu'] AS neu, v['pos'] AS pos, \
    v['compound'] AS compound, v['words'] AS word_count";

/// The review features query: VADER through the `vader` function, the calendar
/// columns, votes and response time, as one plan over `fact_review`.
fn review_features_sql(newest: i64) -> String {
    format!(
        "SELECT review_key, source, business_key, user_key, state, review_ts, date_key, stars, \
           {VADER_COLS}, \
           CAST(date_part('year', review_ts) AS INT) AS year, \
           CAST(date_part('month', review_ts) AS INT) AS month, \
           CAST((CAST(date_part('dow', review_ts) AS INT) + 6) % 7 AS INT) AS weekday, \
           CAST(date_part('hour', review_ts) AS INT) AS hour, \
           CAST(greatest(CAST({newest} AS BIGINT) - CAST(review_ts AS BIGINT), CAST(0 AS BIGINT)) \
             / {DAY_US} AS INT) AS age_days, \
           CASE WHEN useful IS NULL AND funny IS NULL AND cool IS NULL THEN NULL \
             ELSE coalesce(useful, 0) + coalesce(funny, 0) + coalesce(cool, 0) END AS votes, \
           has_response, \
           (CAST(response_ts AS BIGINT) - CAST(review_ts AS BIGINT)) / {HOUR_US}.0 AS response_hours \
         FROM (SELECT *, vader(text) AS v FROM fact_review)"
    )
}

async fn review_features(run: &mut Run<'_>) -> Result<()> {
    run.step(ft::REVIEW_FEATURES);
    let newest = newest_review(run).await?;
    let sql = review_features_sql(newest);
    let mut scored = 0;
    let progress = run.reporter.clone();
    run.write_stream(ft::REVIEW_FEATURES, ft::review_features(), &sql, |b| {
        scored += scored_in(b);
        progress.advance(TASK, b.num_rows() as u64);
    })
    .await?;
    run.report.reviews_scored += scored;
    Ok(())
}

async fn tip_features(run: &mut Run<'_>) -> Result<()> {
    run.step(ft::TIP_FEATURES);
    let sql = if run.session.has_table(wh::FACT_TIP) {
        format!(
            "SELECT tip_key, business_key, user_key, tip_ts, {VADER_COLS} \
             FROM (SELECT *, vader(text) AS v FROM fact_tip)"
        )
    } else {
        "SELECT CAST(NULL AS BIGINT) AS tip_key, CAST(NULL AS BIGINT) AS business_key, \
           CAST(NULL AS BIGINT) AS user_key, CAST(NULL AS TIMESTAMP) AS tip_ts, \
           CAST(NULL AS DOUBLE) AS neg, CAST(NULL AS DOUBLE) AS neu, \
           CAST(NULL AS DOUBLE) AS pos, CAST(NULL AS DOUBLE) AS compound, \
           CAST(0 AS INT) AS word_count WHERE false"
            .to_string()
    };
    let mut scored = 0;
    let progress = run.reporter.clone();
    run.write_stream(ft::TIP_FEATURES, ft::tip_features(), &sql, |b| {
        scored += scored_in(b);
        progress.advance(TASK, b.num_rows() as u64);
    })
    .await?;
    run.report.tips_scored += scored;
    Ok(())
}

/// The first review of each (user, business) pair the user reviewed more than once, as
/// the CTE `multi`: a reviewer's first visit for the "new / returning" counts. A pair
/// reviewed once has its only review as its first, so it needs no row: `multi` is small
/// (the build side of a hash join) and comes from a grouped aggregate, which spills,
/// instead of a window that sorts every review by (user, business).
const MULTI_VISITS: &str = "multi AS (SELECT user_key, business_key, \
    min(review_ts) AS first_ts FROM review_features \
    GROUP BY user_key, business_key HAVING count(*) > 1)";

async fn derived_tables(run: &mut Run<'_>) -> Result<()> {
    // business x month panel.
    run.write_sql(
        ft::BUSINESS_MONTH,
        ft::business_month(),
        // A reviewer is new in the month of their first review of the business,
        // returning after it: the first review of a pair reviewed more than once comes
        // from `multi`, the counts from a per-reviewer pre-aggregation.
        &format!(
            "WITH {MULTI_VISITS}, \
         r AS (SELECT f.business_key, f.user_key, f.stars, f.compound, \
           date_trunc('month', f.review_ts) AS mstart, \
           coalesce(m.first_ts, f.review_ts) AS first_ts \
           FROM multi m RIGHT JOIN review_features f \
             ON m.user_key = f.user_key AND m.business_key = f.business_key), \
         pu AS (SELECT business_key, mstart, user_key, count(*) AS n, sum(stars) AS ss, \
           count(stars) AS ns, sum(compound) AS sc, count(compound) AS nc, \
           max(CASE WHEN first_ts >= mstart THEN 1 ELSE 0 END) AS is_new, \
           max(CASE WHEN first_ts < mstart THEN 1 ELSE 0 END) AS is_returning \
           FROM r GROUP BY business_key, mstart, user_key) \
         SELECT business_key, CAST(mstart AS DATE) AS month, CAST(sum(n) AS BIGINT) AS reviews, \
           CASE WHEN sum(ns) > 0 THEN sum(ss) / CAST(sum(ns) AS DOUBLE) END AS mean_stars, \
           CASE WHEN sum(nc) > 0 THEN sum(sc) / CAST(sum(nc) AS DOUBLE) END AS mean_sentiment, \
           CAST(sum(is_new) AS BIGINT) AS new_reviewers, \
           CAST(sum(is_returning) AS BIGINT) AS returning_reviewers \
         FROM pu GROUP BY business_key, mstart"
        ),
    )
    .await?;

    // Check-ins by business, year and hour. A fact_checkin row is an event (`checkins`
    // = 1, with its time) or an hour-of-week histogram cell of an older Yelp release
    // (`checkins` = its count, no time): per-year figures use the rows with a time,
    // totals and the peak hour use every row's count.
    let has_checkins = run.session.has_table(wh::FACT_CHECKIN);
    let checkins_src = if has_checkins {
        "fact_checkin"
    } else {
        "(SELECT CAST(NULL AS BIGINT) AS business_key, \
          CAST(NULL AS TIMESTAMP) AS checkin_ts, CAST(NULL AS INT) AS hour, \
          CAST(NULL AS BIGINT) AS checkins WHERE false)"
    };
    run.write_sql(
        ft::BUSINESS_CHECKINS,
        ft::business_checkins(),
        &format!(
            "SELECT business_key, CAST(date_part('year', checkin_ts) AS INT) AS year, \
               CAST(date_part('hour', checkin_ts) AS INT) AS hour, \
               CAST(sum(coalesce(checkins, 1)) AS BIGINT) AS checkins \
             FROM {checkins_src} WHERE checkin_ts IS NOT NULL GROUP BY 1, 2, 3"
        ),
    )
    .await?;

    // Business features.
    let tax = reviewlake_warehouse::taxonomy::Taxonomy::embedded();
    let cats: Vec<&str> = tax.categories().iter().map(|c| c.name.as_str()).collect();
    let onehot = cats
        .iter()
        .map(|c| {
            format!("coalesce(max(CASE WHEN bc.category = '{c}' THEN 1 ELSE 0 END), 0) AS cat_{c}")
        })
        .collect::<Vec<_>>()
        .join(", ");
    let cat_cols = cats
        .iter()
        .map(|c| format!("coalesce(oh.cat_{c}, 0) AS cat_{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let tips = if run.session.has_table(ft::TIP_FEATURES) {
        "SELECT business_key, avg(compound) AS tip_sentiment FROM tip_features GROUP BY 1"
    } else {
        "SELECT CAST(NULL AS BIGINT) AS business_key, CAST(NULL AS DOUBLE) AS tip_sentiment WHERE false"
    };
    // The strings of `dim_business` are cast to plain `Utf8` before the chain of joins:
    // the Delta scan yields string views, and a hash join's build side of view arrays
    // that the previous join took rows from keeps (and copies the handles of) every data
    // buffer of the scan per batch: at 560k businesses it grew past 20 GiB outside the
    // memory pool (found by `bench scale --reviews 7000000`).
    let sql = format!(
        "WITH agg AS (SELECT business_key, count(*) AS reviews, avg(stars) AS mean_stars, \
            avg(compound) AS mean_sentiment, min(review_ts) AS first_review, \
            max(review_ts) AS last_review, \
            avg(CASE WHEN has_response THEN 1.0 ELSE 0.0 END) AS response_rate \
          FROM review_features GROUP BY business_key), \
         rep AS (SELECT business_key, avg(CASE WHEN n > 1 THEN 1.0 ELSE 0.0 END) AS repeat_share \
           FROM (SELECT business_key, user_key, count(*) AS n FROM review_features \
                 GROUP BY business_key, user_key) GROUP BY business_key), \
         lastm AS (SELECT max(month) AS m FROM business_month), \
         win AS (SELECT bm.business_key, bm.reviews, bm.mean_stars, bm.mean_sentiment, \
            CAST(11 - ((date_part('year', l.m) - date_part('year', bm.month)) * 12 \
              + date_part('month', l.m) - date_part('month', bm.month)) AS DOUBLE) AS x \
           FROM business_month bm CROSS JOIN lastm l \
           WHERE bm.month > l.m - INTERVAL '12 months'), \
         trend AS (SELECT business_key, regr_slope(mean_stars, x) AS stars_trend, \
            regr_slope(mean_sentiment, x) AS sentiment_trend, \
            sum((x - 5.5) * reviews) / 143.0 AS volume_trend FROM win GROUP BY business_key), \
         chk_cells AS (SELECT business_key, \
            coalesce(hour, CAST(date_part('hour', checkin_ts) AS INT)) AS h, \
            coalesce(checkins, 1) AS n FROM {checkins_src}), \
         chk AS (SELECT business_key, CAST(sum(n) AS BIGINT) AS checkins FROM chk_cells \
           GROUP BY business_key), \
         peak AS (SELECT business_key, h AS hour FROM (SELECT business_key, h, \
            row_number() OVER (PARTITION BY business_key ORDER BY sum(n) DESC, h) AS rn \
            FROM chk_cells GROUP BY business_key, h) WHERE rn = 1), \
         tips AS ({tips}), \
         oh AS (SELECT bc.business_key, {onehot} FROM business_category bc GROUP BY bc.business_key), \
         b AS (SELECT business_key, arrow_cast(source, 'Utf8') AS source, \
           arrow_cast(name, 'Utf8') AS name, arrow_cast(state, 'Utf8') AS state, \
           arrow_cast(city, 'Utf8') AS city, latitude, longitude, price_level, is_restaurant \
           FROM dim_business) \
         SELECT b.business_key, b.source, b.name, b.state, b.city, b.latitude, b.longitude, \
           b.price_level, b.is_restaurant, coalesce(agg.reviews, 0) AS reviews, agg.mean_stars, \
           agg.mean_sentiment, trend.stars_trend AS stars_trend_12m, \
           trend.sentiment_trend AS sentiment_trend_12m, \
           coalesce(trend.volume_trend, 0.0) AS volume_trend_12m, \
           CASE WHEN agg.reviews IS NULL THEN NULL ELSE agg.reviews / CAST(( \
             (date_part('year', agg.last_review) - date_part('year', agg.first_review)) * 12 \
             + date_part('month', agg.last_review) - date_part('month', agg.first_review) + 1) \
             AS DOUBLE) END AS reviews_per_month, \
           rep.repeat_share AS repeat_customer_share, agg.response_rate, agg.first_review, \
           agg.last_review, coalesce(chk.checkins, 0) AS checkins, peak.hour AS peak_checkin_hour, \
           tips.tip_sentiment, {cat_cols} \
         FROM b LEFT JOIN agg ON b.business_key = agg.business_key \
           LEFT JOIN rep ON b.business_key = rep.business_key \
           LEFT JOIN trend ON b.business_key = trend.business_key \
           LEFT JOIN chk ON b.business_key = chk.business_key \
           LEFT JOIN peak ON b.business_key = peak.business_key \
           LEFT JOIN tips ON b.business_key = tips.business_key \
           LEFT JOIN oh ON b.business_key = oh.business_key"
    );
    run.write_sql(ft::BUSINESS_FEATURES, ft::business_features(&cats), &sql)
        .await?;

    // User features (per user and business first: distinct businesses without a
    // distinct-value set per user).
    run.write_sql(
        ft::USER_FEATURES,
        ft::user_features(),
        "WITH bm AS (SELECT business_key, avg(stars) AS mean_stars FROM review_features \
           GROUP BY business_key), \
         ub AS (SELECT r.user_key, r.business_key, count(*) AS n, sum(r.stars) AS ss, \
           sum(r.stars - bm.mean_stars) AS sdev, sum(r.compound) AS sc, count(r.compound) AS nc, \
           min(r.review_ts) AS first_review, max(r.review_ts) AS last_review \
           FROM review_features r JOIN bm ON r.business_key = bm.business_key \
           GROUP BY r.user_key, r.business_key), \
         agg AS (SELECT user_key, CAST(sum(n) AS BIGINT) AS reviews, \
           CAST(count(*) AS BIGINT) AS businesses, \
           sum(ss) / CAST(sum(n) AS DOUBLE) AS mean_rating, \
           sum(sdev) / CAST(sum(n) AS DOUBLE) AS rating_bias, \
           CASE WHEN sum(nc) > 0 THEN sum(sc) / CAST(sum(nc) AS DOUBLE) END AS mean_sentiment, \
           min(first_review) AS first_review, max(last_review) AS last_review \
           FROM ub GROUP BY user_key) \
         SELECT u.user_key, u.source, coalesce(agg.reviews, 0) AS reviews, \
           coalesce(agg.businesses, 0) AS businesses, \
           agg.mean_rating, agg.rating_bias, agg.mean_sentiment, agg.first_review, agg.last_review, \
           coalesce(CAST((CAST(agg.last_review AS BIGINT) - CAST(agg.first_review AS BIGINT)) \
             / 86400000000 AS INT), 0) AS active_days, \
           cardinality(u.elite_years) AS elite_years, u.friend_count AS friends, u.fans, \
           u.is_inferred \
         FROM dim_user u LEFT JOIN agg ON u.user_key = agg.user_key",
    )
    .await?;
    Ok(())
}

/// The grouped review aggregates of one grain, each row with the same group's two
/// previous rows (by period) beside it: one plan.
///
/// Nine grouping sets `k` (0 overall; 1 by state; 2 by platform; 3 by state and
/// platform; 4 by state, platform and business; 5 by category; 6 by state and category;
/// 7 by category and platform; 8 by all three). One scan of `review_features` (and one
/// grouped aggregate of it for `multi`: a reviewer's first review of a business they
/// reviewed more than once, joined as the small side); each review meets its business's categories (a small hash join),
/// and `unnest` turns it into one row per grouping set it counts in (the sets without
/// a category from the first category row only). Two aggregation levels (per reviewer,
/// then per group) count distinct and returning reviewers without distinct-value sets;
/// `lag` over each group's periods brings the previous two beside each row. A group
/// "by state" is a real state: reviews without one count only in the all-states sets.
fn kpi_query(g: Grain) -> String {
    let u = g.as_str();
    let w = "OVER (PARTITION BY k, state, category, source, business_key ORDER BY p)";
    format!(
        "WITH {MULTI_VISITS}, \
         r AS (SELECT f.business_key, f.user_key, f.source, f.state, f.stars, f.compound, \
           CAST(date_trunc('{u}', f.review_ts) AS DATE) AS p, \
           coalesce(m.first_ts < date_trunc('{u}', f.review_ts), false) AS is_returning \
           FROM multi m RIGHT JOIN review_features f \
             ON m.user_key = f.user_key AND m.business_key = f.business_key), \
         bcr AS (SELECT business_key, category, \
           row_number() OVER (PARTITION BY business_key ORDER BY category) AS cr \
           FROM business_category), \
         x AS (SELECT r.p, r.user_key, r.stars, r.compound, r.is_returning, r.state, \
             r.source, r.business_key, bcr.category, \
             unnest(CASE WHEN bcr.category IS NULL THEN make_array(0, 1, 2, 3, 4) \
               WHEN bcr.cr = 1 THEN make_array(0, 1, 2, 3, 4, 5, 6, 7, 8) \
               ELSE make_array(5, 6, 7, 8) END) AS k \
           FROM r LEFT JOIN bcr ON r.business_key = bcr.business_key), \
         keyed AS (SELECT k, p, user_key, stars, compound, is_returning, \
             CASE WHEN k IN (1, 3, 4, 6, 8) THEN state END AS state, \
             CASE WHEN k >= 5 THEN category END AS category, \
             CASE WHEN k IN (2, 3, 4, 7, 8) THEN source END AS source, \
             CASE WHEN k = 4 THEN business_key END AS business_key \
           FROM x WHERE NOT (k IN (1, 3, 4, 6, 8) AND state IS NULL)), \
         per_user AS (SELECT k, p, state, category, source, business_key, user_key, \
           count(*) AS n, sum(stars) AS ss, count(stars) AS ns, sum(compound) AS sc, \
           count(compound) AS nc, max(CASE WHEN is_returning THEN 1 ELSE 0 END) AS ret \
           FROM keyed GROUP BY k, p, state, category, source, business_key, user_key), \
         agg AS (SELECT k, p, state, category, source, business_key, \
           CAST(sum(n) AS BIGINT) AS reviews, \
           CASE WHEN sum(ns) > 0 THEN sum(ss) / CAST(sum(ns) AS DOUBLE) END AS mean_stars, \
           CASE WHEN sum(nc) > 0 THEN sum(sc) / CAST(sum(nc) AS DOUBLE) END AS mean_sentiment, \
           CAST(count(*) AS BIGINT) AS reviewers, CAST(sum(ret) AS BIGINT) AS returners \
           FROM per_user GROUP BY k, p, state, category, source, business_key) \
         SELECT p, state, category, source, business_key, reviews, mean_stars, \
           mean_sentiment, reviewers, returners, \
           lag(p, 1) {w} AS p1, lag(reviews, 1) {w} AS reviews1, \
           lag(mean_stars, 1) {w} AS stars1, lag(mean_sentiment, 1) {w} AS sentiment1, \
           lag(reviewers, 1) {w} AS reviewers1, lag(returners, 1) {w} AS returners1, \
           lag(p, 2) {w} AS p2, lag(reviews, 2) {w} AS reviews2, \
           lag(mean_stars, 2) {w} AS stars2, lag(mean_sentiment, 2) {w} AS sentiment2 \
         FROM agg"
    )
}

/// The check-in activity of one grain: per group (overall, by state, by category, by
/// both) and period, the businesses with check-ins (`n`), those of them that also had
/// check-ins the period before (`kept`: a `lag` over each business's periods in the
/// group, not a self-join), and the same of the two previous rows.
fn checkin_query(g: Grain) -> String {
    let u = g.as_str();
    let months = g.months();
    let w = "OVER (PARTITION BY state, category ORDER BY p)";
    format!(
        "WITH act AS (SELECT DISTINCT CAST(date_trunc('{u}', checkin_ts) AS DATE) AS p, \
           business_key, state FROM fact_checkin WHERE checkin_ts IS NOT NULL), \
         gd AS (SELECT DISTINCT p, business_key, state, category FROM ( \
           SELECT p, business_key, CAST(NULL AS VARCHAR) AS state, \
             CAST(NULL AS VARCHAR) AS category FROM act \
           UNION ALL SELECT p, business_key, state, CAST(NULL AS VARCHAR) AS category \
             FROM act WHERE state IS NOT NULL \
           UNION ALL SELECT a.p, a.business_key, CAST(NULL AS VARCHAR) AS state, bc.category \
             FROM act a JOIN business_category bc ON a.business_key = bc.business_key \
           UNION ALL SELECT a.p, a.business_key, a.state, bc.category \
             FROM act a JOIN business_category bc ON a.business_key = bc.business_key \
             WHERE a.state IS NOT NULL)), \
         flagged AS (SELECT p, state, category, \
           CASE WHEN lag(p, 1) OVER (PARTITION BY business_key, state, category ORDER BY p) \
             = CAST(p - INTERVAL '{months} months' AS DATE) THEN 1 ELSE 0 END AS kept \
           FROM gd), \
         ck AS (SELECT p, state, category, CAST(count(*) AS BIGINT) AS n, \
           CAST(sum(kept) AS BIGINT) AS kept FROM flagged GROUP BY p, state, category) \
         SELECT p, state, category, n, kept, lag(p, 1) {w} AS p1, lag(n, 1) {w} AS n1, \
           lag(kept, 1) {w} AS kept1, lag(p, 2) {w} AS p2, lag(n, 2) {w} AS n2 FROM ck"
    )
}

/// The value of row `i` of a string column, owned; `None` if null.
fn opt_string(a: &StringArray, i: usize) -> Option<String> {
    (!a.is_null(i)).then(|| a.value(i).to_string())
}

/// The value of row `i` of a float column; `None` if null.
fn opt_f64(a: &Float64Array, i: usize) -> Option<f64> {
    (!a.is_null(i)).then(|| a.value(i))
}

/// The value of row `i` of an integer column; `None` if null.
fn opt_i64(a: &Int64Array, i: usize) -> Option<i64> {
    (!a.is_null(i)).then(|| a.value(i))
}

/// The value of row `i` of a date column; `None` if null.
fn opt_date(a: &Date32Array, i: usize) -> Option<i32> {
    (!a.is_null(i)).then(|| a.value(i))
}

/// The columns of [`kpi_query`], with the types the KPI code reads.
fn kpi_agg_schema() -> SchemaRef {
    use arrow::datatypes::{DataType, Field, Schema};
    let mut fields = vec![
        Field::new("p", DataType::Date32, true),
        Field::new(col::STATE, DataType::Utf8, true),
        Field::new(col::CATEGORY, DataType::Utf8, true),
        Field::new(col::SOURCE, DataType::Utf8, true),
        Field::new(col::BUSINESS_KEY, DataType::Int64, true),
    ];
    for (sfx, prev) in [("", false), ("1", true), ("2", true)] {
        if prev {
            fields.push(Field::new(format!("p{sfx}"), DataType::Date32, true));
        }
        fields.push(Field::new(format!("reviews{sfx}"), DataType::Int64, true));
        let (stars, sentiment) = if prev {
            (format!("stars{sfx}"), format!("sentiment{sfx}"))
        } else {
            (col::MEAN_STARS.to_string(), col::MEAN_SENTIMENT.to_string())
        };
        fields.push(Field::new(stars, DataType::Float64, true));
        fields.push(Field::new(sentiment, DataType::Float64, true));
        if sfx != "2" {
            fields.push(Field::new(format!("reviewers{sfx}"), DataType::Int64, true));
            fields.push(Field::new(format!("returners{sfx}"), DataType::Int64, true));
        }
    }
    Arc::new(Schema::new(fields))
}

/// The columns of [`checkin_query`].
fn checkin_schema() -> SchemaRef {
    use arrow::datatypes::{DataType, Field, Schema};
    Arc::new(Schema::new(vec![
        Field::new("p", DataType::Date32, true),
        Field::new(col::STATE, DataType::Utf8, true),
        Field::new(col::CATEGORY, DataType::Utf8, true),
        Field::new("n", DataType::Int64, true),
        Field::new("kept", DataType::Int64, true),
        Field::new("p1", DataType::Date32, true),
        Field::new("n1", DataType::Int64, true),
        Field::new("kept1", DataType::Int64, true),
        Field::new("p2", DataType::Date32, true),
        Field::new("n2", DataType::Int64, true),
    ]))
}

/// The days each platform's data covers, from `sql` (columns `source`, `lo`, `hi`:
/// first and last day, as dates).
async fn coverage(run: &Run<'_>, sql: &str) -> Result<Vec<(String, kpi::Coverage)>> {
    let mut out = Vec::new();
    for b in run.collect(sql).await? {
        let c = Columns::new(&b, "coverage");
        let (src, lo, hi) = (c.str(col::SOURCE)?, c.date32("lo")?, c.date32("hi")?);
        for i in 0..b.num_rows() {
            if let (Some(s), Some(lo), Some(hi)) =
                (opt_string(src, i), opt_date(lo, i), opt_date(hi, i))
            {
                out.push((
                    s,
                    kpi::Coverage {
                        first_day: lo,
                        last_day: hi,
                    },
                ));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Whether the period is partial for a group of platform `source` (`None`: all).
fn partial_for(
    g: Grain,
    start: i32,
    source: Option<&str>,
    cover: &[(String, kpi::Coverage)],
) -> bool {
    kpi::is_partial(
        g,
        start,
        cover
            .iter()
            .filter(|(s, _)| source.is_none_or(|want| want == s))
            .map(|(_, c)| c),
    )
}

/// A batch of the KPI table being assembled.
#[derive(Default)]
struct KpiCols {
    grain: Vec<&'static str>,
    period: Vec<i32>,
    state: Vec<Option<String>>,
    category: Vec<Option<String>>,
    source: Vec<Option<String>>,
    business: Vec<Option<i64>>,
    kpi: Vec<&'static str>,
    value: Vec<Option<f64>>,
    previous: Vec<Option<f64>>,
    met: Vec<Option<bool>>,
    support: Vec<i64>,
    previous_support: Vec<i64>,
    low: Vec<bool>,
    partial: Vec<bool>,
}

impl KpiCols {
    fn push(&mut self, row: &KpiRow, min_support: i64, partial: bool) {
        self.grain.push(row.group.grain.as_str());
        self.period.push(row.group.period_start);
        self.state.push(row.group.state.clone());
        self.category.push(row.group.category.clone());
        self.source.push(row.group.source.clone());
        self.business.push(row.group.business_key);
        self.kpi.push(row.kpi);
        self.value.push(row.value);
        self.previous.push(row.previous_value);
        self.met.push(row.target_met);
        self.support.push(row.support);
        self.previous_support.push(row.previous_support);
        self.low.push(row.low_support(min_support));
        self.partial.push(partial);
    }

    fn batch(self, schema: &SchemaRef) -> Result<RecordBatch> {
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(self.grain)),
            Arc::new(Date32Array::from(self.period)),
            Arc::new(StringArray::from(self.state)),
            Arc::new(StringArray::from(self.category)),
            Arc::new(StringArray::from(self.source)),
            Arc::new(Int64Array::from(self.business)),
            Arc::new(StringArray::from_iter_values(self.kpi)),
            Arc::new(Float64Array::from(self.value)),
            Arc::new(Float64Array::from(self.previous)),
            Arc::new(BooleanArray::from(self.met)),
            Arc::new(Int64Array::from(self.support)),
            Arc::new(Int64Array::from(self.previous_support)),
            Arc::new(BooleanArray::from(self.low)),
            Arc::new(BooleanArray::from(self.partial)),
        ];
        Ok(RecordBatch::try_new(schema.clone(), cols)?)
    }
}

/// The KPI table: per grain, one plan gives every group's aggregates beside its two
/// previous periods; each row becomes its four KPI rows as it streams by (through
/// [`kpi::value`], the tested definitions). Nothing holds more than a batch.
async fn kpis(run: &mut Run<'_>) -> Result<()> {
    let schema = ft::kpi();
    let mut sink = run.open(ft::KPI, schema.clone()).await?;
    let reviews_cover = coverage(
        run,
        "SELECT source, CAST(min(review_ts) AS DATE) AS lo, CAST(max(review_ts) AS DATE) AS hi \
         FROM review_features GROUP BY source",
    )
    .await?;
    let checkin_cover = if run.session.has_table(wh::FACT_CHECKIN) {
        coverage(
            run,
            "SELECT 'yelp' AS source, CAST(min(checkin_ts) AS DATE) AS lo, \
             CAST(max(checkin_ts) AS DATE) AS hi FROM fact_checkin",
        )
        .await?
    } else {
        Vec::new()
    };
    let agg_schema = kpi_agg_schema();
    for g in Grain::ALL {
        run.step(&format!("{} ({})", ft::KPI, g.as_str()));
        let sql = kpi_query(g);
        let mut stream = run.stream(&sql).await?;
        while let Some(b) = stream.next().await {
            let b = conform(&b.map_err(qerr(&sql))?, &agg_schema, "kpi aggregates")?;
            let out = kpi_batch(run, g, &b, &reviews_cover)?;
            sink.write(out.batch(&schema)?).await?;
        }
        if run.session.has_table(wh::FACT_CHECKIN) {
            let sql = checkin_query(g);
            let cschema = checkin_schema();
            let mut stream = run.stream(&sql).await?;
            while let Some(b) = stream.next().await {
                let b = conform(&b.map_err(qerr(&sql))?, &cschema, "check-in activity")?;
                let out = checkin_batch(run, g, &b, &checkin_cover)?;
                sink.write(out.batch(&schema)?).await?;
            }
        }
    }
    run.commit(sink).await
}

/// The four KPI rows of every group row of a [`kpi_query`] batch.
fn kpi_batch(
    run: &mut Run<'_>,
    g: Grain,
    b: &RecordBatch,
    cover: &[(String, kpi::Coverage)],
) -> Result<KpiCols> {
    let c = Columns::new(b, "kpi aggregates");
    let p = c.date32("p")?;
    let (state, category, source) = (
        c.str(col::STATE)?,
        c.str(col::CATEGORY)?,
        c.str(col::SOURCE)?,
    );
    let biz = c.i64(col::BUSINESS_KEY)?;
    let agg = |sfx: &str, stars: &str, sentiment: &str| -> Result<_> {
        Ok((
            c.i64(&format!("reviews{sfx}"))?,
            c.f64(stars)?,
            c.f64(sentiment)?,
        ))
    };
    let now = agg("", col::MEAN_STARS, col::MEAN_SENTIMENT)?;
    let one = agg("1", "stars1", "sentiment1")?;
    let two = agg("2", "stars2", "sentiment2")?;
    let (reviewers, returning) = (c.i64("reviewers")?, c.i64("returners")?);
    let (reviewers1, returning1) = (c.i64("reviewers1")?, c.i64("returners1")?);
    let (p1, p2) = (c.date32("p1")?, c.date32("p2")?);
    let read = |cols: &(&Int64Array, &Float64Array, &Float64Array),
                people: Option<(&Int64Array, &Int64Array)>,
                i: usize| ReviewAgg {
        reviews: opt_i64(cols.0, i).unwrap_or(0),
        mean_stars: opt_f64(cols.1, i),
        mean_sentiment: opt_f64(cols.2, i),
        reviewers: people.and_then(|(r, _)| opt_i64(r, i)).unwrap_or(0),
        returning: people.and_then(|(_, r)| opt_i64(r, i)).unwrap_or(0),
    };
    let mut out = KpiCols::default();
    for i in 0..b.num_rows() {
        let Some(start) = opt_date(p, i) else {
            continue;
        };
        let (prev, prev2) = (g.previous(start), g.shift(start, -2));
        let a = read(&now, Some((reviewers, returning)), i);
        // The group one period earlier (the previous row, when it is that period) and
        // two periods earlier (the row before it).
        let before =
            (opt_date(p1, i) == Some(prev)).then(|| read(&one, Some((reviewers1, returning1)), i));
        let before2 = match (opt_date(p1, i), opt_date(p2, i)) {
            (Some(x), _) if x == prev2 => Some(read(&one, None, i)),
            (_, Some(x)) if x == prev2 => Some(read(&two, None, i)),
            _ => None,
        };
        let group = Group {
            grain: g,
            period_start: start,
            state: opt_string(state, i),
            category: opt_string(category, i),
            source: opt_string(source, i),
            business_key: opt_i64(biz, i),
        };
        let partial = partial_for(g, start, group.source.as_deref(), cover);
        for k in kpi::KPIS {
            let v = kpi::value(k, &a, before.as_ref());
            let pv = before
                .as_ref()
                .and_then(|bf| kpi::value(k, bf, before2.as_ref()));
            let row = KpiRow {
                group: group.clone(),
                kpi: k,
                value: v,
                previous_value: pv,
                target_met: v.map(|x| kpi::target_met(k, x)),
                support: a.reviews,
                previous_support: before.as_ref().map_or(0, |bf| bf.reviews),
            };
            count_row(run, &row, partial);
            out.push(&row, run.min_support, partial);
        }
    }
    Ok(out)
}

/// The check-in retention row of every group row of a [`checkin_query`] batch.
fn checkin_batch(
    run: &mut Run<'_>,
    g: Grain,
    b: &RecordBatch,
    cover: &[(String, kpi::Coverage)],
) -> Result<KpiCols> {
    let c = Columns::new(b, "check-in activity");
    let (p, state, category) = (c.date32("p")?, c.str(col::STATE)?, c.str(col::CATEGORY)?);
    let (kept, p1, n1, kept1, p2, n2) = (
        c.i64("kept")?,
        c.date32("p1")?,
        c.i64("n1")?,
        c.i64("kept1")?,
        c.date32("p2")?,
        c.i64("n2")?,
    );
    let mut out = KpiCols::default();
    for i in 0..b.num_rows() {
        let Some(start) = opt_date(p, i) else {
            continue;
        };
        let (prev, prev2) = (g.previous(start), g.shift(start, -2));
        let has_prev = opt_date(p1, i) == Some(prev);
        // Businesses with check-ins in the previous period, and the one before it.
        let n_prev = if has_prev { opt_i64(n1, i) } else { None };
        let n_prev2 = match (opt_date(p1, i), opt_date(p2, i)) {
            (Some(x), _) if x == prev2 => opt_i64(n1, i),
            (_, Some(x)) if x == prev2 => opt_i64(n2, i),
            _ => None,
        };
        let share = |kept: i64, of: Option<i64>| {
            of.filter(|n| *n > 0)
                .map(|n| kept as f64 / n as f64 * 100.0)
        };
        let v = share(opt_i64(kept, i).unwrap_or(0), n_prev);
        let pv = if has_prev {
            share(opt_i64(kept1, i).unwrap_or(0), n_prev2)
        } else {
            None
        };
        let row = KpiRow {
            group: Group {
                grain: g,
                period_start: start,
                state: opt_string(state, i),
                category: opt_string(category, i),
                source: Some(reviewlake_schema::Source::Yelp.as_str().to_string()),
                business_key: None,
            },
            kpi: kpi::CHECKIN_RETENTION,
            value: v,
            previous_value: pv,
            target_met: v.map(|x| kpi::target_met(kpi::CHECKIN_RETENTION, x)),
            support: n_prev.unwrap_or(0),
            previous_support: n_prev2.unwrap_or(0),
        };
        let partial = partial_for(g, start, None, cover);
        count_row(run, &row, partial);
        out.push(&row, run.min_support, partial);
    }
    Ok(out)
}

/// Counts a KPI row in the build report.
fn count_row(run: &mut Run<'_>, row: &KpiRow, partial: bool) {
    if row.low_support(run.min_support) {
        run.report.kpi_low_support += 1;
    }
    if partial {
        run.report.kpi_partial += 1;
    }
}
