//! Sending a step's replies from the outbox as Zalo consultation messages.

use std::sync::Arc;
use std::time::Duration;

use super::{SendError, ZaloClient, render};
use crate::outbox::{Courier, Delivering, Delivery, Undelivered};

/// Sends Zalo deliveries through the OA API client.
pub struct ZaloCourier {
    pub client: Arc<ZaloClient>,
    /// The most buttons a message carries (0: text only).
    pub buttons: usize,
    /// The web chat's address, offered under the greeting.
    pub web: Option<String>,
}

/// Zalo's rate limit (after the client's own back-off) or the network.
const LATER: Duration = Duration::from_secs(5);
/// No access token yet: the operator has to set one.
const NO_TOKEN: Duration = Duration::from_secs(60);

impl Courier for ZaloCourier {
    fn deliver<'a>(&'a self, delivery: &'a Delivery, done: &'a mut usize) -> Delivering<'a> {
        Box::pin(async move {
            let messages = render::messages(&delivery.replies, self.buttons, self.web.as_deref());
            if messages.len() > render::MAX_MESSAGES_PER_STEP && *done == 0 {
                // Beyond the free replies: Zalo may charge for or refuse the rest.
                tracing::warn!(
                    messages = messages.len(),
                    "a step's replies need more messages than Zalo's free replies to one message"
                );
            }
            while let Some(message) = messages.get(*done) {
                match self.client.send(&delivery.recipient, message).await {
                    Ok(()) => {}
                    Err(SendError::Unreachable { reason, .. }) => {
                        return Err(Undelivered::Unreachable(reason));
                    }
                    Err(SendError::NoToken) => return Err(Undelivered::Later(NO_TOKEN)),
                    Err(e @ (SendError::Other(_) | SendError::Refused { code: -32 | 0, .. })) => {
                        tracing::warn!(error = %e, "a Zalo reply waits");
                        return Err(Undelivered::Later(LATER));
                    }
                    // Refused for good: no retry would change it; the next
                    // message still goes out.
                    Err(e @ SendError::Refused { .. }) => {
                        tracing::error!(error = %e, "Zalo refused a reply");
                    }
                }
                *done += 1;
            }
            Ok(())
        })
    }
}
