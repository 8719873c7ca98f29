//! The `ml` stage: trains every model family on the latest snapshot's warehouse and
//! features, registers each model (artifact + registry row, promoted only when it beats
//! the current one and its best naive baseline), writes the prediction tables and every
//! tuning trial, and commits an `ml` snapshot — all under the lake's writer lease.
//!
//! The explicit recommender (registry name `als`) is the biased model
//! `μ + b_u + b_i + x·y` (plain ALS-WR with `TrainOptions::biased = None`). Its
//! `metrics_json` holds every candidate — the served model, the other explicit model,
//! implicit ALS, the bias baseline, the global mean, popularity overall and by state — per user
//! segment (1, 2-4, 5-9, 10+ training ratings) on the random and the time split, and the
//! serving policy: per segment, the candidate with the best NDCG@10 on the time split.
//!
//! | table (`<lake>/models/`) | what |
//! |---|---|
//! | `registry` | every model version, its parameters, metrics, snapshot, `current` flag |
//! | `trials` | every hyper-parameter candidate of every tuning run, with fold scores |
//! | `recommendations` | top-N places for every user of `dim_user` (cold start flagged) |
//! | `similar_businesses` | the most similar places of every place (item factors) |
//! | `site_candidates` | candidate areas per state, ranked by opportunity score |
//! | `growth_predictions` | next-period growth or decline of businesses and category × state groups |

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{
    Array, BooleanArray, Date32Array, Float64Array, Float64Builder, Int32Array, Int64Array,
    ListBuilder, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use bytes::Bytes;
use reviewlake_lake::{Columns, CommitKind, Lake, QuerySession, Stage, TableRewrite, Zone};
use reviewlake_schema::models::{self as m};
use reviewlake_schema::progress::{Reporter, Unit};
use reviewlake_schema::{col, features as ft, warehouse as wh};
use serde::Serialize;

use crate::recommend::{
    AlsParams, BASELINES, BiasBaseline, BiasParams, BiasedParams, Candidate, CandidatePool,
    CatalogItem, ColdStartParams, FactorModel, GlobalMean, Groups, IdMap, ImplicitAls,
    ImplicitParams, ImplicitSolver, Interactions, PolicyScore, PoolSizes, Pooled, Popularity,
    PopularityKind, Ranker, RankingOptions, Rating, RatingModel, Scored, SegmentMetrics,
    SplitStrategy, TestSet, UserItems, catalog_cold_start, choose_policy, evaluate_ranking,
    evaluate_ratings, evaluate_segments, latest_months_cutoff, policy_score, sample_users,
    segment_of, split, tune_rating_model,
};
use crate::registry::{Artifact, ModelRecord, NewModel, Registry};
use crate::tuning::{Search, SearchSpace, Trial};
use crate::{MlError, Result, growth, sites};

/// The progress task of the stage (unit: models trained; a note per step).
const TASK: &str = "ml";

/// Which model families a run trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelSet {
    /// The recommenders (explicit and implicit ALS), recommendations and similarity.
    Als,
    /// Site selection.
    Sites,
    /// Growth / decline models.
    Growth,
    /// Everything.
    All,
}

impl ModelSet {
    /// Parses `als`, `sites`, `growth` or `all`.
    pub fn parse(s: &str) -> Result<ModelSet> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "als" => ModelSet::Als,
            "sites" => ModelSet::Sites,
            "growth" => ModelSet::Growth,
            "all" => ModelSet::All,
            other => {
                return Err(MlError::Data(format!(
                    "unknown model {other:?}: use als, sites, growth or all"
                )));
            }
        })
    }

    fn has(self, m: ModelSet) -> bool {
        self == ModelSet::All || self == m
    }
}

/// Options of a training run.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// What to train.
    pub models: ModelSet,
    /// Promote every new version, even when it does not beat the current one.
    pub force: bool,
    /// Run the hyper-parameter searches (grid / random with cross-validation) and
    /// train the final models with the best candidates.
    pub tune: bool,
    /// Seed of splits, initialisations and searches.
    pub seed: u64,
    /// Plain explicit ALS-WR parameters (the served explicit model when `biased` is
    /// `None`; otherwise trained beside it as a candidate).
    pub als: AlsParams,
    /// The served explicit model (registry name `als`): the biased model
    /// `μ + b_u + b_i + x·y` with these parameters (the starting point when tuning), or
    /// plain ALS-WR when `None`.
    pub biased: Option<BiasedParams>,
    /// Implicit ALS parameters (default: `implicit`'s, but 32 factors).
    pub implicit: ImplicitParams,
    /// Weight of the review's VADER compound in the rating ALS learns:
    /// `(1 − w) · stars + w · (3 + 2 · compound)`; 0 = stars only.
    pub sentiment_weight: f64,
    /// Recommendations per user.
    pub top_n: usize,
    /// The explicit model is tuned on every training rating of a seeded sample of
    /// users holding about this many ratings (all of them when there are fewer): the
    /// grid's folds cost one fit each, on the sample rather than on everything.
    pub tune_ratings: usize,
    /// Ranking metrics (the segment tables, the policy) are measured on at most this
    /// many held-out users per split, a seeded sample: each costs a scoring of their
    /// candidate pool per candidate.
    pub eval_users: usize,
    /// The candidate pool of every ranking, evaluated or served: the catalogue's most
    /// reviewed places and those of the user's home state.
    pub pool: PoolSizes,
    /// The shared category (cuisine) a new branch would serve: competition in site
    /// selection counts the restaurants of this category. Default `mexican`.
    pub site_category: String,
    /// Where progress goes.
    pub reporter: Reporter,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            models: ModelSet::All,
            force: false,
            tune: true,
            seed: 42,
            als: AlsParams {
                rank: 10,
                iterations: 10,
                reg: 0.1,
                seed: 42,
            },
            biased: Some(BiasedParams {
                seed: 42,
                ..BiasedParams::default()
            }),
            // 32 factors, not `implicit`'s 100: on a 1M-review lake the stage takes 28 s
            // instead of 69 s and implicit ALS ranks better (NDCG@10 0.0043 against
            // 0.0035; docs/BENCHMARKS.md, "The `ml` stage at Yelp size"). Rows with at
            // most 3 entries (most users) are solved exactly, not by 3 CG steps.
            implicit: ImplicitParams {
                factors: 32,
                solver: ImplicitSolver::Hybrid { steps: 3 },
                ..ImplicitParams::default()
            },
            sentiment_weight: 0.0,
            top_n: 10,
            tune_ratings: 500_000,
            eval_users: 20_000,
            pool: PoolSizes::default(),
            site_category: "mexican".into(),
            reporter: Reporter::none(),
        }
    }
}

/// What a training run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TrainReport {
    /// The snapshot the models were trained on.
    pub trained_on_snapshot: Option<i64>,
    /// The `ml` snapshot this run committed.
    pub snapshot: Option<i64>,
    /// The model versions registered by this run.
    pub models: Vec<ModelRecord>,
    /// Rows written per models table.
    pub tables: BTreeMap<String, u64>,
    /// Tuning trials recorded.
    pub trials: usize,
    /// One line per model family, for people.
    pub summary: Vec<String>,
    /// Wall time, seconds.
    pub seconds: f64,
}

impl std::fmt::Display for TrainReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "ml: trained on snapshot {}",
            self.trained_on_snapshot
                .map_or("(none)".to_string(), |s| s.to_string())
        )?;
        for s in &self.summary {
            writeln!(f, "  {s}")?;
        }
        for r in &self.models {
            writeln!(
                f,
                "  models/{:<22} v{:<3} {} {} = {}{}",
                r.name,
                r.version,
                if r.current { "current " } else { "kept old" },
                r.primary_metric,
                r.primary_value
                    .map_or("n/a".to_string(), |v| format!("{v:.4}")),
                if r.current {
                    ""
                } else {
                    " (not promoted: no better than the current version or than its best baseline)"
                }
            )?;
        }
        writeln!(
            f,
            "  {} tuning trials recorded in models/trials",
            self.trials
        )?;
        for (t, n) in &self.tables {
            writeln!(f, "  models/{t:<22} {n:>10} rows")?;
        }
        match self.snapshot {
            Some(id) => write!(f, "trained in {:.2} s; snapshot {id}", self.seconds),
            None => write!(f, "trained in {:.2} s", self.seconds),
        }
    }
}

/// Trains the models of `opts.models` (see the module docs).
pub async fn train(lake: &Lake, opts: &TrainOptions) -> Result<TrainReport> {
    let run_id = format!(
        "ml-{}-{}",
        chrono::Utc::now().timestamp_millis(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let guard = lake.acquire_writer(&run_id).await?;
    let result = train_locked(lake, opts, &run_id).await;
    guard.release().await;
    result
}

struct Ctx<'a> {
    lake: &'a Lake,
    opts: &'a TrainOptions,
    run_id: &'a str,
    session: QuerySession,
    snapshot_id: Option<i64>,
    registry: Registry,
    trials: Vec<Trial>,
    report: TrainReport,
}

/// The process's resident and peak resident set sizes, MiB (Linux's
/// `/proc/self/status`; `None` elsewhere): the step logs say where memory goes.
/// Hands the free pages of the heap back to the system. glibc's allocator keeps what a
/// part freed (the previous split's data and models, hundreds of megabytes at Yelp size)
/// in its per-thread arenas, where it counts in the resident set until reused; each part
/// starts with it returned, so the stage's peak is its largest part, not the sum of
/// leftovers. A no-op off glibc.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only returns free heap memory to the system; no live
    // allocation moves or is invalidated.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn memory_mib() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = |key: &str| {
        status.lines().find_map(|l| {
            l.strip_prefix(key)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse::<u64>()
                .ok()
        })
    };
    Some((kib("VmRSS:")? / 1024, kib("VmHWM:")? / 1024))
}

impl Ctx<'_> {
    fn step(&self, what: &str) {
        self.opts.reporter.note(TASK, what);
        release_free_memory();
        match memory_mib() {
            Some((rss, peak)) => tracing::info!(rss_mib = rss, peak_mib = peak, "ml: {what}"),
            None => tracing::info!("ml: {what}"),
        }
    }

    async fn rows(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        Ok(self.session.collect(sql).await?)
    }

    async fn register(&mut self, model: NewModel) -> Result<ModelRecord> {
        let rec = self.registry.add(self.lake, model, self.opts.force).await?;
        self.report.models.push(rec.clone());
        self.opts.reporter.advance(TASK, 1);
        Ok(rec)
    }

    async fn write(
        &mut self,
        name: &str,
        schema: arrow::datatypes::SchemaRef,
        batches: Vec<RecordBatch>,
    ) -> Result<()> {
        let mut sink =
            TableRewrite::open(self.lake, Zone::Models, name, schema, self.run_id).await?;
        for b in batches {
            sink.write(b).await?;
        }
        let (rows, _) = sink.commit().await?;
        self.report.tables.insert(name.to_string(), rows);
        Ok(())
    }
}

async fn train_locked(lake: &Lake, opts: &TrainOptions, run_id: &str) -> Result<TrainReport> {
    let t0 = Instant::now();
    let session = lake
        .session_zones(&[Zone::Warehouse, Zone::Features])
        .await?;
    for t in [
        wh::DIM_BUSINESS,
        wh::DIM_USER,
        ft::REVIEW_FEATURES,
        ft::BUSINESS_FEATURES,
        ft::BUSINESS_MONTH,
    ] {
        if !session.has_table(t) {
            return Err(MlError::Data(format!(
                "table {t} is missing: run the warehouse and features stages first"
            )));
        }
    }
    let families = [ModelSet::Als, ModelSet::Sites, ModelSet::Growth]
        .into_iter()
        .filter(|f| opts.models.has(*f))
        .count();
    opts.reporter
        .start(TASK, Some(families as u64 * 2), Unit::Items);
    let mut ctx = Ctx {
        lake,
        opts,
        run_id,
        snapshot_id: session.snapshot_id(),
        session,
        registry: Registry::load(lake).await?,
        trials: Vec::new(),
        report: TrainReport::default(),
    };
    ctx.report.trained_on_snapshot = ctx.snapshot_id;
    if opts.models.has(ModelSet::Als) {
        recommenders(&mut ctx).await?;
    }
    if opts.models.has(ModelSet::Sites) {
        site_selection(&mut ctx).await?;
    }
    if opts.models.has(ModelSet::Growth) {
        growth_models(&mut ctx).await?;
    }
    ctx.step("trials and registry");
    write_trials(&mut ctx).await?;
    let mut registry = std::mem::take(&mut ctx.registry);
    registry.commit(lake, run_id).await?;
    ctx.report.snapshot = Some(lake.commit_snapshot(Stage::Ml).await?.id);
    opts.reporter.finish(TASK);
    ctx.report.seconds = t0.elapsed().as_secs_f64();
    Ok(ctx.report)
}

// ---------------------------------------------------------------- recommenders

/// What the recommenders know of the places and the people.
struct Catalog {
    /// business_key -> state.
    state_of: HashMap<i64, String>,
    /// Every user of dim_user.
    users: Vec<i64>,
    /// The cold-start ranking over the whole catalog: open businesses of `dim_business`
    /// with a platform rating, by the Bayesian average of that rating weighted by the
    /// platform's review count (prior: the count-weighted mean rating), best first
    /// (ties: lower business_key). The API ranks unknown users the same way.
    cold: Vec<(i64, f64)>,
}

impl Catalog {
    /// The state of every item of `items` (by index), `None` when unknown.
    fn item_states<'c>(&'c self, items: &IdMap) -> Vec<Option<&'c str>> {
        items
            .iter()
            .map(|id| {
                id.parse::<i64>()
                    .ok()
                    .and_then(|k| self.state_of.get(&k))
                    .map(String::as_str)
            })
            .collect()
    }

    /// The states of `items` and the home states of the users of `rated` (the same
    /// index space), computed once per index space for the pool, the popularity by
    /// state and the cold-start fill.
    fn states<'c>(&'c self, items: &IdMap, rated: &UserItems) -> States<'c> {
        let items = self.item_states(items);
        let home = Catalog::home_states(rated, &items);
        States { items, home }
    }

    /// Each user's (index of `rated`) most reviewed state: the state of most of the
    /// places they rated (ties: the smaller state code), for the per-state popularity
    /// baseline, the candidate pools and cold-start lists; `None` when none of their
    /// places has a state. `item_state`: [`Catalog::item_states`] of the same items.
    fn home_states<'c>(rated: &UserItems, item_state: &[Option<&'c str>]) -> Vec<Option<&'c str>> {
        let mut states: Vec<&str> = Vec::new();
        (0..rated.users() as u32)
            .map(|u| {
                states.clear();
                states.extend(
                    rated
                        .of(u)
                        .iter()
                        .filter_map(|&i| item_state.get(i as usize).copied().flatten()),
                );
                states.sort_unstable();
                // The longest run; the first (smallest code) among equals.
                let mut best: Option<(&str, usize)> = None;
                let mut j = 0;
                while j < states.len() {
                    let run = states[j..].iter().take_while(|s| **s == states[j]).count();
                    if best.is_none_or(|(_, n)| run > n) {
                        best = Some((states[j], run));
                    }
                    j += run;
                }
                best.map(|(s, _)| s)
            })
            .collect()
    }
}

/// The states of one index space: of each item ([`Catalog::item_states`]) and each
/// user's home state ([`Catalog::home_states`]).
struct States<'c> {
    items: Vec<Option<&'c str>>,
    home: Vec<Option<&'c str>>,
}

/// Shared ids of numeric keys: one allocation per user and per business, whatever
/// the number of ratings (ratings arrive grouped by user).
#[derive(Default)]
struct KeyIds {
    user: Option<(i64, Arc<str>)>,
    items: HashMap<i64, Arc<str>>,
}

impl KeyIds {
    fn user(&mut self, key: i64) -> Arc<str> {
        match &self.user {
            Some((k, id)) if *k == key => id.clone(),
            _ => {
                let id: Arc<str> = key.to_string().into();
                self.user = Some((key, id.clone()));
                id
            }
        }
    }

    fn item(&mut self, key: i64) -> Arc<str> {
        self.items
            .entry(key)
            .or_insert_with(|| key.to_string().into())
            .clone()
    }
}

async fn load_ratings(ctx: &Ctx<'_>) -> Result<Vec<Rating>> {
    let w = ctx.opts.sentiment_weight.clamp(0.0, 1.0);
    // Sized once (a count from the files' metadata), filled batch by batch from the
    // stream: the sorted result never sits in memory beside the ratings.
    let count: usize = ctx
        .rows("SELECT count(*) AS n FROM review_features")
        .await?
        .first()
        .and_then(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .filter(|a| !a.is_empty() && !a.is_null(0))
                .map(|a| a.value(0))
        })
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    let mut out = Vec::with_capacity(count);
    let mut ids = KeyIds::default();
    let label = format!("features/{}", ft::REVIEW_FEATURES);
    let mut stream = ctx
        .session
        .stream(
            // A fixed order: the same ratings get the same indices (and the same
            // random start) in every run, whatever the files' read order.
            "SELECT user_key, business_key, stars, compound, review_ts FROM review_features \
             ORDER BY user_key, business_key, review_ts, stars, compound",
        )
        .await?;
    while let Some(b) = stream.next().await {
        let b = b?;
        let c = Columns::new(&b, &label);
        let (u, i, stars, compound, ts) = (
            c.i64(col::USER_KEY)?,
            c.i64(col::BUSINESS_KEY)?,
            c.f64(col::STARS)?,
            c.f64(col::COMPOUND)?,
            c.timestamp_us(col::REVIEW_TS)?,
        );
        for r in 0..b.num_rows() {
            let s = stars.value(r);
            let rating = if w > 0.0 && !compound.is_null(r) {
                (1.0 - w) * s + w * (3.0 + 2.0 * compound.value(r))
            } else {
                s
            };
            out.push(Rating {
                user: ids.user(u.value(r)),
                item: ids.item(i.value(r)),
                rating: rating as f32,
                timestamp: Some(ts.value(r).div_euclid(1_000_000)),
            });
        }
    }
    Ok(out)
}

async fn load_catalog(ctx: &Ctx<'_>) -> Result<Catalog> {
    let mut state_of = HashMap::new();
    let mut items: Vec<CatalogItem<i64>> = Vec::new();
    for b in ctx
        .rows("SELECT business_key, state, rating, review_count, is_open FROM dim_business")
        .await?
    {
        let c = Columns::new(&b, wh::DIM_BUSINESS);
        let (k, s) = (c.i64(col::BUSINESS_KEY)?, c.str(col::STATE)?);
        let (rating, count, open) = (
            c.f64(col::RATING)?,
            c.i64(col::REVIEW_COUNT)?,
            c.bool(col::IS_OPEN)?,
        );
        for r in 0..b.num_rows() {
            if !s.is_null(r) {
                state_of.insert(k.value(r), s.value(r).to_string());
            }
            items.push(CatalogItem {
                id: k.value(r),
                business_key: k.value(r),
                rating: (!rating.is_null(r)).then(|| rating.value(r)),
                review_count: (!count.is_null(r)).then(|| count.value(r)),
                is_open: (!open.is_null(r)).then(|| open.value(r)),
            });
        }
    }
    let cold = catalog_cold_start(items, ColdStartParams::default().prior_weight);
    let mut users = Vec::new();
    for b in ctx
        .rows("SELECT user_key FROM dim_user ORDER BY user_key")
        .await?
    {
        let c = Columns::new(&b, wh::DIM_USER);
        users.extend(c.i64(col::USER_KEY)?.values().iter().copied());
    }
    Ok(Catalog {
        state_of,
        users,
        cold,
    })
}

/// The (user, business) signals of the implicit model: reviews count 1, tips 0.5, one
/// row per pair, by user key then business key.
async fn load_signals(ctx: &Ctx<'_>, ratings: &[Rating]) -> Result<Vec<Rating>> {
    let mut pairs: Vec<(i64, i64, f32)> = ratings
        .iter()
        .filter_map(|r| Some((r.user.parse().ok()?, r.item.parse().ok()?, 1.0)))
        .collect();
    if ctx.session.has_table(wh::FACT_TIP) {
        for b in ctx
            .rows("SELECT user_key, business_key FROM fact_tip ORDER BY user_key, business_key")
            .await?
        {
            let c = Columns::new(&b, wh::FACT_TIP);
            let (u, i) = (c.i64(col::USER_KEY)?, c.i64(col::BUSINESS_KEY)?);
            pairs.extend((0..b.num_rows()).map(|r| (u.value(r), i.value(r), 0.5)));
        }
    }
    pairs.sort_unstable_by_key(|p| (p.0, p.1));
    let mut ids = KeyIds::default();
    let mut out: Vec<Rating> = Vec::new();
    let mut last = None;
    for (u, i, w) in pairs {
        if last == Some((u, i)) {
            if let Some(r) = out.last_mut() {
                r.rating += w;
            }
            continue;
        }
        last = Some((u, i));
        out.push(Rating {
            user: ids.user(u),
            item: ids.item(i),
            rating: w,
            timestamp: None,
        });
    }
    Ok(out)
}

fn f(x: f64) -> serde_json::Value {
    if x.is_finite() {
        serde_json::json!(x)
    } else {
        serde_json::Value::Null
    }
}

async fn recommenders(ctx: &mut Ctx<'_>) -> Result<()> {
    let opts = ctx.opts;
    ctx.step("recommender: ratings");
    let ratings = load_ratings(ctx).await?;
    if ratings.is_empty() {
        ctx.report
            .summary
            .push("als: no ratings in review_features: nothing trained".into());
        return Ok(());
    }
    let catalog = load_catalog(ctx).await?;

    // Evaluation on a seeded random hold-out (and a time split, for the record).
    let held = split(
        &ratings,
        &SplitStrategy::Random {
            test_fraction: 0.2,
            seed: opts.seed,
        },
    )?;
    let train = Interactions::from_ratings(&held.train)?;
    let test = TestSet::from_ratings(&train, &held.test).sample_users(opts.eval_users, opts.seed);
    // Every ranking, evaluated or served, is among the user's candidate pool.
    let train_items = train.user_items();
    let states = catalog.states(train.items(), &train_items);
    let pool = pool_for(train.items().len(), &states, &train_items, opts.pool);

    // The served explicit model: biased (default) or plain ALS-WR; tuned by 3-fold
    // cross-validation on the training part.
    let base = match opts.biased {
        Some(p) => RatingModel::Biased(p),
        None => RatingModel::Plain(opts.als),
    };
    let mut chosen = base;
    if opts.tune {
        ctx.step("recommender: tuning the explicit model (3-fold CV)");
        let space = match base {
            // Up to λ = 1 and Koren's bias λs: on data with little taste structure the
            // search can fall back to (almost) the bias baseline.
            RatingModel::Biased(_) => SearchSpace::new()
                .ints("rank", [8])
                .floats("reg", [0.1, 0.3, 1.0])
                .floats("bias_reg_user", [2.0, 10.0])
                .floats("bias_reg_item", [5.0, 25.0]),
            RatingModel::Plain(_) => SearchSpace::new()
                .ints("rank", [8, 16])
                .floats("reg", [0.05, 0.1, 0.2]),
        };
        // On a seeded sample of users (whole histories) of about `tune_ratings` ratings.
        let fraction = opts.tune_ratings as f64 / held.train.len().max(1) as f64;
        let sample = sample_users(&held.train, fraction, opts.seed);
        let tuned = tune_rating_model(&sample, base, &space, 3, opts.seed)?;
        chosen = tuned.model;
        ctx.trials.extend(tuned.trials);
    }
    let chosen = chosen.with_seed(opts.seed);
    let plain_params = match chosen {
        RatingModel::Plain(p) => p,
        RatingModel::Biased(p) => AlsParams {
            rank: p.rank,
            iterations: p.iterations,
            reg: opts.als.reg,
            seed: opts.seed,
        },
    };

    ctx.step("recommender: explicit model");
    let model = chosen.fit(&train)?;
    let rm = evaluate_ratings(&model, &test);
    let rank_opts = RankingOptions::default();
    let in_pool = |inner| Pooled { inner, pool: &pool };
    let km = evaluate_ranking(&in_pool(&model), &train_items, &test, &rank_opts);
    let gm = evaluate_ratings(&GlobalMean::fit(&train), &test);
    let bias = BiasBaseline::fit(&train, BiasParams::default());
    let bm = evaluate_ratings(&bias, &test);
    let pop = Popularity::fit(&train, PopularityKind::MostRated);
    let pm = evaluate_ranking(&in_pool(&pop), &train_items, &test, &rank_opts);
    // Popularity within the user's state.
    let pop_state = state_popularity(&train, &states);
    let psm = evaluate_ranking(&in_pool(&pop_state), &train_items, &test, &rank_opts);
    // Every candidate on every user segment (random split).
    let train_ratings = held.train.len();
    drop(held);
    ctx.step("recommender: every candidate on every segment (random split)");
    let segments = segment_table(
        &train,
        &test,
        &pool,
        &pop_state,
        (chosen, &model),
        plain_params,
        opts.implicit,
    )?;
    // The random split's data and models are not needed any more.
    let test_skipped = test.skipped();
    drop((
        pool,
        pop_state,
        states,
        train_items,
        model,
        bias,
        pop,
        train,
        test,
    ));
    // The time split: train on the past, test on the latest 3 months; the serving policy
    // is chosen on it.
    let mut time_segments = Vec::new();
    let time = match latest_months_cutoff(&ratings, 3) {
        Some(cutoff) => {
            ctx.step("recommender: every candidate on every segment (time split)");
            let t = split(&ratings, &SplitStrategy::Time { cutoff })?;
            let tr = Interactions::from_ratings(&t.train)?;
            let te = TestSet::from_ratings(&tr, &t.test).sample_users(opts.eval_users, opts.seed);
            drop(t);
            let tm = chosen.fit(&tr)?;
            let tr_items = tr.user_items();
            let tstates = catalog.states(tr.items(), &tr_items);
            let tpool = pool_for(tr.items().len(), &tstates, &tr_items, opts.pool);
            let tpop_state = state_popularity(&tr, &tstates);
            time_segments = segment_table(
                &tr,
                &te,
                &tpool,
                &tpop_state,
                (chosen, &tm),
                plain_params,
                opts.implicit,
            )?;
            let ranked = Pooled {
                inner: &tm,
                pool: &tpool,
            };
            Some((
                evaluate_ratings(&tm, &te),
                evaluate_ranking(&ranked, &tr_items, &te, &rank_opts),
            ))
        }
        None => None,
    };
    let policy = choose_policy(&time_segments, &segments);
    let score = policy_score(&policy, &time_segments, &segments);
    let policy_json: serde_json::Map<String, serde_json::Value> = policy
        .iter()
        .map(|(seg, (cand, which))| {
            (
                seg.clone(),
                serde_json::json!({
                    "candidate": cand,
                    "chosen_on": if *which == "primary" { "time" } else { "random" },
                }),
            )
        })
        .collect();
    let metrics = serde_json::json!({
        "model": chosen.name(),
        "split": "random 20 % of ratings (seeded)",
        "evaluation_users": format!("held-out users of each split, at most {} (a seeded sample)", opts.eval_users),
        "candidate_pool": format!(
            "every ranking (evaluated and served) among the {} most reviewed places and the {} most reviewed of the user's home state",
            opts.pool.global, opts.pool.per_group
        ),
        "tuning_ratings": format!("3-fold CV on the training ratings of a seeded sample of users, about {} ratings", opts.tune_ratings),
        "train_ratings": train_ratings,
        "test_ratings": rm.count,
        "test_skipped_unknown": test_skipped,
        "rmse": f(rm.rmse), "mae": f(rm.mae),
        "precision_at_10": f(km.precision), "recall_at_10": f(km.recall), "ndcg_at_10": f(km.ndcg),
        "ranking_users": km.users,
        "baselines": {
            "global_mean": {"rmse": f(gm.rmse), "mae": f(gm.mae)},
            "user_item_bias": {"rmse": f(bm.rmse), "mae": f(bm.mae)},
            "popularity": {"precision_at_10": f(pm.precision), "recall_at_10": f(pm.recall), "ndcg_at_10": f(pm.ndcg)},
            "popularity_by_state": {"precision_at_10": f(psm.precision), "recall_at_10": f(psm.recall), "ndcg_at_10": f(psm.ndcg)},
        },
        "time_split_latest_3_months": time.as_ref().map(|(r, k)| serde_json::json!({
            "rmse": f(r.rmse), "mae": f(r.mae), "test_ratings": r.count,
            "precision_at_10": f(k.precision), "recall_at_10": f(k.recall), "ndcg_at_10": f(k.ndcg),
        })),
        "segments": {
            "random": segments,
            "time": time_segments,
        },
        "policy": {
            "rule": format!(
                "per segment, the best NDCG@10 on the time split (latest 3 months) when at least {} of its users have held-out positives there, else on the random split; ties go to the baselines",
                crate::recommend::MIN_POLICY_USERS
            ),
            "by_segment": policy_json,
            "ndcg_at_10": score.as_ref().map(|s| f(s.ndcg)),
            "ranking_users": score.as_ref().map(|s| s.users),
            "baselines_ndcg_at_10": score.as_ref().map(|s| s.baselines.iter().map(|(k, v)| (k.clone(), f(*v))).collect::<serde_json::Map<_, _>>()),
        },
    });
    ctx.report.summary.push(format!(
        "als ({} {}): RMSE {:.4} (bias baseline {:.4}, global mean {:.4}); NDCG@10 {:.4} (popularity {:.4}, by state {:.4}); policy NDCG@10 {} (best baseline {}): {}",
        chosen.name(),
        chosen.params_json(),
        rm.rmse,
        bm.rmse,
        gm.rmse,
        km.ndcg,
        pm.ndcg,
        psm.ndcg,
        score
            .as_ref()
            .map_or("n/a".into(), |s| format!("{:.4}", s.ndcg)),
        score
            .as_ref()
            .and_then(PolicyScore::best_baseline)
            .map_or("n/a".into(), |b| format!("{b:.4}")),
        policy
            .iter()
            .map(|(s, (c, _))| format!("{s}: {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));

    // The served model is trained on every rating. Implicit feedback (reviewed /
    // tipped) first: it takes the ratings and frees them, and its own data and models,
    // before the served model is fitted.
    let all = Interactions::from_ratings(&ratings)?;
    implicit_model(ctx, &catalog, ratings).await?;
    ctx.step("recommender: the served model on every rating");
    // Shared with the artifact's writer, which streams it into the lake.
    let full = Arc::new(chosen.fit(&all)?);
    let mut params_json = chosen.params_json();
    if let serde_json::Value::Object(m) = &mut params_json {
        m.insert("model".into(), chosen.name().into());
        m.insert("sentiment_weight".into(), opts.sentiment_weight.into());
        m.insert(
            "ids".into(),
            "user_key / business_key as decimal strings".into(),
        );
    }
    // What is promoted is the serving policy (the model with the baselines that serve
    // the segments it does not win), on its held-out NDCG@10; a policy no better than
    // the best baseline serving everyone is never current.
    let rec = ctx
        .register(NewModel {
            name: "als".into(),
            params: params_json,
            metrics: metrics.clone(),
            primary: (
                POLICY_METRIC.into(),
                score.as_ref().map(|s| s.ndcg).filter(|v| v.is_finite()),
                true,
            ),
            artifact: Artifact::json(Arc::clone(&full)),
            snapshot_id: ctx.snapshot_id,
            // Without a policy score there is nothing to beat the baselines with: the
            // missing value never beats this.
            baseline: Some(
                score
                    .as_ref()
                    .and_then(PolicyScore::best_baseline)
                    .unwrap_or(0.0),
            ),
        })
        .await?;

    // Predictions by the current version's serving policy (this one, or the kept better
    // one).
    ctx.step("recommendations for every user");
    // With no current version (no policy ever beat its baselines) every segment is
    // served as this run's policy says, by baselines only, `model_version` 0.
    // Promoted: the served model is this run's, fitted on `all` (its index space).
    let fresh = rec.current;
    let served: Option<(ModelRecord, FactorModel)> = if rec.current {
        // The writer's copy went with the registered model.
        Some((rec, Arc::unwrap_or_clone(full)))
    } else {
        match ctx.registry.load_current(ctx.lake, "als").await? {
            Some((r, bytes)) => Some((r, FactorModel::from_json(&bytes)?)),
            None => {
                ctx.report.summary.push(
                    "als: no policy beats the baselines: every segment is served by its best baseline".into(),
                );
                None
            }
        }
    };
    let (policy_of, served_name) = match &served {
        Some((r, _)) => (
            policy_from_metrics(&r.metrics),
            r.metrics["model"]
                .as_str()
                .unwrap_or(chosen.name())
                .to_string(),
        ),
        // No version beat its baselines: only the policy's baselines may serve (a
        // model segment would have made the policy beat them; this is the guard).
        None => {
            let mut p = policy_from_metrics(&metrics);
            p.retain(|_, c| BASELINES.contains(&c.as_str()));
            (p, chosen.name().to_string())
        }
    };
    let fits = ServingFits {
        served_name,
        biased: match chosen {
            RatingModel::Biased(p) => p,
            RatingModel::Plain(p) => biased_like(p),
        },
        plain: plain_params,
        implicit: opts.implicit,
    };
    write_recommendations(
        ctx,
        &catalog,
        &all,
        served.as_ref().map(|s| (s, fresh)),
        &policy_of,
        &fits,
    )
    .await
}

/// Implicit ALS on the signals (reviews 1, tips 0.5): evaluated on a seeded random
/// hold-out against popularity (held-out positives: pairs rated 4 or more), refitted on
/// every signal and registered as `implicit_als`. Its own function, so its signals,
/// splits and models are freed before the served model is fitted; it takes the ratings
/// and frees them once the signals and the held-out positives are built.
async fn implicit_model(ctx: &mut Ctx<'_>, catalog: &Catalog, ratings: Vec<Rating>) -> Result<()> {
    let opts = ctx.opts;
    let rank_opts = RankingOptions::default();
    ctx.step("recommender: implicit ALS");
    let signals = load_signals(ctx, &ratings).await?;
    let held_i = split(
        &signals,
        &SplitStrategy::Random {
            test_fraction: 0.2,
            seed: opts.seed,
        },
    )?;
    let itrain = Interactions::from_ratings(&held_i.train)?;
    // Held-out positives: the held-out pairs the user rated 4 or more.
    let mut good: Vec<(&str, &str)> = ratings
        .iter()
        .filter(|r| r.rating >= 4.0)
        .map(|r| (&*r.user, &*r.item))
        .collect();
    good.sort_unstable();
    good.dedup();
    let positives: Vec<Rating> = held_i
        .test
        .iter()
        .filter(|r| good.binary_search(&(&*r.user, &*r.item)).is_ok())
        .map(|r| Rating {
            rating: 5.0,
            ..r.clone()
        })
        .collect();
    drop(good);
    // The ratings and the split's copies are not needed any more (the signals hold what
    // the refit needs, `itrain` and `positives` what the evaluation needs).
    drop((ratings, held_i));
    let itest = TestSet::from_ratings(&itrain, &positives).sample_users(opts.eval_users, opts.seed);
    drop(positives);
    let iparams = ImplicitParams {
        seed: opts.seed,
        ..opts.implicit
    };
    let imodel = ImplicitAls::new(iparams).fit(&itrain)?;
    let itrain_items = itrain.user_items();
    let ipool = pool_for(
        itrain.items().len(),
        &catalog.states(itrain.items(), &itrain_items),
        &itrain_items,
        opts.pool,
    );
    let im = evaluate_ranking(
        &Pooled {
            inner: &imodel,
            pool: &ipool,
        },
        &itrain_items,
        &itest,
        &rank_opts,
    );
    let ipop = Popularity::fit(&itrain, PopularityKind::MostRated);
    let ipm = evaluate_ranking(
        &Pooled {
            inner: &ipop,
            pool: &ipool,
        },
        &itrain_items,
        &itest,
        &rank_opts,
    );
    // The hold-out's data and model before the refit on every signal.
    drop((ipool, ipop, imodel, itrain_items, itest, itrain));
    ctx.report.summary.push(format!(
        "implicit_als: precision@10 {:.4}, NDCG@10 {:.4} (popularity {:.4} / {:.4})",
        im.precision, im.ndcg, ipm.precision, ipm.ndcg
    ));
    let mut version = NewModel {
        name: "implicit_als".into(),
        params: serde_json::to_value(iparams).unwrap_or_default(),
        metrics: serde_json::json!({
            "signals": "review 1, tip 0.5 per (user, business)",
            "precision_at_10": f(im.precision), "recall_at_10": f(im.recall), "ndcg_at_10": f(im.ndcg),
            "ranking_users": im.users,
            "baselines": {"popularity": {"precision_at_10": f(ipm.precision), "ndcg_at_10": f(ipm.ndcg)}},
        }),
        primary: (
            "ndcg_at_10".into(),
            im.ndcg.is_finite().then_some(im.ndcg),
            true,
        ),
        artifact: Artifact::None,
        snapshot_id: ctx.snapshot_id,
        baseline: ipm.ndcg.is_finite().then_some(ipm.ndcg),
    };
    // The model on every signal is fitted (and stored) only when the hold-out says it
    // could be served: a version no better than popularity is never current, so its
    // refit would be work (about a fifth of this part) and a large artifact for nothing.
    if version.beats_baseline() {
        let all_signals = Interactions::from_ratings(&signals)?;
        drop(signals);
        let ifull = ImplicitAls::new(iparams).fit(&all_signals)?;
        drop(all_signals);
        version.artifact = Artifact::json(Arc::new(ifull));
    } else {
        if let serde_json::Value::Object(m) = &mut version.metrics {
            m.insert(
                "artifact".into(),
                "none: not better than popularity on held-out data, so not fitted on every signal"
                    .into(),
            );
        }
        ctx.report.summary.push(
            "implicit_als: no better than popularity on held-out data: recorded, not refitted for serving".into(),
        );
    }
    ctx.register(version).await?;
    Ok(())
}

/// The registry's primary metric of `als`: the serving policy's NDCG@10 on held-out data
/// (see [`crate::recommend::policy_score`]).
pub const POLICY_METRIC: &str = "policy_ndcg_at_10";

/// Segment → serving candidate, from a version's `metrics_json` (empty for a version
/// from before serving policies: its model serves everyone).
fn policy_from_metrics(metrics: &serde_json::Value) -> BTreeMap<String, String> {
    metrics["policy"]["by_segment"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(seg, v)| Some((seg.clone(), v["candidate"].as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The biased model with plain ALS's rank, iterations and seed (default bias λs).
fn biased_like(p: AlsParams) -> BiasedParams {
    BiasedParams {
        rank: p.rank,
        iterations: p.iterations,
        seed: p.seed,
        ..BiasedParams::default()
    }
}

/// Implicit ALS on `train`'s ratings as signals of 1 (same indices as `train`).
fn implicit_on_ratings(train: &Interactions, params: ImplicitParams) -> Result<FactorModel> {
    Ok(ImplicitAls::new(params).fit(&train.map_values(|_| 1.0)?)?)
}

/// A recommendation list as (business_key, score), best first.
type KeyedList = Vec<(i64, f64)>;

/// Users per written batch of `recommendations`.
const RECOMMENDATION_USERS_PER_BATCH: usize = 100_000;

/// The `segment` of users without a rating (cold start).
pub const COLD_SEGMENT: &str = "0";
/// The `model` of rows from the cold-start ranking.
pub const COLD_START_MODEL: &str = "cold_start";

/// The top `n` of `users` (indices of `all`) by policy candidate `cand`, fitted on every
/// rating in `all`'s index space, excluding each user's rated items; `None` for a name
/// this stage cannot serve (its users get the cold-start ranking).
#[allow(clippy::too_many_arguments)]
fn rank_candidate(
    cand: &str,
    ctx: &Ctx<'_>,
    (all, states): (&Interactions, &States<'_>),
    fits: &ServingFits,
    users: &[u32],
    n: usize,
    exclude: &UserItems,
    pool: &CandidatePool,
) -> Result<Option<Vec<Vec<Scored>>>> {
    ctx.step(&format!("recommendations: fitting {cand} on every rating"));
    let out =
        match cand {
            "bias_baseline" => BiasBaseline::fit(all, BiasParams::default())
                .top_n_batch_in(users, n, exclude, pool),
            "popularity" => Popularity::fit(all, PopularityKind::MostRated)
                .top_n_batch_in(users, n, exclude, pool),
            "popularity_by_state" => {
                state_popularity(all, states).top_n_batch_in(users, n, exclude, pool)
            }
            "biased" => RatingModel::Biased(fits.biased)
                .fit(all)?
                .top_n_batch_in(users, n, exclude, pool),
            "als" => RatingModel::Plain(fits.plain)
                .fit(all)?
                .top_n_batch_in(users, n, exclude, pool),
            // As evaluated: every rating a signal of 1.
            "implicit_als" => {
                implicit_on_ratings(all, fits.implicit)?.top_n_batch_in(users, n, exclude, pool)
            }
            other => {
                tracing::warn!(
                    candidate = other,
                    "no way to serve this candidate: cold start"
                );
                return Ok(None);
            }
        };
    Ok(Some(out))
}

/// What serving needs to fit a policy's candidates on every rating.
struct ServingFits {
    /// The served model's name (`biased` or `als`).
    served_name: String,
    biased: BiasedParams,
    plain: AlsParams,
    implicit: ImplicitParams,
}

/// Popularity within each user's home state (the state they reviewed most in `train`);
/// `states`: [`Catalog::states`] of `train`'s index space.
fn state_popularity(train: &Interactions, states: &States<'_>) -> Popularity {
    fn named(ids: &IdMap, of: &[Option<&str>]) -> Groups {
        Groups::new(
            ids,
            ids.iter().zip(of).filter_map(|(id, s)| Some((id, (*s)?))),
        )
    }
    let item_state = named(train.items(), &states.items);
    let user_groups = named(train.users(), &states.home);
    Popularity::fit_by_group(train, PopularityKind::MostRated, item_state, user_groups)
}

/// The candidate pool of an index space of `items` items rated as `rated` says: the
/// catalogue's most reviewed places and those of each user's home state (`states`:
/// [`Catalog::states`] of the same index space).
fn pool_for(
    items: usize,
    states: &States<'_>,
    rated: &UserItems,
    sizes: PoolSizes,
) -> CandidatePool {
    let mut codes: BTreeMap<&str, u32> = BTreeMap::new();
    for s in states.items.iter().flatten() {
        let next = codes.len() as u32;
        codes.entry(s).or_insert(next);
    }
    let code = |s: &Option<&str>| s.and_then(|s| codes.get(s).copied());
    CandidatePool::from_rated(
        rated,
        items,
        states.items.iter().map(code).collect(),
        states.home.iter().map(code).collect(),
        sizes,
    )
}

/// Every explicit candidate — the served model (already fitted on `train`), plain ALS-WR (or the biased model when
/// plain is served), the bias baseline, the global mean, popularity overall and by state
/// — and implicit ALS (trained here on the same split's reviews as signals of 1, so its
/// lists are comparable; the registered `implicit_als` also counts tips) on every user
/// segment of one split.
#[allow(clippy::too_many_arguments)]
fn segment_table(
    train: &Interactions,
    test: &TestSet,
    pool: &CandidatePool,
    pop_state: &Popularity,
    (served, served_model): (RatingModel, &FactorModel),
    plain: AlsParams,
    implicit: ImplicitParams,
) -> Result<Vec<SegmentMetrics>> {
    let other = match served {
        RatingModel::Biased(_) => RatingModel::Plain(plain),
        RatingModel::Plain(p) => RatingModel::Biased(biased_like(p)),
    };
    let other_model = other.fit(train)?;
    let bias = BiasBaseline::fit(train, BiasParams::default());
    let mean = GlobalMean::fit(train);
    let pop = Popularity::fit(train, PopularityKind::MostRated);
    let implicit_model = implicit_on_ratings(train, implicit)?;
    let mut candidates = vec![
        Candidate {
            name: served.name(),
            predictor: Some(served_model),
            ranker: Some(served_model),
        },
        Candidate {
            name: other.name(),
            predictor: Some(&other_model),
            ranker: Some(&other_model),
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
        Candidate {
            name: "popularity_by_state",
            predictor: None,
            ranker: Some(pop_state),
        },
    ];
    candidates.push(Candidate {
        name: "implicit_als",
        predictor: None,
        ranker: Some(&implicit_model),
    });
    // Every ranking among the pool, as served.
    let pooled: Vec<Option<Pooled<'_>>> = candidates
        .iter()
        .map(|c| c.ranker.map(|inner| Pooled { inner, pool }))
        .collect();
    for (c, p) in candidates.iter_mut().zip(&pooled) {
        c.ranker = p.as_ref().map(|p| p as &dyn Ranker);
    }
    Ok(evaluate_segments(
        &candidates,
        train,
        test,
        &RankingOptions::default(),
    ))
}

async fn write_recommendations(
    ctx: &mut Ctx<'_>,
    catalog: &Catalog,
    all: &Interactions,
    served: Option<(&(ModelRecord, FactorModel), bool)>,
    policy: &BTreeMap<String, String>,
    fits: &ServingFits,
) -> Result<()> {
    // `fresh`: the served model was fitted on `all` in this run (same index space).
    let (served, fresh) = match served {
        Some((s, fresh)) => (Some(s), fresh),
        None => (None, false),
    };
    let n = ctx.opts.top_n.max(1);
    let version = served.map_or(0, |(r, _)| r.version);
    let no_model;
    let model = match served {
        Some((_, m)) => m,
        None => {
            no_model = FactorModel::empty();
            &no_model
        }
    };
    // `all` (every rating, indexed): the segment of each user and the baselines' index
    // space.
    let by_user = all.by_user();
    let all_items = all.user_items();
    let all_states = catalog.states(all.items(), &all_items);
    // The candidate pools of `all`'s and of the served model's index spaces (the same
    // pool when the model was fitted on `all`).
    let pool = pool_for(all.items().len(), &all_states, &all_items, ctx.opts.pool);
    let older_pool;
    let model_pool = if fresh {
        &pool
    } else {
        older_pool = pool_for(
            model.items.len(),
            &catalog.states(&model.items, &model.rated),
            &model.rated,
            ctx.opts.pool,
        );
        &older_pool
    };
    let segment = |u: Option<u32>| -> &'static str {
        u.and_then(|u| segment_of(by_user.row(u as usize).0.len()))
            .unwrap_or(COLD_SEGMENT)
    };
    // Who is served by what: the policy's candidate of the user's segment (a version
    // from before policies: its model for everyone).
    let candidate_of = |seg: &str| -> Option<&str> {
        if seg == COLD_SEGMENT {
            return None;
        }
        if policy.is_empty() {
            return Some(fits.served_name.as_str());
        }
        policy.get(seg).map(String::as_str)
    };
    let mut groups: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for u in 0..all.users().len() as u32 {
        if let Some(c) = candidate_of(segment(Some(u))) {
            groups.entry(c).or_default().push(u);
        }
    }
    // Each user's list (by index in `all`): the candidate and its items as keys.
    let mut lists: Vec<Option<(&str, KeyedList)>> = vec![None; all.users().len()];
    for (cand, users) in &groups {
        let keyed = |items: &crate::recommend::IdMap, l: Vec<Scored>| -> KeyedList {
            l.into_iter()
                .filter_map(|s| {
                    let key: i64 = items.id(s.item)?.parse().ok()?;
                    s.score.is_finite().then_some((key, f64::from(s.score)))
                })
                .collect()
        };
        if *cand == fits.served_name {
            // The served version's own factors (and index space); users it does not
            // know get the cold-start ranking.
            if served.is_none() {
                continue;
            }
            let (known, idx): (Vec<u32>, Vec<u32>) = users
                .iter()
                .filter_map(|&u| {
                    let id = all.users().id(u)?;
                    Some((u, model.users.index(id)?))
                })
                .unzip();
            let out = model.top_n_batch_in(&idx, n, &model.rated, model_pool);
            for (u, l) in known.into_iter().zip(out) {
                lists[u as usize] = Some((cand, keyed(&model.items, l)));
            }
            continue;
        }
        let ranked = rank_candidate(
            cand,
            ctx,
            (all, &all_states),
            fits,
            users,
            n,
            &all_items,
            &pool,
        )?;
        let Some(out) = ranked else { continue };
        for (&u, l) in users.iter().zip(out) {
            lists[u as usize] = Some((cand, keyed(all.items(), l)));
        }
    }

    // What every user reviewed (never recommended back), as keys, and their most
    // reviewed state.
    let item_key: Vec<Option<i64>> = all.items().iter().map(|id| id.parse().ok()).collect();
    let user_state = &all_states.home;
    let mut sink = TableRewrite::open(
        ctx.lake,
        Zone::Models,
        m::RECOMMENDATIONS,
        m::recommendations(),
        ctx.run_id,
    )
    .await?;
    let mut served_count: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    // In batches of users: the table of millions of users never sits in memory whole.
    for chunk in catalog.users.chunks(RECOMMENDATION_USERS_PER_BATCH) {
        let (mut uk, mut bk, mut rank, mut score, mut cs) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut by_model, mut by_segment) = (Vec::new(), Vec::new());
        for &user in chunk {
            let u = all.users().index(&user.to_string());
            let mut seen: Vec<i64> = u.map_or_else(Vec::new, |u| {
                all_items
                    .of(u)
                    .iter()
                    .filter_map(|&i| item_key[i as usize])
                    .collect()
            });
            seen.sort_unstable();
            let seen = |k: &i64| seen.binary_search(k).is_ok();
            let seg = segment(u);
            let mut items: Vec<(i64, f64, &str)> = Vec::with_capacity(n);
            if let Some((cand, l)) = u.and_then(|u| lists[u as usize].as_ref()) {
                items.extend(
                    l.iter()
                        .filter(|(k, _)| !seen(k))
                        .take(n)
                        .map(|&(k, sc)| (k, sc, *cand)),
                );
            }
            if items.len() < n {
                // Cold start (or a list too short): popular, well-rated places of the
                // user's state first, then of anywhere; flagged.
                let state = u.and_then(|u| user_state[u as usize]);
                let mut have: HashSet<i64> = items.iter().map(|i| i.0).collect();
                for pass in [true, false] {
                    if pass && state.is_none() {
                        continue;
                    }
                    for &(k, sc) in &catalog.cold {
                        if items.len() >= n {
                            break;
                        }
                        let in_state = catalog.state_of.get(&k).map(String::as_str) == state;
                        if (pass && !in_state) || seen(&k) || have.contains(&k) {
                            continue;
                        }
                        have.insert(k);
                        items.push((k, sc, COLD_START_MODEL));
                    }
                }
            }
            if let Some(first) = items.first() {
                *served_count.entry((seg, first.2)).or_default() += 1;
            }
            for (r, (b, s, c)) in items.into_iter().enumerate() {
                uk.push(user);
                bk.push(b);
                rank.push(r as i32 + 1);
                score.push(s);
                cs.push(c == COLD_START_MODEL);
                by_model.push(c);
                by_segment.push(seg);
            }
        }
        let rows = uk.len();
        sink.write(RecordBatch::try_new(
            m::recommendations(),
            vec![
                Arc::new(Int64Array::from(uk)),
                Arc::new(Int64Array::from(bk)),
                Arc::new(Int32Array::from(rank)),
                Arc::new(Float64Array::from(score)),
                Arc::new(BooleanArray::from(cs)),
                Arc::new(Int64Array::from(vec![version; rows])),
                Arc::new(StringArray::from(by_model)),
                Arc::new(StringArray::from(by_segment)),
            ],
        )?)
        .await?;
    }
    let (rows, _) = sink.commit().await?;
    ctx.report
        .tables
        .insert(m::RECOMMENDATIONS.to_string(), rows);
    ctx.report.summary.push(format!(
        "recommendations (policy of als v{version}): {}",
        served_count
            .iter()
            .map(|((seg, c), k)| format!("segment {seg}: {c} for {k} users"))
            .collect::<Vec<_>>()
            .join("; ")
    ));

    ctx.step("similar businesses");
    let (mut a, mut bsim, mut r2, mut s2) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, list) in model
        .similar_items_all_in(n, model_pool)
        .into_iter()
        .enumerate()
    {
        let Some(key) = model
            .items
            .id(i as u32)
            .and_then(|id| id.parse::<i64>().ok())
        else {
            continue;
        };
        for (r, s) in list.into_iter().enumerate() {
            if let Some(other) = model.items.id(s.item).and_then(|id| id.parse::<i64>().ok()) {
                a.push(key);
                bsim.push(other);
                r2.push(r as i32 + 1);
                s2.push(f64::from(s.score));
            }
        }
    }
    let rows = a.len();
    let batch = RecordBatch::try_new(
        m::similar_businesses(),
        vec![
            Arc::new(Int64Array::from(a)),
            Arc::new(Int64Array::from(bsim)),
            Arc::new(Int32Array::from(r2)),
            Arc::new(Float64Array::from(s2)),
            Arc::new(Int64Array::from(vec![version; rows])),
        ],
    )?;
    ctx.write(m::SIMILAR_BUSINESSES, m::similar_businesses(), vec![batch])
        .await
}

// ---------------------------------------------------------------- site selection

async fn site_selection(ctx: &mut Ctx<'_>) -> Result<()> {
    ctx.step("site selection");
    let category = ctx.opts.site_category.to_ascii_lowercase();
    let cat_col = format!("cat_{category}");
    let df = ctx.session.sql("SELECT * FROM business_features").await?;
    let cats: Vec<String> = df
        .schema()
        .fields()
        .iter()
        .filter_map(|f| f.name().strip_prefix("cat_").map(str::to_string))
        .collect();
    if !cats.contains(&category) {
        return Err(MlError::Data(format!(
            "site selection: unknown category {category:?}; the shared categories are {}",
            cats.join(", ")
        )));
    }
    let serves = format!("\"{cat_col}\" = 1");
    // Reviews in the last and the previous 12 months of the panel, aggregated by the plan;
    // ordered by key, so the seeded k-means sample does not depend on the join's order.
    let (last_year, prev_year) = (sites::REVIEWS_LAST_YEAR, sites::REVIEWS_PREV_YEAR);
    let sql = format!(
        "SELECT f.business_key AS business_key, state, latitude, longitude, reviews, \
         mean_sentiment, mean_stars, {serves} AS serves, \
         COALESCE(y.{last_year}, 0.0) AS {last_year}, COALESCE(y.{prev_year}, 0.0) AS {prev_year} \
         FROM business_features f LEFT JOIN ({}) y ON f.business_key = y.business_key \
         WHERE is_restaurant AND state IS NOT NULL AND latitude IS NOT NULL AND longitude IS NOT NULL \
         ORDER BY f.business_key",
        sites::yearly_reviews_sql()
    );
    let mut places = Vec::new();
    for b in ctx.rows(&sql).await? {
        let c = Columns::new(&b, ft::BUSINESS_FEATURES);
        let (k, st, lat, lon) = (
            c.i64(col::BUSINESS_KEY)?,
            c.str(col::STATE)?,
            c.f64(col::LATITUDE)?,
            c.f64(col::LONGITUDE)?,
        );
        let (rev, sent, stars, serve) = (
            c.i64(col::REVIEWS)?,
            c.f64(col::MEAN_SENTIMENT)?,
            c.f64(col::MEAN_STARS)?,
            c.bool("serves")?,
        );
        let (last_year, prev_year) = (c.f64(last_year)?, c.f64(prev_year)?);
        for r in 0..b.num_rows() {
            let key = k.value(r);
            let (last, prev) = (last_year.value(r), prev_year.value(r));
            places.push(sites::Place {
                key,
                state: st.value(r).to_string(),
                latitude: lat.value(r),
                longitude: lon.value(r),
                reviews: rev.value(r) as f64,
                reviews_last_year: last,
                reviews_prev_year: prev,
                mean_sentiment: (!sent.is_null(r)).then(|| sent.value(r)),
                mean_stars: (!stars.is_null(r)).then(|| stars.value(r)),
                serves_category: !serve.is_null(r) && serve.value(r),
            });
        }
    }
    let config = sites::SiteConfig {
        category_label: category.clone(),
        seed: ctx.opts.seed,
        ..sites::SiteConfig::default()
    };
    ctx.step(&format!(
        "site selection: {} places loaded; clustering by state",
        places.len()
    ));
    let results = sites::select_all(&places, &config);
    let mut areas: Vec<&sites::CandidateArea> = Vec::new();
    let mut per_state = serde_json::Map::new();
    let mut silhouettes = Vec::new();
    let mut failed = Vec::new();
    for (state, res) in &results {
        match res {
            Ok(s) => {
                if let Some(v) = s.silhouette {
                    silhouettes.push(v);
                }
                per_state.insert(
                    state.clone(),
                    serde_json::json!({
                        "method": s.method, "k": s.k, "silhouette": s.silhouette.map(f),
                        "silhouette_by_k": s.trials.iter().map(|t| serde_json::json!({"k": t.k, "silhouette": t.silhouette.map(f)})).collect::<Vec<_>>(),
                        "places": s.accounting.places_in, "noise": s.accounting.noise,
                        "candidates": s.candidates.len(),
                    }),
                );
                areas.extend(&s.candidates);
            }
            Err(e) => failed.push(format!("{state}: {e}")),
        }
    }
    let mean_sil = (!silhouettes.is_empty())
        .then(|| silhouettes.iter().sum::<f64>() / silhouettes.len() as f64);
    ctx.report.summary.push(format!(
        "sites: {} candidate areas in {} states (mean silhouette {}){}",
        areas.len(),
        per_state.len(),
        mean_sil.map_or("n/a".into(), |v| format!("{v:.3}")),
        if failed.is_empty() {
            String::new()
        } else {
            format!("; not clustered: {}", failed.join("; "))
        }
    ));
    if ctx.opts.tune && !places.is_empty() {
        // The k-means silhouette search of the largest state, as trials.
        let mut by_state: BTreeMap<&str, usize> = BTreeMap::new();
        for p in &places {
            *by_state.entry(p.state.as_str()).or_default() += 1;
        }
        if let Some((state, _)) = by_state.iter().max_by_key(|(_, n)| **n) {
            let state_places: Vec<sites::Place> = places
                .iter()
                .filter(|p| p.state == *state)
                .cloned()
                .collect();
            if let Ok(trials) = sites::tune(
                &state_places,
                "kmeans",
                &sites::kmeans_space(),
                Search::Grid,
                &config,
            ) {
                ctx.trials.extend(trials);
            }
        }
    }
    let rec = ctx
        .register(NewModel {
            name: "sites".into(),
            params: serde_json::to_value(&config).unwrap_or_default(),
            metrics: serde_json::json!({"mean_silhouette": mean_sil.map(f), "states": per_state, "failed": failed}),
            primary: ("mean_silhouette".into(), mean_sil, true),
            artifact: Artifact::Bytes(Bytes::from(serde_json::to_vec(&results.iter().filter_map(|(s, r)| r.as_ref().ok().map(|r| (s, r))).collect::<Vec<_>>()).unwrap_or_default())),
            snapshot_id: ctx.snapshot_id,
            baseline: None,
        })
        .await?;
    let rows = areas.len();
    let f64s = |g: &dyn Fn(&sites::CandidateArea) -> f64| {
        Arc::new(Float64Array::from_iter_values(areas.iter().map(|a| g(a))))
    };
    let batch = RecordBatch::try_new(
        m::site_candidates(),
        vec![
            Arc::new(StringArray::from_iter_values(
                areas.iter().map(|a| a.state.as_str()),
            )),
            Arc::new(StringArray::from(vec![Some(category.as_str()); rows])),
            Arc::new(Int32Array::from_iter_values(
                areas.iter().map(|a| a.rank as i32),
            )),
            Arc::new(StringArray::from_iter_values(
                areas.iter().map(|a| a.method.as_str()),
            )),
            Arc::new(Int32Array::from_iter_values(
                areas.iter().map(|a| a.cluster as i32),
            )),
            f64s(&|a| a.centroid_latitude),
            f64s(&|a| a.centroid_longitude),
            f64s(&|a| a.radius_km),
            Arc::new(Int64Array::from_iter_values(
                areas.iter().map(|a| a.members),
            )),
            f64s(&|a| a.opportunity_score),
            f64s(&|a| (a.volume_score + a.growth_score) / 2.0),
            f64s(&|a| a.satisfaction_gap_score),
            f64s(&|a| 1.0 - a.low_competition_score),
            Arc::new(StringArray::from_iter_values(
                areas.iter().map(|a| a.reasons.as_str()),
            )),
            Arc::new(Int64Array::from(vec![rec.version; rows])),
        ],
    )?;
    ctx.write(m::SITE_CANDIDATES, m::site_candidates(), vec![batch])
        .await
}

// ---------------------------------------------------------------- growth

async fn growth_models(ctx: &mut Ctx<'_>) -> Result<()> {
    ctx.step("growth and decline");
    let mut panel = Vec::new();
    for b in ctx
        .rows("SELECT business_key, month, reviews, mean_stars, mean_sentiment, new_reviewers, returning_reviewers FROM business_month")
        .await?
    {
        let c = Columns::new(&b, ft::BUSINESS_MONTH);
        let (k, mo, n) = (c.i64(col::BUSINESS_KEY)?, c.date32(col::MONTH)?, c.i64(col::REVIEWS)?);
        let (ms, se) = (c.f64(col::MEAN_STARS)?, c.f64(col::MEAN_SENTIMENT)?);
        let (nr, rr) = (c.i64(col::NEW_REVIEWERS)?, c.i64(col::RETURNING_REVIEWERS)?);
        for r in 0..b.num_rows() {
            let Some(month) = mo.value_as_date(r) else { continue };
            panel.push(growth::PanelRow {
                entity: k.value(r),
                month,
                reviews: n.value(r),
                mean_stars: (!ms.is_null(r)).then(|| ms.value(r)),
                mean_sentiment: (!se.is_null(r)).then(|| se.value(r)),
                new_reviewers: nr.value(r),
                returning_reviewers: rr.value(r),
            });
        }
    }
    if panel.is_empty() {
        ctx.report
            .summary
            .push("growth: empty business_month panel: nothing trained".into());
        return Ok(());
    }
    // Static features of businesses: price level, shared categories, state.
    let mut cats: HashMap<i64, Vec<String>> = HashMap::new();
    for b in ctx
        .rows("SELECT business_key, category FROM business_category")
        .await?
    {
        let c = Columns::new(&b, wh::BUSINESS_CATEGORY);
        let (k, cat) = (c.i64(col::BUSINESS_KEY)?, c.str(col::CATEGORY)?);
        for r in 0..b.num_rows() {
            cats.entry(k.value(r))
                .or_default()
                .push(cat.value(r).to_string());
        }
    }
    let mut attrs = Vec::new();
    let mut groups_of: HashMap<i64, Vec<growth::GroupKey>> = HashMap::new();
    for b in ctx
        .rows("SELECT business_key, state, price_level FROM dim_business")
        .await?
    {
        let c = Columns::new(&b, wh::DIM_BUSINESS);
        let (k, st, pl) = (
            c.i64(col::BUSINESS_KEY)?,
            c.str(col::STATE)?,
            c.i32(col::PRICE_LEVEL)?,
        );
        for r in 0..b.num_rows() {
            let key = k.value(r);
            let state = (!st.is_null(r)).then(|| st.value(r).to_string());
            let categories = cats.get(&key).cloned().unwrap_or_default();
            if let Some(s) = &state {
                groups_of.insert(
                    key,
                    categories
                        .iter()
                        .map(|c| growth::GroupKey {
                            category: c.clone(),
                            state: s.clone(),
                        })
                        .collect(),
                );
            }
            attrs.push(growth::BusinessAttributes {
                key,
                state,
                price_level: (!pl.is_null(r)).then(|| pl.value(r)),
                categories,
            });
        }
    }
    ctx.step(&format!(
        "growth: panel of {} business-months and {} businesses loaded",
        panel.len(),
        attrs.len()
    ));
    let statics = growth::StaticFeatures::from_businesses(&attrs);
    let label = growth::LabelConfig::default();
    let config = growth::ModelConfig {
        seed: ctx.opts.seed,
        ..growth::ModelConfig::default()
    };
    let (mut lvl, mut bk, mut cat, mut st, mut ps, mut model, mut class, mut prob, mut val) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let mut versions = Vec::new();
    // Business level, then category × state.
    let group_panel = growth::aggregate_by_group(&panel, &groups_of);
    let levels: Vec<(&str, Result<growth::GrowthDataset, growth::GrowthError>)> = vec![
        ("business", growth::build_dataset(&panel, &statics, &label)),
        (
            "category_state",
            growth::build_dataset(&group_panel.rows, &growth::StaticFeatures::none(), &label),
        ),
    ];
    // The panels and the business attributes are in the datasets now.
    let group_names = group_panel.groups;
    drop((panel, group_panel.rows, statics, attrs, cats, groups_of));
    ctx.step("growth: datasets of both levels built");
    for (level, dataset) in levels {
        ctx.step(&format!("growth ({level}): evaluating"));
        let dataset = match dataset {
            Ok(d) => d,
            Err(e) => {
                ctx.report
                    .summary
                    .push(format!("growth ({level}): not trained: {e}"));
                continue;
            }
        };
        let report = match growth::evaluate(&dataset, level, &config) {
            Ok(r) => r,
            Err(e) => {
                ctx.report
                    .summary
                    .push(format!("growth ({level}): not trained: {e}"));
                continue;
            }
        };
        if ctx.opts.tune && level == "business" {
            ctx.step(&format!("growth ({level}): tuning"));
            for family in [
                growth::Family::Logistic,
                growth::Family::Forest,
                growth::Family::Ridge,
            ] {
                if let Ok(t) = growth::tune(
                    &dataset,
                    family,
                    &family.space(),
                    Search::Random { trials: 4 },
                    2,
                    ctx.opts.seed,
                ) {
                    ctx.trials.extend(t);
                }
            }
        }
        let mm = &report.metrics;
        let best = mm
            .classifiers
            .iter()
            .find(|c| c.model == mm.chosen_classifier)
            .or(mm.classifiers.first());
        let reg = mm
            .regressors
            .iter()
            .find(|r| r.model != "last_period")
            .or(mm.regressors.first());
        ctx.report.summary.push(format!(
            "growth ({level}): {} test rows; {} ROC-AUC {}, F1 {:.3}; {} RMSE {:.3}",
            mm.test_rows,
            best.map_or("-", |c| c.model.as_str()),
            best.and_then(|c| c.roc_auc)
                .map_or("n/a".into(), |v| format!("{v:.3}")),
            best.map_or(f64::NAN, |c| c.f1_grow),
            reg.map_or("-", |r| r.model.as_str()),
            reg.map_or(f64::NAN, |r| r.rmse),
        ));
        let name = format!("growth_{level}");
        let rec = ctx
            .register(NewModel {
                name: name.clone(),
                params: serde_json::json!({"label": label, "models": config}),
                metrics: serde_json::to_value(mm).unwrap_or_default(),
                primary: (
                    "roc_auc".into(),
                    best.and_then(|c| c.roc_auc).filter(|v| v.is_finite()),
                    true,
                ),
                artifact: Artifact::Bytes(Bytes::from(
                    serde_json::to_vec(&report).unwrap_or_default(),
                )),
                snapshot_id: ctx.snapshot_id,
                baseline: None,
            })
            .await?;
        for p in report
            .predictions
            .iter()
            .filter(|p| p.split == "forecast" || p.split == "test")
        {
            let Some(date) = chrono::NaiveDate::parse_from_str(&p.period_start, "%Y-%m-%d").ok()
            else {
                continue;
            };
            let days = (date - chrono::NaiveDate::default()).num_days() as i32;
            lvl.push(level.to_string());
            if level == "business" {
                bk.push(Some(p.entity));
                cat.push(None);
                st.push(None);
            } else {
                let g = usize::try_from(p.entity)
                    .ok()
                    .and_then(|i| group_names.get(i));
                bk.push(None);
                cat.push(g.map(|g| g.category.clone()));
                st.push(g.map(|g| g.state.clone()));
            }
            ps.push(days);
            model.push(format!("{}+{}", p.classifier, p.regressor));
            class.push(if p.predicted_grow { "grow" } else { "decline" }.to_string());
            prob.push(Some(p.grow_probability));
            val.push(Some(p.predicted_reviews));
            versions.push(rec.version);
        }
    }
    let batch = RecordBatch::try_new(
        m::growth_predictions(),
        vec![
            Arc::new(StringArray::from(lvl)),
            Arc::new(Int64Array::from(bk)),
            Arc::new(StringArray::from(cat)),
            Arc::new(StringArray::from(st)),
            Arc::new(Date32Array::from(ps)),
            Arc::new(StringArray::from(model)),
            Arc::new(StringArray::from(class)),
            Arc::new(Float64Array::from(prob)),
            Arc::new(Float64Array::from(val)),
            Arc::new(Int64Array::from(versions)),
        ],
    )?;
    ctx.write(m::GROWTH_PREDICTIONS, m::growth_predictions(), vec![batch])
        .await
}

// ---------------------------------------------------------------- trials

async fn write_trials(ctx: &mut Ctx<'_>) -> Result<()> {
    ctx.report.trials = ctx.trials.len();
    let mut table = ctx
        .lake
        .open_or_create(Zone::Models, m::TRIALS, &m::trials())
        .await?;
    if ctx.trials.is_empty() {
        return Ok(());
    }
    let t = &ctx.trials;
    let now = chrono::Utc::now().timestamp_micros();
    let mut folds = ListBuilder::new(Float64Builder::new()).with_field(
        arrow::datatypes::Field::new("element", arrow::datatypes::DataType::Float64, true),
    );
    for x in t {
        for v in &x.fold_scores {
            folds.values().append_value(*v);
        }
        folds.append(true);
    }
    let batch = RecordBatch::try_new(
        m::trials(),
        vec![
            Arc::new(StringArray::from(vec![ctx.run_id; t.len()])),
            Arc::new(TimestampMicrosecondArray::from(vec![now; t.len()]).with_timezone("UTC")),
            Arc::new(StringArray::from_iter_values(
                t.iter().map(|x| x.model_family.as_str()),
            )),
            Arc::new(Int64Array::from_iter_values(t.iter().map(|x| x.trial))),
            Arc::new(StringArray::from_iter_values(
                t.iter().map(|x| x.search.as_str()),
            )),
            Arc::new(Int64Array::from_iter_values(t.iter().map(|x| x.seed))),
            Arc::new(StringArray::from_iter_values(
                t.iter().map(|x| x.params_json.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                t.iter().map(|x| x.metric.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                t.iter().map(|x| x.direction.as_str()),
            )),
            Arc::new(folds.finish()),
            Arc::new(Float64Array::from(
                t.iter().map(|x| x.mean_score).collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                t.iter().map(|x| x.std_score).collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from_iter_values(t.iter().map(|x| x.rank))),
            Arc::new(Float64Array::from_iter_values(
                t.iter().map(|x| x.duration_ms / 1000.0),
            )),
            Arc::new(StringArray::from(
                t.iter().map(|x| x.error.clone()).collect::<Vec<_>>(),
            )),
        ],
    )?;
    let mut w = table.file_writer(
        &format!(
            "trials-{}-{}.parquet",
            ctx.run_id,
            uuid::Uuid::new_v4().simple()
        ),
        m::trials(),
    )?;
    w.write(&batch).await?;
    let files = w.finish().await?.into_iter().collect();
    let rows = batch.num_rows() as u64;
    let mut meta = HashMap::new();
    meta.insert(
        "reviewlake.run".to_string(),
        serde_json::Value::from(ctx.run_id),
    );
    table
        .commit(files, &|_| false, CommitKind::Append, meta)
        .await?;
    ctx.report.tables.insert(m::TRIALS.to_string(), rows);
    Ok(())
}
