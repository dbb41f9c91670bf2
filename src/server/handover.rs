//! What providers that cannot sign their requests fetch during a transfer: Vonage's `onAnswer` NCCO (the
//! whisper), Plivo's `aleg_url` (the `<Dial>`) and `confirmSound` (the whisper), and Telnyx's audio. Each
//! URL carries the transfer's unguessable key ([`super::transfer::whisper_key`]); without it, nothing of
//! the call is given out.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::stream::same;
use super::{AppState, Handoff};
use crate::dialing::{plivo, vonage};

/// Why nothing was given out: there is no such transfer, the key is wrong, or it has no summary.
pub(super) struct Missing(&'static str);

impl IntoResponse for Missing {
    fn into_response(self) -> Response {
        (StatusCode::NOT_FOUND, format!("{}\n", self.0)).into_response()
    }
}

/// The transfer of `call`, when `query` holds its key.
fn handoff(
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
pub(super) fn summary(
    state: &AppState,
    call: &str,
    query: &HashMap<String, String>,
) -> Result<String, Missing> {
    handoff(state, call, query)?
        .summary
        .ok_or(Missing("no summary for this call"))
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

/// `/vonage/whisper/{call}?key=`: the NCCO run on the answering person's leg.
pub async fn vonage_whisper(
    State(state): State<AppState>,
    Path(call): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match summary(&state, &call, &query) {
        Ok(s) => axum::Json(vonage::whisper_ncco(&s)).into_response(),
        Err(missing) => missing.into_response(),
    }
}

/// `POST /plivo/transfer/{call}?key=`: the `<Dial>` the caller's leg runs.
pub async fn plivo_transfer(
    State(state): State<AppState>,
    Path(call): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let h = match handoff(&state, &call, &query) {
        Ok(h) => h,
        Err(missing) => return missing.into_response(),
    };
    let Some(base) = state.engines.config().server.public_url.clone() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no public_url\n").into_response();
    };
    let whisper = h
        .summary
        .as_ref()
        .map(|_| format!("{base}/plivo/whisper/{call}?key={}", h.key));
    xml(plivo::dial_xml(
        &h.to,
        &state.dialers.caller_id,
        state.dialers.ring_seconds,
        &format!("{base}/plivo/dial-result/{call}?key={}", h.key),
        whisper.as_deref(),
    ))
}

/// `POST /plivo/whisper/{call}?key=`: the summary, spoken to whoever answers, who presses 1 to take the
/// call.
pub async fn plivo_whisper(
    State(state): State<AppState>,
    Path(call): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match summary(&state, &call, &query) {
        Ok(s) => xml(plivo::whisper_xml(
            &s,
            &state.engines.language().prompts.escalation.accept,
        )),
        Err(missing) => missing.into_response(),
    }
}
