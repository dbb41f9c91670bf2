//! Signed webhooks: the notice's JSON is POSTed as is, with `X-Switchboard-Signature: t=<unix>,v1=<hex>`
//! where `v1` is HMAC-SHA256 over `<unix>.<body>` with the shared secret (the timestamp inside the
//! signature lets a receiver refuse replays), and `Idempotency-Key`, the same on every retry.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::DeliveryError;
use crate::tickets::outbox::OutboxItem;

/// A receiver that has not answered in this long is down for this try.
const TIMEOUT: Duration = Duration::from_secs(10);

pub const SIGNATURE_HEADER: &str = "X-Switchboard-Signature";

/// The signature header's value for `body` sent at `unix` seconds.
pub fn signature(secret: &str, unix: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{unix}.{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={unix},v1={hex}")
}

pub struct Sender {
    http: reqwest::Client,
    secret: Option<String>,
}

impl Sender {
    pub fn new(secret: Option<String>) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(TIMEOUT)
                .build()
                .unwrap_or_default(),
            secret,
        }
    }

    /// One try: a 2xx answer is delivered, anything else (or no answer) is a failure to retry.
    pub async fn send(&self, item: &OutboxItem) -> Result<String, DeliveryError> {
        let unix = chrono::Utc::now().timestamp();
        let mut request = self
            .http
            .post(&item.recipient)
            .header("Content-Type", "application/json")
            .header(
                "User-Agent",
                concat!("switchboard/", env!("CARGO_PKG_VERSION")),
            )
            .header("Idempotency-Key", &item.idempotency)
            .header("X-Switchboard-Event", &item.event)
            .body(item.payload.clone());
        if let Some(secret) = &self.secret {
            request = request.header(SIGNATURE_HEADER, signature(secret, unix, &item.payload));
        }
        let response = request
            .send()
            .await
            .map_err(|e| DeliveryError::Webhook(error_chain(&e)))?;
        let status = response.status();
        if status.is_success() {
            Ok(format!("HTTP {}", status.as_u16()))
        } else {
            let body: String = response
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect();
            Err(DeliveryError::Webhook(format!(
                "HTTP {} from {}: {}",
                status.as_u16(),
                item.recipient,
                body.trim()
            )))
        }
    }
}

/// An error with its causes, so "connection refused" is not hidden behind "error sending request".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_time_and_body() {
        // Checked independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            signature("secret", 1_700_000_000, r#"{"a":1}"#),
            "t=1700000000,v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
    }
}
