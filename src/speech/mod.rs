//! Speech out: the agent's sentences rendered to audio by an engine behind one trait, and cached per
//! sentence and sample rate, because an agent says the same few sentences on every call.
//!
//! Engines: Piper (the local default, a natural voice run through ONNX Runtime), espeak-ng (robotic but
//! tiny, and Piper's fallback), and any OpenAI-compatible HTTP voice. [`engine`] picks one from `[speech]`.

pub mod check;
pub mod espeak;
pub mod http;
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

impl Speech {
    /// The first channel of a WAV an engine produced.
    pub fn from_recording(
        engine: &'static str,
        recording: crate::audio::wav::Recording,
    ) -> Result<Self, SpeechError> {
        let rate = recording.sample_rate;
        let samples = recording
            .channels
            .into_iter()
            .next()
            .ok_or_else(|| SpeechError::Audio {
                engine,
                reason: "no audio channel".into(),
            })?;
        Ok(Self { rate, samples })
    }
}

/// Turns a sentence into audio. Blocking: the server calls it off the async threads.
pub trait SpeechSynth: Send + Sync {
    fn name(&self) -> &'static str;
    fn synthesize(&self, text: &str) -> Result<Speech, SpeechError>;
}

/// Speaks with `primary`, and with `fallback` for any sentence the primary cannot render, so a caller
/// hears a robotic sentence rather than silence.
pub struct WithFallback {
    pub primary: Box<dyn SpeechSynth>,
    pub fallback: Box<dyn SpeechSynth>,
}

impl SpeechSynth for WithFallback {
    fn name(&self) -> &'static str {
        self.primary.name()
    }

    fn synthesize(&self, text: &str) -> Result<Speech, SpeechError> {
        self.primary.synthesize(text).or_else(|e| {
            tracing::warn!(error = %e, engine = self.fallback.name(), "speaking a sentence with the fallback engine");
            self.fallback.synthesize(text)
        })
    }
}

/// The engine `[speech]` asks for, speaking the language of `voice` (`prompts/<lang>` `[voice]`).
///
/// Piper loads the voice from the models directory; if it cannot (models not fetched), espeak-ng speaks
/// instead and the returned note says why. The Piper voice is English: prompts in another language need
/// espeak or an HTTP voice, which is an error here rather than English phonemes read from Spanish text.
pub fn engine(
    settings: &crate::config::SpeechSettings,
    espeak_voice: &str,
    models: &crate::models::ModelDir,
) -> Result<(Arc<dyn SpeechSynth>, Option<String>), SpeechError> {
    use crate::config::SpeechSettings;
    let espeak = || Box::new(espeak::Espeak::new(espeak_voice));
    match settings {
        SpeechSettings::Espeak => Ok((Arc::new(espeak::Espeak::new(espeak_voice)), None)),
        SpeechSettings::Http(voice) => Ok((Arc::new(http::HttpSpeech::new(voice.clone())?), None)),
        SpeechSettings::Piper => match piper::Piper::load(models, 1) {
            Ok(p) if !p.speaks(espeak_voice) => Err(SpeechError::Engine {
                engine: "piper",
                reason: format!(
                    "the Piper voice speaks {:?} but the prompts are {espeak_voice:?}: set [speech] engine = \"espeak\" or \"http\"",
                    p.language()
                ),
            }),
            Ok(p) => Ok((
                Arc::new(WithFallback {
                    primary: Box::new(p),
                    fallback: espeak(),
                }),
                None,
            )),
            Err(e) => Ok((
                Arc::new(espeak::Espeak::new(espeak_voice)),
                Some(format!("{e}; speaking with espeak-ng instead (run `switchboard models fetch`)")),
            )),
        },
    }
}

/// What the cache holds: each sentence as the engine spoke it, and at each rate a stream asked for.
#[derive(Default)]
struct Cached {
    spoken: HashMap<String, Arc<Speech>>,
    rendered: HashMap<(String, u32), Arc<[f32]>>,
}

/// Rendered prompts by sentence and rate. A sentence is synthesized once; each further rate only resamples.
pub struct PromptCache {
    synth: Arc<dyn SpeechSynth>,
    cached: Mutex<Cached>,
}

impl PromptCache {
    pub fn new(synth: Arc<dyn SpeechSynth>) -> Self {
        Self {
            synth,
            cached: Mutex::new(Cached::default()),
        }
    }

    pub fn engine(&self) -> &'static str {
        self.synth.name()
    }

    /// `text` spoken at `rate` Hz, from the cache when it was rendered before. Blocking.
    pub fn render(&self, text: &str, rate: u32) -> Result<Arc<[f32]>, SpeechError> {
        let key = (text.to_string(), rate);
        let spoken = {
            let cached = self.lock();
            if let Some(hit) = cached.rendered.get(&key) {
                return Ok(hit.clone());
            }
            cached.spoken.get(text).cloned()
        };
        let speech = match spoken {
            Some(speech) => speech,
            None => {
                // Synthesized outside the lock: other calls' cached prompts are not held up by it.
                let speech = Arc::new(self.synth.synthesize(text)?);
                self.lock().spoken.insert(text.to_string(), speech.clone());
                speech
            }
        };
        let samples: Arc<[f32]> = if speech.rate == rate {
            speech.samples.as_slice().into()
        } else {
            resample(speech.rate, rate, &speech.samples)?.into()
        };
        self.lock().rendered.insert(key, samples.clone());
        Ok(samples)
    }

    /// Whether `text` at `rate` is already rendered.
    pub fn is_cached(&self, text: &str, rate: u32) -> bool {
        self.lock().rendered.contains_key(&(text.to_string(), rate))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.cached.lock().unwrap_or_else(|p| p.into_inner())
    }
}
