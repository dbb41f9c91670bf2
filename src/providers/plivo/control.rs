//! Plivo: `POST /v1/Account/{auth_id}/Call/{call_uuid}/` with `legs=aleg` and `aleg_url`, a URL of ours
//! that answers with `<Dial>` XML (HTTP Basic with the auth ID and token). The `<Dial>`'s `action`
//! receives `DialStatus` (completed, busy, failed, timeout, no-answer) and its `confirmSound` is XML played
//! to the answering person before the bridge: the contextual summary (`<Speak>`), accepted with
//! `confirmKey`.

use serde_json::json;

use crate::config::AgentConfig;
use crate::providers::rest::{self, send, Body, ControlError, Credentials, Patience};
use crate::providers::{CallControl, Dial, Dialed, Pending, Provider};

const PROVIDER: Provider = Provider::Plivo;
/// Plivo's API host; `[providers.plivo] api_base` points elsewhere for tests and staging.
pub const API_BASE: &str = "https://api.plivo.com";

/// A client for one account.
pub struct PlivoCalls {
    client: reqwest::Client,
    api_base: String,
    auth_id: String,
    auth_token: String,
    patience: Patience,
}

impl std::fmt::Debug for PlivoCalls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlivoCalls")
            .field("api_base", &self.api_base)
            .field("auth_id", &self.auth_id)
            .finish_non_exhaustive()
    }
}

/// Plivo ids (auth IDs, call UUIDs) go into URL paths: letters, digits and dashes only.
fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

impl PlivoCalls {
    pub fn new(
        api_base: &str,
        auth_id: &str,
        auth_token: &str,
        patience: Patience,
    ) -> Result<Self, ControlError> {
        if !valid_id(auth_id) {
            return Err(ControlError::Invalid {
                what: "Plivo auth ID",
                value: auth_id.to_string(),
            });
        }
        Ok(Self {
            client: rest::client(patience)?,
            api_base: api_base.trim_end_matches('/').to_string(),
            auth_id: auth_id.to_string(),
            auth_token: auth_token.to_string(),
            patience,
        })
    }

    /// The path and body that send the caller's leg to `aleg_url`.
    pub fn request(
        &self,
        call_uuid: &str,
        aleg_url: &str,
    ) -> Result<(String, serde_json::Value), ControlError> {
        if !valid_id(call_uuid) {
            return Err(ControlError::Invalid {
                what: "Plivo call UUID",
                value: call_uuid.to_string(),
            });
        }
        Ok((
            format!("/v1/Account/{}/Call/{call_uuid}/", self.auth_id),
            json!({"legs": "aleg", "aleg_url": aleg_url, "aleg_method": "POST"}),
        ))
    }

    pub async fn transfer(&self, call_uuid: &str, aleg_url: &str) -> Result<(), ControlError> {
        let (path, body) = self.request(call_uuid, aleg_url)?;
        send(
            PROVIDER,
            &self.client,
            reqwest::Method::POST,
            &format!("{}{path}", self.api_base),
            &Credentials::Basic {
                user: self.auth_id.clone(),
                password: self.auth_token.clone(),
            },
            Body::Json(&body),
            self.patience,
        )
        .await?;
        Ok(())
    }
}

/// Plivo's [`CallControl`], set up by `[providers.plivo] auth_id` and `auth_token`. The caller's leg is
/// transferred to our `/plivo/transfer/{call}` route, whose `<Dial>` rings the target; Plivo reports
/// nothing back to us: the call is handed over.
#[derive(Debug)]
pub struct PlivoControl {
    calls: PlivoCalls,
}

impl PlivoControl {
    pub fn from_config(
        config: &AgentConfig,
        patience: Patience,
    ) -> Result<Option<Self>, ControlError> {
        let plivo = config.provider(PROVIDER);
        let (Some(id), Some(token)) = (&plivo.auth_id, &plivo.auth_token) else {
            return Ok(None);
        };
        let api_base = plivo.api_base.as_deref().unwrap_or(API_BASE);
        Ok(Some(Self {
            calls: PlivoCalls::new(api_base, id, token, patience)?,
        }))
    }
}

impl CallControl for PlivoControl {
    fn provider(&self) -> Provider {
        PROVIDER
    }

    fn transfer<'a>(&'a self, dial: &'a Dial<'a>) -> Pending<'a, Dialed> {
        Box::pin(async move {
            let (call_id, key) = (dial.call_id, dial.key);
            let aleg = dial
                .own(&format!("/plivo/transfer/{call_id}?key={key}"))
                .ok_or_else(Dial::needs_public_url)?;
            self.calls.transfer(call_id, &aleg).await?;
            Ok(Dialed::HandedOver)
        })
    }
}

/// The `<Dial>` XML the caller's leg runs.
pub fn dial_xml(
    to: &str,
    caller_id: &str,
    timeout_s: u32,
    action_url: &str,
    confirm_sound_url: Option<&str>,
) -> String {
    let confirm = confirm_sound_url
        .map(|u| {
            format!(
                " confirmSound=\"{}\" confirmKey=\"1\"",
                crate::providers::twilio::twiml::attr(u)
            )
        })
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Dial action=\"{}\" callerId=\"{}\" timeout=\"{timeout_s}\"{confirm}><Number>{}</Number></Dial></Response>",
        crate::providers::twilio::twiml::attr(action_url),
        crate::providers::twilio::twiml::attr(caller_id.trim_start_matches('+')),
        crate::providers::twilio::twiml::attr(to.trim_start_matches('+')),
    )
}

/// The whisper: the summary, then how to take the call.
pub fn whisper_xml(summary: &str, accept: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Speak>{}</Speak><Speak>{}</Speak></Response>",
        crate::providers::twilio::twiml::attr(summary),
        crate::providers::twilio::twiml::attr(accept)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_leg_is_sent_to_our_dial_xml() {
        let calls =
            PlivoCalls::new(API_BASE, "MAXXXXXXXXXXXXXXXXXX", "t", Patience::default()).unwrap();
        let (path, body) = calls
            .request(
                "d8a4c5f0-1e2b-4c3d-9e8f-000000000001",
                "https://h/plivo/transfer/x",
            )
            .unwrap();
        assert_eq!(
            path,
            "/v1/Account/MAXXXXXXXXXXXXXXXXXX/Call/d8a4c5f0-1e2b-4c3d-9e8f-000000000001/"
        );
        assert_eq!(body["legs"], "aleg");
        assert_eq!(body["aleg_url"], "https://h/plivo/transfer/x");
        assert!(calls.request("../../Message", "u").is_err());
        let xml = dial_xml(
            "+15550100001",
            "+15550100000",
            20,
            "https://h/a?x=1&y=2",
            Some("https://h/w"),
        );
        assert!(xml.contains(r#"<Dial action="https://h/a?x=1&amp;y=2" callerId="15550100000" timeout="20" confirmSound="https://h/w" confirmKey="1"><Number>15550100001</Number>"#), "{xml}");
        assert!(whisper_xml("a < b", "Press 1").contains("<Speak>a &lt; b</Speak>"));
    }
}
