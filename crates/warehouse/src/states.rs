//! US states, the District of Columbia, US territories and Canadian
//! provinces/territories: a static lookup table.
//!
//! The review sources name regions in several ways: Yelp uses two-letter
//! codes (`"NV"`, and also Canadian ones such as `"AB"`), the Google Local
//! dataset uses state names in file and folder names (`review-New_York`,
//! `meta-Vermont.json.gz`), and the scraped Wikipedia GDP table uses display
//! names, sometimes with footnote marks (`"Georgia[a]"`). [`by_abbr`],
//! [`by_name`] and [`state_from_google_path`] map all of them onto one
//! [`Region`] row of [`all`].
//!
//! Nothing here allocates on the lookup paths except [`by_name`] for names
//! that carry footnote marks or unusual whitespace, and nothing panics on
//! odd input: unknown input yields `None`.

/// What kind of region a [`Region`] row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegionKind {
    /// One of the 50 US states.
    State,
    /// The District of Columbia (Washington, D.C.).
    District,
    /// A US territory (Puerto Rico, Guam, ...) or a Canadian territory
    /// (Yukon, Northwest Territories, Nunavut).
    Territory,
    /// A Canadian province.
    Province,
}

impl RegionKind {
    /// Lowercase name: `"state"`, `"district"`, `"territory"` or `"province"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RegionKind::State => "state",
            RegionKind::District => "district",
            RegionKind::Territory => "territory",
            RegionKind::Province => "province",
        }
    }
}

/// One state, district, territory or province.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region {
    /// Two-letter postal code, uppercase (`"NY"`, `"DC"`, `"PR"`, `"AB"`).
    pub abbr: &'static str,
    /// Display name (`"New York"`, `"District of Columbia"`, `"Alberta"`).
    pub name: &'static str,
    /// ISO 3166-1 alpha-2 country code: `"US"` or `"CA"`.
    pub country: &'static str,
    /// `true` exactly for the 50 US states and DC (the 51 rows of the BEA
    /// GDP-by-state series); `false` for territories and Canadian regions.
    pub is_us_state_or_dc: bool,
    /// State, district, territory or province.
    pub kind: RegionKind,
}

const fn state(abbr: &'static str, name: &'static str) -> Region {
    Region {
        abbr,
        name,
        country: "US",
        is_us_state_or_dc: true,
        kind: RegionKind::State,
    }
}

const fn us_territory(abbr: &'static str, name: &'static str) -> Region {
    Region {
        abbr,
        name,
        country: "US",
        is_us_state_or_dc: false,
        kind: RegionKind::Territory,
    }
}

const fn province(abbr: &'static str, name: &'static str) -> Region {
    Region {
        abbr,
        name,
        country: "CA",
        is_us_state_or_dc: false,
        kind: RegionKind::Province,
    }
}

const fn ca_territory(abbr: &'static str, name: &'static str) -> Region {
    Region {
        abbr,
        name,
        country: "CA",
        is_us_state_or_dc: false,
        kind: RegionKind::Territory,
    }
}

/// The table: 50 states (alphabetical), DC, 5 inhabited US territories plus
/// the Minor Outlying Islands, 10 Canadian provinces and 3 Canadian
/// territories.
static REGIONS: [Region; 70] = [
    state("AL", "Alabama"),
    state("AK", "Alaska"),
    state("AZ", "Arizona"),
    state("AR", "Arkansas"),
    state("CA", "California"),
    state("CO", "Colorado"),
    state("CT", "Connecticut"),
    state("DE", "Delaware"),
    state("FL", "Florida"),
    state("GA", "Georgia"),
    state("HI", "Hawaii"),
    state("ID", "Idaho"),
    state("IL", "Illinois"),
    state("IN", "Indiana"),
    state("IA", "Iowa"),
    state("KS", "Kansas"),
    state("KY", "Kentucky"),
    state("LA", "Louisiana"),
    state("ME", "Maine"),
    state("MD", "Maryland"),
    state("MA", "Massachusetts"),
    state("MI", "Michigan"),
    state("MN", "Minnesota"),
    state("MS", "Mississippi"),
    state("MO", "Missouri"),
    state("MT", "Montana"),
    state("NE", "Nebraska"),
    state("NV", "Nevada"),
    state("NH", "New Hampshire"),
    state("NJ", "New Jersey"),
    state("NM", "New Mexico"),
    state("NY", "New York"),
    state("NC", "North Carolina"),
    state("ND", "North Dakota"),
    state("OH", "Ohio"),
    state("OK", "Oklahoma"),
    state("OR", "Oregon"),
    state("PA", "Pennsylvania"),
    state("RI", "Rhode Island"),
    state("SC", "South Carolina"),
    state("SD", "South Dakota"),
    state("TN", "Tennessee"),
    state("TX", "Texas"),
    state("UT", "Utah"),
    state("VT", "Vermont"),
    state("VA", "Virginia"),
    state("WA", "Washington"),
    state("WV", "West Virginia"),
    state("WI", "Wisconsin"),
    state("WY", "Wyoming"),
    Region {
        abbr: "DC",
        name: "District of Columbia",
        country: "US",
        is_us_state_or_dc: true,
        kind: RegionKind::District,
    },
    us_territory("PR", "Puerto Rico"),
    us_territory("GU", "Guam"),
    us_territory("VI", "U.S. Virgin Islands"),
    us_territory("AS", "American Samoa"),
    us_territory("MP", "Northern Mariana Islands"),
    us_territory("UM", "U.S. Minor Outlying Islands"),
    province("AB", "Alberta"),
    province("BC", "British Columbia"),
    province("MB", "Manitoba"),
    province("NB", "New Brunswick"),
    province("NL", "Newfoundland and Labrador"),
    province("NS", "Nova Scotia"),
    province("ON", "Ontario"),
    province("PE", "Prince Edward Island"),
    province("QC", "Quebec"),
    province("SK", "Saskatchewan"),
    ca_territory("NT", "Northwest Territories"),
    ca_territory("NU", "Nunavut"),
    ca_territory("YT", "Yukon"),
];

/// Other spellings accepted by [`by_name`], already in normalised form
/// (lowercase, single spaces, no dots), mapped to the region's code.
static ALIASES: &[(&str, &str)] = &[
    ("washington dc", "DC"),
    ("washington, dc", "DC"),
    ("district of columbia (washington, dc)", "DC"),
    ("hawai'i", "HI"),
    ("hawaiʻi", "HI"),
    ("hawai‘i", "HI"),
    ("us virgin islands", "VI"),
    ("united states virgin islands", "VI"),
    ("virgin islands", "VI"),
    ("virgin islands of the united states", "VI"),
    ("northern mariana islands", "MP"),
    ("commonwealth of the northern mariana islands", "MP"),
    ("northern marianas", "MP"),
    ("commonwealth of puerto rico", "PR"),
    ("us minor outlying islands", "UM"),
    ("united states minor outlying islands", "UM"),
    ("newfoundland", "NL"),
    ("newfoundland & labrador", "NL"),
    ("québec", "QC"),
    ("yukon territory", "YT"),
    ("state of new york", "NY"),
    ("new york state", "NY"),
    ("washington state", "WA"),
    ("georgia (us state)", "GA"),
    ("georgia (state)", "GA"),
    ("washington (state)", "WA"),
    ("new york (state)", "NY"),
];

/// Every region, in table order: the 50 states alphabetically, DC, the US
/// territories, the Canadian provinces, the Canadian territories.
pub fn all() -> &'static [Region] {
    &REGIONS
}

/// The region with this two-letter code, case-insensitive and ignoring
/// surrounding whitespace (`"ny"`, `" NY "`, `"ab"`); `None` otherwise.
pub fn by_abbr(abbr: &str) -> Option<&'static Region> {
    let abbr = abbr.trim();
    if abbr.len() != 2 {
        return None;
    }
    REGIONS.iter().find(|r| r.abbr.eq_ignore_ascii_case(abbr))
}

/// The region with this name, case-insensitive.
///
/// Tolerates what the sources put around names: surrounding whitespace,
/// underscores instead of spaces (`"New_York"`, as in Google Local folder
/// names), runs of whitespace including no-break spaces, footnote marks
/// (`"Texas*"`, `"Georgia[a]"`, `"Ohio [12]"`, `"Utah†"`) and dots
/// (`"Washington, D.C."`). A few alternative names are accepted too
/// (`"Washington, D.C."`, `"Virgin Islands"`, `"Québec"`,
/// `"Newfoundland"`, ...). Two-letter codes are *not* accepted here; use
/// [`by_abbr`].
pub fn by_name(name: &str) -> Option<&'static Region> {
    let key = normalize_name(name);
    if key.is_empty() {
        return None;
    }
    if let Some(r) = REGIONS.iter().find(|r| r.name.eq_ignore_ascii_case(&key)) {
        return Some(r);
    }
    // Table names with dots ("U.S. Virgin Islands") compare without them.
    if let Some(r) = REGIONS.iter().find(|r| {
        let mut a = r.name.bytes().filter(|&b| b != b'.');
        let mut b = key.bytes();
        loop {
            match (a.next(), b.next()) {
                (None, None) => return true,
                (Some(x), Some(y)) if x.eq_ignore_ascii_case(&y) => {}
                _ => return false,
            }
        }
    }) {
        return Some(r);
    }
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == key)
        .and_then(|(_, abbr)| by_abbr(abbr))
}

/// Normalises a region name for comparison: lowercase, `_` as space, dots
/// dropped, footnote marks dropped, whitespace collapsed and trimmed.
fn normalize_name(name: &str) -> String {
    let mut cleaned = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // Footnote in brackets: "[a]", "[12]", "[note 1]". Only short
            // bracket groups are dropped; a lone "[" is kept as is.
            '[' => {
                let rest: String = chars.clone().take(16).collect();
                if let Some(end) = rest.find(']') {
                    for _ in 0..rest[..=end].chars().count() {
                        chars.next();
                    }
                } else {
                    cleaned.push(c);
                }
            }
            '*' | '†' | '‡' | '§' | '¶' | '#' | '.' => {}
            '_' => cleaned.push(' '),
            c if c.is_whitespace() => cleaned.push(' '),
            c => cleaned.extend(c.to_lowercase()),
        }
    }
    let mut out = String::with_capacity(cleaned.len());
    for word in cleaned.split(' ').filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    // Trailing superscript-like digits glued to the name ("Texas1") are
    // footnotes too; no region name ends in a digit.
    while out.ends_with(|c: char| c.is_ascii_digit()) {
        out.pop();
    }
    while out.ends_with(' ') {
        out.pop();
    }
    out
}

/// The state named by a Google Local source path, from its `review-<Name>`,
/// `review_<Name>`, `meta-<Name>` or `meta_<Name>` component (file or folder,
/// anywhere in the tree), e.g.
/// `"google/reviews-estados/review-New_York/3.json"` → New York,
/// `"google-meta/meta-Vermont.json.gz"` → Vermont,
/// `"downloads/meta_South_Dakota.json.gz"` → South Dakota, `"review-Texas.json"` →
/// Texas, `"review-Vermont_10.json.gz"` (the dataset's 10-core files) →
/// Vermont.
///
/// Names use underscores or dashes for spaces (`New_York`, `District_of_Columbia`,
/// `New-York`). Both `/` and `\` separate components; the innermost matching
/// component wins. The prefix must be exactly `review` or `meta` followed by `-` or `_`
/// (case-insensitive): `reviews-estados` and `metadata-sitios` are not state folders.
/// Returns `None` when no component names a known region.
pub fn state_from_google_path(path: &str) -> Option<&'static Region> {
    path.rsplit(['/', '\\']).find_map(|component| {
        let lower_prefix = |p: &str| {
            component
                .get(..p.len())
                .filter(|head| head.eq_ignore_ascii_case(p))
                .map(|_| &component[p.len()..])
        };
        let rest = ["review-", "review_", "meta-", "meta_"]
            .into_iter()
            .find_map(lower_prefix)?;
        // Drop extensions: ".json", ".json.gz", ".jsonl", ".parquet", ...
        let stem = rest.split('.').next().unwrap_or(rest);
        if let Some(r) = by_name(stem) {
            return Some(r);
        }
        // "New-York": dashes for spaces.
        if stem.contains('-')
            && let Some(r) = by_name(&stem.replace('-', " "))
        {
            return Some(r);
        }
        // "Vermont_10": the k-core subsets carry a numeric suffix.
        let trimmed = stem.trim_end_matches(|c: char| c.is_ascii_digit());
        if trimmed.len() < stem.len() {
            let trimmed = trimmed.trim_end_matches(['_', '-']);
            return by_name(trimmed);
        }
        None
    })
}

/// One latitude/longitude box, degrees (WGS 84), bounds inclusive.
struct GeoBox {
    lat_min: f64,
    lat_max: f64,
    lon_min: f64,
    lon_max: f64,
}

/// The boxes of [`in_us_bounds`]: each is the extreme points of the area
/// plus a margin of about 0.1–0.3 degrees.
static US_BOXES: [GeoBox; 5] = [
    // Contiguous 48 states: Key West / Dry Tortugas (24.4 N) to the
    // Northwest Angle, Minnesota (49.4 N); Cape Alava, Washington
    // (124.8 W) to West Quoddy Head, Maine (66.9 W).
    GeoBox {
        lat_min: 24.3,
        lat_max: 49.5,
        lon_min: -125.0,
        lon_max: -66.8,
    },
    // Alaska west of the 141st meridian (its border with Yukon), down to
    // the Aleutians (51.2 N), up to Point Barrow (71.4 N), west to the
    // antimeridian.
    GeoBox {
        lat_min: 51.0,
        lat_max: 71.6,
        lon_min: -180.0,
        lon_max: -140.9,
    },
    // The Alaska panhandle: 54.6 N (Dixon Entrance) to Mount St. Elias
    // (60.3 N), east to 129.97 W.
    GeoBox {
        lat_min: 54.4,
        lat_max: 60.5,
        lon_min: -141.1,
        lon_max: -129.8,
    },
    // The western Aleutians beyond the antimeridian (Semisopochnoi to
    // Attu, 172.4 E).
    GeoBox {
        lat_min: 51.0,
        lat_max: 53.1,
        lon_min: 172.3,
        lon_max: 180.0,
    },
    // Hawaii, from the Big Island's South Point (18.9 N) to Kure Atoll
    // (28.4 N, 178.3 W).
    GeoBox {
        lat_min: 18.8,
        lat_max: 28.6,
        lon_min: -178.5,
        lon_max: -154.6,
    },
];

/// Whether a coordinate lies inside a box around the 50 states (DC is
/// inside the contiguous box).
///
/// The test is a union of five latitude/longitude boxes, tighter than one
/// box around everything (which would take in most of Mexico and Canada):
///
/// | area | latitude | longitude |
/// |---|---|---|
/// | contiguous 48 states | 24.3 to 49.5 | −125.0 to −66.8 |
/// | Alaska, mainland and Aleutians | 51.0 to 71.6 | −180.0 to −140.9 |
/// | Alaska panhandle | 54.4 to 60.5 | −141.1 to −129.8 |
/// | Aleutians beyond 180° | 51.0 to 53.1 | 172.3 to 180.0 |
/// | Hawaii incl. the northwestern islands | 18.8 to 28.6 | −178.5 to −154.6 |
///
/// Latitude is north-positive, longitude east-positive (so the US is at
/// negative longitudes). It is a sanity check for swapped, zeroed or
/// garbage coordinates, not a border test: places just across the
/// Canadian or Mexican border inside a box (Vancouver, Tijuana) pass,
/// and territories (Puerto Rico, Guam) do not. NaN or infinite input
/// gives `false`.
pub fn in_us_bounds(lat: f64, lon: f64) -> bool {
    if !lat.is_finite() || !lon.is_finite() {
        return false;
    }
    US_BOXES
        .iter()
        .any(|b| (b.lat_min..=b.lat_max).contains(&lat) && (b.lon_min..=b.lon_max).contains(&lon))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_counts_and_unique_codes() {
        assert_eq!(all().iter().filter(|r| r.is_us_state_or_dc).count(), 51);
        assert_eq!(
            all().iter().filter(|r| r.kind == RegionKind::State).count(),
            50
        );
        assert_eq!(all().iter().filter(|r| r.country == "CA").count(), 13);
        for (i, a) in all().iter().enumerate() {
            assert_eq!(a.abbr.len(), 2);
            assert!(a.abbr.bytes().all(|b| b.is_ascii_uppercase()));
            assert_eq!(
                a.is_us_state_or_dc,
                matches!(a.kind, RegionKind::State | RegionKind::District) && a.country == "US"
            );
            for b in &all()[i + 1..] {
                assert_ne!(a.abbr, b.abbr);
                assert_ne!(a.name, b.name);
            }
            // Every row is found by its own code and name.
            assert_eq!(by_abbr(a.abbr), Some(a));
            assert_eq!(by_name(a.name), Some(a));
        }
        assert_eq!(RegionKind::Province.as_str(), "province");
    }

    #[test]
    fn abbr_lookup() {
        assert_eq!(by_abbr("ny").map(|r| r.name), Some("New York"));
        assert_eq!(by_abbr(" Dc ").map(|r| r.kind), Some(RegionKind::District));
        let ab = by_abbr("AB").expect("Alberta");
        assert_eq!((ab.name, ab.country), ("Alberta", "CA"));
        assert!(!ab.is_us_state_or_dc);
        let pr = by_abbr("pr").expect("Puerto Rico");
        assert_eq!(pr.kind, RegionKind::Territory);
        assert!(!pr.is_us_state_or_dc);
        for odd in ["", "N", "NYC", "XX", "XMS", "é", "ñy", "\u{0}\u{0}"] {
            assert_eq!(by_abbr(odd), None, "{odd:?}");
        }
    }

    #[test]
    fn name_lookup_tolerates_source_spellings() {
        let cases = [
            ("New York", "NY"),
            ("new york", "NY"),
            ("NEW_YORK", "NY"),
            ("  New_York  ", "NY"),
            ("New\u{a0}York", "NY"),
            ("Texas*", "TX"),
            ("Georgia[a]", "GA"),
            ("Ohio [12]", "OH"),
            ("Utah†", "UT"),
            ("Texas1", "TX"),
            ("District of Columbia", "DC"),
            ("District_of_Columbia", "DC"),
            ("Washington, D.C.", "DC"),
            ("Washington D.C.[b]", "DC"),
            ("Washington", "WA"),
            ("U.S. Virgin Islands", "VI"),
            ("US Virgin Islands", "VI"),
            ("Puerto Rico", "PR"),
            ("Québec", "QC"),
            ("Newfoundland", "NL"),
            ("Hawaiʻi", "HI"),
        ];
        for (name, abbr) in cases {
            assert_eq!(by_name(name).map(|r| r.abbr), Some(abbr), "{name:?}");
        }
        for odd in [
            "",
            " ",
            "*",
            "[a]",
            "NY",
            "United States",
            "Total",
            "New",
            "York",
            "[",
            "New York [unterminated",
            "Ontario]]",
            "\u{0}",
        ] {
            assert_eq!(by_name(odd), None, "{odd:?}");
        }
    }

    #[test]
    fn google_paths() {
        let cases = [
            ("google/reviews-estados/review-New_York/3.json", Some("NY")),
            ("google-meta/meta-Vermont.json.gz", Some("VT")),
            ("review-Texas.json", Some("TX")),
            ("review-District_of_Columbia.json.gz", Some("DC")),
            ("data\\google\\review-Rhode_Island\\1.json", Some("RI")),
            ("REVIEW-new_hampshire/0.json", Some("NH")),
            ("review-Vermont_10.json.gz", Some("VT")),
            ("meta-New_Mexico", Some("NM")),
            ("anywhere/meta_South_Dakota.json.gz", Some("SD")),
            ("x/y/review_South_Dakota.json", Some("SD")),
            ("review-New_York", Some("NY")),
            ("reviews/review_New_York/2.json", Some("NY")),
            ("meta-New-York.json", Some("NY")),
            ("META_rhode_island.JSON.GZ", Some("RI")),
            ("meta_Vermont_10.json.gz", Some("VT")),
            ("google/metadata-sitios/1.json", None),
            ("metadata_Texas.json", None),
            ("reviews_Texas.json", None),
            ("meta_", None),
            ("google/reviews-estados/3.json", None),
            ("reviews-Texas.json", None),
            ("google/review-Atlantis/1.json", None),
            ("review-", None),
            ("meta-.json", None),
            ("", None),
            ("/", None),
            ("ré-view-é/ü", None),
        ];
        for (path, abbr) in cases {
            assert_eq!(
                state_from_google_path(path).map(|r| r.abbr),
                abbr,
                "{path:?}"
            );
        }
    }

    #[test]
    fn us_bounds() {
        let inside = [
            (40.7128, -74.0060),  // New York City
            (34.0522, -118.2437), // Los Angeles
            (25.7617, -80.1918),  // Miami
            (24.5551, -81.7800),  // Key West
            (38.9072, -77.0369),  // Washington, DC
            (49.3843, -95.1531),  // Northwest Angle
            (44.8125, -66.9500),  // West Quoddy Head
            (61.2181, -149.9003), // Anchorage
            (71.2906, -156.7886), // Utqiagvik (Barrow)
            (58.3019, -134.4197), // Juneau (panhandle)
            (52.9, 172.9),        // Attu Island
            (21.3069, -157.8583), // Honolulu
            (19.0, -155.6),       // Big Island, south
            (28.2, -177.4),       // Midway / Kure
            (44.26, -72.58),      // Montpelier, Vermont
        ];
        for (lat, lon) in inside {
            assert!(in_us_bounds(lat, lon), "{lat},{lon}");
        }
        let outside = [
            (0.0, 0.0),
            (-74.0060, 40.7128),  // swapped
            (40.7128, 74.0060),   // sign lost
            (53.5461, -113.4938), // Edmonton, Alberta
            (60.7212, -135.0568), // Whitehorse, Yukon
            (18.4655, -66.1057),  // San Juan, Puerto Rico
            (13.4443, 144.7937),  // Guam
            (19.4326, -99.1332),  // Mexico City
            (51.5074, -0.1278),   // London
            (f64::NAN, -74.0),
            (40.0, f64::INFINITY),
            (f64::NEG_INFINITY, f64::NAN),
            (91.0, -100.0),
        ];
        for (lat, lon) in outside {
            assert!(!in_us_bounds(lat, lon), "{lat},{lon}");
        }
    }
}
