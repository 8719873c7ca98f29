//! Implicit-feedback ALS (Hu, Koren, Volinsky 2008), as the `implicit` library's CPU
//! `AlternatingLeastSquares` (conjugate-gradient variant, Takács et al. 2011).
//!
//! Signals `w_ui ≥ 0` (counts: reviewed, tipped, checked in) become a preference
//! `p_ui = 1` with confidence `c_ui = 1 + α·w_ui` for observed pairs, and `p = 0, c = 1`
//! for every other pair. Loss:
//! `Σ_(u,i all) c_ui (p_ui − xᵤ·yᵢ)² + λ (Σ‖xᵤ‖² + Σ‖yᵢ‖²)` (λ not scaled by counts).
//!
//! Row `u` solves `(YᵀY + Yᵀ(Cᵤ − I)Y + λI) xᵤ = YᵀCᵤp(u)`. `YᵀY + λI` is computed once
//! per half-step; each row then runs a fixed number of conjugate-gradient steps (3, as
//! `implicit`), warm-started from its previous factors, touching only its observed
//! pairs. Each iteration solves users, then items (`implicit`'s order).
//!
//! Differences from `implicit`, all documented choices: `implicit` takes the
//! confidence matrix itself (`alpha · data`), we take weights and form `1 + α·w` (give
//! `implicit` the matrix `1 + α·w` with `alpha = 1` for the same problem); duplicate
//! pairs are summed (as scipy does when building `implicit`'s CSR); zero weights are
//! dropped. Initial factors are uniform in `[0, 0.01)` (as `implicit`), drawn from
//! seeded ChaCha8 streams. Computation is `f32` (as `implicit`'s default dtype).

use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::RecommendError;
use super::als::INIT_BLOCK;
use super::data::{Interactions, SparseRows};
use super::kernels::{
    Arith, Isa, Plain, axpy, axpy64, cholesky_factor_strided, cholesky_solve,
    cholesky_substitute_strided, dot, half_step_out, isa, prefetch_entry, prefetch_row,
};
use super::model::{FactorModel, ModelKind};

/// How each row's linear system is solved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImplicitSolver {
    /// `steps` conjugate-gradient steps from the previous factors (`implicit`'s
    /// default, `cg_steps = 3`): O(k² + nnz·k) per row and step.
    ConjugateGradient {
        /// CG steps per row and half-step.
        steps: usize,
    },
    /// Exact Cholesky solve of the full normal equations (`use_cg=False`): O(nnz·k² + k³).
    Cholesky,
    /// Conjugate gradient as [`ImplicitSolver::ConjugateGradient`] for rows with more
    /// than `steps` entries; a row with `n ≤ steps` entries (at most 8) is solved
    /// exactly instead, by the Woodbury identity on `M = (YᵀY + λI)⁻¹` (computed once per
    /// half-step): `x = Z (I + D G)⁻¹ t` with `Z = M Yᵤᵀ`, `G = Yᵤ Z`, `D = diag(|c| − 1)` and
    /// `t` the row's targets. That costs `n` products with `M` where CG costs `steps + 1`
    /// products with `YᵀY`, and gives the exact solution CG only approaches. On review
    /// data most users have one to three reviews, so most user rows take this path. If
    /// `YᵀY + λI` is not positive definite every row takes CG.
    Hybrid {
        /// CG steps of the longer rows; rows with at most this many entries are exact.
        steps: usize,
    },
}

/// The longest row [`ImplicitSolver::Hybrid`] solves exactly.
const MAX_EXACT: usize = 8;

/// Implicit ALS parameters (the `implicit` library's names in brackets).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ImplicitParams {
    /// Latent factors (`factors`), ≥ 1.
    pub factors: usize,
    /// Iterations (`iterations`); each solves users, then items.
    pub iterations: usize,
    /// Regularisation λ (`regularization`), not scaled by counts.
    pub reg: f64,
    /// Confidence slope α: `c = 1 + α·w`.
    pub alpha: f64,
    /// Row solver.
    pub solver: ImplicitSolver,
    /// Seed of the random initial factors (`random_state`).
    pub seed: u64,
}

impl Default for ImplicitParams {
    /// `implicit`'s defaults: 100 factors, 15 iterations, λ = 0.01, α = 1, CG 3 steps.
    fn default() -> ImplicitParams {
        ImplicitParams {
            factors: 100,
            iterations: 15,
            reg: 0.01,
            alpha: 1.0,
            solver: ImplicitSolver::ConjugateGradient { steps: 3 },
            seed: 0,
        }
    }
}

/// The implicit ALS trainer.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImplicitAls {
    /// Its parameters.
    pub params: ImplicitParams,
}

impl ImplicitAls {
    /// A trainer with these parameters.
    pub fn new(params: ImplicitParams) -> ImplicitAls {
        ImplicitAls { params }
    }

    /// Trains on `train` (values are weights `w ≥ 0`). Fails on a negative or
    /// non-finite weight, invalid parameters or an empty training set.
    pub fn fit(&self, train: &Interactions) -> Result<FactorModel, RecommendError> {
        let p = self.params;
        if p.factors == 0 {
            return Err(RecommendError::InvalidParam {
                name: "factors",
                message: "must be at least 1".into(),
            });
        }
        for (name, v) in [("reg", p.reg), ("alpha", p.alpha)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(RecommendError::InvalidParam {
                    name,
                    message: format!("must be finite and ≥ 0, got {v}"),
                });
            }
        }
        if train.is_empty() {
            return Err(RecommendError::Empty);
        }
        if let Some(t) = train.triples().iter().find(|t| t.value < 0.0) {
            return Err(RecommendError::InvalidValue {
                what: "weight",
                user: train.users().id(t.user).unwrap_or_default().to_string(),
                item: train.items().id(t.item).unwrap_or_default().to_string(),
                value: t.value.to_string(),
            });
        }
        let alpha = p.alpha as f32;
        let confidence = |rows: SparseRows| {
            rows.merge_duplicates()
                .filter(|w| w > 0.0)
                .map_values(|w| 1.0 + alpha * w)
        };
        let cui = confidence(train.by_user());
        let ciu = confidence(train.by_item());
        let mut users = init_uniform(cui.rows(), p.factors, p.seed, 0);
        let mut items = init_uniform(ciu.rows(), p.factors, p.seed, 1);
        for it in 0..p.iterations {
            solve_implicit_rows(&cui, items.view(), p.reg, p.solver, &mut users)?;
            solve_implicit_rows(&ciu, users.view(), p.reg, p.solver, &mut items)?;
            tracing::debug!(iteration = it + 1, "implicit ALS iteration done");
        }
        Ok(FactorModel::from_training(
            ModelKind::Implicit(p),
            train,
            users,
            items,
        ))
    }
}

/// Rows per parallel task.
const CHUNK: usize = 64;

/// One implicit half-step: for every row `u` of `confidence` (values are confidences
/// `c_ui`, columns index rows of `fixed` = Y), updates `x[u]` towards the solution of
/// `(YᵀY + Σ_i (c_ui − 1) yᵢyᵢᵀ + reg·I) xᵤ = Σ_i c_ui yᵢ` (preference 1 for every
/// stored entry with `c > 0`; a negative `c` means preference 0 with confidence `|c|`,
/// as `implicit`). CG warm-starts from the current `x[u]`; with
/// [`ImplicitSolver::Hybrid`] a row of at most `steps` entries is solved exactly instead;
/// a row without entries gets zeros.
pub fn solve_implicit_rows(
    confidence: &SparseRows,
    fixed: ArrayView2<'_, f32>,
    reg: f64,
    solver: ImplicitSolver,
    x: &mut Array2<f32>,
) -> Result<(), RecommendError> {
    let (out, k) = half_step_out("confidences", confidence, &fixed, x)?;
    if k == 0 {
        return Ok(());
    }
    // YᵀY + λI once per half-step (matrixmultiply sgemm; f32 as `implicit`).
    let mut yty = fixed.t().dot(&fixed);
    for j in 0..k {
        yty[[j, j]] += reg as f32;
    }
    let yty = yty.as_standard_layout().to_owned();
    let yty = yty.as_slice().unwrap_or_default();
    // The Hybrid solver's `(YᵀY + λI)⁻¹` and the longest row it solves exactly; without
    // it (not positive definite) every row takes CG.
    let inverse = match solver {
        ImplicitSolver::Hybrid { steps } => spd_inverse(yty, k).map(|m| (m, steps.min(MAX_EXACT))),
        _ => None,
    };
    let exact = inverse.as_ref().map(|(m, n)| (m.as_slice(), *n));
    let fixed = fixed.as_standard_layout();
    let y = fixed.as_slice().unwrap_or_default();
    let isa = isa();
    let failed = out
        .par_chunks_mut(CHUNK * k)
        .enumerate()
        .filter_map(|(c, block)| {
            let first = c * CHUNK;
            match (solver, isa) {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `Isa::Avx2Fma` means the CPU has AVX2 and FMA (checked by `isa`).
                (
                    ImplicitSolver::ConjugateGradient { steps } | ImplicitSolver::Hybrid { steps },
                    Isa::Avx2Fma,
                ) => unsafe {
                    cg_chunk_avx2(confidence, y, yty, k, steps, exact, first, block);
                    None
                },
                (
                    ImplicitSolver::ConjugateGradient { steps } | ImplicitSolver::Hybrid { steps },
                    _,
                ) => {
                    cg_chunk::<Plain>(confidence, y, yty, k, steps, exact, first, block);
                    None
                }
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as above.
                (ImplicitSolver::Cholesky, Isa::Avx2Fma) => unsafe {
                    direct_chunk_avx2(confidence, y, yty, k, first, block)
                },
                (ImplicitSolver::Cholesky, _) => {
                    direct_chunk::<Plain>(confidence, y, yty, k, first, block)
                }
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
#[allow(clippy::too_many_arguments)]
fn cg_chunk_avx2(
    conf: &SparseRows,
    y: &[f32],
    yty: &[f32],
    k: usize,
    steps: usize,
    exact: Option<(&[f32], usize)>,
    first: usize,
    out: &mut [f32],
) {
    cg_chunk::<super::kernels::Fused>(conf, y, yty, k, steps, exact, first, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn direct_chunk_avx2(
    conf: &SparseRows,
    y: &[f32],
    yty: &[f32],
    k: usize,
    first: usize,
    out: &mut [f32],
) -> Option<usize> {
    direct_chunk::<super::kernels::Fused>(conf, y, yty, k, first, out)
}

/// `out = M v` for the symmetric `k×k` row-major `m`, as `Σ_l v[l]·M[l, ..]` with the
/// output kept in registers: blocks of 64 columns (eight independent FMA chains), then
/// 32, 16 and 8 (two chains each, over even and odd `l`), then the last `k mod 8`
/// columns as dot products of rows of `M` (`M` is symmetric).
#[inline(always)]
fn symv<A: Arith>(m: &[f32], v: &[f32], out: &mut [f32], k: usize) {
    let mut j0 = 0;
    while k - j0 >= 64 {
        symv_block::<A, 64>(m, v, out, k, j0);
        j0 += 64;
    }
    for b in [32, 16, 8] {
        if k - j0 >= b {
            match b {
                32 => symv_block2::<A, 32>(m, v, out, k, j0),
                16 => symv_block2::<A, 16>(m, v, out, k, j0),
                _ => symv_block2::<A, 8>(m, v, out, k, j0),
            }
            j0 += b;
        }
    }
    for j in j0..k {
        out[j] = dot::<A>(&m[j * k..(j + 1) * k], &v[..k]);
    }
}

/// Columns `j0..j0 + B` of `M v`.
#[inline(always)]
fn symv_block<A: Arith, const B: usize>(
    m: &[f32],
    v: &[f32],
    out: &mut [f32],
    k: usize,
    j0: usize,
) {
    let mut acc = [0f32; B];
    for (l, &vl) in v.iter().enumerate().take(k) {
        let row = &m[l * k + j0..l * k + j0 + B];
        for t in 0..B {
            acc[t] = A::fma32(vl, row[t], acc[t]);
        }
    }
    out[j0..j0 + B].copy_from_slice(&acc);
}

/// Columns `j0..j0 + B` of `M v` with two accumulators (even and odd `l`), so a narrow
/// block is not one chain of dependent FMAs.
#[inline(always)]
fn symv_block2<A: Arith, const B: usize>(
    m: &[f32],
    v: &[f32],
    out: &mut [f32],
    k: usize,
    j0: usize,
) {
    let mut even = [0f32; B];
    let mut odd = [0f32; B];
    let mut l = 0;
    while l + 1 < k {
        let (a, b) = (v[l], v[l + 1]);
        let ra = &m[l * k + j0..l * k + j0 + B];
        let rb = &m[(l + 1) * k + j0..(l + 1) * k + j0 + B];
        for t in 0..B {
            even[t] = A::fma32(a, ra[t], even[t]);
            odd[t] = A::fma32(b, rb[t], odd[t]);
        }
        l += 2;
    }
    if l < k {
        let ra = &m[l * k + j0..l * k + j0 + B];
        for t in 0..B {
            even[t] = A::fma32(v[l], ra[t], even[t]);
        }
    }
    for t in 0..B {
        out[j0 + t] = even[t] + odd[t];
    }
}

/// Conjugate gradient for rows `first..` (the `implicit` library's
/// `_least_squares_cg`, step for step). With `exact = Some((M, n))` (the Hybrid solver),
/// rows with at most `n` entries are solved exactly by [`woodbury`] instead.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn cg_chunk<A: Arith>(
    conf: &SparseRows,
    y: &[f32],
    yty: &[f32],
    k: usize,
    steps: usize,
    exact: Option<(&[f32], usize)>,
    first: usize,
    out: &mut [f32],
) {
    let mut r = vec![0f32; k];
    let mut p = vec![0f32; k];
    let mut ap = vec![0f32; k];
    let mut z = vec![0f32; if exact.is_some() { MAX_EXACT * k } else { 0 }];
    let chunk = first..first + out.len() / k;
    for (local, x) in out.chunks_exact_mut(k).enumerate() {
        prefetch_row(conf, chunk.clone(), first + local, y, k);
        let (cols, cs) = conf.row(first + local);
        if cols.is_empty() {
            x.fill(0.0);
            continue;
        }
        if let Some((m, n)) = exact
            && cols.len() <= n
            && woodbury::<A>(cols, cs, y, m, k, &mut z, x)
        {
            continue;
        }
        // r = YᵀCᵤp(u) − (YᵀCᵤY + λI) x
        symv::<A>(yty, x, &mut r, k);
        for v in r.iter_mut() {
            *v = -*v;
        }
        for (e, (&i, &c)) in cols.iter().zip(cs).enumerate() {
            prefetch_entry(cols, e, y, k);
            let yi = &y[i as usize * k..(i as usize + 1) * k];
            let (target, c) = if c > 0.0 { (c, c) } else { (0.0, -c) };
            let coef = target - (c - 1.0) * dot::<A>(yi, x);
            axpy::<A>(coef, yi, &mut r);
        }
        p.copy_from_slice(&r);
        let mut rsold = dot::<A>(&r, &r);
        if rsold < 1e-20 {
            continue;
        }
        for _ in 0..steps {
            // Ap = (YᵀCᵤY + λI) p without forming YᵀCᵤY.
            symv::<A>(yty, &p, &mut ap, k);
            for (&i, &c) in cols.iter().zip(cs) {
                let yi = &y[i as usize * k..(i as usize + 1) * k];
                let coef = (c.abs() - 1.0) * dot::<A>(yi, &p);
                axpy::<A>(coef, yi, &mut ap);
            }
            let step = rsold / dot::<A>(&p, &ap);
            axpy::<A>(step, &p, x);
            axpy::<A>(-step, &ap, &mut r);
            let rsnew = dot::<A>(&r, &r);
            if rsnew < 1e-20 {
                break;
            }
            let beta = rsnew / rsold;
            for (p, r) in p.iter_mut().zip(&r) {
                *p = A::fma32(beta, *p, *r);
            }
            rsold = rsnew;
        }
    }
}

/// The exact solution of one short row (at most [`MAX_EXACT`] entries) from
/// `M = (YᵀY + λI)⁻¹`: `x = Z w` with `zⱼ = M yⱼ` and `(I + D G) w = t`, where
/// `G[a][b] = y_a·z_b`, `D = diag(|c| − 1)` and `t` the targets (`c`, or 0 for a negative
/// `c`). By Woodbury, `(B + Yᵀ D Y)⁻¹ Yᵀ t = Z (I + D G)⁻¹ t`. Returns false (and leaves
/// `x` alone) if the small system is singular; the caller then runs CG.
#[inline(always)]
fn woodbury<A: Arith>(
    cols: &[u32],
    cs: &[f32],
    y: &[f32],
    m: &[f32],
    k: usize,
    z: &mut [f32],
    x: &mut [f32],
) -> bool {
    let n = cols.len();
    debug_assert!(n <= MAX_EXACT && z.len() >= n * k);
    let row = |i: u32| &y[i as usize * k..(i as usize + 1) * k];
    for (j, &i) in cols.iter().enumerate() {
        symv::<A>(m, row(i), &mut z[j * k..(j + 1) * k], k);
    }
    let mut s = [0f64; MAX_EXACT * MAX_EXACT];
    let mut w = [0f64; MAX_EXACT];
    for (a, (&i, &c)) in cols.iter().zip(cs).enumerate() {
        let (t, d) = if c > 0.0 {
            (c, c - 1.0)
        } else {
            (0.0, -c - 1.0)
        };
        w[a] = f64::from(t);
        let ya = row(i);
        for b in 0..n {
            let g = f64::from(dot::<A>(ya, &z[b * k..(b + 1) * k]));
            s[a * n + b] = f64::from(d) * g + if a == b { 1.0 } else { 0.0 };
        }
    }
    if !small_solve(&mut s[..n * n], &mut w[..n], n) {
        return false;
    }
    x.fill(0.0);
    for (b, &wb) in w[..n].iter().enumerate() {
        axpy::<A>(wb as f32, &z[b * k..(b + 1) * k], x);
    }
    true
}

/// Solves the small `n×n` system `S w = t` in place (`w` holds `t` on entry) by Gaussian
/// elimination with partial pivoting; false if `S` is (numerically) singular.
fn small_solve(s: &mut [f64], w: &mut [f64], n: usize) -> bool {
    for col in 0..n {
        let mut piv = col;
        for r in col + 1..n {
            if s[r * n + col].abs() > s[piv * n + col].abs() {
                piv = r;
            }
        }
        let pv = s[piv * n + col];
        if !pv.is_finite() || pv.abs() <= 1e-12 {
            return false;
        }
        if piv != col {
            for c in 0..n {
                s.swap(piv * n + c, col * n + c);
            }
            w.swap(piv, col);
        }
        for r in col + 1..n {
            let f = s[r * n + col] / pv;
            for c in col..n {
                s[r * n + c] -= f * s[col * n + c];
            }
            w[r] -= f * w[col];
        }
    }
    for col in (0..n).rev() {
        let mut v = w[col];
        for c in col + 1..n {
            v -= s[col * n + c] * w[c];
        }
        w[col] = v / s[col * n + col];
    }
    w[..n].iter().all(|v| v.is_finite())
}

/// `B⁻¹` (row-major `k×k`, `f32`) of the symmetric positive definite `b`, in `f64`: one
/// Cholesky factorisation, then one substitution per column; `None` if `b` is not
/// positive definite.
fn spd_inverse(b: &[f32], k: usize) -> Option<Vec<f32>> {
    let mut a: Vec<f64> = b.iter().map(|&v| f64::from(v)).collect();
    if !cholesky_factor_strided::<Plain>(&mut a, k, k) {
        return None;
    }
    let mut inv = vec![0f32; k * k];
    let mut e = vec![0f64; k];
    for j in 0..k {
        e.fill(0.0);
        e[j] = 1.0;
        cholesky_substitute_strided::<Plain>(&a, k, &mut e, k);
        // Column j of B⁻¹ is row j (B⁻¹ is symmetric).
        for (dst, v) in inv[j * k..(j + 1) * k].iter_mut().zip(&e) {
            *dst = *v as f32;
        }
    }
    Some(inv)
}

/// Exact solve of each row's normal equations in `f64` (the `use_cg=False` path).
#[inline(always)]
fn direct_chunk<A: Arith>(
    conf: &SparseRows,
    y: &[f32],
    yty: &[f32],
    k: usize,
    first: usize,
    out: &mut [f32],
) -> Option<usize> {
    let mut a = vec![0f64; k * k];
    let mut b = vec![0f64; k];
    let mut v = vec![0f64; k];
    for (local, x) in out.chunks_exact_mut(k).enumerate() {
        let row = first + local;
        let (cols, cs) = conf.row(row);
        if cols.is_empty() {
            x.fill(0.0);
            continue;
        }
        for (a, m) in a.iter_mut().zip(yty) {
            *a = f64::from(*m);
        }
        b.fill(0.0);
        for (&i, &c) in cols.iter().zip(cs) {
            let yi = &y[i as usize * k..(i as usize + 1) * k];
            for (v, y) in v.iter_mut().zip(yi) {
                *v = f64::from(*y);
            }
            let c = f64::from(c);
            if c > 0.0 {
                axpy64::<A>(c, &v, &mut b);
            }
            let w = c.abs() - 1.0;
            for j in 0..k {
                axpy64::<A>(w * v[j], &v[..=j], &mut a[j * k..j * k + j + 1]);
            }
        }
        if !cholesky_solve::<A>(&mut a, &mut b, k) {
            return Some(row);
        }
        for (x, b) in x.iter_mut().zip(&b) {
            *x = *b as f32;
        }
    }
    None
}

/// Uniform `[0, 0.01)` factors (as `implicit`), one ChaCha8 stream per block of rows.
fn init_uniform(rows: usize, k: usize, seed: u64, which: u64) -> Array2<f32> {
    let mut m = Array2::<f32>::zeros((rows, k));
    if k == 0 {
        return m;
    }
    if let Some(data) = m.as_slice_mut() {
        data.par_chunks_mut(INIT_BLOCK * k)
            .enumerate()
            .for_each(|(b, block)| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream((1 << 63) | (which << 40) | b as u64);
                for x in block.iter_mut() {
                    *x = rng.random::<f32>() * 0.01;
                }
            });
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommend::kernels::Fused;

    /// `symv` against the plain sum for every block layout: widths 1..=130 cover the
    /// 64-wide blocks, the two-chain 32/16/8 blocks (odd and even `k`) and the tail.
    #[test]
    fn symv_matches_the_plain_product_for_every_width() {
        for k in 1..=130usize {
            let mut m = vec![0f32; k * k];
            for a in 0..k {
                for b in 0..=a {
                    let x = ((a * 31 + b * 17) % 23) as f32 * 0.25 - 2.0;
                    m[a * k + b] = x;
                    m[b * k + a] = x;
                }
            }
            let v: Vec<f32> = (0..k).map(|i| ((i * 7) % 11) as f32 * 0.5 - 2.5).collect();
            let want: Vec<f64> = (0..k)
                .map(|j| {
                    (0..k)
                        .map(|l| f64::from(m[l * k + j]) * f64::from(v[l]))
                        .sum()
                })
                .collect();
            for fused in [false, true] {
                let mut out = vec![f32::NAN; k];
                if fused {
                    symv::<Fused>(&m, &v, &mut out, k);
                } else {
                    symv::<Plain>(&m, &v, &mut out, k);
                }
                for (j, (o, w)) in out.iter().zip(&want).enumerate() {
                    assert!(
                        (f64::from(*o) - w).abs() <= 1e-3 * (1.0 + w.abs()),
                        "k {k}, column {j}, fused {fused}: {o} vs {w}"
                    );
                }
            }
        }
    }
}
