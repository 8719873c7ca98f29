//! dim_business and business_category from `yelp_business` and `google_metadata`.

use std::collections::HashMap;

use arrow::array::{Array, AsArray, RecordBatch};
use reviewlake_schema::col;
use reviewlake_schema::lineage;
use reviewlake_schema::warehouse as wh;

use super::columns::*;
use super::{BATCH_ROWS, Build};
use crate::Result;
use crate::dedupe::Losers;
use crate::keys::{self, Source};
use crate::parse::{self, AttrValue, DayHours, OpenInterval};
use crate::read::{
    Cols, RawTable, Rescued, RescuedCol, json_strings, list_strs, map_str_entries, opt_f64,
    opt_i64, opt_str,
};
use crate::report::SourceReport;
use crate::states;
use reviewlake_lake::TableRewrite as TableSink;
use reviewlake_schema::Reason;

/// One business row on its way to dim_business.
#[derive(Default)]
struct BizRow {
    key: i64,
    source: &'static str,
    source_id: String,
    name: Option<String>,
    address: Option<String>,
    city: Option<String>,
    state: Option<String>,
    postal_code: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    coordinates_flagged: bool,
    price_level: Option<i32>,
    is_open: Option<bool>,
    rating: Option<f64>,
    review_count: Option<i64>,
    categories: Vec<usize>,
    source_categories: Option<Vec<String>>,
    attributes_json: Option<String>,
    takeout: Option<bool>,
    delivery: Option<bool>,
    dine_in: Option<bool>,
    reservations: Option<bool>,
    outdoor_seating: Option<bool>,
    good_for_kids: Option<bool>,
    wifi: Option<String>,
    alcohol: Option<String>,
    noise_level: Option<String>,
    hours: Option<Vec<OpenInterval>>,
    hours_unparsed: i32,
    description: Option<String>,
    url: Option<String>,
    file: String,
    line: i64,
}

#[derive(Default)]
struct BizBatch {
    rows: Vec<BizRow>,
}

impl BizBatch {
    fn take_batches(&mut self, b: &Build<'_>) -> Result<(RecordBatch, RecordBatch)> {
        let rows = std::mem::take(&mut self.rows);
        let tax = b.taxonomy;
        let mut bc_key = Vec::new();
        let mut bc_cat = Vec::new();
        let mut bc_name = Vec::new();
        let restaurant = tax.index_of("restaurant");
        for r in &rows {
            for &c in &r.categories {
                bc_key.push(r.key);
                let name = &*tax.categories()[c].name;
                bc_cat.push(keys::category_key(name));
                bc_name.push(name.to_string());
            }
        }
        let bridge = RecordBatch::try_new(
            wh::business_category(),
            vec![i64_nn(bc_key), i64_nn(bc_cat), utf8_nn(bc_name)],
        )?;
        let cols = vec![
            i64_nn(rows.iter().map(|r| r.key).collect()),
            utf8_nn(rows.iter().map(|r| r.source.to_string()).collect()),
            utf8_nn(rows.iter().map(|r| r.source_id.clone()).collect()),
            utf8(rows.iter().map(|r| r.name.clone()).collect()),
            utf8(rows.iter().map(|r| r.address.clone()).collect()),
            utf8(rows.iter().map(|r| r.city.clone()).collect()),
            utf8(rows.iter().map(|r| r.state.clone()).collect()),
            utf8(rows.iter().map(|r| r.postal_code.clone()).collect()),
            i64_nn(
                rows.iter()
                    .map(|r| keys::location_key(r.state.as_deref(), r.city.as_deref()))
                    .collect(),
            ),
            f64s(rows.iter().map(|r| r.latitude).collect()),
            f64s(rows.iter().map(|r| r.longitude).collect()),
            bool_nn(rows.iter().map(|r| r.coordinates_flagged).collect()),
            i32s(rows.iter().map(|r| r.price_level).collect()),
            bools(rows.iter().map(|r| r.is_open).collect()),
            f64s(rows.iter().map(|r| r.rating).collect()),
            i64s(rows.iter().map(|r| r.review_count).collect()),
            bool_nn(
                rows.iter()
                    .map(|r| restaurant.is_some_and(|x| r.categories.contains(&x)))
                    .collect(),
            ),
            list_utf8(
                rows.iter()
                    .map(|r| {
                        Some(
                            r.categories
                                .iter()
                                .map(|&c| tax.categories()[c].name.to_string())
                                .collect(),
                        )
                    })
                    .collect(),
            ),
            list_utf8(rows.iter().map(|r| r.source_categories.clone()).collect()),
            utf8(rows.iter().map(|r| r.attributes_json.clone()).collect()),
            bools(rows.iter().map(|r| r.takeout).collect()),
            bools(rows.iter().map(|r| r.delivery).collect()),
            bools(rows.iter().map(|r| r.dine_in).collect()),
            bools(rows.iter().map(|r| r.reservations).collect()),
            bools(rows.iter().map(|r| r.outdoor_seating).collect()),
            bools(rows.iter().map(|r| r.good_for_kids).collect()),
            utf8(rows.iter().map(|r| r.wifi.clone()).collect()),
            utf8(rows.iter().map(|r| r.alcohol.clone()).collect()),
            utf8(rows.iter().map(|r| r.noise_level.clone()).collect()),
            hours(rows.iter().map(|r| r.hours.clone()).collect()),
            i32_nn(rows.iter().map(|r| r.hours_unparsed).collect()),
            utf8(rows.iter().map(|r| r.description.clone()).collect()),
            utf8(rows.iter().map(|r| r.url.clone()).collect()),
            utf8_nn(rows.iter().map(|r| r.file.clone()).collect()),
            i64_nn(rows.iter().map(|r| r.line).collect()),
        ];
        Ok((RecordBatch::try_new(wh::dim_business(), cols)?, bridge))
    }
}

struct Outputs {
    dim: TableSink,
    bridge: TableSink,
    pending: BizBatch,
    /// `business_scope`: every admitted business, in scope or not.
    scope: TableSink,
    scope_rows: ScopeRows,
}

/// `business_scope` rows on their way out.
#[derive(Default)]
struct ScopeRows {
    source: Vec<String>,
    source_id: Vec<String>,
    key: Vec<i64>,
    state: Vec<Option<String>>,
    in_scope: Vec<bool>,
}

impl ScopeRows {
    fn push(&mut self, source: Source, row: &BizRow, in_scope: bool) {
        self.source.push(source.as_str().to_string());
        self.source_id.push(row.source_id.clone());
        self.key.push(row.key);
        self.state.push(row.state.clone());
        self.in_scope.push(in_scope);
    }

    fn take(&mut self) -> Result<RecordBatch> {
        let r = std::mem::take(self);
        Ok(RecordBatch::try_new(
            wh::business_scope(),
            vec![
                utf8_nn(r.source),
                utf8_nn(r.source_id),
                i64_nn(r.key),
                utf8(r.state),
                bool_nn(r.in_scope),
            ],
        )?)
    }
}

impl Outputs {
    async fn push(&mut self, b: &mut Build<'_>, row: BizRow) -> Result<()> {
        self.pending.rows.push(row);
        if self.pending.rows.len() >= BATCH_ROWS {
            self.flush(b).await?;
        }
        Ok(())
    }
    async fn flush(&mut self, b: &Build<'_>) -> Result<()> {
        if self.pending.rows.is_empty() {
            return Ok(());
        }
        let (dim, bridge) = self.pending.take_batches(b)?;
        self.dim.write(dim).await?;
        self.bridge.write(bridge).await?;
        Ok(())
    }

    async fn push_scope(&mut self, source: Source, row: &BizRow, in_scope: bool) -> Result<()> {
        self.scope_rows.push(source, row, in_scope);
        if self.scope_rows.key.len() >= BATCH_ROWS {
            self.flush_scope().await?;
        }
        Ok(())
    }

    async fn flush_scope(&mut self) -> Result<()> {
        if !self.scope_rows.key.is_empty() {
            let batch = self.scope_rows.take()?;
            self.scope.write(batch).await?;
        }
        Ok(())
    }
}

pub(crate) async fn build_businesses(b: &mut Build<'_>) -> Result<()> {
    let mut out = Outputs {
        dim: b.sink(wh::DIM_BUSINESS).await?,
        bridge: b.sink(wh::BUSINESS_CATEGORY).await?,
        pending: BizBatch::default(),
        scope: b.sink(wh::BUSINESS_SCOPE).await?,
        scope_rows: ScopeRows::default(),
    };
    b.phase("dim_business: yelp_business");
    yelp(b, &mut out).await?;
    b.phase("dim_business: google_metadata");
    google(b, &mut out).await?;
    out.flush(b).await?;
    out.flush_scope().await?;
    b.finish(out.dim).await?;
    b.finish(out.bridge).await?;
    b.finish(out.scope).await?;
    // The fact builders join it (by platform and source id): one row per business.
    b.check_unique(
        wh::BUSINESS_SCOPE,
        &format!("{}, {}", col::SOURCE, col::SOURCE_ID),
    )
    .await
}

/// Applies the scope; records the business for the fact builders.
async fn admit(
    b: &mut Build<'_>,
    out: &mut Outputs,
    rep: &mut SourceReport,
    source: Source,
    row: BizRow,
) -> Result<()> {
    let in_state = b.state_in_scope(row.state.as_deref());
    let in_cat = b.categories_in_scope(&row.categories);
    out.push_scope(source, &row, in_state && in_cat).await?;
    if !in_state {
        rep.drop(if row.state.is_none() {
            Reason::NoState
        } else {
            Reason::OutOfScopeState
        });
    } else if !in_cat {
        rep.drop(Reason::OutOfScopeCategory);
    } else {
        rep.carried += 1;
        rep.produced += 1;
        out.push(b, row).await?;
    }
    Ok(())
}

/// Shared coordinate and rating checks.
fn check_coordinates(row: &mut BizRow, rep: &mut SourceReport) {
    let (Some(lat), Some(lon)) = (row.latitude, row.longitude) else {
        if row.latitude.is_some() || row.longitude.is_some() {
            row.latitude = None;
            row.longitude = None;
            row.coordinates_flagged = true;
            rep.alter(Reason::CoordinatesIncomplete);
        }
        return;
    };
    let valid = (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon);
    let us = row
        .state
        .as_deref()
        .and_then(states::by_abbr)
        .is_some_and(|r| r.is_us_state_or_dc);
    if !valid || (us && !states::in_us_bounds(lat, lon)) {
        row.latitude = None;
        row.longitude = None;
        row.coordinates_flagged = true;
        rep.alter(Reason::CoordinatesOutsideUs);
    }
}

fn check_rating(v: Option<f64>, rep: &mut SourceReport) -> Option<f64> {
    match v {
        Some(x) if !(1.0..=5.0).contains(&x) => {
            // 0 means "no rating yet" on both platforms.
            rep.alter(Reason::RatingOutOfRange);
            None
        }
        other => other,
    }
}

fn non_negative(v: Option<i64>, rep: &mut SourceReport, reason: Reason) -> Option<i64> {
    match v {
        Some(x) if x < 0 => {
            rep.alter(reason);
            None
        }
        other => other,
    }
}

fn owned(s: Option<&str>) -> Option<String> {
    s.and_then(parse::clean_str).map(str::to_string)
}

async fn yelp(b: &mut Build<'_>, out: &mut Outputs) -> Result<()> {
    let name = "yelp_business";
    let raw = RawTable::open(&b.raw, name).await?;
    let mut rep = SourceReport::new(name);
    let mut el = Losers::by_key(
        &raw,
        &[col::BUSINESS_ID],
        &format!("is_yelp_id({})", col::BUSINESS_ID),
    )
    .await?;
    if !raw.exists() {
        b.sources.push(rep);
        return Ok(());
    }
    let tax = b.taxonomy;
    let mut s = raw.query(&format!("SELECT * FROM {name}")).await?;
    while let Some(batch) = s.next().await? {
        let c = Cols::new(&batch, name);
        let id = c.str(col::BUSINESS_ID)?;
        let file = c.str(lineage::SOURCE_FILE)?;
        let line = c.i64(lineage::LINE)?;
        let (nm, addr, city, state, postal) = (
            c.str(col::NAME)?,
            c.str(col::ADDRESS)?,
            c.str(col::CITY)?,
            c.str(col::STATE)?,
            c.str(col::POSTAL_CODE)?,
        );
        let (lat, lon, stars) = (
            c.f64(col::LATITUDE)?,
            c.f64(col::LONGITUDE)?,
            c.f64(col::STARS)?,
        );
        let (rc, open) = (c.i64(col::REVIEW_COUNT)?, c.i64(col::IS_OPEN)?);
        let attrs = c.map(col::ATTRIBUTES)?;
        let cats = c.str(col::CATEGORIES)?;
        let hours_map = c.map(col::HOURS)?;
        let resc = RescuedCol::of(&c)?;
        for i in 0..batch.num_rows() {
            rep.read += 1;
            let (f, l) = (file.value(i), line.value(i));
            let Some(bid) = opt_str(id, i).filter(|v| parse::is_yelp_id(v)) else {
                b.quarantine.push(
                    &mut rep,
                    &batch,
                    i,
                    f,
                    l,
                    Reason::MalformedBusinessId,
                    Some(format!("business_id {:?}", opt_str(id, i))),
                );
                continue;
            };
            if !el.keep(f, l) {
                continue;
            }
            let r = resc.row(i);
            let mut row = BizRow {
                key: keys::business_key(Source::Yelp, bid),
                source: Source::Yelp.as_str(),
                source_id: bid.to_string(),
                name: owned(opt_str(nm, i)),
                address: owned(opt_str(addr, i)),
                city: opt_str(city, i)
                    .and_then(parse::clean_str)
                    .map(parse::normalize_city),
                state: opt_str(state, i)
                    .and_then(parse::clean_str)
                    .map(|s| s.to_ascii_uppercase()),
                postal_code: owned(opt_str(postal, i)),
                latitude: opt_f64(lat, i),
                longitude: opt_f64(lon, i),
                rating: check_rating(opt_f64(stars, i), &mut rep),
                review_count: non_negative(opt_i64(rc, i), &mut rep, Reason::NegativeReviewCount),
                is_open: opt_i64(open, i)
                    .and_then(|v| match v {
                        0 => Some(false),
                        1 => Some(true),
                        _ => None,
                    })
                    // 2013-2016: `"open": true`.
                    .or_else(|| r.bool("open").or_else(|| r.bool("is_open"))),
                file: f.to_string(),
                line: l,
                ..Default::default()
            };
            // 2013-2016: `full_address` ("street\n[more\n]City, ST 12345"), no
            // `address` or `postal_code`.
            if (row.address.is_none() || row.city.is_none() || row.postal_code.is_none())
                && let Some(full) = r.text("full_address")
            {
                let fa = parse::parse_yelp_full_address(&full);
                row.address = row.address.or(fa.street);
                row.city = row.city.or_else(|| fa.city.map(parse::normalize_city));
                row.state = row.state.or_else(|| fa.state.map(str::to_string));
                row.postal_code = row
                    .postal_code
                    .or_else(|| fa.postal_code.map(str::to_string));
            }
            check_coordinates(&mut row, &mut rep);
            // Categories: a comma-joined string, or (2013-2017) a JSON list.
            let labels: Option<Vec<String>> = match opt_str(cats, i) {
                Some(cs) => Some(parse::split_list(cs).map(str::to_string).collect()),
                None => r.get("categories").and_then(json_strings).map(|v| {
                    v.iter()
                        .filter_map(|s| parse::clean_str(s))
                        .map(str::to_string)
                        .collect()
                }),
            };
            if let Some(labels) = labels {
                row.categories =
                    tax.classify_labels(Source::Yelp, labels.iter().map(|s| s.as_str()));
                row.source_categories = Some(labels);
            }
            if row.categories.is_empty()
                && let Some(other) = tax.index_of("other")
            {
                row.categories.push(other);
            }
            if let Some(entries) = yelp_attributes(attrs, i, &r, &mut rep) {
                set_yelp_attributes(&mut row, &entries);
            }
            row.hours = yelp_hours(hours_map, i, &r, &mut row.hours_unparsed, &mut rep);
            admit(b, out, &mut rep, Source::Yelp, row).await?;
        }
        b.tick(batch.num_rows() as u64).await?;
    }
    let (same, other) = el.loser_counts();
    rep.drop_n(Reason::DuplicateLine, same);
    rep.drop_n(Reason::DuplicateBusinessId, other);
    b.sources.push(rep);
    Ok(())
}

/// Attribute names of the 2013-2016 releases read into the same typed columns as the
/// names of the later ones (first present name wins).
const TAKEOUT: &[&str] = &["RestaurantsTakeOut", "Take-out"];
const DELIVERY: &[&str] = &["RestaurantsDelivery", "Delivery"];
const RESERVATIONS: &[&str] = &["RestaurantsReservations", "Takes Reservations"];
const OUTDOOR_SEATING: &[&str] = &["OutdoorSeating", "Outdoor Seating"];
const GOOD_FOR_KIDS: &[&str] = &["GoodForKids", "Good for Kids", "Good For Kids"];
const WIFI: &[&str] = &["WiFi", "Wi-Fi"];
const ALCOHOL: &[&str] = &["Alcohol"];
const NOISE_LEVEL: &[&str] = &["NoiseLevel", "Noise Level"];
const PRICE_RANGE: &[&str] = &["RestaurantsPriceRange2", "Price Range"];

/// The attributes of a Yelp business, whichever release wrote them:
///
/// - 2018 on: a map of Python-literal strings (`"WiFi": "u'free'"`, `"BusinessParking":
///   "{'garage': False}"`); a 2014 record whose values are all scalars lands in the
///   same typed map with JSON's spellings (`"true"`, `"free"`, `"2"`);
/// - 2013-2016, values with nested objects (`"Good For": {"dessert": false}`): the
///   object is in the rescued fields;
/// - 2017: a list of `"Name: value"` strings, in the rescued fields.
fn yelp_attributes(
    typed: &arrow::array::MapArray,
    i: usize,
    r: &Rescued<'_>,
    rep: &mut SourceReport,
) -> Option<Vec<(String, AttrValue)>> {
    if !typed.is_null(i) {
        return Some(
            map_str_entries(typed, i)
                .into_iter()
                .map(|(k, v)| {
                    let v = v.map_or(AttrValue::Null, |t| attr_from_text(t, rep));
                    (k.to_string(), v)
                })
                .collect(),
        );
    }
    match r.get("attributes")? {
        serde_json::Value::Object(m) => Some(
            m.iter()
                .map(|(k, v)| (k.clone(), attr_from_json(v, rep)))
                .collect(),
        ),
        serde_json::Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|item| {
                    let pair = item.as_str().and_then(|t| t.split_once(':'));
                    if pair.is_none() {
                        rep.alter(Reason::UnparseableAttribute);
                    }
                    let (k, v) = pair?;
                    Some((k.trim().to_string(), attr_from_text(v.trim(), rep)))
                })
                .collect(),
        ),
        _ => {
            rep.alter(Reason::UnparseableAttribute);
            None
        }
    }
}

/// One attribute value written as text: a Python literal (the later releases), or a
/// JSON scalar as ingest wrote it into a string (`true`, `free`). Only text that starts
/// like a literal and does not parse (`{'a': `, `u'x`) counts as unparseable.
fn attr_from_text(text: &str, rep: &mut SourceReport) -> AttrValue {
    match parse::parse_python_literal(text) {
        Ok(v) => v,
        Err(_) => {
            let t = text.trim();
            if t == "true" {
                return AttrValue::Bool(true);
            }
            if t == "false" {
                return AttrValue::Bool(false);
            }
            let body = t.trim_start_matches(['u', 'U', 'r', 'R', 'b', 'B']);
            if t.starts_with(['{', '[', '(']) || body.starts_with(['\'', '"']) {
                rep.alter(Reason::UnparseableAttribute);
            }
            AttrValue::Str(text.to_string())
        }
    }
}

/// One attribute value as JSON (the 2013-2016 releases): nested objects become maps.
fn attr_from_json(v: &serde_json::Value, rep: &mut SourceReport) -> AttrValue {
    use serde_json::Value;
    match v {
        Value::Null => AttrValue::Null,
        Value::Bool(b) => AttrValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => AttrValue::Int(i),
            None => AttrValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => attr_from_text(s, rep),
        Value::Object(m) => AttrValue::Map(
            m.iter()
                .map(|(k, v)| (k.clone(), attr_from_json(v, rep)))
                .collect(),
        ),
        // No release has lists here; kept as their JSON text.
        Value::Array(_) => AttrValue::Str(v.to_string()),
    }
}

/// `attributes_json` and the typed attribute columns of a Yelp business.
fn set_yelp_attributes(row: &mut BizRow, entries: &[(String, AttrValue)]) {
    let mut json = String::from("{");
    for (n, (key, val)) in entries.iter().enumerate() {
        if n > 0 {
            json.push(',');
        }
        AttrValue::Str(key.clone()).write_json(&mut json);
        json.push(':');
        val.write_json(&mut json);
    }
    json.push('}');
    row.attributes_json = Some(json);
    let parsed: HashMap<&str, &AttrValue> = entries.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let get = |names: &[&str]| names.iter().find_map(|n| parsed.get(n).copied());
    let flag = |names: &[&str]| get(names).and_then(AttrValue::as_bool);
    let text = |names: &[&str]| {
        get(names)
            .and_then(AttrValue::as_str)
            .and_then(parse::clean_str)
            .map(|s| s.to_ascii_lowercase())
    };
    row.takeout = flag(TAKEOUT);
    row.delivery = flag(DELIVERY);
    row.reservations = flag(RESERVATIONS);
    row.outdoor_seating = flag(OUTDOOR_SEATING);
    row.good_for_kids = flag(GOOD_FOR_KIDS);
    row.wifi = text(WIFI);
    row.alcohol = text(ALCOHOL);
    row.noise_level = text(NOISE_LEVEL);
    row.price_level = get(PRICE_RANGE)
        .and_then(|v| v.as_i64())
        .filter(|p| (1..=4).contains(p))
        .map(|p| p as i32);
}

/// The opening hours of a Yelp business: a map of `"10:0-21:0"` strings (2018 on); in
/// the rescued fields, `{"Tuesday": {"open": "08:00", "close": "17:00"}}` (2013-2016)
/// or `["Monday 11:0-21:0", ...]` (2017). Days that do not parse are counted.
fn yelp_hours(
    typed: &arrow::array::MapArray,
    i: usize,
    r: &Rescued<'_>,
    unparsed: &mut i32,
    rep: &mut SourceReport,
) -> Option<Vec<OpenInterval>> {
    let mut iv = Vec::new();
    let mut day_hours = |day: Option<u8>, val: Option<&str>| {
        let parsed = match (day, val) {
            (Some(d), Some(v)) => parse::parse_yelp_hours(d, v).ok(),
            _ => None,
        };
        match parsed {
            Some(DayHours::Open(v)) => iv.extend(v),
            Some(DayHours::Closed) => {}
            None => {
                *unparsed += 1;
                rep.alter(Reason::UnparseableHours);
            }
        }
    };
    if !typed.is_null(i) {
        for (day, val) in map_str_entries(typed, i) {
            day_hours(parse::weekday_index(day), val);
        }
    } else {
        match r.get("hours")? {
            serde_json::Value::Object(m) => {
                for (day, v) in m {
                    let value = match v {
                        serde_json::Value::String(s) => Some(s.clone()),
                        serde_json::Value::Object(oc) => match (
                            oc.get("open").and_then(|x| x.as_str()),
                            oc.get("close").and_then(|x| x.as_str()),
                        ) {
                            (Some(o), Some(c)) => Some(format!("{o}-{c}")),
                            _ => None,
                        },
                        _ => None,
                    };
                    day_hours(parse::weekday_index(day), value.as_deref());
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    match item.as_str().and_then(|t| t.trim().split_once(' ')) {
                        Some((d, v)) => day_hours(parse::weekday_index(d), Some(v)),
                        None => day_hours(None, None),
                    }
                }
            }
            _ => day_hours(None, None),
        }
    }
    iv.sort_by_key(|x| (x.day, x.open_minute));
    Some(iv)
}

/// An address whose tail spells the state out ("Vermont 05701") rewritten with its code.
fn spelled_out_state(addr: &str) -> Option<String> {
    let (head, tail) = addr.rsplit_once(", ")?;
    let name: String = tail
        .chars()
        .filter(|c| !c.is_ascii_digit() && *c != '-')
        .collect();
    let region = states::by_name(name.trim())?;
    let zip: String = tail
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(5)
        .collect();
    Some(if zip.len() == 5 {
        format!("{head}, {} {zip}", region.abbr)
    } else {
        format!("{head}, {}", region.abbr)
    })
}

/// The column of the Google metadata query with the first review folder of the place
/// (`review-<State>/...`): where the state comes from when the address has none.
const FOLDER: &str = "__review_folder";

/// The Google metadata rows, each beside the first source file its reviews came from
/// (a join with one grouped aggregate of `google_review`, not a map of every place).
fn google_metadata_sql(b: &Build<'_>, name: &str) -> String {
    let g = col::GMAP_ID;
    let folders = if b.raw.has_table("google_review") {
        format!(
            "SELECT {g} AS __g, MIN(\"_source_file\") AS {FOLDER} FROM google_review \
             WHERE {g} IS NOT NULL GROUP BY {g}"
        )
    } else {
        format!(
            "SELECT CAST(NULL AS VARCHAR) AS __g, CAST(NULL AS VARCHAR) AS {FOLDER} WHERE false"
        )
    };
    format!("SELECT m.*, fs.{FOLDER} FROM ({folders}) fs RIGHT JOIN {name} m ON fs.__g = m.{g}")
}

async fn google(b: &mut Build<'_>, out: &mut Outputs) -> Result<()> {
    let name = "google_metadata";
    let raw = RawTable::open(&b.raw, name).await?;
    let mut rep = SourceReport::new(name);
    if !raw.exists() {
        b.sources.push(rep);
        return Ok(());
    }
    let mut el = Losers::by_key(
        &raw,
        &[col::GMAP_ID],
        &format!("is_gmap_id({})", col::GMAP_ID),
    )
    .await?;
    let tax = b.taxonomy;
    let mut s = raw.query(&google_metadata_sql(b, name)).await?;
    while let Some(full) = s.next().await? {
        let folder = Cols::new(&full, name).str(FOLDER)?.clone();
        // The raw row alone (what a quarantined row records).
        let batch = super::without_columns(&full, &[FOLDER])?;
        let c = Cols::new(&batch, name);
        let id = c.str(col::GMAP_ID)?;
        let file = c.str(lineage::SOURCE_FILE)?;
        let line = c.i64(lineage::LINE)?;
        let (nm, addr, desc, url) = (
            c.str(col::NAME)?,
            c.str(col::ADDRESS)?,
            c.str(col::DESCRIPTION)?,
            c.str(col::URL)?,
        );
        let (lat, lon, rating) = (
            c.f64(col::LATITUDE)?,
            c.f64(col::LONGITUDE)?,
            c.f64(col::AVG_RATING)?,
        );
        let nrev = c.i64(col::NUM_OF_REVIEWS)?;
        let price = c.str(col::PRICE)?;
        let status = c.str(col::STATE)?;
        let cats = c.list(col::CATEGORY)?;
        let hours_l = c.list(col::HOURS)?;
        let misc = c.map("MISC")?;
        for i in 0..batch.num_rows() {
            rep.read += 1;
            let (f, l) = (file.value(i), line.value(i));
            let Some(gid) = opt_str(id, i).filter(|v| parse::is_gmap_id(v)) else {
                b.quarantine.push(
                    &mut rep,
                    &batch,
                    i,
                    f,
                    l,
                    Reason::MalformedGmapId,
                    Some(format!("gmap_id {:?}", opt_str(id, i))),
                );
                continue;
            };
            if !el.keep(f, l) {
                continue;
            }
            let address = opt_str(addr, i).and_then(parse::clean_str);
            // "..., Rutland, Vermont 05701": a full state name in the tail is read too.
            let spelled_out = address
                .filter(|a| parse::parse_google_address(a).is_none())
                .and_then(spelled_out_state);
            let parts = match &spelled_out {
                Some(fixed) => parse::parse_google_address(fixed),
                None => address.and_then(parse::parse_google_address),
            };
            let addr_state = parts
                .as_ref()
                .and_then(|p| states::by_abbr(p.state))
                .map(|r| r.abbr);
            let state = match addr_state {
                Some(s) => Some(s),
                None => {
                    let from_file = states::state_from_google_path(f).map(|r| r.abbr);
                    let from_reviews = opt_str(&folder, i)
                        .and_then(states::state_from_google_path)
                        .map(|r| r.abbr);
                    match (from_file, from_reviews) {
                        (Some(s), _) => {
                            rep.alter(Reason::StateFromFileName);
                            Some(s)
                        }
                        (None, Some(s)) => {
                            rep.alter(Reason::StateFromReviewFolder);
                            Some(s)
                        }
                        (None, None) => None,
                    }
                }
            };
            let mut row = BizRow {
                key: keys::business_key(Source::Google, gid),
                source: Source::Google.as_str(),
                source_id: gid.to_string(),
                name: owned(opt_str(nm, i)),
                address: parts
                    .as_ref()
                    .and_then(|p| p.street)
                    .or(address)
                    .map(str::to_string),
                city: parts
                    .as_ref()
                    .and_then(|p| p.city)
                    .map(parse::normalize_city),
                state: state.map(str::to_string),
                postal_code: parts
                    .as_ref()
                    .and_then(|p| p.postal_code)
                    .map(str::to_string),
                latitude: opt_f64(lat, i),
                longitude: opt_f64(lon, i),
                rating: check_rating(opt_f64(rating, i), &mut rep),
                review_count: non_negative(opt_i64(nrev, i), &mut rep, Reason::NegativeReviewCount),
                price_level: opt_str(price, i).and_then(parse::price_level),
                is_open: opt_str(status, i)
                    .and_then(parse::clean_str)
                    .map(|s| !s.to_ascii_lowercase().contains("permanently closed")),
                description: owned(opt_str(desc, i)),
                url: owned(opt_str(url, i)),
                file: f.to_string(),
                line: l,
                ..Default::default()
            };
            check_coordinates(&mut row, &mut rep);
            if !cats.is_null(i) {
                let arr = cats.value(i);
                let labels: Vec<String> = list_strs(arr.as_ref())
                    .into_iter()
                    .filter_map(parse::clean_str)
                    .map(str::to_string)
                    .collect();
                row.categories =
                    tax.classify_labels(Source::Google, labels.iter().map(|s| s.as_str()));
                row.source_categories = Some(labels);
            }
            if row.categories.is_empty()
                && let Some(other) = tax.index_of("other")
            {
                row.categories.push(other);
            }
            if !misc.is_null(i) {
                let offsets = misc.value_offsets();
                let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
                let keys_a = misc.keys().as_string::<i32>();
                let vals = misc.values().as_list::<i32>();
                let mut json = String::from("{");
                let has = |group: &str, item: &str| -> Option<bool> {
                    (start..end).find(|&j| keys_a.value(j) == group).map(|j| {
                        let v = vals.value(j);
                        list_strs(v.as_ref())
                            .iter()
                            .any(|s| s.eq_ignore_ascii_case(item))
                    })
                };
                row.takeout = has("Service options", "Takeout");
                row.delivery = has("Service options", "Delivery");
                row.dine_in = has("Service options", "Dine-in");
                row.outdoor_seating = has("Service options", "Outdoor seating");
                row.reservations = has("Planning", "Accepts reservations");
                row.good_for_kids = has("Crowd", "Family-friendly");
                for (n, j) in (start..end).enumerate() {
                    if n > 0 {
                        json.push(',');
                    }
                    AttrValue::Str(keys_a.value(j).to_string()).write_json(&mut json);
                    json.push_str(":[");
                    let v = vals.value(j);
                    for (m, item) in list_strs(v.as_ref()).iter().enumerate() {
                        if m > 0 {
                            json.push(',');
                        }
                        AttrValue::Str(item.to_string()).write_json(&mut json);
                    }
                    json.push(']');
                }
                json.push('}');
                row.attributes_json = Some(json);
            }
            if !hours_l.is_null(i) {
                let days = hours_l.value(i);
                let mut iv = Vec::new();
                if let Some(days) = days.as_list_opt::<i32>() {
                    for d in 0..days.len() {
                        if days.is_null(d) {
                            continue;
                        }
                        let pair = days.value(d);
                        let pair = list_strs(pair.as_ref());
                        let parsed = match (
                            pair.first().and_then(|d| parse::weekday_index(d)),
                            pair.get(1),
                        ) {
                            (Some(day), Some(v)) if pair.len() == 2 => {
                                parse::parse_google_hours(day, v).ok()
                            }
                            _ => None,
                        };
                        match parsed {
                            Some(DayHours::Open(v)) => iv.extend(v),
                            Some(DayHours::Closed) => {}
                            None => {
                                row.hours_unparsed += 1;
                                rep.alter(Reason::UnparseableHours);
                            }
                        }
                    }
                }
                iv.sort_by_key(|x| (x.day, x.open_minute));
                row.hours = Some(iv);
            }
            admit(b, out, &mut rep, Source::Google, row).await?;
        }
        b.tick(batch.num_rows() as u64).await?;
    }
    let (same, other) = el.loser_counts();
    rep.drop_n(Reason::DuplicateLine, same);
    rep.drop_n(Reason::DuplicateGmapId, other);
    b.sources.push(rep);
    Ok(())
}
