//! Vonage's webhook: the whisper NCCO Vonage fetches for the answering person's leg (`onAnswer`) before
//! the bridge. Vonage cannot sign that request: the URL carries the transfer's key, checked by
//! [`crate::server::handover`].

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::control::whisper_ncco;
use crate::server::handover::summary;
use crate::server::AppState;

/// Vonage's webhook routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/vonage/whisper/{call}", get(whisper).post(whisper))
}

/// `/vonage/whisper/{call}?key=`: the NCCO run on the answering person's leg.
pub async fn whisper(
    State(state): State<AppState>,
    Path(call): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match summary(&state, &call, &query) {
        Ok(s) => axum::Json(whisper_ncco(&s)).into_response(),
        Err(missing) => missing.into_response(),
    }
}
