//! The Zalo inbox: an event is written here — sealed, in a batch of the
//! write path — and Zalo hears "200" as soon as that batch commits; the
//! step runs behind it, in order per user, and the row goes once the step
//! is stored. After a crash, what was acknowledged and not yet handled is
//! handled at the next start (or by another instance once its lease ran
//! out); an event handled twice is recognised by its message id.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use crate::outbox::{Courier, Delivering, Relay, Undelivered};
use crate::survey::{Message, Survey};

/// The inbox of one channel: acknowledged events in hand.
pub type Inbox = Relay<Message>;

/// Hands the inbox's events to the survey.
pub struct Handler {
    pub survey: Arc<Survey>,
}

/// After a step that failed (the database away): try again in a second.
const RETRY: Duration = Duration::from_secs(1);

impl Courier<Message> for Handler {
    fn deliver<'a>(&'a self, message: &'a Message, _: &'a mut usize) -> Delivering<'a> {
        Box::pin(async move {
            match self.survey.handle(message.clone()).await {
                Ok(_) => Ok(()),
                Err(e) => {
                    tracing::warn!(
                        error = format!("{e:#}"),
                        "a Zalo event's step failed; retrying"
                    );
                    Err(Undelivered::Later(RETRY))
                }
            }
        })
    }
}

/// Writes `message` to the inbox; returns once it is durable (and in hand).
pub async fn accept(inbox: &Arc<Inbox>, survey: &Survey, message: Message) -> Result<()> {
    let chat = survey.respondent_key(&message.channel, &message.user);
    inbox.accept(&chat, message).await
}
