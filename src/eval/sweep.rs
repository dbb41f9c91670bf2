//! Threshold sweeps: each topic's precision/recall curve and the thresholds worth choosing.

use std::collections::BTreeMap;

use serde::Serialize;

use super::dataset::Sample;
use super::metrics::LineOutcome;
use crate::stats::{f1, precision, recall};

/// The most false alarms a "safe" threshold may cause, as a share of lines with an empty `expect`.
pub const SAFE_FALSE_ALARMS: f64 = 0.01;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurvePoint {
    pub threshold: f32,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Share of lines with an empty `expect` on which this topic fires.
    pub false_alarm_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicSweep {
    pub curve: Vec<CurvePoint>,
    /// The threshold with the highest F1 (the middle one when several tie).
    pub best_f1: CurvePoint,
    /// The highest-F1 threshold whose false alarms stay within [`SAFE_FALSE_ALARMS`].
    pub safe: Option<CurvePoint>,
}

/// Sweeps thresholds 0.01..=0.99 for every topic.
pub fn sweep(
    topics: &[String],
    samples: &[Sample],
    outcomes: &[LineOutcome],
) -> BTreeMap<String, TopicSweep> {
    let neutral = outcomes
        .iter()
        .filter(|o| samples[o.sample].expect.is_empty())
        .count();
    topics
        .iter()
        .enumerate()
        .map(|(k, topic)| {
            let curve: Vec<CurvePoint> = (1..=99)
                .map(|step| {
                    let threshold = step as f32 / 100.0;
                    let (mut tp, mut fp, mut fn_, mut alarms) = (0, 0, 0, 0);
                    for o in outcomes {
                        let expect = &samples[o.sample].expect;
                        let fired = o.topics[k].score >= threshold;
                        match (fired, expect.contains(topic)) {
                            (true, true) => tp += 1,
                            (true, false) => fp += 1,
                            (false, true) => fn_ += 1,
                            (false, false) => {}
                        }
                        if fired && expect.is_empty() {
                            alarms += 1;
                        }
                    }
                    CurvePoint {
                        threshold,
                        precision: precision(tp, fp),
                        recall: recall(tp, fn_),
                        f1: f1(tp, fp, fn_),
                        false_alarm_rate: if neutral == 0 {
                            0.0
                        } else {
                            alarms as f64 / neutral as f64
                        },
                    }
                })
                .collect();
            // Of the thresholds that tie for the best F1, the middle one: the safest from both edges.
            let best = |points: &mut dyn Iterator<Item = &CurvePoint>| {
                let points: Vec<CurvePoint> = points.copied().collect();
                let top = points.iter().map(|p| p.f1).fold(f64::MIN, f64::max);
                let tied: Vec<CurvePoint> = points
                    .into_iter()
                    .filter(|p| (p.f1 - top).abs() < 1e-12)
                    .collect();
                tied.get(tied.len() / 2).copied()
            };
            let best_f1 = best(&mut curve.iter()).expect("99 points");
            let safe = best(
                &mut curve
                    .iter()
                    .filter(|p| p.false_alarm_rate <= SAFE_FALSE_ALARMS),
            );
            (
                topic.clone(),
                TopicSweep {
                    curve,
                    best_f1,
                    safe,
                },
            )
        })
        .collect()
}
