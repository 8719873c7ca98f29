//! GDP by US state, scraped from the Wikipedia article "List of U.S. states
//! and territories by GDP".
//!
//! [`parse_gdp_html`] reads the article's HTML with a small, tolerant table
//! extractor written for this one job (no HTML crate): it finds the
//! `<table>` elements whose class contains `wikitable`, splits them into
//! rows (`<tr`) and cells (`<th`/`<td`), honours `rowspan`/`colspan` when it
//! lines header cells up with data cells, and reduces each cell to plain
//! text (tags stripped; `<sup>` footnotes, `<style>`/`<script>` blocks,
//! comments and hidden sort keys dropped; entities decoded; whitespace,
//! including no-break spaces, collapsed).
//!
//! The machine running the pipeline may have no internet access, so an
//! offline copy of the page ships with the crate: [`OFFLINE_PAGE`], built by
//! [`build_page_from_bea_csv`] from the Bureau of Economic Analysis series
//! the Wikipedia table itself is made from (see `data/README.md`).

use std::collections::HashSet;

use crate::states;

/// The offline copy of the Wikipedia page, generated from the BEA nominal
/// GDP-by-state series (2023 and 2022 columns) by
/// [`build_page_from_bea_csv`]; regenerate with `cargo xtask gdp-page`.
pub const OFFLINE_PAGE: &str = include_str!("../data/gdp_by_state_wikipedia.html");

/// Title of the article (and of the offline page's `<title>`, followed by
/// `" - Wikipedia"`).
pub const PAGE_TITLE: &str = "List of U.S. states and territories by GDP";

/// The article's address, for lineage columns.
pub const PAGE_URL: &str =
    "https://en.wikipedia.org/wiki/List_of_U.S._states_and_territories_by_GDP";

/// Errors of [`parse_gdp_html`] and [`build_page_from_bea_csv`].
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
    /// The BEA CSV given to [`build_page_from_bea_csv`] is malformed.
    #[error("BEA CSV line {line}: {message}")]
    Csv {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The year asked of [`build_page_from_bea_csv`] is not a column.
    #[error("year {year} is not a column of the BEA CSV")]
    YearNotInCsv {
        /// The year asked for.
        year: i32,
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

/// Builds the offline copy of the Wikipedia page from a BEA GDP-by-state
/// CSV.
///
/// The CSV has a header row `,1997,1998,...,2023` (the first field, the
/// name column's title, may be empty) and one row per area,
/// `Alabama,105381.4,...`, in millions of current dollars. Rows naming a US
/// state or DC are used; others (the "United States" total, BEA regions)
/// are skipped. Quoted fields, CRLF line ends and a byte-order mark are
/// accepted.
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
/// [`GdpError::Csv`] for an empty file, a header without years, a state
/// listed twice, a value that is not a non-negative number, or no state
/// rows; [`GdpError::YearNotInCsv`] when `year` is not a column.
pub fn build_page_from_bea_csv(csv: &str, year: Option<i32>) -> Result<String, GdpError> {
    let bea = BeaTable::parse(csv)?;
    let col = match year {
        Some(y) => bea
            .years
            .iter()
            .position(|&c| c == y)
            .ok_or(GdpError::YearNotInCsv { year: y })?,
        None => bea
            .years
            .iter()
            .enumerate()
            .max_by_key(|&(_, y)| *y)
            .map(|(i, _)| i)
            .ok_or(GdpError::Csv {
                line: 1,
                message: "the header has no year columns".to_string(),
            })?,
    };
    let year = bea.years[col];
    let prev_col = bea.years.iter().position(|&c| c == year - 1);

    let mut rows: Vec<PageRow> = Vec::with_capacity(bea.rows.len());
    for r in &bea.rows {
        let value = |c: usize| -> Result<f64, GdpError> {
            let text = r.values.get(c).map(String::as_str).unwrap_or("");
            parse_number(text)
                .filter(|v| *v >= 0.0)
                .ok_or_else(|| GdpError::Csv {
                    line: r.line,
                    message: format!(
                        "cannot parse the {} value '{}' of {}",
                        bea.years[c], text, r.region.name
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
        return Err(GdpError::Csv {
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

        let label = &lower[gdp_col];
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
            let state_cell = table.cell(*state_ref);
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
                .map(|v| table.cell(v));
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
        let text = &table.cell(*cell).text;
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
/// letters or digits are ignored; anything else is `None`.
fn parse_number(text: &str) -> Option<f64> {
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
// The HTML table extractor.

/// One `<th>`/`<td>` cell.
#[derive(Debug, Clone, PartialEq)]
struct RawCell {
    /// `<th>` rather than `<td>`.
    header: bool,
    /// Plain text (see [`html_to_text`]).
    text: String,
    rowspan: usize,
    colspan: usize,
    /// The `data-sort-value` attribute, decoded.
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
    fn cell(&self, r: CellRef) -> &RawCell {
        &self.rows[r.row][r.cell]
    }
}

/// Most columns and rows a cell may span; larger values are clamped.
const MAX_SPAN: usize = 64;
/// Widest grid built.
const MAX_COLUMNS: usize = 256;

/// Every table whose class contains "wikitable", in document order; nested
/// tables are taken out of their parent's content (and listed themselves
/// when they are wikitables).
fn extract_wikitables(html: &str) -> Vec<RawTable> {
    let html = strip_comments(html);
    let html = html.as_str();
    let b = html.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(start) = find_open_tag(b, b"table", pos) {
        let open_end = tag_end(b, start);
        pos = open_end;
        let tag = &html[start..open_end];
        let is_wikitable =
            attr_value(tag, "class").is_some_and(|c| c.to_ascii_lowercase().contains("wikitable"));
        if !is_wikitable {
            continue;
        }
        let close = element_end(b, start, b"table");
        // The inner content ends where the closing tag starts.
        let inner_end = rfind_close_tag_start(b, open_end, close, b"table").unwrap_or(close);
        let inner = remove_elements(&html[open_end..inner_end], b"table");
        out.push(parse_rows(&inner));
    }
    out
}

/// `html` without `<!-- ... -->` comments (an unterminated one runs to
/// the end, as in browsers).
fn strip_comments(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        match rest[start + 4..].find("-->") {
            Some(end) => rest = &rest[start + 4 + end + 3..],
            None => rest = "",
        }
    }
    out.push_str(rest);
    out
}

/// Splits table content into rows and cells.
fn parse_rows(inner: &str) -> RawTable {
    let b = inner.as_bytes();
    let mut rows = Vec::new();
    let mut pos = 0;
    while let Some(start) = find_open_tag(b, b"tr", pos) {
        let content_start = tag_end(b, start);
        let next_row = find_open_tag(b, b"tr", content_start).unwrap_or(b.len());
        let mut row_end = next_row;
        for closer in [&b"tr"[..], b"tbody", b"thead", b"tfoot"] {
            if let Some(p) = find_close_tag(b, closer, content_start) {
                row_end = row_end.min(p);
            }
        }
        rows.push(parse_cells(&inner[content_start..row_end]));
        pos = next_row.max(content_start);
    }
    RawTable { rows }
}

/// Splits one row's content into cells.
fn parse_cells(row: &str) -> Vec<RawCell> {
    let b = row.as_bytes();
    let next_cell = |from: usize| -> Option<usize> {
        match (find_open_tag(b, b"th", from), find_open_tag(b, b"td", from)) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        }
    };
    let mut cells = Vec::new();
    let mut pos = next_cell(0);
    while let Some(start) = pos {
        let content_start = tag_end(b, start);
        let end = next_cell(content_start).unwrap_or(b.len());
        let tag = &row[start..content_start];
        let span = |name: &str| {
            attr_value(tag, name)
                .and_then(|v| {
                    let digits: String =
                        v.trim().chars().take_while(char::is_ascii_digit).collect();
                    digits.parse::<usize>().ok()
                })
                .map_or(1, |n| n.clamp(1, MAX_SPAN))
        };
        cells.push(RawCell {
            header: b
                .get(start + 2)
                .is_some_and(|c| c.eq_ignore_ascii_case(&b'h')),
            text: html_to_text(&row[content_start..end]),
            rowspan: span("rowspan"),
            colspan: span("colspan"),
            sort_value: attr_value(tag, "data-sort-value"),
        });
        pos = (end < b.len()).then_some(end);
    }
    cells
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
                    pending[col] = Some((cell.rowspan - 1, origin));
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
    line[col] = Some(cell);
}

/// Whether `b` (the byte after a tag name) ends the name.
fn is_name_end(b: Option<&u8>) -> bool {
    match b {
        None => true,
        Some(c) => c.is_ascii_whitespace() || *c == b'>' || *c == b'/',
    }
}

/// Position of the next `<name` opening tag at or after `from`
/// (case-insensitive, whole name: `<th` does not match `<thead`).
fn find_open_tag(b: &[u8], name: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < b.len() {
        let p = i + b[i..].iter().position(|&c| c == b'<')?;
        let s = p + 1;
        if b.get(s..s + name.len())
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
            && is_name_end(b.get(s + name.len()))
        {
            return Some(p);
        }
        i = p + 1;
    }
    None
}

/// Position of the next `</name` closing tag at or after `from`.
fn find_close_tag(b: &[u8], name: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < b.len() {
        let p = i + b[i..].iter().position(|&c| c == b'<')?;
        let s = p + 2;
        if b.get(p + 1) == Some(&b'/')
            && b.get(s..s + name.len())
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
            && is_name_end(b.get(s + name.len()))
        {
            return Some(p);
        }
        i = p + 1;
    }
    None
}

/// The start of the last `</name` tag in `b[from..to]`.
fn rfind_close_tag_start(b: &[u8], from: usize, to: usize, name: &[u8]) -> Option<usize> {
    let mut last = None;
    let mut pos = from;
    while let Some(p) = find_close_tag(b, name, pos) {
        if p >= to {
            break;
        }
        last = Some(p);
        pos = p + 1;
    }
    last
}

/// The position just past the `>` ending the tag that starts at `start`
/// (quotes in attribute values respected); the end of input if none.
fn tag_end(b: &[u8], start: usize) -> usize {
    let mut quote = None;
    let mut i = start + 1;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'"' || c == b'\'' => quote = Some(c),
            None if c == b'>' => return i + 1,
            None => {}
        }
        i += 1;
    }
    // Unterminated quote: fall back to the first '>'.
    b.get(start + 1..)
        .and_then(|rest| rest.iter().position(|&c| c == b'>'))
        .map_or(b.len(), |p| start + 1 + p + 1)
}

/// The position just past the element starting with the `<name` tag at
/// `start`, counting nested elements of the same name. Without a matching
/// closing tag (or for `<name .../>`), only the opening tag is covered.
fn element_end(b: &[u8], start: usize, name: &[u8]) -> usize {
    let open_end = tag_end(b, start);
    if open_end >= 2 && b.get(open_end - 2) == Some(&b'/') {
        return open_end;
    }
    let mut depth = 1usize;
    let mut pos = open_end;
    loop {
        let close = match find_close_tag(b, name, pos) {
            Some(c) => c,
            None => return open_end,
        };
        match find_open_tag(b, name, pos) {
            Some(open) if open < close => {
                depth += 1;
                pos = tag_end(b, open);
            }
            _ => {
                depth -= 1;
                pos = tag_end(b, close);
                if depth == 0 {
                    return pos;
                }
            }
        }
    }
}

/// `html` with every `<name>...</name>` element replaced by a space.
fn remove_elements(html: &str, name: &[u8]) -> String {
    let b = html.as_bytes();
    let mut out = String::with_capacity(html.len());
    let mut pos = 0;
    while let Some(start) = find_open_tag(b, name, pos) {
        out.push_str(&html[pos..start]);
        out.push(' ');
        pos = element_end(b, start, name).max(start + 1);
    }
    out.push_str(&html[pos.min(html.len())..]);
    out
}

/// The value of attribute `name` in the opening tag `tag` (`<td
/// rowspan="2" class=x>`), entities decoded; `None` if absent.
fn attr_value(tag: &str, name: &str) -> Option<String> {
    let b = tag.as_bytes();
    // Skip "<" and the tag name.
    let mut i = 1;
    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' && b[i] != b'/' {
        i += 1;
    }
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        if i >= b.len() || b[i] == b'>' {
            return None;
        }
        let name_start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/') {
            i += 1;
        }
        let attr = &tag[name_start..i];
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = None;
        if b.get(i) == Some(&b'=') {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            match b.get(i) {
                Some(&q) if q == b'"' || q == b'\'' => {
                    let v_start = i + 1;
                    let v_end = b[v_start..]
                        .iter()
                        .position(|&c| c == q)
                        .map_or(b.len(), |p| v_start + p);
                    value = Some(&tag[v_start..v_end]);
                    i = (v_end + 1).min(b.len());
                }
                _ => {
                    let v_start = i;
                    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                        i += 1;
                    }
                    value = Some(&tag[v_start..i]);
                }
            }
        }
        if attr.eq_ignore_ascii_case(name) {
            return Some(decode_entities(value.unwrap_or("")));
        }
    }
}

/// Plain text of an HTML fragment: tags stripped (block-level ones and
/// `<br>` become spaces); `<sup>` (footnotes), `<style>`, `<script>`,
/// comments and hidden `<span>`/`<div>` sort keys (`display:none`, class
/// `sortkey`) dropped with their content; entities decoded; whitespace
/// (no-break spaces included) collapsed to single spaces and trimmed;
/// zero-width and direction marks removed.
fn html_to_text(fragment: &str) -> String {
    let b = fragment.as_bytes();
    let mut raw = String::with_capacity(fragment.len());
    let mut text_start = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        if b[i..].starts_with(b"<!--") {
            raw.push_str(&fragment[text_start..i]);
            i = find_bytes(b, b"-->", i + 4).map_or(b.len(), |p| p + 3);
            text_start = i;
            continue;
        }
        let closing = b.get(i + 1) == Some(&b'/');
        let name_start = i + 1 + usize::from(closing);
        let name_len = b[name_start.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        let special = !closing && matches!(b.get(i + 1), Some(b'!' | b'?'));
        if name_len == 0 && !special {
            // A literal "<".
            i += 1;
            continue;
        }
        raw.push_str(&fragment[text_start..i]);
        let name = fragment[name_start..name_start + name_len].to_ascii_lowercase();
        let end = tag_end(b, i);
        let block = matches!(
            name.as_str(),
            "br" | "p" | "div" | "li" | "td" | "th" | "tr" | "hr" | "ul" | "ol" | "dd" | "dt"
        );
        if closing {
            if block {
                raw.push(' ');
            }
            i = end;
        } else {
            let tag = &fragment[i..end];
            let drop = match name.as_str() {
                "sup" | "style" | "script" | "noscript" | "template" => true,
                "span" | "div" => is_hidden(tag),
                _ => false,
            };
            if drop {
                i = element_end(b, i, name.as_bytes()).max(end);
            } else {
                i = end;
            }
            if block {
                raw.push(' ');
            }
        }
        text_start = i;
    }
    if text_start < b.len() {
        raw.push_str(&fragment[text_start..]);
    }
    collapse_whitespace(&decode_entities(&raw))
}

/// Whether an opening tag hides its element (a sort key).
fn is_hidden(tag: &str) -> bool {
    let style_hidden = attr_value(tag, "style").is_some_and(|s| {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        s.to_ascii_lowercase().contains("display:none")
    });
    let class_hidden = attr_value(tag, "class").is_some_and(|c| {
        c.split_ascii_whitespace()
            .any(|k| k.eq_ignore_ascii_case("sortkey"))
    });
    style_hidden || class_hidden
}

fn find_bytes(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
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

/// Decodes character references: the named ones tables use (`&amp;`,
/// `&nbsp;`, `&ndash;`, `&minus;`, ...) and all numeric ones (`&#160;`,
/// `&#x5B;`). Unknown or malformed references are kept as written.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let semi = after
            .char_indices()
            .take(12)
            .find(|&(_, c)| c == ';')
            .map(|(i, _)| i);
        let decoded = semi.and_then(|semi| decode_entity(&after[..semi]).map(|c| (c, semi)));
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character of one reference body (`amp`, `#160`, `#x5B`).
fn decode_entity(body: &str) -> Option<char> {
    if let Some(num) = body.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        return Some(char::from_u32(code).unwrap_or('\u{fffd}'));
    }
    Some(match body {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "ensp" => '\u{2002}',
        "emsp" => '\u{2003}',
        "thinsp" => '\u{2009}',
        "hairsp" => '\u{200a}',
        "ndash" => '–',
        "mdash" => '—',
        "minus" => '−',
        "lsqb" | "lbrack" => '[',
        "rsqb" | "rbrack" => ']',
        "dollar" => '$',
        "comma" => ',',
        "percnt" => '%',
        "hellip" => '…',
        "middot" => '·',
        "times" => '×',
        "deg" => '°',
        "shy" => '\u{ad}',
        "zwj" => '\u{200d}',
        "zwnj" => '\u{200c}',
        "lrm" => '\u{200e}',
        "rlm" => '\u{200f}',
        "rsquo" => '’',
        "lsquo" => '‘',
        "rdquo" => '”',
        "ldquo" => '“',
        "dagger" => '†',
        "Dagger" => '‡',
        "euro" => '€',
        "pound" => '£',
        "copy" => '©',
        "reg" => '®',
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// The BEA CSV and the offline page.

/// One state row of the BEA CSV.
struct BeaRow {
    line: usize,
    region: &'static states::Region,
    values: Vec<String>,
}

/// The parsed BEA CSV.
struct BeaTable {
    years: Vec<i32>,
    rows: Vec<BeaRow>,
}

impl BeaTable {
    fn parse(csv: &str) -> Result<BeaTable, GdpError> {
        let csv = csv.strip_prefix('\u{feff}').unwrap_or(csv);
        let mut lines = csv
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((header_line, header)) = lines.next() else {
            return Err(GdpError::Csv {
                line: 1,
                message: "the file is empty".to_string(),
            });
        };
        let header = split_csv_line(header);
        let mut years = Vec::with_capacity(header.len());
        for (i, field) in header.iter().enumerate().skip(1) {
            let year = field.trim().parse::<i32>().map_err(|_| GdpError::Csv {
                line: header_line,
                message: format!("header field {} '{}' is not a year", i + 1, field),
            })?;
            years.push(year);
        }
        if years.is_empty() {
            return Err(GdpError::Csv {
                line: header_line,
                message: "the header has no year columns".to_string(),
            });
        }
        let mut rows: Vec<BeaRow> = Vec::new();
        for (line, text) in lines {
            let mut fields = split_csv_line(text);
            if fields.is_empty() {
                continue;
            }
            let name = fields.remove(0);
            let Some(region) = states::by_name(&name).filter(|r| r.is_us_state_or_dc) else {
                continue;
            };
            if rows.iter().any(|r| r.region.abbr == region.abbr) {
                return Err(GdpError::Csv {
                    line,
                    message: format!("{} appears twice", region.name),
                });
            }
            rows.push(BeaRow {
                line,
                region,
                values: fields,
            });
        }
        Ok(BeaTable { years, rows })
    }
}

/// Splits one CSV line; double-quoted fields may hold commas and `""`.
fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (false, '"') if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            (false, ',') => fields.push(std::mem::take(&mut field).trim().to_string()),
            (_, c) => field.push(c),
        }
    }
    fields.push(field.trim().to_string());
    fields
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

    /// The BEA figures the offline page is built from, when the shared data
    /// folder is present (it is not part of the crate).
    fn bea_csv() -> Option<String> {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/real/gdp/gdp_by_state.csv"
        ))
        .ok()
    }

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

    #[test]
    fn offline_page_matches_the_bea_csv() {
        let Some(csv) = bea_csv() else {
            return;
        };
        let rows = parse_gdp_html(OFFLINE_PAGE).expect("offline page parses");
        let rebuilt = build_page_from_bea_csv(&csv, None).expect("build");
        assert_eq!(
            rebuilt, OFFLINE_PAGE,
            "offline page is stale: regenerate it"
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
            Err(GdpError::YearNotInCsv { year: 1999 })
        );
        let err = build_page_from_bea_csv(",2023\nOhio,x\n", None).expect_err("bad");
        assert_eq!(
            err.to_string(),
            "BEA CSV line 2: cannot parse the 2023 value 'x' of Ohio"
        );
        assert!(matches!(
            build_page_from_bea_csv(",GDP\nOhio,1\n", None),
            Err(GdpError::Csv { line: 1, .. })
        ));
        assert!(build_page_from_bea_csv("", None).is_err());
        assert!(build_page_from_bea_csv(",2023\n", None).is_err());
        assert!(matches!(
            build_page_from_bea_csv(",2023\nOhio,1\nOhio,2\n", None),
            Err(GdpError::Csv { line: 3, .. })
        ));
    }
}
