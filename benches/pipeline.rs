//! Speed of the replay pipeline's stages on this machine (reported, never asserted):
//! G.711 decode + resample (x real time), Silero VAD (real-time factor), whisper per utterance with and
//! without a sized encoder context, and end of speech -> decision wall time on whole fixture calls.
//!
//! `cargo bench --bench pipeline`. Needs the models (`switchboard models fetch`) and espeak-ng.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use switchboard::asr::whisper::WhisperModel;
use switchboard::asr::{AsrSettings, AudioContext, Transcriber};
use switchboard::audio::g711::Law;
use switchboard::audio::resample::{to_speech_rate, StreamResampler};
use switchboard::audio::vad::{SileroVad, FRAME};
use switchboard::config;
use switchboard::engines::Engines;
use switchboard::events::CallEvent;
use switchboard::replay::{replay, ReplayOptions};
use switchboard::tickets::store::TicketStore;

/// One minute of a phone line: espeak speech looped, encoded as 8 kHz mu-law.
fn phone_minute() -> Vec<u8> {
    let (rate, speech) =
        common::speak("I would like to cancel my contract, and I am not happy with the service.");
    let line = switchboard::audio::resample::resample(rate, 8_000, &speech).unwrap();
    let mut codes = Vec::new();
    Law::MuLaw.encode_into(&line, &mut codes);
    codes.iter().cycle().take(8_000 * 60).copied().collect()
}

fn codec_and_resample(c: &mut Criterion) {
    let codes = phone_minute();
    let mut g = c.benchmark_group("g711_decode_resample");
    g.throughput(Throughput::Elements(codes.len() as u64));
    g.bench_function("60s_of_8kHz_mulaw_to_16kHz", |b| {
        b.iter(|| {
            let mut r = StreamResampler::to_speech_rate(8_000).unwrap();
            let mut pcm = Vec::with_capacity(160);
            let mut out = Vec::with_capacity(16_000 * 60);
            // 20 ms frames, as a provider streams them.
            for frame in codes.chunks(160) {
                pcm.clear();
                Law::MuLaw.decode_into(frame, &mut pcm);
                r.push(&pcm, &mut out).unwrap();
            }
            r.finish(&mut out).unwrap();
            black_box(out.len())
        })
    });
    g.finish();
}

fn vad(c: &mut Criterion) {
    let models = common::models();
    let (rate, speech) =
        common::speak("Hello, I would like some help with my bill, it looks wrong this month.");
    let audio: Vec<f32> = to_speech_rate(rate, &speech).unwrap();
    let ten_s: Vec<f32> = audio.iter().cycle().take(16_000 * 10).copied().collect();
    let mut v = SileroVad::load(&models).unwrap();
    let mut g = c.benchmark_group("silero_vad");
    g.sample_size(20);
    g.throughput(Throughput::Elements(ten_s.len() as u64));
    g.bench_function("10s_of_16kHz", |b| {
        b.iter(|| {
            v.reset();
            let mut speech_frames = 0;
            for f in ten_s.chunks_exact(FRAME) {
                if v.speech_probability(f).unwrap() > 0.5 {
                    speech_frames += 1;
                }
            }
            black_box(speech_frames)
        })
    });
    g.finish();
}

/// Speech out: one prompt rendered by the Piper voice (2 threads) and by espeak-ng, uncached. The real-time
/// factor is printed once (render time / audio length).
fn speech(c: &mut Criterion) {
    use switchboard::speech::{espeak::Espeak, piper::Piper, SpeechSynth};
    let models = common::models();
    let piper = Piper::load(&models, 2).unwrap();
    let espeak = Espeak::new("en-us");
    let text =
        "I'm transferring you now to a colleague who can help with this. Please stay on the line.";
    let started = std::time::Instant::now();
    let rendered = piper.synthesize(text).unwrap();
    let seconds = rendered.samples.len() as f64 / f64::from(rendered.rate);
    eprintln!(
        "piper: {seconds:.2} s of speech in {:.0} ms (RTF {:.3})",
        started.elapsed().as_secs_f64() * 1000.0,
        started.elapsed().as_secs_f64() / seconds
    );
    let mut g = c.benchmark_group("speech");
    g.sample_size(10);
    g.bench_function("piper_announcement", |b| {
        b.iter(|| black_box(piper.synthesize(text).unwrap()))
    });
    g.bench_function("espeak_announcement", |b| {
        b.iter(|| black_box(espeak.synthesize(text).unwrap()))
    });
    // Time to the first 20 ms frame of mu-law a provider can be sent: a sentence the cache has (every
    // fixed prompt, rendered at start) against one it must render first (a read-back with the caller's
    // value). Engines render whole sentences, so uncached = the whole render + resample.
    let shared: std::sync::Arc<dyn SpeechSynth> = std::sync::Arc::new(piper);
    let first_frame = |cache: &switchboard::speech::PromptCache, sentence: &str| {
        let samples = cache.render(sentence, 8_000).unwrap();
        let mut codes = Vec::with_capacity(160);
        switchboard::audio::g711::Law::MuLaw.encode_into(&samples[..160], &mut codes);
        codes
    };
    let readback = "I have 6 5 0, 2 2 3, 0 4 5 6. Is that right?";
    let warm = switchboard::speech::PromptCache::new(shared.clone());
    first_frame(&warm, readback);
    g.bench_function("first_audio_cached", |b| {
        b.iter(|| black_box(first_frame(&warm, readback)))
    });
    g.bench_function("first_audio_uncached_piper", |b| {
        b.iter(|| {
            let cold = switchboard::speech::PromptCache::new(shared.clone());
            black_box(first_frame(&cold, readback))
        })
    });
    g.bench_function("first_audio_uncached_espeak", |b| {
        b.iter(|| {
            let cold =
                switchboard::speech::PromptCache::new(std::sync::Arc::new(Espeak::new("en-us")));
            black_box(first_frame(&cold, readback))
        })
    });
    g.finish();
}

fn whisper(c: &mut Criterion) {
    let models = common::models();
    let (rate, speech) = common::speak("Hi, I want to cancel my contract please.");
    let audio = to_speech_rate(rate, &speech).unwrap();
    let mut g = c.benchmark_group("whisper_tiny_en_utterance");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    for (name, ctx) in [
        ("sized_audio_ctx", AudioContext::Auto),
        ("full_30s_window", AudioContext::Full),
    ] {
        let model = WhisperModel::load(
            &models,
            AsrSettings {
                audio_ctx: ctx,
                ..AsrSettings::default()
            },
        )
        .unwrap();
        let mut t = model.transcriber().unwrap();
        eprintln!(
            "whisper {name}: {:.2} s of audio -> {:?}",
            audio.len() as f32 / 16_000.0,
            t.transcribe(&audio).unwrap()
        );
        g.bench_function(name, |b| {
            b.iter(|| black_box(t.transcribe(&audio).unwrap()))
        });
    }
    g.finish();
}

/// Whole fixture calls; reports the `wall_ms` of decision lines (end of speech detected -> decision).
fn end_of_speech_to_decision(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let calls = [
        common::write_call(
            dir.path(),
            "cancel",
            &["Hello there.", "I want to cancel my contract, please."],
        ),
        common::write_call(
            dir.path(),
            "complaint",
            &["I am really unhappy with the service I got."],
        ),
        common::write_call(
            dir.path(),
            "neutral",
            &["What time are you open on Saturday?"],
        ),
    ];
    let cfg = config::parse(&common::agent_toml("decide"), "agent.toml")
        .unwrap()
        .config;
    let engines = Engines::new(cfg, common::models()).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt
        .block_on(TicketStore::open(
            &switchboard::tickets::database::Database::Sqlite(dir.path().join("t.db")),
        ))
        .unwrap();
    let mut walls = Vec::new();
    let mut g = c.benchmark_group("whole_call_replay");
    g.sample_size(10);
    for wav in &calls {
        let name = wav.file_stem().unwrap().to_string_lossy().into_owned();
        g.bench_function(&name, |b| {
            b.iter(|| {
                let started = Instant::now();
                let outcome = rt
                    .block_on(replay(
                        &engines,
                        wav,
                        &ReplayOptions::default(),
                        &store,
                        &mut |_| {},
                    ))
                    .unwrap();
                for l in &outcome.lines {
                    if let (CallEvent::Decision { .. }, Some(w)) = (&l.event, l.wall_ms) {
                        walls.push(w);
                    }
                }
                black_box((outcome.duration_ms, started.elapsed()))
            })
        });
    }
    g.finish();
    walls.sort_unstable();
    if !walls.is_empty() {
        let pct = |p: usize| walls[(walls.len() - 1) * p / 100];
        eprintln!(
            "end of speech -> decision wall time over {} decisions: median {} ms, p90 {} ms, max {} ms",
            walls.len(),
            pct(50),
            pct(90),
            walls[walls.len() - 1]
        );
    }
}

criterion_group! {
    name = benches;
    // Criterion's own charts would draw with plotters' ab_glyph fonts (enabled for `eval --plot`), which
    // need a registered font: the numbers are what this bench reports.
    config = Criterion::default().without_plots();
    targets = codec_and_resample, vad, speech, whisper, end_of_speech_to_decision
}
criterion_main!(benches);
