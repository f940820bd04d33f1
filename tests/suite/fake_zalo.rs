//! A fake Zalo Official Account API on 127.0.0.1: the send-message and
//! token-refresh endpoints, recording what the bridge sent. Also builds the
//! webhook events Zalo would post, signed as Zalo signs them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use khaosat::secret::Secret;
use khaosat::settings::Settings;
use khaosat::zalo::{ZaloConfig, signature};
use serde_json::{Value, json};

pub const APP_ID: &str = "4242424242";
pub const OA_SECRET: &str = "oa-secret-key";
pub const APP_SECRET: &str = "app-secret-key";

#[derive(Debug, Clone)]
pub struct Sent {
    pub user: String,
    pub text: String,
    pub token: String,
    /// The buttons' (title, payload or address), in order.
    pub buttons: Vec<(String, String)>,
}

/// What the fake Zalo server knows and has seen.
#[derive(Default)]
pub struct Fake {
    pub valid_access: String,
    pub current_refresh: String,
    pub generation: u32,
    pub sent: Vec<Sent>,
    pub attempts: u32,
    pub refreshes: u32,
    /// Error codes to answer the next sends with.
    pub script: VecDeque<i64>,
    /// Every this many attempts, "rate limited" (-32); 0: never.
    pub rate_limit_every: u32,
    /// Every this many messages delivered, the access token expires (the
    /// next send hears -216 and the bridge must refresh); 0: never.
    pub expire_every: u32,
    /// Woken on every message sent.
    pub arrived: Arc<tokio::sync::Notify>,
}

pub type Shared = Arc<Mutex<Fake>>;

async fn send_message(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Json<Value> {
    let token = headers
        .get("access_token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut f = fake.lock().unwrap();
    f.attempts += 1;
    if let Some(code) = f.script.pop_front() {
        return Json(json!({ "error": code, "message": "scripted error" }));
    }
    if f.rate_limit_every > 0 && f.attempts % f.rate_limit_every == 0 {
        return Json(json!({ "error": -32, "message": "rate limited" }));
    }
    if token != f.valid_access {
        return Json(json!({ "error": -216, "message": "Access token is invalid" }));
    }
    let user = body["recipient"]["user_id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let text = body["message"]["text"].as_str().unwrap_or("").to_string();
    let buttons = body["message"]["attachment"]["payload"]["buttons"]
        .as_array()
        .map(|bs| {
            bs.iter()
                .map(|b| {
                    let title = b["title"].as_str().unwrap_or("").to_string();
                    assert!(!title.is_empty() && title.chars().count() <= 100);
                    let target = match b["type"].as_str() {
                        Some("oa.query.hide") => b["payload"].as_str(),
                        Some("oa.open.url") => b["payload"]["url"].as_str(),
                        other => panic!("a button of type {other:?}"),
                    };
                    (title, target.unwrap_or("").to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    f.sent.push(Sent {
        user,
        text,
        token,
        buttons,
    });
    if f.expire_every > 0 && (f.sent.len() as u32).is_multiple_of(f.expire_every) {
        f.valid_access = format!("expired-{}", f.sent.len());
    }
    f.arrived.notify_waiters();
    Json(
        json!({ "error": 0, "message": "Success", "data": { "message_id": format!("m{}", f.sent.len()) } }),
    )
}

async fn refresh_token(State(fake): State<Shared>, headers: HeaderMap, body: Bytes) -> Json<Value> {
    let form = String::from_utf8_lossy(&body).to_string();
    let field = |k: &str| {
        form.split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
            .unwrap_or("")
            .to_string()
    };
    let mut f = fake.lock().unwrap();
    let secret_ok = headers.get("secret_key").and_then(|v| v.to_str().ok()) == Some(APP_SECRET);
    if !secret_ok
        || field("app_id") != APP_ID
        || field("grant_type") != "refresh_token"
        || field("refresh_token") != f.current_refresh
    {
        return Json(json!({ "error": -14014, "error_description": "Invalid refresh token" }));
    }
    f.refreshes += 1;
    f.generation += 1;
    f.valid_access = format!("at-{}", f.generation);
    f.current_refresh = format!("rt-{}", f.generation);
    Json(
        json!({ "access_token": f.valid_access, "refresh_token": f.current_refresh, "expires_in": "90000" }),
    )
}

/// Starts the fake; it accepts the access token `at-0` and refresh token
/// `rt-0`. Returns its state and base URL.
pub async fn start() -> (Shared, String) {
    let fake: Shared = Arc::new(Mutex::new(Fake {
        valid_access: "at-0".into(),
        current_refresh: "rt-0".into(),
        ..Fake::default()
    }));
    let app = Router::new()
        .route("/v3.0/oa/message/cs", post(send_message))
        .route("/v4/oa/access_token", post(refresh_token))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, url)
}

/// Waits until `user` has received more than `seen` messages; returns them all.
pub async fn wait_sent(fake: &Shared, user: &str, seen: usize) -> Vec<String> {
    let arrived = fake.lock().unwrap().arrived.clone();
    loop {
        let next = arrived.notified();
        tokio::pin!(next);
        next.as_mut().enable();
        let mine: Vec<String> = fake
            .lock()
            .unwrap()
            .sent
            .iter()
            .filter(|s| s.user == user)
            .map(|s| s.text.clone())
            .collect();
        if mine.len() > seen {
            return mine;
        }
        next.await;
    }
}

/// The bridge's settings for talking to the fake at `url`.
pub fn config(url: &str, access: &str) -> ZaloConfig {
    ZaloConfig {
        app_id: APP_ID.into(),
        oa_secret_key: Secret::new(OA_SECRET),
        app_secret_key: Secret::new(APP_SECRET),
        refresh_token: Some(Secret::new("rt-0")),
        access_token: Some(Secret::new(access)),
        api_url: url.to_string(),
        oauth_url: url.to_string(),
        buttons: khaosat::zalo::DEFAULT_BUTTONS,
        event_window: std::time::Duration::from_secs(600),
    }
}

/// Turns the service's Zalo bridge on, talking to the fake at `url`, as
/// the `KHAOSAT_ZALO_*` variables would.
pub fn configure(settings: &mut Settings, url: &str, access: &str) {
    let z = &mut settings.zalo;
    z.app_id = Some(APP_ID.into());
    z.oa_secret_key = Some(Secret::new(OA_SECRET));
    z.app_secret_key = Some(Secret::new(APP_SECRET));
    z.refresh_token = Some(Secret::new("rt-0"));
    z.access_token = Some(Secret::new(access));
    z.api_url = url.to_string();
    z.oauth_url = url.to_string();
}

/// When the harness's clock starts (2021-02-01 09:00 in Vietnam), in
/// milliseconds, as Zalo stamps its events.
pub const HARNESS_STAMP: i64 = 1_612_144_800_000;

/// A webhook event as Zalo posts it, stamped at the harness's start time.
pub fn event(name: &str, user: &str, text: Option<&str>, msg_id: &str) -> String {
    event_at(name, user, text, msg_id, HARNESS_STAMP)
}

/// A webhook event stamped at `stamp` (epoch milliseconds).
pub fn event_at(name: &str, user: &str, text: Option<&str>, msg_id: &str, stamp: i64) -> String {
    let mut e = json!({
        "app_id": APP_ID,
        "user_id_by_app": format!("app-{user}"),
        "event_name": name,
        "timestamp": stamp.to_string(),
        "sender": { "id": user },
        "recipient": { "id": "oa-thang-binh" },
    });
    if let Some(t) = text {
        e["message"] = json!({ "text": t, "msg_id": msg_id });
    }
    e.to_string()
}

/// The `X-ZEvent-Signature` header value Zalo would send with `body`.
pub fn signature_header(body: &str) -> String {
    let event: Value = serde_json::from_str(body).expect("an event");
    let stamp = event["timestamp"].as_str().expect("a timestamp");
    format!(
        "mac={}",
        signature(APP_ID, body.as_bytes(), stamp, OA_SECRET)
    )
}
