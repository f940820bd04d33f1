//! The two durable queues: `outbox`, replies written by a step and not
//! yet delivered (migration `0008_outbox.sql`), and `inbox`, platform
//! events acknowledged and not yet handled (`0009_inbox.sql`). Both are
//! taken row by row, in order per chat, under an instance's lease.

use anyhow::{Context, Result};
use sqlx::Row;

use super::{Backend, Store, Tx};

/// Which of the two queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// Replies to send.
    Outbox,
    /// Events to handle.
    Inbox,
}

impl Queue {
    fn table(self) -> &'static str {
        match self {
            Queue::Outbox => "outbox",
            Queue::Inbox => "inbox",
        }
    }
}

/// A queued row as stored: its place in the queue, whose it is (keyed
/// hash) and the sealed content.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedDelivery {
    pub id: i64,
    pub chat: String,
    pub sealed: String,
}

/// Who is sending a row, and until when.
#[derive(Debug, Clone, Copy)]
pub struct Lease<'a> {
    pub owner: &'a str,
    pub until: i64,
}

impl Tx {
    /// Writes one step's sealed replies for `chat`; returns the row's id.
    pub async fn queue_delivery(
        &mut self,
        channel: &str,
        chat: &str,
        inbound: Option<&str>,
        sealed: &str,
        now: i64,
        lease: Lease<'_>,
    ) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO outbox (channel, chat, inbound, sealed, created_at, owner, lease_until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(channel)
        .bind(chat)
        .bind(inbound)
        .bind(sealed)
        .bind(now)
        .bind(lease.owner)
        .bind(lease.until)
        .fetch_one(&mut *self.tx)
        .await
        .context("writing a reply to the outbox")?;
        Ok(id)
    }

    /// The undelivered replies a message caused, oldest first (for a
    /// message delivered again).
    pub async fn undelivered_for(
        &mut self,
        channel: &str,
        chat: &str,
        inbound: &str,
    ) -> Result<Vec<QueuedDelivery>> {
        let rows = sqlx::query(
            "SELECT id, chat, sealed FROM outbox \
             WHERE channel = $1 AND chat = $2 AND inbound = $3 ORDER BY id",
        )
        .bind(channel)
        .bind(chat)
        .bind(inbound)
        .fetch_all(&mut *self.tx)
        .await
        .context("reading a message's replies from the outbox")?;
        rows.iter().map(queued).collect()
    }

    /// Writes one acknowledged event for `chat` to the inbox; returns the
    /// row's id.
    pub async fn queue_event(
        &mut self,
        channel: &str,
        chat: &str,
        sealed: &str,
        now: i64,
        lease: Lease<'_>,
    ) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO inbox (channel, chat, sealed, created_at, owner, lease_until) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(channel)
        .bind(chat)
        .bind(sealed)
        .bind(now)
        .bind(lease.owner)
        .bind(lease.until)
        .fetch_one(&mut *self.tx)
        .await
        .context("writing an event to the inbox")?;
        Ok(id)
    }

    /// Deletes rows done with — replies delivered, events handled — in a
    /// batch of the write path, so it costs no commit of its own.
    pub async fn delete_queued(&mut self, queue: Queue, ids: &[i64]) -> Result<()> {
        for chunk in ids.chunks(500) {
            let list = id_list(chunk);
            sqlx::query(&format!(
                "DELETE FROM {} WHERE id IN ({list})",
                queue.table()
            ))
            .execute(&mut *self.tx)
            .await
            .with_context(|| format!("deleting rows done with from the {}", queue.table()))?;
        }
        Ok(())
    }

    /// Forgets a chat's replies: on the web chat, the browser's next message
    /// says it has them.
    pub async fn clear_outbox_of(&mut self, channel: &str, chat: &str) -> Result<()> {
        sqlx::query("DELETE FROM outbox WHERE channel = $1 AND chat = $2")
            .bind(channel)
            .bind(chat)
            .execute(&mut *self.tx)
            .await
            .context("forgetting delivered replies")?;
        Ok(())
    }
}

impl Store {
    /// Takes over a channel's rows that nobody has in hand — their lease
    /// ran out — and, with `own`, those this instance owned before it
    /// restarted; oldest first, at most `limit`.
    pub async fn claim_queued(
        &self,
        queue: Queue,
        channel: &str,
        lease: Lease<'_>,
        now: i64,
        own: bool,
        limit: i64,
    ) -> Result<Vec<QueuedDelivery>> {
        let skip_locked = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let table = queue.table();
        let sql = format!(
            "UPDATE {table} SET owner = $1, lease_until = $2 WHERE id IN (\
             SELECT id FROM {table} WHERE channel = $3 AND (lease_until < $4 OR ($5 AND owner = $1)) \
             ORDER BY id LIMIT $6{skip_locked}) RETURNING id, chat, sealed"
        );
        let rows = sqlx::query(&sql)
            .bind(lease.owner)
            .bind(lease.until)
            .bind(channel)
            .bind(now)
            .bind(own)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .with_context(|| format!("taking over rows of the {table}"))?;
        let mut claimed = rows.iter().map(queued).collect::<Result<Vec<_>>>()?;
        claimed.sort_by_key(|q| q.id);
        Ok(claimed)
    }

    /// Whether a chat has a row older than `id` in the queue (in another
    /// instance's hand, or left by one that stopped).
    pub async fn older_queued(
        &self,
        queue: Queue,
        channel: &str,
        chat: &str,
        id: i64,
    ) -> Result<bool> {
        let table = queue.table();
        let older: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT id FROM {table} WHERE channel = $1 AND chat = $2 AND id < $3 LIMIT 1"
        ))
        .bind(channel)
        .bind(chat)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .with_context(|| format!("looking for older rows of the {table}"))?;
        Ok(older.is_some())
    }

    /// Extends the lease of rows this instance still has in hand.
    pub async fn renew_queued(&self, queue: Queue, ids: &[i64], lease: Lease<'_>) -> Result<()> {
        let table = queue.table();
        for chunk in ids.chunks(500) {
            let list = id_list(chunk);
            sqlx::query(&format!(
                "UPDATE {table} SET owner = $1, lease_until = $2 WHERE id IN ({list})"
            ))
            .bind(lease.owner)
            .bind(lease.until)
            .execute(&self.pool)
            .await
            .with_context(|| format!("renewing the lease of rows of the {table}"))?;
        }
        Ok(())
    }

    /// Forgets replies written before `before` that were never delivered
    /// (a web page closed, a recipient gone for days); returns how many.
    pub async fn forget_deliveries_before(&self, before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM outbox WHERE created_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .context("forgetting old undelivered replies")?;
        Ok(done.rows_affected())
    }

    /// How many replies wait in the outbox (for tests and `/metrics`).
    pub async fn undelivered_count(&self) -> Result<i64> {
        self.queued_count(Queue::Outbox).await
    }

    /// How many rows wait in a queue.
    pub async fn queued_count(&self, queue: Queue) -> Result<i64> {
        let table = queue.table();
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&self.pool)
            .await
            .with_context(|| format!("counting the rows of the {table}"))?;
        Ok(n)
    }
}

/// Row ids as an SQL list (`1,2,3`): numbers only, so safe to inline.
fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

fn queued(r: &sqlx::any::AnyRow) -> Result<QueuedDelivery> {
    Ok(QueuedDelivery {
        id: r.try_get(0)?,
        chat: r.try_get(1)?,
        sealed: r.try_get(2)?,
    })
}
