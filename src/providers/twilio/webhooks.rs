//! Twilio's webhooks: answering a call with `<Connect><Stream>`, and what follows the stream.
//!
//! Every request must carry a valid `X-Twilio-Signature` for the URL Twilio called (our `public_url` plus
//! the path) and its form parameters, keyed by the auth token; anything else is refused and counted. With no
//! auth token or no public URL configured nothing can be verified, so everything is refused.
//!
//! A transfer on Twilio goes through the REST API when `[providers.twilio] account_sid` is set; without it,
//! the answer TwiML names an `action` on `<Connect>`, which Twilio requests once our stream closes, and a
//! call being transferred gets its `<Dial>` there. Either way the `<Dial>` reports its outcome to
//! `/twilio/dial-result/{call}`, and the contextual summary is spoken to the person who answers
//! (`<Number url>`). See [`crate::server::transfer`].

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::control::{self, dial_bridged};
use super::twiml;
use crate::call::Event;
use crate::providers::{Dial, Provider};
use crate::server::{mask_number, transfer, AppState};
use crate::telephony::signing;

const PROVIDER: Provider = Provider::Twilio;

/// Twilio's webhook routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/twilio/voice", post(answer))
        .route("/twilio/after-stream", post(after_stream))
        .route("/twilio/dial-result/{call}", post(dial_result))
        .route("/twilio/whisper/{call}", get(whisper).post(whisper))
}

/// The `<Dial>` TwiML ringing `to` (all at once) for `call`, reporting to our dial-result route.
fn dial_twiml(
    state: &AppState,
    call: &str,
    to: &[String],
    whisper: bool,
    attempt: u32,
) -> Option<String> {
    control::dial_twiml(&Dial {
        call_id: call,
        group: to,
        public_url: state.engines.config().server.public_url.as_deref(),
        key: "",
        whisper,
        attempt,
        caller_id: &state.dialers.caller_id,
        ring_seconds: state.dialers.ring_seconds,
    })
}

/// The auth token Twilio signs with: from the config, else `TWILIO_AUTH_TOKEN`.
fn auth_token(state: &AppState) -> Option<String> {
    state
        .engines
        .config()
        .provider(PROVIDER)
        .auth_token
        .or_else(|| std::env::var("TWILIO_AUTH_TOKEN").ok())
        .filter(|t| !t.trim().is_empty())
}

fn refuse(state: &AppState, route: &str, status: StatusCode, reason: &'static str) -> Response {
    state.metrics.refuse(route, reason);
    tracing::warn!(route, reason, "refused a Twilio request");
    (status, format!("refused: {reason}\n")).into_response()
}

/// The request's form parameters once its signature checks out.
fn verified(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, (StatusCode, &'static str)> {
    let Some(token) = auth_token(state) else {
        return Err((StatusCode::SERVICE_UNAVAILABLE, "no_auth_token"));
    };
    let Some(base) = state.engines.config().server.public_url.clone() else {
        return Err((StatusCode::SERVICE_UNAVAILABLE, "no_public_url"));
    };
    let Some(signature) = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
    else {
        return Err((StatusCode::FORBIDDEN, "unsigned"));
    };
    let url = format!(
        "{base}{}",
        uri.path_and_query().map_or(uri.path(), |p| p.as_str())
    );
    // A GET is signed on its URL alone; a POST also on its sorted form parameters.
    let params: Vec<(String, String)> = if method == Method::POST {
        form_urlencoded::parse(body).into_owned().collect()
    } else {
        Vec::new()
    };
    if !signing::verify_twilio(&token, &url, &params, signature) {
        return Err((StatusCode::FORBIDDEN, "bad_signature"));
    }
    Ok(params)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

/// `POST /twilio/voice`: an incoming call. Connects its audio to our stream route, with the call's ids as
/// `<Parameter>`s (and the stream token, when one is configured).
pub async fn answer(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let route = "twilio_voice";
    let params = match verified(&state, &method, &uri, &headers, &body) {
        Ok(p) => p,
        Err((status, reason)) => return refuse(&state, route, status, reason),
    };
    if state.calls.is_draining() {
        return refuse(
            &state,
            "twilio_voice",
            StatusCode::SERVICE_UNAVAILABLE,
            "draining",
        );
    }
    let server = &state.engines.config().server;
    let (Some(stream_url), Some(base)) = (server.stream_url(PROVIDER), &server.public_url) else {
        return refuse(
            &state,
            "twilio_voice",
            StatusCode::SERVICE_UNAVAILABLE,
            "no_public_url",
        );
    };
    let action = format!("{base}/twilio/after-stream");
    let mut parameters: Vec<(&str, &str)> = Vec::new();
    for (name, key) in [("call_sid", "CallSid"), ("from", "From"), ("to", "To")] {
        if let Some(v) = param(&params, key) {
            parameters.push((name, v));
        }
    }
    let token = state.engines.config().provider(PROVIDER).stream_token;
    if let Some(t) = token.as_deref() {
        parameters.push(("token", t));
    }
    tracing::info!(
        call_sid = param(&params, "CallSid").unwrap_or("?"),
        from = %param(&params, "From").map(mask_number).unwrap_or_default(),
        "answering a Twilio call"
    );
    xml(twiml::connect_stream(
        &stream_url,
        Some(&action),
        &parameters,
    ))
}

/// `POST /twilio/after-stream`: our stream closed. A call handed over for a transfer without API
/// credentials dials from here; anything else hangs up.
pub async fn after_stream(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let route = "twilio_after_stream";
    let params = match verified(&state, &method, &uri, &headers, &body) {
        Ok(p) => p,
        Err((status, reason)) => return refuse(&state, route, status, reason),
    };
    let Some(call_sid) = param(&params, "CallSid") else {
        return xml(twiml::hangup());
    };
    let ringing = state
        .parked
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(call_sid)
        .filter(|p| p.resume.is_none())
        .filter(|p| !p.current.is_empty())
        .map(|p| (p.current.clone(), p.summary.is_some(), p.attempt));
    let dial = ringing
        .and_then(|(to, whisper, attempt)| dial_twiml(&state, call_sid, &to, whisper, attempt));
    match dial {
        Some(dial) => xml(dial),
        None => xml(twiml::hangup()),
    }
}

/// `POST /twilio/dial-result/{call}`: how a `<Dial>` ended (`DialCallStatus`). Bridged: recorded, with the
/// talk time. Busy, no-answer, failed, canceled: the next target rings, or, after the last, the caller is
/// reconnected to a new stream where the agent offers a callback. A caller who hung up meanwhile still
/// gets the callback ticket.
pub async fn dial_result(
    State(state): State<AppState>,
    Path(call): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let route = "twilio_dial_result";
    let params = match verified(&state, &method, &uri, &headers, &body) {
        Ok(p) => p,
        Err((status, reason)) => return refuse(&state, route, status, reason),
    };
    let status = param(&params, "DialCallStatus")
        .unwrap_or("failed")
        .to_string();
    let talk = param(&params, "DialCallDuration").and_then(|d| d.parse::<i64>().ok());
    let caller_gone = param(&params, "CallStatus") == Some("completed");
    let Some(mut parked) = transfer::unpark(&state, &call) else {
        // A call we no longer know (the server restarted while it rang): never hang up on a caller still
        // there; a new stream greets them afresh.
        tracing::warn!(call, status, "a transfer outcome for a call we do not know");
        if caller_gone || dial_bridged(&status) {
            return xml(twiml::hangup());
        }
        return reconnect(&state, &call, &params);
    };
    let reported = uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "attempt")
            .and_then(|(_, v)| v.parse::<u32>().ok())
    });
    if reported.is_some() && reported == parked.answered {
        // Twilio asks again about an outcome we already answered (our answer did not reach it): the same
        // answer, nothing recorded twice.
        return answer_again(&state, &call, parked, &params);
    }
    let t_ms = parked.now_ms();
    tracing::info!(call, status, attempt = parked.attempt, "transfer outcome");
    if dial_bridged(&status) {
        transfer::end_attempt(&state, parked.attempt_id, "bridged", None, talk).await;
        let transfer_ms = talk.map_or(0, |s| s.max(0) as u64 * 1000);
        if let Err(e) = state
            .store
            .add_usage(
                &call,
                parked.provider.as_str(),
                0,
                transfer_ms,
                Some("bridged"),
            )
            .await
        {
            tracing::error!(call, error = %e, "cannot meter the transfer");
        }
        transfer::conclude(&state, &call, &mut parked, Event::TransferBridged { t_ms }).await;
        return xml(twiml::hangup());
    }
    transfer::end_attempt(&state, parked.attempt_id, &status, None, None).await;
    parked.attempt_id = None;
    parked.answered = Some(parked.attempt);
    if caller_gone {
        transfer::conclude(&state, &call, &mut parked, Event::HungUp { t_ms }).await;
        return xml(twiml::hangup());
    }
    if transfer::ring_next(&state, &call, PROVIDER, &mut parked)
        .await
        .is_none()
    {
        // Nobody took it: back to the agent, on a new stream of the same call.
        parked.resume = Some(status);
    }
    answer_again(&state, &call, parked, &params)
}

/// What a parked call's failed attempt is answered with: ring what is now ringing, or, when nothing is
/// left, bring the caller back to a new stream.
fn answer_again(
    state: &AppState,
    call: &str,
    parked: transfer::Parked,
    params: &[(String, String)],
) -> Response {
    if let Some(outcome) = parked.resume.clone() {
        transfer::await_return(state, call, parked, &outcome);
        return reconnect(state, call, params);
    }
    let dial = dial_twiml(
        state,
        call,
        &parked.current,
        parked.summary.is_some(),
        parked.attempt,
    );
    transfer::park(state, call, parked);
    match dial {
        Some(d) => xml(d),
        None => xml(twiml::hangup()),
    }
}

/// `<Connect><Stream>` back to us for `call`, as when it was answered.
fn reconnect(state: &AppState, call: &str, params: &[(String, String)]) -> Response {
    let server = &state.engines.config().server;
    let (Some(stream_url), Some(base)) = (server.stream_url(PROVIDER), &server.public_url) else {
        return xml(twiml::hangup());
    };
    let action = format!("{base}/twilio/after-stream");
    let mut parameters: Vec<(&str, &str)> = vec![("call_sid", call)];
    if let Some(from) = param(params, "From") {
        parameters.push(("from", from));
    }
    let token = state.engines.config().provider(PROVIDER).stream_token;
    if let Some(t) = token.as_deref() {
        parameters.push(("token", t));
    }
    xml(twiml::connect_stream(
        &stream_url,
        Some(&action),
        &parameters,
    ))
}

/// `/twilio/whisper/{call}`: run on the answering person's leg before the bridge: the contextual summary.
/// Kept until the transfer ends, so each fallback target hears it too.
pub async fn whisper(
    State(state): State<AppState>,
    Path(call): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err((status, reason)) = verified(&state, &method, &uri, &headers, &body) {
        return refuse(&state, "twilio_whisper", status, reason);
    }
    let summary = state
        .handoffs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&call)
        .and_then(|h| h.summary.clone());
    match summary {
        Some(summary) => xml(twiml::say(&summary)),
        None => xml("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>".to_string()),
    }
}
