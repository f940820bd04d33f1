//! The update tree: commands, messages and button presses go to the survey
//! service; staff commands to progress and reports. Polling and the webhook
//! both run this one tree.

use std::sync::Arc;

use anyhow::Result;
use teloxide::dispatching::{HandlerExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::ChatId;

use super::commands::{Command, StaffCommand};
use super::{Telegram, retry};
use crate::period::Action;
use crate::survey::staff;
use crate::survey::{Content, Handled};

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
    update: Update,
    msg: Message,
    command: Command,
    tg: Arc<Telegram>,
) -> Result<()> {
    let _done = tg.survey.metrics().update_in_hand(CHANNEL);
    if !msg.chat.is_private() {
        return Ok(());
    }
    handle(&tg, msg.chat.id, update.id.0, command.content(), None).await?;
    Ok(())
}

async fn on_message(update: Update, msg: Message, tg: Arc<Telegram>) -> Result<()> {
    let _done = tg.survey.metrics().update_in_hand(CHANNEL);
    if !msg.chat.is_private() {
        return Ok(());
    }
    let content = match msg.text() {
        Some(t) => Content::Text(t.to_string()),
        None => Content::Other,
    };
    handle(&tg, msg.chat.id, update.id.0, content, None).await?;
    Ok(())
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
    // Staff by configuration, or enrolled with a staff token.
    let staff = tg.staff.contains(user) || tg.survey.is_staff(CHANNEL, &user.to_string()).await?;
    if !msg.chat.is_private() || !staff {
        retry::send(|| bot.send_message(msg.chat.id, NOT_STAFF).send()).await?;
        return Ok(());
    }
    match command {
        StaffCommand::Baocao => super::report::send(&bot, msg.chat.id, &tg).await,
        StaffCommand::Tiendo(unit) => on_progress(&bot, msg.chat.id, &tg, unit.trim()).await,
        StaffCommand::Dongkhaosat(reason) => {
            let text = change_period(&tg, user, Action::Close, &reason).await;
            retry::send(|| bot.send_message(msg.chat.id, text.clone()).send()).await?;
            Ok(())
        }
        StaffCommand::Molai(args) => {
            let text = change_period(&tg, user, Action::Reopen, &args).await;
            retry::send(|| bot.send_message(msg.chat.id, text.clone()).send()).await?;
            Ok(())
        }
    }
}

/// `/dongkhaosat lý do` and `/molai 28/02/2021 [17:00] lý do`: the answer
/// to send back (the decision in force, or why nothing changed).
async fn change_period(tg: &Telegram, user: i64, action: Action, args: &str) -> String {
    let survey = &tg.survey;
    let Some((until, reason)) = staff::period_request(survey.campaign(), action, args) else {
        return match action {
            Action::Close => CLOSE_USAGE,
            Action::Reopen => REOPEN_USAGE,
        }
        .to_string();
    };
    // Recorded as a keyed hash of the staff member, never their account.
    let by = survey.staff_account(CHANNEL, &user.to_string());
    match survey.change_period(action, until, &by, &reason).await {
        Ok(period) => staff::in_force(survey.campaign(), &period),
        Err(e) => format!("Không thay đổi: {e:#}."),
    }
}

const CLOSE_USAGE: &str = "Xin ghi kèm lý do, ví dụ: /dongkhaosat Đã đủ số phiếu theo kế hoạch";
const REOPEN_USAGE: &str = "Xin ghi ngày kết thúc mới và lý do, ví dụ: /molai 28/02/2021 Gia hạn để xã Bình Trị đủ số phiếu";

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
    let chat = q
        .message
        .as_ref()
        .map_or(ChatId(q.from.id.0 as i64), |m| m.chat().id);
    let pressed = q.message.as_ref().map(|m| m.id().0.to_string());
    let content = Content::button(q.data.as_deref().unwrap_or_default());
    let handled = handle(&tg, chat, update.id.0, content, pressed).await?;
    // Every press is answered once, so the button stops spinning (a press
    // delivered again was answered the first time).
    if !handled.duplicate {
        let _ = retry::send(|| bot.answer_callback_query(q.id.clone()).send()).await;
    }
    Ok(())
}

/// Hands one update to the survey; the replies go out through the outbox.
async fn handle(
    tg: &Telegram,
    chat: ChatId,
    update_id: u32,
    content: Content,
    pressed: Option<String>,
) -> Result<Handled> {
    let message = crate::survey::Message {
        channel: CHANNEL.to_string(),
        user: chat.0.to_string(),
        id: Some(update_id.to_string()),
        content,
        origin: crate::survey::Origin::Account,
        successor: None,
        pressed,
    };
    tg.survey.handle(message).await
}
