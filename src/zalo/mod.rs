//! The Zalo Official Account bridge: a signed webhook in, the OA message API
//! out. Questions go out as numbered text ("Trả lời 1–5"), which works on
//! every Zalo client; Zalo's v3 buttons are unconfirmed, so none are used.

mod client;
mod outbox;
mod render;
mod webhook;

pub use client::{SendError, ZaloClient};
pub use outbox::Outbox;
pub use render::{MAX_MESSAGE_CHARS, messages};
pub use webhook::{CHANNEL, routes, signature};

use std::sync::Arc;

/// Settings of the Zalo bridge; secrets come from the environment.
#[derive(Debug, Clone)]
pub struct ZaloConfig {
    pub app_id: String,
    /// The OA secret key: signs webhook events.
    pub oa_secret_key: String,
    /// The app secret key: authorises token refreshes.
    pub app_secret_key: String,
    /// First refresh token (later ones are kept in the database).
    pub refresh_token: Option<String>,
    pub access_token: Option<String>,
    /// Default `https://openapi.zalo.me`.
    pub api_url: String,
    /// Default `https://oauth.zaloapp.com`.
    pub oauth_url: String,
}

impl ZaloConfig {
    /// Reads `KHAOSAT_ZALO_*`; `None` when the app id or OA secret key is missing.
    pub fn from_env() -> Option<Self> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Some(Self {
            app_id: var("KHAOSAT_ZALO_APP_ID")?,
            oa_secret_key: var("KHAOSAT_ZALO_OA_SECRET_KEY")?,
            app_secret_key: var("KHAOSAT_ZALO_APP_SECRET_KEY").unwrap_or_default(),
            refresh_token: var("KHAOSAT_ZALO_REFRESH_TOKEN"),
            access_token: var("KHAOSAT_ZALO_ACCESS_TOKEN"),
            api_url: var("KHAOSAT_ZALO_API_URL")
                .unwrap_or_else(|| "https://openapi.zalo.me".into()),
            oauth_url: var("KHAOSAT_ZALO_OAUTH_URL")
                .unwrap_or_else(|| "https://oauth.zaloapp.com".into()),
        })
    }
}

/// The running bridge: its settings, API client and outbound queue.
pub struct Zalo {
    pub config: ZaloConfig,
    pub client: Arc<ZaloClient>,
    pub outbox: Outbox,
}
