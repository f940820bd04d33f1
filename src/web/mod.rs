//! The web chat channel: a page (embedded in the binary) and a JSON API over
//! the same survey service as every other channel.

mod chat;

pub use chat::{CHANNEL, ChatRequest, ChatResponse, WebButton, WebReply};

use std::sync::Arc;

use axum::Router;

use crate::survey::Survey;

/// What the web chat's handlers reach.
#[derive(Clone)]
pub struct WebChat {
    pub survey: Arc<Survey>,
    /// Mark the session cookie `Secure` (when served over HTTPS).
    pub secure_cookies: bool,
}

/// `/`, `/s/<token>` and `/api/chat`.
pub fn router(chat: WebChat) -> Router {
    chat::routes().with_state(chat)
}
