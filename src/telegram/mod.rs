//! The Telegram channel (teloxide): respondents by deep link or typed token,
//! questions as inline keyboards, by long polling or webhook.
//!
//! `commands.rs` parses commands, `handlers.rs` is the one update tree both
//! modes run, `render.rs` turns replies into messages, `retry.rs` waits out
//! 429s, `report.rs` sends `/baocao`, `polling.rs` and `webhook.rs` receive
//! updates, `courier.rs` sends the replies from the outbox.
//! Updates of one chat are handled in order (a task per chat in
//! `polling.rs`); each update's id is recorded with the step, so an update
//! delivered again — after a crash, before its offset was confirmed —
//! changes nothing and sends nothing.

mod commands;
mod courier;
mod handlers;
mod polling;
mod render;
mod report;
mod retry;
mod webhook;

pub use commands::{Command, StaffCommand};
pub use courier::TelegramCourier;
pub use handlers::{CHANNEL, schema};
pub use polling::run_polling;
pub use render::{MAX_TEXT_CHARS, Outgoing, outgoing};
pub use webhook::{
    SECRET_HEADER, TelegramWebhook, check_secret, new_secret, register, router as webhook_router,
};

use std::sync::Arc;

use anyhow::{Context, Result};
use teloxide::prelude::*;
use teloxide::types::{BotCommand, BotCommandScope, ChatId, Me, Recipient};
use teloxide::utils::command::BotCommands;

use crate::store::Store;
use crate::survey::Survey;

/// Telegram user ids of the staff of Phòng Nội vụ, who may see progress.
#[derive(Debug, Clone, Default)]
pub struct Staff(pub Vec<i64>);

impl Staff {
    pub fn contains(&self, user: i64) -> bool {
        self.0.contains(&user)
    }
}

/// What the bot's handlers reach.
pub struct Telegram {
    pub survey: Arc<Survey>,
    /// For the staff's reports.
    pub store: Store,
    pub staff: Staff,
}

/// The bot's commands, as registered with `setMyCommands`.
pub fn commands() -> Vec<BotCommand> {
    without_prefix(Command::bot_commands())
}

/// Everyone's commands and the staff's, shown only in their chats.
pub fn staff_commands() -> Vec<BotCommand> {
    let mut all = commands();
    all.extend(without_prefix(StaffCommand::bot_commands()));
    all
}

/// Telegram's `setMyCommands` takes names without the slash.
fn without_prefix(commands: Vec<BotCommand>) -> Vec<BotCommand> {
    commands
        .into_iter()
        .map(|c| BotCommand::new(c.command.trim_start_matches('/'), c.description))
        .collect()
}

/// Checks the bot's token and registers its commands (both modes); returns
/// who the bot is.
pub async fn prepare(bot: &Bot, staff: &Staff) -> Result<Me> {
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
    Ok(me)
}
