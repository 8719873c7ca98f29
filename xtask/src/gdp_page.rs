//! `cargo xtask gdp-page`: builds the offline copy of the Wikipedia page
//! "List of U.S. states and territories by GDP"
//! (`crates/warehouse/data/gdp_by_state_wikipedia.html`, the warehouse's
//! `gdp::OFFLINE_PAGE`) from the Bureau of Economic Analysis GDP-by-state
//! CSV the Wikipedia table itself is made from
//! (`tests/data/real/gdp/gdp_by_state.csv`).

use std::fmt;

use reviewlake_warehouse::gdp::{PAGE_TITLE, PAGE_URL, parse_number};
use reviewlake_warehouse::states;

/// Errors of [`build_page_from_bea_csv`].
#[derive(Debug, Clone, PartialEq)]
pub enum PageError {
    /// The BEA CSV is malformed.
    Csv {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The year asked for is not a column.
    YearNotInCsv {
        /// The year asked for.
        year: i32,
    },
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageError::Csv { line, message } => write!(f, "BEA CSV line {line}: {message}"),
            PageError::YearNotInCsv { year } => {
                write!(f, "year {year} is not a column of the BEA CSV")
            }
        }
    }
}

impl std::error::Error for PageError {}

/// Builds the offline copy of the Wikipedia page from a BEA GDP-by-state
/// CSV.
///
/// The CSV has a header row `,1997,1998,...,2023` (the first field, the
/// name column's title, may be empty) and one row per area,
/// `Alabama,105381.4,...`, in millions of current dollars. Rows naming a US
/// state or DC are used; others (the "United States" total, BEA regions)
/// are skipped. Quoted fields (closed on their line), CRLF line ends and a
/// byte-order mark are accepted; blank lines are skipped.
///
/// `year` picks the column (default: the latest year in the header). The
/// page has, like the article, a `wikitable sortable static-row-numbers`
/// table with the columns "State or federal district", "Nominal GDP
/// (millions of US$)" for `year` and `year - 1` (when the CSV has it) and
/// "% of national", a "United States" total row (the sum of the rows), flag
/// icons, links, `$3,870,379`-style numbers rounded to whole millions,
/// `&#160;` entities and a footnote. The output is deterministic.
///
/// # Errors
///
/// [`PageError::Csv`] for an empty file, a header without years, an
/// unterminated quoted field, a state listed twice, a value that is not a non-negative number, or no state
/// rows; [`PageError::YearNotInCsv`] when `year` is not a column.
pub fn build_page_from_bea_csv(csv: &str, year: Option<i32>) -> Result<String, PageError> {
    let bea = BeaTable::parse(csv)?;
    let col = match year {
        Some(y) => bea
            .years
            .iter()
            .position(|&c| c == y)
            .ok_or(PageError::YearNotInCsv { year: y })?,
        None => bea
            .years
            .iter()
            .enumerate()
            .max_by_key(|&(_, y)| *y)
            .map(|(i, _)| i)
            .ok_or(PageError::Csv {
                line: 1,
                message: "the header has no year columns".to_string(),
            })?,
    };
    let year_of = |c: usize| bea.years.get(c).copied().unwrap_or_default();
    let year = year_of(col);
    let prev_col = bea.years.iter().position(|&c| c == year - 1);

    let mut rows: Vec<PageRow> = Vec::with_capacity(bea.rows.len());
    for r in &bea.rows {
        let value = |c: usize| -> Result<f64, PageError> {
            let text = r.values.get(c).map(String::as_str).unwrap_or("");
            parse_number(text)
                .filter(|v| *v >= 0.0)
                .ok_or_else(|| PageError::Csv {
                    line: r.line,
                    message: format!(
                        "cannot parse the {} value '{}' of {}",
                        year_of(c),
                        text,
                        r.region.name
                    ),
                })
        };
        rows.push(PageRow {
            region: r.region,
            current: value(col)?,
            previous: prev_col.map(value).transpose()?,
        });
    }
    if rows.is_empty() {
        return Err(PageError::Csv {
            line: 1,
            message: "no row names a US state or DC".to_string(),
        });
    }
    rows.sort_by(|a, b| {
        b.current
            .total_cmp(&a.current)
            .then_with(|| a.region.name.cmp(b.region.name))
    });
    Ok(render_page(&rows, year, prev_col.map(|_| year - 1)))
}

/// One state row of the BEA CSV.
struct BeaRow {
    line: usize,
    region: &'static states::Region,
    /// The fields after the name, trimmed.
    values: Vec<String>,
}

/// The parsed BEA CSV.
struct BeaTable {
    years: Vec<i32>,
    rows: Vec<BeaRow>,
}

impl BeaTable {
    /// Reads the CSV with the `csv` crate: the first non-blank record is
    /// the header; fields are trimmed.
    fn parse(text: &str) -> Result<BeaTable, PageError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            // Lines end at '\n' (a '\r' before it is trimmed away).
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(text.as_bytes());
        let mut header: Option<Vec<i32>> = None;
        let mut rows: Vec<BeaRow> = Vec::new();
        let mut record = csv::StringRecord::new();
        loop {
            let more = reader.read_record(&mut record);
            // The record's position is where the reader stood before it
            // skipped the empty lines preceding the record.
            let line = record.position().map_or(1, |p| {
                let skipped = usize::try_from(p.byte())
                    .ok()
                    .and_then(|b| text.get(b..))
                    .map_or(0, |rest| rest.bytes().take_while(|&b| b == b'\n').count());
                usize::try_from(p.line()).map_or(1, |l| l + skipped)
            });
            match more {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    return Err(PageError::Csv {
                        line,
                        message: e.to_string(),
                    });
                }
            }
            // A quote left open at the end of a line swallows the lines after
            // it: refuse it rather than read them as one field.
            if record.iter().any(|f| f.contains('\n')) {
                return Err(PageError::Csv {
                    line,
                    message: "unterminated quoted field".to_string(),
                });
            }
            // Lines of blanks only are blank lines.
            if record.iter().all(str::is_empty) {
                continue;
            }
            if header.is_none() {
                let mut years = Vec::with_capacity(record.len());
                for (i, field) in record.iter().enumerate().skip(1) {
                    let year = field.parse::<i32>().map_err(|_| PageError::Csv {
                        line,
                        message: format!("header field {} '{}' is not a year", i + 1, field),
                    })?;
                    years.push(year);
                }
                if years.is_empty() {
                    return Err(PageError::Csv {
                        line,
                        message: "the header has no year columns".to_string(),
                    });
                }
                header = Some(years);
                continue;
            }
            let mut fields = record.iter();
            let name = fields.next().unwrap_or("");
            let Some(region) = states::by_name(name).filter(|r| r.is_us_state_or_dc) else {
                continue;
            };
            if rows.iter().any(|r| r.region.abbr == region.abbr) {
                return Err(PageError::Csv {
                    line,
                    message: format!("{} appears twice", region.name),
                });
            }
            rows.push(BeaRow {
                line,
                region,
                values: fields.map(str::to_string).collect(),
            });
        }
        let Some(years) = header else {
            return Err(PageError::Csv {
                line: 1,
                message: "the file is empty".to_string(),
            });
        };
        Ok(BeaTable { years, rows })
    }
}

/// One state of the generated page.
struct PageRow {
    region: &'static states::Region,
    current: f64,
    previous: Option<f64>,
}

/// `3870378.9` → `"$3,870,379"`.
fn format_dollars(millions: f64) -> String {
    let rounded = millions.round();
    let digits = if rounded.is_finite() && rounded.abs() < 1e15 {
        format!("{}", rounded.abs() as u64)
    } else {
        return "n/a".to_string();
    };
    let mut out = String::with_capacity(digits.len() + 6);
    if rounded < 0.0 {
        out.push('−');
    }
    out.push('$');
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The Wikipedia article title of a region (disambiguated like the real
/// links).
fn wiki_title(region: &states::Region) -> &'static str {
    match region.abbr {
        "GA" => "Georgia (U.S. state)",
        "WA" => "Washington (state)",
        "NY" => "New York (state)",
        "DC" => "Washington, D.C.",
        _ => region.name,
    }
}

/// The Commons flag file of a region.
fn flag_file(region: &states::Region) -> String {
    match region.abbr {
        "GA" => "Flag_of_Georgia_(U.S._state).svg".to_string(),
        "DC" => "Flag_of_the_District_of_Columbia.svg".to_string(),
        _ => format!("Flag_of_{}.svg", region.name.replace(' ', "_")),
    }
}

fn flag_icon(file: &str) -> String {
    format!(
        "<span class=\"flagicon\"><span class=\"mw-image-border\" typeof=\"mw:File\">\
<a href=\"/wiki/File:{file}\" class=\"mw-file-description\"><img alt=\"\" \
src=\"//upload.wikimedia.org/wikipedia/commons/thumb/{file}/23px-{file}.png\" \
decoding=\"async\" width=\"23\" height=\"15\" class=\"mw-file-element\" /></a></span>&#160;</span>"
    )
}

fn render_page(rows: &[PageRow], year: i32, prev_year: Option<i32>) -> String {
    let total: f64 = rows.iter().map(|r| r.current).sum();
    let prev_total: Option<f64> = rows.iter().map(|r| r.previous).sum();
    let gdp_cols = if prev_year.is_some() { 2 } else { 1 };
    let mut h = String::with_capacity(64 * 1024);
    let title = PAGE_TITLE;
    // The generator tag keeps the builder's former name (it lived in the
    // warehouse crate), so the committed page is byte-identical.
    h.push_str(&format!(
        r##"<!DOCTYPE html>
<html class="client-nojs vector-feature-language-in-header-enabled" lang="en" dir="ltr">
<head>
<meta charset="UTF-8">
<title>{title} - Wikipedia</title>
<link rel="canonical" href="{PAGE_URL}">
<meta name="generator" content="reviewlake-warehouse gdp::build_page_from_bea_csv (offline copy)">
</head>
<body class="skin-vector skin-vector-2022 mediawiki ltr sitedir-ltr ns-0 ns-subject page-List_of_U_S_states_and_territories_by_GDP rootpage-List_of_U_S_states_and_territories_by_GDP action-view">
<div class="mw-page-container"><main id="content" class="mw-body" role="main">
<header class="mw-body-header vector-page-titlebar">
<h1 id="firstHeading" class="firstHeading mw-first-heading"><span class="mw-page-title-main">{title}</span></h1>
</header>
<div id="bodyContent" class="vector-body" aria-labelledby="firstHeading">
<div id="siteSub" class="noprint">From Wikipedia, the free encyclopedia</div>
<div id="mw-content-text" class="mw-body-content"><div class="mw-content-ltr mw-parser-output" lang="en" dir="ltr">
<div class="shortdescription nomobile noexcerpt noprint searchaux" style="display:none">None</div>
<style data-mw-deduplicate="TemplateStyles:r1126788409">.mw-parser-output .plainlist ol,.mw-parser-output .plainlist ul{{line-height:inherit;list-style:none;margin:0;padding:0}}</style>
<table class="infobox" style="width:22em"><tbody><tr><th class="infobox-above">GDP of the United States</th></tr><tr><td class="infobox-data">Nominal&#160;GDP, {year}: {total_fmt}&#160;million</td></tr></tbody></table>
<p><b>This is an offline copy</b> of the Wikipedia table of U.S. states by gross domestic product, built from the U.S. <a href="/wiki/Bureau_of_Economic_Analysis" title="Bureau of Economic Analysis">Bureau of Economic Analysis</a> (BEA) series of nominal GDP by state, in millions of current U.S. dollars, for {year}{prev_note}. It lists the 50&#160;states and the <a href="/wiki/Washington,_D.C." title="Washington, D.C.">District of Columbia</a>; the territories are not part of the BEA series.<sup id="cite_ref-bea_1-0" class="reference"><a href="#cite_note-bea-1"><span class="cite-bracket">&#91;</span>1<span class="cite-bracket">&#93;</span></a></sup></p>
<meta property="mw:PageProp/toc" />
<h2><span class="mw-headline" id="States_and_federal_district">States and federal district</span></h2>
<table class="wikitable sortable static-row-numbers" style="text-align:right">
<caption>Nominal GDP by state or federal district, {year}</caption>
<tbody><tr>
<th rowspan="2" scope="col">State or federal district</th>
<th colspan="{gdp_cols}" scope="col">Nominal GDP (millions of US$)<sup id="cite_ref-a_2-0" class="reference"><a href="#cite_note-a-2"><span class="cite-bracket">&#91;</span>a<span class="cite-bracket">&#93;</span></a></sup></th>
<th rowspan="2" scope="col">% of national ({year})</th>
</tr>
<tr>
<th scope="col">{year}</th>
"##,
        total_fmt = format_dollars(total),
        prev_note = prev_year.map_or(String::new(), |p| format!(" and {p}")),
    ));
    if let Some(p) = prev_year {
        h.push_str(&format!("<th scope=\"col\">{p}</th>\n"));
    }
    h.push_str("</tr>\n");
    // The total row, pinned above the numbered rows like on Wikipedia.
    h.push_str(&format!(
        "<tr class=\"static-row-header\" style=\"font-weight:bold;background-color:#eaecf0\">\n\
<td style=\"text-align:left\">{flag}<a href=\"/wiki/United_States\" title=\"United States\">United States</a></td>\n\
<td>{cur}</td>\n",
        flag = flag_icon("Flag_of_the_United_States.svg"),
        cur = format_dollars(total),
    ));
    if prev_year.is_some() {
        h.push_str(&format!(
            "<td>{}</td>\n",
            prev_total.map_or_else(|| "n/a".to_string(), format_dollars)
        ));
    }
    h.push_str("<td>100.00%</td>\n</tr>\n");
    for row in rows {
        let title = wiki_title(row.region);
        let href = title.replace(' ', "_");
        let share = if total > 0.0 {
            row.current / total * 100.0
        } else {
            0.0
        };
        h.push_str(&format!(
            "<tr>\n<td style=\"text-align:left\">{flag}<a href=\"/wiki/{href}\" title=\"{title}\">{name}</a></td>\n\
<td>{cur}</td>\n",
            flag = flag_icon(&flag_file(row.region)),
            name = row.region.name,
            cur = format_dollars(row.current),
        ));
        if prev_year.is_some() {
            h.push_str(&format!(
                "<td>{}</td>\n",
                row.previous
                    .map_or_else(|| "n/a".to_string(), format_dollars)
            ));
        }
        h.push_str(&format!("<td>{share:.2}%</td>\n</tr>\n"));
    }
    h.push_str(
        r##"</tbody></table>
<h2><span class="mw-headline" id="Notes">Notes</span></h2>
<div class="reflist reflist-lower-alpha"><div class="mw-references-wrap"><ol class="references">
<li id="cite_note-a-2"><span class="mw-cite-backlink"><b><a href="#cite_ref-a_2-0">^</a></b></span> <span class="reference-text">Current dollars, not adjusted for inflation; rounded to the nearest million. The United States row is the sum of the 50&#160;states and the District of Columbia.</span></li>
</ol></div></div>
<h2><span class="mw-headline" id="References">References</span></h2>
<div class="reflist"><div class="mw-references-wrap"><ol class="references">
<li id="cite_note-bea-1"><span class="mw-cite-backlink"><b><a href="#cite_ref-bea_1-0">^</a></b></span> <span class="reference-text"><cite class="citation web cs1">"GDP by State". <i>U.S. Bureau of Economic Analysis</i>. Regional Economic Accounts, table SAGDP2N: Gross domestic product (GDP) by state, millions of current dollars.</cite></span></li>
</ol></div></div>
<div class="navbox-styles"><style data-mw-deduplicate="TemplateStyles:r1129693374">.mw-parser-output .hlist dl,.mw-parser-output .hlist ol,.mw-parser-output .hlist ul{margin:0;padding:0}</style></div>
<div role="navigation" class="navbox" aria-label="Navbox"><table class="nowraplinks navbox-inner" style="border-spacing:0;background:transparent;color:inherit"><tbody><tr><th scope="col" class="navbox-title" colspan="2">Economy of the United States by state</th></tr><tr><td class="navbox-list">GDP &#8226; GDP per capita &#8226; Income</td></tr></tbody></table></div>
</div></div>
<div class="printfooter" data-nosnippet="">Offline copy; the live article is at <a dir="ltr" href="https://en.wikipedia.org/wiki/List_of_U.S._states_and_territories_by_GDP">https://en.wikipedia.org/wiki/List_of_U.S._states_and_territories_by_GDP</a></div>
</div>
</main></div>
</body>
</html>
"##,
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use reviewlake_warehouse::gdp::{OFFLINE_PAGE, parse_gdp_html, top_states};

    /// The BEA figures the offline page is built from (the repository's
    /// copy of `../shared/data/real/gdp/gdp_by_state.csv`).
    const BEA_CSV: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/real/gdp/gdp_by_state.csv"
    );

    #[test]
    fn offline_page_matches_the_bea_csv() {
        let csv = std::fs::read_to_string(BEA_CSV).expect("reading the BEA CSV");
        let csv = csv.as_str();
        let rows = parse_gdp_html(OFFLINE_PAGE).expect("offline page parses");
        let rebuilt = build_page_from_bea_csv(csv, None).expect("build");
        assert_eq!(
            rebuilt, OFFLINE_PAGE,
            "offline page is stale: regenerate it with `cargo xtask gdp-page`"
        );
        // Every state's 2023 value is the CSV's, rounded to whole millions.
        let header: Vec<&str> = csv.lines().next().unwrap_or("").split(',').collect();
        let col = header
            .iter()
            .position(|h| h.trim() == "2023")
            .expect("2023");
        for line in csv.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let f: Vec<&str> = line.trim_end().split(',').collect();
            let want: f64 = f[col].parse().expect("number");
            let got = rows
                .iter()
                .find(|r| r.state_name == f[0])
                .unwrap_or_else(|| panic!("{} missing", f[0]));
            assert_eq!(got.gdp_millions_usd, want.round(), "{}", f[0]);
        }
        let ca = rows.iter().find(|r| r.state_name == "California");
        assert_eq!(ca.map(|r| r.gdp_millions_usd), Some(3_870_379.0));
        assert_eq!(top_states(&rows, 5), ["CA", "TX", "NY", "FL", "IL"]);
    }

    #[test]
    fn dollars() {
        assert_eq!(format_dollars(3_870_378.9), "$3,870,379");
        assert_eq!(format_dollars(999.4), "$999");
        assert_eq!(format_dollars(1000.0), "$1,000");
    }

    #[test]
    fn bea_csv_errors() {
        let csv = ",2022,2023\r\nOhio,1.5,2.5\r\n\"Texas\",3,4\r\nUnited States,9,9\r\nNew England,1,1\r\n";
        let page = build_page_from_bea_csv(csv, None).expect("builds");
        let rows = parse_gdp_html(&page).expect("round trip");
        assert_eq!(top_states(&rows, 5), ["TX", "OH"]);
        assert_eq!(rows[0].year, Some(2023));
        let page = build_page_from_bea_csv(csv, Some(2022)).expect("builds");
        let rows = parse_gdp_html(&page).expect("round trip");
        assert_eq!((rows[0].year, rows[0].gdp_millions_usd), (Some(2022), 3.0));
        assert_eq!(
            build_page_from_bea_csv(csv, Some(1999)),
            Err(PageError::YearNotInCsv { year: 1999 })
        );
        let err = build_page_from_bea_csv(",2023\nOhio,x\n", None).expect_err("bad");
        assert_eq!(
            err.to_string(),
            "BEA CSV line 2: cannot parse the 2023 value 'x' of Ohio"
        );
        assert!(matches!(
            build_page_from_bea_csv(",GDP\nOhio,1\n", None),
            Err(PageError::Csv { line: 1, .. })
        ));
        assert!(build_page_from_bea_csv("", None).is_err());
        assert!(build_page_from_bea_csv(",2023\n", None).is_err());
        assert!(matches!(
            build_page_from_bea_csv(",2023\nOhio,1\nOhio,2\n", None),
            Err(PageError::Csv { line: 3, .. })
        ));
    }

    #[test]
    fn bea_csv_quoting_blank_lines_and_bom() {
        // A quoted name with a comma, blank and whitespace-only lines, a BOM,
        // padded fields: read like the plain file.
        let csv =
            "\u{feff}\n , 2022 , 2023 \n\n  \n\"Ohio\", 1.5 ,\"2.5\"\n\"Washington, D.C.\",7,8\n";
        let page = build_page_from_bea_csv(csv, None).expect("builds");
        let rows = parse_gdp_html(&page).expect("round trip");
        assert_eq!(top_states(&rows, 5), ["DC", "OH"]);
        let err = build_page_from_bea_csv("\n\n,2023\nOhio,1\nOhio,2\n", None).expect_err("dup");
        assert_eq!(err.to_string(), "BEA CSV line 5: Ohio appears twice");
        assert_eq!(
            build_page_from_bea_csv(",2023\n\"Ohio,1\nTexas,2\n", None)
                .expect_err("open quote")
                .to_string(),
            "BEA CSV line 2: unterminated quoted field"
        );
        assert_eq!(
            build_page_from_bea_csv(",2023,x\n", None)
                .expect_err("bad header")
                .to_string(),
            "BEA CSV line 1: header field 3 'x' is not a year"
        );
    }
}
