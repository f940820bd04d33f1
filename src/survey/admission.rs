//! Admission: who may start a conversation, and on which units — a token
//! or an open-access link, the guessing limit, the survey period, quotas.

use anyhow::Result;

use super::Origin;
use super::turn::Turn;
use crate::campaign::{Access, PeriodState};
use crate::engine::{self, UnitRef};
use crate::store::TokenRecord;
use crate::token::{self, Token};

/// Failed token attempts allowed per respondent per hour.
pub const TOKEN_ATTEMPTS_PER_HOUR: u32 = 10;

/// Prefix of an open-access start payload: `o_<group>_<unit>`.
pub const OPEN_PREFIX: &str = "o_";

/// A credential that was accepted: its key, the group it answers for, and
/// the units it covers.
struct Admitted {
    credential: String,
    group: String,
    units: Vec<String>,
}

impl Turn<'_> {
    /// Starts a conversation from a token or an open-access payload.
    pub(super) async fn begin(&mut self, payload: &str) -> Result<()> {
        let c = self.survey.campaign.clone();
        let since = self.now.timestamp() - 3600;
        let over_budget = !self
            .survey
            .budgets
            .allows(&self.message.channel, self.address());
        if over_budget
            || self.tx.token_failures(&self.respondent, since).await? >= TOKEN_ATTEMPTS_PER_HOUR
        {
            self.say(c.messages().too_many_attempts.clone());
            return Ok(());
        }
        let admitted = match payload.strip_prefix(OPEN_PREFIX) {
            Some(rest) => self.open_access(rest).await?,
            None => self.token(payload).await?,
        };
        let Some(Admitted {
            credential,
            group,
            units,
        }) = admitted
        else {
            return Ok(());
        };
        if let Some(refusal) = self.survey.period_refusal(self.now) {
            self.say(refusal);
            return Ok(());
        }
        let spent = self.tx.spent_units(&credential).await?;
        let mut open = Vec::new();
        // In the campaign's order, whatever order the token lists them in.
        for unit in c
            .units()
            .iter()
            .filter(|u| units.contains(&u.id) && !spent.contains(&u.id))
        {
            if self.quota_full(&unit.id, &group).await? {
                self.say(c.messages().quota_full.replace("{unit}", &unit.name));
            } else {
                open.push(UnitRef {
                    id: unit.id.clone(),
                    name: unit.name.clone(),
                });
            }
        }
        if open.is_empty() {
            if spent.len() >= units.len() {
                self.say(c.messages().token_used.clone());
            }
            return Ok(());
        }
        let Some(assessment) = c.assessment_of(&open[0].id, &group) else {
            self.say(c.messages().token_wrong_unit.clone());
            return Ok(());
        };
        // A credential with units left: the respondent is who they say.
        self.tx.clear_token_failures(&self.respondent).await?;
        self.move_to_successor().await?;
        let d = assessment.dialogue.clone();
        // A token covers units of one kind, so one dialogue serves them all.
        open.retain(|u| {
            c.assessment_of(&u.id, &group)
                .is_some_and(|a| a.dialogue.id() == d.id())
        });
        let mut outcome = engine::start(&d, open);
        // Where others may read the chat, the way to the web chat instead.
        if let Some(intro) = outcome.replies.first_mut() {
            intro.handover = self.handover_code();
        }
        self.settle(&d, credential, group, outcome).await
    }

    /// `o_<group>_<unit>`: one ballot per unit for each channel account.
    /// Only a messaging account counts as a person: a browser can clear its
    /// cookies and come back as another, so the web chat and the terminal
    /// are refused.
    async fn open_access(&mut self, rest: &str) -> Result<Option<Admitted>> {
        let c = self.survey.campaign.clone();
        if self.message.origin != Origin::Account {
            self.say(OPEN_ACCESS_NEEDS_AN_ACCOUNT);
            return Ok(None);
        }
        let found = rest.split_once('_').and_then(|(g, u)| {
            let group = c.group(g).filter(|g| g.access == Access::Open)?;
            c.assessment_of(u, &group.id)?;
            Some((group.id.clone(), u.to_string()))
        });
        let Some((group, unit)) = found else {
            // A public link with a typo: nothing secret was guessed.
            self.say(c.messages().token_wrong_unit.clone());
            return Ok(None);
        };
        Ok(Some(Admitted {
            credential: self.open_credential(),
            group,
            units: vec![unit],
        }))
    }

    /// Checks a typed token; `None` when it was refused (and the reply said why).
    async fn token(&mut self, typed: &str) -> Result<Option<Admitted>> {
        let c = self.survey.campaign.clone();
        let Ok(token) = Token::parse(typed) else {
            // A typo (the check symbol catches it) or not a token at all:
            // neither can be a right guess, so neither is counted.
            self.say(c.messages().token_invalid.clone());
            return Ok(None);
        };
        let record: Option<TokenRecord> = self.tx.token(&self.survey.keys.token(&token)).await?;
        let Some(record) = record.filter(|r| r.campaign == c.id()) else {
            self.fail(&c.messages().token_unknown).await?;
            return Ok(None);
        };
        if record.expires_at.is_some_and(|e| e < self.now.timestamp()) {
            self.say(c.messages().token_expired.clone());
            return Ok(None);
        }
        let valid = c.group(&record.group).is_some()
            && !record.units.is_empty()
            && record
                .units
                .iter()
                .all(|u| c.assessment_of(u, &record.group).is_some());
        if !valid {
            self.say(c.messages().token_wrong_unit.clone());
            return Ok(None);
        }
        Ok(Some(Admitted {
            credential: record.hash,
            group: record.group,
            units: record.units,
        }))
    }

    /// Whether `unit` has every ballot its quota asks of `group`.
    async fn quota_full(&mut self, unit: &str, group: &str) -> Result<bool> {
        let c = self.survey.campaign.clone();
        if !c.enforce_quotas() {
            return Ok(false);
        }
        let Some(a) = c.assessment_of(unit, group) else {
            return Ok(true);
        };
        let cell = crate::store::Cell {
            campaign: c.id().to_string(),
            unit: unit.to_string(),
            group: group.to_string(),
        };
        Ok(self.tx.ballot_count(&cell).await? >= a.quota)
    }

    /// Counts a wrong token — for the respondent, their address and their
    /// channel — and says why it failed.
    async fn fail(&mut self, message: &str) -> Result<()> {
        let since = self.now.timestamp() - 3600;
        self.tx
            .record_token_failure(&self.respondent, self.now.timestamp(), since)
            .await?;
        self.survey
            .budgets
            .charge(&self.message.channel, self.address());
        self.say(message.to_string());
        Ok(())
    }
}

impl super::Survey {
    /// Why nothing can be started or sent now, if the period says so.
    pub(super) fn period_refusal(&self, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
        let c = &self.campaign;
        let period = self.period();
        match self.period_state(now) {
            PeriodState::Open => None,
            PeriodState::NotOpen => Some(
                c.messages()
                    .not_open
                    .replace("{opens}", &c.local_time(period.opens)),
            ),
            PeriodState::Closed => Some(
                c.messages()
                    .closed
                    .replace("{closes}", &c.local_time(period.closes)),
            ),
        }
    }
}

/// Said when an open-access link is used where a person cannot be told apart.
const OPEN_ACCESS_NEEDS_AN_ACCOUNT: &str = "Đường dẫn không cần mã phiếu chỉ dùng được trong Zalo hoặc Telegram, nơi mỗi tài khoản là một người. Xin mở đường dẫn (hoặc quét mã QR) bằng Zalo hoặc Telegram, hoặc gõ mã phiếu in trên giấy mời.";

impl Turn<'_> {
    /// The client address behind this message, where the channel knows one.
    fn address(&self) -> Option<std::net::IpAddr> {
        match self.message.origin {
            Origin::Address(a) => Some(a),
            Origin::Account | Origin::Local => None,
        }
    }
}

/// Whether text with no conversation open is an attempt at a credential
/// (rather than "xin chào").
pub(super) fn looks_like_credential(text: &str) -> bool {
    let compact: String = text.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let t = text.trim();
    t.starts_with(OPEN_PREFIX)
        || (compact.len() >= token::LEN - 2
            && compact.len() <= token::LEN + 2
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' ' || c == '.'))
}
