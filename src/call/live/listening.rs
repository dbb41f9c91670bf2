//! The listening state of a live call: which utterance is recognised next, and when a partial look at the
//! utterance still going on is due. Counted in call time (the audio heard), never in wall time, so a replay
//! that feeds the same audio schedules the same partials as the live call did.
//!
//! Owns no audio and runs no model: the ears (resampling, VAD, segmenter) tell it what they noticed; it
//! answers with the recognition jobs to run. Finals go one at a time, in order, so the matcher sees the
//! call's utterances in the order they were said; a partial is only tried while no final is waiting.

use std::collections::VecDeque;

use crate::audio::segmenter::Utterance;

/// A partial transcript is tried once an utterance is this long, and again after each further step.
pub const PARTIAL_FIRST_MS: u64 = 1_000;
pub const PARTIAL_STEP_MS: u64 = 500;
/// A partial looks at the last 3 s of the utterance at most: a request takes a few seconds to say, and the
/// cost of a look stays the same however long the caller talks (the final hears the whole utterance).
pub const PARTIAL_WINDOW_MS: u64 = 3_000;

/// What the ears noticed in the caller's audio.
#[derive(Debug, Clone, PartialEq)]
pub enum Heard {
    /// The caller's voice has lasted `barge_in_ms` (once per run of voice): enough to stop the agent talking.
    Voice { t_ms: u64 },
    /// An utterance began (padded start).
    Started { start_ms: u64 },
    /// An utterance ended; its end became known at `detected_ms`. `audio` is its 16 kHz samples.
    Ended {
        utterance: Utterance,
        detected_ms: u64,
        audio: Vec<f32>,
    },
}

/// Names one recognition job of a call.
pub type JobId = u64;

/// A finished utterance waiting for recognition.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingFinal {
    pub utterance: Utterance,
    pub detected_ms: u64,
    /// The call's clock when the end was detected: the origin of the decision's `wall_ms`.
    pub detected_at: u64,
    pub audio: Vec<f32>,
}

/// A job handed to the recogniser.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    Final(PendingFinal),
    /// A look at the open utterance that began at `start_ms`, as heard up to `end_ms`.
    Partial {
        start_ms: u64,
        end_ms: u64,
        /// The call's clock when it was asked for.
        asked_at: u64,
    },
}

/// What a recognition job is to hand to the recogniser.
#[derive(Debug, Clone, PartialEq)]
pub enum Recognise {
    Final {
        job: JobId,
        audio: Vec<f32>,
    },
    /// The last [`PARTIAL_WINDOW_MS`] of the open utterance that began at `start_ms`.
    Partial {
        job: JobId,
        start_ms: u64,
    },
}

#[derive(Debug, Default)]
pub struct Listening {
    finals: VecDeque<PendingFinal>,
    /// The final out on the recogniser (one per call, so finals are scored in order).
    final_out: Option<(JobId, Job)>,
    /// The partial out on the recogniser (a final may go while it is out: it never waits for a partial).
    partial_out: Option<(JobId, Job)>,
    next_job: JobId,
    /// Start of the utterance still going on.
    open_since: Option<u64>,
    /// The utterance the last partial was tried on, and how long it was then.
    last_partial: Option<(u64, u64)>,
}

impl Listening {
    /// An utterance began.
    pub fn started(&mut self, start_ms: u64) {
        self.open_since = Some(start_ms);
    }

    /// An utterance ended: it waits for its turn at the recogniser.
    pub fn ended(&mut self, pending: PendingFinal) {
        self.open_since = None;
        self.finals.push_back(pending);
    }

    /// The start of the utterance still going on.
    pub fn open_since(&self) -> Option<u64> {
        self.open_since
    }

    /// True while a job is out or a final waits: no partial then.
    pub fn busy(&self) -> bool {
        self.final_out.is_some() || self.partial_out.is_some() || !self.finals.is_empty()
    }

    /// The next final for the recogniser, unless one of this call's is already out.
    pub fn next_final(&mut self) -> Option<Recognise> {
        if self.final_out.is_some() {
            return None;
        }
        let mut pending = self.finals.pop_front()?;
        let job = self.take_id();
        let audio = std::mem::take(&mut pending.audio);
        self.final_out = Some((job, Job::Final(pending)));
        Some(Recognise::Final { job, audio })
    }

    /// A partial of the open utterance when it has grown enough by `heard_ms` and nothing else is waiting.
    pub fn partial_due(&mut self, heard_ms: u64, now: u64) -> Option<Recognise> {
        if self.busy() {
            return None;
        }
        let start_ms = self.open_since?;
        let length = heard_ms.saturating_sub(start_ms);
        let due = match self.last_partial {
            Some((s, n)) if s == start_ms => length >= n + PARTIAL_STEP_MS,
            _ => length >= PARTIAL_FIRST_MS,
        };
        if !due {
            return None;
        }
        self.last_partial = Some((start_ms, length));
        let job = self.take_id();
        self.partial_out = Some((
            job,
            Job::Partial {
                start_ms,
                end_ms: heard_ms,
                asked_at: now,
            },
        ));
        Some(Recognise::Partial { job, start_ms })
    }

    /// The recogniser answered (or refused) `job`: what it was, if it is the one out.
    pub fn answered(&mut self, job: JobId) -> Option<Job> {
        for slot in [&mut self.final_out, &mut self.partial_out] {
            if slot.as_ref().is_some_and(|(id, _)| *id == job) {
                return slot.take().map(|(_, j)| j);
            }
        }
        None
    }

    /// Nobody listens any more (transferred, or over): waiting finals need no recognising.
    pub fn forget_finals(&mut self) {
        self.finals.clear();
    }

    /// Whether a final is out or waiting (the stream's end waits for them).
    pub fn finals_pending(&self) -> bool {
        !self.finals.is_empty() || self.final_out.is_some()
    }

    fn take_id(&mut self) -> JobId {
        self.next_job += 1;
        self.next_job
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(start_ms: u64, end_ms: u64) -> PendingFinal {
        PendingFinal {
            utterance: Utterance { start_ms, end_ms },
            detected_ms: end_ms + 500,
            detected_at: end_ms + 500,
            audio: vec![0.0; 16],
        }
    }

    #[test]
    fn partials_fall_on_a_grid_of_call_time() {
        let mut l = Listening::default();
        l.started(2_000);
        assert_eq!(l.partial_due(2_980, 0), None);
        let Some(Recognise::Partial { job, start_ms }) = l.partial_due(3_000, 0) else {
            panic!("a partial is due after 1 s");
        };
        assert_eq!(start_ms, 2_000);
        // One at a time.
        assert_eq!(l.partial_due(3_600, 0), None);
        assert!(l.answered(job).is_some());
        assert_eq!(l.partial_due(3_480, 0), None);
        assert!(l.partial_due(3_500, 0).is_some());
    }

    #[test]
    fn finals_go_one_at_a_time_in_order_before_any_partial() {
        let mut l = Listening::default();
        l.ended(ended(0, 1_000));
        l.ended(ended(2_000, 3_000));
        l.started(4_000);
        let Some(Recognise::Final { job, .. }) = l.next_final() else {
            panic!("the first final goes");
        };
        assert_eq!(l.next_final(), None);
        assert_eq!(l.partial_due(9_000, 0), None);
        let Some(Job::Final(first)) = l.answered(job) else {
            panic!("the final was out");
        };
        assert_eq!(first.utterance.start_ms, 0);
        assert!(l.next_final().is_some());
    }
}
