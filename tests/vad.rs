//! Silero VAD through ort with our segmenter: no speech in silence or noise, speech where there is speech.

mod common;

use switchboard::audio::resample::to_speech_rate;
use switchboard::audio::segmenter::{SegmentEvent, Segmenter, Utterance, VadSettings};
use switchboard::audio::vad::{SileroVad, FRAME};

fn utterances(audio_16k: &[f32]) -> Vec<Utterance> {
    let mut vad = SileroVad::load(&common::models()).expect("VAD loads");
    let mut seg = Segmenter::new(VadSettings::default());
    let mut out = Vec::new();
    let mut t = 0;
    for frame in audio_16k.chunks_exact(FRAME) {
        let p = vad.speech_probability(frame).unwrap();
        if let Some(SegmentEvent::Ended(u)) = seg.push(t, 32, p) {
            out.push(u);
        }
        t += 32;
    }
    if let Some(SegmentEvent::Ended(u)) = seg.finish(t) {
        out.push(u);
    }
    out
}

/// Deterministic white noise (xorshift) at the given peak level.
fn noise(n: usize, level: f32) -> Vec<f32> {
    let mut x: u32 = 0x9E37_79B9;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x as f32 / u32::MAX as f32 * 2.0 - 1.0) * level
        })
        .collect()
}

#[test]
fn silence_has_no_speech() {
    assert!(utterances(&vec![0.0; 16_000 * 5]).is_empty());
}

#[test]
fn noise_has_no_speech() {
    for level in [0.01, 0.1, 0.3] {
        let found = utterances(&noise(16_000 * 5, level));
        assert!(found.is_empty(), "noise at {level}: {found:?}");
    }
    // A mains hum is not speech either.
    let hum: Vec<f32> = (0..16_000 * 3)
        .map(|i| (i as f32 / 16_000.0 * 50.0 * std::f32::consts::TAU).sin() * 0.3)
        .collect();
    assert!(utterances(&hum).is_empty());
}

#[test]
fn speech_is_found_where_it_is() {
    let (rate, speech) = common::speak("I would like to cancel my contract please.");
    let speech = to_speech_rate(rate, &speech).unwrap();
    let mut audio = vec![0.0; 16_000 * 2];
    audio.extend(&speech);
    audio.extend(vec![0.0; 16_000 * 2]);
    let found = utterances(&audio);
    assert_eq!(found.len(), 1, "{found:?}");
    let speech_ms = speech.len() as u64 / 16;
    let u = found[0];
    assert!(u.start_ms.abs_diff(2_000) < 400, "{u:?}");
    assert!(
        u.end_ms.abs_diff(2_000 + speech_ms) < 600,
        "{u:?} vs {speech_ms} ms of speech"
    );
}
