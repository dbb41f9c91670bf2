//! Telnyx, Vonage, Plivo and Exotel over their own routes, four calls at once on one server: each caller is
//! greeted in the provider's own format and frame sizes, asks to cancel, and is escalated with a ticket,
//! exactly as on Twilio.

// The engine lock serialises whole tests (each owns its runtime and its server), so holding it across
// awaits is the point, not a hazard.
#![allow(clippy::await_holding_lock)]

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use common::live::{cancel_after_greeting, Server};
use switchboard::audio::g711::{mulaw_decode, Law};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// How one provider talks.
#[derive(Clone, Copy)]
enum Dialect {
    Telnyx,
    Vonage,
    Plivo,
    Exotel,
}

impl Dialect {
    fn route(self) -> &'static str {
        match self {
            Dialect::Telnyx => "/telnyx/stream",
            Dialect::Vonage => "/vonage/stream",
            Dialect::Plivo => "/plivo/stream",
            Dialect::Exotel => "/exotel/stream",
        }
    }

    fn rate(self) -> u32 {
        match self {
            Dialect::Vonage => 16_000,
            _ => 8_000,
        }
    }

    fn start(self, call: &str) -> Message {
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
    fn media(self, n: usize, samples: &[f32]) -> Message {
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
    fn echo(self, m: &Value) -> Option<Message> {
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
    fn audio_bytes(self, message: &Message) -> usize {
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

struct Outcome {
    audio_bytes: usize,
    close: Option<u16>,
}

async fn play(url: String, dialect: Dialect, call: &'static str, caller: Vec<f32>) -> Outcome {
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
    let total = frames.len() + 600;
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

#[tokio::test(flavor = "multi_thread")]
async fn every_provider_route_carries_a_whole_call() {
    let _engines = common::engine_lock();
    let server = Server::start(&common::agent_toml("decide"));
    let mulaw = cancel_after_greeting();
    let at_8k: Vec<f32> = mulaw
        .iter()
        .map(|&c| f32::from(mulaw_decode(c)) / 32_768.0)
        .collect();
    let at_16k = switchboard::audio::resample::resample(8_000, 16_000, &at_8k).unwrap();
    let calls = [
        (Dialect::Telnyx, "v3:telnyx-call"),
        (Dialect::Vonage, "vonage-call"),
        (Dialect::Plivo, "plivo-call"),
        (Dialect::Exotel, "exotel-call"),
    ];
    let mut running = Vec::new();
    for (dialect, call) in calls {
        let audio = if dialect.rate() == 16_000 {
            at_16k.clone()
        } else {
            at_8k.clone()
        };
        running.push(tokio::spawn(play(
            server.ws(dialect.route()),
            dialect,
            call,
            audio,
        )));
    }
    for ((dialect, call), task) in calls.into_iter().zip(running) {
        let outcome = task.await.unwrap();
        let route = dialect.route();
        // The greeting (about 3.5 s) and the announcement came back as audio.
        let seconds = outcome.audio_bytes as f64
            / (dialect.rate() as f64
                * if matches!(dialect, Dialect::Telnyx | Dialect::Plivo) {
                    1.0
                } else {
                    2.0
                });
        assert!(seconds > 3.0, "{route}: {seconds:.1} s of agent audio");
        assert_eq!(
            outcome.close,
            Some(1000),
            "{route}: closed after the transfer"
        );
        let lines = server.events(&call.replace(':', "_")).await;
        let decided: Vec<&Value> = lines
            .iter()
            .filter(|l| l["type"] == "decision" && l["decision"] != "continue")
            .collect();
        assert_eq!(decided.len(), 1, "{route}: {lines:#?}");
        assert_eq!(decided[0]["decision"], "escalate", "{route}");
        assert!(lines.iter().any(|l| l["type"] == "ticket"), "{route}");
        assert!(
            lines
                .iter()
                .any(|l| l["type"] == "stream_end" && l["reason"] == "transferred"),
            "{route}: {lines:#?}"
        );
    }
    assert!(!server.log().contains("panicked"));
}
