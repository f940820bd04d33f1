//! `ballots`, `ballot_box`, `spends` and `mixer`: the append-only hash chain
//! of ballots, the sealed ballots waiting to be mixed into it, and which
//! credential was spent on which unit (nothing links a spend to a ballot).

use anyhow::{Context, Result};
use tokio::sync::mpsc;

use super::ballot_page::BallotPage;
use super::sql::{On, query};
use super::tx::CHAIN_LOCK;
use super::{Backend, Store, Tx};
use crate::ballot::{Ballot, GENESIS, StoredBallot};

/// Ballots per page read by `read_ballots`.
pub(super) const PAGE: i64 = 1_000;

/// A stored ballot's columns, in the order a page's lines hold them.
pub(super) const COLUMNS: &str = "seq, campaign, unit_id, group_id, dialogue_id, dialogue_version, \
     batch, batch_date, receipt, salt, answers, prev_hash, hash";

/// What became of a credential offered for a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spend {
    /// Spent now: its ballot must go into the box in the same transaction.
    Spent,
    /// The credential was already spent for this unit.
    AlreadySpent,
    /// The unit has all the ballots its quota asks of this group.
    QuotaFull,
}

/// A ballot cell: the unit and group a ballot counts for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell {
    pub campaign: String,
    pub unit: String,
    pub group: String,
}

impl Tx {
    /// Units a credential has already been spent on.
    pub async fn spent_units(&mut self, credential: &str) -> Result<Vec<String>> {
        let rows = query("SELECT unit_id FROM spends WHERE credential = $1")
            .bind(credential)
            .fetch_all(&mut *self)
            .await
            .context("reading spent units")?;
        rows.iter().map(|r| r.try_get(0)).collect()
    }

    /// Ballots a cell has: in the chain and still in the box.
    pub async fn ballot_count(&mut self, cell: &Cell) -> Result<u32> {
        let row = query(
            "SELECT (SELECT COUNT(*) FROM ballots WHERE campaign = $1 AND unit_id = $2 AND group_id = $3) \
             + (SELECT COUNT(*) FROM ballot_box WHERE campaign = $1 AND unit_id = $2 AND group_id = $3)",
        )
        .bind(&cell.campaign)
        .bind(&cell.unit)
        .bind(&cell.group)
        .fetch_one(&mut *self)
        .await
        .context("counting ballots")?;
        Ok(row.try_get::<i64>(0)? as u32)
    }

    /// Spends `credential` for the cell's unit — once — unless the cell
    /// already has `quota` ballots. The caller then puts the ballot in the
    /// box in the same transaction: both or neither.
    pub async fn spend(
        &mut self,
        credential: &str,
        cell: &Cell,
        quota: Option<u32>,
    ) -> Result<Spend> {
        if self.backend == Backend::Postgres {
            // Quota counts and appends are serialised across instances;
            // SQLite's single connection already serialises them.
            self.lock(CHAIN_LOCK, "locking the ballot chain").await?;
        }
        if let Some(quota) = quota
            && self.ballot_count(cell).await? >= quota
        {
            return Ok(Spend::QuotaFull);
        }
        let spent = query(
            "INSERT INTO spends (credential, unit_id) VALUES ($1, $2) \
             ON CONFLICT (credential, unit_id) DO NOTHING",
        )
        .bind(credential)
        .bind(&cell.unit)
        .execute(&mut *self)
        .await
        .context("spending a credential")?;
        Ok(if spent == 1 {
            Spend::Spent
        } else {
            Spend::AlreadySpent
        })
    }

    /// Whether a receipt code is already in the chain.
    pub async fn receipt_in_chain(&mut self, receipt: &str) -> Result<bool> {
        let row = query("SELECT COUNT(*) FROM ballots WHERE receipt = $1")
            .bind(receipt)
            .fetch_one(&mut *self)
            .await
            .context("looking up a receipt")?;
        Ok(row.try_get::<i64>(0)? > 0)
    }

    /// Drops a sealed ballot into the box under its receipt's keyed tag;
    /// `false` when another ballot in the box has the same tag (draw again).
    pub async fn put_in_box(
        &mut self,
        receipt_tag: &str,
        cell: &Cell,
        sealed: &str,
    ) -> Result<bool> {
        let done = query(
            "INSERT INTO ballot_box (receipt_tag, campaign, unit_id, group_id, sealed) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (receipt_tag) DO NOTHING",
        )
        .bind(receipt_tag)
        .bind(&cell.campaign)
        .bind(&cell.unit)
        .bind(&cell.group)
        .bind(sealed)
        .execute(&mut *self)
        .await
        .context("putting a ballot in the box")?;
        Ok(done == 1)
    }

    /// How many sealed ballots each cell has in the box.
    pub async fn boxed_cells(&mut self) -> Result<Vec<(Cell, u32)>> {
        let rows = query(
            "SELECT campaign, unit_id, group_id, COUNT(*) FROM ballot_box \
             GROUP BY campaign, unit_id, group_id",
        )
        .fetch_all(&mut *self)
        .await
        .context("counting the ballot box")?;
        rows.iter()
            .map(|r| {
                Ok((
                    Cell {
                        campaign: r.try_get(0)?,
                        unit: r.try_get(1)?,
                        group: r.try_get(2)?,
                    },
                    r.try_get::<i64>(3)? as u32,
                ))
            })
            .collect()
    }

    /// The sealed ballots of a cell: `(receipt tag, sealed)`, in tag order.
    pub async fn boxed(&mut self, cell: &Cell) -> Result<Vec<(String, String)>> {
        let rows = query(
            "SELECT receipt_tag, sealed FROM ballot_box \
             WHERE campaign = $1 AND unit_id = $2 AND group_id = $3 ORDER BY receipt_tag",
        )
        .bind(&cell.campaign)
        .bind(&cell.unit)
        .bind(&cell.group)
        .fetch_all(&mut *self)
        .await
        .context("reading the ballot box")?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Takes a ballot out of the box (the mixer, once it is in the chain).
    pub async fn remove_from_box(&mut self, receipt_tag: &str) -> Result<()> {
        query("DELETE FROM ballot_box WHERE receipt_tag = $1")
            .bind(receipt_tag)
            .execute(&mut *self)
            .await
            .context("emptying the ballot box")?;
        Ok(())
    }

    /// The chain head: the last sequence number and hash (0 and
    /// [`GENESIS`] for an empty chain).
    pub async fn chain_head(&mut self) -> Result<(i64, String)> {
        let last = query("SELECT seq, hash FROM ballots ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *self)
            .await
            .context("reading the chain head")?;
        Ok(match last {
            Some(r) => (r.try_get::<i64>(0)?, r.try_get::<String>(1)?),
            None => (0, GENESIS.to_string()),
        })
    }

    /// Appends a ballot to the chain: the next sequence number after
    /// `prev_hash`, whose hash it computes. Returns the new head hash.
    pub async fn append(&mut self, ballot: &Ballot, prev_hash: &str) -> Result<String> {
        let hash = ballot.chain_hash(prev_hash);
        query(
            "INSERT INTO ballots (seq, campaign, unit_id, group_id, dialogue_id, dialogue_version, \
             batch, batch_date, receipt, salt, answers, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(ballot.seq)
        .bind(&ballot.campaign)
        .bind(&ballot.unit)
        .bind(&ballot.group)
        .bind(&ballot.dialogue_id)
        .bind(&ballot.dialogue_version)
        .bind(ballot.batch)
        .bind(&ballot.batch_date)
        .bind(&ballot.receipt)
        .bind(&ballot.salt)
        .bind(&ballot.answers_json())
        .bind(prev_hash)
        .bind(&hash)
        .execute(&mut *self)
        .await
        .context("appending a ballot to the chain")?;
        Ok(hash)
    }

    /// The mixer's state: `(batches so far, start of the current window)`;
    /// the window starts at `now` on first use.
    pub async fn mixer_state(&mut self, now: i64) -> Result<(i64, i64)> {
        query(
            "INSERT INTO mixer (id, batches, window_start) VALUES (1, 0, $1) ON CONFLICT (id) DO NOTHING",
        )
        .bind(now)
        .execute(&mut *self)
        .await
        .context("starting the mixer")?;
        let row = query("SELECT batches, window_start FROM mixer WHERE id = 1")
            .fetch_one(&mut *self)
            .await
            .context("reading the mixer")?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    pub async fn set_mixer_state(&mut self, batches: i64, window_start: i64) -> Result<()> {
        query("UPDATE mixer SET batches = $1, window_start = $2 WHERE id = 1")
            .bind(batches)
            .bind(window_start)
            .execute(&mut *self)
            .await
            .context("recording the mixer's batch")?;
        Ok(())
    }
}

impl Store {
    /// Ballots cast per (unit, group) of a campaign: in the chain and in the box.
    pub async fn ballot_counts(&self, campaign: &str) -> Result<Vec<(String, String, u32)>> {
        cast_counts(On::Store(self), campaign).await
    }

    /// Ballots in the chain per (unit, group) of a campaign (not the box).
    pub async fn chain_counts(&self, campaign: &str) -> Result<Vec<(String, String, u32)>> {
        let rows = query(
            "SELECT unit_id, group_id, COUNT(*) FROM ballots WHERE campaign = $1 GROUP BY unit_id, group_id",
        )
        .bind(campaign)
        .fetch_all(self)
        .await
        .context("counting ballots in the chain")?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get::<i64>(2)? as u32)))
            .collect()
    }

    /// Every stored ballot in chain order, with its stored hashes.
    pub async fn ballots(&self) -> Result<Vec<StoredBallot>> {
        self.ballots_after(0, i64::MAX).await
    }

    /// Up to `limit` ballots with a sequence number above `after`, in chain
    /// order: a page, for reading every ballot in bounded memory.
    pub async fn ballots_after(&self, after: i64, limit: i64) -> Result<Vec<StoredBallot>> {
        let page = self.page_after(after, limit).await?;
        page.rows()
            .map(|row| {
                let answers = row.answers().context("reading a ballot's answers")?;
                Ok(row.to_stored(&answers))
            })
            .collect()
    }

    /// The page of up to `limit` ballots after sequence number `after`.
    ///
    /// The database joins the whole page into one text, a line per ballot
    /// and its columns separated by tabs, so it crosses the driver as one
    /// row: sqlx hands SQLite rows over one at a time between threads, at
    /// about 20 µs a row, ten times the rest of the report's work. No column
    /// holds a tab or a line break: ids, dates and hashes are checked
    /// ASCII, and `answers` is JSON, which escapes both.
    async fn page_after(&self, after: i64, limit: i64) -> Result<BallotPage> {
        let sql = match self.backend() {
            Backend::Sqlite => format!(
                "SELECT group_concat(concat_ws(char(9), {COLUMNS}), char(10)) \
                 FROM (SELECT * FROM ballots WHERE seq > $1 ORDER BY seq LIMIT $2)"
            ),
            Backend::Postgres => format!(
                "SELECT string_agg(concat_ws(E'\\t', {COLUMNS}), E'\\n' ORDER BY seq) \
                 FROM (SELECT * FROM ballots WHERE seq > $1 ORDER BY seq LIMIT $2) AS page"
            ),
        };
        let text: Option<String> = query(&sql)
            .bind(after)
            .bind(limit)
            .fetch_one(self)
            .await
            .context("reading ballots")?
            .try_get(0)?;
        BallotPage::in_chain_order(text.unwrap_or_default())
    }

    /// Every ballot up to sequence number `last`, a page at a time, read in
    /// a task of its own one page ahead of the caller (so reading and the
    /// caller's work use both cores), in bounded memory. An error ends the
    /// pages.
    pub fn read_ballots(&self, last: i64) -> mpsc::Receiver<Result<BallotPage>> {
        let (tx, rx) = mpsc::channel(2);
        if let Some(file) = self.sqlite_file.clone() {
            tokio::task::spawn_blocking(move || {
                if let Err(e) = super::sqlite_pages::send_pages(&file, last, &tx) {
                    let _ = tx.blocking_send(Err(e));
                }
            });
            return rx;
        }
        let store = self.clone();
        tokio::spawn(async move {
            let mut after = 0;
            while after < last {
                let page = store
                    .page_after(after, PAGE.min(last - after))
                    .await
                    .map(|page| (page.last_seq(), page));
                match page {
                    Ok((Some(seq), page)) => {
                        after = seq;
                        if tx.send(Ok(page)).await.is_err() {
                            break;
                        }
                    }
                    Ok((None, _)) => break,
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

impl Tx {
    /// Ballots cast per (unit, group), as [`Store::ballot_counts`], in this transaction.
    pub async fn ballot_counts(&mut self, campaign: &str) -> Result<Vec<(String, String, u32)>> {
        cast_counts(On::Tx(self), campaign).await
    }
}

async fn cast_counts(on: On<'_>, campaign: &str) -> Result<Vec<(String, String, u32)>> {
    let rows = query(
        "SELECT unit_id, group_id, COUNT(*) FROM (\
         SELECT unit_id, group_id FROM ballots WHERE campaign = $1 \
         UNION ALL SELECT unit_id, group_id FROM ballot_box WHERE campaign = $1) AS cast_ballots \
         GROUP BY unit_id, group_id",
    )
    .bind(campaign)
    .fetch_all(on)
    .await
    .context("counting ballots")?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get::<i64>(2)? as u32)))
        .collect()
}
