//! The warehouse against an independent count: a plain streaming pass over the generated
//! JSON (serde_json, no lake code) counts restaurant reviews per state and platform in the
//! default scope (top-5 GDP states); the warehouse built by `cargo xtask pipeline` must
//! hold exactly those counts. Also: the run report reconciles, and `xtask sql` answers.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};

fn xtask() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_xtask"));
    c.env("RUST_LOG", "warn");
    c
}

fn lines(path: &Path) -> impl Iterator<Item = serde_json::Value> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    std::io::BufReader::new(f)
        .lines()
        .map(|l| l.unwrap())
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(&l).unwrap())
}

/// (state, platform) -> restaurant reviews, counted straight from the JSON files.
fn independent_counts(src: &Path, states: &HashSet<&str>) -> BTreeMap<(String, String), i64> {
    let mut out = BTreeMap::new();
    // Yelp: a business is a restaurant when its categories list "Restaurants".
    let mut yelp_biz: HashMap<String, String> = HashMap::new();
    for v in lines(&src.join("yelp/yelp_academic_dataset_business.json")) {
        let cats = v["categories"].as_str().unwrap_or("");
        let state = v["state"].as_str().unwrap_or("").to_string();
        if cats.split(',').any(|c| c.trim() == "Restaurants") && states.contains(state.as_str()) {
            yelp_biz.insert(v["business_id"].as_str().unwrap().to_string(), state);
        }
    }
    let mut seen = HashSet::new();
    for v in lines(&src.join("yelp/yelp_academic_dataset_review.json")) {
        let id = v["review_id"].as_str().unwrap().to_string();
        if let Some(st) = yelp_biz.get(v["business_id"].as_str().unwrap())
            && seen.insert(id)
        {
            *out.entry((st.clone(), "yelp".to_string())).or_default() += 1;
        }
    }
    // Google: a place is a restaurant when a category ends in "restaurant"; its state is
    // the two letters before the ZIP at the end of the address.
    let mut places: HashMap<String, String> = HashMap::new();
    for entry in std::fs::read_dir(src.join("google/metadata-sitios")).unwrap() {
        for v in lines(&entry.unwrap().path()) {
            let is_rest = v["category"].as_array().is_some_and(|a| {
                a.iter().any(|c| {
                    c.as_str()
                        .unwrap_or("")
                        .to_lowercase()
                        .ends_with("restaurant")
                })
            });
            let addr = v["address"].as_str().unwrap_or("");
            let tail = addr.rsplit(", ").next().unwrap_or("");
            let state = tail.split(' ').next().unwrap_or("").to_string();
            if is_rest && states.contains(state.as_str()) {
                places.insert(v["gmap_id"].as_str().unwrap().to_string(), state);
            }
        }
    }
    let mut seen = HashSet::new();
    for folder in std::fs::read_dir(src.join("google/reviews-estados")).unwrap() {
        for file in std::fs::read_dir(folder.unwrap().path()).unwrap() {
            for v in lines(&file.unwrap().path()) {
                let g = v["gmap_id"].as_str().unwrap().to_string();
                let key = (
                    v["user_id"].as_str().unwrap().to_string(),
                    g.clone(),
                    v["time"].as_i64().unwrap(),
                );
                if let Some(st) = places.get(&g)
                    && seen.insert(key)
                {
                    *out.entry((st.clone(), "google".to_string())).or_default() += 1;
                }
            }
        }
    }
    out
}

#[test]
fn restaurant_reviews_per_state_and_platform_match_an_independent_count() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let lake = dir.path().join("lake");
    reviewlake_datagen::generate(&src, &reviewlake_datagen::GenOptions::new(6000).seed(5)).unwrap();
    let report = dir.path().join("report.json");
    let st = xtask()
        .args(["pipeline", "--quiet", "--source"])
        .arg(&src)
        .arg("--lake")
        .arg(&lake)
        .arg("--report")
        .arg(&report)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());

    // The report reconciles: every raw row is carried, dropped or quarantined.
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let wh = &r["warehouse"];
    assert_eq!(
        wh["states"],
        serde_json::json!(["CA", "FL", "IL", "NY", "TX"]),
        "default scope = top-5 GDP states"
    );
    for s in wh["sources"].as_array().unwrap() {
        let sum = |k: &str| -> u64 {
            s[k].as_object()
                .unwrap()
                .values()
                .map(|v| v.as_u64().unwrap())
                .sum()
        };
        let read = s["read"].as_u64().unwrap();
        assert_eq!(
            read,
            s["carried"].as_u64().unwrap() + sum("dropped") + sum("quarantined"),
            "{s}"
        );
        if s["table"] == "yelp_review" || s["table"] == "google_review" {
            assert!(read > 0, "{s}");
        }
    }

    let states: HashSet<&str> = ["CA", "TX", "NY", "FL", "IL"].into();
    let expected = independent_counts(&src, &states);
    assert!(
        expected.len() >= 8,
        "the sample covers the states: {expected:?}"
    );

    let out = xtask()
        .args(["sql", "--format", "json", "--lake"])
        .arg(&lake)
        .arg(
            "SELECT r.state, r.source, count(*) AS n FROM fact_review r \
             JOIN dim_business b ON r.business_key = b.business_key \
             WHERE b.is_restaurant GROUP BY r.state, r.source",
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got = BTreeMap::new();
    for l in String::from_utf8(out.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        got.insert(
            (
                v["state"].as_str().unwrap().to_string(),
                v["source"].as_str().unwrap().to_string(),
            ),
            v["n"].as_i64().unwrap(),
        );
    }
    assert_eq!(got, expected);

    // No orphans: every fact row has its dimension rows.
    let out = xtask()
        .args(["sql", "--format", "csv", "--lake"])
        .arg(&lake)
        .arg(
            "SELECT \
               (SELECT count(*) FROM fact_review r LEFT JOIN dim_business b \
                  ON r.business_key = b.business_key WHERE b.business_key IS NULL) \
             + (SELECT count(*) FROM fact_review r LEFT JOIN dim_user u \
                  ON r.user_key = u.user_key WHERE u.user_key IS NULL) \
             + (SELECT count(*) FROM fact_review r LEFT JOIN dim_date d \
                  ON r.date_key = d.date_key WHERE d.date_key IS NULL) \
             + (SELECT count(*) FROM fact_tip t LEFT JOIN dim_user u \
                  ON t.user_key = u.user_key WHERE u.user_key IS NULL) \
             + (SELECT count(*) FROM fact_checkin c LEFT JOIN dim_business b \
                  ON c.business_key = b.business_key WHERE b.business_key IS NULL) \
             + (SELECT count(*) FROM dim_business b LEFT JOIN dim_location l \
                  ON b.location_key = l.location_key WHERE l.location_key IS NULL) \
             AS orphans",
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().nth(1), Some("0"), "{text}");
}

/// `--fetch-gdp` takes the GDP table from another page (a local file here: no network in
/// tests) and `--top-gdp N` scopes the warehouse to that page's N largest states.
#[test]
fn fetched_gdp_page_sets_the_state_scope() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let lake = dir.path().join("lake");
    reviewlake_datagen::generate(&src, &reviewlake_datagen::GenOptions::new(3000).seed(9)).unwrap();
    // A page in Wikipedia's shape where Vermont and Florida lead.
    let page = dir.path().join("gdp.html");
    std::fs::write(
        &page,
        r#"<html><body><table class="wikitable sortable">
<tr><th>Rank</th><th>State or federal district</th><th>Nominal GDP (millions of US$) 2023</th></tr>
<tr><td>1</td><td><a href="/wiki/Vermont">Vermont</a><sup class="reference">[a]</sup></td><td>$9,000,000</td></tr>
<tr><td>2</td><td><a href="/wiki/Florida">Florida</a></td><td>$8,000,000</td></tr>
<tr><td>3</td><td><a href="/wiki/California">California</a></td><td>$10,000</td></tr>
<tr><td></td><td>United States</td><td>$17,010,000</td></tr>
</table></body></html>"#,
    )
    .unwrap();
    let report = dir.path().join("report.json");
    let st = xtask()
        .args([
            "pipeline",
            "--quiet",
            "--until",
            "warehouse",
            "--top-gdp",
            "2",
        ])
        .arg("--fetch-gdp")
        .arg(&page)
        .arg("--source")
        .arg(&src)
        .arg("--lake")
        .arg(&lake)
        .arg("--report")
        .arg(&report)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["warehouse"]["states"], serde_json::json!(["FL", "VT"]));
    let out = xtask()
        .args(["sql", "--format", "csv", "--lake"])
        .arg(&lake)
        .arg(
            "SELECT (SELECT count(*) FROM state_gdp) * 1000 \
             + (SELECT count(*) FROM dim_business WHERE state NOT IN ('FL', 'VT')) AS n",
        )
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines().nth(1),
        Some("3000"),
        "3 states scraped, none outside FL/VT"
    );
}
