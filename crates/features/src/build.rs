//! The features build: warehouse -> features zone.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array,
    RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::compute::cast;
use arrow::datatypes::{Int64Type, SchemaRef, TimestampMicrosecondType};
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use rayon::prelude::*;
use reviewlake_lake::{Lake, TableRewrite, Zone, plain_strings};
use reviewlake_schema::features as ft;
use reviewlake_warehouse::parse::{civil_from_days, weekday_from_days};
use serde::Serialize;

use crate::kpi::{self, Grain, Group, KpiRow, ReviewAgg};
use crate::vader::SentimentAnalyzer;
use crate::{FeaturesError, Result};

const DAY_US: i64 = 86_400_000_000;
const HOUR_US: i64 = 3_600_000_000;

/// Options of a features build.
#[derive(Debug, Clone, Default)]
pub struct FeaturesOptions {
    /// Log progress (per table) through `tracing`.
    pub progress: bool,
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
        write!(f, "built in {:.2} s", self.seconds)
    }
}

fn qerr(sql: &str) -> impl FnOnce(datafusion::error::DataFusionError) -> FeaturesError {
    let sql = sql.to_string();
    move |e| FeaturesError::Query {
        sql,
        source: Box::new(e),
    }
}

async fn collect(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    let b = ctx
        .sql(sql)
        .await
        .map_err(qerr(sql))?
        .collect()
        .await
        .map_err(qerr(sql))?;
    b.iter()
        .map(|x| plain_strings(x).map_err(FeaturesError::from))
        .collect()
}

/// Casts a query batch to `schema` (columns by position).
fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let cols: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| cast(c, f.data_type()))
        .collect::<Result<_, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), cols)?)
}

struct Run<'a> {
    lake: &'a Lake,
    ctx: SessionContext,
    run_id: String,
    report: FeaturesReport,
}

impl Run<'_> {
    async fn open(&self, name: &str, schema: SchemaRef) -> Result<TableRewrite> {
        Ok(TableRewrite::open(self.lake, Zone::Features, name, schema, &self.run_id).await?)
    }

    async fn commit(&mut self, sink: TableRewrite) -> Result<()> {
        let name = sink.name().to_string();
        let rows = sink.commit(self.lake).await?;
        self.report.tables.insert(name.clone(), rows);
        self.lake.register(&self.ctx, Zone::Features, &name).await?;
        Ok(())
    }

    /// Runs `sql` and writes its result as table `name` (columns by position).
    async fn write_sql(&mut self, name: &str, schema: SchemaRef, sql: &str) -> Result<()> {
        tracing::info!(table = name, "features");
        let mut sink = self.open(name, schema.clone()).await?;
        let mut stream = self
            .ctx
            .sql(sql)
            .await
            .map_err(qerr(sql))?
            .execute_stream()
            .await
            .map_err(qerr(sql))?;
        while let Some(b) = stream.next().await {
            let b = b.map_err(qerr(sql))?;
            let b = conform(&plain_strings(&b)?, &schema)?;
            sink.write(self.lake, b).await?;
        }
        self.commit(sink).await
    }
}

/// Builds every features table of `lake` from its warehouse.
pub async fn build(lake: &Lake, _opts: &FeaturesOptions) -> Result<FeaturesReport> {
    let t0 = Instant::now();
    let ctx = lake.session().await?;
    for t in [
        "fact_review",
        "dim_business",
        "business_category",
        "dim_user",
    ] {
        if !ctx.table_exist(t).map_err(qerr(t))? {
            return Err(FeaturesError::MissingTable(t.into()));
        }
    }
    let run_id = format!(
        "{}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let mut run = Run {
        lake,
        ctx,
        run_id,
        report: FeaturesReport::default(),
    };
    let t_score = Instant::now();
    review_features(&mut run).await?;
    tip_features(&mut run).await?;
    let scored = run.report.reviews_scored + run.report.tips_scored;
    run.report.texts_per_second = scored as f64 / t_score.elapsed().as_secs_f64().max(1e-9);
    derived_tables(&mut run).await?;
    kpis(&mut run).await?;
    run.report.seconds = t0.elapsed().as_secs_f64();
    Ok(run.report)
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
    let newest = collect(&run.ctx, "SELECT max(review_ts) AS m FROM fact_review").await?;
    let newest = newest
        .first()
        .and_then(|b| b.column(0).as_primitive_opt::<TimestampMicrosecondType>())
        .filter(|a| !a.is_empty() && !a.is_null(0))
        .map(|a| a.value(0))
        .unwrap_or(0);
    let sql = "SELECT review_key, source, business_key, user_key, state, review_ts, date_key, \
               stars, text, useful, funny, cool, has_response, response_ts FROM fact_review";
    let schema = ft::review_features();
    let mut sink = run.open(ft::REVIEW_FEATURES, schema.clone()).await?;
    let mut stream = run
        .ctx
        .sql(sql)
        .await
        .map_err(qerr(sql))?
        .execute_stream()
        .await
        .map_err(qerr(sql))?;
    while let Some(b) = stream.next().await {
        let b = plain_strings(&b.map_err(qerr(sql))?)?;
        let n = b.num_rows();
        let ts = b.column(5).as_primitive::<TimestampMicrosecondType>();
        let texts = b.column(8).as_string::<i32>();
        let scores = score(texts);
        run.report.reviews_scored += scores.iter().filter(|s| s.is_some()).count() as u64;
        let votes: Vec<Option<i64>> = (0..n)
            .map(|i| {
                let vals: Vec<i64> = [9, 10, 11]
                    .iter()
                    .map(|&c| b.column(c).as_primitive::<Int64Type>())
                    .filter(|a| !a.is_null(i))
                    .map(|a| a.value(i))
                    .collect();
                (!vals.is_empty()).then(|| vals.iter().sum())
            })
            .collect();
        let resp = b.column(13).as_primitive::<TimestampMicrosecondType>();
        let civil: Vec<(i32, u32, u32)> = (0..n)
            .map(|i| civil_from_days(ts.value(i).div_euclid(DAY_US)))
            .collect();
        let [neg, neu, pos, compound, words] = score_columns(&scores);
        let cols: Vec<ArrayRef> = vec![
            b.column(0).clone(),
            b.column(1).clone(),
            b.column(2).clone(),
            b.column(3).clone(),
            b.column(4).clone(),
            b.column(5).clone(),
            b.column(6).clone(),
            b.column(7).clone(),
            neg,
            neu,
            pos,
            compound,
            words,
            Arc::new(Int32Array::from_iter_values(civil.iter().map(|c| c.0))),
            Arc::new(Int32Array::from_iter_values(
                civil.iter().map(|c| c.1 as i32),
            )),
            Arc::new(Int32Array::from_iter_values((0..n).map(|i| {
                weekday_from_days(ts.value(i).div_euclid(DAY_US)) as i32
            }))),
            Arc::new(Int32Array::from_iter_values(
                (0..n).map(|i| (ts.value(i).rem_euclid(DAY_US) / HOUR_US) as i32),
            )),
            Arc::new(Int32Array::from_iter_values(
                (0..n).map(|i| ((newest - ts.value(i)).max(0) / DAY_US) as i32),
            )),
            Arc::new(Int64Array::from(votes)),
            b.column(12).clone(),
            Arc::new(Float64Array::from(
                (0..n)
                    .map(|i| {
                        (!resp.is_null(i))
                            .then(|| (resp.value(i) - ts.value(i)) as f64 / HOUR_US as f64)
                    })
                    .collect::<Vec<_>>(),
            )),
        ];
        let out = conform(
            &RecordBatch::try_new_with_options(
                Arc::new(arrow::datatypes::Schema::new(
                    schema
                        .fields()
                        .iter()
                        .zip(&cols)
                        .map(|(f, c)| {
                            f.as_ref()
                                .clone()
                                .with_data_type(c.data_type().clone())
                                .with_nullable(true)
                        })
                        .collect::<Vec<_>>(),
                )),
                cols,
                &Default::default(),
            )?,
            &schema,
        )?;
        sink.write(run.lake, out).await?;
    }
    run.commit(sink).await
}

async fn tip_features(run: &mut Run<'_>) -> Result<()> {
    let schema = ft::tip_features();
    let mut sink = run.open(ft::TIP_FEATURES, schema.clone()).await?;
    if run.ctx.table_exist("fact_tip").map_err(qerr("fact_tip"))? {
        let sql = "SELECT tip_key, business_key, user_key, tip_ts, text FROM fact_tip";
        let mut stream = run
            .ctx
            .sql(sql)
            .await
            .map_err(qerr(sql))?
            .execute_stream()
            .await
            .map_err(qerr(sql))?;
        while let Some(b) = stream.next().await {
            let b = plain_strings(&b.map_err(qerr(sql))?)?;
            let scores = score(b.column(4).as_string::<i32>());
            run.report.tips_scored += scores.iter().filter(|s| s.is_some()).count() as u64;
            let [neg, neu, pos, compound, words] = score_columns(&scores);
            let ts: &TimestampMicrosecondArray = b.column(3).as_primitive();
            let cols: Vec<ArrayRef> = vec![
                b.column(0).clone(),
                b.column(1).clone(),
                b.column(2).clone(),
                Arc::new(ts.clone().with_timezone("UTC")),
                neg,
                neu,
                pos,
                compound,
                words,
            ];
            sink.write(run.lake, RecordBatch::try_new(schema.clone(), cols)?)
                .await?;
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

    // Check-ins by business, year and hour.
    let has_checkins = run
        .ctx
        .table_exist("fact_checkin")
        .map_err(qerr("fact_checkin"))?;
    let checkins_src = if has_checkins {
        "fact_checkin"
    } else {
        "(SELECT CAST(NULL AS BIGINT) AS business_key, \
          CAST(NULL AS TIMESTAMP) AS checkin_ts WHERE false)"
    };
    run.write_sql(
        ft::BUSINESS_CHECKINS,
        ft::business_checkins(),
        &format!(
            "SELECT business_key, CAST(date_part('year', checkin_ts) AS INT) AS year, \
               CAST(date_part('hour', checkin_ts) AS INT) AS hour, count(*) AS checkins \
             FROM {checkins_src} GROUP BY 1, 2, 3"
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
        .map(|c| format!("coalesce(oh.cat_{c}, 0)"))
        .collect::<Vec<_>>()
        .join(", ");
    let tips = if run
        .ctx
        .table_exist("tip_features")
        .map_err(qerr("tip_features"))?
    {
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
         chk AS (SELECT business_key, sum(checkins) AS checkins FROM business_checkins \
           GROUP BY business_key), \
         peak AS (SELECT business_key, hour FROM (SELECT business_key, hour, \
            row_number() OVER (PARTITION BY business_key ORDER BY sum(checkins) DESC, hour) AS rn \
            FROM business_checkins GROUP BY business_key, hour) WHERE rn = 1), \
         tips AS ({tips}), \
         oh AS (SELECT bc.business_key, {onehot} FROM business_category bc GROUP BY bc.business_key) \
         SELECT b.business_key, b.source, b.name, b.state, b.city, b.latitude, b.longitude, \
           b.price_level, b.is_restaurant, coalesce(agg.reviews, 0), agg.mean_stars, \
           agg.mean_sentiment, trend.stars_trend, trend.sentiment_trend, \
           coalesce(trend.volume_trend, 0.0), \
           CASE WHEN agg.reviews IS NULL THEN NULL ELSE agg.reviews / CAST(( \
             (date_part('year', agg.last_review) - date_part('year', agg.first_review)) * 12 \
             + date_part('month', agg.last_review) - date_part('month', agg.first_review) + 1) \
             AS DOUBLE) END, \
           rep.repeat_share, agg.response_rate, agg.first_review, agg.last_review, \
           coalesce(chk.checkins, 0), peak.hour, tips.tip_sentiment, {cat_cols} \
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
         SELECT u.user_key, u.source, coalesce(agg.reviews, 0), coalesce(agg.businesses, 0), \
           agg.mean_rating, agg.rating_bias, agg.mean_sentiment, agg.first_review, agg.last_review, \
           coalesce(CAST((CAST(agg.last_review AS BIGINT) - CAST(agg.first_review AS BIGINT)) \
             / 86400000000 AS INT), 0), \
           cardinality(u.elite_years), u.friend_count, u.fans, u.is_inferred \
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

fn opt_string(b: &RecordBatch, c: usize, i: usize) -> Option<String> {
    let a = b.column(c).as_string::<i32>();
    (!a.is_null(i)).then(|| a.value(i).to_string())
}

fn opt_f64(b: &RecordBatch, c: usize, i: usize) -> Option<f64> {
    let a = b.column(c).as_primitive::<arrow::datatypes::Float64Type>();
    (!a.is_null(i)).then(|| a.value(i))
}

async fn kpis(run: &mut Run<'_>) -> Result<()> {
    // One grain at a time: its aggregates and rows are dropped once written.
    let schema = ft::kpi();
    let mut sink = run.open(ft::KPI, schema.clone()).await?;
    for g in Grain::ALL {
        let mut rows: Vec<KpiRow> = Vec::new();
        let sql = kpi_query(g);
        let mut aggs: HashMap<Group, ReviewAgg> = HashMap::new();
        for b in collect(&run.ctx, &sql).await? {
            let b = conform(
                &b,
                &Arc::new(arrow::datatypes::Schema::new(vec![
                    arrow::datatypes::Field::new("p", arrow::datatypes::DataType::Date32, true),
                    arrow::datatypes::Field::new("state", arrow::datatypes::DataType::Utf8, true),
                    arrow::datatypes::Field::new(
                        "category",
                        arrow::datatypes::DataType::Utf8,
                        true,
                    ),
                    arrow::datatypes::Field::new("source", arrow::datatypes::DataType::Utf8, true),
                    arrow::datatypes::Field::new(
                        "business_key",
                        arrow::datatypes::DataType::Int64,
                        true,
                    ),
                    arrow::datatypes::Field::new(
                        "reviews",
                        arrow::datatypes::DataType::Int64,
                        true,
                    ),
                    arrow::datatypes::Field::new(
                        "mean_stars",
                        arrow::datatypes::DataType::Float64,
                        true,
                    ),
                    arrow::datatypes::Field::new(
                        "mean_sentiment",
                        arrow::datatypes::DataType::Float64,
                        true,
                    ),
                    arrow::datatypes::Field::new(
                        "reviewers",
                        arrow::datatypes::DataType::Int64,
                        true,
                    ),
                    arrow::datatypes::Field::new(
                        "returning",
                        arrow::datatypes::DataType::Int64,
                        true,
                    ),
                ])),
            )?;
            let p = b.column(0).as_primitive::<arrow::datatypes::Date32Type>();
            let biz = b.column(4).as_primitive::<Int64Type>();
            let i64s = |c: usize, i: usize| b.column(c).as_primitive::<Int64Type>().value(i);
            for i in 0..b.num_rows() {
                aggs.insert(
                    Group {
                        grain: g,
                        period_start: p.value(i),
                        state: opt_string(&b, 1, i),
                        category: opt_string(&b, 2, i),
                        source: opt_string(&b, 3, i),
                        business_key: (!biz.is_null(i)).then(|| biz.value(i)),
                    },
                    ReviewAgg {
                        reviews: i64s(5, i),
                        mean_stars: opt_f64(&b, 6, i),
                        mean_sentiment: opt_f64(&b, 7, i),
                        reviewers: i64s(8, i),
                        returning: i64s(9, i),
                    },
                );
            }
        }
        rows.extend(kpi::kpi_rows(&aggs));
        drop(aggs);
        rows.extend(checkin_kpis(run, g).await?);
        write_kpi_rows(run, &mut sink, &schema, &rows).await?;
    }
    run.commit(sink).await
}

async fn write_kpi_rows(
    run: &Run<'_>,
    sink: &mut TableRewrite,
    schema: &SchemaRef,
    rows: &[KpiRow],
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
        ];
        sink.write(run.lake, RecordBatch::try_new(schema.clone(), cols)?)
            .await?;
    }
    Ok(())
}

/// Check-in retention rows of one grain (Yelp check-ins; overall, by state, by category
/// and by state and category).
async fn checkin_kpis(run: &Run<'_>, g: Grain) -> Result<Vec<KpiRow>> {
    if !run
        .ctx
        .table_exist("fact_checkin")
        .map_err(qerr("fact_checkin"))?
    {
        return Ok(Vec::new());
    }
    let u = g.as_str();
    let sql = format!(
        "SELECT DISTINCT CAST(date_trunc('{u}', checkin_ts) AS DATE) AS p, business_key, state \
         FROM fact_checkin"
    );
    let mut cats: HashMap<i64, Vec<String>> = HashMap::new();
    for b in collect(
        &run.ctx,
        "SELECT business_key, category FROM business_category",
    )
    .await?
    {
        let k = b.column(0).as_primitive::<Int64Type>();
        let c = b.column(1).as_string::<i32>();
        for i in 0..b.num_rows() {
            cats.entry(k.value(i))
                .or_default()
                .push(c.value(i).to_string());
        }
    }
    let mut active: HashMap<Group, HashSet<i64>> = HashMap::new();
    for b in collect(&run.ctx, &sql).await? {
        let p = b.column(0).as_primitive::<arrow::datatypes::Date32Type>();
        let k = b.column(1).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            let state = opt_string(&b, 2, i);
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
