//! Exotel voicebot streams: Twilio-like JSON in snake_case with raw 16-bit little-endian PCM at 8 kHz
//! (base64). What we send must come in chunks of at least 3,200 bytes, at most 100 KB, a multiple of 320:
//! shorter audio is padded with silence, longer audio is split.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::telephony::{
    base64_encode, event_of, malformed, wire, AudioFormat, Frame, Inbound, MediaProtocol, Outbound,
    ProtocolError, StreamStart,
};

const FORMAT: AudioFormat = AudioFormat::L16 { rate: 8_000 };
/// Outbound chunk limits, in bytes.
const MIN_CHUNK: usize = 3_200;
const MAX_CHUNK: usize = 96_000;
const CHUNK_MULTIPLE: usize = 320;

#[derive(Debug, Default)]
pub struct Exotel {
    stream_sid: Option<String>,
}

#[derive(Deserialize)]
struct Start {
    start: StartBody,
}

#[derive(Deserialize)]
struct StartBody {
    stream_sid: String,
    call_sid: String,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    custom_parameters: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    media_format: Option<MediaFormat>,
}

#[derive(Deserialize)]
struct MediaFormat {
    encoding: String,
    /// Exotel sends it as a string ("8000").
    sample_rate: Value,
}

impl Exotel {
    pub fn new() -> Self {
        Self::default()
    }
}

impl MediaProtocol for Exotel {
    fn name(&self) -> &'static str {
        "exotel"
    }

    fn parse(&mut self, frame: &Frame) -> Result<Vec<Inbound>, ProtocolError> {
        let (event, value) = event_of(frame)?;
        let started = self.stream_sid.is_some();
        Ok(match event.as_str() {
            "connected" => vec![Inbound::Connected],
            "start" => {
                let s: Start = serde_json::from_value(value).map_err(malformed)?;
                if let Some(f) = &s.start.media_format {
                    let rate = match &f.sample_rate {
                        Value::String(r) => r.parse::<u32>().ok(),
                        Value::Number(n) => n.as_u64().map(|n| n as u32),
                        _ => None,
                    };
                    if f.encoding != "audio/x-raw" || rate != Some(8_000) {
                        return Err(ProtocolError::Format(format!(
                            "{} at {}; Exotel streams are 8 kHz 16-bit PCM",
                            f.encoding, f.sample_rate
                        )));
                    }
                }
                self.stream_sid = Some(s.start.stream_sid.clone());
                vec![Inbound::Started {
                    start: StreamStart {
                        call_id: s.start.call_sid,
                        stream_id: s.start.stream_sid,
                        from: s.start.from,
                        to: s.start.to,
                        parameters: wire::string_map(s.start.custom_parameters.iter().flatten()),
                    },
                    format: FORMAT,
                }]
            }
            "media" if !started => return Err(ProtocolError::BeforeStart("media")),
            "media" => {
                return wire::media(value, FORMAT);
            }
            "dtmf" if !started => return Err(ProtocolError::BeforeStart("dtmf")),
            "dtmf" => return wire::dtmf(value),
            "mark" => return wire::mark(value),
            "stop" => vec![Inbound::Stopped],
            other => return Err(ProtocolError::UnknownEvent(other.to_string())),
        })
    }

    fn min_audio_ms(&self) -> u64 {
        // 3,200 bytes of 16-bit PCM at 8 kHz.
        (MIN_CHUNK / 16) as u64
    }

    fn encode(&mut self, out: Outbound<'_>) -> Result<Vec<Frame>, ProtocolError> {
        let sid = self
            .stream_sid
            .as_deref()
            .ok_or(ProtocolError::BeforeStart("sending"))?;
        Ok(match out {
            Outbound::Audio(samples) => {
                let mut bytes = FORMAT.encode(samples);
                let padded = bytes.len().div_ceil(CHUNK_MULTIPLE).max(1) * CHUNK_MULTIPLE;
                bytes.resize(padded.max(MIN_CHUNK), 0);
                bytes
                    .chunks(MAX_CHUNK)
                    .map(|chunk| {
                        let mut chunk = chunk.to_vec();
                        // A short tail still has to be a whole minimum chunk.
                        chunk.resize(chunk.len().max(MIN_CHUNK), 0);
                        Frame::Text(
                            json!({"event": "media", "stream_sid": sid,
                                   "media": {"payload": base64_encode(&chunk)}})
                            .to_string(),
                        )
                    })
                    .collect()
            }
            Outbound::Mark(name) => vec![Frame::Text(
                json!({"event": "mark", "stream_sid": sid, "mark": {"name": name}}).to_string(),
            )],
            Outbound::Clear => vec![Frame::Text(
                json!({"event": "clear", "stream_sid": sid}).to_string(),
            )],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: &str = r#"{"event":"start","sequence_number":1,"stream_sid":"s-1","start":{"stream_sid":"s-1","call_sid":"c-1","account_sid":"a","from":"+15550142000","to":"+15550100000","custom_parameters":{"k":"v"},"media_format":{"encoding":"audio/x-raw","sample_rate":"8000","bit_rate":"16"}}}"#;

    fn t(s: &str) -> Frame {
        Frame::Text(s.to_string())
    }

    fn payload_len(frame: &Frame) -> usize {
        let Frame::Text(s) = frame else { panic!() };
        let v: Value = serde_json::from_str(s).unwrap();
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(v["media"]["payload"].as_str().unwrap())
            .unwrap()
            .len()
    }

    #[test]
    fn an_exotel_stream_and_its_chunk_rules() {
        let mut p = Exotel::new();
        let started = p.parse(&t(START)).unwrap();
        let Inbound::Started { start, format } = &started[0] else {
            panic!()
        };
        assert_eq!(
            (start.call_id.as_str(), start.from.as_deref()),
            ("c-1", Some("+15550142000"))
        );
        assert_eq!(*format, AudioFormat::L16 { rate: 8_000 });
        let pcm: Vec<u8> = [1000i16, -1000]
            .iter()
            .cycle()
            .take(160)
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let media = format!(
            r#"{{"event":"media","stream_sid":"s-1","media":{{"chunk":1,"timestamp":"0","payload":"{}"}}}}"#,
            base64_encode(&pcm)
        );
        let Inbound::Audio(samples) = &p.parse(&t(&media)).unwrap()[0] else {
            panic!()
        };
        assert_eq!(samples.len(), 160);
        assert!((samples[0] - 1000.0 / 32768.0).abs() < 1e-6);
        let odd = format!(
            r#"{{"event":"media","stream_sid":"s-1","media":{{"payload":"{}"}}}}"#,
            base64_encode(&[1, 2, 3])
        );
        assert_eq!(p.parse(&t(&odd)).unwrap_err().kind(), "payload_size");
        // 20 ms of audio is padded to the 3,200-byte minimum; 7 s is split, every chunk a multiple of 320.
        let short = p.encode(Outbound::Audio(&[0.1; 160])).unwrap();
        assert_eq!(short.len(), 1);
        assert_eq!(payload_len(&short[0]), MIN_CHUNK);
        let long = p.encode(Outbound::Audio(&vec![0.1; 56_000])).unwrap();
        assert_eq!(long.len(), 2);
        for f in &long {
            let n = payload_len(f);
            assert!(
                (MIN_CHUNK..=100_000).contains(&n) && n.is_multiple_of(CHUNK_MULTIPLE),
                "{n}"
            );
        }
        assert_eq!(
            p.encode(Outbound::Clear).unwrap(),
            vec![Frame::Text(
                r#"{"event":"clear","stream_sid":"s-1"}"#.into()
            )]
        );
    }
}
