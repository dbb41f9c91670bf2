//! Speech recognition behind one trait, so the call pipeline does not care which engine hears the caller.
//! The local default is whisper.cpp (`whisper`); a remote OpenAI-compatible engine fits behind the same trait.

pub mod whisper;

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum AsrError {
    #[error(transparent)]
    Model(#[from] crate::models::ModelError),
    #[error("cannot load the whisper model {path}: {reason}")]
    Load { path: String, reason: String },
    #[error("whisper failed: {0}")]
    Decode(String),
}

/// Recognises one utterance of 16 kHz mono audio.
pub trait Transcriber: Send {
    fn transcribe(&mut self, pcm_16k: &[f32]) -> Result<String, AsrError>;
}

/// How much encoder context whisper gets, `[asr] audio_ctx` in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AudioContext {
    /// Sized to the utterance, so a 2 s answer does not pay for a 30 s window (the default).
    #[default]
    Auto,
    /// Always the model's full 30 s window.
    Full,
}

/// `[asr]` in the agent config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AsrSettings {
    /// Threads per transcription; 0 = the number of cores (at most 4), or on the live server the cores
    /// divided among the workers.
    pub threads: usize,
    pub audio_ctx: AudioContext,
    /// Recognition workers of the live server (each transcribes one utterance at a time); 0 = the number of
    /// cores. More workers serve more calls at once, fewer make each utterance faster.
    pub workers: usize,
}

impl Default for AsrSettings {
    fn default() -> Self {
        Self {
            threads: 0,
            audio_ctx: AudioContext::Auto,
            workers: 0,
        }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

impl AsrSettings {
    pub fn effective_threads(&self) -> usize {
        if self.threads > 0 {
            return self.threads;
        }
        cores().min(4)
    }

    /// Workers of the live server's recognition pool.
    pub fn effective_workers(&self) -> usize {
        if self.workers > 0 {
            self.workers
        } else {
            cores()
        }
    }

    /// Threads per transcription on the live server: the cores shared among the workers.
    pub fn pool_threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            (cores() / self.effective_workers()).max(1)
        }
    }
}

/// Tidies raw recogniser text: collapses whitespace and drops non-speech tags such as `[BLANK_AUDIO]`.
pub fn clean_transcript(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut depth = 0usize;
    for ch in raw.chars() {
        match ch {
            '[' | '(' => depth += 1,
            ']' | ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(ch),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn non_speech_tags_are_removed() {
        assert_eq!(super::clean_transcript(" [BLANK_AUDIO] "), "");
        assert_eq!(
            super::clean_transcript(" I want  to (coughs) cancel."),
            "I want to cancel."
        );
    }
}
