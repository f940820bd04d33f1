//! `khaosat serve`: the Telegram bot and the HTTP server (web chat, Zalo and
//! Telegram webhooks, health, metrics), until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use tokio::sync::watch;

use super::{Cli, trial};
use crate::survey::Survey;
use crate::telegram::{self, Staff, TelegramWebhook};
use crate::web::{AppState, router};
use crate::zalo::{Outbox, Zalo, ZaloClient, ZaloConfig};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "KHAOSAT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The public address of this server (https://… marks cookies Secure;
    /// the Telegram webhook is registered under it).
    #[arg(long, env = "KHAOSAT_WEB_URL")]
    pub web_url: Option<String>,
    /// Receive Telegram updates by webhook (at <web-url>/telegram/webhook)
    /// instead of long polling.
    #[arg(long, env = "KHAOSAT_TELEGRAM_WEBHOOK")]
    pub telegram_webhook: bool,
    /// The webhook's secret; instances behind one address must share it.
    /// Default: a new random secret at every start.
    #[arg(long, env = "KHAOSAT_TELEGRAM_WEBHOOK_SECRET", hide_env_values = true)]
    pub telegram_webhook_secret: Option<String>,
}

pub async fn run(cli: &Cli, args: &ServeArgs) -> Result<()> {
    let survey = Arc::new(cli.open_survey().await?);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let web_url = args
        .web_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    say!(
        "khaosat: {} — cơ sở dữ liệu {}",
        survey.campaign().title,
        cli.database()
    );
    say!("  Trang trả lời phiếu (web chat): {web_url}/");
    say!("  Tình trạng: {web_url}/healthz   Số liệu: {web_url}/metrics");

    // One signal stops everything: the HTTP server and the bot.
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown().await;
        let _ = stop_tx.send(true);
    });

    forget_old_message_ids(&survey, stop_rx.clone());
    let zalo = start_zalo(&survey, &web_url).await?;
    let (telegram_task, telegram_webhook) =
        start_telegram(&survey, args, &web_url, &stop_rx).await?;
    if !survey.is_open() {
        say!(
            "  The survey period is {} – {}: respondents are told it is not open. Use --trial to try it today.",
            survey.campaign().local_time(survey.campaign().opens),
            survey.campaign().local_time(survey.campaign().closes)
        );
    }
    if cli.trial {
        say_raw!(
            "{}",
            trial::demo_tokens(&survey, &cli.database(), Some(&web_url)).await?
        );
    }

    let state = AppState {
        survey: survey.clone(),
        secure_cookies: web_url.starts_with("https://"),
        zalo: zalo.clone(),
        telegram: telegram_webhook,
    };
    tracing::info!(%addr, "serving");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(stopped(stop_rx.clone()))
        .await
        .context("serving HTTP")?;
    // Requests in hand have finished; so have the bot's updates in hand.
    if let Some(t) = telegram_task {
        let _ = t.await;
    }
    // Deliver the Zalo replies still queued.
    if let Some(z) = &zalo {
        let left = z.outbox.drain(std::time::Duration::from_secs(20)).await;
        if left > 0 {
            tracing::warn!(left, "Zalo replies not delivered before shutdown");
        }
    }
    survey.store().close().await;
    say!("khaosat: stopped");
    Ok(())
}

/// Every hour, forgets message ids older than `KEEP_MESSAGE_IDS`.
fn forget_old_message_ids(survey: &Arc<Survey>, mut stop: watch::Receiver<bool>) {
    let survey = survey.clone();
    tokio::spawn(async move {
        let mut hourly = tokio::time::interval(std::time::Duration::from_secs(3600));
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
        }
    });
}

async fn start_zalo(survey: &Arc<Survey>, web_url: &str) -> Result<Option<Arc<Zalo>>> {
    let Some(config) = ZaloConfig::from_env() else {
        say!(
            "  Zalo: off (set KHAOSAT_ZALO_APP_ID, KHAOSAT_ZALO_OA_SECRET_KEY, KHAOSAT_ZALO_APP_SECRET_KEY and KHAOSAT_ZALO_REFRESH_TOKEN to turn it on)"
        );
        return Ok(None);
    };
    let client = Arc::new(ZaloClient::new(config.clone(), survey.store().clone()).await?);
    let outbox = Outbox::new(client.clone(), survey.store().clone());
    say!("  Zalo: on — webhook {web_url}/zalo/webhook");
    Ok(Some(Arc::new(Zalo {
        config,
        client,
        outbox,
    })))
}

type TelegramStart = (
    Option<tokio::task::JoinHandle<()>>,
    Option<Arc<TelegramWebhook>>,
);

async fn start_telegram(
    survey: &Arc<Survey>,
    args: &ServeArgs,
    web_url: &str,
    stop: &watch::Receiver<bool>,
) -> Result<TelegramStart> {
    let token = std::env::var("TELOXIDE_TOKEN").unwrap_or_default();
    if token.trim().is_empty() {
        say!("  Telegram: off (set TELOXIDE_TOKEN to the bot's token to turn it on)");
        return Ok((None, None));
    }
    // Honours TELOXIDE_API_URL (a local Bot API server, or tests).
    let bot = teloxide::Bot::from_env();
    let staff = Staff::from_env();
    if args.telegram_webhook {
        let secret = args
            .telegram_webhook_secret
            .clone()
            .unwrap_or_else(telegram::new_secret);
        let url = format!("{}/telegram/webhook", web_url.trim_end_matches('/'));
        telegram::prepare(&bot, &staff).await?;
        telegram::register(&bot, &url, &secret).await?;
        say!("  Telegram: on — webhook {url}");
        return Ok((None, Some(Arc::new(TelegramWebhook { bot, staff, secret }))));
    }
    say!("  Telegram: on — long polling");
    let survey = survey.clone();
    let stop = stopped(stop.clone());
    let task = tokio::spawn(async move {
        if let Err(e) = telegram::run(bot, survey, staff, stop).await {
            // The other channels go on; the log says why Telegram stopped.
            tracing::error!(error = format!("{e:#}"), "the Telegram bot stopped");
        }
    });
    Ok((Some(task), None))
}

/// Resolves once the stop signal is given.
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
