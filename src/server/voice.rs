//! Twilio's webhooks: answering a call with `<Connect><Stream>`, and what follows the stream.
//!
//! Every request must carry a valid `X-Twilio-Signature` for the URL Twilio called (our `public_url` plus
//! the path) and its form parameters, keyed by the auth token; anything else is refused and counted. With no
//! auth token or no public URL configured nothing can be verified, so everything is refused.
//!
//! A transfer on Twilio needs no credentials: the answer TwiML names an `action` on `<Connect>`, which
//! Twilio requests once our stream closes. A call the agent decided to transfer gets `<Dial>` there, with the
//! contextual summary spoken to the person who answers (`<Number url>`); any other call is hung up.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::telephony::{signing, twiml};

/// The auth token Twilio signs with: from the config, else `TWILIO_AUTH_TOKEN`.
fn auth_token(state: &AppState) -> Option<String> {
    state
        .engines
        .config()
        .provider("twilio")
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
    let (Some(stream_url), Some(base)) = (server.stream_url("twilio"), &server.public_url) else {
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
    let token = state.engines.config().provider("twilio").stream_token;
    if let Some(t) = token.as_deref() {
        parameters.push(("token", t));
    }
    tracing::info!(
        call_sid = param(&params, "CallSid").unwrap_or("?"),
        from = %param(&params, "From").map(super::mask_number).unwrap_or_default(),
        "answering a Twilio call"
    );
    xml(twiml::connect_stream(
        &stream_url,
        Some(&action),
        &parameters,
    ))
}

/// `POST /twilio/after-stream`: our stream closed. A decided transfer dials; anything else hangs up.
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
    let handoff = {
        let mut handoffs = state.handoffs.lock().unwrap_or_else(|p| p.into_inner());
        match handoffs.get(call_sid) {
            // Kept until the answering person's leg asks for the summary.
            Some(h) if h.summary.is_some() => Some(h.clone()),
            Some(_) => handoffs.remove(call_sid),
            None => None,
        }
    };
    match handoff {
        Some(h) => {
            let whisper = h.summary.as_ref().and_then(|_| {
                let base = state.engines.config().server.public_url.as_deref()?;
                Some(format!("{base}/twilio/whisper/{call_sid}"))
            });
            tracing::info!(call_sid, to = %super::mask_number(&h.to), "dialing the transfer");
            xml(twiml::dial(&h.to, whisper.as_deref()))
        }
        None => xml(twiml::hangup()),
    }
}

/// `/twilio/whisper/{call}`: run on the answering person's leg before the bridge: the contextual summary.
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
    let handoff = state
        .handoffs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&call);
    match handoff.and_then(|h| h.summary) {
        Some(summary) => xml(twiml::say(&summary)),
        None => xml("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>".to_string()),
    }
}
