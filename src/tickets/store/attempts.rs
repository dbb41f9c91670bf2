//! The targets an escalation rings: each attempt is written before the provider is asked to dial and
//! closed with its outcome, and the ticket's transfer status follows. After a restart, transfers nobody
//! can follow any more are marked interrupted. Reading them back is `TicketStore::get` (in `tickets`).

use sqlx::Row;

use super::{now, StoreError, TicketStore};

impl TicketStore {
    /// Records that `target` is about to be rung (before the provider is asked); returns the attempt's id.
    pub async fn attempt_started(
        &self,
        ticket: i64,
        attempt: u32,
        target: &str,
        provider: &str,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO transfer_attempts (ticket_id, attempt, target, provider, started)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(ticket)
        .bind(i64::from(attempt))
        .bind(target)
        .bind(provider)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE tickets SET transfer_status = 'dialing' WHERE id = $1")
            .bind(ticket)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row.try_get("id")?)
    }

    /// Records how an attempt ended; the ticket's transfer status follows (`bridged` or `failed`).
    pub async fn attempt_ended(
        &self,
        attempt_id: i64,
        outcome: &str,
        detail: Option<&str>,
        talk_seconds: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "UPDATE transfer_attempts SET ended = $1, outcome = $2, detail = $3, talk_seconds = $4
             WHERE id = $5 RETURNING ticket_id",
        )
        .bind(now())
        .bind(outcome)
        .bind(detail)
        .bind(talk_seconds)
        .bind(attempt_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound(attempt_id))?;
        let ticket: i64 = row.try_get("ticket_id")?;
        let status = match outcome {
            "bridged" => "bridged",
            // The provider's own flow took the call (a stream closed with no call control of ours).
            "handed-over" => "handed-over",
            _ => "failed",
        };
        sqlx::query("UPDATE tickets SET transfer_status = $1 WHERE id = $2")
            .bind(status)
            .bind(ticket)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// After a restart: transfers that were pending or ringing when the server stopped can no longer be
    /// followed. They are marked `interrupted` (with a note), so staff see them. Returns the tickets marked.
    pub async fn interrupt_unfinished_transfers(&self, note: &str) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.write_tx().await?;
        let rows = sqlx::query(
            "UPDATE tickets SET transfer_status = 'interrupted',
                 note = CASE WHEN note IS NULL THEN CAST($1 AS TEXT) ELSE note || ' ' || CAST($2 AS TEXT) END
             WHERE transfer_status IN ('pending', 'dialing') RETURNING id",
        )
        .bind(note)
        .bind(note)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE transfer_attempts SET ended = $1, outcome = 'interrupted' WHERE outcome IS NULL",
        )
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| r.try_get("id").map_err(StoreError::from))
            .collect()
    }
}
