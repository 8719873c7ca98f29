//! Explicit-feedback ALS, as Spark MLlib's `ALS` with `implicitPrefs = false`.
//!
//! Model: `r̂(u, i) = xᵤ · yᵢ` (no bias terms, no global mean — as Spark).
//! Loss (ALS-WR, Zhou et al. 2008, Spark's weighting):
//! `Σ_(u,i) (r_ui − xᵤ·yᵢ)² + λ (Σ_u nᵤ‖xᵤ‖² + Σ_i nᵢ‖yᵢ‖²)`.
//!
//! Each iteration solves every item from the user factors, then every user from the item
//! factors (Spark's order). Row `u`'s update is the exact minimiser
//! `xᵤ = (Σ_i yᵢyᵢᵀ + λ·nᵤ·I)⁻¹ Σ_i r_ui yᵢ`, its normal equations accumulated in `f64`
//! from the `f32` factors and solved by Cholesky (Spark: `NormalEquation` + `dppsv`).
//!
//! Initialisation: Spark draws each factor row from `N(0, I)` and normalises it to unit
//! length (its `XORShiftRandom`, seeded per block). We do the same with ChaCha8 streams
//! (one per block of 256 rows, so parallel and deterministic): the same distribution,
//! not Spark's exact numbers, hence RMSEs that agree in distribution over seeds.

use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::RecommendError;
use super::data::{Interactions, SparseRows};
use super::kernels::{
    Arith, Isa, Plain, axpy64, axpy64_x4, cholesky_solve_strided, dot64, half_step_out, isa,
    prefetch_entry, prefetch_row,
};
use super::model::{FactorModel, ModelKind};

/// Explicit ALS parameters (Spark's names in brackets).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AlsParams {
    /// Number of latent factors (`rank`), ≥ 1.
    pub rank: usize,
    /// Number of iterations (`maxIter`); one iteration solves items, then users.
    pub iterations: usize,
    /// Regularisation λ (`regParam`), scaled per row by its number of ratings.
    pub reg: f64,
    /// Seed of the random initial factors (`seed`).
    pub seed: u64,
}

impl Default for AlsParams {
    /// Spark's defaults: rank 10, 10 iterations, λ = 0.1; seed 0.
    fn default() -> AlsParams {
        AlsParams {
            rank: 10,
            iterations: 10,
            reg: 0.1,
            seed: 0,
        }
    }
}

impl AlsParams {
    pub(crate) fn check(&self) -> Result<(), RecommendError> {
        if self.rank == 0 {
            return Err(RecommendError::InvalidParam {
                name: "rank",
                message: "must be at least 1".into(),
            });
        }
        if !(self.reg.is_finite() && self.reg >= 0.0) {
            return Err(RecommendError::InvalidParam {
                name: "reg",
                message: format!("must be finite and ≥ 0, got {}", self.reg),
            });
        }
        Ok(())
    }
}

/// The explicit ALS trainer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Als {
    /// Its parameters.
    pub params: AlsParams,
}

impl Als {
    /// A trainer with these parameters.
    pub fn new(params: AlsParams) -> Als {
        Als { params }
    }

    /// Trains on `train` (values are ratings). Fails on invalid parameters, an empty
    /// training set, or a row whose normal equations are singular (only possible with
    /// `reg = 0`).
    pub fn fit(&self, train: &Interactions) -> Result<FactorModel, RecommendError> {
        let p = self.params;
        p.check()?;
        if train.is_empty() {
            return Err(RecommendError::Empty);
        }
        let by_user = train.by_user();
        let by_item = train.by_item();
        let mut users = init_unit_gaussian(by_user.rows(), p.rank, p.seed, 0);
        let mut items = init_unit_gaussian(by_item.rows(), p.rank, p.seed, 1);
        for it in 0..p.iterations {
            solve_explicit_rows(&by_item, users.view(), p.reg, &mut items)?;
            solve_explicit_rows(&by_user, items.view(), p.reg, &mut users)?;
            tracing::debug!(iteration = it + 1, "explicit ALS iteration done");
        }
        Ok(FactorModel::from_training(
            ModelKind::Explicit(p),
            train,
            users,
            items,
        ))
    }
}

/// Rows per parallel task (each task reuses its scratch buffers).
const CHUNK: usize = 64;

/// One explicit half-step: for every row `r` of `rows` (its columns index rows of
/// `fixed`), `out[r] = (Σ yᵢyᵢᵀ + reg·n_r·I)⁻¹ Σ v_ri·yᵢ` over the row's entries, with
/// `n_r` the row's number of entries (ALS-WR). A row without entries gets zeros.
///
/// Accumulation and the Cholesky solve are in `f64`; rows are solved in parallel, each
/// independently, so the result does not depend on the thread count.
pub fn solve_explicit_rows(
    rows: &SparseRows,
    fixed: ArrayView2<'_, f32>,
    reg: f64,
    out: &mut Array2<f32>,
) -> Result<(), RecommendError> {
    solve_rows(rows, fixed, reg, None, out)
}

/// [`solve_explicit_rows`] where the last of the `k` unknowns is a bias: its
/// regularisation is the constant `bias_reg` (not scaled by the row's count), the other
/// `k − 1` keep `reg·n_r`. The biased model's half-step (its fixed side carries a
/// constant 1 in the last column).
pub fn solve_biased_rows(
    rows: &SparseRows,
    fixed: ArrayView2<'_, f32>,
    reg: f64,
    bias_reg: f64,
    out: &mut Array2<f32>,
) -> Result<(), RecommendError> {
    if !(bias_reg.is_finite() && bias_reg > 0.0) {
        return Err(RecommendError::InvalidParam {
            name: "bias_reg",
            message: format!("must be finite and > 0, got {bias_reg}"),
        });
    }
    solve_rows(rows, fixed, reg, Some(bias_reg), out)
}

fn solve_rows(
    rows: &SparseRows,
    fixed: ArrayView2<'_, f32>,
    reg: f64,
    bias_reg: Option<f64>,
    out: &mut Array2<f32>,
) -> Result<(), RecommendError> {
    let (out, k) = half_step_out("ratings", rows, &fixed, out)?;
    let fixed = fixed.as_standard_layout();
    let fixed = fixed.as_slice().unwrap_or_default();
    if k == 0 {
        return Ok(());
    }
    let isa = isa();
    let failed = out
        .par_chunks_mut(CHUNK * k)
        .enumerate()
        .filter_map(|(c, block)| {
            let first = c * CHUNK;
            match isa {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `Isa::Avx2Fma` means the CPU has AVX2 and FMA (checked by `isa`).
                Isa::Avx2Fma => unsafe {
                    explicit_chunk_avx2(rows, fixed, k, (reg, bias_reg), first, block)
                },
                _ => explicit_chunk::<Plain>(rows, fixed, k, (reg, bias_reg), first, block),
            }
        })
        .min();
    match failed {
        Some(row) => Err(RecommendError::NotPositiveDefinite { row }),
        None => Ok(()),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn explicit_chunk_avx2(
    rows: &SparseRows,
    fixed: &[f32],
    k: usize,
    regs: (f64, Option<f64>),
    first: usize,
    out: &mut [f32],
) -> Option<usize> {
    explicit_chunk::<super::kernels::Fused>(rows, fixed, k, regs, first, out)
}

/// Solves rows `first..` into `out` (`k` values per row); the first failing row, if any.
///
/// A row with `n ≥ k` entries (or `reg = 0`) solves the `k×k` normal equations: the
/// Gram matrix is accumulated one rating at a time as rank-1 updates of its lower
/// triangle, rows padded to a multiple of 4 so every update is whole SIMD lanes.
/// A row with `n < k` entries solves the same problem in its dual `n×n` form (the
/// push-through identity `(YᵀY + λI)⁻¹Yᵀ = Yᵀ(YYᵀ + λI)⁻¹`, exact for `λ > 0`):
/// `x = Yᵀ (YYᵀ + λI)⁻¹ r`. Most users of a review dump have one to three ratings, so
/// this replaces most 10×10 factorisations by 1×1 to 3×3 ones.
///
/// `regs = (reg, bias_reg)`: with a bias, the last unknown is regularised by the
/// constant `bias_reg` instead of `reg·n`. The dual form then rescales that column by
/// `s = √(reg·n / bias_reg)` (so one λ fits every unknown) and the solution's last
/// value by `s` again.
#[inline(always)]
fn explicit_chunk<A: Arith>(
    rows: &SparseRows,
    fixed: &[f32],
    k: usize,
    regs: (f64, Option<f64>),
    first: usize,
    out: &mut [f32],
) -> Option<usize> {
    let (reg, bias_reg) = regs;
    let kp = k.next_multiple_of(4);
    // Primal: k rows of stride kp. Dual: n < k rows of stride n. Both fit in k·kp.
    let mut a = vec![0f64; k * kp];
    let mut b = vec![0f64; k];
    // One fixed row in f64, zero-padded to kp (the padding stays zero).
    let mut v = vec![0f64; kp];
    // Dual: the row's n < k fixed factors in f64, k values each.
    let mut ys = vec![0f64; k * k];
    let mut acc = vec![0f64; k];
    let chunk = first..first + out.len() / k;
    for (local, x) in out.chunks_exact_mut(k).enumerate() {
        let r = first + local;
        prefetch_row(rows, chunk.clone(), r, fixed, k);
        let (cols, vals) = rows.row(r);
        let n = cols.len();
        if n == 0 {
            x.fill(0.0);
            continue;
        }
        let lambda = reg * n as f64;
        if lambda > 0.0 && n < k {
            let scale = bias_reg.map(|b| (lambda / b).sqrt());
            for (s, &c) in cols.iter().enumerate() {
                let y = &fixed[c as usize * k..(c as usize + 1) * k];
                let row = &mut ys[s * k..(s + 1) * k];
                for (d, y) in row.iter_mut().zip(y) {
                    *d = f64::from(*y);
                }
                if let Some(sc) = scale {
                    row[k - 1] *= sc;
                }
            }
            for i in 0..n {
                let yi = &ys[i * k..(i + 1) * k];
                for j in 0..=i {
                    a[i * n + j] = dot64::<A>(yi, &ys[j * k..(j + 1) * k]);
                }
                a[i * n + i] += lambda;
            }
            for (b, v) in b.iter_mut().zip(vals) {
                *b = f64::from(*v);
            }
            if !cholesky_solve_strided::<A>(&mut a, n, &mut b, n) {
                return Some(r);
            }
            acc.fill(0.0);
            for s in 0..n {
                axpy64::<A>(b[s], &ys[s * k..(s + 1) * k], &mut acc);
            }
            if let Some(sc) = scale {
                acc[k - 1] *= sc;
            }
            for (x, acc) in x.iter_mut().zip(&acc) {
                *x = *acc as f32;
            }
            continue;
        }
        a.fill(0.0);
        b[..k].fill(0.0);
        for (e, (&c, &val)) in cols.iter().zip(vals).enumerate() {
            prefetch_entry(cols, e, fixed, k);
            let y = &fixed[c as usize * k..(c as usize + 1) * k];
            for (v, y) in v.iter_mut().zip(y) {
                *v = f64::from(*y);
            }
            axpy64::<A>(f64::from(val), &v[..k], &mut b[..k]);
            // Lower triangle of v vᵀ (all the Cholesky reads), in whole lanes of 4.
            for j in 0..k {
                let len = (j + 1).next_multiple_of(4);
                axpy64_x4::<A>(v[j], &v[..len], &mut a[j * kp..j * kp + len]);
            }
        }
        for j in 0..k {
            a[j * kp + j] += lambda;
        }
        if let Some(b) = bias_reg {
            a[(k - 1) * kp + (k - 1)] += b - lambda;
        }
        if !cholesky_solve_strided::<A>(&mut a, kp, &mut b, k) {
            return Some(r);
        }
        for (x, b) in x.iter_mut().zip(&b) {
            *x = *b as f32;
        }
    }
    None
}

/// Rows of `N(0, I)` normalised to unit length (Spark's initialisation), one ChaCha8
/// stream per block of rows: deterministic for `(seed, stream_base)` and parallel.
pub(crate) fn init_unit_gaussian(rows: usize, k: usize, seed: u64, which: u64) -> Array2<f32> {
    let mut m = Array2::<f32>::zeros((rows, k));
    if k == 0 {
        return m;
    }
    if let Some(data) = m.as_slice_mut() {
        data.par_chunks_mut(INIT_BLOCK * k)
            .enumerate()
            .for_each(|(b, block)| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream((which << 40) | b as u64);
                for row in block.chunks_exact_mut(k) {
                    loop {
                        for x in row.iter_mut() {
                            *x = standard_normal(&mut rng) as f32;
                        }
                        let norm = row
                            .iter()
                            .map(|x| f64::from(*x).powi(2))
                            .sum::<f64>()
                            .sqrt();
                        if norm > 0.0 {
                            for x in row.iter_mut() {
                                *x = (f64::from(*x) / norm) as f32;
                            }
                            break;
                        }
                    }
                }
            });
    }
    m
}

/// Rows per random stream in the initialisations.
pub(crate) const INIT_BLOCK: usize = 256;

/// One `N(0, 1)` draw (Box–Muller).
fn standard_normal(rng: &mut impl Rng) -> f64 {
    // 1 - U is in (0, 1], so the log is finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}
