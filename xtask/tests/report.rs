//! The HTML report in a real browser: generated data through the whole pipeline, then
//! `cargo xtask report`, then a screenshot in headless Chromium (Debian's `chromium`);
//! the screenshot must show the rendered charts (pixels of the series colours), and the
//! page must be self-contained (nothing fetched from the network).

use std::process::{Command, Stdio};

use reviewlake_features::report::PALETTE;

fn xtask() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_xtask"));
    c.env("RUST_LOG", "warn");
    c
}

/// `xtask sql --format csv` over `lake`: the trimmed output (header and rows).
fn sql_csv(lake: &std::path::Path, q: &str) -> String {
    let o = xtask()
        .args(["sql", "--format", "csv", "--lake"])
        .arg(lake)
        .arg(q)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn rgb(hex: &str) -> [u8; 3] {
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap();
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

#[test]
fn report_renders_charts_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let (src, lake) = (dir.path().join("src"), dir.path().join("lake"));
    let ok = |c: &mut Command| assert!(c.stdout(Stdio::null()).status().unwrap().success());
    reviewlake_datagen::generate(&src, &reviewlake_datagen::GenOptions::new(8000).seed(3)).unwrap();
    ok(xtask()
        .args(["pipeline", "--quiet", "--source"])
        .arg(&src)
        .arg("--lake")
        .arg(&lake));
    let html = dir.path().join("report.html");
    ok(xtask()
        .args(["report", "--lake"])
        .arg(&lake)
        .arg("--out")
        .arg(&html));

    let text = std::fs::read_to_string(&html).unwrap();
    // The generated data ends inside a quarter (and Google's before Yelp's): those
    // quarters are marked partial and the headline is the latest whole one.
    let sql = |q: &str| sql_csv(&lake, q);
    let overall = "grain = 'quarter' AND state IS NULL AND category IS NULL AND source IS NULL \
                   AND business_key IS NULL AND kpi = 'review_growth_rate'";
    let last = sql(&format!(
        "SELECT CAST(partial AS VARCHAR) AS p FROM kpi WHERE {overall} \
         ORDER BY period_start DESC LIMIT 1"
    ));
    assert_eq!(last, "p\ntrue", "the last quarter is not marked partial");
    let headline = text
        .split("Latest whole quarter with enough reviews: <b>")
        .nth(1)
        .and_then(|t| t.split("</b>").next())
        .unwrap_or_default()
        .to_string();
    let (year, q) = headline.split_once(" Q").expect("a headline quarter");
    let start = format!("{year}-{:02}-01", (q.parse::<u32>().unwrap() - 1) * 3 + 1);
    let flag = sql(&format!(
        "SELECT CAST(partial AS VARCHAR) AS p FROM kpi WHERE {overall} \
         AND period_start = DATE '{start}'"
    ));
    assert_eq!(flag, "p\nfalse", "headline {headline} is a partial quarter");
    assert!(
        !text.contains("src=\"http") && !text.contains("href=\"http"),
        "self-contained"
    );
    assert!(!text.contains("<script"), "no script needed");
    for section in [
        "retention rate",
        "review growth rate",
        "Rising and declining",
        "Sentiment by platform",
    ] {
        assert!(text.contains(section), "{section}");
    }

    let shot = dir.path().join("shot.png");
    let out = Command::new(reviewlake_tests::chromium_binary())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1400,2600",
        ])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3);
    let pixels: Vec<[u8; 3]> = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    let near = |a: [u8; 3], b: [u8; 3]| a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 12);
    // Five state series, two platforms, green/red bars: at least five colours drawn.
    let drawn: Vec<(&str, usize)> = PALETTE
        .iter()
        .map(|c| (*c, pixels.iter().filter(|p| near(**p, rgb(c))).count()))
        .collect();
    let visible = drawn.iter().filter(|(_, n)| *n >= 150).count();
    assert!(visible >= 5, "chart colours in the screenshot: {drawn:?}");
    // Not a blank page: many non-background pixels.
    let ink = pixels.iter().filter(|p| p.iter().all(|c| *c < 200)).count();
    assert!(ink > 20_000, "{ink} dark pixels");
}

/// The bundled real samples (tests/data/real) leave few reviews in the default scope:
/// the run summary counts the KPI rows below the minimum support, every such row is
/// marked `low_support`, and the report builds no headline on them.
#[test]
fn real_samples_build_no_headline_below_the_minimum_support() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let real = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/real");
    let out = xtask()
        .args(["pipeline", "--until", "features", "--source"])
        .arg(&real)
        .arg("--lake")
        .arg(&lake)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("KPI rows rest on fewer than 30 reviews"),
        "{stdout}"
    );

    // Every KPI row under 30 reviews is marked.
    let sql = |q: &str| sql_csv(&lake, q);
    let unmarked = sql("SELECT count(*) AS n FROM kpi WHERE support < 30 AND NOT low_support");
    assert!(
        unmarked.ends_with("\n0") || unmarked == "n\n0",
        "{unmarked}"
    );
    let marked = sql("SELECT count(*) AS n FROM kpi WHERE low_support");
    assert!(
        !marked.ends_with("\n0"),
        "no low-support row on 24 reviews: {marked}"
    );

    let html = dir.path().join("report.html");
    let o = xtask()
        .args(["report", "--lake"])
        .arg(&lake)
        .arg("--out")
        .arg(&html)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(
        text.contains("Latest whole quarter with enough reviews: <b>none</b>"),
        "a headline on fewer than 30 reviews"
    );
}
