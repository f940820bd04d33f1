//! Outbound messages, sent in order per recipient, without holding up the
//! webhook's acknowledgement.

use std::sync::Arc;
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
}

/// A queue's task ends after this long without messages.
const IDLE: Duration = Duration::from_secs(60);

impl Outbox {
    pub fn new(client: Arc<ZaloClient>, store: Store) -> Self {
        Self {
            client,
            store,
            queues: Arc::new(DashMap::new()),
        }
    }

    /// Queues texts for a Zalo user (`respondent` is its keyed hash, for records).
    pub fn send(&self, user: &str, respondent: &str, texts: Vec<String>) {
        let mut batch = Batch {
            user: user.to_string(),
            respondent: respondent.to_string(),
            texts,
        };
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
                    Ok(Some(batch)) => this.deliver(batch).await,
                    Ok(None) => break,
                    Err(_) => {
                        // Refuse new batches, then finish the ones already queued.
                        rx.close();
                        while let Some(batch) = rx.recv().await {
                            this.deliver(batch).await;
                        }
                        break;
                    }
                }
            }
            this.queues.remove_if(&user, |_, s| s.is_closed());
        });
        tx
    }

    async fn deliver(&self, batch: Batch) {
        for text in &batch.texts {
            match self.client.send_text(&batch.user, text).await {
                Ok(()) => {}
                Err(SendError::NoInteraction) => {
                    tracing::warn!(
                        "a Zalo user has not written for 7 days; their reply is recorded, not sent"
                    );
                    let now = chrono::Utc::now().timestamp();
                    if let Err(e) = self
                        .store
                        .record_undeliverable(
                            "zalo",
                            &batch.respondent,
                            "no_interaction_7_days",
                            now,
                        )
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
