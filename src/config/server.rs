//! `[server]`: how the live server is reached (public URL, listen address) and what it accepts (message
//! size, drain time, where call events go). The server itself lives in `crate::server`.

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::Findings;

/// `[server]`: how the live server is reached and what it accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSettings {
    /// How providers reach us (`https://agent.example.com`, no trailing slash): every URL we hand out
    /// (TwiML stream URLs, callbacks) is built on it. Required to answer calls, not to replay them.
    pub public_url: Option<String>,
    /// Address the server listens on (`--listen` overrides it).
    pub listen: std::net::SocketAddr,
    /// The largest WebSocket message a provider may send; a larger one ends that stream.
    pub max_message_bytes: usize,
    /// Where each call's JSON lines are written.
    pub events_dir: PathBuf,
    /// On shutdown, how long calls in progress may go on before the server ends them.
    pub drain_seconds: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            public_url: None,
            listen: std::net::SocketAddr::from(([0, 0, 0, 0], 8080)),
            max_message_bytes: 64 * 1024,
            events_dir: PathBuf::from("calls"),
            drain_seconds: 30,
        }
    }
}

impl ServerSettings {
    /// The WebSocket URL of a provider's stream route (`wss://host/twilio/stream`).
    pub fn stream_url(&self, provider: crate::providers::Provider) -> Option<String> {
        let base = self.public_url.as_deref()?;
        let ws = match base.split_once("://") {
            Some(("https", rest)) => format!("wss://{rest}"),
            Some((_, rest)) => format!("ws://{rest}"),
            None => return None,
        };
        Some(format!("{ws}/{provider}/stream"))
    }
}

/// Limits of `[server] max_message_bytes`: a 20 ms frame is far below the floor, a ceiling keeps a peer
/// from making us buffer without bound.
const MESSAGE_LIMITS: std::ops::RangeInclusive<i64> = 1024..=16 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    #[serde(default)]
    public_url: Option<Spanned<String>>,
    #[serde(default)]
    listen: Option<Spanned<String>>,
    #[serde(default)]
    max_message_bytes: Option<Spanned<i64>>,
    #[serde(default)]
    events_dir: Option<Spanned<String>>,
    #[serde(default)]
    drain_seconds: Option<Spanned<i64>>,
}

/// Checks `[server]`; anything wrong is an error at its place, and the default stands in for it.
pub(super) fn server_settings(raw: Option<RawServer>, f: &mut Findings<'_>) -> ServerSettings {
    let mut server = ServerSettings::default();
    let Some(raw) = raw else {
        return server;
    };
    if let Some(url) = raw.public_url {
        let span = url.span();
        let url = url.into_inner();
        let trimmed = url.trim().trim_end_matches('/');
        match trimmed.split_once("://") {
            Some(("http" | "https", rest))
                if !rest.is_empty()
                    && !rest.contains(['?', '#', ' '])
                    && !rest.starts_with('/') =>
            {
                server.public_url = Some(trimmed.to_string());
            }
            _ => f.error(
                "server.public_url",
                span,
                format!("{url:?} is not an http(s) URL such as \"https://agent.example.com\""),
            ),
        }
    }
    if let Some(listen) = raw.listen {
        let span = listen.span();
        match listen.get_ref().parse() {
            Ok(addr) => server.listen = addr,
            Err(_) => f.error(
                "server.listen",
                span,
                format!(
                    "{:?} is not an address such as \"0.0.0.0:8080\"",
                    listen.get_ref()
                ),
            ),
        }
    }
    if let Some(limit) = raw.max_message_bytes {
        let span = limit.span();
        let limit = limit.into_inner();
        if MESSAGE_LIMITS.contains(&limit) {
            server.max_message_bytes = limit as usize;
        } else {
            f.error(
                "server.max_message_bytes",
                span,
                format!(
                    "{limit} is outside {}..={} bytes",
                    MESSAGE_LIMITS.start(),
                    MESSAGE_LIMITS.end()
                ),
            );
        }
    }
    if let Some(drain) = raw.drain_seconds {
        let span = drain.span();
        match u64::try_from(drain.into_inner()) {
            Ok(secs) if secs <= 3600 => server.drain_seconds = secs,
            _ => f.error(
                "server.drain_seconds",
                span,
                "drain_seconds must be in 0..=3600",
            ),
        }
    }
    if let Some(dir) = raw.events_dir {
        let span = dir.span();
        if dir.get_ref().trim().is_empty() {
            f.error("server.events_dir", span, "the events directory is empty");
        } else {
            server.events_dir = PathBuf::from(dir.into_inner());
        }
    }
    server
}
