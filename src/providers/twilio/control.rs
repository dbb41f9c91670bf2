//! Twilio's Calls resource (`POST /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json`, operation
//! `UpdateCall`): redirect a live call to new TwiML (a `<Dial>` that bridges it to a person, with the
//! contextual summary whispered to whoever answers) or end it (`Status=completed`). Form-encoded, HTTP Basic
//! with the account SID and auth token. Credentials never reach a log line.

use serde::Deserialize;

use super::{send, Body, ControlError, Credentials, Patience};

const PROVIDER: &str = "twilio";
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
        let client = super::client(patience)?;
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
