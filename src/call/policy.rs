//! The decision after each utterance: continue, escalate or flag. Pure; the mode decides which lists act.

use crate::config::SupportMode;
use crate::events::Decision;
use crate::topics::{TopicHit, TopicKind};

/// What the policy concluded, with the reason a person reads in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub decision: Decision,
    pub reason: String,
    /// The hit that decided it (for escalate and flag).
    pub hit: Option<TopicHit>,
}

impl Verdict {
    fn cont(reason: String) -> Self {
        Self {
            decision: Decision::Continue,
            reason,
            hit: None,
        }
    }
}

/// Decides on the hits of one utterance (best first). `already_flagged`: a callback ticket is already
/// being or has been filed for this call, so more callback topics do not file another.
pub fn decide(mode: SupportMode, hits: &[TopicHit], already_flagged: bool) -> Verdict {
    let first = |kind| hits.iter().find(|h| h.kind == kind);
    let escalation = first(TopicKind::Escalation);
    let callback = first(TopicKind::Callback);
    let acts_on_escalation = matches!(mode, SupportMode::Escalate | SupportMode::Decide);
    let acts_on_callback = matches!(mode, SupportMode::Flag | SupportMode::Decide);

    // Escalation is the stronger remedy: when both lists hit, the caller is transferred.
    if let (Some(hit), true) = (escalation, acts_on_escalation) {
        return Verdict {
            decision: Decision::Escalate,
            reason: format!(
                "mandatory escalation topic \"{}\" (score {:.2})",
                hit.topic, hit.score
            ),
            hit: Some(hit.clone()),
        };
    }
    if let (Some(hit), true) = (callback, acts_on_callback) {
        if already_flagged {
            return Verdict::cont(format!(
                "callback topic \"{}\" heard again; this call is already flagged",
                hit.topic
            ));
        }
        return Verdict {
            decision: Decision::Flag,
            reason: format!(
                "mandatory callback topic \"{}\" (score {:.2})",
                hit.topic, hit.score
            ),
            hit: Some(hit.clone()),
        };
    }
    match hits.first() {
        None => Verdict::cont("no mandatory topic heard".into()),
        Some(hit) => Verdict::cont(format!(
            "{} topic \"{}\" heard, but support = \"{}\" does not act on it",
            hit.kind.as_str(),
            hit.topic,
            mode.as_str()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(topic: &str, kind: TopicKind) -> TopicHit {
        TopicHit {
            topic: topic.into(),
            kind,
            score: 0.9,
            evidence: String::new(),
            matched: vec![],
        }
    }

    #[test]
    fn each_mode_acts_on_its_lists() {
        let esc = [hit("cancellation", TopicKind::Escalation)];
        let cb = [hit("complaint", TopicKind::Callback)];
        use Decision::*;
        use SupportMode as M;
        let table = [
            (M::Escalate, &esc[..], Escalate),
            (M::Escalate, &cb[..], Continue),
            (M::Flag, &esc[..], Continue),
            (M::Flag, &cb[..], Flag),
            (M::Decide, &esc[..], Escalate),
            (M::Decide, &cb[..], Flag),
            (M::Off, &esc[..], Continue),
            (M::Off, &cb[..], Continue),
            (M::Decide, &[][..], Continue),
        ];
        for (mode, hits, want) in table {
            assert_eq!(
                decide(mode, hits, false).decision,
                want,
                "{mode:?} {hits:?}"
            );
        }
    }

    #[test]
    fn escalation_wins_over_callback_and_one_flag_per_call() {
        let both = [
            hit("complaint", TopicKind::Callback),
            hit("cancellation", TopicKind::Escalation),
        ];
        let v = decide(SupportMode::Decide, &both, false);
        assert_eq!(v.decision, Decision::Escalate);
        assert_eq!(v.hit.unwrap().topic, "cancellation");
        let cb = [hit("complaint", TopicKind::Callback)];
        assert_eq!(
            decide(SupportMode::Flag, &cb, true).decision,
            Decision::Continue
        );
    }
}
