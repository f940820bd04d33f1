//! A transaction over the store: one conversation step's writes, all or none.
//! The operations themselves live beside the tables they touch.

use std::sync::Arc;

use anyhow::{Context, Result};
use sqlx::{Any, Transaction};
use tokio::sync::OwnedMutexGuard;

use super::Backend;
use super::sql::{Lite, opened, query};
use super::sqlite::{Log, sync_commit};

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
    /// The SQLite connection, held (and in a transaction) until the end,
    /// and the log to sync after the commit.
    Lite(
        OwnedMutexGuard<Option<rusqlite::Connection>>,
        Option<Arc<Log>>,
    ),
}

/// A commit written but maybe not yet on disk ([`Tx::commit_unsynced`]).
#[must_use = "the commit counts only once synced"]
pub(super) struct Unsynced {
    log: Option<Arc<Log>>,
}

impl Unsynced {
    /// Waits until the commit (and every one before it) is on disk.
    pub(super) async fn sync(self) -> Result<()> {
        let Some(log) = self.log else {
            return Ok(());
        };
        tokio::task::spawn_blocking(move || sync_commit(Some(&log)))
            .await
            .context("syncing the database log")?
    }
}

impl Tx {
    pub(super) fn pg(tx: Transaction<'static, Any>) -> Self {
        Self {
            connection: Some(Connection::Pg(tx)),
            backend: Backend::Postgres,
        }
    }

    /// Begins a transaction on SQLite's connection, once it is free.
    pub(super) async fn lite(lite: &Lite) -> Result<Self> {
        let conn = lite.conn.clone().lock_owned().await;
        opened(&conn)?
            .execute_batch("BEGIN")
            .context("starting a transaction")?;
        Ok(Self {
            connection: Some(Connection::Lite(conn, lite.log.clone())),
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

    /// Commits, and returns once the commit is on disk.
    pub async fn commit(self) -> Result<()> {
        self.commit_unsynced().await?.sync().await
    }

    /// Commits and frees the connection for the next transaction; the
    /// commit is on disk once [`Unsynced::sync`] returns (on PostgreSQL
    /// already). Group commit writes the next batch meanwhile.
    pub(super) async fn commit_unsynced(mut self) -> Result<Unsynced> {
        match self.connection.take() {
            Some(Connection::Pg(tx)) => {
                tx.commit().await.context("committing")?;
                Ok(Unsynced { log: None })
            }
            // A commit may checkpoint the log, which waits for the disk:
            // off the async threads.
            Some(Connection::Lite(conn, log)) => tokio::task::spawn_blocking(move || {
                let conn = opened(&conn)?;
                let done = conn.execute_batch("COMMIT");
                if done.is_err() {
                    roll_back(conn);
                }
                done.context("committing")?;
                Ok(Unsynced { log })
            })
            .await
            .context("committing")?,
            None => Ok(Unsynced { log: None }),
        }
    }

    pub async fn rollback(mut self) -> Result<()> {
        match self.connection.take() {
            Some(Connection::Pg(tx)) => tx.rollback().await.context("rolling back"),
            Some(Connection::Lite(conn, _)) => opened(&conn)?
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
        if let Some(Connection::Lite(conn, _)) = &self.connection
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
