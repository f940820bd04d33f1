//! The contract between a channel and the survey: what a channel hands over
//! for each thing a respondent does, and what it gets back.

use serde::{Deserialize, Serialize};

use crate::engine::{Action, Reply};

/// A message from a respondent, as a channel hands it over (and as the
/// Zalo inbox keeps it, sealed, until it is handled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Channel name: `telegram`, `zalo`, `web`, `terminal`.
    pub channel: String,
    /// The channel's id of the user (never stored as is).
    pub user: String,
    /// The channel's id of this message, for deduplication.
    pub id: Option<String>,
    pub content: Content,
    /// Who stands behind `user`, as far as the channel can tell.
    pub origin: Origin,
    /// Where a conversation this message begins is kept instead of `user`
    /// (the web chat issues a new session when a token is accepted).
    pub successor: Option<String>,
    /// The platform's id of the message whose button was pressed (Telegram),
    /// so the reply can update or clear it.
    pub pressed: Option<String>,
}

/// Who stands behind a channel's user id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    /// A messaging platform's account (Telegram, Zalo): one person, as far
    /// as open access goes.
    Account,
    /// An anonymous browser at this client address (the web chat).
    Address(std::net::IpAddr),
    /// The terminal on the service's own machine.
    Local,
}

/// What the respondent sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Content {
    /// A start command, with a token or open-access payload if the link had one.
    Start(Option<String>),
    /// A command the channel recognised (`/quaylai`, `/huy`, `/huongdan`),
    /// already mapped to what it does.
    Command(Action),
    Text(String),
    /// A button press: the action and the session step the button was drawn at.
    Press {
        step: u32,
        action: Action,
    },
    /// Button data that was not made by us (forged or corrupted).
    BadPress,
    /// Anything else (sticker, photo, voice…).
    Other,
    /// A hand-over link opened in the web chat: its sealed code.
    Handover(String),
}

/// The result of handling a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Handled {
    pub replies: Vec<Reply>,
    /// The message id was processed before; nothing changed.
    pub duplicate: bool,
    /// The conversation now lives under the message's `successor`.
    pub moved: bool,
    /// A conversation is in progress after this message.
    pub open: bool,
}

impl Content {
    /// A press of the button whose data (`Action::encode`) came back.
    pub fn button(data: &str) -> Self {
        match Action::decode(data) {
            Some((step, action)) => Self::Press { step, action },
            None => Self::BadPress,
        }
    }
}
