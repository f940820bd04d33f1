//! The web chat channel: a page (embedded in the binary) and a JSON API over
//! the same survey service as every other channel.

mod chat;
mod client;
mod session;

pub use chat::{CHANNEL, ChatRequest, ChatResponse, WebButton, WebReply};
pub use session::Sessions;

use std::sync::Arc;

use axum::Router;

use crate::survey::Survey;

/// What the web chat's handlers reach.
#[derive(Clone)]
pub struct WebChat {
    pub survey: Arc<Survey>,
    /// Issues and checks the signed session cookie.
    pub sessions: Sessions,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// `/`, `/s/<token>` and `/api/chat`.
pub fn router(chat: WebChat) -> Router {
    chat::routes().with_state(chat)
}
