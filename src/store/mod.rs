//! Durable storage: SQLite (embedded, the default) or PostgreSQL, through one
//! set of SQL statements (`$n` placeholders work on both).
//!
//! Everything a conversation step changes is written in one [`Tx`], committed
//! before the reply is sent.

mod tx;

pub use tx::{StoredBallot, StoredSession, Submission, Tx};

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor, Row};
use tokio::sync::mpsc;

/// Where the default embedded database lives.
pub const DEFAULT_DATABASE: &str = "data/khaosat.db";

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
}

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

/// Ballots read per query by `read_ballots`.
const PAGE: i64 = 1_000;

/// PostgreSQL advisory lock keys (any numbers, unique to khaosat).
pub(crate) const CHAIN_LOCK: i64 = 4242001;
pub(crate) const ZALO_REFRESH_LOCK: i64 = 4242002;

/// Connections per instance to PostgreSQL: `KHAOSAT_DB_POOL`, default 10.
fn postgres_pool_size() -> Result<u32> {
    match std::env::var("KHAOSAT_DB_POOL") {
        Err(_) => Ok(10),
        Ok(v) => match v.trim().parse::<u32>() {
            Ok(n) if n > 0 => Ok(n),
            _ => anyhow::bail!(
                "KHAOSAT_DB_POOL is `{v}`; it must be a number of connections, at least 1 (the default is 10)"
            ),
        },
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

impl Store {
    /// Opens (creating and migrating if needed) the database at `url`.
    pub async fn open(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let url = database_url(url);
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let pool = match backend {
            Backend::Sqlite => {
                let path = url
                    .trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:")
                    .split('?')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                if let Some(dir) = Path::new(&path)
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(dir).with_context(|| {
                        format!("creating the database folder {}", dir.display())
                    })?;
                }
                let sep = if url.contains('?') { '&' } else { '?' };
                let opts = AnyConnectOptions::from_str(&format!("{url}{sep}mode=rwc"))
                    .with_context(|| format!("reading the database URL {url}"))?
                    .disable_statement_logging();
                // One connection: SQLite has one writer anyway, and a single
                // connection makes every step's transaction strictly ordered.
                AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(opts)
                    .await
                    .with_context(|| format!("opening the SQLite database {path}"))?
            }
            Backend::Postgres => {
                let opts = AnyConnectOptions::from_str(&url)
                    .with_context(|| format!("reading the database URL {url}"))?
                    .disable_statement_logging();
                AnyPoolOptions::new()
                    .max_connections(postgres_pool_size()?)
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
        migrator
            .run(&pool)
            .await
            .context("applying database migrations")?;
        Ok(Self { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The underlying pool, for tests and maintenance commands.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts the transaction of one conversation step.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(Tx::new(
            self.pool.begin().await.context("starting a transaction")?,
            self.backend,
        ))
    }

    /// The instance secret for keyed hashes, created on first use.
    pub async fn secret(&self) -> Result<String> {
        let fresh = crate::token::hex(&rand::random::<[u8; 32]>());
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

    /// Remembers a dialogue version's source (idempotent).
    pub async fn record_dialogue(&self, id: &str, version: &str, source: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO dialogue_versions (dialogue_id, version, source) VALUES ($1, $2, $3) \
             ON CONFLICT (dialogue_id, version) DO NOTHING",
        )
        .bind(id)
        .bind(version)
        .bind(source)
        .execute(&self.pool)
        .await
        .with_context(|| format!("recording dialogue {id} version {version}"))?;
        Ok(())
    }

    /// Stores issued tokens (hashes only), all or none.
    pub async fn insert_tokens(&self, tokens: &[TokenRecord]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for t in tokens {
            sqlx::query(
                "INSERT INTO tokens (hash, campaign, group_id, units, expires_at, batch) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&t.hash)
            .bind(&t.campaign)
            .bind(&t.group)
            .bind(t.units.join(" "))
            .bind(t.expires_at)
            .bind(&t.batch)
            .execute(&mut *tx)
            .await
            .context("storing a token")?;
        }
        tx.commit().await.context("storing tokens")?;
        Ok(())
    }

    /// Ballots stored per (unit, group) of a campaign.
    pub async fn ballot_counts(&self, campaign: &str) -> Result<Vec<(String, String, u32)>> {
        let rows = sqlx::query(
            "SELECT unit_id, group_id, COUNT(*) FROM ballots WHERE campaign = $1 GROUP BY unit_id, group_id",
        )
        .bind(campaign)
        .fetch_all(&self.pool)
        .await
        .context("counting ballots")?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get::<i64, _>(2)? as u32)))
            .collect()
    }

    /// The persisted Zalo tokens: `(refresh_token, access_token)`.
    pub async fn zalo_tokens(&self) -> Result<Option<(String, Option<String>)>> {
        let row = sqlx::query("SELECT refresh_token, access_token FROM zalo_tokens WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .context("reading the Zalo tokens")?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    /// Serialises Zalo token refreshes across instances sharing a
    /// PostgreSQL database: the returned transaction holds an advisory lock
    /// until it ends. `None` on SQLite, which has one instance, whose own
    /// mutex is enough (and whose single connection must not wait on Zalo).
    pub async fn lock_zalo_refresh(&self) -> Result<Option<Tx>> {
        if self.backend != Backend::Postgres {
            return Ok(None);
        }
        let mut tx = self.begin().await?;
        tx.lock(ZALO_REFRESH_LOCK, "locking the Zalo token refresh")
            .await?;
        Ok(Some(tx))
    }

    /// Persists Zalo tokens (before the new access token is used).
    pub async fn save_zalo_tokens(
        &self,
        refresh: &str,
        access: Option<&str>,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO zalo_tokens (id, refresh_token, access_token, updated_at) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET refresh_token = excluded.refresh_token, \
             access_token = excluded.access_token, updated_at = excluded.updated_at",
        )
        .bind(refresh)
        .bind(access)
        .bind(now)
        .execute(&self.pool)
        .await
        .context("saving the Zalo tokens")?;
        Ok(())
    }

    /// Forgets processed message ids received before `before` (Unix
    /// seconds); returns how many.
    pub async fn forget_inbound_before(&self, before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM inbound WHERE received_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .context("forgetting old message ids")?;
        Ok(done.rows_affected())
    }

    /// Records a reply that could not be delivered and will not be retried.
    pub async fn record_undeliverable(
        &self,
        channel: &str,
        respondent: &str,
        reason: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO undeliverable (channel, respondent, reason, at) VALUES ($1, $2, $3, $4)",
        )
        .bind(channel)
        .bind(respondent)
        .bind(reason)
        .bind(now)
        .execute(&self.pool)
        .await
        .context("recording an undeliverable reply")?;
        Ok(())
    }

    /// Every stored ballot in chain order, with its stored hashes and receipt.
    pub async fn ballots(&self) -> Result<Vec<StoredBallot>> {
        self.ballots_after(0, i64::MAX).await
    }

    /// Up to `limit` ballots with a sequence number above `after`, in chain
    /// order: a page, for reading every ballot in bounded memory.
    ///
    /// The database joins the whole page into one text, a line per ballot
    /// and its columns separated by tabs, so it crosses the driver as one
    /// row: sqlx hands SQLite rows over one at a time between threads, at
    /// about 20 µs a row, ten times the rest of the report's work. No column
    /// holds a tab or a line break: ids, dates and hashes are checked
    /// ASCII, and `answers` is JSON, which escapes both.
    pub async fn ballots_after(&self, after: i64, limit: i64) -> Result<Vec<StoredBallot>> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT group_concat(concat_ws(char(9), seq, campaign, unit_id, group_id, \
                 dialogue_id, dialogue_version, submitted_on, answers, prev_hash, hash, receipt), \
                 char(10)) FROM (SELECT * FROM ballots WHERE seq > $1 ORDER BY seq LIMIT $2)"
            }
            Backend::Postgres => {
                "SELECT string_agg(concat_ws(E'\\t', seq, campaign, unit_id, group_id, \
                 dialogue_id, dialogue_version, submitted_on, answers, prev_hash, hash, receipt), \
                 E'\\n' ORDER BY seq) FROM (SELECT * FROM ballots WHERE seq > $1 ORDER BY seq \
                 LIMIT $2) AS page"
            }
        };
        let page: Option<String> = sqlx::query_scalar(sql)
            .bind(after)
            .bind(limit)
            .fetch_one(&self.pool)
            .await
            .context("reading ballots")?;
        let mut ballots = page
            .as_deref()
            .unwrap_or_default()
            .lines()
            .map(tx::StoredBallot::from_line)
            .collect::<Result<Vec<_>>>()?;
        ballots.sort_by_key(|b| b.ballot.seq);
        Ok(ballots)
    }

    /// Every ballot up to sequence number `last`, a page at a time, read in
    /// a task of its own one page ahead of the caller (so reading and the
    /// caller's work use both cores), in bounded memory. An error ends the
    /// pages.
    pub fn read_ballots(&self, last: i64) -> mpsc::Receiver<Result<Vec<StoredBallot>>> {
        let (tx, rx) = mpsc::channel(1);
        let store = self.clone();
        tokio::spawn(async move {
            let mut after = 0;
            while after < last {
                let page = store.ballots_after(after, PAGE.min(last - after)).await;
                match page {
                    Ok(page) => {
                        let Some(seq) = page.last().map(|b| b.ballot.seq) else {
                            break;
                        };
                        after = seq;
                        if tx.send(Ok(page)).await.is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        break;
                    }
                }
            }
        });
        rx
    }

    /// The source of a recorded dialogue version.
    pub async fn dialogue_source(&self, id: &str, version: &str) -> Result<Option<String>> {
        let mut tx = self.begin().await?;
        let source = tx.dialogue_source(id, version).await?;
        tx.commit().await?;
        Ok(source)
    }
}
