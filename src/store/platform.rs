//! `platform_tokens` and `undeliverable`: what a messaging platform's API
//! needs kept (its rotating access and refresh tokens) and replies it could
//! not take. Channel-neutral: each row names its channel.

use anyhow::{Context, Result};

use super::sql::{On, query};
use super::tx::PLATFORM_REFRESH_LOCK;
use super::{Backend, Store, Tx};

/// A platform's persisted API tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformTokens {
    pub refresh_token: String,
    pub access_token: Option<String>,
}

impl Store {
    /// The persisted API tokens of a channel's platform.
    pub async fn platform_tokens(&self, channel: &str) -> Result<Option<PlatformTokens>> {
        let row =
            query("SELECT refresh_token, access_token FROM platform_tokens WHERE channel = $1")
                .bind(channel)
                .fetch_optional(self)
                .await
                .with_context(|| format!("reading the {channel} API tokens"))?;
        row.map(|r| {
            Ok(PlatformTokens {
                refresh_token: r.try_get(0)?,
                access_token: r.try_get(1)?,
            })
        })
        .transpose()
    }

    /// Serialises token refreshes across instances sharing a PostgreSQL
    /// database: the returned transaction holds an advisory lock until it
    /// ends. `None` on SQLite, which has one instance, whose own mutex is
    /// enough (and whose single connection must not wait on the platform).
    pub async fn lock_platform_refresh(&self) -> Result<Option<Tx>> {
        if self.backend() != Backend::Postgres {
            return Ok(None);
        }
        let mut tx = self.begin().await?;
        tx.lock(PLATFORM_REFRESH_LOCK, "locking the API token refresh")
            .await?;
        Ok(Some(tx))
    }

    /// Persists a platform's tokens (before the new access token is used:
    /// a refresh token is single-use).
    pub async fn save_platform_tokens(
        &self,
        channel: &str,
        tokens: &PlatformTokens,
        now: i64,
    ) -> Result<()> {
        query(
            "INSERT INTO platform_tokens (channel, refresh_token, access_token, updated_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (channel) DO UPDATE SET refresh_token = excluded.refresh_token, \
             access_token = excluded.access_token, updated_at = excluded.updated_at",
        )
        .bind(channel)
        .bind(&tokens.refresh_token)
        .bind(&tokens.access_token)
        .bind(now)
        .execute(self)
        .await
        .with_context(|| format!("saving the {channel} API tokens"))?;
        Ok(())
    }

    /// Records a reply that could not be delivered and will not be retried.
    pub async fn record_undeliverable(
        &self,
        channel: &str,
        respondent: &str,
        reason: &str,
        now: i64,
    ) -> Result<()> {
        query(
            "INSERT INTO undeliverable (channel, respondent, reason, at) VALUES ($1, $2, $3, $4)",
        )
        .bind(channel)
        .bind(respondent)
        .bind(reason)
        .bind(now)
        .execute(self)
        .await
        .context("recording an undeliverable reply")?;
        Ok(())
    }

    /// How many people each channel could not reach, by reason (counts:
    /// nobody is named).
    pub async fn undeliverable_counts(&self) -> Result<Vec<crate::progress::Unreachable>> {
        unreachable(On::Store(self)).await
    }
}

impl Tx {
    /// [`Store::undeliverable_counts`], in this transaction.
    pub async fn undeliverable_counts(&mut self) -> Result<Vec<crate::progress::Unreachable>> {
        unreachable(On::Tx(self)).await
    }
}

async fn unreachable(on: On<'_>) -> Result<Vec<crate::progress::Unreachable>> {
    let rows = query(
        "SELECT channel, reason, COUNT(DISTINCT respondent) FROM undeliverable \
         GROUP BY channel, reason ORDER BY channel, reason",
    )
    .fetch_all(on)
    .await
    .context("counting the people a channel could not reach")?;
    rows.iter()
        .map(|r| {
            Ok(crate::progress::Unreachable {
                channel: r.try_get(0)?,
                reason: r.try_get(1)?,
                people: r.try_get::<i64>(2)?.max(0) as u64,
            })
        })
        .collect()
}
