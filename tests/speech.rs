//! Speech out: every sentence the agent says, rendered by the Piper voice, is read back by tiny.en (a prompt
//! the recogniser cannot read back is a bad prompt); espeak-ng, the fallback, renders too.

mod common;

use switchboard::asr::whisper::WhisperModel;
use switchboard::asr::{AsrSettings, Transcriber};
use switchboard::audio::resample::resample;
use switchboard::prompts::Language;
use switchboard::speech::espeak::Espeak;
use switchboard::speech::piper::Piper;
use switchboard::speech::SpeechSynth;

fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Share of the words said that were heard, in order (longest common subsequence over the words said):
/// the word accuracy, not counting words the recogniser added (its end-of-clip repeats).
fn word_accuracy(said: &str, heard: &str) -> f64 {
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

#[test]
fn piper_prompts_read_back_through_the_recogniser() {
    let _engines = common::engine_lock();
    let models = common::models();
    let piper = Piper::load(&models, 2).expect("the Piper voice loads");
    let whisper = WhisperModel::load(&models, AsrSettings::default()).unwrap();
    let mut asr = whisper.transcriber().unwrap();
    let en = Language::load("en").unwrap();
    let p = &en.prompts;
    let prompts = [
        p.call.greeting.as_str(),
        p.escalation.announce.as_str(),
        p.callback.intro.as_str(),
        p.callback.promise.as_str(),
        "When would you like us to call you back?",
    ];
    let mut total = 0.0;
    for text in prompts {
        let speech = piper.synthesize(text).expect("rendered");
        assert_eq!(speech.rate, 22_050);
        let seconds = speech.samples.len() as f64 / 22_050.0;
        assert!(seconds > 0.5 && seconds < 15.0, "{text}: {seconds} s");
        let at_16k = resample(22_050, 16_000, &speech.samples).unwrap();
        let heard = asr.transcribe(&at_16k).unwrap();
        let accuracy = word_accuracy(text, &heard);
        eprintln!("{accuracy:.2}  {text:?} -> {heard:?}");
        assert!(accuracy >= 0.9, "{text:?} was read back as {heard:?}");
        total += accuracy;
    }
    assert!(total / prompts.len() as f64 >= 0.95);
    // Unknown symbols are skipped, not fatal; the ids start and end as Piper expects.
    let ids = piper.ids("hə'loʊ ☃");
    assert_eq!(ids.first(), Some(&1));
    assert_eq!(ids.last(), Some(&2));
}

#[test]
fn espeak_renders_a_prompt() {
    let speech = Espeak::new("en-us")
        .synthesize("-Hello, thank you for calling.")
        .expect("espeak-ng renders");
    assert!(speech.samples.len() as f64 / speech.rate as f64 > 1.0);
    assert!(speech.samples.iter().any(|s| s.abs() > 0.05));
}
