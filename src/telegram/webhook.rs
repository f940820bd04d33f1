//! Webhook mode: `POST /telegram/webhook`. Telegram sends each update with
//! the secret we gave `setWebhook`; anything without it is refused (401)
//! and changes nothing. The update is handled — and stored — before the
//! 200, so one that failed is delivered again by Telegram.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use subtle::ConstantTimeEq;
use teloxide::Bot;
use teloxide::types::{Update, UpdateKind};

use super::handlers::{self, Staff};
use crate::web::AppState;

/// The secret header Telegram sends with every webhook call.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// What the webhook needs.
pub struct TelegramWebhook {
    pub bot: Bot,
    pub staff: Staff,
    /// `[A-Za-z0-9_-]{1,256}`, given to `setWebhook`.
    pub secret: String,
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/telegram/webhook", post(webhook))
}

async fn webhook(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let Some(tg) = app.telegram.clone() else {
        return StatusCode::NOT_FOUND;
    };
    let given = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !bool::from(given.ct_eq(tg.secret.as_bytes())) {
        tracing::warn!("a Telegram webhook call without the right secret was refused");
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(update) = serde_json::from_slice::<Update>(&body) else {
        // Not an update we can read: acknowledged, so it is not sent again.
        return StatusCode::OK;
    };
    let survey = app.survey.clone();
    let result = match update.kind.clone() {
        UpdateKind::Message(m) => {
            handlers::route_message(tg.bot.clone(), update, m, survey, tg.staff.clone()).await
        }
        UpdateKind::CallbackQuery(q) => {
            handlers::on_button(tg.bot.clone(), update, q, survey).await
        }
        _ => Ok(()),
    };
    match result {
        Ok(()) => StatusCode::OK,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "a Telegram webhook update failed");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

/// Registers the webhook with Telegram.
pub async fn register(bot: &Bot, url: &str, secret: &str) -> anyhow::Result<()> {
    use teloxide::prelude::*;
    let url =
        reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("the webhook address {url}: {e}"))?;
    super::retry::send(|| {
        bot.set_webhook(url.clone())
            .secret_token(secret.to_string())
            .send()
    })
    .await
    .map_err(|e| anyhow::anyhow!("setWebhook: {e}"))?;
    Ok(())
}

/// A fresh random secret for `setWebhook`.
pub fn new_secret() -> String {
    crate::token::hex(&rand::random::<[u8; 24]>())
}
