//! Exotel: voicebot streams only ([`media`]). Exotel's flow owns the call around our stream, so there is no
//! call control of ours and no webhook: a transfer is handed over when the stream closes.

pub mod media;

use axum::Router;

use super::{CallControl, ControlError, Patience};
use crate::config::AgentConfig;
use crate::server::AppState;
use crate::telephony::MediaProtocol;

pub fn media() -> Box<dyn MediaProtocol> {
    Box::new(media::Exotel::new())
}

pub fn call_control(
    _config: &AgentConfig,
    _patience: Patience,
) -> Result<Option<Box<dyn CallControl>>, ControlError> {
    Ok(None)
}

pub fn routes() -> Router<AppState> {
    Router::new()
}
