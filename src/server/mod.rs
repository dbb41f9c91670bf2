//! `switchboard serve`: the live server. Providers stream calls to `/<provider>/stream` over WebSocket; each
//! stream runs the same sans-IO [`crate::call::Call`] as replay, fed by a [`stream`] session. Each
//! provider's webhooks (Twilio's TwiML answer, transfer outcomes, whispers) are its own, in
//! [`crate::providers`], merged here. Operators get `/healthz` and `/metrics`, staff the Support
//! section (`/support`, `/api/tickets`, see [`crate::support`]).
//!
//! Engines are loaded once: whisper on a bounded [`RecognitionPool`], the sentence embedder and topic index,
//! the rendered prompts. Shutdown drains: new streams are refused, calls in progress may finish within
//! `[server] drain_seconds`, the rest are ended (their tickets still written) before the process exits.

pub mod calllog;
pub(crate) mod handover;
pub mod metrics;
pub mod node;
mod session;
pub mod stream;
pub mod transfer;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

use crate::audio::vad::VadSessions;
use crate::engines::Engines;
use crate::providers::Provider;
use crate::recognition::RecognitionPool;
use crate::speech::PromptCache;
use crate::tickets::store::TicketStore;
use metrics::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Serve(std::io::Error),
    #[error("cannot create the events directory {path}: {source}")]
    EventsDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot load the voice activity detector: {0}")]
    Vad(#[from] crate::onnx::OnnxError),
    #[error("cannot set up call control: {0}")]
    Dialer(#[from] transfer::DialerError),
    #[error("cannot render the prompt {text:?}: {source}")]
    Prompt {
        text: String,
        source: crate::speech::SpeechError,
    },
}

/// A transfer decided on a call whose provider completes it after our stream closes (Twilio's `<Connect
/// action>`).
#[derive(Debug, Clone, PartialEq)]
pub struct Handoff {
    pub to: String,
    pub summary: Option<String>,
    /// Presented by providers that cannot sign their requests for the whisper (see
    /// [`transfer::whisper_key`]).
    pub key: String,
    /// When the transfer was decided: forgotten after [`transfer::PARK_LIMIT`] in any case.
    pub since: std::time::Instant,
}

/// The calls in progress, and the drain on shutdown.
pub struct Calls {
    active: AtomicUsize,
    draining: AtomicBool,
    idle: Notify,
    stop: watch::Sender<bool>,
}

impl Calls {
    fn new() -> Self {
        Self {
            active: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
            idle: Notify::new(),
            stop: watch::channel(false).0,
        }
    }

    pub fn active(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Ends every call in progress when it turns true.
    pub fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Waits until no call is active, at most `limit`. True when none is.
    async fn wait_idle(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let idle = self.idle.notified();
            if self.active() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return self.active() == 0;
            }
        }
    }
}

/// Counts a call as active while alive.
pub struct CallGuard {
    state: AppState,
}

impl CallGuard {
    pub fn enter(state: &AppState) -> Self {
        state.calls.active.fetch_add(1, Ordering::SeqCst);
        state.metrics.active_calls.inc();
        Self {
            state: state.clone(),
        }
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        self.state.calls.active.fetch_sub(1, Ordering::SeqCst);
        self.state.metrics.active_calls.dec();
        self.state.calls.idle.notify_waiters();
    }
}

/// Everything the routes share.
pub struct Shared {
    pub engines: Engines,
    /// VAD sessions shared by every call (each call keeps its own VAD state).
    pub vad: Arc<VadSessions>,
    pub pool: RecognitionPool,
    pub speech: PromptCache,
    pub store: TicketStore,
    pub metrics: Metrics,
    pub calls: Calls,
    /// Summaries to whisper to whoever answers a transfer, by provider call id.
    pub handoffs: Mutex<HashMap<String, Handoff>>,
    /// Call control per provider, and the LLM summary.
    pub dialers: transfer::Dialers,
    /// Calls handed to the provider for a transfer, until it reports the outcome, by provider call id.
    pub parked: Mutex<HashMap<String, transfer::Parked>>,
}

pub type AppState = Arc<Shared>;

impl Shared {
    /// Assembles the server around loaded engines. Renders every fixed prompt once, so a missing speech
    /// engine fails here and not in the middle of a call.
    pub fn new(
        engines: Engines,
        pool: RecognitionPool,
        speech: PromptCache,
        store: TicketStore,
    ) -> Result<AppState, ServerError> {
        let server = &engines.config().server;
        std::fs::create_dir_all(&server.events_dir).map_err(|source| ServerError::EventsDir {
            path: server.events_dir.display().to_string(),
            source,
        })?;
        let prompts = &engines.language().prompts;
        let mut fixed = prompts.fixed_sentences();
        for field in &engines.config().callback.extra_fields {
            let question =
                crate::call::dialog::question(field, prompts).map_err(|e| ServerError::Prompt {
                    text: field.ask.clone(),
                    source: crate::speech::SpeechError::Engine {
                        engine: "prompts",
                        reason: e.to_string(),
                    },
                })?;
            fixed.push(question);
        }
        for text in fixed {
            for rate in [8_000, 16_000] {
                speech
                    .render(&text, rate)
                    .map_err(|source| ServerError::Prompt {
                        text: text.clone(),
                        source,
                    })?;
            }
        }
        // One session per core: calls run their frames on the async threads, at most one per core at a time.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let vad = VadSessions::load(engines.models(), cores)?;
        let dialers = transfer::Dialers::from_config(engines.config())?;
        Ok(Arc::new(Self {
            dialers,
            parked: Mutex::new(HashMap::new()),
            engines,
            vad,
            pool,
            speech,
            store,
            metrics: Metrics::new(),
            calls: Calls::new(),
            handoffs: Mutex::new(HashMap::new()),
        }))
    }
}

/// The HTTP and WebSocket routes.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .merge(crate::providers::routes())
        .merge(crate::support::router(Arc::new(crate::support::Support {
            store: state.store.clone(),
            tokens: state.engines.config().support_tokens.clone(),
            config: Arc::new(state.engines.config().clone()),
        })));
    for &provider in Provider::ALL {
        router = router.route(
            &format!("/{provider}/stream"),
            get(move |ws, state, headers, query| async move {
                stream::upgrade(provider, ws, state, headers, query).await
            }),
        );
    }
    router.with_state(state)
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let draining = state.calls.is_draining();
    let body = serde_json::json!({
        "status": if draining { "draining" } else { "ok" },
        "active_calls": state.calls.active(),
        "asr_queue_depth": state.pool.depth(),
        "asr_workers": state.pool.size(),
    });
    let status = if draining {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, axum::Json(body))
}

async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    state.metrics.asr_queue_depth.set(state.pool.depth() as i64);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

/// Kernel send buffer per connection: about 3 s of Twilio media messages.
const SEND_BUFFER_BYTES: usize = 32 * 1024;

/// Serves until `shutdown` resolves, then drains: refuses new streams, gives calls in progress
/// `drain_seconds` to end, ends the rest, and stops.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let drain = Duration::from_secs(state.engines.config().server.drain_seconds);
    let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let app = router(state.clone());
    // Media frames are small and late ones are useless: no Nagle delay. A modest send buffer bounds the
    // kernel memory a call can hold and makes a peer that stops reading show within seconds.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
        let _ = socket2::SockRef::from(&*tcp).set_send_buffer_size(SEND_BUFFER_BYTES);
    });
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = http_stopped.await;
            })
            .await
    });
    shutdown.await;
    state.calls.draining.store(true, Ordering::SeqCst);
    tracing::info!(
        active_calls = state.calls.active(),
        drain_seconds = drain.as_secs(),
        "shutting down: refusing new calls, letting calls in progress finish"
    );
    if !state.calls.wait_idle(drain).await {
        tracing::warn!(
            active_calls = state.calls.active(),
            "drain deadline reached: ending the calls still in progress"
        );
        let _ = state.calls.stop.send(true);
        state.calls.wait_idle(Duration::from_secs(15)).await;
    }
    let _ = stop_http.send(());
    match server.await {
        Ok(result) => result.map_err(ServerError::Serve),
        Err(e) => Err(ServerError::Serve(std::io::Error::other(e))),
    }
}

/// `+15550123456` -> `+1*******56`: enough to tell calls apart in logs, not enough to call anyone.
pub fn mask_number(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 4 {
        return "*".repeat(chars.len());
    }
    let keep_front = if chars[0] == '+' { 2 } else { 0 };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < keep_front || i >= chars.len() - 2 {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_are_masked_in_logs() {
        assert_eq!(super::mask_number("+15550123456"), "+1********56");
        assert_eq!(super::mask_number("6502"), "****");
        assert_eq!(super::mask_number("0612345678"), "********78");
    }
}
