//! One category taxonomy shared by the Yelp and Google sources.
//!
//! Yelp gives a business a comma-joined list of labels from its own
//! category tree (`"Pizza, Restaurants, Italian"`); Google Local gives a
//! list of free-form labels (`["Pizza restaurant", "Takeout restaurant"]`).
//! [`Taxonomy::classify`] maps both onto the shared categories of
//! `data/shared_categories.csv` (`restaurant`, `bar`, `cafe`, ...,
//! `mexican`, `italian`, ...) through the rules of
//! `data/category_taxonomy.csv`.
//!
//! # Rules
//!
//! Each rule row is `platform,match,pattern,category`:
//!
//! * `platform`: `yelp`, `google` or `any` (both);
//! * `match`: `exact` (the whole label equals the pattern), `word` (the
//!   pattern occurs in the label as whole word(s): not preceded or followed
//!   by a letter or digit) or `suffix` (the label ends with the pattern,
//!   which starts at a word boundary);
//! * `pattern`: compared with the label after both are trimmed, lowercased
//!   and have whitespace runs collapsed to one space; patterns may not
//!   contain commas (labels are split on commas);
//! * `category`: one shared category; a label matching several rules gets
//!   all their categories.
//!
//! A label matching no rule maps to `other`. Header rows are required;
//! blank lines and lines starting with `#` are ignored; fields may be
//! double-quoted.
//!
//! # Conventions of the shipped rules
//!
//! A business is a restaurant iff it has the category `restaurant`. Yelp
//! adds the label "Restaurants" to every restaurant, so only that label
//! (and "Pop-Up Restaurants") gives `restaurant`; Yelp cuisine labels
//! ("Mexican", "Sushi Bars") give only their cuisine and "Fast Food" gives
//! `fast_food`. On Google every label ending in "restaurant" gives
//! `restaurant` (plus its cuisine where known), and so do a few restaurant
//! labels with other endings ("Diner", "Bistro", "Steak house", "Deli",
//! "Sandwich shop", "... takeaway", "Pizza"). Bars are the Yelp "Bars"
//! family and Google's bars, pubs, breweries, wineries and distilleries;
//! "Nightlife", night clubs and karaoke stay `other`. "Espresso bar" is a
//! cafe. Food retail (`grocery`, `specialty_food`, `beverage_store`) and
//! production (`food_producer`) have their own types with
//! `food_related = false`; umbrella labels ("Food", "Nightlife"), food
//! tours, cooking classes, food banks and kitchen-equipment shops map to
//! `other`.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

/// The shipped rules (`data/category_taxonomy.csv`).
pub const RULES_CSV: &str = include_str!("../data/category_taxonomy.csv");

/// The shipped shared categories (`data/shared_categories.csv`).
pub const CATEGORIES_CSV: &str = include_str!("../data/shared_categories.csv");

pub use reviewlake_schema::Source;

/// Column of a platform in the per-platform tables.
fn platform_index(p: Source) -> usize {
    match p {
        Source::Yelp => 0,
        Source::Google => 1,
    }
}

/// Whether a shared category says what a business is or what it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CategoryKind {
    /// What the business is: `restaurant`, `bar`, `cafe`, ..., `other`.
    Type,
    /// What food it serves: `mexican`, `pizza`, `sushi`, ...
    Cuisine,
}

impl CategoryKind {
    /// `"type"` or `"cuisine"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CategoryKind::Type => "type",
            CategoryKind::Cuisine => "cuisine",
        }
    }
}

impl fmt::Display for CategoryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One shared category (a row of the category dimension).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SharedCategory {
    /// Name, `[a-z0-9_]+` (`"restaurant"`, `"breakfast_brunch"`).
    pub name: String,
    /// Type or cuisine.
    pub kind: CategoryKind,
    /// Whether businesses of this category serve food or drink (all
    /// cuisines, restaurants, bars, cafes, ...; not food retail, food
    /// production or `other`).
    pub food_related: bool,
}

/// Which of the two CSV inputs an error is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvFile {
    /// The rules (`category_taxonomy.csv`).
    Rules,
    /// The shared categories (`shared_categories.csv`).
    Categories,
}

impl fmt::Display for CsvFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CsvFile::Rules => "category_taxonomy.csv",
            CsvFile::Categories => "shared_categories.csv",
        })
    }
}

/// An error in the taxonomy CSVs; line numbers are 1-based physical lines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxonomyError {
    /// A field has a bad value.
    #[error("{file} line {line}, field '{field}': {message}")]
    Field {
        /// Which file.
        file: CsvFile,
        /// 1-based line.
        line: usize,
        /// Column name.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A line is malformed as a whole (wrong field count, bad header,
    /// duplicate).
    #[error("{file} line {line}: {message}")]
    Line {
        /// Which file.
        file: CsvFile,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The file as a whole is unusable (no header, no `other` category).
    #[error("{file}: {message}")]
    File {
        /// Which file.
        file: CsvFile,
        /// What is wrong.
        message: String,
    },
}

/// How a rule compares its pattern with a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum MatchKind {
    Exact,
    Word,
    Suffix,
}

/// A `word` or `suffix` rule.
#[derive(Debug, Clone)]
struct PatternRule {
    kind: MatchKind,
    pattern: String,
    category: usize,
}

/// The rules of one platform (its own and the `any` ones).
#[derive(Debug, Clone, Default)]
struct SourceRules {
    /// `exact` rules: normalised label → categories.
    exact: HashMap<String, Vec<usize>>,
    /// `suffix` rules whose pattern starts with a letter or digit:
    /// pattern → categories. A label matches when one of its suffixes
    /// starting at a word start is a key, so a lookup costs one hash per
    /// word of the label.
    suffix: HashMap<String, Vec<usize>>,
    /// `word` rules, and `suffix` rules starting with punctuation.
    scanned: Vec<PatternRule>,
}

/// The shared categories and the rules mapping source labels onto them.
#[derive(Debug, Clone)]
pub struct Taxonomy {
    categories: Vec<SharedCategory>,
    by_name: HashMap<String, usize>,
    rules: [SourceRules; 2],
    other: usize,
}

/// Longest label lowercased on the stack; longer ones allocate.
const STACK_LABEL: usize = 160;

impl Taxonomy {
    /// The taxonomy of the shipped CSVs ([`RULES_CSV`], [`CATEGORIES_CSV`]),
    /// parsed on first use.
    ///
    /// # Panics
    ///
    /// Only if the shipped CSVs are invalid, which the unit tests rule out.
    pub fn embedded() -> &'static Taxonomy {
        static EMBEDDED: OnceLock<Taxonomy> = OnceLock::new();
        EMBEDDED.get_or_init(|| match Taxonomy::from_csv(RULES_CSV, CATEGORIES_CSV) {
            Ok(t) => t,
            Err(e) => panic!("the embedded category taxonomy is invalid: {e}"),
        })
    }

    /// Parses a taxonomy from the rules CSV (`platform,match,pattern,category`)
    /// and the categories CSV (`category,kind,food_related`).
    ///
    /// # Errors
    ///
    /// A [`TaxonomyError`] naming the file, the line and, where it applies,
    /// the field: a missing or wrong header, a wrong field count, an
    /// unknown platform, match kind, category kind or category, an empty
    /// pattern or one with a comma, a malformed boolean or name, a duplicate
    /// rule or category, an unterminated quote, or no `other` category.
    pub fn from_csv(rules_csv: &str, categories_csv: &str) -> Result<Taxonomy, TaxonomyError> {
        let categories_file = CsvFile::Categories;
        let mut categories = Vec::new();
        let mut by_name = HashMap::new();
        for (line, fields) in csv_records(
            categories_csv,
            categories_file,
            &["category", "kind", "food_related"],
        )? {
            let field_error = |field: &'static str, message: String| TaxonomyError::Field {
                file: categories_file,
                line,
                field,
                message,
            };
            let name = fields[0].trim();
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(field_error(
                    "category",
                    format!("'{name}' is not a name of lowercase letters, digits and '_'"),
                ));
            }
            let kind = match fields[1].trim().to_ascii_lowercase().as_str() {
                "type" => CategoryKind::Type,
                "cuisine" => CategoryKind::Cuisine,
                other => {
                    return Err(field_error(
                        "kind",
                        format!("'{other}' is not 'type' or 'cuisine'"),
                    ));
                }
            };
            let food_related = match fields[2].trim().to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                other => {
                    return Err(field_error(
                        "food_related",
                        format!("'{other}' is not 'true' or 'false'"),
                    ));
                }
            };
            if by_name.insert(name.to_string(), categories.len()).is_some() {
                return Err(TaxonomyError::Line {
                    file: categories_file,
                    line,
                    message: format!("category '{name}' is declared twice"),
                });
            }
            categories.push(SharedCategory {
                name: name.to_string(),
                kind,
                food_related,
            });
        }
        let other = *by_name.get("other").ok_or(TaxonomyError::File {
            file: categories_file,
            message: "the category 'other' (for labels no rule matches) is not declared"
                .to_string(),
        })?;

        let rules_file = CsvFile::Rules;
        let mut rules: [SourceRules; 2] = Default::default();
        let mut seen: HashMap<(String, MatchKind, String, usize), usize> = HashMap::new();
        for (line, fields) in csv_records(
            rules_csv,
            rules_file,
            &["platform", "match", "pattern", "category"],
        )? {
            let field_error = |field: &'static str, message: String| TaxonomyError::Field {
                file: rules_file,
                line,
                field,
                message,
            };
            let platform = fields[0].trim().to_ascii_lowercase();
            let platforms: &[usize] = match platform.as_str() {
                "yelp" => &[0],
                "google" => &[1],
                "any" => &[0, 1],
                other => {
                    return Err(field_error(
                        "platform",
                        format!("'{other}' is not 'yelp', 'google' or 'any'"),
                    ));
                }
            };
            let kind = match fields[1].trim().to_ascii_lowercase().as_str() {
                "exact" => MatchKind::Exact,
                "word" => MatchKind::Word,
                "suffix" => MatchKind::Suffix,
                other => {
                    return Err(field_error(
                        "match",
                        format!("'{other}' is not 'exact', 'word' or 'suffix'"),
                    ));
                }
            };
            let pattern = normalize_owned(&fields[2]);
            if pattern.is_empty() {
                return Err(field_error("pattern", "the pattern is empty".to_string()));
            }
            if pattern.contains(',') {
                return Err(field_error(
                    "pattern",
                    format!("'{pattern}' contains a comma, but labels are split on commas"),
                ));
            }
            let category_name = fields[3].trim();
            let category = *by_name.get(category_name).ok_or_else(|| {
                field_error(
                    "category",
                    format!("unknown category '{category_name}' (not in shared_categories.csv)"),
                )
            })?;
            if let Some(first) =
                seen.insert((platform.clone(), kind, pattern.clone(), category), line)
            {
                return Err(TaxonomyError::Line {
                    file: rules_file,
                    line,
                    message: format!("duplicate of the rule on line {first}"),
                });
            }
            for &p in platforms {
                let target = &mut rules[p];
                match kind {
                    MatchKind::Exact => {
                        push_unique(target.exact.entry(pattern.clone()).or_default(), category);
                    }
                    MatchKind::Suffix if pattern.chars().next().is_some_and(is_word_char) => {
                        push_unique(target.suffix.entry(pattern.clone()).or_default(), category);
                    }
                    MatchKind::Word | MatchKind::Suffix => target.scanned.push(PatternRule {
                        kind,
                        pattern: pattern.clone(),
                        category,
                    }),
                }
            }
        }
        Ok(Taxonomy {
            categories,
            by_name,
            rules,
            other,
        })
    }

    /// The shared categories in file order; a category's index is its id.
    pub fn categories(&self) -> &[SharedCategory] {
        &self.categories
    }

    /// The id of the category called `name` (exact, lowercase).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The id of `other`, the category of labels no rule matches.
    pub fn other_index(&self) -> usize {
        self.other
    }

    /// The category with id `index`, if there is one.
    pub fn category(&self, index: usize) -> Option<&SharedCategory> {
        self.categories.get(index)
    }

    /// The ids of the shared categories of `labels`: one label or several
    /// joined by commas (a Yelp `categories` string such as
    /// `"Pizza, Restaurants, Italian"`), sorted ascending without
    /// duplicates. Labels are compared trimmed, lowercased, with whitespace
    /// collapsed; empty pieces are ignored. When no label matches a rule
    /// (or there is no label), the result is `[other]`; labels without a
    /// match do not add `other` next to matched ones.
    pub fn classify(&self, platform: Source, labels: &str) -> Vec<usize> {
        let mut out = Vec::with_capacity(4);
        self.classify_into(platform, labels, &mut out);
        out
    }

    /// [`classify`](Self::classify) for a list of labels (Google's
    /// `category` array); each element may itself be comma-joined.
    pub fn classify_labels<'a, I>(&self, platform: Source, labels: I) -> Vec<usize>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let mut out = Vec::with_capacity(4);
        for label in labels {
            self.collect(platform, label, &mut out);
        }
        self.finish(&mut out);
        out
    }

    /// [`classify`](Self::classify) into a caller-owned vector (cleared
    /// first), so a loop over many businesses allocates nothing for labels
    /// of up to 160 bytes.
    pub fn classify_into(&self, platform: Source, labels: &str, out: &mut Vec<usize>) {
        out.clear();
        self.collect(platform, labels, out);
        self.finish(out);
    }

    /// Whether category ids (as returned by [`classify`](Self::classify))
    /// include `restaurant`: the definition of a restaurant business.
    pub fn is_restaurant(&self, ids: &[usize]) -> bool {
        self.index_of("restaurant")
            .is_some_and(|r| ids.contains(&r))
    }

    /// Whether any of the category ids is food-related.
    pub fn is_food_related(&self, ids: &[usize]) -> bool {
        ids.iter()
            .any(|&i| self.categories.get(i).is_some_and(|c| c.food_related))
    }

    /// The names of category ids (unknown ids are skipped).
    pub fn names(&self, ids: &[usize]) -> Vec<&str> {
        ids.iter()
            .filter_map(|&i| self.categories.get(i).map(|c| c.name.as_str()))
            .collect()
    }

    /// Adds the categories of each comma-separated label to `out`.
    fn collect(&self, platform: Source, labels: &str, out: &mut Vec<usize>) {
        let rules = &self.rules[platform_index(platform)];
        for label in labels.split(',') {
            with_normalized(label, |label| {
                if label.is_empty() {
                    return;
                }
                if let Some(cats) = rules.exact.get(label) {
                    for &c in cats {
                        push_unique(out, c);
                    }
                }
                if !rules.suffix.is_empty() {
                    for start in word_starts(label) {
                        if let Some(cats) = rules.suffix.get(&label[start..]) {
                            for &c in cats {
                                push_unique(out, c);
                            }
                        }
                    }
                }
                for rule in &rules.scanned {
                    let hit = match rule.kind {
                        MatchKind::Word => word_matches(label, &rule.pattern),
                        MatchKind::Suffix => suffix_matches(label, &rule.pattern),
                        MatchKind::Exact => label == rule.pattern,
                    };
                    if hit {
                        push_unique(out, rule.category);
                    }
                }
            });
        }
    }

    /// Falls back to `other` and sorts.
    fn finish(&self, out: &mut Vec<usize>) {
        if out.is_empty() {
            out.push(self.other);
        }
        out.sort_unstable();
    }
}

fn push_unique(out: &mut Vec<usize>, c: usize) {
    if !out.contains(&c) {
        out.push(c);
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

fn ends_with_word_char(s: &str) -> bool {
    s.chars().next_back().is_some_and(is_word_char)
}

/// Byte positions where a word (a run of letters and digits) starts.
fn word_starts(s: &str) -> impl Iterator<Item = usize> + '_ {
    let mut prev_word = false;
    s.char_indices().filter_map(move |(i, c)| {
        let word = is_word_char(c);
        let start = word && !prev_word;
        prev_word = word;
        start.then_some(i)
    })
}

/// `label` ends with `pattern`, and the pattern starts at a word boundary.
fn suffix_matches(label: &str, pattern: &str) -> bool {
    let Some(head) = label.strip_suffix(pattern) else {
        return false;
    };
    let starts_word = pattern.chars().next().is_some_and(is_word_char);
    !starts_word || !head.chars().next_back().is_some_and(is_word_char)
}

/// `pattern` occurs in `label` with no letter or digit right before or
/// after it.
fn word_matches(label: &str, pattern: &str) -> bool {
    label.match_indices(pattern).any(|(i, _)| {
        let before_ok = !label[..i].chars().next_back().is_some_and(is_word_char)
            || !pattern.chars().next().is_some_and(is_word_char);
        let after_ok = !label[i + pattern.len()..]
            .chars()
            .next()
            .is_some_and(is_word_char)
            || !ends_with_word_char(pattern);
        before_ok && after_ok
    })
}

/// Calls `f` with `label` trimmed, lowercased and whitespace-collapsed;
/// ASCII labels of up to [`STACK_LABEL`] bytes are normalised on the stack.
fn with_normalized<R>(label: &str, f: impl FnOnce(&str) -> R) -> R {
    let label = label.trim();
    if label.len() <= STACK_LABEL && label.is_ascii() {
        let mut buf = [0u8; STACK_LABEL];
        let mut n = 0;
        let mut space = false;
        for &b in label.as_bytes() {
            if b.is_ascii_whitespace() {
                space = true;
                continue;
            }
            if space && n > 0 {
                buf[n] = b' ';
                n += 1;
            }
            space = false;
            buf[n] = b.to_ascii_lowercase();
            n += 1;
        }
        // ASCII in, ASCII out: always valid UTF-8.
        match std::str::from_utf8(&buf[..n]) {
            Ok(s) => f(s),
            Err(_) => f(&normalize_owned(label)),
        }
    } else {
        f(&normalize_owned(label))
    }
}

/// Trimmed, lowercased, whitespace runs collapsed to one space.
fn normalize_owned(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// The data records of a CSV with a required header: `(line, fields)`,
/// skipping blank and `#` lines; each record has exactly `columns.len()`
/// fields.
///
/// The `csv` crate does the splitting and unquoting. Comment and blank
/// lines are emptied first (keeping the line numbers, which errors report),
/// since the `csv` crate only knows comments starting the line and skips
/// only empty lines. A quoted field must close on its own line, so a field
/// spanning a line end is an unterminated quote.
fn csv_records(
    text: &str,
    file: CsvFile,
    columns: &[&str],
) -> Result<Vec<(usize, Vec<String>)>, TaxonomyError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut data = String::with_capacity(text.len() + 1);
    for raw in text.lines() {
        let trimmed = raw.trim();
        if !trimmed.is_empty() && !trimmed.starts_with('#') {
            data.push_str(raw);
        }
        data.push('\n');
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        // Line ends are '\n' now; a '\r' inside a line is data, as before.
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(data.as_bytes());
    let mut records = Vec::new();
    let mut header_seen = false;
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record);
        // The record's position is where the reader stood before it
        // skipped the (emptied) lines preceding the record.
        let line = record.position().map_or(0, |p| {
            let skipped = usize::try_from(p.byte())
                .ok()
                .and_then(|b| data.get(b..))
                .map_or(0, |rest| rest.bytes().take_while(|&b| b == b'\n').count());
            usize::try_from(p.line()).map_or(0, |l| l + skipped)
        });
        let line_error = |message: String| TaxonomyError::Line {
            file,
            line,
            message,
        };
        match more {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(line_error(e.to_string())),
        }
        if record.iter().any(|f| f.contains('\n')) {
            return Err(line_error("unterminated quoted field".to_string()));
        }
        if !header_seen {
            let matches = record.len() == columns.len()
                && record
                    .iter()
                    .zip(columns)
                    .all(|(f, c)| f.trim().eq_ignore_ascii_case(c));
            if !matches {
                let found = text
                    .lines()
                    .nth(line.saturating_sub(1))
                    .unwrap_or("")
                    .trim();
                return Err(line_error(format!(
                    "expected the header '{}', found '{found}'",
                    columns.join(",")
                )));
            }
            header_seen = true;
            continue;
        }
        if record.len() != columns.len() {
            return Err(line_error(format!(
                "expected {} fields ({}), found {}",
                columns.len(),
                columns.join(","),
                record.len()
            )));
        }
        records.push((line, record.iter().map(str::to_string).collect()));
    }
    if !header_seen {
        return Err(TaxonomyError::File {
            file,
            message: format!("no header line '{}'", columns.join(",")),
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(platform: Source, labels: &str) -> Vec<&'static str> {
        let t = Taxonomy::embedded();
        t.names(&t.classify(platform, labels))
    }

    fn sorted(mut v: Vec<&str>) -> Vec<&str> {
        v.sort_unstable();
        v
    }

    #[test]
    fn embedded_files_parse() {
        let t = Taxonomy::from_csv(RULES_CSV, CATEGORIES_CSV).expect("embedded CSVs parse");
        assert_eq!(
            t.categories().len(),
            Taxonomy::embedded().categories().len()
        );
        let types = [
            "restaurant",
            "bar",
            "cafe",
            "fast_food",
            "bakery",
            "dessert",
            "food_truck",
            "caterer",
            "buffet",
            "grocery",
            "specialty_food",
            "beverage_store",
            "food_producer",
            "other",
        ];
        for name in types {
            let i = t
                .index_of(name)
                .unwrap_or_else(|| panic!("{name} declared"));
            assert_eq!(t.categories()[i].kind, CategoryKind::Type, "{name}");
        }
        let cuisines = [
            "mexican",
            "italian",
            "pizza",
            "chinese",
            "japanese",
            "sushi",
            "thai",
            "indian",
            "american",
            "seafood",
            "barbecue",
            "burgers",
            "breakfast_brunch",
            "vietnamese",
            "korean",
            "mediterranean",
            "greek",
            "french",
            "spanish",
            "middle_eastern",
            "caribbean",
            "latin",
            "vegan_vegetarian",
            "sandwiches",
            "steakhouse",
            "deli",
            "cajun_creole",
            "southern",
        ];
        for name in cuisines {
            let i = t
                .index_of(name)
                .unwrap_or_else(|| panic!("{name} declared"));
            let c = &t.categories()[i];
            assert_eq!(c.kind, CategoryKind::Cuisine, "{name}");
            assert!(c.food_related, "{name}");
        }
        for (name, food) in [
            ("restaurant", true),
            ("bar", true),
            ("grocery", false),
            ("specialty_food", false),
            ("other", false),
        ] {
            let i = t.index_of(name).unwrap_or(usize::MAX);
            assert_eq!(t.category(i).map(|c| c.food_related), Some(food), "{name}");
        }
        assert_eq!(t.categories()[t.other_index()].name, "other");
        assert_eq!(t.index_of("nonexistent"), None);
        assert_eq!(CategoryKind::Cuisine.as_str(), "cuisine");
        assert_eq!(Source::parse(" Google "), Some(Source::Google));
        assert_eq!(Source::parse("tripadvisor"), None);
        assert_eq!(Source::Yelp.to_string(), "yelp");
    }

    #[test]
    fn yelp_generated_labels() {
        let cases: &[(&str, &[&str])] = &[
            ("Mexican, Restaurants", &["restaurant", "mexican"]),
            (
                "Pizza, Restaurants, Italian",
                &["restaurant", "pizza", "italian"],
            ),
            ("Italian, Restaurants", &["restaurant", "italian"]),
            ("Coffee & Tea, Cafes, Food", &["cafe"]),
            ("Bars, Nightlife", &["bar"]),
            ("Bakeries, Food", &["bakery"]),
            (
                "Fast Food, Burgers, Restaurants",
                &["restaurant", "fast_food", "burgers"],
            ),
            ("Chinese, Restaurants", &["restaurant", "chinese"]),
            (
                "Sushi Bars, Japanese, Restaurants",
                &["restaurant", "sushi", "japanese"],
            ),
            (
                "American (New), Restaurants, Breakfast & Brunch",
                &["restaurant", "american", "breakfast_brunch"],
            ),
            ("Thai, Restaurants", &["restaurant", "thai"]),
            ("Indian, Restaurants", &["restaurant", "indian"]),
            ("Seafood, Restaurants", &["restaurant", "seafood"]),
            (
                "Barbeque, Restaurants, Southern",
                &["restaurant", "barbecue", "southern"],
            ),
            ("Ice Cream & Frozen Yogurt, Desserts, Food", &["dessert"]),
            ("Grocery, Food", &["grocery"]),
            ("Hair Salons, Beauty & Spas", &["other"]),
            ("Auto Repair, Automotive", &["other"]),
            ("Hotels, Hotels & Travel", &["other"]),
            ("Gyms", &["other"]),
            ("Dentists", &["other"]),
            ("Nightlife", &["other"]),
            ("", &["other"]),
            (" , ,", &["other"]),
            // Single cuisine labels never make a restaurant by themselves.
            ("Mexican", &["mexican"]),
            ("Fast Food", &["fast_food"]),
            ("Sushi Bars", &["sushi", "japanese"]),
            ("Juice Bars & Smoothies", &["cafe", "healthy"]),
            ("Tapas Bars", &["bar", "spanish"]),
            (
                "Cocktail Bars, Wine Bars, Pubs, Sports Bars, Dive Bars, Beer Bar",
                &["bar"],
            ),
            ("American (Traditional)", &["american"]),
            ("Donuts, Food", &["dessert"]),
            ("Food Trucks, Food", &["food_truck"]),
            (
                "Delis, Sandwiches, Restaurants",
                &["restaurant", "sandwiches", "deli"],
            ),
            // Google-only rules do not apply to Yelp labels.
            ("Mexican restaurant", &["other"]),
        ];
        for (labels, want) in cases {
            assert_eq!(
                sorted(names(Source::Yelp, labels)),
                sorted(want.to_vec()),
                "{labels:?}"
            );
        }
    }

    #[test]
    fn google_generated_labels() {
        let cases: &[(&str, &[&str])] = &[
            ("Mexican restaurant", &["restaurant", "mexican"]),
            ("Restaurant", &["restaurant"]),
            ("Pizza restaurant", &["restaurant", "pizza"]),
            ("Italian restaurant", &["restaurant", "italian"]),
            ("Coffee shop", &["cafe"]),
            ("Cafe", &["cafe"]),
            ("Bar", &["bar"]),
            ("Pub", &["bar"]),
            ("Bakery", &["bakery"]),
            ("Fast food restaurant", &["restaurant", "fast_food"]),
            ("Hamburger restaurant", &["restaurant", "burgers"]),
            ("Chinese restaurant", &["restaurant", "chinese"]),
            ("Sushi restaurant", &["restaurant", "sushi", "japanese"]),
            ("Japanese restaurant", &["restaurant", "japanese"]),
            ("American restaurant", &["restaurant", "american"]),
            ("Breakfast restaurant", &["restaurant", "breakfast_brunch"]),
            ("Thai restaurant", &["restaurant", "thai"]),
            ("Indian restaurant", &["restaurant", "indian"]),
            ("Seafood restaurant", &["restaurant", "seafood"]),
            ("Barbecue restaurant", &["restaurant", "barbecue"]),
            ("Ice cream shop", &["dessert"]),
            ("Dessert shop", &["dessert"]),
            ("Brewpub", &["bar"]),
            ("Cocktail bar", &["bar"]),
            ("Wine bar", &["bar"]),
            ("Sports bar", &["bar"]),
            ("Brewery", &["bar"]),
            ("Espresso bar", &["cafe"]),
            ("Donut shop", &["dessert"]),
            ("Frozen yogurt shop", &["dessert"]),
            ("Latin American restaurant", &["restaurant", "latin"]),
            ("Authentic Japanese restaurant", &["restaurant", "japanese"]),
            ("Southern restaurant (US)", &["restaurant", "southern"]),
            ("Pizza", &["restaurant", "pizza"]),
            ("Pizza Takeout", &["restaurant", "pizza"]),
            ("Chinese takeaway", &["restaurant", "chinese"]),
            ("Hair salon", &["other"]),
            ("Auto repair shop", &["other"]),
            ("Dentist", &["other"]),
            ("Gift shop", &["other"]),
            ("Gym", &["other"]),
            ("Hotel", &["other"]),
            ("Grocery store", &["grocery"]),
            ("Supermarket", &["grocery"]),
            ("Veterinarian", &["other"]),
            ("Plumber", &["other"]),
            ("Dry cleaner", &["other"]),
            // Cuisine words outside restaurant labels do not leak.
            ("Thai massage therapist", &["other"]),
            ("Muay Thai boxing gym", &["other"]),
            ("Greek Orthodox church", &["other"]),
            ("Restaurant supply store", &["other"]),
            ("Italian grocery store", &["grocery"]),
            // Yelp-only rules do not apply to Google labels.
            ("Restaurants", &["other"]),
        ];
        for (labels, want) in cases {
            assert_eq!(
                sorted(names(Source::Google, labels)),
                sorted(want.to_vec()),
                "{labels:?}"
            );
        }
        let t = Taxonomy::embedded();
        let ids = t.classify_labels(
            Source::Google,
            [
                "Mexican restaurant",
                "Bar",
                "Takeout restaurant",
                "Gift shop",
            ],
        );
        assert_eq!(sorted(t.names(&ids)), ["bar", "mexican", "restaurant"]);
        assert!(t.is_restaurant(&ids));
        assert!(t.is_food_related(&ids));
        let ids = t.classify_labels(Source::Google, []);
        assert_eq!(ids, [t.other_index()]);
        assert!(!t.is_restaurant(&ids) && !t.is_food_related(&ids));
    }

    /// Every food- or drink-related label of the real samples (the Yelp
    /// 2022 head and the joined Yelp sample, the Google Vermont metadata):
    /// 209 Yelp and 258 Google labels.
    const YELP_FOOD_LABELS: &str = "\
Acai Bowls
Afghan
African
American (New)
American (Traditional)
Arabic
Argentine
Armenian
Asian Fusion
Bagels
Bakeries
Barbeque
Bars
Basque
Beer
Beer Bar
Beer Gardens
Belgian
Beverage Store
Bistros
Brasseries
Brazilian
Breakfast & Brunch
Breweries
Brewpubs
British
Bubble Tea
Buffets
Burgers
Burmese
Butcher
CSA
Cafes
Cajun/Creole
Cambodian
Canadian (New)
Candy Stores
Cantonese
Caribbean
Caterers
Champagne Bars
Cheese Shops
Cheesesteaks
Chicken Shop
Chicken Wings
Chinese
Chocolatiers & Shops
Cigar Bars
Cocktail Bars
Coffee & Tea
Coffee Roasteries
Comfort Food
Convenience Stores
Creperies
Cuban
Cupcakes
Custom Cakes
Delicatessen
Delis
Desserts
Dim Sum
Diners
Distilleries
Dive Bars
Do-It-Yourself Food
Dominican
Donairs
Donuts
Eatertainment
Empanadas
Ethiopian
Ethnic Food
Falafel
Farmers Market
Farms
Fast Food
Filipino
Fish & Chips
Fondue
Food Court
Food Delivery Services
Food Stands
Food Trucks
French
Fruits & Veggies
Gastropubs
Gay Bars
Gelato
German
Gluten-Free
Greek
Grocery
Halal
Hawaiian
Health Markets
Herbs & Spices
Himalayan/Nepalese
Honduran
Hong Kong Style Cafe
Hookah Bars
Hot Dogs
Hot Pot
Hotel bar
Hungarian
Ice Cream & Frozen Yogurt
Imported Food
Indian
Indonesian
International
International Grocery
Internet Cafes
Irish
Irish Pub
Italian
Japanese
Juice Bars & Smoothies
Kebab
Kombucha
Korean
Kosher
Laotian
Latin American
Lebanese
Live/Raw Food
Lounges
Macarons
Malaysian
Meat Shops
Mediterranean
Mexican
Middle Eastern
Modern European
Mongolian
Moroccan
New Mexican Cuisine
Noodles
Olive Oil
Organic Stores
Oriental
Pakistani
Pan Asian
Pasta Shops
Patisserie/Cake Shop
Persian/Iranian
Personal Chefs
Peruvian
Piano Bars
Pick Your Own Farms
Pizza
Poke
Polish
Pop-Up Restaurants
Popcorn Shops
Portuguese
Poutineries
Pretzels
Public Markets
Pubs
Puerto Rican
Ramen
Restaurants
Salad
Salvadoran
Sandwiches
Sardinian
Scandinavian
Seafood
Seafood Markets
Shanghainese
Shaved Ice
Sicilian
Singaporean
Smokehouse
Soul Food
Soup
Southern
Spanish
Speakeasies
Specialty Food
Sports Bars
Sri Lankan
Steakhouses
Street Vendors
Sushi Bars
Syrian
Szechuan
Tacos
Taiwanese
Tapas Bars
Tapas/Small Plates
Tea Rooms
Teppanyaki
Tex-Mex
Thai
Themed Cafes
Tiki Bars
Trinidadian
Turkish
Ukrainian
Vegan
Vegetarian
Vietnamese
Waffles
Whiskey Bars
Wine & Spirits
Wine Bars
Wine Tasting Room
Wineries
Wraps";

    const GOOGLE_FOOD_LABELS: &str = "\
Alcohol manufacturer
American restaurant
Asian fusion restaurant
Asian grocery store
Asian restaurant
Australian restaurant
Austrian restaurant
Authentic Japanese restaurant
Bagel shop
Bakery
Bar
Bar & grill
Barbecue restaurant
Beer distributor
Beer garden
Beer hall
Beer store
Beverage distributor
Biryani restaurant
Bistro
Breakfast restaurant
Brewery
Brewpub
British restaurant
Brunch restaurant
Bubble tea store
Buffet restaurant
Burmese restaurant
Burrito restaurant
Butcher shop
Cafe
Cafeteria
Cajun restaurant
Cake shop
Californian restaurant
Cambodian restaurant
Candy store
Caribbean restaurant
Caterer
Catering
Catering food and drink supplier
Central American restaurant
Charcuterie
Cheese manufacturer
Cheese shop
Chicken restaurant
Chicken wings restaurant
Chinese bakery
Chinese restaurant
Chinese takeaway
Chocolate artisan
Chocolate factory
Chocolate shop
Chophouse restaurant
Cider bar
Cider mill
Cocktail bar
Coffee roasters
Coffee shop
Coffee stand
Coffee store
Coffee wholesaler
Condiments supplier
Confectionery
Convenience store
Cookie shop
Cupcake shop
Dairy
Dairy farm
Dairy store
Dairy supplier
Deli
Delivery Chinese restaurant
Delivery Restaurant
Dessert restaurant
Dessert shop
Diner
Discount supermarket
Distillery
Dominican restaurant
Donut shop
Down home cooking restaurant
Eclectic restaurant
Egg supplier
Espresso bar
Ethnic restaurant
European restaurant
Family restaurant
Farm
Farm shop
Farmers' market
Fast food restaurant
Filipino restaurant
Fine dining restaurant
Fish & chips restaurant
Fish and chips takeaway
Fish farm
Fish store
Food manufacturer
Food processing company
Food producer
Food products supplier
Food service
Food store
French restaurant
Fresh food market
Fried chicken takeaway
Frozen food store
Frozen yogurt shop
Fruit and vegetable store
Gastropub
General store
German restaurant
Gluten-free restaurant
Gourmet grocery store
Greek restaurant
Grill
Grocery delivery service
Grocery store
Hamburger restaurant
Hawaiian restaurant
Health food restaurant
Health food store
Hoagie restaurant
Honey farm
Hookah bar
Hot dog restaurant
Hot dog stand
Ice cream shop
Indian grocery store
Indian restaurant
Indian takeaway
Internet cafe
Irish pub
Irish restaurant
Italian grocery store
Italian restaurant
Jamaican restaurant
Japanese grocery store
Japanese restaurant
Japanese steakhouse
Juice shop
Karaoke bar
Korean grocery store
Korean restaurant
Latin American restaurant
Lebanese restaurant
Liquor store
Live music bar
Lounge
Lunch restaurant
Macrobiotic restaurant
Market
Meat dish restaurant
Meat packer
Meat processor
Meat products
Meat wholesaler
Mediterranean restaurant
Mexican restaurant
Middle Eastern restaurant
Milk delivery service
Mobile caterer
Modern European restaurant
Modern French restaurant
Modern Indian restaurant
Natural goods store
Nepalese restaurant
New American restaurant
New England restaurant
Noodle shop
Orchard
Organic farm
Organic food store
Organic restaurant
Organic shop
Oriental goods store
Pan-Asian restaurant
Pancake restaurant
Pasta shop
Pastry shop
Patisserie
Pho restaurant
Piano bar
Pick your own farm produce
Pie shop
Pizza
Pizza Takeout
Pizza delivery
Pizza restaurant
Popcorn store
Poultry farm
Pretzel store
Produce market
Produce wholesaler
Pub
Ramen restaurant
Raw food restaurant
Restaurant
Restaurant or cafe
Salad shop
Sandwich shop
Scandinavian restaurant
Seafood
Seafood market
Seafood restaurant
Seafood wholesaler
Small plates restaurant
Snack bar
Soft drinks shop
Soul food restaurant
Soup restaurant
Soup shop
South Asian restaurant
Southeast Asian restaurant
Southern restaurant (US)
Southwestern restaurant (US)
Spanish restaurant
Spice store
Sports bar
State liquor store
Steak house
Sugar shack
Sundae restaurant
Supermarket
Sushi restaurant
Sushi takeaway
Swiss restaurant
Taco restaurant
Takeout Restaurant
Takeout restaurant
Tapas bar
Tapas restaurant
Tea house
Tea manufacturer
Tea store
Tex-Mex restaurant
Thai restaurant
Traditional American restaurant
Traditional restaurant
Turkish restaurant
Vegan restaurant
Vegetable wholesale market
Vegetarian cafe and deli
Vegetarian restaurant
Vietnamese restaurant
Vineyard
Warehouse store
Wedding bakery
Wedding buffet
Western restaurant
Wholesale bakery
Wholesale grocer
Wine bar
Wine cellar
Wine store
Wine wholesaler and importer
Winery";

    /// Food-adjacent real labels deliberately mapped to `other`: umbrella
    /// labels, tours and classes, charities, equipment shops, venues.
    const DELIBERATELY_OTHER: &[(Source, &str)] = &[
        (Source::Yelp, "Food"),
        (Source::Yelp, "Nightlife"),
        (Source::Yelp, "Local Flavor"),
        (Source::Yelp, "Food Tours"),
        (Source::Yelp, "Beer Tours"),
        (Source::Yelp, "Wine Tours"),
        (Source::Yelp, "Bar Crawl"),
        (Source::Yelp, "Cooking Classes"),
        (Source::Yelp, "Cooking Schools"),
        (Source::Yelp, "Tasting Classes"),
        (Source::Yelp, "Wine Tasting Classes"),
        (Source::Yelp, "Food Banks"),
        (Source::Yelp, "Kitchen Supplies"),
        (Source::Yelp, "Kitchen Incubators"),
        (Source::Yelp, "Brewing Supplies"),
        (Source::Yelp, "Grilling Equipment"),
        (Source::Yelp, "Bartenders"),
        (Source::Yelp, "Dance Clubs"),
        (Source::Yelp, "Karaoke"),
        (Source::Yelp, "Airport Lounges"),
        (Source::Yelp, "Paint & Sip"),
        (Source::Yelp, "Water Stores"),
        (Source::Yelp, "Ice Delivery"),
        (Source::Google, "Food"),
        (Source::Google, "Nightlife"),
        (Source::Google, "Night club"),
        (Source::Google, "Karaoke"),
        (Source::Google, "Food bank"),
        (Source::Google, "Soup kitchen"),
        (Source::Google, "Pantry"),
        (Source::Google, "Cooking class"),
        (Source::Google, "Culinary school"),
        (Source::Google, "Food and beverage consultant"),
        (Source::Google, "Restaurant supply store"),
        (Source::Google, "Baking supply store"),
        (Source::Google, "Kitchen supply store"),
        (Source::Google, "Brewing supply store"),
        (Source::Google, "Coffee machine supplier"),
        (Source::Google, "Grill store"),
        (Source::Google, "Banquet hall"),
        (Source::Google, "BBQ area"),
        (Source::Google, "Vending machine supplier"),
    ];

    fn food_labels() -> impl Iterator<Item = (Source, &'static str)> {
        YELP_FOOD_LABELS
            .lines()
            .map(|l| (Source::Yelp, l))
            .chain(GOOGLE_FOOD_LABELS.lines().map(|l| (Source::Google, l)))
            .filter(|(_, l)| !l.is_empty())
    }

    #[test]
    fn real_food_labels_all_map() {
        let t = Taxonomy::embedded();
        let (mut yelp, mut google) = (0, 0);
        for (platform, label) in food_labels() {
            let ids = t.classify(platform, label);
            assert!(
                ids.iter().all(|&i| i != t.other_index()),
                "{platform} {label:?} maps to other"
            );
            match platform {
                Source::Yelp => yelp += 1,
                Source::Google => google += 1,
            }
            // The restaurant rule: Yelp labels other than "Restaurants" never
            // make a restaurant; Google labels ending in "restaurant" always do.
            let lower = label.to_lowercase();
            match platform {
                Source::Yelp => assert_eq!(
                    t.is_restaurant(&ids),
                    lower.ends_with("restaurants"),
                    "{label:?}"
                ),
                Source::Google if lower.ends_with("restaurant") => {
                    assert!(t.is_restaurant(&ids), "{label:?}")
                }
                Source::Google => {}
            }
        }
        assert_eq!((yelp, google), (209, 258));
        for (platform, label) in DELIBERATELY_OTHER {
            assert_eq!(
                t.classify(*platform, label),
                [t.other_index()],
                "{platform} {label:?}"
            );
        }
    }

    /// The label lists above are exactly the labels of the real samples
    /// (`tests/data/real`, gzip-compressed) that the rules map to something
    /// other than `other`.
    #[test]
    fn real_label_lists_match_the_samples() {
        use std::io::Read as _;
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/real");
        let yelp_files = [
            format!("{root}/yelp-2022-business-head/yelp_academic_dataset_business.json.gz"),
            format!("{root}/yelp-joined/yelp_academic_dataset_business.json.gz"),
        ];
        let mut yelp = std::collections::BTreeSet::new();
        for f in &yelp_files {
            let file = std::fs::File::open(f).unwrap_or_else(|e| panic!("{f}: {e}"));
            let mut text = String::new();
            flate2::read::GzDecoder::new(file)
                .read_to_string(&mut text)
                .unwrap_or_else(|e| panic!("{f}: {e}"));
            for line in text.lines() {
                // "categories":"A, B, C" (or null); no JSON crate here.
                let Some(start) = line.find("\"categories\":\"") else {
                    continue;
                };
                let rest = &line[start + 14..];
                let value = &rest[..rest.find('"').unwrap_or(rest.len())];
                yelp.extend(value.split(", ").map(|s| s.replace("\\u0026", "&")));
            }
        }
        let t = Taxonomy::embedded();
        let mapped: Vec<&str> = yelp
            .iter()
            .map(String::as_str)
            .filter(|l| t.classify(Source::Yelp, l) != [t.other_index()])
            .collect();
        let listed: Vec<&str> = YELP_FOOD_LABELS.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(mapped, listed);
    }

    #[test]
    fn matching_semantics() {
        let rules = "platform,match,pattern,category\n\
            any,exact,fish & chips,seafood\n\
            google,word,ice cream,dessert\n\
            google,suffix,restaurant,restaurant\n\
            google,suffix,(us),other\n\
            yelp,word,bars,bar\n";
        let cats = "category,kind,food_related\n\
            restaurant,type,true\nbar,type,true\ndessert,type,true\nother,type,false\n\
            seafood,cuisine,true\n";
        let t = Taxonomy::from_csv(rules, cats).expect("parses");
        let n = |p, l| t.names(&t.classify(p, l));
        assert_eq!(n(Source::Yelp, "  FISH   &  Chips "), ["seafood"]);
        assert_eq!(n(Source::Google, "Fish & chips"), ["seafood"]);
        assert_eq!(n(Source::Google, "Ice cream shop"), ["dessert"]);
        assert_eq!(n(Source::Google, "Soft-serve ice cream"), ["dessert"]);
        assert_eq!(n(Source::Google, "Nice creamery"), ["other"]);
        assert_eq!(n(Source::Google, "Fast food restaurant"), ["restaurant"]);
        assert_eq!(n(Source::Google, "Nonrestaurant"), ["other"]);
        assert_eq!(n(Source::Google, "Restaurant supply"), ["other"]);
        assert_eq!(n(Source::Google, "Southern restaurant (US)"), ["other"]);
        assert_eq!(n(Source::Yelp, "Cocktail Bars"), ["bar"]);
        assert_eq!(n(Source::Yelp, "Barsoom"), ["other"]);
        assert_eq!(n(Source::Yelp, "Crêpe bars"), ["bar"]);
        assert_eq!(n(Source::Yelp, "Fish & Chips, Bars"), ["bar", "seafood"]);
        // Long and non-ASCII labels take the allocating path.
        let long = format!("{} bars", "x".repeat(500));
        assert_eq!(n(Source::Yelp, &long), ["bar"]);
        assert_eq!(n(Source::Google, "ÉPICERIE RESTAURANT"), ["restaurant"]);
        // classify_into reuses the buffer.
        let mut out = vec![99, 98];
        t.classify_into(Source::Yelp, "Bars", &mut out);
        assert_eq!(out, [1]);
        t.classify_into(Source::Yelp, "nothing", &mut out);
        assert_eq!(out, [t.other_index()]);
        assert_eq!(t.names(&[0, 999]), ["restaurant"]);
    }

    #[test]
    fn odd_labels_never_panic() {
        let t = Taxonomy::embedded();
        for label in [
            "",
            ",",
            ",,,",
            "\u{0}",
            "🍕",
            "🍕 restaurant",
            "Pizza\u{a0}restaurant",
            "restaurant restaurant restaurant",
            "\"Bars\"",
            "Bars\r\n",
            "ß",
            "İstanbul restaurant",
        ] {
            for platform in [Source::Yelp, Source::Google] {
                let ids = t.classify(platform, label);
                assert!(!ids.is_empty());
                assert!(ids.windows(2).all(|w| w[0] < w[1]));
            }
        }
        assert_eq!(
            names(Source::Google, "Pizza\u{a0}restaurant"),
            ["restaurant", "pizza"]
        );
    }

    #[test]
    fn csv_errors_name_line_and_field() {
        let cats = "category,kind,food_related\nrestaurant,type,true\nother,type,false\n";
        let rules_head = "# comment\nplatform,match,pattern,category\n";
        let err = |rules: &str| {
            Taxonomy::from_csv(&format!("{rules_head}{rules}"), cats)
                .expect_err("should fail")
                .to_string()
        };
        assert_eq!(
            err("yelp,exact,restaurants,restaurant\nbing,exact,x,restaurant\n"),
            "category_taxonomy.csv line 4, field 'platform': 'bing' is not 'yelp', 'google' or 'any'"
        );
        assert_eq!(
            err("yelp,fuzzy,x,restaurant\n"),
            "category_taxonomy.csv line 3, field 'match': 'fuzzy' is not 'exact', 'word' or 'suffix'"
        );
        assert_eq!(
            err("\n\nyelp,exact,x,dinner\n"),
            "category_taxonomy.csv line 5, field 'category': unknown category 'dinner' (not in shared_categories.csv)"
        );
        assert_eq!(
            err("yelp,exact,  ,restaurant\n"),
            "category_taxonomy.csv line 3, field 'pattern': the pattern is empty"
        );
        assert_eq!(
            err("yelp,exact,\"beer, wine\",restaurant\n"),
            "category_taxonomy.csv line 3, field 'pattern': 'beer, wine' contains a comma, but labels are split on commas"
        );
        assert_eq!(
            err("yelp,exact,x\n"),
            "category_taxonomy.csv line 3: expected 4 fields (platform,match,pattern,category), found 3"
        );
        assert_eq!(
            err("yelp,exact,x,restaurant\nYELP,exact,X,restaurant\n"),
            "category_taxonomy.csv line 4: duplicate of the rule on line 3"
        );
        assert_eq!(
            err("yelp,exact,\"x,restaurant\n"),
            "category_taxonomy.csv line 3: unterminated quoted field"
        );
        assert_eq!(
            Taxonomy::from_csv("pattern,category\n", cats)
                .expect_err("bad header")
                .to_string(),
            "category_taxonomy.csv line 1: expected the header 'platform,match,pattern,category', found 'pattern,category'"
        );
        assert_eq!(
            Taxonomy::from_csv("# only comments\n", cats)
                .expect_err("no header")
                .to_string(),
            "category_taxonomy.csv: no header line 'platform,match,pattern,category'"
        );
        let cat_err = |cats: &str| {
            Taxonomy::from_csv(rules_head, cats)
                .expect_err("should fail")
                .to_string()
        };
        assert_eq!(
            cat_err("category,kind,food_related\nrestaurant,type,true\n"),
            "shared_categories.csv: the category 'other' (for labels no rule matches) is not declared"
        );
        assert_eq!(
            cat_err("category,kind,food_related\nother,type,false\nbar,place,true\n"),
            "shared_categories.csv line 3, field 'kind': 'place' is not 'type' or 'cuisine'"
        );
        assert_eq!(
            cat_err("category,kind,food_related\nother,type,maybe\n"),
            "shared_categories.csv line 2, field 'food_related': 'maybe' is not 'true' or 'false'"
        );
        assert_eq!(
            cat_err("category,kind,food_related\nOther Stuff,type,false\n"),
            "shared_categories.csv line 2, field 'category': 'Other Stuff' is not a name of lowercase letters, digits and '_'"
        );
        assert_eq!(
            cat_err("category,kind,food_related\nother,type,false\nother,type,false\n"),
            "shared_categories.csv line 3: category 'other' is declared twice"
        );
        // Quoted fields, CRLF and a byte-order mark are fine.
        let t = Taxonomy::from_csv(
            "\u{feff}platform,match,pattern,category\r\n\"yelp\",\"exact\",\"say \"\"hi\"\"\",restaurant\r\n",
            cats,
        )
        .expect("parses");
        assert_eq!(
            t.names(&t.classify(Source::Yelp, "Say \"Hi\"")),
            ["restaurant"]
        );
    }
}
