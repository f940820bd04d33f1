//! The Zalo Official Account bridge: a signed webhook in, the OA message API
//! out. Questions go out as numbered text, which works on every Zalo
//! client, with `oa.query.hide` buttons as an extra (their format is from
//! partner documentation, not Zalo's own; `KHAOSAT_ZALO_BUTTONS=0` turns
//! them off). A tap comes back as the user's text: the button's payload,
//! which carries the step like Telegram's callback data.

mod client;
mod courier;
mod inbox;
mod render;
mod webhook;

pub use client::{SendError, ZaloClient};
pub use courier::ZaloCourier;
pub use inbox::{Handler, Inbox};
pub use render::{
    BUTTON_PAYLOAD, MAX_MESSAGE_CHARS, MAX_MESSAGES_PER_STEP, ZaloButton, ZaloMessage, messages,
};
pub use webhook::{CHANNEL, signature};

use std::sync::Arc;

use axum::Router;

use crate::secret::Secret;
use crate::survey::Survey;

/// Settings of the Zalo bridge; secrets come from the environment.
#[derive(Debug, Clone)]
pub struct ZaloConfig {
    pub app_id: String,
    /// The OA secret key: signs webhook events.
    pub oa_secret_key: Secret,
    /// The app secret key: authorises token refreshes.
    pub app_secret_key: Secret,
    /// First refresh token (later ones are kept in the database).
    pub refresh_token: Option<Secret>,
    pub access_token: Option<Secret>,
    /// Default `https://openapi.zalo.me`.
    pub api_url: String,
    /// Default `https://oauth.zaloapp.com`.
    pub oauth_url: String,
    /// The most buttons one message carries; 0 sends text only.
    pub buttons: usize,
    /// Events stamped further than this from now are acknowledged and
    /// dropped: a replay of an old event changes nothing, even once its
    /// message id has been forgotten.
    pub event_window: std::time::Duration,
}

/// Ten minutes either way.
pub const DEFAULT_EVENT_WINDOW_MINUTES: u64 = 10;

/// Five buttons per message: what partner examples show working; Zalo's
/// own limit is unconfirmed.
pub const DEFAULT_BUTTONS: usize = 5;

/// The running bridge: its settings, the survey its events go to, its
/// inbox (events acknowledged, not yet handled) and its API client
/// (replies go out through the outbox with a [`ZaloCourier`]).
pub struct Zalo {
    pub config: ZaloConfig,
    pub survey: Arc<Survey>,
    pub client: Arc<ZaloClient>,
    pub inbox: Arc<Inbox>,
}

/// `POST /zalo/webhook`.
pub fn router(zalo: Arc<Zalo>) -> Router {
    webhook::routes().with_state(zalo)
}
