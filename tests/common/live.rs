//! The live server under test: `switchboard serve` as a child process on a loopback port, and a Twilio
//! Media Streams peer (tokio-tungstenite) that plays a call in 20 ms frames at real-time pace, plays back
//! what the server sends, echoes marks when their audio has played and honours `clear`, like Twilio does.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use switchboard::audio::g711::Law;
use switchboard::audio::resample::resample;

/// A running server in its own directory (config, events, tickets).
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
}

impl Server {
    /// Starts `switchboard serve` with `config` (TOML; `[server]` and `[tickets]` are added to point into
    /// the server's own directory unless `config` has them).
    pub fn start(config: &str) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut toml = config.to_string();
        if !toml.contains("[tickets]") {
            toml.push_str(&format!(
                "\n[tickets]\ndatabase = \"{}\"\n",
                dir.path().join("tickets.db").display()
            ));
        }
        if !toml.contains("[server]") {
            toml.push_str("\n[server]\npublic_url = \"https://agent.example.com\"\n");
        }
        toml = toml.replace(
            "[server]\n",
            &format!(
                "[server]\nevents_dir = \"{}\"\n",
                dir.path().join("calls").display()
            ),
        );
        let config_path = dir.path().join("agent.toml");
        std::fs::write(&config_path, toml).expect("write config");
        let mut child = super::bin()
            .args(["serve", "--config"])
            .arg(&config_path)
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("server.log")).expect("log file"))
            .spawn()
            .expect("start switchboard serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| {
                let log =
                    std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
                panic!("server did not start: {line:?}\n{log}")
            });
        Server { child, addr, dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn database(&self) -> PathBuf {
        self.dir.path().join("tickets.db")
    }

    /// The call's JSON lines, once its `stream_end` line is written (waits up to 30 s).
    pub async fn events(&self, call_id: &str) -> Vec<Value> {
        let path = self
            .dir
            .path()
            .join("calls")
            .join(format!("{call_id}.jsonl"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let lines = read_lines(&path);
            if lines.iter().any(|l| l["type"] == "stream_end") || Instant::now() > deadline {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn metrics(&self) -> String {
        reqwest::get(self.url("/metrics"))
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics body")
    }

    /// The value of one metric line (`name{labels}` exactly as exposed), 0 when absent.
    pub async fn metric(&self, series: &str) -> f64 {
        metric_value(&self.metrics().await, series)
    }

    /// Sends SIGTERM and waits for the process to exit (at most `limit`). Returns whether it exited cleanly.
    pub fn terminate(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

fn read_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// A piece of a scripted call.
pub enum Part<'a> {
    Silence(u64),
    Say(&'a str),
}

/// A caller's audio as 8 kHz mu-law, with where each spoken part starts and ends (ms).
pub fn mulaw_call(parts: &[Part]) -> (Vec<u8>, Vec<(u64, u64)>) {
    let mut samples: Vec<f32> = Vec::new();
    let mut spans = Vec::new();
    for part in parts {
        match part {
            Part::Silence(ms) => samples.extend(std::iter::repeat_n(0.0, (*ms * 8) as usize)),
            Part::Say(text) => {
                let (rate, speech) = super::speak(text);
                let line = resample(rate, 8_000, &speech).expect("resample");
                // espeak pads its output with silence: the span is where the voice is.
                let loud = |s: &&f32| s.abs() > 0.02;
                let first = line.iter().position(|s| loud(&s)).unwrap_or(0);
                let last = line.iter().rposition(|s| loud(&s)).unwrap_or(line.len());
                let at = samples.len();
                spans.push((((at + first) / 8) as u64, ((at + last) / 8) as u64));
                samples.extend(line);
            }
        }
    }
    let mut bytes = Vec::new();
    Law::MuLaw.encode_into(&samples, &mut bytes);
    (bytes, spans)
}

/// How the simulated Twilio behaves.
pub struct Peer {
    pub audio: Vec<u8>,
    pub call_sid: String,
    pub caller: String,
    /// Extra custom parameters of the start message.
    pub parameters: Vec<(String, String)>,
    /// Send `stop` after the audio (else just wait for the server to close, at most `linger`).
    pub send_stop: bool,
    /// After the audio, how long to keep the stream open (silence frames) before stopping.
    pub linger: Duration,
    /// Drop the TCP connection without a close or stop after this many frames.
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

/// What the peer saw.
#[derive(Debug, Default)]
pub struct Report {
    pub media_bytes: usize,
    /// Since the start message was sent.
    pub first_media: Option<Duration>,
    pub marks_received: Vec<String>,
    pub marks_echoed: Vec<String>,
    pub clears: Vec<Duration>,
    /// The server's close frame: code and reason.
    pub close: Option<(u16, String)>,
    /// The server ended the stream before the peer was done.
    pub closed_by_server: bool,
}

const SID: &str = "MZ00000000000000000000000000000001";

/// Plays `peer` against the Twilio route at `url`.
pub async fn play_twilio(url: &str, peer: Peer) -> Report {
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect to the Twilio route");
    let (mut tx, mut rx) = ws.split();
    let mut report = Report::default();
    let mut params = serde_json::Map::new();
    params.insert("from".into(), json!(peer.caller));
    for (k, v) in &peer.parameters {
        params.insert(k.clone(), json!(v));
    }
    let start = json!({"event": "start", "sequenceNumber": "1", "streamSid": SID, "start": {
        "accountSid": "AC00000000000000000000000000000001", "streamSid": SID, "callSid": peer.call_sid,
        "tracks": ["inbound"], "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        "customParameters": params}});
    tx.send(Message::text(
        json!({"event": "connected", "protocol": "Call", "version": "1.0.0"}).to_string(),
    ))
    .await
    .expect("send connected");
    tx.send(Message::text(start.to_string()))
        .await
        .expect("send start");
    let t0 = Instant::now();
    let frames: Vec<&[u8]> = peer.audio.chunks(160).collect();
    let linger_frames = (peer.linger.as_millis() / 20) as usize;
    let silence = vec![0xFFu8; 160];
    let total = frames.len() + linger_frames;
    let mut seq = 1u64;
    let mut sent = 0usize;
    // Playback of what the server sent: when its queued audio ends, and marks waiting for that.
    let mut play_until = Instant::now();
    let mut pending: Vec<(Instant, String)> = Vec::new();
    loop {
        if sent == total {
            break;
        }
        if peer.drop_after_frames == Some(sent) {
            // Abrupt: no stop, no close frame; the TCP connection just goes away.
            drop(tx);
            drop(rx);
            return report;
        }
        let next_frame = t0 + Duration::from_millis(20 * sent as u64);
        let next_mark = pending.iter().map(|(t, _)| *t).min();
        tokio::select! {
            _ = tokio::time::sleep_until(next_frame.into()) => {
                let payload = frames.get(sent).copied().unwrap_or(&silence);
                seq += 1;
                let media = json!({"event": "media", "sequenceNumber": seq.to_string(), "streamSid": SID,
                    "media": {"track": "inbound", "chunk": sent.to_string(), "timestamp": (sent * 20).to_string(),
                    "payload": base64::engine::general_purpose::STANDARD.encode(payload)}});
                if tx.send(Message::text(media.to_string())).await.is_err() {
                    report.closed_by_server = true;
                    break;
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
                    let m: Value = serde_json::from_str(&text).expect("server sends JSON");
                    let now = Instant::now();
                    match m["event"].as_str() {
                        Some("media") => {
                            let bytes = base64::engine::general_purpose::STANDARD
                                .decode(m["media"]["payload"].as_str().expect("payload"))
                                .expect("base64 payload");
                            report.media_bytes += bytes.len();
                            report.first_media.get_or_insert(t0.elapsed());
                            play_until = play_until.max(now) + Duration::from_micros(bytes.len() as u64 * 125);
                        }
                        Some("mark") => {
                            let name = m["mark"]["name"].as_str().expect("mark name").to_string();
                            report.marks_received.push(name.clone());
                            pending.push((play_until.max(now), name));
                        }
                        Some("clear") => {
                            report.clears.push(t0.elapsed());
                            play_until = now;
                            for p in &mut pending {
                                p.0 = now;
                            }
                        }
                        other => panic!("unexpected event from the server: {other:?}"),
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
    // Wait for the server's close.
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
