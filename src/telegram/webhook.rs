//! Webhook mode: `POST /telegram/webhook`. Telegram sends each update with
//! the secret we gave `setWebhook`; anything without it is refused (401)
//! and changes nothing. The update runs through the same tree as in polling
//! mode and is handled — and stored — before the 200, so one that failed is
//! delivered again by Telegram.

use std::ops::ControlFlow;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use subtle::ConstantTimeEq;
use teloxide::Bot;
use teloxide::types::{Me, Update};

use super::{Telegram, schema};
use crate::secret::Secret;

/// The secret header Telegram sends with every webhook call.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// What the webhook needs.
pub struct TelegramWebhook {
    pub bot: Bot,
    pub telegram: Arc<Telegram>,
    /// Who the bot is (commands may name it: `/start@bot`).
    pub me: Me,
    /// `[A-Za-z0-9_-]{1,256}`, given to `setWebhook`.
    pub secret: Secret,
}

/// `POST /telegram/webhook`.
pub fn router(webhook: Arc<TelegramWebhook>) -> Router {
    Router::new()
        .route("/telegram/webhook", post(receive))
        .with_state(webhook)
}

async fn receive(
    State(hook): State<Arc<TelegramWebhook>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let given = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !bool::from(given.ct_eq(hook.secret.expose().as_bytes())) {
        tracing::warn!("a Telegram webhook call without the right secret was refused");
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(update) = serde_json::from_slice::<Update>(&body) else {
        // Not an update we can read: acknowledged, so it is not sent again.
        return StatusCode::OK;
    };
    let deps = teloxide::dptree::deps![
        hook.bot.clone(),
        update,
        hook.telegram.clone(),
        hook.me.clone()
    ];
    match schema().dispatch(deps).await {
        ControlFlow::Break(Err(e)) => {
            tracing::error!(error = format!("{e:#}"), "a Telegram webhook update failed");
            StatusCode::SERVICE_UNAVAILABLE
        }
        // Handled, or nothing in the tree wanted it (an edit, a poll…).
        ControlFlow::Break(Ok(())) | ControlFlow::Continue(_) => StatusCode::OK,
    }
}

/// Registers the webhook with Telegram.
pub async fn register(bot: &Bot, url: &str, secret: &Secret) -> anyhow::Result<()> {
    use teloxide::prelude::*;
    let url = reqwest::Url::parse(url).with_context(|| format!("the webhook address {url}"))?;
    super::retry::send(|| {
        bot.set_webhook(url.clone())
            .secret_token(secret.expose().to_string())
            .send()
    })
    .await
    .context("setWebhook")?;
    Ok(())
}

/// A webhook secret as given: refused, with the fix, when it is too short
/// to keep anyone from guessing it, or not what Telegram accepts.
pub fn check_secret(secret: Secret) -> anyhow::Result<Secret> {
    let s = secret.expose();
    let allowed = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if s.len() < 24 || s.len() > 256 || !allowed {
        anyhow::bail!(
            "KHAOSAT_TELEGRAM_WEBHOOK_SECRET không dùng được: cần từ 24 đến 256 ký tự chữ, số, '_' hoặc '-' \
             (nó có {} ký tự). Tạo một chuỗi ngẫu nhiên, ví dụ `khaosat secret new`, và dùng chung cho mọi máy chủ. \
             (The webhook secret must be 24–256 characters of A–Z, a–z, 0–9, _ or -.)",
            s.len()
        );
    }
    Ok(secret)
}

/// A fresh random secret for `setWebhook`.
pub fn new_secret() -> Secret {
    Secret::new(crate::hex::random::<24>())
}
