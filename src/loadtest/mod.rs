//! `switchboard loadtest`: N simultaneous simulated Twilio calls at real-time pace against a server, and
//! what they experienced: end of caller speech -> the agent's answer, barge-in onset -> `clear`, how late the
//! callers' frames went out, and the server's CPU and memory.

pub mod peer;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::audio::g711::Law;
use crate::audio::resample::resample;
use crate::speech::espeak::Espeak;
use crate::speech::SpeechSynth;
use peer::{play_twilio, Peer, Report};

/// The call of the Pipecat anchor (BENCHMARKS.md, "Live server under load"): one sentence, 1 s of silence each
/// side. Speech ends with the topic, so an answer before the end of speech means a partial decided.
pub const ANCHOR_SENTENCE: &str =
    "Hi, good morning. I have been a customer for six years. I want to cancel my contract and speak to a manager.";

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot voice the test call: {0}")]
    Voice(String),
    #[error("cannot start the server: {0}")]
    Server(String),
    #[error("cannot read the server process: {0}")]
    Process(String),
}

/// The anchor call as 8 kHz mu-law, voiced by espeak-ng at 160 words per minute.
pub fn anchor_call() -> Result<Vec<u8>, LoadError> {
    let speech = Espeak::new("en-us")
        .synthesize(ANCHOR_SENTENCE)
        .map_err(|e| LoadError::Voice(e.to_string()))?;
    let line = resample(speech.rate, 8_000, &speech.samples)
        .map_err(|e| LoadError::Voice(e.to_string()))?;
    let mut samples = vec![0.0; 8_000];
    samples.extend(line);
    samples.extend(std::iter::repeat_n(0.0, 8_000));
    let mut out = Vec::new();
    Law::MuLaw.encode_into(&samples, &mut out);
    Ok(out)
}

/// A server process to measure: its pid, and the child when we started it.
pub struct Target {
    pub url: String,
    pub pid: Option<u32>,
    child: Option<Child>,
    /// The spawned server's scratch tickets and events, removed on drop.
    scratch: Option<tempfile::TempDir>,
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Target {
    /// Starts `exe serve` (the switchboard binary) on a free loopback port with its own scratch tickets and
    /// events.
    pub fn spawn(exe: &Path, config: &Path, models: Option<&Path>) -> Result<Target, LoadError> {
        let scratch = tempfile::Builder::new()
            .prefix("switchboard-loadtest-")
            .tempdir()
            .map_err(|e| LoadError::Server(e.to_string()))?;
        let dir = scratch.path().to_path_buf();
        let log = std::fs::File::create(dir.join("server.log"))
            .map_err(|e| LoadError::Server(e.to_string()))?;
        let mut command = Command::new(exe);
        if let Some(m) = models {
            command.arg("--models").arg(m);
        }
        let mut child = command
            .args(["serve", "--config"])
            .arg(config)
            .args(["--listen", "127.0.0.1:0", "--db"])
            .arg(dir.join("tickets.db"))
            .arg("--events-dir")
            .arg(dir.join("calls"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| LoadError::Server(e.to_string()))?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            use std::io::BufRead;
            let _ = std::io::BufReader::new(out).read_line(&mut line);
        }
        let Some(addr) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            return Err(LoadError::Server(format!("it did not start:\n{log}")));
        };
        Ok(Target {
            url: format!("ws://{addr}/twilio/stream"),
            pid: Some(child.id()),
            child: Some(child),
            scratch: Some(scratch),
        })
    }

    /// Where a spawned server writes each call's JSON lines.
    pub fn events_dir(&self) -> Option<std::path::PathBuf> {
        self.scratch.as_ref().map(|d| d.path().join("calls"))
    }

    /// A server started elsewhere; `pid` (if local) lets its CPU and memory be measured.
    pub fn external(url: String, pid: Option<u32>) -> Target {
        Target {
            url,
            pid,
            child: None,
            scratch: None,
        }
    }
}

/// CPU time (s) and resident memory (bytes) of a process, from /proc.
fn sample(pid: u32) -> Result<(f64, u64), LoadError> {
    let read = |f: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/{f}"))
            .map_err(|e| LoadError::Process(format!("/proc/{pid}/{f}: {e}")))
    };
    let stat = read("stat")?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the line.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let cpu = (ticks(11) + ticks(12)) / clock_ticks();
    let rss_kb = read("status")?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0);
    Ok((cpu, rss_kb * 1024))
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// One load level's results. Latencies in seconds; `None` when no call had one.
#[derive(Debug, Clone, Serialize)]
pub struct Level {
    pub calls: usize,
    /// Calls whose agent never answered the request.
    pub unanswered: usize,
    pub errors: usize,
    /// End of caller speech (frame with the last loud sample sent) -> first audio of the agent's answer
    /// received. Negative: the agent answered before the caller finished (a partial decided).
    pub answer_p50: Option<f64>,
    pub answer_p95: Option<f64>,
    pub answer_max: Option<f64>,
    /// Caller's voice starts over the greeting -> `clear` received.
    pub barge_in_p50: Option<f64>,
    pub barge_in_p95: Option<f64>,
    /// How late the callers' frames went out at worst (the load generator's own real-time lag).
    pub caller_late_max: f64,
    pub server_cpu_pct_of_one_core: Option<f64>,
    pub server_rss_idle_mb: Option<f64>,
    pub server_rss_peak_mb: Option<f64>,
}

impl Level {
    /// The header of the table `row` fills.
    pub fn header() -> String {
        format!(
            "{:>5} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9} {:>8} {:>9} {:>9}",
            "calls",
            "answer p50",
            "answer p95",
            "answer max",
            "barge p50",
            "barge p95",
            "unanswered",
            "late max",
            "cpu %1c",
            "rss idle",
            "rss peak"
        )
    }

    /// One line of the table (seconds, % of one core, MB).
    pub fn row(&self) -> String {
        let s = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.3}"));
        let mb = |v: Option<f64>| v.map_or("-".to_string(), |m| format!("{m:.0}MB"));
        format!(
            "{:>5} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9.3} {:>8} {:>9} {:>9}",
            self.calls,
            s(self.answer_p50),
            s(self.answer_p95),
            s(self.answer_max),
            s(self.barge_in_p50),
            s(self.barge_in_p95),
            self.unanswered,
            self.caller_late_max,
            self.server_cpu_pct_of_one_core
                .map_or("-".into(), |c| format!("{c:.0}")),
            mb(self.server_rss_idle_mb),
            mb(self.server_rss_peak_mb),
        )
    }
}

/// The `p`th percentile of `xs` (linear between ranks); `None` when empty.
pub fn percentile(mut xs: Vec<f64>, p: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let k = (xs.len() - 1) as f64 * p / 100.0;
    let (f, c) = (k.floor() as usize, (k.ceil() as usize).min(xs.len() - 1));
    Some(xs[f] + (xs[c] - xs[f]) * (k - f as f64))
}

/// When the agent answered the caller, relative to the end of the caller's speech.
pub fn answer_latency(report: &Report) -> Option<f64> {
    let (start, end) = report.caller_voice?;
    let answer = report.speech_onsets.iter().find(|t| **t > start)?;
    Some(answer.as_secs_f64() - end.as_secs_f64())
}

/// When `clear` came, after the caller's voice began.
pub fn barge_in_latency(report: &Report) -> Option<f64> {
    let (start, _) = report.caller_voice?;
    let clear = report.clears.iter().find(|t| **t >= start)?;
    Some(clear.as_secs_f64() - start.as_secs_f64())
}

/// Runs `n` simultaneous calls of `audio` against `target` and measures them.
pub async fn run_level(
    target: &Target,
    n: usize,
    audio: &[u8],
    linger: Duration,
) -> Result<Level, LoadError> {
    let before = target.pid.map(sample).transpose()?;
    let started = Instant::now();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = target.pid.map(|pid| {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                if let Ok((_, rss)) = sample(pid) {
                    peak.fetch_max(rss, std::sync::atomic::Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    });
    let calls: Vec<_> = (0..n)
        .map(|i| {
            let mut peer = Peer::new(&format!("CA{:032x}", i + 1), audio.to_vec());
            peer.linger = linger;
            let url = target.url.clone();
            tokio::spawn(async move { play_twilio(&url, peer).await })
        })
        .collect();
    let mut reports = Vec::with_capacity(n);
    for call in calls {
        reports.push(call.await.unwrap_or_else(|e| Report {
            error: Some(e.to_string()),
            ..Report::default()
        }));
    }
    let wall = started.elapsed().as_secs_f64();
    if let Some(s) = sampler {
        s.abort();
    }
    let after = target.pid.map(sample).transpose()?;
    let answers: Vec<f64> = reports.iter().filter_map(answer_latency).collect();
    let barge: Vec<f64> = reports.iter().filter_map(barge_in_latency).collect();
    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    Ok(Level {
        calls: n,
        unanswered: n - answers.len(),
        errors: reports.iter().filter(|r| r.error.is_some()).count(),
        answer_p50: percentile(answers.clone(), 50.0),
        answer_p95: percentile(answers.clone(), 95.0),
        answer_max: percentile(answers, 100.0),
        barge_in_p50: percentile(barge.clone(), 50.0),
        barge_in_p95: percentile(barge, 95.0),
        caller_late_max: reports
            .iter()
            .map(|r| r.max_late.as_secs_f64())
            .fold(0.0, f64::max),
        server_cpu_pct_of_one_core: before
            .zip(after)
            .map(|((c0, _), (c1, _))| 100.0 * (c1 - c0) / wall),
        server_rss_idle_mb: before.map(|(_, rss)| mb(rss)),
        server_rss_peak_mb: target
            .pid
            .map(|_| mb(peak.load(std::sync::atomic::Ordering::Relaxed))),
    })
}
