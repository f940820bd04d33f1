//! The operations of one conversation step, inside one transaction.

use anyhow::{Context, Result};
use sqlx::{Any, Row, Transaction};

use super::{Backend, TokenRecord};
use crate::ballot::{self, Ballot, GENESIS};

/// A transaction over the store.
pub struct Tx {
    tx: Transaction<'static, Any>,
    backend: Backend,
}

/// A conversation as stored: the credential it runs on and the engine session.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSession {
    pub credential: String,
    pub group: String,
    /// The engine session, as JSON.
    pub state: String,
}

/// What became of a ballot handed to [`Tx::submit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    Stored {
        receipt: String,
    },
    /// The credential was already spent for this unit.
    AlreadySpent,
    /// The unit has all the ballots its quota asks of this group.
    QuotaFull,
}

/// A ballot read back with its chain fields.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredBallot {
    pub ballot: Ballot,
    pub prev_hash: String,
    pub hash: String,
    pub receipt: String,
}

impl StoredBallot {
    /// A ballot as `ballots_after` encodes it: its columns joined by tabs.
    pub(super) fn from_line(line: &str) -> Result<Self> {
        let mut f = line.splitn(11, '\t');
        let mut next = || f.next().context("a stored ballot has too few columns");
        let seq = next()?
            .parse()
            .context("reading a ballot's sequence number")?;
        let (campaign, unit, group) = (next()?.into(), next()?.into(), next()?.into());
        let (dialogue_id, dialogue_version) = (next()?.into(), next()?.into());
        let submitted_on = next()?.into();
        let answers = serde_json::from_str(next()?).context("reading a ballot's answers")?;
        Ok(Self {
            ballot: Ballot {
                seq,
                campaign,
                unit,
                group,
                dialogue_id,
                dialogue_version,
                submitted_on,
                answers,
            },
            prev_hash: next()?.into(),
            hash: next()?.into(),
            receipt: next()?.into(),
        })
    }
}

impl Tx {
    /// Takes a PostgreSQL advisory lock held until the transaction ends.
    pub(super) async fn lock(&mut self, key: i64, what: &'static str) -> Result<()> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(key)
            .execute(&mut *self.tx)
            .await
            .context(what)?;
        Ok(())
    }

    pub(super) fn new(tx: Transaction<'static, Any>, backend: Backend) -> Self {
        Self { tx, backend }
    }

    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await.context("committing")
    }

    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await.context("rolling back")
    }

    /// Records an inbound message id; `false` if it was processed before.
    pub async fn claim_inbound(
        &mut self,
        channel: &str,
        message_id: &str,
        now: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO inbound (channel, message_id, received_at) VALUES ($1, $2, $3) \
             ON CONFLICT (channel, message_id) DO NOTHING",
        )
        .bind(channel)
        .bind(message_id)
        .bind(now)
        .execute(&mut *self.tx)
        .await
        .context("recording an inbound message id")?;
        Ok(done.rows_affected() == 1)
    }

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

    /// The source of a recorded dialogue version.
    pub async fn dialogue_source(&mut self, id: &str, version: &str) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT source FROM dialogue_versions WHERE dialogue_id = $1 AND version = $2",
        )
        .bind(id)
        .bind(version)
        .fetch_optional(&mut *self.tx)
        .await
        .with_context(|| format!("loading dialogue {id} version {version}"))?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    pub async fn token(&mut self, hash: &str) -> Result<Option<TokenRecord>> {
        let row = sqlx::query(
            "SELECT hash, campaign, group_id, units, expires_at, batch FROM tokens WHERE hash = $1",
        )
        .bind(hash)
        .fetch_optional(&mut *self.tx)
        .await
        .context("looking up a token")?;
        row.map(|r| {
            let units: String = r.try_get(3)?;
            Ok(TokenRecord {
                hash: r.try_get(0)?,
                campaign: r.try_get(1)?,
                group: r.try_get(2)?,
                units: units.split_whitespace().map(str::to_string).collect(),
                expires_at: r.try_get(4)?,
                batch: r.try_get(5)?,
            })
        })
        .transpose()
    }

    /// Units a credential has already been spent on.
    pub async fn spent_units(&mut self, credential: &str) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT unit_id FROM spends WHERE credential = $1")
            .bind(credential)
            .fetch_all(&mut *self.tx)
            .await
            .context("reading spent units")?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    pub async fn ballot_count(&mut self, campaign: &str, unit: &str, group: &str) -> Result<u32> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM ballots WHERE campaign = $1 AND unit_id = $2 AND group_id = $3",
        )
        .bind(campaign)
        .bind(unit)
        .bind(group)
        .fetch_one(&mut *self.tx)
        .await
        .context("counting ballots")?;
        Ok(row.try_get::<i64, _>(0)? as u32)
    }

    /// Failed token attempts of a respondent in the window starting after `since`.
    pub async fn token_failures(&mut self, respondent: &str, since: i64) -> Result<u32> {
        let row =
            sqlx::query("SELECT window_start, failures FROM token_failures WHERE respondent = $1")
                .bind(respondent)
                .fetch_optional(&mut *self.tx)
                .await
                .context("reading token attempts")?;
        Ok(match row {
            Some(r) if r.try_get::<i64, _>(0)? > since => r.try_get::<i64, _>(1)? as u32,
            _ => 0,
        })
    }

    /// Counts one failed token attempt; a window older than `since` restarts.
    pub async fn record_token_failure(
        &mut self,
        respondent: &str,
        now: i64,
        since: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO token_failures (respondent, window_start, failures) VALUES ($1, $2, 1) \
             ON CONFLICT (respondent) DO UPDATE SET \
             failures = CASE WHEN token_failures.window_start > $3 THEN token_failures.failures + 1 ELSE 1 END, \
             window_start = CASE WHEN token_failures.window_start > $3 THEN token_failures.window_start ELSE $2 END",
        )
        .bind(respondent)
        .bind(now)
        .bind(since)
        .execute(&mut *self.tx)
        .await
        .context("recording a failed token attempt")?;
        Ok(())
    }

    pub async fn clear_token_failures(&mut self, respondent: &str) -> Result<()> {
        sqlx::query("DELETE FROM token_failures WHERE respondent = $1")
            .bind(respondent)
            .execute(&mut *self.tx)
            .await
            .context("clearing token attempts")?;
        Ok(())
    }

    /// Spends `credential` for the ballot's unit and appends the ballot to the
    /// chain — both or neither. With a `quota`, refuses the ballot when the
    /// unit already has that many from the group. `ballot.seq` is assigned here.
    pub async fn submit(
        &mut self,
        credential: &str,
        mut ballot: Ballot,
        quota: Option<u32>,
    ) -> Result<Submission> {
        if self.backend == Backend::Postgres {
            // Appends (and the quota counts before them) are serialised across
            // instances; SQLite's single connection already serialises them.
            self.lock(super::CHAIN_LOCK, "locking the ballot chain")
                .await?;
        }
        if let Some(quota) = quota
            && self
                .ballot_count(&ballot.campaign, &ballot.unit, &ballot.group)
                .await?
                >= quota
        {
            return Ok(Submission::QuotaFull);
        }
        let spent = sqlx::query(
            "INSERT INTO spends (credential, unit_id) VALUES ($1, $2) \
             ON CONFLICT (credential, unit_id) DO NOTHING",
        )
        .bind(credential)
        .bind(&ballot.unit)
        .execute(&mut *self.tx)
        .await
        .context("spending a credential")?;
        if spent.rows_affected() != 1 {
            return Ok(Submission::AlreadySpent);
        }
        let last = sqlx::query("SELECT seq, hash FROM ballots ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *self.tx)
            .await
            .context("reading the chain head")?;
        let (seq, prev_hash) = match last {
            Some(r) => (r.try_get::<i64, _>(0)? + 1, r.try_get::<String, _>(1)?),
            None => (1, GENESIS.to_string()),
        };
        ballot.seq = seq;
        let hash = ballot.chain_hash(&prev_hash);
        let receipt = ballot::receipt(&hash);
        sqlx::query(
            "INSERT INTO ballots (seq, campaign, unit_id, group_id, dialogue_id, dialogue_version, \
             submitted_on, answers, prev_hash, hash, receipt) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(seq)
        .bind(&ballot.campaign)
        .bind(&ballot.unit)
        .bind(&ballot.group)
        .bind(&ballot.dialogue_id)
        .bind(&ballot.dialogue_version)
        .bind(&ballot.submitted_on)
        .bind(serde_json::to_string(&ballot.answers)?)
        .bind(&prev_hash)
        .bind(&hash)
        .bind(&receipt)
        .execute(&mut *self.tx)
        .await
        .context("storing a ballot")?;
        Ok(Submission::Stored { receipt })
    }
}
