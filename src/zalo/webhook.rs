//! `POST /zalo/webhook`: Zalo's events, verified — signature, then time —
//! before anything is done with them, kept durably in the inbox and
//! acknowledged at once; the steps run behind (`inbox.rs`).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{BUTTON_PAYLOAD, Zalo};
use crate::hex;
use crate::survey::{Content, Message};

/// The channel name of Zalo.
pub const CHANNEL: &str = "zalo";

pub(super) fn routes() -> Router<Arc<Zalo>> {
    Router::new().route("/zalo/webhook", post(webhook))
}

/// Zalo's event signature: `sha256(app_id + body + timestamp + oa_secret_key)`,
/// hex (plain SHA-256, not HMAC).
pub fn signature(app_id: &str, body: &[u8], timestamp: &str, oa_secret_key: &str) -> String {
    let mut h = Sha256::new();
    h.update(app_id.as_bytes());
    h.update(body);
    h.update(timestamp.as_bytes());
    h.update(oa_secret_key.as_bytes());
    hex::encode(&h.finalize())
}

#[derive(Debug, Deserialize)]
struct Stamp {
    timestamp: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct Event {
    #[serde(default)]
    event_name: String,
    sender: Option<Party>,
    message: Option<EventMessage>,
}

#[derive(Debug, Deserialize)]
struct Party {
    id: String,
}

#[derive(Debug, Deserialize)]
struct EventMessage {
    text: Option<String>,
    msg_id: Option<String>,
}

async fn webhook(State(zalo): State<Arc<Zalo>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    // 1. The signature, on the raw body, in constant time.
    let mac = headers
        .get("x-zevent-signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("mac="))
        .map(str::to_ascii_lowercase);
    let timestamp = serde_json::from_slice::<Stamp>(&body)
        .ok()
        .and_then(|s| match s.timestamp {
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
    let (Some(mac), Some(timestamp)) = (mac, timestamp) else {
        return StatusCode::UNAUTHORIZED;
    };
    let expected = signature(
        &zalo.config.app_id,
        &body,
        &timestamp,
        zalo.config.oa_secret_key.expose(),
    );
    if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
        tracing::warn!("a Zalo webhook call with a wrong signature was refused");
        return StatusCode::UNAUTHORIZED;
    }
    // 2. Its time: an event stamped long ago (or ahead) is a replay, or
    // too late to matter. Acknowledged, so Zalo stops retrying; dropped.
    let now = zalo.survey.now().timestamp_millis();
    let window = zalo.config.event_window.as_millis() as i64;
    match timestamp.parse::<i64>() {
        Ok(stamp) if (now - stamp).abs() <= window => {}
        _ => {
            tracing::warn!(%timestamp, "a Zalo event outside the time window was dropped");
            return StatusCode::OK;
        }
    }
    // 3. The event. Anything we do not handle is acknowledged and ignored.
    let Ok(event) = serde_json::from_slice::<Event>(&body) else {
        return StatusCode::OK;
    };
    let Some(user) = event.sender.map(|s| s.id) else {
        return StatusCode::OK;
    };
    let msg_id = event.message.as_ref().and_then(|m| m.msg_id.clone());
    let (content, id) = match event.event_name.as_str() {
        "follow" => (Content::Start(None), format!("follow:{user}:{timestamp}")),
        "user_send_text" => {
            let text = event.message.and_then(|m| m.text).unwrap_or_default();
            let content = if let Some(data) = text.trim().strip_prefix(BUTTON_PAYLOAD) {
                // A tap: the button's payload came back as the user's text.
                Content::button(data)
            } else if let Some(rest) = text.trim().strip_prefix("/start") {
                Content::Start(Some(rest.trim().to_string()).filter(|s| !s.is_empty()))
            } else {
                Content::Text(text)
            };
            (
                content,
                msg_id.unwrap_or_else(|| format!("text:{user}:{timestamp}")),
            )
        }
        name if name.starts_with("user_send_") => (
            Content::Other,
            msg_id.unwrap_or_else(|| format!("{name}:{user}:{timestamp}")),
        ),
        _ => return StatusCode::OK,
    };
    let message = Message {
        channel: CHANNEL.to_string(),
        user: user.clone(),
        id: Some(id),
        content,
        origin: crate::survey::Origin::Account,
        successor: None,
        pressed: None,
    };
    // 4. Durable in the inbox, then "200": the step runs behind it.
    match super::inbox::accept(&zalo.inbox, &zalo.survey, message).await {
        Ok(()) => StatusCode::OK,
        // Nothing was stored: let Zalo deliver the event again.
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "a Zalo event could not be kept");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}
