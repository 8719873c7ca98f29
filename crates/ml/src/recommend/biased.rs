//! The biased explicit model: `r̂(u, i) = μ + b_u + b_i + xᵤ·yᵢ`, fitted by alternating
//! least squares.
//!
//! On review data most users have one to three ratings. There plain matrix
//! factorisation ([`Als`](super::Als), Spark's model) loses to the user + item bias
//! baseline: its factors must carry every user's and item's offset from the mean, with
//! one or two ratings to learn them from. Here the offsets are explicit terms with their
//! own (constant, Koren-style) regularisation, and the factors only model what the
//! biases leave.
//!
//! Loss:
//! `Σ (r_ui − μ − b_u − b_i − xᵤ·yᵢ)² + λ (Σ_u nᵤ‖xᵤ‖² + Σ_i nᵢ‖yᵢ‖²) + λ_u Σ b_u² + λ_i Σ b_i²`
//! — ALS-WR weighting for the factors (as [`Als`](super::Als)), constant λ for the biases
//! (as [`BiasBaseline`](super::BiasBaseline)).
//!
//! Each half-step is one exact least-squares solve per row with the bias as an extra
//! unknown: solving items, row `i` has unknowns `[yᵢ, b_i]`, the fixed side `[xᵤ, 1]` and
//! targets `r_ui − μ − b_u`; users likewise. The same parallel Cholesky / dual-form
//! solver as plain ALS ([`solve_biased_rows`]). The biases start from the regularised
//! bias baseline, the factors from Spark's unit-Gaussian rows scaled down, so the first
//! sweep starts at the baseline's fit.
//!
//! The result is an ordinary [`FactorModel`] of `rank + 2` columns — user rows
//! `[xᵤ, μ + b_u, 1]`, item rows `[yᵢ, 1, b_i]` — so its dot product is the biased
//! prediction and every consumer of factor models (top-n, filtered lists, the API)
//! serves it unchanged; item similarity uses the `rank` latent columns only.

use ndarray::{Array2, s};
use serde::{Deserialize, Serialize};

use super::RecommendError;
use super::als::{init_unit_gaussian, solve_biased_rows};
use super::baseline::{BiasBaseline, BiasParams};
use super::data::{Interactions, SparseRows};
use super::model::{FactorModel, ModelKind};

/// Parameters of [`BiasedAls`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BiasedParams {
    /// Number of latent factors, ≥ 1.
    pub rank: usize,
    /// Number of iterations (items, then users).
    pub iterations: usize,
    /// λ of the factors, scaled per row by its number of ratings (ALS-WR).
    pub reg: f64,
    /// λ of the user biases (constant, > 0).
    pub bias_reg_user: f64,
    /// λ of the item biases (constant, > 0).
    pub bias_reg_item: f64,
    /// Seed of the random initial factors.
    pub seed: u64,
}

impl Default for BiasedParams {
    /// Rank 10, 10 iterations, λ = 0.1 (as plain ALS); bias λ 2 (users) and 5 (items):
    /// weaker than Koren's Netflix values (10, 25), which shrink the biases of review
    /// data's one-rating users and items to nothing (see the planted-data test).
    fn default() -> BiasedParams {
        BiasedParams {
            rank: 10,
            iterations: 10,
            reg: 0.1,
            bias_reg_user: 2.0,
            bias_reg_item: 5.0,
            seed: 0,
        }
    }
}

impl BiasedParams {
    pub(crate) fn check(&self) -> Result<(), RecommendError> {
        let bad = |name: &'static str, message: String| {
            Err(RecommendError::InvalidParam { name, message })
        };
        if self.rank == 0 {
            return bad("rank", "must be at least 1".into());
        }
        if !(self.reg.is_finite() && self.reg > 0.0) {
            return bad("reg", format!("must be finite and > 0, got {}", self.reg));
        }
        for (name, v) in [
            ("bias_reg_user", self.bias_reg_user),
            ("bias_reg_item", self.bias_reg_item),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(name, format!("must be finite and > 0, got {v}"));
            }
        }
        Ok(())
    }
}

/// Scale of the initial factors: small, so the first sweep starts near the baseline.
const INIT_SCALE: f32 = 0.1;

/// The biased explicit ALS trainer.
#[derive(Debug, Clone, Copy, Default)]
pub struct BiasedAls {
    /// Its parameters.
    pub params: BiasedParams,
}

impl BiasedAls {
    /// A trainer with these parameters.
    pub fn new(params: BiasedParams) -> BiasedAls {
        BiasedAls { params }
    }

    /// Trains on `train` (values are ratings).
    pub fn fit(&self, train: &Interactions) -> Result<FactorModel, RecommendError> {
        let p = self.params;
        p.check()?;
        if train.is_empty() {
            return Err(RecommendError::Empty);
        }
        let k = p.rank;
        let base = BiasBaseline::fit(
            train,
            BiasParams {
                reg_user: p.bias_reg_user,
                reg_item: p.bias_reg_item,
                ..BiasParams::default()
            },
        );
        let mu = base.mean;
        let by_user = train.by_user();
        let by_item = train.by_item();
        // Unknowns of each side: [factors, bias].
        let mut users = Array2::<f32>::zeros((by_user.rows(), k + 1));
        let mut items = Array2::<f32>::zeros((by_item.rows(), k + 1));
        users
            .slice_mut(s![.., ..k])
            .assign(&(init_unit_gaussian(by_user.rows(), k, p.seed, 0) * INIT_SCALE));
        items
            .slice_mut(s![.., ..k])
            .assign(&(init_unit_gaussian(by_item.rows(), k, p.seed, 1) * INIT_SCALE));
        for (u, b) in base.user_bias.iter().enumerate() {
            users[[u, k]] = *b;
        }
        for (i, b) in base.item_bias.iter().enumerate() {
            items[[i, k]] = *b;
        }
        for it in 0..p.iterations {
            // Items from users: fixed [xᵤ, 1], targets r − μ − b_u.
            let fixed = with_unit_bias(&users, k);
            let targets = residuals(&by_item, &users, k, mu);
            solve_biased_rows(&targets, fixed.view(), p.reg, p.bias_reg_item, &mut items)?;
            let fixed = with_unit_bias(&items, k);
            let targets = residuals(&by_user, &items, k, mu);
            solve_biased_rows(&targets, fixed.view(), p.reg, p.bias_reg_user, &mut users)?;
            tracing::debug!(iteration = it + 1, "biased ALS iteration done");
        }
        // Serving layout: users [x, μ + b_u, 1], items [y, 1, b_i].
        let mut uf = Array2::<f32>::zeros((users.nrows(), k + 2));
        uf.slice_mut(s![.., ..k]).assign(&users.slice(s![.., ..k]));
        uf.column_mut(k).assign(&users.column(k).mapv(|b| b + mu));
        uf.column_mut(k + 1).fill(1.0);
        let mut itf = Array2::<f32>::zeros((items.nrows(), k + 2));
        itf.slice_mut(s![.., ..k]).assign(&items.slice(s![.., ..k]));
        itf.column_mut(k).fill(1.0);
        itf.column_mut(k + 1).assign(&items.column(k));
        Ok(FactorModel::from_training(
            ModelKind::Biased(p),
            train,
            uf,
            itf,
        ))
    }
}

/// `m` with its bias column (index `k`) replaced by ones: the fixed side of a half-step.
fn with_unit_bias(m: &Array2<f32>, k: usize) -> Array2<f32> {
    let mut f = m.clone();
    f.column_mut(k).fill(1.0);
    f
}

/// `rows` with each value `v` at column `c` replaced by `v − μ − other[c, k]` (the
/// rating less the mean and the other side's bias).
fn residuals(rows: &SparseRows, other: &Array2<f32>, k: usize, mu: f32) -> SparseRows {
    rows.map_values_by_column(|c, v| v - mu - other[[c as usize, k]])
}
