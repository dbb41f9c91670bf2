//! Shared set-up of the integration tests: fixture calls voiced by espeak-ng and sent through an 8 kHz
//! mu-law phone line, the reference data in ../shared, and the fetched models.
#![allow(dead_code)]

pub mod db;
pub mod dialects;
pub mod fakes;
pub mod live;
pub mod receivers;
pub mod sample;
pub mod staff;

use std::path::{Path, PathBuf};
use std::process::Command;

use switchboard::audio::g711::Law;
use switchboard::audio::resample::resample;
use switchboard::audio::wav::{encode_g711_wav, read_wav};
use switchboard::models::ModelDir;

/// ../shared next to the project (CI puts it there).
pub fn shared() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    assert!(
        p.is_dir(),
        "reference data missing: expected ../shared beside the project at {}",
        p.display()
    );
    p
}

/// The models directory, which must have been fetched (`switchboard models fetch`).
pub fn models() -> ModelDir {
    let dir = ModelDir::at(Path::new(env!("CARGO_MANIFEST_DIR")).join("models"));
    assert!(
        dir.file(switchboard::models::WHISPER_TINY_EN).is_ok(),
        "models are not fetched: run `cargo run --release -- models fetch` (scripts/test.sh does)"
    );
    dir
}

/// The switchboard binary built for these tests.
/// Starts `switchboard <command> --config <dir>/agent.toml --listen 127.0.0.1:0`, logging to
/// `<dir>/<log>`, and returns it with the address it printed once listening.
pub fn start_listening(
    command: &str,
    dir: &Path,
    log: &str,
) -> (std::process::Child, std::net::SocketAddr) {
    use std::io::{BufRead, BufReader};
    let log_path = dir.join(log);
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .expect("log file");
    let mut child = bin()
        .args([command, "--config"])
        .arg(dir.join("agent.toml"))
        .args(["--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(log_file)
        .spawn()
        .unwrap_or_else(|e| panic!("start switchboard {command}: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the listening line");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("switchboard {command} did not start: {line:?}\n{log}")
        });
    (child, addr)
}

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    c.env(
        "SWITCHBOARD_MODELS",
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models"),
    );
    c
}

/// Speech for `text` from espeak-ng, as (rate, samples).
pub fn speak(text: &str) -> (u32, Vec<f32>) {
    // To a file, not --stdout: on a pipe espeak-ng cannot go back to write the real sizes into the header.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("speech.wav");
    let out = Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&path)
        .arg(text)
        .output()
        .expect("espeak-ng must be installed (scripts/install.sh installs it)");
    assert!(out.status.success(), "espeak-ng failed: {out:?}");
    let rec = read_wav(&path).expect("espeak WAV");
    (rec.sample_rate, rec.channels[0].clone())
}

/// A caller saying each utterance in turn with pauses, through an 8 kHz mu-law phone line, as WAV bytes.
pub fn phone_call(utterances: &[&str]) -> Vec<u8> {
    let mut rate = 0;
    let mut audio: Vec<f32> = Vec::new();
    for text in utterances {
        let (r, speech) = speak(text);
        rate = r;
        audio.extend(std::iter::repeat_n(0.0, r as usize * 8 / 10));
        audio.extend(speech);
    }
    audio.extend(std::iter::repeat_n(0.0, rate as usize));
    let line = resample(rate, 8_000, &audio).expect("resample to 8 kHz");
    encode_g711_wav(Law::MuLaw, 8_000, &line)
}

/// Writes a fixture call into `dir` and returns its path.
pub fn write_call(dir: &Path, name: &str, utterances: &[&str]) -> PathBuf {
    let p = dir.join(format!("{name}.wav"));
    std::fs::write(&p, phone_call(utterances)).expect("write fixture");
    p
}

/// The agent config used by the call tests, with `support` filled in.
pub fn agent_toml(support: &str) -> String {
    format!(
        r#"
[agent]
name = "Acme support line"
phone_number = "+15550100000"
support = "{support}"
timezone = "America/New_York"

[escalation]
transfer_number = "+15550100001"
contextual_summary = true
mandatory_topics = [
  {{ id = "cancellation", text = "Contract cancellation request", category = "service", examples = [
      "I want to cancel my contract", "I'd like to terminate my subscription", "please close my account" ] }},
]

[callback]
extra_fields = [
  {{ name = "reason", ask = "What is the reason for your call?", type = "text" }},
  {{ name = "callback_time", ask = "When would you like us to call you back?", type = "datetime" }},
  {{ name = "alt_phone", ask = "Is there another number we can reach you on?", type = "phone", required = false }},
]
mandatory_topics = [
  {{ id = "complaint", text = "Customer dissatisfied with the service", examples = [
      "I want to make a formal complaint", "this is the worst service I have ever had" ] }},
]

[routing]
service = ["support@example.com"]
accounting = ["billing@example.com"]
other = ["manager@example.com"]
"#
    )
}

/// Serialises the tests that run whisper: ggml's worker threads spin while they wait, so several
/// transcriptions at once on a 2-core machine slow each other down a hundredfold. (The live server bounds
/// its ASR pool to the cores for the same reason.)
pub fn engine_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The Python of the PyPI test peers (pipecat-ai, twilio, websockets), installed by scripts/peers.sh.
pub fn peers_python() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/peers/bin/python");
    assert!(
        p.is_file(),
        "the PyPI test peers are not installed: run `bash scripts/peers.sh` (scripts/test.sh does)"
    );
    p
}
