//! The two durable queues: `outbox`, replies written by a step and not
//! yet delivered (migration `0008_outbox.sql`), and `inbox`, platform
//! events acknowledged and not yet handled (`0009_inbox.sql`). Both are
//! taken row by row, in order per chat, under an instance's lease.

use std::collections::HashMap;
use std::fmt::Write as _;

use anyhow::{Context, Result, anyhow};

use super::sessions::upsert_session;
use super::sql::{Row, query};
use super::{Backend, SessionSave, Store, Tx};

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

/// Writes a row of replies; binds `$1`–`$7`.
const QUEUE: &str = "INSERT INTO outbox (channel, chat, inbound, sealed, created_at, owner, \
                     lease_until) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";

/// Who is sending a row, and until when.
#[derive(Debug, Clone, Copy)]
pub struct Lease<'a> {
    pub owner: &'a str,
    pub until: i64,
}

impl Tx {
    /// Writes one step's sealed replies for `chat`; returns the row's id.
    /// `save` is the step's conversation to save, on PostgreSQL in the
    /// same statement (one round trip instead of two).
    #[allow(clippy::too_many_arguments)]
    pub async fn queue_delivery(
        &mut self,
        channel: &str,
        chat: &str,
        inbound: Option<&str>,
        sealed: &str,
        now: i64,
        lease: Lease<'_>,
        save: Option<&SessionSave>,
    ) -> Result<i64> {
        let sql = match (self.backend, save) {
            (Backend::Postgres, Some(_)) => concat!(
                "WITH saved AS (",
                upsert_session!(),
                ") INSERT INTO outbox (channel, chat, inbound, sealed, created_at, owner, lease_until) \
                 VALUES ($7, $8, $9, $10, $11, $12, $13) RETURNING id"
            ),
            (Backend::Sqlite, Some(save)) => {
                self.save_session(save).await?;
                QUEUE
            }
            (_, None) => QUEUE,
        };
        let id: i64 = match (self.backend, save) {
            (Backend::Postgres, Some(save)) => save.bind(query(sql)),
            _ => query(sql),
        }
        .bind(channel)
        .bind(chat)
        .bind(inbound)
        .bind(sealed)
        .bind(now)
        .bind(lease.owner)
        .bind(lease.until)
        .fetch_one(&mut *self)
        .await
        .context("writing a reply to the outbox")?
        .try_get(0)?;
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
        let rows = query(
            "SELECT id, chat, sealed FROM outbox \
             WHERE channel = $1 AND chat = $2 AND inbound = $3 ORDER BY id",
        )
        .bind(channel)
        .bind(chat)
        .bind(inbound)
        .fetch_all(&mut *self)
        .await
        .context("reading a message's replies from the outbox")?;
        rows.iter().map(queued).collect()
    }

    /// Deletes rows done with — replies delivered, events handled — in a
    /// batch of the write path, so it costs no commit of its own.
    pub async fn delete_queued(&mut self, queue: Queue, ids: &[i64]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "DELETE FROM {} WHERE id IN {}",
            queue.table(),
            ids_in(self.backend, 1)
        );
        let list = id_list(ids);
        query(&sql)
            .bind(list.as_str())
            .execute(&mut *self)
            .await
            .with_context(|| format!("deleting rows done with from the {}", queue.table()))?;
        Ok(())
    }

    /// Forgets a chat's replies: on the web chat, the browser's next message
    /// says it has them.
    pub async fn clear_outbox_of(&mut self, channel: &str, chat: &str) -> Result<()> {
        query("DELETE FROM outbox WHERE channel = $1 AND chat = $2")
            .bind(channel)
            .bind(chat)
            .execute(&mut *self)
            .await
            .context("forgetting delivered replies")?;
        Ok(())
    }
}

/// An event to write to the inbox: whose it is (keyed hash) and sealed.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub chat: String,
    pub sealed: String,
}

/// The most events [`Store::write_inbox`] writes in one `INSERT` (two
/// parameters a row and four shared: well under both databases' limits).
pub const INBOX_BATCH: usize = 500;

impl Store {
    /// Writes `events` to the inbox and deletes the rows in `done`: each
    /// one statement, committed on its own — one round trip to the
    /// database, one `fsync` on SQLite, for all the events of a batch;
    /// returns the new rows' ids in the order of `events`.
    pub async fn write_inbox(
        &self,
        channel: &str,
        events: &[NewEvent],
        done: &[i64],
        now: i64,
        lease: Lease<'_>,
    ) -> Result<Vec<i64>> {
        if !done.is_empty() {
            let list = id_list(done);
            query(&format!(
                "DELETE FROM inbox WHERE id IN {}",
                ids_in(self.backend(), 1)
            ))
            .bind(list.as_str())
            .execute(self)
            .await
            .context("deleting events handled from the inbox")?;
        }
        let mut ids = Vec::with_capacity(events.len());
        for chunk in events.chunks(INBOX_BATCH) {
            let mut sql = String::from(
                "INSERT INTO inbox (channel, chat, sealed, created_at, owner, lease_until) VALUES ",
            );
            for i in 0..chunk.len() {
                let sep = if i == 0 { "" } else { ", " };
                let _ = write!(sql, "{sep}($1, ${}, ${}, $2, $3, $4)", 5 + 2 * i, 6 + 2 * i);
            }
            sql.push_str(" RETURNING id, sealed");
            let mut insert = query(&sql)
                .bind(channel)
                .bind(now)
                .bind(lease.owner)
                .bind(lease.until);
            for event in chunk {
                insert = insert.bind(&event.chat).bind(&event.sealed);
            }
            let rows = insert
                .fetch_all(self)
                .await
                .context("writing events to the inbox")?;
            // Neither database promises the order of RETURNING's rows; a
            // sealed text is unique (its nonce is random), so it names its row.
            let mut by_sealed = HashMap::with_capacity(rows.len());
            for row in &rows {
                let id: i64 = row.try_get(0)?;
                let sealed: String = row.try_get(1)?;
                by_sealed.insert(sealed, id);
            }
            for event in chunk {
                let id = by_sealed.get(&event.sealed).ok_or_else(|| {
                    anyhow!("an event written to the inbox came back without its id")
                })?;
                ids.push(*id);
            }
        }
        Ok(ids)
    }

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
        let skip_locked = match self.backend() {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let table = queue.table();
        let sql = format!(
            "UPDATE {table} SET owner = $1, lease_until = $2 WHERE id IN (\
             SELECT id FROM {table} WHERE channel = $3 AND (lease_until < $4 OR ($5 AND owner = $1)) \
             ORDER BY id LIMIT $6{skip_locked}) RETURNING id, chat, sealed"
        );
        let rows = query(&sql)
            .bind(lease.owner)
            .bind(lease.until)
            .bind(channel)
            .bind(now)
            .bind(own)
            .bind(limit)
            .fetch_all(self)
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
        let older = query(&format!(
            "SELECT id FROM {table} WHERE channel = $1 AND chat = $2 AND id < $3 LIMIT 1"
        ))
        .bind(channel)
        .bind(chat)
        .bind(id)
        .fetch_optional(self)
        .await
        .with_context(|| format!("looking for older rows of the {table}"))?;
        Ok(older.is_some())
    }

    /// Extends the lease of rows this instance still has in hand.
    pub async fn renew_queued(&self, queue: Queue, ids: &[i64], lease: Lease<'_>) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let table = queue.table();
        let list = id_list(ids);
        query(&format!(
            "UPDATE {table} SET owner = $1, lease_until = $2 WHERE id IN {}",
            ids_in(self.backend(), 3)
        ))
        .bind(lease.owner)
        .bind(lease.until)
        .bind(list.as_str())
        .execute(self)
        .await
        .with_context(|| format!("renewing the lease of rows of the {table}"))?;
        Ok(())
    }

    /// Forgets replies written before `before` that were never delivered
    /// (a web page closed, a recipient gone for days); returns how many.
    pub async fn forget_deliveries_before(&self, before: i64) -> Result<u64> {
        let done = query("DELETE FROM outbox WHERE created_at < $1")
            .bind(before)
            .execute(self)
            .await
            .context("forgetting old undelivered replies")?;
        Ok(done)
    }

    /// How many replies wait in the outbox (for tests and `/metrics`).
    pub async fn undelivered_count(&self) -> Result<i64> {
        self.queued_count(Queue::Outbox).await
    }

    /// How many rows wait in a queue.
    pub async fn queued_count(&self, queue: Queue) -> Result<i64> {
        let table = queue.table();
        let n: i64 = query(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(self)
            .await
            .with_context(|| format!("counting the rows of the {table}"))?
            .try_get(0)?;
        Ok(n)
    }
}

/// Ids as one JSON array (`[1,2,3]`), bound to the parameter of [`ids_in`]: one
/// statement text (prepared once, kept in the connection's cache) for any
/// number of ids, where a literal list would be a new statement each time.
fn id_list(ids: &[i64]) -> String {
    let mut list = String::from("[");
    for (i, id) in ids.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(list, "{sep}{id}");
    }
    list.push(']');
    list
}

/// `(…)`: the ids in parameter `$n`, bound to an [`id_list`].
fn ids_in(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Sqlite => format!("(SELECT value FROM json_each(${n}))"),
        Backend::Postgres => {
            format!("(SELECT json_array_elements_text(CAST(${n} AS json))::bigint)")
        }
    }
}

fn queued(r: &Row) -> Result<QueuedDelivery> {
    Ok(QueuedDelivery {
        id: r.try_get(0)?,
        chat: r.try_get(1)?,
        sealed: r.try_get(2)?,
    })
}
