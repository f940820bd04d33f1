//! `/baocao`: the staff receive the report in their chat, as the Excel
//! workbook and the portal page (the other outputs come from `khaosat
//! report`).

use anyhow::Result;
use teloxide::prelude::*;
use teloxide::types::{ChatId, InputFile};

use super::retry;
use crate::report::{PAGE_HTML, WORKBOOK, write_reports};
use crate::survey::Survey;

pub async fn send(bot: &Bot, chat: ChatId, survey: &Survey) -> Result<()> {
    retry::send(|| {
        bot.send_message(chat, "Đang tổng hợp kết quả, xin chờ trong giây lát…")
            .send()
    })
    .await?;
    let dir = std::env::temp_dir().join(format!(
        "khaosat-baocao-{}",
        crate::token::hex(&rand::random::<[u8; 8]>())
    ));
    let outcome = deliver(bot, chat, survey, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = &outcome {
        tracing::error!(error = %format!("{e:#}"), "the report for /baocao failed");
        let text = format!("Không tổng hợp được kết quả: {e:#}");
        retry::send(|| bot.send_message(chat, text.clone()).send()).await?;
    }
    Ok(())
}

async fn deliver(bot: &Bot, chat: ChatId, survey: &Survey, dir: &std::path::Path) -> Result<()> {
    let written = write_reports(survey.store(), survey.campaign(), dir, survey.now()).await?;
    let r = &written.report;
    let caption = format!(
        "Kết quả tổng hợp lúc {} từ {} phiếu.\nMã băm cuối chuỗi: {}",
        r.generated, r.ballots, r.chain_head
    );
    for name in [WORKBOOK, PAGE_HTML] {
        let bytes = std::fs::read(dir.join(name))?;
        retry::send(|| {
            bot.send_document(chat, InputFile::memory(bytes.clone()).file_name(name))
                .caption(caption.clone())
                .send()
        })
        .await?;
    }
    Ok(())
}
