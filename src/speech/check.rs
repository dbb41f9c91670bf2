//! Checking the agent's voice: every sentence it can say is rendered by the configured engine and read
//! back by the recogniser. A sentence tiny.en cannot read back is one a caller on a noisy line will
//! struggle with too: reword it. Also measures how long rendering takes (the time to the first audio byte
//! of an uncached prompt, since engines render whole sentences) against how long the speech lasts.

use std::time::Instant;

use crate::asr::{AsrError, Transcriber};
use crate::audio::resample::{resample, TARGET_RATE};
use crate::call::dialog::question;
use crate::config::{CallbackField, FieldType};
use crate::language::{fill, FieldWords, PromptError, Prompts};

use super::{SpeechError, SpeechSynth};

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Prompt(#[from] PromptError),
    #[error(transparent)]
    Speech(#[from] SpeechError),
    #[error(transparent)]
    Asr(#[from] AsrError),
}

/// How one sentence fared.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SentenceCheck {
    pub text: String,
    pub heard: String,
    /// Word accuracy of the read-back (see [`word_accuracy`]).
    pub accuracy: f64,
    /// Rendering time: the first audio byte of an uncached prompt waits for it.
    pub render_ms: f64,
    pub audio_s: f64,
}

impl SentenceCheck {
    /// Real-time factor of rendering.
    pub fn rtf(&self) -> f64 {
        self.render_ms / 1000.0 / self.audio_s.max(1e-9)
    }
}

/// Words for comparison: lower case, "p.m." and "don't" kept whole, and figures split into digits, so
/// "650-223-0456", "6 5 0, 2 2 3, 0 4 5 6" and "3pm" / "3 pm" compare equal (formatting, not hearing).
fn words(text: &str) -> Vec<String> {
    let squeezed: String = text
        .to_lowercase()
        .chars()
        .filter(|c| *c != '.' && *c != '\'')
        .collect();
    let mut out = Vec::new();
    for run in squeezed.split(|c: char| !c.is_alphanumeric()) {
        let mut word = String::new();
        for c in run.chars() {
            if c.is_ascii_digit() {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                out.push(c.to_string());
            } else {
                word.push(c);
            }
        }
        if !word.is_empty() {
            out.push(word);
        }
    }
    out
}

/// Share of the words said that were heard, in order (longest common subsequence over the words said):
/// word accuracy that does not count words the recogniser added (its end-of-clip repeats).
pub fn word_accuracy(said: &str, heard: &str) -> f64 {
    let (a, b) = (words(said), words(heard));
    let mut row = vec![0usize; b.len() + 1];
    for wa in &a {
        let mut prev = 0;
        for (j, wb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if wa == wb {
                prev + 1
            } else {
                row[j + 1].max(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()] as f64 / a.len().max(1) as f64
}

/// Every sentence the agent can say on a call of this config: the fixed ones, each field's question with
/// its retry and silence wrappers, and the read-backs and promise filled with a typical value.
pub fn agent_sentences(
    prompts: &Prompts,
    words: &FieldWords,
    fields: &[CallbackField],
    calling_code: &str,
) -> Result<Vec<String>, PromptError> {
    let d = &prompts.dialog;
    let t = &prompts.time;
    let three = fill(
        &t.clock,
        &[("hour", "3"), ("minutes", ""), ("meridiem", &t.pm)],
    )?;
    let a_time = format!("{} {}", t.tomorrow, fill(&t.after, &[("clock", &three)])?);
    let mut out = prompts.fixed_sentences();
    out.push(fill(&prompts.callback.promise_time, &[("time", &a_time)])?);
    let monday = fill(&t.weekday, &[("weekday", &t.weekdays[0])])?;
    let nine = fill(
        &t.clock,
        &[("hour", "9"), ("minutes", ""), ("meridiem", &t.am)],
    )?;
    let opening = format!("{monday} {}", fill(&t.at, &[("clock", &nine)])?);
    out.push(fill(
        &prompts.escalation.after_hours,
        &[("when", &opening)],
    )?);
    for field in fields {
        let q = question(field, prompts)?;
        let sample = match field.kind {
            FieldType::Phone => words.numbers.read_back("+16502230456", calling_code),
            FieldType::Email => words.email.read_back("john.smith@example.com"),
            FieldType::Datetime => a_time.clone(),
            FieldType::Number => "4 8 2, 1 3".to_string(),
            FieldType::YesNo => d.yes.clone(),
            FieldType::Choice => field.options.first().cloned().unwrap_or_default(),
            FieldType::Text => String::new(),
        };
        out.push(q.clone());
        out.push(fill(&d.not_caught, &[("ask", &q)])?);
        out.push(fill(&d.still_there, &[("ask", &q)])?);
        if field.required {
            out.push(fill(&d.required, &[("ask", &q)])?);
        }
        if field.confirm && !sample.is_empty() {
            out.push(fill(&d.confirm, &[("value", &sample)])?);
            out.push(fill(&d.corrected, &[("value", &sample)])?);
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|s| seen.insert(s.clone()));
    Ok(out)
}

/// Renders `sentence` with `synth` and reads it back with `asr`.
pub fn check_sentence(
    synth: &dyn SpeechSynth,
    asr: &mut dyn Transcriber,
    sentence: &str,
) -> Result<SentenceCheck, CheckError> {
    let started = Instant::now();
    let speech = synth.synthesize(sentence)?;
    let render_ms = started.elapsed().as_secs_f64() * 1000.0;
    let audio_s = speech.samples.len() as f64 / f64::from(speech.rate.max(1));
    let at_16k = resample(speech.rate, TARGET_RATE, &speech.samples).map_err(SpeechError::from)?;
    let heard = asr.transcribe(&at_16k)?;
    Ok(SentenceCheck {
        accuracy: word_accuracy(sentence, &heard),
        text: sentence.to_string(),
        heard,
        render_ms,
        audio_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_counts_words_said_and_heard_in_order() {
        assert_eq!(word_accuracy("I have 6 5 0.", "I have 6 5 0"), 1.0);
        assert_eq!(word_accuracy("one two three four", "one three"), 0.5);
        assert_eq!(word_accuracy("a b", "a b a b a b"), 1.0);
        assert_eq!(word_accuracy("hello", ""), 0.0);
        assert_eq!(word_accuracy("I have 6 5 0, 2 2 3.", "I have 650-223"), 1.0);
        assert_eq!(word_accuracy("after 3 pm", "after 3p.m."), 1.0);
    }
}
