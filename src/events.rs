//! The call event log: one JSON object per line, the contract shared by `replay --json` and the live server.
//!
//! Every line has `t_ms` (call time) and `type`; `transcript` and `decision` lines also carry `wall_ms`, the
//! processing time on the wall clock from the end of the speech segment to that line.

use serde::{Deserialize, Serialize};

use crate::tickets::TicketKind;
use crate::topics::TopicKind;

/// What the agent decided after an utterance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Continue,
    Escalate,
    Flag,
}

/// One thing that happened on a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallEvent {
    SpeechStart,
    SpeechEnd,
    Transcript {
        text: String,
        start_ms: u64,
        end_ms: u64,
        #[serde(rename = "final")]
        is_final: bool,
    },
    Topic {
        topic: String,
        kind: TopicKind,
        score: f32,
        evidence: String,
        #[serde(default)]
        matched: Vec<String>,
    },
    Decision {
        decision: Decision,
        reason: String,
        topic: Option<String>,
    },
    Say {
        text: String,
    },
    Transfer {
        to: String,
        /// Tried in order when nobody answers at `to`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        fallbacks: Vec<String>,
        summary: Option<String>,
    },
    /// The provider was asked to ring `to` (live calls; `attempt` counts from 1). `wall_ms`: time since the
    /// decision to escalate.
    Dial {
        to: String,
        attempt: u32,
        provider: String,
        /// From the end of the announcement to this request (our own overhead: the LLM summary's wait,
        /// the attempt's row), for the first attempt.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after_prompt_ms: Option<u64>,
    },
    /// How the transfer ended: `bridged`, or why nobody took it (busy, no-answer, failed, canceled,
    /// unavailable: ...); a failed one goes back to the agent.
    TransferOutcome {
        outcome: String,
    },
    Ticket {
        id: i64,
        kind: TicketKind,
    },
    /// A prompt was heard in full by the caller (live calls).
    Played {
        text: String,
    },
    /// A prompt could not be spoken (the speech engine failed); the caller heard nothing of it.
    SayFailed {
        text: String,
        reason: String,
    },
    /// The caller talked over the agent: `text` was cut after `heard_ms`, `dropped` were never played.
    BargeIn {
        text: Option<String>,
        heard_ms: Option<u64>,
        dropped: Vec<String>,
    },
    Hangup,
    /// The caller pressed a key.
    Dtmf {
        digit: char,
    },
    /// The agent ends the call (after the callback promise and goodbye have played).
    AgentHangup,
    /// A partial look at the utterance that began at `start_ms` was dropped: the recognisers were all busy
    /// (live calls only; a replay, which cannot know, tries every partial).
    PartialDropped {
        start_ms: u64,
    },
    /// The utterance that began at `start_ms` could not be recognised.
    RecognitionFailed {
        start_ms: u64,
        reason: String,
    },
    /// The live media stream closed (`reason` as in the `switchboard_calls_total` metric).
    StreamEnd {
        reason: String,
        detail: String,
    },
}

/// A line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventLine {
    pub t_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_ms: Option<u64>,
    #[serde(flatten)]
    pub event: CallEvent,
}

impl EventLine {
    pub fn new(t_ms: u64, event: CallEvent) -> Self {
        Self {
            t_ms,
            wall_ms: None,
            event,
        }
    }

    /// True for the lines that carry processing time.
    pub fn wants_wall_time(&self) -> bool {
        matches!(
            self.event,
            CallEvent::Transcript { .. } | CallEvent::Decision { .. }
        )
    }

    /// With `wall_ms` set.
    pub fn with_wall(mut self, wall_ms: u64) -> Self {
        self.wall_ms = Some(wall_ms);
        self
    }

    /// The human-readable timeline form.
    pub fn human(&self) -> String {
        let t = format!(
            "{:>3}:{:02}.{:03}",
            self.t_ms / 60_000,
            self.t_ms / 1000 % 60,
            self.t_ms % 1000
        );
        let wall = self
            .wall_ms
            .map(|w| format!("  (+{w} ms)"))
            .unwrap_or_default();
        let body = match &self.event {
            CallEvent::SpeechStart => "caller starts speaking".to_string(),
            CallEvent::SpeechEnd => "caller stops speaking".to_string(),
            CallEvent::Transcript { text, .. } => format!("heard     \"{text}\""),
            CallEvent::Topic {
                topic,
                kind,
                score,
                matched,
                ..
            } => format!(
                "topic     {topic} ({} topic, score {score:.2}; matched: {})",
                kind.as_str(),
                matched.join(", ")
            ),
            CallEvent::Decision {
                decision, reason, ..
            } => format!("decision  {} - {reason}", decision_word(*decision)),
            CallEvent::Say { text } => format!("agent says \"{text}\""),
            CallEvent::Transfer {
                to,
                fallbacks,
                summary,
            } => {
                let then = if fallbacks.is_empty() {
                    String::new()
                } else {
                    format!(" (then {})", fallbacks.join(", "))
                };
                match summary {
                    Some(s) => {
                        format!("transfer  to {to}{then}; summary for whoever answers: \"{s}\"")
                    }
                    None => format!("transfer  to {to}{then}"),
                }
            }
            CallEvent::Dial {
                to,
                attempt,
                provider,
                ..
            } => format!("dial      {to} through {provider} (attempt {attempt})"),
            CallEvent::TransferOutcome { outcome } => format!("transfer  outcome: {outcome}"),
            CallEvent::Ticket { id, kind } => format!("ticket    #{id} filed ({})", kind.as_str()),
            CallEvent::Played { text } => format!("played    \"{text}\""),
            CallEvent::SayFailed { text, reason } => {
                format!("say failed \"{text}\" ({reason})")
            }
            CallEvent::BargeIn {
                text,
                heard_ms,
                dropped,
            } => match (text, heard_ms) {
                (Some(t), Some(ms)) => format!(
                    "barge-in  caller cut \"{t}\" after {ms} ms; {} queued prompt(s) dropped",
                    dropped.len()
                ),
                _ => format!(
                    "barge-in  caller spoke first; {} queued prompt(s) dropped",
                    dropped.len()
                ),
            },
            CallEvent::Hangup => "hang-up".to_string(),
            CallEvent::Dtmf { digit } => format!("keypad    {digit}"),
            CallEvent::AgentHangup => "agent ends the call".to_string(),
            CallEvent::PartialDropped { start_ms } => {
                format!("partial   dropped for the utterance from {start_ms} ms (recognisers busy)")
            }
            CallEvent::RecognitionFailed { start_ms, reason } => {
                format!("heard     nothing: the utterance from {start_ms} ms failed ({reason})")
            }
            CallEvent::StreamEnd { reason, detail } => {
                format!("stream    ended: {reason} ({detail})")
            }
        };
        format!("{t}  {body}{wall}")
    }
}

fn decision_word(d: Decision) -> &'static str {
    match d {
        Decision::Continue => "CONTINUE",
        Decision::Escalate => "ESCALATE",
        Decision::Flag => "FLAG",
    }
}
