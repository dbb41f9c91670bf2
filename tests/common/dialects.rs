//! The media-stream dialects of Telnyx, Vonage, Plivo and Exotel as a test peer plays them: start
//! messages, 20 ms frames of caller audio in each provider's framing, and the answers to our marks.

use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use switchboard::audio::g711::Law;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// How one provider talks.
#[derive(Clone, Copy)]
pub enum Dialect {
    Telnyx,
    Vonage,
    Plivo,
    Exotel,
}

impl Dialect {
    pub fn route(self) -> &'static str {
        match self {
            Dialect::Telnyx => "/telnyx/stream",
            Dialect::Vonage => "/vonage/stream",
            Dialect::Plivo => "/plivo/stream",
            Dialect::Exotel => "/exotel/stream",
        }
    }

    pub fn rate(self) -> u32 {
        match self {
            Dialect::Vonage => 16_000,
            _ => 8_000,
        }
    }

    pub fn start(self, call: &str) -> Message {
        Message::text(match self {
            Dialect::Telnyx => json!({"event": "start", "sequence_number": "1", "stream_id": "st-1", "start": {
                "user_id": "u", "call_control_id": call, "call_session_id": "s", "from": "+15550142000",
                "to": "+15550100000", "client_state": null, "custom_parameters": {},
                "media_format": {"encoding": "PCMU", "sample_rate": 8000, "channels": 1}}}),
            Dialect::Vonage => json!({"event": "websocket:connected", "content-type": "audio/l16;rate=16000",
                "uuid": call, "from": "+15550142000"}),
            Dialect::Plivo => json!({"event": "start", "sequenceNumber": 0, "start": {"callId": call,
                "streamId": "str-1", "accountId": "MA1", "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000}}, "extra_headers": {}}),
            Dialect::Exotel => json!({"event": "start", "sequence_number": 1, "stream_sid": "s-1", "start": {
                "stream_sid": "s-1", "call_sid": call, "account_sid": "a", "from": "+15550142000",
                "to": "+15550100000", "custom_parameters": {},
                "media_format": {"encoding": "audio/x-raw", "sample_rate": "8000", "bit_rate": "16"}}}),
        }
        .to_string())
    }

    /// One 20 ms frame of caller audio (`samples` at the dialect's rate).
    pub fn media(self, n: usize, samples: &[f32]) -> Message {
        let pcm = || -> Vec<u8> {
            samples
                .iter()
                .flat_map(|&s| switchboard::audio::g711::to_i16(s).to_le_bytes())
                .collect()
        };
        let mulaw = || {
            let mut b = Vec::new();
            Law::MuLaw.encode_into(samples, &mut b);
            b
        };
        match self {
            Dialect::Vonage => Message::binary(pcm()),
            Dialect::Telnyx => Message::text(json!({"event": "media", "sequence_number": (n + 2).to_string(),
                "stream_id": "st-1", "media": {"track": "inbound", "chunk": (n + 1).to_string(),
                "timestamp": (n * 20).to_string(), "payload": B64.encode(mulaw())}}).to_string()),
            Dialect::Plivo => Message::text(json!({"event": "media", "sequenceNumber": n + 1, "streamId": "str-1",
                "media": {"track": "inbound", "timestamp": (n * 20).to_string(), "chunk": n + 1,
                "payload": B64.encode(mulaw())}}).to_string()),
            Dialect::Exotel => Message::text(json!({"event": "media", "sequence_number": n + 2, "stream_sid": "s-1",
                "media": {"chunk": n + 1, "timestamp": (n * 20).to_string(), "payload": B64.encode(pcm())}})
                .to_string()),
        }
    }

    /// The provider's "played" answer to a mark we sent, if this message is one.
    pub fn echo(self, m: &Value) -> Option<Message> {
        let event = m["event"].as_str()?;
        Some(Message::text(
            match (self, event) {
                (Dialect::Telnyx, "mark") => {
                    json!({"event": "mark", "stream_id": "st-1", "mark": m["mark"]})
                }
                (Dialect::Exotel, "mark") => {
                    json!({"event": "mark", "stream_sid": "s-1", "mark": m["mark"]})
                }
                (Dialect::Plivo, "checkpoint") => {
                    json!({"event": "playedStream", "streamId": "str-1", "name": m["name"]})
                }
                _ => return None,
            }
            .to_string(),
        ))
    }

    /// Bytes of agent audio in a message from the server, checking the provider's framing.
    pub fn audio_bytes(self, message: &Message) -> usize {
        match (self, message) {
            (Dialect::Vonage, Message::Binary(b)) => {
                assert_eq!(b.len(), 640, "Vonage audio comes back in 20 ms frames");
                b.len()
            }
            (_, Message::Text(t)) => {
                let m: Value = serde_json::from_str(t).unwrap();
                let event = m["event"].as_str().unwrap_or_default();
                if !matches!(event, "media" | "playAudio") {
                    return 0;
                }
                let bytes = B64.decode(m["media"]["payload"].as_str().unwrap()).unwrap();
                if let Dialect::Exotel = self {
                    assert!(
                        bytes.len() >= 3_200 && bytes.len().is_multiple_of(320),
                        "Exotel chunk of {}",
                        bytes.len()
                    );
                }
                if let Dialect::Plivo = self {
                    assert_eq!(m["media"]["contentType"], "audio/x-mulaw");
                }
                bytes.len()
            }
            _ => 0,
        }
    }
}

pub struct Outcome {
    pub audio_bytes: usize,
    pub close: Option<u16>,
}

pub async fn play(url: String, dialect: Dialect, call: &'static str, caller: Vec<f32>) -> Outcome {
    play_for(url, dialect, call, caller, 600).await
}

/// Plays `caller`, then up to `linger_frames` of silence (20 ms each) unless the server closes first.
pub async fn play_for(
    url: String,
    dialect: Dialect,
    call: &'static str,
    caller: Vec<f32>,
    linger_frames: usize,
) -> Outcome {
    let (ws, _) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("connect");
    let (mut tx, mut rx) = ws.split();
    tx.send(dialect.start(call)).await.unwrap();
    let frame = dialect.rate() as usize / 50;
    let frames: Vec<&[f32]> = caller.chunks(frame).collect();
    let t0 = Instant::now();
    let mut outcome = Outcome {
        audio_bytes: 0,
        close: None,
    };
    let mut sent = 0;
    // The caller's audio, then up to 12 s more of silence while the agent hands over.
    let silence = vec![0.0f32; frame];
    let total = frames.len() + linger_frames;
    while sent < total {
        let next = t0 + Duration::from_millis(20 * sent as u64);
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()) => {
                let samples = frames.get(sent).copied().unwrap_or(&silence);
                if tx.send(dialect.media(sent, samples)).await.is_err() {
                    break;
                }
                sent += 1;
            }
            message = rx.next() => match message {
                Some(Ok(Message::Close(frame))) => {
                    outcome.close = frame.map(|f| u16::from(f.code));
                    break;
                }
                Some(Ok(m)) => {
                    outcome.audio_bytes += dialect.audio_bytes(&m);
                    if let Message::Text(t) = &m {
                        let v: Value = serde_json::from_str(t).unwrap();
                        if let Some(echo) = dialect.echo(&v) {
                            let _ = tx.send(echo).await;
                        }
                    }
                }
                _ => break,
            },
        }
    }
    outcome
}
