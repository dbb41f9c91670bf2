//! Bad input from network peers, over real sockets: each kind ends only its own stream, with a close code,
//! a reason and a metric, while a good call on the same server goes on undisturbed; a caller who vanishes
//! mid-utterance still gets the escalation ticket the utterance asked for.

// The engine lock serialises whole tests (each owns its runtime and its server), so holding it across
// awaits is the point, not a hazard.
#![allow(clippy::await_holding_lock)]

mod common;

use std::time::Duration;

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use common::live::{cancel_after_greeting, metric_value, mulaw_call, Part, Server};
use switchboard::loadtest::peer::{play_twilio, Peer};
use switchboard::tickets::store::TicketStore;
use switchboard::tickets::TicketKind;

const SID: &str = "MZ00000000000000000000000000000009";

fn start(call_sid: &str) -> Message {
    Message::text(
        json!({"event": "start", "sequenceNumber": "1", "streamSid": SID, "start": {
            "accountSid": "AC1", "streamSid": SID, "callSid": call_sid, "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            "customParameters": {}}})
        .to_string(),
    )
}

fn media(payload: &str) -> Message {
    Message::text(
        json!({"event": "media", "sequenceNumber": "2", "streamSid": SID,
               "media": {"track": "inbound", "chunk": "1", "timestamp": "0", "payload": payload}})
        .to_string(),
    )
}

fn silence_frame() -> String {
    base64::engine::general_purpose::STANDARD.encode([0xFFu8; 160])
}

/// Sends `messages` on a fresh stream and returns the server's close frame (code, reason).
async fn close_after(url: &str, messages: Vec<Message>) -> Option<(u16, String)> {
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    let (mut tx, mut rx) = ws.split();
    for m in messages {
        if tx.send(m).await.is_err() {
            break;
        }
    }
    loop {
        match tokio::time::timeout(Duration::from_secs(20), rx.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => {
                return frame.map(|f| (u16::from(f.code), f.reason.to_string()))
            }
            Ok(Some(Ok(_))) => {}
            _ => return None,
        }
    }
}

/// A stream that streams silence in real time but never reads: its socket buffers fill with the greeting.
async fn never_reads(url: &str) -> bool {
    let addr = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(1024).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let (ws, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .expect("handshake");
    let (mut tx, _rx) = ws.split();
    tx.send(start("CA-not-reading")).await.unwrap();
    let frame = silence_frame();
    for _ in 0..3_000 {
        // 60 s of audio at most: the server must give up long before.
        if tx.send(media(&frame)).await.is_err() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_peers_end_only_their_own_streams() {
    let _engines = common::engine_lock();
    let mut config = common::agent_toml("decide");
    config.push_str(
        "\n[server]\npublic_url = \"https://agent.example.com\"\nmax_message_bytes = 16384\n",
    );
    let server = Server::start(&config);
    let url = server.ws("/twilio/stream");

    // A good call runs through all of it.
    let audio = cancel_after_greeting();
    let mut good = Peer::new("CA-good", audio);
    good.linger = Duration::from_secs(10);
    let u = url.clone();
    let good = tokio::spawn(async move { play_twilio(&u, good).await });

    // A caller who vanishes mid-sentence: no stop, no close.
    let (cut_audio, spans) = mulaw_call(&[
        Part::Silence(500),
        Part::Say("I want to cancel my contract right now, do it today please."),
    ]);
    let mut vanishing = Peer::new("CA-vanished", cut_audio);
    let (from, to) = spans[0];
    vanishing.drop_after_frames = Some(((from + (to - from) * 3 / 4) / 20) as usize);
    let u = url.clone();
    let vanishing = tokio::spawn(async move { play_twilio(&u, vanishing).await });

    let frame = silence_frame();
    let big = "x".repeat(20_000);
    let cases: Vec<(&str, Vec<Message>, u16)> = vec![
        (
            "malformed",
            vec![Message::text("{\"event\": \"media\", ")],
            1008,
        ),
        (
            "unknown_event",
            vec![Message::text(r#"{"event":"dance","streamSid":"MZ1"}"#)],
            1008,
        ),
        ("before_start", vec![media(&frame)], 1008),
        (
            "base64",
            vec![start("CA-b64"), media("***not base64***")],
            1008,
        ),
        (
            "payload_size",
            // An audio message with no audio in it.
            vec![start("CA-size"), media("")],
            1008,
        ),
        (
            "unexpected_binary",
            vec![start("CA-binary"), Message::binary(vec![0u8; 160])],
            1003,
        ),
        ("too_large", vec![Message::text(big)], 1009),
    ];
    let mut closes = Vec::new();
    for (kind, messages, code) in cases {
        closes.push((kind, code, close_after(&url, messages).await));
    }
    // A peer that floods: a minute of audio as fast as the socket takes it.
    let mut flood = vec![start("CA-flood")];
    flood.extend((0..3_000).map(|_| media(&frame)));
    let flooded = close_after(&url, flood).await;
    let stalled = never_reads(&url).await;

    for (kind, code, close) in &closes {
        let (got, reason) = close
            .clone()
            .unwrap_or_else(|| panic!("{kind}: no close frame"));
        assert_eq!(got, *code, "{kind}: {reason}");
        let series =
            format!("switchboard_protocol_errors_total{{provider=\"twilio\",kind=\"{kind}\"}}");
        assert_eq!(
            metric_value(&server.metrics().await, &series),
            1.0,
            "{kind}: {reason}"
        );
    }
    assert_eq!(flooded.map(|c| c.0), Some(1008));
    assert!(stalled, "the server gave up on a peer that does not read");

    let good = good.await.unwrap();
    assert!(
        good.first_media.is_some() && good.clears.is_empty(),
        "{good:?}"
    );
    assert_eq!(good.close, Some((1000, "transferred".into())), "{good:?}");
    vanishing.await.unwrap();

    let metrics = server.metrics().await;
    for reason in [
        "flooding",
        "peer_not_reading",
        "protocol_error",
        "transferred",
        "disconnected",
    ] {
        let series = format!("switchboard_calls_total{{provider=\"twilio\",reason=\"{reason}\"}}");
        assert!(
            metric_value(&metrics, &series) >= 1.0,
            "{series}\n{metrics}"
        );
    }

    // The vanished caller's escalation is a ticket all the same.
    let lines = server.events("CA-vanished").await;
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "decision" && l["decision"] == "escalate"),
        "{lines:#?}"
    );
    assert_eq!(
        lines
            .iter()
            .find(|l| l["type"] == "stream_end")
            .map(|l| l["reason"].clone()),
        Some(Value::from("disconnected"))
    );
    let store = TicketStore::open(&server.database()).await.unwrap();
    let tickets = store.list().await.unwrap();
    let kinds = |call: &str| {
        tickets
            .iter()
            .filter(|t| t.draft.call_id == call)
            .map(|t| t.draft.kind)
            .collect::<Vec<_>>()
    };
    // Gone before the transfer could be dialed: nobody will talk to them, so a callback is owed too.
    assert_eq!(
        kinds("CA-vanished"),
        vec![TicketKind::Callback, TicketKind::Escalation]
    );
    assert_eq!(kinds("CA-good"), vec![TicketKind::Escalation]);
    // Nothing of the bad streams reached the store, and the server is still healthy.
    assert_eq!(tickets.len(), 3, "{tickets:#?}");
    let health = reqwest::get(server.url("/healthz")).await.unwrap();
    assert!(health.status().is_success());
    assert!(!server.log().contains("panicked"), "{}", server.log());
}
