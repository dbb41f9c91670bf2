//! Twilio, all of it: Media Streams ([`media`]), the Calls API that redirects a call to a `<Dial>`
//! ([`control`]), the TwiML we answer with ([`twiml`]), and the webhooks Twilio calls: answering a call,
//! what follows the stream, a `<Dial>`'s outcome, the whisper ([`webhooks`]).

pub mod control;
pub mod media;
pub mod twiml;
pub mod webhooks;

use axum::Router;

use super::{CallControl, ControlError, Patience};
use crate::config::AgentConfig;
use crate::server::AppState;
use crate::telephony::MediaProtocol;

pub fn media() -> Box<dyn MediaProtocol> {
    Box::new(media::Twilio::new())
}

pub fn call_control(
    config: &AgentConfig,
    patience: Patience,
) -> Result<Option<Box<dyn CallControl>>, ControlError> {
    Ok(Some(Box::new(control::TwilioControl::from_config(
        config, patience,
    )?)))
}

pub fn routes() -> Router<AppState> {
    webhooks::routes()
}
