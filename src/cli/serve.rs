//! `khaosat serve`: the Telegram bot and the HTTP server (web chat, Zalo
//! webhook, health, metrics), until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;

use super::{Cli, trial};
use crate::web::{AppState, router};
use crate::zalo::{Outbox, Zalo, ZaloClient, ZaloConfig};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "KHAOSAT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The public address of the web chat (https://… marks cookies Secure).
    #[arg(long, env = "KHAOSAT_WEB_URL")]
    pub web_url: Option<String>,
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
    let zalo = match ZaloConfig::from_env() {
        Some(config) => {
            let client = Arc::new(ZaloClient::new(config.clone(), survey.store().clone()).await?);
            let outbox = Outbox::new(client.clone(), survey.store().clone());
            Some(Arc::new(Zalo {
                config,
                client,
                outbox,
            }))
        }
        None => None,
    };
    let state = AppState {
        survey: survey.clone(),
        secure_cookies: web_url.starts_with("https://"),
        zalo: zalo.clone(),
    };

    println!(
        "khaosat: {} — cơ sở dữ liệu {}",
        survey.campaign().title,
        cli.database()
    );
    println!("  Trang trả lời phiếu (web chat): {web_url}/");
    println!("  Tình trạng: {web_url}/healthz   Số liệu: {web_url}/metrics");
    match &zalo {
        Some(_) => println!("  Zalo: on — webhook {web_url}/zalo/webhook"),
        None => println!(
            "  Zalo: off (set KHAOSAT_ZALO_APP_ID, KHAOSAT_ZALO_OA_SECRET_KEY, KHAOSAT_ZALO_APP_SECRET_KEY and KHAOSAT_ZALO_REFRESH_TOKEN to turn it on)"
        ),
    }
    // One signal stops everything: the HTTP server and the bot.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown().await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let telegram = match std::env::var("TELOXIDE_TOKEN") {
        Ok(token) if !token.trim().is_empty() => {
            // Honours TELOXIDE_API_URL (a local Bot API server, or tests).
            let bot = teloxide::Bot::from_env();
            println!("  Telegram: on — long polling");
            let survey = survey.clone();
            let stop = stopped(stop_rx.clone());
            Some(tokio::spawn(async move {
                let staff = crate::telegram::Staff::from_env();
                if let Err(e) = crate::telegram::run(bot, survey, staff, stop).await {
                    // The other channels go on; the log says why Telegram stopped.
                    tracing::error!(error = format!("{e:#}"), "the Telegram bot stopped");
                }
            }))
        }
        _ => {
            println!("  Telegram: off (set TELOXIDE_TOKEN to the bot's token to turn it on)");
            None
        }
    };
    if !survey.is_open() {
        println!(
            "  The survey period is {} – {}: respondents are told it is not open. Use --trial to try it today.",
            survey.campaign().local_time(survey.campaign().opens),
            survey.campaign().local_time(survey.campaign().closes)
        );
    }
    if cli.trial {
        print!(
            "{}",
            trial::demo_tokens(&survey, &cli.database(), Some(&web_url)).await?
        );
    }
    tracing::info!(%addr, "serving");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(stopped(stop_rx.clone()))
        .await
        .context("serving HTTP")?;
    // Requests in hand have finished; so have the bot's updates in hand.
    if let Some(t) = telegram {
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
    println!("khaosat: stopped");
    Ok(())
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
