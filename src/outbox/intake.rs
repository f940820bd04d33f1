//! The inbox's write path: one task that owns the inbox's writes. Events
//! arriving while a batch is being written wait for the next one, which
//! carries them all — one multi-row `INSERT`, committed on its own, and
//! one `DELETE` of the rows handled meanwhile — so a burst of webhook calls
//! costs a few commits, not one each, and a few statements, not a few per
//! event. A caller hears its row's id once that commit is done.

use std::sync::Arc;

use anyhow::{Result, anyhow};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::sender::LEASE;
use crate::store::{INBOX_BATCH, Lease, NewEvent, Store};

/// The most writes one batch takes: its events fit one `INSERT`, so they
/// are kept all or none.
const BATCH: usize = INBOX_BATCH;

enum Write {
    /// An event to keep; answered with its row's id.
    Event {
        event: NewEvent,
        kept: oneshot::Sender<Result<i64, String>>,
    },
    /// Rows handled, to delete.
    Done {
        ids: Vec<i64>,
        deleted: oneshot::Sender<Result<(), String>>,
    },
}

/// The handle of a channel's inbox writer; the writer ends with it.
pub struct Intake {
    writes: mpsc::UnboundedSender<Write>,
}

impl Intake {
    /// Starts the writer of `channel`'s inbox rows, leased to `owner`, on
    /// the runtime `on`.
    pub fn start(on: &tokio::runtime::Handle, store: Store, channel: &str, owner: &str) -> Self {
        let (writes, rx) = mpsc::unbounded_channel();
        on.spawn(write_forever(
            store,
            channel.to_string(),
            owner.to_string(),
            rx,
        ));
        Self { writes }
    }

    /// Keeps an event for `chat`; returns its row's id once committed.
    pub async fn keep(&self, chat: &str, sealed: String) -> Result<i64> {
        let (kept, answer) = oneshot::channel();
        let event = NewEvent {
            chat: chat.to_string(),
            sealed,
        };
        self.ask(Write::Event { event, kept }, answer).await
    }

    /// Deletes rows handled; returns once committed.
    pub async fn delete(&self, ids: Vec<i64>) -> Result<()> {
        let (deleted, answer) = oneshot::channel();
        self.ask(Write::Done { ids, deleted }, answer).await
    }

    /// Hands `write` to the writer and waits for its answer.
    async fn ask<T>(
        &self,
        write: Write,
        answer: oneshot::Receiver<Result<T, String>>,
    ) -> Result<T> {
        let stopped = || anyhow!("the inbox writer stopped");
        self.writes.send(write).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?.map_err(|e| anyhow!(e))
    }
}

/// Writes whatever has gathered, batch after batch, until the handle is
/// gone: one batch at a time on SQLite; on PostgreSQL as many side by side
/// as the store has writers, so one batch's commit does not hold up the
/// next (the server then joins their flushes). Events in flight at once
/// have no order among them anyway — they are HTTP calls side by side.
async fn write_forever(
    store: Store,
    channel: String,
    owner: String,
    mut rx: mpsc::UnboundedReceiver<Write>,
) {
    let writers = Arc::new(Semaphore::new(store.writers()));
    let (channel, owner): (Arc<str>, Arc<str>) = (channel.into(), owner.into());
    loop {
        let Ok(writer) = writers.clone().acquire_owned().await else {
            return;
        };
        let mut writes = Vec::with_capacity(BATCH);
        if rx.recv_many(&mut writes, BATCH).await == 0 {
            return;
        }
        let (store, channel, owner) = (store.clone(), channel.clone(), owner.clone());
        tokio::spawn(async move {
            write_batch(&store, &channel, &owner, writes).await;
            drop(writer);
        });
    }
}

/// Writes one batch and answers each of its writes.
async fn write_batch(store: &Store, channel: &str, owner: &str, writes: Vec<Write>) {
    let mut events = Vec::new();
    let mut kept = Vec::new();
    let mut done = Vec::new();
    let mut deleted = Vec::new();
    for write in writes {
        match write {
            Write::Event { event, kept: k } => {
                events.push(event);
                kept.push(k);
            }
            Write::Done { ids, deleted: d } => {
                done.extend(ids);
                deleted.push(d);
            }
        }
    }
    let now = chrono::Utc::now().timestamp();
    let lease = Lease {
        owner,
        until: now + LEASE.as_secs() as i64,
    };
    match store.write_inbox(channel, &events, &done, now, lease).await {
        Ok(ids) => {
            for (k, id) in kept.into_iter().zip(ids) {
                let _ = k.send(Ok(id));
            }
            for d in deleted {
                let _ = d.send(Ok(()));
            }
        }
        Err(e) => {
            // None of the batch's events was kept: their senders are
            // told (Zalo then delivers them again); the deletes are
            // tried again by their sender.
            let why = format!("{e:#}");
            tracing::error!(error = why, events = kept.len(), "an inbox batch failed");
            for k in kept {
                let _ = k.send(Err(why.clone()));
            }
            for d in deleted {
                let _ = d.send(Err(why.clone()));
            }
        }
    }
}
