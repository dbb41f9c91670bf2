//! The call side of a stream session: what the provider's facts mean for the [`Call`], and carrying out
//! what the call decides. Caller audio goes through the call's [`Ears`] here (cheap); utterances go to the
//! shared [`RecognitionPool`](crate::recognition::RecognitionPool) (expensive): finals one at a time per call
//! so the matcher sees them in order, partials only when a worker is free. Log lines go to the call's JSONL
//! file, prompts are rendered and paced out with marks, barge-in clears, tickets are written, transfers are
//! handed to the provider. Whatever ends the stream, audio already received is still recognised and the core
//! is told the caller is gone, so a ticket owed is filed.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::calllog::CallLog;
use super::metrics::{DecisionLabels, EndLabels};
use super::stream::{same, End, Session, IDLE_TIMEOUT};
use super::transfer::{self, Parked, PendingTransfer};
use super::{mask_number, Handoff};
use crate::audio::segmenter::Utterance;
use crate::audio::vad::SileroVad;
use crate::call::{Action, Call, CallSetup, Event, Hearing, Transcript};
use crate::events::{CallEvent, EventLine};
use crate::listen::{Ears, Heard, ListenError};
use crate::providers::Provider;
use crate::recognition::{CallMatcher, Job, Pass, Recognised};
use crate::telephony::playout::{Due, Playout};
use crate::telephony::{AudioFormat, Outbound, ProtocolError, StreamStart};
use crate::topics::MandatoryTopic;

/// Caller audio may run this far ahead of the wall clock (network bursts) before the peer counts as flooding.
const FLOOD_SLACK_MS: u64 = 5_000;
/// A partial transcript is tried once an utterance is this long, and again after each further step.
const PARTIAL_FIRST_SAMPLES: usize = 16_000;
const PARTIAL_STEP_SAMPLES: usize = 8_000;
/// A partial looks at the last 3 s of the utterance at most: a request takes a few seconds to say, and the
/// cost of a look stays the same however long the caller talks (the final hears the whole utterance).
const PARTIAL_WINDOW_SAMPLES: usize = 48_000;
/// How long a closing stream waits for its last utterances to be recognised.
const FINISH_LIMIT: Duration = Duration::from_secs(20);

/// A final utterance waiting for recognition.
pub(super) struct Pending {
    utterance: Utterance,
    detected_ms: u64,
    detected_at: Instant,
    audio: Vec<f32>,
}

/// A job out on the pool.
pub(super) struct InFlight<M> {
    pub(super) reply: oneshot::Receiver<Reply>,
    pub(super) meta: M,
}

pub(super) struct PartialMeta {
    start_ms: u64,
    end_ms: u64,
}

/// The call behind a started stream.
pub(super) struct Live {
    call: Call,
    ears: Ears,
    matcher: CallMatcher,
    playout: Playout,
    format: AudioFormat,
    log: CallLog,
    call_id: String,
    /// When the stream started: the playout clock.
    started: Instant,
    /// Caller audio received, in ms: the flood check.
    received_ms: u64,
    pub(super) last_message: Instant,
    heard: Vec<Heard>,
    finals: VecDeque<Pending>,
    pub(super) final_in_flight: Option<InFlight<Pending>>,
    pub(super) partial_in_flight: Option<InFlight<PartialMeta>>,
    /// The utterance the last partial was tried on, and how many samples it had then.
    last_partial: Option<(u64, usize)>,
    /// When the end of the utterance being decided on was detected (for `wall_ms` and the latency metric).
    deciding_since: Option<Instant>,
    /// Paced audio gathered until the provider's minimum message size.
    outgoing: Vec<f32>,
    next_mark: u64,
    /// A transfer was decided: it is dialed once the announcement has played.
    transfer: Option<PendingTransfer>,
    /// The attempt being rung (its row in the store).
    attempt_id: Option<i64>,
    /// The core said [`Action::HangUp`]: the stream closes once everything has played.
    hanging_up: bool,
}

pub(super) type Reply = Result<Recognised, ListenError>;

/// The answer to a job, or never when there is none out.
pub(super) async fn reply(rx: Option<&mut oneshot::Receiver<Reply>>) -> Reply {
    match rx {
        Some(rx) => rx.await.unwrap_or_else(|_| {
            Err(ListenError::Asr(crate::asr::AsrError::Decode(
                "the recognition worker went away".into(),
            )))
        }),
        None => std::future::pending().await,
    }
}

impl Session {
    pub(super) async fn start(
        &mut self,
        start: StreamStart,
        format: AudioFormat,
    ) -> Result<(), End> {
        if self.live.is_some() {
            return Err(self.protocol_error(ProtocolError::Malformed(
                "a second start on one stream".into(),
            )));
        }
        let config = self.state.engines.config();
        if !self.authenticated {
            let expected = config.provider(self.provider).stream_token;
            let presented = start.parameters.get("token");
            match (expected, presented) {
                (Some(e), Some(p)) if same(&e, p) => {}
                _ => {
                    self.state
                        .metrics
                        .refuse(&format!("{}_stream", self.provider), "no_token");
                    return Err(End::Unauthenticated);
                }
            }
        }
        let call_id = [&start.call_id, &start.stream_id]
            .into_iter()
            .find(|id| !id.is_empty())
            .cloned()
            .unwrap_or_else(|| {
                format!(
                    "{}-{}",
                    self.provider,
                    chrono::Utc::now().timestamp_millis()
                )
            });
        let caller = start
            .from
            .clone()
            .or_else(|| start.parameters.get("from").cloned())
            .or_else(|| start.parameters.get("caller").cloned())
            .filter(|c| !c.trim().is_empty());
        let engines = &self.state.engines;
        let vad = SileroVad::shared(self.state.vad.clone());
        let ears = Ears::new(format.sample_rate(), vad, config.vad)
            .map_err(|e| End::Internal(e.to_string()))?;
        let topics: Vec<MandatoryTopic> = engines.index().topics().cloned().collect();
        // A transfer nobody took brings the caller back on a new stream: the same call goes on.
        let resumed = {
            let mut parked = self.state.parked.lock().unwrap_or_else(|p| p.into_inner());
            match parked.get(&call_id) {
                Some(p) if p.resume.is_some() => parked.remove(&call_id),
                _ => None,
            }
        };
        let mut ears = ears;
        let (call, resume) = match resumed {
            Some(p) => {
                let t_ms = p.now_ms();
                ears.start_at(t_ms);
                (p.call, p.resume.map(|outcome| (t_ms, outcome)))
            }
            None => (
                Call::new(CallSetup::for_agent(
                    call_id.clone(),
                    caller.clone(),
                    config,
                    engines.language(),
                    topics,
                    Hearing::Live,
                    chrono::Utc::now(),
                )),
                None,
            ),
        };
        let log = CallLog::open(&config.server.events_dir, &call_id);
        tracing::info!(
            provider = %self.provider,
            call_id,
            caller = %caller.as_deref().map(mask_number).unwrap_or_default(),
            rate = format.sample_rate(),
            events = %log.path().display(),
            "call started"
        );
        self.live = Some(Live {
            call,
            ears,
            matcher: Arc::new(Mutex::new(engines.matcher())),
            playout: Playout::new(format.sample_rate()),
            format,
            log,
            call_id,
            started: Instant::now(),
            received_ms: 0,
            last_message: Instant::now(),
            heard: Vec::new(),
            finals: VecDeque::new(),
            final_in_flight: None,
            partial_in_flight: None,
            last_partial: None,
            deciding_since: None,
            outgoing: Vec::new(),
            next_mark: 0,
            transfer: None,
            attempt_id: None,
            hanging_up: false,
        });
        match resume {
            Some((t_ms, outcome)) => {
                tracing::info!(
                    provider = %self.provider,
                    outcome,
                    "the caller is back: nobody took the transfer"
                );
                self.handle(Event::TransferFailed { t_ms, outcome }).await
            }
            None => self.handle(Event::Answered { t_ms: 0 }).await,
        }
    }

    pub(super) async fn on_dtmf(&mut self, digit: char) -> Result<(), End> {
        let t_ms = self.live_mut()?.ears.heard_ms();
        self.handle(Event::Dtmf { t_ms, digit }).await
    }

    /// The provider played everything up to `mark`: each prompt that completes is heard.
    pub(super) async fn on_mark(&mut self, mark: &str) -> Result<(), End> {
        let live = self.live_mut()?;
        let played = live.playout.mark_echoed(mark);
        let t_ms = live.ears.heard_ms();
        for _ in 0..played {
            self.handle(Event::PromptPlayed { t_ms }).await?;
        }
        Ok(())
    }

    pub(super) async fn on_audio(&mut self, samples: &[f32]) -> Result<(), End> {
        let live = self.live_mut()?;
        live.received_ms += samples.len() as u64 * 1000 / u64::from(live.format.sample_rate());
        if live.received_ms > live.started.elapsed().as_millis() as u64 + FLOOD_SLACK_MS {
            return Err(End::Flooding);
        }
        let mut heard = std::mem::take(&mut live.heard);
        live.ears
            .push(samples, &mut heard)
            .map_err(|e| End::Internal(e.to_string()))?;
        self.on_heard(&mut heard).await?;
        if let Some(live) = self.live.as_mut() {
            live.heard = heard;
        }
        self.maybe_partial();
        Ok(())
    }

    pub(super) async fn on_heard(&mut self, heard: &mut Vec<Heard>) -> Result<(), End> {
        for h in heard.drain(..) {
            match h {
                Heard::Voice { t_ms } => self.handle(Event::VoiceOnset { t_ms }).await?,
                Heard::Started { start_ms } => {
                    self.handle(Event::SpeechStarted { t_ms: start_ms }).await?
                }
                Heard::Ended {
                    utterance,
                    detected_ms,
                    audio,
                } => {
                    self.handle(Event::SpeechEnded { t_ms: detected_ms })
                        .await?;
                    let live = self.live_mut()?;
                    live.finals.push_back(Pending {
                        utterance,
                        detected_ms,
                        detected_at: Instant::now(),
                        audio,
                    });
                    self.next_final();
                }
            }
        }
        Ok(())
    }

    /// Sends the next final to the pool unless one of this call's is already there.
    pub(super) fn next_final(&mut self) {
        let Some(live) = self.live.as_mut() else {
            return;
        };
        if live.final_in_flight.is_some() {
            return;
        }
        // Once the call is transferred or over, nobody listens: its last words need no recognising.
        if live.call.is_finished() {
            live.finals.clear();
            return;
        }
        let Some(mut pending) = live.finals.pop_front() else {
            return;
        };
        let (tx, rx) = oneshot::channel();
        self.state.pool.submit_final(Job {
            audio: std::mem::take(&mut pending.audio),
            pass: Pass::Final,
            matcher: live.matcher.clone(),
            reply: tx,
        });
        live.final_in_flight = Some(InFlight {
            reply: rx,
            meta: pending,
        });
    }

    /// Tries a partial of the open utterance when it has grown enough and the pool has room.
    pub(super) fn maybe_partial(&mut self) {
        let confidence = self.state.engines.config().matching.partial_confidence;
        let Some(live) = self.live.as_mut() else {
            return;
        };
        if live.partial_in_flight.is_some()
            || live.final_in_flight.is_some()
            || !live.finals.is_empty()
            || !live.call.is_listening()
        {
            return;
        }
        let heard_ms = live.ears.heard_ms();
        let Some((start_ms, audio)) = live.ears.open_utterance() else {
            return;
        };
        let due = match live.last_partial {
            Some((s, n)) if s == start_ms => audio.len() >= n + PARTIAL_STEP_SAMPLES,
            _ => audio.len() >= PARTIAL_FIRST_SAMPLES,
        };
        if !due {
            return;
        }
        live.last_partial = Some((start_ms, audio.len()));
        let (tx, rx) = oneshot::channel();
        let job = Job {
            audio: audio[audio.len().saturating_sub(PARTIAL_WINDOW_SAMPLES)..].to_vec(),
            pass: Pass::Partial { confidence },
            matcher: live.matcher.clone(),
            reply: tx,
        };
        match self.state.pool.try_partial(job) {
            Ok(()) => {
                live.partial_in_flight = Some(InFlight {
                    reply: rx,
                    meta: PartialMeta {
                        start_ms,
                        end_ms: heard_ms,
                    },
                });
            }
            Err(_) => {
                self.state.metrics.partials_dropped.inc();
            }
        }
    }

    pub(super) async fn on_final(&mut self, result: Reply) -> Result<(), End> {
        let live = self.live_mut()?;
        let Some(flight) = live.final_in_flight.take() else {
            return Ok(());
        };
        let pending = flight.meta;
        match result {
            Ok(recognised) => {
                live.deciding_since = Some(pending.detected_at);
                let event = Event::Heard {
                    t_ms: pending.detected_ms,
                    transcript: Transcript {
                        text: recognised.text,
                        start_ms: pending.utterance.start_ms,
                        end_ms: pending.utterance.end_ms,
                        is_final: true,
                    },
                    hits: recognised.hits,
                };
                let handled = self.handle(event).await;
                if let Some(live) = self.live.as_mut() {
                    live.deciding_since = None;
                }
                handled?;
            }
            Err(e) => tracing::error!(
                call_id = live.call_id,
                error = %e,
                "an utterance could not be recognised"
            ),
        }
        self.next_final();
        Ok(())
    }

    pub(super) async fn on_partial(&mut self, result: Reply) -> Result<(), End> {
        let live = self.live_mut()?;
        let Some(flight) = live.partial_in_flight.take() else {
            return Ok(());
        };
        let meta = flight.meta;
        // Stale once its utterance has ended: the final speaks for it.
        let open = live.ears.open_utterance().map(|(start, _)| start);
        let recognised = match result {
            Ok(r) if open == Some(meta.start_ms) => r,
            Ok(_) => return Ok(()),
            Err(e) => {
                tracing::warn!(call_id = live.call_id, error = %e, "a partial could not be recognised");
                return Ok(());
            }
        };
        let t_ms = live.ears.heard_ms();
        self.handle(Event::Heard {
            t_ms,
            transcript: Transcript {
                text: recognised.text,
                start_ms: meta.start_ms,
                end_ms: meta.end_ms,
                is_final: false,
            },
            hits: recognised.hits,
        })
        .await
    }

    pub(super) async fn on_tick(&mut self, opened: Instant) -> Result<(), End> {
        if self.stalled.load(Ordering::Relaxed) {
            return Err(End::PeerNotReading);
        }
        let Some(live) = self.live.as_mut() else {
            if opened.elapsed() > IDLE_TIMEOUT {
                return Err(End::Idle);
            }
            return Ok(());
        };
        if live.last_message.elapsed() > IDLE_TIMEOUT {
            return Err(End::Idle);
        }
        let now_ms = live.started.elapsed().as_millis() as u64;
        let min_ms = self.protocol.min_audio_ms();
        let mut frames = Vec::new();
        for due in live.playout.due(now_ms + min_ms) {
            match due {
                Due::Audio(samples) => {
                    live.outgoing.extend_from_slice(&samples);
                    let gathered_ms =
                        live.outgoing.len() as u64 * 1000 / u64::from(live.format.sample_rate());
                    if gathered_ms >= min_ms {
                        frames.push(self.protocol.encode(Outbound::Audio(&live.outgoing)));
                        live.outgoing.clear();
                    }
                }
                Due::Mark(name) => {
                    if !live.outgoing.is_empty() {
                        frames.push(self.protocol.encode(Outbound::Audio(&live.outgoing)));
                        live.outgoing.clear();
                    }
                    frames.push(self.protocol.encode(Outbound::Mark(&name)));
                }
            }
        }
        let played = if self.protocol.echoes_marks() {
            0
        } else {
            live.playout.played_by(now_ms).len()
        };
        let t_ms = live.ears.heard_ms();
        for encoded in frames {
            let encoded = encoded.map_err(|e| End::Internal(e.to_string()))?;
            self.send(encoded)?;
        }
        for _ in 0..played {
            self.handle(Event::PromptPlayed { t_ms }).await?;
        }
        // The dialog's silence and keypad timeouts run on call time.
        self.handle(Event::Tick { t_ms }).await?;
        let live = self.live_mut()?;
        let quiet = !live.call.is_speaking() && !live.playout.is_speaking(now_ms);
        if quiet && live.transfer.is_some() {
            return self.dial().await;
        }
        if quiet && live.hanging_up {
            return Err(End::Completed);
        }
        Ok(())
    }

    /// Feeds the core and carries out what it asks until it has nothing more.
    pub(super) async fn handle(&mut self, event: Event) -> Result<(), End> {
        let live = self.live_mut()?;
        live.call
            .handle(event)
            .map_err(|e| End::Internal(e.to_string()))?;
        loop {
            let live = self.live_mut()?;
            let Some(action) = live.call.poll_action() else {
                return Ok(());
            };
            self.act(action).await?;
        }
    }

    pub(super) async fn act(&mut self, action: Action) -> Result<(), End> {
        let state = self.state.clone();
        let provider = self.provider;
        let live = self.live_mut()?;
        match action {
            Action::Log(mut line) => {
                if line.wants_wall_time() {
                    line.wall_ms = live.deciding_since.map(|t| t.elapsed().as_millis() as u64);
                }
                if let CallEvent::Decision { decision, .. } = &line.event {
                    state
                        .metrics
                        .decisions
                        .get_or_create(&DecisionLabels {
                            decision: format!("{decision:?}").to_lowercase(),
                        })
                        .inc();
                    match live.deciding_since {
                        Some(since) => state
                            .metrics
                            .decision_latency
                            .observe(since.elapsed().as_secs_f64()),
                        None => {
                            state.metrics.decisions_on_partials.inc();
                        }
                    }
                }
                tracing::debug!(call_id = live.call_id, line = %line.human(), "call event");
                live.log.write(&line);
            }
            Action::Say { text } => {
                let rate = live.format.sample_rate();
                let samples = if state.speech.is_cached(&text, rate) {
                    state.speech.render(&text, rate)
                } else {
                    let speech = state.clone();
                    let sentence = text.clone();
                    tokio::task::spawn_blocking(move || speech.speech.render(&sentence, rate))
                        .await
                        .map_err(|e| End::Internal(e.to_string()))?
                };
                let live = self.live_mut()?;
                match samples {
                    Ok(samples) => {
                        live.next_mark += 1;
                        let mark = format!("say-{}", live.next_mark);
                        live.playout.say(mark, samples);
                    }
                    Err(e) => {
                        // Nothing will play: the core must not wait for it, nor log it as heard.
                        tracing::error!(call_id = live.call_id, error = %e, "cannot speak a prompt");
                        let t_ms = live.ears.heard_ms();
                        live.call
                            .handle(Event::PromptFailed {
                                t_ms,
                                reason: e.to_string(),
                            })
                            .map_err(|e| End::Internal(e.to_string()))?;
                    }
                }
            }
            Action::Transfer {
                to,
                fallbacks,
                summary,
                ticket,
            } => {
                tracing::info!(
                    call_id = live.call_id,
                    provider = %provider,
                    to = %mask_number(&to),
                    fallbacks = fallbacks.len(),
                    "transfer decided; dialed once the announcement has played"
                );
                transfer::sweep(&state);
                state
                    .handoffs
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(
                        live.call_id.clone(),
                        Handoff {
                            to: to.clone(),
                            summary: summary.clone(),
                            key: transfer::whisper_key(),
                            since: Instant::now(),
                        },
                    );
                let mut targets: std::collections::VecDeque<String> = fallbacks.into();
                targets.push_front(to);
                live.transfer = Some(PendingTransfer {
                    targets,
                    summary,
                    ticket,
                    decided_at: live.deciding_since.unwrap_or_else(Instant::now),
                    llm: transfer::start_summary(&state, ticket),
                    attempt: 0,
                    ringing: Vec::new(),
                    dialed: false,
                });
            }
            Action::HangUp => {
                tracing::info!(
                    call_id = live.call_id,
                    provider = %provider,
                    "the agent is done; the stream closes once the goodbye has played"
                );
                live.hanging_up = true;
            }
            Action::FileTicket(draft) => {
                let mut attempt = 0;
                let filed = loop {
                    match state.store.file(&draft).await {
                        Ok(id) => break Some(id),
                        Err(e) if attempt < 3 => {
                            attempt += 1;
                            tracing::warn!(call_id = live.call_id, error = %e, attempt, "ticket write failed; retrying");
                            tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                        }
                        Err(e) => {
                            tracing::error!(call_id = live.call_id, error = %e, "ticket could not be written");
                            break None;
                        }
                    }
                };
                match filed {
                    Some(id) => {
                        state.metrics.tickets_filed.inc();
                        let t_ms = live.ears.heard_ms();
                        live.call
                            .handle(Event::TicketFiled { t_ms, id })
                            .map_err(|e| End::Internal(e.to_string()))?;
                    }
                    None => {
                        state.metrics.ticket_errors.inc();
                    }
                }
            }
            Action::StopSpeaking => {
                let now_ms = live.started.elapsed().as_millis() as u64;
                let t_ms = live.ears.heard_ms();
                // Prompts that finished playing before the barge-in were heard, echoed or not.
                let played = live.playout.played_by(now_ms).len();
                let cut = live.playout.clear(now_ms);
                live.outgoing.clear();
                state.metrics.barge_ins.inc();
                for _ in 0..played {
                    live.call
                        .handle(Event::PromptPlayed { t_ms })
                        .map_err(|e| End::Internal(e.to_string()))?;
                }
                live.call
                    .handle(Event::PromptsCut {
                        t_ms,
                        heard_ms: cut.interrupted.as_ref().map(|(_, ms)| *ms),
                        dropped: cut.dropped.len(),
                    })
                    .map_err(|e| End::Internal(e.to_string()))?;
                let clear = self
                    .protocol
                    .encode(Outbound::Clear)
                    .map_err(|e| End::Internal(e.to_string()))?;
                self.send(clear)?;
            }
        }
        Ok(())
    }

    /// The announcement has played: rings the next target through the provider's call control. The stream
    /// ends when the provider took the call (or has no call control of ours, so the stream's end hands it
    /// over); a provider that cannot be reached brings the caller back to the agent at once.
    async fn dial(&mut self) -> Result<(), End> {
        let state = self.state.clone();
        let provider = self.provider;
        let live = self.live_mut()?;
        let Some(mut pending) = live.transfer.take() else {
            return Ok(());
        };
        if pending.dialed {
            live.transfer = Some(pending);
            return Err(End::Transferred);
        }
        let call_id = live.call_id.clone();
        let t_ms = live.ears.heard_ms();
        let ready = Instant::now();
        transfer::settle_summary(&state, &mut pending, &call_id).await;
        if let Some(summary) = &pending.summary {
            if let Some(h) = state
                .handoffs
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_mut(&call_id)
            {
                h.summary = Some(summary.clone());
            }
        }
        let all_at_once = state.dialers.ring == crate::config::RingOrder::AllAtOnce
            && provider == Provider::Twilio;
        let group: Vec<String> = if all_at_once {
            pending.targets.drain(..).collect()
        } else {
            pending.targets.pop_front().into_iter().collect()
        };
        if group.is_empty() {
            return Err(End::Transferred);
        }
        let to = group.join(", ");
        pending.attempt += 1;
        let attempt_id = transfer::begin_attempt(
            &state,
            transfer::Ring {
                call_id: &call_id,
                provider,
                ticket: pending.ticket,
                attempt: pending.attempt,
                to: &to,
                t_ms,
                since: Some(pending.decided_at),
                ready: Some(ready),
            },
        )
        .await;
        let whisper = pending.summary.is_some();
        let dialed =
            transfer::dial_live(&state, provider, &call_id, &group, whisper, pending.attempt).await;
        let live = self.live_mut()?;
        live.attempt_id = attempt_id;
        match dialed {
            Ok(transfer::Dialed::Reported | transfer::Dialed::AtStreamEnd) => {
                // The provider will say how it went: the call waits for that, parked, once the stream ends.
                pending.dialed = true;
                pending.ringing = group;
                live.transfer = Some(pending);
                Err(End::Transferred)
            }
            Ok(transfer::Dialed::HandedOver) => {
                // The provider (or its own flow, when the stream closes) has the call and will not report.
                transfer::end_attempt(&state, attempt_id, "handed-over", None, None).await;
                let t_ms = self.live_mut()?.ears.heard_ms();
                self.handle(Event::TransferHandedOver { t_ms }).await?;
                Err(End::Transferred)
            }
            Err(e) => {
                tracing::error!(call_id, provider = %provider, error = %e, "the transfer could not be dialed");
                let outcome = format!("unavailable: {e}");
                transfer::end_attempt(
                    &state,
                    attempt_id,
                    "unavailable",
                    Some(&e.to_string()),
                    None,
                )
                .await;
                if let Some(live) = self.live.as_mut() {
                    live.attempt_id = None;
                }
                let t_ms = self.live_mut()?.ears.heard_ms();
                self.handle(Event::TransferFailed { t_ms, outcome }).await
            }
        }
    }

    /// The provider has the call for a transfer: the call waits, off the stream, for the outcome.
    fn park(&mut self) -> bool {
        let Some(live) = self.live.as_ref() else {
            return false;
        };
        let handed =
            live.call.is_transferring() && live.transfer.as_ref().is_some_and(|t| t.dialed);
        if !handed {
            return false;
        }
        let Some(mut live) = self.live.take() else {
            return false;
        };
        let Some(mut pending) = live.transfer.take() else {
            return false;
        };
        let t_ms = live.ears.heard_ms();
        let current = std::mem::take(&mut pending.ringing);
        let parked = Parked {
            call: live.call,
            provider: self.provider,
            ticket: pending.ticket,
            current,
            targets: pending.targets,
            summary: pending.summary,
            attempt: pending.attempt,
            attempt_id: live.attempt_id,
            t_ms,
            parked_at: Instant::now(),
            resume: None,
            bridged_at: None,
            answered: None,
        };
        transfer::sweep(&self.state);
        self.state
            .parked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(live.call_id.clone(), parked);
        live.log.write(&EventLine::new(
            t_ms,
            CallEvent::StreamEnd {
                reason: End::Transferred.label().to_string(),
                detail: "waiting for the transfer's outcome".into(),
            },
        ));
        self.meter(&live.call_id, live.started.elapsed(), None);
        true
    }

    /// Adds this stream's time with the agent to the call's usage.
    fn meter(&self, call_id: &str, agent: Duration, outcome: Option<&str>) {
        let store = self.state.store.clone();
        let (call_id, provider) = (call_id.to_string(), self.provider);
        let outcome = outcome.map(str::to_string);
        tokio::spawn(async move {
            let ms = agent.as_millis() as u64;
            if let Err(e) = store
                .add_usage(&call_id, provider.as_str(), ms, 0, outcome.as_deref())
                .await
            {
                tracing::error!(call_id, error = %e, "cannot meter the call");
            }
        });
    }

    /// Ends the call whatever the reason: recognises what was heard, tells the core the caller is gone (so
    /// owed tickets are filed), writes the end line, and counts it.
    pub(super) async fn finish(&mut self, end: End) {
        self.closing = true;
        let reason = end.label();
        self.state
            .metrics
            .calls
            .get_or_create(&EndLabels {
                provider: self.provider.to_string(),
                reason: reason.to_string(),
            })
            .inc();
        if matches!(end, End::Transferred) && self.park() {
            tracing::info!(
                provider = %self.provider,
                reason,
                "the provider has the call; waiting for the transfer's outcome"
            );
            return;
        }
        let Some(live) = self.live.as_mut() else {
            tracing::info!(provider = %self.provider, reason, detail = %end.detail(), "stream ended before a call started");
            return;
        };
        let call_id = live.call_id.clone();
        if !live.call.is_finished() {
            let mut heard = std::mem::take(&mut live.heard);
            if let Err(e) = live.ears.finish(&mut heard) {
                tracing::error!(call_id, error = %e, "cannot finish listening");
            }
            let _ = self.on_heard(&mut heard).await;
            // The last utterances still count: a caller who hangs up right after asking is still owed.
            let deadline = tokio::time::Instant::now() + FINISH_LIMIT;
            while self
                .live
                .as_ref()
                .is_some_and(|l| l.final_in_flight.is_some())
            {
                let rx = self
                    .live
                    .as_mut()
                    .and_then(|l| l.final_in_flight.as_mut())
                    .map(|f| &mut f.reply);
                let result = match tokio::time::timeout_at(deadline, reply(rx)).await {
                    Ok(r) => r,
                    Err(_) => {
                        tracing::error!(call_id, "gave up waiting for the last utterances");
                        break;
                    }
                };
                let _ = self.on_final(result).await;
            }
        }
        let Some(live) = self.live.as_mut() else {
            return;
        };
        let t_ms = live.ears.heard_ms();
        let _ = self.handle(Event::HungUp { t_ms }).await;
        let Some(live) = self.live.as_mut() else {
            return;
        };
        live.log.write(&EventLine::new(
            t_ms,
            CallEvent::StreamEnd {
                reason: reason.to_string(),
                detail: end.detail(),
            },
        ));
        let agent = live.started.elapsed();
        self.meter(&call_id, agent, Some(reason));
        tracing::info!(provider = %self.provider, call_id, reason, detail = %end.detail(), "call ended");
    }
}
