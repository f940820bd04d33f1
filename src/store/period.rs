//! `period_changes`: the staff's decisions on the survey period, append-only.

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, Utc};

use super::sql::{On, query};
use super::{Store, Tx};
use crate::period::{Action, Change};

fn moment(seconds: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0).ok_or_else(|| anyhow!("a stored time out of range"))
}

impl Store {
    /// Records a change of `campaign`'s period.
    pub async fn record_period_change(&self, campaign: &str, change: &Change) -> Result<()> {
        record(On::Store(self), campaign, change).await
    }

    /// The changes of `campaign`'s period, oldest first.
    pub async fn period_changes(&self, campaign: &str) -> Result<Vec<Change>> {
        let rows = query(
            "SELECT at, action, until, by_whom, reason FROM period_changes \
             WHERE campaign = $1 ORDER BY id",
        )
        .bind(campaign)
        .fetch_all(self)
        .await
        .context("reading the changes of the survey period")?;
        rows.iter()
            .map(|r| {
                let action: String = r.try_get(1)?;
                Ok(Change {
                    at: moment(r.try_get(0)?)?,
                    action: Action::parse(&action)
                        .ok_or_else(|| anyhow!("unknown period change `{action}`"))?,
                    until: r.try_get::<Option<i64>>(2)?.map(moment).transpose()?,
                    by: r.try_get(3)?,
                    reason: r.try_get(4)?,
                })
            })
            .collect()
    }
}

impl Tx {
    /// Records a change of `campaign`'s period in this transaction (a staff
    /// command in a chat, written with its step).
    pub async fn record_period_change(&mut self, campaign: &str, change: &Change) -> Result<()> {
        record(On::Tx(self), campaign, change).await
    }
}

async fn record(on: On<'_>, campaign: &str, change: &Change) -> Result<()> {
    query(
        "INSERT INTO period_changes (campaign, at, action, until, by_whom, reason) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(campaign)
    .bind(change.at.timestamp())
    .bind(change.action.as_str())
    .bind(change.until.map(|t| t.timestamp()))
    .bind(&change.by)
    .bind(&change.reason)
    .execute(on)
    .await
    .context("recording a change of the survey period")?;
    Ok(())
}
