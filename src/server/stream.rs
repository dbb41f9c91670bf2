//! One provider media stream: the adapter between a WebSocket and a live [`Call`].
//!
//! The socket is read by this session's task and written by a task of its own through a bounded queue, so a
//! peer that stops reading fills the queue and ends its own stream, never anyone else's. Caller audio goes
//! through the call's [`Ears`] here (cheap); utterances go to the shared [`RecognitionPool`] (expensive),
//! finals one at a time per call so the matcher sees them in order, partials only when the pool has room.
//! What the core decides is carried out here: log lines to the call's JSONL file, prompts rendered and
//! paced out with marks, barge-in clears, tickets written, transfers handed to the provider.
//!
//! Every way a stream can end is an [`End`] with a reason that is logged and counted. Whatever the reason,
//! audio already received is still recognised and the core is told the caller is gone, so a ticket owed
//! (an escalation being written, a callback half asked) is filed.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};

use super::calllog::CallLog;
use super::metrics::{DecisionLabels, EndLabels, ProtocolLabels};
use super::{mask_number, AppState, CallGuard, Handoff};
use crate::audio::segmenter::Utterance;
use crate::audio::vad::SileroVad;
use crate::call::{Action, Call, CallSetup, Event, Hearing, Transcript};
use crate::events::{CallEvent, EventLine};
use crate::listen::{Ears, Heard, ListenError};
use crate::recognition::{CallMatcher, Job, Pass, Recognised};
use crate::telephony::playout::{Due, Playout};
use crate::telephony::{
    for_provider, AudioFormat, Frame, Inbound, MediaProtocol, Outbound, ProtocolError, StreamStart,
};
use crate::topics::MandatoryTopic;

/// Frames waiting to be written to a peer; a peer that lets this fill up is not reading.
const OUTBOUND_QUEUE: usize = 512;
/// A single write that takes longer than this means the peer stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// A stream that sends nothing for this long is gone.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Caller audio may run this far ahead of the wall clock (network bursts) before the peer counts as flooding.
const FLOOD_SLACK_MS: u64 = 5_000;
/// How often prompts are paced out.
const TICK: Duration = Duration::from_millis(20);
/// A partial transcript is tried once an utterance is this long, and again after each further step.
const PARTIAL_FIRST_SAMPLES: usize = 16_000;
const PARTIAL_STEP_SAMPLES: usize = 8_000;
/// A partial looks at the last 3 s of the utterance at most: a request takes a few seconds to say, and the
/// cost of a look stays the same however long the caller talks (the final hears the whole utterance).
const PARTIAL_WINDOW_SAMPLES: usize = 48_000;
/// How long a closing stream waits for its last utterances to be recognised.
const FINISH_LIMIT: Duration = Duration::from_secs(20);

/// Why a stream ended.
#[derive(Debug)]
pub enum End {
    /// The provider said the call is over.
    Stopped,
    /// The socket closed without the provider saying so.
    Disconnected,
    Protocol(ProtocolError),
    PeerNotReading,
    Flooding,
    Idle,
    Unauthenticated,
    /// The call was transferred and our part is over.
    Transferred,
    /// The server is shutting down and the drain deadline passed.
    Shutdown,
    /// Our own engines failed.
    Internal(String),
}

impl End {
    pub fn label(&self) -> &'static str {
        match self {
            End::Stopped => "stopped",
            End::Disconnected => "disconnected",
            End::Protocol(_) => "protocol_error",
            End::PeerNotReading => "peer_not_reading",
            End::Flooding => "flooding",
            End::Idle => "idle",
            End::Unauthenticated => "unauthenticated",
            End::Transferred => "transferred",
            End::Shutdown => "shutdown",
            End::Internal(_) => "internal_error",
        }
    }

    /// The WebSocket close code that tells the peer why (RFC 6455 section 7.4.1).
    fn close_code(&self) -> u16 {
        match self {
            End::Protocol(ProtocolError::TooLarge { .. }) => 1009,
            End::Protocol(ProtocolError::UnexpectedBinary | ProtocolError::UnexpectedText) => 1003,
            End::Protocol(_) | End::Flooding | End::Unauthenticated => 1008,
            End::Internal(_) => 1011,
            End::Shutdown => 1001,
            _ => 1000,
        }
    }

    fn detail(&self) -> String {
        match self {
            End::Protocol(e) => e.to_string(),
            End::Internal(e) => e.clone(),
            other => other.label().replace('_', " "),
        }
    }
}

/// `GET /<provider>/stream`: checks the stream token when one is configured, then upgrades.
pub async fn upgrade(
    provider: &'static str,
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let route = format!("{provider}_stream");
    if state.calls.is_draining() {
        state.metrics.refuse(&route, "draining");
        return (StatusCode::SERVICE_UNAVAILABLE, "draining\n").into_response();
    }
    let expected = state.engines.config().provider(provider).stream_token;
    let presented = query.get("token").cloned().or_else(|| {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string)
    });
    let authenticated = match (&expected, &presented) {
        (None, _) => true,
        (Some(e), Some(p)) if same(e, p) => true,
        (Some(_), Some(_)) => {
            state.metrics.refuse(&route, "bad_token");
            return (StatusCode::UNAUTHORIZED, "bad stream token\n").into_response();
        }
        // Twilio cannot put a token in the URL: it comes as a custom parameter in the start message.
        (Some(_), None) => false,
    };
    let limit = state.engines.config().server.max_message_bytes;
    ws.max_message_size(limit)
        .max_frame_size(limit)
        .on_failed_upgrade(|e| tracing::warn!(error = %e, "WebSocket upgrade failed"))
        .on_upgrade(move |socket| run(socket, provider, state, authenticated))
}

/// Constant-time comparison of secrets.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

async fn run(socket: WebSocket, provider: &'static str, state: AppState, authenticated: bool) {
    let _guard = CallGuard::enter(&state);
    let (sink, mut incoming) = socket.split();
    let (out, queue) = mpsc::channel(OUTBOUND_QUEUE);
    let stalled = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn(write(sink, queue, stalled.clone()));
    let Some(protocol) = for_provider(provider) else {
        return;
    };
    let mut session = Session {
        provider,
        state: state.clone(),
        protocol,
        out,
        stalled,
        authenticated,
        live: None,
        closing: false,
    };
    let end = session.serve(&mut incoming).await;
    let close = Message::Close(Some(axum::extract::ws::CloseFrame {
        code: end.close_code(),
        // A close reason is limited to 123 bytes.
        reason: end.detail().chars().take(100).collect::<String>().into(),
    }));
    session.finish(end).await;
    // Skipped when the queue is full: the peer is not reading, the socket is dropped instead.
    let _ = session.out.try_send(close);
    // Dropping the queue's sender lets the writer send what is queued, then close the socket.
    drop(session);
    let _ = tokio::time::timeout(SEND_TIMEOUT, writer).await;
}

/// Writes queued messages; sets `stalled` and gives up when one cannot be written within [`SEND_TIMEOUT`].
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut queue: mpsc::Receiver<Message>,
    stalled: Arc<AtomicBool>,
) {
    while let Some(message) = queue.recv().await {
        let closing = matches!(message, Message::Close(_));
        match tokio::time::timeout(SEND_TIMEOUT, sink.send(message)).await {
            Ok(Ok(())) if !closing => {}
            Err(_) => {
                stalled.store(true, Ordering::Relaxed);
                return;
            }
            // Closed, by us or the peer: the session notices when its queue closes.
            _ => return,
        }
    }
    let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Close(None))).await;
}

/// A final utterance waiting for recognition.
struct Pending {
    utterance: Utterance,
    detected_ms: u64,
    detected_at: Instant,
    audio: Vec<f32>,
}

/// A job out on the pool.
struct InFlight<M> {
    reply: oneshot::Receiver<Reply>,
    meta: M,
}

struct PartialMeta {
    start_ms: u64,
    end_ms: u64,
}

/// The call behind a started stream.
struct Live {
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
    last_message: Instant,
    heard: Vec<Heard>,
    finals: VecDeque<Pending>,
    final_in_flight: Option<InFlight<Pending>>,
    partial_in_flight: Option<InFlight<PartialMeta>>,
    /// The utterance the last partial was tried on, and how many samples it had then.
    last_partial: Option<(u64, usize)>,
    /// When the end of the utterance being decided on was detected (for `wall_ms` and the latency metric).
    deciding_since: Option<Instant>,
    /// Paced audio gathered until the provider's minimum message size.
    outgoing: Vec<f32>,
    next_mark: u64,
    /// A transfer was decided: our part ends once the announcement has played.
    transfer: Option<Handoff>,
}

struct Session {
    provider: &'static str,
    state: AppState,
    protocol: Box<dyn MediaProtocol>,
    out: mpsc::Sender<Message>,
    /// The writer gave up on a peer that does not read.
    stalled: Arc<AtomicBool>,
    authenticated: bool,
    live: Option<Live>,
    /// The socket is going away: sends are skipped, the rest still runs.
    closing: bool,
}

type Reply = Result<Recognised, ListenError>;

/// The answer to a job, or never when there is none out.
async fn reply(rx: Option<&mut oneshot::Receiver<Reply>>) -> Reply {
    match rx {
        Some(rx) => rx.await.unwrap_or_else(|_| {
            Err(ListenError::Asr(crate::asr::AsrError::Decode(
                "the recognition worker went away".into(),
            )))
        }),
        None => std::future::pending().await,
    }
}

/// What woke the session up.
enum Step {
    Stop,
    Message(Option<Result<Message, axum::Error>>),
    Final(Reply),
    Partial(Reply),
    Tick,
}

impl Session {
    /// Runs the stream until it ends.
    async fn serve(&mut self, incoming: &mut SplitStream<WebSocket>) -> End {
        let mut stop = self.state.calls.stop_signal();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let opened = Instant::now();
        loop {
            let step = {
                let (finals, partials) = match self.live.as_mut() {
                    Some(live) => (
                        live.final_in_flight.as_mut().map(|f| &mut f.reply),
                        live.partial_in_flight.as_mut().map(|f| &mut f.reply),
                    ),
                    None => (None, None),
                };
                tokio::select! {
                    biased;
                    _ = stop.changed() => Step::Stop,
                    message = incoming.next() => Step::Message(message),
                    result = reply(finals) => Step::Final(result),
                    result = reply(partials) => Step::Partial(result),
                    _ = tick.tick() => Step::Tick,
                }
            };
            let outcome = match step {
                Step::Stop => Err(End::Shutdown),
                Step::Message(None) => Err(End::Disconnected),
                Step::Message(Some(Err(e))) => Err(self.read_error(e)),
                Step::Message(Some(Ok(m))) => self.on_message(m).await,
                Step::Final(result) => self.on_final(result).await,
                Step::Partial(result) => self.on_partial(result).await,
                Step::Tick => self.on_tick(opened).await,
            };
            if let Err(end) = outcome {
                return end;
            }
        }
    }

    fn read_error(&self, e: axum::Error) -> End {
        use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
        let source = e.into_inner();
        match source.downcast_ref::<WsError>() {
            Some(WsError::Capacity(CapacityError::MessageTooLong { size, max_size })) => self
                .protocol_error(ProtocolError::TooLarge {
                    size: *size,
                    limit: *max_size,
                }),
            Some(WsError::Capacity(c)) => {
                self.protocol_error(ProtocolError::Malformed(format!("WebSocket: {c}")))
            }
            // A caller's network dropping is a hang-up, not bad input.
            Some(WsError::Protocol(
                tokio_tungstenite::tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
            )) => End::Disconnected,
            Some(WsError::Protocol(p)) => {
                self.protocol_error(ProtocolError::Malformed(format!("WebSocket: {p}")))
            }
            Some(WsError::Utf8(_)) => {
                self.protocol_error(ProtocolError::Malformed("text frame is not UTF-8".into()))
            }
            _ => End::Disconnected,
        }
    }

    fn protocol_error(&self, e: ProtocolError) -> End {
        self.state
            .metrics
            .protocol_errors
            .get_or_create(&ProtocolLabels {
                provider: self.provider.to_string(),
                kind: e.kind().to_string(),
            })
            .inc();
        End::Protocol(e)
    }

    async fn on_message(&mut self, message: Message) -> Result<(), End> {
        let frame = match message {
            Message::Text(t) => Frame::Text(t.to_string()),
            Message::Binary(b) => Frame::Binary(b.to_vec()),
            Message::Ping(_) | Message::Pong(_) => return Ok(()),
            Message::Close(_) => return Err(End::Disconnected),
        };
        if let Some(live) = self.live.as_mut() {
            live.last_message = Instant::now();
        }
        let inbound = self
            .protocol
            .parse(&frame)
            .map_err(|e| self.protocol_error(e))?;
        for fact in inbound {
            match fact {
                Inbound::Connected | Inbound::Cleared => {}
                Inbound::Started { start, format } => self.start(start, format).await?,
                Inbound::Audio(samples) => self.on_audio(&samples).await?,
                Inbound::Dtmf(digit) => {
                    let live = self.live_mut()?;
                    let t_ms = live.ears.heard_ms();
                    self.handle(Event::Dtmf { t_ms, digit }).await?;
                }
                Inbound::MarkPlayed(name) => {
                    let live = self.live_mut()?;
                    let played = live.playout.mark_echoed(&name);
                    let t_ms = live.ears.heard_ms();
                    for _ in 0..played {
                        self.handle(Event::PromptPlayed { t_ms }).await?;
                    }
                }
                Inbound::Stopped => return Err(End::Stopped),
            }
        }
        Ok(())
    }

    fn live_mut(&mut self) -> Result<&mut Live, End> {
        if self.live.is_none() {
            return Err(self.protocol_error(ProtocolError::BeforeStart("an event")));
        }
        self.live
            .as_mut()
            .ok_or_else(|| End::Internal("the call went away".into()))
    }

    async fn start(&mut self, start: StreamStart, format: AudioFormat) -> Result<(), End> {
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
        let call = Call::new(CallSetup {
            call_id: call_id.clone(),
            caller: caller.clone(),
            support: config.agent.support,
            transfer_number: config.escalation.transfer_number.clone(),
            contextual_summary: config.escalation.contextual_summary,
            extra_fields: config.callback.extra_fields.clone(),
            topics,
            prompts: engines.language().prompts.clone(),
            hearing: Hearing::Live,
        });
        let log = CallLog::open(&config.server.events_dir, &call_id);
        tracing::info!(
            provider = self.provider,
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
        });
        self.handle(Event::Answered { t_ms: 0 }).await
    }

    async fn on_audio(&mut self, samples: &[f32]) -> Result<(), End> {
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

    async fn on_heard(&mut self, heard: &mut Vec<Heard>) -> Result<(), End> {
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
    fn next_final(&mut self) {
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
    fn maybe_partial(&mut self) {
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

    async fn on_final(&mut self, result: Reply) -> Result<(), End> {
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

    async fn on_partial(&mut self, result: Reply) -> Result<(), End> {
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

    async fn on_tick(&mut self, opened: Instant) -> Result<(), End> {
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
        let live = self.live_mut()?;
        if live.transfer.is_some() && !live.call.is_speaking() && !live.playout.is_speaking(now_ms)
        {
            return Err(End::Transferred);
        }
        Ok(())
    }

    fn send(&mut self, frames: Vec<Frame>) -> Result<(), End> {
        if self.closing {
            return Ok(());
        }
        for frame in frames {
            let message = match frame {
                Frame::Text(t) => Message::Text(t.into()),
                Frame::Binary(b) => Message::Binary(b.into()),
            };
            match self.out.try_send(message) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => return Err(End::PeerNotReading),
                Err(mpsc::error::TrySendError::Closed(_))
                    if self.stalled.load(Ordering::Relaxed) =>
                {
                    return Err(End::PeerNotReading)
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(End::Disconnected),
            }
        }
        Ok(())
    }

    /// Feeds the core and carries out what it asks until it has nothing more.
    async fn handle(&mut self, event: Event) -> Result<(), End> {
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

    async fn act(&mut self, action: Action) -> Result<(), End> {
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
                        live.playout.say(mark, samples.as_ref().clone());
                    }
                    Err(e) => {
                        // Nothing will play: the core must not wait for it.
                        tracing::error!(call_id = live.call_id, error = %e, "cannot speak a prompt");
                        let t_ms = live.ears.heard_ms();
                        live.call
                            .handle(Event::PromptPlayed { t_ms })
                            .map_err(|e| End::Internal(e.to_string()))?;
                    }
                }
            }
            Action::Transfer { to, summary } => {
                tracing::info!(
                    call_id = live.call_id,
                    provider,
                    to = %mask_number(&to),
                    "transfer decided; the stream closes once the announcement has played"
                );
                let handoff = Handoff { to, summary };
                if provider == "twilio" {
                    state
                        .handoffs
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(live.call_id.clone(), handoff.clone());
                }
                live.transfer = Some(handoff);
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

    /// Ends the call whatever the reason: recognises what was heard, tells the core the caller is gone (so
    /// owed tickets are filed), writes the end line, and counts it.
    async fn finish(&mut self, end: End) {
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
        let Some(live) = self.live.as_mut() else {
            tracing::info!(provider = self.provider, reason, detail = %end.detail(), "stream ended before a call started");
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
        tracing::info!(provider = self.provider, call_id, reason, detail = %end.detail(), "call ended");
    }
}
