//! Small dense kernels for the per-row solves: dot, axpy, Cholesky.
//!
//! The hot loops are written once, generic over [`Arith`] (how to multiply-add), and
//! marked `#[inline(always)]`; a caller instantiates them inside a wrapper function
//! compiled with `#[target_feature(enable = "avx2,fma")]` when [`isa`] says the CPU has
//! them (checked at run time), or with the portable baseline otherwise. Reductions use 16 independent accumulators, so the compiler can
//! keep them in SIMD registers without reassociating floating-point sums (the order is
//! fixed, hence deterministic).

use ndarray::{Array2, ArrayView2};

use super::RecommendError;
use super::data::SparseRows;

/// Checks the shapes of one ALS half-step — `rows` (r×c observations), `fixed` (c×k
/// factors), `out` (r×k, standard layout) — and returns `out`'s values and `k`.
/// `what` names the observations in the error ("ratings", "confidences").
pub(crate) fn half_step_out<'a>(
    what: &str,
    rows: &SparseRows,
    fixed: &ArrayView2<'_, f32>,
    out: &'a mut Array2<f32>,
) -> Result<(&'a mut [f32], usize), RecommendError> {
    let k = fixed.ncols();
    if fixed.nrows() != rows.cols() || out.nrows() != rows.rows() || out.ncols() != k {
        return Err(RecommendError::Shape(format!(
            "{}×{} {what}, fixed factors {}×{}, output {}×{}",
            rows.rows(),
            rows.cols(),
            fixed.nrows(),
            k,
            out.nrows(),
            out.ncols()
        )));
    }
    match out.as_slice_mut() {
        Some(s) => Ok((s, k)),
        None => Err(RecommendError::Shape(
            "output factors must be in standard layout".into(),
        )),
    }
}

/// How to compute `a * b + c`.
pub(crate) trait Arith: Copy + Send + Sync + 'static {
    fn fma32(a: f32, b: f32, c: f32) -> f32;
    fn fma64(a: f64, b: f64, c: f64) -> f64;
}

/// Separate multiply and add (portable; `mul_add` without hardware FMA is a libm call).
#[derive(Clone, Copy)]
pub(crate) struct Plain;

impl Arith for Plain {
    #[inline(always)]
    fn fma32(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
    #[inline(always)]
    fn fma64(a: f64, b: f64, c: f64) -> f64 {
        a * b + c
    }
}

/// Fused multiply-add (only inside functions compiled with the `fma` feature).
#[derive(Clone, Copy)]
pub(crate) struct Fused;

impl Arith for Fused {
    #[inline(always)]
    fn fma32(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
    #[inline(always)]
    fn fma64(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
}

/// Which code path the CPU allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Isa {
    /// Portable baseline.
    Portable,
    /// x86-64 with AVX2 and FMA.
    Avx2Fma,
}

/// The best path for this CPU.
pub(crate) fn isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Isa::Avx2Fma;
        }
    }
    Isa::Portable
}

/// Asks the CPU to bring `row` into the cache ahead of its use (a hint: no effect on
/// results, none at all off x86-64). Factor rows picked by a sparse row's column indexes
/// are scattered over hundreds of megabytes, so their first loads otherwise miss.
#[inline(always)]
fn prefetch(row: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // One hint per 64-byte line, and one for the last element (the row need not
        // start on a line).
        for off in (0..row.len()).step_by(16).chain(row.len().checked_sub(1)) {
            // SAFETY: a prefetch never faults and reads nothing; `off` is inside `row`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(row.as_ptr().add(off).cast::<i8>()) }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

/// How many factor rows the ALS kernels ask the cache for ahead of their use.
const PREFETCH_AHEAD: usize = 4;

/// [`prefetch`]es the factor rows (`k` wide, in `y`) of entries `skip..skip +`
/// [`PREFETCH_AHEAD`] of a sparse row's columns `cols`.
#[inline(always)]
fn prefetch_factors(cols: &[u32], skip: usize, y: &[f32], k: usize) {
    for &i in cols.iter().skip(skip).take(PREFETCH_AHEAD) {
        if let Some(row) = y.get(i as usize * k..(i as usize + 1) * k) {
            prefetch(row);
        }
    }
}

/// Prefetch hints before a half-step kernel solves row `r` of its chunk `chunk` of
/// `rows` (columns index rows of `y`): the row's first factor rows were asked for with
/// the row before (or now, for the chunk's first row); now the ones after them, and the
/// next row's first ones.
#[inline(always)]
pub(crate) fn prefetch_row(
    rows: &SparseRows,
    chunk: std::ops::Range<usize>,
    r: usize,
    y: &[f32],
    k: usize,
) {
    let cols = rows.row(r).0;
    if r == chunk.start {
        prefetch_factors(cols, 0, y, k);
    }
    prefetch_factors(cols, PREFETCH_AHEAD, y, k);
    if r + 1 < chunk.end {
        prefetch_factors(rows.row(r + 1).0, 0, y, k);
    }
}

/// Prefetch hints inside a row, at its entry `e`: every [`PREFETCH_AHEAD`] entries, the
/// group that starts `2 ×` [`PREFETCH_AHEAD`] entries further on (the first two groups
/// were asked for by [`prefetch_row`]).
#[inline(always)]
pub(crate) fn prefetch_entry(cols: &[u32], e: usize, y: &[f32], k: usize) {
    if e.is_multiple_of(PREFETCH_AHEAD) {
        prefetch_factors(cols, e + 2 * PREFETCH_AHEAD, y, k);
    }
}

/// `Σ a[i]·b[i]` over the common length.
#[inline(always)]
pub(crate) fn dot<A: Arith>(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 16];
    let mut ca = a.chunks_exact(16);
    let mut cb = b.chunks_exact(16);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for j in 0..16 {
            acc[j] = A::fma32(x[j], y[j], acc[j]);
        }
    }
    for (j, (x, y)) in ca.remainder().iter().zip(cb.remainder()).enumerate() {
        acc[j] = A::fma32(*x, *y, acc[j]);
    }
    let mut s8 = [0f32; 8];
    for j in 0..8 {
        s8[j] = acc[j] + acc[j + 8];
    }
    let s4 = [s8[0] + s8[4], s8[1] + s8[5], s8[2] + s8[6], s8[3] + s8[7]];
    (s4[0] + s4[2]) + (s4[1] + s4[3])
}

/// `y += alpha·x` over the common length.
#[inline(always)]
pub(crate) fn axpy<A: Arith>(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y = A::fma32(alpha, *x, *y);
    }
}

/// `y += alpha·x` in `f64`.
#[inline(always)]
pub(crate) fn axpy64<A: Arith>(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y = A::fma64(alpha, *x, *y);
    }
}

/// Solves `A x = b` in place for a symmetric positive definite `k×k` matrix `a`
/// (row-major; only the lower triangle is read, and it is overwritten by the Cholesky
/// factor `L`); `b` becomes `x`. Returns false if `A` is not positive definite.
#[inline(always)]
pub(crate) fn cholesky_solve<A: Arith>(a: &mut [f64], b: &mut [f64], k: usize) -> bool {
    cholesky_solve_strided::<A>(a, k, b, k)
}

/// [`cholesky_solve`] on a matrix stored with `stride ≥ k` values per row (padded rows):
/// [`cholesky_factor_strided`], then [`cholesky_substitute_strided`].
#[inline(always)]
pub(crate) fn cholesky_solve_strided<A: Arith>(
    a: &mut [f64],
    stride: usize,
    b: &mut [f64],
    k: usize,
) -> bool {
    debug_assert!(b.len() >= k);
    if !cholesky_factor_strided::<A>(a, stride, k) {
        return false;
    }
    cholesky_substitute_strided::<A>(a, stride, b, k);
    true
}

/// Factors the symmetric positive definite `k×k` matrix `a` (rows of `stride ≥ k`
/// values; only the lower triangle is read) in place: the strict lower triangle becomes
/// `L` of `A = L Lᵀ` and the diagonal holds `1 / Lᵢᵢ` (one division per row instead of
/// one per entry). Returns false if `A` is not positive definite.
#[inline(always)]
pub(crate) fn cholesky_factor_strided<A: Arith>(a: &mut [f64], stride: usize, k: usize) -> bool {
    debug_assert!(stride >= k && a.len() >= (k.max(1) - 1) * stride + k);
    // A = L Lᵀ, row by row (Cholesky–Banachiewicz).
    for i in 0..k {
        let (done, row) = a.split_at_mut(i * stride);
        let row = &mut row[..=i];
        for j in 0..i {
            let lj = &done[j * stride..j * stride + j + 1];
            let mut s = row[j];
            for p in 0..j {
                s = A::fma64(-row[p], lj[p], s);
            }
            // lj[j] holds 1 / L_jj.
            row[j] = s * lj[j];
        }
        let mut s = row[i];
        for &l in &row[..i] {
            s = A::fma64(-l, l, s);
        }
        if s.is_nan() || s <= 0.0 || s.is_infinite() {
            return false;
        }
        row[i] = 1.0 / s.sqrt();
    }
    true
}

/// Solves `L Lᵀ x = b` in place with the factor from [`cholesky_factor_strided`]; one
/// factor serves any number of right-hand sides.
#[inline(always)]
pub(crate) fn cholesky_substitute_strided<A: Arith>(
    a: &[f64],
    stride: usize,
    b: &mut [f64],
    k: usize,
) {
    // L y = b.
    for i in 0..k {
        let row = &a[i * stride..i * stride + i + 1];
        let mut s = b[i];
        for p in 0..i {
            s = A::fma64(-row[p], b[p], s);
        }
        b[i] = s * row[i];
    }
    // Lᵀ x = y.
    for i in (0..k).rev() {
        let mut s = b[i];
        for p in i + 1..k {
            s = A::fma64(-a[p * stride + i], b[p], s);
        }
        b[i] = s * a[i * stride + i];
    }
}

/// `Σ a[i]·b[i]` in `f64`, over the common length.
#[inline(always)]
pub(crate) fn dot64<A: Arith>(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = 0.0;
    for (x, y) in a.iter().zip(b) {
        acc = A::fma64(*x, *y, acc);
    }
    acc
}

/// `y[..n] += alpha·x[..n]` where `n` is a multiple of 4 (whole SIMD lanes, no scalar
/// tail: callers pad their rows with zeros).
#[inline(always)]
pub(crate) fn axpy64_x4<A: Arith>(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (y, x) in y.chunks_exact_mut(4).zip(x.chunks_exact(4)) {
        y[0] = A::fma64(alpha, x[0], y[0]);
        y[1] = A::fma64(alpha, x[1], y[1]);
        y[2] = A::fma64(alpha, x[2], y[2]);
        y[3] = A::fma64(alpha, x[3], y[3]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_and_cholesky_both_paths() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..37).map(|i| 1.0 + (i % 5) as f32).collect();
        let want: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(x * y)).sum();
        assert!((f64::from(dot::<Plain>(&a, &b)) - want).abs() < 1e-3);
        assert!((f64::from(dot::<Fused>(&a, &b)) - want).abs() < 1e-3);

        // [[4,2],[2,3]] x = [2,1] -> x = [0.5, 0]
        let mut m = vec![4.0, 2.0, 2.0, 3.0];
        let mut v = vec![2.0, 1.0];
        assert!(cholesky_solve::<Fused>(&mut m, &mut v, 2));
        assert!((v[0] - 0.5).abs() < 1e-12 && v[1].abs() < 1e-12, "{v:?}");
        let mut m = vec![1.0, 2.0, 2.0, 1.0];
        let mut v = vec![1.0, 1.0];
        assert!(!cholesky_solve::<Plain>(&mut m, &mut v, 2));

        // The same 2×2 system stored with padded rows (stride 4, junk in the padding).
        let mut m = vec![4.0, 99.0, 99.0, 99.0, 2.0, 3.0, 99.0, 99.0];
        let mut v = vec![2.0, 1.0];
        assert!(cholesky_solve_strided::<Fused>(&mut m, 4, &mut v, 2));
        assert!((v[0] - 0.5).abs() < 1e-12 && v[1].abs() < 1e-12, "{v:?}");
    }
}
