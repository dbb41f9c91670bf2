//! Vonage Voice: `PUT /v1/calls/{uuid}` with a `transfer` to an inline NCCO that `connect`s the call to a
//! phone number (JSON, Bearer JWT of the Vonage application). `onAnswer.url` is an NCCO run on the
//! answering person's leg before the bridge: the contextual summary, spoken by Vonage's `talk`. The
//! `connect`'s `eventUrl` receives its progress (answered, busy, timeout, failed, rejected, unanswered).
//! Vonage writes numbers without the `+`.

use serde_json::json;

use crate::config::AgentConfig;
use crate::providers::rest::{self, send, Body, ControlError, Credentials, Patience};
use crate::providers::{CallControl, Dial, Dialed, Pending, Provider};

const PROVIDER: Provider = Provider::Vonage;
/// Vonage's API host; `[providers.vonage] api_base` points elsewhere for tests and staging.
pub const API_BASE: &str = "https://api.nexmo.com";

/// What the transfer is to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    pub to: String,
    pub from: String,
    pub timeout_secs: u32,
    /// NCCO run on the answering leg before the bridge (the whisper).
    pub on_answer_url: Option<String>,
    /// Where Vonage reports the connect's progress.
    pub event_url: Option<String>,
}

/// A client for one application.
pub struct VonageCalls {
    client: reqwest::Client,
    api_base: String,
    jwt: String,
    patience: Patience,
}

impl std::fmt::Debug for VonageCalls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VonageCalls")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

/// A Vonage call UUID: hex digits and dashes only (it goes into a URL path).
fn valid_uuid(uuid: &str) -> bool {
    uuid.len() == 36
        && uuid.chars().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// `+15550100001` -> `15550100001`.
fn vonage_number(e164: &str) -> String {
    e164.trim_start_matches('+').to_string()
}

impl VonageCalls {
    pub fn new(api_base: &str, jwt: &str, patience: Patience) -> Result<Self, ControlError> {
        Ok(Self {
            client: rest::client(patience)?,
            api_base: api_base.trim_end_matches('/').to_string(),
            jwt: jwt.to_string(),
            patience,
        })
    }

    /// The path and body of the transfer.
    pub fn request(
        &self,
        uuid: &str,
        transfer: &Transfer,
    ) -> Result<(String, serde_json::Value), ControlError> {
        if !valid_uuid(uuid) {
            return Err(ControlError::Invalid {
                what: "Vonage call UUID",
                value: uuid.to_string(),
            });
        }
        let mut endpoint = json!({"type": "phone", "number": vonage_number(&transfer.to)});
        if let Some(url) = &transfer.on_answer_url {
            endpoint["onAnswer"] = json!({"url": url});
        }
        let mut connect = json!({
            "action": "connect",
            "from": vonage_number(&transfer.from),
            "timeout": transfer.timeout_secs,
            "endpoint": [endpoint],
        });
        if let Some(url) = &transfer.event_url {
            connect["eventUrl"] = json!([url]);
        }
        Ok((
            format!("/v1/calls/{uuid}"),
            json!({"action": "transfer", "destination": {"type": "ncco", "ncco": [connect]}}),
        ))
    }

    pub async fn transfer(&self, uuid: &str, transfer: &Transfer) -> Result<(), ControlError> {
        let (path, body) = self.request(uuid, transfer)?;
        send(
            PROVIDER,
            &self.client,
            reqwest::Method::PUT,
            &format!("{}{path}", self.api_base),
            &Credentials::Bearer(self.jwt.clone()),
            Body::Json(&body),
            self.patience,
        )
        .await?;
        Ok(())
    }
}

/// Vonage's [`CallControl`], set up by `[providers.vonage] api_key` (the application's JWT). Vonage
/// reports nothing back to us: the call is handed over.
#[derive(Debug)]
pub struct VonageControl {
    calls: VonageCalls,
}

impl VonageControl {
    pub fn from_config(
        config: &AgentConfig,
        patience: Patience,
    ) -> Result<Option<Self>, ControlError> {
        let vonage = config.provider(PROVIDER);
        let Some(jwt) = &vonage.api_key else {
            return Ok(None);
        };
        let api_base = vonage.api_base.as_deref().unwrap_or(API_BASE);
        Ok(Some(Self {
            calls: VonageCalls::new(api_base, jwt, patience)?,
        }))
    }
}

impl CallControl for VonageControl {
    fn provider(&self) -> Provider {
        PROVIDER
    }

    fn transfer<'a>(&'a self, dial: &'a Dial<'a>) -> Pending<'a, Dialed> {
        Box::pin(async move {
            let (call_id, key) = (dial.call_id, dial.key);
            let transfer = Transfer {
                to: dial.to().to_string(),
                from: dial.caller_id.to_string(),
                timeout_secs: dial.ring_seconds,
                on_answer_url: dial
                    .own(&format!("/vonage/whisper/{call_id}?key={key}"))
                    .filter(|_| dial.whisper),
                event_url: None,
            };
            self.calls.transfer(call_id, &transfer).await?;
            Ok(Dialed::HandedOver)
        })
    }
}

/// The whisper NCCO: the summary, said to whoever answers before the bridge.
pub fn whisper_ncco(summary: &str) -> serde_json::Value {
    json!([{"action": "talk", "text": summary}])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfers_connect_to_the_number_with_the_whisper_on_answer() {
        let calls = VonageCalls::new(API_BASE, "jwt", Patience::default()).unwrap();
        let uuid = "63f61863-4a51-4f6b-86e1-46edebcf9356";
        let (path, body) = calls
            .request(
                uuid,
                &Transfer {
                    to: "+15550100001".into(),
                    from: "+15550100000".into(),
                    timeout_secs: 20,
                    on_answer_url: Some("https://h/vonage/whisper/x".into()),
                    event_url: Some("https://h/vonage/events".into()),
                },
            )
            .unwrap();
        assert_eq!(path, format!("/v1/calls/{uuid}"));
        assert_eq!(body["action"], "transfer");
        let connect = &body["destination"]["ncco"][0];
        assert_eq!(connect["action"], "connect");
        assert_eq!(connect["endpoint"][0]["number"], "15550100001");
        assert_eq!(
            connect["endpoint"][0]["onAnswer"]["url"],
            "https://h/vonage/whisper/x"
        );
        assert_eq!(connect["eventUrl"][0], "https://h/vonage/events");
        let bad = Transfer {
            to: String::new(),
            from: String::new(),
            timeout_secs: 20,
            on_answer_url: None,
            event_url: None,
        };
        assert!(calls.request("../v2/applications", &bad).is_err());
        assert_eq!(whisper_ncco("Hi")[0]["text"], "Hi");
    }
}
