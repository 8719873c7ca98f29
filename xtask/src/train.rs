//! `cargo xtask train` and `cargo xtask models`: the `ml` stage on its own, and the
//! model registry as a table.

use anyhow::{Context, Result};
use clap::Args;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use reviewlake_lake::Lake;
use reviewlake_ml::{ModelSet, TrainOptions, TrainReport};
use reviewlake_schema::progress::Reporter;

/// `cargo xtask train [--lake L] [--model als|sites|growth|all] [--force] [--no-tune] [--seed S]
/// [--implicit-factors K] [--eval-users N] [--tune-ratings N]`
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Lake root (folder, s3:// or memory:// URL); it must hold a warehouse and features.
    #[arg(long, default_value = "lake")]
    pub lake: String,
    /// What to train: als (recommenders, recommendations, similar businesses), sites,
    /// growth, or all.
    #[arg(long, default_value = "all")]
    pub model: String,
    /// Make every new version current, even when it does not beat the current one.
    #[arg(long)]
    pub force: bool,
    /// Skip the hyper-parameter searches (train with the given / default parameters).
    #[arg(long)]
    pub no_tune: bool,
    /// Seed of splits, initialisations and searches.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Weight of the review's VADER compound blended into the ALS rating (0 = stars).
    #[arg(long, default_value_t = 0.0)]
    pub sentiment_weight: f64,
    /// Site selection: the shared category (cuisine) of the new branch; competition
    /// counts its restaurants (e.g. mexican, italian, cafe).
    #[arg(long, default_value = "mexican")]
    pub site_category: String,
    /// Latent factors of implicit ALS (the registered `implicit_als` and the
    /// `implicit_als` candidate of the serving policy); default 32.
    #[arg(long)]
    pub implicit_factors: Option<usize>,
    /// Ranking metrics on at most this many held-out users per split (a seeded sample).
    #[arg(long)]
    pub eval_users: Option<usize>,
    /// Tune the explicit model on a seeded sample of users holding about this many
    /// training ratings.
    #[arg(long)]
    pub tune_ratings: Option<usize>,
    /// Nothing on stdout for a successful run (no progress bars, no summary); errors
    /// still go to stderr.
    #[arg(long)]
    pub quiet: bool,
}

impl TrainArgs {
    /// The library options these flags ask for.
    pub fn options(&self, reporter: Reporter) -> Result<TrainOptions> {
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.sentiment_weight),
            "--sentiment-weight must be between 0 and 1"
        );
        let mut o = TrainOptions {
            models: ModelSet::parse(&self.model)?,
            force: self.force,
            tune: !self.no_tune,
            seed: self.seed,
            sentiment_weight: self.sentiment_weight,
            site_category: self.site_category.trim().to_ascii_lowercase(),
            reporter,
            ..TrainOptions::default()
        };
        o.als.seed = self.seed;
        o.implicit.seed = self.seed;
        if let Some(k) = self.implicit_factors {
            anyhow::ensure!(k >= 1, "--implicit-factors must be at least 1");
            o.implicit.factors = k;
        }
        if let Some(n) = self.eval_users {
            anyhow::ensure!(n >= 1, "--eval-users must be at least 1");
            o.eval_users = n;
        }
        if let Some(n) = self.tune_ratings {
            anyhow::ensure!(n >= 1, "--tune-ratings must be at least 1");
            o.tune_ratings = n;
        }
        Ok(o)
    }
}

/// Runs `xtask train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let reporter = crate::progress::reporter(
        args.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()),
    );
    let opts = args.options(reporter)?;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = rt.block_on(async {
        let lake = Lake::open_existing(&args.lake)
            .with_context(|| format!("opening lake {}", args.lake))?;
        train(&lake, &opts).await
    })?;
    say!(args.quiet, "{report}");
    Ok(())
}

/// The `ml` stage on an open lake (also the pipeline's last stage).
pub async fn train(lake: &Lake, opts: &TrainOptions) -> Result<TrainReport> {
    reviewlake_ml::train(lake, opts)
        .await
        .with_context(|| format!("training the models of {}", lake.root()))
}

/// Runs `xtask models`: every registered version, current ones marked.
pub fn models(lake: &str) -> Result<()> {
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async {
        let l = Lake::open_existing(lake).with_context(|| format!("opening lake {lake}"))?;
        let reg = reviewlake_ml::registry::Registry::load(&l)
            .await
            .with_context(|| format!("reading the model registry of {lake}"))?;
        if reg.records().is_empty() {
            println!("{lake} has no trained model yet: run `cargo xtask train --lake {lake}`");
            return Ok(());
        }
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED);
        t.set_header(vec![
            "name",
            "version",
            "current",
            "created (UTC)",
            "snapshot",
            "primary metric",
            "value",
            "params",
        ]);
        for r in reg.records() {
            let when = chrono::DateTime::from_timestamp_micros(r.created_at_us)
                .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default();
            let mut params = r.params.to_string();
            if params.len() > 60 {
                let cut = (0..=60)
                    .rev()
                    .find(|i| params.is_char_boundary(*i))
                    .unwrap_or(0);
                params.truncate(cut);
                params.push('…');
            }
            t.add_row(vec![
                r.name.clone(),
                r.version.to_string(),
                if r.current {
                    "yes".into()
                } else {
                    String::new()
                },
                when,
                r.snapshot_id.map_or("-".into(), |s| s.to_string()),
                format!(
                    "{} ({})",
                    r.primary_metric,
                    if r.higher_is_better {
                        "higher is better"
                    } else {
                        "lower is better"
                    }
                ),
                r.primary_value.map_or("n/a".into(), |v| format!("{v:.4}")),
                params,
            ]);
        }
        println!("{t}");
        // The per-segment table and serving policy of each current recommender.
        for r in reg.records().iter().filter(|r| r.current) {
            let Some(policy) = r.metrics.get("policy") else {
                continue;
            };
            println!(
                "\n{} v{}: candidates by user segment (training ratings); serving policy: {}",
                r.name,
                r.version,
                policy["rule"].as_str().unwrap_or("")
            );
            for split in ["time", "random"] {
                let Some(rows) = r.metrics["segments"][split]
                    .as_array()
                    .filter(|a| !a.is_empty())
                else {
                    continue;
                };
                let mut t = Table::new();
                t.load_preset(UTF8_FULL_CONDENSED);
                t.set_header(vec![
                    "split",
                    "segment",
                    "candidate",
                    "pairs",
                    "RMSE",
                    "users",
                    "NDCG@10",
                    "precision@10",
                    "recall@10",
                    "hit rate",
                    "coverage",
                    "top-100 share",
                    "serves",
                ]);
                let num =
                    |v: &serde_json::Value| v.as_f64().map_or("-".into(), |x| format!("{x:.4}"));
                for row in rows {
                    let seg = row["segment"].as_str().unwrap_or("");
                    let cand = row["candidate"].as_str().unwrap_or("");
                    let p = &policy["by_segment"][seg];
                    let serves = p["candidate"].as_str() == Some(cand)
                        && p["chosen_on"].as_str() == Some(split);
                    t.add_row(vec![
                        split.to_string(),
                        seg.to_string(),
                        cand.to_string(),
                        row["pairs"].to_string(),
                        num(&row["rmse"]),
                        row["ranking_users"].to_string(),
                        num(&row["ndcg"]),
                        num(&row["precision"]),
                        num(&row["recall"]),
                        num(&row["hit_rate"]),
                        num(&row["coverage"]),
                        num(&row["top100_share"]),
                        if serves { "yes".into() } else { String::new() },
                    ]);
                }
                println!("{t}");
            }
            println!("policy: {}", policy["by_segment"]);
        }
        Ok(())
    })
}
