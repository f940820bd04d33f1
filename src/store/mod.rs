//! Durable storage: SQLite (embedded, the default) or PostgreSQL, through one
//! set of SQL statements (`$n` placeholders work on both).
//!
//! Everything a conversation step changes is written in one [`Tx`], committed
//! before the reply is sent. The operations are grouped by the table they
//! touch: `sessions.rs`, `inbound.rs`, `tokens.rs`, `ballots.rs`,
//! `dialogues.rs`, `platform.rs`, `outbox.rs`; this file opens the database.

mod ballot_page;
mod ballots;
mod dialogues;
mod group_commit;
mod inbound;
mod outbox;
mod period;
mod platform;
mod sessions;
mod sql;
mod sqlite;
mod sqlite_pages;
mod staff;
mod tokens;
mod tx;

pub use ballot_page::BallotPage;
pub use ballots::{Cell, Spend};
pub use group_commit::{BatchFailed, GroupCommit};
pub use inbound::Claim;
pub use outbox::{INBOX_BATCH, Lease, NewEvent, Queue, QueuedDelivery};
pub use platform::PlatformTokens;
pub use sessions::{Idle, SessionSave, StoredSession};
pub use staff::StaffMember;
pub use tokens::TokenRecord;
pub use tx::Tx;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions};

use sql::query;

/// Where the default embedded database lives.
pub const DEFAULT_DATABASE: &str = "data/khaosat.db";

/// Connections per instance to PostgreSQL unless configured.
pub const DEFAULT_POOL_SIZE: u32 = 10;

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The store: the database and how to reach it.
#[derive(Clone)]
pub struct Store {
    db: Db,
    /// Connections to the database (one on SQLite).
    pool_size: u32,
    /// The SQLite database's file (none in memory, or on PostgreSQL), which
    /// the report reads on a connection of its own.
    sqlite_file: Option<PathBuf>,
}

/// How the store reaches its database.
#[derive(Clone)]
enum Db {
    Pg(AnyPool),
    /// SQLite's one connection, shared by all the store's users.
    Lite(sql::Lite),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .field("pool_size", &self.pool_size)
            .field("sqlite_file", &self.sqlite_file)
            .finish()
    }
}

/// Turns a path or URL into a database URL: a bare path means SQLite.
pub fn database_url(spec: &str) -> String {
    if spec.starts_with("sqlite:")
        || spec.starts_with("postgres:")
        || spec.starts_with("postgresql:")
    {
        spec.to_string()
    } else {
        format!("sqlite://{spec}")
    }
}

/// Where the inbox of acknowledged platform events is kept: on SQLite a
/// file of its own beside the database (`khaosat.db` → `khaosat.inbox.db`),
/// so that acknowledging an event waits for its own small commit, not for
/// the batch of conversation steps holding the one writer; on PostgreSQL
/// the same database (through a pool of its own).
pub fn inbox_url(spec: &str) -> String {
    let url = database_url(spec);
    if !url.starts_with("sqlite:") || url.contains(":memory:") {
        return url;
    }
    let (path, query) = url
        .split_once('?')
        .map_or((url.as_str(), None), |(p, q)| (p, Some(q)));
    let inbox = match path.strip_suffix(".db") {
        Some(stem) => format!("{stem}.inbox.db"),
        None => format!("{path}.inbox"),
    };
    match query {
        Some(q) => format!("{inbox}?{q}"),
        None => inbox,
    }
}

/// The database URL as it may be shown: without a password.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:…{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Store {
    /// Opens (creating and migrating if needed) the database at `url`, with
    /// [`DEFAULT_POOL_SIZE`] connections on PostgreSQL.
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_with_pool(url, DEFAULT_POOL_SIZE).await
    }

    /// Opens the database at `url`; `pool_size` connections on PostgreSQL
    /// (SQLite always has one: it has a single writer anyway).
    pub async fn open_with_pool(url: &str, pool_size: u32) -> Result<Self> {
        let url = database_url(url);
        if url.starts_with("sqlite:") {
            let path = sqlite_path(&url);
            let db = Db::Lite(sqlite::open(&path).await?);
            return Ok(Self {
                db,
                pool_size: 1,
                sqlite_file: (!path.contains(":memory:")).then(|| PathBuf::from(path)),
            });
        }
        sqlx::any::install_default_drivers();
        let opts = AnyConnectOptions::from_str(&url)
            .context("reading the PostgreSQL database URL")?
            .disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(pool_size.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts)
            .await
            .context("connecting to PostgreSQL")?;
        let migrator = sqlx::migrate!("migrations/postgres");
        // Up to date already: nothing to do (and a service role without
        // CREATE on the schema, which sqlx's migrator would need even to
        // check, can open it).
        let latest = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&pool)
                .await
                .unwrap_or(None);
        if applied.unwrap_or(0) < latest {
            migrator
                .run(&pool)
                .await
                .context("applying database migrations")?;
        }
        Ok(Self {
            db: Db::Pg(pool),
            pool_size: pool_size.max(1),
            sqlite_file: None,
        })
    }

    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Pg(_) => Backend::Postgres,
            Db::Lite(_) => Backend::Sqlite,
        }
    }

    /// How many transactions may write side by side: one on SQLite (one
    /// writer), all but one of the pool's connections on PostgreSQL (the
    /// last is for the reads in between).
    pub fn writers(&self) -> usize {
        match self.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => (self.pool_size as usize).saturating_sub(1).max(1),
        }
    }

    /// Whether the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<()> {
        query("SELECT 1")
            .execute(self)
            .await
            .context("asking the database")?;
        Ok(())
    }

    /// On SQLite, moves the write-ahead log into the database file and
    /// empties it, so old page versions (a conversation's earlier states,
    /// the box before the mixer ran) do not linger in the `-wal` file; on
    /// PostgreSQL nothing (its WAL is the server's).
    pub async fn checkpoint(&self) -> Result<()> {
        let Db::Lite(lite) = &self.db else {
            return Ok(());
        };
        let Some(log) = lite.log.clone() else {
            return Ok(());
        };
        let conn = lite.conn.clone().lock_owned().await;
        tokio::task::spawn_blocking(move || log.empty(sql::opened(&conn)?))
            .await
            .context("checkpointing the SQLite log")?
            .context("checkpointing the SQLite log")
    }

    /// Writes a consistent copy of the SQLite database to `path` (a new
    /// file), while the service may be running (`VACUUM INTO`).
    pub async fn copy_into(&self, path: &Path) -> Result<()> {
        let target = path.display().to_string();
        query("VACUUM INTO $1")
            .bind(&target)
            .execute(self)
            .await
            .with_context(|| format!("copying the database into {target}"))?;
        Ok(())
    }

    /// Closes the database's connections, once what uses them is done;
    /// what comes after is refused.
    pub async fn close(&self) {
        match &self.db {
            Db::Pg(pool) => pool.close().await,
            Db::Lite(lite) => {
                drop(lite.conn.lock().await.take());
                if let Some(log) = &lite.log {
                    log.close();
                }
            }
        }
    }

    /// Starts the mixer's transaction: on PostgreSQL it holds the chain
    /// lock, so one instance mixes at a time and no quota count runs
    /// between a ballot leaving the box and entering the chain.
    pub async fn begin_mixing(&self) -> Result<Tx> {
        let mut tx = self.begin().await?;
        if self.backend() == Backend::Postgres {
            tx.lock(tx::CHAIN_LOCK, "locking the ballot chain").await?;
        }
        Ok(tx)
    }

    /// Starts the transaction of one conversation step.
    pub async fn begin(&self) -> Result<Tx> {
        match &self.db {
            Db::Pg(pool) => Ok(Tx::pg(
                pool.begin().await.context("starting a transaction")?,
            )),
            Db::Lite(lite) => Tx::lite(lite).await,
        }
    }
}

/// The file an `sqlite:` URL names.
fn sqlite_path(url: &str) -> String {
    url.trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            super::redacted("postgres://khaosat:hunter2@db.internal/khaosat"),
            "postgres://khaosat:…@db.internal/khaosat"
        );
        assert_eq!(
            super::redacted("postgres://khaosat@db/k"),
            "postgres://khaosat@db/k"
        );
        assert_eq!(super::redacted("data/khaosat.db"), "data/khaosat.db");
    }

    #[test]
    fn the_inbox_sits_beside_an_sqlite_database() {
        use super::inbox_url;
        assert_eq!(
            inbox_url("data/khaosat.db"),
            "sqlite://data/khaosat.inbox.db"
        );
        assert_eq!(
            inbox_url("sqlite:///var/lib/khaosat/k.db?mode=rwc"),
            "sqlite:///var/lib/khaosat/k.inbox.db?mode=rwc"
        );
        assert_eq!(inbox_url("sqlite://k"), "sqlite://k.inbox");
        let pg = "postgres://khaosat@127.0.0.1:5432/khaosat";
        assert_eq!(inbox_url(pg), pg);
    }
}
