//! Long polling that loses no update in a crash. Telegram forgets every
//! update below the offset `getUpdates` is called with, so the offset moves
//! only past updates that have been handled — their step and replies
//! committed: it is the lowest update still in hand. (teloxide's own
//! dispatcher confirms updates as soon as it has fetched them: a crash then
//! loses updates Telegram has already dropped.)
//!
//! Polling goes on while updates are handled: a call returns the updates in
//! hand again (they are not confirmed yet) with the new ones, and only the
//! new ones are dispatched. Each chat's updates are handled in order by a
//! task of its own while it has any; chats side by side. When a call brings
//! nothing new, the next waits until an update in hand is done (so the
//! offset can move) instead of asking again at once; after a full page
//! ([`PAGE`] updates), until the offset has moved, since the same offset
//! would bring the same page again. A stop signal stops polling and waits
//! for the updates in hand.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::future::Future;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{AllowedUpdate, Me, Update};
use tokio::sync::Notify;

use super::{Telegram, prepare, schema};

/// How long one `getUpdates` waits for updates when none is in hand.
const LONG_POLL_SECONDS: u32 = 25;

/// The most updates one `getUpdates` returns (Telegram's `limit`, at most
/// and by default 100).
const PAGE: u8 = 100;

/// Updates in hand, and each chat's queue.
#[derive(Default)]
struct InHand {
    ids: BTreeSet<i32>,
    /// Done, but not yet below the offset: they come back with the next
    /// call and are not handled again.
    done: BTreeSet<i32>,
    /// Chats with a task running, and the updates it has still to handle.
    chats: HashMap<Option<ChatId>, VecDeque<Update>>,
}

struct Poller {
    tree: teloxide::dispatching::UpdateHandler<anyhow::Error>,
    bot: Bot,
    telegram: Arc<Telegram>,
    me: Me,
    in_hand: Mutex<InHand>,
    /// Woken each time an update is done.
    done: Notify,
}

/// Runs the bot with long polling until `stop` resolves.
pub async fn run_polling(
    bot: Bot,
    telegram: Arc<Telegram>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let me = prepare(&bot, &telegram.staff).await?;
    // A webhook left from an earlier configuration would take the updates.
    super::retry::send(|| bot.delete_webhook().send()).await?;
    let poller = Arc::new(Poller {
        tree: schema(),
        bot,
        telegram,
        me,
        in_hand: Mutex::default(),
        done: Notify::new(),
    });
    tokio::pin!(stop);
    // The highest update id dispatched so far.
    let mut seen: Option<i32> = None;
    // The offset of the last call, if it returned a full page.
    let mut full_page_at: Option<i32> = None;
    let mut failures = 0u32;
    loop {
        let done = poller.done.notified();
        tokio::pin!(done);
        done.as_mut().enable();
        let (lowest_in_hand, offset) = {
            let mut in_hand = poller.lock();
            let lowest = in_hand.ids.first().copied();
            let offset = match (lowest, seen) {
                (Some(id), _) => id,
                (None, Some(id)) => id + 1,
                (None, None) => 0,
            };
            in_hand.done = in_hand.done.split_off(&offset);
            (lowest, offset)
        };
        if lowest_in_hand.is_some() && full_page_at == Some(offset) {
            // The same page again, all of it in hand or done: wait until
            // the lowest one is done.
            tokio::select! {
                () = &mut stop => break,
                () = done => {}
            }
            continue;
        }
        let request = poller
            .bot
            .get_updates()
            .offset(offset)
            .limit(PAGE)
            .timeout(if lowest_in_hand.is_some() {
                0
            } else {
                LONG_POLL_SECONDS
            })
            .allowed_updates([AllowedUpdate::Message, AllowedUpdate::CallbackQuery])
            .send();
        let answer = tokio::select! {
            () = &mut stop => break,
            answer = request => answer,
        };
        let updates = match answer {
            Ok(updates) => {
                failures = 0;
                full_page_at = (updates.len() >= usize::from(PAGE)).then_some(offset);
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
        let fresh: Vec<Update> = {
            let in_hand = poller.lock();
            updates
                .into_iter()
                .filter(|u| {
                    let id = u.id.0 as i32;
                    !in_hand.ids.contains(&id) && !in_hand.done.contains(&id)
                })
                .collect()
        };
        if let Some(last) = fresh.iter().map(|u| u.id.0 as i32).max() {
            seen = Some(seen.map_or(last, |s| s.max(last)));
        }
        if fresh.is_empty() && lowest_in_hand.is_some() {
            // Only updates in hand came back: wait until one is done.
            tokio::select! {
                () = &mut stop => break,
                () = done => {}
            }
            continue;
        }
        for update in fresh {
            poller.dispatch(update);
        }
    }
    // Stopped: the updates in hand are finished, not dropped.
    loop {
        let done = poller.done.notified();
        tokio::pin!(done);
        done.as_mut().enable();
        if poller.lock().ids.is_empty() {
            return Ok(());
        }
        done.await;
    }
}

impl Poller {
    fn lock(&self) -> std::sync::MutexGuard<'_, InHand> {
        self.in_hand.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues an update behind its chat's others, starting the chat's task
    /// if it has none.
    fn dispatch(self: &Arc<Self>, update: Update) {
        let chat = update.chat().map(|c| c.id);
        let mut in_hand = self.lock();
        in_hand.ids.insert(update.id.0 as i32);
        match in_hand.chats.get_mut(&chat) {
            Some(queue) => queue.push_back(update),
            None => {
                in_hand.chats.insert(chat, VecDeque::from([update]));
                let this = self.clone();
                tokio::spawn(async move { this.handle_chat(chat).await });
            }
        }
    }

    /// Handles a chat's updates in order until its queue is empty.
    async fn handle_chat(&self, chat: Option<ChatId>) {
        loop {
            let next = {
                let mut in_hand = self.lock();
                match in_hand.chats.get_mut(&chat).and_then(VecDeque::pop_front) {
                    Some(update) => update,
                    None => {
                        in_hand.chats.remove(&chat);
                        return;
                    }
                }
            };
            let id = next.id.0 as i32;
            let deps = teloxide::dptree::deps![
                self.bot.clone(),
                next,
                self.telegram.clone(),
                self.me.clone()
            ];
            if let ControlFlow::Break(Err(e)) = self.tree.dispatch(deps).await {
                tracing::error!(error = format!("{e:#}"), "a Telegram update failed");
            }
            {
                let mut in_hand = self.lock();
                in_hand.ids.remove(&id);
                in_hand.done.insert(id);
            }
            self.done.notify_waiters();
        }
    }
}
