//! `cargo xtask als`: train a recommender on a ratings file, score a held-out file.
//!
//! ```text
//! cargo xtask als --train FILE --test FILE [--model biased|als|implicit] [--tune]
//!                 [--rank 10] [--iterations 10] [--reg 0.1] [--bias-reg-user 2]
//!                 [--bias-reg-item 5] [--seed S] [--predictions OUT.csv]
//! ```
//!
//! Files are CSV (header with `user,item,rating`, ids are strings, other columns
//! ignored) or Parquet (columns `user`, `item`, `rating`; ids read as strings), chosen by
//! extension. `--model biased` (the default) is `μ + b_u + b_i + x·y`; `--model als` is
//! plain ALS-WR (Spark MLlib's model); both print the RMSE and MAE on the test pairs
//! whose user and item are known in training, how many were skipped, and the training
//! time. `--tune` picks rank, λ (and the bias λs) by k-fold cross-validation on the
//! training file and prints the chosen parameters. `--model implicit` (or `--implicit`)
//! reads the train file's `rating` column as implicit weights (counts) and prints
//! precision/recall/NDCG@k on the held-out positives (test rating ≥ `--threshold`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use reviewlake_ml::recommend::{
    AlsParams, BiasedParams, FactorModel, ImplicitAls, ImplicitParams, ImplicitSolver,
    Interactions, RankingMetrics, RankingOptions, Rating, RatingMetrics, RatingModel,
    RatingPredictor, TestSet, evaluate_ranking, evaluate_ratings, tune_rating_model,
};

/// `xtask als --model`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlsModel {
    /// `μ + b_u + b_i + x·y` by alternating least squares.
    Biased,
    /// Plain ALS-WR, Spark MLlib's explicit model (no biases).
    Als,
    /// Implicit-feedback ALS (weights, not ratings).
    Implicit,
}

/// `xtask als` arguments.
#[derive(clap::Args, Debug)]
pub struct AlsArgs {
    /// Training ratings: CSV (`user,item,rating` header) or Parquet, by extension.
    #[arg(long)]
    pub train: PathBuf,
    /// Held-out ratings, same formats.
    #[arg(long)]
    pub test: PathBuf,
    /// Which model: `biased` (μ + b_u + b_i + x·y), `als` (plain ALS-WR, Spark's model)
    /// or `implicit` (the rating column is a weight).
    #[arg(long, value_enum, default_value = "biased")]
    pub model: AlsModel,
    /// Choose rank, λ (and the bias λs of `biased`) by k-fold cross-validation on the
    /// training file; prints the chosen parameters (rating models only).
    #[arg(long)]
    pub tune: bool,
    /// Folds of `--tune`.
    #[arg(long, default_value_t = 3, requires = "tune")]
    pub folds: usize,
    /// Latent factors.
    #[arg(long, default_value_t = 10)]
    pub rank: usize,
    /// ALS iterations.
    #[arg(long, default_value_t = 10)]
    pub iterations: usize,
    /// Regularisation λ (explicit: scaled by each row's rating count, as Spark).
    #[arg(long, default_value_t = 0.1)]
    pub reg: f64,
    /// λ of the user biases (`biased`; constant, not scaled by counts).
    #[arg(long, default_value_t = 2.0)]
    pub bias_reg_user: f64,
    /// λ of the item biases (`biased`).
    #[arg(long, default_value_t = 5.0)]
    pub bias_reg_item: f64,
    /// Seed of the initial factors.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write `user,item,rating,prediction` for the scored test pairs here (CSV).
    #[arg(long)]
    pub predictions: Option<PathBuf>,
    /// Implicit feedback: the same as `--model implicit` (the train file's `rating` is a
    /// weight, confidence 1 + α·w).
    #[arg(long)]
    pub implicit: bool,
    /// Confidence slope α (implicit only).
    #[arg(long, default_value_t = 1.0)]
    pub alpha: f64,
    /// Conjugate-gradient steps per row (implicit only).
    #[arg(long, default_value_t = 3)]
    pub cg_steps: usize,
    /// Implicit only: solve rows with at most `--cg-steps` entries exactly (the ml
    /// stage's `ImplicitSolver::Hybrid`) instead of by CG (`implicit`'s way, the default).
    #[arg(long)]
    pub exact_short_rows: bool,
    /// Also compute ranking metrics in explicit mode (implicit mode always does).
    #[arg(long)]
    pub ranking: bool,
    /// List length of the ranking metrics.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// A test rating ≥ this is a positive for the ranking metrics.
    #[arg(long, default_value_t = 4.0)]
    pub threshold: f32,
    /// Also time top-N recommendations for every training user (N given here).
    #[arg(long)]
    pub recommend_all: Option<usize>,
    /// Save the trained model (JSON) here.
    #[arg(long)]
    pub save_model: Option<PathBuf>,
    /// Write the figures as JSON here (for scripts and `bench als`).
    #[arg(long)]
    pub metrics_json: Option<PathBuf>,
}

/// Reads `path` (CSV or Parquet by extension) and calls `row(user, item, rating, where)`
/// for every row, `where` naming file and line (CSV) or row (Parquet). Returns the row
/// count.
pub fn read_ratings(
    path: &Path,
    mut row: impl FnMut(&str, &str, f32, &dyn Fn() -> String) -> Result<()>,
) -> Result<usize> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv") => read_csv(path, &mut row),
        Some("parquet") | Some("pq") => read_parquet(path, &mut row),
        _ => bail!(
            "{}: unknown format (expected a .csv or .parquet extension)",
            path.display()
        ),
    }
}

fn read_csv(
    path: &Path,
    row: &mut impl FnMut(&str, &str, f32, &dyn Fn() -> String) -> Result<()>,
) -> Result<usize> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let headers = rdr
        .headers()
        .with_context(|| format!("{}: reading the header", path.display()))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .with_context(|| {
                format!(
                    "{}: no column `{name}` in the header (found: {})",
                    path.display(),
                    headers.iter().collect::<Vec<_>>().join(",")
                )
            })
    };
    let (cu, ci, cr) = (col("user")?, col("item")?, col("rating")?);
    let mut rec = csv::StringRecord::new();
    let mut n = 0;
    loop {
        let more = rdr
            .read_record(&mut rec)
            .with_context(|| format!("{}: reading the row after data row {n}", path.display()))?;
        if !more {
            break;
        }
        let line = rec.position().map_or(0, |p| p.line());
        let at = || format!("{} line {line}", path.display());
        let field = |c: usize, name: &str| {
            rec.get(c)
                .with_context(|| format!("{}: field `{name}` missing", at()))
        };
        let (u, i, r) = (field(cu, "user")?, field(ci, "item")?, field(cr, "rating")?);
        let rating: f32 = r
            .trim()
            .parse()
            .with_context(|| format!("{}: field `rating`: invalid number {r:?}", at()))?;
        row(u.trim(), i.trim(), rating, &at)?;
        n += 1;
    }
    Ok(n)
}

fn read_parquet(
    path: &Path,
    row: &mut impl FnMut(&str, &str, f32, &dyn Fn() -> String) -> Result<()>,
) -> Result<usize> {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Float64Type};
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(|| format!("{}: not a readable Parquet file", path.display()))?
        .build()
        .with_context(|| format!("{}: reading", path.display()))?;
    let mut n = 0usize;
    for batch in reader {
        let batch = batch.with_context(|| format!("{}: reading a row group", path.display()))?;
        let col = |name: &str, ty: &DataType| -> Result<arrow::array::ArrayRef> {
            let c = batch.column_by_name(name).with_context(|| {
                format!(
                    "{}: no column `{name}` (found: {})",
                    path.display(),
                    batch
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                )
            })?;
            arrow::compute::cast(c, ty).with_context(|| {
                format!(
                    "{}: column `{name}` of type {} cannot be read as {ty}",
                    path.display(),
                    c.data_type()
                )
            })
        };
        let users = col("user", &DataType::Utf8)?;
        let items = col("item", &DataType::Utf8)?;
        let ratings = col("rating", &DataType::Float64)?;
        let (users, items) = (users.as_string::<i32>(), items.as_string::<i32>());
        let ratings = ratings.as_primitive::<Float64Type>();
        for j in 0..batch.num_rows() {
            let at = || format!("{} row {}", path.display(), n + 1);
            for (name, arr) in [
                ("user", users as &dyn Array),
                ("item", items),
                ("rating", ratings),
            ] {
                if arr.is_null(j) {
                    bail!("{}: field `{name}` is null", at());
                }
            }
            row(users.value(j), items.value(j), ratings.value(j) as f32, &at)?;
            n += 1;
        }
    }
    Ok(n)
}

/// A training set from a ratings file.
pub fn read_train(path: &Path) -> Result<Interactions> {
    read_train_keeping(path, None)
}

/// [`read_train`], also keeping every row as a [`Rating`] in `keep` (for folds).
fn read_train_keeping(path: &Path, mut keep: Option<&mut Vec<Rating>>) -> Result<Interactions> {
    let mut train = Interactions::with_capacity(1 << 16);
    read_ratings(path, |u, i, r, at| {
        train
            .push(u, i, r)
            .with_context(|| format!("{}: field `rating`", at()))?;
        if let Some(k) = keep.as_deref_mut() {
            k.push(Rating {
                user: u.into(),
                item: i.into(),
                rating: r,
                timestamp: None,
            });
        }
        Ok(())
    })?;
    anyhow::ensure!(!train.is_empty(), "{}: no ratings", path.display());
    Ok(train)
}

/// A held-out set from a ratings file, indexed against `train`; returns it and the
/// number of rows read.
pub fn read_test(path: &Path, train: &Interactions) -> Result<(TestSet, usize)> {
    let mut test = TestSet::new();
    let n = read_ratings(path, |u, i, r, at| {
        anyhow::ensure!(r.is_finite(), "{}: field `rating`: not finite", at());
        test.push(train, u, i, r);
        Ok(())
    })?;
    Ok((test, n))
}

/// What `xtask als` measured (also written by `--metrics-json`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AlsReport {
    /// "explicit" or "implicit".
    pub mode: String,
    /// "biased", "als" or "implicit".
    #[serde(default)]
    pub model: String,
    /// The parameters trained with (after `--tune`), as JSON.
    #[serde(default)]
    pub params: serde_json::Value,
    /// Parameters.
    pub rank: usize,
    /// Iterations.
    pub iterations: usize,
    /// λ.
    pub reg: f64,
    /// α (implicit).
    pub alpha: Option<f64>,
    /// Seed.
    pub seed: u64,
    /// Training observations, users, items.
    pub train_rows: usize,
    /// Distinct training users.
    pub train_users: usize,
    /// Distinct training items.
    pub train_items: usize,
    /// Test rows read.
    pub test_rows: usize,
    /// Test rows scored (user and item known).
    pub test_scored: usize,
    /// Test rows skipped: unknown user.
    pub skipped_unknown_user: usize,
    /// Test rows skipped: known user, unknown item.
    pub skipped_unknown_item: usize,
    /// Seconds reading both files.
    pub read_seconds: f64,
    /// Seconds in `fit` (index building, initialisation, iterations).
    pub train_seconds: f64,
    /// RMSE (explicit).
    pub rmse: Option<f64>,
    /// MAE (explicit).
    pub mae: Option<f64>,
    /// Ranking metrics (implicit, or `--ranking`).
    pub ranking: Option<RankingReport>,
    /// Seconds for top-N of every training user (`--recommend-all N`), and N.
    pub recommend_all: Option<(usize, f64)>,
    /// Rayon threads.
    pub threads: usize,
}

/// Ranking figures.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RankingReport {
    /// k.
    pub k: usize,
    /// Threshold of a positive.
    pub threshold: f32,
    /// precision@k.
    pub precision: f64,
    /// recall@k.
    pub recall: f64,
    /// NDCG@k.
    pub ndcg: f64,
    /// Users evaluated.
    pub users: usize,
    /// Positives over them.
    pub positives: usize,
    /// Seconds computing the top-k lists and metrics.
    pub seconds: f64,
}

impl RankingReport {
    /// From the library's metrics.
    pub fn new(m: &RankingMetrics, threshold: f32, seconds: f64) -> RankingReport {
        RankingReport {
            k: m.k,
            threshold,
            precision: m.precision,
            recall: m.recall,
            ndcg: m.ndcg,
            users: m.users,
            positives: m.positives,
            seconds,
        }
    }
}

/// Runs `xtask als`.
pub fn run(mut args: AlsArgs) -> Result<()> {
    if args.implicit {
        args.model = AlsModel::Implicit;
    }
    let implicit = args.model == AlsModel::Implicit;
    anyhow::ensure!(
        !(implicit && args.tune),
        "--tune chooses the parameters of a rating model (--model biased or als), not of --model implicit"
    );
    let t0 = Instant::now();
    let mut ratings = Vec::new();
    let train = read_train_keeping(&args.train, args.tune.then_some(&mut ratings))?;
    let (test, test_rows) = read_test(&args.test, &train)?;
    let read_seconds = t0.elapsed().as_secs_f64();
    println!(
        "train: {} ratings, {} users, {} items ({})",
        train.len(),
        train.users().len(),
        train.items().len(),
        args.train.display()
    );
    println!(
        "test: {test_rows} ratings, {} scored, {} skipped as unknown in training ({} unknown user, {} unknown item)",
        test.known.len(),
        test.skipped(),
        test.unknown_user,
        test.unknown_item
    );

    let mut rating_model = match args.model {
        AlsModel::Biased => Some(RatingModel::Biased(BiasedParams {
            rank: args.rank,
            iterations: args.iterations,
            reg: args.reg,
            bias_reg_user: args.bias_reg_user,
            bias_reg_item: args.bias_reg_item,
            seed: args.seed,
        })),
        AlsModel::Als => Some(RatingModel::Plain(AlsParams {
            rank: args.rank,
            iterations: args.iterations,
            reg: args.reg,
            seed: args.seed,
        })),
        AlsModel::Implicit => None,
    };
    if let (true, Some(base)) = (args.tune, rating_model) {
        let t = Instant::now();
        let space = base.default_space();
        let tuned = tune_rating_model(&ratings, base, &space, args.folds, args.seed)
            .context("tuning by cross-validation")?;
        let ok = tuned
            .trials
            .iter()
            .filter(|t| t.mean_score.is_some())
            .count();
        println!(
            "tuned {} candidates by {}-fold cross-validation on the training file in {:.1} s ({} failed)",
            tuned.trials.len(),
            args.folds,
            t.elapsed().as_secs_f64(),
            tuned.trials.len() - ok
        );
        if let Some(best) = reviewlake_ml::tuning::best(&tuned.trials) {
            println!(
                "chosen: {} (validation RMSE {:.4} ± {:.4})",
                best.params_json,
                best.mean_score.unwrap_or(f64::NAN),
                best.std_score.unwrap_or(f64::NAN)
            );
        }
        rating_model = Some(tuned.model.with_seed(args.seed));
    }

    let fit_start = Instant::now();
    let model: FactorModel = match rating_model {
        Some(m) => m.fit(&train)?,
        None => ImplicitAls::new(ImplicitParams {
            factors: args.rank,
            iterations: args.iterations,
            reg: args.reg,
            alpha: args.alpha,
            solver: if args.exact_short_rows {
                ImplicitSolver::Hybrid {
                    steps: args.cg_steps,
                }
            } else {
                ImplicitSolver::ConjugateGradient {
                    steps: args.cg_steps,
                }
            },
            seed: args.seed,
        })
        .fit(&train)?,
    };
    let train_seconds = fit_start.elapsed().as_secs_f64();
    let mode = if implicit { "implicit" } else { "explicit" };
    let model_name = rating_model.map_or("implicit", |m| m.name());
    let params = match rating_model {
        Some(m) => m.params_json(),
        None => serde_json::json!({
            "factors": args.rank, "iterations": args.iterations, "reg": args.reg,
            "alpha": args.alpha, "cg_steps": args.cg_steps,
            "exact_short_rows": args.exact_short_rows, "seed": args.seed,
        }),
    };
    println!(
        "{model_name} {params}: trained in {train_seconds:.3} s ({:.4} s/iteration, {} threads)",
        train_seconds / args.iterations.max(1) as f64,
        rayon::current_num_threads()
    );

    let rating: Option<RatingMetrics> = (!implicit).then(|| evaluate_ratings(&model, &test));
    if let Some(m) = &rating {
        println!(
            "RMSE {:.4}  MAE {:.4}  on {} test pairs ({} skipped)",
            m.rmse,
            m.mae,
            m.count,
            test.skipped()
        );
    }
    let ranking = if implicit || args.ranking {
        let t = Instant::now();
        let opts = RankingOptions {
            k: args.k,
            threshold: args.threshold,
        };
        let m = evaluate_ranking(&model, &model.rated, &test, &opts);
        let secs = t.elapsed().as_secs_f64();
        println!(
            "precision@{k} {:.4}  recall@{k} {:.4}  NDCG@{k} {:.4}  over {} users with {} held-out positives (rating ≥ {}) [{secs:.2} s]",
            m.precision,
            m.recall,
            m.ndcg,
            m.users,
            m.positives,
            args.threshold,
            k = args.k
        );
        Some(RankingReport::new(&m, args.threshold, secs))
    } else {
        None
    };

    let recommend_all = args.recommend_all.map(|n| {
        let t = Instant::now();
        let all = model.recommend_all(n);
        let secs = t.elapsed().as_secs_f64();
        let listed: usize = all.iter().map(Vec::len).sum();
        println!(
            "top-{n} for all {} users over {} items: {secs:.2} s ({listed} recommendations)",
            model.users.len(),
            model.items.len()
        );
        (n, secs)
    });
    if let Some(out) = &args.predictions {
        write_predictions(out, &model, &test)?;
        println!("predictions written to {}", out.display());
    }
    if let Some(out) = &args.save_model {
        std::fs::write(out, model.to_json()?)
            .with_context(|| format!("writing {}", out.display()))?;
        println!("model written to {}", out.display());
    }
    if let Some(out) = &args.metrics_json {
        let report = AlsReport {
            mode: mode.into(),
            model: model_name.into(),
            params,
            rank: rating_model.map_or(args.rank, |m| m.rank()),
            iterations: args.iterations,
            reg: args.reg,
            alpha: implicit.then_some(args.alpha),
            seed: args.seed,
            train_rows: train.len(),
            train_users: train.users().len(),
            train_items: train.items().len(),
            test_rows,
            test_scored: test.known.len(),
            skipped_unknown_user: test.unknown_user,
            skipped_unknown_item: test.unknown_item,
            read_seconds,
            train_seconds,
            rmse: rating.map(|m| m.rmse),
            mae: rating.map(|m| m.mae),
            ranking,
            recommend_all,
            threads: rayon::current_num_threads(),
        };
        std::fs::write(out, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

fn write_predictions(out: &Path, model: &FactorModel, test: &TestSet) -> Result<()> {
    let f = File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut w = csv::Writer::from_writer(BufWriter::new(f));
    w.write_record(["user", "item", "rating", "prediction"])?;
    for t in &test.known {
        let (Some(u), Some(i)) = (model.users.id(t.user), model.items.id(t.item)) else {
            continue;
        };
        let p = model.predict_index(t.user, t.item);
        w.write_record([u, i, &t.value.to_string(), &p.to_string()])?;
    }
    w.into_inner()
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", out.display()))?
        .flush()
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}
