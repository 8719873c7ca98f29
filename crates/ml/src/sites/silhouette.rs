//! Mean silhouette with scikit-learn's definition.
//!
//! Why not `linfa::metrics::SilhouetteScore`: it scores a singleton cluster's point 1
//! (scikit-learn: 0), which rewards k-means for splitting off outliers, returns NaN when
//! points coincide (0/0), and has no sampling for large inputs.

use ndarray::ArrayView2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Mean silhouette of `labels` (cluster ids, any `usize`) over the points `xy` (rows),
/// Euclidean distance. For each point, `a` = mean distance to the other members of its
/// cluster, `b` = the smallest mean distance to another cluster's members, `s = (b - a) /
/// max(a, b)` (0 when both are 0, and 0 for a singleton cluster). None unless there are
/// at least 2 clusters and fewer clusters than points.
pub fn silhouette(xy: ArrayView2<'_, f64>, labels: &[usize]) -> Option<f64> {
    let n = xy.nrows().min(labels.len());
    if n < 3 {
        return None;
    }
    let mut ids: Vec<usize> = labels[..n].to_vec();
    ids.sort_unstable();
    ids.dedup();
    let k = ids.len();
    if k < 2 || k >= n {
        return None;
    }
    let dense: Vec<usize> = labels[..n]
        .iter()
        .map(|l| ids.binary_search(l).unwrap_or(0))
        .collect();
    let mut size = vec![0usize; k];
    for &l in &dense {
        size[l] += 1;
    }
    let per_point: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| {
            let own = dense[i];
            if size[own] == 1 {
                return 0.0;
            }
            let mut sums = vec![0.0; k];
            let xi = xy.row(i);
            for j in 0..n {
                if j != i {
                    let d = xi
                        .iter()
                        .zip(xy.row(j).iter())
                        .map(|(a, b)| (a - b).powi(2))
                        .sum::<f64>()
                        .sqrt();
                    sums[dense[j]] += d;
                }
            }
            let a = sums[own] / (size[own] - 1) as f64;
            let b = (0..k)
                .filter(|&c| c != own)
                .map(|c| sums[c] / size[c] as f64)
                .fold(f64::INFINITY, f64::min);
            let m = a.max(b);
            if m > 0.0 { (b - a) / m } else { 0.0 }
        })
        .collect();
    Some(per_point.iter().sum::<f64>() / n as f64)
}

/// Indices of a seeded uniform sample of `size` of `0..n` (all of them, in order, when
/// `n <= size`), sorted.
pub fn sample_indices(n: usize, size: usize, seed: u64) -> Vec<usize> {
    if n <= size {
        return (0..n).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut v = rand::seq::index::sample(&mut rng, n, size).into_vec();
    v.sort_unstable();
    v
}
