//! The explicit rating models behind one type, and their tuning by k-fold
//! cross-validation (what `cargo xtask als --tune` and the `ml` stage use).

use serde::{Deserialize, Serialize};

use super::als::{Als, AlsParams};
use super::biased::{BiasedAls, BiasedParams};
use super::data::{Interactions, TestSet};
use super::metrics::evaluate_ratings;
use super::model::FactorModel;
use super::split::Rating;
use crate::tuning::{self, BoxError, Direction, Search, SearchSpace, Study, Trial};

/// An explicit rating model and its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum RatingModel {
    /// `μ + b_u + b_i + x·y` ([`BiasedAls`]).
    Biased(BiasedParams),
    /// Plain ALS-WR, Spark's model ([`Als`]).
    Plain(AlsParams),
}

impl RatingModel {
    /// `"biased"` or `"als"` (the names of `xtask als --model`).
    pub fn name(&self) -> &'static str {
        match self {
            RatingModel::Biased(_) => "biased",
            RatingModel::Plain(_) => "als",
        }
    }

    /// Trains it on `train`.
    pub fn fit(&self, train: &Interactions) -> Result<FactorModel, super::RecommendError> {
        match self {
            RatingModel::Biased(p) => BiasedAls::new(*p).fit(train),
            RatingModel::Plain(p) => Als::new(*p).fit(train),
        }
    }

    /// The same model with another seed.
    pub fn with_seed(self, seed: u64) -> RatingModel {
        match self {
            RatingModel::Biased(p) => RatingModel::Biased(BiasedParams { seed, ..p }),
            RatingModel::Plain(p) => RatingModel::Plain(AlsParams { seed, ..p }),
        }
    }

    /// Latent factors.
    pub fn rank(&self) -> usize {
        match self {
            RatingModel::Biased(p) => p.rank,
            RatingModel::Plain(p) => p.rank,
        }
    }

    /// The parameters as a JSON object (for registries and reports).
    pub fn params_json(&self) -> serde_json::Value {
        match self {
            RatingModel::Biased(p) => serde_json::to_value(p),
            RatingModel::Plain(p) => serde_json::to_value(p),
        }
        .unwrap_or_default()
    }

    /// The default search space: rank and λ, and for the biased model the two bias λs.
    pub fn default_space(&self) -> SearchSpace {
        let space = SearchSpace::new()
            .ints("rank", [5, 10, 20])
            .floats("reg", [0.05, 0.1, 0.2]);
        match self {
            RatingModel::Biased(_) => space
                .floats("bias_reg_user", [2.0, 10.0])
                .floats("bias_reg_item", [5.0, 25.0]),
            RatingModel::Plain(_) => space,
        }
    }

    /// This model with the parameters of a tuning candidate (names as in
    /// [`RatingModel::default_space`]; absent ones keep their value).
    pub fn with_params(self, params: &tuning::Params) -> Result<RatingModel, tuning::TuningError> {
        let int = |name: &str, v: usize| -> Result<usize, tuning::TuningError> {
            if params.contains_key(name) {
                Ok(tuning::param_i64(params, name)?.max(1) as usize)
            } else {
                Ok(v)
            }
        };
        let float = |name: &str, v: f64| -> Result<f64, tuning::TuningError> {
            if params.contains_key(name) {
                tuning::param_f64(params, name)
            } else {
                Ok(v)
            }
        };
        Ok(match self {
            RatingModel::Biased(p) => RatingModel::Biased(BiasedParams {
                rank: int("rank", p.rank)?,
                reg: float("reg", p.reg)?,
                bias_reg_user: float("bias_reg_user", p.bias_reg_user)?,
                bias_reg_item: float("bias_reg_item", p.bias_reg_item)?,
                ..p
            }),
            RatingModel::Plain(p) => RatingModel::Plain(AlsParams {
                rank: int("rank", p.rank)?,
                reg: float("reg", p.reg)?,
                ..p
            }),
        })
    }
}

/// What [`tune_rating_model`] found.
#[derive(Debug, Clone)]
pub struct Tuned {
    /// The model with the best mean validation RMSE (the input's when every candidate
    /// failed).
    pub model: RatingModel,
    /// Every candidate, ranked (rows of `<lake>/models/trials`).
    pub trials: Vec<Trial>,
}

/// Grid search over `space` (see [`RatingModel::default_space`]) by `folds`-fold
/// cross-validation on `ratings`, minimising the validation RMSE over the pairs whose
/// user and item the fold's training part knows. Each fold's fit uses the fold's seed
/// (common random numbers across candidates).
pub fn tune_rating_model(
    ratings: &[Rating],
    base: RatingModel,
    space: &SearchSpace,
    folds: usize,
    seed: u64,
) -> Result<Tuned, crate::MlError> {
    let study = Study::new(
        &format!("als/{}", base.name()),
        "rmse",
        Direction::Minimize,
        Search::Grid,
        seed,
    );
    let folds = tuning::kfold(ratings.len(), folds, seed)?;
    let trials = tuning::run_study(&study, space, &folds, |t| -> Result<f64, BoxError> {
        let model = base.with_params(t.params)?.with_seed(t.seed);
        let tr = Interactions::from_ratings(t.fold.train.iter().map(|&i| &ratings[i]))?;
        let fitted = model.fit(&tr)?;
        let te = TestSet::from_ratings(&tr, t.fold.validation.iter().map(|&i| &ratings[i]));
        Ok(evaluate_ratings(&fitted, &te).rmse)
    })?;
    let model = match tuning::best(&trials) {
        Some(best) => base.with_params(&tuning::trial_params(best)?)?,
        None => base,
    };
    Ok(Tuned { model, trials })
}
