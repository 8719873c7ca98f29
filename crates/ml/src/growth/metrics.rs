//! Classification and regression metrics with scikit-learn's definitions.
//!
//! Why not linfa's: its ROC curve (`BinaryClassification::roc`) is computed in `f32` and
//! divides by zero on a one-class sample; its confusion matrix works in `f32`. These are
//! a few lines each in `f64`, checked against scikit-learn's documented examples in the
//! tests.

use serde::{Deserialize, Serialize};

/// Binary classification scores of one model on one sample (positive class = *grow*).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassificationScores {
    /// Share of correct predictions.
    pub accuracy: f64,
    /// F1 of the *grow* class (0 when it has no true or predicted member, as
    /// scikit-learn's `zero_division=0`).
    pub f1_grow: f64,
    /// F1 of the *decline* class.
    pub f1_decline: f64,
    /// Mean of the two F1s (scikit-learn `average="macro"`).
    pub f1_macro: f64,
    /// Area under the ROC curve of the scores (ties count one half: the Mann-Whitney
    /// statistic, equal to scikit-learn's `roc_auc_score`); None when the sample has
    /// a single class.
    pub roc_auc: Option<f64>,
}

/// Accuracy, F1 (grow, decline, macro) and ROC-AUC of `predicted` classes and `scores`
/// (higher = more likely to grow) against `actual`. All three slices have the same length.
pub fn classification_scores(
    predicted: &[bool],
    scores: &[f64],
    actual: &[bool],
) -> ClassificationScores {
    let n = actual.len().min(predicted.len());
    let (mut tp, mut tn, mut fp, mut fneg) = (0usize, 0usize, 0usize, 0usize);
    for i in 0..n {
        match (predicted[i], actual[i]) {
            (true, true) => tp += 1,
            (false, false) => tn += 1,
            (true, false) => fp += 1,
            (false, true) => fneg += 1,
        }
    }
    let f1 = |tp: usize, fp: usize, fneg: usize| {
        let d = 2 * tp + fp + fneg;
        if d == 0 {
            0.0
        } else {
            2.0 * tp as f64 / d as f64
        }
    };
    let f1_grow = f1(tp, fp, fneg);
    let f1_decline = f1(tn, fneg, fp);
    ClassificationScores {
        accuracy: if n == 0 {
            0.0
        } else {
            (tp + tn) as f64 / n as f64
        },
        f1_grow,
        f1_decline,
        f1_macro: (f1_grow + f1_decline) / 2.0,
        roc_auc: roc_auc(
            &scores[..n.min(scores.len())],
            &actual[..n.min(scores.len())],
        ),
    }
}

/// ROC-AUC as the probability that a random positive scores above a random negative
/// (ties count one half), from mid-ranks. None with no positive or no negative, or a
/// non-finite score.
pub fn roc_auc(scores: &[f64], actual: &[bool]) -> Option<f64> {
    let n = scores.len().min(actual.len());
    if scores[..n].iter().any(|s| !s.is_finite()) {
        return None;
    }
    let pos = actual[..n].iter().filter(|a| **a).count();
    let neg = n - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the (1-based, mid-rank) ranks of the positives.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if actual[k] {
                rank_sum += mid;
            }
        }
        i = j + 1;
    }
    let u = rank_sum - (pos * (pos + 1)) as f64 / 2.0;
    Some(u / (pos as f64 * neg as f64))
}

/// Root mean squared error (0 for an empty sample).
pub fn rmse(predicted: &[f64], actual: &[f64]) -> f64 {
    let n = predicted.len().min(actual.len());
    if n == 0 {
        return 0.0;
    }
    let s: f64 = (0..n).map(|i| (predicted[i] - actual[i]).powi(2)).sum();
    (s / n as f64).sqrt()
}

/// Mean absolute error (0 for an empty sample).
pub fn mae(predicted: &[f64], actual: &[f64]) -> f64 {
    let n = predicted.len().min(actual.len());
    if n == 0 {
        return 0.0;
    }
    (0..n)
        .map(|i| (predicted[i] - actual[i]).abs())
        .sum::<f64>()
        / n as f64
}
