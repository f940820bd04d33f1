//! One way to run a statement on either backend: PostgreSQL through sqlx,
//! SQLite through one rusqlite connection.
//!
//! sqlx runs an SQLite connection on a thread of its own, so every
//! statement of a conversation step crossed to that thread and back — on
//! this machine more time than the statement itself. Here a step's
//! statements run on the thread that runs the step, against the one
//! connection the step's transaction holds; only what waits for the disk
//! (a commit, a statement outside a transaction) goes to a blocking thread.
//!
//! The statements are the same text on both (`$n` placeholders), bound
//! with [`Query::bind`] and read back with [`Row::try_get`], as with sqlx.
//!
//! A statement that finds the database locked by another process (a
//! command-line tool writing to it) waits for it where it runs, up to the
//! busy timeout (`sqlite.rs`): such writes are short and rare while the
//! service runs, and in-process users never meet the lock (they share the
//! one connection).

use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use rusqlite::types::Value;
use sqlx::Any;
use sqlx::any::AnyRow;
use tokio::sync::Mutex;

use super::{Store, Tx};

/// An SQLite database: its one connection, shared by everything in the
/// process that uses it (a transaction holds it until it ends; `None` once
/// the store is closed), and its write-ahead log.
#[derive(Clone)]
pub(super) struct Lite {
    pub conn: Arc<Mutex<Option<rusqlite::Connection>>>,
    /// Synced before a commit counts (see `sqlite::sync_log`); none in memory.
    pub log: Option<Arc<super::sqlite::Log>>,
}

/// The connection behind a [`Lite`] guard, unless the store was closed.
pub(super) fn opened(conn: &Option<rusqlite::Connection>) -> Result<&rusqlite::Connection> {
    conn.as_ref()
        .ok_or_else(|| anyhow!("the database has been closed"))
}

/// A value bound to a statement (every column is an integer or a text).
#[derive(Debug, Clone, Copy)]
pub(super) enum Arg<'q> {
    Int(Option<i64>),
    Text(Option<&'q str>),
    /// A boolean where PostgreSQL wants one; 0 or 1 on SQLite.
    Bool(bool),
}

/// What may be bound.
pub(super) trait Bind<'q> {
    fn arg(self) -> Arg<'q>;
}

impl<'q> Bind<'q> for i64 {
    fn arg(self) -> Arg<'q> {
        Arg::Int(Some(self))
    }
}

impl<'q> Bind<'q> for bool {
    fn arg(self) -> Arg<'q> {
        Arg::Bool(self)
    }
}

impl<'q> Bind<'q> for Option<i64> {
    fn arg(self) -> Arg<'q> {
        Arg::Int(self)
    }
}

impl<'q> Bind<'q> for &'q str {
    fn arg(self) -> Arg<'q> {
        Arg::Text(Some(self))
    }
}

impl<'q> Bind<'q> for &'q String {
    fn arg(self) -> Arg<'q> {
        Arg::Text(Some(self))
    }
}

impl<'q> Bind<'q> for Option<&'q str> {
    fn arg(self) -> Arg<'q> {
        Arg::Text(self)
    }
}

impl<'q> Bind<'q> for &'q Option<String> {
    fn arg(self) -> Arg<'q> {
        Arg::Text(self.as_deref())
    }
}

/// Where a statement runs: in a transaction, or on the store by itself.
pub(super) enum On<'c> {
    Tx(&'c mut Tx),
    Store(&'c Store),
}

impl<'c> From<&'c mut Tx> for On<'c> {
    fn from(tx: &'c mut Tx) -> Self {
        On::Tx(tx)
    }
}

impl<'c> From<&'c Store> for On<'c> {
    fn from(store: &'c Store) -> Self {
        On::Store(store)
    }
}

/// A statement and what is bound to it.
pub(super) struct Query<'q> {
    sql: &'q str,
    args: Vec<Arg<'q>>,
}

/// A statement to run, as `sqlx::query`.
pub(super) fn query(sql: &str) -> Query<'_> {
    Query {
        sql,
        args: Vec::new(),
    }
}

/// A row read back, from either backend.
pub(super) enum Row {
    Pg(AnyRow),
    Lite(Vec<Value>),
}

/// How many rows a statement is to read.
#[derive(Clone, Copy, PartialEq)]
enum Want {
    None,
    One,
    All,
}

impl<'q> Query<'q> {
    pub fn bind(mut self, value: impl Bind<'q>) -> Self {
        self.args.push(value.arg());
        self
    }

    /// Runs the statement; returns how many rows it changed.
    pub async fn execute<'c>(self, on: impl Into<On<'c>>) -> Result<u64> {
        Ok(self.run(on.into(), Want::None).await?.0)
    }

    pub async fn fetch_optional<'c>(self, on: impl Into<On<'c>>) -> Result<Option<Row>> {
        Ok(self.run(on.into(), Want::One).await?.1.pop())
    }

    pub async fn fetch_one<'c>(self, on: impl Into<On<'c>>) -> Result<Row> {
        self.fetch_optional(on)
            .await?
            .ok_or_else(|| anyhow!("the database returned no row"))
    }

    pub async fn fetch_all<'c>(self, on: impl Into<On<'c>>) -> Result<Vec<Row>> {
        Ok(self.run(on.into(), Want::All).await?.1)
    }

    async fn run(self, on: On<'_>, want: Want) -> Result<(u64, Vec<Row>)> {
        match on {
            On::Tx(tx) => match tx.connection() {
                super::tx::Connection::Pg(tx) => self.run_pg(&mut **tx, want).await,
                super::tx::Connection::Lite(conn, _) => {
                    let ran = run_lite(opened(conn)?, self.sql, &self.args, want)?;
                    Ok((ran.changed, ran.rows))
                }
            },
            On::Store(store) => match &store.db {
                super::Db::Pg(pool) => self.run_pg(pool, want).await,
                super::Db::Lite(lite) => {
                    // By itself the statement commits: it waits for the
                    // disk, so off the async threads.
                    let conn = lite.conn.clone().lock_owned().await;
                    let log = lite.log.clone();
                    let sql = self.sql.to_string();
                    let args: Vec<Owned> = self.args.iter().map(Owned::from).collect();
                    tokio::task::spawn_blocking(move || {
                        let args: Vec<Arg> = args.iter().map(Owned::as_arg).collect();
                        let ran = run_lite(opened(&conn)?, &sql, &args, want)?;
                        // The connection is free before the disk is done.
                        drop(conn);
                        // The inbox's writes commit this way.
                        if ran.writes {
                            super::sqlite::sync_commit(log.as_ref())?;
                        }
                        Ok((ran.changed, ran.rows))
                    })
                    .await
                    .context("running a statement")?
                }
            },
        }
    }

    async fn run_pg<'c, E>(self, on: E, want: Want) -> Result<(u64, Vec<Row>)>
    where
        E: sqlx::Executor<'c, Database = Any>,
    {
        let mut q = sqlx::query(self.sql);
        for arg in self.args {
            q = match arg {
                Arg::Int(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
            };
        }
        Ok(match want {
            Want::None => (q.execute(on).await?.rows_affected(), Vec::new()),
            Want::One => (
                0,
                q.fetch_optional(on)
                    .await?
                    .map(Row::Pg)
                    .into_iter()
                    .collect(),
            ),
            Want::All => (0, q.fetch_all(on).await?.into_iter().map(Row::Pg).collect()),
        })
    }
}

/// An [`Arg`] that owns its text, to cross to another thread.
enum Owned {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(bool),
}

impl Owned {
    fn from(arg: &Arg) -> Self {
        match *arg {
            Arg::Int(v) => Owned::Int(v),
            Arg::Text(v) => Owned::Text(v.map(str::to_string)),
            Arg::Bool(v) => Owned::Bool(v),
        }
    }

    fn as_arg(&self) -> Arg<'_> {
        match self {
            Owned::Int(v) => Arg::Int(*v),
            Owned::Text(v) => Arg::Text(v.as_deref()),
            Owned::Bool(v) => Arg::Bool(*v),
        }
    }
}

/// What a statement run on SQLite did.
struct LiteRan {
    /// Rows it changed.
    changed: u64,
    rows: Vec<Row>,
    /// Whether it is a statement that writes (its commit must be synced).
    writes: bool,
}

/// Runs a statement on an SQLite connection (its prepared form kept for
/// next time), binding `$n` to `args[n - 1]` wherever it appears.
fn run_lite(conn: &rusqlite::Connection, sql: &str, args: &[Arg], want: Want) -> Result<LiteRan> {
    let mut statement = conn.prepare_cached(sql)?;
    for index in 1..=statement.parameter_count() {
        let n = statement
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| anyhow!("parameter {index} of a statement is not $n"))?;
        match n.checked_sub(1).and_then(|at| args.get(at)) {
            Some(Arg::Int(v)) => statement.raw_bind_parameter(index, v)?,
            Some(Arg::Text(v)) => statement.raw_bind_parameter(index, v)?,
            Some(Arg::Bool(v)) => statement.raw_bind_parameter(index, v)?,
            None => return Err(anyhow!("nothing is bound to ${n}")),
        }
    }
    let columns = statement.column_count();
    let writes = !statement.readonly();
    let mut found = Vec::new();
    let mut rows = statement.raw_query();
    // Every row is stepped through, read or not: a statement's changes are
    // whole only once it is done.
    while let Some(row) = rows.next()? {
        if want == Want::All || (want == Want::One && found.is_empty()) {
            let values = (0..columns)
                .map(|i| row.get::<_, Value>(i))
                .collect::<rusqlite::Result<_>>()?;
            found.push(Row::Lite(values));
        }
    }
    Ok(LiteRan {
        changed: conn.changes(),
        rows: found,
        writes,
    })
}

/// What a column may be read as.
pub(super) trait Column: Sized + sqlx::Type<Any> + for<'r> sqlx::Decode<'r, Any> {
    /// The value, if it is of this type.
    fn from_lite(value: &Value) -> Option<Self>;
}

impl Column for i64 {
    fn from_lite(value: &Value) -> Option<Self> {
        match value {
            Value::Integer(v) => Some(*v),
            _ => None,
        }
    }
}

impl Column for String {
    fn from_lite(value: &Value) -> Option<Self> {
        match value {
            Value::Text(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl<T: Column> Column for Option<T> {
    fn from_lite(value: &Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            v => T::from_lite(v).map(Some),
        }
    }
}

impl Row {
    /// Column `index`, as sqlx's `Row::try_get`.
    pub fn try_get<T: Column>(&self, index: usize) -> Result<T> {
        match self {
            Row::Pg(row) => Ok(sqlx::Row::try_get(row, index)?),
            Row::Lite(values) => {
                let value = values
                    .get(index)
                    .ok_or_else(|| anyhow!("no column {index} in the row"))?;
                T::from_lite(value).ok_or_else(|| {
                    anyhow!(
                        "column {index} is {}, not {}",
                        kind(value),
                        std::any::type_name::<T>()
                    )
                })
            }
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "NULL",
        Value::Integer(_) => "an integer",
        Value::Real(_) => "a real",
        Value::Text(_) => "a text",
        Value::Blob(_) => "a blob",
    }
}

#[cfg(test)]
mod tests {
    use super::query;
    use crate::store::Store;

    async fn memory() -> Store {
        Store::open("sqlite::memory:").await.unwrap()
    }

    #[tokio::test]
    async fn placeholders_are_bound_by_number_not_by_place() {
        let store = memory().await;
        let row = query("SELECT $2, $1, $2 || $1")
            .bind("a")
            .bind("b")
            .fetch_one(&store)
            .await
            .unwrap();
        let got: (String, String, String) = (
            row.try_get(0).unwrap(),
            row.try_get(1).unwrap(),
            row.try_get(2).unwrap(),
        );
        assert_eq!(got, ("b".into(), "a".into(), "ba".into()));
    }

    #[tokio::test]
    async fn a_transaction_dropped_unfinished_leaves_nothing() {
        let store = memory().await;
        let mut tx = store.begin().await.unwrap();
        query("INSERT INTO inbound (channel, message_id, received_at) VALUES ($1, $2, $3)")
            .bind("web")
            .bind("m1")
            .bind(1i64)
            .execute(&mut tx)
            .await
            .unwrap();
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.claim_inbound("web", "m1", 2).await.unwrap(),
            "rolled back"
        );
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert!(
            !tx.claim_inbound("web", "m1", 3).await.unwrap(),
            "committed"
        );
    }

    #[tokio::test]
    async fn types_nulls_and_booleans_read_back() {
        let store = memory().await;
        let row = query("SELECT $1, $2, $3, $4 AND 1")
            .bind(None::<i64>)
            .bind(None::<&str>)
            .bind(7i64)
            .bind(true)
            .fetch_one(&store)
            .await
            .unwrap();
        assert_eq!(row.try_get::<Option<i64>>(0).unwrap(), None);
        assert_eq!(row.try_get::<Option<String>>(1).unwrap(), None);
        assert_eq!(row.try_get::<i64>(2).unwrap(), 7);
        assert_eq!(row.try_get::<i64>(3).unwrap(), 1);
        let wrong = row.try_get::<String>(2).unwrap_err().to_string();
        assert!(wrong.contains("column 2 is an integer"), "{wrong}");
        assert!(row.try_get::<i64>(9).is_err());
    }

    #[tokio::test]
    async fn a_closed_store_refuses_politely() {
        let store = memory().await;
        store.close().await;
        let e = store.ping().await.unwrap_err();
        assert!(format!("{e:#}").contains("closed"), "{e:#}");
        assert!(store.begin().await.is_err());
    }
}
