//! Turns per-frame speech probabilities into utterances: when the caller started and stopped speaking.
//!
//! Pure and clock-free: frames come in with their call time. Hysteresis (a start threshold and a lower
//! continue threshold), a minimum silence before an utterance ends, a minimum speech length so clicks and
//! breaths are not utterances, padding so word edges are not clipped, and a maximum length so a caller who
//! never pauses is still transcribed in pieces.

use serde::Deserialize;

/// Tuning of the segmenter, `[vad]` in the agent config.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VadSettings {
    /// Probability above which a frame counts as speech.
    pub threshold: f32,
    /// Probability below which a frame counts as silence (between the two, the current state holds).
    pub neg_threshold: f32,
    /// Silence that ends an utterance. Phone callers pause mid-sentence; too short splits requests in two.
    pub min_silence_ms: u32,
    /// Shorter bursts of speech are dropped.
    pub min_speech_ms: u32,
    /// Audio kept before the start and after the end of an utterance.
    pub speech_pad_ms: u32,
    /// Utterances are cut at this length.
    pub max_speech_ms: u32,
    /// Voice this long while the agent speaks is a barge-in: the agent stops talking. Shorter than
    /// `min_speech_ms` because a caller talking over the agent must be heard at once; a cough may cut a prompt.
    pub barge_in_ms: u32,
}

impl Default for VadSettings {
    fn default() -> Self {
        Self {
            threshold: 0.5,
            neg_threshold: 0.35,
            min_silence_ms: 500,
            min_speech_ms: 250,
            speech_pad_ms: 100,
            max_speech_ms: 20_000,
            barge_in_ms: 64,
        }
    }
}

/// A finished utterance, in call milliseconds (padding included, never before 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utterance {
    pub start_ms: u64,
    pub end_ms: u64,
}

/// What one frame changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentEvent {
    /// Speech has been going on long enough to be an utterance; `start_ms` is its (padded) start.
    Started { start_ms: u64 },
    /// The utterance is over.
    Ended(Utterance),
}

#[derive(Debug, Clone, Copy)]
enum State {
    Silence,
    /// Speech frames seen since `since`, not yet `min_speech_ms` long.
    Onset {
        since: u64,
    },
    Speaking {
        start_ms: u64,
        silence_since: Option<u64>,
    },
}

/// The segmenter state machine.
#[derive(Debug, Clone)]
pub struct Segmenter {
    settings: VadSettings,
    state: State,
    /// When the previous utterance's end was detected: a new start is never placed before it, so the
    /// event log's call times never go back.
    floor_ms: u64,
}

impl Segmenter {
    pub fn new(settings: VadSettings) -> Self {
        Self {
            settings,
            state: State::Silence,
            floor_ms: 0,
        }
    }

    /// Feeds the probability of the frame `[t_ms, t_ms + frame_ms)`.
    pub fn push(&mut self, t_ms: u64, frame_ms: u64, prob: f32) -> Option<SegmentEvent> {
        let s = self.settings;
        let speech = prob >= s.threshold;
        let silence = prob < s.neg_threshold;
        let end_of_frame = t_ms + frame_ms;
        match self.state {
            State::Silence => {
                if speech {
                    self.state = State::Onset { since: t_ms };
                    return self.promote(end_of_frame);
                }
                None
            }
            State::Onset { .. } => {
                if silence {
                    self.state = State::Silence;
                    return None;
                }
                self.promote(end_of_frame)
            }
            State::Speaking {
                start_ms,
                silence_since,
            } => {
                if end_of_frame - start_ms >= u64::from(s.max_speech_ms) {
                    return Some(self.end(start_ms, end_of_frame, end_of_frame));
                }
                match (silence, silence_since) {
                    (true, None) => {
                        self.state = State::Speaking {
                            start_ms,
                            silence_since: Some(t_ms),
                        };
                        None
                    }
                    (true, Some(since)) if end_of_frame - since >= u64::from(s.min_silence_ms) => {
                        Some(self.end(start_ms, since, end_of_frame))
                    }
                    (false, Some(_)) if speech => {
                        self.state = State::Speaking {
                            start_ms,
                            silence_since: None,
                        };
                        None
                    }
                    _ => None,
                }
            }
        }
    }

    /// The stream ended: close an open utterance at `t_ms`.
    pub fn finish(&mut self, t_ms: u64) -> Option<SegmentEvent> {
        match self.state {
            State::Speaking {
                start_ms,
                silence_since,
            } => Some(self.end(start_ms, silence_since.unwrap_or(t_ms).min(t_ms), t_ms)),
            _ => {
                self.state = State::Silence;
                None
            }
        }
    }

    /// True while an utterance is open.
    pub fn in_speech(&self) -> bool {
        matches!(self.state, State::Speaking { .. })
    }

    /// The (padded) start of the open utterance.
    pub fn open_since(&self) -> Option<u64> {
        match self.state {
            State::Speaking { start_ms, .. } => Some(start_ms),
            _ => None,
        }
    }

    /// When the caller's current run of voice began, as soon as one frame was speech: earlier than
    /// [`SegmentEvent::Started`], which waits for `min_speech_ms`. Barge-in needs this: a caller talking over
    /// the agent should not wait a quarter of a second to be heard.
    pub fn voice_since(&self) -> Option<u64> {
        match self.state {
            State::Silence => None,
            State::Onset { since } => Some(since),
            State::Speaking { start_ms, .. } => {
                Some(start_ms + u64::from(self.settings.speech_pad_ms))
            }
        }
    }

    fn promote(&mut self, end_of_frame: u64) -> Option<SegmentEvent> {
        let State::Onset { since } = self.state else {
            return None;
        };
        if end_of_frame - since < u64::from(self.settings.min_speech_ms) {
            return None;
        }
        let start_ms = since
            .saturating_sub(u64::from(self.settings.speech_pad_ms))
            .max(self.floor_ms);
        self.state = State::Speaking {
            start_ms,
            silence_since: None,
        };
        Some(SegmentEvent::Started { start_ms })
    }

    fn end(&mut self, start_ms: u64, speech_end: u64, detected_ms: u64) -> SegmentEvent {
        self.state = State::Silence;
        self.floor_ms = self.floor_ms.max(detected_ms);
        SegmentEvent::Ended(Utterance {
            start_ms,
            end_ms: speech_end + u64::from(self.settings.speech_pad_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(probs: &[f32]) -> Vec<SegmentEvent> {
        let mut seg = Segmenter::new(VadSettings::default());
        let mut out: Vec<_> = probs
            .iter()
            .enumerate()
            .filter_map(|(i, &p)| seg.push(i as u64 * 32, 32, p))
            .collect();
        out.extend(seg.finish(probs.len() as u64 * 32));
        out
    }

    #[test]
    fn silence_gives_nothing() {
        assert!(run(&[0.01; 200]).is_empty());
    }

    #[test]
    fn a_click_is_not_an_utterance() {
        let mut p = vec![0.01; 50];
        p[10] = 0.99;
        p[11] = 0.99;
        assert!(run(&p).is_empty());
    }

    #[test]
    fn one_utterance_with_a_short_pause_stays_one() {
        let mut p = vec![0.01; 150];
        p[20..50].fill(0.9);
        p[50..55].fill(0.1); // 160 ms pause: below min_silence
        p[55..80].fill(0.9);
        let events = run(&p);
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(
            events[0],
            SegmentEvent::Started {
                start_ms: 20 * 32 - 100
            }
        );
        assert_eq!(
            events[1],
            SegmentEvent::Ended(Utterance {
                start_ms: 540,
                end_ms: 80 * 32 + 100
            })
        );
    }

    #[test]
    fn a_new_start_never_precedes_the_last_end() {
        let mut p = vec![0.01; 120];
        p[10..30].fill(0.9);
        p[46..70].fill(0.9); // resumes right after the 500 ms silence that ended the first
        let events = run(&p);
        let mut last = 0;
        for e in &events {
            let t = match e {
                SegmentEvent::Started { start_ms } => *start_ms,
                SegmentEvent::Ended(u) => u.end_ms,
            };
            assert!(t + 200 >= last, "{events:?}");
            last = t;
        }
        let starts: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                SegmentEvent::Started { start_ms } => Some(*start_ms),
                _ => None,
            })
            .collect();
        assert_eq!(starts.len(), 2, "{events:?}");
        assert!(starts[1] >= 30 * 32 + 500, "{events:?}");
    }

    #[test]
    fn speech_at_the_end_of_the_stream_is_closed() {
        let mut p = vec![0.01; 40];
        p[20..40].fill(0.9);
        let events = run(&p);
        assert!(matches!(events.last(), Some(SegmentEvent::Ended(u)) if u.end_ms == 40 * 32 + 100));
    }

    #[test]
    fn endless_speech_is_cut_at_max_length() {
        let p = vec![0.9; 1000]; // 32 s
        let events = run(&p);
        let ends: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                SegmentEvent::Ended(u) => Some(*u),
                _ => None,
            })
            .collect();
        assert!(ends.len() >= 2, "{events:?}");
        assert!(ends.iter().all(|u| u.end_ms - u.start_ms <= 20_000 + 200));
    }
}
