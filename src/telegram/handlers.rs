//! The update tree: commands, messages and button presses go to the survey
//! service; staff commands to progress and reports. Polling and the webhook
//! both run this one tree.

use std::sync::Arc;

use anyhow::Result;
use teloxide::dispatching::{HandlerExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{ChatId, MessageId};

use super::commands::{Command, StaffCommand};
use super::render::{Outgoing, outgoing};
use super::{Telegram, retry};
use crate::engine::{Action, Reply};
use crate::survey::Content;

/// The channel name of Telegram.
pub const CHANNEL: &str = "telegram";

/// Refusal for staff commands: says nothing about what the command would show.
const NOT_STAFF: &str = "Xin lỗi, lệnh này chỉ dành cho cán bộ phụ trách khảo sát.";

/// The whole update tree. Needs `Arc<Telegram>` and `Me` among the dependencies.
pub fn schema() -> UpdateHandler<anyhow::Error> {
    let messages = Update::filter_message()
        .branch(
            dptree::entry()
                .filter_command::<StaffCommand>()
                .endpoint(on_staff_command),
        )
        .branch(
            dptree::entry()
                .filter_command::<Command>()
                .endpoint(on_command),
        )
        .endpoint(on_message);
    dptree::entry()
        .branch(messages)
        .branch(Update::filter_callback_query().endpoint(on_button))
}

async fn on_command(
    bot: Bot,
    update: Update,
    msg: Message,
    command: Command,
    tg: Arc<Telegram>,
) -> Result<()> {
    let _done = tg.survey.metrics().update_in_hand(CHANNEL);
    if !msg.chat.is_private() {
        return Ok(());
    }
    answer_update(&bot, &tg, msg.chat.id, update.id.0, command.content()).await
}

async fn on_message(bot: Bot, update: Update, msg: Message, tg: Arc<Telegram>) -> Result<()> {
    let _done = tg.survey.metrics().update_in_hand(CHANNEL);
    if !msg.chat.is_private() {
        return Ok(());
    }
    let content = match msg.text() {
        Some(t) => Content::Text(t.to_string()),
        None => Content::Other,
    };
    answer_update(&bot, &tg, msg.chat.id, update.id.0, content).await
}

/// Staff commands, refused to anyone else.
async fn on_staff_command(
    bot: Bot,
    msg: Message,
    command: StaffCommand,
    tg: Arc<Telegram>,
) -> Result<()> {
    let _done = tg.survey.metrics().update_in_hand(CHANNEL);
    let user = msg.from.as_ref().map_or(0, |u| u.id.0 as i64);
    if !msg.chat.is_private() || !tg.staff.contains(user) {
        retry::send(|| bot.send_message(msg.chat.id, NOT_STAFF).send()).await?;
        return Ok(());
    }
    match command {
        StaffCommand::Baocao => super::report::send(&bot, msg.chat.id, &tg).await,
        StaffCommand::Tiendo(unit) => on_progress(&bot, msg.chat.id, &tg, unit.trim()).await,
    }
}

/// `/tiendo [unit]`: progress against the quotas.
async fn on_progress(bot: &Bot, chat: ChatId, tg: &Telegram, unit: &str) -> Result<()> {
    let survey = &tg.survey;
    let c = survey.campaign();
    let p = survey.progress().await?;
    let text = if unit.is_empty() {
        crate::progress::overview(c, &p, survey.now())
    } else {
        crate::progress::unit_detail(c, &p, unit, survey.now()).unwrap_or_else(|| {
            let ids = c
                .units()
                .iter()
                .map(|u| u.id.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            format!("Không có đơn vị “{unit}”. Mã các đơn vị: {ids}")
        })
    };
    for piece in crate::text::split(&text, super::MAX_TEXT_CHARS) {
        retry::send(|| bot.send_message(chat, piece.clone()).send()).await?;
    }
    Ok(())
}

async fn on_button(bot: Bot, update: Update, q: CallbackQuery, tg: Arc<Telegram>) -> Result<()> {
    let _done = tg.survey.metrics().update_in_hand(CHANNEL);
    // Every press is answered, so the button stops spinning.
    let _ = retry::send(|| bot.answer_callback_query(q.id.clone()).send()).await;
    let chat = q
        .message
        .as_ref()
        .map_or(ChatId(q.from.id.0 as i64), |m| m.chat().id);
    let pressed = q.message.as_ref().map(|m| m.id());
    let content = Content::button(q.data.as_deref().unwrap_or_default());
    let tap = matches!(
        content,
        Content::Press {
            action: Action::Set(..),
            ..
        }
    );
    let Some(replies) = handle(&tg, chat, update.id.0, content).await? else {
        return Ok(());
    };
    let out = outgoing(&replies);
    // A tap on the compact form updates that same message.
    if let (true, Some(id), [only]) = (tap && replies.len() == 1, pressed, out.as_slice())
        && only.grid
    {
        let edited = retry::send(|| {
            let request = bot.edit_message_text(chat, id, only.text.clone());
            match &only.keyboard {
                Some(k) => request.reply_markup(k.clone()).send(),
                None => request.send(),
            }
        })
        .await;
        if edited.is_ok() {
            return Ok(());
        }
    }
    // Otherwise the pressed message has been answered (or was stale): take its buttons off.
    if let Some(id) = pressed {
        remove_buttons(&bot, chat, id).await;
    }
    send_all(&bot, chat, out).await
}

async fn remove_buttons(bot: &Bot, chat: ChatId, id: MessageId) {
    if let Err(e) = retry::send(|| bot.edit_message_reply_markup(chat, id).send()).await {
        tracing::debug!(error = %e, "could not remove an answered keyboard");
    }
}

/// Hands one update to the survey and sends the replies, in order.
async fn answer_update(
    bot: &Bot,
    tg: &Telegram,
    chat: ChatId,
    update_id: u32,
    content: Content,
) -> Result<()> {
    if let Some(replies) = handle(tg, chat, update_id, content).await? {
        send_all(bot, chat, outgoing(&replies)).await?;
    }
    Ok(())
}

/// The survey's replies to one update; `None` when it was delivered before.
async fn handle(
    tg: &Telegram,
    chat: ChatId,
    update_id: u32,
    content: Content,
) -> Result<Option<Vec<Reply>>> {
    let message = crate::survey::Message {
        channel: CHANNEL.to_string(),
        user: chat.0.to_string(),
        id: Some(update_id.to_string()),
        content,
        origin: crate::survey::Origin::Account,
        successor: None,
    };
    let handled = tg.survey.handle(message).await?;
    Ok((!handled.duplicate).then_some(handled.replies))
}

async fn send_all(bot: &Bot, chat: ChatId, messages: Vec<Outgoing>) -> Result<()> {
    for m in messages {
        retry::send(|| {
            let request = bot.send_message(chat, m.text.clone());
            match &m.keyboard {
                Some(k) => request.reply_markup(k.clone()).send(),
                None => request.send(),
            }
        })
        .await?;
    }
    Ok(())
}
