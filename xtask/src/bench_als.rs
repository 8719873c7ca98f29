//! `cargo xtask-release bench als`: our ALS beside Spark MLlib's ALS (explicit) and the
//! `implicit` library (implicit feedback), on the same ratings and split, in one run.
//!
//! 1. Ratings: `--reviews N` reviews from the project's generator (Yelp `stars` and
//!    Google `rating` by `user_id` × `business_id`/`gmap_id`, ids prefixed `y:`/`g:` so
//!    the two platforms stay apart), split at random (20 % of all ratings held out,
//!    seeded hash of the pair: `SplitStrategy::Random`), written once as `train.csv`,
//!    `test.csv` and `train-implicit.csv` (one row per pair, `rating` = number of
//!    reviews) under `<work>/als-<N>/`.
//! 2. Explicit: `xtask als` (a child process: wall time and peak RSS measured) and a
//!    PySpark script (`local[*]`, `ALS(rank, maxIter, regParam, coldStartStrategy =
//!    "drop")`, one warm-up fit not counted, then one timed `fit` per seed), each over
//!    the same seeds; training time and RMSE on the known test pairs.
//! 3. Implicit: `xtask als --implicit` and `implicit.cpu.als.AlternatingLeastSquares`
//!    (given the confidence matrix `1 + α·count` with `alpha = 1`, which is the same
//!    problem), same factors, iterations, λ, CG steps; time per iteration, and
//!    precision/recall/NDCG@10 on the held-out positives — the library's top-10 lists
//!    are scored by our metric code, so both sides use one definition.
//!
//! Python: `pip install -r xtask/bench/requirements-als.txt` (Java 17 for Spark).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use reviewlake_datagen::{GenOptions, RawDataset, records};
use reviewlake_ml::recommend::{
    ExternalRanking, RankingOptions, Rating, SplitStrategy, evaluate_ranking, split,
};

use crate::als::{AlsReport, read_test, read_train};
use crate::bench::{Measured, measure};

/// `bench als` options.
#[derive(Debug, Clone)]
pub struct AlsBench {
    /// Generated reviews.
    pub reviews: u64,
    /// Work folder.
    pub work: PathBuf,
    /// Python with pyspark, implicit, numpy, pandas, scipy.
    pub python: String,
    /// Seeds per contender.
    pub seeds: u64,
    /// Explicit rank (Spark's `rank`).
    pub rank: usize,
    /// Explicit iterations (`maxIter`).
    pub iterations: usize,
    /// Explicit λ (`regParam`).
    pub reg: f64,
    /// Implicit factors.
    pub factors: usize,
    /// Implicit iterations.
    pub implicit_iterations: usize,
    /// Implicit λ.
    pub implicit_reg: f64,
    /// Implicit α.
    pub alpha: f64,
    /// Skip Spark.
    pub no_spark: bool,
    /// Skip `implicit`.
    pub no_implicit: bool,
}

const SPARK_SCRIPT: &str = r#"
import json, sys, time
t_start = time.perf_counter()
import pandas as pd
import pyspark
from pyspark.sql import SparkSession
from pyspark.ml.recommendation import ALS
from pyspark.ml.evaluation import RegressionEvaluator

train_p, test_p, out_p = sys.argv[1], sys.argv[2], sys.argv[3]
rank, iters, reg = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
seeds = [int(s) for s in sys.argv[7].split(",")]

spark = (SparkSession.builder.master("local[*]").appName("reviewlake-als-bench")
         .config("spark.driver.memory", "6g")
         .config("spark.ui.enabled", "false")
         .config("spark.sql.execution.arrow.pyspark.enabled", "true")
         .getOrCreate())
spark.sparkContext.setLogLevel("ERROR")

tr = pd.read_csv(train_p, dtype={"user": str, "item": str, "rating": "float64"})
te = pd.read_csv(test_p, dtype={"user": str, "item": str, "rating": "float64"})
# Spark's ALS needs integer ids: number them from the training set; test ids unknown in
# training become -1 (no factors), so coldStartStrategy="drop" drops them.
users = {u: i for i, u in enumerate(pd.unique(tr["user"]))}
items = {v: i for i, v in enumerate(pd.unique(tr["item"]))}
def ints(df):
    return pd.DataFrame({
        "user": df["user"].map(users).fillna(-1).astype("int32"),
        "item": df["item"].map(items).fillna(-1).astype("int32"),
        "rating": df["rating"].astype("float32"),
    })
train_df = spark.createDataFrame(ints(tr)).cache()
test_df = spark.createDataFrame(ints(te)).cache()
train_df.count(); test_df.count()

def als(seed, iters):
    return ALS(rank=rank, maxIter=iters, regParam=reg, userCol="user", itemCol="item",
               ratingCol="rating", coldStartStrategy="drop", implicitPrefs=False,
               nonnegative=False, seed=seed)

# Warm-up (JIT, first-stage overheads): not counted.
t = time.perf_counter(); als(0, 1).fit(train_df); warmup = time.perf_counter() - t

runs = []
evaluator = RegressionEvaluator(metricName="rmse", labelCol="rating", predictionCol="prediction")
for seed in seeds:
    t = time.perf_counter()
    model = als(seed, iters).fit(train_df)
    fit = time.perf_counter() - t
    pred = model.transform(test_df).cache()
    runs.append({"seed": seed, "fit_seconds": fit, "rmse": evaluator.evaluate(pred),
                 "count": pred.count()})
    pred.unpersist()
with open(out_p, "w") as f:
    json.dump({"version": pyspark.__version__, "warmup_seconds": warmup,
               "parallelism": spark.sparkContext.defaultParallelism,
               "total_seconds": time.perf_counter() - t_start, "runs": runs}, f)
spark.stop()
"#;

const IMPLICIT_SCRIPT: &str = r#"
import os
# implicit parallelises itself; a multithreaded BLAS underneath only slows it down
# (the library warns about it).
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
import json, sys, time
import numpy as np, pandas as pd, scipy.sparse as sp
import implicit
from implicit.cpu.als import AlternatingLeastSquares

train_p, test_p, out_dir = sys.argv[1], sys.argv[2], sys.argv[3]
factors, iters, reg, alpha = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
cg_steps = int(sys.argv[8])
seeds = [int(s) for s in sys.argv[9].split(",")]
threshold, k = float(sys.argv[10]), int(sys.argv[11])

tr = pd.read_csv(train_p, dtype={"user": str, "item": str, "rating": "float64"})
te = pd.read_csv(test_p, dtype={"user": str, "item": str, "rating": "float64"})
uidx, users = pd.factorize(tr["user"])
iidx, items = pd.factorize(tr["item"])
# Hu-Koren-Volinsky confidence 1 + alpha * count; `implicit` then runs with alpha = 1
# (it would otherwise use alpha * data as the confidence).
conf = (1.0 + alpha * tr["rating"].to_numpy()).astype(np.float32)
m = sp.csr_matrix((conf, (uidx, iidx)), shape=(len(users), len(items)))
uid = {u: i for i, u in enumerate(users)}
pos = te[te["rating"] >= threshold]
eval_users = np.array(sorted({uid[u] for u in pos["user"] if u in uid}), dtype=np.int32)

runs = []
for seed in seeds:
    model = AlternatingLeastSquares(factors=factors, regularization=reg, alpha=1.0,
                                    iterations=iters, random_state=seed, dtype=np.float32,
                                    use_cg=True)
    model.cg_steps = cg_steps
    t = time.perf_counter()
    model.fit(m, show_progress=False)
    fit = time.perf_counter() - t
    t = time.perf_counter()
    ids, _ = model.recommend(eval_users, m[eval_users], N=k, filter_already_liked_items=True)
    rec = time.perf_counter() - t
    out = os.path.join(out_dir, f"implicit-recs-{seed}.csv")
    with open(out, "w") as f:
        f.write("user,item\n")
        for row, u in enumerate(eval_users):
            for i in ids[row]:
                if i >= 0:
                    f.write(f"{users[u]},{items[i]}\n")
    runs.append({"seed": seed, "fit_seconds": fit, "recommend_seconds": rec, "recs": out})
with open(os.path.join(out_dir, "implicit.json"), "w") as f:
    json.dump({"version": implicit.__version__, "runs": runs}, f)
"#;

#[derive(serde::Deserialize)]
struct SparkOut {
    version: String,
    warmup_seconds: f64,
    parallelism: usize,
    runs: Vec<SparkRun>,
}

#[derive(serde::Deserialize)]
struct SparkRun {
    fit_seconds: f64,
    rmse: f64,
    count: usize,
}

#[derive(serde::Deserialize)]
struct ImplicitOut {
    version: String,
    runs: Vec<ImplicitRun>,
}

#[derive(serde::Deserialize)]
struct ImplicitRun {
    fit_seconds: f64,
    recs: String,
}

#[derive(serde::Deserialize)]
struct YelpReview {
    user_id: String,
    business_id: String,
    stars: f64,
}

#[derive(serde::Deserialize)]
struct GoogleReview {
    user_id: serde_json::Value,
    gmap_id: String,
    rating: Option<f64>,
}

/// Mean, and half the min–max range.
fn stats(v: &[f64]) -> (f64, f64, f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
    (mean, sd, min, max)
}

/// The generated reviews as native ratings.
fn generated_ratings(reviews: u64) -> Result<Vec<Rating>> {
    let opts = GenOptions::new(reviews).seed(42);
    let mut out = Vec::with_capacity(reviews as usize);
    for line in records(&opts, RawDataset::YelpReview)? {
        let Some(text) = line.as_str() else { continue };
        let r: YelpReview = serde_json::from_str(text)
            .with_context(|| format!("{} line {}", line.path, line.number))?;
        out.push(Rating {
            user: format!("y:{}", r.user_id).into(),
            item: format!("y:{}", r.business_id).into(),
            rating: r.stars as f32,
            timestamp: None,
        });
    }
    for line in records(&opts, RawDataset::GoogleReview)? {
        let Some(text) = line.as_str() else { continue };
        let r: GoogleReview = serde_json::from_str(text)
            .with_context(|| format!("{} line {}", line.path, line.number))?;
        let Some(rating) = r.rating else { continue };
        let user = match r.user_id {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        out.push(Rating {
            user: format!("g:{user}").into(),
            item: format!("g:{}", r.gmap_id).into(),
            rating: rating as f32,
            timestamp: None,
        });
    }
    Ok(out)
}

fn write_csv(path: &Path, rows: impl Iterator<Item = (String, String, f32)>) -> Result<()> {
    let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = csv::Writer::from_writer(BufWriter::new(f));
    w.write_record(["user", "item", "rating"])?;
    for (u, i, r) in rows {
        w.write_record([u.as_str(), i.as_str(), &r.to_string()])?;
    }
    w.into_inner()
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?
        .flush()?;
    Ok(())
}

/// Writes train/test files once; returns their folder.
fn prepare(reviews: u64, work: &Path) -> Result<PathBuf> {
    let dir = work.join(format!("als-{reviews}"));
    let done = dir.join("done");
    if done.is_file() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir)?;
    println!(
        "generating {reviews} reviews and splitting them (once) into {}",
        dir.display()
    );
    let ratings = generated_ratings(reviews)?;
    let s = split(
        &ratings,
        &SplitStrategy::Random {
            test_fraction: 0.2,
            seed: 42,
        },
    )?;
    let rows = |v: &[Rating]| {
        v.iter()
            .map(|r| (r.user.to_string(), r.item.to_string(), r.rating))
            .collect::<Vec<_>>()
    };
    write_csv(&dir.join("train.csv"), rows(&s.train).into_iter())?;
    write_csv(&dir.join("test.csv"), rows(&s.test).into_iter())?;
    // Implicit signals: number of reviews per (user, item) pair, in first-seen order.
    let mut first_seen: std::collections::HashMap<(&str, &str), usize> =
        std::collections::HashMap::new();
    let mut pairs: Vec<(&str, &str, f32)> = Vec::new();
    for r in &s.train {
        let at = *first_seen.entry((&r.user, &r.item)).or_insert_with(|| {
            pairs.push((&r.user, &r.item, 0.0));
            pairs.len() - 1
        });
        pairs[at].2 += 1.0;
    }
    write_csv(
        &dir.join("train-implicit.csv"),
        pairs
            .into_iter()
            .map(|(u, i, c)| (u.to_string(), i.to_string(), c)),
    )?;
    std::fs::write(
        &done,
        format!(
            "{} ratings: {} train, {} test\n",
            ratings.len(),
            s.train.len(),
            s.test.len()
        ),
    )?;
    Ok(dir)
}

/// One `xtask als` run as a child process.
fn ours(dir: &Path, extra: &[String], seed: u64, tag: &str) -> Result<(Measured, AlsReport)> {
    let exe = std::env::current_exe()?;
    let json = dir.join(format!("ours-{tag}-{seed}.json"));
    let train = if extra.iter().any(|a| a == "--implicit") {
        "train-implicit.csv"
    } else {
        "train.csv"
    };
    let mut cmd = Command::new(exe);
    cmd.arg("als")
        .arg("--train")
        .arg(dir.join(train))
        .arg("--test")
        .arg(dir.join("test.csv"))
        .args(extra)
        .arg("--seed")
        .arg(seed.to_string())
        .arg("--metrics-json")
        .arg(&json)
        .stdout(Stdio::null());
    let m = measure(&mut cmd, None).context("xtask als failed")?;
    let report: AlsReport = serde_json::from_slice(&std::fs::read(&json)?)?;
    Ok((m, report))
}

fn python_run(python: &str, script: &str, args: &[String], log: &Path) -> Result<Measured> {
    let mut cmd = Command::new(python);
    cmd.arg("-c")
        .arg(script)
        .args(args)
        .stdout(Stdio::null())
        .stderr(File::create(log)?);
    measure(&mut cmd, None).with_context(|| {
        format!(
            "the Python benchmark failed (log: {}; is `pip install -r xtask/bench/requirements-als.txt` done for {python}?)",
            log.display()
        )
    })
}

const MIB: f64 = 1024.0 * 1024.0;

/// Runs the benchmark and prints its tables.
pub fn run(b: AlsBench) -> Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; use `cargo xtask-release bench als` for real figures");
    }
    std::fs::create_dir_all(&b.work)?;
    let dir = prepare(b.reviews, &b.work)?;
    let seeds: Vec<u64> = (1..=b.seeds).collect();
    let seed_list = seeds
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("{}", std::fs::read_to_string(dir.join("done"))?.trim());

    // Explicit.
    let explicit_args: Vec<String> = vec![
        "--model".into(),
        "als".into(),
        "--rank".into(),
        b.rank.to_string(),
        "--iterations".into(),
        b.iterations.to_string(),
        "--reg".into(),
        b.reg.to_string(),
    ];
    let mut our_runs = Vec::new();
    for &s in &seeds {
        our_runs.push(ours(&dir, &explicit_args, s, "explicit")?);
    }
    let first = &our_runs[0].1;
    println!(
        "train {} ratings ({} users, {} items); test {} ratings, {} scored, {} skipped (unknown user {}, unknown item {})",
        first.train_rows,
        first.train_users,
        first.train_items,
        first.test_rows,
        first.test_scored,
        first.skipped_unknown_user + first.skipped_unknown_item,
        first.skipped_unknown_user,
        first.skipped_unknown_item
    );
    // The biased model (what `als` serves), same rank, iterations and λ.
    let mut biased_args = explicit_args.clone();
    biased_args[1] = "biased".into();
    let mut biased_runs = Vec::new();
    for &s in &seeds {
        biased_runs.push(ours(&dir, &biased_args, s, "biased")?);
    }
    let mut with_all = explicit_args.clone();
    with_all.extend(["--recommend-all".to_string(), "10".to_string()]);
    let explicit_all = ours(&dir, &with_all, 1, "explicit-all")?.1;
    let our_fit: Vec<f64> = our_runs.iter().map(|r| r.1.train_seconds).collect();
    let our_rmse: Vec<f64> = our_runs.iter().filter_map(|r| r.1.rmse).collect();
    let our_wall: Vec<f64> = our_runs.iter().map(|r| r.0.seconds).collect();
    let our_rss = our_runs.iter().map(|r| r.0.peak_rss).max().unwrap_or(0);

    let spark = if b.no_spark {
        None
    } else {
        let out = dir.join("spark.json");
        println!("running Spark MLlib ALS ({} seeds)...", seeds.len());
        let m = python_run(
            &b.python,
            SPARK_SCRIPT,
            &[
                dir.join("train.csv").display().to_string(),
                dir.join("test.csv").display().to_string(),
                out.display().to_string(),
                b.rank.to_string(),
                b.iterations.to_string(),
                b.reg.to_string(),
                seed_list.clone(),
            ],
            &dir.join("spark.log"),
        )?;
        let s: SparkOut = serde_json::from_slice(&std::fs::read(&out)?)?;
        Some((m, s))
    };

    println!();
    println!(
        "## Explicit ALS: rank {}, {} iterations, λ = {} (ALS-WR), seeds {seed_list}; {cores} cores",
        b.rank, b.iterations, b.reg
    );
    println!();
    println!(
        "| contender | fit time (s), mean ± sd | min–max | RMSE mean ± sd | scored pairs | process wall (s, mean) | peak RSS (MiB) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let (fm, fsd, fmin, fmax) = stats(&our_fit);
    let (rm, rsd, _, _) = stats(&our_rmse);
    println!(
        "| reviewlake `xtask als` | {fm:.3} ± {fsd:.3} | {fmin:.3}–{fmax:.3} | {rm:.4} ± {rsd:.4} | {} | {:.2} | {:.0} |",
        first.test_scored,
        stats(&our_wall).0,
        our_rss as f64 / MIB
    );
    {
        let fit: Vec<f64> = biased_runs.iter().map(|r| r.1.train_seconds).collect();
        let rmse: Vec<f64> = biased_runs.iter().filter_map(|r| r.1.rmse).collect();
        let wall: Vec<f64> = biased_runs.iter().map(|r| r.0.seconds).collect();
        let rss = biased_runs.iter().map(|r| r.0.peak_rss).max().unwrap_or(0);
        let (fm, fsd, fmin, fmax) = stats(&fit);
        let (rm, rsd, _, _) = stats(&rmse);
        println!(
            "| reviewlake `xtask als --model biased` (μ + b_u + b_i + x·y) | {fm:.3} ± {fsd:.3} | {fmin:.3}–{fmax:.3} | {rm:.4} ± {rsd:.4} | {} | {:.2} | {:.0} |",
            biased_runs[0].1.test_scored,
            stats(&wall).0,
            rss as f64 / MIB
        );
    }
    if let Some((m, s)) = &spark {
        let fits: Vec<f64> = s.runs.iter().map(|r| r.fit_seconds).collect();
        let rmses: Vec<f64> = s.runs.iter().map(|r| r.rmse).collect();
        let (sm, ssd, smin, smax) = stats(&fits);
        let (srm, srsd, _, _) = stats(&rmses);
        println!(
            "| Spark MLlib {} ALS, local[{}] | {sm:.3} ± {ssd:.3} | {smin:.3}–{smax:.3} | {srm:.4} ± {srsd:.4} | {} | {:.2} (whole script, {} fits + warm-up) | {:.0} (Python driver; the JVM is not counted) |",
            s.version,
            s.parallelism,
            s.runs.first().map_or(0, |r| r.count),
            m.seconds,
            s.runs.len(),
            m.peak_rss as f64 / MIB
        );
        println!();
        println!(
            "speed-up (mean fit time): {:.1}x (target ≥ 30x: {}); RMSE difference ours − Spark: {:+.4} (target ≤ +0.01: {}); Spark warm-up fit (1 iteration, not counted): {:.2} s",
            sm / fm,
            if sm / fm >= 30.0 { "met" } else { "NOT met" },
            rm - srm,
            if rm - srm <= 0.01 { "met" } else { "NOT met" },
            s.warmup_seconds
        );
    }

    if b.no_implicit {
        return Ok(());
    }
    // Implicit.
    let implicit_args: Vec<String> = vec![
        "--implicit".into(),
        "--rank".into(),
        b.factors.to_string(),
        "--iterations".into(),
        b.implicit_iterations.to_string(),
        "--reg".into(),
        b.implicit_reg.to_string(),
        "--alpha".into(),
        b.alpha.to_string(),
    ];
    let mut imp_runs = Vec::new();
    for &s in &seeds {
        imp_runs.push(ours(&dir, &implicit_args, s, "implicit")?);
    }
    let mut with_all = implicit_args.clone();
    with_all.extend(["--recommend-all".to_string(), "10".to_string()]);
    let implicit_all = ours(&dir, &with_all, 1, "implicit-all")?.1;
    println!("running implicit ({} seeds)...", seeds.len());
    let lib_json = dir.join("implicit.json");
    let lib_m = python_run(
        &b.python,
        IMPLICIT_SCRIPT,
        &[
            dir.join("train-implicit.csv").display().to_string(),
            dir.join("test.csv").display().to_string(),
            dir.display().to_string(),
            b.factors.to_string(),
            b.implicit_iterations.to_string(),
            b.implicit_reg.to_string(),
            b.alpha.to_string(),
            "3".into(),
            seed_list.clone(),
            "4".into(),
            "10".into(),
        ],
        &dir.join("implicit.log"),
    )?;
    let lib: ImplicitOut = serde_json::from_slice(&std::fs::read(&lib_json)?)?;
    // Score the library's lists with our metric code, on the same train/test indexing.
    let train = read_train(&dir.join("train-implicit.csv"))?;
    let (test, _) = read_test(&dir.join("test.csv"), &train)?;
    let rated = train.user_items();
    let opts = RankingOptions::default();
    let mut lib_metrics = Vec::new();
    for r in &lib.runs {
        let mut rows: Vec<(String, String)> = Vec::new();
        read_ratings_pairs(Path::new(&r.recs), &mut rows)?;
        let lists =
            ExternalRanking::from_rows(&train, rows.iter().map(|(u, i)| (u.as_str(), i.as_str())));
        lib_metrics.push(evaluate_ranking(&lists, &rated, &test, &opts));
    }

    println!();
    println!(
        "## Implicit ALS: {} factors, {} iterations, λ = {}, confidence 1 + {}·count, CG 3 steps, seeds {seed_list}; {cores} cores",
        b.factors, b.implicit_iterations, b.implicit_reg, b.alpha
    );
    println!();
    println!(
        "| contender | s / iteration, mean ± sd | fit (s) | precision@10 | recall@10 | NDCG@10 | users evaluated | peak RSS (MiB) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let it = b.implicit_iterations.max(1) as f64;
    let per_it: Vec<f64> = imp_runs.iter().map(|r| r.1.train_seconds / it).collect();
    let rk = |f: &dyn Fn(&crate::als::RankingReport) -> f64| -> Vec<f64> {
        imp_runs
            .iter()
            .filter_map(|r| r.1.ranking.as_ref().map(f))
            .collect()
    };
    let (pm, psd, _, _) = stats(&per_it);
    let our_p = stats(&rk(&|r| r.precision)).0;
    let users = imp_runs[0].1.ranking.as_ref().map_or(0, |r| r.users);
    println!(
        "| reviewlake `xtask als --implicit` | {pm:.4} ± {psd:.4} | {:.2} | {our_p:.4} | {:.4} | {:.4} | {users} | {:.0} |",
        pm * it,
        stats(&rk(&|r| r.recall)).0,
        stats(&rk(&|r| r.ndcg)).0,
        imp_runs.iter().map(|r| r.0.peak_rss).max().unwrap_or(0) as f64 / MIB
    );
    let lib_it: Vec<f64> = lib.runs.iter().map(|r| r.fit_seconds / it).collect();
    let (lm, lsd, _, _) = stats(&lib_it);
    let lp = stats(&lib_metrics.iter().map(|m| m.precision).collect::<Vec<_>>()).0;
    println!(
        "| implicit {} (CPU, conjugate gradient) | {lm:.4} ± {lsd:.4} | {:.2} | {lp:.4} | {:.4} | {:.4} | {} | {:.0} (whole script) |",
        lib.version,
        lm * it,
        stats(&lib_metrics.iter().map(|m| m.recall).collect::<Vec<_>>()).0,
        stats(&lib_metrics.iter().map(|m| m.ndcg).collect::<Vec<_>>()).0,
        lib_metrics.first().map_or(0, |m| m.users),
        lib_m.peak_rss as f64 / MIB
    );
    println!();
    println!(
        "time per iteration, implicit / ours: {:.2}x (target ≥ 1: {}); precision@10 ours − implicit: {:+.4} (target within 0.01: {})",
        lm / pm,
        if lm >= pm { "met" } else { "NOT met" },
        our_p - lp,
        if (our_p - lp).abs() <= 0.01 {
            "met"
        } else {
            "NOT met"
        }
    );
    println!();
    for (name, r) in [("explicit", &explicit_all), ("implicit", &implicit_all)] {
        if let Some((n, secs)) = r.recommend_all {
            println!(
                "top-{n} for every user, {name} model (rank {}): {} users × {} items in {secs:.2} s",
                r.rank, r.train_users, r.train_items
            );
        }
    }
    println!(
        "peak RSS of our explicit training process (`xtask als`: read CSVs, train, evaluate) on {} training ratings: {:.0} MiB",
        first.train_rows,
        our_rss as f64 / MIB
    );
    println!();
    segment_table(&dir, &b)?;
    Ok(())
}

/// Every candidate on every user segment of the same split (in-process, seed 1): RMSE
/// and NDCG@10 / hit rate@10 / coverage, and the policy the `ml` stage would choose
/// from this split alone.
fn segment_table(dir: &Path, b: &AlsBench) -> Result<()> {
    use reviewlake_ml::recommend::{
        Als, AlsParams, BiasBaseline, BiasParams, BiasedAls, BiasedParams, Candidate, GlobalMean,
        ImplicitAls, ImplicitParams, Interactions, Popularity, PopularityKind, SEGMENTS,
        choose_policy, evaluate_segments,
    };
    let train = read_train(&dir.join("train.csv"))?;
    let (test, _) = read_test(&dir.join("test.csv"), &train)?;
    let plain = Als::new(AlsParams {
        rank: b.rank,
        iterations: b.iterations,
        reg: b.reg,
        seed: 1,
    })
    .fit(&train)?;
    let biased = BiasedAls::new(BiasedParams {
        rank: b.rank,
        iterations: b.iterations,
        reg: b.reg,
        seed: 1,
        ..BiasedParams::default()
    })
    .fit(&train)?;
    // Implicit ALS on the same pairs as signals of 1 (same indices as `train`).
    let mut signals = Interactions::new();
    for t in train.triples() {
        let (u, i) = (
            train.users().id(t.user).unwrap_or_default(),
            train.items().id(t.item).unwrap_or_default(),
        );
        signals.push(u, i, 1.0)?;
    }
    let implicit = (signals.users() == train.users() && signals.items() == train.items())
        .then(|| {
            ImplicitAls::new(ImplicitParams {
                seed: 1,
                ..ImplicitParams::default()
            })
            .fit(&signals)
        })
        .transpose()?;
    let bias = BiasBaseline::fit(&train, BiasParams::default());
    let mean = GlobalMean::fit(&train);
    let pop = Popularity::fit(&train, PopularityKind::MostRated);
    let mut candidates = vec![
        Candidate {
            name: "biased",
            predictor: Some(&biased),
            ranker: Some(&biased),
        },
        Candidate {
            name: "als",
            predictor: Some(&plain),
            ranker: Some(&plain),
        },
        Candidate {
            name: "bias_baseline",
            predictor: Some(&bias),
            ranker: Some(&bias),
        },
        Candidate {
            name: "global_mean",
            predictor: Some(&mean),
            ranker: None,
        },
        Candidate {
            name: "popularity",
            predictor: None,
            ranker: Some(&pop),
        },
    ];
    if let Some(m) = &implicit {
        candidates.push(Candidate {
            name: "implicit_als",
            predictor: None,
            ranker: Some(m),
        });
    }
    let rows = evaluate_segments(&candidates, &train, &test, &RankingOptions::default());
    let policy = choose_policy(&[], &rows);
    println!(
        "## Per user segment (training ratings), rank {}, {} iterations, λ = {}, seed 1: NDCG@10 / RMSE / hit rate@10 / coverage",
        b.rank, b.iterations, b.reg
    );
    println!("(popularity by state needs the lake's states: see the ml stage's table)");
    println!();
    let names: Vec<&str> = candidates.iter().map(|c| c.name).collect();
    println!(
        "| segment (users with positives) | {} | policy |",
        names.join(" | ")
    );
    println!("|---|{}---|", "---:|".repeat(names.len()));
    for seg in SEGMENTS {
        let cells: Vec<String> = names
            .iter()
            .map(|n| {
                rows.iter()
                    .find(|r| r.segment == seg.name && r.candidate == *n)
                    .map_or("".into(), |r| {
                        let f = |v: Option<f64>, d: usize| {
                            v.map_or("–".to_string(), |x| format!("{x:.d$}"))
                        };
                        format!(
                            "{} / {} / {} / {}",
                            f(r.ndcg, 3),
                            f(r.rmse, 3),
                            f(r.hit_rate, 3),
                            f(r.coverage, 3)
                        )
                    })
            })
            .collect();
        let users = rows
            .iter()
            .find(|r| r.segment == seg.name)
            .map_or(0, |r| r.ranking_users);
        println!(
            "| {} ({users}) | {} | {} |",
            seg.name,
            cells.join(" | "),
            policy.get(seg.name).map_or("–", |p| p.0.as_str())
        );
    }
    Ok(())
}

/// `(user, item)` rows of a `user,item` CSV (recommendations: no rating column), in
/// file order.
fn read_ratings_pairs(path: &Path, out: &mut Vec<(String, String)>) -> Result<()> {
    let mut rdr =
        csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))?;
    for rec in rdr.records() {
        let rec = rec.with_context(|| format!("reading {}", path.display()))?;
        if let (Some(u), Some(i)) = (rec.get(0), rec.get(1)) {
            out.push((u.to_string(), i.to_string()));
        }
    }
    Ok(())
}
