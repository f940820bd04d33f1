//! The relay of one channel and queue: per-chat queues in memory, each
//! drained by a task of its own while it has rows; a deleter that removes
//! rows done with in batches; a sweeper that takes over rows nobody has in
//! hand. The outbox's relay sends replies; the inbox's hands events to the
//! survey (`zalo::Inbox`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use dashmap::{DashMap, DashSet};
use tokio::sync::{Notify, mpsc};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::intake::Intake;
use super::{Courier, Delivery, Undelivered};
use crate::key::Key;
use crate::metrics::Metrics;
use crate::store::{BatchFailed, GroupCommit, Lease, Queue, Store};

/// How long a row belongs to the instance that wrote or took it.
pub const LEASE: Duration = Duration::from_secs(60);
/// How often rows without a sender are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(5);
/// Attempts at one row before its chat is left to the sweeper (which
/// takes it again within [`SWEEP_EVERY`]).
const ATTEMPTS: u32 = 10;

/// A row in memory: its id and what it carries.
type Item<P> = (i64, P);

/// What a queue's rows carry.
pub trait Payload: Serialize + DeserializeOwned + Send + Sync + 'static {}
impl<P: Serialize + DeserializeOwned + Send + Sync + 'static> Payload for P {}

/// The sender of one channel's replies.
pub type Outbox = Relay<Delivery>;

/// How a relay writes to its queue: the outbox in the steps' batches (its
/// rows share the steps' database), the inbox through its own writer.
enum Writer {
    Steps(Arc<GroupCommit>),
    Intake(Intake),
}

impl Writer {
    /// Deletes rows done with; returns once committed.
    async fn delete(&self, queue: Queue, ids: &[i64]) -> Result<()> {
        match self {
            Writer::Steps(steps) => {
                steps
                    .step("outbox", async |tx| tx.delete_queued(queue, ids).await)
                    .await
            }
            Writer::Intake(intake) => intake.delete(ids.to_vec()).await,
        }
    }
}

/// The relay of one channel and queue.
pub struct Relay<P: Payload> {
    queue: Queue,
    channel: String,
    owner: String,
    courier: Arc<dyn Courier<P>>,
    store: Store,
    writer: Writer,
    key: Key,
    metrics: Arc<Metrics>,
    /// Chats with rows in hand; an entry exists while its task runs.
    queues: DashMap<String, VecDeque<Item<P>>>,
    /// Ids in hand (queued, being sent, or delivered and not yet deleted).
    known: DashSet<i64>,
    delivered: mpsc::UnboundedSender<i64>,
    /// Rows in hand and not yet delivered and deleted (or given up).
    pending: AtomicUsize,
    /// Where the chats' tasks run: the runtime of the steps, wherever a
    /// row is pushed from (the inbox's are pushed by the front runtime).
    steps: tokio::runtime::Handle,
    settled: Notify,
}

impl Outbox {
    /// Starts the sender of `channel`'s replies (see [`Relay::start_on`]).
    pub async fn start(
        channel: &str,
        owner: &str,
        courier: Arc<dyn Courier>,
        store: Store,
        writer: Arc<GroupCommit>,
        key: Key,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Self>> {
        let writer = Writer::Steps(writer);
        Self::start_on(
            Queue::Outbox,
            channel,
            owner,
            courier,
            store,
            writer,
            key,
            metrics,
        )
        .await
    }
}

impl<P: Payload> Relay<P> {
    /// Starts the inbox of `channel` (see [`Relay::start_on`]), on a store
    /// of its own, written by its own writer ([`Intake`]) on the runtime
    /// `front` (where events are acknowledged); `handler` hands each event
    /// to the survey, on the runtime this is called on.
    pub async fn start_inbox(
        channel: &str,
        owner: &str,
        handler: Arc<dyn Courier<P>>,
        store: Store,
        front: &tokio::runtime::Handle,
        key: Key,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Self>> {
        let writer = Writer::Intake(Intake::start(front, store.clone(), channel, owner));
        Self::start_on(
            Queue::Inbox,
            channel,
            owner,
            handler,
            store,
            writer,
            key,
            metrics,
        )
        .await
    }

    /// Starts the relay of `channel` on `queue` (as the instance `owner`):
    /// takes the rows this instance left before it stopped, and every row
    /// whose lease ran out, before it returns, then keeps looking for such
    /// rows.
    #[allow(clippy::too_many_arguments)]
    async fn start_on(
        queue: Queue,
        channel: &str,
        owner: &str,
        courier: Arc<dyn Courier<P>>,
        store: Store,
        writer: Writer,
        key: Key,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Self>> {
        let (delivered, rx) = mpsc::unbounded_channel();
        let outbox = Arc::new(Self {
            queue,
            channel: channel.to_string(),
            owner: owner.to_string(),
            courier,
            store,
            writer,
            key,
            metrics,
            queues: DashMap::new(),
            known: DashSet::new(),
            delivered,
            pending: AtomicUsize::new(0),
            settled: Notify::new(),
            steps: tokio::runtime::Handle::current(),
        });
        let taken = outbox.take_over(true).await?;
        if taken > 0 {
            tracing::info!(channel, taken, ?queue, "taking over rows left in hand");
        }
        tokio::spawn(delete_delivered(Arc::downgrade(&outbox), rx));
        tokio::spawn(sweep(Arc::downgrade(&outbox)));
        Ok(outbox)
    }

    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The lease a row written now gets.
    pub fn lease_until(&self, now: i64) -> i64 {
        now + LEASE.as_secs() as i64
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Hands over a committed row for `chat` (the recipient's keyed hash).
    pub fn push(self: &Arc<Self>, chat: &str, id: i64, delivery: P) {
        if !self.known.insert(id) {
            return;
        }
        self.pending.fetch_add(1, Ordering::SeqCst);
        match self.queue {
            Queue::Outbox => self.metrics.reply_queued(&self.channel),
            Queue::Inbox => self.metrics.event_queued(&self.channel),
        }
        match self.queues.entry(chat.to_string()) {
            // In id order: a row taken over from a stopped instance goes
            // before the newer ones of its chat.
            dashmap::Entry::Occupied(mut e) => {
                let q = e.get_mut();
                let at = q.partition_point(|(other, _)| *other < id);
                q.insert(at, (id, delivery));
            }
            dashmap::Entry::Vacant(e) => {
                e.insert(VecDeque::from([(id, delivery)]));
                let this = self.clone();
                let chat = chat.to_string();
                self.steps
                    .spawn(async move { this.drain_chat(&chat).await });
            }
        }
    }

    /// Writes a row of the inbox for `chat` (in its writer's next batch)
    /// and takes it in hand once committed. (The outbox's rows are written
    /// by the step that made them, in its own transaction.)
    pub async fn accept(self: &Arc<Self>, chat: &str, payload: P) -> Result<()> {
        let Writer::Intake(intake) = &self.writer else {
            anyhow::bail!("rows of the {:?} are written by the steps", self.queue);
        };
        let sealed = self.key.seal(&serde_json::to_vec(&payload)?);
        let id = intake.keep(chat, sealed).await?;
        self.push(chat, id, payload);
        Ok(())
    }

    /// Rows in hand and not yet delivered.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// Waits until every row in hand is delivered, or `limit` passes;
    /// returns how many remain (they stay in the outbox for the next start).
    pub async fn drain(&self, limit: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let settled = self.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            let left = self.pending();
            if left == 0 || tokio::time::Instant::now() >= deadline {
                return left;
            }
            let _ = tokio::time::timeout_at(deadline, settled).await;
        }
    }

    /// Sends a chat's rows in order until its queue is empty.
    async fn drain_chat(&self, chat: &str) {
        loop {
            let Some((id, delivery)) = self.queues.get_mut(chat).and_then(|mut q| q.pop_front())
            else {
                return;
            };
            if self.queue == Queue::Inbox && !self.older_done(chat, id).await {
                // An older event of this chat came into our hand meanwhile: it goes first.
                if let Some(mut q) = self.queues.get_mut(chat) {
                    let at = q.partition_point(|(other, _)| *other < id);
                    q.insert(at, (id, delivery));
                }
                continue;
            }
            if !self.send(chat, id, &delivery).await {
                // Left for the sweeper, with everything after it (order),
                // and free to take at its next round, here or elsewhere.
                let left = self.queues.remove(chat).map(|(_, q)| q).unwrap_or_default();
                let ids: Vec<i64> = std::iter::once(id)
                    .chain(left.iter().map(|(later, _)| *later))
                    .collect();
                let lease = Lease {
                    owner: &self.owner,
                    until: chrono::Utc::now().timestamp() - 1,
                };
                if let Err(e) = self.store.renew_queued(self.queue, &ids, lease).await {
                    tracing::warn!(error = format!("{e:#}"), "releasing rows given up for now");
                }
                for id in ids {
                    self.forget(id);
                }
                return;
            }
            if let dashmap::Entry::Occupied(e) = self.queues.entry(chat.to_string())
                && e.get().is_empty()
            {
                e.remove();
                return;
            }
        }
    }

    /// Waits until a chat has no older event in the inbox — one another
    /// instance acknowledged and is handling, or one left by an instance
    /// that stopped, until it is taken over — so a user's events are
    /// handled in order across instances too. `false` when an older one
    /// came into this instance's own hand. (One instance, on SQLite, keeps
    /// the order by its queues alone.)
    async fn older_done(&self, chat: &str, id: i64) -> bool {
        if self.store.backend() != crate::store::Backend::Postgres {
            return true;
        }
        let give_up = tokio::time::Instant::now() + 2 * LEASE + 2 * SWEEP_EVERY;
        loop {
            if self
                .queues
                .get(chat)
                .is_some_and(|q| q.front().is_some_and(|(other, _)| *other < id))
            {
                return false;
            }
            match self
                .store
                .older_queued(self.queue, &self.channel, chat, id)
                .await
            {
                Ok(false) => return true,
                Ok(true) if tokio::time::Instant::now() < give_up => {}
                Ok(true) => {
                    tracing::warn!(
                        channel = self.channel,
                        "an older event of a chat is still not handled; handling a newer one first"
                    );
                    return true;
                }
                Err(e) => {
                    tracing::warn!(error = format!("{e:#}"), "looking for older events");
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One row, with retries; `false` if it was given up for now.
    async fn send(&self, chat: &str, id: i64, delivery: &P) -> bool {
        let mut done = 0;
        for attempt in 1..=ATTEMPTS {
            match self.courier.deliver(delivery, &mut done).await {
                Ok(()) => {
                    let _ = self.delivered.send(id);
                    return true;
                }
                Err(Undelivered::Unreachable(reason)) => {
                    tracing::warn!(
                        channel = self.channel,
                        reason,
                        "a recipient cannot be reached; their reply is recorded, not sent"
                    );
                    let now = chrono::Utc::now().timestamp();
                    if let Err(e) = self
                        .store
                        .record_undeliverable(&self.channel, chat, reason, now)
                        .await
                    {
                        tracing::error!(
                            error = format!("{e:#}"),
                            "recording an undeliverable reply"
                        );
                    }
                    let _ = self.delivered.send(id);
                    return true;
                }
                Err(Undelivered::Later(wait)) => {
                    tracing::debug!(channel = self.channel, attempt, ?wait, "a reply waits");
                    if wait >= LEASE / 2 {
                        let until = self.lease_until(chrono::Utc::now().timestamp())
                            + wait.as_secs() as i64;
                        let lease = Lease {
                            owner: &self.owner,
                            until,
                        };
                        if let Err(e) = self.store.renew_queued(self.queue, &[id], lease).await {
                            tracing::warn!(error = format!("{e:#}"), "renewing a reply's lease");
                        }
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
        tracing::warn!(
            channel = self.channel,
            queue = ?self.queue,
            "a row could not be done with after {ATTEMPTS} attempts; it is tried again later"
        );
        false
    }

    /// A row is no longer in hand.
    fn forget(&self, id: i64) {
        if self.known.remove(&id).is_some() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            match self.queue {
                Queue::Outbox => self.metrics.reply_settled(&self.channel),
                Queue::Inbox => self.metrics.event_settled(&self.channel),
            }
            self.settled.notify_waiters();
        }
    }

    /// Takes over rows nobody is sending (with `own`, also this instance's
    /// from before a restart) and queues them; returns how many.
    async fn take_over(self: &Arc<Self>, own: bool) -> Result<usize> {
        let now = chrono::Utc::now().timestamp();
        let lease = Lease {
            owner: &self.owner,
            until: self.lease_until(now),
        };
        let rows = self
            .store
            .claim_queued(self.queue, &self.channel, lease, now, own, 10_000)
            .await?;
        let mut taken = 0;
        for row in rows {
            if self.known.contains(&row.id) {
                continue;
            }
            let opened = self
                .key
                .open(&row.sealed)
                .map_err(anyhow::Error::new)
                .and_then(|p| serde_json::from_slice::<P>(&p).context("reading a queued row"));
            match opened {
                Ok(delivery) => {
                    self.push(&row.chat, row.id, delivery);
                    taken += 1;
                }
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "an unreadable row is dropped");
                    self.writer.delete(self.queue, &[row.id]).await?;
                }
            }
        }
        Ok(taken)
    }
}

/// Deletes rows done with, many at a time.
async fn delete_delivered<P: Payload>(
    outbox: std::sync::Weak<Relay<P>>,
    mut rx: mpsc::UnboundedReceiver<i64>,
) {
    let mut ids = Vec::new();
    while rx.recv_many(&mut ids, 500).await > 0 {
        let Some(outbox) = outbox.upgrade() else {
            return;
        };
        loop {
            match outbox.writer.delete(outbox.queue, &ids).await {
                Ok(()) => break,
                // Rolled back with another step of its batch: at once.
                Err(e) if e.is::<BatchFailed>() => {}
                Err(e) => {
                    tracing::warn!(
                        error = format!("{e:#}"),
                        "deleting delivered replies; retrying"
                    );
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        for id in ids.drain(..) {
            outbox.forget(id);
        }
    }
}

/// Every few seconds, takes over rows whose lease ran out.
async fn sweep<P: Payload>(outbox: std::sync::Weak<Relay<P>>) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    every.tick().await;
    loop {
        every.tick().await;
        let Some(outbox) = outbox.upgrade() else {
            return;
        };
        if let Err(e) = outbox.take_over(false).await {
            tracing::warn!(error = format!("{e:#}"), "looking for undelivered replies");
        }
    }
}
