//! Plivo's webhooks: the `<Dial>` XML the caller's leg runs once transferred (`aleg_url`), and the whisper
//! played to whoever answers (`confirmSound`). Plivo cannot sign these requests: each URL carries the
//! transfer's key, checked by [`crate::server::handover`].

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use super::control::{dial_xml, whisper_xml};
use crate::server::handover::{handoff, summary};
use crate::server::AppState;

/// Plivo's webhook routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/plivo/transfer/{call}", post(transfer))
        .route("/plivo/whisper/{call}", post(whisper))
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

/// `POST /plivo/transfer/{call}?key=`: the `<Dial>` the caller's leg runs.
pub async fn transfer(
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
    xml(dial_xml(
        &h.to,
        &state.dialers.caller_id,
        state.dialers.ring_seconds,
        &format!("{base}/plivo/dial-result/{call}?key={}", h.key),
        whisper.as_deref(),
    ))
}

/// `POST /plivo/whisper/{call}?key=`: the summary, spoken to whoever answers, who presses 1 to take the
/// call.
pub async fn whisper(
    State(state): State<AppState>,
    Path(call): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match summary(&state, &call, &query) {
        Ok(s) => xml(whisper_xml(
            &s,
            &state.engines.language().prompts.escalation.accept,
        )),
        Err(missing) => missing.into_response(),
    }
}
