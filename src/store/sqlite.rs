//! Opening the SQLite database: its one connection for every statement,
//! set up and migrated, and its write-ahead log ([`Log`]: synced after each
//! commit, checkpointed on a second connection).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OpenFlags, params};
use tokio::sync::Mutex;

use super::sql::Lite;

/// Prepared statements kept per connection: more than the store has.
const STATEMENT_CACHE: usize = 256;

/// Opens the SQLite database at `path` (`:memory:` for one that lives as
/// long as the store), creating it and its folder if missing, and applies
/// the migrations it lacks.
pub(super) async fn open(path: &str) -> Result<Lite> {
    let path = path.to_string();
    tokio::task::spawn_blocking(move || open_blocking(&path))
        .await
        .context("opening the SQLite database")?
}

fn open_blocking(path: &str) -> Result<Lite> {
    let conn = if path.contains(":memory:") {
        Connection::open_in_memory()
    } else {
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the database folder {}", dir.display()))?;
        }
        Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    }
    .with_context(|| format!("opening the SQLite database {path}"))?;
    set_up(&conn).with_context(|| format!("setting up the SQLite database {path}"))?;
    migrate(&conn).with_context(|| format!("applying database migrations to {path}"))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    let log = match path.contains(":memory:") {
        true => None,
        false => Some(Arc::new(Log::open(path)?)),
    };
    sync_log(log.as_deref())?;
    Ok(Lite {
        conn: Arc::new(Mutex::new(Some(conn))),
        log,
    })
}

/// A commit counts once the write-ahead log is on disk, so a power cut
/// loses nothing committed — as `synchronous = FULL` does. SQLite is set to
/// `NORMAL` (it syncs the log only around checkpoints, never at a commit)
/// and the store syncs the log itself after the commit
/// ([`sync_log`]), with the connection already free: a batch of steps is
/// written while the one before it reaches the disk, instead of every step
/// waiting for each `fsync`. The log's frames are checksummed in order, so
/// after a power cut SQLite keeps exactly the commits up to the last one
/// synced.
///
/// secure_delete: freed pages (an ended conversation, a ballot taken out of
/// the box) are overwritten, not left readable in the file.
fn set_up(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; \
             PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES};"
    ))
}

/// Commits between two checkpoints of the write-ahead log ([`Log`]).
const CHECKPOINT_EVERY: u32 = 32;

/// The log's length, in pages, at which a commit checkpoints it itself
/// (SQLite's default is 1,000): then the log starts again from the top.
const AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// The write-ahead log of a database on disk. Synced after each commit
/// ([`sync_log`]), and checkpointed — its pages copied into the database
/// file — on a connection of its own, every [`CHECKPOINT_EVERY`] commits,
/// off the write path. SQLite checkpoints inside a commit every 1,000
/// pages, holding the one connection while it copies them and waits for
/// the disk, and every step waits behind it (flat out, up to 8 % of the
/// throughput here).
///
/// The checkpoint is `PASSIVE`: it waits for nobody. While steps go on
/// committing it never quite catches up, and a log starts again from the
/// top only after a checkpoint that did — so the commit's own checkpoint
/// stays, every [`AUTOCHECKPOINT_PAGES`] pages (a log of at most about
/// 40 MB), and finds little left to copy.
pub(super) struct Log {
    path: PathBuf,
    checkpointer: std::sync::Mutex<Option<Connection>>,
    commits: AtomicU32,
    checkpointing: AtomicBool,
}

impl Log {
    /// The log of the database at `path` (open on the main connection).
    fn open(path: &str) -> Result<Self> {
        let checkpointer = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("opening {path} to checkpoint its log"))?;
        Ok(Self {
            path: PathBuf::from(format!("{path}-wal")),
            checkpointer: std::sync::Mutex::new(Some(checkpointer)),
            commits: AtomicU32::new(0),
            checkpointing: AtomicBool::new(false),
        })
    }

    /// Counts a commit that is on disk; every [`CHECKPOINT_EVERY`]th starts
    /// a checkpoint on a thread of its own, unless one is still running.
    pub(super) fn committed(self: &Arc<Self>) {
        if !self
            .commits
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(CHECKPOINT_EVERY)
            || self.checkpointing.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let log = self.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = log.checkpoint() {
                tracing::warn!(
                    error = format!("{e:#}"),
                    "checkpointing the database log failed"
                );
            }
            log.checkpointing.store(false, Ordering::Release);
        });
    }

    /// Moves the whole log into the database file and empties it
    /// (`TRUNCATE`), on `conn`, the main connection, held by the caller (so
    /// no step writes meanwhile); the log's own checkpoints wait until it
    /// is done (one running would make it give up, and leave old page
    /// versions in the log: `Store::checkpoint`). Blocks.
    pub(super) fn empty(&self, conn: &Connection) -> Result<()> {
        let _no_other = self.checkpointer.lock().unwrap_or_else(|e| e.into_inner());
        let busy: i64 = conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
            .with_context(|| format!("emptying {}", self.path.display()))?;
        if busy != 0 {
            // Another process is reading an older snapshot; the next
            // checkpoint (the mixer's, a minute later) empties it.
            tracing::warn!(
                log = %self.path.display(),
                "the database log could not be emptied now: another process is reading the database"
            );
        }
        Ok(())
    }

    fn checkpoint(&self) -> Result<()> {
        let conn = self.checkpointer.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(conn) = conn.as_ref() {
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                .with_context(|| format!("checkpointing {}", self.path.display()))?;
        }
        Ok(())
    }

    /// Closes the checkpoints' connection (with the store's own).
    pub(super) fn close(&self) {
        drop(
            self.checkpointer
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
        );
    }
}

/// [`sync_log`] after a commit, which counts toward the log's checkpoints
/// ([`Log::committed`]). Blocks.
pub(super) fn sync_commit(log: Option<&Arc<Log>>) -> Result<()> {
    sync_log(log.map(|l| &**l))?;
    if let Some(log) = log {
        log.committed();
    }
    Ok(())
}

/// Puts what has been committed into the write-ahead log `log` on disk
/// (`fdatasync`; the file's writes are synced whoever made them). A log
/// that is not there holds nothing: a checkpoint moved it into the
/// database file, and synced that. Blocks.
pub(super) fn sync_log(log: Option<&Log>) -> Result<()> {
    let Some(log) = log else {
        return Ok(());
    };
    let log = log.path.as_path();
    match std::fs::File::open(log) {
        Ok(file) => file
            .sync_data()
            .with_context(|| format!("writing {} to disk", log.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("opening {} to write it to disk", log.display())),
    }
}

/// Applies the migrations in `migrations/sqlite` the database lacks, each
/// in its own transaction, and records them as sqlx's migrator does (so a
/// database made by an earlier version, or by `sqlx migrate`, is read the
/// same way).
fn migrate(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations ( \
             version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
             installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, \
             success BOOLEAN NOT NULL, checksum BLOB NOT NULL, \
             execution_time BIGINT NOT NULL)",
    )?;
    let migrator = sqlx::migrate!("migrations/sqlite");
    for migration in migrator.iter() {
        let applied: Option<(bool, Vec<u8>)> = conn
            .query_row(
                "SELECT success, checksum FROM _sqlx_migrations WHERE version = ?1",
                [migration.version],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        match applied {
            Some((true, checksum)) if checksum == *migration.checksum => continue,
            Some((true, _)) => bail!(
                "migration {} ({}) was applied, and has been changed since; \
                 restore migrations/sqlite as it was",
                migration.version,
                migration.description
            ),
            Some((false, _)) => bail!(
                "migration {} ({}) failed part way before; restore the database from its backup",
                migration.version,
                migration.description
            ),
            None => {}
        }
        let started = Instant::now();
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(&migration.sql)
            .with_context(|| format!("migration {}", migration.version))?;
        tx.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (?1, ?2, TRUE, ?3, ?4)",
            params![
                migration.version,
                &*migration.description,
                &*migration.checksum,
                started.elapsed().as_nanos() as i64
            ],
        )?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    /// A database an earlier version made (sqlx's migrator) opens as it is;
    /// one whose recorded migration differs from ours is refused, saying why.
    #[tokio::test]
    async fn a_database_migrated_by_sqlx_opens_and_a_changed_migration_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO inbound (channel, message_id, received_at) VALUES ('web', 'm1', 1)",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;

        let store = Store::open(&path.display().to_string()).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert!(
            !tx.claim_inbound("web", "m1", 2).await.unwrap(),
            "the old database's rows are there"
        );
        drop(tx);
        store.close().await;

        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 1",
            [],
        )
        .unwrap();
        drop(conn);
        let refused = Store::open(&path.display().to_string()).await.unwrap_err();
        let why = format!("{refused:#}");
        assert!(
            why.contains("migration 1") && why.contains("changed since"),
            "{why}"
        );
    }
}
