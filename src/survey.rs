//! The survey service: what every channel calls with a respondent's message.
//!
//! It checks credentials, runs the engine and stores each step — session,
//! processed message id, spent credential and ballot — in one transaction,
//! committed before the replies are returned. Messages of one respondent are
//! handled one at a time, in arrival order.

use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use dashmap::DashMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ballot::Ballot;
use crate::campaign::{Access, Campaign, PeriodState};
use crate::dialogue::{self, Dialogue, QuestionKind};
use crate::engine::{self, Action, At, Effect, Input, Outcome, Reply, Session, UnitRef};
use crate::metrics::Metrics;
use crate::store::{Store, StoredSession, Submission, TokenRecord, Tx};
use crate::token::{self, Token};

/// Failed token attempts allowed per respondent per hour.
pub const TOKEN_ATTEMPTS_PER_HOUR: u32 = 10;

/// How long processed message ids are remembered, to ignore redeliveries.
pub const KEEP_MESSAGE_IDS: chrono::TimeDelta = chrono::TimeDelta::days(3);

/// Prefix of an open-access start payload: `o_<group>_<unit>`.
pub const OPEN_PREFIX: &str = "o_";

/// A message from a respondent, as a channel hands it over.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Channel name: `telegram`, `zalo`, `web`, `terminal`.
    pub channel: String,
    /// The channel's id of the user (never stored as is).
    pub user: String,
    /// The channel's id of this message, for deduplication.
    pub id: Option<String>,
    pub content: Content,
}

/// What the respondent sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// A start command, with a token or open-access payload if the link had one.
    Start(Option<String>),
    Text(String),
    /// Button data.
    Button(String),
    /// Anything else (sticker, photo, voice…).
    Other,
}

/// The result of handling a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Handled {
    pub replies: Vec<Reply>,
    /// The message id was processed before; nothing changed.
    pub duplicate: bool,
}

/// How the service tells time.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    pub fn system() -> Self {
        Self(Arc::new(Utc::now))
    }

    pub fn fixed(t: DateTime<Utc>) -> Self {
        Self(Arc::new(move || t))
    }

    /// A clock read from a function (tests move time forward with it).
    pub fn from_fn(f: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

/// Settings of a running survey.
#[derive(Clone)]
pub struct Options {
    pub clock: Clock,
    /// Trial mode: the survey period is not enforced (for trying it out).
    pub trial: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            clock: Clock::system(),
            trial: false,
        }
    }
}

/// The survey service.
pub struct Survey {
    campaign: Arc<Campaign>,
    store: Store,
    secret: String,
    options: Options,
    dialogues: DashMap<(String, String), Arc<Dialogue>>,
    locks: DashMap<String, Arc<tokio::sync::Mutex<()>>>,
    metrics: Arc<Metrics>,
}

impl Survey {
    /// Opens the survey of `campaign` on `store`, recording its dialogue versions.
    pub async fn new(campaign: Campaign, store: Store, options: Options) -> Result<Self> {
        let secret = store.secret().await?;
        let dialogues = DashMap::new();
        for d in campaign.dialogues() {
            store.record_dialogue(&d.id, &d.version, &d.source).await?;
            dialogues.insert((d.id.clone(), d.version.clone()), d);
        }
        Ok(Self {
            campaign: Arc::new(campaign),
            store,
            secret,
            options,
            dialogues,
            locks: DashMap::new(),
            metrics: Arc::new(Metrics::default()),
        })
    }

    pub fn campaign(&self) -> &Campaign {
        &self.campaign
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
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

    /// Progress against the quotas now.
    pub async fn progress(&self) -> Result<crate::progress::Progress> {
        let counts = self.store.ballot_counts(&self.campaign.id).await?;
        Ok(crate::progress::Progress::new(&self.campaign, &counts))
    }

    /// What time it is for the survey.
    pub fn now(&self) -> DateTime<Utc> {
        self.options.clock.now()
    }

    /// Whether the survey period is open now (always, in trial mode).
    pub fn is_open(&self) -> bool {
        self.period(self.options.clock.now()) == PeriodState::Open
    }

    /// The keyed hash that stands for a channel user in the store.
    pub fn respondent_key(&self, channel: &str, user: &str) -> String {
        self.keyed("respondent", channel, user)
    }

    /// The open-access credential of a channel user (one ballot per unit).
    pub fn open_credential(&self, channel: &str, user: &str) -> String {
        self.keyed("open", channel, user)
    }

    fn keyed(&self, purpose: &str, channel: &str, user: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.secret.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(format!("{purpose}\n{channel}\n{user}").as_bytes());
        token::hex(&mac.finalize().into_bytes())
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
    #[tracing::instrument(skip_all, fields(channel = %message.channel))]
    pub async fn handle(&self, message: Message) -> Result<Handled> {
        let started = std::time::Instant::now();
        let label = Metrics::channel(&message.channel);
        self.metrics.messages_in.get_or_create(&label).inc();
        let result = self.handle_inner(message).await;
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

    async fn handle_inner(&self, message: Message) -> Result<Handled> {
        let respondent = self.respondent_key(&message.channel, &message.user);
        let lock = self.locks.entry(respondent.clone()).or_default().clone();
        let _turn = lock.lock().await;
        let now = self.options.clock.now();
        let mut tx = self.store.begin().await?;
        if let Some(id) = &message.id {
            // Only compared, never read: stored as a keyed hash, since some
            // ids embed a channel user id.
            let id = self.keyed("inbound", &message.channel, id);
            if !tx
                .claim_inbound(&message.channel, &id, now.timestamp())
                .await?
            {
                tx.rollback().await?;
                return Ok(Handled {
                    replies: Vec::new(),
                    duplicate: true,
                });
            }
        }
        let mut turn = Turn {
            survey: self,
            tx,
            respondent: &respondent,
            message: &message,
            now,
            replies: Vec::new(),
        };
        turn.run().await?;
        let replies = turn.replies;
        turn.tx.commit().await?;
        drop(_turn);
        // Forget the lock of a respondent nobody else is waiting for.
        self.locks
            .remove_if(&respondent, |_, l| Arc::strong_count(l) == 1);
        Ok(Handled {
            replies,
            duplicate: false,
        })
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

    fn period(&self, now: DateTime<Utc>) -> PeriodState {
        if self.options.trial {
            PeriodState::Open
        } else {
            self.campaign.period_state(now)
        }
    }
}

/// One message being handled, inside its transaction.
struct Turn<'a> {
    survey: &'a Survey,
    tx: Tx,
    respondent: &'a str,
    message: &'a Message,
    now: DateTime<Utc>,
    replies: Vec<Reply>,
}

impl Turn<'_> {
    fn say(&mut self, text: impl Into<String>) {
        self.replies.push(Reply::text(text, 0));
    }

    fn campaign(&self) -> &Campaign {
        &self.survey.campaign
    }

    async fn run(&mut self) -> Result<()> {
        let stored = self.tx.load_session(self.respondent).await?;
        let content = self.message.content.clone();
        let Some(stored) = stored else {
            return match content {
                Content::Start(Some(payload)) => self.begin(&payload).await,
                Content::Text(t) if looks_like_credential(&t) => self.begin(&t).await,
                Content::Other => {
                    let m = self.campaign().messages.unsupported.clone();
                    self.say(m);
                    self.welcome();
                    Ok(())
                }
                _ => {
                    self.welcome();
                    Ok(())
                }
            };
        };
        let session: Session = match serde_json::from_str(&stored.state) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "unreadable session; starting over");
                self.tx.delete_session(self.respondent).await?;
                self.welcome();
                return Ok(());
            }
        };
        let d = self
            .survey
            .dialogue(
                &mut self.tx,
                &session.dialogue_id,
                &session.dialogue_version,
            )
            .await?;
        let input = match content {
            // The same link again (a reload, a second tap): carry on.
            Content::Start(Some(payload)) if self.same_credential(&payload, &stored, &session) => {
                Input::Resume
            }
            Content::Start(Some(payload)) => return self.begin(&payload).await,
            Content::Text(t) if Token::parse(&t).is_ok() && !expects_text(&d, &session) => {
                return self.begin(&t).await;
            }
            Content::Start(None) => Input::Resume,
            Content::Text(t) => Input::Text(t),
            Content::Button(data) => match Action::decode(&data) {
                Some((step, action)) => Input::Press { step, action },
                None => Input::BadPress,
            },
            Content::Other => {
                let m = self.campaign().messages.unsupported.clone();
                self.say(m);
                Input::Resume
            }
        };
        let outcome = engine::step(&d, &session, input);
        self.settle(&d, stored.credential, stored.group, outcome)
            .await
    }

    /// Whether a start payload names the credential the session runs on.
    fn same_credential(&self, payload: &str, stored: &StoredSession, session: &Session) -> bool {
        match payload.strip_prefix(OPEN_PREFIX) {
            Some(rest) => {
                let unit = rest.split_once('_').map_or("", |(_, u)| u);
                stored.credential
                    == self
                        .survey
                        .open_credential(&self.message.channel, &self.message.user)
                    && session.units.iter().any(|u| u.id == unit)
            }
            None => Token::parse(payload).is_ok_and(|t| t.hash() == stored.credential),
        }
    }

    fn welcome(&mut self) {
        let c = self.campaign();
        let mut m = c.messages.welcome.replace("{title}", &c.title);
        let open: Vec<&str> = c
            .groups
            .iter()
            .filter(|g| g.access == Access::Open)
            .map(|g| g.name.as_str())
            .collect();
        if !open.is_empty() {
            m.push_str(&format!(
                "\n\nKhông có mã phiếu? {} có thể trả lời không cần mã: quét mã QR dán tại nơi làm thủ tục của đơn vị (Bộ phận một cửa).",
                open.join(", ")
            ));
        }
        self.say(m);
    }

    /// Performs the outcome's effect, feeds its result back, and stores the session.
    async fn settle(
        &mut self,
        d: &Dialogue,
        credential: String,
        group: String,
        mut outcome: Outcome,
    ) -> Result<()> {
        while let Some(Effect::Submit(draft)) = outcome.effect.take() {
            self.replies.append(&mut outcome.replies);
            let input = self.submit(&credential, &group, draft).await?;
            outcome = engine::step(d, &outcome.session, input);
        }
        self.replies.append(&mut outcome.replies);
        if outcome.session.at == At::Finished {
            self.tx.delete_session(self.respondent).await?;
        } else {
            let state = serde_json::to_string(&outcome.session)?;
            self.tx
                .save_session(
                    self.respondent,
                    &StoredSession {
                        credential,
                        group,
                        state,
                    },
                    self.now.timestamp(),
                )
                .await?;
        }
        Ok(())
    }

    async fn submit(
        &mut self,
        credential: &str,
        group: &str,
        draft: engine::BallotDraft,
    ) -> Result<Input> {
        let c = self.survey.campaign.clone();
        let unit_name = c
            .unit(&draft.unit)
            .map_or(draft.unit.clone(), |u| u.name.clone());
        match self.survey.period(self.now) {
            PeriodState::Open => {}
            PeriodState::NotOpen => {
                return Ok(Input::Refused {
                    message: c
                        .messages
                        .not_open
                        .replace("{opens}", &c.local_time(c.opens)),
                    end: true,
                });
            }
            PeriodState::Closed => {
                return Ok(Input::Refused {
                    message: c
                        .messages
                        .closed
                        .replace("{closes}", &c.local_time(c.closes)),
                    end: true,
                });
            }
        }
        let quota = match c.assessment_of(&draft.unit, group) {
            Some(a) if c.enforce_quotas => Some(a.quota),
            _ => None,
        };
        let ballot = Ballot {
            seq: 0,
            campaign: c.id.clone(),
            unit: draft.unit,
            group: group.to_string(),
            dialogue_id: draft.dialogue_id,
            dialogue_version: draft.dialogue_version,
            submitted_on: c.local_date(self.now).to_string(),
            answers: draft.answers,
        };
        Ok(match self.tx.submit(credential, ballot, quota).await? {
            Submission::Stored { receipt } => {
                self.survey.metrics.ballots_stored.inc();
                Input::Stored { receipt }
            }
            Submission::AlreadySpent => Input::Refused {
                message: c.messages.token_used.clone(),
                end: false,
            },
            Submission::QuotaFull => Input::Refused {
                message: c.messages.quota_full.replace("{unit}", &unit_name),
                end: false,
            },
        })
    }

    async fn quota_full(&mut self, unit: &str, group: &str) -> Result<bool> {
        let c = self.survey.campaign.clone();
        if !c.enforce_quotas {
            return Ok(false);
        }
        let Some(a) = c.assessment_of(unit, group) else {
            return Ok(true);
        };
        Ok(self.tx.ballot_count(&c.id, unit, group).await? >= a.quota)
    }

    /// Starts a conversation from a token or an open-access payload.
    async fn begin(&mut self, payload: &str) -> Result<()> {
        let c = self.survey.campaign.clone();
        let since = self.now.timestamp() - 3600;
        if self.tx.token_failures(self.respondent, since).await? >= TOKEN_ATTEMPTS_PER_HOUR {
            self.say(c.messages.too_many_attempts.clone());
            return Ok(());
        }
        let (credential, group, units) = match payload.strip_prefix(OPEN_PREFIX) {
            Some(rest) => {
                let found = rest.split_once('_').and_then(|(g, u)| {
                    let group = c.group(g).filter(|g| g.access == Access::Open)?;
                    c.assessment_of(u, &group.id)?;
                    Some((group.id.clone(), u.to_string()))
                });
                let Some((group, unit)) = found else {
                    self.fail(&c.messages.token_wrong_unit.clone()).await?;
                    return Ok(());
                };
                let who = self
                    .survey
                    .open_credential(&self.message.channel, &self.message.user);
                (who, group, vec![unit])
            }
            None => match self.token(payload).await? {
                Some(found) => found,
                None => return Ok(()),
            },
        };
        match self.survey.period(self.now) {
            PeriodState::Open => {}
            PeriodState::NotOpen => {
                self.say(
                    c.messages
                        .not_open
                        .replace("{opens}", &c.local_time(c.opens)),
                );
                return Ok(());
            }
            PeriodState::Closed => {
                self.say(
                    c.messages
                        .closed
                        .replace("{closes}", &c.local_time(c.closes)),
                );
                return Ok(());
            }
        }
        self.tx.clear_token_failures(self.respondent).await?;
        let spent = self.tx.spent_units(&credential).await?;
        let mut open = Vec::new();
        // In the campaign's order, whatever order the token lists them in.
        for unit in c
            .units
            .iter()
            .filter(|u| units.contains(&u.id) && !spent.contains(&u.id))
        {
            let id = &unit.id;
            if self.quota_full(id, &group).await? {
                self.say(c.messages.quota_full.replace("{unit}", &unit.name));
            } else {
                open.push(UnitRef {
                    id: unit.id.clone(),
                    name: unit.name.clone(),
                });
            }
        }
        if open.is_empty() {
            if spent.len() >= units.len() {
                self.say(c.messages.token_used.clone());
            }
            return Ok(());
        }
        let Some(assessment) = c.assessment_of(&open[0].id, &group) else {
            self.say(c.messages.token_wrong_unit.clone());
            return Ok(());
        };
        let d = assessment.dialogue.clone();
        // A token covers units of one kind, so one dialogue serves them all.
        open.retain(|u| {
            c.assessment_of(&u.id, &group)
                .is_some_and(|a| a.dialogue.id == d.id)
        });
        let outcome = engine::start(&d, open);
        self.settle(&d, credential, group, outcome).await
    }

    /// Checks a typed token; `None` when it was refused (and the reply said why).
    async fn token(&mut self, typed: &str) -> Result<Option<(String, String, Vec<String>)>> {
        let c = self.survey.campaign.clone();
        let Ok(token) = Token::parse(typed) else {
            self.fail(&c.messages.token_invalid).await?;
            return Ok(None);
        };
        let record: Option<TokenRecord> = self.tx.token(&token.hash()).await?;
        let Some(record) = record.filter(|r| r.campaign == c.id) else {
            self.fail(&c.messages.token_unknown).await?;
            return Ok(None);
        };
        if record.expires_at.is_some_and(|e| e < self.now.timestamp()) {
            self.say(c.messages.token_expired.clone());
            return Ok(None);
        }
        let valid = c.group(&record.group).is_some()
            && !record.units.is_empty()
            && record
                .units
                .iter()
                .all(|u| c.assessment_of(u, &record.group).is_some());
        if !valid {
            self.say(c.messages.token_wrong_unit.clone());
            return Ok(None);
        }
        Ok(Some((record.hash, record.group, record.units)))
    }

    async fn fail(&mut self, message: &str) -> Result<()> {
        let since = self.now.timestamp() - 3600;
        self.tx
            .record_token_failure(self.respondent, self.now.timestamp(), since)
            .await?;
        self.say(message.to_string());
        Ok(())
    }
}

/// Whether text with no conversation open is an attempt at a credential
/// (rather than "xin chào").
fn looks_like_credential(text: &str) -> bool {
    let compact: String = text.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let t = text.trim();
    t.starts_with(OPEN_PREFIX)
        || (compact.len() >= token::LEN - 2
            && compact.len() <= token::LEN + 2
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' ' || c == '.'))
}

/// Whether the session is waiting for free text (where a token-shaped
/// answer is an answer, not a new token).
fn expects_text(d: &Dialogue, s: &Session) -> bool {
    match &s.at {
        At::Asking { question, .. } => {
            matches!(
                d.questions.get(*question).map(|q| &q.kind),
                Some(QuestionKind::Text { .. })
            )
        }
        _ => false,
    }
}
