//! GDP by US state, scraped from the Wikipedia article "List of U.S. states
//! and territories by GDP".
//!
//! [`parse_gdp_html`] parses the article with [`scraper`] (html5ever, the
//! HTML5 parsing algorithm browsers use: entities, unclosed tags, comments
//! and malformed markup are handled as a browser would) and keeps only the
//! table logic to itself: it takes the `<table>` elements whose class
//! contains `wikitable`, reads their rows (`<tr>`) and cells (`<th>`/`<td>`),
//! honours `rowspan`/`colspan` when it lines header cells up with data
//! cells, and reduces each cell to plain text (`<sup>` footnotes,
//! `<style>`/`<script>` blocks and hidden sort keys dropped; whitespace,
//! including no-break spaces, collapsed).
//!
//! The machine running the pipeline may have no internet access, so an
//! offline copy of the page ships with the crate: [`OFFLINE_PAGE`], built by
//! `cargo xtask gdp-page` from the Bureau of Economic Analysis series the
//! Wikipedia table itself is made from (see `data/README.md`).

use std::collections::HashSet;

use scraper::node::Element;
use scraper::{ElementRef, Html, Node};

use crate::states;

/// The offline copy of the Wikipedia page, generated from the BEA nominal
/// GDP-by-state series (2023 and 2022 columns); regenerate with
/// `cargo xtask gdp-page`.
pub const OFFLINE_PAGE: &str = include_str!("../data/gdp_by_state_wikipedia.html");

/// Title of the article (and of the offline page's `<title>`, followed by
/// `" - Wikipedia"`).
pub const PAGE_TITLE: &str = "List of U.S. states and territories by GDP";

/// The article's address, for lineage columns.
pub const PAGE_URL: &str =
    "https://en.wikipedia.org/wiki/List_of_U.S._states_and_territories_by_GDP";

/// Errors of [`parse_gdp_html`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GdpError {
    /// No `wikitable` has a header naming a state column and a GDP column.
    #[error("no table with a state column and a GDP column found")]
    NoTable,
    /// A table has both columns, but no row names a US state, DC or
    /// territory.
    #[error("the GDP table has a state column and a GDP column but no row names a US state")]
    NoStateRows,
    /// The GDP cell of a state's row is not a number. `row` is the 1-based
    /// position of the `<tr>` in its table, header rows included.
    #[error("row {row}: cannot parse GDP value '{value}'")]
    BadValue {
        /// 1-based `<tr>` position in the table, header rows included.
        row: usize,
        /// The cell's text.
        value: String,
    },
}

/// One row of the scraped GDP table.
#[derive(Debug, Clone, PartialEq)]
pub struct StateGdp {
    /// Canonical name from [`states::all`] (`"District of Columbia"` even if
    /// the page says `"Washington, D.C."`).
    pub state_name: String,
    /// Two-letter code (`"CA"`). Always `Some` for rows produced by
    /// [`parse_gdp_html`], which keeps only rows naming a known region.
    pub state_abbr: Option<String>,
    /// Nominal GDP in millions of current US dollars (a column in billions
    /// or trillions, as its header says, is scaled to millions).
    pub gdp_millions_usd: f64,
    /// The year of the GDP column when its header names one.
    pub year: Option<i32>,
    /// 1-based position in descending GDP order among all returned rows
    /// (territories included).
    pub rank: u32,
    /// `true` for US territories (Puerto Rico, Guam, ...), which the page
    /// may list after the states; `false` for the 50 states and DC.
    pub is_territory: bool,
}

/// Parses the GDP table out of the Wikipedia page's HTML.
///
/// The table is the first `wikitable` whose header has a state column (a
/// header containing "state", "federal district" or "territory") and a GDP
/// column. The GDP column is chosen among the header cells containing
/// "GDP" (after spreading `colspan` headers over their sub-headers, so
/// "Nominal GDP (millions of US$)" over "2023" reads as one label), skipping
/// per-capita, growth, change, share and percentage columns; if several
/// remain, non-"Real" beats "Real", "Nominal" beats unlabelled, then the
/// most recent year in the label wins, then the leftmost.
///
/// Rows are kept when their state cell names a US state, DC or a US
/// territory ([`states::by_name`], footnote marks ignored); total rows
/// ("United States"), section rows and Canadian provinces are skipped, as
/// are territory rows without a number. A state or DC row whose GDP cell is
/// not a number is an error. Values like `$3,987,225`, `3,987,225` or
/// `3987225` are read; a `data-sort-value` attribute is the fallback. The
/// result is sorted by GDP, largest first, with `rank` 1..n; a state listed
/// twice keeps its first row.
///
/// # Errors
///
/// [`GdpError::NoTable`] when no wikitable has both columns,
/// [`GdpError::NoStateRows`] when such tables name no US state, and
/// [`GdpError::BadValue`] when a state's or DC's GDP cell is not a number.
pub fn parse_gdp_html(html: &str) -> Result<Vec<StateGdp>, GdpError> {
    let mut found_columns = false;
    for table in extract_wikitables(html) {
        let Some(layout) = TableLayout::find(&table) else {
            continue;
        };
        found_columns = true;
        let rows = layout.read_rows(&table)?;
        if !rows.is_empty() {
            return Ok(rows);
        }
    }
    Err(if found_columns {
        GdpError::NoStateRows
    } else {
        GdpError::NoTable
    })
}

/// The codes of the `n` largest US states (DC included, territories not)
/// by GDP, largest first. Does not require `rows` to be sorted; ties keep
/// input order.
pub fn top_states(rows: &[StateGdp], n: usize) -> Vec<String> {
    let mut states: Vec<&StateGdp> = rows
        .iter()
        .filter(|r| !r.is_territory && r.gdp_millions_usd.is_finite())
        .filter(|r| {
            r.state_abbr
                .as_deref()
                .and_then(states::by_abbr)
                .is_some_and(|s| s.is_us_state_or_dc)
        })
        .collect();
    states.sort_by(|a, b| b.gdp_millions_usd.total_cmp(&a.gdp_millions_usd));
    states
        .into_iter()
        .filter_map(|r| r.state_abbr.clone())
        .take(n)
        .collect()
}

// ---------------------------------------------------------------------------
// Column selection and row reading.

/// Where the state and GDP columns of one table are.
struct TableLayout {
    /// Number of leading header rows.
    header_rows: usize,
    /// The `[row][column]` grid of cell origins.
    grid: Vec<Vec<Option<CellRef>>>,
    state_col: usize,
    gdp_col: usize,
    /// Multiplier from the column's unit to millions.
    to_millions: f64,
    year: Option<i32>,
}

impl TableLayout {
    /// Finds the state and GDP columns from the header, if the table has
    /// both.
    fn find(table: &RawTable) -> Option<TableLayout> {
        let grid = build_grid(&table.rows);
        // Header rows: the leading rows made only of <th> cells; at least
        // the first row (some tables use <td> headers).
        let mut header_rows = table
            .rows
            .iter()
            .take_while(|r| !r.is_empty() && r.iter().all(|c| c.header))
            .count();
        if header_rows == 0 && !table.rows.is_empty() {
            header_rows = 1;
        }
        let width = grid.iter().map(Vec::len).max().unwrap_or(0);
        let labels: Vec<String> = (0..width)
            .map(|c| column_label(table, &grid[..header_rows.min(grid.len())], c))
            .collect();
        let lower: Vec<String> = labels.iter().map(|l| l.to_lowercase()).collect();

        let state_col = lower.iter().position(|l| {
            (contains_word_prefix(l, "state")
                || l.contains("federal district")
                || contains_word_prefix(l, "territor"))
                && !l.contains("gdp")
        })?;

        let excluded = [
            "capita", "growth", "change", "%", "percent", "share", "rate", "rank",
        ];
        let gdp_col = lower
            .iter()
            .enumerate()
            .filter(|(c, l)| {
                *c != state_col && l.contains("gdp") && !excluded.iter().any(|x| l.contains(x))
            })
            .map(|(c, l)| {
                let real = contains_word_prefix(l, "real");
                let nominal = l.contains("nominal") || l.contains("current");
                (c, (!real, nominal, max_year(l).unwrap_or(i32::MIN)))
            })
            // max_by_key keeps the last maximum; reverse so the leftmost wins.
            .rev()
            .max_by_key(|(_, key)| *key)
            .map(|(c, _)| c)?;

        let label = lower.get(gdp_col)?;
        let to_millions = if label.contains("trillion") {
            1_000_000.0
        } else if label.contains("billion") {
            1_000.0
        } else if label.contains("thousand") && !label.contains("million") {
            0.001
        } else {
            1.0
        };
        Some(TableLayout {
            header_rows,
            grid,
            state_col,
            gdp_col,
            to_millions,
            year: max_year(label),
        })
    }

    /// Reads the data rows, sorted and ranked.
    fn read_rows(&self, table: &RawTable) -> Result<Vec<StateGdp>, GdpError> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (r, line) in self.grid.iter().enumerate().skip(self.header_rows) {
            let Some(Some(state_ref)) = line.get(self.state_col) else {
                continue;
            };
            let Some(state_cell) = table.cell(*state_ref) else {
                continue;
            };
            let Some(region) = states::by_name(&state_cell.text) else {
                continue;
            };
            if region.country != "US" || !seen.insert(region.abbr) {
                continue;
            }
            let value_cell = line
                .get(self.gdp_col)
                .copied()
                .flatten()
                .and_then(|v| table.cell(v));
            let value = value_cell.and_then(|c| {
                parse_number(&c.text)
                    .or_else(|| c.sort_value.as_deref().and_then(parse_number))
                    .filter(|v| *v >= 0.0)
            });
            let Some(value) = value else {
                if region.is_us_state_or_dc {
                    return Err(GdpError::BadValue {
                        row: r + 1,
                        value: value_cell.map(|c| c.text.clone()).unwrap_or_default(),
                    });
                }
                // A territory without a figure: nothing to rank.
                seen.remove(region.abbr);
                continue;
            };
            out.push(StateGdp {
                state_name: region.name.to_string(),
                state_abbr: Some(region.abbr.to_string()),
                gdp_millions_usd: value * self.to_millions,
                year: self.year,
                rank: 0,
                is_territory: !region.is_us_state_or_dc,
            });
        }
        out.sort_by(|a, b| b.gdp_millions_usd.total_cmp(&a.gdp_millions_usd));
        for (i, row) in out.iter_mut().enumerate() {
            row.rank = u32::try_from(i + 1).unwrap_or(u32::MAX);
        }
        Ok(out)
    }
}

/// The label of column `c`: the texts of the header cells covering it, top
/// to bottom, each once.
fn column_label(table: &RawTable, header: &[Vec<Option<CellRef>>], c: usize) -> String {
    let mut label = String::new();
    let mut last: Option<CellRef> = None;
    for line in header {
        let Some(Some(cell)) = line.get(c) else {
            continue;
        };
        if last == Some(*cell) {
            continue;
        }
        last = Some(*cell);
        let Some(text) = table.cell(*cell).map(|c| &c.text) else {
            continue;
        };
        if !text.is_empty() {
            if !label.is_empty() {
                label.push(' ');
            }
            label.push_str(text);
        }
    }
    label
}

/// Whether a word of `haystack` starts with `prefix` ("state", "states",
/// "statewide" but not "interstate"). Both are lowercase.
fn contains_word_prefix(haystack: &str, prefix: &str) -> bool {
    haystack.match_indices(prefix).any(|(i, _)| {
        haystack[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric())
    })
}

/// The largest four-digit year (1900..=2100) standing alone in `text`.
fn max_year(text: &str) -> Option<i32> {
    let b = text.as_bytes();
    let mut best = None;
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 4
                && let Ok(y) = text[start..i].parse::<i32>()
                && (1900..=2100).contains(&y)
            {
                best = best.max(Some(y));
            }
        } else {
            i += 1;
        }
    }
    best
}

/// Reads a number from a table cell: `$3,987,225`, `3,987,225`,
/// `US$ 1.5`, `−12` (Unicode minus), `3987225*`. Trailing marks without
/// letters or digits are ignored; anything else (and a non-finite value)
/// is `None`. `cargo xtask gdp-page` reads the BEA figures with it too, so
/// the offline page holds only values this scraper reads back.
pub fn parse_number(text: &str) -> Option<f64> {
    let mut cleaned = String::with_capacity(text.len());
    let mut rest = text.trim();
    for prefix in ["US$", "USD", "US $"] {
        if let Some(r) = rest.strip_prefix(prefix) {
            rest = r;
        }
    }
    for c in rest.chars() {
        match c {
            '$' | ',' => {}
            '\u{2212}' | '\u{2013}' if cleaned.is_empty() => cleaned.push('-'),
            c if c.is_whitespace() => {}
            c => cleaned.push(c),
        }
    }
    let end = cleaned
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && (c == '-' || c == '+'))))
        .map_or(cleaned.len(), |(i, _)| i);
    let (number, tail) = cleaned.split_at(end);
    if !number.bytes().any(|b| b.is_ascii_digit()) || tail.chars().any(char::is_alphanumeric) {
        return None;
    }
    number.parse::<f64>().ok().filter(|v| v.is_finite())
}

// ---------------------------------------------------------------------------
// The table cells, read from the parsed document.

/// One `<th>`/`<td>` cell.
#[derive(Debug, Clone, PartialEq)]
struct RawCell {
    /// `<th>` rather than `<td>`.
    header: bool,
    /// Plain text (see [`element_text`]).
    text: String,
    rowspan: usize,
    colspan: usize,
    /// The `data-sort-value` attribute.
    sort_value: Option<String>,
}

/// One table: its rows of cells.
#[derive(Debug, Clone, PartialEq)]
struct RawTable {
    rows: Vec<Vec<RawCell>>,
}

/// Where a grid position's cell comes from: row and index in that row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CellRef {
    row: usize,
    cell: usize,
}

impl RawTable {
    fn cell(&self, r: CellRef) -> Option<&RawCell> {
        self.rows.get(r.row)?.get(r.cell)
    }
}

/// Most columns and rows a cell may span; larger values are clamped.
const MAX_SPAN: usize = 64;
/// Widest grid built.
const MAX_COLUMNS: usize = 256;

/// Every table whose class contains "wikitable", in document order. Each
/// table's rows are its own: those of a table nested in one of its cells
/// belong to the nested table (listed itself if it is a wikitable).
fn extract_wikitables(html: &str) -> Vec<RawTable> {
    let document = Html::parse_document(html);
    document
        .tree
        .root()
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| {
            e.value().name() == "table"
                && e.value()
                    .attr("class")
                    .is_some_and(|c| c.to_ascii_lowercase().contains("wikitable"))
        })
        .map(|table| RawTable {
            rows: table_rows(table).map(row_cells).collect(),
        })
        .collect()
}

/// The `<tr>` rows of a table, in document order: those directly in the
/// table and those of its `<thead>`, `<tbody>` and `<tfoot>` sections.
fn table_rows<'a>(table: ElementRef<'a>) -> impl Iterator<Item = ElementRef<'a>> {
    table.child_elements().flat_map(|child| {
        let rows: Vec<ElementRef<'a>> = match child.value().name() {
            "tr" => vec![child],
            "thead" | "tbody" | "tfoot" => child
                .child_elements()
                .filter(|r| r.value().name() == "tr")
                .collect(),
            _ => Vec::new(),
        };
        rows
    })
}

/// The `<th>`/`<td>` cells of a row.
fn row_cells(row: ElementRef<'_>) -> Vec<RawCell> {
    row.child_elements()
        .filter_map(|cell| {
            let e = cell.value();
            let header = match e.name() {
                "th" => true,
                "td" => false,
                _ => return None,
            };
            Some(RawCell {
                header,
                text: element_text(cell),
                rowspan: span(e.attr("rowspan")),
                colspan: span(e.attr("colspan")),
                sort_value: e.attr("data-sort-value").map(str::to_string),
            })
        })
        .collect()
}

/// A `rowspan`/`colspan` value: its leading digits, clamped to
/// 1..=[`MAX_SPAN`]; 1 when absent or unreadable.
fn span(value: Option<&str>) -> usize {
    value
        .and_then(|v| {
            let digits: String = v.trim().chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<usize>().ok()
        })
        .map_or(1, |n| n.clamp(1, MAX_SPAN))
}

/// Lays the cells out on a `[row][column]` grid, spreading each cell over
/// its `rowspan` × `colspan` positions the way browsers do.
fn build_grid(rows: &[Vec<RawCell>]) -> Vec<Vec<Option<CellRef>>> {
    // Per column: rows still covered by a cell from above, and that cell.
    let mut pending: Vec<Option<(usize, CellRef)>> = Vec::new();
    let mut grid = Vec::with_capacity(rows.len());
    for (r, row) in rows.iter().enumerate() {
        let mut line: Vec<Option<CellRef>> = Vec::new();
        let mut col = 0;
        for (ci, cell) in row.iter().enumerate() {
            while col < MAX_COLUMNS && take_pending(&mut pending, col, &mut line) {
                col += 1;
            }
            for _ in 0..cell.colspan {
                if col >= MAX_COLUMNS {
                    break;
                }
                let origin = CellRef { row: r, cell: ci };
                set(&mut line, col, origin);
                if cell.rowspan > 1 {
                    if pending.len() <= col {
                        pending.resize(col + 1, None);
                    }
                    if let Some(slot) = pending.get_mut(col) {
                        *slot = Some((cell.rowspan - 1, origin));
                    }
                }
                col += 1;
            }
        }
        while col < pending.len() {
            take_pending(&mut pending, col, &mut line);
            col += 1;
        }
        grid.push(line);
    }
    grid
}

/// Fills `line[col]` from a rowspan cell above, if one still covers it.
fn take_pending(
    pending: &mut [Option<(usize, CellRef)>],
    col: usize,
    line: &mut Vec<Option<CellRef>>,
) -> bool {
    let Some(slot) = pending.get_mut(col) else {
        return false;
    };
    let Some((left, cell)) = slot.as_mut() else {
        return false;
    };
    let cell = *cell;
    *left -= 1;
    if *left == 0 {
        *slot = None;
    }
    set(line, col, cell);
    true
}

fn set(line: &mut Vec<Option<CellRef>>, col: usize, cell: CellRef) {
    if line.len() <= col {
        line.resize(col + 1, None);
    }
    if let Some(slot) = line.get_mut(col) {
        *slot = Some(cell);
    }
}

/// Plain text of an HTML fragment (see [`element_text`]).
#[cfg(test)]
fn html_to_text(fragment: &str) -> String {
    element_text(Html::parse_fragment(fragment).root_element())
}

/// Plain text of an element's content: `<br>` and block-level elements
/// become spaces; `<sup>` (footnotes), `<style>`, `<script>`, `<noscript>`,
/// `<template>`, nested tables and hidden `<span>`/`<div>` sort keys (`display:none`,
/// class `sortkey`) are dropped with their content; comments are ignored;
/// whitespace (no-break spaces included) is collapsed to single spaces and
/// trimmed; zero-width and direction marks are removed.
fn element_text(element: ElementRef<'_>) -> String {
    let mut raw = String::new();
    push_text(element, &mut raw);
    collapse_whitespace(&raw)
}

/// Appends the text below `root` to `out`, walking the tree without
/// recursion (a hostile page may nest elements very deeply).
fn push_text(root: ElementRef<'_>, out: &mut String) {
    let mut next = root.first_child();
    while let Some(node) = next {
        let mut entered = false;
        match node.value() {
            Node::Text(text) => out.push_str(text),
            Node::Element(e) => {
                if is_block(e) {
                    out.push(' ');
                }
                entered = !is_dropped(e);
            }
            _ => {}
        }
        if entered && let Some(child) = node.first_child() {
            next = Some(child);
            continue;
        }
        // `node` is done: move to its next sibling, closing the elements
        // it was the last descendant of.
        let mut done = node;
        next = loop {
            if let Some(sibling) = done.next_sibling() {
                break Some(sibling);
            }
            match done.parent() {
                Some(parent) if parent.id() != root.id() => {
                    if parent.value().as_element().is_some_and(is_block) {
                        out.push(' ');
                    }
                    done = parent;
                }
                _ => break None,
            }
        };
    }
}

/// Elements whose start and end read as a space.
fn is_block(e: &Element) -> bool {
    matches!(
        e.name(),
        "br" | "p" | "div" | "li" | "td" | "th" | "tr" | "hr" | "ul" | "ol" | "dd" | "dt" | "table"
    )
}

/// Elements dropped with their content: footnotes, non-text blocks,
/// nested tables (their rows are their own) and hidden sort keys.
fn is_dropped(e: &Element) -> bool {
    match e.name() {
        "sup" | "style" | "script" | "noscript" | "template" | "table" => true,
        "span" | "div" => is_hidden(e),
        _ => false,
    }
}

/// Whether an element is hidden (a sort key).
fn is_hidden(e: &Element) -> bool {
    let style_hidden = e.attr("style").is_some_and(|s| {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        s.to_ascii_lowercase().contains("display:none")
    });
    let class_hidden = e.attr("class").is_some_and(|c| {
        c.split_ascii_whitespace()
            .any(|k| k.eq_ignore_ascii_case("sortkey"))
    });
    style_hidden || class_hidden
}

/// Collapses whitespace runs to one space, trims, and drops zero-width and
/// direction marks and soft hyphens.
fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if matches!(
            c,
            '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{200e}' | '\u{200f}' | '\u{feff}' | '\u{ad}'
        ) {
            continue;
        }
        if c.is_whitespace() {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_page_parses() {
        let rows = parse_gdp_html(OFFLINE_PAGE).expect("offline page parses");
        assert_eq!(rows.len(), 51);
        assert_eq!(top_states(&rows, 5), ["CA", "TX", "NY", "FL", "IL"]);
        assert!(rows.iter().all(|r| !r.is_territory && r.year == Some(2023)));
        let ranks: Vec<u32> = rows.iter().map(|r| r.rank).collect();
        assert_eq!(ranks, (1..=51).collect::<Vec<u32>>());
        let dc = rows.iter().find(|r| r.state_abbr.as_deref() == Some("DC"));
        assert_eq!(
            dc.map(|r| r.state_name.as_str()),
            Some("District of Columbia")
        );
        let ca = &rows[0];
        assert_eq!(ca.state_name, "California");
        assert_eq!(ca.state_abbr.as_deref(), Some("CA"));
        assert!(
            OFFLINE_PAGE
                .contains("<title>List of U.S. states and territories by GDP - Wikipedia</title>")
        );
        assert!(OFFLINE_PAGE.contains("$3,870,379"));
    }

    /// A table in the style of the live article (2024 layout): a caption
    /// with a reference, rowspan/colspan headers with <br>, row headers in
    /// <th scope="row">, flag icons, footnotes, hidden sort keys, "$" and
    /// commas, the total row, territories (one without a figure).
    const WIKI_SNIPPET: &str = r##"
<div class="mw-parser-output">
<table class="wikitable sortable mw-collapsible" style="text-align:right"><tbody>
<tr><th>Not it</th><th>Population</th></tr><tr><td>Ohio</td><td>11,785,935</td></tr>
</tbody></table>
<table class="wikitable sortable static-row-numbers plainrowheaders sticky-header" style="text-align:right">
<caption>GDP by U.S. state or territory<sup id="cite_ref-1" class="reference"><a href="#cite_note-1"><span class="cite-bracket">&#91;</span>1<span class="cite-bracket">&#93;</span></a></sup>
</caption>
<tbody><tr>
<th rowspan="2" scope="col">State or territory
</th>
<th colspan="2" scope="col">Nominal GDP at current prices<br />(millions of US$)<sup class="reference">[a]</sup>
</th>
<th rowspan=2>Annual GDP change at current prices<br />(2022&ndash;2023)
</th>
<th rowspan='2'>Real GDP growth rate (2022–2023)
</th>
<th colspan="2">Nominal GDP per capita
</th>
<th rowspan="2">% of national
</th></tr>
<tr>
<th>2023</th>
<th>2022</th>
<th>2022</th>
<th>2023
</th></tr>
<tr class="static-row-header" style="font-weight:bold">
<th scope="row" style="text-align:left"><span class="flagicon"><span class="mw-image-border" typeof="mw:File"><span><img alt="" src="//upload.wikimedia.org/x.png" width="23" height="12" class="mw-file-element" /></span></span>&#160;</span><a href="/wiki/United_States" title="United States">United States</a>
</th>
<td>$27,360,935</td><td>$25,744,108</td><td>+6.28%</td><td>2.5%</td><td>$76,399</td><td>$81,695</td><td>100%
</td></tr>
<tr>
<th scope="row" style="text-align:left"><span class="flagicon"><span class="mw-image-border" typeof="mw:File"><span><img alt="" src="//upload.wikimedia.org/ca.png" /></span></span>&#160;</span><a href="/wiki/California" title="California">California</a><sup id="cite_ref-ca" class="reference"><a href="#cite_note-ca">&#91;b&#93;</a></sup>
</th>
<td><span data-sort-value="7006398722500000000♠" style="display:none"></span>$3,987,225</td>
<td>$3,802,059</td><td>+4.87%</td><td>2.1%</td><td>$97,970</td><td>$102,286</td><td>14.57%
</td></tr>
<tr>
<th scope="row" style="text-align:left"><span class="flagicon">&#160;</span><a href="/wiki/Texas" title="Texas">Texas</a>
</th>
<td><span class="sortkey">7006256419</span>$2,564,198</td><td>$2,402,137</td><td>+6.75%</td><td>4.4%</td><td>$80,309</td><td>$84,089</td><td>9.37%
</td></tr>
<tr>
<th scope="row" style="text-align:left"><a href="/wiki/Washington,_D.C." title="Washington, D.C.">Washington, D.C.</a>
</th>
<td>$176,500.9</td><td>$165,768</td><td>+6.48%</td><td>2.2%</td><td>$246,300</td><td>$262,000</td><td>0.65%
</td></tr>
<tr>
<th scope="row" style="text-align:left"><a href="/wiki/Vermont" title="Vermont">Vermont</a>*
</th>
<td>43,534</td><td>41,012</td><td>+6.15%</td><td>1.9%</td><td>$63,400</td><td>$67,200</td><td>0.16%
</td></tr>
<tr><th colspan="8" style="text-align:center">Territories</th></tr>
<tr>
<th scope="row" style="text-align:left"><span class="flagicon">&nbsp;</span><a href="/wiki/Puerto_Rico" title="Puerto Rico">Puerto Rico</a>
</th>
<td>$117,902</td><td>$113,435</td><td>+3.9%</td><td>0.5%</td><td>$36,000</td><td>$36,100</td><td>—
</td></tr>
<tr>
<th scope="row" style="text-align:left"><a href="/wiki/Guam" title="Guam">Guam</a></th>
<td data-sort-value="6572">$6,572<!-- 2021 --></td><td>$6,910</td><td></td><td></td><td></td><td></td><td>—</td></tr>
<tr>
<th scope="row" style="text-align:left"><a href="/wiki/American_Samoa" title="American Samoa">American Samoa</a></th>
<td>n/a</td><td>n/a</td><td></td><td></td><td></td><td></td><td>—</td></tr>
</tbody></table>
</div>"##;

    #[test]
    fn parses_a_wikipedia_style_table() {
        let rows = parse_gdp_html(WIKI_SNIPPET).expect("snippet parses");
        let got: Vec<(&str, f64, bool, u32)> = rows
            .iter()
            .map(|r| {
                (
                    r.state_abbr.as_deref().unwrap_or(""),
                    r.gdp_millions_usd,
                    r.is_territory,
                    r.rank,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("CA", 3_987_225.0, false, 1),
                ("TX", 2_564_198.0, false, 2),
                ("DC", 176_500.9, false, 3),
                ("PR", 117_902.0, true, 4),
                ("VT", 43_534.0, false, 5),
                ("GU", 6_572.0, true, 6),
            ]
        );
        assert!(rows.iter().all(|r| r.year == Some(2023)));
        assert_eq!(rows[2].state_name, "District of Columbia");
        assert_eq!(top_states(&rows, 3), ["CA", "TX", "DC"]);
        assert_eq!(top_states(&rows, 10), ["CA", "TX", "DC", "VT"]);
        assert!(top_states(&rows, 0).is_empty());
    }

    #[test]
    fn column_choice_prefers_nominal_and_recent() {
        // Older layout: a rank column first, years under one GDP header,
        // billions, unquoted attributes, upper-case tags.
        let html = "<TABLE CLASS=\"sortable wikitable\"><TR><TH ROWSPAN=2>Rank<TH ROWSPAN=2>State\
<TH COLSPAN=3>GDP (billions of US$)<TH ROWSPAN=2>Real GDP (chained 2017 dollars)</TR>\
<TR><TH>2020<TH>2022<TH>2021</TR>\
<TR><TD>1<TD>New York<TD>1,700.5<TD>2,000.25<TD>1,900<TD>1,800</TR>\
<TR><TD>2<TD>Alberta<TD>1<TD>2<TD>3<TD>4</TR>\
<TR><TD><TD><b>Total</b><TD>1<TD>2<TD>3<TD>4</TR></TABLE>";
        let rows = parse_gdp_html(html).expect("parses");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].state_abbr.as_deref(), Some("NY"));
        assert_eq!(rows[0].gdp_millions_usd, 2_000_250.0);
        assert_eq!(rows[0].year, Some(2022));
    }

    #[test]
    fn errors_and_garbage() {
        assert_eq!(parse_gdp_html(""), Err(GdpError::NoTable));
        assert_eq!(
            parse_gdp_html("<html><body>nothing</body></html>"),
            Err(GdpError::NoTable)
        );
        // A table without "wikitable" in its class is ignored.
        assert_eq!(
            parse_gdp_html(
                "<table><tr><th>State</th><th>GDP</th></tr><tr><td>Ohio</td><td>1</td></tr></table>"
            ),
            Err(GdpError::NoTable)
        );
        assert_eq!(
            parse_gdp_html(
                "<table class=wikitable><tr><th>State</th><th>GDP</th></tr><tr><td>Atlantis</td><td>1</td></tr></table>"
            ),
            Err(GdpError::NoStateRows)
        );
        let bad = "<table class=wikitable><tr><th>State<th>GDP 2023<tr><td>Ohio<td>12<tr><td>Texas<td>lots</table>";
        let err = parse_gdp_html(bad).expect_err("bad value");
        assert_eq!(
            err,
            GdpError::BadValue {
                row: 3,
                value: "lots".to_string()
            }
        );
        assert_eq!(err.to_string(), "row 3: cannot parse GDP value 'lots'");
        assert_eq!(
            GdpError::NoTable.to_string(),
            "no table with a state column and a GDP column found"
        );
        for garbage in [
            "<",
            "<<<>>>",
            "<table",
            "<table class=\"wikitable",
            "<table class='wikitable'><tr",
            "<table class=wikitable><tr><th colspan=99999999999999999999>State<th rowspan=-3>GDP",
            "<table class=wikitable><tr><th>State<th>GDP<tr><td>Ohio<td>1e999</table>",
            "<table class=wikitable><table class=wikitable><tr><td><sup><sup></table>",
            "<tablé class=wikitable>ü<tr>é<td>ñ&#xFFFFFFFF;&#99999999;&#;&;&amp",
            "<table class=wikitable><tr><th>State</th><th>GDP</th></tr><tr><td>Ohio<!--</td><td>1</td></tr></table>",
            "\u{0}<table class=wikitable>\u{0}<tr>\u{0}<th>State\u{0}<th>GDP",
        ] {
            assert!(parse_gdp_html(garbage).is_err(), "{garbage:?}");
        }
    }

    #[test]
    fn truncated_pages_never_panic() {
        let page = OFFLINE_PAGE;
        let mut cut = 0;
        while cut < page.len() {
            if page.is_char_boundary(cut) {
                let _ = parse_gdp_html(&page[..cut]);
                let _ = parse_gdp_html(&page[cut..]);
            }
            cut += 997;
        }
        for cut in 0..WIKI_SNIPPET.len() {
            if WIKI_SNIPPET.is_char_boundary(cut) {
                let _ = parse_gdp_html(&WIKI_SNIPPET[..cut]);
            }
        }
    }

    #[test]
    fn text_extraction() {
        assert_eq!(
            html_to_text(
                "<span class=\"flagicon\">x&#160;</span>&nbsp;<a href=\"/wiki/Ohio\" title=\"a>b\">Ohio</a><sup class=\"reference\">[a]</sup>"
            ),
            "x Ohio"
        );
        assert_eq!(html_to_text("a<style>.x{}</style>b<br/>c"), "ab c");
        assert_eq!(
            html_to_text("&#91;1&#93; &#x5B;2&#x5d; &amp;&lt;&bogus; & x"),
            "[1] [2] &<&bogus; & x"
        );
        assert_eq!(html_to_text("1 < 2 <!-- c --> 3"), "1 < 2 3");
        assert_eq!(
            html_to_text("<span style=\"display: none\">700</span>$5"),
            "$5"
        );
        assert_eq!(parse_number("$3,987,225"), Some(3_987_225.0));
        assert_eq!(parse_number("US$ 1.5"), Some(1.5));
        assert_eq!(parse_number("−12"), Some(-12.0));
        assert_eq!(parse_number("3987225*"), Some(3_987_225.0));
        assert_eq!(parse_number("n/a"), None);
        assert_eq!(parse_number("12 million"), None);
        assert_eq!(parse_number(""), None);
        assert_eq!(parse_number("—"), None);
        assert_eq!(max_year("nominal gdp 2023 (2017 dollars)"), Some(2023));
        assert_eq!(max_year("gdp 20234"), None);
    }

    #[test]
    fn nested_tables_keep_their_rows() {
        // The inner table's rows are its own: they neither add rows to the
        // outer one nor text to the cell holding them.
        let html = "<table class=wikitable><tr><th>State<th>GDP 2023\
<tr><td>Ohio<td>12<table class=other><tr><td>Texas<td>99</table>\
<tr><td>Iowa<td>3</table>";
        let rows = parse_gdp_html(html).expect("parses");
        let got: Vec<(&str, f64)> = rows
            .iter()
            .map(|r| (r.state_abbr.as_deref().unwrap_or(""), r.gdp_millions_usd))
            .collect();
        assert_eq!(got, [("OH", 12.0), ("IA", 3.0)]);
    }

    #[test]
    fn deep_nesting_never_overflows() {
        let depth = 100_000;
        let html = format!(
            "<table class=wikitable><tr><th>State<th>GDP<tr><td>Ohio<td>{}7{}</table>",
            "<span>".repeat(depth),
            "</span>".repeat(depth)
        );
        let rows = parse_gdp_html(&html).expect("parses");
        assert_eq!(rows.first().map(|r| r.gdp_millions_usd), Some(7.0));
    }
}
