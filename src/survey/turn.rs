//! One message being handled, inside its transaction: the loop between the
//! engine and the store — load the session, step the engine, perform its
//! effect (store a ballot), feed the result back, save the session.

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::admission::{OPEN_PREFIX, looks_like_credential};
use super::{Content, Message, Survey};
use crate::campaign::Access;
use crate::dialogue::{Dialogue, QuestionKind};
use crate::engine::{self, At, Effect, Input, Outcome, Reply, Session};
use crate::store::{SessionSave, StoredSession, Tx};
use crate::token::Token;

/// Said to a respondent whose idle conversation was purged.
const EXPIRED: &str = "Phiếu ông/bà đang trả lời dở đã được xóa vì lâu không tiếp tục (để bảo vệ thông tin của ông/bà). Các đơn vị đã gửi vẫn được giữ nguyên; xin gõ lại mã phiếu để trả lời tiếp các đơn vị còn lại.";

/// One message being handled, inside its transaction.
pub(super) struct Turn<'a> {
    pub(super) survey: &'a Survey,
    pub(super) tx: &'a mut Tx,
    /// The key the conversation is kept under (it may move: `successor`).
    pub(super) respondent: String,
    /// Whether a conversation is in progress after this turn.
    pub(super) open: bool,
    /// The conversation moved to the message's successor.
    pub(super) moved: bool,
    pub(super) message: &'a Message,
    pub(super) now: DateTime<Utc>,
    /// The conversation as loaded with the message's claim, if it was.
    pub(super) loaded: Option<Option<StoredSession>>,
    pub(super) replies: Vec<Reply>,
    /// The conversation to save as the step ends, with its replies.
    pub(super) save: Option<SessionSave>,
}

impl Turn<'_> {
    pub(super) fn say(&mut self, text: impl Into<String>) {
        self.replies.push(Reply::text(text, 0));
    }

    /// The open-access credential of whoever sent this message.
    pub(super) fn open_credential(&self) -> String {
        self.survey
            .keys
            .open_credential(&self.message.channel, &self.message.user)
    }

    pub(super) async fn run(&mut self) -> Result<()> {
        if let Content::Handover(code) = &self.message.content {
            return self.take_handover(code).await;
        }
        // Staff, in any chat: a staff token enrols, a staff command from
        // an enrolled account runs; anyone else's words go to their ballot.
        let mut staff_words = false;
        if let Content::Text(text) = &self.message.content {
            if let Some(token) = super::staff::staff_token(text) {
                return self.enrol_staff(&token).await;
            }
            if let Some(command) = super::staff::StaffCommand::parse(text) {
                let account = self
                    .survey
                    .keys
                    .staff(&self.message.channel, &self.message.user);
                if self.tx.is_staff(&account).await? {
                    return self.staff_command(command, &account).await;
                }
                staff_words = true;
            }
        }
        let stored = match self.loaded.take() {
            Some(loaded) => loaded,
            None => self.tx.load_session(&self.respondent).await?,
        };
        self.open = stored.is_some();
        let content = self.message.content.clone();
        let Some(stored) = stored else {
            // A staff command from someone who is not staff, outside a
            // ballot (inside one, the words are an answer).
            if staff_words {
                self.say(super::staff::NOT_STAFF);
                return Ok(());
            }
            if self.tx.take_expiry_note(&self.respondent).await? {
                self.say(EXPIRED);
            }
            return match content {
                Content::Start(Some(payload)) => self.begin(&payload).await,
                Content::Text(t) if looks_like_credential(&t) => self.begin(&t).await,
                Content::Other => {
                    let m = self.survey.campaign.messages().unsupported.clone();
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
        // Closed (or not yet open) while a ballot is in progress: said at
        // once; the answers so far are kept as they are, should staff reopen.
        if let Some(refusal) = self.survey.period_refusal(self.now) {
            self.say(refusal);
            return Ok(());
        }
        // Sealed: the answers in progress are not readable in the database.
        let opened = self
            .survey
            .keys
            .open(&stored.state)
            .map_err(anyhow::Error::new);
        let session: Session = match opened.and_then(|p| Ok(serde_json::from_slice(&p)?)) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "unreadable session; starting over");
                self.tx.delete_session(&self.respondent).await?;
                self.open = false;
                self.welcome();
                return Ok(());
            }
        };
        let d = self
            .survey
            .dialogue(self.tx, &session.dialogue_id, &session.dialogue_version)
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
            Content::Command(action) => Input::Command(action),
            Content::Text(t) => Input::Text(t),
            Content::Press { step, action } => Input::Press { step, action },
            Content::BadPress => Input::BadPress,
            // Taken before the session is read (`take_handover`).
            Content::Handover(_) => Input::Resume,
            Content::Other => {
                let m = self.survey.campaign.messages().unsupported.clone();
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
                stored.credential == self.open_credential()
                    && session.units.iter().any(|u| u.id == unit)
            }
            None => {
                Token::parse(payload).is_ok_and(|t| self.survey.keys.token(&t) == stored.credential)
            }
        }
    }

    /// A conversation this message begins is kept under the message's
    /// successor from now on (a fresh web session), not under the sender.
    pub(super) async fn move_to_successor(&mut self) -> Result<()> {
        if let Some(successor) = &self.message.successor {
            self.tx.delete_session(&self.respondent).await?;
            self.respondent = self
                .survey
                .keys
                .respondent(&self.message.channel, successor);
            self.moved = true;
        }
        Ok(())
    }

    fn welcome(&mut self) {
        let c = &self.survey.campaign;
        let mut m = c.messages().welcome.replace("{title}", c.title());
        let open: Vec<&str> = c
            .groups()
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
        let mut greeting = Reply::text(m, 0);
        greeting.welcome = true;
        self.replies.push(greeting);
    }

    /// Performs the outcome's effect, feeds its result back, and keeps the
    /// session to be saved as the step ends (with its replies) — or deletes
    /// it, when the conversation is over.
    pub(super) async fn settle(
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
        self.open = outcome.session.at != At::Finished;
        if !self.open {
            self.tx.delete_session(&self.respondent).await?;
        } else {
            let state = self
                .survey
                .keys
                .seal(&serde_json::to_vec(&outcome.session)?);
            let reach = self.survey.reach(self.message)?;
            self.save = Some(SessionSave {
                respondent: self.respondent.clone(),
                session: StoredSession {
                    credential,
                    group,
                    state,
                },
                reach,
                now: self.now.timestamp(),
            });
        }
        Ok(())
    }
}

/// Whether the session is waiting for free text (where a token-shaped
/// answer is an answer, not a new token).
fn expects_text(d: &Dialogue, s: &Session) -> bool {
    match &s.at {
        At::Asking { question, .. } => {
            matches!(
                d.questions().get(*question).map(|q| &q.kind),
                Some(QuestionKind::Text { .. })
            )
        }
        _ => false,
    }
}
