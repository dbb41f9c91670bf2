//! A cloud (or self-hosted) voice behind the OpenAI-compatible `POST /v1/audio/speech`: OpenAI itself, and
//! the many servers that copy its API (Kokoro-FastAPI, openedai-speech, LocalAI, ...). The sentence goes
//! out as JSON, a WAV comes back.
//!
//! The trait is blocking (the server calls it on a blocking thread) while reqwest is async: the engine
//! keeps a handle on the runtime it was built in and waits on the request there.

use std::time::Duration;

use serde::Serialize;

use super::{Speech, SpeechError, SpeechSynth};
use crate::audio::wav::decode_wav;
use crate::config::HttpVoice;

const ENGINE: &str = "http";

fn engine_error(reason: impl Into<String>) -> SpeechError {
    SpeechError::Engine {
        engine: ENGINE,
        reason: reason.into(),
    }
}

#[derive(Serialize)]
struct SpeechRequest<'a> {
    model: &'a str,
    input: &'a str,
    voice: &'a str,
    response_format: &'static str,
}

/// An OpenAI-compatible speech endpoint.
pub struct HttpSpeech {
    client: reqwest::Client,
    endpoint: String,
    voice: HttpVoice,
    runtime: tokio::runtime::Handle,
}

impl HttpSpeech {
    /// Must be called inside the tokio runtime the requests will run on.
    pub fn new(voice: HttpVoice) -> Result<Self, SpeechError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| engine_error(format!("no async runtime to send requests on: {e}")))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(voice.timeout_ms))
            .build()
            .map_err(|e| engine_error(e.to_string()))?;
        Ok(Self {
            client,
            endpoint: format!("{}/v1/audio/speech", voice.url),
            voice,
            runtime,
        })
    }

    async fn request(&self, text: &str) -> Result<Speech, SpeechError> {
        let body = SpeechRequest {
            model: &self.voice.model,
            input: text,
            voice: &self.voice.voice,
            response_format: "wav",
        };
        let mut request = self.client.post(&self.endpoint).json(&body);
        if let Some(key) = &self.voice.api_key {
            request = request.bearer_auth(key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| engine_error(format!("{}: {e}", self.endpoint)))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| engine_error(format!("{}: {e}", self.endpoint)))?;
        if !status.is_success() {
            let detail = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
            return Err(engine_error(format!(
                "{} answered {status}: {}",
                self.endpoint,
                detail.trim()
            )));
        }
        let recording = decode_wav(&bytes).map_err(|e| SpeechError::Audio {
            engine: ENGINE,
            reason: format!("{} did not send a WAV: {e}", self.endpoint),
        })?;
        Speech::from_recording(ENGINE, recording)
    }
}

impl SpeechSynth for HttpSpeech {
    fn name(&self) -> &'static str {
        ENGINE
    }

    fn synthesize(&self, text: &str) -> Result<Speech, SpeechError> {
        if tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread)
        {
            return Err(engine_error(
                "called on a current-thread runtime's own thread, where waiting would deadlock",
            ));
        }
        // On a blocking thread (the server's spawn_blocking) or any plain thread: wait on our runtime.
        self.runtime.block_on(self.request(text))
    }
}
