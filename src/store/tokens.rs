//! `tokens` and `token_failures`: issued tokens (hashes only) and the count
//! of failed attempts per respondent.

use anyhow::{Context, Result};

use super::sql::query;
use super::{Store, Tx};

/// A token as stored: its hash and what it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub hash: String,
    pub campaign: String,
    pub group: String,
    pub units: Vec<String>,
    /// Unix seconds.
    pub expires_at: Option<i64>,
    pub batch: String,
}

impl Store {
    /// Stores issued tokens (hashes only), all or none.
    pub async fn insert_tokens(&self, tokens: &[TokenRecord]) -> Result<()> {
        let mut tx = self.begin().await?;
        for t in tokens {
            query(
                "INSERT INTO tokens (hash, campaign, group_id, units, expires_at, batch) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&t.hash)
            .bind(&t.campaign)
            .bind(&t.group)
            .bind(&t.units.join(" "))
            .bind(t.expires_at)
            .bind(&t.batch)
            .execute(&mut tx)
            .await
            .context("storing a token")?;
        }
        tx.commit().await.context("storing tokens")?;
        Ok(())
    }
}

impl Tx {
    pub async fn token(&mut self, hash: &str) -> Result<Option<TokenRecord>> {
        let row = query(
            "SELECT hash, campaign, group_id, units, expires_at, batch FROM tokens WHERE hash = $1",
        )
        .bind(hash)
        .fetch_optional(&mut *self)
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

    /// Failed token attempts of a respondent in the window starting after `since`.
    pub async fn token_failures(&mut self, respondent: &str, since: i64) -> Result<u32> {
        let row = query("SELECT window_start, failures FROM token_failures WHERE respondent = $1")
            .bind(respondent)
            .fetch_optional(&mut *self)
            .await
            .context("reading token attempts")?;
        Ok(match row {
            Some(r) if r.try_get::<i64>(0)? > since => r.try_get::<i64>(1)? as u32,
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
        query(
            "INSERT INTO token_failures (respondent, window_start, failures) VALUES ($1, $2, 1) \
             ON CONFLICT (respondent) DO UPDATE SET \
             failures = CASE WHEN token_failures.window_start > $3 THEN token_failures.failures + 1 ELSE 1 END, \
             window_start = CASE WHEN token_failures.window_start > $3 THEN token_failures.window_start ELSE $2 END",
        )
        .bind(respondent)
        .bind(now)
        .bind(since)
        .execute(&mut *self)
        .await
        .context("recording a failed token attempt")?;
        Ok(())
    }

    pub async fn clear_token_failures(&mut self, respondent: &str) -> Result<()> {
        query("DELETE FROM token_failures WHERE respondent = $1")
            .bind(respondent)
            .execute(&mut *self)
            .await
            .context("clearing token attempts")?;
        Ok(())
    }
}
