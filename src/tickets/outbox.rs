//! Who hears about a ticket, and what they are sent: routing recipients per category and the notification
//! written to the outbox in the ticket's own transaction. Pure; the store writes it, `crate::notify`
//! delivers it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::triage::Category;
use super::TicketDraft;

/// One place a notification goes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "channel", content = "to", rename_all = "lowercase")]
pub enum Recipient {
    Email(String),
    Webhook(String),
}

impl Recipient {
    /// `https://…` and `http://…` are webhooks, anything else an e-mail address (checked by the config).
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        if text.starts_with("https://") || text.starts_with("http://") {
            Recipient::Webhook(text.to_string())
        } else {
            Recipient::Email(text.to_string())
        }
    }

    pub fn channel(&self) -> &'static str {
        match self {
            Recipient::Email(_) => "email",
            Recipient::Webhook(_) => "webhook",
        }
    }

    pub fn address(&self) -> &str {
        match self {
            Recipient::Email(a) | Recipient::Webhook(a) => a,
        }
    }
}

/// `[routing]`: the recipients of each category, and `default` for a category that names none.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Routing {
    pub categories: BTreeMap<Category, Vec<Recipient>>,
    pub default: Vec<Recipient>,
}

impl Routing {
    /// Who hears about a ticket of `category`: its own recipients, else the default ones. The config
    /// refuses a routing where this is empty, so no ticket reaches nobody.
    pub fn recipients(&self, category: Category) -> &[Recipient] {
        match self.categories.get(&category) {
            Some(list) if !list.is_empty() => list,
            _ => &self.default,
        }
    }
}

/// What a notification says: the same JSON is a webhook's body (and what its signature covers) and the
/// facts of an e-mail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketNotice {
    /// `ticket.filed`.
    pub event: String,
    pub ticket_id: i64,
    pub created: String,
    pub kind: String,
    pub category: String,
    pub priority: String,
    pub topic: Option<String>,
    pub summary: String,
    pub caller: Option<String>,
    pub call_id: String,
    pub promise: Option<String>,
}

impl TicketNotice {
    pub fn filed(id: i64, created: &str, draft: &TicketDraft) -> Self {
        Self {
            event: "ticket.filed".into(),
            ticket_id: id,
            created: created.to_string(),
            kind: draft.kind.as_str().into(),
            category: draft.category.as_str().into(),
            priority: draft.priority.as_str().into(),
            topic: draft.topic.clone(),
            summary: draft.summary.clone(),
            caller: draft.caller.clone(),
            call_id: draft.call_id.clone(),
            promise: draft.promise.clone(),
        }
    }

    /// The e-mail subject: what staff must see in a crowded inbox.
    pub fn subject(&self) -> String {
        format!(
            "[{} {}] {} #{}: {}",
            self.category,
            self.priority,
            self.kind,
            self.ticket_id,
            self.topic.as_deref().unwrap_or("no topic")
        )
    }

    /// The e-mail body, plain text.
    pub fn body(&self) -> String {
        let mut out = format!(
            "A {} ticket was filed: #{} ({} priority, category {}).\n\n{}\n\nCaller: {}\nCall: {}\nFiled: {}\n",
            self.kind,
            self.ticket_id,
            self.priority,
            self.category,
            self.summary,
            self.caller.as_deref().unwrap_or("unknown"),
            self.call_id,
            self.created
        );
        if let Some(promise) = &self.promise {
            out.push_str(&format!("Promised to the caller: {promise}\n"));
        }
        out
    }
}

/// One notification as the outbox holds it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct OutboxItem {
    pub id: i64,
    pub ticket_id: i64,
    pub created: String,
    pub channel: String,
    pub recipient: String,
    pub event: String,
    pub payload: String,
    /// Sent with every try (webhook header, e-mail Message-ID), so a receiver can tell a retry from a
    /// new notification.
    pub idempotency: String,
    /// `pending` or `sent`.
    pub state: String,
    pub attempts: i64,
    pub next_attempt: String,
    pub sent: Option<String>,
    pub last_error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_category_falls_back_to_the_default() {
        let routing = Routing {
            categories: BTreeMap::from([(
                Category::Accounting,
                vec![Recipient::parse("billing@example.com")],
            )]),
            default: vec![Recipient::parse("https://hooks.example.com/sb")],
        };
        assert_eq!(
            routing.recipients(Category::Accounting),
            &[Recipient::Email("billing@example.com".into())]
        );
        assert_eq!(
            routing.recipients(Category::Service),
            &[Recipient::Webhook("https://hooks.example.com/sb".into())]
        );
    }
}
