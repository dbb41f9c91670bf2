//! Tickets: what staff see in the Support section. Domain types here; the SQLite store in `store`.

pub mod store;

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

/// One extra field of a callback ticket: the question and the caller's answer, if one was heard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldValue {
    pub name: String,
    pub ask: String,
    pub value: Option<String>,
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
}

/// A stored ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: i64,
    pub created: String,
    pub status: String,
    #[serde(flatten)]
    pub draft: TicketDraft,
}
