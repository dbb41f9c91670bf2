//! Piper (VITS) voices through ONNX Runtime: the local voice that sounds like a person. The text becomes IPA
//! phonemes with espeak-ng (the same phonemizer Piper was trained with), the phonemes become ids through the
//! voice's `phoneme_id_map`, and one model run renders the sentence at the voice's rate (22,050 Hz for joe).

use std::collections::HashMap;
use std::process::Command;
use std::sync::Mutex;

use ort::session::Session;
use ort::value::TensorRef;
use serde::Deserialize;

use super::{Speech, SpeechError, SpeechSynth};
use crate::models::{ModelDir, PIPER_VOICE, PIPER_VOICE_CONFIG};
use crate::onnx;

const ENGINE: &str = "piper";
/// Sentence start, end, and the pad placed after every phoneme (Piper's conventions).
const BOS: char = '^';
const EOS: char = '$';
const PAD: char = '_';

/// The parts of `<voice>.onnx.json` we use.
#[derive(Debug, Deserialize)]
struct VoiceConfig {
    audio: AudioConfig,
    espeak: EspeakConfig,
    inference: Inference,
    phoneme_id_map: HashMap<String, Vec<i64>>,
}

#[derive(Debug, Deserialize)]
struct AudioConfig {
    sample_rate: u32,
}

#[derive(Debug, Deserialize)]
struct EspeakConfig {
    voice: String,
}

#[derive(Debug, Deserialize)]
struct Inference {
    noise_scale: f32,
    length_scale: f32,
    noise_w: f32,
}

/// A loaded Piper voice.
pub struct Piper {
    session: Mutex<Session>,
    ids: HashMap<char, Vec<i64>>,
    rate: u32,
    espeak_voice: String,
    scales: [f32; 3],
}

fn engine_error(reason: impl Into<String>) -> SpeechError {
    SpeechError::Engine {
        engine: ENGINE,
        reason: reason.into(),
    }
}

impl Piper {
    /// Loads the voice shipped in the models directory (`switchboard models fetch` puts it there).
    pub fn load(models: &ModelDir, threads: usize) -> Result<Self, SpeechError> {
        let model = models
            .file(PIPER_VOICE)
            .map_err(|e| engine_error(e.to_string()))?;
        let config_path = models
            .file(PIPER_VOICE_CONFIG)
            .map_err(|e| engine_error(e.to_string()))?;
        let text = std::fs::read_to_string(&config_path)
            .map_err(|e| engine_error(format!("{}: {e}", config_path.display())))?;
        let config: VoiceConfig = serde_json::from_str(&text)
            .map_err(|e| engine_error(format!("{}: {e}", config_path.display())))?;
        let mut ids = HashMap::new();
        for (symbol, id) in config.phoneme_id_map {
            let mut chars = symbol.chars();
            if let (Some(c), None) = (chars.next(), chars.next()) {
                ids.insert(c, id);
            }
        }
        for needed in [BOS, EOS, PAD, ' '] {
            if !ids.contains_key(&needed) {
                return Err(engine_error(format!(
                    "{}: the phoneme map has no {needed:?}",
                    config_path.display()
                )));
            }
        }
        let session =
            onnx::session(models, &model, threads).map_err(|e| engine_error(e.to_string()))?;
        Ok(Self {
            session: Mutex::new(session),
            ids,
            rate: config.audio.sample_rate,
            espeak_voice: config.espeak.voice,
            scales: [
                config.inference.noise_scale,
                config.inference.length_scale,
                config.inference.noise_w,
            ],
        })
    }

    /// The espeak-ng voice the model was trained with (`en-us`).
    pub fn language(&self) -> &str {
        &self.espeak_voice
    }

    /// Whether this voice can read prompts written for the espeak-ng voice `espeak_voice` (same language).
    pub fn speaks(&self, espeak_voice: &str) -> bool {
        let lang = |v: &str| v.split(['-', '_']).next().unwrap_or(v).to_lowercase();
        lang(espeak_voice) == lang(&self.espeak_voice)
    }

    /// IPA phonemes of `text`, clause by clause, with the clause's closing punctuation put back (espeak-ng
    /// drops it, and Piper voices pause on it).
    pub fn phonemes(&self, text: &str) -> Result<String, SpeechError> {
        let out = Command::new("espeak-ng")
            .args(["-q", "--ipa", "-v", &self.espeak_voice, "--"])
            .arg(text)
            .output()
            .map_err(|e| engine_error(format!("cannot run espeak-ng: {e}")))?;
        if !out.status.success() {
            return Err(engine_error(format!(
                "espeak-ng: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let clauses: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        let marks: Vec<char> = text
            .chars()
            .filter(|c| matches!(c, '.' | ',' | '!' | '?' | ';' | ':'))
            .collect();
        let mut phonemes = String::new();
        for (i, clause) in clauses.iter().enumerate() {
            if i > 0 {
                phonemes.push(' ');
            }
            phonemes.push_str(clause);
            // Only when espeak split exactly at the punctuation can each clause get its own mark back.
            if clauses.len() == marks.len() {
                phonemes.push(marks[i]);
            } else if i + 1 == clauses.len() {
                phonemes.push('.');
            }
        }
        Ok(phonemes)
    }

    /// The model's input ids: start, each known phoneme followed by the pad, end.
    pub fn ids(&self, phonemes: &str) -> Vec<i64> {
        let mut ids = self.ids[&BOS].clone();
        for c in phonemes.chars() {
            if let Some(id) = self.ids.get(&c) {
                ids.extend(id);
                ids.extend(&self.ids[&PAD]);
            }
        }
        ids.extend(&self.ids[&EOS]);
        ids
    }
}

impl SpeechSynth for Piper {
    fn name(&self) -> &'static str {
        ENGINE
    }

    fn synthesize(&self, text: &str) -> Result<Speech, SpeechError> {
        let ids = self.ids(&self.phonemes(text)?);
        let run = |e: ort::Error| engine_error(e.to_string());
        let lengths = [ids.len() as i64];
        let input = TensorRef::from_array_view(([1usize, ids.len()], &ids[..])).map_err(run)?;
        let input_lengths = TensorRef::from_array_view(([1usize], &lengths[..])).map_err(run)?;
        let scales = TensorRef::from_array_view(([3usize], &self.scales[..])).map_err(run)?;
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let outputs = session
            .run(ort::inputs![
                "input" => input,
                "input_lengths" => input_lengths,
                "scales" => scales
            ])
            .map_err(run)?;
        let (_, audio) = outputs[0].try_extract_tensor::<f32>().map_err(run)?;
        if audio.is_empty() {
            return Err(SpeechError::Audio {
                engine: ENGINE,
                reason: format!("no audio for {text:?}"),
            });
        }
        Ok(Speech {
            rate: self.rate,
            samples: audio.iter().map(|s| s.clamp(-1.0, 1.0)).collect(),
        })
    }
}
