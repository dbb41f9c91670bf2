//! Call control as one trait: what the server asks of any provider's REST API while a call is on its
//! stream (ring a transfer target, stream a caller nobody took back to us, hang up), and what became of
//! the request. Each provider implements [`CallControl`] once, in its own `control.rs`; the server holds
//! them as trait objects by [`Provider`] and never matches on a provider's name.
//!
//! Owns the request ([`Dial`]) and the outcome ([`Dialed`]) of a dial. Must not touch the server's state:
//! everything a provider needs to dial comes in the [`Dial`], so each implementation is tested without a
//! server.

use std::future::Future;
use std::pin::Pin;

use super::rest::ControlError;
use super::Provider;

/// A call-control request in flight. Boxed because [`CallControl`] is used as a trait object (`async fn`
/// in a trait is not object safe), and `Send` because it runs on the server's tasks.
pub type Pending<'a, T> = Pin<Box<dyn Future<Output = Result<T, ControlError>> + Send + 'a>>;

/// What became of a dial request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialed {
    /// The provider took the call and will report the outcome (Twilio's `<Dial action>`, Telnyx's events).
    Reported,
    /// Twilio without API credentials: the `<Connect action>` TwiML dials once the stream closes, and its
    /// `<Dial action>` reports.
    AtStreamEnd,
    /// The provider took the call (or takes it when the stream closes) and reports nothing back to us.
    HandedOver,
}

/// One transfer target (or group, when they ring all at once) to ring for a call still on its stream.
#[derive(Debug, Clone, Copy)]
pub struct Dial<'a> {
    /// The provider's id of the call being transferred.
    pub call_id: &'a str,
    /// The numbers to ring together. Only Twilio rings several at once; the others take the first.
    pub group: &'a [String],
    /// How the provider reaches our routes (`[server] public_url`): the whisper and outcome URLs.
    pub public_url: Option<&'a str>,
    /// The transfer's whisper key, for providers that cannot sign their requests to us (see
    /// [`crate::server::transfer::whisper_key`]); empty when the transfer has none.
    pub key: &'a str,
    /// Whether the person who answers hears the contextual summary first.
    pub whisper: bool,
    /// Counts from 1 across the call's targets.
    pub attempt: u32,
    /// The caller id the targets see: the agent's number.
    pub caller_id: &'a str,
    pub ring_seconds: u32,
}

impl Dial<'_> {
    /// The one number a provider that rings one at a time dials.
    pub fn to(&self) -> &str {
        self.group.first().map(String::as_str).unwrap_or_default()
    }

    /// `path` on our public URL, when there is one.
    pub fn own(&self, path: &str) -> Option<String> {
        self.public_url.map(|base| format!("{base}{path}"))
    }

    /// Why a dial that needs our routes cannot be made.
    pub fn needs_public_url() -> ControlError {
        ControlError::Invalid {
            what: "server.public_url (the provider must reach our routes)",
            value: String::new(),
        }
    }
}

/// One provider's call control, as configured (its credentials, its API base).
pub trait CallControl: Send + Sync {
    fn provider(&self) -> Provider;

    /// Rings `dial`'s target for a call still on its stream.
    fn transfer<'a>(&'a self, dial: &'a Dial<'a>) -> Pending<'a, Dialed>;

    /// Streams the call's audio to `stream_url` again: how a caller nobody took comes back to the agent, for
    /// providers that leave the caller's leg with us after a failed transfer. Others bring the caller back
    /// in their own webhooks (Twilio answers its `<Dial action>` with a new `<Connect><Stream>`).
    fn stream_back<'a>(&'a self, call_id: &'a str, stream_url: &'a str) -> Pending<'a, ()> {
        let _ = (call_id, stream_url);
        let provider = self.provider();
        Box::pin(async move {
            Err(ControlError::Invalid {
                what: "a call streamed back by call control",
                value: provider.to_string(),
            })
        })
    }
}
