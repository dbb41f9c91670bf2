//! Vonage Voice WebSocket: a text `websocket:connected` message naming the content type (L16 at 8 or
//! 16 kHz) and carrying the headers set in the NCCO, then binary frames of 20 ms of 16-bit little-endian
//! PCM both ways, DTMF as text. Vonage has no marks: audio we send is played as it arrives, so the server
//! counts a mark as played once the audio before it has been paced out ([`MediaProtocol::echoes_marks`]).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::telephony::wire::{dtmf_digit, string_map};
use crate::telephony::{
    malformed, AudioFormat, Frame, Inbound, MediaProtocol, Outbound, ProtocolError, StreamStart,
};

#[derive(Debug, Default)]
pub struct Vonage {
    format: Option<AudioFormat>,
}

impl Vonage {
    pub fn new() -> Self {
        Self::default()
    }

    fn frame_bytes(format: AudioFormat) -> usize {
        format.sample_rate() as usize / 50 * format.sample_bytes()
    }
}

fn format_of(content_type: &str) -> Result<AudioFormat, ProtocolError> {
    let lower = content_type.to_ascii_lowercase().replace(' ', "");
    match lower.as_str() {
        "audio/l16;rate=16000" => Ok(AudioFormat::L16 { rate: 16_000 }),
        "audio/l16;rate=8000" => Ok(AudioFormat::L16 { rate: 8_000 }),
        _ => Err(ProtocolError::Format(content_type.to_string())),
    }
}

impl MediaProtocol for Vonage {
    fn name(&self) -> &'static str {
        "vonage"
    }

    fn echoes_marks(&self) -> bool {
        false
    }

    fn parse(&mut self, frame: &Frame) -> Result<Vec<Inbound>, ProtocolError> {
        match frame {
            Frame::Binary(bytes) => {
                let format = self.format.ok_or(ProtocolError::BeforeStart("audio"))?;
                let expected = Self::frame_bytes(format);
                if bytes.is_empty() || bytes.len() > expected * 50 || !bytes.len().is_multiple_of(2)
                {
                    return Err(ProtocolError::PayloadSize(format!(
                        "{} bytes; frames are {expected} bytes of 16-bit PCM",
                        bytes.len()
                    )));
                }
                let mut samples = Vec::with_capacity(bytes.len() / 2);
                format.decode_into(bytes, &mut samples)?;
                Ok(vec![Inbound::Audio(samples)])
            }
            Frame::Text(text) => {
                let value: Value = serde_json::from_str(text).map_err(malformed)?;
                let event = value
                    .get("event")
                    .and_then(Value::as_str)
                    .ok_or_else(|| ProtocolError::Malformed("no `event` field".into()))?;
                match event {
                    "websocket:connected" => {
                        let content_type = value
                            .get("content-type")
                            .and_then(Value::as_str)
                            .ok_or_else(|| ProtocolError::Malformed("no content-type".into()))?;
                        let format = format_of(content_type)?;
                        self.format = Some(format);
                        // The headers set in the NCCO come as the message's other fields.
                        let parameters = match &value {
                            Value::Object(map) => string_map(
                                map.iter()
                                    .filter(|(k, _)| *k != "event" && *k != "content-type"),
                            ),
                            _ => BTreeMap::new(),
                        };
                        let header =
                            |names: &[&str]| names.iter().find_map(|n| parameters.get(*n).cloned());
                        Ok(vec![Inbound::Started {
                            start: StreamStart {
                                call_id: header(&["uuid", "call_uuid", "conversation_uuid"])
                                    .unwrap_or_default(),
                                stream_id: header(&["uuid", "call_uuid"]).unwrap_or_default(),
                                from: header(&["from", "caller"]),
                                to: header(&["to"]),
                                parameters,
                            },
                            format,
                        }])
                    }
                    "websocket:dtmf" => {
                        if self.format.is_none() {
                            return Err(ProtocolError::BeforeStart("dtmf"));
                        }
                        let digit = value
                            .get("digit")
                            .and_then(Value::as_str)
                            .ok_or_else(|| ProtocolError::Malformed("no digit".into()))?;
                        Ok(vec![Inbound::Dtmf(dtmf_digit(digit)?)])
                    }
                    other => Err(ProtocolError::UnknownEvent(other.to_string())),
                }
            }
        }
    }

    fn encode(&mut self, out: Outbound<'_>) -> Result<Vec<Frame>, ProtocolError> {
        let format = self.format.ok_or(ProtocolError::BeforeStart("sending"))?;
        Ok(match out {
            Outbound::Audio(samples) => {
                let size = Self::frame_bytes(format);
                let mut bytes = format.encode(samples);
                bytes.resize(bytes.len().div_ceil(size) * size, 0);
                bytes
                    .chunks(size)
                    .map(|c| Frame::Binary(c.to_vec()))
                    .collect()
            }
            Outbound::Mark(_) => Vec::new(),
            Outbound::Clear => vec![Frame::Text(json!({"action": "clear"}).to_string())],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vonage_binary_audio_in_20ms_frames() {
        let mut p = Vonage::new();
        assert_eq!(
            p.parse(&Frame::Binary(vec![0; 640])).unwrap_err().kind(),
            "before_start"
        );
        let connected = r#"{"event":"websocket:connected","content-type":"audio/l16;rate=16000","uuid":"call-9","from":"+15550142000"}"#;
        let started = p.parse(&Frame::Text(connected.into())).unwrap();
        let Inbound::Started { start, format } = &started[0] else {
            panic!()
        };
        assert_eq!(start.call_id, "call-9");
        assert_eq!(start.from.as_deref(), Some("+15550142000"));
        assert_eq!(*format, AudioFormat::L16 { rate: 16_000 });
        assert!(
            matches!(&p.parse(&Frame::Binary(vec![0; 640])).unwrap()[0], Inbound::Audio(s) if s.len() == 320)
        );
        assert_eq!(
            p.parse(&Frame::Binary(vec![0; 3])).unwrap_err().kind(),
            "payload_size"
        );
        assert_eq!(
            p.parse(&Frame::Text(
                r#"{"event":"websocket:dtmf","digit":"5","duration":260}"#.into()
            )),
            Ok(vec![Inbound::Dtmf('5')])
        );
        // 50 ms of audio leaves as three 640-byte frames (the last padded).
        let frames = p.encode(Outbound::Audio(&[0.2; 800])).unwrap();
        assert_eq!(frames.len(), 3);
        assert!(frames
            .iter()
            .all(|f| matches!(f, Frame::Binary(b) if b.len() == 640)));
        assert!(p.encode(Outbound::Mark("m")).unwrap().is_empty());
        assert!(!p.echoes_marks());
        let bad = connected.replace("rate=16000", "rate=44100");
        assert_eq!(
            Vonage::new().parse(&Frame::Text(bad)).unwrap_err().kind(),
            "format"
        );
    }
}
