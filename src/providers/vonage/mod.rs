//! Vonage, all of it: the Voice WebSocket ([`media`]), the Voice API's transfer to a `connect` NCCO
//! ([`control`]), and the whisper NCCO run on the answering person's leg ([`webhooks`]). Vonage reports
//! nothing back to us: a transfer is handed over.

pub mod control;
pub mod media;
pub mod webhooks;

use axum::Router;

use super::{CallControl, ControlError, Patience};
use crate::config::AgentConfig;
use crate::server::AppState;
use crate::telephony::MediaProtocol;

pub fn media() -> Box<dyn MediaProtocol> {
    Box::new(media::Vonage::new())
}

pub fn call_control(
    config: &AgentConfig,
    patience: Patience,
) -> Result<Option<Box<dyn CallControl>>, ControlError> {
    Ok(control::VonageControl::from_config(config, patience)?
        .map(|c| Box::new(c) as Box<dyn CallControl>))
}

pub fn routes() -> Router<AppState> {
    webhooks::routes()
}
