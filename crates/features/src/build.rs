//! The features build: warehouse -> features zone.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray,
};
use arrow::compute::cast;
use arrow::datatypes::SchemaRef;
use rayon::prelude::*;
use reviewlake_lake::{Columns, Lake, LakeError, QuerySession, Stage, TableRewrite, Zone};
use reviewlake_schema::col;
use reviewlake_schema::features as ft;
use reviewlake_schema::progress::{Reporter, Unit};
use reviewlake_schema::warehouse as wh;
use reviewlake_warehouse::parse::{civil_from_days, weekday_from_days};
use serde::Serialize;

use crate::kpi::{self, Grain, Group, KpiRow, ReviewAgg};
use crate::vader::SentimentAnalyzer;
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
        let mut sink = self.open(name, schema.clone()).await?;
        let mut stream = self.stream(sql).await?;
        while let Some(b) = stream.next().await {
            let b = b.map_err(qerr(sql))?;
            sink.write(conform(&b, &schema, name)?).await?;
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

/// (neg, neu, pos, compound, word count) of one text; `None` without text.
type Scored = Option<(f64, f64, f64, f64, i32)>;

/// VADER scores of a column of texts (null text -> null scores), in parallel.
fn score(texts: &StringArray) -> Vec<Scored> {
    let an = SentimentAnalyzer::shared();
    (0..texts.len())
        .into_par_iter()
        .map(|i| {
            if texts.is_null(i) {
                return None;
            }
            let t = texts.value(i);
            let s = an.polarity_scores(t);
            Some((
                s.neg,
                s.neu,
                s.pos,
                s.compound,
                t.split_whitespace().count() as i32,
            ))
        })
        .collect()
}

/// The neg, neu, pos, compound and word-count columns of scored texts.
fn score_columns(scores: &[Scored]) -> [ArrayRef; 5] {
    let col = |f: fn(&(f64, f64, f64, f64, i32)) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from(
            scores.iter().map(|s| s.as_ref().map(f)).collect::<Vec<_>>(),
        ))
    };
    [
        col(|x| x.0),
        col(|x| x.1),
        col(|x| x.2),
        col(|x| x.3),
        Arc::new(Int32Array::from_iter_values(
            scores.iter().map(|s| s.map_or(0, |x| x.4)),
        )),
    ]
}

async fn review_features(run: &mut Run<'_>) -> Result<()> {
    run.step(ft::REVIEW_FEATURES);
    let newest = run
        .collect("SELECT max(review_ts) AS m FROM fact_review")
        .await?;
    let newest = match newest.iter().find(|b| b.num_rows() > 0) {
        Some(b) => {
            let m = Columns::new(b, wh::FACT_REVIEW).timestamp_us("m")?;
            if m.is_null(0) { 0 } else { m.value(0) }
        }
        None => 0,
    };
    let sql = "SELECT review_key, source, business_key, user_key, state, review_ts, date_key, \
               stars, text, useful, funny, cool, has_response, response_ts FROM fact_review";
    let schema = ft::review_features();
    let mut sink = run.open(ft::REVIEW_FEATURES, schema.clone()).await?;
    let mut stream = run.stream(sql).await?;
    let table = format!("warehouse/{}", wh::FACT_REVIEW);
    while let Some(b) = stream.next().await {
        let b = b.map_err(qerr(sql))?;
        let c = Columns::new(&b, &table);
        let n = b.num_rows();
        let ts = c.timestamp_us(col::REVIEW_TS)?;
        let scores = score(c.str(col::TEXT)?);
        let scored = scores.iter().filter(|s| s.is_some()).count() as u64;
        run.report.reviews_scored += scored;
        let vote_cols = [c.i64(col::USEFUL)?, c.i64(col::FUNNY)?, c.i64(col::COOL)?];
        let votes: Vec<Option<i64>> = (0..n)
            .map(|i| {
                let vals: Vec<i64> = vote_cols
                    .iter()
                    .filter(|a| !a.is_null(i))
                    .map(|a| a.value(i))
                    .collect();
                (!vals.is_empty()).then(|| vals.iter().sum())
            })
            .collect();
        let resp = c.timestamp_us(col::RESPONSE_TS)?;
        let civil: Vec<(i32, u32, u32)> = (0..n)
            .map(|i| civil_from_days(ts.value(i).div_euclid(DAY_US)))
            .collect();
        let [neg, neu, pos, compound, words] = score_columns(&scores);
        let mut out: HashMap<&str, ArrayRef> = HashMap::new();
        for name in [
            col::REVIEW_KEY,
            col::SOURCE,
            col::BUSINESS_KEY,
            col::USER_KEY,
            col::STATE,
            col::REVIEW_TS,
            col::DATE_KEY,
            col::STARS,
            col::HAS_RESPONSE,
        ] {
            out.insert(name, c.array(name)?.clone());
        }
        out.insert(col::NEG, neg);
        out.insert(col::NEU, neu);
        out.insert(col::POS, pos);
        out.insert(col::COMPOUND, compound);
        out.insert(col::WORD_COUNT, words);
        out.insert(
            col::YEAR,
            Arc::new(Int32Array::from_iter_values(civil.iter().map(|c| c.0))),
        );
        out.insert(
            col::MONTH,
            Arc::new(Int32Array::from_iter_values(
                civil.iter().map(|c| c.1 as i32),
            )),
        );
        out.insert(
            col::WEEKDAY,
            Arc::new(Int32Array::from_iter_values((0..n).map(|i| {
                weekday_from_days(ts.value(i).div_euclid(DAY_US)) as i32
            }))),
        );
        out.insert(
            col::HOUR,
            Arc::new(Int32Array::from_iter_values(
                (0..n).map(|i| (ts.value(i).rem_euclid(DAY_US) / HOUR_US) as i32),
            )),
        );
        out.insert(
            col::AGE_DAYS,
            Arc::new(Int32Array::from_iter_values(
                (0..n).map(|i| ((newest - ts.value(i)).max(0) / DAY_US) as i32),
            )),
        );
        out.insert(col::VOTES, Arc::new(Int64Array::from(votes)));
        out.insert(
            col::RESPONSE_HOURS,
            Arc::new(Float64Array::from(
                (0..n)
                    .map(|i| {
                        (!resp.is_null(i))
                            .then(|| (resp.value(i) - ts.value(i)) as f64 / HOUR_US as f64)
                    })
                    .collect::<Vec<_>>(),
            )),
        );
        sink.write(assemble(&schema, out, ft::REVIEW_FEATURES)?)
            .await?;
        run.reporter.advance(TASK, n as u64);
    }
    run.commit(sink).await
}

/// A batch of `schema` from named columns (cast to the schema's types).
fn assemble(
    schema: &SchemaRef,
    mut cols: HashMap<&str, ArrayRef>,
    table: &str,
) -> Result<RecordBatch> {
    let arrays = schema
        .fields()
        .iter()
        .map(|f| {
            let a = cols
                .remove(f.name().as_str())
                .ok_or_else(|| LakeError::Column {
                    table: table.to_string(),
                    column: f.name().clone(),
                    expected: format!("{:?}", f.data_type()),
                    found: "missing".into(),
                })?;
            Ok(cast(&a, f.data_type())?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), arrays)?)
}

async fn tip_features(run: &mut Run<'_>) -> Result<()> {
    run.step(ft::TIP_FEATURES);
    let schema = ft::tip_features();
    let mut sink = run.open(ft::TIP_FEATURES, schema.clone()).await?;
    if run.session.has_table(wh::FACT_TIP) {
        let sql = "SELECT tip_key, business_key, user_key, tip_ts, text FROM fact_tip";
        let table = format!("warehouse/{}", wh::FACT_TIP);
        let mut stream = run.stream(sql).await?;
        while let Some(b) = stream.next().await {
            let b = b.map_err(qerr(sql))?;
            let c = Columns::new(&b, &table);
            let scores = score(c.str(col::TEXT)?);
            run.report.tips_scored += scores.iter().filter(|s| s.is_some()).count() as u64;
            let [neg, neu, pos, compound, words] = score_columns(&scores);
            let mut out: HashMap<&str, ArrayRef> = HashMap::new();
            for name in [col::TIP_KEY, col::BUSINESS_KEY, col::USER_KEY, col::TIP_TS] {
                out.insert(name, c.array(name)?.clone());
            }
            out.insert(col::NEG, neg);
            out.insert(col::NEU, neu);
            out.insert(col::POS, pos);
            out.insert(col::COMPOUND, compound);
            out.insert(col::WORD_COUNT, words);
            sink.write(assemble(&schema, out, ft::TIP_FEATURES)?)
                .await?;
            run.reporter.advance(TASK, b.num_rows() as u64);
        }
    }
    run.commit(sink).await
}

async fn derived_tables(run: &mut Run<'_>) -> Result<()> {
    // business x month panel.
    run.write_sql(
        ft::BUSINESS_MONTH,
        ft::business_month(),
        "WITH fv AS (SELECT user_key, business_key, min(review_ts) AS first_ts \
           FROM review_features GROUP BY user_key, business_key) \
         SELECT r.business_key, CAST(date_trunc('month', r.review_ts) AS DATE) AS month, \
           count(*) AS reviews, avg(r.stars) AS mean_stars, avg(r.compound) AS mean_sentiment, \
           count(DISTINCT CASE WHEN fv.first_ts >= date_trunc('month', r.review_ts) \
             THEN r.user_key END) AS new_reviewers, \
           count(DISTINCT CASE WHEN fv.first_ts < date_trunc('month', r.review_ts) \
             THEN r.user_key END) AS returning_reviewers \
         FROM review_features r JOIN fv ON r.user_key = fv.user_key \
           AND r.business_key = fv.business_key \
         GROUP BY r.business_key, CAST(date_trunc('month', r.review_ts) AS DATE)",
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
         oh AS (SELECT bc.business_key, {onehot} FROM business_category bc GROUP BY bc.business_key) \
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
         FROM dim_business b LEFT JOIN agg ON b.business_key = agg.business_key \
           LEFT JOIN rep ON b.business_key = rep.business_key \
           LEFT JOIN trend ON b.business_key = trend.business_key \
           LEFT JOIN chk ON b.business_key = chk.business_key \
           LEFT JOIN peak ON b.business_key = peak.business_key \
           LEFT JOIN tips ON b.business_key = tips.business_key \
           LEFT JOIN oh ON b.business_key = oh.business_key"
    );
    run.write_sql(ft::BUSINESS_FEATURES, ft::business_features(&cats), &sql)
        .await?;

    // User features.
    run.write_sql(
        ft::USER_FEATURES,
        ft::user_features(),
        "WITH bm AS (SELECT business_key, avg(stars) AS mean_stars FROM review_features \
           GROUP BY business_key), \
         agg AS (SELECT r.user_key, count(*) AS reviews, count(DISTINCT r.business_key) AS businesses, \
           avg(r.stars) AS mean_rating, avg(r.stars - bm.mean_stars) AS rating_bias, \
           avg(r.compound) AS mean_sentiment, min(r.review_ts) AS first_review, \
           max(r.review_ts) AS last_review \
           FROM review_features r JOIN bm ON r.business_key = bm.business_key GROUP BY r.user_key) \
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

const AGGS: &str = "count(*) AS reviews, avg(r.stars) AS mean_stars, \
    avg(r.compound) AS mean_sentiment, count(DISTINCT r.user_key) AS reviewers, \
    count(DISTINCT CASE WHEN r.returning THEN r.user_key END) AS returning";

fn kpi_query(g: Grain) -> String {
    let u = g.as_str();
    let null_s = "CAST(NULL AS VARCHAR)";
    let null_b = "CAST(NULL AS BIGINT)";
    let sets: [(&str, &str, &str, &str, bool); 9] = [
        (null_s, null_s, null_s, null_b, false),
        ("r.state", null_s, null_s, null_b, false),
        (null_s, null_s, "r.source", null_b, false),
        ("r.state", null_s, "r.source", null_b, false),
        ("r.state", null_s, "r.source", "r.business_key", false),
        (null_s, "bc.category", null_s, null_b, true),
        ("r.state", "bc.category", null_s, null_b, true),
        (null_s, "bc.category", "r.source", null_b, true),
        ("r.state", "bc.category", "r.source", null_b, true),
    ];
    let parts: Vec<String> = sets
        .iter()
        .map(|(st, cat, src, biz, join)| {
            let group: Vec<&str> = ["r.p", st, cat, src, biz]
                .into_iter()
                .filter(|c| !c.starts_with("CAST(NULL"))
                .collect();
            format!(
                "SELECT r.p, {st} AS state, {cat} AS category, {src} AS source, \
                 {biz} AS business_key, {AGGS} FROM r{} GROUP BY {}",
                if *join {
                    " JOIN business_category bc ON r.business_key = bc.business_key"
                } else {
                    ""
                },
                group.join(", ")
            )
        })
        .collect();
    format!(
        "WITH fv AS (SELECT user_key, business_key, min(review_ts) AS first_ts \
           FROM review_features GROUP BY user_key, business_key), \
         r AS (SELECT f.business_key, f.user_key, f.source, f.state, f.stars, f.compound, \
           CAST(date_trunc('{u}', f.review_ts) AS DATE) AS p, \
           fv.first_ts < date_trunc('{u}', f.review_ts) AS returning \
           FROM review_features f JOIN fv ON f.user_key = fv.user_key \
             AND f.business_key = fv.business_key) \
         {}",
        parts.join(" UNION ALL ")
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

/// The grouped review aggregates of [`kpi_query`], with the types the KPI code reads.
fn kpi_agg_schema() -> SchemaRef {
    use arrow::datatypes::{DataType, Field, Schema};
    Arc::new(Schema::new(vec![
        Field::new("p", DataType::Date32, true),
        Field::new(col::STATE, DataType::Utf8, true),
        Field::new(col::CATEGORY, DataType::Utf8, true),
        Field::new(col::SOURCE, DataType::Utf8, true),
        Field::new(col::BUSINESS_KEY, DataType::Int64, true),
        Field::new(col::REVIEWS, DataType::Int64, true),
        Field::new(col::MEAN_STARS, DataType::Float64, true),
        Field::new(col::MEAN_SENTIMENT, DataType::Float64, true),
        Field::new("reviewers", DataType::Int64, true),
        Field::new("returning", DataType::Int64, true),
    ]))
}

async fn kpis(run: &mut Run<'_>) -> Result<()> {
    // One grain at a time: its aggregates and rows are dropped once written.
    let schema = ft::kpi();
    let mut sink = run.open(ft::KPI, schema.clone()).await?;
    let agg_schema = kpi_agg_schema();
    for g in Grain::ALL {
        run.step(&format!("{} ({})", ft::KPI, g.as_str()));
        let mut rows: Vec<KpiRow> = Vec::new();
        let sql = kpi_query(g);
        let mut aggs: HashMap<Group, ReviewAgg> = HashMap::new();
        for b in run.collect(&sql).await? {
            let b = conform(&b, &agg_schema, "kpi aggregates")?;
            let c = Columns::new(&b, "kpi aggregates");
            let p = c.date32("p")?;
            let (state, category, source) = (
                c.str(col::STATE)?,
                c.str(col::CATEGORY)?,
                c.str(col::SOURCE)?,
            );
            let biz = c.i64(col::BUSINESS_KEY)?;
            let (reviews, reviewers, returning) = (
                c.i64(col::REVIEWS)?,
                c.i64("reviewers")?,
                c.i64("returning")?,
            );
            let (stars, sentiment) = (c.f64(col::MEAN_STARS)?, c.f64(col::MEAN_SENTIMENT)?);
            for i in 0..b.num_rows() {
                aggs.insert(
                    Group {
                        grain: g,
                        period_start: p.value(i),
                        state: opt_string(state, i),
                        category: opt_string(category, i),
                        source: opt_string(source, i),
                        business_key: (!biz.is_null(i)).then(|| biz.value(i)),
                    },
                    ReviewAgg {
                        reviews: reviews.value(i),
                        mean_stars: opt_f64(stars, i),
                        mean_sentiment: opt_f64(sentiment, i),
                        reviewers: reviewers.value(i),
                        returning: returning.value(i),
                    },
                );
            }
        }
        rows.extend(kpi::kpi_rows(&aggs));
        drop(aggs);
        rows.extend(checkin_kpis(run, g).await?);
        run.report.kpi_low_support += rows
            .iter()
            .filter(|r| r.low_support(run.min_support))
            .count() as u64;
        write_kpi_rows(&mut sink, &schema, &rows, run.min_support).await?;
    }
    run.commit(sink).await
}

async fn write_kpi_rows(
    sink: &mut TableRewrite,
    schema: &SchemaRef,
    rows: &[KpiRow],
    min_support: i64,
) -> Result<()> {
    for chunk in rows.chunks(65_536) {
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                chunk.iter().map(|r| r.group.grain.as_str()),
            )),
            Arc::new(Date32Array::from_iter_values(
                chunk.iter().map(|r| r.group.period_start),
            )),
            Arc::new(StringArray::from(
                chunk
                    .iter()
                    .map(|r| r.group.state.clone())
                    .collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                chunk
                    .iter()
                    .map(|r| r.group.category.clone())
                    .collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                chunk
                    .iter()
                    .map(|r| r.group.source.clone())
                    .collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from(
                chunk
                    .iter()
                    .map(|r| r.group.business_key)
                    .collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from_iter_values(chunk.iter().map(|r| r.kpi))),
            Arc::new(Float64Array::from(
                chunk.iter().map(|r| r.value).collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                chunk.iter().map(|r| r.previous_value).collect::<Vec<_>>(),
            )),
            Arc::new(BooleanArray::from(
                chunk.iter().map(|r| r.target_met).collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from_iter_values(
                chunk.iter().map(|r| r.support),
            )),
            Arc::new(Int64Array::from_iter_values(
                chunk.iter().map(|r| r.previous_support),
            )),
            Arc::new(BooleanArray::from(
                chunk
                    .iter()
                    .map(|r| r.low_support(min_support))
                    .collect::<Vec<_>>(),
            )),
        ];
        sink.write(RecordBatch::try_new(schema.clone(), cols)?)
            .await?;
    }
    Ok(())
}

/// Check-in retention rows of one grain (Yelp check-ins; overall, by state, by category
/// and by state and category).
async fn checkin_kpis(run: &Run<'_>, g: Grain) -> Result<Vec<KpiRow>> {
    if !run.session.has_table(wh::FACT_CHECKIN) {
        return Ok(Vec::new());
    }
    let u = g.as_str();
    let sql = format!(
        "SELECT DISTINCT CAST(date_trunc('{u}', checkin_ts) AS DATE) AS p, business_key, state \
         FROM fact_checkin WHERE checkin_ts IS NOT NULL"
    );
    let mut cats: HashMap<i64, Vec<String>> = HashMap::new();
    for b in run
        .collect("SELECT business_key, category FROM business_category")
        .await?
    {
        let cols = Columns::new(&b, wh::BUSINESS_CATEGORY);
        let k = cols.i64(col::BUSINESS_KEY)?;
        let c = cols.str(col::CATEGORY)?;
        for i in 0..b.num_rows() {
            cats.entry(k.value(i))
                .or_default()
                .push(c.value(i).to_string());
        }
    }
    let mut active: HashMap<Group, HashSet<i64>> = HashMap::new();
    for b in run.collect(&sql).await? {
        let cols = Columns::new(&b, wh::FACT_CHECKIN);
        let p = cols.date32("p")?;
        let k = cols.i64(col::BUSINESS_KEY)?;
        let states = cols.str(col::STATE)?;
        for i in 0..b.num_rows() {
            let state = opt_string(states, i);
            let mk = |state: Option<String>, category: Option<String>| Group {
                grain: g,
                period_start: p.value(i),
                state,
                category,
                source: Some("yelp".into()),
                business_key: None,
            };
            let key = k.value(i);
            let mut add = |grp: Group| {
                active.entry(grp).or_default().insert(key);
            };
            add(mk(None, None));
            add(mk(state.clone(), None));
            for c in cats.get(&key).into_iter().flatten() {
                add(mk(None, Some(c.clone())));
                add(mk(state.clone(), Some(c.clone())));
            }
        }
    }
    Ok(kpi::checkin_rows(&active))
}
