//! Keyed hashes: what stands for a channel user, an open-access respondent
//! or a platform message id in the store, so none is stored as it is.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The instance's key for keyed hashes.
pub struct Keys {
    secret: String,
}

impl Keys {
    pub fn new(secret: String) -> Self {
        Self { secret }
    }

    /// The key of a channel user's conversation.
    pub fn respondent(&self, channel: &str, user: &str) -> String {
        self.keyed("respondent", channel, user)
    }

    /// The open-access credential of a channel user (one ballot per unit).
    pub fn open_credential(&self, channel: &str, user: &str) -> String {
        self.keyed("open", channel, user)
    }

    /// A processed message id: only compared, never read, and some ids
    /// embed a channel user id.
    pub fn inbound(&self, channel: &str, message_id: &str) -> String {
        self.keyed("inbound", channel, message_id)
    }

    fn keyed(&self, purpose: &str, channel: &str, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.secret.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(format!("{purpose}\n{channel}\n{value}").as_bytes());
        crate::hex::encode(&mac.finalize().into_bytes())
    }
}
