//! `khaosat serve`: the assembled service (see `startup.rs`), until SIGTERM
//! or Ctrl-C.

use anyhow::Result;

use super::tokens::Links;
use super::trial;
use crate::settings::Settings;
use crate::startup;

pub async fn run(settings: &Settings) -> Result<()> {
    let app = startup::build(settings.clone()).await?;
    let survey = app.survey().clone();
    let web_url = app.web_url().to_string();
    say!(
        "khaosat: {} — cơ sở dữ liệu {}",
        survey.campaign().title(),
        crate::store::redacted(&settings.database())
    );
    say!("  Trang trả lời phiếu (web chat): {web_url}/");
    say!("  Tình trạng: {web_url}/healthz   Số liệu: {web_url}/metrics");
    for line in app.channels() {
        say!("  {line}");
    }
    if !survey.is_open() {
        let c = survey.campaign();
        say!(
            "  {} Người trả lời được báo là chưa đến hoặc đã hết thời gian khảo sát; dùng --trial để thử hôm nay.",
            survey.period().describe(c)
        );
    }
    if settings.trial {
        let links = Links {
            web_url: web_url.clone(),
            ..Links::of(settings)
        };
        say_raw!(
            "{}",
            trial::demo_tokens(
                &survey,
                app.store(),
                &startup::key(settings)?,
                &settings.database(),
                &links,
                true
            )
            .await?
        );
    }
    app.run_until_stopped(shutdown()).await?;
    say!("khaosat: đã dừng");
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
