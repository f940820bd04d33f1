//! The web chat: a page (embedded in the binary) and a JSON API over the
//! same survey service as every other channel.
//!
//! The browser is identified by a session the server issues and signs
//! (`session.rs`); reloading the page resumes. A token comes in the
//! address's fragment (`/#t=…`), which never reaches the server or a
//! proxy's log, and the page removes it from the address bar at once.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{WebChat, client};
use crate::engine::{Action, Button, Grid, Reply};
use crate::survey::{Content, Message, Origin};

/// The channel name of the web chat.
pub const CHANNEL: &str = "web";
const PAGE: &str = include_str!("page.html");

pub fn routes() -> Router<WebChat> {
    Router::new()
        .route("/", get(page))
        .route("/s/{token}", get(page_with_token))
        .route("/api/chat", post(chat))
        .route("/bao-cao/{id}/{file}", get(published_report))
}

/// A report made for a staff member's link (`survey/reports.rs`).
async fn published_report(
    State(app): State<WebChat>,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    match app.survey.published_file(&id, &file) {
        Some(f) => (
            [
                (header::CONTENT_TYPE, f.content_type.to_string()),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            f.bytes.as_ref().clone(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Đường dẫn này không còn dùng được (kết quả chỉ được giữ 24 giờ). Xin gửi lại “báo cáo” trong khung chat để nhận đường dẫn mới.",
        )
            .into_response(),
    }
}

async fn page() -> impl IntoResponse {
    page_response(PAGE.replace("{{START}}", ""))
}

/// `/s/<token>`: the page, which starts with this token.
async fn page_with_token(Path(token): Path<String>) -> impl IntoResponse {
    // Only link-safe characters go into the page.
    let safe: String = token
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(64)
        .collect();
    page_response(PAGE.replace("{{START}}", &safe))
}

fn page_response(html: String) -> Response {
    (
        [
            (header::CACHE_CONTROL, "no-store".to_string()),
            (
                header::CONTENT_SECURITY_POLICY,
                content_security_policy().to_string(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::REFERRER_POLICY, "no-referrer".to_string()),
        ],
        Html(html),
    )
        .into_response()
}

/// The page's policy: its one script allowed by hash (no inline script
/// otherwise), no framing, requests to this server only.
fn content_security_policy() -> &'static str {
    static POLICY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    POLICY.get_or_init(|| {
        use base64::Engine as _;
        use sha2::{Digest, Sha256};
        let script = PAGE
            .split_once("<script>")
            .and_then(|(_, rest)| rest.split_once("</script>"))
            .map_or("", |(script, _)| script);
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script));
        format!(
            "default-src 'none'; script-src 'sha256-{hash}'; style-src 'unsafe-inline'; \
             connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; \
             base-uri 'none'; form-action 'none'"
        )
    })
}

/// What the page sends.
#[derive(Debug, Deserialize)]
pub struct ChatRequest {
    /// `resume`, `reset`, `start`, `text`, `button` or `handover`.
    pub kind: String,
    #[serde(default)]
    pub value: String,
    /// Client-made id, so a retried request is not applied twice.
    #[serde(default)]
    pub id: Option<String>,
}

/// What the page receives.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChatResponse {
    pub replies: Vec<WebReply>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct WebReply {
    pub text: String,
    /// The choices are "edit question n" buttons, shown as a compact grid.
    #[serde(default)]
    pub compact: bool,
    pub choices: Vec<WebButton>,
    pub controls: Vec<WebButton>,
    /// A unit's compact form (leaders): shown instead of `text` and
    /// `choices`, a row of buttons per question.
    #[serde(default)]
    pub grid: Option<WebGrid>,
}

/// A unit's questions on one scale, answered in any order by tapping.
#[derive(Debug, Serialize, Deserialize)]
pub struct WebGrid {
    pub title: String,
    pub legend: String,
    pub rows: Vec<WebGridRow>,
    pub complete: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct WebGridRow {
    pub number: u16,
    pub label: String,
    /// The answer chosen so far, in words.
    pub answer: Option<String>,
    /// One button per option ("1" … "5", "?").
    pub options: Vec<WebButton>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct WebButton {
    pub label: String,
    /// What to post back as a `button` request.
    pub data: String,
    pub selected: bool,
}

fn web_reply(r: &Reply) -> WebReply {
    let button = |b: &Button| WebButton {
        label: b.label.clone(),
        data: b.action.encode(r.step),
        selected: b.selected,
    };
    if let Some(g) = &r.grid {
        return grid_reply(g, r);
    }
    WebReply {
        text: r.text.clone(),
        compact: r.edits_only(),
        choices: r.choices.iter().map(button).collect(),
        controls: r.controls.iter().map(button).collect(),
        grid: None,
    }
}

/// The compact form: every question of the unit with its options as
/// buttons; "Gửi đánh giá" once all are answered, and "Hủy".
fn grid_reply(g: &Grid, r: &Reply) -> WebReply {
    let rows = g
        .rows
        .iter()
        .map(|row| WebGridRow {
            number: row.number,
            label: row.label.clone(),
            answer: row.answer.as_ref().map(|(_, label)| label.clone()),
            options: g
                .options
                .iter()
                .enumerate()
                .map(|(i, short)| {
                    let n = i as u16 + 1;
                    WebButton {
                        label: short.clone(),
                        data: Action::Set(row.number, n).encode(r.step),
                        selected: row.answer.as_ref().is_some_and(|(a, _)| *a == n),
                    }
                })
                .collect(),
        })
        .collect();
    let mut controls = Vec::new();
    if g.complete {
        controls.push(WebButton {
            label: GRID_SEND.into(),
            data: Action::Confirm.encode(r.step),
            selected: false,
        });
    }
    controls.push(WebButton {
        label: GRID_CANCEL.into(),
        data: Action::Cancel.encode(r.step),
        selected: false,
    });
    WebReply {
        text: format!("{}\n{}", g.title, g.legend),
        compact: false,
        choices: Vec::new(),
        controls,
        grid: Some(WebGrid {
            title: g.title.clone(),
            legend: g.legend.clone(),
            rows,
            complete: g.complete,
        }),
    }
}

const GRID_SEND: &str = "✔ Gửi đánh giá";
const GRID_CANCEL: &str = "✖ Hủy";

/// Said when the service cannot take a message now.
const UNAVAILABLE: &str = "Xin lỗi, hệ thống đang gặp sự cố nên chưa ghi nhận được tin nhắn vừa rồi. Câu trả lời trước đó vẫn được giữ nguyên; xin thử lại sau ít phút.";

async fn chat(
    State(app): State<WebChat>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(req): Json<ChatRequest>,
) -> Response {
    let known = app.sessions.from_request(&headers);
    let content = match req.kind.as_str() {
        "resume" => Content::Start(None),
        // A shared device: forget this browser's session and begin anew.
        "reset" => Content::Start(None),
        "start" => Content::Start(Some(req.value).filter(|v| !v.trim().is_empty())),
        "text" => Content::Text(req.value),
        "button" => Content::button(&req.value),
        // A hand-over link from another channel (`/#h=<code>`).
        "handover" => Content::Handover(req.value),
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                "kind must be resume, reset, start, text, button or handover",
            )
                .into_response();
        }
    };
    if let (Some(old), "reset") = (&known, req.kind.as_str())
        && app.survey.abandon(CHANNEL, old).await.is_err()
    {
        return unavailable();
    }
    let sid = match (&known, req.kind.as_str()) {
        (Some(sid), kind) if kind != "reset" => sid.clone(),
        _ => app.sessions.issue(),
    };
    // Ids are scoped to this browser session.
    let id = req
        .id
        .filter(|i| !i.is_empty() && i.len() <= 64)
        .map(|i| format!("{sid}:{i}"));
    let successor = app.sessions.issue();
    let message = Message {
        channel: CHANNEL.to_string(),
        user: sid.clone(),
        id,
        content,
        origin: Origin::Address(client::address(peer, &headers, &app.trusted_proxies)),
        // A conversation begun with a token gets a session of its own.
        successor: Some(successor.clone()),
        pressed: None,
    };
    let Ok(handled) = app.survey.handle(message).await else {
        return unavailable();
    };
    let body = ChatResponse {
        replies: handled.replies.iter().map(web_reply).collect(),
    };
    let mut response = Json(body).into_response();
    let cookie = if handled.moved {
        app.sessions.cookie(&successor)
    } else if !handled.open {
        // Nothing to come back to: no session stays on the device.
        known.is_some().then(|| app.sessions.clear())
    } else if known.as_deref() != Some(sid.as_str()) {
        app.sessions.cookie(&sid)
    } else {
        None
    };
    if let Some(v) = cookie {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// The polite answer when the service cannot take a message now.
fn unavailable() -> Response {
    let body = ChatResponse {
        replies: vec![WebReply {
            compact: false,
            text: UNAVAILABLE.into(),
            choices: Vec::new(),
            controls: Vec::new(),
            grid: None,
        }],
    };
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}
