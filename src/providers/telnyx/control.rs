//! Telnyx Call Control: `POST /v2/calls/{call_control_id}/actions/transfer` (JSON, Bearer API key). Telnyx
//! rings the target, plays `audio_url` to whoever answers (the contextual summary, rendered by us) and
//! bridges; if nobody answers within `timeout_secs`, the target leg hangs up and the caller's leg stays
//! with us. `client_state` (base64) comes back on every webhook of the transfer, naming our call.

use base64::Engine;
use serde_json::json;

use crate::config::AgentConfig;
use crate::providers::rest::{self, send, Body, ControlError, Credentials, Patience};
use crate::providers::{CallControl, Dial, Dialed, Pending, Provider};

const PROVIDER: Provider = Provider::Telnyx;
/// Telnyx's API host; `[providers.telnyx] api_base` points elsewhere for tests and staging.
pub const API_BASE: &str = "https://api.telnyx.com";

/// What the transfer is to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    pub to: String,
    /// The caller id shown to the target (the agent's number).
    pub from: String,
    /// Played to the target when it answers, before bridging.
    pub audio_url: Option<String>,
    pub timeout_secs: u32,
    /// Our id for the call, returned in webhooks.
    pub client_state: String,
    /// Where Telnyx reports the transfer's progress.
    pub webhook_url: Option<String>,
}

/// A client for one API key.
pub struct TelnyxCalls {
    client: reqwest::Client,
    api_base: String,
    api_key: String,
    patience: Patience,
}

impl std::fmt::Debug for TelnyxCalls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelnyxCalls")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

/// A call control id is opaque to us, but it goes into a URL path: nothing that could change the path.
fn valid_call_control_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
}

impl TelnyxCalls {
    pub fn new(api_base: &str, api_key: &str, patience: Patience) -> Result<Self, ControlError> {
        Ok(Self {
            client: rest::client(patience)?,
            api_base: api_base.trim_end_matches('/').to_string(),
            api_key: api_key.to_string(),
            patience,
        })
    }

    /// The request path and JSON body of a transfer.
    pub fn request(
        &self,
        call_control_id: &str,
        transfer: &Transfer,
    ) -> Result<(String, serde_json::Value), ControlError> {
        if !valid_call_control_id(call_control_id) {
            return Err(ControlError::Invalid {
                what: "Telnyx call control id",
                value: call_control_id.to_string(),
            });
        }
        let mut body = json!({
            "to": transfer.to,
            "from": transfer.from,
            "timeout_secs": transfer.timeout_secs,
            "client_state": base64::engine::general_purpose::STANDARD.encode(&transfer.client_state),
        });
        if let Some(url) = &transfer.audio_url {
            body["audio_url"] = json!(url);
        }
        if let Some(url) = &transfer.webhook_url {
            body["webhook_url"] = json!(url);
        }
        Ok((
            format!("/v2/calls/{call_control_id}/actions/transfer"),
            body,
        ))
    }

    /// Asks Telnyx to transfer the call; returns once Telnyx accepted the command.
    pub async fn transfer(
        &self,
        call_control_id: &str,
        transfer: &Transfer,
    ) -> Result<(), ControlError> {
        let (path, body) = self.request(call_control_id, transfer)?;
        send(
            PROVIDER,
            &self.client,
            reqwest::Method::POST,
            &format!("{}{path}", self.api_base),
            &Credentials::Bearer(self.api_key.clone()),
            Body::Json(&body),
            self.patience,
        )
        .await?;
        Ok(())
    }
}

impl TelnyxCalls {
    /// Streams the call's audio (both ways) to `stream_url` again: how a caller nobody took comes back to
    /// the agent.
    pub async fn start_streaming(
        &self,
        call_control_id: &str,
        stream_url: &str,
    ) -> Result<(), ControlError> {
        if !valid_call_control_id(call_control_id) {
            return Err(ControlError::Invalid {
                what: "Telnyx call control id",
                value: call_control_id.to_string(),
            });
        }
        let body = json!({
            "stream_url": stream_url,
            "stream_track": "inbound_track",
            "stream_bidirectional_mode": "rtp",
            "stream_bidirectional_codec": "PCMU",
        });
        send(
            PROVIDER,
            &self.client,
            reqwest::Method::POST,
            &format!(
                "{}/v2/calls/{call_control_id}/actions/streaming_start",
                self.api_base
            ),
            &Credentials::Bearer(self.api_key.clone()),
            Body::Json(&body),
            self.patience,
        )
        .await?;
        Ok(())
    }
}

/// Telnyx's [`CallControl`], set up by `[providers.telnyx] api_key`. A transfer's events come to
/// `/telnyx/events` with the call named in `client_state`; a caller nobody took is streamed back.
#[derive(Debug)]
pub struct TelnyxControl {
    calls: TelnyxCalls,
}

impl TelnyxControl {
    pub fn from_config(
        config: &AgentConfig,
        patience: Patience,
    ) -> Result<Option<Self>, ControlError> {
        let telnyx = config.provider(PROVIDER);
        let Some(key) = &telnyx.api_key else {
            return Ok(None);
        };
        let api_base = telnyx.api_base.as_deref().unwrap_or(API_BASE);
        Ok(Some(Self {
            calls: TelnyxCalls::new(api_base, key, patience)?,
        }))
    }
}

impl CallControl for TelnyxControl {
    fn provider(&self) -> Provider {
        PROVIDER
    }

    fn transfer<'a>(&'a self, dial: &'a Dial<'a>) -> Pending<'a, Dialed> {
        Box::pin(async move {
            let (call_id, key) = (dial.call_id, dial.key);
            let transfer = Transfer {
                to: dial.to().to_string(),
                from: dial.caller_id.to_string(),
                audio_url: dial
                    .own(&format!("/telnyx/whisper/{call_id}.wav?key={key}"))
                    .filter(|_| dial.whisper),
                timeout_secs: dial.ring_seconds,
                client_state: call_id.to_string(),
                webhook_url: dial.own("/telnyx/events"),
            };
            self.calls.transfer(call_id, &transfer).await?;
            Ok(Dialed::Reported)
        })
    }

    fn stream_back<'a>(&'a self, call_id: &'a str, stream_url: &'a str) -> Pending<'a, ()> {
        Box::pin(self.calls.start_streaming(call_id, stream_url))
    }
}

/// The call a transfer webhook is about: our id from its base64 `client_state`.
pub fn client_state(encoded: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_bodies_name_the_target_and_the_whisper() {
        let calls = TelnyxCalls::new(API_BASE, "KEY", Patience::default()).unwrap();
        let (path, body) = calls
            .request(
                "v3:abc-123",
                &Transfer {
                    to: "+15550100001".into(),
                    from: "+15550100000".into(),
                    audio_url: Some("https://h/telnyx/whisper/v3:abc-123.wav".into()),
                    timeout_secs: 20,
                    client_state: "v3:abc-123".into(),
                    webhook_url: None,
                },
            )
            .unwrap();
        assert_eq!(path, "/v2/calls/v3:abc-123/actions/transfer");
        assert_eq!(body["to"], "+15550100001");
        assert_eq!(body["timeout_secs"], 20);
        assert_eq!(
            client_state(body["client_state"].as_str().unwrap()).as_deref(),
            Some("v3:abc-123")
        );
        assert!(calls
            .request(
                "../../v2/numbers",
                &Transfer {
                    to: String::new(),
                    from: String::new(),
                    audio_url: None,
                    timeout_secs: 20,
                    client_state: String::new(),
                    webhook_url: None
                }
            )
            .is_err());
    }
}
