//! A simulated Twilio: plays a call's mu-law audio to a `/twilio/stream` route in 20 ms frames at real-time
//! pace, plays back what the server sends (8000 bytes/s), echoes each mark once the audio before it has
//! played, honours `clear` (echoing pending marks at once, as Twilio does), then sends `stop`. It records
//! when things happened, for `switchboard loadtest` and the live tests.

use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// Mu-law bytes per 20 ms frame.
const FRAME: usize = 160;
const SILENCE: u8 = 0xFF;

/// How the simulated caller behaves.
#[derive(Debug, Clone)]
pub struct Peer {
    /// 8 kHz mu-law audio of the caller.
    pub audio: Vec<u8>,
    pub call_sid: String,
    pub caller: String,
    /// Extra custom parameters of the start message.
    pub parameters: Vec<(String, String)>,
    /// Send `stop` after the audio and the linger (else only wait for the server to close).
    pub send_stop: bool,
    /// After the audio, how long to keep streaming silence before stopping.
    pub linger: Duration,
    /// Drop the TCP connection without a stop or a close after this many frames.
    pub drop_after_frames: Option<usize>,
}

impl Peer {
    pub fn new(call_sid: &str, audio: Vec<u8>) -> Self {
        Self {
            audio,
            call_sid: call_sid.to_string(),
            caller: "+15550142000".into(),
            parameters: Vec::new(),
            send_stop: true,
            linger: Duration::from_secs(2),
            drop_after_frames: None,
        }
    }
}

/// What the peer saw; times are since the start message was sent.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub media_bytes: usize,
    pub first_media: Option<Duration>,
    /// When each burst of agent audio began (audio after at least 300 ms without any).
    pub speech_onsets: Vec<Duration>,
    pub marks_received: Vec<String>,
    pub marks_echoed: Vec<String>,
    pub clears: Vec<Duration>,
    /// When the frame holding each first and last loud caller sample was sent.
    pub caller_voice: Option<(Duration, Duration)>,
    /// How far the peer fell behind its own 20 ms schedule at worst.
    pub max_late: Duration,
    /// The server's close frame: code and reason.
    pub close: Option<(u16, String)>,
    /// The server ended the stream before the peer was done.
    pub closed_by_server: bool,
    /// Something went wrong on the peer's side (connection refused, a message it could not read).
    pub error: Option<String>,
}

/// Frames holding the first and last sample louder than `|x| > 300` (16-bit), as Pipecat's load peer does.
pub fn voiced_frames(audio: &[u8]) -> Option<(usize, usize)> {
    let loud = |c: &u8| crate::audio::g711::mulaw_decode(*c).unsigned_abs() > 300;
    let first = audio.iter().position(loud)?;
    let last = audio.iter().rposition(loud)?;
    Some((first / FRAME, last / FRAME))
}

const SID: &str = "MZ00000000000000000000000000000001";

/// Plays `peer` against the Twilio stream route at `url`.
pub async fn play_twilio(url: &str, peer: Peer) -> Report {
    let mut report = Report::default();
    let ws = match tokio_tungstenite::connect_async(url).await {
        Ok((ws, _)) => ws,
        Err(e) => {
            report.error = Some(format!("cannot connect to {url}: {e}"));
            return report;
        }
    };
    let (mut tx, mut rx) = ws.split();
    let mut params = serde_json::Map::new();
    params.insert("from".into(), json!(peer.caller));
    for (k, v) in &peer.parameters {
        params.insert(k.clone(), json!(v));
    }
    let start = json!({"event": "start", "sequenceNumber": "1", "streamSid": SID, "start": {
        "accountSid": "AC00000000000000000000000000000001", "streamSid": SID, "callSid": peer.call_sid,
        "tracks": ["inbound"], "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        "customParameters": params}});
    let connected = json!({"event": "connected", "protocol": "Call", "version": "1.0.0"});
    for m in [connected, start] {
        if let Err(e) = tx.send(Message::text(m.to_string())).await {
            report.error = Some(format!("cannot start the stream: {e}"));
            return report;
        }
    }
    let t0 = Instant::now();
    let frames: Vec<&[u8]> = peer.audio.chunks(FRAME).collect();
    let voiced = voiced_frames(&peer.audio);
    let silence = [SILENCE; FRAME];
    let total = frames.len() + (peer.linger.as_millis() / 20) as usize;
    let mut seq = 1u64;
    let mut sent = 0usize;
    let mut first_voice = None;
    // Playback of what the server sent: when its queued audio ends, and the marks waiting for that.
    let mut play_until = Instant::now();
    let mut last_media: Option<Instant> = None;
    let mut pending: Vec<(Instant, String)> = Vec::new();
    while sent < total {
        if peer.drop_after_frames == Some(sent) {
            // Abrupt: no stop, no close frame; the TCP connection just goes away.
            return report;
        }
        let next_frame = t0 + Duration::from_millis(20 * sent as u64);
        let next_mark = pending.iter().map(|(t, _)| *t).min();
        tokio::select! {
            _ = tokio::time::sleep_until(next_frame.into()) => {
                report.max_late = report.max_late.max(next_frame.elapsed());
                let payload = frames.get(sent).copied().unwrap_or(&silence);
                seq += 1;
                let media = json!({"event": "media", "sequenceNumber": seq.to_string(), "streamSid": SID,
                    "media": {"track": "inbound", "chunk": sent.to_string(), "timestamp": (sent * 20).to_string(),
                    "payload": B64.encode(payload)}});
                if tx.send(Message::text(media.to_string())).await.is_err() {
                    report.closed_by_server = true;
                    break;
                }
                if let Some((first, last)) = voiced {
                    if sent == first {
                        first_voice = Some(t0.elapsed());
                    }
                    if sent == last {
                        report.caller_voice = first_voice.map(|f| (f, t0.elapsed()));
                    }
                }
                sent += 1;
            }
            _ = tokio::time::sleep_until(next_mark.unwrap_or(next_frame).into()), if next_mark.is_some() => {
                let now = Instant::now();
                let (due, rest): (Vec<_>, Vec<_>) = pending.drain(..).partition(|(t, _)| *t <= now);
                pending = rest;
                for (_, name) in due {
                    seq += 1;
                    let mark = json!({"event": "mark", "sequenceNumber": seq.to_string(), "streamSid": SID,
                        "mark": {"name": name}});
                    let _ = tx.send(Message::text(mark.to_string())).await;
                    report.marks_echoed.push(name);
                }
            }
            message = rx.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let now = Instant::now();
                    if let Err(e) = heard(&mut report, &text, now, t0, &mut play_until, &mut last_media, &mut pending) {
                        report.error = Some(e);
                        break;
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    report.close = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                    report.closed_by_server = true;
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    report.closed_by_server = true;
                    break;
                }
            },
        }
    }
    if !report.closed_by_server && peer.send_stop {
        seq += 1;
        let stop = json!({"event": "stop", "sequenceNumber": seq.to_string(), "streamSid": SID,
            "stop": {"accountSid": "AC00000000000000000000000000000001", "callSid": peer.call_sid}});
        let _ = tx.send(Message::text(stop.to_string())).await;
    }
    // The server's close frame.
    while report.close.is_none() {
        match tokio::time::timeout(Duration::from_secs(20), rx.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => {
                report.close = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
            }
            Ok(Some(Ok(_))) => {}
            _ => break,
        }
    }
    report
}

/// Takes in one message from the server.
fn heard(
    report: &mut Report,
    text: &str,
    now: Instant,
    t0: Instant,
    play_until: &mut Instant,
    last_media: &mut Option<Instant>,
    pending: &mut Vec<(Instant, String)>,
) -> Result<(), String> {
    let m: Value = serde_json::from_str(text).map_err(|e| format!("server sent non-JSON: {e}"))?;
    match m["event"].as_str() {
        Some("media") => {
            let payload = m["media"]["payload"]
                .as_str()
                .ok_or("media without a payload")?;
            let bytes = B64
                .decode(payload)
                .map_err(|e| format!("media payload is not base64: {e}"))?;
            report.media_bytes += bytes.len();
            report.first_media.get_or_insert(now - t0);
            // A new burst: nothing arrived for a while and nothing is still queued for playing.
            let quiet = last_media.is_none_or(|t| now - t > Duration::from_millis(300));
            if quiet && *play_until <= now {
                report.speech_onsets.push(now - t0);
            }
            *last_media = Some(now);
            *play_until = (*play_until).max(now) + Duration::from_micros(bytes.len() as u64 * 125);
        }
        Some("mark") => {
            let name = m["mark"]["name"]
                .as_str()
                .ok_or("mark without a name")?
                .to_string();
            report.marks_received.push(name.clone());
            pending.push(((*play_until).max(now), name));
        }
        Some("clear") => {
            report.clears.push(now - t0);
            *play_until = now;
            for p in pending.iter_mut() {
                p.0 = now;
            }
        }
        other => return Err(format!("unexpected event from the server: {other:?}")),
    }
    Ok(())
}
