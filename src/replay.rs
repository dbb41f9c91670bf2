//! Replay of a recorded call: the recording is the event source, the call core and the engines are the
//! same as on a live call, and the store files real tickets.
//!
//! The recording is fed in 20 ms pieces as a provider would stream it, to the same live call and effects
//! driver as a live stream; call time comes from the audio. With [`RecogniserLatency::Zero`] a replay is
//! deterministic; with the default, measured latency, a partial may land one step earlier or later between
//! runs, as it does live, and `wall_ms` is this machine's recognition time.
//!
//! This module owns the replay loop only; the engines it borrows are [`crate::engines::Engines`], the
//! topics a call listens for are chosen in [`crate::topics::selection`].

use std::path::Path;

use crate::audio::wav::{read_wav, ChannelChoice, WavError};
use crate::call::live::{Dialed, Effect, Ending, Input, LineSetup, LiveCall, Recognise};
use crate::call::{Call, CallError, CallSetup, Hearing};
use crate::effects::{drive, recognition, DialAnswer, DialRequest, Hands};
use crate::engines::{Engines, EnginesError};
use crate::events::{CallEvent, Decision, EventLine};
use crate::listen::{Ears, InlineRecogniser, ListenError};
use crate::tickets::store::{StoreError, TicketStore};
use crate::tickets::TicketDraft;
use crate::topics::MandatoryTopic;

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{path}: {source}")]
    Recording { path: String, source: WavError },
    #[error(transparent)]
    Listen(#[from] ListenError),
    #[error(transparent)]
    Call(#[from] CallError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Engines(#[from] EnginesError),
    #[error("a ticket could not be written: {0}")]
    TicketLost(String),
}

/// Per-replay choices.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    pub channel: ChannelChoice,
    /// The caller's number, if known (it appears in summaries and tickets).
    pub caller: Option<String>,
    /// Defaults to `replay-<file stem>`.
    pub call_id: Option<String>,
    /// When the call took place (default: now): business hours and "tomorrow" are read from it, so a
    /// replay decides as the live agent would have at that moment.
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    /// How the recogniser's latency is modelled.
    pub latency: RecogniserLatency,
    /// Decide on partial transcripts as the live call does (on the live call-time grid). Off by default for
    /// now: with it, a short call decides before its speech ends, so its log has no `speech_end` line,
    /// which the event contract promises today.
    pub partials: bool,
}

/// What a replay ended with.
#[derive(Debug, Clone, Default)]
pub struct ReplayOutcome {
    pub lines: Vec<EventLine>,
    pub duration_ms: u64,
    /// Call time the agent listened to (less than `duration_ms` when the call was transferred early).
    pub heard_ms: u64,
    pub tickets: Vec<i64>,
}

impl ReplayOutcome {
    /// The decisions other than `continue`.
    pub fn decisions(&self) -> Vec<(Decision, Option<String>)> {
        self.lines
            .iter()
            .filter_map(|l| match &l.event {
                CallEvent::Decision {
                    decision, topic, ..
                } if *decision != Decision::Continue => Some((*decision, topic.clone())),
                _ => None,
            })
            .collect()
    }
}

/// How a replay models the recogniser's latency: the live call keeps listening while an utterance is
/// recognised, so a partial's answer lands later in the call, and the next partial is scheduled later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecogniserLatency {
    /// Each answer lands as long after its request as this machine took to compute it.
    #[default]
    Measured,
    /// Answers land at once: deterministic to the millisecond, but earlier than live.
    Zero,
}

/// Replays one recording with `engines`; every log line is also handed to `sink` as it happens.
///
/// The recording is the live call's stream: fed in 20 ms pieces to the same [`LiveCall`] and the same
/// effects driver as a live call, with partials on the same call-time grid, so the decision lines equal
/// those the live agent would write (within one partial step).
pub async fn replay(
    engines: &Engines,
    wav: &Path,
    options: &ReplayOptions,
    store: &TicketStore,
    sink: &mut dyn FnMut(&EventLine),
) -> Result<ReplayOutcome, ReplayError> {
    let recording = read_wav(wav).map_err(|source| ReplayError::Recording {
        path: wav.display().to_string(),
        source,
    })?;
    let audio =
        recording
            .caller_audio(options.channel)
            .map_err(|source| ReplayError::Recording {
                path: wav.display().to_string(),
                source,
            })?;
    let call_id = options.call_id.clone().unwrap_or_else(|| {
        format!(
            "replay-{}",
            wav.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        )
    });
    let topics: Vec<MandatoryTopic> = engines.index().topics().cloned().collect();
    let call = Call::new(CallSetup::for_agent(
        call_id,
        options.caller.clone(),
        engines.config(),
        engines.language(),
        topics,
        Hearing::Recording,
        options.at.unwrap_or_else(chrono::Utc::now),
    ));
    let line = LineSetup {
        rate: recording.sample_rate,
        min_audio_ms: 20,
        echoes_marks: false,
        ring_all: false,
        partial_confidence: options
            .partials
            .then_some(engines.config().matching.partial_confidence),
        provider: "replay".into(),
    };
    let mut live = LiveCall::answer(call, line, 0)?;
    let mut hands = Recorded {
        now: 0,
        ears: engines.ears(recording.sample_rate)?,
        recogniser: engines.inline_recogniser()?,
        latency: options.latency,
        answers: Vec::new(),
        store,
        sink,
        outcome: ReplayOutcome {
            duration_ms: recording.duration_ms(),
            ..Default::default()
        },
        failure: None,
    };
    let piece = (recording.sample_rate as usize / 50).max(1);
    let mut heard = Vec::new();
    let mut fed = 0usize;
    for chunk in audio.chunks(piece) {
        fed += chunk.len();
        hands.now = fed as u64 * 1000 / u64::from(recording.sample_rate.max(1));
        hands.ears.push(chunk, &mut heard)?;
        let input = Input::Listened {
            now: hands.now,
            received_ms: chunk.len() as u64 * 1000 / u64::from(recording.sample_rate.max(1)),
            heard_ms: hands.ears.heard_ms(),
            heard: std::mem::take(&mut heard),
        };
        hands.step(&mut live, input).await?;
        hands.deliver(&mut live, false).await?;
        if live.call().is_finished() {
            break;
        }
    }
    if !live.call().is_finished() {
        hands.ears.finish(&mut heard)?;
        let input = Input::Listened {
            now: hands.now,
            received_ms: 0,
            heard_ms: hands.ears.heard_ms(),
            heard: std::mem::take(&mut heard),
        };
        hands.step(&mut live, input).await?;
    }
    // What is still being recognised lands as it would have, after the audio ended.
    hands.deliver(&mut live, true).await?;
    let heard_ms = hands.ears.heard_ms();
    hands.outcome.heard_ms = heard_ms.min(hands.outcome.duration_ms);
    if !live.call().is_finished() {
        let t_ms = hands.outcome.duration_ms.max(heard_ms);
        let input = Input::HungUp {
            now: hands.now,
            t_ms,
        };
        hands.step(&mut live, input).await?;
    }
    Ok(hands.outcome)
}

/// A replay's hands: recognition inline (its answer held back by the modelled latency), nothing sent,
/// tickets into the real store, lines into the outcome.
struct Recorded<'a> {
    now: u64,
    ears: Ears,
    recogniser: InlineRecogniser,
    latency: RecogniserLatency,
    /// Recognitions computed, and the clock time each lands at.
    answers: Vec<(u64, Input)>,
    store: &'a TicketStore,
    sink: &'a mut dyn FnMut(&EventLine),
    outcome: ReplayOutcome,
    /// What stops the replay (a recogniser or store that fails).
    failure: Option<ReplayError>,
}

impl Recorded<'_> {
    async fn step(&mut self, live: &mut LiveCall, input: Input) -> Result<(), ReplayError> {
        drive(live, self, input).await?;
        match self.failure.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Feeds the answers due by now (`all`: every one left, the clock moving on to each).
    async fn deliver(&mut self, live: &mut LiveCall, all: bool) -> Result<(), ReplayError> {
        loop {
            let due = self
                .answers
                .iter()
                .enumerate()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(i, (at, _))| (i, *at));
            let Some((i, at)) = due else { return Ok(()) };
            if at > self.now && !all {
                return Ok(());
            }
            self.now = self.now.max(at);
            let (_, mut input) = self.answers.remove(i);
            if let Input::Recognised { now, .. } = &mut input {
                *now = self.now;
            }
            self.step(live, input).await?;
        }
    }
}

impl Hands for Recorded<'_> {
    fn now(&self) -> u64 {
        self.now
    }

    fn log(&mut self, line: EventLine) {
        (self.sink)(&line);
        self.outcome.lines.push(line);
    }

    async fn recognise(&mut self, job: Recognise) -> Option<Input> {
        let (result, took) = self.recogniser.recognise(&job, &self.ears);
        let id = match job {
            Recognise::Final { job, .. } | Recognise::Partial { job, .. } => job,
        };
        let result = match result {
            Ok(r) => Ok(r),
            Err(e) => {
                self.failure.get_or_insert(ReplayError::Listen(e));
                return None;
            }
        };
        let lands = match self.latency {
            RecogniserLatency::Measured => self.now + took.as_millis() as u64,
            RecogniserLatency::Zero => self.now,
        };
        self.answers.push((lands, recognition(id, lands, result)));
        None
    }

    async fn render(&mut self, _text: &str) -> Result<std::sync::Arc<[f32]>, String> {
        // Nobody hears a recording: the live call asks for no speech.
        Ok(Vec::new().into())
    }

    fn send(&mut self, _effect: Effect) {}

    async fn write_ticket(&mut self, draft: &TicketDraft) -> Result<i64, String> {
        match self.store.file(draft).await {
            Ok(id) => {
                self.outcome.tickets.push(id);
                Ok(id)
            }
            Err(e) => Err(e.to_string()),
        }
    }

    fn ticket_lost(&mut self, _draft: &TicketDraft, reason: &str) {
        self.failure
            .get_or_insert(ReplayError::TicketLost(reason.to_string()));
    }

    async fn prepare_transfer(&mut self, _to: &str, _summary: Option<&str>, _ticket: Option<i64>) {}

    async fn dial(&mut self, _request: DialRequest) -> DialAnswer {
        // A recording is never transferred (its call has no line to dial from).
        DialAnswer {
            attempt_id: None,
            waited_ms: None,
            dialed: Dialed::HandedOver,
        }
    }

    async fn end_attempt(
        &mut self,
        _attempt_id: Option<i64>,
        _outcome: &str,
        _detail: Option<&str>,
        _talk_seconds: Option<i64>,
    ) {
    }

    async fn bring_back(&mut self, _outcome: &str) -> Result<(), String> {
        Err("a recording has no caller to bring back".into())
    }

    fn meter(&mut self, _agent_ms: u64, _transfer_ms: u64, _outcome: Option<&str>) {}

    fn end_stream(&mut self, _ending: Ending) {}
}
