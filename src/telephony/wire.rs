//! Message shapes the JSON protocols share (Twilio's `media`/`dtmf`/`mark` bodies, copied by Telnyx, Plivo
//! and Exotel) and the steps every one of them takes with them.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{base64_decode, malformed, AudioFormat, Inbound, ProtocolError};

#[derive(Deserialize)]
struct MediaMessage {
    media: MediaBody,
}

#[derive(Deserialize)]
struct MediaBody {
    /// `inbound` is the caller; other tracks (our own audio echoed) are not listened to.
    #[serde(default)]
    track: Option<String>,
    payload: String,
}

#[derive(Deserialize)]
struct DtmfMessage {
    dtmf: DigitBody,
}

#[derive(Deserialize)]
struct DigitBody {
    digit: String,
}

#[derive(Deserialize)]
struct MarkMessage {
    mark: NameBody,
}

#[derive(Deserialize)]
struct NameBody {
    name: String,
}

/// The caller's audio in a `media` message, decoded; `None` for another track.
pub(crate) fn media_samples(
    value: Value,
    format: AudioFormat,
) -> Result<Option<Vec<f32>>, ProtocolError> {
    let m: MediaMessage = serde_json::from_value(value).map_err(malformed)?;
    if m.media.track.as_deref().is_some_and(|t| t != "inbound") {
        return Ok(None);
    }
    let bytes = base64_decode(&m.media.payload)?;
    let mut samples = Vec::with_capacity(bytes.len());
    format.decode_into(&bytes, &mut samples)?;
    Ok(Some(samples))
}

/// A `media` message as call facts.
pub(crate) fn media(value: Value, format: AudioFormat) -> Result<Vec<Inbound>, ProtocolError> {
    Ok(media_samples(value, format)?
        .map(Inbound::Audio)
        .into_iter()
        .collect())
}

/// A `{"dtmf": {"digit": ..}}` message.
pub(crate) fn dtmf(value: Value) -> Result<Vec<Inbound>, ProtocolError> {
    let d: DtmfMessage = serde_json::from_value(value).map_err(malformed)?;
    Ok(vec![Inbound::Dtmf(dtmf_digit(&d.dtmf.digit)?)])
}

/// A `{"mark": {"name": ..}}` echo.
pub(crate) fn mark(value: Value) -> Result<Vec<Inbound>, ProtocolError> {
    let m: MarkMessage = serde_json::from_value(value).map_err(malformed)?;
    Ok(vec![Inbound::MarkPlayed(m.mark.name)])
}

/// A DTMF digit as the keypad has it.
pub(crate) fn dtmf_digit(digit: &str) -> Result<char, ProtocolError> {
    let mut chars = digit.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D') => Ok(c),
        _ => Err(ProtocolError::Malformed(format!(
            "DTMF digit {digit:?} is not a keypad key"
        ))),
    }
}

/// Custom parameters or headers as strings (providers send strings, sometimes numbers or booleans).
pub(crate) fn string_map<'a>(
    entries: impl IntoIterator<Item = (&'a String, &'a Value)>,
) -> BTreeMap<String, String> {
    entries
        .into_iter()
        .map(|(k, v)| {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            (k.clone(), v)
        })
        .collect()
}
