//! `staff`: who may run the campaign from a chat, added with a one-time
//! staff token and enrolled by sending it (token and account as keyed hashes).

use anyhow::{Context, Result};

use super::sql::query;
use super::{Store, Tx};

/// A staff member as `khaosat staff list` shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub id: i64,
    pub name: String,
    /// The channel they enrolled on, once they have.
    pub channel: Option<String>,
    pub created_at: i64,
    pub enrolled_at: Option<i64>,
    pub removed_at: Option<i64>,
}

const IS_STAFF: &str = "SELECT 1 FROM staff WHERE account = $1 AND removed_at IS NULL";

impl Store {
    /// Adds a staff member whose token hashes to `token_hash`; returns their id.
    pub async fn add_staff(&self, name: &str, token_hash: &str, now: i64) -> Result<i64> {
        let row = query(
            "INSERT INTO staff (name, token_hash, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(name)
        .bind(token_hash)
        .bind(now)
        .fetch_one(self)
        .await
        .context("adding a staff member")?;
        row.try_get(0)
    }

    /// Every staff member, removed ones included, in the order added.
    pub async fn staff(&self) -> Result<Vec<StaffMember>> {
        let rows = query(
            "SELECT id, name, channel, created_at, enrolled_at, removed_at FROM staff ORDER BY id",
        )
        .fetch_all(self)
        .await
        .context("reading the staff")?;
        rows.iter()
            .map(|r| {
                Ok(StaffMember {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    channel: r.try_get(2)?,
                    created_at: r.try_get(3)?,
                    enrolled_at: r.try_get(4)?,
                    removed_at: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// Removes a staff member (their token and account stop working);
    /// `false` if there is no such member still in place.
    pub async fn remove_staff(&self, id: i64, now: i64) -> Result<bool> {
        let done = query("UPDATE staff SET removed_at = $1 WHERE id = $2 AND removed_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(self)
            .await
            .context("removing a staff member")?;
        Ok(done == 1)
    }

    /// Whether `account` (a keyed hash) is an enrolled staff member.
    pub async fn is_staff(&self, account: &str) -> Result<bool> {
        let row = query(IS_STAFF)
            .bind(account)
            .fetch_optional(self)
            .await
            .context("looking up a staff member")?;
        Ok(row.is_some())
    }
}

impl Tx {
    /// Enrols `account` with the staff token hashing to `token_hash`, once:
    /// the member's name, or `None` for a token unknown, used or removed.
    pub async fn enrol_staff(
        &mut self,
        token_hash: &str,
        account: &str,
        channel: &str,
        now: i64,
    ) -> Result<Option<String>> {
        let row = query(
            "UPDATE staff SET account = $1, channel = $2, enrolled_at = $3 \
             WHERE token_hash = $4 AND account IS NULL AND removed_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM staff WHERE account = $1) RETURNING name",
        )
        .bind(account)
        .bind(channel)
        .bind(now)
        .bind(token_hash)
        .fetch_optional(&mut *self)
        .await
        .context("enrolling a staff member")?;
        row.map(|r| r.try_get(0)).transpose()
    }

    /// Whether `account` is an enrolled staff member.
    pub async fn is_staff(&mut self, account: &str) -> Result<bool> {
        let row = query(IS_STAFF)
            .bind(account)
            .fetch_optional(&mut *self)
            .await
            .context("looking up a staff member")?;
        Ok(row.is_some())
    }
}
