//! The Zalo OA API client: sends consultation messages, refreshes the access
//! token when Zalo says it expired (persisting the single-use refresh token
//! first), and backs off when rate-limited.

use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

use super::render::ZaloMessage;
use super::{CHANNEL, ZaloConfig};
use crate::key::Key;
use crate::store::{PlatformTokens, Store};

/// Why a message was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The user cannot be reached now, for the reason Zalo gave: recorded
    /// for staff, not retried.
    #[error("the Zalo user cannot be reached: {reason} (error {code})")]
    Unreachable { code: i64, reason: &'static str },
    #[error("no access token: set KHAOSAT_ZALO_REFRESH_TOKEN")]
    NoToken,
    #[error("Zalo refused the message: error {code}: {message}")]
    Refused { code: i64, message: String },
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

#[derive(Debug, Deserialize)]
struct ApiAnswer {
    #[serde(default)]
    error: i64,
    #[serde(default)]
    message: String,
}

#[derive(Debug, Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    refresh_token: Option<String>,
    #[serde(default)]
    error: Option<serde_json::Value>,
    #[serde(default)]
    error_description: Option<String>,
}

/// Zalo error codes that mean "get a new access token".
const TOKEN_EXPIRED: &[i64] = &[-216, -220, -124];
const RATE_LIMITED: i64 = -32;
/// Zalo's answers that mean "this user cannot be reached now": the code,
/// and the reason recorded for staff.
const UNREACHABLE: &[(i64, &str)] = &[
    (-213, "not_a_follower"),
    (-227, "user_banned_or_inactive"),
    (-230, "no_interaction_7_days"),
    (-232, "no_interaction_in_window"),
    (-244, "user_blocked_this_message_type"),
];
const ATTEMPTS: u32 = 6;
/// Refreshes of the access token one send may make.
const REFRESHES_PER_SEND: u32 = 2;

/// The OA's tokens as kept in the database: sealed under the service's
/// key, so a copy of the database does not hand over the OA.
struct Vault {
    store: Store,
    key: Key,
}

impl Vault {
    async fn load(&self) -> Result<Option<PlatformTokens>> {
        let Some(sealed) = self.store.platform_tokens(CHANNEL).await? else {
            return Ok(None);
        };
        let open = |s: &str| -> Result<String> {
            let bytes = self
                .key
                .open(s)
                .context("the stored Zalo tokens were sealed under another key")?;
            String::from_utf8(bytes).context("reading the stored Zalo tokens")
        };
        Ok(Some(PlatformTokens {
            refresh_token: open(&sealed.refresh_token)?,
            access_token: sealed.access_token.as_deref().map(open).transpose()?,
        }))
    }

    async fn save(&self, tokens: &PlatformTokens) -> Result<()> {
        let sealed = PlatformTokens {
            refresh_token: self.key.seal(tokens.refresh_token.as_bytes()),
            access_token: tokens
                .access_token
                .as_ref()
                .map(|t| self.key.seal(t.as_bytes())),
        };
        self.store
            .save_platform_tokens(CHANNEL, &sealed, chrono::Utc::now().timestamp())
            .await
    }
}

/// The Zalo OA API client.
pub struct ZaloClient {
    http: reqwest::Client,
    config: ZaloConfig,
    store: Store,
    vault: Vault,
    access: RwLock<Option<String>>,
    /// Held while refreshing: the refresh token can be used once only.
    refreshing: Mutex<()>,
}

impl ZaloClient {
    /// A client whose tokens come from the database if saved there, else from the config.
    pub async fn new(config: ZaloConfig, store: Store, key: Key) -> Result<Self> {
        let vault = Vault {
            store: store.clone(),
            key,
        };
        let saved = vault.load().await?;
        let access = match &saved {
            Some(saved) => saved.access_token.clone(),
            None => {
                if let Some(refresh) = &config.refresh_token {
                    let first = PlatformTokens {
                        refresh_token: refresh.expose().to_string(),
                        access_token: config.access_token.as_ref().map(|t| t.expose().to_string()),
                    };
                    vault.save(&first).await?;
                }
                config.access_token.as_ref().map(|t| t.expose().to_string())
            }
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            config,
            store,
            vault,
            access: RwLock::new(access),
            refreshing: Mutex::new(()),
        })
    }

    /// Sends one text message to a Zalo user.
    pub async fn send_text(&self, user_id: &str, text: &str) -> Result<(), SendError> {
        let message = ZaloMessage {
            text: text.to_string(),
            buttons: Vec::new(),
        };
        self.send(user_id, &message).await
    }

    /// Sends one consultation message, with its buttons if it has any.
    pub async fn send(&self, user_id: &str, message: &ZaloMessage) -> Result<(), SendError> {
        let url = format!(
            "{}/v3.0/oa/message/cs",
            self.config.api_url.trim_end_matches('/')
        );
        let mut content = serde_json::json!({ "text": message.text });
        if !message.buttons.is_empty() {
            let buttons: Vec<_> = message
                .buttons
                .iter()
                .map(|b| match &b.url {
                    Some(url) => serde_json::json!({ "title": b.title, "type": "oa.open.url", "payload": { "url": url } }),
                    None => serde_json::json!({ "title": b.title, "type": "oa.query.hide", "payload": b.payload }),
                })
                .collect();
            content["attachment"] =
                serde_json::json!({ "type": "template", "payload": { "buttons": buttons } });
        }
        let body = serde_json::json!({ "recipient": { "user_id": user_id }, "message": content });
        // A token can expire again while a send waits out a rate limit.
        let mut refreshes = 0;
        let mut last = None;
        for attempt in 0..ATTEMPTS {
            let token = match self.access.read().await.clone() {
                Some(t) => t,
                None if refreshes < REFRESHES_PER_SEND => {
                    self.refresh(None).await?;
                    refreshes += 1;
                    continue;
                }
                None => return Err(SendError::NoToken),
            };
            let answer = self
                .http
                .post(&url)
                .header("access_token", &token)
                .json(&body)
                .send()
                .await
                .and_then(|r| r.error_for_status());
            let answer: ApiAnswer = match answer {
                Ok(r) => r.json().await.context("reading Zalo's answer")?,
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "Zalo send failed; retrying");
                    last = Some(SendError::Other(
                        anyhow::Error::new(e).context("sending to Zalo"),
                    ));
                    backoff(attempt).await;
                    continue;
                }
            };
            match answer.error {
                0 => return Ok(()),
                code if TOKEN_EXPIRED.contains(&code) && refreshes < REFRESHES_PER_SEND => {
                    self.refresh(Some(&token)).await?;
                    refreshes += 1;
                }
                // Not refused for good: the reply waits for a token that works.
                code if TOKEN_EXPIRED.contains(&code) => {
                    return Err(SendError::Other(anyhow!(
                        "Zalo refused the access token after {refreshes} refreshes ({code} {})",
                        answer.message
                    )));
                }
                RATE_LIMITED => {
                    last = Some(SendError::Refused {
                        code: RATE_LIMITED,
                        message: answer.message,
                    });
                    backoff(attempt).await;
                }
                code => {
                    return Err(match UNREACHABLE.iter().find(|(c, _)| *c == code) {
                        Some(&(code, reason)) => SendError::Unreachable { code, reason },
                        None => SendError::Refused {
                            code,
                            message: answer.message,
                        },
                    });
                }
            }
        }
        Err(last.unwrap_or(SendError::Refused {
            code: 0,
            message: "gave up".into(),
        }))
    }

    /// Replaces the access token, unless another task or instance already
    /// replaced `stale` (the token Zalo refused; `None` when there was none):
    /// then the newer token is taken from the database. One refresh at a
    /// time, across instances too: the refresh token can be used once. The
    /// new refresh token is stored before the access token is used.
    async fn refresh(&self, stale: Option<&str>) -> Result<(), SendError> {
        let _one_at_a_time = self.refreshing.lock().await;
        if let Some(stale) = stale
            && self.access.read().await.as_deref() != Some(stale)
        {
            return Ok(());
        }
        let across_instances = self.store.lock_platform_refresh().await?;
        let saved = self.vault.load().await?;
        if let Some(PlatformTokens {
            access_token: Some(access),
            ..
        }) = &saved
            && Some(access.as_str()) != stale
        {
            *self.access.write().await = Some(access.clone());
            tracing::info!("Zalo access token taken from another instance's refresh");
            return Ok(());
        }
        let refresh_token = saved
            .map(|t| t.refresh_token)
            .or_else(|| {
                self.config
                    .refresh_token
                    .as_ref()
                    .map(|t| t.expose().to_string())
            })
            .ok_or(SendError::NoToken)?;
        let url = format!(
            "{}/v4/oa/access_token",
            self.config.oauth_url.trim_end_matches('/')
        );
        let answer: TokenAnswer = self
            .http
            .post(&url)
            .header("secret_key", self.config.app_secret_key.expose())
            .form(&[
                ("refresh_token", refresh_token.as_str()),
                ("app_id", self.config.app_id.as_str()),
                ("grant_type", "refresh_token"),
            ])
            .send()
            .await
            .context("refreshing the Zalo access token")?
            .json()
            .await
            .context("reading Zalo's token answer")?;
        let (Some(access), Some(refresh)) = (answer.access_token, answer.refresh_token) else {
            return Err(SendError::Other(anyhow!(
                "Zalo refused the token refresh: {} {}",
                answer.error.map(|e| e.to_string()).unwrap_or_default(),
                answer.error_description.unwrap_or_default()
            )));
        };
        // Persist first: the old refresh token is already spent.
        let fresh = PlatformTokens {
            refresh_token: refresh,
            access_token: Some(access.clone()),
        };
        self.vault.save(&fresh).await?;
        *self.access.write().await = Some(access);
        if let Some(lock) = across_instances {
            lock.rollback().await?;
        }
        tracing::info!("Zalo access token refreshed");
        Ok(())
    }
}

async fn backoff(attempt: u32) {
    let ms = (200u64 << attempt.min(5)).min(5_000);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}
