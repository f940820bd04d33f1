//! `/baocao`: the staff receive the report in their chat, as the Excel
//! workbook and the portal page (the other outputs come from `khaosat
//! report`).

use std::path::Path;

use anyhow::{Context, Result};
use teloxide::prelude::*;
use teloxide::types::{ChatId, InputFile};

use super::{Telegram, retry};
use crate::report::{PAGE_HTML, Scope, WORKBOOK, Written, write_reports};

/// Said when the report cannot be made; the reason goes to the log only.
const FAILED: &str = "Xin lỗi, chưa tổng hợp được kết quả. Đồng chí vui lòng thử lại sau ít phút; nếu vẫn không được, xin báo bộ phận kỹ thuật (chi tiết đã ghi trong nhật ký hệ thống).";

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
    let dir = std::env::temp_dir().join(format!("khaosat-baocao-{}", crate::hex::random::<8>()));
    let outcome = match compute(tg, &dir).await {
        Ok(written) => send_report_files(bot, chat, &dir, &written).await,
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = &outcome {
        tracing::error!(error = %format!("{e:#}"), "the report for /baocao failed");
        retry::send(|| bot.send_message(chat, FAILED).send()).await?;
    }
    Ok(())
}

/// Runs the report on a blocking thread: its file and workbook work would
/// otherwise hold up a worker that other respondents' updates need.
async fn compute(tg: &Telegram, dir: &Path) -> Result<Written> {
    // Whatever is still in the ballot box goes into the chain first.
    tg.survey.mix(true).await?;
    let (store, survey, dir) = (tg.store.clone(), tg.survey.clone(), dir.to_path_buf());
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        runtime.block_on(write_reports(
            &store,
            survey.campaign(),
            &dir,
            survey.now(),
            Scope::Final,
        ))
    })
    .await
    .context("the report task")?
}

async fn send_report_files(bot: &Bot, chat: ChatId, dir: &Path, written: &Written) -> Result<()> {
    let r = &written.report;
    let caption = format!(
        "Kết quả tổng hợp lúc {} từ {} phiếu.\nMã băm cuối chuỗi: {}",
        r.generated, r.ballots, r.chain_head
    );
    for name in [WORKBOOK, PAGE_HTML] {
        let bytes = std::fs::read(dir.join(name)).with_context(|| format!("reading {name}"))?;
        retry::send(|| {
            bot.send_document(chat, InputFile::memory(bytes.clone()).file_name(name))
                .caption(caption.clone())
                .send()
        })
        .await?;
    }
    Ok(())
}
