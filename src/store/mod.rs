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
pub use sessions::{Idle, StoredSession};
pub use staff::StaffMember;
pub use tokens::TokenRecord;
pub use tx::Tx;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

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

/// The store: a connection pool and the backend it talks to.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Connections in the pool (one on SQLite).
    pool_size: u32,
    /// The SQLite database's file (none in memory, or on PostgreSQL), which
    /// the report reads on a connection of its own.
    sqlite_file: Option<PathBuf>,
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
        sqlx::any::install_default_drivers();
        let url = database_url(url);
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let pool = match backend {
            Backend::Sqlite => open_sqlite(&url).await?,
            Backend::Postgres => {
                let opts = AnyConnectOptions::from_str(&url)
                    .context("reading the PostgreSQL database URL")?
                    .disable_statement_logging();
                AnyPoolOptions::new()
                    .max_connections(pool_size.max(1))
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(opts)
                    .await
                    .context("connecting to PostgreSQL")?
            }
        };
        let migrator = match backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("migrations/postgres"),
        };
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
        let pool_size = match backend {
            Backend::Sqlite => 1,
            Backend::Postgres => pool_size.max(1),
        };
        let sqlite_file = match backend {
            Backend::Sqlite if !url.contains(":memory:") => Some(PathBuf::from(sqlite_path(&url))),
            _ => None,
        };
        Ok(Self {
            pool,
            backend,
            pool_size,
            sqlite_file,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// How many transactions may write side by side: one on SQLite (one
    /// writer), all but one of the pool's connections on PostgreSQL (the
    /// last is for the reads in between).
    pub fn writers(&self) -> usize {
        match self.backend {
            Backend::Sqlite => 1,
            Backend::Postgres => (self.pool_size as usize).saturating_sub(1).max(1),
        }
    }

    /// Whether the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .context("asking the database")?;
        Ok(())
    }

    /// On SQLite, moves the write-ahead log into the database file and
    /// empties it, so old page versions (a conversation's earlier states,
    /// the box before the mixer ran) do not linger in the `-wal` file; on
    /// PostgreSQL nothing (its WAL is the server's).
    pub async fn checkpoint(&self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await
                .context("checkpointing the SQLite log")?;
        }
        Ok(())
    }

    /// Writes a consistent copy of the SQLite database to `path` (a new
    /// file), while the service may be running (`VACUUM INTO`).
    pub async fn copy_into(&self, path: &Path) -> Result<()> {
        let target = path.display().to_string();
        sqlx::query("VACUUM INTO $1")
            .bind(&target)
            .execute(&self.pool)
            .await
            .with_context(|| format!("copying the database into {target}"))?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts the mixer's transaction: on PostgreSQL it holds the chain
    /// lock, so one instance mixes at a time and no quota count runs
    /// between a ballot leaving the box and entering the chain.
    pub async fn begin_mixing(&self) -> Result<Tx> {
        let mut tx = self.begin().await?;
        if self.backend == Backend::Postgres {
            tx.lock(tx::CHAIN_LOCK, "locking the ballot chain").await?;
        }
        Ok(tx)
    }

    /// Starts the transaction of one conversation step.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(Tx::new(
            self.pool.begin().await.context("starting a transaction")?,
            self.backend,
        ))
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

/// One connection to the SQLite file (created with its folder if missing):
/// SQLite has one writer anyway, and a single connection makes every step's
/// transaction strictly ordered.
async fn open_sqlite(url: &str) -> Result<AnyPool> {
    let path = sqlite_path(url);
    if let Some(dir) = Path::new(&path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the database folder {}", dir.display()))?;
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    let opts = AnyConnectOptions::from_str(&format!("{url}{sep}mode=rwc"))
        .with_context(|| format!("reading the database URL {url}"))?
        .disable_statement_logging();
    AnyPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _| {
            Box::pin(async move {
                // synchronous = FULL: a commit is on disk when it returns,
                // so a power cut loses nothing committed (group commit makes
                // that one fsync per batch of steps). secure_delete: freed
                // pages (an ended conversation, a ballot taken out of the
                // box) are overwritten, not left readable in the file.
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                     PRAGMA secure_delete = ON;",
                )
                .await?;
                Ok(())
            })
        })
        .connect_with(opts)
        .await
        .with_context(|| format!("opening the SQLite database {path}"))
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
