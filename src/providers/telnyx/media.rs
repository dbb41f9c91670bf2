//! Telnyx media streaming: like Twilio's in shape but snake_case, with the codec named in the start
//! message (PCMU, PCMA or L16 at 8/16 kHz), and media that may arrive out of order: frames are put back
//! in `sequence_number` order through a small reorder window.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::{json, Value};

use crate::audio::g711::Law;
use crate::telephony::{
    base64_encode, event_of, malformed, wire, AudioFormat, Frame, Inbound, MediaProtocol, Outbound,
    ProtocolError, StreamStart,
};

/// Out-of-order frames held back while waiting for a missing one; past this the gap is skipped.
const REORDER_WINDOW: usize = 8;

#[derive(Debug, Default)]
pub struct Telnyx {
    format: Option<AudioFormat>,
    /// The next media sequence number expected.
    next: Option<u64>,
    held: BTreeMap<u64, Vec<f32>>,
}

#[derive(Deserialize)]
struct Start {
    start: StartBody,
    #[serde(default)]
    stream_id: Option<String>,
}

#[derive(Deserialize)]
struct StartBody {
    call_control_id: String,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    custom_parameters: Option<HashMap<String, Value>>,
    media_format: MediaFormat,
}

#[derive(Deserialize)]
struct MediaFormat {
    encoding: String,
    sample_rate: u32,
    #[serde(default = "one")]
    channels: u32,
}

fn one() -> u32 {
    1
}

/// Telnyx sends sequence numbers as strings or numbers.
fn sequence(v: Option<&Value>) -> Option<u64> {
    match v {
        Some(Value::String(s)) => s.parse().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    }
}

fn format_of(f: &MediaFormat) -> Result<AudioFormat, ProtocolError> {
    let format = match (f.encoding.to_ascii_uppercase().as_str(), f.sample_rate) {
        ("PCMU", 8_000) => AudioFormat::G711(Law::MuLaw),
        ("PCMA", 8_000) => AudioFormat::G711(Law::ALaw),
        ("L16", rate @ (8_000 | 16_000)) => AudioFormat::L16 { rate },
        (encoding, rate) => {
            return Err(ProtocolError::Format(format!("{encoding} at {rate} Hz")));
        }
    };
    if f.channels != 1 {
        return Err(ProtocolError::Format(format!("{} channels", f.channels)));
    }
    Ok(format)
}

impl Telnyx {
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts a media frame in order; returns the audio that is now in order.
    fn reorder(&mut self, seq: Option<u64>, samples: Vec<f32>) -> Vec<Inbound> {
        let Some(seq) = seq else {
            return vec![Inbound::Audio(samples)];
        };
        let next = *self.next.get_or_insert(seq);
        if seq < next {
            return Vec::new(); // late duplicate
        }
        self.held.insert(seq, samples);
        let mut out = Vec::new();
        let mut next = next;
        loop {
            if let Some(s) = self.held.remove(&next) {
                out.push(Inbound::Audio(s));
                next += 1;
            } else if self.held.len() > REORDER_WINDOW {
                // The missing frame is not coming: skip to the oldest one held.
                next = *self.held.keys().next().expect("held is not empty");
            } else {
                break;
            }
        }
        self.next = Some(next);
        out
    }
}

impl MediaProtocol for Telnyx {
    fn name(&self) -> &'static str {
        "telnyx"
    }

    fn parse(&mut self, frame: &Frame) -> Result<Vec<Inbound>, ProtocolError> {
        let (event, value) = event_of(frame)?;
        Ok(match event.as_str() {
            "connected" => vec![Inbound::Connected],
            "start" => {
                let s: Start = serde_json::from_value(value).map_err(malformed)?;
                let format = format_of(&s.start.media_format)?;
                self.format = Some(format);
                let parameters = wire::string_map(s.start.custom_parameters.iter().flatten());
                vec![Inbound::Started {
                    start: StreamStart {
                        stream_id: s.stream_id.unwrap_or_default(),
                        call_id: s.start.call_control_id,
                        from: s.start.from,
                        to: s.start.to,
                        parameters,
                    },
                    format,
                }]
            }
            "media" => {
                let format = self.format.ok_or(ProtocolError::BeforeStart("media"))?;
                let seq = sequence(value.get("sequence_number"));
                match wire::media_samples(value, format)? {
                    Some(samples) => self.reorder(seq, samples),
                    None => Vec::new(),
                }
            }
            "dtmf" if self.format.is_none() => return Err(ProtocolError::BeforeStart("dtmf")),
            "dtmf" => return wire::dtmf(value),
            "mark" => return wire::mark(value),
            "stop" => vec![Inbound::Stopped],
            "error" => {
                return Err(ProtocolError::Malformed(format!(
                    "the provider reported an error: {value}"
                )))
            }
            other => return Err(ProtocolError::UnknownEvent(other.to_string())),
        })
    }

    fn encode(&mut self, out: Outbound<'_>) -> Result<Vec<Frame>, ProtocolError> {
        let format = self.format.ok_or(ProtocolError::BeforeStart("sending"))?;
        let message = match out {
            Outbound::Audio(samples) => json!({
                "event": "media",
                "media": {"payload": base64_encode(&format.encode(samples))},
            }),
            Outbound::Mark(name) => json!({"event": "mark", "mark": {"name": name}}),
            Outbound::Clear => json!({"event": "clear"}),
        };
        Ok(vec![Frame::Text(message.to_string())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telephony::base64_decode;

    const START: &str = r#"{"event":"start","sequence_number":"1","stream_id":"st-1","start":{"user_id":"u","call_control_id":"v3:cc-1","call_session_id":"s","from":"+15550142000","to":"+15550100000","client_state":null,"custom_parameters":{"k":"v"},"media_format":{"encoding":"PCMU","sample_rate":8000,"channels":1}}}"#;

    fn t(s: &str) -> Frame {
        Frame::Text(s.to_string())
    }

    fn media(seq: u64, byte: u8) -> Frame {
        t(&format!(
            r#"{{"event":"media","sequence_number":"{seq}","stream_id":"st-1","media":{{"track":"inbound","chunk":"{seq}","timestamp":"0","payload":"{}"}}}}"#,
            base64_encode(&[byte; 160])
        ))
    }

    fn first_sample(i: &Inbound) -> f32 {
        match i {
            Inbound::Audio(s) => s[0],
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_stream_parses_and_media_is_put_back_in_order() {
        let mut p = Telnyx::new();
        let started = p.parse(&t(START)).unwrap();
        let Inbound::Started { start, format } = &started[0] else {
            panic!()
        };
        assert_eq!(start.call_id, "v3:cc-1");
        assert_eq!(start.from.as_deref(), Some("+15550142000"));
        assert_eq!(start.parameters["k"], "v");
        assert_eq!(*format, AudioFormat::G711(Law::MuLaw));
        // 2, 4, 3: 3 releases 4. A late 2 again is dropped.
        assert_eq!(p.parse(&media(2, 0x10)).unwrap().len(), 1);
        assert!(p.parse(&media(4, 0x30)).unwrap().is_empty());
        let both = p.parse(&media(3, 0x20)).unwrap();
        assert_eq!(both.len(), 2);
        assert!(first_sample(&both[0]) != first_sample(&both[1]));
        assert_eq!(
            first_sample(&both[0]),
            first_sample(&p.parse(&media(5, 0x20)).unwrap()[0])
        );
        assert!(p.parse(&media(2, 0x10)).unwrap().is_empty());
        // A frame that never comes: after the window, the gap is skipped, nothing is lost after it.
        let mut released = 0;
        for seq in 7..7 + REORDER_WINDOW as u64 + 1 {
            released += p.parse(&media(seq, 0x40)).unwrap().len();
        }
        assert_eq!(released, REORDER_WINDOW + 1);
        assert_eq!(
            p.parse(&t(
                r##"{"event":"dtmf","stream_id":"st-1","dtmf":{"digit":"#"},"occurred_at":"x"}"##
            )),
            Ok(vec![Inbound::Dtmf('#')])
        );
    }

    #[test]
    fn codecs_from_the_start_message_and_frames_we_send() {
        let mut p = Telnyx::new();
        let l16 = START.replace(
            r#""encoding":"PCMU","sample_rate":8000"#,
            r#""encoding":"L16","sample_rate":16000"#,
        );
        let started = p.parse(&t(&l16)).unwrap();
        assert!(matches!(
            started[0],
            Inbound::Started {
                format: AudioFormat::L16 { rate: 16_000 },
                ..
            }
        ));
        let Frame::Text(m) = &p.encode(Outbound::Audio(&[0.5; 320])).unwrap()[0] else {
            panic!()
        };
        let v: Value = serde_json::from_str(m).unwrap();
        assert_eq!(
            base64_decode(v["media"]["payload"].as_str().unwrap())
                .unwrap()
                .len(),
            640
        );
        assert_eq!(
            p.encode(Outbound::Clear).unwrap(),
            vec![Frame::Text(r#"{"event":"clear"}"#.into())]
        );
        let opus = START.replace("PCMU", "OPUS");
        assert_eq!(Telnyx::new().parse(&t(&opus)).unwrap_err().kind(), "format");
        assert_eq!(
            Telnyx::new().parse(&media(1, 0)).unwrap_err().kind(),
            "before_start"
        );
    }
}
