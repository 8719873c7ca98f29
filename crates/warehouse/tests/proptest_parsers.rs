//! Property tests of the warehouse's field parsers (`reviewlake_warehouse::parse`) and
//! of the GDP page scraper (`gdp::parse_gdp_html`): they run on millions of rows of
//! outside data, so they must never panic, and what they return must keep the
//! conventions their docs promise. Each parser is fed arbitrary strings and strings over
//! its own alphabet (so the fuzzing gets past the first character), plus generated valid
//! values whose parse is known (round trips).

use std::fmt::Write as _;

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use proptest::test_runner::TestCaseError;
use reviewlake_warehouse::gdp::{self, StateGdp, parse_gdp_html};
use reviewlake_warehouse::parse::{
    AttrValue, DayHours, civil_from_days, clean_str, days_from_civil, is_gmap_id,
    is_google_user_id, is_yelp_id, normalize_city, parse_elite, parse_google_address,
    parse_google_hours, parse_python_literal, parse_yelp_hours, parse_yelp_timestamp, price_level,
    split_list, weekday_from_days, weekday_index,
};
use reviewlake_warehouse::{CategoryScope, StateScope};

/// `cases` cases from a fixed seed (CI is deterministic), no regression files written;
/// `PROPTEST_CASES` / `PROPTEST_RNG_SEED` override both for a longer or different run.
fn config(cases: u32) -> ProptestConfig {
    let env = ProptestConfig::default(); // reads the PROPTEST_* variables
    let set = |v: &str| std::env::var_os(v).is_some();
    ProptestConfig {
        cases: if set("PROPTEST_CASES") {
            env.cases
        } else {
            cases
        },
        rng_seed: if set("PROPTEST_RNG_SEED") {
            env.rng_seed
        } else {
            RngSeed::Fixed(0x7265_7669_6577)
        },
        failure_persistence: None,
        ..env
    }
}

/// Characters drawn from `alphabet`, up to `max` of them.
fn text_over(alphabet: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(alphabet), 0..max).prop_map(|v| v.concat())
}

/// Arbitrary text, mostly short, with Unicode.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "\\PC{0,40}", ".{0,200}"]
}

// ---------------------------------------------------------------------------
// Opening hours
// ---------------------------------------------------------------------------

const HOURS_ALPHABET: &[&str] = &[
    "0", "1", "2", "3", "4", "5", "6", "9", "12", "24", "00", "30", "59", "60", ":", ":", "-", "-",
    "–", "—", ",", ",", " ", " ", "\u{202f}", "\u{a0}", "\u{2009}", "AM", "PM", "am", "pm", "A",
    "P", "M", "a.m.", "p.m.", ".", "Closed", "Open", "24", "hours", "é",
];

/// The documented shape of parsed hours for `day`.
fn check_hours(
    day: u8,
    value: &str,
    r: &Result<DayHours, impl std::fmt::Display>,
) -> Result<(), TestCaseError> {
    match r {
        Ok(DayHours::Closed) => prop_assert!(day <= 6),
        Ok(DayHours::Open(intervals)) => {
            prop_assert!(day <= 6);
            prop_assert!(!intervals.is_empty(), "Open with no interval for {value:?}");
            prop_assert!(intervals.len() <= value.matches(',').count() + 1);
            for iv in intervals {
                prop_assert_eq!(iv.day, day);
                prop_assert!(iv.open_minute < 1440, "{:?} for {:?}", iv, value);
                prop_assert!(iv.close_minute > iv.open_minute, "{:?} for {:?}", iv, value);
                prop_assert!(
                    iv.close_minute <= iv.open_minute + 1440,
                    "{:?} for {:?}",
                    iv,
                    value
                );
                prop_assert!(iv.close_minute <= 2879, "{:?} for {:?}", iv, value);
            }
        }
        Err(e) => {
            // The error renders, and names the value (cut to 200 bytes).
            let shown = e.to_string();
            prop_assert!(!shown.is_empty());
        }
    }
    Ok(())
}

/// Expected interval: an open in `0..1440`, a close at or before it is the next day.
fn interval(open: u16, close: u16) -> (u16, u16) {
    (open, if close <= open { close + 1440 } else { close })
}

fn one_interval(r: Result<DayHours, impl std::fmt::Display>) -> Option<(u16, u16)> {
    match r {
        Ok(DayHours::Open(v)) if v.len() == 1 => Some((v[0].open_minute, v[0].close_minute)),
        _ => None,
    }
}

/// Unicode spaces Google puts around its tokens.
fn arb_space() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["", "", " ", "\u{202f}", "\u{a0}", "\u{2009}"][..])
}

/// A 12-hour clock time with its meridiem and its minutes from midnight.
fn arb_clock() -> impl Strategy<Value = (String, u16)> {
    (
        1u16..=12,
        prop::option::of(0u16..60),
        any::<bool>(),
        0usize..4,
        arb_space(),
    )
        .prop_map(|(h, m, pm, style, sp)| {
            let mut s = h.to_string();
            if let Some(m) = m {
                write!(s, ":{m:02}").unwrap();
            }
            s.push_str(sp);
            s.push_str(
                ["AM", "PM", "am", "p.m."][if pm {
                    [1, 3][style % 2]
                } else {
                    [0, 2][style % 2]
                }],
            );
            let hour24 = h % 12 + if pm { 12 } else { 0 };
            (s, hour24 * 60 + m.unwrap_or(0))
        })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn hours_never_panic(
        day in prop_oneof![0u8..7, any::<u8>()],
        value in prop_oneof![any_text(), text_over(HOURS_ALPHABET, 14)],
    ) {
        check_hours(day, &value, &parse_yelp_hours(day, &value))?;
        check_hours(day, &value, &parse_google_hours(day, &value))?;
        if day > 6 {
            prop_assert!(parse_yelp_hours(day, &value).is_err());
            prop_assert!(parse_google_hours(day, &value).is_err());
        }
    }

    /// Yelp `"H:M-H:M"`: open is H*60+M, a close at or before the open is the next day.
    #[test]
    fn yelp_hours_round_trip(
        day in 0u8..7,
        (oh, om) in (0u16..24, 0u16..60),
        (ch, cm) in prop_oneof![(0u16..24, 0u16..60), Just((24, 0))],
        pad in prop::bool::ANY,
    ) {
        let v = if pad {
            format!(" {oh:02}:{om:02} - {ch}:{cm} ")
        } else {
            format!("{oh}:{om}-{ch}:{cm}")
        };
        let got = one_interval(parse_yelp_hours(day, &v));
        prop_assert_eq!(got, Some(interval(oh * 60 + om, ch * 60 + cm)), "{:?}", v);
    }

    /// Google ranges with a meridiem on both sides, separated by any dash, with any
    /// Unicode spaces, several per value.
    #[test]
    fn google_hours_round_trip(
        day in 0u8..7,
        ranges in prop::collection::vec(
            (arb_clock(), arb_clock(), prop::sample::select(&["–", "-", "—"][..]), arb_space(), arb_space()),
            1..4,
        ),
    ) {
        let mut v = String::new();
        let mut want = Vec::new();
        for (i, ((a, am), (b, bm), dash, s1, s2)) in ranges.iter().enumerate() {
            if i > 0 {
                v.push_str(", ");
            }
            write!(v, "{a}{s1}{dash}{s2}{b}").unwrap();
            want.push(interval(*am, *bm));
        }
        match parse_google_hours(day, &v) {
            Ok(DayHours::Open(got)) => {
                let got: Vec<(u16, u16)> = got.iter().map(|iv| (iv.open_minute, iv.close_minute)).collect();
                prop_assert_eq!(got, want, "{:?}", v);
            }
            other => prop_assert!(false, "{:?} -> {:?}", v, other),
        }
    }

    /// A bare start takes the other side's meridiem (or the opposite one), but the
    /// documented interval shape always holds.
    #[test]
    fn google_hours_bare_side(day in 0u8..7, h in 0u16..30, (b, _) in arb_clock(), start_bare in any::<bool>()) {
        let v = if start_bare { format!("{h}–{b}") } else { format!("{b}–{h}") };
        let r = parse_google_hours(day, &v);
        check_hours(day, &v, &r)?;
        if (1..=12).contains(&h) {
            prop_assert!(r.is_ok(), "{:?} -> {:?}", v, r);
        }
    }
}

// ---------------------------------------------------------------------------
// Python literals
// ---------------------------------------------------------------------------

const PY_ALPHABET: &[&str] = &[
    "{",
    "}",
    "{",
    "}",
    "'",
    "'",
    "\"",
    "\"",
    "'''",
    ":",
    ",",
    " ",
    "\\",
    "\\x4",
    "\\u00e9",
    "\\N{",
    "\\'",
    "u",
    "r",
    "b",
    "True",
    "False",
    "None",
    "1",
    "-",
    "+",
    ".",
    "e",
    "5",
    "0",
    "9223372036854775808",
    "1e999",
    "[",
    "(",
    "a",
    "é",
    "😀",
    "\n",
    "_",
    "x",
];

/// A Python dict/str/int/... with its expected value. Strings avoid quotes so a
/// top-level one is not unwrapped (see `parse_python_literal`).
fn arb_py() -> impl Strategy<Value = (String, AttrValue)> {
    let leaf = prop_oneof![
        Just(("None".to_owned(), AttrValue::Null)),
        any::<bool>().prop_map(|b| (
            if b { "True" } else { "False" }.to_owned(),
            AttrValue::Bool(b)
        )),
        any::<i64>().prop_map(|i| (i.to_string(), AttrValue::Int(i))),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| (format!("{f:?}"), AttrValue::Float(f))),
        (
            "[a-zA-Z0-9 _.é\\\\\n-]{0,12}",
            prop::sample::select(&["'", "u'", "\"", "r'", "'''"][..])
        )
            .prop_map(|(s, q)| {
                let raw = q.starts_with('r');
                let close = q.trim_start_matches(['u', 'r']);
                let body = if raw {
                    // A raw string cannot end in an odd backslash; keep backslashes out.
                    s.replace('\\', "/")
                } else {
                    s.replace('\\', "\\\\").replace('\n', "\\n")
                };
                let value = if raw { body.clone() } else { s };
                (format!("{q}{body}{close}"), AttrValue::Str(value))
            }),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop::collection::btree_map("[a-z_]{1,6}", inner, 0..5).prop_map(|m| {
            let mut text = String::from("{");
            let mut entries = Vec::new();
            for (i, (k, (vt, v))) in m.into_iter().enumerate() {
                if i > 0 {
                    text.push_str(", ");
                }
                write!(text, "'{k}': {vt}").unwrap();
                entries.push((k, v));
            }
            text.push('}');
            (text, AttrValue::Map(entries))
        })
    })
}

/// `AttrValue` equality with floats compared bit for bit.
fn same(a: &AttrValue, b: &AttrValue) -> bool {
    match (a, b) {
        (AttrValue::Float(x), AttrValue::Float(y)) => x.to_bits() == y.to_bits(),
        (AttrValue::Map(x), AttrValue::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
        }
        _ => a == b,
    }
}

fn check_literal(s: &str) -> Result<(), TestCaseError> {
    match parse_python_literal(s) {
        Ok(v) => {
            // The JSON rendering is valid JSON.
            let mut json = String::new();
            v.write_json(&mut json);
            let parsed = serde_json::from_str::<serde_json::Value>(&json);
            prop_assert!(
                parsed.is_ok(),
                "{:?} -> {:?} -> invalid JSON {:?}",
                s,
                v,
                json
            );
            if let AttrValue::Map(entries) = &v {
                // Keys are unique (Python dict semantics).
                let mut keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
                keys.sort_unstable();
                let n = keys.len();
                keys.dedup();
                prop_assert_eq!(keys.len(), n, "duplicate keys in {:?}", v);
            }
            let _ = (v.as_bool(), v.as_i64(), v.as_str(), v.get("a"));
        }
        Err(e) => {
            prop_assert!(
                e.offset() <= s.len(),
                "offset {} beyond {:?}",
                e.offset(),
                s
            );
            prop_assert!(e.text().len() <= 200 + '…'.len_utf8());
            let _ = (e.reason(), e.to_string());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn python_literal_never_panics(s in prop_oneof![any_text(), text_over(PY_ALPHABET, 24)]) {
        check_literal(&s)?;
    }

    #[test]
    fn python_literal_deep_nesting(depth in 0usize..200, close in any::<bool>()) {
        let mut s = "{'a': ".repeat(depth);
        s.push('1');
        if close {
            s.push_str(&"}".repeat(depth));
        }
        check_literal(&s)?;
        let r = parse_python_literal(&s);
        // Up to 64 nested dicts are accepted, deeper is an error, unclosed is an error.
        prop_assert_eq!(r.is_ok(), (close || depth == 0) && depth <= 64, "depth {}", depth);
    }

    /// Python literal text round-trips to the value it spells.
    #[test]
    fn python_literal_round_trip(
        (text, want) in arb_py(),
        pad in prop::sample::select(&["", " ", "\t", "\n "][..]),
    ) {
        let padded = format!("{pad} {text}\n");
        let got = parse_python_literal(&padded);
        prop_assert!(
            got.as_ref().is_ok_and(|g| same(g, &want)),
            "{:?} -> {:?}, want {:?}", padded, got, want
        );
        check_literal(&padded)?;
    }
}

// ---------------------------------------------------------------------------
// Dates and timestamps
// ---------------------------------------------------------------------------

const TS_ALPHABET: &[&str] = &[
    "0",
    "1",
    "2",
    "9",
    "20",
    "19",
    "12",
    "31",
    "29",
    "02",
    "-",
    "-",
    ":",
    ":",
    " ",
    "T",
    ".",
    "Z",
    "2019-02-29",
    "2020-02-29",
    "2021-13-01",
    "23:59:59",
    "24:00:00",
    "é",
];

fn days_in_month(y: i32, m: u32) -> u32 {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn arb_date() -> impl Strategy<Value = (i32, u32, u32)> {
    (0i32..=9999, 1u32..=12, 1u32..=31).prop_map(|(y, m, d)| (y, m, d.min(days_in_month(y, m))))
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn timestamp_never_panics(s in prop_oneof![any_text(), text_over(TS_ALPHABET, 12)]) {
        let t = s.trim();
        // Epochs, `YYYY-MM` and zoned times are checked by their own properties below.
        let other_form = t.bytes().all(|b| b.is_ascii_digit())
            || t.len() == 7
            || t.get(10..).is_some_and(|time| time.contains(['+', '-']));
        if let Some(us) = parse_yelp_timestamp(&s).filter(|_| !other_form) {
            // Whatever parses reformats to the text it came from.
            let days = us.div_euclid(86_400_000_000);
            let secs = us.rem_euclid(86_400_000_000) / 1_000_000;
            let (y, m, d) = civil_from_days(days);
            let date = format!("{y:04}-{m:02}-{d:02}");
            let t = s.trim();
            prop_assert!(t.starts_with(&date), "{:?} -> {} ({})", s, us, date);
            if t.len() > 10 {
                let time = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
                prop_assert_eq!(t.get(11..19), Some(time.as_str()), "{:?} -> {}", s, us);
            }
        }
    }

    #[test]
    fn timestamp_round_trip(
        (y, m, d) in arb_date(),
        (h, mi, sec) in (0u32..24, 0u32..60, 0u32..60),
        frac in prop::option::of("[0-9]{1,9}"),
        sep in prop::sample::select(&[" ", "T"][..]),
        z in any::<bool>(),
        date_only in prop::bool::weighted(0.2),
    ) {
        let days = days_from_civil(y, m, d);
        if date_only {
            let s = format!("{y:04}-{m:02}-{d:02}");
            prop_assert_eq!(parse_yelp_timestamp(&s), Some(days * 86_400_000_000));
        } else {
            let mut s = format!("{y:04}-{m:02}-{d:02}{sep}{h:02}:{mi:02}:{sec:02}");
            let mut micros = 0i64;
            if let Some(f) = &frac {
                write!(s, ".{f}").unwrap();
                let padded = format!("{f:0<6}");
                micros = padded[..6].parse().unwrap();
            }
            if z {
                s.push('Z');
            }
            let want = days * 86_400_000_000 + i64::from(h * 3600 + mi * 60 + sec) * 1_000_000 + micros;
            prop_assert_eq!(parse_yelp_timestamp(&format!(" {s} ")), Some(want), "{:?}", s);
        }
        prop_assert_eq!(civil_from_days(days), (y, m, d));
    }

    #[test]
    fn timestamp_epochs_by_magnitude(n in prop_oneof![
        0i64..100_000_000_000,
        100_000_000_000i64..100_000_000_000_000,
        100_000_000_000_000i64..i64::MAX,
        Just(99_999_999_999i64),
        Just(100_000_000_000i64),
        Just(100_000_000_000_000i64),
    ]) {
        // Below 1e11 seconds, from 1e11 to 1e14 (excluded) milliseconds, else refused.
        let want = if n < 100_000_000_000 {
            Some(n * 1_000_000)
        } else if n < 100_000_000_000_000 {
            Some(n * 1_000)
        } else {
            None
        };
        prop_assert_eq!(parse_yelp_timestamp(&n.to_string()), want);
        prop_assert_eq!(parse_yelp_timestamp(&format!(" {n}\t")), want);
        prop_assert_eq!(parse_yelp_timestamp(&format!("-{n}")), None);
    }

    #[test]
    fn timestamp_zones_match_chrono(
        (y, m, d) in (1970i32..=2100, 1u32..=12, 1u32..=31)
            .prop_map(|(y, m, d)| (y, m, d.min(days_in_month(y, m)))),
        (h, mi, sec) in (0u32..24, 0u32..60, 0u32..60),
        frac in prop::option::of("[0-9]{1,9}"),
        (east, oh, om) in (any::<bool>(), 0u32..24, 0u32..60),
        zulu in prop::bool::weighted(0.2),
    ) {
        // RFC 3339 text, parsed independently by chrono.
        let mut s = format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{sec:02}");
        if let Some(f) = &frac {
            write!(s, ".{f}").unwrap();
        }
        if zulu {
            s.push('Z');
        } else {
            write!(s, "{}{oh:02}:{om:02}", if east { '+' } else { '-' }).unwrap();
        }
        let want = chrono::DateTime::parse_from_rfc3339(&s).unwrap().timestamp_micros();
        prop_assert_eq!(parse_yelp_timestamp(&s), Some(want), "{:?}", s);
        // The compact offset spelling (`+0530`) and a space for the `T` read the same.
        if !zulu {
            let compact = format!("{}{oh:02}{om:02}", &s[..s.len() - 5]);
            prop_assert_eq!(parse_yelp_timestamp(&compact), Some(want), "{:?}", compact);
        }
        let spaced = s.replacen('T', " ", 1);
        prop_assert_eq!(parse_yelp_timestamp(&spaced), Some(want), "{:?}", spaced);
    }

    #[test]
    fn timestamp_months_are_their_first_day(y in 0i32..=9999, m in 1u32..=12) {
        let s = format!("{y:04}-{m:02}");
        prop_assert_eq!(parse_yelp_timestamp(&s), Some(days_from_civil(y, m, 1) * 86_400_000_000));
    }

    #[test]
    fn civil_days_never_panic(y in any::<i32>(), m in any::<u32>(), d in any::<u32>(), days in any::<i64>()) {
        let _ = days_from_civil(y, m, d);
        let (_, m2, d2) = civil_from_days(days);
        prop_assert!((1..=12).contains(&m2) && (1..=31).contains(&d2));
        prop_assert!(weekday_from_days(days) < 7);
        // Consecutive days are consecutive weekdays.
        if days < i64::MAX {
            prop_assert_eq!((weekday_from_days(days) + 1) % 7, weekday_from_days(days + 1));
        }
    }
}

// ---------------------------------------------------------------------------
// Lists, strings, elite, names
// ---------------------------------------------------------------------------

const LIST_ALPHABET: &[&str] = &[
    "20", "20", "2020", "2019", "1899", "2101", "0", ",", ",", " ", " ", "None", "null", "a",
    "\u{a0}", "é", "\t",
];

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn elite_and_lists_never_panic(s in prop_oneof![any_text(), text_over(LIST_ALPHABET, 16)]) {
        let (years, bad) = parse_elite(&s);
        prop_assert!(years.windows(2).all(|w| w[0] < w[1]), "{:?}", years);
        prop_assert!(years.iter().all(|y| (1900..=2100).contains(y)));
        prop_assert!(years.len() + bad <= s.split(',').count());

        for item in split_list(&s) {
            prop_assert!(!item.is_empty() && !item.contains(','));
            prop_assert_eq!(item, item.trim());
        }
        if let Some(t) = clean_str(&s) {
            prop_assert!(!t.is_empty() && t == t.trim());
            prop_assert!(!t.eq_ignore_ascii_case("none") && !t.eq_ignore_ascii_case("null"));
        }
        if let Some(i) = weekday_index(&s) {
            prop_assert!(i < 7);
        }
        if let Some(p) = price_level(&s) {
            prop_assert!((1..=4).contains(&p));
        }
        let _ = (is_yelp_id(&s), is_google_user_id(&s), is_gmap_id(&s));
        let _ = (StateScope::parse(&s), CategoryScope::parse(&s));
    }

    #[test]
    fn elite_round_trip(years in prop::collection::vec(1900i32..=2100, 0..8), pad in arb_space()) {
        let s = years.iter().map(|y| format!("{pad}{y} ")).collect::<Vec<_>>().join(",");
        let mut want = years.clone();
        want.sort_unstable();
        want.dedup();
        prop_assert_eq!(parse_elite(&s), (want, 0), "{:?}", s);
    }

    #[test]
    fn price_round_trip(n in 1usize..=6, sign in prop::sample::select(&["$", "₩", "€", "£", "¥"][..])) {
        let want = (n <= 4).then_some(n as i32);
        prop_assert_eq!(price_level(&format!(" {} ", sign.repeat(n))), want);
        prop_assert_eq!(price_level(&n.to_string()), want);
    }

    #[test]
    fn ids_round_trip(yelp in "[A-Za-z0-9_-]{22}", user in "[0-9]{1,30}", a in "[0-9a-fA-F]{1,16}", b in "[0-9a-fA-F]{1,16}") {
        prop_assert!(is_yelp_id(&yelp));
        prop_assert!(!is_yelp_id(&yelp[1..]));
        prop_assert!(is_google_user_id(&user));
        let gmap = format!("0x{a}:0x{b}");
        let no_colon = gmap.replace(':', "");
        prop_assert!(is_gmap_id(&gmap));
        prop_assert!(!is_gmap_id(&no_colon));
    }
}

// ---------------------------------------------------------------------------
// Addresses and cities
// ---------------------------------------------------------------------------

const ADDRESS_ALPHABET: &[&str] = &[
    ",",
    ",",
    ", ",
    " ",
    "CA",
    "VT",
    "XX",
    "ca",
    "05701",
    "12345-6789",
    "1234",
    "123",
    "Main St",
    "Rutland",
    "United States",
    "USA",
    "US",
    "-",
    "é",
    "\u{a0}",
    "14th",
];

fn words() -> impl Strategy<Value = String> {
    "[A-Z][a-z]{1,8}( [A-Za-z][a-z]{0,8}){0,2}"
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn address_never_panics(s in prop_oneof![any_text(), text_over(ADDRESS_ALPHABET, 12)]) {
        if let Some(p) = parse_google_address(&s) {
            prop_assert!(p.state.len() == 2 && p.state.bytes().all(|b| b.is_ascii_uppercase()));
            if let Some(z) = p.postal_code {
                prop_assert!(z.len() == 5 && z.bytes().all(|b| b.is_ascii_digit()), "{:?}", z);
            }
            for part in [p.street, p.city].into_iter().flatten() {
                prop_assert!(!part.is_empty() && part == part.trim() && !part.contains(','));
                prop_assert!(s.contains(part));
            }
        }
    }

    #[test]
    fn address_round_trip(
        name in prop::option::of(words()),
        number in 1u32..99999,
        street in words(),
        city in words(),
        state in prop::sample::select(&["CA", "TX", "NY", "FL", "PA", "DC", "PR"][..]),
        zip in prop::option::of((10000u32..99999, prop::option::of(1000u32..9999))),
        country in prop::sample::select(&["", ", United States", ", USA", ", US"][..]),
    ) {
        let zip_text = zip.map(|(z, plus)| match plus {
            Some(p) => format!(" {z}-{p}"),
            None => format!(" {z}"),
        }).unwrap_or_default();
        let street_text = format!("{number} {street}");
        let mut addr = String::new();
        if let Some(n) = &name {
            write!(addr, "{n}, ").unwrap();
        }
        write!(addr, "{street_text}, {city}, {state}{zip_text}{country}").unwrap();
        let p = parse_google_address(&addr);
        prop_assert!(p.is_some(), "{:?}", addr);
        let p = p.unwrap();
        prop_assert_eq!(p.state, state);
        prop_assert_eq!(p.city, Some(city.as_str()));
        prop_assert_eq!(p.street, Some(street_text.as_str()));
        let zip5 = zip.map(|(z, _)| z.to_string());
        prop_assert_eq!(p.postal_code, zip5.as_deref());
    }

    /// Cities: no panic on any text; only whitespace and letter case change.
    #[test]
    fn city_never_panics(s in prop_oneof![any_text(), "[A-Za-z'’./() -]{0,30}"]) {
        let c = normalize_city(&s);
        prop_assert_eq!(c.trim(), c.as_str());
        prop_assert!(!c.contains("  "));
        if s.is_ascii() {
            let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
            prop_assert_eq!(c.to_ascii_lowercase(), collapsed.to_ascii_lowercase(), "{:?}", s);
        }
    }
}

// ---------------------------------------------------------------------------
// GDP page
// ---------------------------------------------------------------------------

const HTML_ALPHABET: &[&str] = &[
    "<table class=\"wikitable\">",
    "<table class=\"wikitable sortable\">",
    "</table>",
    "<tr>",
    "</tr>",
    "<th>",
    "</th>",
    "<td>",
    "</td>",
    "<th colspan=\"2\">",
    "<td rowspan=\"2\">",
    "<th rowspan=\"3\">",
    "colspan=\"999999\"",
    "rowspan=\"0\"",
    "<sup>",
    "</sup>",
    "<!--",
    "-->",
    "<style>",
    "</style>",
    "<script>",
    "</script>",
    "State",
    "State or federal district",
    "Territory",
    "GDP",
    "Nominal GDP (millions of US$)",
    "Real GDP",
    "per capita",
    "2023",
    "2022",
    "California",
    "Texas",
    "District of Columbia",
    "Washington, D.C.",
    "Puerto Rico",
    "Guam",
    "United States",
    "Ontario",
    "$3,987,225",
    "1,234",
    "12.5",
    "-",
    "n/a",
    "data-sort-value=\"77\"",
    "&amp;",
    "&#160;",
    "&nbsp;",
    "&#x2013;",
    "&#99999999;",
    "&",
    "<",
    ">",
    "\"",
    "'",
    " ",
    "\n",
    "é",
    "<span style=\"display:none\">",
    "</span>",
    "<br>",
    "<a href=\"x\">",
    "</a>",
    "billions",
    "trillions",
];

fn check_gdp(html: &str) -> Result<(), TestCaseError> {
    if let Ok(rows) = parse_gdp_html(html) {
        check_rows(&rows)?;
    }
    Ok(())
}

fn check_rows(rows: &[StateGdp]) -> Result<(), TestCaseError> {
    prop_assert!(!rows.is_empty());
    for (i, r) in rows.iter().enumerate() {
        prop_assert_eq!(r.rank as usize, i + 1);
        prop_assert!(r.state_abbr.is_some());
        prop_assert!(!r.gdp_millions_usd.is_nan());
        if i > 0 {
            prop_assert!(
                rows[i - 1].gdp_millions_usd >= r.gdp_millions_usd,
                "not sorted"
            );
        }
    }
    let mut names: Vec<&str> = rows.iter().map(|r| r.state_name.as_str()).collect();
    names.sort_unstable();
    let n = names.len();
    names.dedup();
    prop_assert_eq!(names.len(), n, "a state listed twice");
    let top = gdp::top_states(rows, 5);
    prop_assert!(top.len() <= 5);
    Ok(())
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn gdp_never_panics(html in prop_oneof![any_text(), text_over(HTML_ALPHABET, 60)]) {
        check_gdp(&html)?;
    }

    /// A generated table of states: every row comes back, ranked.
    #[test]
    fn gdp_generated_table(
        rows in prop::collection::btree_map(
            prop::sample::select(&["California", "Texas", "New York", "Florida", "Vermont", "District of Columbia", "Guam"][..]),
            (1u64..5_000_000, any::<bool>()),
            1..7,
        ),
        junk in text_over(&["é", "&amp;", " ", "\n", "text", "<p>", "</p>", "<br>", "<!-- c -->"], 6),
    ) {
        let mut html = format!("<html><body>{junk}<table class=\"wikitable sortable\"><tr><th>State</th><th>Nominal GDP (millions of US$) 2023</th></tr>");
        for (state, (gdp, commas)) in &rows {
            let v = if *commas {
                let s = gdp.to_string();
                let mut out = String::new();
                for (i, c) in s.chars().enumerate() {
                    if i > 0 && (s.len() - i) % 3 == 0 {
                        out.push(',');
                    }
                    out.push(c);
                }
                format!("${out}")
            } else {
                gdp.to_string()
            };
            write!(html, "<tr><td>{state}<sup>[1]</sup></td><td>{v}</td></tr>").unwrap();
        }
        html.push_str("</table></body></html>");
        check_gdp(&html)?;
        let parsed = parse_gdp_html(&html);
        prop_assert!(parsed.is_ok(), "{:?}", parsed);
        let parsed = parsed.unwrap();
        prop_assert_eq!(parsed.len(), rows.len());
        for r in &parsed {
            let (gdp, _) = rows[r.state_name.as_str()];
            prop_assert_eq!(r.gdp_millions_usd, gdp as f64);
            prop_assert_eq!(r.year, Some(2023));
        }
    }
}

proptest! {
    #![proptest_config(config(24))]

    /// The shipped page with a slice cut out or a snippet spliced in: no panic, and
    /// a result keeps the documented shape.
    #[test]
    fn gdp_mutated_offline_page(
        at in any::<prop::sample::Index>(),
        len in 0usize..2000,
        insert in text_over(HTML_ALPHABET, 4),
    ) {
        let page = gdp::OFFLINE_PAGE;
        let mut start = at.index(page.len());
        while !page.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = (start + len).min(page.len());
        while !page.is_char_boundary(end) {
            end -= 1;
        }
        let html = format!("{}{insert}{}", &page[..start], &page[end..]);
        check_gdp(&html)?;
    }
}

#[test]
fn offline_page_parses() {
    let rows = parse_gdp_html(gdp::OFFLINE_PAGE).expect("offline page");
    check_rows(&rows).unwrap();
    assert!(rows.len() >= 51);
}
