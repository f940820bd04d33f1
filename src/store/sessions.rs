//! `sessions`: conversations in progress, keyed by the respondent's keyed hash.

use anyhow::{Context, Result};
use sqlx::Row;

use super::{Backend, Tx};

/// A conversation as stored: the credential it runs on and the engine session.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSession {
    pub credential: String,
    pub group: String,
    /// The engine session, as JSON.
    pub state: String,
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
        let row = sqlx::query(sql)
            .bind(respondent)
            .fetch_optional(&mut *self.tx)
            .await
            .context("loading a session")?;
        row.map(|r| {
            Ok(StoredSession {
                credential: r.try_get(0)?,
                group: r.try_get(1)?,
                state: r.try_get(2)?,
            })
        })
        .transpose()
    }

    pub async fn save_session(
        &mut self,
        respondent: &str,
        s: &StoredSession,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (respondent, credential, group_id, state, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (respondent) DO UPDATE SET credential = excluded.credential, \
             group_id = excluded.group_id, state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(respondent)
        .bind(&s.credential)
        .bind(&s.group)
        .bind(&s.state)
        .bind(now)
        .execute(&mut *self.tx)
        .await
        .context("saving a session")?;
        Ok(())
    }

    pub async fn delete_session(&mut self, respondent: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE respondent = $1")
            .bind(respondent)
            .execute(&mut *self.tx)
            .await
            .context("ending a session")?;
        Ok(())
    }
}
