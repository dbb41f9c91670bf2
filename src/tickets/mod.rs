//! Tickets: what staff see in the Support section. Domain types here; the store (SQLite or PostgreSQL) in
//! `store`.

pub mod database;
pub mod outbox;
pub mod query;
pub mod report;
pub mod status;
pub mod store;
pub mod triage;

pub use triage::{Category, Priority, TopicEvidence, Triage};

use serde::{Deserialize, Serialize};

/// Why a ticket exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketKind {
    /// The call was transferred to a person.
    Escalation,
    /// Someone must call the caller back.
    Callback,
}

impl TicketKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketKind::Escalation => "escalation",
            TicketKind::Callback => "callback",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "escalation" => Some(TicketKind::Escalation),
            "callback" => Some(TicketKind::Callback),
            _ => None,
        }
    }
}

/// What became of one extra field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldStatus {
    /// Understood (and confirmed, if `confirmed`).
    Answered,
    /// The caller answered but it could not be understood: `raw` holds what was heard.
    Unparsed,
    /// The caller declined an optional field.
    Declined,
    /// Never answered: silence, or the caller hung up first.
    #[default]
    Missing,
}

impl FieldStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldStatus::Answered => "answered",
            FieldStatus::Unparsed => "unparsed",
            FieldStatus::Declined => "declined",
            FieldStatus::Missing => "missing",
        }
    }
}

/// One extra field of a callback ticket: the question and what came of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldValue {
    pub name: String,
    pub ask: String,
    /// The field's type (`phone`, `datetime`, ...).
    #[serde(default)]
    pub kind: Option<String>,
    /// The understood value, normalised: E.164 for a phone, RFC 3339 (or `start/end`) for a time, ...
    pub value: Option<String>,
    /// How the value reads out loud ("tomorrow after 3 pm"), when it differs from `value`.
    #[serde(default)]
    pub spoken: Option<String>,
    /// What the recogniser heard (or the keys pressed) for the answer that was kept.
    #[serde(default)]
    pub raw: Option<String>,
    /// The caller said yes when the value was read back.
    #[serde(default)]
    pub confirmed: bool,
    #[serde(default)]
    pub status: FieldStatus,
}

impl FieldValue {
    /// A field not answered yet.
    pub fn missing(name: &str, ask: &str, kind: &str) -> Self {
        Self {
            name: name.to_string(),
            ask: ask.to_string(),
            kind: Some(kind.to_string()),
            value: None,
            spoken: None,
            raw: None,
            confirmed: false,
            status: FieldStatus::Missing,
        }
    }
}

/// A ticket as the call core asks for it to be filed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketDraft {
    pub kind: TicketKind,
    pub topic: Option<String>,
    pub summary: String,
    pub transcript: String,
    pub fields: Vec<FieldValue>,
    pub caller: Option<String>,
    pub call_id: String,
    /// Anything staff must know about how the ticket came to be (e.g. fields not collected and why).
    pub note: Option<String>,
    /// What the agent promised the caller ("... we will call you back tomorrow after 3 pm").
    #[serde(default)]
    pub promise: Option<String>,
    /// An escalation about to be dialed on a live call: written with transfer status `pending`, in the
    /// same statement as the ticket, so no crash can leave it unmarked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub awaiting_transfer: bool,
    /// Which team it goes to (from the topic's `category` in the config).
    #[serde(default)]
    pub category: Category,
    #[serde(default)]
    pub priority: Priority,
    /// Every topic heard on the call, with the words that carried it: why the ticket exists.
    #[serde(default)]
    pub topics: Vec<TopicEvidence>,
}

/// A stored ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: i64,
    pub created: String,
    pub status: String,
    #[serde(flatten)]
    pub draft: TicketDraft,
    /// Escalations on live calls: `pending` (written, nothing dialed yet), `dialing`, `bridged`, `failed`,
    /// or `interrupted` (the server stopped in between).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_status: Option<String>,
    /// Each target rung, in order (filled by [`store::TicketStore::get`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<TransferAttempt>,
    /// When staff last changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    /// Who works on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
}

/// An internal note staff wrote on a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Note {
    pub id: i64,
    pub created: String,
    pub author: String,
    pub text: String,
}

/// One change in a ticket's history: who, when, what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Change {
    pub at: String,
    pub actor: String,
    /// `filed`, `status`, `note`, `assign`.
    pub change: String,
    pub detail: Option<String>,
}

/// One target rung for an escalation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct TransferAttempt {
    pub attempt: i64,
    pub target: String,
    pub provider: String,
    pub started: String,
    pub ended: Option<String>,
    /// `bridged`, `busy`, `no-answer`, `failed`, `canceled`, `unavailable`, `interrupted`; `None` while
    /// ringing.
    pub outcome: Option<String>,
    pub detail: Option<String>,
    /// How long the bridged conversation lasted.
    pub talk_seconds: Option<i64>,
}

/// What one call consumed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct CallUsage {
    pub call_id: String,
    pub provider: String,
    pub started: String,
    pub agent_ms: i64,
    pub transfer_ms: i64,
    pub outcome: Option<String>,
}
