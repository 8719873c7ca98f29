//! The offline HTML report: KPI cards, the four KPIs over time by state, rising and
//! declining categories, and sentiment by platform. One self-contained file (inline CSS
//! and SVG, no script, no network), readable in any browser.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use arrow::array::Array;
use reviewlake_lake::{Columns, Lake, QuerySession};
use reviewlake_schema::col;
use reviewlake_schema::features::KPI;
use reviewlake_warehouse::parse::civil_from_days;

use crate::Result;
use crate::kpi::KPIS;

/// Series colours (also what the screenshot test looks for).
pub const PALETTE: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn label(days: i32, grain: &str) -> String {
    let (y, m, _) = civil_from_days(days as i64);
    match grain {
        "year" => format!("{y}"),
        "quarter" => format!("{y} Q{}", (m - 1) / 3 + 1),
        _ => format!("{y}-{m:02}"),
    }
}

/// A line chart: one polyline per series over shared x labels.
fn line_chart(
    title: &str,
    x: &[String],
    series: &[(String, Vec<Option<f64>>)],
    unit: &str,
) -> String {
    let (w, h, l, r, t, b) = (640.0, 300.0, 56.0, 130.0, 28.0, 40.0);
    let vals: Vec<f64> = series
        .iter()
        .flat_map(|s| s.1.iter().flatten().copied())
        .collect();
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<figure><svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\">\
         <text x=\"{l}\" y=\"18\" class=\"t\">{}</text>",
        esc(title),
        esc(title)
    );
    if vals.is_empty() || x.len() < 2 {
        let _ = write!(
            svg,
            "<text x=\"{l}\" y=\"{}\">no data</text></svg></figure>",
            h / 2.0
        );
        return svg;
    }
    let (mut lo, mut hi) = vals
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    if (hi - lo).abs() < 1e-9 {
        lo -= 1.0;
        hi += 1.0;
    }
    let pw = w - l - r;
    let ph = h - t - b;
    let xp = |i: usize| l + pw * i as f64 / (x.len() - 1) as f64;
    let yp = |v: f64| t + ph * (1.0 - (v - lo) / (hi - lo));
    for k in 0..=4 {
        let v = lo + (hi - lo) * k as f64 / 4.0;
        let y = yp(v);
        let _ = write!(
            svg,
            "<line x1=\"{l}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" class=\"g\"/>\
             <text x=\"{}\" y=\"{:.1}\" class=\"a\" text-anchor=\"end\">{v:.1}{unit}</text>",
            l + pw,
            l - 4.0,
            y + 4.0
        );
    }
    let step = (x.len() / 6).max(1);
    for (i, lab) in x.iter().enumerate().step_by(step) {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" class=\"a\" text-anchor=\"middle\">{}</text>",
            xp(i),
            h - b + 16.0,
            esc(lab)
        );
    }
    for (si, (name, ys)) in series.iter().enumerate() {
        let color = PALETTE[si % PALETTE.len()];
        let mut d = String::new();
        let mut pen = false;
        for (i, v) in ys.iter().enumerate() {
            match v {
                Some(v) => {
                    let _ = write!(
                        d,
                        "{}{:.1},{:.1} ",
                        if pen { "L" } else { "M" },
                        xp(i),
                        yp(*v)
                    );
                    pen = true;
                }
                None => pen = false,
            }
        }
        let _ = write!(
            svg,
            "<path d=\"{d}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2.5\"/>\
             <rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{color}\"/>\
             <text x=\"{}\" y=\"{}\" class=\"a\">{}</text>",
            w - r + 10.0,
            t + 18.0 * si as f64,
            w - r + 26.0,
            t + 18.0 * si as f64 + 10.0,
            esc(name)
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

/// A horizontal bar chart of (label, value) pairs; positive bars in the first colour,
/// negative in the second.
fn bar_chart(title: &str, bars: &[(String, f64)], unit: &str) -> String {
    let (w, row, l) = (640.0, 24.0, 200.0);
    let h = 40.0 + row * bars.len().max(1) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<figure><svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\">\
         <text x=\"10\" y=\"18\" class=\"t\">{}</text>",
        esc(title),
        esc(title)
    );
    if bars.is_empty() {
        svg.push_str("<text x=\"10\" y=\"50\">no data</text></svg></figure>");
        return svg;
    }
    let max = bars.iter().map(|b| b.1.abs()).fold(1e-9, f64::max);
    let half = (w - l - 90.0) / 2.0;
    let zero = l + half;
    for (i, (name, v)) in bars.iter().enumerate() {
        let y = 30.0 + row * i as f64;
        let len = half * v.abs() / max;
        let (x, color) = if *v >= 0.0 {
            (zero, PALETTE[2])
        } else {
            (zero - len, PALETTE[1])
        };
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{:.1}\" class=\"a\" text-anchor=\"end\">{}</text>\
             <rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{len:.1}\" height=\"{}\" fill=\"{color}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"a\">{v:+.1}{unit}</text>",
            l - 6.0,
            y + 15.0,
            esc(name),
            row - 6.0,
            zero + if *v >= 0.0 { len + 4.0 } else { 4.0 },
            y + 15.0
        );
    }
    let _ = write!(
        svg,
        "<line x1=\"{zero}\" x2=\"{zero}\" y1=\"26\" y2=\"{}\" stroke=\"#333\"/></svg></figure>",
        h - 6.0
    );
    svg
}

struct KpiPoint {
    period: i32,
    state: Option<String>,
    category: Option<String>,
    source: Option<String>,
    kpi: String,
    value: Option<f64>,
    previous: Option<f64>,
    met: Option<bool>,
    /// Reviews behind the value.
    support: i64,
}

async fn points(session: &QuerySession, grain: &str) -> Result<Vec<KpiPoint>> {
    let sql = format!(
        "SELECT period_start, state, category, source, kpi, value, previous_value, target_met, \
         support, low_support, partial \
         FROM kpi WHERE grain = '{grain}' AND business_key IS NULL ORDER BY period_start"
    );
    let mut out = Vec::new();
    let table = format!("features/{KPI}");
    for b in session.collect(&sql).await? {
        let c = Columns::new(&b, &table);
        let p = c.date32(col::PERIOD_START)?;
        let (state, category, source, kpi) = (
            c.str(col::STATE)?,
            c.str(col::CATEGORY)?,
            c.str(col::SOURCE)?,
            c.str(col::KPI)?,
        );
        let (value, previous, met) = (
            c.f64(col::VALUE)?,
            c.f64(col::PREVIOUS_VALUE)?,
            c.bool(col::TARGET_MET)?,
        );
        let (support, low) = (c.i64(col::SUPPORT)?, c.bool(col::LOW_SUPPORT)?);
        let partial = c.bool(col::PARTIAL)?;
        let s = |a: &arrow::array::StringArray, i: usize| {
            (!a.is_null(i)).then(|| a.value(i).to_string())
        };
        let f = |a: &arrow::array::Float64Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
        for i in 0..b.num_rows() {
            // A value on too few reviews, or of a period the data does not cover
            // whole (a platform's data begins or ends inside it), is no headline and
            // no chart point.
            let trusted =
                (low.is_null(i) || !low.value(i)) && (partial.is_null(i) || !partial.value(i));
            out.push(KpiPoint {
                period: p.value(i),
                state: s(state, i),
                category: s(category, i),
                source: s(source, i),
                kpi: s(kpi, i).unwrap_or_default(),
                value: f(value, i).filter(|_| trusted),
                previous: f(previous, i).filter(|_| trusted),
                met: (!met.is_null(i) && trusted).then(|| met.value(i)),
                support: if support.is_null(i) {
                    0
                } else {
                    support.value(i)
                },
            });
        }
    }
    Ok(out)
}

/// Renders the report of `lake` (its `features/kpi` and `features/review_features`, as
/// of the latest snapshot).
pub async fn render(lake: &Lake) -> Result<String> {
    render_session(&lake.session().await?).await
}

/// Renders the report from the tables of `session`'s snapshot.
pub async fn render_session(session: &QuerySession) -> Result<String> {
    let quarter = points(session, "quarter").await?;
    let year = points(session, "year").await?;
    let mut html = String::new();
    html.push_str(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>reviewlake report</title><style>\
         body{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}\
         h1{margin:0 0 4px}h2{margin-top:32px;border-bottom:1px solid #ccc}\
         .cards{display:flex;flex-wrap:wrap;gap:12px}\
         .card{background:#fff;border:1px solid #ddd;border-radius:8px;padding:12px 16px;min-width:180px}\
         .card .v{font-size:28px;font-weight:600}.ok{color:#2ca02c}.no{color:#d62728}\
         .grid{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;background:#fff;border:1px solid #ddd;border-radius:8px}\
         .t{font-size:14px;font-weight:600}.a{font-size:11px;fill:#444}.g{stroke:#eee}\
         </style></head><body><h1>reviewlake — review analytics</h1>",
    );
    // KPI cards: the latest quarter, all states, categories and platforms.
    let overall: Vec<&KpiPoint> = quarter
        .iter()
        .filter(|p| p.state.is_none() && p.category.is_none() && p.source.is_none())
        .collect();
    // The latest quarter whose KPIs stand on enough reviews.
    let latest = overall
        .iter()
        .filter(|p| p.value.is_some())
        .map(|p| p.period)
        .max();
    let _ = write!(
        html,
        "<p>Latest whole quarter with enough reviews: <b>{}</b>. Values on fewer reviews than \
         the minimum support, and of partial periods (a platform's data begins or ends inside \
         them), are left out. Definitions: docs/KPIS.md.</p><div class=\"cards\">",
        latest
            .map(|d| label(d, "quarter"))
            .unwrap_or_else(|| "none".into())
    );
    for k in KPIS {
        let p = overall
            .iter()
            .find(|p| Some(p.period) == latest && p.kpi == k);
        let (v, prev, met, support) = p
            .map(|p| (p.value, p.previous, p.met, p.support))
            .unwrap_or((None, None, None, 0));
        let fmt = |x: Option<f64>| {
            x.map(|x| format!("{x:.1}%"))
                .unwrap_or_else(|| "n/a".into())
        };
        let _ = write!(
            html,
            "<div class=\"card\"><div>{}</div><div class=\"v {}\">{}</div><div>previous {}</div>\
             <div class=\"a\">{} reviews</div></div>",
            k.replace('_', " "),
            match met {
                Some(true) => "ok",
                Some(false) => "no",
                None => "",
            },
            fmt(v),
            fmt(prev),
            support
        );
    }
    html.push_str("</div>");

    // The four KPIs over time by state (quarters).
    html.push_str("<h2>KPIs by state, per quarter</h2><div class=\"grid\">");
    let by_state: Vec<&KpiPoint> = quarter
        .iter()
        .filter(|p| p.state.is_some() && p.category.is_none() && p.source.is_none())
        .collect();
    let mut periods: Vec<i32> = by_state.iter().map(|p| p.period).collect();
    periods.sort();
    periods.dedup();
    let x: Vec<String> = periods.iter().map(|d| label(*d, "quarter")).collect();
    for k in KPIS {
        let mut series: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
        for p in by_state.iter().filter(|p| p.kpi == k) {
            let s = series
                .entry(p.state.clone().unwrap_or_default())
                .or_insert_with(|| vec![None; periods.len()]);
            if let Ok(i) = periods.binary_search(&p.period) {
                s[i] = p.value;
            }
        }
        let series: Vec<(String, Vec<Option<f64>>)> = series.into_iter().collect();
        html.push_str(&line_chart(&k.replace('_', " "), &x, &series, "%"));
    }
    html.push_str("</div>");

    // Rising and declining categories: review growth in the latest full year.
    let years: Vec<i32> = year
        .iter()
        .filter(|p| p.kpi == "review_growth_rate" && p.value.is_some())
        .map(|p| p.period)
        .collect();
    let last_year = years.iter().max().copied();
    let mut growth: Vec<(String, f64)> = year
        .iter()
        .filter(|p| {
            Some(p.period) == last_year
                && p.kpi == "review_growth_rate"
                && p.state.is_none()
                && p.source.is_none()
                && p.category.as_deref().is_some_and(|c| c != "other")
        })
        .filter_map(|p| Some((p.category.clone()?, p.value?)))
        .collect();
    growth.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut shown: Vec<(String, f64)> = growth.iter().take(8).cloned().collect();
    for g in growth.iter().rev().take(8) {
        if !shown.iter().any(|s| s.0 == g.0) {
            shown.push(g.clone());
        }
    }
    shown.sort_by(|a, b| b.1.total_cmp(&a.1));
    let _ = write!(
        html,
        "<h2>Rising and declining categories</h2><div class=\"grid\">{}</div>",
        bar_chart(
            &format!(
                "Review growth by category, {} vs the year before",
                last_year.map(|d| label(d, "year")).unwrap_or_default()
            ),
            &shown,
            "%"
        )
    );

    // Sentiment by platform, per quarter.
    let mut by_source: BTreeMap<String, BTreeMap<i32, f64>> = BTreeMap::new();
    for b in session
        .collect(
            "SELECT source, CAST(date_trunc('quarter', review_ts) AS DATE) AS q, \
             avg(compound) AS s, count(*) AS n FROM review_features \
             WHERE compound IS NOT NULL GROUP BY 1, 2",
        )
        .await?
    {
        let c = Columns::new(&b, "sentiment by platform");
        let src = c.str(col::SOURCE)?;
        let q = c.date32("q")?;
        let s = c.f64("s")?;
        let n = c.i64("n")?;
        for i in 0..b.num_rows() {
            if n.value(i) >= 5 {
                by_source
                    .entry(src.value(i).to_string())
                    .or_default()
                    .insert(q.value(i), s.value(i));
            }
        }
    }
    let mut qs: Vec<i32> = by_source.values().flat_map(|m| m.keys().copied()).collect();
    qs.sort();
    qs.dedup();
    let series: Vec<(String, Vec<Option<f64>>)> = by_source
        .iter()
        .map(|(k, m)| (k.clone(), qs.iter().map(|q| m.get(q).copied()).collect()))
        .collect();
    let xq: Vec<String> = qs.iter().map(|d| label(*d, "quarter")).collect();
    let _ = write!(
        html,
        "<h2>Sentiment by platform</h2><div class=\"grid\">{}</div>",
        line_chart("Mean VADER compound per quarter", &xq, &series, "")
    );
    html.push_str("</body></html>\n");
    Ok(html)
}
