//! fact_checkin (fact_review and fact_tip: [`super::classify`]).
//!
//! It streams `yelp_checkin` joined with the admitted Yelp businesses
//! (`business_scope`): the business of a row comes with it, no map of businesses. The
//! rows explode into events and histogram cells in Rust (the cells of three releases'
//! formats).

use arrow::array::RecordBatch;
use reviewlake_schema::col;
use reviewlake_schema::{Reason, lineage, warehouse as wh};

use super::classify::{MAX_TS, MIN_TS};
use super::columns::*;
use super::{Biz, Build, SCOPE_COLUMNS, ScopeCols, without_columns};
use crate::dedupe::Losers;
use crate::keys::Source;
use crate::parse;
use crate::read::{Cols, RawTable, Rescued, RescuedCol, json_i64, opt_str};
use crate::report::SourceReport;
use crate::{Result, WarehouseError};

/// `SELECT <cols> FROM <table>` joined with the Yelp businesses admitted (the
/// [`SCOPE_COLUMNS`] beside the raw columns).
fn with_scope(b: &Build<'_>, table: &str, cols: &[&str]) -> String {
    let list = cols
        .iter()
        .map(|c| format!("r.\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {list}, s.__bkey, s.__bstate, s.__bin FROM ({scope}) s \
         RIGHT JOIN {table} r ON s.__bid = r.{id}",
        scope = b.scope_sql(Source::Yelp),
        id = col::BUSINESS_ID,
    )
}

/// fact_checkin rows of one batch.
#[derive(Default)]
struct CheckinRows {
    business_key: Vec<i64>,
    date_key: Vec<Option<i32>>,
    ts: Vec<Option<i64>>,
    state: Vec<Option<String>>,
    weekday: Vec<Option<i32>>,
    hour: Vec<Option<i32>>,
    checkins: Vec<Option<i64>>,
}

impl CheckinRows {
    /// One check-in event at `ts_us`.
    fn event(&mut self, biz: &Biz<'_>, ts_us: i64) {
        let day = ts_us.div_euclid(86_400_000_000);
        let hour = ts_us.rem_euclid(86_400_000_000) / 3_600_000_000;
        self.push(
            biz,
            Some(ts_us),
            parse::weekday_from_days(day),
            hour as u8,
            1,
        );
    }

    /// One hour-of-week histogram cell (no date).
    fn cell(&mut self, biz: &Biz<'_>, weekday: u8, hour: u8, count: i64) {
        self.push(biz, None, weekday, hour, count);
    }

    fn push(&mut self, biz: &Biz<'_>, ts_us: Option<i64>, weekday: u8, hour: u8, n: i64) {
        self.business_key.push(biz.key);
        self.date_key.push(ts_us.map(crate::udf::date_key_of));
        self.ts.push(ts_us);
        self.state.push(biz.state.map(str::to_string));
        self.weekday.push(Some(i32::from(weekday)));
        self.hour.push(Some(i32::from(hour)));
        self.checkins.push(Some(n));
    }

    fn batch(self) -> Result<RecordBatch> {
        let n = self.business_key.len();
        Ok(RecordBatch::try_new(
            wh::fact_checkin(),
            vec![
                utf8_nn(vec![Source::Yelp.as_str().to_string(); n]),
                i64_nn(self.business_key),
                i32s(self.date_key),
                ts(self.ts),
                utf8(self.state),
                i32s(self.weekday),
                i32s(self.hour),
                i64s(self.checkins),
            ],
        )?)
    }
}

/// The hour-of-week cells of a rescued check-in histogram, whichever release wrote it:
///
/// - 2013-2016, `"checkin_info": {"9-5": 1, "14-3": 2}`: `"hour-day"`, day 0 = Sunday;
/// - 2017, `"time": ["Fri-0:2", ...]`: `"Day-hour:count"`;
/// - 2018, `"time": {"Friday": {"20:00": 2, ...}, ...}`.
///
/// Returns (weekday 0 = Monday, hour, count) cells with a positive count, and the number
/// of entries that did not parse. A count of 0 is an empty cell, not an error.
fn histogram_cells(r: &Rescued<'_>) -> (Vec<(u8, u8, i64)>, u64) {
    use serde_json::Value;
    let mut cells = Vec::new();
    let mut bad = 0u64;
    let mut cell = |at: Option<(u8, u8)>, count: Option<i64>| match (at, count) {
        (Some((d, h)), Some(n)) if n > 0 => cells.push((d, h, n)),
        (Some(_), Some(0)) => {}
        _ => bad += 1,
    };
    if let Some(Value::Object(m)) = r.get("checkin_info") {
        for (k, v) in m {
            cell(parse::parse_checkin_info_key(k), json_i64(v));
        }
    }
    match r.get("time") {
        Some(Value::Object(days)) => {
            for (day, hours) in days {
                let d = parse::weekday_index(day);
                match hours {
                    Value::Object(hours) => {
                        for (h, v) in hours {
                            let at = d.zip(parse::parse_checkin_hour(h));
                            cell(at, json_i64(v));
                        }
                    }
                    _ => cell(None, None),
                }
            }
        }
        Some(Value::Array(items)) => {
            for item in items {
                match item.as_str().and_then(parse::parse_checkin_time_item) {
                    Some((d, h, n)) => cell(Some((d, h)), Some(n)),
                    None => cell(None, None),
                }
            }
        }
        Some(_) => cell(None, None),
        None => {}
    }
    (cells, bad)
}

pub(crate) async fn build_checkins(b: &mut Build<'_>) -> Result<()> {
    let name = "yelp_checkin";
    b.phase("fact_checkin: yelp_checkin");
    let mut sink = b.sink(wh::FACT_CHECKIN).await?;
    let raw = RawTable::open(&b.raw, name).await?;
    let mut rep = SourceReport::new(name);
    // The rescued fields are content: two histograms of one business are two records.
    let cols = [
        col::BUSINESS_ID,
        col::DATE,
        lineage::RESCUED_DATA,
        lineage::SOURCE_FILE,
        lineage::LINE,
    ];
    let mut el = Losers::by_content(&raw).await?;
    if raw.exists() {
        let mut s = raw.query(&with_scope(b, name, &cols)).await?;
        while let Some(full) = s.next().await? {
            let scope = ScopeCols::of(&full, name)?;
            let batch = without_columns(&full, &SCOPE_COLUMNS)?;
            let c = Cols::new(&batch, name);
            let (bid, date) = (c.str(col::BUSINESS_ID)?, c.str(col::DATE)?);
            let (file, line) = (c.str(lineage::SOURCE_FILE)?, c.i64(lineage::LINE)?);
            let resc = RescuedCol::of(&c)?;
            let mut out = CheckinRows::default();
            for i in 0..batch.num_rows() {
                rep.read += 1;
                let (f, l) = (file.value(i), line.value(i));
                if !el.keep(f, l) {
                    continue;
                }
                if !opt_str(bid, i).is_some_and(parse::is_yelp_id) {
                    let d = format!("business_id {:?}", opt_str(bid, i));
                    b.quarantine.push(
                        &mut rep,
                        &batch,
                        i,
                        f,
                        l,
                        Reason::MalformedBusinessId,
                        Some(d),
                    );
                    continue;
                }
                let biz = match scope.at(i) {
                    Ok(e) => e,
                    Err(reason) => {
                        rep.drop(reason);
                        continue;
                    }
                };
                rep.carried += 1;
                let before = out.business_key.len();
                let mut bad = 0u64;
                for item in opt_str(date, i)
                    .map(parse::split_list)
                    .into_iter()
                    .flatten()
                {
                    match parse::parse_yelp_timestamp(item).filter(|t| (MIN_TS..MAX_TS).contains(t))
                    {
                        Some(ts_us) => out.event(&biz, ts_us),
                        None => bad += 1,
                    }
                }
                rep.alter_n(Reason::UnparseableCheckinTimestamps, bad);
                let (cells, bad_cells) = histogram_cells(&resc.row(i));
                for (d, h, n) in cells {
                    out.cell(&biz, d, h, n);
                }
                rep.alter_n(Reason::UnparseableCheckinHistogram, bad_cells);
                rep.produced += (out.business_key.len() - before) as u64;
            }
            sink.write(out.batch()?).await?;
            b.tick(batch.num_rows() as u64).await?;
        }
    }
    let (same, other) = el.loser_counts();
    rep.drop_n(Reason::DuplicateLine, same + other);
    b.sources.push(rep);
    b.finish(sink).await
}

#[allow(dead_code)]
fn _assert_error_is_send(e: WarehouseError) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(e)
}
