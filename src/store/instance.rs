//! `instance`: the per-database secret for keyed hashes.

use anyhow::{Context, Result};
use sqlx::Row;

use super::Store;

impl Store {
    /// The instance secret for keyed hashes, created on first use.
    pub async fn secret(&self) -> Result<String> {
        let fresh = crate::hex::random::<32>();
        sqlx::query("INSERT INTO instance (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
            .bind(fresh)
            .execute(&self.pool)
            .await
            .context("creating the instance secret")?;
        let row = sqlx::query("SELECT secret FROM instance WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .context("reading the instance secret")?;
        Ok(row.try_get(0)?)
    }
}
