//! Sending a step's replies from the outbox: a tap on the compact form edits
//! that message in place; otherwise the pressed message loses its buttons
//! and the replies go out as new messages.

use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::{ChatId, MessageId};
use teloxide::{ApiError, RequestError};

use super::render::{Outgoing, outgoing};
use crate::outbox::{Courier, Delivering, Delivery, Undelivered};

/// Sends Telegram deliveries with `bot`.
pub struct TelegramCourier {
    pub bot: Bot,
}

/// One Bot API call of a delivery.
enum Call<'a> {
    /// Update the pressed compact form (sent as new if it cannot be).
    Edit(MessageId, &'a Outgoing),
    /// Take the buttons off the pressed message (best effort).
    Strip(MessageId),
    Send(&'a Outgoing),
}

impl Courier for TelegramCourier {
    fn deliver<'a>(&'a self, delivery: &'a Delivery, done: &'a mut usize) -> Delivering<'a> {
        Box::pin(async move {
            let Ok(chat) = delivery.recipient.parse::<i64>().map(ChatId) else {
                return Err(Undelivered::Unreachable("not_a_chat_id"));
            };
            let pressed = delivery
                .pressed
                .as_deref()
                .and_then(|p| p.parse::<i32>().ok())
                .map(MessageId);
            let out = outgoing(&delivery.replies);
            let mut calls = Vec::new();
            match (pressed, out.as_slice()) {
                (Some(id), [only]) if delivery.tap && delivery.replies.len() == 1 && only.grid => {
                    calls.push(Call::Edit(id, only));
                }
                _ => {
                    calls.extend(pressed.map(Call::Strip));
                    calls.extend(out.iter().map(Call::Send));
                }
            }
            while let Some(call) = calls.get(*done) {
                self.call(chat, call).await?;
                *done += 1;
            }
            Ok(())
        })
    }
}

impl TelegramCourier {
    async fn call(&self, chat: ChatId, call: &Call<'_>) -> Result<(), Undelivered> {
        let bot = &self.bot;
        match call {
            Call::Edit(id, m) => {
                let request = bot.edit_message_text(chat, *id, m.text.clone());
                let result = match &m.keyboard {
                    Some(k) => request.reply_markup(k.clone()).send().await,
                    None => request.send().await,
                };
                match result {
                    Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
                    Err(e) => match failure(&e) {
                        Some(u) => Err(u),
                        // Too old to edit, or deleted: send it as a new message.
                        None => Box::pin(self.call(chat, &Call::Send(m))).await,
                    },
                }
            }
            Call::Strip(id) => match bot.edit_message_reply_markup(chat, *id).send().await {
                Ok(_) => Ok(()),
                Err(e) => match failure(&e) {
                    Some(u) => Err(u),
                    None => {
                        tracing::debug!(error = %e, "could not remove an answered keyboard");
                        Ok(())
                    }
                },
            },
            Call::Send(m) => {
                let request = bot.send_message(chat, m.text.clone());
                let result = match &m.keyboard {
                    Some(k) => request.reply_markup(k.clone()).send().await,
                    None => request.send().await,
                };
                match result {
                    Ok(_) => Ok(()),
                    Err(e) => match failure(&e) {
                        Some(u) => Err(u),
                        // Refused for good (no retry would change it): the
                        // next message still goes out.
                        None => {
                            tracing::error!(error = %e, "Telegram refused a reply");
                            Ok(())
                        }
                    },
                }
            }
        }
    }
}

/// What a failed call means for the delivery; `None` when Telegram refused
/// this call for good.
fn failure(e: &RequestError) -> Option<Undelivered> {
    match e {
        RequestError::RetryAfter(wait) => Some(Undelivered::Later(wait.duration())),
        RequestError::Network(_) | RequestError::Io(_) | RequestError::InvalidJson { .. } => {
            Some(Undelivered::Later(Duration::from_millis(500)))
        }
        RequestError::Api(ApiError::BotBlocked) => {
            Some(Undelivered::Unreachable("blocked_the_bot"))
        }
        RequestError::Api(ApiError::UserDeactivated) => {
            Some(Undelivered::Unreachable("user_deactivated"))
        }
        RequestError::Api(ApiError::ChatNotFound) => {
            Some(Undelivered::Unreachable("chat_not_found"))
        }
        _ => None,
    }
}
