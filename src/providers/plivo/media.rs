//! Plivo audio streams: `start`/`media`/`dtmf` in, `playAudio`/`checkpoint`/`clearAudio` out; a checkpoint
//! is answered by `playedStream` (our mark played) and a clear by `clearedAudio`. The content type of the
//! stream (mu-law 8 kHz or L16 at 8/16 kHz) comes from the start message.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::audio::g711::Law;
use crate::telephony::{
    base64_encode, event_of, malformed, wire, AudioFormat, Frame, Inbound, MediaProtocol, Outbound,
    ProtocolError, StreamStart,
};

#[derive(Debug, Default)]
pub struct Plivo {
    stream: Option<(String, AudioFormat)>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Start {
    start: StartBody,
    #[serde(default, rename = "extra_headers")]
    extra_headers: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartBody {
    call_id: String,
    stream_id: String,
    media_format: MediaFormat,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MediaFormat {
    encoding: String,
    sample_rate: u32,
}

#[derive(Deserialize)]
struct Played {
    name: String,
}

fn format_of(f: &MediaFormat) -> Result<AudioFormat, ProtocolError> {
    let encoding = f.encoding.to_ascii_lowercase();
    match (encoding.trim_start_matches("audio/"), f.sample_rate) {
        ("x-mulaw", 8_000) => Ok(AudioFormat::G711(Law::MuLaw)),
        ("x-l16", rate @ (8_000 | 16_000)) => Ok(AudioFormat::L16 { rate }),
        (_, rate) => Err(ProtocolError::Format(format!(
            "{} at {rate} Hz",
            f.encoding
        ))),
    }
}

fn content_type(format: AudioFormat) -> &'static str {
    match format {
        AudioFormat::L16 { .. } => "audio/x-l16",
        AudioFormat::G711(Law::ALaw) => "audio/x-alaw",
        AudioFormat::G711(Law::MuLaw) => "audio/x-mulaw",
    }
}

impl Plivo {
    pub fn new() -> Self {
        Self::default()
    }
}

impl MediaProtocol for Plivo {
    fn name(&self) -> &'static str {
        "plivo"
    }

    fn parse(&mut self, frame: &Frame) -> Result<Vec<Inbound>, ProtocolError> {
        let (event, value) = event_of(frame)?;
        Ok(match event.as_str() {
            "start" => {
                let s: Start = serde_json::from_value(value).map_err(malformed)?;
                let format = format_of(&s.start.media_format)?;
                self.stream = Some((s.start.stream_id.clone(), format));
                let parameters = match s.extra_headers {
                    Some(Value::Object(map)) => wire::string_map(&map),
                    // Sent as one "k=v,k2=v2" string by some set-ups.
                    Some(Value::String(raw)) => raw
                        .split([',', ';'])
                        .filter_map(|kv| kv.split_once('='))
                        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                        .collect(),
                    _ => Default::default(),
                };
                vec![Inbound::Started {
                    start: StreamStart {
                        call_id: s.start.call_id,
                        stream_id: s.start.stream_id,
                        from: None,
                        to: None,
                        parameters,
                    },
                    format,
                }]
            }
            "media" => {
                let (_, format) = self
                    .stream
                    .clone()
                    .ok_or(ProtocolError::BeforeStart("media"))?;
                return wire::media(value, format);
            }
            "dtmf" if self.stream.is_none() => return Err(ProtocolError::BeforeStart("dtmf")),
            "dtmf" => return wire::dtmf(value),
            "playedStream" => {
                let p: Played = serde_json::from_value(value).map_err(malformed)?;
                vec![Inbound::MarkPlayed(p.name)]
            }
            "clearedAudio" => vec![Inbound::Cleared],
            "stop" => vec![Inbound::Stopped],
            other => return Err(ProtocolError::UnknownEvent(other.to_string())),
        })
    }

    fn encode(&mut self, out: Outbound<'_>) -> Result<Vec<Frame>, ProtocolError> {
        let (stream_id, format) = self
            .stream
            .as_ref()
            .ok_or(ProtocolError::BeforeStart("sending"))?;
        let message = match out {
            // The stream id is not in Plivo's example, but pipecat's serializer sends it and it names the
            // stream like every other message we send.
            Outbound::Audio(samples) => json!({
                "event": "playAudio",
                "streamId": stream_id,
                "media": {
                    "contentType": content_type(*format),
                    "sampleRate": format.sample_rate(),
                    "payload": base64_encode(&format.encode(samples)),
                },
            }),
            Outbound::Mark(name) => {
                json!({"event": "checkpoint", "streamId": stream_id, "name": name})
            }
            Outbound::Clear => json!({"event": "clearAudio", "streamId": stream_id}),
        };
        Ok(vec![Frame::Text(message.to_string())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: &str = r#"{"event":"start","sequenceNumber":0,"start":{"callId":"call-1","streamId":"str-1","accountId":"MA1","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000}},"extra_headers":{"caller":"+15550142000"}}"#;

    fn t(s: &str) -> Frame {
        Frame::Text(s.to_string())
    }

    #[test]
    fn a_plivo_stream_round_trip() {
        let mut p = Plivo::new();
        assert_eq!(
            p.encode(Outbound::Clear).unwrap_err().kind(),
            "before_start"
        );
        let started = p.parse(&t(START)).unwrap();
        let Inbound::Started { start, format } = &started[0] else {
            panic!()
        };
        assert_eq!(
            (start.call_id.as_str(), start.stream_id.as_str()),
            ("call-1", "str-1")
        );
        assert_eq!(start.parameters["caller"], "+15550142000");
        assert_eq!(*format, AudioFormat::G711(Law::MuLaw));
        let media = format!(
            r#"{{"event":"media","sequenceNumber":1,"streamId":"str-1","media":{{"track":"inbound","timestamp":"0","chunk":1,"payload":"{}"}}}}"#,
            base64_encode(&[0xFF; 160])
        );
        assert!(matches!(&p.parse(&t(&media)).unwrap()[0], Inbound::Audio(s) if s.len() == 160));
        assert_eq!(
            p.parse(&t(
                r#"{"event":"dtmf","streamId":"str-1","dtmf":{"track":"inbound","digit":"5"}}"#
            )),
            Ok(vec![Inbound::Dtmf('5')])
        );
        assert_eq!(
            p.parse(&t(
                r#"{"event":"playedStream","streamId":"str-1","name":"greeting"}"#
            )),
            Ok(vec![Inbound::MarkPlayed("greeting".into())])
        );
        assert_eq!(
            p.parse(&t(r#"{"event":"clearedAudio","streamId":"str-1"}"#)),
            Ok(vec![Inbound::Cleared])
        );
        let Frame::Text(play) = &p.encode(Outbound::Audio(&[0.0; 160])).unwrap()[0] else {
            panic!()
        };
        let v: Value = serde_json::from_str(play).unwrap();
        assert_eq!(v["event"], "playAudio");
        assert_eq!(v["media"]["contentType"], "audio/x-mulaw");
        assert_eq!(v["media"]["sampleRate"], 8000);
        assert_eq!(
            serde_json::from_str::<Value>(match &p.encode(Outbound::Mark("m")).unwrap()[0] {
                Frame::Text(s) => s,
                _ => panic!(),
            })
            .unwrap(),
            json!({"event":"checkpoint","streamId":"str-1","name":"m"})
        );
        assert_eq!(
            p.encode(Outbound::Clear).unwrap(),
            vec![Frame::Text(
                r#"{"event":"clearAudio","streamId":"str-1"}"#.into()
            )]
        );
        let bad = START.replace("audio/x-mulaw", "audio/ogg");
        assert_eq!(Plivo::new().parse(&t(&bad)).unwrap_err().kind(), "format");
    }
}
