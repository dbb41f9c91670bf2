//! Speech out: the agent's sentences rendered to audio by an engine behind one trait, and cached per
//! sentence and sample rate, because an agent says the same few sentences on every call.
//!
//! The local default is espeak-ng; the speech issue adds Piper and an HTTP engine behind the same trait.

pub mod espeak;
pub mod piper;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::audio::resample::{resample, ResampleError};

#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    #[error("cannot run {engine}: {reason}")]
    Engine {
        engine: &'static str,
        reason: String,
    },
    #[error("{engine} rendered unreadable audio: {reason}")]
    Audio {
        engine: &'static str,
        reason: String,
    },
    #[error(transparent)]
    Resample(#[from] ResampleError),
}

/// Rendered speech: mono samples in -1..1 at `rate` Hz.
#[derive(Debug, Clone, PartialEq)]
pub struct Speech {
    pub rate: u32,
    pub samples: Vec<f32>,
}

/// Turns a sentence into audio. Blocking: the server calls it off the async threads.
pub trait SpeechSynth: Send + Sync {
    fn name(&self) -> &'static str;
    fn synthesize(&self, text: &str) -> Result<Speech, SpeechError>;
}

/// Rendered samples by sentence and sample rate.
type Rendered = HashMap<(String, u32), Arc<Vec<f32>>>;

/// Rendered prompts by sentence and rate.
pub struct PromptCache {
    synth: Arc<dyn SpeechSynth>,
    rendered: Mutex<Rendered>,
}

impl PromptCache {
    pub fn new(synth: Arc<dyn SpeechSynth>) -> Self {
        Self {
            synth,
            rendered: Mutex::new(HashMap::new()),
        }
    }

    pub fn engine(&self) -> &'static str {
        self.synth.name()
    }

    /// `text` spoken at `rate` Hz, from the cache when it was rendered before. Blocking.
    pub fn render(&self, text: &str, rate: u32) -> Result<Arc<Vec<f32>>, SpeechError> {
        let key = (text.to_string(), rate);
        if let Some(hit) = self.lock().get(&key) {
            return Ok(hit.clone());
        }
        let speech = self.synth.synthesize(text)?;
        let samples = if speech.rate == rate {
            speech.samples
        } else {
            resample(speech.rate, rate, &speech.samples)?
        };
        let samples = Arc::new(samples);
        self.lock().insert(key, samples.clone());
        Ok(samples)
    }

    /// Whether `text` at `rate` is already rendered.
    pub fn is_cached(&self, text: &str, rate: u32) -> bool {
        self.lock().contains_key(&(text.to_string(), rate))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Rendered> {
        self.rendered.lock().unwrap_or_else(|p| p.into_inner())
    }
}
