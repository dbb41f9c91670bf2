//! What each call consumed (agent and transfer time), metered per call and added up when a call comes
//! back to the agent after a failed transfer.

use super::{now, StoreError, TicketStore};
use crate::tickets::CallUsage;

impl TicketStore {
    /// Adds to a call's usage (a call may come back to the agent after a failed transfer).
    pub async fn add_usage(
        &self,
        call_id: &str,
        provider: &str,
        agent_ms: u64,
        transfer_ms: u64,
        outcome: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO call_usage (call_id, provider, started, agent_ms, transfer_ms, outcome)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (call_id) DO UPDATE SET agent_ms = call_usage.agent_ms + excluded.agent_ms,
                 transfer_ms = call_usage.transfer_ms + excluded.transfer_ms,
                 outcome = COALESCE(excluded.outcome, call_usage.outcome)",
        )
        .bind(call_id)
        .bind(provider)
        .bind(now())
        .bind(agent_ms as i64)
        .bind(transfer_ms as i64)
        .bind(outcome)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// What a call consumed, if it was metered.
    pub async fn usage(&self, call_id: &str) -> Result<Option<CallUsage>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM call_usage WHERE call_id = $1")
                .bind(call_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}
