//! Call control: asking a provider's REST API to act on a call in progress (bridge it to a person, hang it
//! up). Each provider's requests are built as plain values first (checked against the provider's API
//! description in the tests), then sent with reqwest, with retries for what is worth retrying.

pub mod twilio;

use std::time::Duration;

/// Why a call-control request did not do what was asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ControlError {
    /// The provider answered and said no (4xx): retrying would not help.
    #[error("{provider} refused the request ({status}{}): {message}", code.map(|c| format!(", error {c}")).unwrap_or_default())]
    Refused {
        provider: &'static str,
        status: u16,
        code: Option<i64>,
        message: String,
    },
    /// Every attempt failed on the provider's side (5xx), timed out or could not connect.
    #[error("{provider} is unavailable after {attempts} attempt(s): {last}")]
    Unavailable {
        provider: &'static str,
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
