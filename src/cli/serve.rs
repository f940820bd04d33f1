//! `khaosat serve`: the HTTP server (web chat, health, metrics) on one
//! address, until SIGTERM or Ctrl-C.

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
    if std::env::var_os("TELOXIDE_TOKEN").is_some() {
        tracing::warn!("TELOXIDE_TOKEN is set, but this version has no Telegram channel yet");
    } else {
        println!("  Telegram: off (this version has no Telegram channel yet)");
    }
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
        .with_graceful_shutdown(shutdown())
        .await
        .context("serving HTTP")?;
    // Requests in hand have finished; deliver the replies still queued.
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
