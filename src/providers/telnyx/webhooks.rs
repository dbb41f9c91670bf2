//! Telnyx's side of a transfer: the whisper audio Telnyx plays to whoever answers (`audio_url`), and the
//! Call Control webhooks that say how the transfer went (`POST /telnyx/events`).
//!
//! Telnyx signs each webhook with Ed25519 over `"{telnyx-timestamp}|{body}"`
//! (`telnyx-signature-ed25519`, base64), checked with the account's public key (`[providers.telnyx]
//! public_key`); without a key nothing can be verified, so every event is refused, as with Twilio.
//!
//! A transfer's events carry our `client_state` (the caller leg's call control id). `call.bridged`: the
//! person answered. `call.hangup` before that: nobody took it (Telnyx leaves the caller's leg with us), so
//! the next target is rung, or, after the last, the caller's audio is streamed back to us
//! (`streaming_start`) and the parked call resumes there with the callback dialog. `call.hangup` after the
//! bridge: the conversation is over and its length is metered.

use axum::body::Bytes;
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::call::Event;
use crate::providers::{ControlError, Provider};
use crate::server::{handover, transfer, AppState};
use crate::telephony::signing;

const PROVIDER: Provider = Provider::Telnyx;

/// Telnyx's webhook routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/telnyx/whisper/{call}", get(whisper))
        .route("/telnyx/events", post(events))
}

#[derive(Deserialize)]
struct Webhook {
    data: WebhookData,
}

#[derive(Deserialize)]
struct WebhookData {
    event_type: String,
    #[serde(default)]
    payload: Payload,
}

#[derive(Deserialize, Default)]
struct Payload {
    #[serde(default)]
    client_state: Option<String>,
    #[serde(default)]
    hangup_cause: Option<String>,
}

/// Telnyx's hang-up causes, in the words Twilio's `DialCallStatus` uses for the same things.
pub fn outcome_of(hangup_cause: &str) -> &'static str {
    match hangup_cause {
        "timeout" | "no_answer" | "originator_cancel" => "no-answer",
        "user_busy" | "busy" => "busy",
        "call_rejected" | "unallocated_number" | "destination_out_of_order" => "failed",
        _ => "failed",
    }
}

fn refuse(state: &AppState, reason: &'static str, status: StatusCode) -> Response {
    state.metrics.refuse("telnyx_events", reason);
    tracing::warn!(reason, "refused a Telnyx webhook");
    (status, format!("refused: {reason}\n")).into_response()
}

/// `POST /telnyx/events`.
pub async fn events(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(key) = state.engines.config().provider(PROVIDER).public_key else {
        return refuse(&state, "no_public_key", StatusCode::SERVICE_UNAVAILABLE);
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(signature), Some(timestamp)) = (
        header("telnyx-signature-ed25519"),
        header("telnyx-timestamp"),
    ) else {
        return refuse(&state, "unsigned", StatusCode::FORBIDDEN);
    };
    let now = chrono::Utc::now().timestamp();
    if !signing::verify_telnyx(&key, timestamp, &body, signature, now) {
        return refuse(&state, "bad_signature", StatusCode::FORBIDDEN);
    }
    let Ok(hook) = serde_json::from_slice::<Webhook>(&body) else {
        return (StatusCode::BAD_REQUEST, "not a Telnyx webhook\n").into_response();
    };
    let call = hook
        .data
        .payload
        .client_state
        .as_deref()
        .and_then(super::control::client_state);
    let Some(call) = call else {
        // Events of calls that are not transfers of ours: nothing to do.
        return StatusCode::OK.into_response();
    };
    match hook.data.event_type.as_str() {
        "call.bridged" => bridged(&state, &call).await,
        "call.hangup" => {
            let cause = hook.data.payload.hangup_cause.unwrap_or_default();
            hung_up(&state, &call, &cause).await;
        }
        _ => {}
    }
    StatusCode::OK.into_response()
}

async fn bridged(state: &AppState, call: &str) {
    let attempt = {
        let mut parked = state.parked.lock().unwrap_or_else(|p| p.into_inner());
        let Some(p) = parked.get_mut(call) else {
            return;
        };
        if p.bridged_at.is_some() {
            return;
        }
        p.bridged_at = Some(std::time::Instant::now());
        p.attempt_id
    };
    transfer::end_attempt(state, attempt, "bridged", None, None).await;
}

async fn hung_up(state: &AppState, call: &str, cause: &str) {
    let Some(mut parked) = transfer::unpark(state, call) else {
        return;
    };
    let t_ms = parked.now_ms();
    if let Some(since) = parked.bridged_at {
        // The conversation is over.
        let talk = since.elapsed();
        if let Err(e) = state
            .store
            .add_usage(
                call,
                PROVIDER.as_str(),
                0,
                talk.as_millis() as u64,
                Some("bridged"),
            )
            .await
        {
            tracing::error!(call, error = %e, "cannot meter the transfer");
        }
        transfer::conclude(state, call, &mut parked, Event::TransferBridged { t_ms }).await;
        return;
    }
    let outcome = outcome_of(cause);
    transfer::end_attempt(state, parked.attempt_id, outcome, Some(cause), None).await;
    parked.attempt_id = None;
    while let Some(next) = transfer::ring_next(state, call, PROVIDER, &mut parked).await {
        let whisper = parked.summary.is_some();
        match transfer::dial_live(state, PROVIDER, call, &[next], whisper, parked.attempt).await {
            Ok(_) => return transfer::park(state, call, parked),
            Err(e) => {
                let detail = e.to_string();
                transfer::end_attempt(state, parked.attempt_id, "unavailable", Some(&detail), None)
                    .await;
                parked.attempt_id = None;
            }
        }
    }
    // Nobody took it: the caller's leg is still ours; stream it back and resume the call there.
    let stream_url = state.engines.config().server.stream_url(PROVIDER);
    let restart = match (state.dialers.control(PROVIDER), stream_url) {
        (Some(control), Some(url)) => control.stream_back(call, &url).await,
        _ => Err(ControlError::Invalid {
            what: "Telnyx call control and server.public_url",
            value: String::new(),
        }),
    };
    match restart {
        Ok(()) => transfer::await_return(state, call, parked, outcome),
        Err(e) => {
            // The caller cannot be brought back: the callback is still owed.
            tracing::error!(call, error = %e, "cannot stream the caller back after the transfer");
            transfer::conclude(state, call, &mut parked, Event::HungUp { t_ms }).await;
        }
    }
}

/// `GET /telnyx/whisper/{call}.wav?key=...`: the contextual summary as a WAV file, in the agent's voice,
/// for Telnyx's `audio_url` (played to whoever answers, before the bridge).
pub async fn whisper(
    State(state): State<AppState>,
    Path(call): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let call = call.strip_suffix(".wav").unwrap_or(&call).to_string();
    let summary = match handover::summary(&state, &call, &query) {
        Ok(s) => s,
        Err(missing) => return missing.into_response(),
    };
    let speech = state.clone();
    let rendered = tokio::task::spawn_blocking(move || speech.speech.render(&summary, 8_000)).await;
    match rendered {
        Ok(Ok(samples)) => (
            [(header::CONTENT_TYPE, "audio/wav")],
            crate::audio::wav::encode_g711_wav(crate::audio::g711::Law::MuLaw, 8_000, &samples),
        )
            .into_response(),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot render the summary\n",
        )
            .into_response(),
    }
}
