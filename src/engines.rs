//! The loaded engines of one agent config: the config itself, its language, the model directory, whisper,
//! the shared sentence embedder and the embedded topic index.
//!
//! Loading them is slow (seconds), so a process loads them once and every call, replay, rehearsal or
//! evaluation borrows them; what is per call (a VAD state, a transcriber, a topic matcher, a listening
//! pipeline) is made fresh from here. This module owns that bundle only: it must not drive a call (no
//! [`crate::call::Call`], no ticket store, no sockets); replay, rehearsal, eval and the server do that.

use std::sync::{Arc, Mutex};

use crate::asr::whisper::WhisperModel;
use crate::asr::AsrError;
use crate::audio::vad::SileroVad;
use crate::config::AgentConfig;
use crate::language::{Language, PromptError};
use crate::listen::{Ears, InlineRecogniser};
use crate::listen::{ListenError, Listener};
use crate::models::{ModelDir, SILERO_VAD};
use crate::onnx::OnnxError;
use crate::topics::embedder::{EmbedError, SentenceEmbedder};
use crate::topics::semantic::{SemanticMatcher, SharedEmbedder, TopicIndex};
use crate::topics::{topic_index, TopicError, TopicMatcher};

/// Why the engines (or a per-call pipeline made from them) could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum EnginesError {
    #[error(transparent)]
    Listen(#[from] ListenError),
    #[error(transparent)]
    Prompts(#[from] PromptError),
    #[error(transparent)]
    Asr(#[from] AsrError),
    #[error(transparent)]
    Onnx(#[from] OnnxError),
    #[error("sentence embedder: {0}")]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Topics(#[from] TopicError),
}

/// Threads of the shared sentence embedder.
const EMBEDDER_THREADS: usize = 2;

/// The engines of one config, loaded once and shared by every call that runs under it.
pub struct Engines {
    config: AgentConfig,
    language: Language,
    models: ModelDir,
    whisper: WhisperModel,
    embedder: SharedEmbedder,
    index: Arc<TopicIndex>,
}

impl Engines {
    pub fn new(config: AgentConfig, models: ModelDir) -> Result<Self, EnginesError> {
        let language = Language::for_agent(&config.agent)?;
        let whisper = WhisperModel::load(&models, config.asr)?;
        // Fail on a missing VAD model or ONNX Runtime before any audio is read (sessions are per call).
        models.file(SILERO_VAD).map_err(OnnxError::from)?;
        crate::onnx::environment(&models)?;
        let embedder = Arc::new(Mutex::new(SentenceEmbedder::load(
            &models,
            EMBEDDER_THREADS,
        )?));
        let index = Arc::new(topic_index(&config, &language, &embedder)?);
        Ok(Self {
            config,
            language,
            models,
            whisper,
            embedder,
            index,
        })
    }

    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    /// The topics of this config, embedded.
    pub fn index(&self) -> &Arc<TopicIndex> {
        &self.index
    }

    pub fn models(&self) -> &ModelDir {
        &self.models
    }

    pub fn whisper(&self) -> &WhisperModel {
        &self.whisper
    }

    pub fn language(&self) -> &Language {
        &self.language
    }

    pub fn embedder(&self) -> &SharedEmbedder {
        &self.embedder
    }

    /// A fresh per-call topic matcher.
    pub fn matcher(&self) -> SemanticMatcher {
        SemanticMatcher::new(self.index.clone(), self.embedder.clone())
    }

    /// A per-call listening pipeline for audio at `sample_rate` that scores with `matcher`.
    /// A call's ears for audio at `sample_rate` (its own VAD state).
    pub fn ears(&self, sample_rate: u32) -> Result<Ears, EnginesError> {
        Ok(Ears::new(
            sample_rate,
            SileroVad::load(&self.models)?,
            self.config.vad,
        )?)
    }

    /// A recogniser that answers a call's jobs inline (replay, rehearsal), scoring with this config's
    /// topics.
    pub fn inline_recogniser(&self) -> Result<InlineRecogniser, EnginesError> {
        Ok(InlineRecogniser::new(
            Box::new(self.whisper.transcriber()?),
            Box::new(self.matcher()),
            self.config.matching.partial_confidence,
        ))
    }

    pub fn listener(
        &self,
        sample_rate: u32,
        matcher: Box<dyn TopicMatcher>,
    ) -> Result<Listener, EnginesError> {
        Ok(Listener::new(
            sample_rate,
            SileroVad::load(&self.models)?,
            self.config.vad,
            Box::new(self.whisper.transcriber()?),
            matcher,
        )?)
    }
}
