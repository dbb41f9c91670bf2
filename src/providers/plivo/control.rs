//! Plivo: `POST /v1/Account/{auth_id}/Call/{call_uuid}/` with `legs=aleg` and `aleg_url`, a URL of ours
//! that answers with `<Dial>` XML (HTTP Basic with the auth ID and token). The `<Dial>`'s `action`
//! receives `DialStatus` (completed, busy, failed, timeout, no-answer) and its `confirmSound` is XML played
//! to the answering person before the bridge: the contextual summary (`<Speak>`), accepted with
//! `confirmKey`.

use serde_json::json;

use super::{send, Body, ControlError, Credentials, Patience};

const PROVIDER: &str = "plivo";
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
            client: super::client(patience)?,
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
                crate::telephony::twiml::attr(u)
            )
        })
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Dial action=\"{}\" callerId=\"{}\" timeout=\"{timeout_s}\"{confirm}><Number>{}</Number></Dial></Response>",
        crate::telephony::twiml::attr(action_url),
        crate::telephony::twiml::attr(caller_id.trim_start_matches('+')),
        crate::telephony::twiml::attr(to.trim_start_matches('+')),
    )
}

/// The whisper: the summary, then how to take the call.
pub fn whisper_xml(summary: &str, accept: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Speak>{}</Speak><Speak>{}</Speak></Response>",
        crate::telephony::twiml::attr(summary),
        crate::telephony::twiml::attr(accept)
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
