//! Moving a conversation from a messaging platform to the web chat: where
//! others can read the chat (a Zalo OA's administrators), the respondent
//! can go on answering in the web chat, where only the ballot box sees the
//! answers. The link carries a sealed code — whose conversation, until
//! when — and works once: the conversation leaves the platform's account.

use anyhow::Result;
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use super::{Origin, Turn};
use crate::engine::{self, Input};

/// How long a hand-over link works.
pub const VALID_FOR: TimeDelta = TimeDelta::hours(24);

const USED: &str = "Liên kết này đã được dùng, hoặc phiếu đã gửi xong. Nếu ông/bà chưa trả lời xong, xin gõ lại mã phiếu trên trang này để trả lời tiếp các đơn vị còn lại.";
const EXPIRED: &str = "Liên kết này đã hết hạn (mỗi liên kết dùng được trong 24 giờ). Xin gõ lại mã phiếu trên trang này để trả lời tiếp các đơn vị còn lại.";
const BROKEN: &str = "Liên kết này không đúng hoặc không đầy đủ. Xin mở lại đúng liên kết, hoặc gõ mã phiếu trên trang này.";
const MOVED: &str =
    "Phiếu của ông/bà đã được chuyển sang trang này; từ đây chỉ hòm phiếu thấy câu trả lời.";

/// What a hand-over code holds, sealed.
#[derive(Serialize, Deserialize)]
struct Code {
    /// The keyed hash the conversation is kept under.
    from: String,
    /// Unix seconds after which the code is refused.
    until: i64,
}

impl Turn<'_> {
    /// A code that moves this conversation to the web chat, for a
    /// platform account (nothing for the web chat or the terminal).
    pub(super) fn handover_code(&self) -> Option<String> {
        if self.message.origin != Origin::Account {
            return None;
        }
        let code = Code {
            from: self.respondent.clone(),
            until: (self.now + VALID_FOR).timestamp(),
        };
        let plain = serde_json::to_vec(&code).ok()?;
        Some(self.survey.keys.seal(&plain))
    }

    /// Takes over the conversation a code names, under this message's
    /// successor (a web session), and shows where it stands.
    pub(super) async fn take_handover(&mut self, code: &str) -> Result<()> {
        // A link that does not work leaves this browser's own ballot as it was.
        self.open = self.tx.load_session(&self.respondent).await?.is_some();
        let opened = self
            .survey
            .keys
            .open(code.trim())
            .ok()
            .and_then(|p| serde_json::from_slice::<Code>(&p).ok());
        let Some(code) = opened else {
            self.say(BROKEN);
            return Ok(());
        };
        if code.until < self.now.timestamp() {
            self.say(EXPIRED);
            return Ok(());
        }
        let Some(stored) = self.tx.load_session(&code.from).await? else {
            self.say(USED);
            return Ok(());
        };
        let session: engine::Session = match self
            .survey
            .keys
            .open(&stored.state)
            .ok()
            .and_then(|p| serde_json::from_slice(&p).ok())
        {
            Some(s) => s,
            None => {
                self.say(USED);
                return Ok(());
            }
        };
        self.tx.delete_session(&code.from).await?;
        self.move_to_successor().await?;
        self.say(MOVED);
        let d = self
            .survey
            .dialogue(self.tx, &session.dialogue_id, &session.dialogue_version)
            .await?;
        let outcome = engine::step(&d, &session, Input::Resume);
        self.settle(&d, stored.credential, stored.group, outcome)
            .await
    }
}
