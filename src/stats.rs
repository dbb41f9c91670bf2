//! Statistics shared by whoever scores the topic matcher: precision, recall and F1 from confusion counts.
//! `eval` reports them, `topics::calibration` picks its threshold by them; both import them from here so
//! neither borrows from the other. Pure arithmetic: no topic, dataset or call types belong here.

/// Share of predictions that were right; 1 when nothing was predicted.
pub fn precision(tp: usize, fp: usize) -> f64 {
    if tp + fp == 0 {
        1.0
    } else {
        tp as f64 / (tp + fp) as f64
    }
}

/// Share of expected topics found; 1 when none was expected.
pub fn recall(tp: usize, fn_: usize) -> f64 {
    if tp + fn_ == 0 {
        1.0
    } else {
        tp as f64 / (tp + fn_) as f64
    }
}

/// Harmonic mean of precision and recall, as 2tp / (2tp + fp + fn); 1 when there was nothing to find and
/// nothing was found.
pub fn f1(tp: usize, fp: usize, fn_: usize) -> f64 {
    if tp + fp + fn_ == 0 {
        1.0
    } else {
        2.0 * tp as f64 / (2 * tp + fp + fn_) as f64
    }
}
