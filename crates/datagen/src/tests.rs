//! Contract tests of the generator output (small N, debug-fast).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{GenOptions, GenSummary, generate};

const N: u64 = 2000;

fn gen_into(dir: &Path, reviews: u64, seed: u64, dirty: f64) -> GenSummary {
    generate(dir, &GenOptions::new(reviews).seed(seed).dirty(dirty)).expect("gen run")
}

/// Every file under `root`, sorted.
pub(crate) fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.expect("walk").into_path())
        .filter(|p| !p.is_dir())
        .collect();
    out.sort();
    out
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap()
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Physical lines of a file (split on '\n'; a final newline ends the last).
fn physical_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if bytes.ends_with(b"\n") {
        v.pop();
    }
    v
}

fn is_blank(l: &[u8]) -> bool {
    l.iter().all(|b| b.is_ascii_whitespace())
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

fn injections(dir: &Path) -> HashMap<(String, u64), (String, bool)> {
    let text = std::fs::read_to_string(dir.join("dirty_manifest.jsonl")).unwrap();
    let mut m = HashMap::new();
    for l in text.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        let key = (
            v["path"].as_str().unwrap().to_string(),
            v["line"].as_u64().unwrap(),
        );
        let val = (
            v["kind"].as_str().unwrap().to_string(),
            v["quarantine"].as_bool().unwrap(),
        );
        assert!(
            m.insert(key, val).is_none(),
            "duplicate injection entry {l}"
        );
    }
    m
}

#[test]
fn gen_is_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    gen_into(a.path(), N, 11, 0.05);
    gen_into(b.path(), N, 11, 0.05);
    let fa = walk(a.path());
    let fb = walk(b.path());
    assert_eq!(
        fa.iter().map(|p| rel(a.path(), p)).collect::<Vec<_>>(),
        fb.iter().map(|p| rel(b.path(), p)).collect::<Vec<_>>()
    );
    for (x, y) in fa.iter().zip(&fb) {
        assert!(
            std::fs::read(x).unwrap() == std::fs::read(y).unwrap(),
            "{} differs",
            x.display()
        );
    }
    // A different seed gives different data.
    let c = tempfile::tempdir().unwrap();
    gen_into(c.path(), N, 12, 0.05);
    let r = "yelp/yelp_academic_dataset_review.json";
    assert_ne!(
        std::fs::read(a.path().join(r)).unwrap(),
        std::fs::read(c.path().join(r)).unwrap()
    );
}

#[test]
fn gen_layout_and_clean_contract() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let summary = gen_into(dir, N, 5, 0.0);
    for f in [
        "yelp/yelp_academic_dataset_business.json",
        "yelp/yelp_academic_dataset_review.json",
        "yelp/yelp_academic_dataset_user.json",
        "yelp/yelp_academic_dataset_checkin.json",
        "yelp/yelp_academic_dataset_tip.json",
        "google/metadata-sitios/1.json",
        "manifest.json",
        "dirty_manifest.jsonl",
    ] {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    assert_eq!(
        std::fs::read(dir.join("dirty_manifest.jsonl"))
            .unwrap()
            .len(),
        0
    );
    assert_eq!(summary.injected, 0);
    assert_eq!(summary.reviews, N);

    // Places: gmap_id -> folder derived from the address tail.
    let mut place_folder: HashMap<String, String> = HashMap::new();
    let mut yelp_biz_ids = std::collections::HashSet::new();
    let mut reviews = 0u64;
    let mut stars_hist = [0u64; 6];
    let mut google_texts = (0u64, 0u64);
    for p in walk(dir) {
        let r = rel(dir, &p);
        if !r.ends_with(".json") || r == "manifest.json" {
            continue;
        }
        let bytes = std::fs::read(&p).unwrap();
        assert!(bytes.ends_with(b"\n"), "{r} must end with a newline");
        for l in physical_lines(&bytes) {
            let v: Value = serde_json::from_slice(l).unwrap_or_else(|e| panic!("{r}: {e}"));
            assert!(v.is_object(), "{r}");
            if r.starts_with("google/metadata-sitios/") {
                let addr = v["address"].as_str().unwrap();
                let tail = addr.rsplit(", ").next().unwrap();
                let abbr = tail.split(' ').next().unwrap();
                let folder = super::google::state_folder(abbr).unwrap_or_else(|| panic!("{addr}"));
                let gid = v["gmap_id"].as_str().unwrap().to_string();
                assert!(
                    place_folder.insert(gid, folder).is_none(),
                    "duplicate gmap_id"
                );
                assert!(
                    v.get("state").is_some() && v.get("MISC").is_some() && v.get("url").is_some()
                );
            }
            if r == "yelp/yelp_academic_dataset_business.json" {
                let id = v["business_id"].as_str().unwrap();
                assert_eq!(id.len(), 22);
                assert!(
                    id.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                );
                yelp_biz_ids.insert(id.to_string());
                let s = v["stars"].as_f64().unwrap();
                assert!((1.0..=5.0).contains(&s) && (s * 2.0).fract() == 0.0);
            }
            if r == "yelp/yelp_academic_dataset_review.json" {
                reviews += 1;
                let s = v["stars"].as_f64().unwrap();
                stars_hist[s as usize] += 1;
                let words = v["text"].as_str().unwrap().split_whitespace().count();
                assert!((5..=80).contains(&words), "{words} words");
                assert!(yelp_biz_ids.contains(v["business_id"].as_str().unwrap()));
            }
            if r == "yelp/yelp_academic_dataset_user.json" {
                let f = v["friends"].as_str().unwrap();
                assert!(f == "None" || f.split(", ").all(|x| x.len() == 22));
                assert!(v["elite"].is_string());
            }
        }
    }
    for p in walk(dir) {
        let r = rel(dir, &p);
        let Some(restf) = r.strip_prefix("google/reviews-estados/") else {
            continue;
        };
        let folder = restf.split('/').next().unwrap();
        let bytes = std::fs::read(&p).unwrap();
        for l in physical_lines(&bytes) {
            let v: Value = serde_json::from_slice(l).unwrap();
            reviews += 1;
            let uid = v["user_id"].as_str().expect("user_id is a string");
            assert_eq!(uid.len(), 21, "{uid}");
            assert!(uid.bytes().all(|b| b.is_ascii_digit()));
            let rating = v["rating"].as_u64().unwrap();
            assert!((1..=5).contains(&rating));
            stars_hist[rating as usize] += 1;
            assert!(v["time"].as_i64().unwrap() > 1_262_304_000_000);
            let gid = v["gmap_id"].as_str().unwrap();
            assert_eq!(
                place_folder.get(gid).map(String::as_str),
                Some(folder),
                "{gid}"
            );
            if v["text"].is_null() {
                google_texts.0 += 1;
            } else {
                google_texts.1 += 1;
            }
        }
    }
    assert_eq!(reviews, N);
    // Realistic rating mix: 5 is the most common, then 4; 1s exist.
    assert!(
        stars_hist[5] > stars_hist[4] && stars_hist[4] > stars_hist[2],
        "{stars_hist:?}"
    );
    assert!(stars_hist[1] > 0);
    let null_share = google_texts.0 as f64 / (google_texts.0 + google_texts.1) as f64;
    assert!((0.3..0.5).contains(&null_share), "{null_share}");

    let m = manifest(dir);
    assert_eq!(m["reviews"], N);
    for f in m["files"].as_array().unwrap() {
        assert_eq!(f["lines"], f["records"]);
    }
}

#[test]
fn gen_dirty_manifest_reconciles() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let summary = gen_into(dir, N, 3, 0.05);
    let inj = injections(dir);
    assert_eq!(inj.len() as u64, summary.injected);
    assert!(summary.injected > 0);
    let m = manifest(dir);
    let files = m["files"].as_array().unwrap();
    let mut kinds_seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut generated_reviews = 0;
    let mut matched = 0usize;
    for f in files {
        let path = f["path"].as_str().unwrap();
        let ds = f["dataset"].as_str().unwrap();
        if ds == "yelp_review" || ds == "google_review" {
            generated_reviews += f["generated"].as_u64().unwrap();
        }
        let bytes = std::fs::read(dir.join(path)).unwrap();
        assert_eq!(f["bytes"].as_u64().unwrap(), bytes.len() as u64, "{path}");
        let lines = physical_lines(&bytes);
        let mut nonblank = 0u64;
        let mut quarantined = 0u64;
        for (i, l) in lines.iter().enumerate() {
            let no = i as u64 + 1;
            if !is_blank(l) {
                nonblank += 1;
            }
            let parsed = serde_json::from_slice::<Value>(l);
            match inj.get(&(path.to_string(), no)) {
                None => {
                    assert!(!is_blank(l), "{path}:{no} blank without injection");
                    assert!(
                        parsed.is_ok_and(|v| v.is_object()),
                        "{path}:{no} should be clean"
                    );
                }
                Some((kind, q)) => {
                    matched += 1;
                    *kinds_seen.entry(kind.clone()).or_default() += 1;
                    if *q {
                        quarantined += 1;
                    }
                    match kind.as_str() {
                        "blank_line" => assert!(is_blank(l) && !q),
                        "malformed_json" | "invalid_utf8" => {
                            assert!(parsed.is_err() && *q, "{path}:{no}")
                        }
                        "truncated_last_line" => {
                            assert!(
                                parsed.is_err()
                                    && *q
                                    && i + 1 == lines.len()
                                    && !bytes.ends_with(b"\n")
                            )
                        }
                        "not_an_object" => assert!(!parsed.unwrap().is_object() && *q),
                        "wrong_type" => assert!(parsed.unwrap().is_object() && !q),
                        "duplicate" => assert!(i > 0 && lines[i - 1] == *l && !q),
                        "negative_votes" | "far_coordinates" | "numeric_string" => {
                            assert!(parsed.unwrap().is_object() && !q)
                        }
                        other => panic!("unknown kind {other}"),
                    }
                }
            }
        }
        assert_eq!(f["lines"].as_u64().unwrap(), nonblank, "{path}");
        assert_eq!(
            f["records"].as_u64().unwrap(),
            nonblank - quarantined,
            "{path}"
        );
    }
    assert_eq!(matched, inj.len(), "every injection points at a real line");
    assert_eq!(generated_reviews, N);
    for k in [
        "malformed_json",
        "duplicate",
        "blank_line",
        "truncated_last_line",
    ] {
        assert!(kinds_seen.contains_key(k), "no {k} in {kinds_seen:?}");
    }
    assert_eq!(m["injected_total"].as_u64().unwrap(), summary.injected);
}

#[test]
fn gen_scales_entities() {
    let p = super::Plan::new(10_000_000);
    assert_eq!(p.yelp_reviews + p.google_reviews, 10_000_000);
    assert_eq!(p.yelp_businesses, 400_000);
    let p = super::Plan::new(100);
    assert_eq!(p.yelp_businesses, 20);
    assert_eq!(p.yelp_users, 30);
}

/// `cargo test -p reviewlake-datagen --release gen_timing_100k -- --ignored --nocapture`
#[test]
#[ignore]
fn gen_timing_100k() {
    let d = tempfile::tempdir().unwrap();
    let t = std::time::Instant::now();
    let s = gen_into(d.path(), 100_000, 42, 0.01);
    let secs = t.elapsed().as_secs_f64();
    let bytes: u64 = s.files.iter().map(|f| f.2).sum();
    for (p, lines, b) in &s.files {
        println!("{:>10} lines {:>12} bytes  {}", lines, b, rel(d.path(), p));
    }
    println!(
        "reviews={} businesses={} users={} injected={} total={} bytes in {:.2}s ({:.1} MB/s)",
        s.reviews,
        s.businesses,
        s.users,
        s.injected,
        bytes,
        secs,
        bytes as f64 / 1e6 / secs
    );
}

/// The in-memory stream yields exactly the bytes of the tree, its manifest and its
/// injections.
#[test]
fn stream_matches_generated_tree() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let opts = GenOptions::new(N).seed(3).dirty(0.05);
    let summary = generate(dir, &opts).unwrap();

    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut injected: HashMap<(String, u64), (String, bool)> = HashMap::new();
    let mut numbers: HashMap<String, u64> = HashMap::new();
    let mut stream = super::all_records(&opts).unwrap();
    let mut google_reviews = Vec::new();
    for line in stream.by_ref() {
        let n = numbers.entry(line.path.to_string()).or_default();
        *n += 1;
        assert_eq!(line.number, *n, "{}", line.path);
        let f = files.entry(line.path.to_string()).or_default();
        f.extend_from_slice(&line.bytes);
        if line.ends_with_newline() {
            f.push(b'\n');
        }
        if let Some(k) = line.fault {
            injected.insert(
                (line.path.to_string(), line.number),
                (k.name().to_string(), line.quarantined()),
            );
        }
        if line.dataset == super::RawDataset::GoogleReview {
            google_reviews.push(line);
        }
    }
    assert!(stream.is_done());
    assert_eq!(stream.next(), None);
    assert_eq!(stream.manifest(), summary.manifest);
    assert_eq!(
        manifest(dir),
        serde_json::to_value(stream.manifest()).unwrap()
    );
    assert_eq!(injected, injections(dir));

    let on_disk: Vec<String> = walk(dir)
        .iter()
        .map(|p| rel(dir, p))
        .filter(|r| r != "manifest.json" && r != "dirty_manifest.jsonl")
        .collect();
    assert_eq!(on_disk, files.keys().cloned().collect::<Vec<_>>());
    for (r, bytes) in &files {
        assert!(std::fs::read(dir.join(r)).unwrap() == *bytes, "{r} differs");
    }

    // One dataset alone: the same lines, in the same order.
    let alone: Vec<_> = super::records(&opts, super::RawDataset::GoogleReview)
        .unwrap()
        .collect();
    assert_eq!(alone, google_reviews);
}

#[test]
fn progress_counts_reviews() {
    use reviewlake_schema::progress::{Event, Progress, Reporter, Unit};
    use std::sync::{Arc, Mutex};

    #[derive(Default)]
    struct Log(Mutex<Vec<String>>, Mutex<u64>);
    impl Progress for Log {
        fn event(&self, e: &Event<'_>) {
            match e {
                Event::Advance { task, n } => {
                    assert_eq!(*task, "gen");
                    *self.1.lock().unwrap() += n;
                }
                e => self.0.lock().unwrap().push(format!("{e:?}")),
            }
        }
    }
    let sink = Arc::new(Log::default());
    let d = tempfile::tempdir().unwrap();
    let opts = GenOptions::new(N).reporter(Reporter::new(sink.clone()));
    generate(d.path(), &opts).unwrap();
    assert_eq!(*sink.1.lock().unwrap(), N);
    let start = format!(
        "{:?}",
        Event::Start {
            task: "gen",
            total: Some(N),
            unit: Unit::Items
        }
    );
    let finish = format!("{:?}", Event::Finish { task: "gen" });
    assert_eq!(*sink.0.lock().unwrap(), [start.clone(), finish.clone()]);

    // The stream of one dataset reports that dataset's reviews.
    let sink = Arc::new(Log::default());
    let opts = GenOptions::new(N).reporter(Reporter::new(sink.clone()));
    let n = super::records(&opts, super::RawDataset::YelpReview)
        .unwrap()
        .count() as u64;
    assert_eq!(*sink.1.lock().unwrap(), n);
    assert_eq!(sink.0.lock().unwrap().len(), 2);
}

#[test]
fn gen_errors_name_the_option_or_path() {
    let d = tempfile::tempdir().unwrap();
    for bad in [-0.1, 1.5, f64::NAN] {
        let e = generate(d.path(), &GenOptions::new(10).dirty(bad)).unwrap_err();
        assert!(
            matches!(e, super::DatagenError::InvalidOption { name: "dirty", .. }),
            "{e}"
        );
        assert!(super::all_records(&GenOptions::new(10).dirty(bad)).is_err());
    }
    // The output folder is a file.
    let file = d.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let e = generate(&file, &GenOptions::new(10)).unwrap_err();
    match &e {
        super::DatagenError::Io { path, .. } => assert_eq!(path, &file),
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains(&file.display().to_string()), "{e}");
}

/// Numbered part files of an earlier, larger run go; anything else stays.
#[test]
fn gen_removes_stale_parts_only() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let meta = dir.join("google/metadata-sitios");
    let gone_state = dir.join("google/reviews-estados/review-Atlantis");
    let kept_state = dir.join("google/reviews-estados/review-Lemuria");
    for p in [&meta, &gone_state, &kept_state] {
        std::fs::create_dir_all(p).unwrap();
    }
    for f in [
        meta.join("7.json"),
        meta.join("notes.json"),
        gone_state.join("1.json"),
        gone_state.join("2.json"),
        kept_state.join("1.json"),
        kept_state.join("README.txt"),
    ] {
        std::fs::write(f, "{}\n").unwrap();
    }
    generate(dir, &GenOptions::new(300)).unwrap();
    assert!(!meta.join("7.json").exists());
    assert!(meta.join("notes.json").is_file());
    assert!(meta.join("1.json").is_file());
    assert!(!gone_state.exists());
    assert!(!kept_state.join("1.json").exists());
    assert!(kept_state.join("README.txt").is_file());
}

#[test]
fn records_are_send() {
    fn send<T: Send>() {}
    send::<super::Records>();
    send::<super::Line>();
}
