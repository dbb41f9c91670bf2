//! whisper.cpp through whisper-rs: one model in memory for the process, one decoder state per call.
//!
//! The encoder normally processes a fixed 30 s window. Phone utterances are a few seconds, so by default the
//! encoder context is sized to the utterance (`audio_ctx`): 50 positions per second plus a margin, because a
//! window cut tighter than the audio makes whisper repeat itself (measured when the margin was chosen; BENCHMARKS.md compares sized and full windows).

use std::sync::Arc;

use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

use super::{clean_transcript, AsrError, AsrSettings, AudioContext, Transcriber};
use crate::models::{ModelDir, WHISPER_TINY_EN};

/// Encoder positions per second of audio (1500 for 30 s).
const POSITIONS_PER_SECOND: f32 = 50.0;
/// Extra positions beyond the audio: 1.28 s.
const CONTEXT_MARGIN: i32 = 128;
/// whisper.cpp refuses input shorter than 1 s; shorter utterances are padded with silence to this.
const MIN_SAMPLES: usize = 17_600;

/// The loaded model, shared by every call.
#[derive(Clone)]
pub struct WhisperModel {
    ctx: Arc<WhisperContext>,
    settings: AsrSettings,
}

impl WhisperModel {
    pub fn load(models: &ModelDir, settings: AsrSettings) -> Result<Self, AsrError> {
        whisper_rs::install_logging_hooks();
        let path = models.file(WHISPER_TINY_EN)?;
        let ctx = WhisperContext::new_with_params(&path, WhisperContextParameters::default())
            .map_err(|e| AsrError::Load {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            ctx: Arc::new(ctx),
            settings,
        })
    }

    /// A recogniser for one call.
    pub fn transcriber(&self) -> Result<WhisperTranscriber, AsrError> {
        self.transcriber_with_threads(self.settings.effective_threads())
    }

    /// A recogniser that uses `threads` threads per utterance (a worker of the live server's pool).
    pub fn transcriber_with_threads(&self, threads: usize) -> Result<WhisperTranscriber, AsrError> {
        let state = self
            .ctx
            .create_state()
            .map_err(|e| AsrError::Decode(e.to_string()))?;
        Ok(WhisperTranscriber {
            state,
            settings: self.settings,
            threads: threads.max(1),
            scratch: Vec::new(),
        })
    }
}

/// The encoder context for `samples` of 16 kHz audio, or `None` for the full window.
pub fn audio_context_for(samples: usize, mode: AudioContext) -> Option<i32> {
    match mode {
        AudioContext::Full => None,
        AudioContext::Auto => {
            let positions = (samples as f32 / 16_000.0 * POSITIONS_PER_SECOND).ceil() as i32;
            let sized = positions + CONTEXT_MARGIN;
            (sized < 1500).then_some(sized)
        }
    }
}

/// Most tokens a transcript of `samples` at 16 kHz can reasonably need.
pub fn max_tokens_for(samples: usize) -> i32 {
    16 + (samples as f32 / 16_000.0 * 6.0).ceil() as i32
}

/// Removes immediate repetitions of a run of words ("I got I got I got" -> "I got"): whisper's decoding
/// loop, never how a caller talks for more than a word.
pub fn collapse_repeats(text: &str) -> String {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    let key = |w: &str| {
        w.trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase()
    };
    let mut i = 0;
    while i < words.len() {
        let mut changed = false;
        for n in (2..=(words.len() - i) / 2).rev() {
            while i + 2 * n <= words.len()
                && (0..n).all(|k| key(words[i + k]) == key(words[i + n + k]))
            {
                words.drain(i + n..i + 2 * n);
                changed = true;
            }
        }
        if !changed {
            i += 1;
        }
    }
    // A loop cut off by the token limit leaves the start of the sentence again at the end.
    for k in (2..=words.len() / 3).rev() {
        let tail = words.len() - k;
        if (0..k).all(|j| key(words[j]) == key(words[tail + j])) {
            words.truncate(tail);
            break;
        }
    }
    words.join(" ")
}

/// One call's whisper state.
pub struct WhisperTranscriber {
    state: WhisperState,
    settings: AsrSettings,
    threads: usize,
    scratch: Vec<f32>,
}

impl Transcriber for WhisperTranscriber {
    fn transcribe(&mut self, pcm_16k: &[f32]) -> Result<String, AsrError> {
        let audio = if pcm_16k.len() < MIN_SAMPLES {
            self.scratch.clear();
            self.scratch.extend_from_slice(pcm_16k);
            self.scratch.resize(MIN_SAMPLES, 0.0);
            &self.scratch[..]
        } else {
            pcm_16k
        };
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_n_threads(self.threads as i32);
        params.set_language(Some("en"));
        params.set_no_context(true);
        params.set_single_segment(true);
        params.set_no_timestamps(true);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        params.set_suppress_blank(true);
        // No temperature fallback: on phone audio whisper's confidence checks often fail and each fallback
        // re-decodes the whole utterance (measured: 2.4 s instead of 0.15 s for a 3 s sentence). The VAD has
        // already kept silence out, which is what the fallback mostly guards against.
        params.set_temperature_inc(0.0);
        // A sized encoder window sometimes sends the decoder into a loop; bound it by what a person can say
        // in the utterance (~3 words, ~5 tokens per second) and drop the repeats (`collapse_repeats`).
        params.set_max_tokens(max_tokens_for(audio.len()));
        if let Some(ctx) = audio_context_for(audio.len(), self.settings.audio_ctx) {
            params.set_audio_ctx(ctx);
        }
        self.state
            .full(params, audio)
            .map_err(|e| AsrError::Decode(e.to_string()))?;
        let mut text = String::new();
        for i in 0..self.state.full_n_segments() {
            if let Some(seg) = self.state.get_segment(i) {
                let piece = seg
                    .to_str_lossy()
                    .map_err(|e| AsrError::Decode(e.to_string()))?;
                text.push_str(&piece);
                text.push(' ');
            }
        }
        Ok(collapse_repeats(&clean_transcript(&text)))
    }
}

#[cfg(test)]
mod tests {
    use super::collapse_repeats;

    #[test]
    fn decoding_loops_collapse() {
        assert_eq!(
            collapse_repeats("I am unhappy with my service I got. I am unhappy with my service I got. I got I got I got"),
            "I am unhappy with my service I got."
        );
        assert_eq!(
            collapse_repeats("no no, that is fine"),
            "no no, that is fine"
        );
        assert_eq!(
            collapse_repeats("I am really unhappy with my service I got. I am really"),
            "I am really unhappy with my service I got."
        );
        assert_eq!(
            collapse_repeats("cancel my contract please"),
            "cancel my contract please"
        );
    }
}
