//! The grouped reads behind `switchboard report`: tickets per topic, kind, category and transfer outcome,
//! staff talk time per topic and metered transfer time. Only the SQL; [`Report`] assembles and draws.

use sqlx::Row;

use super::{StoreError, TicketStore};
use crate::tickets::report::{CountRow, Report};

impl TicketStore {
    /// Tickets filed since `since` (stored form; `None`: all), grouped for [`Report`].
    pub async fn report(&self, since: Option<&str>) -> Result<Report, StoreError> {
        let from = since.unwrap_or("");
        let counts: Vec<CountRow> = sqlx::query_as(
            "SELECT COALESCE(topic, '') AS topic, kind, category, COALESCE(transfer_status, '') AS outcome,
                 COUNT(*) AS n
             FROM tickets WHERE created >= $1
             GROUP BY topic, kind, category, transfer_status",
        )
        .bind(from)
        .fetch_all(&self.pool)
        .await?;
        let talk: Vec<(String, i64)> = sqlx::query(
            "SELECT COALESCE(tickets.topic, '') AS topic,
                 CAST(COALESCE(SUM(transfer_attempts.talk_seconds), 0) AS BIGINT) AS talk
             FROM transfer_attempts JOIN tickets ON tickets.id = transfer_attempts.ticket_id
             WHERE tickets.created >= $1 GROUP BY tickets.topic",
        )
        .bind(from)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("topic")?, r.try_get("talk")?)))
        .collect::<Result<_, sqlx::Error>>()?;
        let transfer_ms: i64 = sqlx::query(
            "SELECT CAST(COALESCE(SUM(transfer_ms), 0) AS BIGINT) AS ms FROM call_usage WHERE started >= $1",
        )
        .bind(from)
        .fetch_one(&self.pool)
        .await?
        .try_get("ms")?;
        Ok(Report::build(
            since.map(str::to_string),
            &counts,
            &talk,
            transfer_ms,
        ))
    }
}
