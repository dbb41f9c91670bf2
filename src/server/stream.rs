//! One provider media stream: the adapter between a WebSocket and a live [`Call`].
//!
//! The socket is read by this session's task and written by a task of its own through a bounded queue, so a
//! peer that stops reading fills the queue and ends its own stream, never anyone else's. What the provider's
//! messages mean for the call is in [`super::session`].
//!
//! Every way a stream can end is an [`End`] with a reason that is logged and counted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use super::metrics::ProtocolLabels;
use super::session::{reply, Live, Reply};
use super::{AppState, CallGuard};
use crate::providers::Provider;
use crate::telephony::{Frame, Inbound, MediaProtocol, ProtocolError};

/// Frames waiting to be written to a peer; a peer that lets this fill up is not reading.
const OUTBOUND_QUEUE: usize = 512;
/// A single write that takes longer than this means the peer stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a closing stream waits for the peer's close frame.
const CLOSE_REPLY_TIMEOUT: Duration = Duration::from_secs(2);
/// A stream that sends nothing for this long is gone.
pub(super) const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How often prompts are paced out.
const TICK: Duration = Duration::from_millis(20);

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
    /// The agent finished (the callback was promised and goodbye said).
    Completed,
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
            End::Completed => "completed",
            End::Shutdown => "shutdown",
            End::Internal(_) => "internal_error",
        }
    }

    /// The WebSocket close code that tells the peer why (RFC 6455 section 7.4.1).
    pub(super) fn close_code(&self) -> u16 {
        match self {
            End::Protocol(ProtocolError::TooLarge { .. }) => 1009,
            End::Protocol(ProtocolError::UnexpectedBinary | ProtocolError::UnexpectedText) => 1003,
            End::Protocol(_) | End::Flooding | End::Unauthenticated => 1008,
            End::Internal(_) => 1011,
            End::Shutdown => 1001,
            _ => 1000,
        }
    }

    pub(super) fn detail(&self) -> String {
        match self {
            End::Protocol(e) => e.to_string(),
            End::Internal(e) => e.clone(),
            other => other.label().replace('_', " "),
        }
    }
}

/// `GET /<provider>/stream`: checks the stream token when one is configured, then upgrades.
pub async fn upgrade(
    provider: Provider,
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

/// A WebSocket close reason holds at most 123 bytes: longer details are cut at a character boundary.
fn close_reason(detail: &str) -> String {
    let mut end = detail.len().min(123);
    while !detail.is_char_boundary(end) {
        end -= 1;
    }
    detail[..end].to_string()
}

/// Constant-time comparison of secrets.
pub(super) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

async fn run(socket: WebSocket, provider: Provider, state: AppState, authenticated: bool) {
    let _guard = CallGuard::enter(&state);
    let (sink, mut incoming) = socket.split();
    let (out, queue) = mpsc::channel(OUTBOUND_QUEUE);
    let stalled = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn(write(sink, queue, stalled.clone()));
    let protocol = provider.media();
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
        reason: close_reason(&end.detail()).into(),
    }));
    session.finish(end).await;
    // Skipped when the queue is full: the peer is not reading, the socket is dropped instead.
    let _ = session.out.try_send(close);
    // Dropping the queue's sender lets the writer send what is queued, then close the socket.
    drop(session);
    let _ = tokio::time::timeout(SEND_TIMEOUT, writer).await;
    await_close_reply(&mut incoming).await;
}

/// The closing handshake: after our close frame, read (and discard) until the peer answers with its own or
/// goes away. Dropping the socket while the peer's media is still arriving makes the kernel reset the
/// connection, and a reset can destroy our close frame, with its reason, before the peer reads it.
async fn await_close_reply(incoming: &mut SplitStream<WebSocket>) {
    let _ = tokio::time::timeout(CLOSE_REPLY_TIMEOUT, async {
        while let Some(Ok(message)) = incoming.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
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

pub(super) struct Session {
    pub(super) provider: Provider,
    pub(super) state: AppState,
    pub(super) protocol: Box<dyn MediaProtocol>,
    pub(super) out: mpsc::Sender<Message>,
    /// The writer gave up on a peer that does not read.
    pub(super) stalled: Arc<AtomicBool>,
    pub(super) authenticated: bool,
    pub(super) live: Option<Live>,
    /// The socket is going away: sends are skipped, the rest still runs.
    pub(super) closing: bool,
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

    pub(super) fn read_error(&self, e: axum::Error) -> End {
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

    pub(super) fn protocol_error(&self, e: ProtocolError) -> End {
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
                Inbound::Dtmf(digit) => self.on_dtmf(digit).await?,
                Inbound::MarkPlayed(name) => self.on_mark(&name).await?,
                Inbound::Stopped => return Err(End::Stopped),
            }
        }
        Ok(())
    }

    pub(super) fn live_mut(&mut self) -> Result<&mut Live, End> {
        if self.live.is_none() {
            return Err(self.protocol_error(ProtocolError::BeforeStart("an event")));
        }
        self.live
            .as_mut()
            .ok_or_else(|| End::Internal("the call went away".into()))
    }

    pub(super) fn send(&mut self, frames: Vec<Frame>) -> Result<(), End> {
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
}

#[cfg(test)]
mod tests {
    #[test]
    fn close_reasons_fit_the_frame_and_stay_valid_text() {
        assert_eq!(super::close_reason("transferred"), "transferred");
        let long = "é".repeat(100);
        let cut = super::close_reason(&long);
        assert!(cut.len() <= 123 && cut.chars().all(|c| c == 'é'));
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(super::same("s3cret", "s3cret"));
        assert!(!super::same("s3cret", "s3creT"));
        assert!(!super::same("s3cret", "s3cre"));
    }
}
