//! dim_user: Yelp users referenced by facts in scope (profile from the user file, or an
//! inferred row when the file lacks them) and Google reviewers (from their reviews).

use arrow::array::Array;

use arrow::array::RecordBatch;
use reviewlake_schema::col;
use reviewlake_schema::lineage;
use reviewlake_schema::{Reason, YELP_USER_COMPLIMENTS, warehouse as wh};

use super::columns::*;
use super::{BATCH_ROWS, Build, user_key};
use crate::Result;
use crate::dedupe::Losers;
use crate::keys::Source;
use crate::parse;
use crate::read::{Cols, RawTable, RescuedCol, json_i64, json_strings, opt_f64, opt_i64, opt_str};
use crate::report::SourceReport;
use reviewlake_lake::TableRewrite as TableSink;

#[derive(Default)]
struct UserRows {
    key: Vec<i64>,
    source: Vec<String>,
    id: Vec<String>,
    name: Vec<Option<String>>,
    review_count: Vec<Option<i64>>,
    since: Vec<Option<i64>>,
    useful: Vec<Option<i64>>,
    funny: Vec<Option<i64>>,
    cool: Vec<Option<i64>>,
    fans: Vec<Option<i64>>,
    avg: Vec<Option<f64>>,
    elite: Vec<Option<Vec<i32>>>,
    friends: Vec<Option<Vec<String>>>,
    friend_count: Vec<Option<i32>>,
    compliments: Vec<Option<i64>>,
    flagged: Vec<bool>,
    inferred: Vec<bool>,
}

impl UserRows {
    fn take(&mut self) -> Result<RecordBatch> {
        let r = std::mem::take(self);
        Ok(RecordBatch::try_new(
            wh::dim_user(),
            vec![
                i64_nn(r.key),
                utf8_nn(r.source),
                utf8_nn(r.id),
                utf8(r.name),
                i64s(r.review_count),
                ts(r.since),
                i64s(r.useful),
                i64s(r.funny),
                i64s(r.cool),
                i64s(r.fans),
                f64s(r.avg),
                list_i32(r.elite),
                list_utf8(r.friends),
                i32s(r.friend_count),
                i64s(r.compliments),
                bool_nn(r.flagged),
                bool_nn(r.inferred),
            ],
        )?)
    }
    /// A row with only identity columns set.
    fn push_bare(&mut self, source: Source, id: &str, name: Option<String>, reviews: Option<i64>) {
        self.key.push(user_key(source, id));
        self.source.push(source.as_str().to_string());
        self.id.push(id.to_string());
        self.name.push(name);
        self.review_count.push(reviews);
        self.since.push(None);
        self.useful.push(None);
        self.funny.push(None);
        self.cool.push(None);
        self.fans.push(None);
        self.avg.push(None);
        self.elite.push(None);
        self.friends.push(None);
        self.friend_count.push(None);
        self.compliments.push(None);
        self.flagged.push(false);
        self.inferred.push(source == Source::Yelp);
    }
    async fn flush(&mut self, sink: &mut TableSink, force: bool) -> Result<()> {
        if self.key.len() >= BATCH_ROWS || (force && !self.key.is_empty()) {
            let batch = self.take()?;
            sink.write(batch).await?;
        }
        Ok(())
    }
}

/// The flag column of the users query: the row's user is referenced by a fact.
const REFERENCED: &str = "__referenced";

/// A query of the distinct user keys of Yelp facts in scope (the fact tables just
/// committed, registered into the build's session).
fn referenced_yelp_users(b: &Build<'_>) -> String {
    let mut parts = Vec::new();
    for t in [wh::FACT_REVIEW, wh::FACT_TIP] {
        if b.tables.contains_key(t) {
            parts.push(format!(
                "SELECT {uk} FROM {t} WHERE {src} = '{yelp}'",
                uk = col::USER_KEY,
                src = col::SOURCE,
                yelp = Source::Yelp.as_str()
            ));
        }
    }
    if parts.is_empty() {
        return format!(
            "SELECT CAST(NULL AS BIGINT) AS {} WHERE false",
            col::USER_KEY
        );
    }
    parts.join(" UNION ")
}

pub(crate) async fn build_users(b: &mut Build<'_>) -> Result<()> {
    b.phase("dim_user: yelp_user");
    let mut sink = b.sink(wh::DIM_USER).await?;
    let mut rows = UserRows::default();
    let name = "yelp_user";
    let raw = RawTable::open(&b.raw, name).await?;
    let mut rep = SourceReport::new(name);
    let mut el = Losers::by_key(
        &raw,
        &[col::USER_ID],
        &format!("is_yelp_id({})", col::USER_ID),
    )
    .await?;
    // The Yelp users that facts in scope reference: the user keys of the fact tables
    // just committed (a join, not a set of every id).
    let referenced = referenced_yelp_users(b);
    if raw.exists() {
        let sql = format!(
            "SELECT u.*, r.{uk} IS NOT NULL AS {REFERENCED} FROM ({referenced}) r \
             RIGHT JOIN {name} u ON r.{uk} = user_key('{yelp}', u.{id})",
            uk = col::USER_KEY,
            yelp = Source::Yelp.as_str(),
            id = col::USER_ID,
        );
        let mut s = raw.query(&sql).await?;
        while let Some(full) = s.next().await? {
            let is_referenced = Cols::new(&full, name).bool(REFERENCED)?.clone();
            // The raw row alone (what a quarantined row records).
            let keep: Vec<usize> = (0..full.num_columns())
                .filter(|&i| full.schema().field(i).name() != REFERENCED)
                .collect();
            let batch = full.project(&keep)?;
            let c = Cols::new(&batch, name);
            let id = c.str(col::USER_ID)?;
            let (nm, rc, since) = (
                c.str(col::NAME)?,
                c.i64(col::REVIEW_COUNT)?,
                c.str(col::YELPING_SINCE)?,
            );
            let (useful, funny, cool, fans) = (
                c.i64(col::USEFUL)?,
                c.i64(col::FUNNY)?,
                c.i64(col::COOL)?,
                c.i64(col::FANS)?,
            );
            let (elite, friends, avg) = (
                c.str(col::ELITE)?,
                c.str(col::FRIENDS)?,
                c.f64(col::AVERAGE_STARS)?,
            );
            let compl = YELP_USER_COMPLIMENTS
                .iter()
                .map(|n| c.i64(n))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let (file, line) = (c.str(lineage::SOURCE_FILE)?, c.i64(lineage::LINE)?);
            let resc = RescuedCol::of(&c)?;
            for i in 0..batch.num_rows() {
                rep.read += 1;
                let (f, l) = (file.value(i), line.value(i));
                let Some(uid) = opt_str(id, i).filter(|v| parse::is_yelp_id(v)) else {
                    let d = format!("user_id {:?}", opt_str(id, i));
                    b.quarantine
                        .push(&mut rep, &batch, i, f, l, Reason::MalformedUserId, Some(d));
                    continue;
                };
                if !el.keep(f, l) {
                    continue;
                }
                if is_referenced.is_null(i) || !is_referenced.value(i) {
                    rep.drop(Reason::NoActivityInScope);
                    continue;
                }
                let k = user_key(Source::Yelp, uid);
                let mut flagged = false;
                let mut nn = |v: Option<i64>| match v {
                    Some(x) if x < 0 => {
                        flagged = true;
                        None
                    }
                    o => o,
                };
                // 2013-2016: `"votes": {...}` and `"compliments": {"funny": 3, ...}`
                // objects, `friends` and `elite` as lists.
                let r = resc.row(i);
                let vote = |typed: Option<i64>, kind: &str| {
                    typed.or_else(|| r.get("votes").and_then(|v| v.get(kind)).and_then(json_i64))
                };
                let (u, fu, co, fa) = (
                    nn(vote(opt_i64(useful, i), "useful")),
                    nn(vote(opt_i64(funny, i), "funny")),
                    nn(vote(opt_i64(cool, i), "cool")),
                    nn(opt_i64(fans, i)),
                );
                let review_count = nn(opt_i64(rc, i));
                let compliments: Option<i64> = {
                    let mut vals: Vec<i64> =
                        compl.iter().filter_map(|a| nn(opt_i64(a, i))).collect();
                    if vals.is_empty()
                        && let Some(serde_json::Value::Object(m)) = r.get("compliments")
                    {
                        vals = m.values().filter_map(|v| nn(json_i64(v))).collect();
                    }
                    if vals.is_empty() {
                        None
                    } else {
                        Some(vals.iter().sum())
                    }
                };
                if flagged {
                    rep.alter(Reason::NegativeVotes);
                }
                let since_raw = opt_str(since, i).and_then(parse::clean_str);
                let since_ts = since_raw.and_then(parse::parse_yelp_timestamp);
                if since_raw.is_some() && since_ts.is_none() {
                    rep.alter(Reason::UnparseableYelpingSince);
                }
                let (years, bad) = match opt_str(elite, i) {
                    Some(e) => parse::parse_elite(e),
                    None => r
                        .get("elite")
                        .and_then(json_strings)
                        .map(|v| parse::parse_elite(&v.join(",")))
                        .unwrap_or_default(),
                };
                if bad > 0 {
                    rep.alter(Reason::BadEliteToken);
                }
                let fr: Vec<String> = match opt_str(friends, i) {
                    Some(s) => parse::split_list(s).map(str::to_string).collect(),
                    None => r
                        .get("friends")
                        .and_then(json_strings)
                        .map(|v| {
                            v.iter()
                                .filter_map(|s| parse::clean_str(s))
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default(),
                };
                let average = match opt_f64(avg, i) {
                    Some(x) if !(0.0..=5.0).contains(&x) => {
                        rep.alter(Reason::AverageStarsOutOfRange);
                        None
                    }
                    o => o,
                };
                rows.key.push(k);
                rows.source.push(Source::Yelp.as_str().into());
                rows.id.push(uid.to_string());
                rows.name.push(
                    opt_str(nm, i)
                        .and_then(parse::clean_str)
                        .map(str::to_string),
                );
                rows.review_count.push(review_count);
                rows.since.push(since_ts);
                rows.useful.push(u);
                rows.funny.push(fu);
                rows.cool.push(co);
                rows.fans.push(fa);
                rows.avg.push(average);
                rows.elite.push(Some(years));
                rows.friend_count.push(Some(fr.len() as i32));
                rows.friends.push(Some(fr));
                rows.compliments.push(compliments);
                rows.flagged.push(flagged);
                rows.inferred.push(false);
                rep.carried += 1;
                rep.produced += 1;
                rows.flush(&mut sink, false).await?;
            }
            b.tick(batch.num_rows() as u64).await?;
        }
    }
    let (same, other) = el.loser_counts();
    rep.drop_n(Reason::DuplicateLine, same);
    rep.drop_n(Reason::DuplicateUserId, other);
    b.sources.push(rep);

    // Users that facts reference but the user file lacks (no row with a valid id):
    // inferred rows, from the facts' raw rows.
    let mut ids: Vec<String> = Vec::new();
    for t in ["yelp_review", "yelp_tip"] {
        if b.raw.has_table(t) {
            ids.push(format!("SELECT {id} FROM {t}", id = col::USER_ID));
        }
    }
    if !ids.is_empty() {
        let known = if raw.exists() {
            format!(
                "SELECT {id} FROM {name} WHERE is_yelp_id({id})",
                id = col::USER_ID
            )
        } else {
            format!(
                "SELECT CAST(NULL AS VARCHAR) AS {} WHERE false",
                col::USER_ID
            )
        };
        let sql = format!(
            "SELECT DISTINCT f.{id} FROM ({ids}) f \
             JOIN ({referenced}) r ON r.{uk} = user_key('{yelp}', f.{id}) \
             WHERE is_yelp_id(f.{id}) AND f.{id} NOT IN ({known}) ORDER BY f.{id}",
            id = col::USER_ID,
            ids = ids.join(" UNION ALL "),
            uk = col::USER_KEY,
            yelp = Source::Yelp.as_str(),
        );
        let mut s = raw.query(&sql).await?;
        while let Some(batch) = s.next().await? {
            let c = Cols::new(&batch, name);
            let id = c.str(col::USER_ID)?;
            for i in 0..batch.num_rows() {
                b.inferred_users += 1;
                rows.push_bare(Source::Yelp, id.value(i), None, None);
                rows.flush(&mut sink, false).await?;
            }
        }
    }

    b.phase("dim_user: google reviewers");
    if let Some(sql) = google_reviewers_sql(b) {
        let mut s = RawTable::open(&b.raw, "google_review")
            .await?
            .query(&sql)
            .await?;
        while let Some(batch) = s.next().await? {
            let c = Cols::new(&batch, "google_review");
            let (uid, nm, n) = (
                c.str(col::USER_ID)?,
                c.str(col::NAME)?,
                c.i64(REVIEWER_REVIEWS)?,
            );
            for i in 0..batch.num_rows() {
                // Every fact comes from a raw row of the same snapshot: a group without
                // one is a broken lake, never a reviewer to invent.
                let Some(id) = opt_str(uid, i) else {
                    return Err(crate::WarehouseError::Internal(format!(
                        "{} Google reviews of fact_review have no raw row in google_review",
                        n.value(i)
                    )));
                };
                let name = opt_str(nm, i).map(str::to_string);
                rows.push_bare(Source::Google, id, name, Some(n.value(i)));
                rows.flush(&mut sink, false).await?;
            }
        }
    }
    rows.flush(&mut sink, true).await?;
    b.finish(sink).await
}

/// The column of [`google_reviewers_sql`] counting a reviewer's carried reviews.
const REVIEWER_REVIEWS: &str = "n";

/// The Google reviewers of `fact_review`: per `user_id` (sorted), the smallest cleaned
/// name among their carried reviews and the number of those reviews. A carried review
/// is found by its raw row's lineage (`_source_file`, `_line`): one grouped aggregate
/// over the Google facts and the raw rows pairs them (a raw row and its fact share a
/// group), a second one groups the pairs by reviewer. Both spill, and the raw table is
/// not classified again. `None` when the snapshot has no Google reviews.
fn google_reviewers_sql(b: &Build<'_>) -> Option<String> {
    let raw = "google_review";
    if !b.raw.has_table(raw) || !b.tables.contains_key(wh::FACT_REVIEW) {
        return None;
    }
    Some(format!(
        "SELECT uid AS {uid}, min(nm) AS {name}, count(*) AS {REVIEWER_REVIEWS} FROM ( \
           SELECT max(uid) AS uid, max(nm) AS nm FROM ( \
             SELECT {file} AS f, {line} AS l, CAST(NULL AS VARCHAR) AS uid, \
               CAST(NULL AS VARCHAR) AS nm, 1 AS fact FROM {fact} WHERE {src} = '{google}' \
             UNION ALL \
             SELECT {file}, {line}, \"{uid}\", clean_text(\"{name}\"), 0 FROM {raw}) \
           GROUP BY f, l HAVING sum(fact) > 0) \
         GROUP BY uid ORDER BY uid",
        file = lineage::SOURCE_FILE,
        line = lineage::LINE,
        fact = wh::FACT_REVIEW,
        src = col::SOURCE,
        google = Source::Google.as_str(),
        uid = col::USER_ID,
        name = col::NAME,
    ))
}
