//! A fake Telegram Bot API server on 127.0.0.1, speaking the JSON of the
//! methods the bot uses. Tests queue updates and read what the bot sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use khaosat::secret::Secret;
use khaosat::settings::Settings;
use serde_json::{Value, json};
use tokio::sync::Notify;

/// A message the bot sent.
#[derive(Debug, Clone)]
pub struct Sent {
    pub chat: i64,
    pub message_id: i64,
    pub text: String,
    /// Rows of `(label, callback_data)`.
    pub keyboard: Vec<Vec<(String, String)>>,
}

impl Sent {
    pub fn button(&self, label: &str) -> Option<String> {
        self.keyboard
            .iter()
            .flatten()
            .find(|(l, _)| l.contains(label))
            .map(|(_, d)| d.clone())
    }
}

#[derive(Default)]
pub struct Api {
    /// Updates to deliver, and whether `getUpdates` has returned them yet.
    queue: Vec<(Value, bool)>,
    next_update: i64,
    /// The highest offset the bot confirmed.
    pub confirmed: i64,
    pub sent: Vec<Sent>,
    next_message: i64,
    pub answered_callbacks: Vec<String>,
    pub removed_keyboards: Vec<(i64, i64)>,
    /// editMessageText calls (the compact form edited in place).
    pub edits: usize,
    pub commands: Vec<String>,
    /// Command lists registered for single chats (the staff's).
    pub scoped_commands: Vec<(i64, Vec<String>)>,
    /// How many times `getUpdates` returned each update id.
    pub deliveries: HashMap<i64, u32>,
    /// When each chat's latest update was offered, until the bot answers it.
    offered: HashMap<i64, Instant>,
    /// Offered-to-first-reply times, for the benchmark.
    pub latencies: Vec<Duration>,
    /// Messages sent per chat, watched by waiting respondents.
    counts: HashMap<i64, tokio::sync::watch::Sender<usize>>,
    /// `(url, secret)` given to setWebhook.
    pub webhook: Option<(String, String)>,
    /// Files sent with sendDocument: `(chat, file name, bytes)`.
    pub documents: Vec<(i64, String, Vec<u8>)>,
    /// Answer the next sendMessage calls with 429.
    pub rate_limit_next: u32,
    pub rate_limited: u32,
    /// `getUpdates` hand-overs so far and the highest confirmed offset,
    /// watched by tests waiting for the bot.
    progress: tokio::sync::watch::Sender<(u64, i64)>,
}

/// The bot token tests use.
pub const TOKEN: &str = "123456:TEST-TOKEN";

#[derive(Clone)]
pub struct FakeTelegram {
    pub url: String,
    pub api: Arc<Mutex<Api>>,
    arrived: Arc<Notify>,
}

fn ok(result: Value) -> Json<Value> {
    Json(json!({ "ok": true, "result": result }))
}

fn user(id: i64) -> Value {
    json!({ "id": id, "is_bot": false, "first_name": "Người dân", "language_code": "vi" })
}

fn chat(id: i64) -> Value {
    json!({ "id": id, "type": "private", "first_name": "Người dân" })
}

fn bot_message(chat_id: i64, message_id: i64, text: &str) -> Value {
    json!({
        "message_id": message_id, "date": 1612148400, "chat": chat(chat_id), "text": text,
        "from": { "id": 777, "is_bot": true, "first_name": "Khảo sát", "username": "khaosat_test_bot" },
    })
}

/// Rows of `(label, callback_data)` of a request's inline keyboard.
fn keyboard_of(p: &Value) -> Vec<Vec<(String, String)>> {
    p["reply_markup"]["inline_keyboard"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    row.as_array()
                        .into_iter()
                        .flatten()
                        .map(|b| {
                            let label = b["text"].as_str().unwrap_or("").to_string();
                            (label, b["callback_data"].as_str().unwrap_or("").to_string())
                        })
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The request's parameters, sent as JSON or (for methods that can upload
/// files) as multipart form data.
fn params(body: &[u8]) -> Value {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return v;
    }
    let text = String::from_utf8_lossy(body);
    let mut map = serde_json::Map::new();
    for part in text
        .split("Content-Disposition: form-data; name=\"")
        .skip(1)
    {
        let Some((name, rest)) = part.split_once('"') else {
            continue;
        };
        let Some((_, value)) = rest.split_once("\r\n\r\n") else {
            continue;
        };
        let value = value.split("\r\n--").next().unwrap_or("");
        map.insert(name.to_string(), Value::String(value.to_string()));
    }
    Value::Object(map)
}

/// The file name and bytes of the multipart part named `field`.
fn file_part(body: &[u8], field: &str) -> Option<(String, Vec<u8>)> {
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        hay.get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|i| i + from)
    };
    let boundary_end = find(body, b"\r\n", 0)?;
    let boundary = [b"\r\n", &body[..boundary_end]].concat();
    let header = format!("name=\"{field}\"; filename=\"");
    let at = find(body, header.as_bytes(), 0)? + header.len();
    let name_end = find(body, b"\"", at)?;
    let name = String::from_utf8_lossy(&body[at..name_end]).into_owned();
    let start = find(body, b"\r\n\r\n", name_end)? + 4;
    let end = find(body, &boundary, start)?;
    Some((name, body[start..end].to_vec()))
}

async fn method(
    State(fake): State<FakeTelegram>,
    Path((_bot, method)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Json<Value> {
    let p = params(&body);
    match method.to_ascii_lowercase().as_str() {
        "getme" => ok(json!({
            "id": 777, "is_bot": true, "first_name": "Khảo sát", "username": "khaosat_test_bot",
            "can_join_groups": false, "can_read_all_group_messages": false,
            "supports_inline_queries": false, "has_main_web_app": false,
        })),
        "getwebhookinfo" => {
            ok(json!({ "url": "", "has_custom_certificate": false, "pending_update_count": 0 }))
        }
        "deletewebhook" => ok(json!(true)),
        "setwebhook" => {
            let mut api = fake.api.lock().unwrap();
            api.webhook = Some((
                p["url"].as_str().unwrap_or("").to_string(),
                p["secret_token"].as_str().unwrap_or("").to_string(),
            ));
            ok(json!(true))
        }
        "setmycommands" => {
            let names = p["commands"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c["command"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let mut api = fake.api.lock().unwrap();
            match p["scope"]["chat_id"].as_i64() {
                Some(chat) => api.scoped_commands.push((chat, names)),
                None => api.commands = names,
            }
            ok(json!(true))
        }
        "getupdates" => {
            let offset = p["offset"].as_i64().unwrap_or(0);
            // As Telegram: at most `limit` updates a call, 100 unless asked.
            let limit = p["limit"].as_u64().unwrap_or(100).clamp(1, 100) as usize;
            let wait = p["timeout"].as_u64().unwrap_or(0).min(1);
            for round in 0..2 {
                let notified = fake.arrived.notified();
                {
                    let mut api = fake.api.lock().unwrap();
                    api.confirmed = api.confirmed.max(offset);
                    // Confirmed: returned before, and below the offset.
                    api.queue.retain(|(u, returned)| {
                        !(*returned && u["update_id"].as_i64().unwrap_or(0) < offset)
                    });
                    if !api.queue.is_empty() || round == 1 || wait == 0 {
                        let batch: Vec<Value> = api
                            .queue
                            .iter()
                            .take(limit)
                            .map(|(u, _)| u.clone())
                            .collect();
                        let ids: Vec<i64> = api
                            .queue
                            .iter()
                            .take(limit)
                            .filter(|(_, returned)| !returned)
                            .map(|(u, _)| u["update_id"].as_i64().unwrap_or(0))
                            .collect();
                        let handed = ids.len() as u64;
                        for id in ids {
                            *api.deliveries.entry(id).or_default() += 1;
                        }
                        let confirmed = api.confirmed;
                        api.progress
                            .send_modify(|(n, c)| (*n, *c) = (*n + handed, confirmed));
                        for entry in api.queue.iter_mut().take(limit) {
                            entry.1 = true;
                        }
                        return ok(Value::Array(batch));
                    }
                }
                let _ = tokio::time::timeout(Duration::from_millis(300), notified).await;
            }
            ok(json!([]))
        }
        "sendmessage" => {
            let mut api = fake.api.lock().unwrap();
            if api.rate_limit_next > 0 {
                api.rate_limit_next -= 1;
                api.rate_limited += 1;
                return Json(json!({
                    "ok": false, "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": { "retry_after": 1 },
                }));
            }
            let chat_id = p["chat_id"].as_i64().unwrap_or(0);
            let text = p["text"].as_str().unwrap_or("").to_string();
            if let Some(t) = api.offered.remove(&chat_id) {
                api.latencies.push(t.elapsed());
            }
            let message_id = api.record_sent(chat_id, &text, keyboard_of(&p));
            ok(bot_message(chat_id, message_id, &text))
        }
        "senddocument" => {
            // The file's part, read as bytes: it is not text. teloxide
            // names that part in the field: `attach://<part>`.
            let part = p["document"].as_str().unwrap_or("");
            let part = part.strip_prefix("attach://").unwrap_or("document");
            let (name, bytes) = file_part(&body, part).unwrap_or_default();
            let mut api = fake.api.lock().unwrap();
            let chat_id = p["chat_id"]
                .as_str()
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            api.documents.push((chat_id, name.clone(), bytes));
            // Seen in the chat as its caption, after the file name.
            let text = format!("[{name}] {}", p["caption"].as_str().unwrap_or(""));
            let message_id = api.record_sent(chat_id, &text, Vec::new());
            ok(bot_message(chat_id, message_id, &text))
        }
        "editmessagereplymarkup" => {
            let (c, m) = (
                p["chat_id"].as_i64().unwrap_or(0),
                p["message_id"].as_i64().unwrap_or(0),
            );
            fake.api.lock().unwrap().removed_keyboards.push((c, m));
            ok(bot_message(c, m, ""))
        }
        "editmessagetext" => {
            let (c, m) = (
                p["chat_id"].as_i64().unwrap_or(0),
                p["message_id"].as_i64().unwrap_or(0),
            );
            let text = p["text"].as_str().unwrap_or("").to_string();
            let keyboard = keyboard_of(&p);
            let mut api = fake.api.lock().unwrap();
            api.edits += 1;
            if let Some(sent) = api
                .sent
                .iter_mut()
                .find(|x| x.chat == c && x.message_id == m)
            {
                sent.text = text.clone();
                sent.keyboard = keyboard;
            }
            ok(bot_message(c, m, &text))
        }
        "answercallbackquery" => {
            fake.api
                .lock()
                .unwrap()
                .answered_callbacks
                .push(p["callback_query_id"].as_str().unwrap_or("").to_string());
            ok(json!(true))
        }
        other => Json(
            json!({ "ok": false, "error_code": 400, "description": format!("Bad Request: method {other} is not faked") }),
        ),
    }
}

impl Api {
    /// Records a message the bot sent to `chat` and wakes whoever waits on
    /// that chat; returns its message id.
    fn record_sent(&mut self, chat: i64, text: &str, keyboard: Vec<Vec<(String, String)>>) -> i64 {
        self.next_message += 1;
        let message_id = self.next_message;
        let sent_so_far = self.sent.iter().filter(|m| m.chat == chat).count() + 1;
        if let Some(w) = self.counts.get(&chat) {
            w.send_replace(sent_so_far);
        }
        self.sent.push(Sent {
            chat,
            message_id,
            text: text.to_string(),
            keyboard,
        });
        message_id
    }
}

impl FakeTelegram {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let fake = FakeTelegram {
            url,
            api: Arc::new(Mutex::new(Api {
                next_update: 1000,
                ..Api::default()
            })),
            arrived: Arc::new(Notify::new()),
        };
        let app = Router::new()
            .route("/{bot}/{method}", post(method))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        fake
    }

    fn push(&self, make: impl FnOnce(i64) -> Value) -> i64 {
        let mut api = self.api.lock().unwrap();
        api.next_update += 1;
        let id = api.next_update;
        api.queue.push((make(id), false));
        drop(api);
        self.arrived.notify_waiters();
        id
    }

    /// Queues a text message from a user (private chat id = user id).
    pub fn text(&self, from: i64, text: &str) -> i64 {
        let update = self.text_update(from, text);
        let id = update["update_id"].as_i64().unwrap_or(0);
        self.redeliver(update);
        id
    }

    /// A text-message update with a new id, not queued.
    pub fn text_update(&self, from: i64, text: &str) -> Value {
        let entities = if text.starts_with('/') {
            let len = text
                .split_whitespace()
                .next()
                .map_or(0, |c| c.encode_utf16().count());
            json!([{ "type": "bot_command", "offset": 0, "length": len }])
        } else {
            json!([])
        };
        let mut api = self.api.lock().unwrap();
        api.next_update += 1;
        let id = api.next_update;
        json!({
            "update_id": id,
            "message": { "message_id": id, "date": 1612148400, "chat": chat(from), "from": user(from), "text": text, "entities": entities },
        })
    }

    /// Queues a sticker (not text).
    pub fn sticker(&self, from: i64) -> i64 {
        self.push(|id| json!({
            "update_id": id,
            "message": { "message_id": id, "date": 1612148400, "chat": chat(from), "from": user(from),
                "sticker": { "file_id": "s", "file_unique_id": "su", "type": "regular", "width": 512, "height": 512, "is_animated": false, "is_video": false } },
        }))
    }

    /// Queues a press of a button with `data` under the bot's message `message_id`.
    pub fn press(&self, from: i64, message_id: i64, data: &str) -> i64 {
        let update = self.press_update(from, message_id, data);
        let id = update["update_id"].as_i64().unwrap_or(0);
        self.redeliver(update);
        id
    }

    /// A button-press update with a new id, not queued.
    pub fn press_update(&self, from: i64, message_id: i64, data: &str) -> Value {
        let mut api = self.api.lock().unwrap();
        api.next_update += 1;
        let id = api.next_update;
        json!({
            "update_id": id,
            "callback_query": {
                "id": format!("cb{id}"), "from": user(from), "chat_instance": "ci", "data": data,
                "message": bot_message(from, message_id, "…"),
            },
        })
    }

    /// Queues an update again, as Telegram does when its offset was not confirmed.
    pub fn redeliver(&self, update: Value) {
        let chat = update["message"]["chat"]["id"]
            .as_i64()
            .or_else(|| update["callback_query"]["from"]["id"].as_i64());
        let mut api = self.api.lock().unwrap();
        if let Some(chat) = chat {
            api.offered.insert(chat, Instant::now());
        }
        // In order of update id, as Telegram hands them out.
        let id = update["update_id"].as_i64().unwrap_or(0);
        let at = api
            .queue
            .partition_point(|(u, _)| u["update_id"].as_i64().unwrap_or(0) <= id);
        api.queue.insert(at, (update, false));
        drop(api);
        self.arrived.notify_waiters();
    }

    /// Watches how many messages a chat has received.
    pub fn watch(&self, chat: i64) -> tokio::sync::watch::Receiver<usize> {
        let mut api = self.api.lock().unwrap();
        let n = api.sent.iter().filter(|m| m.chat == chat).count();
        api.counts
            .entry(chat)
            .or_insert_with(|| tokio::sync::watch::channel(n).0)
            .subscribe()
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.api.lock().unwrap().sent.clone()
    }

    /// Waits until `chat` has received `n` messages in all; returns them.
    pub async fn wait_sent(&self, chat: i64, n: usize) -> Vec<Sent> {
        let mut count = self.watch(chat);
        if tokio::time::timeout(Duration::from_secs(5), count.wait_for(|c| *c >= n))
            .await
            .is_err()
        {
            let mine: Vec<String> = self
                .sent()
                .into_iter()
                .filter(|s| s.chat == chat)
                .map(|s| s.text)
                .collect();
            panic!(
                "chat {chat}: expected {n} messages, got {}: {mine:#?}",
                mine.len()
            );
        }
        self.sent().into_iter().filter(|s| s.chat == chat).collect()
    }

    /// Waits until `getUpdates` has handed update `id` to the bot `n` times.
    pub async fn wait_delivered(&self, id: i64, n: u32) {
        self.wait_progress(|api| api.deliveries.get(&id).copied().unwrap_or(0) >= n)
            .await
            .unwrap_or_else(|| panic!("update {id} was not delivered {n} times"));
    }

    /// Waits until the update `id` has been confirmed (the bot asked for a later offset).
    pub async fn wait_confirmed(&self, id: i64) {
        self.wait_progress(|api| api.confirmed > id)
            .await
            .unwrap_or_else(|| panic!("update {id} was never confirmed"));
    }

    /// Updates handed to the bot so far (a redelivered one counts again).
    pub fn deliveries(&self) -> u64 {
        self.api.lock().unwrap().progress.borrow().0
    }

    /// Turns the service's bot on, talking to this fake, as `TELOXIDE_TOKEN`
    /// and `TELOXIDE_API_URL` would.
    pub fn configure(&self, settings: &mut Settings) {
        settings.telegram.token = Some(Secret::new(TOKEN));
        settings.telegram.api_url = Some(self.url.clone());
    }

    /// Waits (up to 5 s) until `done` holds of the fake's state after a
    /// `getUpdates`; `None` when it never did.
    async fn wait_progress(&self, done: impl Fn(&Api) -> bool) -> Option<()> {
        let mut progress = self.api.lock().unwrap().progress.subscribe();
        let waiting = async {
            loop {
                if done(&self.api.lock().unwrap()) {
                    return;
                }
                if progress.changed().await.is_err() {
                    return;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .ok()
    }
}
