//! fact_review, fact_tip and fact_checkin.

use arrow::array::{Array, AsArray, RecordBatch};
use reviewlake_schema::col;
use reviewlake_schema::{Reason, lineage, warehouse as wh};

use super::columns::*;
use super::{BATCH_ROWS, BizEntry, Build, date_of, user_key};
use crate::dedupe::Losers;
use crate::keys::{self, Source};
use crate::parse;
use crate::read::{Cols, RawTable, Rescued, RescuedCol, json_i64, opt_f64, opt_i64, opt_str};
use crate::report::SourceReport;
use crate::{Result, WarehouseError};
use reviewlake_lake::TableRewrite as TableSink;

/// Earliest and latest plausible review time (1990-01-01, 2100-01-01), µs.
const MIN_TS: i64 = 631_152_000_000_000;
const MAX_TS: i64 = 4_102_444_800_000_000;

#[derive(Default)]
struct ReviewRows {
    review_key: Vec<i64>,
    source: Vec<String>,
    source_review_id: Vec<String>,
    business_key: Vec<i64>,
    user_key: Vec<i64>,
    date_key: Vec<i32>,
    review_ts: Vec<i64>,
    stars: Vec<f64>,
    text: Vec<Option<String>>,
    state: Vec<Option<String>>,
    useful: Vec<Option<i64>>,
    funny: Vec<Option<i64>>,
    cool: Vec<Option<i64>>,
    votes_flagged: Vec<bool>,
    has_response: Vec<bool>,
    response_ts: Vec<Option<i64>>,
    response_text: Vec<Option<String>>,
    pic_count: Vec<Option<i32>>,
    file: Vec<String>,
    line: Vec<i64>,
}

impl ReviewRows {
    fn len(&self) -> usize {
        self.review_key.len()
    }
    fn take(&mut self) -> Result<RecordBatch> {
        let r = std::mem::take(self);
        Ok(RecordBatch::try_new(
            wh::fact_review(),
            vec![
                i64_nn(r.review_key),
                utf8_nn(r.source),
                utf8_nn(r.source_review_id),
                i64_nn(r.business_key),
                i64_nn(r.user_key),
                i32_nn(r.date_key),
                ts_nn(r.review_ts),
                f64_nn(r.stars),
                utf8(r.text),
                utf8(r.state),
                i64s(r.useful),
                i64s(r.funny),
                i64s(r.cool),
                bool_nn(r.votes_flagged),
                bool_nn(r.has_response),
                ts(r.response_ts),
                utf8(r.response_text),
                i32s(r.pic_count),
                utf8_nn(r.file),
                i64_nn(r.line),
            ],
        )?)
    }
}

async fn flush_if_full(sink: &mut TableSink, rows: &mut ReviewRows, force: bool) -> Result<()> {
    if rows.len() >= BATCH_ROWS || (force && rows.len() > 0) {
        let batch = rows.take()?;
        sink.write(batch).await?;
    }
    Ok(())
}

/// The business a fact points at, or the reason it is not carried.
fn business<'m>(
    map: &'m std::collections::HashMap<String, BizEntry>,
    id: &str,
) -> std::result::Result<&'m BizEntry, Reason> {
    match map.get(id) {
        None => Err(Reason::UnknownBusiness),
        Some(e) if !e.in_scope => Err(Reason::BusinessOutOfScope),
        Some(e) => Ok(e),
    }
}

fn votes(v: Option<i64>, flagged: &mut bool) -> Option<i64> {
    match v {
        Some(x) if x < 0 => {
            *flagged = true;
            None
        }
        other => other,
    }
}

pub(crate) async fn build_reviews(b: &mut Build<'_>) -> Result<()> {
    let mut sink = b.sink(wh::FACT_REVIEW).await?;
    let mut rows = ReviewRows::default();
    b.phase("fact_review: yelp_review");
    yelp_reviews(b, &mut sink, &mut rows).await?;
    b.phase("fact_review: google_review");
    google_reviews(b, &mut sink, &mut rows).await?;
    flush_if_full(&mut sink, &mut rows, true).await?;
    b.finish(sink).await
}

async fn yelp_reviews(
    b: &mut Build<'_>,
    sink: &mut TableSink,
    rows: &mut ReviewRows,
) -> Result<()> {
    let name = "yelp_review";
    let raw = RawTable::open(&b.raw, name).await?;
    let mut rep = SourceReport::new(name);
    let mut el = Losers::by_key(
        &raw,
        &[col::REVIEW_ID],
        &format!("is_yelp_id({})", col::REVIEW_ID),
    )
    .await?;
    if raw.exists() {
        let mut s = raw.query(&format!("SELECT * FROM {name}")).await?;
        while let Some(batch) = s.next().await? {
            let c = Cols::new(&batch, name);
            let (rid, uid, bid) = (
                c.str(col::REVIEW_ID)?,
                c.str(col::USER_ID)?,
                c.str(col::BUSINESS_ID)?,
            );
            let stars = c.f64(col::STARS)?;
            let (useful, funny, cool) =
                (c.i64(col::USEFUL)?, c.i64(col::FUNNY)?, c.i64(col::COOL)?);
            let (text, date) = (c.str(col::TEXT)?, c.str(col::DATE)?);
            let (file, line) = (c.str(lineage::SOURCE_FILE)?, c.i64(lineage::LINE)?);
            let resc = RescuedCol::of(&c)?;
            for i in 0..batch.num_rows() {
                rep.read += 1;
                let (f, l) = (file.value(i), line.value(i));
                let Some(review_id) = opt_str(rid, i).filter(|v| parse::is_yelp_id(v)) else {
                    let d = format!("review_id {:?}", opt_str(rid, i));
                    b.quarantine.push(
                        &mut rep,
                        &batch,
                        i,
                        f,
                        l,
                        Reason::MalformedReviewId,
                        Some(d),
                    );
                    continue;
                };
                if !el.keep(f, l) {
                    continue;
                }
                let Some(user_id) = opt_str(uid, i).filter(|v| parse::is_yelp_id(v)) else {
                    let d = format!("user_id {:?}", opt_str(uid, i));
                    b.quarantine
                        .push(&mut rep, &batch, i, f, l, Reason::MalformedUserId, Some(d));
                    continue;
                };
                let Some(business_id) = opt_str(bid, i).filter(|v| parse::is_yelp_id(v)) else {
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
                };
                let Some(st) = opt_f64(stars, i).filter(|s| (1.0..=5.0).contains(s)) else {
                    let d = format!("stars {:?}", opt_f64(stars, i));
                    b.quarantine
                        .push(&mut rep, &batch, i, f, l, Reason::StarsOutOfRange, Some(d));
                    continue;
                };
                let Some(ts_us) = opt_str(date, i)
                    .and_then(parse::parse_yelp_timestamp)
                    .filter(|t| (MIN_TS..MAX_TS).contains(t))
                else {
                    let d = format!("date {:?}", opt_str(date, i));
                    b.quarantine
                        .push(&mut rep, &batch, i, f, l, Reason::BadTimestamp, Some(d));
                    continue;
                };
                let biz = match business(&b.yelp_biz, business_id) {
                    Ok(e) => e.clone(),
                    Err(reason) => {
                        rep.drop(reason);
                        continue;
                    }
                };
                let mut flagged = false;
                // 2013-2016: `"votes": {"useful": 2, "funny": 0, "cool": 1}`.
                let r = resc.row(i);
                let vote = |typed: Option<i64>, kind: &str| {
                    typed.or_else(|| r.get("votes").and_then(|v| v.get(kind)).and_then(json_i64))
                };
                let (u, fu, co) = (
                    votes(vote(opt_i64(useful, i), "useful"), &mut flagged),
                    votes(vote(opt_i64(funny, i), "funny"), &mut flagged),
                    votes(vote(opt_i64(cool, i), "cool"), &mut flagged),
                );
                if flagged {
                    rep.alter(Reason::NegativeVotes);
                }
                b.note_day(ts_us);
                rows.review_key
                    .push(keys::review_key(Source::Yelp, review_id));
                rows.source.push(Source::Yelp.as_str().into());
                rows.source_review_id.push(review_id.to_string());
                rows.business_key.push(biz.key);
                rows.user_key.push(user_key(Source::Yelp, user_id));
                rows.date_key.push(date_of(ts_us));
                rows.review_ts.push(ts_us);
                rows.stars.push(st);
                rows.text.push(
                    opt_str(text, i)
                        .and_then(parse::clean_str)
                        .map(str::to_string),
                );
                rows.state.push(biz.state.as_deref().map(str::to_string));
                rows.useful.push(u);
                rows.funny.push(fu);
                rows.cool.push(co);
                rows.votes_flagged.push(flagged);
                rows.has_response.push(false);
                rows.response_ts.push(None);
                rows.response_text.push(None);
                rows.pic_count.push(None);
                rows.file.push(f.to_string());
                rows.line.push(l);
                rep.carried += 1;
                rep.produced += 1;
                if rows.len() >= BATCH_ROWS {
                    flush_if_full(sink, rows, false).await?;
                }
            }
            b.tick(batch.num_rows() as u64).await?;
        }
    }
    let (same, other) = el.loser_counts();
    rep.drop_n(Reason::DuplicateLine, same);
    rep.drop_n(Reason::DuplicateReviewId, other);
    b.sources.push(rep);
    Ok(())
}

async fn google_reviews(
    b: &mut Build<'_>,
    sink: &mut TableSink,
    rows: &mut ReviewRows,
) -> Result<()> {
    let name = "google_review";
    let raw = RawTable::open(&b.raw, name).await?;
    let mut rep = SourceReport::new(name);
    let mut el = Losers::by_key(
        &raw,
        &[col::USER_ID, col::GMAP_ID, &format!("\"{}\"", col::TIME)],
        &format!(
            "is_google_user_id({u}) AND is_gmap_id({g}) AND \"{t}\" IS NOT NULL",
            u = col::USER_ID,
            g = col::GMAP_ID,
            t = col::TIME
        ),
    )
    .await?;
    if raw.exists() {
        let mut s = raw.query(&format!("SELECT * FROM {name}")).await?;
        while let Some(batch) = s.next().await? {
            let c = Cols::new(&batch, name);
            let (uid, uname, time) = (c.str(col::USER_ID)?, c.str(col::NAME)?, c.i64(col::TIME)?);
            let (rating, text, gid) =
                (c.f64(col::RATING)?, c.str(col::TEXT)?, c.str(col::GMAP_ID)?);
            let pics = c.list(col::PICS)?;
            let resp = c.strukt(col::RESP)?;
            let resp_time = resp
                .column_by_name(col::TIME)
                .and_then(|a| a.as_primitive_opt::<arrow::datatypes::Int64Type>());
            let resp_text = resp
                .column_by_name(col::TEXT)
                .and_then(|a| a.as_string_opt::<i32>());
            let (file, line) = (c.str(lineage::SOURCE_FILE)?, c.i64(lineage::LINE)?);
            for i in 0..batch.num_rows() {
                rep.read += 1;
                let (f, l) = (file.value(i), line.value(i));
                let Some(user_id) = opt_str(uid, i).filter(|v| parse::is_google_user_id(v)) else {
                    let d = format!("user_id {:?}", opt_str(uid, i));
                    b.quarantine
                        .push(&mut rep, &batch, i, f, l, Reason::MalformedUserId, Some(d));
                    continue;
                };
                let Some(gmap_id) = opt_str(gid, i).filter(|v| parse::is_gmap_id(v)) else {
                    let d = format!("gmap_id {:?}", opt_str(gid, i));
                    b.quarantine
                        .push(&mut rep, &batch, i, f, l, Reason::MalformedGmapId, Some(d));
                    continue;
                };
                let Some(t) = opt_i64(time, i) else {
                    b.quarantine.push(
                        &mut rep,
                        &batch,
                        i,
                        f,
                        l,
                        Reason::BadTimestamp,
                        Some("time is null".into()),
                    );
                    continue;
                };
                if !el.keep(f, l) {
                    continue;
                }
                let ts_us = t.saturating_mul(1000);
                if !(MIN_TS..MAX_TS).contains(&ts_us) {
                    let d = format!("time {t}");
                    b.quarantine
                        .push(&mut rep, &batch, i, f, l, Reason::BadTimestamp, Some(d));
                    continue;
                }
                let Some(st) = opt_f64(rating, i).filter(|s| (1.0..=5.0).contains(s)) else {
                    let d = format!("rating {:?}", opt_f64(rating, i));
                    b.quarantine
                        .push(&mut rep, &batch, i, f, l, Reason::StarsOutOfRange, Some(d));
                    continue;
                };
                let biz = match business(&b.google_biz, gmap_id) {
                    Ok(e) => e.clone(),
                    Err(reason) => {
                        rep.drop(reason);
                        continue;
                    }
                };
                let has_resp = !resp.is_null(i);
                let r_ts = if has_resp {
                    resp_time
                        .filter(|a| !a.is_null(i))
                        .map(|a| a.value(i).saturating_mul(1000))
                } else {
                    None
                };
                let r_text = if has_resp {
                    resp_text
                        .and_then(|a| opt_str(a, i))
                        .and_then(parse::clean_str)
                        .map(str::to_string)
                } else {
                    None
                };
                let has_resp = r_ts.is_some() || r_text.is_some();
                let entry = b
                    .google_users
                    .entry(user_id.to_string())
                    .or_insert((None, 0));
                entry.1 += 1;
                if let Some(n) = opt_str(uname, i).and_then(parse::clean_str)
                    && entry.0.as_deref().is_none_or(|old| n < old)
                {
                    entry.0 = Some(n.to_string());
                }
                b.note_day(ts_us);
                let srid = format!("{user_id}|{gmap_id}|{t}");
                rows.review_key
                    .push(keys::review_key(Source::Google, &srid));
                rows.source.push(Source::Google.as_str().into());
                rows.source_review_id.push(srid);
                rows.business_key.push(biz.key);
                rows.user_key.push(user_key(Source::Google, user_id));
                rows.date_key.push(date_of(ts_us));
                rows.review_ts.push(ts_us);
                rows.stars.push(st);
                rows.text.push(
                    opt_str(text, i)
                        .and_then(parse::clean_str)
                        .map(str::to_string),
                );
                rows.state.push(biz.state.as_deref().map(str::to_string));
                rows.useful.push(None);
                rows.funny.push(None);
                rows.cool.push(None);
                rows.votes_flagged.push(false);
                rows.has_response.push(has_resp);
                rows.response_ts.push(r_ts);
                rows.response_text.push(r_text);
                rows.pic_count.push(if pics.is_null(i) {
                    Some(0)
                } else {
                    Some(pics.value_length(i))
                });
                rows.file.push(f.to_string());
                rows.line.push(l);
                rep.carried += 1;
                rep.produced += 1;
                if rows.len() >= BATCH_ROWS {
                    flush_if_full(sink, rows, false).await?;
                }
            }
            b.tick(batch.num_rows() as u64).await?;
        }
    }
    let (same, other) = el.loser_counts();
    rep.drop_n(Reason::DuplicateLine, same);
    rep.drop_n(Reason::DuplicateReview, other);
    b.sources.push(rep);
    Ok(())
}

pub(crate) async fn build_tips(b: &mut Build<'_>) -> Result<()> {
    let name = "yelp_tip";
    b.phase("fact_tip: yelp_tip");
    let mut sink = b.sink(wh::FACT_TIP).await?;
    let raw = RawTable::open(&b.raw, name).await?;
    let mut rep = SourceReport::new(name);
    let cols = [
        col::USER_ID,
        col::BUSINESS_ID,
        col::TEXT,
        col::DATE,
        col::COMPLIMENT_COUNT,
        lineage::RESCUED_DATA,
        lineage::SOURCE_FILE,
        lineage::LINE,
    ];
    let mut el = Losers::by_content(&raw).await?;
    if let Some(mut s) = raw.stream(&cols).await? {
        while let Some(batch) = s.next().await? {
            let c = Cols::new(&batch, name);
            let (uid, bid, text, date) = (
                c.str(col::USER_ID)?,
                c.str(col::BUSINESS_ID)?,
                c.str(col::TEXT)?,
                c.str(col::DATE)?,
            );
            let cc = c.i64(col::COMPLIMENT_COUNT)?;
            let (file, line) = (c.str(lineage::SOURCE_FILE)?, c.i64(lineage::LINE)?);
            let resc = RescuedCol::of(&c)?;
            let (
                mut k_,
                mut src,
                mut bk,
                mut uk,
                mut dk,
                mut tsv,
                mut tx,
                mut cmp,
                mut stt,
                mut fl,
                mut ln,
                mut lk,
            ) = (
                vec![],
                vec![],
                vec![],
                vec![],
                vec![],
                vec![],
                vec![],
                vec![],
                vec![],
                vec![],
                vec![],
                vec![],
            );
            for i in 0..batch.num_rows() {
                rep.read += 1;
                let (f, l) = (file.value(i), line.value(i));
                if !el.keep(f, l) {
                    continue;
                }
                let Some(user_id) = opt_str(uid, i).filter(|v| parse::is_yelp_id(v)) else {
                    let d = format!("user_id {:?}", opt_str(uid, i));
                    b.quarantine
                        .push(&mut rep, &batch, i, f, l, Reason::MalformedUserId, Some(d));
                    continue;
                };
                let Some(business_id) = opt_str(bid, i).filter(|v| parse::is_yelp_id(v)) else {
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
                };
                let Some(ts_us) = opt_str(date, i)
                    .and_then(parse::parse_yelp_timestamp)
                    .filter(|t| (MIN_TS..MAX_TS).contains(t))
                else {
                    let d = format!("date {:?}", opt_str(date, i));
                    b.quarantine
                        .push(&mut rep, &batch, i, f, l, Reason::BadTimestamp, Some(d));
                    continue;
                };
                let biz = match business(&b.yelp_biz, business_id) {
                    Ok(e) => e.clone(),
                    Err(reason) => {
                        rep.drop(reason);
                        continue;
                    }
                };
                let t = opt_str(text, i).and_then(parse::clean_str);
                let compl = match opt_i64(cc, i) {
                    Some(x) if x < 0 => {
                        rep.alter(Reason::NegativeComplimentCount);
                        None
                    }
                    o => o,
                };
                // 2013-2016: `"likes": 3`.
                let likes = match resc.row(i).i64(wh::LIKES) {
                    Some(x) if x < 0 => {
                        rep.alter(Reason::NegativeLikes);
                        None
                    }
                    o => o,
                };
                b.note_day(ts_us);
                k_.push(keys::tip_key(
                    user_id,
                    business_id,
                    &ts_us.to_string(),
                    t.unwrap_or(""),
                ));
                src.push(Source::Yelp.as_str().to_string());
                bk.push(biz.key);
                uk.push(user_key(Source::Yelp, user_id));
                dk.push(date_of(ts_us));
                tsv.push(ts_us);
                tx.push(t.map(str::to_string));
                cmp.push(compl);
                stt.push(biz.state.as_deref().map(str::to_string));
                fl.push(f.to_string());
                ln.push(l);
                lk.push(likes);
                rep.carried += 1;
                rep.produced += 1;
            }
            let out = RecordBatch::try_new(
                wh::fact_tip(),
                vec![
                    i64_nn(k_),
                    utf8_nn(src),
                    i64_nn(bk),
                    i64_nn(uk),
                    i32_nn(dk),
                    ts_nn(tsv),
                    utf8(tx),
                    i64s(cmp),
                    utf8(stt),
                    utf8_nn(fl),
                    i64_nn(ln),
                    i64s(lk),
                ],
            )?;
            sink.write(out).await?;
            b.tick(batch.num_rows() as u64).await?;
        }
    }
    let (same, other) = el.loser_counts();
    rep.drop_n(Reason::DuplicateLine, same + other);
    b.sources.push(rep);
    b.finish(sink).await
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
    fn event(&mut self, biz: &BizEntry, ts_us: i64) {
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
    fn cell(&mut self, biz: &BizEntry, weekday: u8, hour: u8, count: i64) {
        self.push(biz, None, weekday, hour, count);
    }

    fn push(&mut self, biz: &BizEntry, ts_us: Option<i64>, weekday: u8, hour: u8, n: i64) {
        self.business_key.push(biz.key);
        self.date_key.push(ts_us.map(date_of));
        self.ts.push(ts_us);
        self.state.push(biz.state.as_deref().map(str::to_string));
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
    if let Some(mut s) = raw.stream(&cols).await? {
        while let Some(batch) = s.next().await? {
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
                let Some(business_id) = opt_str(bid, i).filter(|v| parse::is_yelp_id(v)) else {
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
                };
                let biz = match business(&b.yelp_biz, business_id) {
                    Ok(e) => e.clone(),
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
                        Some(ts_us) => {
                            b.note_day(ts_us);
                            out.event(&biz, ts_us);
                        }
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
