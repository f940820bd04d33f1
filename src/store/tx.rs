//! A transaction over the store: one conversation step's writes, all or none.
//! The operations themselves live beside the tables they touch.

use anyhow::{Context, Result};
use sqlx::{Any, Transaction};

use super::Backend;

/// PostgreSQL advisory lock keys (any numbers, unique to khaosat).
pub(super) const CHAIN_LOCK: i64 = 4242001;
pub(super) const PLATFORM_REFRESH_LOCK: i64 = 4242002;

/// A transaction over the store.
pub struct Tx {
    pub(super) tx: Transaction<'static, Any>,
    pub(super) backend: Backend,
}

impl Tx {
    pub(super) fn new(tx: Transaction<'static, Any>, backend: Backend) -> Self {
        Self { tx, backend }
    }

    /// Takes a PostgreSQL advisory lock held until the transaction ends.
    pub(super) async fn lock(&mut self, key: i64, what: &'static str) -> Result<()> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(key)
            .execute(&mut *self.tx)
            .await
            .context(what)?;
        Ok(())
    }

    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await.context("committing")
    }

    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await.context("rolling back")
    }
}
