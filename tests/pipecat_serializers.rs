//! Our provider protocols against an independent implementation: the PyPI `pipecat-ai` serializers
//! (tests/peers/pipecat_check.py runs them). For Twilio, Telnyx, Plivo, Exotel and Vonage:
//! - pipecat parses the audio we send back into the samples we meant (where the provider's outbound media
//!   message has the shape pipecat reads);
//! - pipecat and we read the same provider messages (caller audio, DTMF) into the same samples and digits;
//! - what pipecat sends for audio and barge-in, we send too: same event, same fields, same audio bytes.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine;
use serde_json::{json, Value};
use switchboard::providers::Provider;
use switchboard::telephony::{Frame, Inbound, MediaProtocol, Outbound};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A provider's messages for one stream.
struct Case {
    provider: &'static str,
    rate: u32,
    stream_id: &'static str,
    /// What the provider sends first (Vonage: the connected message).
    start: &'static str,
    /// The provider's caller-audio message around a base64 payload (`{}`), or None for binary frames.
    media: Option<&'static str>,
    dtmf: &'static str,
    /// The caller audio is G.711 mu-law (else 16-bit PCM).
    mulaw: bool,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            provider: "twilio",
            rate: 8_000,
            stream_id: "MZ00000000000000000000000000000001",
            start: r#"{"event":"start","sequenceNumber":"1","streamSid":"MZ00000000000000000000000000000001","start":{"accountSid":"AC1","streamSid":"MZ00000000000000000000000000000001","callSid":"CA1","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{}}}"#,
            media: Some(
                r#"{"event":"media","sequenceNumber":"2","streamSid":"MZ00000000000000000000000000000001","media":{"track":"inbound","chunk":"1","timestamp":"0","payload":"{}"}}"#,
            ),
            dtmf: r#"{"event":"dtmf","sequenceNumber":"3","streamSid":"MZ00000000000000000000000000000001","dtmf":{"track":"inbound_track","digit":"5"}}"#,
            mulaw: true,
        },
        Case {
            provider: "telnyx",
            rate: 8_000,
            stream_id: "st-1",
            start: r#"{"event":"start","sequence_number":"1","stream_id":"st-1","start":{"user_id":"u","call_control_id":"v3:cc-1","call_session_id":"s","from":"+15550142000","to":"+15550100000","client_state":null,"custom_parameters":{},"media_format":{"encoding":"PCMU","sample_rate":8000,"channels":1}}}"#,
            media: Some(
                r#"{"event":"media","sequence_number":"2","stream_id":"st-1","media":{"track":"inbound","chunk":"1","timestamp":"0","payload":"{}"}}"#,
            ),
            dtmf: r#"{"event":"dtmf","stream_id":"st-1","occurred_at":"2026-11-23T10:00:00Z","dtmf":{"digit":"5"}}"#,
            mulaw: true,
        },
        Case {
            provider: "plivo",
            rate: 8_000,
            stream_id: "str-1",
            start: r#"{"event":"start","sequenceNumber":0,"start":{"callId":"call-1","streamId":"str-1","accountId":"MA1","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000}},"extra_headers":{}}"#,
            media: Some(
                r#"{"event":"media","sequenceNumber":1,"streamId":"str-1","media":{"track":"inbound","timestamp":"0","chunk":1,"payload":"{}"}}"#,
            ),
            dtmf: r#"{"event":"dtmf","streamId":"str-1","dtmf":{"track":"inbound","digit":"5"}}"#,
            mulaw: true,
        },
        Case {
            provider: "exotel",
            rate: 8_000,
            stream_id: "s-1",
            start: r#"{"event":"start","sequence_number":1,"stream_sid":"s-1","start":{"stream_sid":"s-1","call_sid":"c-1","account_sid":"a","from":"+15550142000","to":"+15550100000","custom_parameters":{},"media_format":{"encoding":"audio/x-raw","sample_rate":"8000","bit_rate":"16"}}}"#,
            media: Some(
                r#"{"event":"media","sequence_number":2,"stream_sid":"s-1","media":{"chunk":1,"timestamp":"0","payload":"{}"}}"#,
            ),
            dtmf: r#"{"event":"dtmf","sequence_number":3,"stream_sid":"s-1","dtmf":{"digit":"5","duration":"100"}}"#,
            mulaw: false,
        },
        Case {
            provider: "vonage",
            rate: 16_000,
            stream_id: "",
            start: r#"{"event":"websocket:connected","content-type":"audio/l16;rate=16000"}"#,
            media: None,
            dtmf: r#"{"event":"websocket:dtmf","digit":"5","duration":260}"#,
            mulaw: false,
        },
    ]
}

/// 40 ms of a 440 Hz tone at `rate`, as samples and as 16-bit PCM.
fn tone(rate: u32) -> (Vec<f32>, Vec<u8>) {
    let n = rate as usize / 25;
    let samples: Vec<f32> = (0..n)
        .map(|i| 0.4 * (i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin())
        .collect();
    let pcm = samples
        .iter()
        .flat_map(|&s| switchboard::audio::g711::to_i16(s).to_le_bytes())
        .collect();
    (samples, pcm)
}

fn wire(frame: &Frame) -> Value {
    match frame {
        Frame::Text(t) => json!({ "text": t }),
        Frame::Binary(b) => json!({ "binary": B64.encode(b) }),
    }
}

fn unwire(v: &Value) -> Frame {
    match (v.get("text"), v.get("binary")) {
        (Some(t), _) => Frame::Text(t.as_str().unwrap().to_string()),
        (_, Some(b)) => Frame::Binary(B64.decode(b.as_str().unwrap()).unwrap()),
        _ => panic!("not a message: {v}"),
    }
}

fn pcm_of(v: &Value) -> Vec<f32> {
    B64.decode(v["audio"].as_str().expect("an audio frame"))
        .unwrap()
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0)
        .collect()
}

/// Largest sample difference; mu-law round trips are within a few percent of full scale at most.
fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "sample counts differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn audio_of(p: &mut dyn MediaProtocol, frame: &Frame) -> Vec<f32> {
    p.parse(frame)
        .unwrap_or_else(|e| panic!("{}: {e}", p.name()))
        .into_iter()
        .find_map(|i| match i {
            Inbound::Audio(a) => Some(a),
            _ => None,
        })
        .expect("audio")
}

#[test]
fn pipecat_and_switchboard_speak_the_same_protocols() {
    let mut input = serde_json::Map::new();
    let mut ours = Vec::new();
    for case in cases() {
        let mut protocol = case.provider.parse::<Provider>().unwrap().media();
        protocol
            .parse(&Frame::Text(case.start.into()))
            .unwrap_or_else(|e| panic!("{}: {e}", case.provider));
        let (samples, pcm) = tone(case.rate);
        let audio_out = protocol.encode(Outbound::Audio(&samples)).unwrap();
        let clear_out = protocol.encode(Outbound::Clear).unwrap();
        let payload = if case.mulaw {
            let mut bytes = Vec::new();
            switchboard::audio::g711::Law::MuLaw.encode_into(&samples, &mut bytes);
            bytes
        } else {
            pcm.clone()
        };
        let media = match case.media {
            Some(template) => Frame::Text(template.replace("{}", &B64.encode(&payload))),
            None => Frame::Binary(payload.clone()),
        };
        let dtmf = Frame::Text(case.dtmf.into());
        input.insert(
            case.provider.into(),
            json!({
                "rate": case.rate, "stream_id": case.stream_id, "tone": B64.encode(&pcm),
                "ours": audio_out.iter().map(wire).collect::<Vec<_>>(),
                "inbound": [wire(&media), wire(&dtmf)],
            }),
        );
        ours.push((case, protocol, samples, audio_out, clear_out, media, dtmf));
    }

    let mut child = Command::new(common::peers_python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/peers/pipecat_check.py"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pipecat");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(Value::Object(input).to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pipecat: Value = serde_json::from_slice(&out.stdout).expect("pipecat's answer");

    for (case, mut protocol, samples, audio_out, clear_out, media, dtmf) in ours {
        let p = case.provider;
        let theirs = &pipecat[p];
        let tolerance = if case.mulaw { 0.05 } else { 1e-4 };

        // pipecat reads what we send (Plivo's playAudio is not a message pipecat parses: skipped).
        if p != "plivo" {
            let parsed: Vec<f32> = theirs["parsed_ours"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| !f.is_null())
                .flat_map(pcm_of)
                .collect();
            assert!(
                !parsed.is_empty(),
                "{p}: pipecat found no audio in {audio_out:?}"
            );
            // Exotel's minimum message size pads our audio with silence.
            let parsed = &parsed[..samples.len()];
            assert!(
                max_diff(parsed, &samples) < tolerance,
                "{p}: our audio read back differently"
            );
        }

        // Both read the provider's caller audio and DTMF the same way.
        let inbound = theirs["parsed_inbound"].as_array().unwrap();
        let mine = audio_of(protocol.as_mut(), &media);
        assert!(
            max_diff(&pcm_of(&inbound[0]), &mine) < 1e-4,
            "{p}: caller audio differs"
        );
        assert_eq!(inbound[1]["dtmf"], "5", "{p}: pipecat's DTMF");
        assert!(
            protocol.parse(&dtmf).unwrap().contains(&Inbound::Dtmf('5')),
            "{p}: our DTMF"
        );

        // What pipecat sends, we send: the barge-in message field for field, and the same audio bytes.
        let their_clear = unwire(&theirs["clear"]);
        let (Frame::Text(theirs_clear), [Frame::Text(ours_clear)]) = (&their_clear, &clear_out[..])
        else {
            panic!("{p}: clear is one text message: {their_clear:?} / {clear_out:?}");
        };
        let theirs_clear: Value = serde_json::from_str(theirs_clear).unwrap();
        let ours_clear: Value = serde_json::from_str(ours_clear).unwrap();
        for (key, value) in theirs_clear.as_object().unwrap() {
            assert_eq!(ours_clear.get(key), Some(value), "{p}: clear field {key}");
        }
        let their_audio = unwire(&theirs["audio"]);
        match (&their_audio, &audio_out[0]) {
            (Frame::Binary(theirs), Frame::Binary(_)) => {
                // pipecat sends the buffer whole; Vonage wants 20 ms frames back, which is what we send.
                let frame_bytes = case.rate as usize / 50 * 2;
                let mut mine = Vec::new();
                for f in &audio_out {
                    let Frame::Binary(b) = f else {
                        panic!("{p}: text among audio")
                    };
                    assert_eq!(b.len(), frame_bytes, "{p}: a 20 ms frame");
                    mine.extend_from_slice(b);
                }
                let as_samples = |b: &[u8]| -> Vec<i32> {
                    b.chunks_exact(2)
                        .map(|c| i32::from(i16::from_le_bytes([c[0], c[1]])))
                        .collect()
                };
                let (t, m) = (as_samples(theirs), as_samples(&mine));
                assert_eq!(t.len(), m.len(), "{p}: audio length");
                // pipecat passes the audio through its resampler even at the same rate: off by a unit or so.
                assert!(
                    t.iter().zip(&m).all(|(a, b)| (a - b).abs() <= 2),
                    "{p}: audio samples"
                );
            }
            (Frame::Text(theirs), Frame::Text(mine)) => {
                let theirs: Value = serde_json::from_str(theirs).unwrap();
                let mine: Value = serde_json::from_str(mine).unwrap();
                assert_eq!(theirs["event"], mine["event"], "{p}: audio event");
                let bytes = |v: &Value| {
                    B64.decode(v["media"]["payload"].as_str().expect("payload"))
                        .unwrap()
                };
                let (t, m) = (bytes(&theirs), bytes(&mine));
                // mu-law encoders may differ by one code at segment edges (see PROTOCOLS.md).
                assert!(m.len() >= t.len(), "{p}: our audio message is shorter");
                let off = t.iter().zip(&m).filter(|(a, b)| a != b).count();
                assert!(
                    off * 100 <= t.len(),
                    "{p}: {off} of {} audio bytes differ",
                    t.len()
                );
                for (key, value) in theirs.as_object().unwrap() {
                    if key != "media" {
                        assert_eq!(mine.get(key), Some(value), "{p}: audio field {key}");
                    }
                }
                for (key, value) in theirs["media"].as_object().unwrap() {
                    if key != "payload" {
                        assert_eq!(
                            mine["media"].get(key),
                            Some(value),
                            "{p}: audio field media.{key}"
                        );
                    }
                }
            }
            other => panic!("{p}: audio message kinds differ: {other:?}"),
        }
    }
}
