//! Keyed hashes: what stands for a token, a channel user, an open-access
//! respondent or a platform message id in the store, so none is stored as
//! it is. All are under the service's key, which is not in the database.

use crate::key::Key;
use crate::token::Token;

/// The keyed hashes the survey stores.
pub struct Keys {
    key: Key,
}

impl Keys {
    pub fn new(key: Key) -> Self {
        Self { key }
    }

    /// The hash a token is stored under.
    pub fn token(&self, token: &Token) -> String {
        token.hash(&self.key)
    }

    /// The key of a channel user's conversation.
    pub fn respondent(&self, channel: &str, user: &str) -> String {
        self.key.mac("respondent", &format!("{channel}\n{user}"))
    }

    /// What stands for a staff member's account (never the account itself).
    pub fn staff(&self, channel: &str, user: &str) -> String {
        self.key.mac("staff", &format!("{channel}\n{user}"))
    }

    /// The open-access credential of a channel user (one ballot per unit).
    pub fn open_credential(&self, channel: &str, user: &str) -> String {
        self.key.mac("open", &format!("{channel}\n{user}"))
    }

    /// The tag a ballot in the box is kept under: the receipt's keyed hash
    /// (unique, like the receipt, but no link to it without the key).
    pub fn receipt_tag(&self, receipt: &str) -> String {
        self.key.mac("receipt", receipt)
    }

    /// Seals what must not be read from the database: a ballot in the box,
    /// a conversation in progress.
    pub fn seal(&self, plain: &[u8]) -> String {
        self.key.seal(plain)
    }

    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, crate::key::Unsealable> {
        self.key.open(sealed)
    }

    /// A processed message id: only compared, never read, and some ids
    /// embed a channel user id.
    pub fn inbound(&self, channel: &str, message_id: &str) -> String {
        self.key.mac("inbound", &format!("{channel}\n{message_id}"))
    }
}
