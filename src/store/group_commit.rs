//! Group commit: the steps of many respondents in one transaction. Each
//! step is acknowledged once the batch has committed and is on disk; one
//! commit — one `fsync` on SQLite, one round trip on PostgreSQL — then
//! carries every step that arrived while the previous one was being
//! written. On SQLite the next batch's steps already run during that
//! `fsync` (`sqlite::sync_log`).
//!
//! Steps queue on a lane's lock in arrival order; the lane's committer takes
//! whatever has gathered, commits it and wakes its steps. SQLite has one
//! lane (it has one writer); PostgreSQL several, each respondent always on
//! the same one, so the server's connections are used side by side.
//!
//! A step runs with no savepoint of its own (on PostgreSQL a savepoint
//! costs two more round trips a step): a step
//! that fails, or is dropped halfway, takes its batch down with it. The
//! batch is rolled back and the steps already in it hear [`BatchFailed`]:
//! they wrote nothing that stays, and their callers run them again.

use std::sync::Arc;

use anyhow::{Result, anyhow};
use tokio::sync::{Mutex, Notify, oneshot};

use super::{Backend, Store, Tx};

/// A batch that could not be committed (or was rolled back for another of
/// its steps), or a step that lost a deadlock to another instance; the step
/// did nothing and may be tried again.
#[derive(Debug, thiserror::Error)]
#[error("the batch this step was in could not be committed: {0}")]
pub struct BatchFailed(pub String);

type Ack = oneshot::Sender<Result<(), String>>;

/// The open batch of a lane.
#[derive(Default)]
struct Batch {
    tx: Option<Tx>,
    waiting: Vec<Ack>,
    /// A step began and never ended: its future was dropped (a client that
    /// went away). The batch holds its writes and is rolled back before
    /// anything else uses it.
    step_open: bool,
}

impl Batch {
    /// Rolls back what a dropped step left, with the batch it was in.
    async fn undo_dropped_step(&mut self) {
        if self.step_open {
            self.abandon("a step of the batch was dropped halfway")
                .await;
        }
    }

    /// Gives the batch up: its writes are rolled back and its steps hear why.
    async fn abandon(&mut self, why: &str) {
        self.step_open = false;
        if let Some(tx) = self.tx.take()
            && let Err(e) = tx.rollback().await
        {
            // The connection goes back to the pool, which rolls back a
            // transaction left open before anyone uses it again.
            tracing::warn!(error = format!("{e:#}"), "rolling back a batch failed");
        }
        for ack in self.waiting.drain(..) {
            let _ = ack.send(Err(why.to_string()));
        }
    }
}

struct Lane {
    batch: Mutex<Batch>,
    /// Shared with the lane's committer, which holds no strong reference
    /// to the lane (so it ends with it).
    kick: Arc<Notify>,
}

/// The write path of the store's steps.
pub struct GroupCommit {
    store: Store,
    lanes: Vec<Arc<Lane>>,
}

impl GroupCommit {
    /// One lane on SQLite; on PostgreSQL half the pool's connections (the
    /// other half serve commits in flight, reads and the mixer).
    pub fn new(store: Store) -> Self {
        let lanes = match store.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => (store.pool_size / 2).max(1) as usize,
        };
        let lanes: Vec<Arc<Lane>> = (0..lanes)
            .map(|_| {
                Arc::new(Lane {
                    batch: Mutex::new(Batch::default()),
                    kick: Arc::new(Notify::new()),
                })
            })
            .collect();
        for lane in &lanes {
            tokio::spawn(commit_forever(Arc::downgrade(lane), lane.kick.clone()));
        }
        Self { store, lanes }
    }

    /// Runs `step` in a batch on the lane of `key` (a respondent's keyed
    /// hash); returns its value once the batch has committed.
    pub async fn step<T>(
        &self,
        key: &str,
        step: impl AsyncFnOnce(&mut Tx) -> Result<T>,
    ) -> Result<T> {
        let lane = &self.lanes[lane_of(key, self.lanes.len())];
        let (value, committed) = {
            let mut guard = lane.batch.lock().await;
            let batch = &mut *guard;
            batch.undo_dropped_step().await;
            let tx = match &mut batch.tx {
                Some(tx) => tx,
                empty => empty.insert(self.store.begin().await?),
            };
            // Until the step ends: if this future is dropped in between,
            // the next user of the batch rolls it back.
            batch.step_open = true;
            let result = step(tx).await;
            batch.step_open = false;
            match result {
                Ok(value) => {
                    let (ack, committed) = oneshot::channel();
                    batch.waiting.push(ack);
                    (value, committed)
                }
                Err(e) => {
                    // Its writes are in the batch: the batch goes, and the
                    // steps before it in there are run again by their callers.
                    batch
                        .abandon(&format!("another step of the batch failed: {e:#}"))
                        .await;
                    // Another instance's batch held what this step needed
                    // while waiting for ours (PostgreSQL chose this step to
                    // break the deadlock): it may be tried again.
                    if is_conflict(&e) {
                        return Err(BatchFailed(format!("{e:#}")).into());
                    }
                    return Err(e);
                }
            }
        };
        lane.kick.notify_one();
        match committed.await {
            Ok(Ok(())) => Ok(value),
            Ok(Err(why)) => Err(BatchFailed(why).into()),
            Err(_) => Err(BatchFailed(anyhow!("the committer stopped").to_string()).into()),
        }
    }
}

/// A lane's committer: commits what has gathered each time a step asks;
/// ends when the lane is gone.
async fn commit_forever(lane: std::sync::Weak<Lane>, kick: Arc<Notify>) {
    loop {
        kick.notified().await;
        let Some(lane) = lane.upgrade() else {
            return;
        };
        let (tx, waiting) = {
            let mut batch = lane.batch.lock().await;
            batch.undo_dropped_step().await;
            (batch.tx.take(), std::mem::take(&mut batch.waiting))
        };
        let Some(tx) = tx else {
            continue;
        };
        // The connection is free once the batch is written: the next batch
        // runs its steps while this one reaches the disk.
        let result = match tx.commit_unsynced().await {
            Ok(unsynced) => unsynced.sync().await,
            Err(e) => Err(e),
        }
        .map_err(|e| format!("{e:#}"));
        if let Err(e) = &result {
            tracing::error!(
                error = e,
                steps = waiting.len(),
                "a batch of steps could not be committed"
            );
        }
        for ack in waiting {
            let _ = ack.send(result.clone());
        }
    }
}

impl Drop for GroupCommit {
    /// Wakes the committers, which find their lanes gone and end.
    fn drop(&mut self) {
        let kicks: Vec<Arc<Notify>> = self.lanes.iter().map(|l| l.kick.clone()).collect();
        self.lanes.clear();
        for kick in kicks {
            kick.notify_one();
        }
    }
}

/// A deadlock or serialization failure: the step may succeed when tried
/// again.
fn is_conflict(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<sqlx::Error>()
            .and_then(|e| e.as_database_error())
            .and_then(|e| e.code())
            .is_some_and(|code| code == "40P01" || code == "40001")
    })
}

/// The lane a key's steps go to: the same one every time.
fn lane_of(key: &str, lanes: usize) -> usize {
    if lanes == 1 {
        return 0;
    }
    let h = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    (h % lanes as u64) as usize
}
