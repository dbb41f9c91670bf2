//! whisper.cpp through whisper-rs: one model in memory for the process, one decoder state per call.
//!
//! The encoder normally processes a fixed 30 s window. Phone utterances are a few seconds, so by default the
//! encoder context is sized to the utterance (`audio_ctx`): 50 positions per second plus a margin, because a
//! window cut tighter than the audio makes whisper repeat itself (measured in ../shared/MODELS.md).

use std::sync::Arc;

use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

use super::{clean_transcript, AsrError, AsrSettings, AudioContext, Transcriber};
use crate::models::{ModelDir, WHISPER_TINY_EN};

/// Encoder positions per second of audio (1500 for 30 s).
const POSITIONS_PER_SECOND: f32 = 50.0;
/// Extra positions beyond the audio: 1.28 s.
const CONTEXT_MARGIN: i32 = 64;
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
        let state = self
            .ctx
            .create_state()
            .map_err(|e| AsrError::Decode(e.to_string()))?;
        Ok(WhisperTranscriber {
            state,
            settings: self.settings,
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

/// One call's whisper state.
pub struct WhisperTranscriber {
    state: WhisperState,
    settings: AsrSettings,
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
        params.set_n_threads(self.settings.effective_threads() as i32);
        params.set_language(Some("en"));
        params.set_no_context(true);
        params.set_single_segment(true);
        params.set_no_timestamps(true);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        params.set_suppress_blank(true);
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
        Ok(clean_transcript(&text))
    }
}
