//! `sessions`: conversations in progress, keyed by the respondent's keyed hash.

use anyhow::{Context, Result};

use super::sql::{Query, Row, query};
use super::{Backend, Store, Tx};

/// A conversation as stored: the credential it runs on and the engine session.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSession {
    pub credential: String,
    pub group: String,
    /// The engine session, as JSON sealed under the service's key.
    pub state: String,
}

/// A conversation to be saved when its step ends: with the step's reply
/// (`Tx::queue_delivery`), on PostgreSQL in the same statement.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSave {
    pub respondent: String,
    pub session: StoredSession,
    /// Sealed: where a reminder could go, on channels that can write first.
    pub reach: Option<String>,
    pub now: i64,
}

/// The upsert of a conversation; binds `$1`–`$6`: respondent, credential,
/// group, state, updated_at, reach.
macro_rules! upsert_session {
    () => {
        "INSERT INTO sessions (respondent, credential, group_id, state, updated_at, reach) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (respondent) DO UPDATE SET credential = excluded.credential, \
         group_id = excluded.group_id, state = excluded.state, updated_at = excluded.updated_at, \
         reach = excluded.reach"
    };
}
pub(super) use upsert_session;

impl SessionSave {
    /// Binds the save to `$1`–`$6` of [`upsert_session`].
    pub(super) fn bind<'q>(&'q self, q: Query<'q>) -> Query<'q> {
        q.bind(self.respondent.as_str())
            .bind(self.session.credential.as_str())
            .bind(self.session.group.as_str())
            .bind(self.session.state.as_str())
            .bind(self.now)
            .bind(self.reach.as_deref())
    }
}

/// The conversation in a row whose first columns are credential, group and
/// state; `None` where they are NULL (no conversation: `Tx::claim_and_load`).
pub(super) fn session_of(row: &Row) -> Result<Option<StoredSession>> {
    let Some(credential) = row.try_get::<Option<String>>(0)? else {
        return Ok(None);
    };
    Ok(Some(StoredSession {
        credential,
        group: row.try_get(1)?,
        state: row.try_get(2)?,
    }))
}

impl Tx {
    pub async fn load_session(&mut self, respondent: &str) -> Result<Option<StoredSession>> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT credential, group_id, state FROM sessions WHERE respondent = $1"
            }
            // Several instances: one respondent's steps are applied one at a time.
            Backend::Postgres => {
                "SELECT credential, group_id, state FROM sessions WHERE respondent = $1 FOR UPDATE"
            }
        };
        let row = query(sql)
            .bind(respondent)
            .fetch_optional(&mut *self)
            .await
            .context("loading a session")?;
        Ok(row.as_ref().map(session_of).transpose()?.flatten())
    }

    /// Saves a conversation.
    pub async fn save_session(&mut self, save: &SessionSave) -> Result<()> {
        save.bind(query(upsert_session!()))
            .execute(&mut *self)
            .await
            .context("saving a session")?;
        Ok(())
    }

    /// Whether the respondent's conversation was purged for idling (and
    /// they have not been told yet); telling them forgets it.
    pub async fn take_expiry_note(&mut self, respondent: &str) -> Result<bool> {
        let done = query("DELETE FROM expired_sessions WHERE respondent = $1")
            .bind(respondent)
            .execute(&mut *self)
            .await
            .context("reading the purged conversations")?;
        Ok(done > 0)
    }

    pub async fn delete_session(&mut self, respondent: &str) -> Result<()> {
        query("DELETE FROM sessions WHERE respondent = $1")
            .bind(respondent)
            .execute(&mut *self)
            .await
            .context("ending a session")?;
        Ok(())
    }
}

impl Store {
    /// Deletes the conversations last moved before `before` (Unix
    /// seconds), noting their respondents so they are told why when they
    /// come back; notes older than `forget_before` are dropped. Returns how
    /// many conversations went.
    pub async fn expire_sessions(&self, before: i64, now: i64, forget_before: i64) -> Result<u64> {
        let mut tx = self.begin().await?;
        query(
            "INSERT INTO expired_sessions (respondent, expired_at) \
             SELECT respondent, $2 FROM sessions WHERE updated_at < $1 \
             ON CONFLICT (respondent) DO NOTHING",
        )
        .bind(before)
        .bind(now)
        .execute(&mut tx)
        .await
        .context("noting idle conversations")?;
        let gone = query("DELETE FROM sessions WHERE updated_at < $1")
            .bind(before)
            .execute(&mut tx)
            .await
            .context("deleting idle conversations")?;
        query("DELETE FROM expired_sessions WHERE expired_at < $1")
            .bind(forget_before)
            .execute(&mut tx)
            .await
            .context("forgetting old notes")?;
        tx.commit().await?;
        self.checkpoint().await?;
        Ok(gone)
    }
}

/// A conversation idle long enough for its one reminder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idle {
    pub respondent: String,
    pub group: String,
    /// Where to send it, sealed.
    pub reach: String,
    pub updated_at: i64,
}

impl Store {
    /// Conversations idle since before `before`, reachable, not yet reminded.
    pub async fn idle_sessions(&self, before: i64, limit: i64) -> Result<Vec<Idle>> {
        let rows = query(
            "SELECT respondent, group_id, reach, updated_at FROM sessions \
             WHERE reach IS NOT NULL AND reminded_at IS NULL AND updated_at < $1 \
             ORDER BY updated_at LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(self)
        .await
        .context("looking for idle conversations")?;
        rows.iter()
            .map(|r| {
                Ok(Idle {
                    respondent: r.try_get(0)?,
                    group: r.try_get(1)?,
                    reach: r.try_get(2)?,
                    updated_at: r.try_get(3)?,
                })
            })
            .collect()
    }
}

impl Tx {
    /// Marks a conversation reminded, if it is still as idle as it was
    /// (`updated_at`) and not reminded yet; `false` otherwise.
    pub async fn mark_reminded(
        &mut self,
        respondent: &str,
        updated_at: i64,
        now: i64,
    ) -> Result<bool> {
        let done = query(
            "UPDATE sessions SET reminded_at = $1 \
             WHERE respondent = $2 AND updated_at = $3 AND reminded_at IS NULL",
        )
        .bind(now)
        .bind(respondent)
        .bind(updated_at)
        .execute(&mut *self)
        .await
        .context("marking a reminder sent")?;
        Ok(done == 1)
    }
}
