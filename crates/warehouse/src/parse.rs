//! Field parsers for the raw Yelp and Google Maps review datasets.
//!
//! Every function here is called once per row (or once per field of a row)
//! on millions of rows of outside data, so the module follows three rules:
//!
//! * **Never panic.** No `unwrap`, no unchecked indexing, slicing only on
//!   char boundaries (via `str::get`). Odd input yields `None`/`Err`.
//! * **Allocate little.** Functions that can return a view into their input
//!   (`clean_str`, `split_list`, `parse_google_address`) return `&str`;
//!   errors are built only on the failure path.
//! * **Document every convention** a downstream column relies on (overnight
//!   intervals, city case, ZIP form), on the item that implements it.
//!
//! Overview:
//!
//! | field | function |
//! | --- | --- |
//! | Yelp `hours` values (`"10:0-21:0"`) | [`parse_yelp_hours`] |
//! | Google `hours` values (`"11AM–2:30PM"`) | [`parse_google_hours`] |
//! | weekday names | [`weekday_index`] |
//! | Yelp `attributes` values (Python literals) | [`parse_python_literal`], [`AttrValue`] |
//! | Yelp dates and timestamps (every release, epochs, ISO 8601) | [`parse_yelp_timestamp`], [`days_from_civil`], [`civil_from_days`], [`weekday_from_days`] |
//! | Yelp check-in histograms (2013–2018) | [`parse_checkin_info_key`], [`parse_checkin_time_item`], [`parse_checkin_hour`] |
//! | Yelp `full_address` (2013–2016) | [`parse_yelp_full_address`] |
//! | Yelp `elite` | [`parse_elite`] |
//! | Yelp `friends`, `categories` | [`split_list`] |
//! | null-ish strings | [`clean_str`] |
//! | Google `address` | [`parse_google_address`] |
//! | cities (both platforms) | [`normalize_city`] |
//! | price levels (both platforms) | [`price_level`] |
//! | ids | [`is_yelp_id`], [`is_google_user_id`], [`is_gmap_id`] |

use std::collections::HashMap;
use std::error::Error;
use std::fmt;
use std::fmt::Write as _;

use chrono::{Datelike as _, NaiveDate};

/// Minutes in a day; a close time of exactly midnight is stored as this.
const DAY_MINUTES: u16 = 1440;

/// How much of an offending value an error keeps (bytes, cut on a char
/// boundary), so a huge bad value does not make a huge error.
const ERR_TEXT_MAX: usize = 200;

/// Copies `s` for an error message, cut to [`ERR_TEXT_MAX`] bytes.
fn error_text(s: &str) -> String {
    if s.len() <= ERR_TEXT_MAX {
        return s.to_owned();
    }
    let mut end = ERR_TEXT_MAX;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + 3);
    out.push_str(s.get(..end).unwrap_or(""));
    out.push('…');
    out
}

// ---------------------------------------------------------------------------
// Opening hours
// ---------------------------------------------------------------------------

/// One opening interval of one day.
///
/// `day` is 0 = Monday … 6 = Sunday. `open_minute` and `close_minute` are
/// minutes from midnight at the start of `day`, and `close_minute >
/// open_minute` always holds:
///
/// * `open_minute` is in `0..1440`;
/// * an interval that runs past midnight keeps counting, so its
///   `close_minute` is above 1440 (`18:00–02:00` → `1080..1560`);
/// * a close of exactly midnight is `1440` (`12PM–12AM` → `720..1440`);
/// * "open 24 hours" is `0..1440`; more generally a close equal to the open
///   time means a full 24 hours from the open time (`close = open + 1440`),
///   so `close_minute` is at most `2879`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenInterval {
    /// Day of the week the interval opens on: 0 = Monday … 6 = Sunday.
    pub day: u8,
    /// Opening time, minutes after midnight of `day` (`0..1440`).
    pub open_minute: u16,
    /// Closing time, minutes after midnight of `day`; above 1440 when the
    /// interval runs past midnight. Always greater than `open_minute`.
    pub close_minute: u16,
}

/// The parsed hours of one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayHours {
    /// Open during these intervals, in the order the value listed them.
    Open(Vec<OpenInterval>),
    /// Closed all day (Google's `"Closed"`).
    Closed,
}

/// An opening-hours value that could not be parsed.
///
/// Its `Display` names the offending value (cut to 200 bytes) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoursError {
    value: String,
    reason: &'static str,
}

impl HoursError {
    fn new(value: &str, reason: &'static str) -> Self {
        Self {
            value: error_text(value),
            reason,
        }
    }

    /// The offending value (cut to 200 bytes if it was longer).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Why the value was rejected.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for HoursError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot parse opening hours {:?}: {}",
            self.value, self.reason
        )
    }
}

impl Error for HoursError {}

/// Day index of an English weekday name: `"Monday"`, `"monday"`, `"Mon"` → 0
/// … `"Sunday"`, `"Sun"` → 6.
///
/// Case-insensitive, surrounding whitespace ignored. Accepts full names and
/// the abbreviations `mon`, `tue`/`tues`, `wed`, `thu`/`thur`/`thurs`, `fri`,
/// `sat`, `sun`. Anything else is `None`.
pub fn weekday_index(name: &str) -> Option<u8> {
    const NAMES: [(&str, u8); 17] = [
        ("monday", 0),
        ("mon", 0),
        ("tuesday", 1),
        ("tue", 1),
        ("tues", 1),
        ("wednesday", 2),
        ("wed", 2),
        ("thursday", 3),
        ("thu", 3),
        ("thur", 3),
        ("thurs", 3),
        ("friday", 4),
        ("fri", 4),
        ("saturday", 5),
        ("sat", 5),
        ("sunday", 6),
        ("sun", 6),
    ];
    let name = name.trim();
    NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, i)| i)
}

fn check_day(day: u8) -> Result<(), &'static str> {
    if day <= 6 {
        Ok(())
    } else {
        Err("day index must be 0 (Monday) ..= 6 (Sunday)")
    }
}

/// Builds an interval from an open time in `0..1440` and a close time in
/// `0..=1440`: a close at or before the open means the close is on the next
/// day (equal means 24 hours).
fn make_interval(day: u8, open: u16, close: u16) -> OpenInterval {
    let close = if close <= open {
        close + DAY_MINUTES
    } else {
        close
    };
    OpenInterval {
        day,
        open_minute: open,
        close_minute: close,
    }
}

/// Parses a run of 1..=`max_digits` ASCII digits.
fn small_uint(s: &str, max_digits: usize) -> Option<u16> {
    if s.is_empty() || s.len() > max_digits {
        return None;
    }
    s.bytes().try_fold(0u16, |acc, b| {
        if b.is_ascii_digit() {
            Some(acc * 10 + u16::from(b - b'0'))
        } else {
            None
        }
    })
}

/// Parses a 24-hour `H:M` / `HH:MM` / `H` time into minutes (`24:00` → 1440).
fn hm_24(s: &str) -> Result<u16, &'static str> {
    let (h, m) = match s.split_once(':') {
        Some((h, m)) => (h.trim(), Some(m.trim())),
        None => (s, None),
    };
    let hour = small_uint(h, 2).ok_or("hour is not 1-2 digits")?;
    let minute = match m {
        Some(m) => small_uint(m, 2).ok_or("minute is not 1-2 digits")?,
        None => 0,
    };
    if minute >= 60 {
        return Err("minute out of range");
    }
    if hour > 24 || (hour == 24 && minute > 0) {
        return Err("hour out of range");
    }
    Ok(hour * 60 + minute)
}

/// Parses one day's Yelp hours value, such as `"10:0-21:0"` or `"7:30-15:0"`.
///
/// * Times are 24-hour `H:M` with one- or two-digit parts (`24:0` is
///   accepted as a close of midnight); whitespace around the parts is
///   ignored.
/// * A close earlier than the open runs past midnight: `"18:0-2:0"` →
///   `1080..1560`.
/// * Yelp writes "open 24 hours" as `"0:0-0:0"` → `0..1440`; likewise any
///   value whose close equals its open is 24 hours from the open time.
/// * `"Closed"` (any case) → [`DayHours::Closed`], for symmetry with Google.
///
/// `day` must be 0..=6. Anything else is an [`HoursError`]; never panics.
pub fn parse_yelp_hours(day: u8, value: &str) -> Result<DayHours, HoursError> {
    yelp_hours_inner(day, value).map_err(|reason| HoursError::new(value, reason))
}

fn yelp_hours_inner(day: u8, value: &str) -> Result<DayHours, &'static str> {
    check_day(day)?;
    let v = value.trim();
    if v.is_empty() {
        return Err("empty value");
    }
    if v.eq_ignore_ascii_case("closed") {
        return Ok(DayHours::Closed);
    }
    let (a, b) = v
        .split_once('-')
        .ok_or("expected OPEN-CLOSE separated by '-'")?;
    let open = hm_24(a.trim())?;
    let close = hm_24(b.trim())?;
    if open >= DAY_MINUTES {
        return Err("opening time must be before 24:00");
    }
    Ok(DayHours::Open(vec![make_interval(day, open, close)]))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meridiem {
    Am,
    Pm,
}

impl Meridiem {
    fn other(self) -> Self {
        match self {
            Self::Am => Self::Pm,
            Self::Pm => Self::Am,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct ClockTime {
    hour: u16,
    minute: u16,
    meridiem: Option<Meridiem>,
}

impl ClockTime {
    /// Minutes from midnight reading the time with meridiem `m`
    /// (`12AM` → 0, `12PM` → 720). The hour must be 1..=12.
    fn minutes_with(self, m: Meridiem) -> u16 {
        let h = self.hour % 12 + if m == Meridiem::Pm { 12 } else { 0 };
        h * 60 + self.minute
    }

    /// Minutes from midnight as a 24-hour time (only for times without a
    /// meridiem; may be 1440 for `24:00`).
    fn minutes_24(self) -> u16 {
        self.hour * 60 + self.minute
    }
}

/// Splits a trailing `AM`/`PM`/`a.m.`/`p.m.` (any case) off a time.
fn split_meridiem(s: &str) -> (&str, Option<Meridiem>) {
    let b = s.as_bytes();
    let (letter, cut) = match b {
        [.., x, b'.', m, b'.'] if m.eq_ignore_ascii_case(&b'm') => (*x, 4),
        [.., x, m] if m.eq_ignore_ascii_case(&b'm') => (*x, 2),
        _ => return (s, None),
    };
    let meridiem = match letter.to_ascii_lowercase() {
        b'a' => Meridiem::Am,
        b'p' => Meridiem::Pm,
        _ => return (s, None),
    };
    // `cut` trailing bytes are ASCII, so this is a char boundary.
    match s.get(..s.len() - cut) {
        Some(rest) => (rest.trim_end(), Some(meridiem)),
        None => (s, None),
    }
}

/// Parses `H`, `H:MM` with an optional meridiem (`"11:30AM"`, `"5"`,
/// `"2 PM"`). With a meridiem the hour must be 1..=12; without one it is
/// read as 0..=24 (the caller may narrow that).
fn clock_time(s: &str) -> Result<ClockTime, &'static str> {
    let (num, meridiem) = split_meridiem(s.trim());
    let (h, m) = match num.split_once(':') {
        Some((h, m)) => (h, Some(m)),
        None => (num, None),
    };
    let hour = small_uint(h, 2).ok_or("hour is not 1-2 digits")?;
    let minute = match m {
        Some(m) if m.len() == 2 => small_uint(m, 2).ok_or("minute is not 2 digits")?,
        Some(_) => return Err("minute is not 2 digits"),
        None => 0,
    };
    if minute >= 60 {
        return Err("minute out of range");
    }
    match meridiem {
        Some(_) if !(1..=12).contains(&hour) => Err("hour out of range for AM/PM"),
        None if hour > 24 || (hour == 24 && minute > 0) => Err("hour out of range"),
        _ => Ok(ClockTime {
            hour,
            minute,
            meridiem,
        }),
    }
}

/// Length in minutes of the interval `open..close`, where a close at or
/// before the open falls on the next day.
fn wrapped_len(open: u16, close: u16) -> u16 {
    if close > open {
        close - open
    } else {
        close + DAY_MINUTES - open
    }
}

/// Longest range (minutes) for which the "other meridiem" reading is chosen.
const HALF_DAY: u16 = 720;

/// Resolves one Google range `"START–END"` to `(open, close)` minutes, with
/// `open` in `0..1440` and `close` in `0..=1440` (not yet wrapped).
fn google_range(text: &str) -> Result<(u16, u16), &'static str> {
    let (a, b) = text
        .split_once(['–', '-', '—'])
        .ok_or("expected START–END separated by a dash")?;
    let start = clock_time(a)?;
    let end = clock_time(b)?;
    let bare_hour_ok = |t: ClockTime| (1..=12).contains(&t.hour);
    let (open, close) = match (start.meridiem, end.meridiem) {
        (Some(sm), Some(em)) => (start.minutes_with(sm), end.minutes_with(em)),
        (None, None) => (start.minutes_24(), end.minutes_24()),
        (None, Some(em)) => {
            if !bare_hour_ok(start) {
                return Err("hour out of range for AM/PM");
            }
            let close = end.minutes_with(em);
            let close_eff = if close == 0 { DAY_MINUTES } else { close };
            let same = start.minutes_with(em);
            let other = start.minutes_with(em.other());
            let open = if same < close_eff {
                same
            } else if wrapped_len(other, close) <= HALF_DAY {
                other
            } else {
                same
            };
            (open, close)
        }
        (Some(sm), None) => {
            if !bare_hour_ok(end) {
                return Err("hour out of range for AM/PM");
            }
            let open = start.minutes_with(sm);
            let same = end.minutes_with(sm);
            let other = end.minutes_with(sm.other());
            let same_eff = if same == 0 { DAY_MINUTES } else { same };
            let close = if same_eff > open {
                same
            } else if wrapped_len(open, other) <= HALF_DAY {
                other
            } else {
                same
            };
            (open, close)
        }
    };
    if open >= DAY_MINUTES {
        return Err("opening time must be before midnight");
    }
    Ok((open, close))
}

/// True when the whitespace-separated words of `s` equal `words`
/// (ASCII case-insensitive). Any Unicode whitespace separates words.
fn words_eq(s: &str, words: &[&str]) -> bool {
    let mut it = s.split_whitespace();
    for w in words {
        match it.next() {
            Some(x) if x.eq_ignore_ascii_case(w) => {}
            _ => return false,
        }
    }
    it.next().is_none()
}

/// Parses one day's Google Maps hours value.
///
/// Accepted forms (case-insensitive, any Unicode whitespace — space,
/// U+00A0, U+2009, U+202F — allowed around every token):
///
/// * `"Closed"` → [`DayHours::Closed`]; `"Open 24 hours"` → `0..1440`.
/// * One or more ranges separated by commas: `"8AM–5PM"`, `"11AM–2:30PM"`,
///   `"11:30AM–2PM,5–9PM"`. The dash is an en dash (U+2013), a hyphen or an
///   em dash. Times are `H` or `H:MM` followed by `AM`/`PM` (`a.m.`/`p.m.`
///   too). Intervals are returned in the order written.
/// * `12AM` is midnight: as a start it is minute 0, as an end it closes the
///   day (`"12PM–12AM"` → `720..1440`, `"12AM–12AM"` → `0..1440`).
/// * A close at or before the open runs past midnight: `"6AM–3AM"` →
///   `360..1620`.
///
/// **A bare time** (no AM/PM) on one side takes the meridiem of the other
/// side, which is how Google writes ranges within one half of the day
/// (`"5–9PM"` = 17:00–21:00, `"12–4PM"` = 12:00–16:00, `"12:10–1:10AM"` =
/// 00:10–01:10). If that reading would put the end at or before the start
/// (an overnight range), the opposite meridiem is used instead provided the
/// resulting range (overnight or not) is at most 12 hours: `"11–2PM"` =
/// 11:00–14:00, `"11–2AM"` = 23:00–02:00, `"9PM–2"` = 21:00–02:00,
/// `"5–5PM"` = 05:00–17:00. Otherwise the same-meridiem overnight reading
/// stands. If neither side has a meridiem both are read as 24-hour times
/// (`"17:00–21:00"`).
///
/// `day` must be 0..=6. Anything else is an [`HoursError`]; never panics.
pub fn parse_google_hours(day: u8, value: &str) -> Result<DayHours, HoursError> {
    google_hours_inner(day, value).map_err(|reason| HoursError::new(value, reason))
}

fn google_hours_inner(day: u8, value: &str) -> Result<DayHours, &'static str> {
    check_day(day)?;
    let v = value.trim();
    if v.is_empty() {
        return Err("empty value");
    }
    if words_eq(v, &["closed"]) {
        return Ok(DayHours::Closed);
    }
    if words_eq(v, &["open", "24", "hours"]) {
        return Ok(DayHours::Open(vec![OpenInterval {
            day,
            open_minute: 0,
            close_minute: DAY_MINUTES,
        }]));
    }
    let mut out = Vec::with_capacity(1);
    for part in v.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (open, close) = google_range(part)?;
        out.push(make_interval(day, open, close));
    }
    if out.is_empty() {
        return Err("no time range found");
    }
    Ok(DayHours::Open(out))
}

// ---------------------------------------------------------------------------
// Python literals (Yelp `attributes`)
// ---------------------------------------------------------------------------

/// A typed value parsed from a Yelp `attributes` string, which holds a
/// Python literal (`"True"`, `"u'free'"`, `"{'garage': False, ...}"`).
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// Python `None`.
    Null,
    /// Python `True` / `False`.
    Bool(bool),
    /// A Python int that fits in `i64` (larger ones become [`AttrValue::Float`]).
    Int(i64),
    /// A Python float.
    Float(f64),
    /// A Python string (`'x'`, `"x"`, `u'x'`, `r'x'`, `b'x'`, triple-quoted),
    /// with escapes decoded.
    Str(String),
    /// A Python dict, in source order. Keys are strings; non-string keys are
    /// kept as their Python text (`1` → `"1"`, `None` → `"None"`). A repeated
    /// key keeps its first position and its last value, as Python does.
    Map(Vec<(String, AttrValue)>),
}

/// A Python-literal value that could not be parsed.
///
/// Its `Display` names the offending text (cut to 200 bytes), the byte
/// offset where parsing stopped, and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrError {
    text: String,
    offset: usize,
    reason: &'static str,
}

impl AttrError {
    /// The offending text (cut to 200 bytes if it was longer).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Byte offset in the input where parsing failed.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Why the text was rejected.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for AttrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot parse Python literal {:?} at byte {}: {}",
            self.text, self.offset, self.reason
        )
    }
}

impl Error for AttrError {}

/// Deepest dict nesting accepted (bounds recursion on hostile input).
const MAX_DEPTH: usize = 64;

struct PyParser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

type PyResult<T> = Result<T, &'static str>;

impl<'a> PyParser<'a> {
    fn new(src: &'a str) -> Self {
        Self {
            src,
            bytes: src.as_bytes(),
            pos: 0,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            if b.is_ascii_whitespace() {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn value(&mut self) -> PyResult<AttrValue> {
        self.skip_ws();
        match self.peek() {
            None => Err("unexpected end of input"),
            Some(b'{') => self.dict(),
            Some(b'[' | b'(') => Err("lists, tuples and sets are not supported"),
            Some(b'\'' | b'"') => self.strings(false).map(AttrValue::Str),
            Some(b'-' | b'+' | b'.' | b'0'..=b'9') => self.number(),
            Some(b) if b.is_ascii_alphabetic() || b == b'_' => {
                let start = self.pos;
                let ident = self.ident();
                if matches!(self.peek(), Some(b'\'' | b'"'))
                    && let Some(raw) = string_prefix(ident)
                {
                    return self.strings(raw).map(AttrValue::Str);
                }
                match ident {
                    "None" => Ok(AttrValue::Null),
                    "True" => Ok(AttrValue::Bool(true)),
                    "False" => Ok(AttrValue::Bool(false)),
                    _ => {
                        self.pos = start;
                        Err("unknown name (expected None, True, False or a literal)")
                    }
                }
            }
            Some(_) => Err("unexpected character"),
        }
    }

    fn ident(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if b.is_ascii_alphanumeric() || b == b'_' {
                self.pos += 1;
            } else {
                break;
            }
        }
        self.src.get(start..self.pos).unwrap_or("")
    }

    /// One string literal (the prefix, if any, already consumed) followed by
    /// any adjacent literals, which Python concatenates.
    fn strings(&mut self, raw: bool) -> PyResult<String> {
        let mut out = String::new();
        self.string_body(raw, &mut out)?;
        loop {
            let save = self.pos;
            self.skip_ws();
            match self.peek() {
                Some(b'\'' | b'"') => self.string_body(false, &mut out)?,
                Some(b) if b.is_ascii_alphabetic() => {
                    let ident = self.ident();
                    match string_prefix(ident) {
                        Some(raw) if matches!(self.peek(), Some(b'\'' | b'"')) => {
                            self.string_body(raw, &mut out)?;
                        }
                        _ => {
                            self.pos = save;
                            return Ok(out);
                        }
                    }
                }
                _ => {
                    self.pos = save;
                    return Ok(out);
                }
            }
        }
    }

    fn push_span(&self, out: &mut String, start: usize) -> PyResult<()> {
        let span = self
            .src
            .get(start..self.pos)
            .ok_or("string split inside a character")?;
        out.push_str(span);
        Ok(())
    }

    fn string_body(&mut self, raw: bool, out: &mut String) -> PyResult<()> {
        let q = self.peek().ok_or("expected a quote")?;
        let triple = self.bytes.get(self.pos..self.pos + 3) == Some(&[q, q, q][..]);
        self.pos += if triple { 3 } else { 1 };
        let mut span = self.pos;
        loop {
            let Some(b) = self.peek() else {
                return Err("unterminated string");
            };
            if b == q {
                if !triple {
                    self.push_span(out, span)?;
                    self.pos += 1;
                    return Ok(());
                }
                if self.bytes.get(self.pos..self.pos + 3) == Some(&[q, q, q][..]) {
                    self.push_span(out, span)?;
                    self.pos += 3;
                    return Ok(());
                }
                self.pos += 1;
                continue;
            }
            if b != b'\\' {
                self.pos += 1;
                continue;
            }
            self.push_span(out, span)?;
            self.pos += 1;
            if raw {
                // A raw string keeps the backslash; an escaped quote or
                // backslash still does not end the literal.
                out.push('\\');
                if let Some(n) = self.peek()
                    && (n == q || n == b'\\')
                {
                    out.push(char::from(n));
                    self.pos += 1;
                }
            } else {
                self.escape(out)?;
            }
            span = self.pos;
        }
    }

    fn hex(&mut self, n: usize) -> PyResult<u32> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + n)
            .ok_or("truncated escape")?;
        let mut v = 0u32;
        for &d in digits {
            let x = char::from(d)
                .to_digit(16)
                .ok_or("bad hex digit in escape")?;
            v = v * 16 + x;
        }
        self.pos += n;
        Ok(v)
    }

    /// Decodes the escape after a backslash (already consumed).
    fn escape(&mut self, out: &mut String) -> PyResult<()> {
        let Some(b) = self.peek() else {
            return Err("dangling backslash");
        };
        let simple = match b {
            b'\n' => Some(None),
            b'\\' => Some(Some('\\')),
            b'\'' => Some(Some('\'')),
            b'"' => Some(Some('"')),
            b'a' => Some(Some('\x07')),
            b'b' => Some(Some('\x08')),
            b'f' => Some(Some('\x0c')),
            b'n' => Some(Some('\n')),
            b'r' => Some(Some('\r')),
            b't' => Some(Some('\t')),
            b'v' => Some(Some('\x0b')),
            _ => None,
        };
        if let Some(c) = simple {
            self.pos += 1;
            if let Some(c) = c {
                out.push(c);
            }
            return Ok(());
        }
        let code = match b {
            b'0'..=b'7' => {
                let mut v = 0u32;
                let mut n = 0;
                while n < 3 {
                    match self.peek() {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            self.pos += 1;
                            n += 1;
                        }
                        _ => break,
                    }
                }
                v
            }
            b'x' => {
                self.pos += 1;
                self.hex(2)?
            }
            b'u' => {
                self.pos += 1;
                self.hex(4)?
            }
            b'U' => {
                self.pos += 1;
                self.hex(8)?
            }
            b'N' => return Err("\\N{...} escapes are not supported"),
            _ => {
                // Unknown escape: Python keeps the backslash; the character
                // itself is copied with the next span.
                out.push('\\');
                return Ok(());
            }
        };
        out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
        Ok(())
    }

    fn number(&mut self) -> PyResult<AttrValue> {
        let start = self.pos;
        if matches!(self.peek(), Some(b'+' | b'-')) {
            self.pos += 1;
        }
        let mut is_float = false;
        let mut digits = 0usize;
        while let Some(b) = self.peek() {
            match b {
                b'0'..=b'9' => {
                    digits += 1;
                    self.pos += 1;
                }
                b'.' => {
                    is_float = true;
                    self.pos += 1;
                }
                b'e' | b'E' if digits > 0 => {
                    is_float = true;
                    self.pos += 1;
                    if matches!(self.peek(), Some(b'+' | b'-')) {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
        let text = self.src.get(start..self.pos).unwrap_or("");
        if digits == 0 {
            self.pos = start;
            return Err("malformed number");
        }
        if !is_float && let Ok(i) = text.parse::<i64>() {
            return Ok(AttrValue::Int(i));
        }
        match text.parse::<f64>() {
            Ok(f) => Ok(AttrValue::Float(f)),
            Err(_) => {
                self.pos = start;
                Err("malformed number")
            }
        }
    }

    fn dict(&mut self) -> PyResult<AttrValue> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("dicts nested too deeply");
        }
        self.pos += 1; // '{'
        let mut entries: Vec<(String, AttrValue)> = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some(b'}') {
                self.pos += 1;
                break;
            }
            let key = self.key()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err("expected ':' after dict key");
            }
            self.pos += 1;
            let value = self.value()?;
            entries.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => return Err("expected ',' or '}' in dict"),
                None => return Err("unterminated dict"),
            }
        }
        self.depth -= 1;
        Ok(AttrValue::Map(dedupe_last_wins(entries)))
    }

    fn key(&mut self) -> PyResult<String> {
        let start = self.pos;
        match self.value()? {
            AttrValue::Str(s) => Ok(s),
            AttrValue::Null => Ok("None".to_owned()),
            AttrValue::Bool(true) => Ok("True".to_owned()),
            AttrValue::Bool(false) => Ok("False".to_owned()),
            AttrValue::Int(i) => Ok(i.to_string()),
            AttrValue::Float(f) => Ok(format!("{f:?}")),
            AttrValue::Map(_) => {
                self.pos = start;
                Err("a dict cannot be a dict key")
            }
        }
    }
}

/// If `ident` is a Python string prefix, whether it makes the string raw.
fn string_prefix(ident: &str) -> Option<bool> {
    const PREFIXES: [(&str, bool); 6] = [
        ("u", false),
        ("b", false),
        ("r", true),
        ("br", true),
        ("rb", true),
        ("ur", true),
    ];
    PREFIXES
        .iter()
        .find(|(p, _)| p.eq_ignore_ascii_case(ident))
        .map(|&(_, raw)| raw)
}

/// Python dict semantics for repeated keys: first position, last value.
fn dedupe_last_wins(entries: Vec<(String, AttrValue)>) -> Vec<(String, AttrValue)> {
    let mut out: Vec<(String, AttrValue)> = Vec::with_capacity(entries.len());
    if entries.len() <= 32 {
        for (k, v) in entries {
            match out.iter_mut().find(|(ek, _)| *ek == k) {
                Some(slot) => slot.1 = v,
                None => out.push((k, v)),
            }
        }
    } else {
        let mut index: HashMap<String, usize> = HashMap::with_capacity(entries.len());
        for (k, v) in entries {
            match index.get(&k) {
                Some(&i) => {
                    if let Some(slot) = out.get_mut(i) {
                        slot.1 = v;
                    }
                }
                None => {
                    index.insert(k.clone(), out.len());
                    out.push((k, v));
                }
            }
        }
    }
    out
}

/// Whether `s` is shaped like a quoted Python string literal.
fn looks_quoted(s: &str) -> bool {
    let body = s.trim_start_matches(['u', 'U', 'r', 'R', 'b', 'B']);
    (body.starts_with('\'') && s.ends_with('\'')) || (body.starts_with('"') && s.ends_with('"'))
}

fn parse_literal_raw(s: &str) -> Result<AttrValue, (&'static str, usize)> {
    let mut p = PyParser::new(s);
    let v = p.value().map_err(|r| (r, p.pos))?;
    p.skip_ws();
    if p.at_end() {
        Ok(v)
    } else {
        Err(("unexpected text after the literal", p.pos))
    }
}

/// Parses one Yelp `attributes` value, which is a Python literal.
///
/// Supported: `None`, `True`, `False`, ints (`2`, `-3`; beyond `i64` they
/// become floats), floats (`1.5`, `.5`, `1e3`), strings in single, double or
/// triple quotes with `u`/`b`/`r` prefixes, all Python escapes except
/// `\N{...}`, adjacent-literal concatenation, and dicts (`{}`, nested, with a
/// trailing comma allowed). Lists, tuples and sets are rejected, as is
/// nesting deeper than 64 dicts. Surrounding whitespace is ignored.
///
/// A top-level string whose content is itself a quoted string literal is
/// unwrapped (up to 4 levels): Yelp double-encodes some values, so
/// `"u'quiet'"` (with the double quotes in the text) → `Str("quiet")`, the
/// same as `u'quiet'`. Strings inside dicts are not unwrapped.
///
/// Errors carry the text, the failing byte offset and a reason; never
/// panics.
pub fn parse_python_literal(s: &str) -> Result<AttrValue, AttrError> {
    match parse_literal_raw(s) {
        Ok(v) => Ok(unwrap_quoted(v)),
        Err((reason, offset)) => Err(AttrError {
            text: error_text(s),
            offset,
            reason,
        }),
    }
}

fn unwrap_quoted(mut v: AttrValue) -> AttrValue {
    for _ in 0..4 {
        let next = match &v {
            AttrValue::Str(s) if looks_quoted(s.trim()) => match parse_literal_raw(s.trim()) {
                Ok(inner @ AttrValue::Str(_)) => Some(inner),
                _ => None,
            },
            _ => None,
        };
        match next {
            Some(n) => v = n,
            None => break,
        }
    }
    v
}

/// Appends `s` as a JSON string literal (quotes included).
fn write_json_string(s: &str, out: &mut String) {
    out.reserve(s.len() + 2);
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        // Escaped bytes are ASCII, so `start` and `i` are char boundaries.
        out.push_str(s.get(start..i).unwrap_or(""));
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or(""));
    out.push('"');
}

impl AttrValue {
    /// Appends the value as JSON: `Null` → `null`, booleans and numbers as
    /// JSON literals (a non-finite float → `null`), strings escaped per
    /// RFC 8259, maps as objects with keys in their stored order.
    pub fn write_json(&self, out: &mut String) {
        match self {
            AttrValue::Null => out.push_str("null"),
            AttrValue::Bool(true) => out.push_str("true"),
            AttrValue::Bool(false) => out.push_str("false"),
            AttrValue::Int(i) => {
                let _ = write!(out, "{i}");
            }
            AttrValue::Float(f) => {
                if f.is_finite() {
                    // `{:?}` always shows a fraction or exponent ("2.0",
                    // "1e300"), both valid JSON numbers.
                    let _ = write!(out, "{f:?}");
                } else {
                    out.push_str("null");
                }
            }
            AttrValue::Str(s) => write_json_string(s, out),
            AttrValue::Map(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_string(k, out);
                    out.push(':');
                    v.write_json(out);
                }
                out.push('}');
            }
        }
    }

    /// `Bool(b)` → `Some(b)`; `Str` of `"true"`/`"false"` (any case,
    /// surrounding whitespace ignored) → `Some`; anything else → `None`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            AttrValue::Bool(b) => Some(*b),
            AttrValue::Str(s) => {
                let t = s.trim();
                if t.eq_ignore_ascii_case("true") {
                    Some(true)
                } else if t.eq_ignore_ascii_case("false") {
                    Some(false)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// `Int(i)` → `Some(i)`; `Str` holding an optionally signed decimal
    /// integer that fits `i64` (`"2"`, whitespace ignored) → `Some`; else `None`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            AttrValue::Int(i) => Some(*i),
            AttrValue::Str(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        }
    }

    /// The text of a `Str`; `None` for every other variant.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value stored under `key` in a `Map` (exact key match); `None` if
    /// the key is absent or `self` is not a map.
    pub fn get(&self, key: &str) -> Option<&AttrValue> {
        match self {
            AttrValue::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Dates and timestamps
// ---------------------------------------------------------------------------

/// Days in 400 Gregorian years: the proleptic Gregorian calendar repeats
/// itself, dates and weekdays, every 146 097 (= 7 × 20 871) days.
const CYCLE_DAYS: i64 = 146_097;

/// Days from 1970-01-01 to the proleptic Gregorian date `y-m-d` (negative
/// before 1970), computed with `chrono`.
///
/// Every `i32` year works: a year outside chrono's range (±262 143) is moved
/// into it by whole 400-year cycles, which the calendar repeats exactly.
/// Meant for valid dates (`m` in 1..=12, `d` in 1..=days in month); other
/// inputs roll over (month 0 is December of the year before, month 13
/// January of the next, February 30 a day or two into March) and never
/// panic or overflow.
pub const fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let months = y as i64 * 12 + m as i64 - 1;
    let year = months.div_euclid(12);
    let month = (months.rem_euclid(12) + 1) as u32;
    // year = 400 × cycles + (2000..2400); the same date in 2000..2400 is
    // cycles × CYCLE_DAYS days away.
    let cycles = year.div_euclid(400) - 5;
    let first_of_month =
        match NaiveDate::from_ymd_opt((year.rem_euclid(400) + 2000) as i32, month, 1) {
            Some(date) => date.to_epoch_days() as i64,
            // Unreachable: the year is in 2000..2400 and the month in 1..=12.
            None => 0,
        };
    cycles * CYCLE_DAYS + first_of_month + (d as i64 - 1)
}

/// Smallest and largest day numbers whose year fits in `i32`.
const MIN_CIVIL_DAYS: i64 = days_from_civil(i32::MIN, 1, 1);
const MAX_CIVIL_DAYS: i64 = days_from_civil(i32::MAX, 12, 31);

/// The day `days` (days since 1970-01-01, any `i64`) moved into
/// 1970-01-01..=2369-12-31 by whole 400-year cycles: that date, which has
/// the same month, day and weekday, and the number of cycles moved.
fn date_in_first_cycle(days: i64) -> Option<(NaiveDate, i64)> {
    let date = i32::try_from(days.rem_euclid(CYCLE_DAYS))
        .ok()
        .and_then(NaiveDate::from_epoch_days)?;
    Some((date, days.div_euclid(CYCLE_DAYS)))
}

/// The proleptic Gregorian date `(year, month, day)` that is `days` days
/// after 1970-01-01, computed with `chrono`.
///
/// `days` outside the range whose year fits in `i32` is clamped to
/// `i32::MIN`-01-01 / `i32::MAX`-12-31; never panics.
pub fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let Some((date, cycles)) = date_in_first_cycle(days.clamp(MIN_CIVIL_DAYS, MAX_CIVIL_DAYS))
    else {
        // Unreachable: every remainder of CYCLE_DAYS is a valid chrono date.
        return (1970, 1, 1);
    };
    let year = i64::from(date.year()) + cycles * 400;
    (
        i32::try_from(year).unwrap_or(if year < 0 { i32::MIN } else { i32::MAX }),
        date.month(),
        date.day(),
    )
}

/// Day of the week of day number `days` (days since 1970-01-01, which was a
/// Thursday): 0 = Monday … 6 = Sunday. Works for any `i64`.
pub fn weekday_from_days(days: i64) -> u8 {
    date_in_first_cycle(days)
        .and_then(|(date, _)| u8::try_from(date.weekday().num_days_from_monday()).ok())
        .unwrap_or(0)
}

/// Value of a run of ASCII digits (at most 9, so it fits `u32`).
fn ascii_digits(ds: &[u8]) -> Option<u32> {
    if ds.is_empty() || ds.len() > 9 {
        return None;
    }
    ds.iter().try_fold(0u32, |acc, &b| {
        if b.is_ascii_digit() {
            Some(acc * 10 + u32::from(b - b'0'))
        } else {
            None
        }
    })
}

/// Epoch numbers below this are seconds, from it on milliseconds: `1e11` seconds is
/// the year 5138, `1e11` milliseconds is 1973-03-03, so no date either release could
/// hold is ambiguous (Yelp's data starts in 2004).
pub const EPOCH_MILLIS_FROM: i64 = 100_000_000_000;

/// Epoch numbers from this on are refused: as milliseconds they would be after the
/// year 5138 (microsecond or nanosecond epochs are not a form Yelp data comes in).
pub const EPOCH_MAX: i64 = 100_000_000_000_000;

/// Microseconds since the Unix epoch (UTC) of a Yelp date or timestamp, in any form
/// the published releases and their common re-exports use:
///
/// | form | example | read as |
/// |---|---|---|
/// | `YYYY-MM-DD HH:MM:SS` | `2018-07-07 22:09:11` | UTC (the releases carry no zone) |
/// | `YYYY-MM-DDTHH:MM:SS` | `2018-07-07T22:09:11` | UTC |
/// | either, with a fraction of 1–9 digits | `2018-07-07 22:09:11.5` | kept to the microsecond, truncated |
/// | either, with a zone | `…Z`, `…+02:00`, `…-0530`, `…+02` | converted to UTC (offset hours < 24, minutes < 60) |
/// | `YYYY-MM-DD` | `2012-03-14` (reviews and tips of 2013–2017) | midnight UTC |
/// | `YYYY-MM` | `2012-03` (`yelping_since` of 2013–2015) | the first of the month, midnight UTC |
/// | epoch seconds | `1531001351` | below [`EPOCH_MILLIS_FROM`] (`1e11`) |
/// | epoch milliseconds | `1531001351000` | from [`EPOCH_MILLIS_FROM`] up to [`EPOCH_MAX`] (`1e14`, excluded) |
///
/// Epochs are unsigned runs of ASCII digits (a JSON number reaches the raw zone as its
/// decimal text, so numbers and numeric strings read the same). Surrounding whitespace
/// is ignored. Fields must be zero-padded and in range: month 1–12, day valid for the
/// month (leap years included), hour < 24, minute < 60, second < 60; a time needs its
/// seconds. Anything else is `None`; never panics, never allocates.
pub fn parse_yelp_timestamp(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if !b.is_empty() && b.iter().all(u8::is_ascii_digit) {
        return epoch_micros(b);
    }
    if let [y0, y1, y2, y3, b'-', m0, m1] = b {
        let year = i32::try_from(ascii_digits(&[*y0, *y1, *y2, *y3])?).ok()?;
        let month = ascii_digits(&[*m0, *m1])?;
        let date = NaiveDate::from_ymd_opt(year, month, 1)?;
        return Some(i64::from(date.to_epoch_days()) * 86_400_000_000);
    }
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, rest @ ..] = b else {
        return None;
    };
    let year = i32::try_from(ascii_digits(&[*y0, *y1, *y2, *y3])?).ok()?;
    let month = ascii_digits(&[*m0, *m1])?;
    let day = ascii_digits(&[*d0, *d1])?;
    // chrono checks the month and the day (leap years included).
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let (secs, micros, offset_secs) = match rest {
        [] => (0, 0, 0),
        [b' ' | b'T', h0, h1, b':', n0, n1, b':', s0, s1, tail @ ..] => {
            let hour = ascii_digits(&[*h0, *h1])?;
            let minute = ascii_digits(&[*n0, *n1])?;
            let second = ascii_digits(&[*s0, *s1])?;
            if hour >= 24 || minute >= 60 || second >= 60 {
                return None;
            }
            let (frac, zone) = match tail {
                [b'.', more @ ..] => {
                    let n = more.iter().take_while(|c| c.is_ascii_digit()).count();
                    (more.get(..n)?, more.get(n..)?)
                }
                _ => (&[][..], tail),
            };
            let micros = if tail.first() == Some(&b'.') {
                let v = ascii_digits(frac)?;
                // Scale to 9 digits (nanoseconds), then to micros.
                let scale =
                    10u32.checked_pow(9u32.checked_sub(u32::try_from(frac.len()).ok()?)?)?;
                v.checked_mul(scale)? / 1000
            } else {
                0
            };
            (
                hour * 3600 + minute * 60 + second,
                micros,
                zone_offset(zone)?,
            )
        }
        _ => return None,
    };
    let days = i64::from(date.to_epoch_days());
    let local = days * 86_400_000_000 + i64::from(secs) * 1_000_000 + i64::from(micros);
    Some(local - offset_secs * 1_000_000)
}

/// An epoch number (ASCII digits) in microseconds, seconds or milliseconds told apart
/// by [`EPOCH_MILLIS_FROM`]; `None` from [`EPOCH_MAX`] on.
fn epoch_micros(digits: &[u8]) -> Option<i64> {
    if digits.len() > 18 {
        return None;
    }
    let n = digits.iter().try_fold(0i64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(i64::from(d - b'0'))
    })?;
    if n < EPOCH_MILLIS_FROM {
        n.checked_mul(1_000_000)
    } else if n < EPOCH_MAX {
        n.checked_mul(1_000)
    } else {
        None
    }
}

/// Seconds east of UTC of a zone suffix: empty or `Z` (0), `±HH:MM`, `±HHMM`, `±HH`.
fn zone_offset(zone: &[u8]) -> Option<i64> {
    let (sign, hh, mm) = match zone {
        [] | [b'Z'] => return Some(0),
        [s @ (b'+' | b'-'), h0, h1] => (*s, [*h0, *h1], [b'0', b'0']),
        [s @ (b'+' | b'-'), h0, h1, m0, m1] | [s @ (b'+' | b'-'), h0, h1, b':', m0, m1] => {
            (*s, [*h0, *h1], [*m0, *m1])
        }
        _ => return None,
    };
    let (h, m) = (ascii_digits(&hh)?, ascii_digits(&mm)?);
    if h >= 24 || m >= 60 {
        return None;
    }
    let secs = i64::from(h * 3600 + m * 60);
    Some(if sign == b'-' { -secs } else { secs })
}

// ---------------------------------------------------------------------------
// Check-in histograms and full addresses (Yelp releases of 2013–2018)
// ---------------------------------------------------------------------------

/// The hour-of-week cell of a `checkin_info` key of the 2013–2016 Yelp releases:
/// `"H-D"`, hour `H` in 0..=23, day `D` in 0..=6 **with 0 = Sunday** (the dataset's
/// documentation: `'0-0'` is "the number of checkins from 00:00 to 01:00 on all
/// Sundays", `'23-6'` "from 23:00 to 00:00 on all Saturdays"). Returns
/// `(weekday, hour)` with the warehouse's weekday, **0 = Monday** … 6 = Sunday (as
/// `dim_date.weekday`): `"14-4"` (Thursday) → `(3, 14)`, `"9-0"` (Sunday) → `(6, 9)`.
/// Anything else is `None`.
pub fn parse_checkin_info_key(key: &str) -> Option<(u8, u8)> {
    let (h, d) = key.trim().split_once('-')?;
    let hour = small_uint(h, 2).filter(|h| *h < 24)?;
    let day = small_uint(d, 1).filter(|d| *d < 7)?;
    // Sunday-first to Monday-first.
    Some((((day + 6) % 7) as u8, hour as u8))
}

/// The hour of a check-in histogram bucket of the 2018 release, `"20:00"` or `"0:00"`
/// (keys of `time.<Weekday>`): 0..=23, or `None`.
pub fn parse_checkin_hour(s: &str) -> Option<u8> {
    let (h, m) = s.trim().split_once(':')?;
    let hour = small_uint(h, 2).filter(|h| *h < 24)?;
    (small_uint(m, 2)? == 0).then_some(hour as u8)
}

/// One item of the `time` list of the 2017 release, `"Fri-0:2"` (weekday, hour of the
/// day, check-ins): `(weekday 0 = Monday, hour, count)`; `None` when malformed or the
/// count is not a positive integer.
pub fn parse_checkin_time_item(s: &str) -> Option<(u8, u8, i64)> {
    let (day, rest) = s.trim().split_once('-')?;
    let (h, n) = rest.split_once(':')?;
    let weekday = weekday_index(day)?;
    let hour = small_uint(h, 2).filter(|h| *h < 24)?;
    let count = n.trim().parse::<i64>().ok().filter(|n| *n > 0)?;
    Some((weekday, hour as u8, count))
}

/// The parts of a Yelp `full_address` (releases of 2013–2016), e.g.
/// `"4840 E Indian School Rd\nSte 101\nPhoenix, AZ 85018"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullAddress<'a> {
    /// The lines before the locality, joined with `", "` as the later releases write
    /// `address` (`"4840 E Indian School Rd, Ste 101"`); `None` when there are none.
    pub street: Option<String>,
    /// City of the locality line.
    pub city: Option<&'a str>,
    /// State or province code of the locality line (2 or 3 uppercase letters).
    pub state: Option<&'a str>,
    /// Postal code of the locality line (`"85018"`, `"H2X 2T6"`).
    pub postal_code: Option<&'a str>,
}

/// Splits a Yelp `full_address` on its line breaks. The last line is the locality when
/// it reads `City, ST` or `City, ST POSTAL` (ST 2–3 uppercase ASCII letters; the
/// postal code is the rest of the line); the lines before it are the street. When the
/// last line is not such a locality (`"Edinburgh EH3 9QX"`), every line is street and
/// city, state and postal code are `None`. Blank lines are skipped; never panics.
pub fn parse_yelp_full_address(s: &str) -> FullAddress<'_> {
    let lines: Vec<&str> = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let join = |ls: &[&str]| (!ls.is_empty()).then(|| ls.join(", "));
    let locality = lines.split_last().and_then(|(last, before)| {
        let (city, tail) = last.rsplit_once(',')?;
        let mut words = tail.split_whitespace();
        let state = words.next()?;
        if !(2..=3).contains(&state.len()) || !state.bytes().all(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let postal = tail
            .trim()
            .get(state.len()..)
            .map(str::trim)
            .filter(|p| !p.is_empty());
        let city = clean_str(city);
        Some(FullAddress {
            street: join(before),
            city,
            state: Some(state),
            postal_code: postal,
        })
    });
    locality.unwrap_or(FullAddress {
        street: join(&lines),
        city: None,
        state: None,
        postal_code: None,
    })
}

// ---------------------------------------------------------------------------
// Lists and strings
// ---------------------------------------------------------------------------

/// A four-digit elite year in the plausible range.
fn elite_year(tok: &str) -> Option<i32> {
    if tok.len() != 4 {
        return None;
    }
    let y = i32::try_from(ascii_digits(tok.as_bytes())?).ok()?;
    (1900..=2100).contains(&y).then_some(y)
}

/// Parses a Yelp user's `elite` field into sorted, deduplicated years plus
/// the number of tokens that were not years.
///
/// * `""`, `"None"` (and the other [`clean_str`] nulls) → no years, 0 bad.
/// * Tokens are split on commas and trimmed; empty tokens are skipped
///   silently.
/// * The dataset writes 2020 as two tokens `"20,20"`; a `20` immediately
///   followed by another `20` is read as 2020.
/// * A year is exactly four ASCII digits in 1900..=2100; any other token
///   (including a lone `20`) is counted in the second element and dropped.
pub fn parse_elite(s: &str) -> (Vec<i32>, usize) {
    let mut years = Vec::new();
    let mut bad = 0;
    let Some(s) = clean_str(s) else {
        return (years, bad);
    };
    let mut tokens = s
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .peekable();
    while let Some(tok) = tokens.next() {
        if tok == "20" && tokens.peek() == Some(&"20") {
            tokens.next();
            years.push(2020);
            continue;
        }
        match elite_year(tok) {
            Some(y) => years.push(y),
            None => bad += 1,
        }
    }
    years.sort_unstable();
    years.dedup();
    (years, bad)
}

/// Splits a comma-separated list (`"a, b, c"`) into trimmed, non-empty items,
/// borrowing from `s` (no allocation). A null-ish value (see [`clean_str`]:
/// `"None"`, `""`, …) yields nothing. Used for Yelp `friends` and
/// `categories`.
pub fn split_list(s: &str) -> impl Iterator<Item = &str> {
    clean_str(s)
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// `None` for a null-ish string — empty, whitespace only, or `none`/`null`
/// in any ASCII case (`"None"`, `"NULL"`, …) after trimming; otherwise the
/// trimmed string, borrowed.
pub fn clean_str(s: &str) -> Option<&str> {
    let t = s.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("null") {
        None
    } else {
        Some(t)
    }
}

// ---------------------------------------------------------------------------
// Addresses, cities, prices, ids
// ---------------------------------------------------------------------------

/// The parts of a Google Maps address, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressParts<'a> {
    /// Street part (`"123 Main St"`), when the address has one.
    pub street: Option<&'a str>,
    /// City (as written; run [`normalize_city`] for a canonical form).
    pub city: Option<&'a str>,
    /// Two-letter USPS state code (`"VT"`).
    pub state: &'a str,
    /// Five-digit ZIP code; a ZIP+4 (`"05701-1234"`) is cut to its first
    /// five digits.
    pub postal_code: Option<&'a str>,
}

/// USPS codes of the states, DC, the territories and the military "states".
const US_STATE_CODES: [&str; 59] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
    "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
    "WI", "WY", "DC", "PR", "VI", "GU", "AS", "MP", "AA", "AE", "AP",
];

/// Parses an address tail `"ST"`, `"ST 12345"` or `"ST 12345-6789"`.
fn state_zip(tail: &str) -> Option<(&str, Option<&str>)> {
    let mut words = tail.split_whitespace();
    let state = words.next()?;
    if !US_STATE_CODES.contains(&state) {
        return None;
    }
    let zip = match words.next() {
        None => None,
        Some(z) => {
            let b = z.as_bytes();
            let ok = match b {
                [a, b, c, d, e] => [a, b, c, d, e].iter().all(|x| x.is_ascii_digit()),
                [a, b, c, d, e, b'-', f, g, h, i] => [a, b, c, d, e, f, g, h, i]
                    .iter()
                    .all(|x| x.is_ascii_digit()),
                _ => false,
            };
            if !ok {
                return None;
            }
            Some(z.get(..5)?)
        }
    };
    if words.next().is_some() {
        return None;
    }
    Some((state, zip))
}

/// Whether an address part starts with a house number (`"123 Main St"`,
/// `"60D Pearl St"`, `"359-345 VT-110"`), as opposed to a place name such
/// as `"14th Star Brewing"`.
fn starts_with_house_number(part: &str) -> bool {
    let mut words = part.split_whitespace();
    let (Some(first), Some(_)) = (words.next(), words.next()) else {
        return false;
    };
    let b = first.as_bytes();
    let body = match b {
        [rest @ .., last] if last.is_ascii_alphabetic() => rest,
        _ => b,
    };
    matches!(body.first(), Some(d) if d.is_ascii_digit())
        && body.iter().all(|c| c.is_ascii_digit() || *c == b'-')
}

/// Strips `suffix` from the end of `s`, ASCII case-insensitively.
fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let tail = s.get(cut..)?;
    if tail.eq_ignore_ascii_case(suffix) {
        s.get(..cut)
    } else {
        None
    }
}

/// Splits a Google Maps address such as
/// `"Name, 123 Main St, Rutland, VT 05701"` into its parts.
///
/// The address is read from the right, on commas (empty parts are
/// skipped, parts trimmed):
///
/// 1. a trailing `", United States"` / `", USA"` / `", US"` is dropped;
/// 2. the last part must be a USPS state code (two uppercase letters from
///    the list of states, DC, territories and military codes) optionally
///    followed by a ZIP (`12345` or `12345-6789`); otherwise `None`
///    (e.g. `"Clyde River, Vermont"`);
/// 3. the part before it is the city;
/// 4. the part before the city is the street if more parts precede it (the
///    place name, which may itself contain commas), or if it is the first
///    part and starts with a house number; otherwise that first part is the
///    place name and there is no street (`"Powers Park, Lyndonville, VT"`).
///
/// Every part borrows from `addr`.
pub fn parse_google_address(addr: &str) -> Option<AddressParts<'_>> {
    let mut a = addr.trim();
    for suffix in [", United States", ", USA", ", US"] {
        if let Some(rest) = strip_suffix_ci(a, suffix) {
            a = rest;
            break;
        }
    }
    let mut parts = a.rsplit(',').map(str::trim).filter(|p| !p.is_empty());
    let (state, postal_code) = state_zip(parts.next()?)?;
    let city = parts.next();
    let before_city = parts.next();
    let more = parts.next().is_some();
    let street = before_city.filter(|p| more || starts_with_house_number(p));
    Some(AddressParts {
        street,
        city,
        state,
        postal_code,
    })
}

/// Small words kept lowercase inside a city name (`King of Prussia`,
/// `Lake in the Hills`, `Pass-a-Grille`, `Town 'n' Country`).
const CITY_MINOR_WORDS: [&str; 11] = [
    "a", "an", "and", "at", "by", "in", "n", "of", "on", "the", "upon",
];

/// Two-letter all-caps words that are abbreviations to title-case, not
/// initialisms to keep (`ST LOUIS` → `St Louis`).
const CITY_CAPS_ABBREVIATIONS: [&str; 3] = ["ST", "MT", "FT"];

fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '’'
}

/// `McAllen`, `DeForest`, `LaSalle`: capitalised, second letter lowercase,
/// at most two capitals and never two in a row.
fn is_deliberate_mixed_case(seg: &str) -> bool {
    let mut chars = seg.chars();
    let (Some(c0), Some(c1)) = (chars.next(), chars.next()) else {
        return false;
    };
    if !c0.is_uppercase() || !c1.is_lowercase() {
        return false;
    }
    let mut uppers = 1;
    let mut prev_upper = false;
    for c in seg.chars().skip(1) {
        let up = c.is_uppercase();
        if up {
            uppers += 1;
            if prev_upper {
                return false;
            }
        }
        prev_upper = up;
    }
    uppers <= 2
}

/// Appends `seg` title-cased: the first letter and any letter after `.`,
/// `(` or an apostrophe in second position (`O'Fallon`) upper, the rest
/// lower.
fn push_title_case(out: &mut String, seg: &str) {
    let mut cap_next = true;
    for (i, c) in seg.chars().enumerate() {
        if c.is_alphabetic() {
            if cap_next {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            cap_next = false;
        } else {
            out.push(c);
            if c.is_numeric() {
                cap_next = false;
            } else if matches!(c, '.' | '(') || (is_apostrophe(c) && i == 1) {
                cap_next = true;
            }
        }
    }
}

fn push_city_segment(out: &mut String, seg: &str, first: bool, input_all_caps: bool) {
    if seg.is_empty() {
        return;
    }
    let bare = seg.trim_matches(is_apostrophe);
    if !first
        && CITY_MINOR_WORDS
            .iter()
            .any(|w| w.eq_ignore_ascii_case(bare))
    {
        out.extend(seg.chars().flat_map(char::to_lowercase));
        return;
    }
    let has_lower = seg.chars().any(char::is_lowercase);
    let has_upper = seg.chars().any(char::is_uppercase);
    if has_lower && has_upper && is_deliberate_mixed_case(seg) {
        out.push_str(seg);
        return;
    }
    if has_upper
        && !input_all_caps
        && seg.len() == 2
        && seg.bytes().all(|b| b.is_ascii_uppercase())
        && !CITY_CAPS_ABBREVIATIONS.contains(&seg)
    {
        out.push_str(seg);
        return;
    }
    push_title_case(out, seg);
}

/// Canonical form of a city name, shared by both platforms.
///
/// Rules, in order:
///
/// 1. Trim and collapse every run of (Unicode) whitespace to one space.
/// 2. Words are split further at `-` and `/` (kept), and each piece is
///    cased on its own:
///    * a small word (`a an and at by in n of on the upon`, ignoring
///      surrounding apostrophes) that is not the very first piece is
///      lowercased: `"KING OF PRUSSIA"` → `"King of Prussia"`,
///      `"Pass-A-Grille"` → `"Pass-a-Grille"`;
///    * a piece already in deliberate mixed case — capitalised, second
///      letter lowercase, at most two capitals, never adjacent — is kept:
///      `"McCordsville"`, `"DeForest"` (but `"HIll"` → `"Hill"`);
///    * a two-letter all-caps piece is kept as an initialism
///      (`"Huntingdon Valley PA"`) unless the whole input has no lowercase
///      letters or it is `ST`/`MT`/`FT`;
///    * anything else is title-cased: first letter upper, the rest lower,
///      except a letter after `.` or `(` or after an apostrophe in second
///      position is upper: `"st. petersburg"` → `"St. Petersburg"`,
///      `"o'fallon"` → `"O'Fallon"`, `"TAMPA"` → `"Tampa"`.
///
/// Known limits: `"mcallen"` → `"Mcallen"`; `"coeur d'alene"` →
/// `"Coeur D'Alene"`.
pub fn normalize_city(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let input_all_caps = !s.chars().any(char::is_lowercase);
    for (wi, word) in s.split_whitespace().enumerate() {
        if wi > 0 {
            out.push(' ');
        }
        let mut seg_start = 0;
        let mut first = wi == 0;
        for (i, c) in word.char_indices() {
            if c == '-' || c == '/' {
                push_city_segment(
                    &mut out,
                    word.get(seg_start..i).unwrap_or(""),
                    first,
                    input_all_caps,
                );
                out.push(c);
                seg_start = i + c.len_utf8();
                first = false;
            }
        }
        push_city_segment(
            &mut out,
            word.get(seg_start..).unwrap_or(""),
            first,
            input_all_caps,
        );
    }
    out
}

/// Price level 1..=4 from either platform.
///
/// * Google `price`: one to four repeats of one currency sign — `"$"` …
///   `"$$$$"`; the same for `₩`, `€`, `£`, `¥`, which the dataset also uses
///   (`"₩₩"` → 2).
/// * Yelp `RestaurantsPriceRange2`: `"1"` … `"4"`.
///
/// Surrounding whitespace is ignored; anything else (`"None"`, `"5"`,
/// `"$$$$$"`, `"$€"`) is `None`.
pub fn price_level(s: &str) -> Option<i32> {
    let t = s.trim();
    match t {
        "1" => return Some(1),
        "2" => return Some(2),
        "3" => return Some(3),
        "4" => return Some(4),
        _ => {}
    }
    let mut chars = t.chars();
    let sign = chars.next()?;
    if !matches!(sign, '$' | '₩' | '€' | '£' | '¥') {
        return None;
    }
    let mut n = 1;
    for c in chars {
        if c != sign || n == 4 {
            return None;
        }
        n += 1;
    }
    Some(n)
}

/// True for a Yelp id (business, user or review): exactly 22 characters,
/// each in `[A-Za-z0-9_-]`.
pub fn is_yelp_id(s: &str) -> bool {
    s.len() == 22
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// True for a Google `user_id`: 1 to 30 ASCII digits.
pub fn is_google_user_id(s: &str) -> bool {
    (1..=30).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_hex_u64(s: &str) -> bool {
    s.strip_prefix("0x")
        .is_some_and(|h| (1..=16).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// True for a Google `gmap_id`: `0x<hex>:0x<hex>`, each hex part 1 to 16
/// digits (any case), e.g. `"0x89e1a1b6f3b1a6e5:0x1d0e4bfe3c5e5c1a"`.
pub fn is_gmap_id(s: &str) -> bool {
    s.split_once(':')
        .is_some_and(|(a, b)| is_hex_u64(a) && is_hex_u64(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(day: u8, open: u16, close: u16) -> OpenInterval {
        OpenInterval {
            day,
            open_minute: open,
            close_minute: close,
        }
    }

    fn open1(day: u8, open: u16, close: u16) -> DayHours {
        DayHours::Open(vec![iv(day, open, close)])
    }

    fn g(v: &str) -> DayHours {
        match parse_google_hours(0, v) {
            Ok(h) => h,
            Err(e) => panic!("{e}"),
        }
    }

    fn y(v: &str) -> DayHours {
        match parse_yelp_hours(0, v) {
            Ok(h) => h,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn weekdays() {
        assert_eq!(weekday_index("Monday"), Some(0));
        assert_eq!(weekday_index("monday"), Some(0));
        assert_eq!(weekday_index("Mon"), Some(0));
        assert_eq!(weekday_index(" THURSDAY "), Some(3));
        assert_eq!(weekday_index("Tues"), Some(1));
        assert_eq!(weekday_index("Sunday"), Some(6));
        assert_eq!(weekday_index("Sun"), Some(6));
        assert_eq!(weekday_index("Funday"), None);
        assert_eq!(weekday_index(""), None);
    }

    #[test]
    fn yelp_hours() {
        assert_eq!(y("10:0-21:0"), open1(0, 600, 1260));
        assert_eq!(y("7:30-15:0"), open1(0, 450, 900));
        assert_eq!(y("0:0-0:0"), open1(0, 0, 1440));
        assert_eq!(y("18:0-2:0"), open1(0, 1080, 1560));
        assert_eq!(y("11:0-0:0"), open1(0, 660, 1440));
        assert_eq!(y("9:0-24:0"), open1(0, 540, 1440));
        assert_eq!(y(" 09:05 - 17:45 "), open1(0, 545, 1065));
        assert_eq!(y("8:0-8:0"), open1(0, 480, 1920));
        assert_eq!(y("Closed"), DayHours::Closed);
        assert_eq!(
            parse_yelp_hours(6, "6:0-22:0"),
            Ok(DayHours::Open(vec![iv(6, 360, 1320)]))
        );
        for bad in [
            "",
            "10:0",
            "25:0-1:0",
            "10:60-11:0",
            "24:0-1:0",
            "a:0-1:0",
            "10:0-21:0-",
            "1:000-2:0",
            "-",
            "10:0–21:0",
        ] {
            assert!(parse_yelp_hours(0, bad).is_err(), "{bad:?}");
        }
        assert!(parse_yelp_hours(7, "10:0-21:0").is_err());
    }

    #[test]
    fn google_basic() {
        assert_eq!(g("8AM–5PM"), open1(0, 480, 1020));
        assert_eq!(g("11AM–2:30PM"), open1(0, 660, 870));
        assert_eq!(g("6:30AM–6PM"), open1(0, 390, 1080));
        assert_eq!(g("8AM-5PM"), open1(0, 480, 1020));
        assert_eq!(g("8AM—5PM"), open1(0, 480, 1020));
        assert_eq!(g("Open 24 hours"), open1(0, 0, 1440));
        assert_eq!(g("open\u{a0}24  HOURS"), open1(0, 0, 1440));
        assert_eq!(g("Closed"), DayHours::Closed);
        assert_eq!(g(" closed "), DayHours::Closed);
        assert_eq!(
            g("11:30AM–2PM,5–9PM"),
            DayHours::Open(vec![iv(0, 690, 840), iv(0, 1020, 1260)])
        );
        assert_eq!(
            g("11:30AM–2PM, 5–9PM"),
            DayHours::Open(vec![iv(0, 690, 840), iv(0, 1020, 1260)])
        );
    }

    #[test]
    fn google_whitespace_variants() {
        assert_eq!(
            g("8\u{202f}AM\u{2009}–\u{2009}5\u{202f}PM"),
            open1(0, 480, 1020)
        );
        assert_eq!(g("8 AM – 5 PM"), open1(0, 480, 1020));
        assert_eq!(g("8\u{a0}am–5\u{a0}pm"), open1(0, 480, 1020));
        assert_eq!(g("8 a.m.–5 p.m."), open1(0, 480, 1020));
        assert_eq!(
            g("11:30\u{202f}AM–2\u{202f}PM, 5–9\u{202f}PM"),
            g("11:30AM–2PM,5–9PM")
        );
    }

    #[test]
    fn google_midnight_and_overnight() {
        assert_eq!(g("12PM–12AM"), open1(0, 720, 1440));
        assert_eq!(g("12AM–12AM"), open1(0, 0, 1440));
        assert_eq!(g("12AM–10PM"), open1(0, 0, 1320));
        assert_eq!(g("10PM–12AM"), open1(0, 1320, 1440));
        assert_eq!(g("5PM–1AM"), open1(0, 1020, 1500));
        assert_eq!(g("6AM–3AM"), open1(0, 360, 1620));
        assert_eq!(g("11AM–6AM"), open1(0, 660, 1800));
        assert_eq!(g("12PM–12PM"), open1(0, 720, 2160));
        assert_eq!(g("9:30AM–11:59PM"), open1(0, 570, 1439));
    }

    #[test]
    fn google_bare_start_takes_end_meridiem() {
        assert_eq!(g("5–9PM"), open1(0, 1020, 1260));
        assert_eq!(g("12–4PM"), open1(0, 720, 960));
        assert_eq!(g("12:30–1:30PM"), open1(0, 750, 810));
        assert_eq!(g("7–9AM"), open1(0, 420, 540));
        assert_eq!(g("9–9:01AM"), open1(0, 540, 541));
        assert_eq!(g("12:10–1:10AM"), open1(0, 10, 70));
        assert_eq!(g("12–11:59AM"), open1(0, 0, 719));
        assert_eq!(g("12–12:01AM"), open1(0, 0, 1));
        assert_eq!(g("12–12:01PM"), open1(0, 720, 721));
        assert_eq!(g("12–12:30AM"), open1(0, 0, 30));
        assert_eq!(g("4–5AM"), open1(0, 240, 300));
        assert_eq!(g("10–12AM"), open1(0, 600, 1440));
        assert_eq!(g("12–12AM"), open1(0, 0, 1440));
        assert_eq!(g("3–11:59PM"), open1(0, 900, 1439));
    }

    #[test]
    fn google_bare_start_flips_meridiem_when_short() {
        // Same meridiem would be 23:00 -> 14:00 next day (15h); AM gives 3h.
        assert_eq!(g("11–2PM"), open1(0, 660, 840));
        assert_eq!(g("11:30–1PM"), open1(0, 690, 780));
        assert_eq!(g("10–1:30PM"), open1(0, 600, 810));
        // Same meridiem would be 11:00 -> 02:00 (15h); PM gives 23:00 -> 02:00.
        assert_eq!(g("11–2AM"), open1(0, 1380, 1560));
        assert_eq!(g("9–2AM"), open1(0, 1260, 1560));
        // Exactly 12h flips too.
        assert_eq!(g("5–5PM"), open1(0, 300, 1020));
    }

    #[test]
    fn google_bare_end_takes_start_meridiem() {
        assert_eq!(g("5PM–9"), open1(0, 1020, 1260));
        assert_eq!(g("9PM–2"), open1(0, 1260, 1560));
        assert_eq!(g("11AM–2"), open1(0, 660, 840));
        // Same meridiem: 12 after 9AM reads as 12AM, i.e. midnight.
        assert_eq!(g("9AM–12"), open1(0, 540, 1440));
        assert_eq!(g("9AM–12PM"), open1(0, 540, 720));
    }

    #[test]
    fn google_24_hour_clock() {
        assert_eq!(g("17:00–21:00"), open1(0, 1020, 1260));
        assert_eq!(g("22:00–02:00"), open1(0, 1320, 1560));
        assert_eq!(g("0:00–24:00"), open1(0, 0, 1440));
    }

    #[test]
    fn google_errors() {
        for bad in [
            "",
            " ",
            "Open",
            "Open 24",
            "8AM",
            "8AM–",
            "–5PM",
            "13AM–5PM",
            "0AM–5PM",
            "8:5AM–5PM",
            "8:60AM–5PM",
            "8AM–5PM,",
            "8AM–5XM",
            "8AM–5PM–6PM",
            "25:00–26:00",
            "13–5PM",
            "Hours might differ",
            "８AM–5PM",
            "24:00–1:00",
        ] {
            let r = parse_google_hours(0, bad);
            if bad == "8AM–5PM," {
                assert_eq!(r, Ok(open1(0, 480, 1020)));
                continue;
            }
            assert!(r.is_err(), "{bad:?} -> {r:?}");
        }
        assert!(parse_google_hours(9, "8AM–5PM").is_err());
    }

    #[test]
    fn hours_error_names_the_value() {
        let e = parse_google_hours(0, "bogus–value").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("bogus–value"), "{msg}");
        assert_eq!(e.value(), "bogus–value");
        assert!(!e.reason().is_empty());
        let long = "é".repeat(500);
        let e = parse_yelp_hours(0, &long).unwrap_err();
        assert!(e.value().len() <= ERR_TEXT_MAX + 3);
        let _: &dyn Error = &e;
    }

    #[test]
    fn every_interval_is_well_formed() {
        // Exhaustive over a grid of Google inputs: no panic, invariants hold.
        let times: Vec<String> = (1..=12)
            .flat_map(|h| [format!("{h}"), format!("{h}:30"), format!("{h}:59")])
            .collect();
        for a in &times {
            for b in &times {
                for ma in ["", "AM", "PM"] {
                    for mb in ["", "AM", "PM"] {
                        let v = format!("{a}{ma}–{b}{mb}");
                        let r = parse_google_hours(2, &v);
                        let Ok(DayHours::Open(ivs)) = r else {
                            panic!("{v:?} -> {r:?}");
                        };
                        for i in ivs {
                            assert!(i.open_minute < 1440, "{v}");
                            assert!(i.close_minute > i.open_minute, "{v}");
                            assert!(i.close_minute - i.open_minute <= 1440, "{v}");
                        }
                    }
                }
            }
        }
    }

    fn lit(s: &str) -> AttrValue {
        match parse_python_literal(s) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }

    fn st(s: &str) -> AttrValue {
        AttrValue::Str(s.to_owned())
    }

    #[test]
    fn python_scalars() {
        assert_eq!(lit("True"), AttrValue::Bool(true));
        assert_eq!(lit("False"), AttrValue::Bool(false));
        assert_eq!(lit("None"), AttrValue::Null);
        assert_eq!(lit(" None "), AttrValue::Null);
        assert_eq!(lit("2"), AttrValue::Int(2));
        assert_eq!(lit("-7"), AttrValue::Int(-7));
        assert_eq!(lit("1.5"), AttrValue::Float(1.5));
        assert_eq!(lit(".5"), AttrValue::Float(0.5));
        assert_eq!(lit("1e3"), AttrValue::Float(1000.0));
        assert_eq!(lit("99999999999999999999"), AttrValue::Float(1e20));
        assert_eq!(lit("u'free'"), st("free"));
        assert_eq!(lit("'none'"), st("none"));
        assert_eq!(lit("\"u'quiet'\""), st("quiet"));
        assert_eq!(lit("\"'quiet'\""), st("quiet"));
        assert_eq!(lit("\"plain\""), st("plain"));
        assert_eq!(lit("'it\\'s'"), st("it's"));
        assert_eq!(lit("\"it's\""), st("it's"));
        assert_eq!(
            lit("'a\\nb\\t\\x41\\u00e9\\U0001F600\\101\\\\'"),
            st("a\nb\tAé😀A\\")
        );
        assert_eq!(lit("r'a\\nb'"), st("a\\nb"));
        assert_eq!(lit("'a\\qb'"), st("a\\qb"));
        assert_eq!(lit("'''tri'ple'''"), st("tri'ple"));
        assert_eq!(lit("'ab' 'cd'"), st("abcd"));
        assert_eq!(lit("u'caf\u{e9}'"), st("café"));
        assert_eq!(lit("b'x'"), st("x"));
    }

    #[test]
    fn python_dicts() {
        let v = lit(
            "{'garage': False, 'street': True, 'validated': False, 'lot': False, 'valet': False}",
        );
        assert_eq!(v.get("street"), Some(&AttrValue::Bool(true)));
        assert_eq!(v.get("garage").and_then(AttrValue::as_bool), Some(false));
        assert_eq!(v.get("nope"), None);
        let v = lit("{u'dessert': None, u'lunch': True}");
        assert_eq!(
            v,
            AttrValue::Map(vec![
                ("dessert".to_owned(), AttrValue::Null),
                ("lunch".to_owned(), AttrValue::Bool(true))
            ])
        );
        assert_eq!(lit("{}"), AttrValue::Map(vec![]));
        assert_eq!(lit("{ }"), AttrValue::Map(vec![]));
        let v = lit("{'a': {'b': None, 'c': {'d': 1}}, 'e': 'x',}");
        assert_eq!(
            v.get("a").and_then(|a| a.get("c")).and_then(|c| c.get("d")),
            Some(&AttrValue::Int(1))
        );
        assert_eq!(v.get("e").and_then(AttrValue::as_str), Some("x"));
        let v = lit("{'a': 1, 'b': 2, 'a': 3}");
        assert_eq!(
            v,
            AttrValue::Map(vec![
                ("a".to_owned(), AttrValue::Int(3)),
                ("b".to_owned(), AttrValue::Int(2))
            ])
        );
        let v = lit("{1: 'one', None: 2, True: 3}");
        assert_eq!(v.get("1"), Some(&st("one")));
        assert_eq!(v.get("None"), Some(&AttrValue::Int(2)));
        assert_eq!(v.get("True"), Some(&AttrValue::Int(3)));
        // Large dict takes the hashed dedupe path.
        let big: String = format!(
            "{{{}, 'k0': 'last'}}",
            (0..100)
                .map(|i| format!("'k{i}': {i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let v = lit(&big);
        let AttrValue::Map(entries) = &v else {
            panic!("not a map")
        };
        assert_eq!(entries.len(), 100);
        assert_eq!(entries.first().map(|e| e.0.as_str()), Some("k0"));
        assert_eq!(v.get("k0"), Some(&st("last")));
    }

    #[test]
    fn python_errors() {
        for bad in [
            "",
            "   ",
            "Tru",
            "true",
            "none",
            "'unterminated",
            "{'a': }",
            "{'a' 1}",
            "{'a': 1",
            "{'a': 1 'b': 2}",
            "[1, 2]",
            "(1,)",
            "{{'a': 1}: 2}",
            "1 2",
            "'a' b",
            "-",
            "+.",
            "1e",
            "'\\x4'",
            "'\\N{DASH}'",
            "'\\",
            "{,}",
            "free",
            "u'",
            "\u{0}",
        ] {
            assert!(parse_python_literal(bad).is_err(), "{bad:?}");
        }
        let e = parse_python_literal("{'a': oops}").unwrap_err();
        assert!(e.to_string().contains("{'a': oops}"), "{e}");
        assert_eq!(e.offset(), 6);
        assert!(!e.reason().is_empty());
        assert_eq!(e.text(), "{'a': oops}");
        let deep = "{'a': ".repeat(100_000);
        assert!(parse_python_literal(&deep).is_err());
        let deep_ok = format!("{}1{}", "{'a': ".repeat(10), "}".repeat(10));
        assert!(parse_python_literal(&deep_ok).is_ok());
    }

    #[test]
    fn attr_json() {
        let v = lit(
            "{'a': None, 'b': True, 'c': u'x\"y\\\\z\\n\\x01', 'd': {}, 'e': 2, 'f': 1.5, 'g': 2.0}",
        );
        let mut out = String::new();
        v.write_json(&mut out);
        assert_eq!(
            out,
            r#"{"a":null,"b":true,"c":"x\"y\\z\n\u0001","d":{},"e":2,"f":1.5,"g":2.0}"#
        );
        let mut out = String::new();
        AttrValue::Float(f64::NAN).write_json(&mut out);
        AttrValue::Bool(false).write_json(&mut out);
        st("é😀\t").write_json(&mut out);
        assert_eq!(out, "nullfalse\"é😀\\t\"");
    }

    #[test]
    fn attr_accessors() {
        assert_eq!(AttrValue::Bool(true).as_bool(), Some(true));
        assert_eq!(st("True").as_bool(), Some(true));
        assert_eq!(st("false").as_bool(), Some(false));
        assert_eq!(st("yes").as_bool(), None);
        assert_eq!(AttrValue::Int(1).as_bool(), None);
        assert_eq!(AttrValue::Int(4).as_i64(), Some(4));
        assert_eq!(st("2").as_i64(), Some(2));
        assert_eq!(st(" -3 ").as_i64(), Some(-3));
        assert_eq!(st("2.5").as_i64(), None);
        assert_eq!(st("").as_i64(), None);
        assert_eq!(AttrValue::Null.as_i64(), None);
        assert_eq!(st("x").as_str(), Some("x"));
        assert_eq!(AttrValue::Null.as_str(), None);
        assert_eq!(AttrValue::Null.get("a"), None);
    }

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(19_000), (2022, 1, 8));
        assert_eq!(weekday_from_days(0), 3);
        assert_eq!(weekday_from_days(-1), 2);
        assert_eq!(weekday_from_days(days_from_civil(2024, 2, 29)), 3);
        assert_eq!(weekday_from_days(days_from_civil(2023, 1, 2)), 0);
        assert!(weekday_from_days(i64::MIN) < 7);
        assert!(weekday_from_days(i64::MAX) < 7);
        let mut expected_wd = weekday_from_days(-800_000);
        for d in -800_000i64..800_000 {
            let (yy, mm, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(yy, mm, dd), d);
            assert_eq!(weekday_from_days(d), expected_wd);
            expected_wd = (expected_wd + 1) % 7;
        }
        // Extremes never panic and clamp.
        assert_eq!(civil_from_days(i64::MAX), (i32::MAX, 12, 31));
        assert_eq!(civil_from_days(i64::MIN), (i32::MIN, 1, 1));
        let _ = days_from_civil(i32::MIN, u32::MAX, u32::MAX);
        let _ = days_from_civil(i32::MAX, 0, 0);
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_yelp_timestamp("1970-01-01 00:00:00"), Some(0));
        assert_eq!(parse_yelp_timestamp("1970-01-01"), Some(0));
        assert_eq!(
            parse_yelp_timestamp("2009-05-20 03:22:43"),
            Some(1_242_789_763_000_000)
        );
        assert_eq!(
            parse_yelp_timestamp(" 2009-05-20T03:22:43 "),
            Some(1_242_789_763_000_000)
        );
        assert_eq!(
            parse_yelp_timestamp("2009-05-20T03:22:43Z"),
            Some(1_242_789_763_000_000)
        );
        assert_eq!(
            parse_yelp_timestamp("2009-05-20 03:22:43.5"),
            Some(1_242_789_763_500_000)
        );
        assert_eq!(
            parse_yelp_timestamp("2009-05-20 03:22:43.123456789"),
            Some(1_242_789_763_123_456)
        );
        assert_eq!(
            parse_yelp_timestamp("1969-12-31 23:59:59"),
            Some(-1_000_000)
        );
        assert_eq!(
            parse_yelp_timestamp("2020-02-29"),
            Some(18_321 * 86_400_000_000)
        );
        assert_eq!(
            parse_yelp_timestamp("2000-02-29 12:00:00"),
            Some((days_from_civil(2000, 2, 29) * 86_400 + 43_200) * 1_000_000)
        );
        for bad in [
            "",
            "2021-02-29",
            "1900-02-29",
            "2021-13-01",
            "2021-00-10",
            "2021-04-31",
            "2021-04-00",
            "2021-04-01 24:00:00",
            "2021-04-01 23:60:00",
            "2021-04-01 23:00:60",
            "2021-04-01 23:00",
            "2021-4-01",
            "21-04-01",
            "2021/04/01",
            "2021-04-01X00:00:00",
            "2021-04-01 00:00:00.",
            "2021-04-01 00:00:00.1234567890",
            "2021-04-01 00:00:00 extra",
            "2021-04-01 00:00:00+1:00",
            "2021-04-01 00:00:00+24:00",
            "2021-04-01 00:00:00+01:60",
            "2021-04-01 00:00:00+01:00:00",
            "2021-04-01 00:00:00Z+01:00",
            "2021-04-01+01:00",
            "2021-13",
            "2021-00",
            "2021-1",
            "+1531001351",
            "-1531001351",
            "1531001351.5",
            "1e12",
            "100000000000000",
            "9999999999999999999999",
            "２０２１-04-01",
            "None",
        ] {
            assert_eq!(parse_yelp_timestamp(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn timestamps_with_zones_months_and_epochs() {
        // 2018-07-07T22:09:11Z, worked out by hand: 17 719 days after 1970-01-01.
        let t = (17_719 * 86_400 + 22 * 3600 + 9 * 60 + 11) * 1_000_000;
        assert_eq!(days_from_civil(2018, 7, 7), 17_719);
        for s in [
            "1531001351",
            "1531001351000",
            " 1531001351000 ",
            "2018-07-07 22:09:11",
            "2018-07-07T22:09:11Z",
            "2018-07-08T00:09:11+02:00",
            "2018-07-08T00:09:11+0200",
            "2018-07-08T00:09:11+02",
            "2018-07-07T17:39:11-04:30",
            "2018-07-07 22:09:11.000Z",
        ] {
            assert_eq!(parse_yelp_timestamp(s), Some(t), "{s:?}");
        }
        assert_eq!(
            parse_yelp_timestamp("2018-07-08T00:09:11.250+02:00"),
            Some(t + 250_000)
        );
        assert_eq!(
            parse_yelp_timestamp("2021-04-01 00:00:00+01:00"),
            Some(days_from_civil(2021, 3, 31) * 86_400_000_000 + 23 * 3_600_000_000)
        );
        // The thresholds: below 1e11 seconds, from 1e11 up to 1e14 milliseconds.
        assert_eq!(parse_yelp_timestamp("0"), Some(0));
        assert_eq!(
            parse_yelp_timestamp("99999999999"),
            Some(99_999_999_999 * 1_000_000)
        );
        assert_eq!(
            parse_yelp_timestamp("100000000000"),
            Some(100_000_000_000 * 1_000)
        );
        assert_eq!(
            parse_yelp_timestamp("99999999999999"),
            Some(99_999_999_999_999 * 1_000)
        );
        assert_eq!(EPOCH_MILLIS_FROM, 100_000_000_000);
        assert_eq!(EPOCH_MAX, 100_000_000_000_000);
        // `yelping_since` of the 2013-2015 releases.
        assert_eq!(
            parse_yelp_timestamp("2012-03"),
            Some(days_from_civil(2012, 3, 1) * 86_400_000_000)
        );
        assert_eq!(
            parse_yelp_timestamp("1969-12"),
            Some(days_from_civil(1969, 12, 1) * 86_400_000_000)
        );
    }

    #[test]
    fn checkin_histogram_cells() {
        // Day 0 is Sunday in checkin_info; the warehouse's weekday 0 is Monday.
        assert_eq!(parse_checkin_info_key("0-0"), Some((6, 0)));
        assert_eq!(parse_checkin_info_key("9-5"), Some((4, 9)));
        assert_eq!(parse_checkin_info_key("14-4"), Some((3, 14)));
        assert_eq!(parse_checkin_info_key("23-6"), Some((5, 23)));
        assert_eq!(parse_checkin_info_key("1-1"), Some((0, 1)));
        for bad in ["", "24-0", "1-7", "1", "-1", "1-", "a-b", "1-0-0", "123-1"] {
            assert_eq!(parse_checkin_info_key(bad), None, "{bad:?}");
        }
        assert_eq!(parse_checkin_hour("20:00"), Some(20));
        assert_eq!(parse_checkin_hour("0:00"), Some(0));
        for bad in ["24:00", "20:30", "20", "x:00", ""] {
            assert_eq!(parse_checkin_hour(bad), None, "{bad:?}");
        }
        assert_eq!(parse_checkin_time_item("Fri-0:2"), Some((4, 0, 2)));
        assert_eq!(parse_checkin_time_item("Sun-23:11"), Some((6, 23, 11)));
        for bad in [
            "Fri-0:0", "Fri-0:-1", "Fri-24:1", "Xyz-1:1", "Fri-1", "Fri:1", "",
        ] {
            assert_eq!(parse_checkin_time_item(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn full_addresses() {
        let a = parse_yelp_full_address("4840 E Indian School Rd\nSte 101\nPhoenix, AZ 85018");
        assert_eq!(
            a,
            FullAddress {
                street: Some("4840 E Indian School Rd, Ste 101".into()),
                city: Some("Phoenix"),
                state: Some("AZ"),
                postal_code: Some("85018"),
            }
        );
        let a = parse_yelp_full_address("Phoenix, AZ");
        assert_eq!(
            (a.street, a.city, a.state, a.postal_code),
            (None, Some("Phoenix"), Some("AZ"), None)
        );
        let a = parse_yelp_full_address("3485 Boulevard Saint-Laurent\nMontréal, QC H2X 2T6");
        assert_eq!(
            (a.city, a.state, a.postal_code),
            (Some("Montréal"), Some("QC"), Some("H2X 2T6"))
        );
        let a = parse_yelp_full_address("4 Lochrin Pl\nEdinburgh EH3 9QX");
        assert_eq!(a.street.as_deref(), Some("4 Lochrin Pl, Edinburgh EH3 9QX"));
        assert_eq!((a.city, a.state), (None, None));
        for odd in ["", "\n\n", ",", "x, y", "a\r\nb, CA 1", ", AZ"] {
            let _ = parse_yelp_full_address(odd);
        }
        assert_eq!(parse_yelp_full_address("").street, None);
        assert_eq!(parse_yelp_full_address(", AZ 1").city, None);
    }

    #[test]
    fn elite() {
        assert_eq!(parse_elite("2012,2013,2014"), (vec![2012, 2013, 2014], 0));
        assert_eq!(parse_elite(""), (vec![], 0));
        assert_eq!(parse_elite("None"), (vec![], 0));
        assert_eq!(
            parse_elite("2018,2019,20,20,2021"),
            (vec![2018, 2019, 2020, 2021], 0)
        );
        assert_eq!(parse_elite("20,20"), (vec![2020], 0));
        assert_eq!(parse_elite("2021, 2019 ,2019,"), (vec![2019, 2021], 0));
        assert_eq!(parse_elite("2019,20,2021"), (vec![2019, 2021], 1));
        assert_eq!(parse_elite("abc,2019,12345,1899,20"), (vec![2019], 4));
        assert_eq!(parse_elite("20,20,20,20,20"), (vec![2020], 1));
    }

    #[test]
    fn lists_and_clean() {
        let v: Vec<&str> = split_list("a, b,c ,, d ").collect();
        assert_eq!(v, ["a", "b", "c", "d"]);
        assert_eq!(split_list("None").count(), 0);
        assert_eq!(split_list("").count(), 0);
        assert_eq!(split_list("  ").count(), 0);
        assert_eq!(
            split_list("Restaurants, Food").collect::<Vec<_>>(),
            ["Restaurants", "Food"]
        );
        assert_eq!(clean_str("None"), None);
        assert_eq!(clean_str("none"), None);
        assert_eq!(clean_str("null"), None);
        assert_eq!(clean_str("NULL"), None);
        assert_eq!(clean_str(""), None);
        assert_eq!(clean_str(" \t\u{a0}"), None);
        assert_eq!(clean_str("  x y "), Some("x y"));
        assert_eq!(clean_str("Nonesuch"), Some("Nonesuch"));
    }

    fn addr(s: &str) -> AddressParts<'_> {
        match parse_google_address(s) {
            Some(a) => a,
            None => panic!("no parse: {s}"),
        }
    }

    #[test]
    fn addresses() {
        let a = addr("Name, 123 Main St, Rutland, VT 05701");
        assert_eq!(
            a,
            AddressParts {
                street: Some("123 Main St"),
                city: Some("Rutland"),
                state: "VT",
                postal_code: Some("05701")
            }
        );
        assert_eq!(
            addr("123 Main St, Rutland, VT 05701").street,
            Some("123 Main St")
        );
        assert_eq!(addr("123 Main St, Rutland, VT 05701").city, Some("Rutland"));
        let a = addr("Powers Park, Lyndonville, VT 05851");
        assert_eq!((a.street, a.city), (None, Some("Lyndonville")));
        let a = addr("Canaan, VT 05903");
        assert_eq!(
            (a.street, a.city, a.postal_code),
            (None, Some("Canaan"), Some("05903"))
        );
        let a = addr("Miles Stream, Concord, VT");
        assert_eq!(
            (a.city, a.state, a.postal_code),
            (Some("Concord"), "VT", None)
        );
        let a = addr("Blazing Design, Inc., 1860 Williston Rd, South Burlington, VT 05403");
        assert_eq!(a.street, Some("1860 Williston Rd"));
        assert_eq!(a.city, Some("South Burlington"));
        let a = addr("ArtsRiot, 400 Pine St, Burlington, VT 05401, United States");
        assert_eq!(
            (a.street, a.city),
            (Some("400 Pine St"), Some("Burlington"))
        );
        let a = addr("Stowe Pinnacle Overlook, Unnamed Rd,, Stowe, VT 05672");
        assert_eq!((a.street, a.city), (Some("Unnamed Rd"), Some("Stowe")));
        let a = addr("X, 1 Main St, Rutland, VT 05701-1234");
        assert_eq!(a.postal_code, Some("05701"));
        let a = addr("VT 05701");
        assert_eq!((a.street, a.city), (None, None));
        let a = addr("14th Star Brewing, St Albans City, VT 05478");
        assert_eq!((a.street, a.city), (None, Some("St Albans City")));
        let a = addr("60D Pearl St, Essex Junction, VT 05452");
        assert_eq!(a.street, Some("60D Pearl St"));
        for bad in [
            "",
            ",",
            "Clyde River, Vermont",
            "Chase Brook, Vermont 05346",
            "Batten Kill River",
            "X, Rutland, vt 05701",
            "X, Rutland, ZZ 05701",
            "X, Rutland, VT 0570",
            "X, Rutland, VT 05701 extra",
            "X, Rutland, VT 05701-12",
            "Sheppie’s Meadow邮政编码: 05701",
        ] {
            assert_eq!(parse_google_address(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cities() {
        assert_eq!(normalize_city("SAINT  louis"), "Saint Louis");
        assert_eq!(normalize_city("st. petersburg"), "St. Petersburg");
        assert_eq!(normalize_city("ST. Louis"), "St. Louis");
        assert_eq!(normalize_city("ST LOUIS"), "St Louis");
        assert_eq!(normalize_city("o'fallon"), "O'Fallon");
        assert_eq!(normalize_city("  Audubon "), "Audubon");
        assert_eq!(normalize_city("DeForest"), "DeForest");
        assert_eq!(normalize_city("McCordsville"), "McCordsville");
        assert_eq!(normalize_city("NASHVILLE"), "Nashville");
        assert_eq!(normalize_city("Spring HIll"), "Spring Hill");
        assert_eq!(normalize_city("santa Barbara"), "Santa Barbara");
        assert_eq!(normalize_city("King of Prussia"), "King of Prussia");
        assert_eq!(normalize_city("KING OF PRUSSIA"), "King of Prussia");
        assert_eq!(normalize_city("Town And Country"), "Town and Country");
        assert_eq!(normalize_city("Town 'n' Country"), "Town 'n' Country");
        assert_eq!(normalize_city("pass-a-grille"), "Pass-a-Grille");
        assert_eq!(normalize_city("winston-salem"), "Winston-Salem");
        assert_eq!(
            normalize_city("Huntingdon Valley PA"),
            "Huntingdon Valley PA"
        );
        assert_eq!(
            normalize_city("HUNTINGDON VALLEY PA"),
            "Huntingdon Valley Pa"
        );
        assert_eq!(normalize_city("Land o lakes"), "Land O Lakes");
        assert_eq!(normalize_city("The Villages"), "The Villages");
        assert_eq!(normalize_city("lake in the hills"), "Lake in the Hills");
        assert_eq!(normalize_city("29 palms"), "29 Palms");
        assert_eq!(normalize_city("mary's igloo"), "Mary's Igloo");
        assert_eq!(normalize_city("MONTRÉAL\u{a0}nord"), "Montréal Nord");
        assert_eq!(normalize_city(""), "");
        assert_eq!(normalize_city(" \t "), "");
        assert_eq!(normalize_city("-"), "-");
        assert_eq!(normalize_city("a"), "A");
        assert_eq!(normalize_city("ß"), "SS");
    }

    #[test]
    fn prices() {
        assert_eq!(price_level("$"), Some(1));
        assert_eq!(price_level("$$"), Some(2));
        assert_eq!(price_level("$$$"), Some(3));
        assert_eq!(price_level("$$$$"), Some(4));
        assert_eq!(price_level("₩₩"), Some(2));
        assert_eq!(price_level(" 3 "), Some(3));
        assert_eq!(price_level("1"), Some(1));
        assert_eq!(price_level("4"), Some(4));
        for bad in ["", "None", "0", "5", "$$$$$", "$€", "x", "12", "$1"] {
            assert_eq!(price_level(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ids() {
        assert!(is_yelp_id("gOIxceo80TWnWBuRgUavYg"));
        assert!(is_yelp_id("-C4OgUNSz3WDAmgIeEIDSw"));
        assert!(is_yelp_id("Bd_16T8Dva27lF5LIrUmcQ"));
        assert!(!is_yelp_id("gOIxceo80TWnWBuRgUavY"));
        assert!(!is_yelp_id("gOIxceo80TWnWBuRgUavYgg"));
        assert!(!is_yelp_id("gOIxceo80TWnWBuRgUav=g"));
        assert!(!is_yelp_id("gOIxceo80TWnWBuRgUaé"));
        assert!(is_google_user_id("1"));
        assert!(is_google_user_id("101463350189962023774"));
        assert!(is_google_user_id(&"9".repeat(30)));
        assert!(!is_google_user_id(&"9".repeat(31)));
        assert!(!is_google_user_id(""));
        assert!(!is_google_user_id("12a"));
        assert!(!is_google_user_id("-12"));
        assert!(is_gmap_id("0x89e1a1b6f3b1a6e5:0x1d0e4bfe3c5e5c1a"));
        assert!(is_gmap_id("0x4cb5:0xABC"));
        assert!(!is_gmap_id("0x89e1a1b6f3b1a6e5"));
        assert!(!is_gmap_id("89e1:0x1d0e"));
        assert!(!is_gmap_id("0x:0x1"));
        assert!(!is_gmap_id("0x1:0x1:0x1"));
        assert!(!is_gmap_id("0x12345678901234567:0x1"));
        assert!(!is_gmap_id("0xzz:0x1"));
        assert!(!is_gmap_id(""));
    }

    /// Cheap deterministic generator for the no-panic sweep below.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 33
        }
    }

    #[test]
    fn no_panic_on_arbitrary_input() {
        const ALPHABET: [&str; 40] = [
            "0", "1", "2", "9", ":", "-", "–", "—", ",", " ", "\u{202f}", "\u{a0}", "A", "P", "M",
            "a", "m", ".", "'", "\"", "u", "{", "}", "\\", "x", "T", "Z", "N", "o", "e", "é", "😀",
            "VT", "$", "₩", "0x", "20", "\n", "True", "None",
        ];
        let mut rng = Lcg(42);
        for _ in 0..200_000 {
            let len = (rng.next() % 24) as usize;
            let mut s = String::new();
            for _ in 0..len {
                let i = (rng.next() % ALPHABET.len() as u64) as usize;
                s.push_str(ALPHABET.get(i).copied().unwrap_or(""));
            }
            for day in [0u8, 6, 7, 255] {
                if let Ok(DayHours::Open(ivs)) = parse_google_hours(day, &s) {
                    for i in ivs {
                        assert!(
                            i.close_minute > i.open_minute && i.open_minute < 1440,
                            "{s:?}"
                        );
                    }
                }
                if let Ok(DayHours::Open(ivs)) = parse_yelp_hours(day, &s) {
                    for i in ivs {
                        assert!(
                            i.close_minute > i.open_minute && i.open_minute < 1440,
                            "{s:?}"
                        );
                    }
                }
            }
            if let Ok(v) = parse_python_literal(&s) {
                let mut out = String::new();
                v.write_json(&mut out);
            }
            let _ = parse_yelp_timestamp(&s);
            let _ = parse_checkin_info_key(&s);
            let _ = parse_checkin_time_item(&s);
            let _ = parse_checkin_hour(&s);
            let _ = parse_yelp_full_address(&s);
            let _ = parse_elite(&s);
            let _ = split_list(&s).count();
            let _ = clean_str(&s);
            let _ = parse_google_address(&s);
            let _ = normalize_city(&s);
            let _ = price_level(&s);
            let _ = weekday_index(&s);
            let _ = is_yelp_id(&s) || is_google_user_id(&s) || is_gmap_id(&s);
        }
    }
}
