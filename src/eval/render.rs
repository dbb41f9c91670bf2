//! The human-readable eval report.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::metrics::{Example, Report};
use super::sweep::{TopicSweep, SAFE_FALSE_ALARMS};

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

fn example_line(out: &mut String, e: &Example) {
    let f = &e.features;
    let _ = writeln!(
        out,
        "  {} (line {}) {}: {:.2} vs threshold {:.2}{}\n      heard: {:?}\n      semantic {:.2}, over ordinary {:+.2}, over rivals {:+.2}, lexical {:.2}",
        e.id,
        e.line,
        e.topic,
        e.score,
        e.threshold,
        match (e.negated, e.inquiry) {
            (true, _) => " (negated by the caller)",
            (false, true) => " (a question about it, not a request)",
            _ => "",
        },
        e.heard,
        f.semantic,
        f.ordinary,
        f.rival,
        f.lexical,
    );
}

/// The report as text: a table per topic, the totals, then the errors with their evidence.
pub fn report(r: &Report, neutral_lines: usize) -> String {
    let mut out = String::new();
    if r.interrupted {
        let _ = writeln!(out, "interrupted: scored {} of {} lines\n", r.n, r.lines);
    }
    let _ = writeln!(
        out,
        "{:<22} {:>5} {:>5} {:>5} {:>9} {:>7} {:>6} {:>9}",
        "topic", "tp", "fp", "fn", "precision", "recall", "F1", "threshold"
    );
    for (topic, t) in &r.topics {
        let _ = writeln!(
            out,
            "{:<22} {:>5} {:>5} {:>5} {:>9.3} {:>7.3} {:>6.3} {:>9.2}",
            topic, t.tp, t.fp, t.fn_, t.precision, t.recall, t.f1, t.threshold
        );
    }
    let alarms = (r.false_alarm_rate * neutral_lines as f64).round() as usize;
    let _ = writeln!(
        out,
        "\nmacro-F1 {:.3}   false alarms {} ({alarms} of {neutral_lines} lines that expect no topic)   {} lines",
        r.macro_f1,
        pct(r.false_alarm_rate),
        r.n
    );
    if let Some(c) = &r.scoring {
        let _ = writeln!(
            out,
            "scoring cost: {:.2} ms per utterance over {} utterances (embedding included)",
            c.per_utterance_ms, c.utterances
        );
    }
    if let Some(d) = &r.detection_delay {
        let _ = writeln!(
            out,
            "detection delay after the decisive utterance: median {} ms, p90 {} ms ({} detections)",
            d.median_ms, d.p90_ms, d.count
        );
    }
    if !r.worst_misses.is_empty() {
        let _ = writeln!(out, "\nworst misses (lowest confidence first):");
        r.worst_misses
            .iter()
            .for_each(|e| example_line(&mut out, e));
    }
    if !r.worst_false_alarms.is_empty() {
        let _ = writeln!(out, "\nworst false alarms (highest confidence first):");
        r.worst_false_alarms
            .iter()
            .for_each(|e| example_line(&mut out, e));
    }
    out
}

/// The sweep as text: per topic, the best thresholds and the curve every 0.05.
pub fn sweep(sweeps: &BTreeMap<String, TopicSweep>) -> String {
    let mut out = String::new();
    for (topic, s) in sweeps {
        let b = &s.best_f1;
        let _ = writeln!(
            out,
            "\n{topic}: best F1 {:.3} at threshold {:.2} (precision {:.3}, recall {:.3}, false alarms {})",
            b.f1,
            b.threshold,
            b.precision,
            b.recall,
            pct(b.false_alarm_rate)
        );
        match &s.safe {
            Some(p) => {
                let _ = writeln!(
                    out,
                    "  with false alarms <= {}: threshold {:.2}, F1 {:.3} (precision {:.3}, recall {:.3}, false alarms {})",
                    pct(SAFE_FALSE_ALARMS),
                    p.threshold,
                    p.f1,
                    p.precision,
                    p.recall,
                    pct(p.false_alarm_rate)
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "  no threshold keeps false alarms <= {}",
                    pct(SAFE_FALSE_ALARMS)
                );
            }
        }
        let _ = writeln!(
            out,
            "  {:>9} {:>9} {:>7} {:>6} {:>12}",
            "threshold", "precision", "recall", "F1", "false alarms"
        );
        for p in s
            .curve
            .iter()
            .filter(|p| ((p.threshold * 100.0).round() as u32).is_multiple_of(5))
        {
            let _ = writeln!(
                out,
                "  {:>9.2} {:>9.3} {:>7.3} {:>6.3} {:>12}",
                p.threshold,
                p.precision,
                p.recall,
                p.f1,
                pct(p.false_alarm_rate)
            );
        }
    }
    out
}
