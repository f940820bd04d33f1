//! The composition root: the one place the application is assembled from
//! its [`Settings`] — store, survey, channels, HTTP server — used by
//! `khaosat serve` and by every test.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::campaign::{self, Campaign};
use crate::front::Front;
use crate::key::Key;
use crate::outbox::Outbox;
use crate::secret::Secret;
use crate::settings::Settings;
use crate::store::Store;
use crate::survey::{Options, Survey};
use crate::telegram::{self, Staff, Telegram, TelegramWebhook};
use crate::web::WebChat;
use crate::zalo::{Zalo, ZaloConfig};
use crate::{http, ops, web, zalo};

/// How long `serve` waits for queued Zalo replies when stopping.
const DRAIN: Duration = Duration::from_secs(20);
/// Connections of the inbox's own pool on PostgreSQL (its writer, and the
/// relay's lookups and lease renewals).
const INBOX_POOL: u32 = 4;

/// The assembled service, listening, not yet running.
pub struct App {
    /// The runtime that answers HTTP (see `front.rs`).
    front: Front,
    listener: std::net::TcpListener,
    address: SocketAddr,
    web_url: String,
    router: axum::Router,
    survey: Arc<Survey>,
    store: Store,
    polling: Option<(teloxide::Bot, Arc<Telegram>)>,
    zalo: Option<Arc<Zalo>>,
    channels: Vec<String>,
}

/// Reads and compiles the campaign the settings name. The shipped one,
/// when its folder is not at hand (an installed binary run elsewhere), is
/// taken from the binary itself.
pub fn load_campaign(settings: &Settings) -> Result<Campaign> {
    let shipped = settings.campaign == std::path::Path::new(crate::settings::DEFAULT_CAMPAIGN)
        && !settings.campaign.join(campaign::CAMPAIGN_FILE).is_file();
    let loaded = if shipped {
        campaign::load_from(campaign::Folder::Embedded(campaign::SHIPPED))
    } else {
        campaign::load(&settings.campaign)
    };
    loaded.map_err(|d| {
        anyhow::Error::new(d).context(format!(
            "đợt khảo sát trong {} có lỗi (sửa theo từng dòng dưới đây, rồi chạy `khaosat check`)",
            settings.campaign.display()
        ))
    })
}

/// Opens the database the settings name.
pub async fn open_store(settings: &Settings) -> Result<Store> {
    let url = settings.database();
    Store::open_with_pool(&url, settings.db_pool)
        .await
        .with_context(|| format!("không mở được cơ sở dữ liệu {} (kiểm tra --database-url và máy chủ PostgreSQL nếu dùng)", crate::store::redacted(&url)))
}

/// The service's secret key: `--secret`, else the `--secret-file`; in trial
/// mode a key kept beside the trial database (created on first use).
/// Outside trial mode there is no default: a key made up here and lost at
/// the next start would make every issued token useless.
pub fn key(settings: &Settings) -> Result<Key> {
    if let Some(secret) = &settings.secret {
        return Key::parse(secret.expose()).context("KHAOSAT_SECRET (--secret) không phải là một khóa: dùng 64 chữ số hex do `khaosat secret new` tạo");
    }
    if let Some(path) = &settings.secret_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("không đọc được tệp khóa {}", path.display()))?;
        return Key::parse(&text).with_context(|| {
            format!(
                "tệp khóa {} không chứa một khóa hợp lệ (tạo bằng `khaosat secret new`)",
                path.display()
            )
        });
    }
    if settings.trial {
        return trial_key(&settings.database());
    }
    bail!(
        "Chưa có khóa bí mật của dịch vụ. Tạo một khóa: `khaosat secret new --out /etc/khaosat/secret.key`, \
         rồi đặt KHAOSAT_SECRET_FILE=/etc/khaosat/secret.key (hoặc KHAOSAT_SECRET=<khóa>). \
         Giữ khóa ngoài cơ sở dữ liệu và sao lưu riêng: mất khóa thì các mã phiếu đã phát không dùng được nữa. \
         (No secret key: set KHAOSAT_SECRET_FILE or KHAOSAT_SECRET; see README, \"The secret key\".)"
    )
}

/// Trial mode's key: `<database>.key` beside a SQLite file, else `data/trial.key`.
fn trial_key(database: &str) -> Result<Key> {
    let url = crate::store::database_url(database);
    let path = match url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        Some(file) => {
            std::path::PathBuf::from(format!("{}.key", file.split('?').next().unwrap_or(file)))
        }
        None => std::path::PathBuf::from("data/trial.key"),
    };
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Key::parse(&text).with_context(|| format!("the trial key file {}", path.display()));
    }
    let key = Key::generate();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    crate::key::write_new(&path, &key)?;
    // Two commands starting at once: whoever wrote first wins.
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the trial key file {}", path.display()))?;
    Key::parse(&text).with_context(|| format!("the trial key file {}", path.display()))
}

/// The survey service on its store, as every command and the server use it.
pub async fn open_survey(settings: &Settings) -> Result<(Arc<Survey>, Store)> {
    let campaign = load_campaign(settings)?;
    let key = key(settings)?;
    let store = open_store(settings).await?;
    let options = Options {
        clock: settings.clock.clone(),
        trial: settings.trial,
        metrics: settings.metrics.clone(),
        receipts: settings.receipts.clone(),
        instance: settings.instance(),
        remind_after: (settings.remind_after_hours > 0)
            .then(|| chrono::TimeDelta::hours(settings.remind_after_hours.into())),
    };
    let survey = Survey::new(campaign, store.clone(), key, options).await?;
    Ok((Arc::new(survey), store))
}

/// Assembles the whole service: binds the listener, connects the channels
/// that are configured, and composes their routers.
pub async fn build(settings: Settings) -> Result<App> {
    let (survey, store) = open_survey(&settings).await?;
    let key = key(&settings)?;
    let front = Front::start()?;
    let listener = std::net::TcpListener::bind(settings.listen)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .with_context(|| {
            format!(
                "không nghe được trên {} (cổng đang bận? đổi bằng --listen)",
                settings.listen
            )
        })?;
    let address = listener.local_addr()?;
    let web_url = settings
        .web_url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"))
        .trim_end_matches('/')
        .to_string();
    survey.set_public_url(&web_url);
    let mut channels = Vec::new();
    let mut routers = vec![
        web::router(WebChat {
            survey: survey.clone(),
            sessions: web::Sessions::new(key.clone(), web_url.starts_with("https://")),
            trusted_proxies: settings.trusted_proxies.clone(),
        }),
        ops::router(ops::Ops {
            survey: survey.clone(),
            store: store.clone(),
        }),
    ];

    let zalo = match zalo_config(&settings) {
        None => {
            channels.push(
                "Zalo: off (set KHAOSAT_ZALO_APP_ID, KHAOSAT_ZALO_OA_SECRET_KEY, \
                 KHAOSAT_ZALO_APP_SECRET_KEY and KHAOSAT_ZALO_REFRESH_TOKEN to turn it on)"
                    .to_string(),
            );
            None
        }
        Some(config) => {
            let client =
                Arc::new(zalo::ZaloClient::new(config.clone(), store.clone(), key.clone()).await?);
            let courier = Arc::new(zalo::ZaloCourier {
                client: client.clone(),
                buttons: config.buttons,
                web: Some(web_url.clone()),
            });
            // Replies first: the inbox's events, handled at once, make some.
            start_sender(&survey, zalo::CHANNEL, courier, &store, &key).await?;
            // The inbox has a write path of its own (see `store::inbox_url`),
            // on the front runtime, where events are acknowledged.
            let url = crate::store::inbox_url(&settings.database());
            let inbox_store = {
                let url = url.clone();
                front
                    .run(async move { Store::open_with_pool(&url, INBOX_POOL).await })
                    .await?
            }
            .with_context(|| format!("opening the inbox {}", crate::store::redacted(&url)))?;
            let inbox = zalo::Inbox::start_inbox(
                zalo::CHANNEL,
                survey.instance(),
                Arc::new(zalo::Handler {
                    survey: survey.clone(),
                }),
                inbox_store,
                front.handle(),
                key.clone(),
                survey.metrics().clone(),
            )
            .await?;
            let zalo = Arc::new(Zalo {
                config,
                survey: survey.clone(),
                client,
                inbox,
            });
            routers.push(zalo::router(zalo.clone()));
            channels.push(format!("Zalo: on — webhook {web_url}/zalo/webhook"));
            Some(zalo)
        }
    };

    let mut polling = None;
    match &settings.telegram.token {
        None => channels
            .push("Telegram: off (set TELOXIDE_TOKEN to the bot's token to turn it on)".into()),
        Some(token) => {
            let mut bot = teloxide::Bot::new(token.expose());
            if let Some(url) = &settings.telegram.api_url {
                bot = bot.set_api_url(
                    reqwest::Url::parse(url)
                        .with_context(|| format!("TELOXIDE_API_URL is not a URL: {url}"))?,
                );
            }
            let courier = Arc::new(telegram::TelegramCourier { bot: bot.clone() });
            start_sender(&survey, telegram::CHANNEL, courier, &store, &key).await?;
            let telegram = Arc::new(Telegram {
                survey: survey.clone(),
                store: store.clone(),
                staff: Staff(settings.telegram.staff.clone()),
            });
            if settings.telegram.webhook {
                let secret = match settings.telegram.webhook_secret.clone() {
                    Some(secret) => telegram::check_secret(secret)?,
                    None => telegram::new_secret(),
                };
                let url = format!("{web_url}/telegram/webhook");
                let me = telegram::prepare(&bot, &telegram.staff).await?;
                telegram::register(&bot, &url, &secret).await?;
                routers.push(telegram::webhook_router(Arc::new(TelegramWebhook {
                    bot,
                    telegram,
                    me,
                    secret,
                })));
                channels.push(format!("Telegram: on — webhook {url}"));
            } else {
                channels.push("Telegram: on — long polling".into());
                polling = Some((bot, telegram));
            }
        }
    }

    Ok(App {
        front,
        listener,
        address,
        web_url,
        router: http::app(routers),
        survey,
        store,
        polling,
        zalo,
        channels,
    })
}

/// Starts the sender of a channel's replies (sending what an earlier run
/// left) and hands the survey's replies on that channel to it.
async fn start_sender(
    survey: &Arc<Survey>,
    channel: &str,
    courier: Arc<dyn crate::outbox::Courier>,
    store: &Store,
    key: &Key,
) -> Result<()> {
    let outbox = Outbox::start(
        channel,
        survey.instance(),
        courier,
        store.clone(),
        survey.writer(),
        key.clone(),
        survey.metrics().clone(),
    )
    .await?;
    survey.deliver_through(outbox);
    Ok(())
}

/// The Zalo bridge's configuration, when its app id and OA secret key are set.
fn zalo_config(settings: &Settings) -> Option<ZaloConfig> {
    let z = &settings.zalo;
    Some(ZaloConfig {
        app_id: z.app_id.clone().filter(|v| !v.trim().is_empty())?,
        oa_secret_key: z
            .oa_secret_key
            .clone()
            .filter(|v| !v.expose().trim().is_empty())?,
        app_secret_key: z.app_secret_key.clone().unwrap_or_else(|| Secret::new("")),
        refresh_token: z.refresh_token.clone(),
        access_token: z.access_token.clone(),
        api_url: z.api_url.clone(),
        oauth_url: z.oauth_url.clone(),
        buttons: z.buttons,
        event_window: Duration::from_secs(z.event_window_minutes * 60),
    })
}

impl App {
    /// Where the server listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The public address (the `--web-url`, else the listening address).
    pub fn web_url(&self) -> &str {
        &self.web_url
    }

    pub fn survey(&self) -> &Arc<Survey> {
        &self.survey
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The Zalo bridge, when it is on.
    pub fn zalo(&self) -> Option<&Arc<Zalo>> {
        self.zalo.as_ref()
    }

    /// One line per channel: on, and how; or off, and how to turn it on.
    pub fn channels(&self) -> &[String] {
        &self.channels
    }

    /// Serves until `stop` resolves, then finishes the requests and updates
    /// in hand, delivers the queued Zalo replies (up to 20 s), and closes
    /// the database.
    pub async fn run_until_stopped(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(async move {
            stop.await;
            let _ = stop_tx.send(true);
        });
        forget_old_message_ids(self.survey.clone(), stop_rx.clone());
        run_the_ballot_box(self.survey.clone(), stop_rx.clone());
        follow_the_period(self.survey.clone(), stop_rx.clone());
        let polling = self.polling.map(|(bot, telegram)| {
            let stop = stopped(stop_rx.clone());
            tokio::spawn(async move {
                if let Err(e) = telegram::run_polling(bot, telegram, stop).await {
                    // The other channels go on; the log says why Telegram stopped.
                    tracing::error!(error = format!("{e:#}"), "the Telegram bot stopped");
                }
            })
        });
        tracing::info!(address = %self.address, "serving");
        let router = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let listener = self.listener;
        let stop = stopped(stop_rx);
        self.front
            .run(async move {
                axum::serve(TcpListener::from_std(listener)?, router)
                    .with_graceful_shutdown(stop)
                    .await
            })
            .await?
            .context("serving HTTP")?;
        // Requests in hand have finished; now the bot's updates in hand,
        // and the Zalo events acknowledged and not yet handled.
        if let Some(task) = polling {
            let _ = task.await;
        }
        if let Some(zalo) = &self.zalo {
            let left = zalo.inbox.drain(DRAIN).await;
            if left > 0 {
                tracing::warn!(
                    left,
                    "Zalo events not handled before shutdown; they are handled at the next start"
                );
            }
        }
        for channel in [telegram::CHANNEL, zalo::CHANNEL] {
            if let Some(outbox) = self.survey.outbox(channel) {
                let left = outbox.drain(DRAIN).await;
                if left > 0 {
                    tracing::warn!(
                        channel,
                        left,
                        "replies not delivered before shutdown; they go out at the next start"
                    );
                }
            }
        }
        self.store.close().await;
        Ok(())
    }
}

/// Every hour, forgets message ids older than `KEEP_MESSAGE_IDS` and
/// replies undelivered for a day.
fn forget_old_message_ids(survey: Arc<Survey>, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut hourly = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tokio::select! {
                _ = hourly.tick() => {}
                _ = stop.changed() => return,
            }
            match survey.forget_old_message_ids().await {
                Ok(n) => tracing::debug!(forgotten = n, "old message ids forgotten"),
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "could not forget old message ids")
                }
            }
            match survey.forget_old_replies().await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(forgotten = n, "replies undelivered for a day forgotten"),
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "could not forget old replies")
                }
            }
        }
    });
}

/// How often the period is read again: a close or reopen decided on
/// another instance, or on the command line, is in force here this soon.
pub const PERIOD_REFRESH: Duration = Duration::from_secs(2);

/// Every [`PERIOD_REFRESH`], the period in force is read again.
fn follow_the_period(survey: Arc<Survey>, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PERIOD_REFRESH);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = stop.changed() => return,
            }
            if let Err(e) = survey.refresh_period().await {
                tracing::warn!(error = %format!("{e:#}"), "could not read the survey period");
            }
        }
    });
}

/// Every minute, the mixer (see `survey/ballot_box.rs`); every hour, idle
/// conversations are purged.
fn run_the_ballot_box(survey: Arc<Survey>, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut minutely = tokio::time::interval(Duration::from_secs(60));
        let mut minutes = 0u32;
        loop {
            tokio::select! {
                _ = minutely.tick() => {}
                _ = stop.changed() => return,
            }
            if let Err(e) = survey.mix(false).await {
                tracing::error!(error = %format!("{e:#}"), "the mixer failed; ballots stay in the box");
            }
            match survey.send_reminders().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(reminders = n, "reminders sent"),
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "could not send reminders"),
            }
            if minutes.is_multiple_of(60) {
                survey.tidy_budgets();
                match survey.expire_idle_sessions().await {
                    Ok(n) => tracing::debug!(expired = n, "idle conversations purged"),
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), "could not purge idle conversations")
                    }
                }
            }
            minutes = minutes.wrapping_add(1);
        }
    });
}

/// Resolves once the stop signal is given.
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}
