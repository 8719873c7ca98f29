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

use crate::kpi::{self, Grain, ReviewAgg};
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
/// columns, votes and response time, and the reviewer's first visit of the business,
/// as one plan over `fact_review`. The first visit of a pair reviewed more than once
/// comes from [`MULTI_VISITS`] (a small build side); a pair reviewed once is its own
/// first visit.
fn review_features_sql(newest: i64) -> String {
    format!(
        "WITH {MULTI_VISITS} \
         SELECT review_key, source, business_key, user_key, state, review_ts, date_key, stars, \
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
           (CAST(response_ts AS BIGINT) - CAST(review_ts AS BIGINT)) / {HOUR_US}.0 AS response_hours, \
           first_visit, visits \
         FROM (SELECT f.*, vader(f.text) AS v, \
             coalesce(m.first_ts, f.review_ts) AS first_visit, \
             CAST(coalesce(m.n, 1) AS BIGINT) AS visits \
           FROM multi m RIGHT JOIN fact_review f \
             ON m.user_key = f.user_key AND m.business_key = f.business_key)"
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

/// The first review and the number of reviews of each (user, business) pair of
/// `fact_review` the user reviewed more than once, as the CTE `multi`: the
/// `first_visit` and `visits` of `review_features`, which the "new / returning" counts
/// use. A pair reviewed once has its only review as its first, so it needs no row:
/// `multi` is small (the build side of a hash join) and comes from a grouped aggregate,
/// which spills, instead of a window that sorts every review by (user, business).
const MULTI_VISITS: &str = "multi AS (SELECT user_key, business_key, \
    min(review_ts) AS first_ts, count(*) AS n FROM fact_review \
    GROUP BY user_key, business_key HAVING count(*) > 1)";

async fn derived_tables(run: &mut Run<'_>) -> Result<()> {
    // business x month panel.
    run.write_sql(
        ft::BUSINESS_MONTH,
        ft::business_month(),
        // A reviewer is new in the month of their first review of the business
        // (`first_visit`), returning after it; the counts come from a per-reviewer
        // pre-aggregation.
        "WITH r AS (SELECT business_key, user_key, stars, compound, \
           date_trunc('month', review_ts) AS mstart, first_visit \
           FROM review_features), \
         pu AS (SELECT business_key, mstart, user_key, count(*) AS n, sum(stars) AS ss, \
           sum(compound) AS sc, count(compound) AS nc, \
           max(CASE WHEN first_visit >= mstart THEN 1 ELSE 0 END) AS is_new, \
           max(CASE WHEN first_visit < mstart THEN 1 ELSE 0 END) AS is_returning \
           FROM r GROUP BY business_key, mstart, user_key) \
         SELECT business_key, CAST(mstart AS DATE) AS month, CAST(sum(n) AS BIGINT) AS reviews, \
           CASE WHEN sum(n) > 0 THEN sum(ss) / CAST(sum(n) AS DOUBLE) END AS mean_stars, \
           CASE WHEN sum(nc) > 0 THEN sum(sc) / CAST(sum(nc) AS DOUBLE) END AS mean_sentiment, \
           CAST(sum(is_new) AS BIGINT) AS new_reviewers, \
           CAST(sum(is_returning) AS BIGINT) AS returning_reviewers \
         FROM pu GROUP BY business_key, mstart",
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
    // `dim_business` joins a chain of aggregates: the lake's scans give plain strings
    // (a build side of string views kept every data buffer of the scan per batch and
    // grew past 20 GiB outside the memory pool at 560k businesses; see
    // `reviewlake_lake::QuerySession`).
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
         b AS (SELECT business_key, source, name, state, city, latitude, longitude, \
           price_level, is_restaurant FROM dim_business) \
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

/// The grouped review aggregates of one grain, sorted by group and period: the
/// consumer ([`KpiWalk`]) finds each row's previous two periods in the rows just
/// before it.
///
/// Nine grouping sets `k` (0 overall; 1 by state; 2 by platform; 3 by state and
/// platform; 4 by state, platform and business; 5 by category; 6 by state and category;
/// 7 by category and platform; 8 by all three). One scan of `review_features` (with one
/// grouped aggregate of it joined as a small side: `up`, the reviewers with more than
/// one review in a period; a review's `first_visit` says whether its reviewer returns
/// to the business); each review meets its business's categories (a hash join with
/// the categories as the build side), and `unnest` turns it into one row per grouping
/// set it counts in (the sets without a category from the first category row only). A
/// group "by state" is a real state: reviews without one count only in the all-states
/// sets.
///
/// Stars are never null in `review_features`, so a group's mean stars divide by its
/// review count.
///
/// Distinct and returning reviewers come from two aggregation levels without
/// distinct-value sets. A reviewer with one review in the period (`solo`, most of them)
/// is one reviewer of each group the review counts in, so those rows aggregate straight
/// into their group (`ukey` null: the level's row counts them all); only reviewers with
/// more reviews in the period keep a row per reviewer and group (`ukey` = the user).
/// Two facts keep those rows few, which is what the plan's memory and spilling come
/// down to:
/// - a reviewer is on one platform (user keys are per platform), so their rows of the
///   sets without a platform (0, 1, 5, 6) are those of the same sets by platform (2,
///   3, 7, 8): the per-reviewer level keeps only the former (`gid` already carrying the
///   platform) and `pu` turns each of its rows into both;
/// - in a business's set (4) a reviewer has two rows in a period only for a business
///   they reviewed more than once (`visits` > 1): the others count as one reviewer per
///   row without a row of their own.
///
/// The aggregates group by integers only: a set's state and platform are packed into
/// `gid` (their numbers in `lookups`, 0 = all), its business or category key is `ekey`
/// (0 = none); the names come back by joins with the same small tables after the last
/// aggregate. The lookups are `VALUES` lists, whose exact sizes make them the build
/// sides of their joins.
fn kpi_query(g: Grain, lookups: &KpiLookups) -> String {
    let u = g.as_str();
    let KpiLookups {
        states: st,
        sources: so,
        categories: cat,
    } = lookups;
    format!(
        "WITH st AS ({st}), so AS ({so}), cat AS ({cat}), \
         up AS (SELECT user_key, date_trunc('{u}', review_ts) AS pt FROM review_features \
           GROUP BY 1, 2 HAVING count(*) > 1), \
         r0 AS (SELECT f.business_key, f.user_key, f.state, f.source, f.stars, f.compound, \
           f.review_ts, f.first_visit, f.visits, (up.user_key IS NULL) AS solo \
           FROM up RIGHT JOIN review_features f \
             ON up.user_key = f.user_key AND up.pt = date_trunc('{u}', f.review_ts)), \
         {FIRST_CATEGORY}, \
         r AS (SELECT f.solo, f.business_key, f.user_key, coalesce(st.sid, 0) AS sid, so.srcid, \
           f.stars, f.compound, CAST(date_trunc('{u}', f.review_ts) AS DATE) AS p, \
           (f.visits > 1) AS in_multi, \
           (f.first_visit < date_trunc('{u}', f.review_ts)) AS is_returning \
           FROM r0 f LEFT JOIN st ON f.state = st.state LEFT JOIN so ON f.source = so.source), \
         x AS (SELECT r.solo, r.in_multi, r.p, r.user_key, r.stars, r.compound, \
             r.is_returning, r.sid, r.srcid, r.business_key, bcr.category_key, \
             unnest(CASE WHEN bcr.category_key IS NULL AND r.solo THEN make_array(0, 1, 2, 3, 4) \
               WHEN bcr.category_key IS NULL THEN make_array(0, 1, 4) \
               WHEN bcr.cr = 1 AND r.solo THEN make_array(0, 1, 2, 3, 4, 5, 6, 7, 8) \
               WHEN bcr.cr = 1 THEN make_array(0, 1, 4, 5, 6) \
               WHEN r.solo THEN make_array(5, 6, 7, 8) ELSE make_array(5, 6) END) AS k \
           FROM bcr RIGHT JOIN r ON r.business_key = bcr.business_key), \
         keyed AS (SELECT k, p, \
             CASE WHEN solo OR (k = 4 AND NOT in_multi) THEN NULL ELSE user_key END AS ukey, \
             stars, compound, CASE WHEN is_returning THEN 1 ELSE 0 END AS ri, \
             (CASE WHEN k IN (1, 3, 4, 6, 8) THEN sid ELSE 0 END) * {PACK} \
               + (CASE WHEN k IN (2, 3, 4, 7, 8) OR NOT solo THEN srcid ELSE 0 END) AS gid, \
             CASE WHEN k = 4 THEN business_key WHEN k >= 5 THEN category_key ELSE 0 END AS ekey \
           FROM x WHERE NOT (k IN (1, 3, 4, 6, 8) AND sid = 0)), \
         per_user AS (SELECT k, p, gid, ekey, ukey, count(*) AS n, sum(stars) AS ss, \
           sum(compound) AS sc, count(compound) AS nc, \
           CASE WHEN ukey IS NULL THEN count(*) ELSE 1 END AS rv, \
           CASE WHEN ukey IS NULL THEN sum(ri) WHEN sum(ri) > 0 THEN 1 ELSE 0 END AS ret \
           FROM keyed GROUP BY k, p, gid, ekey, ukey), \
         pu AS (SELECT kk AS k, p, \
             CASE WHEN kk IN (0, 1, 5, 6) THEN gid - gid % {PACK} ELSE gid END AS gid, \
             ekey, n, ss, sc, nc, rv, ret \
           FROM (SELECT unnest(CASE WHEN ukey IS NOT NULL AND k IN (0, 1, 5, 6) \
               THEN make_array(k, k + 2) ELSE make_array(k) END) AS kk, \
             p, gid, ekey, n, ss, sc, nc, rv, ret FROM per_user)), \
         agg AS (SELECT k, p, gid, ekey, CAST(sum(n) AS BIGINT) AS reviews, \
           CASE WHEN sum(n) > 0 THEN sum(ss) / CAST(sum(n) AS DOUBLE) END AS mean_stars, \
           CASE WHEN sum(nc) > 0 THEN sum(sc) / CAST(sum(nc) AS DOUBLE) END AS mean_sentiment, \
           CAST(sum(rv) AS BIGINT) AS reviewers, CAST(sum(ret) AS BIGINT) AS returners \
           FROM pu GROUP BY k, p, gid, ekey) \
         SELECT w.k, w.gid, w.ekey, w.p, st.state, cat.category, so.source, \
           CASE WHEN w.k = 4 THEN w.ekey END AS business_key, w.reviews, w.mean_stars, \
           w.mean_sentiment, w.reviewers, w.returners \
         FROM agg w LEFT JOIN st ON st.sid = w.gid / {PACK} \
           LEFT JOIN so ON so.srcid = w.gid % {PACK} \
           LEFT JOIN cat ON w.k >= 5 AND cat.category_key = w.ekey \
         ORDER BY w.k, w.gid, w.ekey, w.p"
    )
}

/// Each business's categories numbered by name (`cr` = 1 for its first), as the CTE
/// `bcr`: a review or business counts in the sets without a category from its first
/// category row only.
const FIRST_CATEGORY: &str = "bcr AS (SELECT business_key, category_key, \
    row_number() OVER (PARTITION BY business_key ORDER BY category) AS cr \
    FROM business_category)";

/// The factor that packs a state's number and a platform's number into one key of
/// [`kpi_query`] (`sid * PACK + srcid`): room for 65,535 platforms.
const PACK: i64 = 65_536;

/// The small tables [`kpi_query`] numbers states and platforms with (and names
/// categories by key): SQL queries over `VALUES` lists.
struct KpiLookups {
    /// `state`, `sid` (1, 2, ...).
    states: String,
    /// `source`, `srcid` (1, 2, ...).
    sources: String,
    /// `category_key`, `category`.
    categories: String,
}

/// A query of `rows` (SQL literals) with the columns `cols` of SQL types `types`; an
/// empty query of those columns when there are no rows.
fn values_query(cols: [&str; 2], types: [&str; 2], rows: &[[String; 2]]) -> String {
    if rows.is_empty() {
        return format!(
            "SELECT CAST(NULL AS {}) AS {}, CAST(NULL AS {}) AS {} WHERE false",
            types[0], cols[0], types[1], cols[1]
        );
    }
    let values = rows
        .iter()
        .map(|[a, b]| format!("(CAST({a} AS {}), CAST({b} AS {}))", types[0], types[1]))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT column1 AS {}, column2 AS {} FROM (VALUES {values})",
        cols[0], cols[1]
    )
}

/// The distinct states (of reviews and check-ins) and platforms of `review_features`
/// and the categories of `business_category`, as [`KpiLookups`].
async fn kpi_lookups(run: &Run<'_>) -> Result<KpiLookups> {
    let mut names = Vec::new();
    // The states of check-ins too: the check-in KPIs group by them.
    let states = if run.session.has_table(wh::FACT_CHECKIN) {
        "SELECT DISTINCT v FROM (SELECT state AS v FROM review_features \
           UNION ALL SELECT state AS v FROM fact_checkin) WHERE v IS NOT NULL ORDER BY v"
    } else {
        "SELECT DISTINCT state AS v FROM review_features WHERE state IS NOT NULL ORDER BY v"
    };
    for sql in [
        states,
        "SELECT DISTINCT source AS v FROM review_features WHERE source IS NOT NULL ORDER BY v",
    ] {
        let mut rows = Vec::new();
        for b in run.collect(sql).await? {
            let v = Columns::new(&b, "kpi lookups").str("v")?;
            for i in 0..b.num_rows() {
                if v.is_valid(i) {
                    rows.push([
                        reviewlake_lake::sql_literal(v.value(i)),
                        (rows.len() + 1).to_string(),
                    ]);
                }
            }
        }
        names.push(rows);
    }
    let mut cats = Vec::new();
    let sql = "SELECT DISTINCT category_key, category FROM business_category";
    for b in run.collect(sql).await? {
        let c = Columns::new(&b, wh::BUSINESS_CATEGORY);
        let (k, n) = (c.i64(col::CATEGORY_KEY)?, c.str(col::CATEGORY)?);
        for i in 0..b.num_rows() {
            if k.is_valid(i) && n.is_valid(i) {
                cats.push([
                    k.value(i).to_string(),
                    reviewlake_lake::sql_literal(n.value(i)),
                ]);
            }
        }
    }
    let sources = names.pop().unwrap_or_default();
    let states = names.pop().unwrap_or_default();
    Ok(KpiLookups {
        states: values_query(["state", "sid"], ["VARCHAR", "BIGINT"], &states),
        sources: values_query(["source", "srcid"], ["VARCHAR", "BIGINT"], &sources),
        categories: values_query(["category_key", "category"], ["BIGINT", "VARCHAR"], &cats),
    })
}

/// The check-in activity of one grain, sorted by group and period (the consumer,
/// [`CheckinWalk`], finds each row's previous two periods in the rows just before it):
/// per group (overall, by state, by category, by both) and period, the businesses with
/// check-ins (`n`) and those of them that also had check-ins the period before
/// (`kept`: a `lag` over each business's periods, then summed into every group the
/// business counts in). Groups are keyed by integers as in [`kpi_query`].
fn checkin_query(g: Grain, lookups: &KpiLookups) -> String {
    let u = g.as_str();
    let months = g.months();
    let KpiLookups {
        states: st,
        categories: cat,
        ..
    } = lookups;
    format!(
        "WITH st AS ({st}), cat AS ({cat}), \
         act AS (SELECT CAST(date_trunc('{u}', checkin_ts) AS DATE) AS p, business_key, \
           max(state) AS state FROM fact_checkin WHERE checkin_ts IS NOT NULL GROUP BY 1, 2), \
         kp AS (SELECT p, business_key, state, \
           CASE WHEN lag(p, 1) OVER (PARTITION BY business_key ORDER BY p) \
             = CAST(p - INTERVAL '{months} months' AS DATE) THEN 1 ELSE 0 END AS kept \
           FROM act), \
         {FIRST_CATEGORY}, \
         x AS (SELECT kp.p, kp.kept, coalesce(st.sid, 0) AS state_no, bcr.category_key, \
             unnest(CASE WHEN bcr.category_key IS NULL THEN make_array(0, 1) \
               WHEN bcr.cr = 1 THEN make_array(0, 1, 2, 3) ELSE make_array(2, 3) END) AS k \
           FROM bcr RIGHT JOIN kp ON kp.business_key = bcr.business_key \
           LEFT JOIN st ON kp.state = st.state), \
         keyed AS (SELECT k, p, kept, CASE WHEN k IN (1, 3) THEN state_no ELSE 0 END AS gid, \
             CASE WHEN k >= 2 THEN category_key ELSE 0 END AS ekey \
           FROM x WHERE NOT (k IN (1, 3) AND state_no = 0)), \
         ck AS (SELECT k, gid, ekey, p, CAST(count(*) AS BIGINT) AS n, \
           CAST(sum(kept) AS BIGINT) AS kept FROM keyed GROUP BY k, gid, ekey, p) \
         SELECT ck.k, ck.gid, ck.ekey, ck.p, st.state, cat.category, ck.n, ck.kept \
         FROM ck LEFT JOIN st ON st.sid = ck.gid \
           LEFT JOIN cat ON ck.k >= 2 AND cat.category_key = ck.ekey \
         ORDER BY ck.k, ck.gid, ck.ekey, ck.p"
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
    Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int64, true),
        Field::new("gid", DataType::Int64, true),
        Field::new("ekey", DataType::Int64, true),
        Field::new("p", DataType::Date32, true),
        Field::new(col::STATE, DataType::Utf8, true),
        Field::new(col::CATEGORY, DataType::Utf8, true),
        Field::new(col::SOURCE, DataType::Utf8, true),
        Field::new(col::BUSINESS_KEY, DataType::Int64, true),
        Field::new("reviews", DataType::Int64, true),
        Field::new(col::MEAN_STARS, DataType::Float64, true),
        Field::new(col::MEAN_SENTIMENT, DataType::Float64, true),
        Field::new("reviewers", DataType::Int64, true),
        Field::new("returners", DataType::Int64, true),
    ]))
}

/// The columns of [`checkin_query`].
fn checkin_schema() -> SchemaRef {
    use arrow::datatypes::{DataType, Field, Schema};
    Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int64, true),
        Field::new("gid", DataType::Int64, true),
        Field::new("ekey", DataType::Int64, true),
        Field::new("p", DataType::Date32, true),
        Field::new(col::STATE, DataType::Utf8, true),
        Field::new(col::CATEGORY, DataType::Utf8, true),
        Field::new("n", DataType::Int64, true),
        Field::new("kept", DataType::Int64, true),
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
    let lookups = kpi_lookups(run).await?;
    for g in Grain::ALL {
        run.step(&format!("{} ({})", ft::KPI, g.as_str()));
        let sql = kpi_query(g, &lookups);
        let mut stream = run.stream(&sql).await?;
        let mut walk = KpiWalk::default();
        while let Some(b) = stream.next().await {
            let b = conform(&b.map_err(qerr(&sql))?, &agg_schema, "kpi aggregates")?;
            let out = walk.batch(run, g, &b, &reviews_cover, &schema)?;
            sink.write(out).await?;
        }
        if run.session.has_table(wh::FACT_CHECKIN) {
            let sql = checkin_query(g, &lookups);
            let cschema = checkin_schema();
            let mut walk = CheckinWalk::default();
            let mut stream = run.stream(&sql).await?;
            while let Some(b) = stream.next().await {
                let b = conform(&b.map_err(qerr(&sql))?, &cschema, "check-in activity")?;
                let out = walk.batch(run, g, &b, &checkin_cover, &schema)?;
                sink.write(out).await?;
            }
        }
    }
    run.commit(sink).await
}

/// A group of [`kpi_query`] or [`checkin_query`]: its `k`, `gid` and `ekey`.
type GroupId = (i64, i64, i64);

/// The walk over a stream of group rows sorted by group and period: the last two rows
/// seen (group, period start, the row's figures `T`), so that each row finds its
/// group's previous two periods among them. It holds two rows, whatever the size of
/// the stream.
struct Walk<T> {
    /// Newest first.
    last: [Option<(GroupId, i32, T)>; 2],
}

impl<T> Default for Walk<T> {
    fn default() -> Self {
        Walk { last: [None, None] }
    }
}

impl<T: Copy> Walk<T> {
    /// The columns `k`, `gid` and `ekey` of a batch, which make a row's group.
    fn group_columns<'a>(c: &Columns<'a>) -> Result<[&'a Int64Array; 3]> {
        Ok([c.i64("k")?, c.i64("gid")?, c.i64("ekey")?])
    }

    /// The group of row `i`, from its [`Walk::group_columns`].
    fn group(cols: &[&Int64Array; 3], i: usize) -> GroupId {
        (
            opt_i64(cols[0], i).unwrap_or(-1),
            opt_i64(cols[1], i).unwrap_or(0),
            opt_i64(cols[2], i).unwrap_or(0),
        )
    }

    /// The rows of group `id` one and two rows back (their period starts and figures),
    /// where the stream's last rows are that group's.
    fn earlier(&self, id: GroupId) -> [Option<(i32, T)>; 2] {
        self.last
            .map(|r| r.filter(|(key, ..)| *key == id).map(|(_, p, v)| (p, v)))
    }

    /// The figures of the row of `rows` that starts at `period`.
    fn at(rows: [Option<(i32, T)>; 2], period: i32) -> Option<T> {
        rows.into_iter()
            .flatten()
            .find(|(p, _)| *p == period)
            .map(|(_, v)| v)
    }

    /// Records the row just handled.
    fn push(&mut self, id: GroupId, start: i32, v: T) {
        self.last = [Some((id, start, v)), self.last[0]];
    }
}

/// The walk over the rows of a [`kpi_query`].
type KpiWalk = Walk<ReviewAgg>;

impl Walk<ReviewAgg> {
    /// The four KPI rows of every group row of a [`kpi_query`] batch, as a batch of the
    /// KPI table: the values are computed row by row (through [`kpi::value`]), the
    /// group's names are taken from the input columns.
    fn batch(
        &mut self,
        run: &mut Run<'_>,
        g: Grain,
        b: &RecordBatch,
        cover: &[(String, kpi::Coverage)],
        schema: &SchemaRef,
    ) -> Result<RecordBatch> {
        let c = Columns::new(b, "kpi aggregates");
        let groups = Self::group_columns(&c)?;
        let p = c.date32("p")?;
        let named = [
            c.array(col::STATE)?,
            c.array(col::CATEGORY)?,
            c.array(col::SOURCE)?,
            c.array(col::BUSINESS_KEY)?,
        ];
        let source = c.str(col::SOURCE)?;
        let reviews = c.i64("reviews")?;
        let (stars, sentiment) = (c.f64(col::MEAN_STARS)?, c.f64(col::MEAN_SENTIMENT)?);
        let (reviewers, returning) = (c.i64("reviewers")?, c.i64("returners")?);
        let mut out = KpiValues::with_capacity(b.num_rows() * kpi::KPIS.len());
        for i in 0..b.num_rows() {
            let Some(start) = opt_date(p, i) else {
                continue;
            };
            let id = Self::group(&groups, i);
            let a = ReviewAgg {
                reviews: opt_i64(reviews, i).unwrap_or(0),
                mean_stars: opt_f64(stars, i),
                mean_sentiment: opt_f64(sentiment, i),
                reviewers: opt_i64(reviewers, i).unwrap_or(0),
                returning: opt_i64(returning, i).unwrap_or(0),
            };
            // The group's rows one and two periods earlier, if the stream just gave them.
            let (prev, prev2) = (g.previous(start), g.shift(start, -2));
            let earlier = self.earlier(id);
            let before = Self::at([earlier[0], None], prev);
            let before2 = Self::at(earlier, prev2).map(|a| ReviewAgg {
                reviewers: 0,
                returning: 0,
                ..a
            });
            let platform = (!source.is_null(i)).then(|| source.value(i));
            let partial = partial_for(g, start, platform, cover);
            let row = GroupRow {
                from: i,
                period: start,
                support: a.reviews,
                previous_support: before.as_ref().map_or(0, |bf| bf.reviews),
                partial,
            };
            for kpi_name in kpi::KPIS {
                let value = kpi::value(kpi_name, &a, before.as_ref());
                let previous = before
                    .as_ref()
                    .and_then(|bf| kpi::value(kpi_name, bf, before2.as_ref()));
                out.push(&row, kpi_name, value, previous);
            }
            self.push(id, start, a);
        }
        out.batch(run, g, &named, schema)
    }
}

/// What the four KPI rows of one group row share.
struct GroupRow {
    /// The input row.
    from: usize,
    /// Period start, days since the epoch.
    period: i32,
    /// Reviews of the group in the period.
    support: i64,
    /// Reviews of the group in the previous period (0 when none).
    previous_support: i64,
    /// Whether the period is partial for the group's platforms.
    partial: bool,
}

/// The KPI rows of one input batch, column by column: the values, and for each row the
/// input row whose group names it takes.
struct KpiValues {
    from: Vec<u32>,
    period: Vec<i32>,
    kpi: Vec<&'static str>,
    value: Vec<Option<f64>>,
    previous: Vec<Option<f64>>,
    support: Vec<i64>,
    previous_support: Vec<i64>,
    partial: Vec<bool>,
}

impl KpiValues {
    fn with_capacity(n: usize) -> Self {
        KpiValues {
            from: Vec::with_capacity(n),
            period: Vec::with_capacity(n),
            kpi: Vec::with_capacity(n),
            value: Vec::with_capacity(n),
            previous: Vec::with_capacity(n),
            support: Vec::with_capacity(n),
            previous_support: Vec::with_capacity(n),
            partial: Vec::with_capacity(n),
        }
    }

    /// Adds the row of KPI `kpi` of the group row `g`.
    fn push(&mut self, g: &GroupRow, kpi: &'static str, value: Option<f64>, previous: Option<f64>) {
        self.from.push(g.from as u32);
        self.period.push(g.period);
        self.kpi.push(kpi);
        self.value.push(value);
        self.previous.push(previous);
        self.support.push(g.support);
        self.previous_support.push(g.previous_support);
        self.partial.push(g.partial);
    }

    /// The batch of the KPI table (`schema`), its state, category, platform and
    /// business taken from `named` (input columns in that order); counts its
    /// low-support and partial rows in the build report.
    fn batch(
        self,
        run: &mut Run<'_>,
        g: Grain,
        named: &[&ArrayRef; 4],
        schema: &SchemaRef,
    ) -> Result<RecordBatch> {
        let n = self.from.len();
        let from = arrow::array::UInt32Array::from(self.from);
        let take = |a: &ArrayRef| arrow::compute::take(a.as_ref(), &from, None);
        let met: BooleanArray = self
            .kpi
            .iter()
            .zip(&self.value)
            .map(|(k, v)| v.map(|x| kpi::target_met(k, x)))
            .collect();
        let low: Vec<bool> = (0..n)
            .map(|i| {
                kpi::low_support(
                    self.kpi[i],
                    self.support[i],
                    self.previous_support[i],
                    run.min_support,
                )
            })
            .collect();
        run.report.kpi_low_support += low.iter().filter(|l| **l).count() as u64;
        run.report.kpi_partial += self.partial.iter().filter(|p| **p).count() as u64;
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                g.as_str(),
                n,
            ))),
            Arc::new(Date32Array::from(self.period)),
            take(named[0])?,
            take(named[1])?,
            take(named[2])?,
            take(named[3])?,
            Arc::new(StringArray::from_iter_values(self.kpi)),
            Arc::new(Float64Array::from(self.value)),
            Arc::new(Float64Array::from(self.previous)),
            Arc::new(met),
            Arc::new(Int64Array::from(self.support)),
            Arc::new(Int64Array::from(self.previous_support)),
            Arc::new(BooleanArray::from(low)),
            Arc::new(BooleanArray::from(self.partial)),
        ];
        Ok(RecordBatch::try_new(schema.clone(), cols)?)
    }
}

/// The walk over the rows of a [`checkin_query`]: its figures are `n` and `kept`.
type CheckinWalk = Walk<(i64, i64)>;

impl Walk<(i64, i64)> {
    /// The check-in retention row of every group row of a [`checkin_query`] batch, as a
    /// batch of the KPI table (platform `yelp`, no business).
    fn batch(
        &mut self,
        run: &mut Run<'_>,
        g: Grain,
        b: &RecordBatch,
        cover: &[(String, kpi::Coverage)],
        schema: &SchemaRef,
    ) -> Result<RecordBatch> {
        let c = Columns::new(b, "check-in activity");
        let groups = Self::group_columns(&c)?;
        let p = c.date32("p")?;
        let (n, kept) = (c.i64("n")?, c.i64("kept")?);
        let yelp: ArrayRef = Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
            reviewlake_schema::Source::Yelp.as_str(),
            b.num_rows(),
        )));
        let no_business: ArrayRef = Arc::new(Int64Array::new_null(b.num_rows()));
        let named = [
            c.array(col::STATE)?,
            c.array(col::CATEGORY)?,
            &yelp,
            &no_business,
        ];
        let mut out = KpiValues::with_capacity(b.num_rows());
        for i in 0..b.num_rows() {
            let Some(start) = opt_date(p, i) else {
                continue;
            };
            let id = Self::group(&groups, i);
            let (n_now, kept_now) = (opt_i64(n, i).unwrap_or(0), opt_i64(kept, i).unwrap_or(0));
            let (prev, prev2) = (g.previous(start), g.shift(start, -2));
            let earlier = self.earlier(id);
            let one = Self::at([earlier[0], None], prev);
            // Businesses with check-ins in the previous period, and the one before it.
            let n_prev = one.map(|(n, _)| n);
            let n_prev2 = Self::at(earlier, prev2).map(|(n, _)| n);
            let share = |kept: i64, of: Option<i64>| {
                of.filter(|n| *n > 0)
                    .map(|n| kept as f64 / n as f64 * 100.0)
            };
            let row = GroupRow {
                from: i,
                period: start,
                support: n_prev.unwrap_or(0),
                previous_support: n_prev2.unwrap_or(0),
                partial: partial_for(g, start, None, cover),
            };
            let value = share(kept_now, n_prev);
            let previous = one.and_then(|(_, kept)| share(kept, n_prev2));
            out.push(&row, kpi::CHECKIN_RETENTION, value, previous);
            self.push(id, start, (n_now, kept_now));
        }
        out.batch(run, g, &named, schema)
    }
}
