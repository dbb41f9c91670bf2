//! Replay of a recorded call: the recording is the event source, the call core and the engines are the
//! same as on a live call, and the store files real tickets.
//!
//! The recording is fed in 20 ms pieces as a provider would stream it; call time comes from the audio, so
//! a replay is deterministic in everything but `wall_ms`, which measures our own processing.
//!
//! This module owns the replay loop only; the engines it borrows are [`crate::engines::Engines`], the
//! topics a call listens for are chosen in [`crate::topics::selection`].

use std::path::Path;

use crate::audio::wav::{read_wav, ChannelChoice, WavError};
use crate::call::{Action, Call, CallError, CallSetup, Event, Hearing};
use crate::engines::{Engines, EnginesError};
use crate::events::{CallEvent, Decision, EventLine};
use crate::listen::{ListenError, Listener};
use crate::tickets::store::{StoreError, TicketStore};
use crate::topics::MandatoryTopic;

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{path}: {source}")]
    Recording { path: String, source: WavError },
    #[error(transparent)]
    Listen(#[from] ListenError),
    #[error(transparent)]
    Call(#[from] CallError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Engines(#[from] EnginesError),
}

/// Per-replay choices.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    pub channel: ChannelChoice,
    /// The caller's number, if known (it appears in summaries and tickets).
    pub caller: Option<String>,
    /// Defaults to `replay-<file stem>`.
    pub call_id: Option<String>,
    /// When the call took place (default: now): business hours and "tomorrow" are read from it, so a
    /// replay decides as the live agent would have at that moment.
    pub at: Option<chrono::DateTime<chrono::Utc>>,
}

/// What a replay ended with.
#[derive(Debug, Clone, Default)]
pub struct ReplayOutcome {
    pub lines: Vec<EventLine>,
    pub duration_ms: u64,
    /// Call time the agent listened to (less than `duration_ms` when the call was transferred early).
    pub heard_ms: u64,
    pub tickets: Vec<i64>,
}

impl ReplayOutcome {
    /// The decisions other than `continue`.
    pub fn decisions(&self) -> Vec<(Decision, Option<String>)> {
        self.lines
            .iter()
            .filter_map(|l| match &l.event {
                CallEvent::Decision {
                    decision, topic, ..
                } if *decision != Decision::Continue => Some((*decision, topic.clone())),
                _ => None,
            })
            .collect()
    }
}

/// Replays one recording with `engines`; every log line is also handed to `sink` as it happens.
pub async fn replay(
    engines: &Engines,
    wav: &Path,
    options: &ReplayOptions,
    store: &TicketStore,
    sink: &mut dyn FnMut(&EventLine),
) -> Result<ReplayOutcome, ReplayError> {
    let recording = read_wav(wav).map_err(|source| ReplayError::Recording {
        path: wav.display().to_string(),
        source,
    })?;
    let audio =
        recording
            .caller_audio(options.channel)
            .map_err(|source| ReplayError::Recording {
                path: wav.display().to_string(),
                source,
            })?;
    let call_id = options.call_id.clone().unwrap_or_else(|| {
        format!(
            "replay-{}",
            wav.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        )
    });
    let topics: Vec<MandatoryTopic> = engines.index().topics().cloned().collect();
    let mut listener = engines.listener(recording.sample_rate, Box::new(engines.matcher()))?;
    let mut call = Call::new(CallSetup::for_agent(
        call_id,
        options.caller.clone(),
        engines.config(),
        engines.language(),
        topics,
        Hearing::Recording,
        options.at.unwrap_or_else(chrono::Utc::now),
    ));

    let mut outcome = ReplayOutcome {
        duration_ms: recording.duration_ms(),
        ..Default::default()
    };
    let piece = (recording.sample_rate as usize / 50).max(1);
    let mut events = Vec::new();
    for chunk in audio.chunks(piece) {
        listener.push(chunk, &mut events)?;
        drive(&mut call, &listener, &mut events, store, &mut outcome, sink).await?;
        if call.is_finished() {
            break;
        }
    }
    if !call.is_finished() {
        listener.finish(&mut events)?;
        drive(&mut call, &listener, &mut events, store, &mut outcome, sink).await?;
    }
    outcome.heard_ms = listener.heard_ms().min(outcome.duration_ms);
    if !call.is_finished() {
        events.push(Event::HungUp {
            t_ms: outcome.duration_ms.max(listener.heard_ms()),
        });
        drive(&mut call, &listener, &mut events, store, &mut outcome, sink).await?;
    }
    Ok(outcome)
}

/// Feeds events to the call and carries out its actions until both run dry.
async fn drive(
    call: &mut Call,
    listener: &Listener,
    events: &mut Vec<Event>,
    store: &TicketStore,
    outcome: &mut ReplayOutcome,
    sink: &mut dyn FnMut(&EventLine),
) -> Result<(), ReplayError> {
    for event in events.drain(..) {
        call.handle(event)?;
        while let Some(action) = call.poll_action() {
            match action {
                Action::Log(mut line) => {
                    if line.wants_wall_time() {
                        line.wall_ms = listener
                            .last_end_detected()
                            .map(|t| t.elapsed().as_millis() as u64);
                    }
                    sink(&line);
                    outcome.lines.push(line);
                }
                Action::FileTicket(draft) => {
                    let id = store.file(&draft).await?;
                    outcome.tickets.push(id);
                    call.handle(Event::TicketFiled {
                        t_ms: listener.heard_ms(),
                        id,
                    })?;
                }
                // A recording cannot be spoken to or transferred: the log lines say what would happen.
                Action::Say { .. }
                | Action::Transfer { .. }
                | Action::StopSpeaking
                | Action::HangUp => {}
            }
        }
    }
    Ok(())
}
