//! A sample escalation ticket, as the LLM summary sees it (shared with `benches/transfer.rs`).

use switchboard::tickets::{FieldStatus, FieldValue, Ticket, TicketDraft, TicketKind};

/// An escalation about a cancellation, with one answered field.
pub fn ticket() -> Ticket {
    let mut reason = FieldValue::missing("reason", "Why?", "text");
    reason.value = Some("double charge in March".into());
    reason.status = FieldStatus::Answered;
    Ticket {
        id: 1,
        created: "2026-12-02T10:00:00.000Z".into(),
        status: "open".into(),
        draft: TicketDraft {
            kind: TicketKind::Escalation,
            topic: Some("cancellation".into()),
            summary: "Caller ending in 42 calls about contract cancellation request".into(),
            transcript: "[00:04] I want to cancel my contract, you charged me twice".into(),
            fields: vec![reason],
            caller: Some("+15550123442".into()),
            call_id: "CA1".into(),
            note: None,
            promise: None,
            awaiting_transfer: false,
            category: Default::default(),
            priority: Default::default(),
            topics: Vec::new(),
        },
        transfer_status: None,
        attempts: Vec::new(),
        updated: None,
        assignee: None,
    }
}
