//! The keyed look-up behind what providers that cannot sign their requests fetch during a transfer:
//! Vonage's `onAnswer` NCCO (the whisper), Plivo's `aleg_url` (the `<Dial>`) and `confirmSound` (the
//! whisper), and Telnyx's audio. Each URL carries the transfer's unguessable key
//! ([`super::transfer::whisper_key`]); without it, nothing of the call is given out. The routes themselves
//! are each provider's (`crate::providers::<provider>::webhooks`); this module owns only the check.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::stream::same;
use super::{AppState, Handoff};

/// Why nothing was given out: there is no such transfer, the key is wrong, or it has no summary.
pub(crate) struct Missing(&'static str);

impl IntoResponse for Missing {
    fn into_response(self) -> Response {
        (StatusCode::NOT_FOUND, format!("{}\n", self.0)).into_response()
    }
}

/// The transfer of `call`, when `query` holds its key.
pub(crate) fn handoff(
    state: &AppState,
    call: &str,
    query: &HashMap<String, String>,
) -> Result<Handoff, Missing> {
    let found = state
        .handoffs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(call)
        .cloned();
    match (found, query.get("key")) {
        (Some(h), Some(key)) if same(&h.key, key) => Ok(h),
        _ => {
            state.metrics.refuse("whisper", "bad_key");
            Err(Missing("no transfer here"))
        }
    }
}

/// The summary of `call`'s transfer, when `query` holds its key.
pub(crate) fn summary(
    state: &AppState,
    call: &str,
    query: &HashMap<String, String>,
) -> Result<String, Missing> {
    handoff(state, call, query)?
        .summary
        .ok_or(Missing("no summary for this call"))
}
