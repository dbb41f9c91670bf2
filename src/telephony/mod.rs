//! The provider-independent media layer: what every provider's media-stream protocol is made of, as pure
//! parse/encode values behind one trait.
//!
//! A provider streams a call's audio to us over a WebSocket in its own dialect (Twilio Media Streams,
//! Telnyx, Vonage, Plivo, Exotel). Each dialect is one [`MediaProtocol`], implemented in its provider's
//! folder (`crate::providers::<provider>::media`): it turns a received WebSocket frame into [`Inbound`]
//! call facts (stream started, caller audio, DTMF, a mark played, stream stopped) and our [`Outbound`]
//! intents (play audio, mark, clear) into frames. No I/O here: the server owns the socket, so every
//! protocol is tested on bytes alone. Wire facts: each provider's `media.rs` (its top comment and the
//! provider messages in its tests) and `tests/pipecat_serializers.rs`.
//!
//! Also here, as shared by every provider: the wire helpers ([`wire`]), playout pacing ([`playout`]) and
//! webhook signatures ([`signing`]). This module never names a provider and must not import the registry
//! ([`crate::providers`]), which sits above it.

pub mod playout;
pub mod signing;
pub(crate) mod wire;

use std::collections::BTreeMap;

use base64::Engine;

use crate::audio::g711::Law;

/// How the provider's audio is encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioFormat {
    /// G.711 at 8 kHz.
    G711(Law),
    /// Signed 16-bit little-endian PCM at `rate` Hz.
    L16 { rate: u32 },
}

impl AudioFormat {
    pub fn sample_rate(self) -> u32 {
        match self {
            AudioFormat::G711(_) => 8_000,
            AudioFormat::L16 { rate } => rate,
        }
    }

    /// Bytes per sample on the wire.
    pub fn sample_bytes(self) -> usize {
        match self {
            AudioFormat::G711(_) => 1,
            AudioFormat::L16 { .. } => 2,
        }
    }

    /// Decodes wire bytes into samples in -1..1, appended to `out`.
    pub fn decode_into(self, bytes: &[u8], out: &mut Vec<f32>) -> Result<(), ProtocolError> {
        match self {
            AudioFormat::G711(law) => law.decode_into(bytes, out),
            AudioFormat::L16 { .. } => {
                if !bytes.len().is_multiple_of(2) {
                    return Err(ProtocolError::PayloadSize(format!(
                        "16-bit PCM needs an even number of bytes, got {}",
                        bytes.len()
                    )));
                }
                out.extend(
                    bytes
                        .chunks_exact(2)
                        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0),
                );
            }
        }
        Ok(())
    }

    /// Encodes samples in -1..1 into wire bytes.
    pub fn encode(self, samples: &[f32]) -> Vec<u8> {
        match self {
            AudioFormat::G711(law) => {
                let mut out = Vec::with_capacity(samples.len());
                law.encode_into(samples, &mut out);
                out
            }
            AudioFormat::L16 { .. } => samples
                .iter()
                .flat_map(|&s| crate::audio::g711::to_i16(s).to_le_bytes())
                .collect(),
        }
    }
}

/// Who and what a stream is about, from its start message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamStart {
    /// The provider's id of the call (Twilio CallSid, Telnyx call_control_id, ...): what call control uses.
    pub call_id: String,
    /// The provider's id of this media stream (echoed in what we send back).
    pub stream_id: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Custom parameters the call was set up with (Twilio `<Parameter>`s, Telnyx custom_parameters, ...).
    pub parameters: BTreeMap<String, String>,
}

/// What a received frame means for the call.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// The socket speaks the protocol; nothing to do yet.
    Connected,
    Started {
        start: StreamStart,
        format: AudioFormat,
    },
    /// Caller audio, decoded to -1..1 at the stream's format rate.
    Audio(Vec<f32>),
    Dtmf(char),
    /// Everything we sent before the mark with this name has been played.
    MarkPlayed(String),
    /// The provider confirmed a clear (only some providers do).
    Cleared,
    /// The stream ended (the call hung up or was redirected).
    Stopped,
}

/// What we want the provider to do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outbound<'a> {
    /// Play these samples (-1..1 at the stream's format rate) after what is already queued.
    Audio(&'a [f32]),
    /// Tell us when everything queued so far has been played.
    Mark(&'a str),
    /// Drop everything queued (barge-in).
    Clear,
}

/// A WebSocket frame, received or to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Text(String),
    Binary(Vec<u8>),
}

/// Why a received frame could not be understood. Each ends the stream with a logged reason; `kind` labels
/// the protocol-error metric.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("unknown event {0:?}")]
    UnknownEvent(String),
    #[error("{0} before the stream started")]
    BeforeStart(&'static str),
    #[error("invalid base64 audio: {0}")]
    Base64(String),
    #[error("wrong payload size: {0}")]
    PayloadSize(String),
    #[error("unsupported audio format: {0}")]
    Format(String),
    #[error("a binary frame where this protocol sends text")]
    UnexpectedBinary,
    #[error("a text frame where this protocol sends binary audio")]
    UnexpectedText,
    #[error("message of {size} bytes is over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
}

impl ProtocolError {
    /// A short stable label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ProtocolError::Malformed(_) => "malformed",
            ProtocolError::UnknownEvent(_) => "unknown_event",
            ProtocolError::BeforeStart(_) => "before_start",
            ProtocolError::Base64(_) => "base64",
            ProtocolError::PayloadSize(_) => "payload_size",
            ProtocolError::Format(_) => "format",
            ProtocolError::UnexpectedBinary => "unexpected_binary",
            ProtocolError::UnexpectedText => "unexpected_text",
            ProtocolError::TooLarge { .. } => "too_large",
        }
    }
}

/// One provider's dialect. A value is one stream's state (its ids and format once started).
pub trait MediaProtocol: Send {
    /// The provider's name, as in routes and metrics: its [`crate::providers::Provider::as_str`] (the
    /// registry's tests check they agree; a plain string keeps this layer below the registry).
    fn name(&self) -> &'static str;

    /// What a received frame means.
    fn parse(&mut self, frame: &Frame) -> Result<Vec<Inbound>, ProtocolError>;

    /// The frames that carry `out`. Audio is only sent after the stream started.
    fn encode(&mut self, out: Outbound<'_>) -> Result<Vec<Frame>, ProtocolError>;

    /// Whether the provider reports when a mark was played. When it does not, the server counts a mark as
    /// played once the audio queued before it has been paced out.
    fn echoes_marks(&self) -> bool {
        true
    }

    /// The least audio one outbound message may carry, in ms (0: any size). The server gathers paced frames
    /// until it has this much, or a mark follows.
    fn min_audio_ms(&self) -> u64 {
        0
    }
}

/// The most audio one media message may carry: a second at 16-bit 16 kHz. Providers send 20 ms.
pub const MAX_MEDIA_BYTES: usize = 32_000;

pub(crate) fn base64_decode(payload: &str) -> Result<Vec<u8>, ProtocolError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .map_err(|e| ProtocolError::Base64(e.to_string()))?;
    if bytes.is_empty() {
        return Err(ProtocolError::PayloadSize("empty audio payload".into()));
    }
    if bytes.len() > MAX_MEDIA_BYTES {
        return Err(ProtocolError::PayloadSize(format!(
            "{} bytes of audio in one message (at most {MAX_MEDIA_BYTES})",
            bytes.len()
        )));
    }
    Ok(bytes)
}

pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The text of a frame for a JSON protocol.
pub(crate) fn text(frame: &Frame) -> Result<&str, ProtocolError> {
    match frame {
        Frame::Text(t) => Ok(t),
        Frame::Binary(_) => Err(ProtocolError::UnexpectedBinary),
    }
}

/// A JSON message and its `event` name.
pub(crate) fn event_of(frame: &Frame) -> Result<(String, serde_json::Value), ProtocolError> {
    let value: serde_json::Value = serde_json::from_str(text(frame)?).map_err(malformed)?;
    let event = value
        .get("event")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| ProtocolError::Malformed("no `event` field".into()))?
        .to_string();
    Ok((event, value))
}

pub(crate) fn malformed(e: serde_json::Error) -> ProtocolError {
    ProtocolError::Malformed(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l16_round_trips_and_rejects_odd_lengths() {
        let f = AudioFormat::L16 { rate: 16_000 };
        let bytes = f.encode(&[0.5, -0.25, 0.0]);
        let mut back = Vec::new();
        f.decode_into(&bytes, &mut back).unwrap();
        assert!(back
            .iter()
            .zip([0.5, -0.25, 0.0])
            .all(|(a, b)| (a - b).abs() < 1e-4));
        assert_eq!(
            f.decode_into(&[1], &mut back).unwrap_err().kind(),
            "payload_size"
        );
    }
}
