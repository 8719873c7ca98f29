//! The models over a feature matrix: standardisation, logistic regression and random
//! forest classifiers (linfa), a ridge regressor (linfa-linear least squares on an
//! augmented system), and their hyper-parameters.

use linfa::prelude::*;
use linfa_ensemble::RandomForest;
use linfa_linear::LinearRegression;
use linfa_logistic::{FittedLogisticRegression, LogisticRegression};
use linfa_trees::DecisionTree;
use ndarray::{Array1, Array2, ArrayView2, Axis, concatenate};
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::GrowthError;
use crate::tuning::{self, Params, SearchSpace};

/// Per-column standardisation fitted on training rows only: `(x - mean) / std`, missing
/// (non-finite) values replaced by 0 (= the training mean). A constant column maps to 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    /// Training mean of each column (over its finite values; 0 when it has none).
    pub mean: Vec<f64>,
    /// Training population standard deviation (1 when it is 0 or undefined).
    pub scale: Vec<f64>,
}

impl Standardizer {
    /// Fits on `x` (rows = training samples).
    pub fn fit(x: ArrayView2<'_, f64>) -> Self {
        let (mut mean, mut scale) = (Vec::new(), Vec::new());
        for col in x.axis_iter(Axis(1)) {
            let vals: Vec<f64> = col.iter().copied().filter(|v| v.is_finite()).collect();
            let n = vals.len() as f64;
            let m = if vals.is_empty() {
                0.0
            } else {
                vals.iter().sum::<f64>() / n
            };
            let var = if vals.is_empty() {
                0.0
            } else {
                vals.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n
            };
            let sd = var.sqrt();
            mean.push(m);
            scale.push(if sd > 1e-12 && sd.is_finite() {
                sd
            } else {
                1.0
            });
        }
        Standardizer { mean, scale }
    }

    /// Applies the fitted transform (same column count as at fit time).
    pub fn transform(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        let mut out = x.to_owned();
        for (j, mut col) in out.axis_iter_mut(Axis(1)).enumerate() {
            let (m, s) = (
                self.mean.get(j).copied().unwrap_or(0.0),
                self.scale.get(j).copied().unwrap_or(1.0),
            );
            col.mapv_inplace(|v| if v.is_finite() { (v - m) / s } else { 0.0 });
        }
        out
    }
}

/// L2-regularised logistic regression (linfa-logistic, L-BFGS).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogisticParams {
    /// L2 penalty `alpha` (linfa's parameterisation: larger = stronger regularisation).
    pub alpha: f64,
    /// Solver iterations.
    pub max_iterations: u64,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams {
            alpha: 1.0,
            max_iterations: 200,
        }
    }
}

/// Random forest (linfa-ensemble 0.8.1): `trees` CART trees (linfa-trees, Gini), each
/// fit on a bootstrap sample of `bootstrap_ratio` × rows and on `feature_ratio` × columns
/// drawn **once per tree** with replacement (linfa's random-subspace bagging, not
/// per-split feature sampling as in scikit-learn).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForestParams {
    /// Number of trees.
    pub trees: usize,
    /// Maximum depth (None = unlimited).
    pub max_depth: Option<usize>,
    /// Share of the columns each tree sees, in (0, 1].
    pub feature_ratio: f64,
    /// Bootstrap sample size as a share of the rows, in (0, 1].
    pub bootstrap_ratio: f64,
    /// Minimum (unweighted) rows in a leaf.
    pub min_weight_leaf: f32,
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams {
            trees: 100,
            max_depth: Some(8),
            feature_ratio: 0.5,
            bootstrap_ratio: 0.5,
            min_weight_leaf: 5.0,
        }
    }
}

/// Weighted ridge regression of the log-ratio `t = ln(1 + reviews(P)) - ln(1 +
/// reviews(P-1))`: `min Σ w_i (t_i - b - x_i·β)² + lambda |β|²` with inverse-variance
/// weights `w_i ∝ 1 + reviews(P-1)` (Poisson: Var t ≈ 1 / count) and an unpenalised
/// intercept `b`, solved by least squares (linfa-linear) on the weighted, centred design
/// augmented with `sqrt(lambda) · I` rows. Predictions are
/// `(1 + reviews(P-1)) · exp(b + x·β) · s - 1` (floored at 0), `s` being Duan's smearing
/// factor (weighted). With a large `lambda` it tends to the last-value baseline times the
/// average growth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RidgeParams {
    /// Penalty (> 0; keeps the system well-posed with collinear one-hot columns).
    pub lambda: f64,
}

impl Default for RidgeParams {
    fn default() -> Self {
        RidgeParams { lambda: 1.0 }
    }
}

impl LogisticParams {
    /// From tuning parameters `alpha` (and optional `max_iterations`).
    pub fn from_params(p: &Params) -> Result<Self, GrowthError> {
        Ok(LogisticParams {
            alpha: tuning::param_f64(p, "alpha")?,
            max_iterations: tuning::param_i64(p, "max_iterations").map_or(200, |v| v.max(1) as u64),
        })
    }
}

impl ForestParams {
    /// From tuning parameters `trees`, `max_depth` (0 = unlimited), `feature_ratio`,
    /// `min_weight_leaf` (defaults for any missing one).
    pub fn from_params(p: &Params) -> Result<Self, GrowthError> {
        let d = ForestParams::default();
        Ok(ForestParams {
            trees: tuning::param_i64(p, "trees").map_or(d.trees, |v| v.max(1) as usize),
            max_depth: match tuning::param_i64(p, "max_depth") {
                Ok(0) => None,
                Ok(v) => Some(v.max(1) as usize),
                Err(_) => d.max_depth,
            },
            feature_ratio: tuning::param_f64(p, "feature_ratio").unwrap_or(d.feature_ratio),
            bootstrap_ratio: tuning::param_f64(p, "bootstrap_ratio").unwrap_or(d.bootstrap_ratio),
            min_weight_leaf: tuning::param_f64(p, "min_weight_leaf")
                .map_or(d.min_weight_leaf, |v| v as f32),
        })
    }
}

impl RidgeParams {
    /// From the tuning parameter `lambda`.
    pub fn from_params(p: &Params) -> Result<Self, GrowthError> {
        Ok(RidgeParams {
            lambda: tuning::param_f64(p, "lambda")?,
        })
    }
}

/// Search space of the logistic regression: `alpha` ∈ {0.001 … 100} (grid) — use
/// `Domain::LogUniform` on the same bounds for a random search.
pub fn logistic_space() -> SearchSpace {
    SearchSpace::new().floats("alpha", [0.001, 0.01, 0.1, 1.0, 10.0, 100.0])
}

/// Search space of the random forest: trees {50, 100, 200}, max_depth {4, 8, 12, 0 =
/// unlimited}, feature_ratio {0.3, 0.5, 0.8}, min_weight_leaf {1, 5, 20} (108
/// combinations: meant for a random search of ~20).
pub fn forest_space() -> SearchSpace {
    SearchSpace::new()
        .ints("trees", [50, 100, 200])
        .ints("max_depth", [4, 8, 12, 0])
        .floats("feature_ratio", [0.3, 0.5, 0.8])
        .floats("min_weight_leaf", [1.0, 5.0, 20.0])
}

/// Search space of the ridge regressor: `lambda` ∈ {0.01 … 1000}.
pub fn ridge_space() -> SearchSpace {
    SearchSpace::new().floats("lambda", [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0])
}

/// Which classifier to fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClassifierSpec {
    /// Logistic regression.
    Logistic(LogisticParams),
    /// Random forest.
    Forest(ForestParams),
    /// The naive baseline: always the training majority class, scored by the training
    /// *grow* share.
    Majority,
}

impl ClassifierSpec {
    /// Short name: `logistic`, `random_forest`, `majority`.
    pub fn name(&self) -> &'static str {
        match self {
            ClassifierSpec::Logistic(_) => "logistic",
            ClassifierSpec::Forest(_) => "random_forest",
            ClassifierSpec::Majority => "majority",
        }
    }
}

/// A fitted classifier.
pub enum FittedClassifier {
    /// linfa logistic regression; `grow_is_positive` says whether linfa's "positive"
    /// class (the **majority** class of the training set in linfa 0.8.1) is *grow*.
    Logistic {
        /// The model.
        model: FittedLogisticRegression<f64, usize>,
        /// Whether `predict_probabilities` is P(grow) (else P(decline)).
        grow_is_positive: bool,
    },
    /// linfa random forest.
    Forest(RandomForest<f64, usize>),
    /// A constant probability (majority baseline, or a training set with one class).
    Constant(f64),
}

impl FittedClassifier {
    /// P(grow) for each row. For the forest: the share of trees voting *grow* (linfa
    /// 0.8.1 exposes only hard votes per tree; the vote fraction is the score).
    pub fn grow_probability(&self, x: ArrayView2<'_, f64>) -> Vec<f64> {
        match self {
            FittedClassifier::Logistic {
                model,
                grow_is_positive,
            } => model
                .predict_probabilities(&x)
                .iter()
                .map(|p| if *grow_is_positive { *p } else { 1.0 - p })
                .collect(),
            FittedClassifier::Forest(rf) => {
                // Trees vote in parallel; each thread sums its trees' votes.
                let n = x.nrows();
                let votes = rf
                    .models
                    .par_iter()
                    .zip(rf.model_features.par_iter())
                    .fold(
                        || vec![0usize; n],
                        |mut votes, (tree, feats)| {
                            let sub = x.select(Axis(1), feats);
                            let pred: Array1<usize> = tree.predict(&sub);
                            for (v, p) in votes.iter_mut().zip(pred.iter()) {
                                *v += usize::from(*p == 1);
                            }
                            votes
                        },
                    )
                    .reduce(
                        || vec![0usize; n],
                        |mut a, b| {
                            for (x, y) in a.iter_mut().zip(b) {
                                *x += y;
                            }
                            a
                        },
                    );
                let t = rf.models.len().max(1) as f64;
                votes.into_iter().map(|v| v as f64 / t).collect()
            }
            FittedClassifier::Constant(p) => vec![*p; x.nrows()],
        }
    }
}

/// Fits a classifier on standardised `x` and labels `y` (true = grow). A training set
/// with a single class gives a constant model (its class, probability 0 or 1).
pub fn fit_classifier(
    spec: &ClassifierSpec,
    x: ArrayView2<'_, f64>,
    y: &[bool],
    seed: u64,
) -> Result<FittedClassifier, GrowthError> {
    if x.nrows() == 0 || x.nrows() != y.len() {
        return Err(GrowthError::Model(format!(
            "cannot fit on {} rows with {} labels",
            x.nrows(),
            y.len()
        )));
    }
    let grow_share = y.iter().filter(|v| **v).count() as f64 / y.len() as f64;
    if grow_share == 0.0 || grow_share == 1.0 {
        return Ok(FittedClassifier::Constant(grow_share));
    }
    let targets: Array1<usize> = y.iter().map(|v| usize::from(*v)).collect();
    match spec {
        ClassifierSpec::Majority => Ok(FittedClassifier::Constant(grow_share)),
        ClassifierSpec::Logistic(p) => {
            if x.ncols() == 0 {
                return Ok(FittedClassifier::Constant(grow_share));
            }
            let ds = Dataset::new(x.to_owned(), targets);
            let model = LogisticRegression::default()
                .alpha(p.alpha)
                .max_iterations(p.max_iterations.max(1))
                .fit(&ds)
                .map_err(|e| GrowthError::Model(format!("logistic regression: {e}")))?;
            let grow_is_positive = model.labels().pos.class == 1;
            Ok(FittedClassifier::Logistic {
                model,
                grow_is_positive,
            })
        }
        ClassifierSpec::Forest(p) => {
            if x.ncols() == 0 {
                return Ok(FittedClassifier::Constant(grow_share));
            }
            for (what, v) in [
                ("bootstrap_ratio", p.bootstrap_ratio),
                ("feature_ratio", p.feature_ratio),
            ] {
                if !(v > 0.0 && v <= 1.0) {
                    return Err(GrowthError::Config(format!(
                        "random forest: {what} must be in (0, 1], got {v}"
                    )));
                }
            }
            let tree = TieBreakTree(
                DecisionTree::params()
                    .min_weight_leaf(p.min_weight_leaf.max(1.0))
                    .max_depth(p.max_depth),
            );
            let ds = Dataset::new(x.to_owned(), targets);
            // linfa-ensemble's bagging (the same bootstrap draws, in the same order, from
            // the same seeded generator), with the trees fitted in parallel: one batch of
            // as many draws as there are threads at a time, so memory holds one
            // bootstrap sample per thread.
            let mut rng = Xoshiro256Plus::seed_from_u64(seed);
            let rows = ((ds.nsamples() as f64) * p.bootstrap_ratio).ceil() as usize;
            let cols = ((ds.nfeatures() as f64) * p.feature_ratio).ceil() as usize;
            let trees = p.trees.max(1);
            let threads = rayon::current_num_threads().max(1);
            let mut draws = ds.bootstrap_with_indices((rows.max(1), cols.max(1)), &mut rng);
            let mut rf = RandomForest {
                models: Vec::with_capacity(trees),
                model_features: Vec::with_capacity(trees),
            };
            while rf.models.len() < trees {
                let batch: Vec<_> = draws
                    .by_ref()
                    .take(threads.min(trees - rf.models.len()))
                    .collect();
                let fitted: Vec<Result<DecisionTree<f64, usize>, linfa::Error>> =
                    batch.par_iter().map(|(d, _, _)| tree.fit(d)).collect();
                for ((_, _, features), model) in batch.into_iter().zip(fitted) {
                    rf.models.push(
                        model.map_err(|e| GrowthError::Model(format!("random forest: {e}")))?,
                    );
                    rf.model_features.push(features);
                }
            }
            Ok(FittedClassifier::Forest(rf))
        }
    }
}

/// Weight of a *grow* sample in a tree (a *decline* sample weighs 1).
///
/// linfa-trees 0.8.1 picks a leaf's class by iterating a `HashMap` of class weights, so
/// a leaf with exactly as many samples of each class predicts a random class (the map's
/// order changes with every instance): the same seed gave different forests. The extra
/// 2^-12 breaks such ties towards *grow*, deterministically, and changes nothing else
/// measurable (split scores move by < 1e-3).
const GROW_TIE_WEIGHT: f32 = 1.0 + 1.0 / 4096.0;

/// Decision-tree parameters whose fit weights the samples by [`GROW_TIE_WEIGHT`]; used
/// as linfa-ensemble's base model, so the forest is still linfa's bagging.
#[derive(Clone, Debug)]
struct TieBreakTree(linfa_trees::DecisionTreeParams<f64, usize>);

impl Fit<Array2<f64>, Array1<usize>, linfa::Error> for TieBreakTree {
    type Object = DecisionTree<f64, usize>;

    fn fit(
        &self,
        ds: &DatasetBase<Array2<f64>, Array1<usize>>,
    ) -> Result<Self::Object, linfa::Error> {
        let w: Array1<f32> = ds
            .targets()
            .iter()
            .map(|&c| if c == 1 { GROW_TIE_WEIGHT } else { 1.0 })
            .collect();
        let weighted = DatasetBase::new(ds.records().clone(), ds.targets().clone()).with_weights(w);
        self.0.fit(&weighted)
    }
}

/// A fitted ridge regressor (see [`RidgeParams`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FittedRidge {
    /// Intercept `b` on the log-ratio scale.
    pub intercept: f64,
    /// Coefficients on standardised features.
    pub weights: Vec<f64>,
    /// Duan's smearing factor: the weighted training mean of `exp(residual)`, which turns
    /// the back-transformed median into a mean.
    pub smearing: f64,
}

impl FittedRidge {
    /// Predicted review counts (>= 0) of rows whose previous period had `last` reviews.
    pub fn predict(&self, x: ArrayView2<'_, f64>, last: &[f64]) -> Vec<f64> {
        let z = self.log_ratio(x);
        z.iter()
            .zip(last)
            .map(|(v, l)| ((1.0 + l.max(0.0)) * v.exp() * self.smearing - 1.0).max(0.0))
            .collect()
    }

    fn log_ratio(&self, x: ArrayView2<'_, f64>) -> Vec<f64> {
        let w = Array1::from(self.weights.clone());
        let z = if w.is_empty() || x.ncols() != w.len() {
            Array1::zeros(x.nrows())
        } else {
            x.dot(&w)
        };
        z.iter().map(|v| self.intercept + v).collect()
    }
}

/// Fits the ridge regressor on standardised (training-mean-zero) `x`, counts `y` of P
/// and counts `last` of P-1. The model is fit on the log-ratio
/// `ln(1 + y) - ln(1 + last)` (the relative change, which a penalty shrinks towards the
/// training mean change, i.e. towards the last-value baseline) and predicts
/// `(1 + last) · exp(ŷ) · smearing - 1`.
pub fn fit_ridge(
    params: &RidgeParams,
    x: ArrayView2<'_, f64>,
    y: &[f64],
    last: &[f64],
) -> Result<FittedRidge, GrowthError> {
    if x.nrows() == 0 || x.nrows() != y.len() || y.len() != last.len() {
        return Err(GrowthError::Model(format!(
            "cannot fit on {} rows with {} targets and {} previous counts",
            x.nrows(),
            y.len(),
            last.len()
        )));
    }
    if !(params.lambda.is_finite() && params.lambda > 0.0) {
        return Err(GrowthError::Config(format!(
            "ridge lambda must be positive, got {}",
            params.lambda
        )));
    }
    let ly: Vec<f64> = y
        .iter()
        .zip(last)
        .map(|(v, l)| v.max(0.0).ln_1p() - l.max(0.0).ln_1p())
        .collect();
    // Inverse-variance weights: for Poisson counts Var[ln(1 + Y)] ≈ 1 / (1 + mean), so a
    // row weighs 1 + reviews(P-1), normalised to mean 1 (lambda keeps its scale).
    let raw_w: Vec<f64> = last.iter().map(|l| 1.0 + l.max(0.0)).collect();
    let mean_w = raw_w.iter().sum::<f64>() / raw_w.len() as f64;
    let w: Vec<f64> = raw_w.iter().map(|v| v / mean_w).collect();
    let n = ly.len() as f64;
    let t_mean = ly.iter().zip(&w).map(|(t, w)| t * w).sum::<f64>() / n;
    let p = x.ncols();
    let x_mean: Vec<f64> = (0..p)
        .map(|j| x.column(j).iter().zip(&w).map(|(v, w)| v * w).sum::<f64>() / n)
        .collect();
    let weights = if p == 0 {
        Vec::new()
    } else {
        // min Σ w_i (t_i - b - x_i·β)² + lambda |β|²: centre on the weighted means, scale
        // rows by √w_i, append √lambda·I.
        let mut xc = x.to_owned();
        for (i, mut row) in xc.axis_iter_mut(Axis(0)).enumerate() {
            let sw = w[i].sqrt();
            for (j, v) in row.iter_mut().enumerate() {
                *v = (*v - x_mean[j]) * sw;
            }
        }
        let penalty = Array2::<f64>::eye(p) * params.lambda.sqrt();
        let xa = concatenate(Axis(0), &[xc.view(), penalty.view()])
            .map_err(|e| GrowthError::Model(format!("ridge design: {e}")))?;
        let ya: Array1<f64> = ly
            .iter()
            .zip(&w)
            .map(|(t, w)| (t - t_mean) * w.sqrt())
            .chain(std::iter::repeat_n(0.0, p))
            .collect();
        let model = LinearRegression::new()
            .with_intercept(false)
            .fit(&Dataset::new(xa, ya))
            .map_err(|e| GrowthError::Model(format!("ridge least squares: {e}")))?;
        model.params().to_vec()
    };
    if weights.iter().any(|w| !w.is_finite()) {
        return Err(GrowthError::Model("ridge: non-finite coefficients".into()));
    }
    let intercept = t_mean - weights.iter().zip(&x_mean).map(|(b, m)| b * m).sum::<f64>();
    let mut fitted = FittedRidge {
        intercept,
        weights,
        smearing: 1.0,
    };
    let fitted_lr = fitted.log_ratio(x);
    let smear = fitted_lr
        .iter()
        .zip(&ly)
        .zip(&w)
        .map(|((f, t), w)| w * (t - f).exp())
        .sum::<f64>()
        / n;
    if smear.is_finite() && smear > 0.0 {
        fitted.smearing = smear;
    }
    Ok(fitted)
}
