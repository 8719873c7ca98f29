//! fact_review and fact_tip, as one plan per raw table (`yelp_review`,
//! `google_review`, `yelp_tip`).
//!
//! The plan reads the raw table once and joins it with two small sides: the losers of
//! the de-duplication election ([`Losers::sql_by_key`], [`Losers::sql_by_content`])
//! and the platform's admitted businesses (`business_scope`). Each row gets its fate,
//! `__reason` (null when it is carried; otherwise the [`Reason`] it is dropped or
//! quarantined for, tested in the order the rules apply), and the fact row it becomes,
//! computed by the crate's UDFs (`review_key`, `tip_key`, `user_key`,
//! `yelp_timestamp`, `date_key_of`, `clean_text`, `rescued_int`, `list_length`). The
//! build streams the result: the carried rows of a batch are filtered out and written
//! as they are; only refused rows are looked at one by one (their reason counted, the
//! quarantined ones recorded with their raw row). Nothing holds more than a batch and
//! the two small sides.

use arrow::array::{Array, RecordBatch};
use arrow::compute::{cast, filter_record_batch, is_null};
use reviewlake_schema::{Outcome, Reason, col, lineage, warehouse as wh};

use super::Build;
use crate::dedupe::Losers;
use crate::keys::Source;
use crate::read::{Cols, RawTable, opt_f64, opt_i64, opt_str};
use crate::report::SourceReport;
use crate::{Result, WarehouseError};
use reviewlake_lake::TableRewrite as TableSink;

/// Earliest and latest plausible review time (1990-01-01, 2100-01-01), µs.
pub(crate) const MIN_TS: i64 = 631_152_000_000_000;
pub(crate) const MAX_TS: i64 = 4_102_444_800_000_000;

/// The column of a row's fate: null = carried, else a [`Reason`]'s name.
pub(crate) const REASON: &str = "__reason";
/// The prefix of the columns holding the `fact_review` row a raw row becomes.
const OUT: &str = "__o_";

/// The raw tables whose facts a plan builds (`fact_review`, `fact_tip`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawFacts {
    /// `yelp_review` (into `fact_review`).
    Yelp,
    /// `google_review` (into `fact_review`).
    Google,
    /// `yelp_tip` (into `fact_tip`).
    Tip,
}

impl RawFacts {
    pub(crate) fn name(self) -> &'static str {
        match self {
            RawFacts::Yelp => "yelp_review",
            RawFacts::Google => "google_review",
            RawFacts::Tip => "yelp_tip",
        }
    }

    /// The raw columns the plan reads (`*` for the review tables: a quarantined row is
    /// kept whole; the tips' fields, which are also their content key).
    fn columns(self) -> &'static [&'static str] {
        match self {
            RawFacts::Yelp | RawFacts::Google => &[],
            RawFacts::Tip => &[
                col::USER_ID,
                col::BUSINESS_ID,
                col::TEXT,
                col::DATE,
                col::COMPLIMENT_COUNT,
                lineage::RESCUED_DATA,
                lineage::SOURCE_FILE,
                lineage::LINE,
            ],
        }
    }

    /// The boolean columns of the plan that flag a carried row's altered values.
    fn alterations(self) -> &'static [(&'static str, Reason)] {
        match self {
            RawFacts::Yelp => &[("__o_votes_flagged", Reason::NegativeVotes)],
            RawFacts::Google => &[],
            RawFacts::Tip => &[
                ("__o_neg_compliments", Reason::NegativeComplimentCount),
                ("__o_neg_likes", Reason::NegativeLikes),
            ],
        }
    }
}

/// `'<reason>'`: a reason as an SQL literal.
fn lit(r: Reason) -> String {
    format!("'{}'", r.as_str())
}

/// The `__reason` expression: the first of `checks` (a condition and the reason it
/// refuses a row for) that holds, then the business checks every fact plan ends with
/// (`unknown_business`, `business_out_of_scope`); null when none holds (carried).
fn reason_case(checks: &[(String, Reason)]) -> String {
    let business = [
        ("__bkey IS NULL".to_string(), Reason::UnknownBusiness),
        ("NOT __bin".to_string(), Reason::BusinessOutOfScope),
    ];
    let arms: String = checks
        .iter()
        .chain(&business)
        .map(|(cond, r)| format!(" WHEN {cond} THEN {}", lit(*r)))
        .collect();
    format!("CASE{arms} END")
}

/// The condition of a Yelp id column `c` that is not a well-formed id.
fn yelp_id_bad(c: &str) -> String {
    format!("NOT is_yelp_id({})", q(c))
}

/// The condition of a Yelp time (`__ts`) missing or outside the accepted range.
fn yelp_ts_bad() -> String {
    format!("__ts IS NULL OR __ts < {MIN_TS} OR __ts >= {MAX_TS}")
}

/// The condition of a star rating `x` outside 1..=5 (or missing).
fn stars_invalid(x: &str) -> String {
    format!("{x} IS NULL OR isnan({x}) OR {x} < 1.0 OR {x} > 5.0")
}

/// `"name"`: a column name quoted for SQL.
fn q(name: &str) -> String {
    format!("\"{name}\"")
}

/// The plan classifying every row of the raw review table `t` (see the module docs):
/// the raw columns, [`REASON`], and `__o_<column>` for every column of `fact_review`.
/// `None` when the snapshot has no such table.
pub(crate) async fn classify_sql(b: &Build<'_>, t: RawFacts) -> Result<Option<String>> {
    let raw = RawTable::open(&b.raw, t.name()).await?;
    let losers = match t {
        RawFacts::Yelp => {
            let valid = format!("is_yelp_id({})", col::REVIEW_ID);
            Losers::sql_by_key(&raw, &[col::REVIEW_ID], &valid).await?
        }
        RawFacts::Google => {
            let time = q(col::TIME);
            let valid = format!(
                "is_google_user_id({u}) AND is_gmap_id({g}) AND {time} IS NOT NULL",
                u = col::USER_ID,
                g = col::GMAP_ID,
            );
            Losers::sql_by_key(&raw, &[col::USER_ID, col::GMAP_ID, &time], &valid).await?
        }
        RawFacts::Tip => Losers::sql_by_content(&raw).await?,
    };
    let Some(losers) = losers else {
        return Ok(None);
    };
    let (source, id_col) = match t {
        RawFacts::Yelp | RawFacts::Tip => (Source::Yelp, col::BUSINESS_ID),
        RawFacts::Google => (Source::Google, col::GMAP_ID),
    };
    let raw_cols = match t.columns() {
        [] => "r.*".to_string(),
        cols => cols
            .iter()
            .map(|c| format!("r.{}", q(c)))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let (file, line) = (q(lineage::SOURCE_FILE), q(lineage::LINE));
    let scope = b.scope_sql(source);
    let (extra, reason, out) = match t {
        RawFacts::Yelp => yelp_parts(),
        RawFacts::Google => google_parts(),
        RawFacts::Tip => tip_parts(),
    };
    let outputs = out
        .iter()
        .map(|(c, e)| format!("{e} AS {OUT}{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Some(format!(
        "WITH l AS (SELECT {file} AS __lf, {line} AS __ll, same AS __same FROM ({losers})), \
         s AS ({scope}), \
         c0 AS (SELECT {raw_cols}, l.__ll IS NOT NULL AS __lost, \
           coalesce(l.__same, false) AS __dup \
           FROM l RIGHT JOIN {name} r ON l.__lf = r.{file} AND l.__ll = r.{line}), \
         c AS (SELECT c0.*, s.__bkey, s.__bstate, s.__bin{extra} \
           FROM s RIGHT JOIN c0 ON s.__bid = c0.{id_col}) \
         SELECT c.*, {reason} AS {REASON}, {outputs} FROM c",
        name = t.name(),
    )))
}

/// Yelp: the helper columns of `c`, the reason, and the fact columns.
fn yelp_parts() -> (String, String, Vec<(&'static str, String)>) {
    let vote = |kind: &str| {
        format!(
            ", coalesce({k}, rescued_int({resc}, 'votes', '{kind}')) AS __v{kind}",
            k = q(kind),
            resc = q(lineage::RESCUED_DATA),
        )
    };
    let extra = format!(
        ", yelp_timestamp({d}) AS __ts{}{}{}",
        vote(col::USEFUL),
        vote(col::FUNNY),
        vote(col::COOL),
        d = q(col::DATE)
    );
    let stars = q(col::STARS);
    let reason = reason_case(&[
        (yelp_id_bad(col::REVIEW_ID), Reason::MalformedReviewId),
        ("__lost AND __dup".into(), Reason::DuplicateLine),
        ("__lost".into(), Reason::DuplicateReviewId),
        (yelp_id_bad(col::USER_ID), Reason::MalformedUserId),
        (yelp_id_bad(col::BUSINESS_ID), Reason::MalformedBusinessId),
        (stars_invalid(&stars), Reason::StarsOutOfRange),
        (yelp_ts_bad(), Reason::BadTimestamp),
    ]);
    let yelp = Source::Yelp.as_str();
    let non_negative = |kind: &str| format!("CASE WHEN __v{kind} < 0 THEN NULL ELSE __v{kind} END");
    let out = vec![
        (
            col::REVIEW_KEY,
            format!("review_key('{yelp}', {})", q(col::REVIEW_ID)),
        ),
        (col::SOURCE, format!("'{yelp}'")),
        (col::SOURCE_REVIEW_ID, q(col::REVIEW_ID)),
        (col::BUSINESS_KEY, "__bkey".into()),
        (
            col::USER_KEY,
            format!("user_key('{yelp}', {})", q(col::USER_ID)),
        ),
        (col::DATE_KEY, "date_key_of(__ts)".into()),
        (col::REVIEW_TS, "__ts".into()),
        (col::STARS, stars.clone()),
        (col::TEXT, format!("clean_text({})", q(col::TEXT))),
        (col::STATE, "__bstate".into()),
        (col::USEFUL, non_negative(col::USEFUL)),
        (col::FUNNY, non_negative(col::FUNNY)),
        (col::COOL, non_negative(col::COOL)),
        (
            col::VOTES_FLAGGED,
            format!(
                "coalesce(__v{u} < 0 OR __v{f} < 0 OR __v{c} < 0, false)",
                u = col::USEFUL,
                f = col::FUNNY,
                c = col::COOL
            ),
        ),
        (col::HAS_RESPONSE, "false".into()),
        (col::RESPONSE_TS, "CAST(NULL AS BIGINT)".into()),
        (col::RESPONSE_TEXT, "CAST(NULL AS VARCHAR)".into()),
        (col::PIC_COUNT, "CAST(NULL AS INT)".into()),
        (lineage::SOURCE_FILE, q(lineage::SOURCE_FILE)),
        (lineage::LINE, q(lineage::LINE)),
    ];
    (extra, reason, out)
}

/// Google: the helper columns of `c`, the reason, and the fact columns.
fn google_parts() -> (String, String, Vec<(&'static str, String)>) {
    let (time, resp, rating) = (q(col::TIME), q(col::RESP), q(col::RATING));
    // Epoch milliseconds -> microseconds, saturating as `i64::saturating_mul` does.
    let micros = |ms: &str| {
        format!(
            "CASE WHEN {ms} > {hi} THEN {max} WHEN {ms} < -{hi} THEN ({min_plus} - 1) \
             ELSE {ms} * 1000 END",
            hi = i64::MAX / 1000,
            max = i64::MAX,
            min_plus = i64::MIN + 1,
        )
    };
    let extra = format!(
        ", CASE WHEN {resp} IS NOT NULL THEN {rts} END AS __rts, \
         CASE WHEN {resp} IS NOT NULL THEN clean_text({resp}['{text}']) END AS __rtext, \
         concat({uid}, '|', {gid}, '|', CAST({time} AS VARCHAR)) AS __srid",
        rts = micros(&format!("{resp}['{}']", col::TIME)),
        text = col::TEXT,
        uid = q(col::USER_ID),
        gid = q(col::GMAP_ID),
    );
    let (lo, hi) = (MIN_TS / 1000, MAX_TS / 1000);
    let reason = reason_case(&[
        (
            format!("NOT is_google_user_id({})", q(col::USER_ID)),
            Reason::MalformedUserId,
        ),
        (
            format!("NOT is_gmap_id({})", q(col::GMAP_ID)),
            Reason::MalformedGmapId,
        ),
        (format!("{time} IS NULL"), Reason::BadTimestamp),
        ("__lost AND __dup".into(), Reason::DuplicateLine),
        ("__lost".into(), Reason::DuplicateReview),
        (
            format!("{time} < {lo} OR {time} >= {hi}"),
            Reason::BadTimestamp,
        ),
        (stars_invalid(&rating), Reason::StarsOutOfRange),
    ]);
    let google = Source::Google.as_str();
    // Only the rows in range are carried; the others must not overflow.
    let ts = format!("CASE WHEN {time} >= {lo} AND {time} < {hi} THEN {time} * 1000 END");
    let out = vec![
        (col::REVIEW_KEY, format!("review_key('{google}', __srid)")),
        (col::SOURCE, format!("'{google}'")),
        (col::SOURCE_REVIEW_ID, "__srid".into()),
        (col::BUSINESS_KEY, "__bkey".into()),
        (
            col::USER_KEY,
            format!("user_key('{google}', {})", q(col::USER_ID)),
        ),
        (col::DATE_KEY, format!("date_key_of({ts})")),
        (col::REVIEW_TS, ts.clone()),
        (col::STARS, rating.clone()),
        (col::TEXT, format!("clean_text({})", q(col::TEXT))),
        (col::STATE, "__bstate".into()),
        (col::USEFUL, "CAST(NULL AS BIGINT)".into()),
        (col::FUNNY, "CAST(NULL AS BIGINT)".into()),
        (col::COOL, "CAST(NULL AS BIGINT)".into()),
        (col::VOTES_FLAGGED, "false".into()),
        (
            col::HAS_RESPONSE,
            "(__rts IS NOT NULL OR __rtext IS NOT NULL)".into(),
        ),
        (col::RESPONSE_TS, "__rts".into()),
        (col::RESPONSE_TEXT, "__rtext".into()),
        (
            col::PIC_COUNT,
            format!("coalesce(list_length({}), 0)", q(col::PICS)),
        ),
        (lineage::SOURCE_FILE, q(lineage::SOURCE_FILE)),
        (lineage::LINE, q(lineage::LINE)),
    ];
    (extra, reason, out)
}

/// Tips: the helper columns of `c`, the reason, and the fact columns. Every loser of
/// the content election is an identical copy (`duplicate_line`).
fn tip_parts() -> (String, String, Vec<(&'static str, String)>) {
    let extra = format!(
        ", yelp_timestamp({d}) AS __ts, clean_text({text}) AS __text, \
         rescued_int({resc}, '{likes}') AS __likes",
        d = q(col::DATE),
        text = q(col::TEXT),
        resc = q(lineage::RESCUED_DATA),
        likes = wh::LIKES,
    );
    let reason = reason_case(&[
        ("__lost".into(), Reason::DuplicateLine),
        (yelp_id_bad(col::USER_ID), Reason::MalformedUserId),
        (yelp_id_bad(col::BUSINESS_ID), Reason::MalformedBusinessId),
        (yelp_ts_bad(), Reason::BadTimestamp),
    ]);
    let yelp = Source::Yelp.as_str();
    let cc = q(col::COMPLIMENT_COUNT);
    let out = vec![
        (
            col::TIP_KEY,
            format!(
                "tip_key({}, {}, CAST(__ts AS VARCHAR), coalesce(__text, ''))",
                q(col::USER_ID),
                q(col::BUSINESS_ID)
            ),
        ),
        (col::SOURCE, format!("'{yelp}'")),
        (col::BUSINESS_KEY, "__bkey".into()),
        (
            col::USER_KEY,
            format!("user_key('{yelp}', {})", q(col::USER_ID)),
        ),
        (col::DATE_KEY, "date_key_of(__ts)".into()),
        (col::TIP_TS, "__ts".into()),
        (col::TEXT, "__text".into()),
        (
            col::COMPLIMENT_COUNT,
            format!("CASE WHEN {cc} < 0 THEN NULL ELSE {cc} END"),
        ),
        (col::STATE, "__bstate".into()),
        (lineage::SOURCE_FILE, q(lineage::SOURCE_FILE)),
        (lineage::LINE, q(lineage::LINE)),
        (
            wh::LIKES,
            "CASE WHEN __likes < 0 THEN NULL ELSE __likes END".into(),
        ),
        // Not fact columns: the flags of [`RawFacts::alterations`].
        ("neg_compliments", format!("coalesce({cc} < 0, false)")),
        ("neg_likes", "coalesce(__likes < 0, false)".into()),
    ];
    (extra, reason, out)
}

/// Builds `fact_tip` from `yelp_tip`.
pub(crate) async fn build_tips(b: &mut Build<'_>) -> Result<()> {
    b.phase("fact_tip: yelp_tip");
    let mut sink = b.sink(wh::FACT_TIP).await?;
    classified_into(b, RawFacts::Tip, &wh::fact_tip(), &mut sink).await?;
    b.finish(sink).await
}

/// Builds `fact_review` from both raw review tables.
pub(crate) async fn build_reviews(b: &mut Build<'_>) -> Result<()> {
    let mut sink = b.sink(wh::FACT_REVIEW).await?;
    for t in [RawFacts::Yelp, RawFacts::Google] {
        b.phase(&format!("fact_review: {}", t.name()));
        classified_into(b, t, &wh::fact_review(), &mut sink).await?;
    }
    b.finish(sink).await
}

/// Streams the plan of `t` into `sink` (of schema `schema`): carried rows written,
/// refused rows counted and quarantined, altered values counted.
async fn classified_into(
    b: &mut Build<'_>,
    t: RawFacts,
    schema: &arrow::datatypes::SchemaRef,
    sink: &mut TableSink,
) -> Result<()> {
    let mut rep = SourceReport::new(t.name());
    let Some(sql) = classify_sql(b, t).await? else {
        b.sources.push(rep);
        return Ok(());
    };
    let raw = RawTable::open(&b.raw, t.name()).await?;
    let mut s = raw.query(&sql).await?;
    while let Some(batch) = s.next().await? {
        let n = batch.num_rows();
        rep.read += n as u64;
        let reasons = Cols::new(&batch, t.name()).str(REASON)?.clone();
        let carried = filter_record_batch(&batch, &is_null(&reasons)?)?;
        let mut cols = Vec::with_capacity(schema.fields().len());
        for f in schema.fields() {
            let name = format!("{OUT}{}", f.name());
            let a = carried.column_by_name(&name).ok_or_else(|| {
                WarehouseError::Internal(format!("the {} plan has no column {name}", t.name()))
            })?;
            cols.push(cast(a, f.data_type())?);
        }
        let out = RecordBatch::try_new(schema.clone(), cols)?;
        let kept = out.num_rows() as u64;
        rep.carried += kept;
        rep.produced += kept;
        for (flag, reason) in t.alterations() {
            let flagged = Cols::new(&carried, t.name()).bool(flag)?;
            rep.alter_n(*reason, flagged.true_count() as u64);
        }
        if kept > 0 {
            sink.write(out).await?;
        }
        if kept < n as u64 {
            refused(b, t, &mut rep, &batch, &reasons)?;
        }
        b.tick(n as u64).await?;
    }
    b.sources.push(rep);
    Ok(())
}

/// Counts the refused rows of a classified batch; records the quarantined ones, with
/// their raw row and the value that failed.
fn refused(
    b: &mut Build<'_>,
    t: RawFacts,
    rep: &mut SourceReport,
    batch: &RecordBatch,
    reasons: &arrow::array::StringArray,
) -> Result<()> {
    // The raw row alone (what a quarantined row records).
    let helper: Vec<&str> = batch
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .filter(|n| n.starts_with("__"))
        .collect();
    let raw = super::without_columns(batch, &helper)?;
    let c = Cols::new(&raw, t.name());
    let (file, line) = (c.str(lineage::SOURCE_FILE)?, c.i64(lineage::LINE)?);
    for i in 0..reasons.len() {
        let Some(name) = opt_str(reasons, i) else {
            continue;
        };
        let reason = Reason::parse(name).ok_or_else(|| {
            WarehouseError::Internal(format!("the {} plan gave reason {name:?}", t.name()))
        })?;
        match reason.outcome() {
            Outcome::Dropped => rep.drop(reason),
            Outcome::Quarantined => {
                let detail = detail(&c, t, reason, i)?;
                b.quarantine.push(
                    rep,
                    &raw,
                    i,
                    file.value(i),
                    line.value(i),
                    reason,
                    Some(detail),
                );
            }
            Outcome::Altered => {
                return Err(WarehouseError::Internal(format!(
                    "the {} plan refused a row for {name}",
                    t.name()
                )));
            }
        }
    }
    Ok(())
}

/// The failing value of a quarantined row (`user_id None`, `stars Some(7.0)`, ...).
fn detail(c: &Cols<'_>, t: RawFacts, reason: Reason, i: usize) -> Result<String> {
    let text =
        |name: &str| -> Result<String> { Ok(format!("{name} {:?}", opt_str(c.str(name)?, i))) };
    Ok(match (t, reason) {
        (_, Reason::MalformedReviewId) => text(col::REVIEW_ID)?,
        (_, Reason::MalformedUserId) => text(col::USER_ID)?,
        (_, Reason::MalformedBusinessId) => text(col::BUSINESS_ID)?,
        (_, Reason::MalformedGmapId) => text(col::GMAP_ID)?,
        (RawFacts::Yelp, Reason::StarsOutOfRange) => {
            format!("{} {:?}", col::STARS, opt_f64(c.f64(col::STARS)?, i))
        }
        (RawFacts::Google, Reason::StarsOutOfRange) => {
            format!("{} {:?}", col::RATING, opt_f64(c.f64(col::RATING)?, i))
        }
        (RawFacts::Yelp | RawFacts::Tip, Reason::BadTimestamp) => text(col::DATE)?,
        (RawFacts::Google, Reason::BadTimestamp) => match opt_i64(c.i64(col::TIME)?, i) {
            None => format!("{} is null", col::TIME),
            Some(v) => format!("{} {v}", col::TIME),
        },
        (_, other) => other.as_str().to_string(),
    })
}
