//! One polite reminder to someone who stopped halfway — a leader with
//! units left, a citizen mid-ballot — on the channels that can write
//! first (Telegram, Zalo): after `remind_after` idle (default 2 days; on
//! Zalo at most 24 h, so it lands inside the window in which an OA may
//! write), only by day (08:00–20:00 campaign time), only while the survey
//! is open, once per conversation. Where to send it is kept sealed with
//! the session and goes with it.

use anyhow::Result;
use chrono::{TimeDelta, Timelike};
use serde::{Deserialize, Serialize};

use super::{Message, Survey};
use crate::campaign::Category;
use crate::engine::Reply;
use crate::outbox::Delivery;
use crate::store::Lease;

/// Zalo lets an OA write to a user for a while after their last message;
/// a reminder waits no longer than this there.
pub const ZALO_AT_MOST: TimeDelta = TimeDelta::hours(24);
/// The hours (campaign time) reminders go out in: [from, until).
pub const DAYTIME: (u32, u32) = (8, 20);

const TO_CITIZEN: &str = "Kính gửi ông/bà, phiếu khảo sát của ông/bà còn dang dở; các câu đã trả lời vẫn được giữ nguyên. Xin gõ “tiếp tục” để trả lời tiếp, hoặc “hủy” nếu không muốn tiếp tục. Xin cảm ơn ông/bà.";
const TO_OFFICIAL: &str = "Kính gửi đồng chí, phiếu đánh giá của đồng chí còn đơn vị chưa gửi; các đánh giá đã nhập vẫn được giữ nguyên. Xin gõ “tiếp tục” để làm tiếp. Xin cảm ơn đồng chí.";

/// Where a conversation's reminder would go.
#[derive(Debug, Serialize, Deserialize)]
struct Reach {
    channel: String,
    user: String,
}

impl Survey {
    /// Where a reminder to this message's sender would go, sealed; `None`
    /// on channels that cannot write first (the web chat, the terminal)
    /// or with reminders off.
    pub(super) fn reach(&self, message: &Message) -> Result<Option<String>> {
        if self.options.remind_after.is_none() || self.outbox(&message.channel).is_none() {
            return Ok(None);
        }
        let reach = Reach {
            channel: message.channel.clone(),
            user: message.user.clone(),
        };
        Ok(Some(self.keys.seal(&serde_json::to_vec(&reach)?)))
    }

    /// Sends the reminders due now; returns how many went out.
    pub async fn send_reminders(&self) -> Result<usize> {
        let Some(after) = self.options.remind_after else {
            return Ok(0);
        };
        let now = self.now();
        let hour = now.with_timezone(&self.campaign.timezone()).hour();
        if !self.is_open() || self.options.trial || !(DAYTIME.0..DAYTIME.1).contains(&hour) {
            return Ok(0);
        }
        let soonest = after.min(ZALO_AT_MOST);
        let mut sent = 0;
        for idle in self
            .store
            .idle_sessions((now - soonest).timestamp(), 1000)
            .await?
        {
            let reach: Reach = match self
                .keys
                .open(&idle.reach)
                .map_err(anyhow::Error::new)
                .and_then(|p| Ok(serde_json::from_slice(&p)?))
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = format!("{e:#}"), "an unreadable reminder address");
                    continue;
                }
            };
            let idle_for = now.timestamp() - idle.updated_at;
            let due = match reach.channel.as_str() {
                // Past the window a message would be refused (and cost).
                "zalo" => {
                    idle_for >= ZALO_AT_MOST.min(after).num_seconds()
                        && idle_for < 2 * ZALO_AT_MOST.num_seconds()
                }
                _ => idle_for >= after.num_seconds(),
            };
            let Some(outbox) = self.outbox(&reach.channel) else {
                continue;
            };
            if !due {
                continue;
            }
            let officials = self
                .campaign
                .group_index(&idle.group)
                .is_some_and(|g| self.campaign.groups()[g].category == Category::Officials);
            let text = if officials { TO_OFFICIAL } else { TO_CITIZEN };
            let delivery = Delivery {
                recipient: reach.user.clone(),
                pressed: None,
                tap: false,
                replies: vec![Reply::text(text, 0)],
            };
            let sealed = self.keys.seal(&serde_json::to_vec(&delivery)?);
            let lock = self
                .locks
                .entry(idle.respondent.clone())
                .or_default()
                .clone();
            let queued = {
                let _one_at_a_time = lock.lock().await;
                let (channel, respondent) = (reach.channel.as_str(), idle.respondent.as_str());
                let lease = Lease {
                    owner: outbox.owner(),
                    until: outbox.lease_until(now.timestamp()),
                };
                self.writer
                    .step(respondent, async |tx| {
                        if !tx
                            .mark_reminded(respondent, idle.updated_at, now.timestamp())
                            .await?
                        {
                            return Ok(None);
                        }
                        let id = tx
                            .queue_delivery(
                                channel,
                                respondent,
                                None,
                                &sealed,
                                now.timestamp(),
                                lease,
                                None,
                            )
                            .await?;
                        Ok(Some(id))
                    })
                    .await?
            };
            self.locks.remove_if(&idle.respondent, |_, l| {
                std::sync::Arc::strong_count(l) == 1
            });
            if let Some(id) = queued {
                outbox.push(&idle.respondent, id, delivery);
                sent += 1;
            }
        }
        Ok(sent)
    }
}
