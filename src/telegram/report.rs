//! `/baocao`: the staff receive the report in their chat, as the Excel
//! workbook and the portal page (the other outputs come from `khaosat
//! report`).

use anyhow::{Context, Result};
use teloxide::prelude::*;
use teloxide::types::{ChatId, InputFile};

use super::{Telegram, retry};
use crate::report::{Report, staff_files};
use crate::survey::staff::REPORT_FAILED;

pub async fn send(bot: &Bot, chat: ChatId, tg: &Telegram) -> Result<()> {
    let survey = &tg.survey;
    if !survey.results_published() {
        // Two reports a few minutes apart would show one person's answers.
        let text = crate::progress::before_close(
            survey.campaign(),
            &survey.progress().await?,
            survey.now(),
        );
        for piece in crate::text::split(&text, super::MAX_TEXT_CHARS) {
            retry::send(|| bot.send_message(chat, piece.clone()).send()).await?;
        }
        return Ok(());
    }
    retry::send(|| {
        bot.send_message(chat, "Đang tổng hợp kết quả, xin chờ trong giây lát…")
            .send()
    })
    .await?;
    let outcome = match compute(tg).await {
        Ok((report, files)) => send_report_files(bot, chat, &report, &files).await,
        Err(e) => Err(e),
    };
    if let Err(e) = &outcome {
        tracing::error!(error = %format!("{e:#}"), "the report for /baocao failed");
        retry::send(|| bot.send_message(chat, REPORT_FAILED).send()).await?;
    }
    Ok(())
}

/// Runs the report on a blocking thread: its file and workbook work would
/// otherwise hold up a worker that other respondents' updates need.
async fn compute(tg: &Telegram) -> Result<(Report, Vec<(&'static str, Vec<u8>)>)> {
    // Whatever is still in the ballot box goes into the chain first.
    tg.survey.mix(true).await?;
    let (store, survey) = (tg.store.clone(), tg.survey.clone());
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        runtime.block_on(staff_files(&store, survey.campaign(), survey.now()))
    })
    .await
    .context("the report task")?
}

async fn send_report_files(
    bot: &Bot,
    chat: ChatId,
    r: &Report,
    files: &[(&'static str, Vec<u8>)],
) -> Result<()> {
    let caption = format!(
        "Kết quả tổng hợp lúc {} từ {} phiếu.\nMã băm cuối chuỗi: {}",
        r.generated, r.ballots, r.chain_head
    );
    for (name, bytes) in files {
        retry::send(|| {
            bot.send_document(chat, InputFile::memory(bytes.clone()).file_name(*name))
                .caption(caption.clone())
                .send()
        })
        .await?;
    }
    Ok(())
}
