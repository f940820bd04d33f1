//! The update tree: messages and button presses go to the survey service.

use std::sync::Arc;

use anyhow::Result;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{ChatId, MessageId};

use super::render::{Outgoing, outgoing};
use super::retry;
use crate::engine::{Action, Reply};
use crate::survey::{Content, Survey};

/// The channel name of Telegram.
pub const CHANNEL: &str = "telegram";

/// Telegram user ids of the staff of Phòng Nội vụ, who may see progress.
#[derive(Debug, Clone, Default)]
pub struct Staff(pub Vec<i64>);

impl Staff {
    /// From `KHAOSAT_TELEGRAM_STAFF`: user ids separated by commas.
    pub fn from_env() -> Self {
        let ids = std::env::var("KHAOSAT_TELEGRAM_STAFF").unwrap_or_default();
        Self(
            ids.split(',')
                .filter_map(|id| id.trim().parse().ok())
                .collect(),
        )
    }

    pub fn contains(&self, user: i64) -> bool {
        self.0.contains(&user)
    }
}

/// Refusal for staff commands: says nothing about what the command would show.
const NOT_STAFF: &str = "Xin lỗi, lệnh này chỉ dành cho cán bộ phụ trách khảo sát.";

/// The staff's commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StaffCommand {
    /// `/tiendo [unit]`
    Progress,
    /// `/baocao`
    Report,
}

fn staff_command(msg: &teloxide::types::Message) -> Option<StaffCommand> {
    let first = msg.text()?.split_whitespace().next()?;
    match first.split('@').next()? {
        "/tiendo" => Some(StaffCommand::Progress),
        "/baocao" => Some(StaffCommand::Report),
        _ => None,
    }
}

/// The whole update tree: staff commands, messages, button presses.
pub fn schema() -> UpdateHandler<anyhow::Error> {
    dptree::entry()
        .branch(
            Update::filter_message()
                .filter(|m: teloxide::types::Message| staff_command(&m).is_some())
                .endpoint(on_staff_command),
        )
        .branch(Update::filter_message().endpoint(on_message))
        .branch(Update::filter_callback_query().endpoint(on_button))
}

/// What a typed message means: `/start <payload>`, a command, or text.
fn content(text: &str) -> Content {
    let t = text.trim();
    let (command, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
    // "/start@khaosat_bot" in groups; we only serve private chats, but be lenient.
    let command = command.split('@').next().unwrap_or(command);
    match command {
        "/start" => Content::Start(Some(rest.trim().to_string()).filter(|p| !p.is_empty())),
        "/huongdan" | "/help" => Content::Text("trợ giúp".into()),
        "/quaylai" => Content::Text("quay lại".into()),
        "/huy" => Content::Text("hủy".into()),
        _ => Content::Text(text.to_string()),
    }
}

/// A message, as the dispatcher or the webhook hands it over: staff
/// commands first, then everything else.
pub async fn route_message(
    bot: Bot,
    update: Update,
    msg: teloxide::types::Message,
    survey: Arc<Survey>,
    staff: Staff,
) -> Result<()> {
    if staff_command(&msg).is_some() {
        on_staff_command(bot, msg, survey, staff).await
    } else {
        on_message(bot, update, msg, survey).await
    }
}

async fn on_message(
    bot: Bot,
    update: Update,
    msg: teloxide::types::Message,
    survey: Arc<Survey>,
) -> Result<()> {
    if !msg.chat.is_private() {
        return Ok(());
    }
    let content = match msg.text() {
        Some(t) => content(t),
        None => Content::Other,
    };
    deliver(&bot, &survey, msg.chat.id, update.id.0, content).await
}

/// Staff commands, refused to anyone else.
async fn on_staff_command(
    bot: Bot,
    msg: teloxide::types::Message,
    survey: Arc<Survey>,
    staff: Staff,
) -> Result<()> {
    let user = msg.from.as_ref().map_or(0, |u| u.id.0 as i64);
    if !msg.chat.is_private() || !staff.contains(user) {
        retry::send(|| bot.send_message(msg.chat.id, NOT_STAFF).send()).await?;
        return Ok(());
    }
    match staff_command(&msg) {
        Some(StaffCommand::Report) => super::report::send(&bot, msg.chat.id, &survey).await,
        _ => on_progress(bot, msg, survey).await,
    }
}

/// `/tiendo [unit]`: progress against the quotas.
async fn on_progress(bot: Bot, msg: teloxide::types::Message, survey: Arc<Survey>) -> Result<()> {
    let text = {
        let c = survey.campaign();
        let p = survey.progress().await?;
        let arg = msg
            .text()
            .unwrap_or("")
            .split_whitespace()
            .nth(1)
            .map(str::to_string);
        match arg {
            None => crate::progress::overview(c, &p, survey.now()),
            Some(unit) => {
                crate::progress::unit_detail(c, &p, &unit, survey.now()).unwrap_or_else(|| {
                    let ids = c
                        .units
                        .iter()
                        .map(|u| u.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ");
                    format!("Không có đơn vị “{unit}”. Mã các đơn vị: {ids}")
                })
            }
        }
    };
    for piece in crate::text::split(&text, super::MAX_TEXT_CHARS) {
        retry::send(|| bot.send_message(msg.chat.id, piece.clone()).send()).await?;
    }
    Ok(())
}

pub async fn on_button(
    bot: Bot,
    update: Update,
    q: CallbackQuery,
    survey: Arc<Survey>,
) -> Result<()> {
    // Every press is answered, so the button stops spinning.
    let _ = retry::send(|| bot.answer_callback_query(q.id.clone()).send()).await;
    let chat = q
        .message
        .as_ref()
        .map_or(ChatId(q.from.id.0 as i64), |m| m.chat().id);
    let data = q.data.clone().unwrap_or_default();
    let pressed = q.message.as_ref().map(|m| m.id());
    let tap = Action::decode(&data).is_some_and(|(_, a)| matches!(a, Action::Set(..)));
    let Some(replies) = handle(&survey, chat, update.id.0, Content::Button(data)).await? else {
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
async fn deliver(
    bot: &Bot,
    survey: &Survey,
    chat: ChatId,
    update_id: u32,
    content: Content,
) -> Result<()> {
    if let Some(replies) = handle(survey, chat, update_id, content).await? {
        send_all(bot, chat, outgoing(&replies)).await?;
    }
    Ok(())
}

/// The survey's replies to one update; `None` when it was delivered before.
async fn handle(
    survey: &Survey,
    chat: ChatId,
    update_id: u32,
    content: Content,
) -> Result<Option<Vec<Reply>>> {
    let message = crate::survey::Message {
        channel: CHANNEL.to_string(),
        user: chat.0.to_string(),
        id: Some(update_id.to_string()),
        content,
    };
    let handled = survey.handle(message).await?;
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
