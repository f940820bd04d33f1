//! The Telegram channel (teloxide): respondents by deep link or typed token,
//! questions as inline keyboards, long polling.
//!
//! Updates of one chat are handled in order (teloxide's per-chat
//! distribution); each update's id is recorded with the step, so an update
//! delivered again — after a crash, before its offset was confirmed —
//! changes nothing.

mod handlers;
mod render;
mod report;
mod retry;
mod webhook;

pub use handlers::{CHANNEL, Staff, schema};
pub use render::{MAX_TEXT_CHARS, Outgoing, outgoing};
pub use webhook::{SECRET_HEADER, TelegramWebhook, new_secret, register, routes};

use std::future::Future;
use std::sync::Arc;

use anyhow::{Context, Result};
use teloxide::prelude::*;
use teloxide::types::{BotCommand, BotCommandScope, ChatId, Recipient};
use teloxide::update_listeners;

use crate::survey::Survey;

/// The bot's commands, as registered with `setMyCommands`.
pub fn commands() -> Vec<BotCommand> {
    vec![
        BotCommand::new("start", "Bắt đầu, hoặc nhập mã phiếu"),
        BotCommand::new("huongdan", "Hướng dẫn trả lời phiếu"),
        BotCommand::new("quaylai", "Quay lại câu trước"),
        BotCommand::new("huy", "Hủy phiếu đang trả lời"),
    ]
}

/// The staff's extra command, shown only in their chats.
pub fn staff_commands() -> Vec<BotCommand> {
    let mut all = commands();
    all.push(BotCommand::new(
        "tiendo",
        "Tiến độ so với chỉ tiêu (cán bộ phụ trách)",
    ));
    all.push(BotCommand::new(
        "baocao",
        "Tổng hợp kết quả: tệp Excel và trang HTML (cán bộ phụ trách)",
    ));
    all
}

/// Checks the bot's token and registers its commands (both modes).
pub async fn prepare(bot: &Bot, staff: &Staff) -> Result<()> {
    let me = bot
        .get_me()
        .await
        .context("asking Telegram who the bot is (getMe)")?;
    tracing::info!(username = me.username(), "Telegram bot connected");
    retry::send(|| bot.set_my_commands(commands()).send())
        .await
        .context("registering the bot's commands")?;
    for id in &staff.0 {
        let scope = BotCommandScope::Chat {
            chat_id: Recipient::Id(ChatId(*id)),
        };
        if let Err(e) = retry::send(|| {
            bot.set_my_commands(staff_commands())
                .scope(scope.clone())
                .send()
        })
        .await
        {
            tracing::warn!(error = %e, "could not show the staff commands to a staff member");
        }
    }
    Ok(())
}

/// Runs the bot with long polling until `stop` resolves.
pub async fn run(
    bot: Bot,
    survey: Arc<Survey>,
    staff: Staff,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    prepare(&bot, &staff).await?;
    let mut dispatcher = Dispatcher::builder(bot.clone(), schema())
        .dependencies(dptree::deps![survey, staff])
        .default_handler(|_| async {})
        .error_handler(LoggingErrorHandler::with_custom_text(
            "a Telegram update failed",
        ))
        .build();
    let token = dispatcher.shutdown_token();
    tokio::spawn(async move {
        stop.await;
        if let Ok(done) = token.shutdown() {
            done.await;
        }
    });
    let listener = update_listeners::polling_default(bot).await;
    dispatcher
        .try_dispatch_with_listener(
            listener,
            LoggingErrorHandler::with_custom_text("getting Telegram updates failed"),
        )
        .await
        .map_err(|e| anyhow::anyhow!("starting the Telegram dispatcher: {e:?}"))?;
    Ok(())
}
