//! Twilio Media Streams: JSON text frames, base64 8 kHz mu-law audio, `mark` echoes and `clear`.
//!
//! Inbound `connected`, `start`, `media`, `dtmf`, `mark`, `stop`; outbound `media`, `mark`, `clear`, each
//! carrying the `streamSid` of the start message. Twilio sends numbers such as `sequenceNumber` as strings.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;

use crate::audio::g711::Law;
use crate::telephony::{
    base64_encode, event_of, malformed, wire, AudioFormat, Frame, Inbound, MediaProtocol, Outbound,
    ProtocolError, StreamStart,
};

#[derive(Debug, Default)]
pub struct Twilio {
    stream_sid: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Start {
    start: StartBody,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartBody {
    stream_sid: String,
    call_sid: String,
    #[serde(default)]
    media_format: Option<MediaFormat>,
    #[serde(default)]
    custom_parameters: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MediaFormat {
    encoding: String,
    sample_rate: u32,
    channels: u32,
}

const FORMAT: AudioFormat = AudioFormat::G711(Law::MuLaw);

impl Twilio {
    pub fn new() -> Self {
        Self::default()
    }

    fn sid(&self) -> Result<&str, ProtocolError> {
        self.stream_sid
            .as_deref()
            .ok_or(ProtocolError::BeforeStart("sending"))
    }
}

impl MediaProtocol for Twilio {
    fn name(&self) -> &'static str {
        "twilio"
    }

    fn parse(&mut self, frame: &Frame) -> Result<Vec<Inbound>, ProtocolError> {
        let (event, value) = event_of(frame)?;
        let started = self.stream_sid.is_some();
        Ok(match event.as_str() {
            "connected" => vec![Inbound::Connected],
            "start" => {
                let s: Start = serde_json::from_value(value).map_err(malformed)?;
                if let Some(f) = &s.start.media_format {
                    if f.encoding != "audio/x-mulaw" || f.sample_rate != 8_000 || f.channels != 1 {
                        return Err(ProtocolError::Format(format!(
                            "{} at {} Hz, {} channel(s); Twilio streams are 8 kHz mono mu-law",
                            f.encoding, f.sample_rate, f.channels
                        )));
                    }
                }
                self.stream_sid = Some(s.start.stream_sid.clone());
                vec![Inbound::Started {
                    start: StreamStart {
                        call_id: s.start.call_sid,
                        stream_id: s.start.stream_sid,
                        from: s.start.custom_parameters.get("from").cloned(),
                        to: s.start.custom_parameters.get("to").cloned(),
                        parameters: s.start.custom_parameters,
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

    fn encode(&mut self, out: Outbound<'_>) -> Result<Vec<Frame>, ProtocolError> {
        let sid = self.sid()?;
        let message = match out {
            Outbound::Audio(samples) => json!({
                "event": "media",
                "streamSid": sid,
                "media": {"payload": base64_encode(&FORMAT.encode(samples))},
            }),
            Outbound::Mark(name) => {
                json!({"event": "mark", "streamSid": sid, "mark": {"name": name}})
            }
            Outbound::Clear => json!({"event": "clear", "streamSid": sid}),
        };
        Ok(vec![Frame::Text(message.to_string())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telephony::base64_decode;
    use serde_json::Value;

    const START: &str = r#"{"event":"start","sequenceNumber":"1","streamSid":"MZ0001","start":{"accountSid":"AC1","streamSid":"MZ0001","callSid":"CA0001","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{"from":"+15550142000","k":"v"}}}"#;

    fn t(s: &str) -> Frame {
        Frame::Text(s.to_string())
    }

    #[test]
    fn a_whole_stream_parses_into_call_facts() {
        let mut p = Twilio::new();
        assert_eq!(
            p.parse(&t(
                r#"{"event":"connected","protocol":"Call","version":"1.0.0"}"#
            )),
            Ok(vec![Inbound::Connected])
        );
        let started = p.parse(&t(START)).unwrap();
        let Inbound::Started { start, format } = &started[0] else {
            panic!("{started:?}")
        };
        assert_eq!(start.call_id, "CA0001");
        assert_eq!(start.stream_id, "MZ0001");
        assert_eq!(start.from.as_deref(), Some("+15550142000"));
        assert_eq!(start.parameters["k"], "v");
        assert_eq!(*format, AudioFormat::G711(Law::MuLaw));
        // 160 bytes of mu-law silence (0xFF) = 20 ms.
        let payload = base64_encode(&[0xFF; 160]);
        let media = format!(
            r#"{{"event":"media","sequenceNumber":"4","streamSid":"MZ0001","media":{{"track":"inbound","chunk":"2","timestamp":"5","payload":"{payload}"}}}}"#
        );
        let audio = p.parse(&t(&media)).unwrap();
        let Inbound::Audio(samples) = &audio[0] else {
            panic!()
        };
        assert_eq!(samples.len(), 160);
        assert!(samples.iter().all(|s| s.abs() < 1e-3));
        assert_eq!(
            p.parse(&t(r#"{"event":"dtmf","sequenceNumber":"5","streamSid":"MZ0001","dtmf":{"track":"inbound_track","digit":"7"}}"#)),
            Ok(vec![Inbound::Dtmf('7')])
        );
        assert_eq!(
            p.parse(&t(r#"{"event":"mark","sequenceNumber":"6","streamSid":"MZ0001","mark":{"name":"greeting"}}"#)),
            Ok(vec![Inbound::MarkPlayed("greeting".into())])
        );
        assert_eq!(
            p.parse(&t(r#"{"event":"stop","sequenceNumber":"7","streamSid":"MZ0001","stop":{"accountSid":"AC1","callSid":"CA0001"}}"#)),
            Ok(vec![Inbound::Stopped])
        );
    }

    #[test]
    fn what_we_send_carries_the_stream_sid() {
        let mut p = Twilio::new();
        assert_eq!(
            p.encode(Outbound::Clear),
            Err(ProtocolError::BeforeStart("sending"))
        );
        p.parse(&t(START)).unwrap();
        let Frame::Text(media) = &p.encode(Outbound::Audio(&[0.0; 160])).unwrap()[0] else {
            panic!()
        };
        let v: Value = serde_json::from_str(media).unwrap();
        assert_eq!(v["event"], "media");
        assert_eq!(v["streamSid"], "MZ0001");
        let bytes = base64_decode(v["media"]["payload"].as_str().unwrap()).unwrap();
        assert_eq!(bytes.len(), 160);
        let Frame::Text(mark) = &p.encode(Outbound::Mark("m1")).unwrap()[0] else {
            panic!()
        };
        assert_eq!(
            serde_json::from_str::<Value>(mark).unwrap(),
            json!({"event":"mark","streamSid":"MZ0001","mark":{"name":"m1"}})
        );
        let Frame::Text(clear) = &p.encode(Outbound::Clear).unwrap()[0] else {
            panic!()
        };
        assert_eq!(
            serde_json::from_str::<Value>(clear).unwrap(),
            json!({"event":"clear","streamSid":"MZ0001"})
        );
    }

    #[test]
    fn bad_frames_are_typed_errors() {
        let mut p = Twilio::new();
        let media = r#"{"event":"media","streamSid":"MZ0001","media":{"payload":"//8="}}"#;
        assert_eq!(p.parse(&t(media)).unwrap_err().kind(), "before_start");
        assert_eq!(p.parse(&t("{not json")).unwrap_err().kind(), "malformed");
        assert_eq!(
            p.parse(&t(r#"{"no":"event"}"#)).unwrap_err().kind(),
            "malformed"
        );
        assert_eq!(
            p.parse(&t(r#"{"event":"dance"}"#)).unwrap_err(),
            ProtocolError::UnknownEvent("dance".into())
        );
        assert_eq!(
            p.parse(&Frame::Binary(vec![1, 2, 3])).unwrap_err().kind(),
            "unexpected_binary"
        );
        let wrong_format = START.replace("audio/x-mulaw", "audio/x-l16");
        assert_eq!(p.parse(&t(&wrong_format)).unwrap_err().kind(), "format");
        p.parse(&t(START)).unwrap();
        let bad64 = r#"{"event":"media","streamSid":"MZ0001","media":{"payload":"@@@"}}"#;
        assert_eq!(p.parse(&t(bad64)).unwrap_err().kind(), "base64");
        let empty = r#"{"event":"media","streamSid":"MZ0001","media":{"payload":""}}"#;
        assert_eq!(p.parse(&t(empty)).unwrap_err().kind(), "payload_size");
        let huge = format!(
            r#"{{"event":"media","streamSid":"MZ0001","media":{{"payload":"{}"}}}}"#,
            base64_encode(&vec![0xFF; 40_000])
        );
        assert_eq!(p.parse(&t(&huge)).unwrap_err().kind(), "payload_size");
        let key = r#"{"event":"dtmf","streamSid":"MZ0001","dtmf":{"digit":"12"}}"#;
        assert_eq!(p.parse(&t(key)).unwrap_err().kind(), "malformed");
        // The outbound track (our own audio echoed) is not the caller.
        let outbound = r#"{"event":"media","streamSid":"MZ0001","media":{"track":"outbound","payload":"//8="}}"#;
        assert_eq!(p.parse(&t(outbound)), Ok(vec![]));
    }
}
