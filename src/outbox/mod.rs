//! Delivering replies durably. A conversation step writes its replies to
//! the `outbox` table in its own transaction (`survey`); after the commit
//! they are handed to the channel's [`Outbox`], which sends them through the
//! channel's [`Courier`] in order per chat, retrying with the platform's
//! back-off, and deletes each row once delivered. After a crash the rows
//! still there are sent at start; rows an instance left behind are taken
//! over by another once their lease runs out.
//!
//! The web chat has no courier: its replies are the HTTP response, and a
//! row stays until the browser's next message shows it has them (so a
//! retried request gets the same replies again).

mod intake;
mod sender;

pub use sender::{Outbox, Payload, Relay};

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::engine::Reply;

/// One step's replies to one chat, as sealed in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// The platform's address of the chat (Telegram chat id, Zalo user id).
    pub recipient: String,
    /// The platform's id of the message whose button was pressed, if any.
    #[serde(default)]
    pub pressed: Option<String>,
    /// The press answered one question of the compact form (which can be
    /// updated in place).
    #[serde(default)]
    pub tap: bool,
    pub replies: Vec<Reply>,
}

/// Why a delivery did not go out.
#[derive(Debug, Clone, PartialEq)]
pub enum Undelivered {
    /// Try again after this long (a rate limit, the network, the platform down).
    Later(Duration),
    /// The recipient cannot be reached, for this reason: recorded for
    /// staff, not retried.
    Unreachable(&'static str),
}

/// The future a courier's delivery runs as.
pub type Delivering<'a> = Pin<Box<dyn Future<Output = Result<(), Undelivered>> + Send + 'a>>;

/// How a channel sends one delivery: its messages in order, skipping the
/// first `done` (sent by an earlier attempt) and counting up as it goes.
/// (On the inbox, how one event is handled.)
pub trait Courier<P = Delivery>: Send + Sync + 'static {
    fn deliver<'a>(&'a self, delivery: &'a P, done: &'a mut usize) -> Delivering<'a>;
}
