//! The survey service: what every channel calls with a respondent's message.
//!
//! It checks credentials (`admission.rs`), runs the engine and stores each
//! step (`turn.rs`) — session, processed message id, spent credential,
//! ballot and the replies (`outbox`) — in one transaction; after the commit
//! the replies go to the channel's sender, or back to the caller (the web
//! chat, the terminal).
//! Messages of one respondent are handled one at a time, in arrival order.
//! `message.rs` is the contract with the channels; `keys.rs` the keyed
//! hashes that stand for users in the store.

mod admission;
mod ballot_box;
mod budgets;
mod clock;
mod handover;
mod keys;
mod message;
mod reminders;
mod reports;
pub mod staff;
mod turn;

pub use admission::{OPEN_PREFIX, TOKEN_ATTEMPTS_PER_HOUR};
pub use ballot_box::Receipts;
pub use budgets::{PER_ADDRESS_PER_HOUR, PER_CHANNEL_PER_HOUR};
pub use clock::Clock;
pub use message::{Content, Handled, Message, Origin};

use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use dashmap::DashMap;

use crate::campaign::{Campaign, PeriodState};
use crate::dialogue::{self, Dialogue};
use crate::key::Key;
use crate::metrics::Metrics;
use crate::outbox::{Delivery, Outbox};
use crate::period::Period;
use crate::store::{BatchFailed, Claim, GroupCommit, Lease, Store, Tx};
use keys::Keys;
use turn::Turn;

/// How long processed message ids are remembered, to ignore redeliveries.
pub const KEEP_MESSAGE_IDS: chrono::TimeDelta = chrono::TimeDelta::days(3);

/// How many times a step is tried when its batch fails through no fault
/// of its own.
const STEP_ATTEMPTS: u32 = 4;

/// Settings of a running survey.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub clock: Clock,
    /// Trial mode: the survey period is not enforced (for trying it out).
    pub trial: bool,
    /// Where the survey counts what it does.
    pub metrics: Arc<Metrics>,
    /// Where receipt codes come from.
    pub receipts: Receipts,
    /// This instance's name, which owns the replies it writes until they
    /// are delivered (`outbox`).
    pub instance: String,
    /// How long a conversation left halfway waits for its one reminder
    /// (`None`: no reminders); see `reminders.rs`.
    pub remind_after: Option<chrono::TimeDelta>,
}

/// The survey service.
pub struct Survey {
    campaign: Arc<Campaign>,
    store: Store,
    keys: Keys,
    options: Options,
    dialogues: DashMap<(String, String), Arc<Dialogue>>,
    /// Wrong tokens per address and per channel.
    budgets: budgets::Budgets,
    /// One lock per respondent with a message in hand.
    locks: DashMap<String, Arc<tokio::sync::Mutex<()>>>,
    /// The write path: steps of many respondents in one transaction.
    writer: Arc<GroupCommit>,
    /// The senders of the channels that push replies (Telegram, Zalo).
    outboxes: DashMap<String, Arc<Outbox>>,
    metrics: Arc<Metrics>,
    /// The period in force, as last read from the store.
    period: std::sync::RwLock<Period>,
    /// A step changed the period: read it again once committed.
    period_dirty: std::sync::atomic::AtomicBool,
    /// Reports made for staff links, by id (`reports.rs`).
    published: DashMap<String, reports::Published>,
    /// A report prepared for a staff member's step, by respondent key.
    report_ids: DashMap<String, String>,
    /// Where people reach the service, for links.
    public_url: std::sync::OnceLock<String>,
    /// The runtime steps run on (not the front's: see `front.rs`).
    steps: tokio::runtime::Handle,
}

impl Survey {
    /// Opens the survey of `campaign` on `store`, with the service's `key`
    /// for everything it stores in place of people and tokens, recording
    /// the campaign's dialogue versions.
    pub async fn new(campaign: Campaign, store: Store, key: Key, options: Options) -> Result<Self> {
        let keys = Keys::new(key);
        let dialogues = DashMap::new();
        for d in campaign.dialogues() {
            store
                .record_dialogue(d.id(), d.version(), d.source())
                .await?;
            dialogues.insert((d.id().to_string(), d.version().to_string()), d);
        }
        let period = Period::of(&campaign, &store.period_changes(campaign.id()).await?);
        Ok(Self {
            period: std::sync::RwLock::new(period),
            period_dirty: std::sync::atomic::AtomicBool::new(false),
            published: DashMap::new(),
            report_ids: DashMap::new(),
            public_url: std::sync::OnceLock::new(),
            metrics: options.metrics.clone(),
            campaign: Arc::new(campaign),
            writer: Arc::new(GroupCommit::new(store.clone())),
            store,
            keys,
            options,
            dialogues,
            budgets: budgets::Budgets::default(),
            locks: DashMap::new(),
            outboxes: DashMap::new(),
            steps: tokio::runtime::Handle::current(),
        })
    }

    pub fn campaign(&self) -> &Campaign {
        &self.campaign
    }

    /// The write path, which the senders share to delete delivered rows.
    pub fn writer(&self) -> Arc<GroupCommit> {
        self.writer.clone()
    }

    /// This instance's name (it owns the replies it writes).
    pub fn instance(&self) -> &str {
        &self.options.instance
    }

    /// Replies to `outbox`'s channel go out through it from now on.
    pub fn deliver_through(&self, outbox: Arc<Outbox>) {
        self.outboxes.insert(outbox.channel().to_string(), outbox);
    }

    /// The sender of a channel, if it has one.
    pub fn outbox(&self, channel: &str) -> Option<Arc<Outbox>> {
        self.outboxes.get(channel).map(|o| o.clone())
    }

    /// Forgets replies that were never delivered within a day (a web page
    /// closed before its next message; a recipient gone).
    pub async fn forget_old_replies(&self) -> Result<u64> {
        let cutoff = self.now() - chrono::TimeDelta::days(1);
        self.store
            .forget_deliveries_before(cutoff.timestamp())
            .await
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Forgets guessing budgets that have refilled (their memory).
    pub fn tidy_budgets(&self) {
        self.budgets.tidy();
    }

    /// Forgets the ids of messages processed more than [`KEEP_MESSAGE_IDS`]
    /// ago. Redeliveries come within a day (Telegram keeps an update 24
    /// hours; Zalo retries within minutes), and Telegram picks update ids
    /// at random after a week without updates, so an id kept longer could
    /// make a new message look like an old one. Returns how many went.
    pub async fn forget_old_message_ids(&self) -> Result<u64> {
        let cutoff = self.now() - KEEP_MESSAGE_IDS;
        self.store.forget_inbound_before(cutoff.timestamp()).await
    }

    /// Deletes conversations idle longer than the campaign's
    /// `session_idle_days`; their respondents hear why when they return.
    pub async fn expire_idle_sessions(&self) -> Result<u64> {
        let now = self.now();
        let before = now - self.campaign.ballot_box().session_idle;
        let forget = now - chrono::TimeDelta::days(90);
        self.store
            .expire_sessions(before.timestamp(), now.timestamp(), forget.timestamp())
            .await
    }

    /// Progress against the quotas now.
    pub async fn progress(&self) -> Result<crate::progress::Progress> {
        let counts = self.store.ballot_counts(self.campaign.id()).await?;
        let mut progress = crate::progress::Progress::new(&self.campaign, &counts);
        progress.period = self.period();
        progress.unreachable = self.store.undeliverable_counts().await?;
        Ok(progress)
    }

    /// What time it is for the survey.
    pub fn now(&self) -> DateTime<Utc> {
        self.options.clock.now()
    }

    /// Whether results may be published: once the survey has closed (at
    /// once, in trial mode). Before then reports show progress only.
    pub fn results_published(&self) -> bool {
        self.options.trial || self.period().state(self.now()) == PeriodState::Closed
    }

    /// Whether the survey period is open now (always, in trial mode).
    pub fn is_open(&self) -> bool {
        self.period_state(self.now()) == PeriodState::Open
    }

    /// The period in force: the campaign file's, with the staff's changes.
    pub fn period(&self) -> Period {
        self.period
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// A step recorded a change of the period (see `staff.rs`).
    fn period_changed(&self) {
        self.period_dirty
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// What stands for a staff member's account in the store.
    pub fn staff_account(&self, channel: &str, user: &str) -> String {
        self.keys.staff(channel, user)
    }

    /// Whether a channel user is an enrolled staff member.
    pub async fn is_staff(&self, channel: &str, user: &str) -> Result<bool> {
        self.store.is_staff(&self.keys.staff(channel, user)).await
    }

    /// Reads the period again (another instance, or the command line, may
    /// have changed it); the service does so every few seconds.
    pub async fn refresh_period(&self) -> Result<()> {
        let changes = self.store.period_changes(self.campaign.id()).await?;
        let period = Period::of(&self.campaign, &changes);
        *self
            .period
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = period;
        Ok(())
    }

    /// Closes the survey now, or reopens it until `until`, as decided by
    /// `by` for `reason`; in force here at once, elsewhere at their next
    /// reading. Refused (with the reason, in Vietnamese) when it changes
    /// nothing or `until` is past.
    pub async fn change_period(
        &self,
        action: crate::period::Action,
        until: Option<DateTime<Utc>>,
        by: &str,
        reason: &str,
    ) -> Result<Period> {
        self.refresh_period().await?;
        let now = self.now();
        let change = self
            .period()
            .change(&self.campaign, now, action, until, by, reason)
            .map_err(|why| anyhow::anyhow!(why))?;
        self.store
            .record_period_change(self.campaign.id(), &change)
            .await?;
        self.refresh_period().await?;
        Ok(self.period())
    }

    /// The keyed hash that stands for a channel user in the store.
    pub fn respondent_key(&self, channel: &str, user: &str) -> String {
        self.keys.respondent(channel, user)
    }

    /// Ends a channel user's conversation, whatever its state (a shared
    /// device handed to the next person).
    pub async fn abandon(&self, channel: &str, user: &str) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.delete_session(&self.respondent_key(channel, user))
            .await?;
        tx.commit().await
    }

    /// Whether a channel user has a conversation in progress.
    pub async fn has_session(&self, channel: &str, user: &str) -> Result<bool> {
        let mut tx = self.store.begin().await?;
        let found = tx
            .load_session(&self.respondent_key(channel, user))
            .await?
            .is_some();
        tx.rollback().await?;
        Ok(found)
    }

    /// Handles one message; the replies are durable when this returns.
    /// Called on the front (an HTTP handler), the step is handed to the
    /// steps' runtime, so the front is always free to acknowledge.
    pub async fn handle(self: &Arc<Self>, message: Message) -> Result<Handled> {
        if !crate::front::on_front() {
            return self.handle_here(message).await;
        }
        let this = self.clone();
        self.steps
            .spawn(async move { this.handle_here(message).await })
            .await
            .context("a conversation step stopped")?
    }

    #[tracing::instrument(skip_all, fields(channel = %message.channel))]
    async fn handle_here(&self, message: Message) -> Result<Handled> {
        let started = std::time::Instant::now();
        let label = Metrics::channel(&message.channel);
        self.metrics.messages_in.get_or_create(&label).inc();
        let respondent = self.respondent_key(&message.channel, &message.user);
        let result = {
            let lock = self.locks.entry(respondent.clone()).or_default().clone();
            let _one_at_a_time = lock.lock().await;
            self.prepare_report_link(&respondent, &message).await?;
            self.handle_in_turn(&respondent, &message).await
        };
        // Forget the lock of a respondent nobody else is waiting for, on
        // every path (this one's guard and handle are gone by now).
        self.locks
            .remove_if(&respondent, |_, l| Arc::strong_count(l) == 1);
        match &result {
            Ok(h) if h.duplicate => {
                self.metrics.duplicates.get_or_create(&label).inc();
            }
            Ok(h) => {
                self.metrics
                    .messages_out
                    .get_or_create(&label)
                    .inc_by(h.replies.len() as u64);
                self.metrics
                    .reply_seconds
                    .get_or_create(&label)
                    .observe(started.elapsed().as_secs_f64());
            }
            Err(e) => {
                self.metrics.errors.get_or_create(&label).inc();
                tracing::error!(error = format!("{e:#}"), "handling a message failed");
            }
        }
        result
    }

    /// The step itself, with the respondent's lock held; its replies go to
    /// the channel's sender once committed.
    async fn handle_in_turn(&self, respondent: &str, message: &Message) -> Result<Handled> {
        let outbox = self.outbox(&message.channel);
        let mut attempt = 1;
        let (handled, queued) = loop {
            match self.step(respondent, message, outbox.as_deref()).await {
                // Its batch failed, or it lost a deadlock: it did nothing yet.
                Err(e) if e.is::<BatchFailed>() && attempt < STEP_ATTEMPTS => {
                    tracing::warn!(error = format!("{e:#}"), attempt, "a step is tried again");
                    attempt += 1;
                }
                other => break other?,
            }
        };
        if let (Some(outbox), Some((id, delivery))) = (outbox, queued) {
            outbox.push(respondent, id, delivery);
        }
        if self
            .period_dirty
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            self.refresh_period().await?;
        }
        Ok(handled)
    }

    /// Runs a step in a batch of the write path; returns what it did and
    /// the reply row it wrote, once committed.
    async fn step(
        &self,
        respondent: &str,
        message: &Message,
        outbox: Option<&Outbox>,
    ) -> Result<(Handled, Option<(i64, Delivery)>)> {
        let now = self.now();
        let channel = message.channel.as_str();
        let inbound = message.id.as_ref().map(|id| self.keys.inbound(channel, id));
        self.writer
            .step(respondent, async |tx: &mut Tx| {
                let mut loaded = None;
                if let Some(id) = &inbound {
                    let claim = tx
                        .claim_and_load(channel, id, now.timestamp(), respondent)
                        .await?;
                    let Claim::New(session) = claim else {
                        // Delivered again. A sender has the replies in hand
                        // (or will, at its next start); a caller gets them again.
                        let replies = match outbox {
                            Some(_) => Vec::new(),
                            None => self.stored_replies(tx, channel, respondent, id).await?,
                        };
                        let handled = Handled {
                            replies,
                            duplicate: true,
                            moved: false,
                            open: true,
                        };
                        return Ok((handled, None));
                    };
                    loaded = Some(session);
                    if outbox.is_none() {
                        // A new message: the caller has the replies to the last one.
                        tx.clear_outbox_of(channel, respondent).await?;
                    }
                }
                let mut turn = Turn {
                    survey: self,
                    tx,
                    respondent: respondent.to_string(),
                    open: false,
                    moved: false,
                    message,
                    now,
                    loaded,
                    replies: Vec::new(),
                    save: None,
                };
                turn.run().await?;
                let (replies, open, moved, save) = (turn.replies, turn.open, turn.moved, turn.save);
                // Kept until delivered where they can be asked for again.
                let queued = if !replies.is_empty() && (outbox.is_some() || inbound.is_some()) {
                    let delivery = Delivery {
                        recipient: message.user.clone(),
                        pressed: message.pressed.clone(),
                        tap: matches!(
                            message.content,
                            Content::Press {
                                action: crate::engine::Action::Set(..),
                                ..
                            }
                        ),
                        replies: replies.clone(),
                    };
                    let sealed = self.keys.seal(&serde_json::to_vec(&delivery)?);
                    let lease = match outbox {
                        Some(o) => Lease {
                            owner: o.owner(),
                            until: o.lease_until(now.timestamp()),
                        },
                        // Nobody sends these: they wait to be asked for.
                        None => Lease {
                            owner: &self.options.instance,
                            until: i64::MAX,
                        },
                    };
                    let id = tx
                        .queue_delivery(
                            channel,
                            respondent,
                            inbound.as_deref(),
                            &sealed,
                            now.timestamp(),
                            lease,
                            save.as_ref(),
                        )
                        .await?;
                    Some((id, delivery))
                } else {
                    if let Some(save) = &save {
                        tx.save_session(save).await?;
                    }
                    None
                };
                let handled = Handled {
                    replies,
                    duplicate: false,
                    moved,
                    open,
                };
                Ok((handled, queued))
            })
            .await
    }

    /// The replies a message caused, as kept in the outbox.
    async fn stored_replies(
        &self,
        tx: &mut Tx,
        channel: &str,
        chat: &str,
        inbound: &str,
    ) -> Result<Vec<crate::engine::Reply>> {
        let mut replies = Vec::new();
        for row in tx.undelivered_for(channel, chat, inbound).await? {
            let plain = self.keys.open(&row.sealed).map_err(anyhow::Error::new)?;
            let delivery: Delivery =
                serde_json::from_slice(&plain).context("reading stored replies")?;
            replies.extend(delivery.replies);
        }
        Ok(replies)
    }

    /// The dialogue a session runs on: the current one, or the recorded
    /// version it started with (read inside the step's transaction: SQLite
    /// has a single connection).
    async fn dialogue(&self, tx: &mut Tx, id: &str, version: &str) -> Result<Arc<Dialogue>> {
        let key = (id.to_string(), version.to_string());
        if let Some(d) = self.dialogues.get(&key) {
            return Ok(d.clone());
        }
        let source = tx
            .dialogue_source(id, version)
            .await?
            .with_context(|| format!("dialogue {id} version {version} is not recorded"))?;
        let d = Arc::new(dialogue::compile_stored(id, version, source)?);
        self.dialogues.insert(key, d.clone());
        Ok(d)
    }

    fn period_state(&self, now: DateTime<Utc>) -> PeriodState {
        if self.options.trial {
            PeriodState::Open
        } else {
            self.period().state(now)
        }
    }
}
