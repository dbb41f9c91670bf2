//! One calibrated confidence per topic from the matcher's evidence, and the fit that produces it.
//!
//! Raw cosine similarities mean different things for different topics and phrasings: 0.5 can be a clear
//! request for one topic and an ordinary question for another. What separates them is relative: how much
//! closer the utterance is to the topic than to an ordinary request or to another topic, and whether the
//! caller actually said the topic's words. A logistic model over those four numbers, fitted once on labelled
//! data and shared by every topic, turns them into a probability; a topic fires when it reaches its threshold.

use serde::{Deserialize, Serialize};

/// `[calibration]` of a language's matcher pack: declared with the language's data, fitted and applied here.
pub use crate::language::matching::Calibration;

/// What the matcher measured for one topic on one utterance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Features {
    /// Best cosine similarity to the topic's phrases.
    pub semantic: f32,
    /// `semantic` minus the best similarity to an ordinary request.
    pub ordinary: f32,
    /// `semantic` minus the best similarity to any alternative (another topic or an ordinary request).
    pub rival: f32,
    /// The lexical matcher's coverage score.
    pub lexical: f32,
}

impl Features {
    fn as_array(&self) -> [f64; 4] {
        [
            f64::from(self.semantic),
            f64::from(self.ordinary),
            f64::from(self.rival),
            f64::from(self.lexical),
        ]
    }
}

impl Calibration {
    /// The probability that the utterance carries the topic.
    pub fn confidence(&self, f: &Features) -> f32 {
        let z = self.bias
            + self.semantic * f.semantic
            + self.ordinary * f.ordinary
            + self.rival * f.rival
            + self.lexical * f.lexical;
        1.0 / (1.0 + (-z).exp())
    }

    fn weights(&self) -> [f64; 5] {
        [
            f64::from(self.semantic),
            f64::from(self.ordinary),
            f64::from(self.rival),
            f64::from(self.lexical),
            f64::from(self.bias),
        ]
    }

    /// Fits the logistic model to `samples` (features, whether the topic was expected) by Newton's method
    /// with a little L2 regularisation, then picks the threshold that maximises the mean per-topic F1 on
    /// the same samples (`topic_of` groups them). Deterministic: same samples, same calibration.
    pub fn fit(samples: &[(Features, bool)], topic_of: &[usize]) -> Calibration {
        const L2: f64 = 1e-3;
        let mut w = [0.0f64; 5];
        let rows: Vec<[f64; 5]> = samples
            .iter()
            .map(|(f, _)| {
                let a = f.as_array();
                [a[0], a[1], a[2], a[3], 1.0]
            })
            .collect();
        let n = rows.len().max(1) as f64;
        for _ in 0..50 {
            let mut grad = [0.0f64; 5];
            let mut hess = [[0.0f64; 5]; 5];
            for (x, (_, y)) in rows.iter().zip(samples) {
                let z: f64 = x.iter().zip(&w).map(|(a, b)| a * b).sum();
                let p = 1.0 / (1.0 + (-z).exp());
                let err = p - if *y { 1.0 } else { 0.0 };
                let curv = p * (1.0 - p);
                for i in 0..5 {
                    grad[i] += err * x[i] / n;
                    for j in 0..5 {
                        hess[i][j] += curv * x[i] * x[j] / n;
                    }
                }
            }
            for i in 0..5 {
                grad[i] += L2 * w[i];
                hess[i][i] += L2;
            }
            let step = solve(hess, grad);
            let size: f64 = step.iter().map(|s| s.abs()).sum();
            for i in 0..5 {
                w[i] -= step[i];
            }
            if size < 1e-9 {
                break;
            }
        }
        let round = |v: f64| ((v * 1000.0).round() / 1000.0) as f32;
        let mut fitted = Calibration {
            semantic: round(w[0]),
            ordinary: round(w[1]),
            rival: round(w[2]),
            lexical: round(w[3]),
            bias: round(w[4]),
            threshold: 0.5,
        };
        let confidences: Vec<f32> = samples.iter().map(|(f, _)| fitted.confidence(f)).collect();
        let topics = topic_of.iter().copied().max().map_or(0, |m| m + 1);
        let mut best = (f64::MIN, 0.5f32);
        for step in 5..=95 {
            let threshold = step as f32 / 100.0;
            let mut counts = vec![(0usize, 0usize, 0usize); topics];
            for ((c, (_, y)), &t) in confidences.iter().zip(samples).zip(topic_of) {
                let fired = *c >= threshold;
                let slot = &mut counts[t];
                match (fired, *y) {
                    (true, true) => slot.0 += 1,
                    (true, false) => slot.1 += 1,
                    (false, true) => slot.2 += 1,
                    (false, false) => {}
                }
            }
            let macro_f1 = counts
                .iter()
                .map(|&(tp, fp, fn_)| crate::stats::f1(tp, fp, fn_))
                .sum::<f64>()
                / topics.max(1) as f64;
            if macro_f1 > best.0 {
                best = (macro_f1, threshold);
            }
        }
        fitted.threshold = best.1;
        debug_assert!(fitted.weights().iter().all(|w| w.is_finite()));
        fitted
    }

    /// The calibration as the `[calibration]` table of `matcher.toml`.
    pub fn to_toml(&self) -> String {
        format!(
            "[calibration]\nbias = {}\nsemantic = {}\nordinary = {}\nrival = {}\nlexical = {}\nthreshold = {}\n",
            self.bias, self.semantic, self.ordinary, self.rival, self.lexical, self.threshold
        )
    }
}

/// Solves the 5x5 system `a x = b` by Gaussian elimination with partial pivoting; a singular system
/// (no samples) gives a zero step.
fn solve(mut a: [[f64; 5]; 5], mut b: [f64; 5]) -> [f64; 5] {
    for col in 0..5 {
        let pivot = (col..5)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        if a[pivot][col].abs() < 1e-12 {
            return [0.0; 5];
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let pivot_row = a[col];
        for row in col + 1..5 {
            let factor = a[row][col] / pivot_row[col];
            for (cell, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *cell -= factor * p;
            }
            b[row] -= factor * b[col];
        }
    }
    let mut x = [0.0; 5];
    for row in (0..5).rev() {
        let rest: f64 = (row + 1..5).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - rest) / a[row][row];
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_separates_separable_evidence_and_confidence_rises_with_it() {
        let mut samples = Vec::new();
        let mut topic_of = Vec::new();
        for i in 0..200 {
            let positive = i % 4 == 0;
            let s = if positive { 0.7 } else { 0.3 } + (i % 7) as f32 * 0.01;
            samples.push((
                Features {
                    semantic: s,
                    ordinary: s - 0.3,
                    rival: s - 0.35,
                    lexical: if positive { 0.8 } else { 0.1 },
                },
                positive,
            ));
            topic_of.push(i % 2);
        }
        let c = Calibration::fit(&samples, &topic_of);
        for (f, y) in &samples {
            assert_eq!(c.confidence(f) >= c.threshold, *y, "{c:?} {f:?}");
        }
        let low = Features::default();
        let high = Features {
            semantic: 0.9,
            ordinary: 0.5,
            rival: 0.4,
            lexical: 1.0,
        };
        assert!(c.confidence(&high) > c.confidence(&low));
        assert_eq!(Calibration::fit(&samples, &topic_of), c, "deterministic");
    }
}
