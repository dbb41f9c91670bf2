//! Twilio's Calls resource (`POST /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json`, operation
//! `UpdateCall`): redirect a live call to new TwiML (a `<Dial>` that bridges it to a person, with the
//! contextual summary whispered to whoever answers) or end it (`Status=completed`). Form-encoded, HTTP Basic
//! with the account SID and auth token. Credentials never reach a log line.

use serde::Deserialize;

use super::twiml;
use crate::config::AgentConfig;
use crate::providers::rest::{self, send, Body, ControlError, Credentials, Patience};
use crate::providers::{CallControl, Dial, Dialed, Pending, Provider};

const PROVIDER: Provider = Provider::Twilio;
/// Twilio's API host; `[providers.twilio] api_base` points elsewhere for tests and staging.
pub const API_BASE: &str = "https://api.twilio.com";

/// What `<Dial action>` reports as `DialCallStatus`: a bridged call ends `completed` (with
/// `DialCallDuration`); the rest mean nobody took it.
pub const DIAL_CALL_STATUSES: [&str; 5] = ["completed", "busy", "no-answer", "failed", "canceled"];

/// Whether a `DialCallStatus` means the person answered (Twilio says `answered` for some bridges).
pub fn dial_bridged(status: &str) -> bool {
    matches!(status, "completed" | "answered")
}

/// What to do to the call.
#[derive(Debug, Clone, PartialEq)]
pub enum CallUpdate {
    /// Run this TwiML now (the media stream stops; the call follows the new instructions).
    Twiml(String),
    /// Hang up.
    Complete,
}

/// A request as it goes on the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRequest {
    pub path: String,
    pub form: Vec<(&'static str, String)>,
}

/// The parts of Twilio's answer we use.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CallResource {
    pub sid: String,
    pub status: String,
}

/// Whether `sid` is a Twilio SID with the two-letter `prefix` (`AC` account, `CA` call): 34 characters,
/// the prefix and 32 hex digits.
pub fn is_sid(sid: &str, prefix: &str) -> bool {
    sid.len() == 34 && sid.starts_with(prefix) && sid[2..].chars().all(|c| c.is_ascii_hexdigit())
}

/// A client for one account's Calls.
pub struct TwilioCalls {
    client: reqwest::Client,
    api_base: String,
    account_sid: String,
    auth_token: String,
    patience: Patience,
}

impl std::fmt::Debug for TwilioCalls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The auth token stays out of debug output.
        f.debug_struct("TwilioCalls")
            .field("api_base", &self.api_base)
            .field("account_sid", &self.account_sid)
            .finish_non_exhaustive()
    }
}

impl TwilioCalls {
    pub fn new(
        api_base: &str,
        account_sid: &str,
        auth_token: &str,
        patience: Patience,
    ) -> Result<Self, ControlError> {
        if !is_sid(account_sid, "AC") {
            return Err(ControlError::Invalid {
                what: "Twilio account SID (AC + 32 hex digits)",
                value: account_sid.to_string(),
            });
        }
        let client = rest::client(patience)?;
        Ok(Self {
            client,
            api_base: api_base.trim_end_matches('/').to_string(),
            account_sid: account_sid.to_string(),
            auth_token: auth_token.to_string(),
            patience,
        })
    }

    /// The `UpdateCall` request for `call_sid`.
    pub fn request(&self, call_sid: &str, update: &CallUpdate) -> Result<ApiRequest, ControlError> {
        if !is_sid(call_sid, "CA") {
            return Err(ControlError::Invalid {
                what: "Twilio call SID (CA + 32 hex digits)",
                value: call_sid.to_string(),
            });
        }
        let form = match update {
            CallUpdate::Twiml(twiml) => vec![("Twiml", twiml.clone())],
            CallUpdate::Complete => vec![("Status", "completed".to_string())],
        };
        Ok(ApiRequest {
            path: format!(
                "/2010-04-01/Accounts/{}/Calls/{call_sid}.json",
                self.account_sid
            ),
            form,
        })
    }

    /// Sends the update, retrying 5xx answers, timeouts and refused connections within the patience.
    pub async fn update(
        &self,
        call_sid: &str,
        update: &CallUpdate,
    ) -> Result<CallResource, ControlError> {
        let request = self.request(call_sid, update)?;
        let url = format!("{}{}", self.api_base, request.path);
        let credentials = Credentials::Basic {
            user: self.account_sid.clone(),
            password: self.auth_token.clone(),
        };
        let body = send(
            PROVIDER,
            &self.client,
            reqwest::Method::POST,
            &url,
            &credentials,
            Body::Form(&request.form),
            self.patience,
        )
        .await?;
        serde_json::from_slice(&body).map_err(|e| ControlError::Unavailable {
            provider: PROVIDER,
            attempts: 1,
            last: format!("unreadable answer: {e}"),
        })
    }
}

/// Twilio's [`CallControl`]. With API credentials (`[providers.twilio] account_sid` and the auth token), a
/// transfer redirects the call to its `<Dial>` at once; without, the `<Connect action>` TwiML the call was
/// answered with dials once the stream closes ([`Dialed::AtStreamEnd`]). Either way the `<Dial>` reports
/// to `/twilio/dial-result/{call}`.
#[derive(Debug)]
pub struct TwilioControl {
    calls: Option<TwilioCalls>,
}

impl TwilioControl {
    /// The auth token comes from the config, else `TWILIO_AUTH_TOKEN`.
    pub fn from_config(config: &AgentConfig, patience: Patience) -> Result<Self, ControlError> {
        let twilio = config.provider(PROVIDER);
        let token = twilio
            .auth_token
            .clone()
            .or_else(|| std::env::var("TWILIO_AUTH_TOKEN").ok());
        let calls = match (&twilio.account_sid, token) {
            (Some(sid), Some(token)) => Some(TwilioCalls::new(
                twilio.api_base.as_deref().unwrap_or(API_BASE),
                sid,
                &token,
                patience,
            )?),
            _ => None,
        };
        Ok(Self { calls })
    }
}

impl CallControl for TwilioControl {
    fn provider(&self) -> Provider {
        PROVIDER
    }

    fn transfer<'a>(&'a self, dial: &'a Dial<'a>) -> Pending<'a, Dialed> {
        Box::pin(async move {
            let Some(calls) = &self.calls else {
                return Ok(Dialed::AtStreamEnd);
            };
            let twiml = dial_twiml(dial).ok_or_else(Dial::needs_public_url)?;
            calls
                .update(dial.call_id, &CallUpdate::Twiml(twiml))
                .await?;
            Ok(Dialed::Reported)
        })
    }
}

/// The URL Twilio reports a `<Dial>`'s outcome to, for `call`'s attempt `attempt`: a report repeated by
/// Twilio names the attempt it is about, so it is answered again rather than taken for the next one's.
pub fn dial_result_url(base: &str, call: &str, attempt: u32) -> String {
    format!("{base}/twilio/dial-result/{call}?attempt={attempt}")
}

/// The `<Dial>` TwiML ringing `dial`'s group (all at once), reporting to our dial-result route (`None`
/// without a public URL to report to).
pub fn dial_twiml(dial: &Dial<'_>) -> Option<String> {
    let base = dial.public_url?;
    let whisper = dial
        .whisper
        .then(|| format!("{base}/twilio/whisper/{}", dial.call_id));
    let numbers: Vec<&str> = dial.group.iter().map(String::as_str).collect();
    Some(twiml::dial_all(
        &numbers,
        whisper.as_deref(),
        &dial_result_url(base, dial.call_id, dial.attempt),
        dial.caller_id,
        dial.ring_seconds,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dial_reports_its_attempt_and_whispers_from_our_routes() {
        let group = vec!["+15550100001".to_string(), "+15550100002".to_string()];
        let dial = Dial {
            call_id: "CA1",
            group: &group,
            public_url: Some("https://h"),
            key: "",
            whisper: true,
            attempt: 2,
            caller_id: "+15550100000",
            ring_seconds: 20,
        };
        let twiml = dial_twiml(&dial).unwrap();
        assert!(
            twiml.contains("https://h/twilio/dial-result/CA1?attempt=2"),
            "{twiml}"
        );
        assert!(twiml.contains("https://h/twilio/whisper/CA1"), "{twiml}");
        assert!(group.iter().all(|n| twiml.contains(n.as_str())), "{twiml}");
        let without = Dial {
            public_url: None,
            ..dial
        };
        assert_eq!(dial_twiml(&without), None);
    }
}
