//! Counting: per-topic confusion counts, precision/recall/F1, false alarms, detection delays, and the
//! examples that explain the errors.

use std::collections::BTreeMap;

use serde::Serialize;

use super::dataset::Sample;
use crate::stats::{f1, precision, recall};
use crate::topics::calibration::Features;

/// How one topic fared on one line.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicOutcome {
    /// Highest confidence over the line's utterances.
    pub score: f32,
    /// What was heard when it was highest.
    pub evidence: String,
    pub features: Features,
    pub negated: bool,
    /// A question about the topic, not a request for it.
    pub inquiry: bool,
    /// Audio only: ms from the end of the utterance that first reached the threshold to the decision
    /// (the segmenter's silence wait plus our processing).
    pub delay_ms: Option<u64>,
}

/// One scored line: an outcome per topic, in the evaluator's topic order.
#[derive(Debug, Clone, PartialEq)]
pub struct LineOutcome {
    pub sample: usize,
    pub topics: Vec<TopicOutcome>,
    /// Utterances scored on this line.
    pub utterances: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct TopicReport {
    pub tp: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub threshold: f32,
}

/// A miss or false alarm, with the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Example {
    pub id: String,
    pub line: usize,
    pub topic: String,
    pub score: f32,
    pub threshold: f32,
    pub heard: String,
    pub features: Features,
    pub negated: bool,
    pub inquiry: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Delays {
    pub count: usize,
    pub median_ms: u64,
    pub p90_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Cost {
    pub utterances: usize,
    /// Mean wall time to score one utterance against every topic (embedding included).
    pub per_utterance_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub topics: BTreeMap<String, TopicReport>,
    pub macro_f1: f64,
    /// Share of lines with an empty `expect` on which any topic fired.
    pub false_alarm_rate: f64,
    /// Lines scored.
    pub n: usize,
    /// Lines in the dataset (more than `n` when the run was interrupted).
    pub lines: usize,
    pub interrupted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detection_delay: Option<Delays>,
    pub worst_misses: Vec<Example>,
    pub worst_false_alarms: Vec<Example>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scoring: Option<Cost>,
}

/// How many misses and false alarms a report shows.
pub const SHOWN_EXAMPLES: usize = 8;

/// Counts `outcomes` against `samples` with one threshold per topic.
pub fn report(
    topics: &[String],
    thresholds: &[f32],
    samples: &[Sample],
    outcomes: &[LineOutcome],
) -> Report {
    let mut counts = vec![(0usize, 0usize, 0usize); topics.len()];
    let mut neutral = 0;
    let mut false_alarms = 0;
    let mut misses = Vec::new();
    let mut alarms = Vec::new();
    let mut delays = Vec::new();
    for outcome in outcomes {
        let sample = &samples[outcome.sample];
        let mut any = false;
        for (k, topic) in topics.iter().enumerate() {
            let o = &outcome.topics[k];
            let fired = o.score >= thresholds[k];
            let expected = sample.expect.contains(topic);
            any |= fired;
            let example = || Example {
                id: sample.id.clone(),
                line: sample.line,
                topic: topic.clone(),
                score: o.score,
                threshold: thresholds[k],
                heard: o.evidence.clone(),
                features: o.features,
                negated: o.negated,
                inquiry: o.inquiry,
            };
            match (fired, expected) {
                (true, true) => {
                    counts[k].0 += 1;
                    delays.extend(o.delay_ms);
                }
                (true, false) => {
                    counts[k].1 += 1;
                    alarms.push(example());
                }
                (false, true) => {
                    counts[k].2 += 1;
                    misses.push(example());
                }
                (false, false) => {}
            }
        }
        if sample.expect.is_empty() {
            neutral += 1;
            false_alarms += usize::from(any);
        }
    }
    misses.sort_by(|a, b| a.score.total_cmp(&b.score).then(a.line.cmp(&b.line)));
    alarms.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.line.cmp(&b.line)));
    misses.truncate(SHOWN_EXAMPLES);
    alarms.truncate(SHOWN_EXAMPLES);
    let per_topic: BTreeMap<String, TopicReport> = topics
        .iter()
        .zip(&counts)
        .zip(thresholds)
        .map(|((t, &(tp, fp, fn_)), &threshold)| {
            (
                t.clone(),
                TopicReport {
                    tp,
                    fp,
                    fn_,
                    precision: precision(tp, fp),
                    recall: recall(tp, fn_),
                    f1: f1(tp, fp, fn_),
                    threshold,
                },
            )
        })
        .collect();
    let macro_f1 = if per_topic.is_empty() {
        0.0
    } else {
        per_topic.values().map(|r| r.f1).sum::<f64>() / per_topic.len() as f64
    };
    Report {
        topics: per_topic,
        macro_f1,
        false_alarm_rate: if neutral == 0 {
            0.0
        } else {
            false_alarms as f64 / neutral as f64
        },
        n: outcomes.len(),
        lines: samples.len(),
        interrupted: outcomes.len() < samples.len(),
        detection_delay: delay_summary(delays),
        worst_misses: misses,
        worst_false_alarms: alarms,
        scoring: None,
    }
}

fn delay_summary(mut delays: Vec<u64>) -> Option<Delays> {
    if delays.is_empty() {
        return None;
    }
    delays.sort_unstable();
    let at = |q: f64| delays[((delays.len() - 1) as f64 * q).round() as usize];
    Some(Delays {
        count: delays.len(),
        median_ms: at(0.5),
        p90_ms: at(0.9),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::dataset::SampleInput;

    fn sample(line: usize, expect: &[&str]) -> Sample {
        Sample {
            line,
            id: format!("s{line}"),
            input: SampleInput::Text(String::new()),
            expect: expect.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn outcome(sample: usize, scores: &[f32]) -> LineOutcome {
        LineOutcome {
            sample,
            topics: scores
                .iter()
                .map(|&score| TopicOutcome {
                    score,
                    evidence: format!("line {sample}"),
                    features: Features::default(),
                    negated: false,
                    inquiry: false,
                    delay_ms: None,
                })
                .collect(),
            utterances: 1,
        }
    }

    #[test]
    fn counts_and_rates_match_a_hand_count() {
        let topics = vec!["a".to_string(), "b".to_string()];
        let samples = vec![
            sample(1, &["a"]),      // a fires: tp
            sample(2, &["a"]),      // a silent: fn
            sample(3, &[]),         // a fires: fp, a false alarm
            sample(4, &[]),         // nothing fires
            sample(5, &["b"]),      // b fires: tp
            sample(6, &["a", "b"]), // both fire: 2 tp
        ];
        let outcomes = vec![
            outcome(0, &[0.9, 0.1]),
            outcome(1, &[0.2, 0.1]),
            outcome(2, &[0.6, 0.0]),
            outcome(3, &[0.1, 0.4]),
            outcome(4, &[0.0, 0.8]),
            outcome(5, &[0.7, 0.7]),
        ];
        let r = report(&topics, &[0.5, 0.5], &samples, &outcomes);
        let a = r.topics["a"];
        assert_eq!((a.tp, a.fp, a.fn_), (2, 1, 1));
        assert!((a.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((a.recall - 2.0 / 3.0).abs() < 1e-12);
        let b = r.topics["b"];
        assert_eq!((b.tp, b.fp, b.fn_), (2, 0, 0));
        assert_eq!(b.f1, 1.0);
        assert!((r.macro_f1 - (2.0 / 3.0 + 1.0) / 2.0).abs() < 1e-12);
        assert_eq!(r.false_alarm_rate, 0.5);
        assert_eq!(r.worst_misses[0].line, 2);
        assert_eq!(r.worst_false_alarms[0].line, 3);
        assert!(!r.interrupted);
        // Only the first three lines scored: the report says so.
        let partial = report(&topics, &[0.5, 0.5], &samples, &outcomes[..3]);
        assert!(partial.interrupted);
        assert_eq!((partial.n, partial.lines), (3, 6));
    }

    #[test]
    fn sweep_finds_the_thresholds_a_hand_sweep_would() {
        let topics = vec!["a".to_string()];
        let samples = vec![
            sample(1, &["a"]),
            sample(2, &["a"]),
            sample(3, &[]),
            sample(4, &[]),
        ];
        let outcomes = vec![
            outcome(0, &[0.8]),
            outcome(1, &[0.4]),
            outcome(2, &[0.5]),
            outcome(3, &[0.1]),
        ];
        let s = &crate::eval::sweep::sweep(&topics, &samples, &outcomes)["a"];
        // From 0.11 to 0.40 both positives and one negative fire (F1 0.8, the middle of that run is 0.26);
        // from 0.51 to 0.80 only one positive (F1 0.667) and no false alarm (middle 0.66).
        assert_eq!(s.best_f1.threshold, 0.26);
        assert!((s.best_f1.f1 - 0.8).abs() < 1e-9);
        let safe = s.safe.expect("a threshold without false alarms exists");
        assert_eq!(safe.threshold, 0.66);
        assert_eq!(safe.false_alarm_rate, 0.0);
    }
}
