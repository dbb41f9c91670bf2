//! espeak-ng as a subprocess: robotic but always available (the project's install script installs it), and
//! fast enough to render a sentence in a few tens of milliseconds.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Speech, SpeechError, SpeechSynth};
use crate::audio::wav::read_wav;

const ENGINE: &str = "espeak-ng";

/// The espeak-ng engine with one voice.
pub struct Espeak {
    voice: String,
    /// Words per minute.
    speed: u32,
}

impl Espeak {
    pub fn new(voice: impl Into<String>) -> Self {
        Self {
            voice: voice.into(),
            speed: 160,
        }
    }
}

/// A temporary WAV path unique to this process and render.
fn scratch_path() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "switchboard-say-{}-{}.wav",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

impl SpeechSynth for Espeak {
    fn name(&self) -> &'static str {
        ENGINE
    }

    fn synthesize(&self, text: &str) -> Result<Speech, SpeechError> {
        // To a file, not stdout: on a pipe espeak-ng cannot go back to write the real sizes in the header.
        let path = scratch_path();
        let out = Command::new(ENGINE)
            .args(["-v", &self.voice, "-s", &self.speed.to_string(), "-w"])
            .arg(&path)
            // `--` so a sentence starting with a dash is read, not taken for an option.
            .arg("--")
            .arg(text)
            .output()
            .map_err(|e| SpeechError::Engine {
                engine: ENGINE,
                reason: format!("{e} (scripts/install.sh installs espeak-ng)"),
            })?;
        let read = read_wav(&path);
        let _ = std::fs::remove_file(&path);
        if !out.status.success() {
            return Err(SpeechError::Engine {
                engine: ENGINE,
                reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        let recording = read.map_err(|e| SpeechError::Audio {
            engine: ENGINE,
            reason: e.to_string(),
        })?;
        Speech::from_recording(ENGINE, recording)
    }
}
