//! The outbox rows: queued with a ticket in its own transaction, then claimed, tried, postponed and
//! released by the notification worker (`crate::notify`), with every try recorded. Only the SQL; what
//! a notification is and who receives it are the parent's `outbox` module.

use sqlx::Row;

use super::{json, now, stamp, StoreError, TicketStore, Tx};
use crate::tickets::outbox::{OutboxItem, TicketNotice};
use crate::tickets::TicketDraft;

impl TicketStore {
    /// Completes when a ticket filed through this handle has queued notifications.
    pub async fn notifications_queued(&self) {
        self.queued.notified().await
    }

    /// Queues a new ticket's notifications, one per recipient of its category, in the transaction that
    /// files it: a committed ticket always has them, a rolled-back one never does. Without routing
    /// (replays, tests) nothing is queued.
    pub(super) async fn queue_filed(
        &self,
        tx: &mut Tx<'_>,
        id: i64,
        created: &str,
        draft: &TicketDraft,
    ) -> Result<(), StoreError> {
        let Some(routing) = &self.routing else {
            return Ok(());
        };
        let notice = TicketNotice::filed(id, created, draft);
        let payload = json(&notice)?;
        for recipient in routing.recipients(draft.category) {
            sqlx::query(
                "INSERT INTO outbox (ticket_id, created, channel, recipient, event, payload, idempotency,
                     next_attempt)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(created)
            .bind(recipient.channel())
            .bind(recipient.address())
            .bind(&notice.event)
            .bind(&payload)
            .bind(idempotency_key(id, &notice.event, recipient.address()))
            .bind(created)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Takes up to `limit` notifications that are due and not held by another node, for `lease`: until
    /// then no other worker (on this node or another sharing the database) takes them. A node that dies
    /// while holding some lets them go when the lease ends.
    pub async fn claim_notifications(
        &self,
        node: &str,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let now_at = chrono::Utc::now();
        let until =
            now_at + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::hours(1));
        let sql = format!(
            "UPDATE outbox SET claimed_by = $1, claimed_until = $2
             WHERE id IN (SELECT id FROM outbox
                          WHERE state = 'pending' AND next_attempt <= $3
                            AND (claimed_until IS NULL OR claimed_until < $3)
                          ORDER BY id LIMIT $4{})
             RETURNING {OUTBOX_COLUMNS}",
            self.dialect.skip_locked()
        );
        let mut items: Vec<OutboxItem> = sqlx::query_as(&sql)
            .bind(node)
            .bind(stamp(until))
            .bind(stamp(now_at))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        items.sort_by_key(|i| i.id);
        Ok(items)
    }

    /// Records one delivery try by `node`: sent, or failed with `error` and due again at `retry_at`.
    /// Only the node holding the notification may record it, so a node whose lease ran out while it was
    /// sending cannot undo what the next holder did.
    pub async fn notification_tried(
        &self,
        id: i64,
        node: &str,
        outcome: Result<&str, (&str, chrono::DateTime<chrono::Utc>)>,
    ) -> Result<(), StoreError> {
        let at = now();
        let mut tx = self.write_tx().await?;
        let (ok, detail) = match outcome {
            Ok(detail) => {
                sqlx::query(
                    "UPDATE outbox SET state = 'sent', sent = $1, attempts = attempts + 1, last_error = NULL,
                         claimed_by = NULL, claimed_until = NULL
                     WHERE id = $2 AND claimed_by = $3",
                )
                .bind(&at)
                .bind(id)
                .bind(node)
                .execute(&mut *tx)
                .await?;
                (1_i64, detail)
            }
            Err((error, retry_at)) => {
                sqlx::query(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt = $2,
                         claimed_by = NULL, claimed_until = NULL
                     WHERE id = $3 AND claimed_by = $4",
                )
                .bind(error)
                .bind(stamp(retry_at))
                .bind(id)
                .bind(node)
                .execute(&mut *tx)
                .await?;
                (0_i64, error)
            }
        };
        sqlx::query(
            "INSERT INTO outbox_attempts (outbox_id, at, node, ok, detail) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(&at)
        .bind(node)
        .bind(ok)
        .bind(detail)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A ticket's notifications (or all of them, `None`), oldest first.
    pub async fn notifications(&self, ticket: Option<i64>) -> Result<Vec<OutboxItem>, StoreError> {
        let sql = match ticket {
            Some(_) => {
                format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE ticket_id = $1 ORDER BY id")
            }
            None => format!("SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY id"),
        };
        let mut q = sqlx::query_as(&sql);
        if let Some(t) = ticket {
            q = q.bind(t);
        }
        Ok(q.fetch_all(&self.pool).await?)
    }

    /// Puts a notification this node holds back to `at` without counting a try: its recipient is known
    /// to be down this moment (another notification to it just failed).
    pub async fn postpone_notification(
        &self,
        id: i64,
        node: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET next_attempt = $1, claimed_by = NULL, claimed_until = NULL
             WHERE id = $2 AND claimed_by = $3",
        )
        .bind(stamp(at))
        .bind(id)
        .bind(node)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A recipient answered again: everything waiting for it (e-mail: the mail server; a webhook: its
    /// URL) is due now, not when its backoff would have tried it.
    pub async fn recipient_recovered(
        &self,
        channel: &str,
        recipient: Option<&str>,
    ) -> Result<u64, StoreError> {
        let at = now();
        let done = match recipient {
            None => {
                sqlx::query(
                    "UPDATE outbox SET next_attempt = $1
                 WHERE state = 'pending' AND channel = $2 AND next_attempt > $1",
                )
                .bind(&at)
                .bind(channel)
                .execute(&self.pool)
                .await?
            }
            Some(r) => {
                sqlx::query(
                    "UPDATE outbox SET next_attempt = $1
                 WHERE state = 'pending' AND channel = $2 AND recipient = $3 AND next_attempt > $1",
                )
                .bind(&at)
                .bind(channel)
                .bind(r)
                .execute(&self.pool)
                .await?
            }
        };
        Ok(done.rows_affected())
    }

    /// The earliest moment a pending notification is due (the worker sleeps until then).
    pub async fn next_notification_due(&self) -> Result<Option<String>, StoreError> {
        let row =
            sqlx::query("SELECT MIN(next_attempt) AS due FROM outbox WHERE state = 'pending'")
                .fetch_one(&self.pool)
                .await?;
        Ok(row.try_get("due")?)
    }
}

const OUTBOX_COLUMNS: &str =
    "id, ticket_id, created, channel, recipient, event, payload, idempotency,
    state, attempts, next_attempt, sent, last_error";

/// The same notification of the same ticket to the same recipient has the same key, however often it is
/// tried.
fn idempotency_key(ticket: i64, event: &str, recipient: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{ticket}\n{event}\n{recipient}").as_bytes());
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("sb-{ticket}-{hex}")
}
