//! The HTTP server: the web chat, the Zalo and Telegram webhooks, health and
//! metrics. One axum router, built the same way in production and in tests.

mod chat;
mod ops;

pub use chat::{ChatRequest, ChatResponse, WebButton, WebReply};

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;

use crate::survey::Survey;
use crate::zalo::Zalo;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub survey: Arc<Survey>,
    /// Mark the session cookie `Secure` (when served over HTTPS).
    pub secure_cookies: bool,
    /// The Zalo bridge, when configured.
    pub zalo: Option<Arc<Zalo>>,
    /// The Telegram bot in webhook mode, when configured.
    pub telegram: Option<Arc<crate::telegram::TelegramWebhook>>,
}

/// Largest request body accepted (a chat message is far smaller).
const BODY_LIMIT: usize = 64 * 1024;

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(chat::routes())
        .merge(ops::routes())
        .merge(crate::zalo::routes())
        .merge(crate::telegram::routes())
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}
