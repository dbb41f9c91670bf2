//! Plivo, all of it: audio streams ([`media`]), the Call API's transfer of the caller's leg to our Plivo
//! XML ([`control`]), and the routes that XML and its whisper are fetched from ([`webhooks`]). Plivo
//! reports nothing back to us: a transfer is handed over.

pub mod control;
pub mod media;
pub mod webhooks;

use axum::Router;

use super::{CallControl, ControlError, Patience};
use crate::config::AgentConfig;
use crate::server::AppState;
use crate::telephony::MediaProtocol;

pub fn media() -> Box<dyn MediaProtocol> {
    Box::new(media::Plivo::new())
}

pub fn call_control(
    config: &AgentConfig,
    patience: Patience,
) -> Result<Option<Box<dyn CallControl>>, ControlError> {
    Ok(control::PlivoControl::from_config(config, patience)?
        .map(|c| Box::new(c) as Box<dyn CallControl>))
}

pub fn routes() -> Router<AppState> {
    webhooks::routes()
}
