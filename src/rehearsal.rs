//! A whole live call in simulated time, without sockets: a scripted caller talks to the agent through the
//! same ears, recogniser, matcher and call core as a real call, over a telephone line (8 kHz mu-law).
//!
//! The caller behaves like a person on the phone: each turn waits until the agent has said something and
//! finished saying it, then 0.8 s more, before speaking (or pressing keys, or staying silent). The agent's
//! sentences take as long as the speech engine's rendering of them lasts; recognising an utterance takes no
//! simulated time. Talking over the agent stops it, exactly as live. So the dialog is exercised end to end,
//! deterministic and faster than real time, and the tickets land in a real store.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::audio::g711::Law;
use crate::audio::resample::resample;
use crate::call::{Action, Call, CallError, CallSetup, Event, Hearing};
use crate::engines::{Engines, EnginesError};
use crate::events::EventLine;
use crate::listen::ListenError;
use crate::speech::{PromptCache, SpeechError, SpeechSynth};
use crate::tickets::store::{StoreError, TicketStore};

/// Telephone audio: 8 kHz, 20 ms frames.
const RATE: u32 = 8_000;
const FRAME_MS: u64 = 20;
const FRAME: usize = (RATE as u64 * FRAME_MS / 1000) as usize;
/// How long the caller waits after the agent stops before taking its turn.
const TURN_GAP_MS: u64 = 800;
/// Spacing of key presses.
const KEY_GAP_MS: u64 = 250;
/// How long the caller waits for the agent to say anything before giving up on the script.
const PATIENCE_MS: u64 = 30_000;

/// One turn of the scripted caller.
#[derive(Debug, Clone, PartialEq)]
pub enum Turn {
    /// Says these words (rendered by the caller's voice).
    Say(String),
    /// Presses these keys.
    Keys(String),
    /// Says nothing for this long.
    Silent(u64),
    /// Hangs up.
    HangUp,
}

#[derive(Debug, thiserror::Error)]
pub enum RehearsalError {
    #[error(transparent)]
    Engines(#[from] EnginesError),
    #[error(transparent)]
    Listen(#[from] ListenError),
    #[error(transparent)]
    Call(#[from] CallError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot render speech: {0}")]
    Speech(#[from] SpeechError),
    #[error("the agent said nothing for {0} ms while the caller waited for its turn")]
    AgentSilent(u64),
}

/// What happened.
#[derive(Debug, Clone, Default)]
pub struct Rehearsal {
    /// The call's event log (the replay contract, plus `played`, `barge_in`, ...).
    pub lines: Vec<EventLine>,
    /// Everything the agent said, in order.
    pub said: Vec<String>,
    pub tickets: Vec<i64>,
    /// The agent ended the call itself (after its goodbye).
    pub agent_hung_up: bool,
    pub duration_ms: u64,
}

/// A prompt being played to the caller.
struct Playing {
    duration_ms: u64,
    played_ms: u64,
}

/// Runs one call: the caller opens with `turns[0]` after the greeting, and so on.
pub async fn rehearse(
    engines: &Engines,
    agent_voice: &PromptCache,
    caller_voice: &dyn SpeechSynth,
    turns: &[Turn],
    store: &TicketStore,
    started_at: chrono::DateTime<chrono::Utc>,
) -> Result<Rehearsal, RehearsalError> {
    let topics = engines.index().topics().cloned().collect();
    let mut call = Call::new(CallSetup::for_agent(
        "rehearsal".into(),
        Some("+15550188888".into()),
        engines.config(),
        engines.language(),
        topics,
        Hearing::Live,
        started_at,
    ));
    let mut listener = engines.listener(RATE, Box::new(engines.matcher()))?;
    let mut out = Rehearsal::default();
    let mut playing: VecDeque<Playing> = VecDeque::new();
    let mut script: VecDeque<Turn> = turns.iter().cloned().collect();
    let mut voice: VecDeque<f32> = VecDeque::new();
    let mut keys: VecDeque<(u64, char)> = VecDeque::new();
    let mut silent_until = 0u64;
    let mut spoke_since_turn = false;
    let mut agent_done_at = 0u64;
    let mut waiting_since = 0u64;
    let mut caller_gone = false;
    let mut events = vec![Event::Answered { t_ms: 0 }];
    let mut t = 0u64;
    loop {
        // The core's side of this moment.
        for event in events.drain(..) {
            call.handle(event)?;
            while let Some(action) = call.poll_action() {
                match action {
                    Action::Log(line) => out.lines.push(line),
                    Action::Say { text } => {
                        let samples = agent_voice.render(&text, RATE)?;
                        playing.push_back(Playing {
                            duration_ms: samples.len() as u64 * 1000 / u64::from(RATE),
                            played_ms: 0,
                        });
                        out.said.push(text);
                        spoke_since_turn = true;
                    }
                    Action::StopSpeaking => {
                        let heard_ms = playing.front().map(|p| p.played_ms);
                        let dropped = playing.len().saturating_sub(1);
                        playing.clear();
                        call.handle(Event::PromptsCut {
                            t_ms: t,
                            heard_ms,
                            dropped,
                        })?;
                    }
                    Action::FileTicket(draft) => {
                        let id = store.file(&draft).await?;
                        out.tickets.push(id);
                        call.handle(Event::TicketFiled { t_ms: t, id })?;
                    }
                    Action::HangUp => out.agent_hung_up = true,
                    Action::Transfer { .. } => {}
                }
            }
        }
        let agent_quiet = playing.is_empty();
        if caller_gone || (agent_quiet && (out.agent_hung_up || call.is_finished())) {
            break;
        }
        // The caller's side: take the next turn once the agent has spoken and finished.
        let caller_idle = voice.is_empty() && keys.is_empty() && t >= silent_until;
        if caller_idle && agent_quiet && spoke_since_turn && t >= agent_done_at + TURN_GAP_MS {
            match script.pop_front() {
                Some(Turn::Say(words)) => {
                    let speech = caller_voice.synthesize(&words)?;
                    let line =
                        resample(speech.rate, RATE, &speech.samples).map_err(SpeechError::from)?;
                    // Through the phone network's mu-law and back.
                    let mut codes = Vec::with_capacity(line.len());
                    Law::MuLaw.encode_into(&line, &mut codes);
                    let mut heard = Vec::with_capacity(codes.len());
                    Law::MuLaw.decode_into(&codes, &mut heard);
                    voice.extend(heard);
                }
                Some(Turn::Keys(digits)) => {
                    keys.extend(
                        digits
                            .chars()
                            .enumerate()
                            .map(|(i, d)| (t + i as u64 * KEY_GAP_MS, d)),
                    );
                }
                Some(Turn::Silent(ms)) => silent_until = t + ms,
                Some(Turn::HangUp) => {
                    // Carried out by the drain above on the next pass, which then ends the call.
                    events.push(Event::HungUp { t_ms: t });
                    caller_gone = true;
                    continue;
                }
                None => {}
            }
            spoke_since_turn = false;
            waiting_since = t;
        } else if !spoke_since_turn && t > waiting_since + PATIENCE_MS {
            return Err(RehearsalError::AgentSilent(PATIENCE_MS));
        }
        // One frame passes.
        t += FRAME_MS;
        for p in playing.iter_mut().take(1) {
            p.played_ms += FRAME_MS;
        }
        if playing
            .front()
            .is_some_and(|p| p.played_ms >= p.duration_ms)
        {
            playing.pop_front();
            events.push(Event::PromptPlayed { t_ms: t });
            if playing.is_empty() {
                agent_done_at = t;
            }
        }
        while keys.front().is_some_and(|(due, _)| *due <= t) {
            if let Some((_, digit)) = keys.pop_front() {
                events.push(Event::Dtmf { t_ms: t, digit });
            }
        }
        let frame: Vec<f32> = (0..FRAME)
            .map(|_| voice.pop_front().unwrap_or(0.0))
            .collect();
        listener.push(&frame, &mut events)?;
        events.push(Event::Tick { t_ms: t });
    }
    out.duration_ms = t;
    Ok(out)
}

/// The scripted caller's voice: espeak-ng (the agent speaks with its own engine).
pub fn caller_voice(espeak_voice: &str) -> Arc<dyn SpeechSynth> {
    Arc::new(crate::speech::espeak::Espeak::new(espeak_voice))
}
