//! `[speech]`: which engine speaks the agent's sentences and, for an HTTP voice, where and how to reach
//! it. The engines themselves live with the speech code.

use serde::Deserialize;
use toml::Spanned;

use super::checks::base_url;
use super::env::secret;
use super::Findings;

/// Which engine speaks the agent's sentences (`[speech]`).
#[derive(Debug, Clone, PartialEq)]
pub enum SpeechSettings {
    /// The local Piper voice (the default; falls back to espeak-ng only if told to).
    Piper,
    /// espeak-ng: robotic, tiny, always available.
    Espeak,
    /// An OpenAI-compatible `POST {url}/v1/audio/speech`.
    Http(HttpVoice),
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpVoice {
    /// Base URL (`https://api.openai.com`); `/v1/audio/speech` is appended.
    pub url: String,
    pub model: String,
    pub voice: String,
    /// Sent as `Authorization: Bearer`; may be written `env:NAME`.
    pub api_key: Option<String>,
    /// How long one sentence may take.
    pub timeout_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSpeech {
    #[serde(default)]
    engine: Option<Spanned<String>>,
    #[serde(default)]
    url: Option<Spanned<String>>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    voice: Option<String>,
    #[serde(default)]
    api_key: Option<Spanned<String>>,
    #[serde(default)]
    timeout_ms: Option<u64>,
}

/// Checks `[speech]`: the engine and, for `http`, where and how to reach it.
pub(super) fn speech_settings(
    f: &mut Findings<'_>,
    raw: Option<Spanned<RawSpeech>>,
) -> SpeechSettings {
    let Some(raw) = raw else {
        return SpeechSettings::Piper;
    };
    let section = raw.span();
    let raw = raw.into_inner();
    let engine = raw
        .engine
        .as_ref()
        .map_or_else(|| "piper".to_string(), |e| e.get_ref().clone());
    let http_only = [
        ("url", raw.url.is_some()),
        ("model", raw.model.is_some()),
        ("voice", raw.voice.is_some()),
        ("api_key", raw.api_key.is_some()),
        ("timeout_ms", raw.timeout_ms.is_some()),
    ];
    match engine.as_str() {
        "piper" | "espeak" => {
            for (key, set) in http_only {
                if set {
                    f.error(
                        &format!("speech.{key}"),
                        section.clone(),
                        format!("`{key}` only applies to engine = \"http\""),
                    );
                }
            }
            if engine == "piper" {
                SpeechSettings::Piper
            } else {
                SpeechSettings::Espeak
            }
        }
        "http" => {
            let url = base_url(
                f,
                "speech.url",
                raw.url.as_ref(),
                &section,
                "engine = \"http\" needs the server's base URL, e.g. url = \"https://api.openai.com\"",
            )
            .unwrap_or_default();
            SpeechSettings::Http(HttpVoice {
                url,
                model: raw.model.unwrap_or_else(|| "tts-1".into()),
                voice: raw.voice.unwrap_or_else(|| "alloy".into()),
                api_key: secret(f, "speech.api_key", raw.api_key),
                timeout_ms: raw.timeout_ms.unwrap_or(10_000),
            })
        }
        other => {
            let span = raw.engine.map_or(section, |e| e.span());
            f.error(
                "speech.engine",
                span,
                format!("unknown speech engine {other:?}; one of piper, espeak, http"),
            );
            SpeechSettings::Piper
        }
    }
}
