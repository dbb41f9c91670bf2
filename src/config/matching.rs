//! `[matching]`: the business's own tuning of the topic matcher (ordinary requests, thresholds). The
//! matcher itself lives in `crate::topics`; this file only reads and bounds the settings.

use serde::Deserialize;
use toml::Spanned;

use super::Findings;

/// `[matching]`: the business's own tuning of the topic matcher.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchingSettings {
    /// Ordinary requests of this business that must not fire a topic (added to the language's own list).
    pub ordinary: Vec<String>,
    /// Confidence a topic needs when it sets no `threshold` of its own (default: the calibrated one).
    pub threshold: Option<f32>,
    /// Confidence a topic needs to act on a partial transcript, while the caller is still speaking (never
    /// below the topic's own threshold). High, because the rest of the sentence may still say "not".
    pub partial_confidence: f32,
}

impl Default for MatchingSettings {
    fn default() -> Self {
        Self {
            ordinary: Vec::new(),
            threshold: None,
            partial_confidence: 0.85,
        }
    }
}

/// Checks `[matching]`: confidences in (0, 1], no empty ordinary request.
pub(super) fn matching(
    f: &mut Findings<'_>,
    raw: Option<Spanned<MatchingSettings>>,
) -> MatchingSettings {
    match raw {
        Some(m) => {
            let span = m.span();
            let m = m.into_inner();
            if m.threshold.is_some_and(|t| !(t > 0.0 && t <= 1.0)) {
                f.error(
                    "matching.threshold",
                    span.clone(),
                    "threshold is a confidence in (0, 1]",
                );
            }
            if !(m.partial_confidence > 0.0 && m.partial_confidence <= 1.0) {
                f.error(
                    "matching.partial_confidence",
                    span.clone(),
                    "partial_confidence is a confidence in (0, 1]",
                );
            }
            if m.ordinary.iter().any(|o| o.trim().is_empty()) {
                f.error("matching.ordinary", span, "an ordinary request is empty");
            }
            m
        }
        None => MatchingSettings::default(),
    }
}
