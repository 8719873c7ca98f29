//! Growth / decline prediction from the business × month panel.
//!
//! 1. [`build_dataset`] turns `features/business_month` rows ([`PanelRow`]) into one
//!    [`LabelledRow`] per entity and label period P (calendar quarters by default): the
//!    features come **only from periods before P** ([`DYNAMIC_FEATURES`], plus the
//!    caller's [`StaticFeatures`]); the label is *grow* when P has at least
//!    `1 + grow_threshold` times the reviews of P-1; the regression target is the review
//!    count of P. The same builder runs over category × state groups after
//!    [`aggregate_by_group`].
//! 2. [`time_split`]: train on every label period before the latest complete one, test on
//!    the latest; rows of the period after it (no label yet) are the forecast.
//! 3. [`evaluate`]: standardisation fitted on train, logistic regression and random
//!    forest classifiers beside the majority-class baseline, a ridge regressor beside the
//!    last-period baseline; metrics ([`GrowthMetrics`]) and per-row predictions for the
//!    test and forecast periods ([`GrowthPrediction`]).
//! 4. [`tune`]: the same models under [`crate::tuning`] with forward-chaining folds over
//!    the training periods (the test period is never seen).
//!
//! Definitions and measured figures: `docs/MODELS.md`, section "Growth and decline".

mod metrics;
mod models;
mod panel;

use std::collections::BTreeSet;

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use metrics::{ClassificationScores, classification_scores, mae, rmse, roc_auc};
pub use models::{
    ClassifierSpec, FittedClassifier, FittedRidge, ForestParams, LogisticParams, RidgeParams,
    Standardizer, fit_classifier, fit_ridge, forest_space, logistic_space, ridge_space,
};
pub use panel::{
    BusinessAttributes, DYNAMIC_FEATURES, GroupKey, GroupPanel, GrowthDataset, LabelConfig,
    LabelledRow, PanelAccounting, PanelRow, StaticFeatures, aggregate_by_group, build_dataset,
    period_index, period_start,
};

use crate::tuning::{self, BoxError, Direction, Search, SearchSpace, Study, Trial, TuningError};

/// Errors of the growth models.
#[derive(Debug, thiserror::Error)]
pub enum GrowthError {
    /// The panel has no row.
    #[error("empty panel")]
    EmptyPanel,
    /// The panel breaks its contract (negative count, duplicate entity-month).
    #[error("invalid panel: {0}")]
    InvalidPanel(String),
    /// A configuration or parameter value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Not enough labelled rows or periods for the requested split.
    #[error("not enough data: {0}")]
    NotEnoughData(String),
    /// A model failed to fit.
    #[error("model: {0}")]
    Model(String),
    /// A tuning error.
    #[error(transparent)]
    Tuning(#[from] TuningError),
}

/// Row indices (into [`GrowthDataset::rows`]) of each part of the time split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeSplit {
    /// Labelled rows of periods before `test_period`.
    pub train: Vec<usize>,
    /// Labelled rows of `test_period`.
    pub test: Vec<usize>,
    /// Unlabelled rows (the period after the last complete one).
    pub forecast: Vec<usize>,
    /// The latest label period.
    pub test_period: i64,
}

impl TimeSplit {
    /// Keeps a seeded sample of at most `max` training rows (in their order), so that a
    /// fit costs the same on half a million businesses as on fifty thousand; the test
    /// and forecast rows are all kept (every business gets its prediction).
    pub fn cap_train(&mut self, max: usize, seed: u64) {
        self.train = capped(&self.train, max, seed);
    }
}

/// A seeded sample of at most `max` of `rows`, in their order (all of them when there
/// are no more).
fn capped(rows: &[usize], max: usize, seed: u64) -> Vec<usize> {
    if rows.len() <= max {
        return rows.to_vec();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut picked: Vec<usize> = rand::seq::index::sample(&mut rng, rows.len(), max).into_vec();
    picked.sort_unstable();
    picked.into_iter().map(|k| rows[k]).collect()
}

/// The default cap on the training rows of a growth model fit
/// ([`ModelConfig::max_train_rows`]; tuning has its own, [`DEFAULT_MAX_TUNE_ROWS`]).
pub const DEFAULT_MAX_TRAIN_ROWS: usize = 50_000;

/// The cap on the training rows [`tune`] searches on (a seeded sample): each trial fits
/// a model per fold, and the search only ranks parameters, so a smaller sample than the
/// final fit's is enough (at 7M reviews the forest trials on 50,000 rows took over four
/// minutes, on 10,000 rows 69 s).
pub const DEFAULT_MAX_TUNE_ROWS: usize = 5_000;

/// Splits by time: test = the latest label period, train = every earlier one. Fails
/// when there are fewer than two label periods.
pub fn time_split(dataset: &GrowthDataset) -> Result<TimeSplit, GrowthError> {
    let periods: BTreeSet<i64> = dataset
        .rows
        .iter()
        .filter(|r| r.grow.is_some())
        .map(|r| r.period)
        .collect();
    let Some(&test_period) = periods.last() else {
        return Err(GrowthError::NotEnoughData("no labelled row".into()));
    };
    if periods.len() < 2 {
        return Err(GrowthError::NotEnoughData(
            "one label period: nothing to train on before the test period".into(),
        ));
    }
    let mut split = TimeSplit {
        train: Vec::new(),
        test: Vec::new(),
        forecast: Vec::new(),
        test_period,
    };
    for (i, r) in dataset.rows.iter().enumerate() {
        match r.grow {
            None => split.forecast.push(i),
            Some(_) if r.period == test_period => split.test.push(i),
            Some(_) => split.train.push(i),
        }
    }
    Ok(split)
}

/// Hyper-parameters of [`evaluate`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Logistic regression.
    pub logistic: LogisticParams,
    /// Random forest.
    pub forest: ForestParams,
    /// Ridge regressor.
    pub ridge: RidgeParams,
    /// Seed of the forest's bootstrap (and of the training sample).
    pub seed: u64,
    /// At most this many training rows, a seeded sample ([`TimeSplit::cap_train`]).
    #[serde(default = "default_max_train_rows")]
    pub max_train_rows: usize,
}

fn default_max_train_rows() -> usize {
    DEFAULT_MAX_TRAIN_ROWS
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            logistic: LogisticParams::default(),
            forest: ForestParams::default(),
            ridge: RidgeParams::default(),
            seed: 42,
            max_train_rows: DEFAULT_MAX_TRAIN_ROWS,
        }
    }
}

/// Test-period scores of one classifier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassifierMetrics {
    /// `logistic`, `random_forest` or `majority` (the baseline).
    pub model: String,
    /// Share of correct predictions (threshold 0.5 on the probability).
    pub accuracy: f64,
    /// F1 of the *grow* class.
    pub f1_grow: f64,
    /// Macro F1 (mean of grow and decline F1).
    pub f1_macro: f64,
    /// ROC-AUC (null when the test period has one class).
    pub roc_auc: Option<f64>,
    /// ROC-AUC on the validation period used to choose the classifier (the last training
    /// period, models fit on the earlier ones); null for the baseline or without one.
    pub validation_roc_auc: Option<f64>,
}

/// Test-period scores of one regressor (review count of P).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegressorMetrics {
    /// `ridge` or `last_value` (the baseline: reviews of P-1).
    pub model: String,
    /// Root mean squared error, reviews.
    pub rmse: f64,
    /// Mean absolute error, reviews.
    pub mae: f64,
}

/// What [`evaluate`] measured (serde; one JSON document or one row per model).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrowthMetrics {
    /// Caller's label: `business` or `category_state`.
    pub level: String,
    /// Period length, months.
    pub period_months: i64,
    /// First day of the test period (ISO date).
    pub test_period_start: String,
    /// Distinct training periods.
    pub train_periods: i64,
    /// Training rows.
    pub train_rows: i64,
    /// Test rows.
    pub test_rows: i64,
    /// Forecast rows.
    pub forecast_rows: i64,
    /// Share of *grow* in training.
    pub grow_share_train: f64,
    /// Share of *grow* in test.
    pub grow_share_test: f64,
    /// Classifiers, the baseline first.
    pub classifiers: Vec<ClassifierMetrics>,
    /// Regressors, the baseline first.
    pub regressors: Vec<RegressorMetrics>,
    /// The classifier used for the predictions (best validation ROC-AUC; logistic when
    /// no validation period exists).
    pub chosen_classifier: String,
    /// Feature names, in matrix order.
    pub feature_names: Vec<String>,
    /// Row accounting of the panel.
    pub accounting: PanelAccounting,
}

/// One prediction: an entity and a period, from the chosen classifier and the ridge
/// regressor. Test rows come from models fit on the training periods; forecast rows from
/// models refit on every labelled row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrowthPrediction {
    /// Caller's level label.
    pub level: String,
    /// Business key or group id.
    pub entity: i64,
    /// First day of the predicted period (ISO date).
    pub period_start: String,
    /// `test` or `forecast`.
    pub split: String,
    /// Classifier name.
    pub classifier: String,
    /// P(grow).
    pub grow_probability: f64,
    /// `grow_probability >= 0.5`.
    pub predicted_grow: bool,
    /// Regressor name (`ridge`).
    pub regressor: String,
    /// Predicted reviews in the period.
    pub predicted_reviews: f64,
    /// Reviews of the previous period.
    pub last_reviews: f64,
    /// Actual reviews (test rows).
    pub actual_reviews: Option<f64>,
    /// Actual label (test rows).
    pub actual_grow: Option<bool>,
}

/// Metrics and predictions of [`evaluate`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrowthReport {
    /// Metrics.
    pub metrics: GrowthMetrics,
    /// Test and forecast predictions.
    pub predictions: Vec<GrowthPrediction>,
}

/// The feature matrix of some rows.
pub fn matrix(dataset: &GrowthDataset, rows: &[usize]) -> Array2<f64> {
    let p = dataset.feature_names.len();
    let mut x = Array2::<f64>::zeros((rows.len(), p));
    for (i, &r) in rows.iter().enumerate() {
        for (j, v) in dataset.rows[r].features.iter().enumerate().take(p) {
            x[[i, j]] = *v;
        }
    }
    x
}

fn labels(dataset: &GrowthDataset, rows: &[usize]) -> Vec<bool> {
    rows.iter()
        .map(|&r| dataset.rows[r].grow.unwrap_or(false))
        .collect()
}

fn targets(dataset: &GrowthDataset, rows: &[usize]) -> Vec<f64> {
    rows.iter()
        .map(|&r| dataset.rows[r].reviews.unwrap_or(0.0))
        .collect()
}

/// Fits `spec` on `train` rows (standardiser included) and returns P(grow) of `score` rows.
pub fn fit_and_score_classifier(
    dataset: &GrowthDataset,
    spec: &ClassifierSpec,
    train: &[usize],
    score: &[usize],
    seed: u64,
) -> Result<Vec<f64>, GrowthError> {
    let xt = matrix(dataset, train);
    let st = Standardizer::fit(xt.view());
    let model = fit_classifier(
        spec,
        st.transform(xt.view()).view(),
        &labels(dataset, train),
        seed,
    )?;
    Ok(model.grow_probability(st.transform(matrix(dataset, score).view()).view()))
}

/// Fits the ridge regressor on `train` rows and predicts the review counts of `score` rows.
pub fn fit_and_predict_ridge(
    dataset: &GrowthDataset,
    params: &RidgeParams,
    train: &[usize],
    score: &[usize],
) -> Result<Vec<f64>, GrowthError> {
    let xt = matrix(dataset, train);
    let st = Standardizer::fit(xt.view());
    let model = fit_ridge(
        params,
        st.transform(xt.view()).view(),
        &targets(dataset, train),
        &last_counts(dataset, train),
    )?;
    Ok(model.predict(
        st.transform(matrix(dataset, score).view()).view(),
        &last_counts(dataset, score),
    ))
}

fn last_counts(dataset: &GrowthDataset, rows: &[usize]) -> Vec<f64> {
    rows.iter().map(|&r| dataset.rows[r].last_reviews).collect()
}

fn share(v: &[bool]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().filter(|b| **b).count() as f64 / v.len() as f64
    }
}

/// Trains on the training periods, scores the test period, predicts the test and forecast
/// rows. `level` is a label copied into the outputs (`business`, `category_state`).
pub fn evaluate(
    dataset: &GrowthDataset,
    level: &str,
    config: &ModelConfig,
) -> Result<GrowthReport, GrowthError> {
    let mut split = time_split(dataset)?;
    split.cap_train(config.max_train_rows, config.seed);
    let y_train = labels(dataset, &split.train);
    let y_test = labels(dataset, &split.test);
    let r_test = targets(dataset, &split.test);
    let train_periods: BTreeSet<i64> = split
        .train
        .iter()
        .map(|&i| dataset.rows[i].period)
        .collect();

    // Validation period for choosing the classifier: the last training period.
    let validation = train_periods
        .iter()
        .next_back()
        .copied()
        .filter(|_| train_periods.len() >= 2);
    let specs = [
        ClassifierSpec::Majority,
        ClassifierSpec::Logistic(config.logistic.clone()),
        ClassifierSpec::Forest(config.forest.clone()),
    ];
    let mut classifiers = Vec::new();
    let mut test_scores: Vec<Vec<f64>> = Vec::new();
    for spec in &specs {
        let scores =
            fit_and_score_classifier(dataset, spec, &split.train, &split.test, config.seed)?;
        let predicted: Vec<bool> = scores.iter().map(|p| *p >= 0.5).collect();
        let s = classification_scores(&predicted, &scores, &y_test);
        let validation_roc_auc = match (spec, validation) {
            (ClassifierSpec::Majority, _) | (_, None) => None,
            (_, Some(v)) => {
                let (fit, val): (Vec<usize>, Vec<usize>) = (
                    split
                        .train
                        .iter()
                        .copied()
                        .filter(|&i| dataset.rows[i].period < v)
                        .collect(),
                    split
                        .train
                        .iter()
                        .copied()
                        .filter(|&i| dataset.rows[i].period == v)
                        .collect(),
                );
                let vs = fit_and_score_classifier(dataset, spec, &fit, &val, config.seed)?;
                roc_auc(&vs, &labels(dataset, &val))
            }
        };
        classifiers.push(ClassifierMetrics {
            model: spec.name().to_string(),
            accuracy: s.accuracy,
            f1_grow: s.f1_grow,
            f1_macro: s.f1_macro,
            roc_auc: s.roc_auc,
            validation_roc_auc,
        });
        test_scores.push(scores);
    }
    // Best validation AUC among the real models; logistic on ties or without validation.
    let mut chosen = 1;
    if let (Some(a), Some(b)) = (
        classifiers[1].validation_roc_auc,
        classifiers[2].validation_roc_auc,
    ) && b > a
    {
        chosen = 2;
    }

    let ridge_test = fit_and_predict_ridge(dataset, &config.ridge, &split.train, &split.test)?;
    let baseline: Vec<f64> = split
        .test
        .iter()
        .map(|&i| dataset.rows[i].last_reviews)
        .collect();
    let regressors = vec![
        RegressorMetrics {
            model: "last_value".into(),
            rmse: rmse(&baseline, &r_test),
            mae: mae(&baseline, &r_test),
        },
        RegressorMetrics {
            model: "ridge".into(),
            rmse: rmse(&ridge_test, &r_test),
            mae: mae(&ridge_test, &r_test),
        },
    ];

    let mut predictions = Vec::with_capacity(split.test.len() + split.forecast.len());
    let row_prediction = |i: usize, split_name: &str, p: f64, v: f64| {
        let r = &dataset.rows[i];
        GrowthPrediction {
            level: level.to_string(),
            entity: r.entity,
            period_start: r.period_start.to_string(),
            split: split_name.to_string(),
            classifier: specs[chosen].name().to_string(),
            grow_probability: p,
            predicted_grow: p >= 0.5,
            regressor: "ridge".into(),
            predicted_reviews: v,
            last_reviews: r.last_reviews,
            actual_reviews: r.reviews,
            actual_grow: r.grow,
        }
    };
    for (k, &i) in split.test.iter().enumerate() {
        predictions.push(row_prediction(
            i,
            "test",
            test_scores[chosen][k],
            ridge_test[k],
        ));
    }
    if !split.forecast.is_empty() {
        // Refit on the training and test periods, under the same cap.
        let all: Vec<usize> = split.train.iter().chain(&split.test).copied().collect();
        let all = capped(&all, config.max_train_rows, config.seed);
        let p =
            fit_and_score_classifier(dataset, &specs[chosen], &all, &split.forecast, config.seed)?;
        let v = fit_and_predict_ridge(dataset, &config.ridge, &all, &split.forecast)?;
        for (k, &i) in split.forecast.iter().enumerate() {
            predictions.push(row_prediction(i, "forecast", p[k], v[k]));
        }
    }

    let metrics = GrowthMetrics {
        level: level.to_string(),
        period_months: dataset.period_months as i64,
        test_period_start: period_start(split.test_period, dataset.period_months)
            .map(|d| d.to_string())
            .unwrap_or_default(),
        train_periods: train_periods.len() as i64,
        train_rows: split.train.len() as i64,
        test_rows: split.test.len() as i64,
        forecast_rows: split.forecast.len() as i64,
        grow_share_train: share(&y_train),
        grow_share_test: share(&y_test),
        classifiers,
        regressors,
        chosen_classifier: specs[chosen].name().to_string(),
        feature_names: dataset.feature_names.clone(),
        accounting: dataset.accounting.clone(),
    };
    Ok(GrowthReport {
        metrics,
        predictions,
    })
}

/// A model family [`tune`] can search.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Family {
    /// Logistic regression, scored by validation ROC-AUC (maximised); space
    /// [`logistic_space`].
    Logistic,
    /// Random forest, scored by validation ROC-AUC; space [`forest_space`].
    Forest,
    /// Ridge regressor, scored by validation RMSE (minimised); space [`ridge_space`].
    Ridge,
}

impl Family {
    /// `growth/logistic`, `growth/random_forest`, `growth/ridge`.
    pub fn model_family(self) -> &'static str {
        match self {
            Family::Logistic => "growth/logistic",
            Family::Forest => "growth/random_forest",
            Family::Ridge => "growth/ridge",
        }
    }

    /// The default search space.
    pub fn space(self) -> SearchSpace {
        match self {
            Family::Logistic => logistic_space(),
            Family::Forest => forest_space(),
            Family::Ridge => ridge_space(),
        }
    }
}

/// Searches `space` for `family` with forward-chaining folds over the **training**
/// periods of [`time_split`] (`n_folds` validation periods, each trained on every earlier
/// period; the test period is never used), on at most [`DEFAULT_MAX_TUNE_ROWS`] training
/// rows (a sample seeded by `seed`). Folds whose training or validation rows hold a
/// single class are dropped for classifiers (ROC-AUC is undefined there).
pub fn tune(
    dataset: &GrowthDataset,
    family: Family,
    space: &SearchSpace,
    search: Search,
    n_folds: usize,
    seed: u64,
) -> Result<Vec<Trial>, GrowthError> {
    let mut split = time_split(dataset)?;
    split.cap_train(DEFAULT_MAX_TUNE_ROWS, seed);
    let periods: Vec<i64> = split
        .train
        .iter()
        .map(|&i| dataset.rows[i].period)
        .collect();
    let folds = tuning::forward_chaining(&periods, n_folds, 1)?;
    // Fold indices point into split.train: map them to dataset rows.
    let mut folds: Vec<tuning::Fold> = folds
        .into_iter()
        .map(|f| tuning::Fold {
            train: f.train.iter().map(|&k| split.train[k]).collect(),
            validation: f.validation.iter().map(|&k| split.train[k]).collect(),
            label: f.label,
        })
        .collect();
    if family != Family::Ridge {
        folds.retain(|f| {
            let (a, b) = (
                share(&labels(dataset, &f.train)),
                share(&labels(dataset, &f.validation)),
            );
            a > 0.0 && a < 1.0 && b > 0.0 && b < 1.0
        });
    }
    if folds.is_empty() {
        return Err(GrowthError::NotEnoughData(
            "no forward-chaining fold has both classes".into(),
        ));
    }
    let (metric, direction) = match family {
        Family::Ridge => ("rmse", Direction::Minimize),
        _ => ("roc_auc", Direction::Maximize),
    };
    let study = Study::new(family.model_family(), metric, direction, search, seed);
    let trials = tuning::run_study(&study, space, &folds, |t| -> Result<f64, BoxError> {
        let fold = t.fold;
        match family {
            Family::Ridge => {
                let params = RidgeParams::from_params(t.params)?;
                let pred = fit_and_predict_ridge(dataset, &params, &fold.train, &fold.validation)?;
                Ok(rmse(&pred, &targets(dataset, &fold.validation)))
            }
            Family::Logistic | Family::Forest => {
                let spec = if family == Family::Logistic {
                    ClassifierSpec::Logistic(LogisticParams::from_params(t.params)?)
                } else {
                    ClassifierSpec::Forest(ForestParams::from_params(t.params)?)
                };
                let scores = fit_and_score_classifier(
                    dataset,
                    &spec,
                    &fold.train,
                    &fold.validation,
                    t.seed,
                )?;
                roc_auc(&scores, &labels(dataset, &fold.validation))
                    .ok_or_else(|| "validation fold has a single class".into())
            }
        }
    })?;
    Ok(trials)
}

/// Rows of `dataset` labelled `period` (for inspection and tests).
pub fn rows_of_period(dataset: &GrowthDataset, period: i64) -> Vec<&LabelledRow> {
    dataset.rows.iter().filter(|r| r.period == period).collect()
}

/// Copies the feature matrix of all rows (for callers that want their own models).
pub fn full_matrix(dataset: &GrowthDataset) -> Array2<f64> {
    let all: Vec<usize> = (0..dataset.rows.len()).collect();
    matrix(dataset, &all)
}
