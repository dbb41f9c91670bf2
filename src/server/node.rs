//! Starting one node: everything a process wires up before it can take calls or serve staff, in the order
//! that keeps the promise "nothing lost".
//!
//! The ticket store opens first, with its notification outbox worker when `[routing]` is set, so tickets
//! filed from the first call on are delivered. Transfers the last run left pending or ringing are marked
//! on their tickets (nobody can follow them any more: the caller needs a call back). Then the engines load
//! (whisper on its recognition pool, the embedder and topic index), the speech engine and its prompt cache,
//! and the server state is assembled around them. A Support-only node ([`open_store`]) needs just the store
//! and its outbox worker.
//!
//! This module wires; it must not print or parse anything: what the operator should hear about while a
//! node starts is handed to the caller as a [`StartNotice`], and binding the listener is the caller's.

use crate::config::AgentConfig;
use crate::engines::{Engines, EnginesError};
use crate::models::ModelDir;
use crate::notify::{DeliveryError, Notifier};
use crate::recognition::RecognitionPool;
use crate::speech::{PromptCache, SpeechError};
use crate::tickets::database::Database;
use crate::tickets::store::{StoreError, TicketStore};

use super::{AppState, ServerError, Shared};

/// The note written on tickets whose transfer was still pending or ringing when the last run stopped.
const INTERRUPTED_TRANSFER: &str =
    "The server stopped before this transfer's outcome was known; call the caller back.";

/// Why a node could not start. Each cause reads as it did on its own, so the messages stay those of the
/// part that failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Notifications(#[from] DeliveryError),
    #[error(transparent)]
    Engines(#[from] EnginesError),
    #[error(transparent)]
    Recognition(#[from] crate::asr::AsrError),
    #[error(transparent)]
    Speech(#[from] SpeechError),
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error(transparent)]
    Loading(#[from] tokio::task::JoinError),
}

/// What the operator should know while a node starts, in the order it happens.
#[derive(Debug, Clone, PartialEq)]
pub enum StartNotice {
    /// The configured speech engine cannot be used as asked; why, and what is used instead.
    SpeechFallback(String),
    /// The speech engine the agent speaks with.
    Speech(&'static str),
    /// Tickets whose transfer the last shutdown interrupted (each now carries a note to call back).
    InterruptedTransfers(Vec<i64>),
}

/// The notification outbox worker of this process, while it runs.
pub struct NotificationWorker {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl NotificationWorker {
    /// Lets the round in progress finish; what is left waits in the outbox for the next start.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// A node ready to serve calls: the server state, and the worker delivering its tickets' notifications.
pub struct Node {
    pub state: AppState,
    pub notifications: NotificationWorker,
}

/// Opens the ticket store; with `[routing]`, every ticket filed queues its notifications and a worker
/// delivers them. Enough for a Support-only node.
pub async fn open_store(
    config: &AgentConfig,
    db: &Database,
) -> Result<(TicketStore, NotificationWorker), NodeError> {
    let store = TicketStore::open(db).await?;
    let Some(notifications) = &config.routing else {
        return Ok((
            store,
            NotificationWorker {
                stop: None,
                task: None,
            },
        ));
    };
    let store = store.with_routing(notifications.routing.clone());
    let notifier = Notifier::new(
        store.clone(),
        crate::notify::node_name(),
        notifications.smtp.as_ref(),
        notifications.webhook_secret.clone(),
    )?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(notifier.run(async {
        let _ = stopped.await;
    }));
    Ok((
        store,
        NotificationWorker {
            stop: Some(stop),
            task: Some(task),
        },
    ))
}

/// Starts a call-serving node under `config` with the ticket store at `db`: store and notifications,
/// engines and recognition pool (loaded off the async threads), speech, interrupted transfers marked,
/// server state built. `notice` hears what the operator should know, as it happens.
pub async fn start_node(
    config: AgentConfig,
    models: ModelDir,
    db: &Database,
    notice: &mut (dyn FnMut(StartNotice) + Send),
) -> Result<Node, NodeError> {
    let (store, notifications) = open_store(&config, db).await?;
    let asr = config.asr;
    let (engines, pool) = tokio::task::spawn_blocking(move || -> Result<_, NodeError> {
        let engines = Engines::new(config, models)?;
        let pool = RecognitionPool::start(
            engines.whisper(),
            asr.effective_workers(),
            asr.pool_threads(),
        )?;
        Ok((engines, pool))
    })
    .await??;
    let voice = engines.language().prompts.voice.espeak.clone();
    let (synth, note) = crate::speech::engine(&engines.config().speech, &voice, engines.models())?;
    if let Some(note) = note {
        notice(StartNotice::SpeechFallback(note));
    }
    notice(StartNotice::Speech(synth.name()));
    let speech = PromptCache::new(synth);
    // Transfers that were pending or ringing when the server last stopped can no longer be followed.
    let interrupted = store
        .interrupt_unfinished_transfers(INTERRUPTED_TRANSFER)
        .await?;
    if !interrupted.is_empty() {
        notice(StartNotice::InterruptedTransfers(interrupted));
    }
    let state = Shared::new(engines, pool, speech, store)?;
    Ok(Node {
        state,
        notifications,
    })
}
