//! `inbound`: ids of processed messages, so a redelivery changes nothing.

use anyhow::{Context, Result};

use super::{Store, Tx};

impl Tx {
    /// Records an inbound message id; `false` if it was processed before.
    pub async fn claim_inbound(
        &mut self,
        channel: &str,
        message_id: &str,
        now: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO inbound (channel, message_id, received_at) VALUES ($1, $2, $3) \
             ON CONFLICT (channel, message_id) DO NOTHING",
        )
        .bind(channel)
        .bind(message_id)
        .bind(now)
        .execute(&mut *self.tx)
        .await
        .context("recording an inbound message id")?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    /// Forgets processed message ids received before `before` (Unix
    /// seconds); returns how many.
    pub async fn forget_inbound_before(&self, before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM inbound WHERE received_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .context("forgetting old message ids")?;
        Ok(done.rows_affected())
    }
}
