//! Helpers shared by the recommender tests.

/// Dense `A x = b` by Gaussian elimination with partial pivoting (independent of the
/// crate's Cholesky).
pub fn dense_solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for col in 0..n {
        let piv = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap();
        a.swap(col, piv);
        b.swap(col, piv);
        let pivot_row = a[col].clone();
        for row in col + 1..n {
            let f = a[row][col] / pivot_row[col];
            for (x, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|j| a[i][j] * x[j]).sum();
        x[i] = (b[i] - s) / a[i][i];
    }
    x
}

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// One `N(0, 1)` draw (Box–Muller, two uniforms).
pub fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A user's taste for every item: `p · q_i / √k`.
pub fn affinities(p: &[f64], q: &[Vec<f64>]) -> Vec<f64> {
    let k = p.len() as f64;
    q.iter()
        .map(|qi| p.iter().zip(qi).map(|(a, b)| a * b).sum::<f64>() / k.sqrt())
        .collect()
}

/// `m` distinct items drawn without replacement with weights `pop[i] · e^(taste·aff[i])`
/// (Efraimidis–Spirakis keys), most likely first.
pub fn pick_items(
    rng: &mut ChaCha8Rng,
    pop: &[f64],
    aff: &[f64],
    taste: f64,
    m: usize,
) -> Vec<usize> {
    let mut keys: Vec<(f64, usize)> = (0..pop.len())
        .map(|i| {
            let w = pop[i] * (taste * aff[i]).exp();
            (rng.random::<f64>().powf(1.0 / w), i)
        })
        .collect();
    keys.sort_by(|a, b| b.0.total_cmp(&a.0));
    keys.into_iter().take(m).map(|(_, i)| i).collect()
}
