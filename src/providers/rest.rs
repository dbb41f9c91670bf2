//! The HTTP plumbing every provider's call control shares: how a REST request to a provider is sent, how
//! hard it is retried ([`Patience`]), and what a failure means ([`ControlError`]).
//!
//! Each provider's requests are built as plain values first in its own `control.rs` (checked against the
//! provider's API description in the tests), then sent here with reqwest, with retries for what is worth
//! retrying. Nothing here knows a provider's API; it must not learn one.

use std::time::Duration;

use serde::Deserialize;

use super::Provider;

/// Why a call-control request did not do what was asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ControlError {
    /// The provider answered and said no (4xx): retrying would not help.
    #[error("{provider} refused the request ({status}{}): {message}", code.map(|c| format!(", error {c}")).unwrap_or_default())]
    Refused {
        provider: Provider,
        status: u16,
        code: Option<i64>,
        message: String,
    },
    /// Every attempt failed on the provider's side (5xx), timed out or could not connect.
    #[error("{provider} is unavailable after {attempts} attempt(s): {last}")]
    Unavailable {
        provider: Provider,
        attempts: u32,
        last: String,
    },
    /// A value we were about to send is not one the provider accepts.
    #[error("invalid {what}: {value:?}")]
    Invalid { what: &'static str, value: String },
}

/// How hard to try: attempts in all, the wait before the second (doubling after), and each request's limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Patience {
    pub attempts: u32,
    pub backoff: Duration,
    pub timeout: Duration,
}

impl Default for Patience {
    fn default() -> Self {
        Self {
            attempts: 3,
            backoff: Duration::from_millis(200),
            timeout: Duration::from_secs(5),
        }
    }
}

/// How a request proves who sends it.
#[derive(Clone)]
pub enum Credentials {
    Basic { user: String, password: String },
    Bearer(String),
}

/// A body to send.
pub enum Body<'a> {
    Form(&'a [(&'static str, String)]),
    Json(&'a serde_json::Value),
}

#[derive(Deserialize)]
struct ErrorBody {
    code: Option<serde_json::Value>,
    message: Option<String>,
    /// Telnyx: `{"errors": [{"code": "10005", "title": ..., "detail": ...}]}`.
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    code: Option<serde_json::Value>,
    title: Option<String>,
    detail: Option<String>,
}

fn error_code(v: &serde_json::Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str()?.parse().ok())
}

/// A reqwest client whose every request gives up after the patience's timeout.
pub fn client(patience: Patience) -> Result<reqwest::Client, ControlError> {
    reqwest::Client::builder()
        .timeout(patience.timeout)
        .build()
        .map_err(|e| ControlError::Invalid {
            what: "HTTP client",
            value: e.to_string(),
        })
}

/// Sends one call-control request, retrying 5xx answers, timeouts and refused connections within the
/// patience; a 4xx is final. Returns the body of the successful answer.
pub async fn send(
    provider: Provider,
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    credentials: &Credentials,
    body: Body<'_>,
    patience: Patience,
) -> Result<Vec<u8>, ControlError> {
    let mut last = String::new();
    let mut wait = patience.backoff;
    let attempts = patience.attempts.max(1);
    for attempt in 1..=attempts {
        if attempt > 1 {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
        let mut request = client.request(method.clone(), url);
        request = match credentials {
            Credentials::Basic { user, password } => request.basic_auth(user, Some(password)),
            Credentials::Bearer(token) => request.bearer_auth(token),
        };
        request = match &body {
            Body::Form(form) => request.form(form),
            Body::Json(json) => request.json(json),
        };
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                last = if e.is_timeout() {
                    format!("no answer within {} ms", patience.timeout.as_millis())
                } else {
                    format!("cannot connect: {e}")
                };
                continue;
            }
        };
        let status = response.status();
        let bytes = match response.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) => {
                last = format!("{status}, but the answer broke off: {e}");
                continue;
            }
        };
        if status.is_success() {
            return Ok(bytes);
        }
        let error: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
        let first = error.as_ref().and_then(|e| e.errors.first());
        let message = error
            .as_ref()
            .and_then(|e| e.message.clone())
            .or_else(|| first.and_then(|i| i.detail.clone().or_else(|| i.title.clone())))
            .unwrap_or_else(|| {
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned()
            });
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            last = format!("{status}: {message}");
            continue;
        }
        let code = error
            .as_ref()
            .and_then(|e| e.code.as_ref().and_then(error_code))
            .or_else(|| first.and_then(|i| i.code.as_ref().and_then(error_code)));
        return Err(ControlError::Refused {
            provider,
            status: status.as_u16(),
            code,
            message,
        });
    }
    Err(ControlError::Unavailable {
        provider,
        attempts,
        last,
    })
}
