//! Delivers the outbox: every notification a ticket queued goes out by e-mail or signed webhook, each try
//! recorded. A recipient that is down is retried with growing waits (never given up on), and a restart
//! picks up where the last run stopped, because the outbox, not this worker, holds what is owed.

pub mod email;
pub mod webhook;

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::SmtpSettings;
use crate::tickets::outbox::{OutboxItem, TicketNotice};
use crate::tickets::store::TicketStore;

/// How long a claimed notification is this node's: longer than any one try takes.
const LEASE: Duration = Duration::from_secs(120);
/// Notifications taken per round.
const BATCH: u32 = 16;
/// The longest wait between tries of one notification, so a recipient that recovers hears soon. While a
/// recipient is down only one of its notifications tries per wait (the rest wait with it), so a short cap
/// costs the recipient nothing.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Even with nothing due, look again this often (another node may have queued something).
const IDLE_POLL: Duration = Duration::from_secs(2);

/// How long to wait after the `attempts`-th failed try: 1 s, 2 s, 4 s, … up to [`MAX_BACKOFF`].
pub fn backoff(attempts: u32) -> Duration {
    let exp = attempts.saturating_sub(1).min(16);
    Duration::from_secs(1u64 << exp).min(MAX_BACKOFF)
}

/// Why one try failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("no [routing.smtp] is configured, so e-mail cannot leave")]
    NoSmtp,
    #[error("e-mail: {0}")]
    Email(String),
    #[error("webhook: {0}")]
    Webhook(String),
    #[error("the stored payload is not a notice: {0}")]
    Payload(String),
}

/// The outbox worker of one node.
pub struct Notifier {
    store: TicketStore,
    /// Names this node in claims and attempt records.
    node: String,
    mailer: Option<email::Mailer>,
    webhooks: webhook::Sender,
}

impl Notifier {
    pub fn new(
        store: TicketStore,
        node: String,
        smtp: Option<&SmtpSettings>,
        webhook_secret: Option<String>,
    ) -> Result<Self, DeliveryError> {
        Ok(Self {
            store,
            node,
            mailer: smtp.map(email::Mailer::new).transpose()?,
            webhooks: webhook::Sender::new(webhook_secret),
        })
    }

    /// Runs until `stop` resolves, sending what is due and sleeping until the next is.
    pub async fn run(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let sent_any = match self.round().await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::warn!("notification outbox: {e}");
                    false
                }
            };
            if sent_any {
                continue;
            }
            let wait = self.until_next_due().await;
            tokio::select! {
                _ = &mut stop => return,
                _ = self.store.notifications_queued() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// One round: claims what is due and tries each. Returns how many were tried.
    pub async fn round(&self) -> Result<usize, crate::tickets::store::StoreError> {
        let items = self
            .store
            .claim_notifications(&self.node, LEASE, BATCH)
            .await?;
        // Recipients that failed in this round, and when their notifications try next.
        let mut down: Vec<(String, DateTime<Utc>)> = Vec::new();
        let mut tried = 0;
        for item in &items {
            let target = target_of(item);
            if let Some((_, at)) = down.iter().find(|(t, _)| *t == target) {
                self.store
                    .postpone_notification(item.id, &self.node, *at)
                    .await?;
                continue;
            }
            tried += 1;
            let attempts = u32::try_from(item.attempts).unwrap_or(u32::MAX);
            match &self.deliver(item).await {
                Ok(detail) => {
                    tracing::info!(id = item.id, ticket = item.ticket_id, to = %item.recipient, "notification sent: {detail}");
                    self.store
                        .notification_tried(item.id, &self.node, Ok(detail))
                        .await?;
                    if item.attempts > 0 {
                        // It was down and is back: what waits for it goes now.
                        let recipient =
                            (item.channel == "webhook").then_some(item.recipient.as_str());
                        self.store
                            .recipient_recovered(&item.channel, recipient)
                            .await?;
                    }
                }
                Err(e) => {
                    let wait = backoff(attempts.saturating_add(1));
                    tracing::warn!(id = item.id, ticket = item.ticket_id, to = %item.recipient, "notification failed, next try in {wait:?}: {e}");
                    let retry_at =
                        Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                    self.store
                        .notification_tried(item.id, &self.node, Err((&e.to_string(), retry_at)))
                        .await?;
                    if !matches!(e, DeliveryError::Payload(_)) {
                        down.push((target, retry_at));
                    }
                }
            }
        }
        // Only a round that delivered something goes straight on to the next.
        Ok(if down.is_empty() { tried } else { 0 })
    }

    async fn deliver(&self, item: &OutboxItem) -> Result<String, DeliveryError> {
        match item.channel.as_str() {
            "webhook" => self.webhooks.send(item).await,
            _ => {
                let notice: TicketNotice = serde_json::from_str(&item.payload)
                    .map_err(|e| DeliveryError::Payload(e.to_string()))?;
                match &self.mailer {
                    Some(mailer) => mailer.send(item, &notice).await,
                    None => Err(DeliveryError::NoSmtp),
                }
            }
        }
    }

    async fn until_next_due(&self) -> Duration {
        let due = match self.store.next_notification_due().await {
            Ok(Some(due)) => due,
            _ => return IDLE_POLL,
        };
        match DateTime::parse_from_rfc3339(&due) {
            Ok(at) => (at.with_timezone(&Utc) - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(IDLE_POLL),
            Err(_) => IDLE_POLL,
        }
    }
}

/// What a failure says is down: the mail server for every e-mail, the URL for a webhook.
fn target_of(item: &OutboxItem) -> String {
    match item.channel.as_str() {
        "webhook" => format!("webhook {}", item.recipient),
        other => other.to_string(),
    }
}

/// This node's name in the outbox: the host name and process id, unique among nodes sharing a database.
pub fn node_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into());
    format!("{host}-{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_and_stop_growing() {
        let secs: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 10, 10, 10, 10]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
