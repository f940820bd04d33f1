//! `ballots` and `spends`: the append-only hash chain of ballots, and which
//! credential was spent on which unit (nothing links the two).

use anyhow::{Context, Result};
use sqlx::Row;
use tokio::sync::mpsc;

use super::tx::CHAIN_LOCK;
use super::{Backend, Store, Tx};
use crate::ballot::{self, Ballot, GENESIS, StoredBallot};

/// Ballots read per query by `read_ballots`.
const PAGE: i64 = 1_000;

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

impl Tx {
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
            self.lock(CHAIN_LOCK, "locking the ballot chain").await?;
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

impl Store {
    /// Ballots stored per (unit, group) of a campaign.
    pub async fn ballot_counts(&self, campaign: &str) -> Result<Vec<(String, String, u32)>> {
        let rows = sqlx::query(
            "SELECT unit_id, group_id, COUNT(*) FROM ballots WHERE campaign = $1 GROUP BY unit_id, group_id",
        )
        .bind(campaign)
        .fetch_all(&self.pool)
        .await
        .context("counting ballots")?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get::<i64, _>(2)? as u32)))
            .collect()
    }

    /// Every stored ballot in chain order, with its stored hashes and receipt.
    pub async fn ballots(&self) -> Result<Vec<StoredBallot>> {
        self.ballots_after(0, i64::MAX).await
    }

    /// Up to `limit` ballots with a sequence number above `after`, in chain
    /// order: a page, for reading every ballot in bounded memory.
    ///
    /// The database joins the whole page into one text, a line per ballot
    /// and its columns separated by tabs, so it crosses the driver as one
    /// row: sqlx hands SQLite rows over one at a time between threads, at
    /// about 20 µs a row, ten times the rest of the report's work. No column
    /// holds a tab or a line break: ids, dates and hashes are checked
    /// ASCII, and `answers` is JSON, which escapes both.
    pub async fn ballots_after(&self, after: i64, limit: i64) -> Result<Vec<StoredBallot>> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT group_concat(concat_ws(char(9), seq, campaign, unit_id, group_id, \
                 dialogue_id, dialogue_version, submitted_on, answers, prev_hash, hash, receipt), \
                 char(10)) FROM (SELECT * FROM ballots WHERE seq > $1 ORDER BY seq LIMIT $2)"
            }
            Backend::Postgres => {
                "SELECT string_agg(concat_ws(E'\\t', seq, campaign, unit_id, group_id, \
                 dialogue_id, dialogue_version, submitted_on, answers, prev_hash, hash, receipt), \
                 E'\\n' ORDER BY seq) FROM (SELECT * FROM ballots WHERE seq > $1 ORDER BY seq \
                 LIMIT $2) AS page"
            }
        };
        let page: Option<String> = sqlx::query_scalar(sql)
            .bind(after)
            .bind(limit)
            .fetch_one(&self.pool)
            .await
            .context("reading ballots")?;
        let mut ballots = page
            .as_deref()
            .unwrap_or_default()
            .lines()
            .map(from_line)
            .collect::<Result<Vec<_>>>()?;
        ballots.sort_by_key(|b| b.ballot.seq);
        Ok(ballots)
    }

    /// Every ballot up to sequence number `last`, a page at a time, read in
    /// a task of its own one page ahead of the caller (so reading and the
    /// caller's work use both cores), in bounded memory. An error ends the
    /// pages.
    pub fn read_ballots(&self, last: i64) -> mpsc::Receiver<Result<Vec<StoredBallot>>> {
        let (tx, rx) = mpsc::channel(1);
        let store = self.clone();
        tokio::spawn(async move {
            let mut after = 0;
            while after < last {
                let page = store.ballots_after(after, PAGE.min(last - after)).await;
                match page {
                    Ok(page) => {
                        let Some(seq) = page.last().map(|b| b.ballot.seq) else {
                            break;
                        };
                        after = seq;
                        if tx.send(Ok(page)).await.is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        break;
                    }
                }
            }
        });
        rx
    }
}

/// A ballot as `ballots_after` encodes it: its columns joined by tabs.
fn from_line(line: &str) -> Result<StoredBallot> {
    let mut f = line.splitn(11, '\t');
    let mut next = || f.next().context("a stored ballot has too few columns");
    let seq = next()?
        .parse()
        .context("reading a ballot's sequence number")?;
    let (campaign, unit, group) = (next()?.into(), next()?.into(), next()?.into());
    let (dialogue_id, dialogue_version) = (next()?.into(), next()?.into());
    let submitted_on = next()?.into();
    let answers = serde_json::from_str(next()?).context("reading a ballot's answers")?;
    Ok(StoredBallot {
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
