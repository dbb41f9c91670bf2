//! `[vad]`: the bounds of the voice activity detector's settings. The settings type and what it does
//! belong to `crate::audio::segmenter`; this file only refuses values that would break listening.

use toml::Spanned;

use super::Findings;
use crate::audio::segmenter::VadSettings;

/// Checks `[vad]`: thresholds are probabilities, silence and speech lengths and barge-in are bounded.
pub(super) fn vad(f: &mut Findings<'_>, raw: Option<Spanned<VadSettings>>) -> VadSettings {
    match raw {
        Some(v) => {
            let span = v.span();
            let v = v.into_inner();
            if !(0.0..=1.0).contains(&v.threshold) || !(0.0..=1.0).contains(&v.neg_threshold) {
                f.error("vad", span.clone(), "thresholds are probabilities in 0..1");
            } else if v.neg_threshold > v.threshold {
                f.error(
                    "vad.neg_threshold",
                    span.clone(),
                    "neg_threshold must not exceed threshold",
                );
            }
            if v.min_silence_ms == 0 || v.max_speech_ms < 1000 {
                f.error(
                    "vad",
                    span.clone(),
                    "min_silence_ms must be > 0 and max_speech_ms at least 1000",
                );
            }
            if v.barge_in_ms == 0 || v.barge_in_ms > 2000 {
                f.error(
                    "vad.barge_in_ms",
                    span,
                    "barge_in_ms must be in 1..=2000 (ms of caller voice that stop the agent)",
                );
            }
            v
        }
        None => VadSettings::default(),
    }
}
