//! The live call: everything that decides about a call over time, around the [`Call`] core, without I/O.
//!
//! [`LiveCall`] owns the core plus what a call on a telephone line adds to it: the listening state (which
//! utterance goes to the recogniser, when a partial is due), the playout of prompts with marks and barge-in,
//! the flood and idle guards, and the transfer's phases (targets rung in order or all at once, fallbacks, the
//! caller parked while it rings and brought back when nobody answers). Feed it [`Input`]s stamped with the
//! call's clock, then drain [`LiveCall::poll`] until it returns [`Output::Timeout`]: the moment it next wants
//! to be woken with [`Input::Timeout`] (str0m's `poll_output` loop). Nothing is ticked for nothing: while the
//! agent is silent and no dialog timer runs, the only deadline is the idle guard.
//!
//! Two times run through it. The *clock* (`now`, ms) is the driver's: the wall clock since the call's first
//! stream started on a live call, simulated time in a replay or rehearsal; pacing, guards and `wall_ms`
//! are measured on it. *Call time* (`t_ms`) is the caller audio heard so far; every log line and every core
//! event carries it, so a replay of the same audio gives the same lines.
//!
//! The serve, replay and rehearsal loops all run this type through one effects driver
//! (`crate::effects`), so what replay shows is what the live agent does.

pub mod listening;
pub mod transfer;

use std::collections::VecDeque;
use std::sync::Arc;

use super::{Action, Call, CallError, Event, Hearing, Transcript};
use crate::events::{CallEvent, Decision, EventLine};
use crate::telephony::playout::{Due, Playout};
use crate::tickets::TicketDraft;
use crate::topics::TopicHit;
pub use listening::{Heard, JobId, Recognise};
use listening::{Job, Listening, PendingFinal};
pub use transfer::{Dialed, RingOutcome};
use transfer::{Phase as TransferPhase, Transfer};

/// Caller audio may run this far ahead of the clock (network bursts) before the peer counts as flooding.
pub const FLOOD_SLACK_MS: u64 = 5_000;
/// A stream that sends nothing for this long is gone.
pub const IDLE_MS: u64 = 30_000;
/// How often prompts are paced out while the agent speaks.
pub const PACE_MS: u64 = 20;

/// What a live call needs to know about its line, beside the core's [`super::CallSetup`].
#[derive(Debug, Clone)]
pub struct LineSetup {
    /// The stream's audio rate (prompts are rendered at it).
    pub rate: u32,
    /// The provider's smallest media message, in ms of audio.
    pub min_audio_ms: u64,
    /// Whether the provider echoes marks (else a prompt counts as played once its audio is due).
    pub echoes_marks: bool,
    /// Whether every target rings at once (the provider can, and the business asked for it).
    pub ring_all: bool,
    /// A partial transcript decides only with a topic at this score or above; `None`: no partials.
    pub partial_confidence: Option<f32>,
    /// The provider's name, for the log's dial lines.
    pub provider: String,
}

/// What happened, on the call's clock `now` (ms).
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Caller audio came in: `received_ms` of it (the flood guard), and what the ears noticed in it, with
    /// everything heard up to call time `heard_ms`.
    Listened {
        now: u64,
        received_ms: u64,
        heard_ms: u64,
        heard: Vec<Heard>,
    },
    /// The peer sent something (any message): it is still there.
    PeerActive {
        now: u64,
    },
    Dtmf {
        now: u64,
        digit: char,
    },
    /// The provider played everything up to `mark`.
    MarkPlayed {
        now: u64,
        mark: String,
    },
    /// The recogniser's answer to `job`.
    Recognised {
        now: u64,
        job: JobId,
        result: Result<Recognition, String>,
    },
    /// The recogniser had no room for the partial `job` (the pool is full): it is dropped.
    PartialRefused {
        now: u64,
        job: JobId,
    },
    /// The speech engine rendered prompt `prompt` (`Err`: it could not).
    Rendered {
        now: u64,
        prompt: u64,
        result: Result<Arc<[f32]>, String>,
    },
    /// The store wrote the requested ticket as `id` (`None`: it could not, after its retries).
    TicketFiled {
        now: u64,
        id: Option<i64>,
    },
    /// The dial request of `attempt` went out (its row is `attempt_id`); `waited_ms`: from the end of the
    /// announcement to the request (the LLM summary's wait, the attempt's row).
    Dialed {
        now: u64,
        attempt: u32,
        attempt_id: Option<i64>,
        waited_ms: Option<u64>,
        result: Dialed,
    },
    /// The provider reported how `attempt` went.
    RingOutcome {
        now: u64,
        attempt: u32,
        outcome: RingOutcome,
    },
    /// The caller could not be brought back to a stream after a transfer nobody took.
    BringBackFailed {
        now: u64,
        reason: String,
    },
    /// A new stream of this call started: a caller brought back after a transfer nobody took.
    Resumed {
        now: u64,
    },
    /// The caller hung up at call time `t_ms` with no stream to close (the end of a recording).
    HungUp {
        now: u64,
        t_ms: u64,
    },
    /// The stream is closing (the caller hung up, the peer went away, ...): no more sends, no new partials.
    /// The driver then finishes the ears and waits for the finals still out.
    StreamClosing {
        now: u64,
    },
    /// The stream is gone for `reason` (as counted in the calls metric; `detail` says more).
    StreamEnded {
        now: u64,
        reason: String,
        detail: String,
    },
    Timeout {
        now: u64,
    },
}

/// A recogniser's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Recognition {
    pub text: String,
    pub hits: Vec<TopicHit>,
}

/// Why the live call ends its stream itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The agent finished (the callback was promised and goodbye said).
    Completed,
    /// The call was transferred (or the provider has it for a transfer).
    Transferred,
    /// Caller audio runs ahead of the clock by more than [`FLOOD_SLACK_MS`].
    Flooding,
    /// The peer sent nothing for [`IDLE_MS`].
    Idle,
}

/// Counted by the driver's metrics.
#[derive(Debug, Clone, PartialEq)]
pub enum Measure {
    /// A decision line; `latency_ms` from the end of the utterance (`None`: decided on a partial).
    Decision {
        decision: Decision,
        latency_ms: Option<u64>,
    },
    BargeIn,
    PartialDropped,
    /// A dial went out `latency_ms` after the decision to escalate.
    Dial {
        latency_ms: u64,
    },
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Write a line to the call's event log.
    Log(EventLine),
    Measure(Measure),
    /// Recognise an utterance; answer with [`Input::Recognised`] (or [`Input::PartialRefused`]).
    Recognise(Recognise),
    /// Render `text` at the line's rate; answer with [`Input::Rendered`].
    Render {
        prompt: u64,
        text: String,
    },
    /// Send paced audio (at least the provider's minimum message).
    SendAudio(Vec<f32>),
    SendMark(String),
    /// Drop what the provider still has queued to play (barge-in).
    Clear,
    /// Write a ticket (with the store's retries); answer with [`Input::TicketFiled`].
    FileTicket(Box<TicketDraft>),
    /// A transfer was decided: keep `summary` for whoever answers, and start the LLM summary of `ticket`
    /// while the announcement plays.
    PrepareTransfer {
        to: String,
        summary: Option<String>,
        ticket: Option<i64>,
    },
    /// Ring `targets` (at once) for `attempt`: write the attempt's row first, then ask the provider; the
    /// first attempt waits for the LLM summary first. Answer with [`Input::Dialed`].
    Dial {
        targets: Vec<String>,
        attempt: u32,
        ticket: Option<i64>,
        whisper: bool,
        first: bool,
    },
    /// Record how an attempt ended.
    EndAttempt {
        attempt_id: Option<i64>,
        outcome: String,
        detail: Option<String>,
        talk_seconds: Option<i64>,
    },
    /// Nobody took the call: ask the provider to bring the caller back to a new stream of this call.
    BringBack {
        outcome: String,
    },
    /// Add to the call's usage: time with the agent, time talking to staff.
    Meter {
        agent_ms: u64,
        transfer_ms: u64,
        outcome: Option<String>,
    },
    /// Close the media stream.
    EndStream(Ending),
    /// The stream closed while the provider rings a transfer: keep this call, off the stream, until the
    /// provider reports.
    Park,
    /// The call is over for good: forget it (and its whisper).
    Release,
}

/// What [`LiveCall::poll`] hands out.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Effect(Effect),
    /// Nothing more until this clock time (or the next input).
    Timeout(u64),
}

/// One live call, from answer to release.
pub struct LiveCall {
    call: Call,
    line: LineSetup,
    listening: Listening,
    playout: Playout,
    effects: VecDeque<Effect>,
    /// Call time heard so far.
    heard_ms: u64,
    /// While off a stream (parked), call time runs on with the clock from here: (`heard_ms`, `now`).
    parked_at: Option<(u64, u64)>,
    /// Caller audio received on this stream, and the clock when the stream started.
    received_ms: u64,
    stream_started: u64,
    last_message: u64,
    /// Prompts asked to be rendered, oldest first (their playout order), until rendered.
    rendering: VecDeque<u64>,
    next_prompt: u64,
    next_mark: u64,
    /// Audio gathered until the provider's minimum message size.
    outgoing: Vec<f32>,
    /// The end of the utterance being decided on (the clock), for `wall_ms` and the latency metric; or the
    /// clock when the partial being decided on was asked for.
    deciding: Option<(u64, bool)>,
    transfer: Option<Transfer>,
    /// The core said [`Action::HangUp`]: the stream closes once everything has played.
    hanging_up: bool,
    /// The stream is closing: nothing more is sent.
    closing: bool,
    /// An [`Effect::EndStream`] is out.
    ending: bool,
    released: bool,
    now: u64,
}

impl LiveCall {
    /// A new call answered at clock `now`: the agent greets the caller.
    pub fn answer(call: Call, line: LineSetup, now: u64) -> Result<Self, CallError> {
        let mut live = Self::new(call, line, now);
        live.feed(Event::Answered { t_ms: 0 })?;
        Ok(live)
    }

    fn new(call: Call, line: LineSetup, now: u64) -> Self {
        let playout = Playout::new(line.rate);
        Self {
            call,
            line,
            listening: Listening::default(),
            playout,
            effects: VecDeque::new(),
            heard_ms: 0,
            parked_at: None,
            received_ms: 0,
            stream_started: now,
            last_message: now,
            rendering: VecDeque::new(),
            next_prompt: 0,
            next_mark: 0,
            outgoing: Vec::new(),
            deciding: None,
            transfer: None,
            hanging_up: false,
            closing: false,
            ending: false,
            released: false,
            now,
        }
    }

    pub fn call(&self) -> &Call {
        &self.call
    }

    /// Call time now: the audio heard, running on with the clock while the call is off its stream.
    pub fn heard_ms(&self) -> u64 {
        match self.parked_at {
            Some((heard, at)) => heard + self.now.saturating_sub(at),
            None => self.heard_ms,
        }
    }

    /// The attempt the provider rings now, and its targets (a parked call).
    pub fn ringing(&self) -> Option<(u32, &[String])> {
        match &self.transfer {
            Some(t) if t.phase == TransferPhase::Ringing => Some((t.attempt, &t.group)),
            _ => None,
        }
    }

    /// The outcome a caller being brought back returns with.
    pub fn returning(&self) -> Option<&str> {
        match &self.transfer {
            Some(Transfer {
                phase: TransferPhase::Returning { outcome },
                ..
            }) => Some(outcome),
            _ => None,
        }
    }

    /// Whether the transfer rings with a whisper (a summary for whoever answers).
    pub fn whispers(&self) -> bool {
        self.transfer.as_ref().is_some_and(|t| t.whisper)
    }

    /// True while a final is waiting for or out on the recogniser.
    pub fn finals_pending(&self) -> bool {
        self.listening.finals_pending()
    }

    /// True once the call is over for good.
    pub fn is_released(&self) -> bool {
        self.released
    }

    /// Whether anything said is still playing (or being rendered) at the clock's `now`.
    pub fn is_speaking(&self) -> bool {
        self.call.is_speaking() || self.playout.is_speaking(self.now) || !self.rendering.is_empty()
    }

    /// Feeds one input.
    pub fn handle(&mut self, input: Input) -> Result<(), CallError> {
        let now = input_clock(&input);
        self.now = self.now.max(now);
        match input {
            Input::Listened {
                received_ms,
                heard_ms,
                heard,
                ..
            } => self.listened(received_ms, heard_ms, heard)?,
            Input::PeerActive { now } => self.last_message = now,
            Input::Dtmf { digit, .. } => {
                let t_ms = self.heard_ms();
                self.feed(Event::Dtmf { t_ms, digit })?;
            }
            Input::MarkPlayed { mark, .. } => {
                let played = self.playout.mark_echoed(&mark);
                self.played(played)?;
            }
            Input::Recognised { job, result, .. } => self.recognised(job, result)?,
            Input::PartialRefused { job, .. } => {
                if let Some(Job::Partial { start_ms, .. }) = self.listening.answered(job) {
                    // Replay cannot know the pool was full: the log says why live differs.
                    self.log(CallEvent::PartialDropped { start_ms });
                    self.effects
                        .push_back(Effect::Measure(Measure::PartialDropped));
                }
            }
            Input::Rendered { prompt, result, .. } => self.rendered(prompt, result)?,
            Input::TicketFiled { id, .. } => {
                if let Some(id) = id {
                    let t_ms = self.heard_ms();
                    self.feed(Event::TicketFiled { t_ms, id })?;
                }
            }
            Input::Dialed {
                attempt,
                attempt_id,
                waited_ms,
                result,
                ..
            } => self.dialed(attempt, attempt_id, waited_ms, result)?,
            Input::RingOutcome {
                attempt, outcome, ..
            } => self.ring_outcome(attempt, outcome)?,
            Input::BringBackFailed { reason, .. } => {
                self.log(CallEvent::TransferOutcome {
                    outcome: format!("the caller could not be brought back: {reason}"),
                });
                let t_ms = self.heard_ms();
                self.transfer = None;
                // The caller cannot be brought back: the callback is still owed.
                self.feed(Event::HungUp { t_ms })?;
                self.release();
            }
            Input::Resumed { now } => self.resumed(now)?,
            Input::HungUp { t_ms, .. } => {
                self.closing = true;
                self.transfer = None;
                self.feed(Event::HungUp { t_ms })?;
                self.release();
            }
            Input::StreamClosing { .. } => {
                self.closing = true;
                if self.call.is_finished() {
                    self.listening.forget_finals();
                }
            }
            Input::StreamEnded { reason, detail, .. } => self.stream_ended(reason, detail)?,
            Input::Timeout { .. } => self.timeout()?,
        }
        Ok(())
    }

    /// The next effect, or when to be woken next.
    pub fn poll(&mut self) -> Output {
        if let Some(effect) = self.effects.pop_front() {
            return Output::Effect(effect);
        }
        Output::Timeout(self.deadline())
    }

    /// The next clock time something is due: the next frame while the agent speaks (or a prompt is owed
    /// its "played"), else the idle guard. Nothing once the stream is ending: a timeout does nothing then,
    /// and the idle guard that ended it lies in the past, so a driver sleeping until it would spin.
    fn deadline(&self) -> u64 {
        let idle = self.last_message + IDLE_MS;
        if self.parked_at.is_some() || self.released || self.ending {
            return u64::MAX;
        }
        let pacing = self.call.is_speaking()
            || self.playout.is_speaking(self.now)
            || self.transfer_waits_for_quiet()
            || self.hanging_up;
        if pacing {
            idle.min(self.now + PACE_MS)
        } else {
            idle
        }
    }

    fn transfer_waits_for_quiet(&self) -> bool {
        self.transfer
            .as_ref()
            .is_some_and(|t| t.phase == TransferPhase::Announcing)
    }

    // ---- listening ----

    fn listened(
        &mut self,
        received_ms: u64,
        heard_ms: u64,
        heard: Vec<Heard>,
    ) -> Result<(), CallError> {
        self.last_message = self.now;
        self.received_ms += received_ms;
        if self.received_ms > self.now.saturating_sub(self.stream_started) + FLOOD_SLACK_MS {
            self.end(Ending::Flooding);
            return Ok(());
        }
        self.heard_ms = self.heard_ms.max(heard_ms);
        for h in heard {
            match h {
                Heard::Voice { t_ms } => self.feed(Event::VoiceOnset { t_ms })?,
                Heard::Started { start_ms } => {
                    self.listening.started(start_ms);
                    self.feed(Event::SpeechStarted { t_ms: start_ms })?;
                }
                Heard::Ended {
                    utterance,
                    detected_ms,
                    audio,
                } => {
                    self.feed(Event::SpeechEnded { t_ms: detected_ms })?;
                    self.listening.ended(PendingFinal {
                        utterance,
                        detected_ms,
                        detected_at: self.now,
                        audio,
                    });
                    self.next_final();
                }
            }
        }
        // The dialog's silence and keypad timeouts run on call time, which the audio carries.
        let t_ms = self.heard_ms();
        self.feed(Event::Tick { t_ms })?;
        self.maybe_partial();
        Ok(())
    }

    fn next_final(&mut self) {
        // Once the call is transferred or over, nobody listens: its last words need no recognising.
        if self.call.is_finished() {
            self.listening.forget_finals();
            return;
        }
        if let Some(job) = self.listening.next_final() {
            self.effects.push_back(Effect::Recognise(job));
        }
    }

    fn maybe_partial(&mut self) {
        if self.line.partial_confidence.is_none() || self.closing || !self.call.is_listening() {
            return;
        }
        if let Some(job) = self.listening.partial_due(self.heard_ms, self.now) {
            self.effects.push_back(Effect::Recognise(job));
        }
    }

    fn recognised(
        &mut self,
        job: JobId,
        result: Result<Recognition, String>,
    ) -> Result<(), CallError> {
        let Some(job) = self.listening.answered(job) else {
            return Ok(());
        };
        match job {
            Job::Final(pending) => {
                match result {
                    Ok(r) => {
                        self.deciding = Some((pending.detected_at, true));
                        let fed = self.feed(Event::Heard {
                            t_ms: pending.detected_ms,
                            transcript: Transcript {
                                text: r.text,
                                start_ms: pending.utterance.start_ms,
                                end_ms: pending.utterance.end_ms,
                                is_final: true,
                            },
                            hits: r.hits,
                        });
                        self.deciding = None;
                        fed?;
                    }
                    Err(reason) => self.log(CallEvent::RecognitionFailed {
                        start_ms: pending.utterance.start_ms,
                        reason,
                    }),
                }
                self.next_final();
            }
            Job::Partial {
                start_ms,
                end_ms,
                asked_at,
            } => {
                // Stale once its utterance has ended: the final speaks for it.
                let Ok(r) = result else { return Ok(()) };
                if self.listening.open_since() != Some(start_ms) {
                    return Ok(());
                }
                self.deciding = Some((asked_at, false));
                let t_ms = self.heard_ms();
                let fed = self.feed(Event::Heard {
                    t_ms,
                    transcript: Transcript {
                        text: r.text,
                        start_ms,
                        end_ms,
                        is_final: false,
                    },
                    hits: r.hits,
                });
                self.deciding = None;
                fed?;
            }
        }
        Ok(())
    }

    // ---- speaking ----

    fn rendered(
        &mut self,
        prompt: u64,
        result: Result<Arc<[f32]>, String>,
    ) -> Result<(), CallError> {
        let Some(at) = self.rendering.iter().position(|p| *p == prompt) else {
            return Ok(());
        };
        self.rendering.remove(at);
        match result {
            Ok(samples) => {
                self.next_mark += 1;
                self.playout.say(format!("say-{}", self.next_mark), samples);
                self.pace()?;
            }
            Err(reason) => {
                // Nothing will play: the core must not wait for it, nor log it as heard.
                let t_ms = self.heard_ms();
                self.feed(Event::PromptFailed { t_ms, reason })?;
            }
        }
        Ok(())
    }

    /// Sends what is due, and counts prompts played for providers that echo no marks.
    fn pace(&mut self) -> Result<(), CallError> {
        let now = self.now;
        for due in self.playout.due(now + self.line.min_audio_ms) {
            match due {
                Due::Audio(samples) => {
                    self.outgoing.extend_from_slice(&samples);
                    let gathered_ms =
                        self.outgoing.len() as u64 * 1000 / u64::from(self.line.rate.max(1));
                    if gathered_ms >= self.line.min_audio_ms {
                        let audio = std::mem::take(&mut self.outgoing);
                        self.send(Effect::SendAudio(audio));
                    }
                }
                Due::Mark(name) => {
                    if !self.outgoing.is_empty() {
                        let audio = std::mem::take(&mut self.outgoing);
                        self.send(Effect::SendAudio(audio));
                    }
                    self.send(Effect::SendMark(name));
                }
            }
        }
        if !self.line.echoes_marks {
            let played = self.playout.played_by(now).len();
            self.played(played)?;
        }
        Ok(())
    }

    fn send(&mut self, effect: Effect) {
        if !self.closing {
            self.effects.push_back(effect);
        }
    }

    fn played(&mut self, prompts: usize) -> Result<(), CallError> {
        let t_ms = self.heard_ms();
        for _ in 0..prompts {
            self.feed(Event::PromptPlayed { t_ms })?;
        }
        Ok(())
    }

    /// The caller talks over the agent: what had played counts as heard, the rest is cut.
    fn stop_speaking(&mut self) -> Result<(), CallError> {
        let now = self.now;
        let t_ms = self.heard_ms();
        // Prompts that finished playing before the barge-in were heard, echoed or not.
        let played = self.playout.played_by(now).len();
        let cut = self.playout.clear(now);
        self.outgoing.clear();
        // A prompt still being rendered was never heard at all.
        let unrendered = std::mem::take(&mut self.rendering).len();
        self.effects.push_back(Effect::Measure(Measure::BargeIn));
        for _ in 0..played {
            self.call.handle(Event::PromptPlayed { t_ms })?;
        }
        let heard_ms = cut.interrupted.as_ref().map(|(_, ms)| *ms);
        self.call.handle(Event::PromptsCut {
            t_ms,
            heard_ms,
            dropped: cut.dropped.len() + unrendered,
        })?;
        self.send(Effect::Clear);
        Ok(())
    }

    // ---- the core ----

    /// Feeds the core and carries out what it asks, until it has nothing more.
    fn feed(&mut self, event: Event) -> Result<(), CallError> {
        self.call.handle(event)?;
        while let Some(action) = self.call.poll_action() {
            self.act(action)?;
        }
        Ok(())
    }

    fn act(&mut self, action: Action) -> Result<(), CallError> {
        match action {
            Action::Log(line) => self.log_line(line),
            Action::Say { text } => {
                if self.call.setup().hearing == Hearing::Live {
                    self.next_prompt += 1;
                    self.rendering.push_back(self.next_prompt);
                    self.effects.push_back(Effect::Render {
                        prompt: self.next_prompt,
                        text,
                    });
                }
            }
            Action::FileTicket(draft) => {
                self.effects.push_back(Effect::FileTicket(Box::new(draft)))
            }
            Action::StopSpeaking => self.stop_speaking()?,
            Action::HangUp => self.hanging_up = true,
            Action::Transfer {
                to,
                fallbacks,
                summary,
                ticket,
            } => {
                if self.call.setup().hearing == Hearing::Live {
                    let decided_at = self.deciding.map_or(self.now, |(at, _)| at);
                    let whisper = summary.is_some();
                    self.effects.push_back(Effect::PrepareTransfer {
                        to: to.clone(),
                        summary,
                        ticket,
                    });
                    let mut targets: VecDeque<String> = fallbacks.into();
                    targets.push_front(to);
                    self.transfer = Some(Transfer::new(
                        targets,
                        ticket,
                        whisper,
                        decided_at,
                        self.line.ring_all,
                    ));
                }
            }
        }
        Ok(())
    }

    fn log_line(&mut self, mut line: EventLine) {
        if line.wants_wall_time() {
            line.wall_ms = self.deciding.map(|(at, _)| self.now.saturating_sub(at));
        }
        if let CallEvent::Decision { decision, .. } = &line.event {
            let latency_ms = match self.deciding {
                Some((at, true)) => Some(self.now.saturating_sub(at)),
                _ => None,
            };
            self.effects.push_back(Effect::Measure(Measure::Decision {
                decision: *decision,
                latency_ms,
            }));
        }
        self.effects.push_back(Effect::Log(line));
    }

    fn log(&mut self, event: CallEvent) {
        let line = EventLine::new(self.heard_ms(), event);
        self.effects.push_back(Effect::Log(line));
    }

    // ---- time ----

    fn timeout(&mut self) -> Result<(), CallError> {
        if self.parked_at.is_some() || self.released || self.ending {
            return Ok(());
        }
        if self.now >= self.last_message + IDLE_MS {
            self.end(Ending::Idle);
            return Ok(());
        }
        self.pace()?;
        let quiet = !self.call.is_speaking()
            && !self.playout.is_speaking(self.now)
            && self.rendering.is_empty();
        if quiet && self.transfer_waits_for_quiet() {
            return self.dial_next(true);
        }
        if quiet && self.hanging_up {
            self.end(Ending::Completed);
        }
        Ok(())
    }

    fn end(&mut self, ending: Ending) {
        if !self.ending {
            self.ending = true;
            self.effects.push_back(Effect::EndStream(ending));
        }
    }

    // ---- the transfer ----

    /// Rings the next group of targets, or, when none is left, brings the caller back (off the stream)
    /// or tells the core nobody took it (on the stream).
    fn dial_next(&mut self, on_stream: bool) -> Result<(), CallError> {
        let Some(transfer) = self.transfer.as_mut() else {
            return Ok(());
        };
        let first = transfer.attempt == 0;
        if !first && !on_stream && transfer.rest.is_empty() {
            return Ok(());
        }
        match transfer.next_group() {
            Some((targets, attempt)) => {
                transfer.phase = TransferPhase::Dialing { on_stream };
                let (ticket, whisper) = (transfer.ticket, transfer.whisper);
                self.effects.push_back(Effect::Dial {
                    targets,
                    attempt,
                    ticket,
                    whisper,
                    first,
                });
            }
            None => {
                // Nothing (more) to ring: the agent's part ends with the announcement.
                self.transfer = None;
                self.end(Ending::Transferred);
            }
        }
        Ok(())
    }

    fn dialed(
        &mut self,
        attempt: u32,
        attempt_id: Option<i64>,
        waited_ms: Option<u64>,
        result: Dialed,
    ) -> Result<(), CallError> {
        let now = self.now;
        let Some(transfer) = self.transfer.as_mut() else {
            return Ok(());
        };
        let TransferPhase::Dialing { on_stream } = transfer.phase else {
            return Ok(());
        };
        if transfer.attempt != attempt {
            return Ok(());
        }
        transfer.attempt_id = attempt_id;
        let latency_ms = (attempt == 1).then(|| now.saturating_sub(transfer.decided_at));
        let to = transfer.group.join(", ");
        let mut line = EventLine::new(
            self.heard_ms(),
            CallEvent::Dial {
                to,
                attempt,
                provider: self.line.provider.clone(),
                after_prompt_ms: waited_ms,
            },
        );
        if let Some(ms) = latency_ms {
            line = line.with_wall(ms);
            self.effects
                .push_back(Effect::Measure(Measure::Dial { latency_ms: ms }));
        }
        self.effects.push_back(Effect::Log(line));
        match result {
            Dialed::Reported | Dialed::AtStreamEnd => {
                if let Some(t) = self.transfer.as_mut() {
                    t.phase = TransferPhase::Ringing;
                }
                if on_stream {
                    // The provider will say how it went: the call waits for that, parked, once the stream
                    // ends.
                    self.end(Ending::Transferred);
                }
            }
            Dialed::HandedOver => {
                self.effects.push_back(Effect::EndAttempt {
                    attempt_id,
                    outcome: "handed-over".into(),
                    detail: None,
                    talk_seconds: None,
                });
                self.transfer = None;
                let t_ms = self.heard_ms();
                self.feed(Event::TransferHandedOver { t_ms })?;
                if on_stream {
                    self.end(Ending::Transferred);
                } else {
                    self.release();
                }
            }
            Dialed::Unavailable(reason) => {
                self.effects.push_back(Effect::EndAttempt {
                    attempt_id,
                    outcome: "unavailable".into(),
                    detail: Some(reason.clone()),
                    talk_seconds: None,
                });
                if on_stream {
                    // The caller is still here: the agent says so at once and offers the callback.
                    self.transfer = None;
                    let t_ms = self.heard_ms();
                    self.feed(Event::TransferFailed {
                        t_ms,
                        outcome: format!("unavailable: {reason}"),
                    })?;
                } else {
                    // Off the stream, the next target is tried; the caller returns with the last real
                    // outcome (nobody answered), not with the provider's hiccup.
                    let outcome = self
                        .transfer
                        .as_ref()
                        .and_then(|t| t.last_outcome.clone())
                        .unwrap_or_else(|| "unavailable".into());
                    self.not_taken(outcome)?;
                }
            }
        }
        Ok(())
    }

    fn ring_outcome(&mut self, attempt: u32, outcome: RingOutcome) -> Result<(), CallError> {
        let now = self.now;
        let Some(transfer) = self.transfer.as_mut() else {
            return Ok(());
        };
        let attempt_id = transfer.attempt_id;
        let current = transfer.attempt == attempt;
        match (&transfer.phase, outcome) {
            (TransferPhase::Ringing, RingOutcome::Bridged { talk_seconds, over }) if current => {
                self.effects.push_back(Effect::EndAttempt {
                    attempt_id,
                    outcome: "bridged".into(),
                    detail: None,
                    talk_seconds,
                });
                if over {
                    let transfer_ms = talk_seconds.map_or(0, |s| s.max(0) as u64 * 1000);
                    self.conversation_over(transfer_ms)?;
                } else {
                    transfer.phase = TransferPhase::Bridged { since: now };
                }
            }
            (TransferPhase::Bridged { since }, RingOutcome::ConversationOver) => {
                let transfer_ms = now.saturating_sub(*since);
                self.conversation_over(transfer_ms)?;
            }
            (TransferPhase::Ringing, RingOutcome::NotTaken { status, detail }) if current => {
                self.effects.push_back(Effect::EndAttempt {
                    attempt_id,
                    outcome: status.clone(),
                    detail,
                    talk_seconds: None,
                });
                transfer.last_outcome = Some(status.clone());
                self.not_taken(status)?;
            }
            (TransferPhase::Ringing, RingOutcome::CallerGone { status }) if current => {
                self.effects.push_back(Effect::EndAttempt {
                    attempt_id,
                    outcome: status,
                    detail: None,
                    talk_seconds: None,
                });
                self.transfer = None;
                let t_ms = self.heard_ms();
                self.feed(Event::HungUp { t_ms })?;
                self.release();
            }
            // A report about an attempt already settled, or out of order: nothing changes.
            _ => {}
        }
        Ok(())
    }

    fn conversation_over(&mut self, transfer_ms: u64) -> Result<(), CallError> {
        self.transfer = None;
        self.effects.push_back(Effect::Meter {
            agent_ms: 0,
            transfer_ms,
            outcome: Some("bridged".into()),
        });
        let t_ms = self.heard_ms();
        self.feed(Event::TransferBridged { t_ms })?;
        self.release();
        Ok(())
    }

    /// Nobody took the current attempt (the call is off its stream): the next target rings, or the caller
    /// is brought back.
    fn not_taken(&mut self, outcome: String) -> Result<(), CallError> {
        let Some(transfer) = self.transfer.as_mut() else {
            return Ok(());
        };
        if transfer.rest.is_empty() {
            transfer.phase = TransferPhase::Returning {
                outcome: outcome.clone(),
            };
            self.effects.push_back(Effect::BringBack { outcome });
            return Ok(());
        }
        self.dial_next(false)
    }

    /// The caller is back on a new stream: the call goes on at the call time it had.
    fn resumed(&mut self, now: u64) -> Result<(), CallError> {
        let t_ms = self.heard_ms();
        self.parked_at = None;
        self.heard_ms = t_ms;
        self.received_ms = 0;
        self.stream_started = now;
        self.last_message = now;
        self.closing = false;
        self.ending = false;
        self.playout = Playout::new(self.line.rate);
        self.outgoing.clear();
        self.listening = Listening::default();
        if let Some(outcome) = self.returning().map(str::to_string) {
            self.transfer = None;
            self.feed(Event::TransferFailed { t_ms, outcome })?;
        }
        Ok(())
    }

    fn stream_ended(&mut self, reason: String, detail: String) -> Result<(), CallError> {
        self.closing = true;
        let agent_ms = self.now.saturating_sub(self.stream_started);
        let t_ms = self.heard_ms();
        let parks = self.call.is_transferring()
            && self
                .transfer
                .as_ref()
                .is_some_and(|t| t.phase == TransferPhase::Ringing);
        if parks {
            self.log(CallEvent::StreamEnd {
                reason,
                detail: "waiting for the transfer's outcome".into(),
            });
            self.effects.push_back(Effect::Meter {
                agent_ms,
                transfer_ms: 0,
                outcome: None,
            });
            self.parked_at = Some((t_ms, self.now));
            self.effects.push_back(Effect::Park);
            return Ok(());
        }
        self.transfer = None;
        self.feed(Event::HungUp { t_ms })?;
        self.log(CallEvent::StreamEnd {
            reason: reason.clone(),
            detail,
        });
        self.effects.push_back(Effect::Meter {
            agent_ms,
            transfer_ms: 0,
            outcome: Some(reason),
        });
        self.release();
        Ok(())
    }

    fn release(&mut self) {
        if !self.released {
            self.released = true;
            self.effects.push_back(Effect::Release);
        }
    }
}

fn input_clock(input: &Input) -> u64 {
    match input {
        Input::Listened { now, .. }
        | Input::PeerActive { now }
        | Input::Dtmf { now, .. }
        | Input::MarkPlayed { now, .. }
        | Input::Recognised { now, .. }
        | Input::PartialRefused { now, .. }
        | Input::Rendered { now, .. }
        | Input::TicketFiled { now, .. }
        | Input::Dialed { now, .. }
        | Input::RingOutcome { now, .. }
        | Input::BringBackFailed { now, .. }
        | Input::Resumed { now }
        | Input::HungUp { now, .. }
        | Input::StreamClosing { now }
        | Input::StreamEnded { now, .. }
        | Input::Timeout { now } => *now,
    }
}
