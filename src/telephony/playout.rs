//! Outbound speech, paced: what the agent says leaves in 20 ms frames no faster than real time (plus a
//! small lead), so that a barge-in can still cut it, and with a mark after each prompt so we learn what the
//! caller actually heard. Sans-IO: the server asks [`Playout::due`] what to send at a given call time and
//! reports marks the provider echoed; for providers that echo no marks, a mark counts as played when the
//! audio before it has been due for its length.

use std::collections::VecDeque;
use std::sync::Arc;

/// One frame of outbound audio: 20 ms.
pub const FRAME_MS: u64 = 20;
/// How far ahead of real time audio is handed to the provider: enough to ride out scheduling jitter,
/// little enough that `clear` leaves little already played on the provider's side.
pub const LEAD_MS: u64 = 100;

/// A prompt queued for playing.
#[derive(Debug, Clone, PartialEq)]
struct Prompt {
    /// Names the mark that follows it.
    mark: String,
    /// Shared with the prompt cache: every call says the same few prompts, none keeps a copy.
    samples: Arc<[f32]>,
    /// Samples already handed out.
    sent: usize,
}

/// What to send now.
#[derive(Debug, Clone, PartialEq)]
pub enum Due {
    Audio(Vec<f32>),
    Mark(String),
}

/// What a barge-in cut.
#[derive(Debug, Clone, PartialEq)]
pub struct Cut {
    /// The prompt the caller interrupted, and how much of it had been played (ms, estimated from what was
    /// sent and the lead).
    pub interrupted: Option<(String, u64)>,
    /// Prompts queued behind it that were never played.
    pub dropped: Vec<String>,
}

#[derive(Debug)]
pub struct Playout {
    rate: u32,
    queue: VecDeque<Prompt>,
    /// Call time (ms) at which the audio handed out so far ends.
    sent_until_ms: u64,
    /// Marks sent and not yet known to be played: name, call time their audio ends, prompt length (ms).
    pending_marks: VecDeque<(String, u64, u64)>,
}

impl Playout {
    /// Audio at `rate` Hz (the stream's format rate).
    pub fn new(rate: u32) -> Self {
        Self {
            rate,
            queue: VecDeque::new(),
            sent_until_ms: 0,
            pending_marks: VecDeque::new(),
        }
    }

    fn frame_samples(&self) -> usize {
        (self.rate as u64 * FRAME_MS / 1000) as usize
    }

    /// Queues a prompt to play after what is queued; `mark` names it.
    pub fn say(&mut self, mark: impl Into<String>, samples: impl Into<Arc<[f32]>>) {
        self.queue.push_back(Prompt {
            mark: mark.into(),
            samples: samples.into(),
            sent: 0,
        });
    }

    /// Whether anything is queued or still playing on the provider's side at `now_ms`.
    pub fn is_speaking(&self, now_ms: u64) -> bool {
        !self.queue.is_empty() || self.sent_until_ms > now_ms
    }

    /// What to send at call time `now_ms`: frames up to `now_ms + LEAD_MS`, each prompt followed by its mark.
    pub fn due(&mut self, now_ms: u64) -> Vec<Due> {
        let mut out = Vec::new();
        if !self.queue.is_empty() {
            // Nothing was playing: the next audio starts now, not where the last prompt ended.
            self.sent_until_ms = self.sent_until_ms.max(now_ms);
        }
        let frame = self.frame_samples();
        while self.sent_until_ms < now_ms + LEAD_MS {
            let Some(prompt) = self.queue.front_mut() else {
                break;
            };
            let end = (prompt.sent + frame).min(prompt.samples.len());
            let mut chunk = prompt.samples[prompt.sent..end].to_vec();
            prompt.sent = end;
            let finished = prompt.sent >= prompt.samples.len();
            if !chunk.is_empty() {
                chunk.resize(frame, 0.0);
                self.sent_until_ms += FRAME_MS;
                out.push(Due::Audio(chunk));
            }
            if finished {
                let prompt = self.queue.pop_front().expect("front exists");
                let length_ms = prompt.samples.len() as u64 * 1000 / u64::from(self.rate.max(1));
                self.pending_marks
                    .push_back((prompt.mark.clone(), self.sent_until_ms, length_ms));
                out.push(Due::Mark(prompt.mark));
            }
        }
        out
    }

    /// Marks whose audio has played by `now_ms` (for providers that echo no marks).
    pub fn played_by(&mut self, now_ms: u64) -> Vec<String> {
        let mut played = Vec::new();
        while self
            .pending_marks
            .front()
            .is_some_and(|(_, ends, _)| *ends <= now_ms)
        {
            played.extend(self.pending_marks.pop_front().map(|(m, _, _)| m));
        }
        played
    }

    /// The provider echoed `mark`: it and every mark before it have played. Returns how many prompts that
    /// completes (0 for a mark we no longer wait for, such as those a provider echoes after a clear).
    pub fn mark_echoed(&mut self, mark: &str) -> usize {
        match self.pending_marks.iter().position(|(m, _, _)| m == mark) {
            Some(at) => self.pending_marks.drain(..=at).count(),
            None => 0,
        }
    }

    /// Barge-in at `now_ms`: empties the queue (the server sends the provider's clear) and says what was cut.
    pub fn clear(&mut self, now_ms: u64) -> Cut {
        let per_ms = (self.rate as u64 / 1000).max(1);
        let mut dropped = Vec::new();
        let mut interrupted = None;
        // A prompt sent whole whose audio had not finished by now was interrupted too.
        for (mark, ends, length_ms) in self.pending_marks.drain(..) {
            if ends > now_ms && interrupted.is_none() {
                interrupted = Some((mark, length_ms.saturating_sub(ends - now_ms)));
            } else if ends > now_ms {
                dropped.push(mark);
            }
        }
        for prompt in self.queue.drain(..) {
            let unplayed_ms = self.sent_until_ms.saturating_sub(now_ms);
            let played_ms = (prompt.sent as u64 / per_ms).saturating_sub(unplayed_ms);
            if interrupted.is_none() && prompt.sent > 0 {
                interrupted = Some((prompt.mark, played_ms));
            } else {
                dropped.push(prompt.mark);
            }
        }
        self.sent_until_ms = now_ms;
        Cut {
            interrupted,
            dropped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audio_ms(due: &[Due]) -> u64 {
        due.iter().filter(|d| matches!(d, Due::Audio(_))).count() as u64 * FRAME_MS
    }

    #[test]
    fn audio_leaves_at_real_time_with_a_lead_and_marks_follow_their_prompt() {
        let mut p = Playout::new(8_000);
        p.say("greeting", vec![0.1; 8_000]); // 1 s
        p.say("question", vec![0.1; 4_000]); // 0.5 s
        let first = p.due(0);
        assert_eq!(audio_ms(&first), LEAD_MS);
        assert!(first
            .iter()
            .all(|d| matches!(d, Due::Audio(a) if a.len() == 160)));
        // Nothing more until time moves on.
        assert!(p.due(0).is_empty());
        let mut marks = Vec::new();
        let mut sent = audio_ms(&first);
        for t in (20..=2_000).step_by(20) {
            for d in p.due(t) {
                match d {
                    Due::Audio(_) => sent += FRAME_MS,
                    Due::Mark(m) => marks.push((m, sent)),
                }
            }
        }
        assert_eq!(
            marks,
            vec![("greeting".into(), 1_000), ("question".into(), 1_500)]
        );
        // Without echoes, marks count as played when their audio has been due for its length.
        assert!(p.played_by(999).is_empty());
        assert_eq!(p.played_by(1_000), vec!["greeting"]);
        assert!(p.is_speaking(1_400));
        assert!(!p.is_speaking(1_600));
    }

    #[test]
    fn barge_in_says_what_the_caller_heard_and_what_was_dropped() {
        let mut p = Playout::new(8_000);
        p.say("greeting", vec![0.1; 8_000]);
        p.say("question", vec![0.1; 4_000]);
        for t in (0..=400).step_by(20) {
            p.due(t);
        }
        let cut = p.clear(400);
        let (mark, heard_ms) = cut.interrupted.expect("the greeting was playing");
        assert_eq!(mark, "greeting");
        assert_eq!(heard_ms, 400);
        assert_eq!(cut.dropped, vec!["question"]);
        assert!(!p.is_speaking(400));
        assert!(p.due(420).is_empty());
    }

    #[test]
    fn an_echoed_mark_settles_it_and_those_before_it() {
        let mut p = Playout::new(16_000);
        p.say("a", vec![0.0; 320]);
        p.say("b", vec![0.0; 320]);
        p.due(0);
        p.mark_echoed("b");
        assert!(p.played_by(10_000).is_empty());
        let cut = p.clear(10);
        assert_eq!(
            cut,
            Cut {
                interrupted: None,
                dropped: vec![]
            }
        );
    }
}
