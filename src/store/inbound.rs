//! `inbound`: ids of processed messages, so a redelivery changes nothing.

use super::sessions::session_of;
use super::sql::query;
use super::{Backend, Store, StoredSession, Tx};
use anyhow::{Context, Result};

/// What claiming a message found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// Processed before: a redelivery.
    Before,
    /// New; the sender's conversation as it stands, if one is in progress.
    New(Option<StoredSession>),
}

impl Tx {
    /// Records an inbound message id and, if it is new, loads the
    /// conversation of `respondent` ([`Tx::load_session`]), in the same
    /// statement: one round trip instead of two.
    pub async fn claim_and_load(
        &mut self,
        channel: &str,
        message_id: &str,
        now: i64,
        respondent: &str,
    ) -> Result<Claim> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "INSERT INTO inbound (channel, message_id, received_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (channel, message_id) DO NOTHING \
                 RETURNING (SELECT credential FROM sessions WHERE respondent = $4), \
                 (SELECT group_id FROM sessions WHERE respondent = $4), \
                 (SELECT state FROM sessions WHERE respondent = $4)"
            }
            // As `load_session`, the conversation is read `FOR UPDATE`: a
            // respondent's steps on several instances wait for each other
            // and each reads the conversation as the last one left it (the
            // lock's wait re-reads the newest version). A plain subquery in
            // the claim's RETURNING would read it unlocked, as of the
            // statement's start: session 14 tried that, and two instances
            // lost ballots (`instances::two_instances_on_one_database_behave_as_one`
            // failed 11 runs in 12). A redelivery (no claim row) reads nothing.
            Backend::Postgres => {
                "WITH claim AS (INSERT INTO inbound (channel, message_id, received_at) \
                 VALUES ($1, $2, $3) ON CONFLICT (channel, message_id) DO NOTHING RETURNING 1) \
                 SELECT s.credential, s.group_id, s.state FROM claim LEFT JOIN LATERAL \
                 (SELECT credential, group_id, state FROM sessions WHERE respondent = $4 \
                 FOR UPDATE) s ON true"
            }
        };
        let row = query(sql)
            .bind(channel)
            .bind(message_id)
            .bind(now)
            .bind(respondent)
            .fetch_optional(&mut *self)
            .await
            .context("recording an inbound message id and loading its session")?;
        Ok(match row {
            Some(row) => Claim::New(session_of(&row)?),
            None => Claim::Before,
        })
    }

    /// Records an inbound message id; `false` if it was processed before.
    pub async fn claim_inbound(
        &mut self,
        channel: &str,
        message_id: &str,
        now: i64,
    ) -> Result<bool> {
        let done = query(
            "INSERT INTO inbound (channel, message_id, received_at) VALUES ($1, $2, $3) \
             ON CONFLICT (channel, message_id) DO NOTHING",
        )
        .bind(channel)
        .bind(message_id)
        .bind(now)
        .execute(&mut *self)
        .await
        .context("recording an inbound message id")?;
        Ok(done == 1)
    }
}

impl Store {
    /// Forgets processed message ids received before `before` (Unix
    /// seconds); returns how many.
    pub async fn forget_inbound_before(&self, before: i64) -> Result<u64> {
        let done = query("DELETE FROM inbound WHERE received_at < $1")
            .bind(before)
            .execute(self)
            .await
            .context("forgetting old message ids")?;
        Ok(done)
    }
}
