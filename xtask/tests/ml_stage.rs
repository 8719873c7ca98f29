//! The `ml` stage through the `xtask` binary, on a lake built by the full pipeline from
//! generated data: the registry and its artifacts, the prediction tables checked against
//! the warehouse (recommendations name businesses of `dim_business`, are sorted by score,
//! never repeat a reviewed business, cover every user of `dim_user` and flag cold-start
//! users), tuning trials, promotion (an equal model is not promoted, `--force` promotes),
//! same seed -> same metrics, and `xtask models`.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use arrow::array::{Array, BooleanArray, Float64Array, Int32Array, Int64Array, StringArray};
use reviewlake_lake::Lake;

fn xtask() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_xtask"));
    c.env("RUST_LOG", "warn")
        .env_remove("REVIEWLAKE_TEST_PAUSE_AFTER_COMMITS")
        .stdin(Stdio::null());
    c
}

fn ok(c: &mut Command) -> Output {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{c:?}: {:?}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every row of a query as (column name -> value) maps, through the lake's read-only
/// session on the latest snapshot.
fn rows(lake: &Path, sql: &str) -> Vec<HashMap<String, serde_json::Value>> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let l = Lake::open_existing(lake.to_str().unwrap()).unwrap();
        let mut out = Vec::new();
        for b in l.sql(sql).await.unwrap() {
            for r in 0..b.num_rows() {
                let mut m = HashMap::new();
                for (i, f) in b.schema().fields().iter().enumerate() {
                    let c = b.column(i);
                    let v = if c.is_null(r) {
                        serde_json::Value::Null
                    } else if let Some(a) = c.as_any().downcast_ref::<Int64Array>() {
                        a.value(r).into()
                    } else if let Some(a) = c.as_any().downcast_ref::<Int32Array>() {
                        a.value(r).into()
                    } else if let Some(a) = c.as_any().downcast_ref::<Float64Array>() {
                        a.value(r).into()
                    } else if let Some(a) = c.as_any().downcast_ref::<BooleanArray>() {
                        a.value(r).into()
                    } else if let Some(a) = c.as_any().downcast_ref::<StringArray>() {
                        a.value(r).into()
                    } else {
                        panic!(
                            "column {} of {sql}: unexpected type {}",
                            f.name(),
                            c.data_type()
                        )
                    };
                    m.insert(f.name().clone(), v);
                }
                out.push(m);
            }
        }
        out
    })
}

fn i(v: &serde_json::Value) -> i64 {
    v.as_i64().unwrap()
}

#[test]
fn the_ml_stage_trains_registers_and_predicts_for_every_user() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    reviewlake_datagen::generate(&src, &reviewlake_datagen::GenOptions::new(4_000).seed(5))
        .unwrap();
    let lake = dir.path().join("lake");
    let run_report = dir.path().join("run.json");
    let out = ok(xtask()
        .args(["pipeline", "--quiet", "--source"])
        .arg(&src)
        .arg("--lake")
        .arg(&lake)
        .arg("--report")
        .arg(&run_report));
    // --quiet: nothing on stdout; the machine-readable summary is in the report file.
    assert!(
        out.stdout.is_empty(),
        "--quiet printed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&run_report).unwrap()).unwrap();
    for stage in ["files", "warehouse", "features", "ml"] {
        assert!(summary.get(stage).is_some(), "{stage} missing: {summary}");
    }

    // The registry: every family, one current version each, metrics beside baselines.
    let reg = rows(
        &lake,
        "SELECT name, version, \"current\", snapshot_id, metrics_json, params_json FROM registry ORDER BY name, version",
    );
    let names: HashSet<&str> = reg.iter().map(|r| r["name"].as_str().unwrap()).collect();
    for n in [
        "als",
        "implicit_als",
        "sites",
        "growth_business",
        "growth_category_state",
    ] {
        assert!(
            names.contains(n),
            "{n} missing from the registry: {names:?}"
        );
    }
    for r in &reg {
        assert_eq!(i(&r["version"]), 1);
        assert!(r["snapshot_id"].is_i64(), "{r:?}");
        let m: serde_json::Value =
            serde_json::from_str(r["metrics_json"].as_str().unwrap()).unwrap();
        // A first version is current unless it does not beat its best baseline (the
        // implicit model against popularity on NDCG@10; the explicit one's serving
        // policy against every baseline serving every segment, on NDCG@10).
        let expected = match r["name"].as_str().unwrap() {
            "implicit_als" => {
                m["ndcg_at_10"].as_f64().unwrap()
                    > m["baselines"]["popularity"]["ndcg_at_10"].as_f64().unwrap()
            }
            "als" => {
                let policy = m["policy"]["ndcg_at_10"].as_f64().unwrap();
                let baselines = m["policy"]["baselines_ndcg_at_10"].as_object().unwrap();
                assert_eq!(baselines.len(), 3, "{m}");
                baselines.values().all(|b| policy > b.as_f64().unwrap())
            }
            _ => true,
        };
        assert_eq!(r["current"], serde_json::Value::Bool(expected), "{r:?}");
        // Every version has its metadata; a model that cannot be served (the implicit
        // one when popularity beats it) has no model artifact.
        let folder = lake
            .join("models")
            .join(r["name"].as_str().unwrap())
            .join("1");
        assert!(folder.join("meta.json").is_file(), "{r:?}");
        let has_model = folder.join("model.json").is_file();
        match r["name"].as_str().unwrap() {
            "implicit_als" => assert_eq!(has_model, expected, "{m}"),
            _ => assert!(has_model, "{r:?}"),
        }
    }
    // On this data the explicit model does beat its baselines (the API tests rely on it).
    assert!(
        reg.iter()
            .any(|r| r["name"] == "als" && r["current"] == serde_json::Value::Bool(true)),
        "{reg:?}"
    );
    let als = reg.iter().find(|r| r["name"] == "als").unwrap();
    let metrics: serde_json::Value =
        serde_json::from_str(als["metrics_json"].as_str().unwrap()).unwrap();
    for k in [
        "rmse",
        "mae",
        "precision_at_10",
        "recall_at_10",
        "ndcg_at_10",
    ] {
        assert!(
            metrics[k].as_f64().is_some_and(f64::is_finite),
            "als {k}: {metrics}"
        );
    }
    for b in [
        "global_mean",
        "user_item_bias",
        "popularity",
        "popularity_by_state",
    ] {
        assert!(
            metrics["baselines"][b].is_object(),
            "baseline {b}: {metrics}"
        );
    }
    // The biased model serves `als`; every candidate on every segment, both splits; the
    // serving policy is never worse than the best baseline of a segment on NDCG@10.
    assert_eq!(metrics["model"], "biased", "{metrics}");
    let random_rows = metrics["segments"]["random"].as_array().unwrap();
    let candidates: HashSet<&str> = random_rows
        .iter()
        .map(|r| r["candidate"].as_str().unwrap())
        .collect();
    for c in [
        "biased",
        "als",
        "bias_baseline",
        "global_mean",
        "popularity",
        "popularity_by_state",
        "implicit_als",
    ] {
        assert!(candidates.contains(c), "{c} missing: {candidates:?}");
    }
    let policy = metrics["policy"]["by_segment"].as_object().unwrap();
    assert!(!policy.is_empty(), "{metrics}");
    for (seg, p) in policy {
        let served = &p["candidate"];
        let seg_rows = metrics["segments"][p["chosen_on"].as_str().unwrap()]
            .as_array()
            .unwrap();
        let ndcg = |cand: &str| {
            seg_rows
                .iter()
                .find(|r| r["segment"] == seg.as_str() && r["candidate"] == cand)
                .and_then(|r| r["ndcg"].as_f64())
        };
        let served_ndcg = ndcg(served.as_str().unwrap()).expect("the served candidate is measured");
        for b in ["bias_baseline", "popularity", "popularity_by_state"] {
            if let Some(v) = ndcg(b) {
                assert!(
                    served_ndcg >= v,
                    "segment {seg}: {served} NDCG {served_ndcg} below {b} {v}"
                );
            }
        }
    }
    // The model artifact is in the models zone, beside its meta.
    assert!(lake.join("models/als/1/model.json").is_file());
    assert!(lake.join("models/als/1/meta.json").is_file());

    // Tuning trials: the biased model's grid (rank x reg x user bias λ) with its fold
    // scores.
    let trials = rows(
        &lake,
        "SELECT family, count(*) AS n FROM trials GROUP BY family",
    );
    let als_trials = trials
        .iter()
        .find(|r| r["family"] == "als/biased")
        .map(|r| i(&r["n"]));
    assert_eq!(als_trials, Some(12), "{trials:?}");

    // Recommendations: every user, only real businesses, sorted, never reviewed.
    let businesses: HashSet<i64> = rows(&lake, "SELECT business_key FROM dim_business")
        .iter()
        .map(|r| i(&r["business_key"]))
        .collect();
    let users: Vec<i64> = rows(&lake, "SELECT user_key FROM dim_user")
        .iter()
        .map(|r| i(&r["user_key"]))
        .collect();
    let mut reviewed: HashMap<i64, HashSet<i64>> = HashMap::new();
    for r in rows(&lake, "SELECT user_key, business_key FROM fact_review") {
        reviewed
            .entry(i(&r["user_key"]))
            .or_default()
            .insert(i(&r["business_key"]));
    }
    // Ratings per user (what the segments count).
    let mut rated: HashMap<i64, usize> = HashMap::new();
    for r in rows(&lake, "SELECT user_key FROM review_features") {
        *rated.entry(i(&r["user_key"])).or_default() += 1;
    }
    let recs = rows(
        &lake,
        "SELECT user_key, business_key, rank, score, cold_start, model, segment FROM recommendations ORDER BY user_key, rank",
    );
    let mut by_user: HashMap<i64, Vec<&HashMap<String, serde_json::Value>>> = HashMap::new();
    for r in &recs {
        by_user.entry(i(&r["user_key"])).or_default().push(r);
    }
    assert_eq!(
        by_user.len(),
        users.len(),
        "every user of dim_user gets recommendations"
    );
    let current_als = reg
        .iter()
        .any(|r| r["name"] == "als" && r["current"] == serde_json::Value::Bool(true));
    let mut served_by: HashMap<(&str, String), usize> = HashMap::new();
    let (mut cold, mut warm) = (0, 0);
    for u in &users {
        let list = &by_user[u];
        assert_eq!(list.len(), 10, "user {u}: top 10");
        let seen = reviewed.get(u).cloned().unwrap_or_default();
        let flag = list[0]["cold_start"].as_bool().unwrap();
        for (k, r) in list.iter().enumerate() {
            let b = i(&r["business_key"]);
            assert!(
                businesses.contains(&b),
                "user {u}: business {b} not in dim_business"
            );
            assert!(!seen.contains(&b), "user {u} already reviewed {b}");
            assert_eq!(i(&r["rank"]), k as i64 + 1);
            if k > 0 {
                // Model rows first; cold-start rows only fill a short list.
                assert!(
                    r["cold_start"].as_bool().unwrap()
                        || !list[k - 1]["cold_start"].as_bool().unwrap(),
                    "user {u}: a model row after a cold-start row"
                );
            }
            if k > 0 && r["cold_start"] == list[k - 1]["cold_start"] {
                assert!(
                    r["score"].as_f64().unwrap() <= list[k - 1]["score"].as_f64().unwrap(),
                    "user {u}: not sorted by score"
                );
            }
        }
        // Every row names its user's segment, and the policy's candidate for that
        // segment served the list (cold-start rows only fill a short list; a user
        // without ratings is cold start).
        let n_rated = rated.get(u).copied().unwrap_or(0);
        let segment = match n_rated {
            0 => "0",
            1 => "1",
            2..=4 => "2-4",
            5..=9 => "5-9",
            _ => "10+",
        };
        for r in list {
            assert_eq!(r["segment"], segment, "user {u} with {n_rated} ratings");
            let model = r["model"].as_str().unwrap();
            assert_eq!(r["cold_start"].as_bool().unwrap(), model == "cold_start");
            if model != "cold_start" {
                let want = if current_als {
                    policy[segment]["candidate"].as_str()
                } else {
                    Some(model)
                };
                assert_eq!(Some(model), want, "user {u} in segment {segment}");
                *served_by.entry((segment, model.to_string())).or_default() += 1;
            }
        }
        if n_rated == 0 {
            assert!(flag, "user {u} without ratings");
        }
        if flag {
            cold += 1;
        } else {
            warm += 1;
        }
    }
    assert!(cold > 0 && warm > 0, "cold {cold}, warm {warm}");
    // The policy serves more than one kind of user here: at least one segment by a
    // model, at least one by something else than the cold-start ranking.
    assert!(
        served_by
            .keys()
            .any(|(_, m)| m == "biased" || m == "als" || m == "implicit_als"),
        "{served_by:?}"
    );
    // Cold-start lists follow the catalog ranking (Bayesian average of the platform
    // rating), within the user's state first.
    let cold_rows = recs
        .iter()
        .filter(|r| r["cold_start"] == serde_json::Value::Bool(true))
        .count();
    assert!(cold_rows >= cold * 10);

    // Similar businesses and site candidates refer to real businesses / states.
    for r in rows(
        &lake,
        "SELECT business_key, similar_business_key FROM similar_businesses",
    ) {
        assert!(businesses.contains(&i(&r["business_key"])));
        assert!(businesses.contains(&i(&r["similar_business_key"])));
        assert_ne!(r["business_key"], r["similar_business_key"]);
    }
    assert!(!rows(&lake, "SELECT state FROM site_candidates").is_empty());
    // Site selection's yearly review counts: the plan the stage runs agrees with their
    // in-memory definition on this lake's panel.
    let panel: Vec<(i64, chrono::NaiveDate, i64)> = rows(
        &lake,
        "SELECT business_key, CAST(month AS VARCHAR) AS month, reviews FROM business_month",
    )
    .iter()
    .map(|r| {
        (
            i(&r["business_key"]),
            r["month"].as_str().unwrap().parse().unwrap(),
            i(&r["reviews"]),
        )
    })
    .collect();
    let want = reviewlake_ml::sites::yearly_reviews(&panel);
    assert!(
        want.values().any(|v| v.0 > 0.0) && want.values().any(|v| v.1 > 0.0),
        "the panel has no review in one of the two windows: the check below is empty"
    );
    let got = rows(&lake, &reviewlake_ml::sites::yearly_reviews_sql());
    assert_eq!(got.len(), want.len());
    for r in &got {
        let k = i(&r["business_key"]);
        let got = (
            r[reviewlake_ml::sites::REVIEWS_LAST_YEAR].as_f64().unwrap(),
            r[reviewlake_ml::sites::REVIEWS_PREV_YEAR].as_f64().unwrap(),
        );
        assert_eq!(got, want[&k], "business {k}");
    }
    assert!(!rows(&lake, "SELECT level FROM growth_predictions").is_empty());
    let snaps =
        String::from_utf8_lossy(&ok(xtask().args(["snapshots", "--lake"]).arg(&lake)).stdout)
            .to_string();
    assert!(
        snaps
            .lines()
            .rev()
            .find(|l| l.contains("│"))
            .is_some_and(|l| l.contains("ml")),
        "{snaps}"
    );

    // Same seed, same data: the same metrics; an equal model is not promoted.
    let out = ok(xtask()
        .args(["train", "--quiet", "--model", "als", "--lake"])
        .arg(&lake));
    assert!(
        out.stdout.is_empty(),
        "train --quiet printed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let reg2 = rows(
        &lake,
        "SELECT version, \"current\", metrics_json FROM registry WHERE name = 'als' ORDER BY version",
    );
    assert_eq!(reg2.len(), 2);
    assert_eq!(
        reg2[0]["metrics_json"], reg2[1]["metrics_json"],
        "same seed, same metrics"
    );
    assert_eq!(reg2[0]["current"], serde_json::Value::Bool(true));
    assert_eq!(reg2[1]["current"], serde_json::Value::Bool(false));
    // --force promotes a version that beats its baselines (the tuned model again).
    ok(xtask()
        .args(["train", "--quiet", "--model", "als", "--force", "--lake"])
        .arg(&lake));
    let cur = rows(
        &lake,
        "SELECT version FROM registry WHERE name = 'als' AND \"current\"",
    );
    assert_eq!(cur.len(), 1);
    assert_eq!(i(&cur[0]["version"]), 3);
    let model_version = rows(&lake, "SELECT DISTINCT model_version FROM recommendations");
    assert_eq!(model_version.len(), 1);
    assert_eq!(i(&model_version[0]["model_version"]), 3);

    let listing =
        String::from_utf8_lossy(&ok(xtask().args(["models", "--lake"]).arg(&lake)).stdout)
            .to_string();
    for n in [
        "als",
        "implicit_als",
        "sites",
        "growth_business",
        "policy_ndcg_at_10",
    ] {
        assert!(listing.contains(n), "{n} not in `xtask models`:\n{listing}");
    }
}

/// `xtask als` on rating files: `--model biased` (the default) with `--tune` picks its
/// parameters from the grid by cross-validation and beats the global mean; `--model
/// als` is Spark's plain model; `--implicit` is `--model implicit`; `--tune` of the
/// implicit model is refused with a clear message.
#[test]
fn xtask_als_trains_every_model_family_and_tunes_the_rating_models() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    // 400 users x 60 items; rating = 3.5 + user bias + item bias + noise, clipped.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let ub: Vec<f64> = (0..400).map(|_| next() * 2.0 - 1.0).collect();
    let ib: Vec<f64> = (0..60).map(|_| next() * 2.0 - 1.0).collect();
    let mut train = std::fs::File::create(dir.path().join("train.csv")).unwrap();
    let mut test = std::fs::File::create(dir.path().join("test.csv")).unwrap();
    writeln!(train, "user,item,rating").unwrap();
    writeln!(test, "user,item,rating").unwrap();
    for (u, bu) in ub.iter().enumerate() {
        for (i, bi) in ib.iter().enumerate() {
            if next() < 0.15 {
                let r = (3.5 + bu + bi + (next() - 0.5)).round().clamp(1.0, 5.0);
                let f = if next() < 0.2 { &mut test } else { &mut train };
                writeln!(f, "u{u},i{i},{r}").unwrap();
            }
        }
    }
    drop((train, test));
    let run = |extra: &[&str]| {
        let json = dir.path().join("m.json");
        let out = ok(xtask()
            .args(["als", "--train"])
            .arg(dir.path().join("train.csv"))
            .arg("--test")
            .arg(dir.path().join("test.csv"))
            .args(extra)
            .arg("--metrics-json")
            .arg(&json));
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        (String::from_utf8_lossy(&out.stdout).to_string(), m)
    };
    let (stdout, biased) = run(&["--tune", "--folds", "2", "--iterations", "5"]);
    assert_eq!(biased["model"], "biased", "{biased}");
    assert!(stdout.contains("chosen: {"), "{stdout}");
    assert!(stdout.contains("tuned 36 candidates by 2-fold"), "{stdout}");
    let rank = biased["params"]["rank"].as_i64().unwrap();
    assert!([5, 10, 20].contains(&rank), "{biased}");
    let reg_user = biased["params"]["bias_reg_user"].as_f64().unwrap();
    assert!([2.0, 10.0].contains(&reg_user), "{biased}");
    let rmse = biased["rmse"].as_f64().unwrap();
    assert!(rmse.is_finite() && rmse < 0.9, "{biased}");

    let (_, plain) = run(&["--model", "als", "--iterations", "5"]);
    assert_eq!(plain["model"], "als");
    assert!(plain["params"].get("bias_reg_user").is_none(), "{plain}");
    assert!(plain["rmse"].as_f64().unwrap().is_finite());
    let (_, imp) = run(&["--implicit", "--iterations", "3"]);
    assert_eq!(
        (imp["model"].as_str(), imp["mode"].as_str()),
        (Some("implicit"), Some("implicit"))
    );
    assert!(imp["ranking"]["ndcg"].as_f64().is_some(), "{imp}");
    // The stage's hybrid solver: same problem, short rows solved exactly.
    let (_, hybrid) = run(&["--implicit", "--iterations", "3", "--exact-short-rows"]);
    assert_eq!(hybrid["params"]["exact_short_rows"], true, "{hybrid}");
    assert_eq!(imp["params"]["exact_short_rows"], false, "{imp}");
    assert!(hybrid["ranking"]["ndcg"].as_f64().is_some(), "{hybrid}");

    let out = xtask()
        .args(["als", "--model", "implicit", "--tune", "--train"])
        .arg(dir.path().join("train.csv"))
        .arg("--test")
        .arg(dir.path().join("test.csv"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--tune chooses the parameters of a rating model"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
