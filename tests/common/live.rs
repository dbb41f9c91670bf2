//! The live server under test: `switchboard serve` as a child process on a loopback port, calls scripted
//! from espeak-ng speech, and the simulated Twilio of `switchboard::loadtest::peer` (tokio-tungstenite)
//! that plays them in 20 ms frames at real-time pace.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::Value;

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
        std::fs::write(dir.path().join("agent.toml"), toml).expect("write config");
        Self::start_in(dir)
    }

    /// Starts `switchboard serve` on the config already in `dir` (a restart keeps its tickets and events).
    pub fn start_in(dir: tempfile::TempDir) -> Server {
        let (child, addr) = super::start_listening("serve", dir.path(), "server.log");
        Server { child, addr, dir }
    }

    /// `kill -9`: the process gets no chance to clean up. Returns its directory for a restart.
    pub fn kill(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, dir)
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

    pub fn database(&self) -> switchboard::tickets::database::Database {
        switchboard::tickets::database::Database::Sqlite(self.dir.path().join("tickets.db"))
    }

    /// The call's JSON lines, once its `stream_end` line is written (waits up to 30 s).
    pub async fn events(&self, call_id: &str) -> Vec<Value> {
        self.events_of_streams(call_id, 1).await
    }

    /// The call's JSON lines once `streams` of its streams have ended (a call can come back on a new
    /// stream after a transfer nobody took); waits up to 30 s.
    pub async fn events_of_streams(&self, call_id: &str, streams: usize) -> Vec<Value> {
        let path = self.events_path(call_id);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let lines = read_lines(&path);
            let ended = lines.iter().filter(|l| l["type"] == "stream_end").count();
            if ended >= streams || Instant::now() > deadline {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The call's JSON lines as they are now.
    pub fn events_now(&self, call_id: &str) -> Vec<Value> {
        read_lines(&self.events_path(call_id))
    }

    fn events_path(&self, call_id: &str) -> PathBuf {
        self.dir
            .path()
            .join("calls")
            .join(switchboard::server::calllog::file_name(call_id))
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

/// The call most live tests play: the caller lets the greeting finish, then asks to cancel (an escalation).
pub fn cancel_after_greeting() -> Vec<u8> {
    mulaw_call(&[
        Part::Silence(4_500),
        Part::Say("I would like to cancel my contract, please."),
        Part::Silence(1_000),
    ])
    .0
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
