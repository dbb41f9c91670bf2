//! Escalations that land: carrying out the core's [`Action::Transfer`] through the provider's call control,
//! following its outcome, and bringing the caller back to the agent when nobody takes the call.
//!
//! The order is what makes it lose nothing: the escalation ticket is written by the core before the
//! transfer is released; here it is marked `pending` at once, so a server that dies during the
//! announcement leaves a ticket a restart marks `interrupted`. Each target rung is an attempt row written
//! *before* the provider is asked. On Twilio, the call is redirected to `<Dial action=...>` (through the
//! REST API when `[providers.twilio] account_sid` is set, else through the `<Connect action>` TwiML the
//! call was answered with); the call's state machine is parked here until Twilio reports `DialCallStatus`.
//! A failed dial rings the next target, and after the last one the caller is reconnected to a new stream,
//! where the same parked call goes on: the agent says so and runs the callback dialog.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::calllog::CallLog;
use super::{mask_number, AppState};
use crate::call::{Action, Call, Event};
use crate::config::{AgentConfig, SummarySettings};
use crate::events::{CallEvent, EventLine};
use crate::providers::{CallControl, ControlError, Dial, Patience, Provider};
use crate::summary_llm::LlmSummarizer;

pub use crate::providers::Dialed;

/// How hard the provider is asked before the caller is told nobody can take the call: about 8 s at worst.
const DIAL_PATIENCE: Patience = Patience {
    attempts: 3,
    backoff: Duration::from_millis(250),
    timeout: Duration::from_millis(2_500),
};

/// A parked call whose provider never reports back is dropped after this; its attempt is recorded
/// `no-report` (the ticket `failed`), so staff see it.
pub const PARK_LIMIT: Duration = Duration::from_secs(4 * 3600);

/// The call control the config sets up, per provider, and how transfers are dialed.
pub struct Dialers {
    /// A provider missing here has no call control of ours: its transfers are handed over when the
    /// stream closes.
    pub controls: BTreeMap<Provider, Box<dyn CallControl>>,
    pub summarizer: Option<Arc<LlmSummarizer>>,
    /// The caller id the targets see: the agent's number.
    pub caller_id: String,
    pub ring_seconds: u32,
    pub ring: crate::config::RingOrder,
}

#[derive(Debug, thiserror::Error)]
pub enum DialerError {
    #[error("[providers.{provider}]: {source}")]
    Provider {
        provider: Provider,
        source: ControlError,
    },
    #[error("[summary]: {0}")]
    Summary(#[from] crate::summary_llm::SummaryError),
}

impl Dialers {
    pub fn from_config(config: &AgentConfig) -> Result<Self, DialerError> {
        let mut controls = BTreeMap::new();
        for &provider in Provider::ALL {
            let control = provider
                .call_control(config, DIAL_PATIENCE)
                .map_err(|source| DialerError::Provider { provider, source })?;
            if let Some(control) = control {
                controls.insert(provider, control);
            }
        }
        let summarizer = match &config.summary {
            SummarySettings::Template => None,
            SummarySettings::Llm(s) => Some(Arc::new(LlmSummarizer::new(s.clone())?)),
        };
        Ok(Self {
            controls,
            summarizer,
            caller_id: config.agent.phone_number.clone(),
            ring_seconds: config.escalation.ring_seconds,
            ring: config.escalation.ring,
        })
    }

    /// `provider`'s call control, when the config sets one up.
    pub fn control(&self, provider: Provider) -> Option<&dyn CallControl> {
        self.controls.get(&provider).map(|c| c.as_ref())
    }
}

/// A transfer the core asked for on a live stream, until it is dialed.
pub struct PendingTransfer {
    pub targets: VecDeque<String>,
    pub summary: Option<String>,
    pub ticket: Option<i64>,
    pub decided_at: Instant,
    /// The LLM summary, being written while the announcement plays.
    pub llm: Option<tokio::task::JoinHandle<Option<String>>>,
    /// Attempts made so far.
    pub attempt: u32,
    /// The targets the last attempt rings.
    pub ringing: Vec<String>,
    /// The provider accepted the dial: the call is the provider's until it reports the outcome.
    pub dialed: bool,
}

/// A call handed to the provider, waiting for the outcome of its transfer.
pub struct Parked {
    pub call: Call,
    pub provider: Provider,
    pub ticket: Option<i64>,
    /// The targets being rung (more than one when they ring all at once).
    pub current: Vec<String>,
    /// Those to ring after it, in order.
    pub targets: VecDeque<String>,
    pub summary: Option<String>,
    pub attempt: u32,
    pub attempt_id: Option<i64>,
    /// Call time when the stream closed, and when that was on the wall clock.
    pub t_ms: u64,
    pub parked_at: Instant,
    /// Set when nobody took the call: the next stream of this call resumes it with this outcome.
    pub resume: Option<String>,
    /// When the person answered (Telnyx reports the bridge and the hang-up separately).
    pub bridged_at: Option<Instant>,
    /// The last attempt whose failure was reported and answered (a repeated report is answered alike).
    pub answered: Option<u32>,
}

impl Parked {
    /// The call time now.
    pub fn now_ms(&self) -> u64 {
        self.t_ms + self.parked_at.elapsed().as_millis() as u64
    }
}

/// Writes one line to a call's event file (parked calls have no session to do it).
pub fn log_line(state: &AppState, call_id: &str, line: &EventLine) {
    CallLog::open(&state.engines.config().server.events_dir, call_id).write(line);
}

/// One target about to be rung.
pub struct Ring<'a> {
    pub call_id: &'a str,
    pub provider: Provider,
    pub ticket: Option<i64>,
    /// Counts from 1 across the call's targets.
    pub attempt: u32,
    pub to: &'a str,
    pub t_ms: u64,
    /// When the escalation was decided (the first attempt's latency is measured from it).
    pub since: Option<Instant>,
    /// When the announcement had played.
    pub ready: Option<Instant>,
}

/// Starts an attempt: the row is written before the provider is asked, and the dial is logged with the
/// time since the decision.
pub async fn begin_attempt(state: &AppState, ring: Ring<'_>) -> Option<i64> {
    let Ring {
        call_id,
        provider,
        ticket,
        attempt,
        to,
        t_ms,
        since,
        ready,
    } = ring;
    let id = match ticket {
        Some(t) => match state
            .store
            .attempt_started(t, attempt, to, provider.as_str())
            .await
        {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::error!(call_id, error = %e, "cannot record the transfer attempt");
                None
            }
        },
        None => None,
    };
    let mut line = EventLine::new(
        t_ms,
        CallEvent::Dial {
            to: to.to_string(),
            attempt,
            provider: provider.to_string(),
            after_prompt_ms: ready.map(|r| r.elapsed().as_millis() as u64),
        },
    );
    if let Some(since) = since {
        line = line.with_wall(since.elapsed().as_millis() as u64);
        state
            .metrics
            .dial_latency
            .observe(since.elapsed().as_secs_f64());
    }
    log_line(state, call_id, &line);
    tracing::info!(call_id, provider = %provider, attempt, to = %mask_number(to), "dialing the transfer");
    id
}

/// Records how an attempt ended.
pub async fn end_attempt(
    state: &AppState,
    attempt_id: Option<i64>,
    outcome: &str,
    detail: Option<&str>,
    talk_seconds: Option<i64>,
) {
    state
        .metrics
        .transfers
        .get_or_create(&super::metrics::OutcomeLabels {
            outcome: outcome.to_string(),
        })
        .inc();
    let Some(id) = attempt_id else { return };
    if let Err(e) = state
        .store
        .attempt_ended(id, outcome, detail, talk_seconds)
        .await
    {
        tracing::error!(attempt = id, error = %e, "cannot record the transfer outcome");
    }
}

/// Waits for the LLM summary (within its budget); stores it on the ticket when there is one.
pub async fn settle_summary(state: &AppState, pending: &mut PendingTransfer, call_id: &str) {
    let Some(task) = pending.llm.take() else {
        return;
    };
    let budget = state
        .dialers
        .summarizer
        .as_ref()
        .map_or(Duration::ZERO, |s| s.budget());
    let written = tokio::time::timeout(budget, task).await;
    let Ok(Ok(Some(summary))) = written else {
        tracing::warn!(
            call_id,
            "the LLM summary did not come in time; the template's stands"
        );
        return;
    };
    if let Some(ticket) = pending.ticket {
        if let Err(e) = state.store.set_summary(ticket, &summary).await {
            tracing::error!(call_id, error = %e, "cannot store the LLM summary");
        }
    }
    if pending.summary.is_some() {
        pending.summary = Some(summary);
    }
}

/// Starts the LLM summary of `ticket` in the background.
pub fn start_summary(
    state: &AppState,
    ticket: Option<i64>,
) -> Option<tokio::task::JoinHandle<Option<String>>> {
    let summarizer = state.dialers.summarizer.clone()?;
    let ticket = ticket?;
    let store = state.store.clone();
    Some(tokio::spawn(async move {
        let started = Instant::now();
        let ticket = store.get(ticket).await.ok()?;
        match summarizer.summarize(&ticket).await {
            Ok(s) => {
                tracing::info!(
                    ms = started.elapsed().as_millis() as u64,
                    "LLM summary written"
                );
                Some(s)
            }
            Err(e) => {
                tracing::warn!(error = %e, "LLM summary failed; the template's stands");
                None
            }
        }
    }))
}

/// A capability for the whisper URLs of providers that cannot sign their requests to us: unguessable, one
/// per transfer.
pub fn whisper_key() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut key = String::new();
    for _ in 0..2 {
        // Each RandomState is seeded from the operating system's randomness.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(Instant::now().elapsed().as_nanos());
        key.push_str(&format!("{:016x}", h.finish()));
    }
    key
}

/// The key of `call`'s whisper, if its transfer has one.
pub fn handoff_key(state: &AppState, call: &str) -> Option<String> {
    state
        .handoffs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(call)
        .map(|h| h.key.clone())
}

/// Asks the provider to ring `to` for a call still on its stream.
pub async fn dial_live(
    state: &AppState,
    provider: Provider,
    call_id: &str,
    group: &[String],
    whisper: bool,
    attempt: u32,
) -> Result<Dialed, ControlError> {
    let base = state.engines.config().server.public_url.clone();
    let key = handoff_key(state, call_id).unwrap_or_default();
    let Some(control) = state.dialers.control(provider) else {
        return Ok(Dialed::HandedOver);
    };
    let dial = Dial {
        call_id,
        group,
        public_url: base.as_deref(),
        key: &key,
        whisper,
        attempt,
        caller_id: &state.dialers.caller_id,
        ring_seconds: state.dialers.ring_seconds,
    };
    control.transfer(&dial).await
}

/// Runs a parked call's core on `event` with nobody on the line: only tickets and log lines matter.
pub async fn run_offline(
    state: &AppState,
    call_id: &str,
    call: &mut Call,
    event: Event,
    t_ms: u64,
) {
    let mut next = Some(event);
    while let Some(event) = next.take() {
        if let Err(e) = call.handle(event) {
            tracing::error!(call_id, error = %e, "the parked call failed");
            return;
        }
        while let Some(action) = call.poll_action() {
            match action {
                Action::Log(line) => log_line(state, call_id, &line),
                Action::FileTicket(draft) => match state.store.file(&draft).await {
                    Ok(id) => {
                        state.metrics.tickets_filed.inc();
                        next = Some(Event::TicketFiled { t_ms, id });
                    }
                    Err(e) => {
                        state.metrics.ticket_errors.inc();
                        tracing::error!(call_id, error = %e, "ticket could not be written");
                    }
                },
                _ => {}
            }
        }
    }
}

/// A parked call's transfer is over (bridged, or the caller is gone): its core hears `event` with nobody
/// on the line, and the whisper is forgotten.
pub async fn conclude(state: &AppState, call: &str, parked: &mut Parked, event: Event) {
    let t_ms = parked.now_ms();
    run_offline(state, call, &mut parked.call, event, t_ms).await;
    forget_handoff(state, call);
}

/// The next target of a parked call, its attempt begun (`None` when none is left).
pub async fn ring_next(
    state: &AppState,
    call: &str,
    provider: Provider,
    parked: &mut Parked,
) -> Option<String> {
    let next = parked.targets.pop_front()?;
    parked.attempt += 1;
    parked.attempt_id = begin_attempt(
        state,
        Ring {
            call_id: call,
            provider,
            ticket: parked.ticket,
            attempt: parked.attempt,
            to: &next,
            t_ms: parked.now_ms(),
            since: None,
            ready: None,
        },
    )
    .await;
    parked.current = vec![next.clone()];
    Some(next)
}

/// Nobody took the call: the next stream of `call` resumes it with `outcome`.
pub fn await_return(state: &AppState, call: &str, mut parked: Parked, outcome: &str) {
    forget_handoff(state, call);
    parked.resume = Some(outcome.to_string());
    parked.current.clear();
    park(state, call, parked);
}

/// Keeps `parked` until the provider reports on `call` again.
pub fn park(state: &AppState, call: &str, parked: Parked) {
    state
        .parked
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(call.to_string(), parked);
}

/// Takes `call` out of the parked calls.
pub fn unpark(state: &AppState, call: &str) -> Option<Parked> {
    state
        .parked
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(call)
}

fn forget_handoff(state: &AppState, call: &str) {
    state
        .handoffs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(call);
}

/// Drops parked calls and whispers older than [`PARK_LIMIT`] (their provider never reported back, or
/// reports nothing).
pub fn sweep(state: &AppState) {
    state
        .handoffs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .retain(|_, h| h.since.elapsed() < PARK_LIMIT);
    let mut unreported = Vec::new();
    state
        .parked
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .retain(|call, p| {
            let keep = p.parked_at.elapsed() < PARK_LIMIT;
            if !keep {
                tracing::warn!(call, "no transfer outcome came; forgetting the parked call");
                unreported.push(p.attempt_id);
            }
            keep
        });
    if unreported.is_empty() {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        for attempt in unreported {
            end_attempt(&state, attempt, "no-report", None, None).await;
        }
    });
}
