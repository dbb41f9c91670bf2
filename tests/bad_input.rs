//! Bad recordings never crash the process: each gets a clear error and a non-zero exit.

mod common;

use std::path::Path;

use switchboard::audio::g711::Law;
use switchboard::audio::wav::{decode_wav, encode_g711_wav, WavError};

fn pcm16_wav(samples: &[i16], rate: u32) -> Vec<u8> {
    let mut cursor = std::io::Cursor::new(Vec::new());
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::new(&mut cursor, spec).unwrap();
    for s in samples {
        w.write_sample(*s).unwrap();
    }
    w.finalize().unwrap();
    cursor.into_inner()
}

fn zero_data_chunk() -> Vec<u8> {
    pcm16_wav(&[], 8_000)
}

fn truncated() -> Vec<u8> {
    let mut wav = pcm16_wav(&[100; 8_000], 8_000);
    wav.truncate(wav.len() / 2);
    wav
}

#[test]
fn the_decoder_names_each_problem() {
    assert!(matches!(decode_wav(&[]), Err(WavError::Empty)));
    assert!(matches!(
        decode_wav(b"ID3\x03 this is an mp3"),
        Err(WavError::NotWav)
    ));
    assert!(matches!(
        decode_wav(&zero_data_chunk()),
        Err(WavError::NoAudio)
    ));
    assert!(matches!(
        decode_wav(&truncated()),
        Err(WavError::Truncated(_))
    ));
    assert!(matches!(
        decode_wav(&pcm16_wav(&[1; 10], 8_000)[..30]),
        Err(WavError::Truncated(_))
    ));
    // Every prefix of a valid file is either an error or decodes; none panics.
    let good = encode_g711_wav(Law::ALaw, 8_000, &[0.1; 400]);
    for n in 0..good.len() {
        let _ = decode_wav(&good[..n]);
    }
}

#[test]
fn a_streamed_header_without_sizes_reads_to_the_end_of_the_file() {
    let samples: Vec<i16> = (0..1_001).map(|i| (i * 7) as i16).collect();
    let mut wav = pcm16_wav(&samples, 8_000);
    let data = wav.windows(4).position(|w| w == b"data").unwrap();
    wav[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    wav[data + 4..data + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    wav.push(0x55); // half a sample at the end, as a recorder killed mid-write leaves
    let rec = decode_wav(&wav).expect("streamed PCM WAV");
    assert_eq!(rec.channels[0].len(), samples.len());
    assert_eq!(rec.channels[0][1_000], f32::from(samples[1_000]) / 32768.0);

    let mut ulaw = encode_g711_wav(Law::MuLaw, 8_000, &[0.25; 300]);
    let data = ulaw.windows(4).position(|w| w == b"data").unwrap();
    ulaw[data + 4..data + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(decode_wav(&ulaw).unwrap().channels[0].len(), 300);
}

#[test]
fn formats_decode_to_the_same_signal() {
    let tone: Vec<f32> = (0..800).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
    let pcm: Vec<i16> = tone.iter().map(|s| (s * 32767.0) as i16).collect();
    let from_pcm = decode_wav(&pcm16_wav(&pcm, 8_000)).unwrap();
    for law in [Law::MuLaw, Law::ALaw] {
        let rec = decode_wav(&encode_g711_wav(law, 8_000, &tone)).unwrap();
        assert_eq!(rec.sample_rate, 8_000);
        let err = rec.channels[0]
            .iter()
            .zip(&from_pcm.channels[0])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(err < 0.02, "{law:?}: G.711 differs from PCM by {err}");
    }
}

#[test]
fn stereo_channels_can_be_picked_or_mixed() {
    use switchboard::audio::wav::ChannelChoice;
    let mut cursor = std::io::Cursor::new(Vec::new());
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::new(&mut cursor, spec).unwrap();
    for _ in 0..100 {
        w.write_sample(16_384i16).unwrap(); // left: caller
        w.write_sample(0i16).unwrap(); // right: agent
    }
    w.finalize().unwrap();
    let rec = decode_wav(&cursor.into_inner()).unwrap();
    assert_eq!(rec.caller_audio(ChannelChoice::Only(0)).unwrap()[5], 0.5);
    assert_eq!(rec.caller_audio(ChannelChoice::Only(1)).unwrap()[5], 0.0);
    assert_eq!(rec.caller_audio(ChannelChoice::Mix).unwrap()[5], 0.25);
    assert!(matches!(
        rec.caller_audio(ChannelChoice::Only(2)),
        Err(WavError::NoSuchChannel {
            requested: 2,
            available: 2
        })
    ));
}

fn replay_cli(dir: &Path, wav: &Path) -> (Option<i32>, String) {
    let cfg = dir.join("agent.toml");
    std::fs::write(&cfg, common::agent_toml("decide")).unwrap();
    let out = common::bin()
        .args(["replay", "--config"])
        .arg(&cfg)
        .arg("--db")
        .arg(dir.join("t.db"))
        .arg(wav)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_replay_command_rejects_bad_recordings_cleanly() {
    let _engines = common::engine_lock();
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("empty.wav", Vec::new(), "empty"),
        (
            "notes.wav",
            b"meeting notes, not audio\n".to_vec(),
            "not a WAV",
        ),
        ("zero.wav", zero_data_chunk(), "no audio"),
        ("cut.wav", truncated(), "truncated"),
    ];
    for (name, bytes, expect) in cases {
        let wav = dir.path().join(name);
        std::fs::write(&wav, bytes).unwrap();
        let (code, err) = replay_cli(dir.path(), &wav);
        assert_eq!(code, Some(1), "{name}: {err}");
        assert!(err.contains(expect), "{name}: expected {expect:?} in {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    let (code, err) = replay_cli(dir.path(), &dir.path().join("missing.wav"));
    assert_eq!(code, Some(1));
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn a_missing_model_names_the_command_that_fetches_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("agent.toml");
    std::fs::write(&cfg, common::agent_toml("decide")).unwrap();
    let wav = dir.path().join("x.wav");
    std::fs::write(&wav, encode_g711_wav(Law::MuLaw, 8_000, &[0.0; 8_000])).unwrap();
    let out = common::bin()
        .env("SWITCHBOARD_MODELS", dir.path().join("no-models"))
        .args(["replay", "--config"])
        .arg(&cfg)
        .arg("--db")
        .arg(dir.path().join("t.db"))
        .arg(&wav)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("switchboard models fetch"), "{err}");
}
