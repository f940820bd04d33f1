//! Outbound messages, sent in order per recipient, without holding up the
//! webhook's acknowledgement.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use tokio::sync::mpsc;

use super::{SendError, ZaloClient};
use crate::store::Store;

/// One recipient's messages to send, in order.
struct Batch {
    user: String,
    respondent: String,
    texts: Vec<String>,
}

/// Per-recipient queues, each drained by its own task.
#[derive(Clone)]
pub struct Outbox {
    client: Arc<ZaloClient>,
    store: Store,
    queues: Arc<DashMap<String, mpsc::UnboundedSender<Batch>>>,
    /// Batches queued and not yet delivered (or given up on).
    pending: Arc<AtomicUsize>,
}

/// A queue's task ends after this long without messages.
const IDLE: Duration = Duration::from_secs(60);

impl Outbox {
    pub fn new(client: Arc<ZaloClient>, store: Store) -> Self {
        Self {
            client,
            store,
            queues: Arc::new(DashMap::new()),
            pending: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Queues texts for a Zalo user (`respondent` is its keyed hash, for records).
    pub fn send(&self, user: &str, respondent: &str, texts: Vec<String>) {
        let mut batch = Batch {
            user: user.to_string(),
            respondent: respondent.to_string(),
            texts,
        };
        self.pending.fetch_add(1, Ordering::SeqCst);
        loop {
            let sender = self
                .queues
                .entry(user.to_string())
                .or_insert_with(|| self.spawn(user.to_string()))
                .clone();
            match sender.send(batch) {
                Ok(()) => return,
                // That queue's task just closed after idling: start another.
                Err(mpsc::error::SendError(b)) => {
                    batch = b;
                    self.queues.remove_if(user, |_, s| s.same_channel(&sender));
                }
            }
        }
    }

    fn spawn(&self, user: String) -> mpsc::UnboundedSender<Batch> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Batch>();
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                match tokio::time::timeout(IDLE, rx.recv()).await {
                    Ok(Some(batch)) => this.send_and_count(batch).await,
                    Ok(None) => break,
                    Err(_) => {
                        // Refuse new batches, then finish the ones already queued.
                        rx.close();
                        while let Some(batch) = rx.recv().await {
                            this.send_and_count(batch).await;
                        }
                        break;
                    }
                }
            }
            this.queues.remove_if(&user, |_, s| s.is_closed());
        });
        tx
    }

    /// Waits until every queued batch is delivered, or `limit` passes;
    /// returns how many remain (for a graceful shutdown).
    pub async fn drain(&self, limit: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        while self.pending.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.pending.load(Ordering::SeqCst)
    }

    /// Sends one batch and counts it as no longer pending.
    async fn send_and_count(&self, batch: Batch) {
        self.send_batch(&batch).await;
        self.pending.fetch_sub(1, Ordering::SeqCst);
    }

    /// Sends a batch's texts in order, stopping at the first that fails.
    async fn send_batch(&self, batch: &Batch) {
        for text in &batch.texts {
            match self.client.send_text(&batch.user, text).await {
                Ok(()) => {}
                Err(SendError::Unreachable { code, reason }) => {
                    tracing::warn!(
                        code,
                        reason,
                        "a Zalo user cannot be reached; their reply is recorded, not sent"
                    );
                    let now = chrono::Utc::now().timestamp();
                    if let Err(e) = self
                        .store
                        .record_undeliverable("zalo", &batch.respondent, reason, now)
                        .await
                    {
                        tracing::error!(
                            error = format!("{e:#}"),
                            "recording an undeliverable reply"
                        );
                    }
                    return;
                }
                Err(e) => {
                    tracing::error!(error = %e, "a Zalo reply could not be sent");
                    return;
                }
            }
        }
    }
}
