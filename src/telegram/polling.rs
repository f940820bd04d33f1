//! Long polling that loses no update in a crash. Telegram forgets updates
//! once `getUpdates` is called with a later offset, so the offset moves on
//! only after every update of the batch before it has been handled — its
//! step and replies committed. (teloxide's own dispatcher asks for the next
//! batch while the last one is still being handled: a crash then would
//! lose updates Telegram had already forgotten.)
//!
//! Within a batch, chats are handled side by side, each chat's updates in
//! order; a stop signal waits for the batch in hand.

use std::collections::HashMap;
use std::future::Future;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{AllowedUpdate, Me, Update};

use super::{Telegram, prepare, schema};

/// How long one `getUpdates` waits for updates (Telegram's long poll).
const LONG_POLL_SECONDS: u32 = 25;

/// Runs the bot with long polling until `stop` resolves.
pub async fn run_polling(
    bot: Bot,
    telegram: Arc<Telegram>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let me = prepare(&bot, &telegram.staff).await?;
    // A webhook left from an earlier configuration would take the updates.
    super::retry::send(|| bot.delete_webhook().send()).await?;
    tokio::pin!(stop);
    let mut offset = 0;
    let mut failures = 0u32;
    loop {
        let request = bot
            .get_updates()
            .offset(offset)
            .timeout(LONG_POLL_SECONDS)
            .allowed_updates([AllowedUpdate::Message, AllowedUpdate::CallbackQuery])
            .send();
        let updates = tokio::select! {
            () = &mut stop => return Ok(()),
            answer = request => answer,
        };
        let updates = match updates {
            Ok(updates) => {
                failures = 0;
                updates
            }
            Err(RequestError::RetryAfter(wait)) => {
                tokio::time::sleep(wait.duration()).await;
                continue;
            }
            Err(e) => {
                failures += 1;
                tracing::warn!(error = %e, failures, "getting Telegram updates failed; retrying");
                tokio::time::sleep(Duration::from_millis(250 << failures.min(6))).await;
                continue;
            }
        };
        let Some(last) = updates.last() else {
            continue;
        };
        offset = last.id.as_offset();
        handle_batch(&bot, &telegram, &me, updates).await;
    }
}

/// Handles a batch: one task per chat, its updates in order; returns when
/// all are done.
async fn handle_batch(bot: &Bot, telegram: &Arc<Telegram>, me: &Me, updates: Vec<Update>) {
    let mut chats: HashMap<Option<ChatId>, Vec<Update>> = HashMap::new();
    for update in updates {
        chats
            .entry(update.chat().map(|c| c.id))
            .or_default()
            .push(update);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (_, updates) in chats {
        let (bot, telegram, me) = (bot.clone(), telegram.clone(), me.clone());
        tasks.spawn(async move {
            for update in updates {
                let deps =
                    teloxide::dptree::deps![bot.clone(), update, telegram.clone(), me.clone()];
                if let ControlFlow::Break(Err(e)) = schema().dispatch(deps).await {
                    tracing::error!(error = format!("{e:#}"), "a Telegram update failed");
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}
