//! Telnyx, all of it: media streaming ([`media`]), Call Control's transfer and `streaming_start`
//! ([`control`]), and the webhooks: the signed Call Control events that say how a transfer went, and the
//! whisper audio Telnyx plays to whoever answers ([`webhooks`]).

pub mod control;
pub mod media;
pub mod webhooks;

use axum::Router;

use super::{CallControl, ControlError, Patience};
use crate::config::AgentConfig;
use crate::server::AppState;
use crate::telephony::MediaProtocol;

pub fn media() -> Box<dyn MediaProtocol> {
    Box::new(media::Telnyx::new())
}

pub fn call_control(
    config: &AgentConfig,
    patience: Patience,
) -> Result<Option<Box<dyn CallControl>>, ControlError> {
    Ok(control::TelnyxControl::from_config(config, patience)?
        .map(|c| Box::new(c) as Box<dyn CallControl>))
}

pub fn routes() -> Router<AppState> {
    webhooks::routes()
}
