//! Settings: everything the service is configured with, read once — from
//! the command line and the environment, by clap — into plain values that
//! the composition root (`startup.rs`) and the commands take. Nothing else
//! reads the environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};

pub use crate::secret::Secret;

use crate::metrics::Metrics;
use crate::store::{DEFAULT_DATABASE, DEFAULT_POOL_SIZE};
use crate::survey::{Clock, Receipts};

/// The shipped campaign.
pub const DEFAULT_CAMPAIGN: &str = "dialogues/thang-binh-2021";
/// Where trial mode keeps its data, apart from the real ballots.
pub const TRIAL_DATABASE: &str = "data/trial.db";
/// Where `serve` listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The service's settings (global options of every command).
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Campaign folder (campaign.toml and its dialogue files).
    #[arg(long, global = true, env = "KHAOSAT_CAMPAIGN", default_value = DEFAULT_CAMPAIGN)]
    pub campaign: PathBuf,
    /// Database: a SQLite file path, sqlite://… or postgres://… URL.
    /// Default: data/khaosat.db (data/trial.db with --trial).
    #[arg(long, global = true, env = "KHAOSAT_DATABASE_URL")]
    pub database_url: Option<DatabaseUrl>,
    /// Connections per instance to PostgreSQL.
    #[arg(long, global = true, env = "KHAOSAT_DB_POOL", default_value_t = DEFAULT_POOL_SIZE,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub db_pool: u32,
    /// The service's secret key (64 hex digits, `khaosat secret new`): token
    /// hashes and every stand-in for a person are keyed with it. Kept out of
    /// the database; prefer --secret-file.
    #[arg(long, global = true, env = "KHAOSAT_SECRET", hide_env_values = true)]
    pub secret: Option<Secret>,
    /// A file holding the secret key (readable by the service only).
    #[arg(long, global = true, env = "KHAOSAT_SECRET_FILE")]
    pub secret_file: Option<PathBuf>,
    /// Trial mode: ignore the survey period and keep data in data/trial.db,
    /// apart from real ballots. For trying the shipped 2021 campaign today.
    #[arg(long, global = true)]
    pub trial: bool,
    /// The public address of the web chat (https://… marks cookies Secure;
    /// the Telegram webhook is registered under it; token cards link to it).
    #[arg(long, global = true, env = "KHAOSAT_WEB_URL")]
    pub web_url: Option<String>,
    /// Reverse proxies in front of `serve` (IP addresses, comma-separated):
    /// their `X-Forwarded-For` gives the client's address.
    #[arg(
        long = "trusted-proxy",
        global = true,
        env = "KHAOSAT_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Address `serve` listens on.
    #[arg(long, global = true, env = "KHAOSAT_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// This instance's name, unique among the instances sharing a database:
    /// it owns the replies it writes until they are delivered, and takes
    /// them back after a restart. Default: the host name and the port.
    #[arg(long, global = true, env = "KHAOSAT_INSTANCE")]
    pub instance: Option<String>,
    /// Hours a conversation left halfway waits for its one reminder
    /// (Telegram, Zalo; on Zalo at most 24); 0 turns reminders off.
    #[arg(
        long,
        global = true,
        env = "KHAOSAT_REMIND_AFTER_HOURS",
        default_value_t = 48
    )]
    pub remind_after_hours: u32,
    /// Log filter, e.g. `khaosat=debug`.
    #[arg(long, global = true, env = "KHAOSAT_LOG", default_value = "warn")]
    pub log: String,
    /// Log format: text, or json (one object per line, for log collectors).
    #[arg(long, global = true, env = "KHAOSAT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub telegram: TelegramSettings,
    #[command(flatten)]
    pub zalo: ZaloSettings,
    /// How the service tells time (tests move it; the system clock otherwise).
    #[arg(skip)]
    pub clock: Clock,
    /// Where the service counts what it does (`/metrics`).
    #[arg(skip)]
    pub metrics: Arc<Metrics>,
    /// Where receipt codes come from (random; tests may force clashes).
    #[arg(skip)]
    pub receipts: Receipts,
}

/// A database path or URL; `Debug` shows it without its password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(pub String);

impl std::str::FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_string()))
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", crate::store::redacted(&self.0))
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The Telegram bot.
#[derive(Debug, Clone, Default, Args)]
pub struct TelegramSettings {
    /// The bot's token from @BotFather; without it the bot is off.
    #[arg(
        id = "telegram_token",
        long = "telegram-token",
        global = true,
        env = "TELOXIDE_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<Secret>,
    /// Another Bot API server (a local one, or a test's fake).
    #[arg(
        id = "telegram_api_url",
        long = "telegram-api-url",
        global = true,
        env = "TELOXIDE_API_URL"
    )]
    pub api_url: Option<String>,
    /// The bot's username, for t.me deep links on token cards.
    #[arg(
        id = "telegram_bot",
        long = "telegram-bot",
        global = true,
        env = "KHAOSAT_TELEGRAM_BOT"
    )]
    pub bot_name: Option<String>,
    /// Telegram user ids of the staff, separated by commas.
    #[arg(
        id = "telegram_staff",
        long = "telegram-staff",
        global = true,
        env = "KHAOSAT_TELEGRAM_STAFF",
        value_delimiter = ','
    )]
    pub staff: Vec<i64>,
    /// Receive updates by webhook (at <web-url>/telegram/webhook) instead of
    /// long polling.
    #[arg(
        id = "telegram_webhook",
        long = "telegram-webhook",
        global = true,
        env = "KHAOSAT_TELEGRAM_WEBHOOK"
    )]
    pub webhook: bool,
    /// The webhook's secret; instances behind one address must share it.
    /// Default: a new random secret at every start.
    #[arg(
        id = "telegram_webhook_secret",
        long = "telegram-webhook-secret",
        global = true,
        env = "KHAOSAT_TELEGRAM_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    pub webhook_secret: Option<Secret>,
}

/// The Zalo Official Account bridge; on when the app id and OA secret key are set.
#[derive(Debug, Clone, Default, Args)]
pub struct ZaloSettings {
    /// The Zalo app id.
    #[arg(
        id = "zalo_app_id",
        long = "zalo-app-id",
        global = true,
        env = "KHAOSAT_ZALO_APP_ID"
    )]
    pub app_id: Option<String>,
    /// The OA secret key (signs webhook events).
    #[arg(
        id = "zalo_oa_secret_key",
        long = "zalo-oa-secret-key",
        global = true,
        env = "KHAOSAT_ZALO_OA_SECRET_KEY",
        hide_env_values = true
    )]
    pub oa_secret_key: Option<Secret>,
    /// The app secret key (for token refreshes).
    #[arg(
        id = "zalo_app_secret_key",
        long = "zalo-app-secret-key",
        global = true,
        env = "KHAOSAT_ZALO_APP_SECRET_KEY",
        hide_env_values = true
    )]
    pub app_secret_key: Option<Secret>,
    /// The first refresh token; later ones are kept in the database.
    #[arg(
        id = "zalo_refresh_token",
        long = "zalo-refresh-token",
        global = true,
        env = "KHAOSAT_ZALO_REFRESH_TOKEN",
        hide_env_values = true
    )]
    pub refresh_token: Option<Secret>,
    /// An optional first access token.
    #[arg(
        id = "zalo_access_token",
        long = "zalo-access-token",
        global = true,
        env = "KHAOSAT_ZALO_ACCESS_TOKEN",
        hide_env_values = true
    )]
    pub access_token: Option<Secret>,
    /// The Official Account's name as people find it in Zalo, printed on
    /// token cards.
    #[arg(
        id = "zalo_oa_name",
        long = "zalo-oa-name",
        global = true,
        env = "KHAOSAT_ZALO_OA_NAME"
    )]
    pub oa_name: Option<String>,
    /// Zalo's OA API.
    #[arg(
        id = "zalo_api_url",
        long = "zalo-api-url",
        global = true,
        env = "KHAOSAT_ZALO_API_URL",
        default_value = "https://openapi.zalo.me"
    )]
    pub api_url: String,
    /// Zalo's OAuth server (token refreshes).
    #[arg(
        id = "zalo_oauth_url",
        long = "zalo-oauth-url",
        global = true,
        env = "KHAOSAT_ZALO_OAUTH_URL",
        default_value = "https://oauth.zaloapp.com"
    )]
    pub oauth_url: String,
    /// The most buttons one Zalo message carries (options, "Gửi phiếu"…);
    /// 0 sends numbered text only.
    #[arg(
        id = "zalo_buttons",
        long = "zalo-buttons",
        global = true,
        env = "KHAOSAT_ZALO_BUTTONS",
        default_value_t = crate::zalo::DEFAULT_BUTTONS
    )]
    pub buttons: usize,
    /// Zalo events whose timestamp is further than this many minutes from
    /// now are acknowledged and dropped (replays).
    #[arg(
        id = "zalo_event_window_minutes",
        long = "zalo-event-window-minutes",
        global = true,
        env = "KHAOSAT_ZALO_EVENT_WINDOW_MINUTES",
        default_value_t = crate::zalo::DEFAULT_EVENT_WINDOW_MINUTES
    )]
    pub event_window_minutes: u64,
}

impl Settings {
    /// Settings for a campaign and database with every other option at its
    /// default, as if nothing were set in the environment.
    pub fn new(campaign: impl Into<PathBuf>, database_url: impl Into<String>) -> Self {
        Self {
            campaign: campaign.into(),
            database_url: Some(DatabaseUrl(database_url.into())),
            db_pool: DEFAULT_POOL_SIZE,
            secret: None,
            secret_file: None,
            trial: false,
            web_url: None,
            trusted_proxies: Vec::new(),
            // Tests and embedders pick a free port.
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            log: "warn".into(),
            instance: None,
            remind_after_hours: 48,
            log_format: LogFormat::Text,
            telegram: TelegramSettings::default(),
            zalo: ZaloSettings {
                api_url: "https://openapi.zalo.me".into(),
                oauth_url: "https://oauth.zaloapp.com".into(),
                buttons: crate::zalo::DEFAULT_BUTTONS,
                event_window_minutes: crate::zalo::DEFAULT_EVENT_WINDOW_MINUTES,
                ..ZaloSettings::default()
            },
            clock: Clock::system(),
            metrics: Arc::default(),
            receipts: Receipts::default(),
        }
    }

    /// The database URL or path in use.
    /// This instance's name: `--instance`, else `host:port` (with a random
    /// part when the port is chosen by the system, which no restart repeats).
    pub fn instance(&self) -> String {
        if let Some(name) = self.instance.as_ref().filter(|n| !n.trim().is_empty()) {
            return name.trim().to_string();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "khaosat".into());
        match self.listen.port() {
            0 => format!("{host}:{}", crate::hex::random::<4>()),
            port => format!("{host}:{port}"),
        }
    }

    pub fn database(&self) -> String {
        self.database_url
            .as_ref()
            .map(|u| u.0.clone())
            .unwrap_or_else(|| {
                if self.trial {
                    TRIAL_DATABASE
                } else {
                    DEFAULT_DATABASE
                }
                .to_string()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_shows_no_secret() {
        let mut s = Settings::new("dialogues/thang-binh-2021", "postgres://k:hunter2@db/k");
        s.secret = Some(Secret::new("6b68616f736174"));
        s.telegram.token = Some(Secret::new("123456:BOT-TOKEN"));
        s.telegram.webhook_secret = Some(Secret::new("webhook-secret-value-xyz"));
        s.zalo.oa_secret_key = Some(Secret::new("oa-secret"));
        s.zalo.refresh_token = Some(Secret::new("refresh-me"));
        let shown = format!("{s:?}");
        for secret in [
            "hunter2",
            "6b68616f736174",
            "BOT-TOKEN",
            "webhook-secret-value",
            "oa-secret",
            "refresh-me",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}
