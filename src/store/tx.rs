//! A transaction over the store: one conversation step's writes, all or none.
//! The operations themselves live beside the tables they touch.

use anyhow::{Context, Result};
use sqlx::{Any, Transaction};
use tokio::sync::OwnedMutexGuard;

use super::Backend;
use super::sql::{opened, query};

/// PostgreSQL advisory lock keys (any numbers, unique to khaosat).
pub(super) const CHAIN_LOCK: i64 = 4242001;
pub(super) const PLATFORM_REFRESH_LOCK: i64 = 4242002;

/// A transaction over the store. Dropped without [`Tx::commit`], it is
/// rolled back.
pub struct Tx {
    /// Always there until `commit` or `rollback` takes it.
    connection: Option<Connection>,
    pub(super) backend: Backend,
}

/// What a transaction runs on.
pub(super) enum Connection {
    Pg(Transaction<'static, Any>),
    /// The SQLite connection, held (and in a transaction) until the end.
    Lite(OwnedMutexGuard<Option<rusqlite::Connection>>),
}

impl Tx {
    pub(super) fn pg(tx: Transaction<'static, Any>) -> Self {
        Self {
            connection: Some(Connection::Pg(tx)),
            backend: Backend::Postgres,
        }
    }

    /// Begins a transaction on the SQLite connection it is given.
    pub(super) fn lite(conn: OwnedMutexGuard<Option<rusqlite::Connection>>) -> Result<Self> {
        opened(&conn)?
            .execute_batch("BEGIN")
            .context("starting a transaction")?;
        Ok(Self {
            connection: Some(Connection::Lite(conn)),
            backend: Backend::Sqlite,
        })
    }

    pub(super) fn connection(&mut self) -> &mut Connection {
        self.connection
            .as_mut()
            .expect("a transaction has its connection until it ends")
    }

    /// Takes a PostgreSQL advisory lock held until the transaction ends.
    pub(super) async fn lock(&mut self, key: i64, what: &'static str) -> Result<()> {
        query("SELECT pg_advisory_xact_lock($1)")
            .bind(key)
            .execute(self)
            .await
            .context(what)?;
        Ok(())
    }

    pub async fn commit(mut self) -> Result<()> {
        match self.connection.take() {
            Some(Connection::Pg(tx)) => tx.commit().await.context("committing"),
            // The commit waits for the disk (synchronous = FULL): off the
            // async threads.
            Some(Connection::Lite(conn)) => tokio::task::spawn_blocking(move || {
                let conn = opened(&conn)?;
                let done = conn.execute_batch("COMMIT");
                if done.is_err() {
                    roll_back(conn);
                }
                Ok::<_, anyhow::Error>(done?)
            })
            .await
            .context("committing")?
            .context("committing"),
            None => Ok(()),
        }
    }

    pub async fn rollback(mut self) -> Result<()> {
        match self.connection.take() {
            Some(Connection::Pg(tx)) => tx.rollback().await.context("rolling back"),
            Some(Connection::Lite(conn)) => opened(&conn)?
                .execute_batch("ROLLBACK")
                .context("rolling back"),
            None => Ok(()),
        }
    }
}

impl Drop for Tx {
    /// sqlx rolls its own transaction back; the SQLite one is rolled back
    /// here, before its connection goes to the next user.
    fn drop(&mut self) {
        if let Some(Connection::Lite(conn)) = &self.connection
            && let Some(conn) = conn.as_ref()
        {
            roll_back(conn);
        }
    }
}

/// Ends a transaction left open on an SQLite connection, if there is one.
fn roll_back(conn: &rusqlite::Connection) {
    if !conn.is_autocommit()
        && let Err(e) = conn.execute_batch("ROLLBACK")
    {
        tracing::warn!(error = %e, "rolling back an SQLite transaction failed");
    }
}
