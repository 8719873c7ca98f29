//! The build: raw tables -> cleaned star schema.

mod business;
mod classify;
mod columns;
mod facts;
mod users;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray,
};
use reviewlake_lake::{Lake, QuerySession, Stage};
use reviewlake_schema::Reason;
use reviewlake_schema::col;
use reviewlake_schema::progress::{Reporter, Unit};
use reviewlake_schema::warehouse as wh;

use crate::keys::{self, Source};
use crate::report::{SourceReport, WarehouseReport};
use crate::taxonomy::Taxonomy;
use crate::{CategoryScope, GdpSource, Result, StateScope, WarehouseError, WarehouseOptions};
use crate::{gdp, parse, states};
use reviewlake_lake::TableRewrite as TableSink;

/// The progress task of the warehouse build (unit: raw rows read).
const TASK: &str = "warehouse";

/// Rows per output batch.
pub(crate) const BATCH_ROWS: usize = 8192;

/// The columns a fact builder's query joins from `business_scope` (see
/// [`Build::scope_sql`]).
pub(crate) const SCOPE_COLUMNS: [&str; 3] = ["__bkey", "__bstate", "__bin"];

/// The business a fact points at: its key and state.
pub(crate) struct Biz<'a> {
    pub key: i64,
    pub state: Option<&'a str>,
}

/// The [`SCOPE_COLUMNS`] of a batch.
pub(crate) struct ScopeCols {
    key: Int64Array,
    state: StringArray,
    in_scope: BooleanArray,
}

impl ScopeCols {
    pub(crate) fn of(batch: &RecordBatch, table: &str) -> Result<ScopeCols> {
        let c = crate::read::Cols::new(batch, table);
        Ok(ScopeCols {
            key: c.i64(SCOPE_COLUMNS[0])?.clone(),
            state: c.str(SCOPE_COLUMNS[1])?.clone(),
            in_scope: c.bool(SCOPE_COLUMNS[2])?.clone(),
        })
    }

    /// The business of row `i`, or the reason its fact is not carried.
    pub(crate) fn at(&self, i: usize) -> std::result::Result<Biz<'_>, Reason> {
        if self.key.is_null(i) {
            return Err(Reason::UnknownBusiness);
        }
        if self.in_scope.is_null(i) || !self.in_scope.value(i) {
            return Err(Reason::BusinessOutOfScope);
        }
        Ok(Biz {
            key: self.key.value(i),
            state: crate::read::opt_str(&self.state, i),
        })
    }
}

/// The shared state of one build.
pub(crate) struct Build<'a> {
    pub lake: &'a Lake,
    pub run_id: String,
    pub taxonomy: &'static Taxonomy,
    pub states: Option<HashSet<String>>,
    /// Indices of the shared categories in scope (`None` = all).
    pub categories: Option<HashSet<usize>>,
    pub quarantine: QuarantineRows,
    /// `warehouse_quarantine`, written as refused rows accumulate (a batch at a time).
    pub quarantine_sink: Option<TableSink>,
    pub sources: Vec<SourceReport>,
    pub tables: BTreeMap<String, u64>,
    pub inferred_users: u64,
    /// The raw zone of the snapshot the build reads.
    pub raw: QuerySession,
    pub progress: Reporter,
}

impl Build<'_> {
    pub(crate) fn phase(&self, msg: &str) {
        self.progress.note(TASK, msg);
        tracing::info!("warehouse: {msg}");
    }

    /// After each raw batch: progress, and the refused rows so far written out once a
    /// batch of them has gathered (the build never holds them all).
    pub(crate) async fn tick(&mut self, rows: u64) -> Result<()> {
        self.progress.advance(TASK, rows);
        if self.quarantine.len() >= BATCH_ROWS {
            self.flush_quarantine().await?;
        }
        Ok(())
    }

    async fn flush_quarantine(&mut self) -> Result<()> {
        if self.quarantine.len() == 0 {
            return Ok(());
        }
        let q = std::mem::take(&mut self.quarantine);
        if self.quarantine_sink.is_none() {
            self.quarantine_sink = Some(self.sink(wh::WAREHOUSE_QUARANTINE).await?);
        }
        if let Some(sink) = self.quarantine_sink.as_mut() {
            sink.write(q.batch()?).await?;
        }
        Ok(())
    }

    pub(crate) async fn sink(&self, name: &'static str) -> Result<TableSink> {
        let schema = wh::schema_of(name)
            .ok_or_else(|| WarehouseError::Internal(format!("no schema for {name}")))?;
        Ok(TableSink::open(
            self.lake,
            reviewlake_lake::Zone::Warehouse,
            name,
            schema,
            &self.run_id,
        )
        .await?)
    }

    /// Commits `sink` and registers the committed table in the build's session under
    /// its name: the later steps of the build query it from there.
    pub(crate) async fn finish(&mut self, sink: TableSink) -> Result<()> {
        let name = sink.name().to_string();
        let (rows, _) = sink.commit().await?;
        self.raw
            .refresh(reviewlake_lake::Zone::Warehouse, &name)
            .await?;
        self.tables.insert(name, rows);
        Ok(())
    }

    pub(crate) fn state_in_scope(&self, state: Option<&str>) -> bool {
        match (&self.states, state) {
            (None, _) => true,
            (Some(set), Some(s)) => set.contains(s),
            (Some(_), None) => false,
        }
    }

    pub(crate) fn categories_in_scope(&self, cats: &[usize]) -> bool {
        match &self.categories {
            None => true,
            Some(set) => cats.iter().any(|c| set.contains(c)),
        }
    }

    /// Fails if two rows of `table` (just committed and refreshed into the build's
    /// session) share the values of the SQL expressions `cols`: one aggregate.
    pub(crate) async fn check_unique(&self, table: &str, cols: &str) -> Result<()> {
        let sql = format!("SELECT {cols} FROM {table} GROUP BY {cols} HAVING count(*) > 1 LIMIT 1");
        let n: usize = self.collect(&sql).await?.iter().map(|b| b.num_rows()).sum();
        if n > 0 {
            return Err(WarehouseError::Internal(format!(
                "{table}: more than one row for one ({cols})"
            )));
        }
        Ok(())
    }

    /// Runs `sql` over the build's session, whole (for small results).
    pub(crate) async fn collect(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        self.raw.collect(sql).await.map_err(|e| match e {
            reviewlake_lake::LakeError::Query(q) => WarehouseError::Query {
                sql: sql.to_string(),
                source: q,
            },
            other => WarehouseError::Lake(other),
        })
    }

    /// The admitted businesses of `source` (`business_scope`), as SQL with the columns
    /// `__bid` (source id), `__bkey`, `__bstate` and `__bin` (in scope): the side a
    /// fact builder joins its raw rows to.
    pub(crate) fn scope_sql(&self, source: Source) -> String {
        format!(
            "SELECT {id} AS __bid, {k} AS __bkey, {st} AS __bstate, {ins} AS __bin \
             FROM {t} WHERE {src} = '{s}'",
            id = col::SOURCE_ID,
            k = col::BUSINESS_KEY,
            st = col::STATE,
            ins = col::IN_SCOPE,
            t = wh::BUSINESS_SCOPE,
            src = col::SOURCE,
            s = source.as_str(),
        )
    }

    /// Fails if two source ids of dimension `table` (just committed) hash to one key:
    /// one aggregate over the table, not a map of every key.
    pub(crate) async fn check_keys(&self, table: &str, key: &str) -> Result<()> {
        let id = format!("concat({}, ':', {})", col::SOURCE, col::SOURCE_ID);
        let sql = format!(
            "SELECT k, a, b FROM (SELECT {key} AS k, min({id}) AS a, max({id}) AS b \
             FROM {table} GROUP BY {key}) WHERE a <> b LIMIT 1"
        );
        let batches = self.collect(&sql).await?;
        if let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) {
            let c = crate::read::Cols::new(batch, table);
            return Err(WarehouseError::KeyCollision {
                table: table.into(),
                a: c.str("a")?.value(0).to_string(),
                b: c.str("b")?.value(0).to_string(),
                key: c.i64("k")?.value(0),
            });
        }
        Ok(())
    }
}

/// Rows refused by cleaning, on their way to `warehouse_quarantine`.
#[derive(Default)]
pub(crate) struct QuarantineRows {
    table: Vec<String>,
    file: Vec<String>,
    line: Vec<i64>,
    reason: Vec<String>,
    detail: Vec<Option<String>>,
    record: Vec<Option<String>>,
}

impl QuarantineRows {
    fn len(&self) -> usize {
        self.table.len()
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push(
        &mut self,
        report: &mut SourceReport,
        batch: &RecordBatch,
        row: usize,
        file: &str,
        line: i64,
        reason: Reason,
        detail: Option<String>,
    ) {
        report.quarantine(reason);
        self.table.push(report.table.clone());
        self.file.push(file.to_string());
        self.line.push(line);
        self.reason.push(reason.as_str().to_string());
        self.detail.push(detail);
        self.record.push(row_json(batch, row));
    }

    fn batch(self) -> Result<RecordBatch> {
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(self.table)),
            Arc::new(StringArray::from(self.file)),
            Arc::new(Int64Array::from(self.line)),
            Arc::new(StringArray::from(self.reason)),
            Arc::new(StringArray::from(self.detail)),
            Arc::new(StringArray::from(self.record)),
        ];
        Ok(RecordBatch::try_new(wh::warehouse_quarantine(), cols)?)
    }
}

/// Row `i` of `batch` as one JSON object (lineage columns included).
fn row_json(batch: &RecordBatch, i: usize) -> Option<String> {
    let one = batch.slice(i, 1);
    let mut buf = Vec::new();
    {
        let mut w = arrow_json::LineDelimitedWriter::new(&mut buf);
        w.write(&one).ok()?;
        w.finish().ok()?;
    }
    String::from_utf8(buf)
        .ok()
        .map(|s| s.trim_end().to_string())
}

/// Builds the warehouse of `lake` (see the crate docs) from the raw zone of the latest
/// snapshot. Takes the lake's writer lease; the new tables become visible to readers
/// together, in one catalog snapshot committed after every raw table reconciles.
pub async fn build(lake: &Lake, opts: &WarehouseOptions) -> Result<WarehouseReport> {
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
    opts: &WarehouseOptions,
    run_id: String,
) -> Result<WarehouseReport> {
    let t0 = Instant::now();
    let taxonomy = Taxonomy::embedded();
    let progress = opts.reporter.clone();
    let raw = lake.session_zones(&[reviewlake_lake::Zone::Raw]).await?;
    for f in crate::udf::all() {
        raw.register_udf(f);
    }
    progress.start(TASK, None, Unit::Rows);

    // 1. GDP and the state scope.
    let (gdp_origin, html) = match &opts.gdp {
        GdpSource::Offline => (
            "offline copy (crates/warehouse/data/gdp_by_state_wikipedia.html)".to_string(),
            gdp::OFFLINE_PAGE.to_string(),
        ),
        GdpSource::Html { origin, html } => (origin.clone(), html.clone()),
    };
    let gdp_rows = gdp::parse_gdp_html(&html)?;
    let states_scope: Option<HashSet<String>> = match &opts.states {
        StateScope::All => None,
        StateScope::States(v) => Some(v.iter().map(|s| s.to_ascii_uppercase()).collect()),
        StateScope::TopGdp(n) => {
            let top = gdp::top_states(&gdp_rows, *n);
            if top.len() < *n {
                return Err(WarehouseError::Option(format!(
                    "--top-gdp {n}: the GDP table has only {} US states",
                    top.len()
                )));
            }
            Some(top.into_iter().collect())
        }
    };
    let categories_scope = match &opts.categories {
        CategoryScope::All => None,
        CategoryScope::FoodRelated => Some(
            taxonomy
                .categories()
                .iter()
                .enumerate()
                .filter(|(_, c)| c.food_related)
                .map(|(i, _)| i)
                .collect(),
        ),
        CategoryScope::Named(names) => {
            let mut set = HashSet::new();
            for n in names {
                let i = taxonomy
                    .index_of(n)
                    .ok_or_else(|| WarehouseError::Option(format!("unknown category {n:?}")))?;
                set.insert(i);
            }
            Some(set)
        }
    };

    let mut b = Build {
        lake,
        run_id,
        taxonomy,
        states: states_scope,
        categories: categories_scope,
        quarantine: QuarantineRows::default(),
        quarantine_sink: None,
        sources: Vec::new(),
        tables: BTreeMap::new(),
        inferred_users: 0,
        raw,
        progress,
    };

    b.phase("state_gdp");
    write_state_gdp(&mut b, &gdp_rows, &gdp_origin).await?;
    b.phase("dim_category");
    write_dim_category(&mut b).await?;

    business::build_businesses(&mut b).await?;
    b.check_keys(wh::DIM_BUSINESS, col::BUSINESS_KEY).await?;
    classify::build_reviews(&mut b).await?;
    classify::build_tips(&mut b).await?;
    facts::build_checkins(&mut b).await?;
    users::build_users(&mut b).await?;
    b.check_keys(wh::DIM_USER, col::USER_KEY).await?;

    b.phase("dim_location, dim_date");
    write_dim_location(&mut b).await?;
    let days = fact_day_range(&b).await?;
    write_dim_date(&mut b, days).await?;

    b.phase("warehouse_quarantine");
    b.flush_quarantine().await?;
    let sink = match b.quarantine_sink.take() {
        Some(s) => s,
        None => b.sink(wh::WAREHOUSE_QUARANTINE).await?,
    };
    b.finish(sink).await?;

    let mut report = WarehouseReport {
        states: b.states.as_ref().map(|s| {
            let mut v: Vec<String> = s.iter().cloned().collect();
            v.sort();
            v
        }),
        categories: opts.categories.describe(),
        gdp_top: gdp_rows
            .iter()
            .take(10)
            .map(|r| {
                (
                    r.state_abbr.clone().unwrap_or_else(|| r.state_name.clone()),
                    r.gdp_millions_usd,
                )
            })
            .collect(),
        gdp_source: gdp_origin,
        sources: std::mem::take(&mut b.sources),
        tables: BTreeMap::new(),
        inferred_users: b.inferred_users,
        snapshot: None,
        seconds: 0.0,
    };
    if opts.inject_reconciliation_failure
        && let Some(s) = report.sources.first_mut()
    {
        s.read += 1;
    }
    for s in &report.sources {
        if !s.reconciles() {
            return Err(WarehouseError::Internal(format!(
                "{} does not reconcile: read {} != carried {} + dropped {} + quarantined {}",
                s.table,
                s.read,
                s.carried,
                s.dropped_total(),
                s.quarantined_total()
            )));
        }
    }
    // The report table is committed last: its presence marks a complete build.
    b.phase("build_report");
    let mut sink = b.sink(wh::BUILD_REPORT).await?;
    sink.write(report_batch(&report)?).await?;
    b.finish(sink).await?;
    report.tables = std::mem::take(&mut b.tables);
    // Every table is written and reconciled: make the build visible, all at once.
    report.snapshot = Some(lake.commit_snapshot(Stage::Warehouse).await?.id);
    report.seconds = t0.elapsed().as_secs_f64();
    b.progress.finish(TASK);
    Ok(report)
}

async fn write_state_gdp(b: &mut Build<'_>, rows: &[gdp::StateGdp], origin: &str) -> Result<()> {
    let mut abbr = Vec::new();
    let mut name = Vec::new();
    let mut value = Vec::new();
    let mut year = Vec::new();
    let mut rank = Vec::new();
    let mut src = Vec::new();
    for r in rows {
        let Some(a) = r.state_abbr.clone() else {
            continue;
        };
        abbr.push(a);
        name.push(r.state_name.clone());
        value.push(r.gdp_millions_usd);
        year.push(r.year);
        rank.push(r.rank as i32);
        src.push(origin.to_string());
    }
    let batch = RecordBatch::try_new(
        wh::state_gdp(),
        vec![
            Arc::new(StringArray::from(abbr)),
            Arc::new(StringArray::from(name)),
            Arc::new(Float64Array::from(value)),
            Arc::new(Int32Array::from(year)),
            Arc::new(Int32Array::from(rank)),
            Arc::new(StringArray::from(src)),
        ],
    )?;
    let mut sink = b.sink(wh::STATE_GDP).await?;
    sink.write(batch).await?;
    b.finish(sink).await
}

async fn write_dim_category(b: &mut Build<'_>) -> Result<()> {
    let cats = b.taxonomy.categories();
    let batch = RecordBatch::try_new(
        wh::dim_category(),
        vec![
            Arc::new(Int64Array::from_iter_values(
                cats.iter().map(|c| keys::category_key(&c.name)),
            )),
            Arc::new(StringArray::from_iter_values(cats.iter().map(|c| &*c.name))),
            Arc::new(StringArray::from_iter_values(
                cats.iter().map(|c| c.kind.as_str()),
            )),
            Arc::new(BooleanArray::from(
                cats.iter().map(|c| c.food_related).collect::<Vec<_>>(),
            )),
        ],
    )?;
    let mut sink = b.sink(wh::DIM_CATEGORY).await?;
    sink.write(batch).await?;
    b.finish(sink).await
}

/// dim_location: the (state, city) pairs of `dim_business`, one plan (the rows are
/// few: one per city).
async fn write_dim_location(b: &mut Build<'_>) -> Result<()> {
    let sql = format!(
        "SELECT DISTINCT {lk}, {st}, {ci} FROM {t} ORDER BY {lk}, {st}, {ci}",
        lk = col::LOCATION_KEY,
        st = col::STATE,
        ci = col::CITY,
        t = wh::DIM_BUSINESS,
    );
    let mut sink = b.sink(wh::DIM_LOCATION).await?;
    for batch in b.collect(&sql).await? {
        let c = crate::read::Cols::new(&batch, wh::DIM_BUSINESS);
        let (key, state, city) = (
            c.i64(col::LOCATION_KEY)?,
            c.str(col::STATE)?,
            c.str(col::CITY)?,
        );
        let region = |i: usize| crate::read::opt_str(state, i).and_then(states::by_abbr);
        let n = batch.num_rows();
        let out = RecordBatch::try_new(
            wh::dim_location(),
            vec![
                Arc::new(key.clone()),
                Arc::new(state.clone()),
                Arc::new(StringArray::from_iter(
                    (0..n).map(|i| region(i).map(|r| r.name)),
                )),
                Arc::new(StringArray::from_iter(
                    (0..n).map(|i| region(i).map(|r| r.country)),
                )),
                Arc::new(city.clone()),
            ],
        )?;
        sink.write(out).await?;
    }
    b.finish(sink).await
}

/// The first and last day (days since the epoch) of any dated fact: one aggregate over
/// the fact tables just committed.
async fn fact_day_range(b: &Build<'_>) -> Result<Option<(i64, i64)>> {
    let mut parts = Vec::new();
    for (t, ts) in [
        (wh::FACT_REVIEW, col::REVIEW_TS),
        (wh::FACT_TIP, col::TIP_TS),
        (wh::FACT_CHECKIN, col::CHECKIN_TS),
    ] {
        if b.tables.contains_key(t) {
            // Grouped by platform: an ungrouped min/max is answered from the Parquet
            // statistics (constant rows), a plan a Ballista 55 scheduler never finishes
            // ("task metrics array size ... does not equal ... stage metrics").
            parts.push(format!(
                "SELECT CAST(min({ts}) AS BIGINT) AS lo, CAST(max({ts}) AS BIGINT) AS hi \
                 FROM {t} GROUP BY {src}",
                src = col::SOURCE
            ));
        }
    }
    if parts.is_empty() {
        return Ok(None);
    }
    let sql = format!(
        "SELECT min(lo) AS lo, max(hi) AS hi FROM ({})",
        parts.join(" UNION ALL ")
    );
    for batch in b.collect(&sql).await? {
        let c = crate::read::Cols::new(&batch, "fact days");
        let (lo, hi) = (c.i64("lo")?, c.i64("hi")?);
        if batch.num_rows() > 0 && lo.is_valid(0) && hi.is_valid(0) {
            let day = |us: i64| us.div_euclid(86_400_000_000);
            return Ok(Some((day(lo.value(0)), day(hi.value(0)))));
        }
    }
    Ok(None)
}

async fn write_dim_date(b: &mut Build<'_>, days: Option<(i64, i64)>) -> Result<()> {
    let mut sink = b.sink(wh::DIM_DATE).await?;
    if let Some((lo, hi)) = days {
        let mut day = lo;
        while day <= hi {
            let end = (day + BATCH_ROWS as i64 - 1).min(hi);
            let days: Vec<i64> = (day..=end).collect();
            let civil: Vec<(i32, u32, u32)> =
                days.iter().map(|d| parse::civil_from_days(*d)).collect();
            let wd: Vec<i32> = days
                .iter()
                .map(|d| parse::weekday_from_days(*d) as i32)
                .collect();
            let batch = RecordBatch::try_new(
                wh::dim_date(),
                vec![
                    Arc::new(Int32Array::from_iter_values(
                        civil.iter().map(|(y, m, d)| keys::date_key(*y, *m, *d)),
                    )),
                    Arc::new(Date32Array::from_iter_values(
                        days.iter().map(|d| *d as i32),
                    )),
                    Arc::new(Int32Array::from_iter_values(civil.iter().map(|c| c.0))),
                    Arc::new(Int32Array::from_iter_values(
                        civil.iter().map(|c| (c.1 as i32 - 1) / 3 + 1),
                    )),
                    Arc::new(Int32Array::from_iter_values(
                        civil.iter().map(|c| c.1 as i32),
                    )),
                    Arc::new(Int32Array::from_iter_values(
                        civil.iter().map(|c| c.2 as i32),
                    )),
                    Arc::new(Int32Array::from(wd.clone())),
                    Arc::new(BooleanArray::from(
                        wd.iter().map(|w| *w >= 5).collect::<Vec<_>>(),
                    )),
                ],
            )?;
            sink.write(batch).await?;
            day = end + 1;
        }
    }
    b.finish(sink).await
}

fn report_batch(r: &WarehouseReport) -> Result<RecordBatch> {
    let mut t = Vec::new();
    let mut o = Vec::new();
    let mut reason = Vec::new();
    let mut n = Vec::new();
    let mut push = |table: &str, outcome: &str, why: &str, rows: u64| {
        t.push(table.to_string());
        o.push(outcome.to_string());
        reason.push(why.to_string());
        n.push(rows as i64);
    };
    for s in &r.sources {
        push(&s.table, "read", "", s.read);
        push(&s.table, "carried", "", s.carried);
        for (k, v) in &s.dropped {
            push(&s.table, "dropped", k, *v);
        }
        for (k, v) in &s.quarantined {
            push(&s.table, "quarantined", k, *v);
        }
        for (k, v) in &s.altered {
            push(&s.table, "altered", k, *v);
        }
        push(&s.table, "produced", "", s.produced);
    }
    Ok(RecordBatch::try_new(
        wh::build_report(),
        vec![
            Arc::new(StringArray::from(t)),
            Arc::new(StringArray::from(o)),
            Arc::new(StringArray::from(reason)),
            Arc::new(Int64Array::from(n)),
        ],
    )?)
}

/// `batch` without the columns `names` (a raw row as it was read, without what a
/// query joined to it).
pub(crate) fn without_columns(batch: &RecordBatch, names: &[&str]) -> Result<RecordBatch> {
    let keep: Vec<usize> = (0..batch.num_columns())
        .filter(|&i| !names.contains(&batch.schema().field(i).name().as_str()))
        .collect();
    Ok(batch.project(&keep)?)
}

/// The user key of a Yelp or Google user id.
pub(crate) fn user_key(source: Source, id: &str) -> i64 {
    keys::user_key(source, id)
}
