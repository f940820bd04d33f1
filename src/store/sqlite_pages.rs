//! Reading every ballot of an SQLite file for the report, on a read-only
//! connection of its own (not the store's one connection, which the
//! service's steps keep using meanwhile).
//!
//! Joining a page into one text in the database spent more time building
//! and copying that text than reading the ballots. Here the connection reads the
//! rows straight from SQLite's buffers into the page text, on the thread
//! that sends the pages, inside one read transaction: every page comes
//! from the same snapshot, and the writer (WAL mode) is never held up.

use std::path::Path;

use anyhow::{Context, Result};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::mpsc;

use super::ballot_page::{BallotPage, COLUMN_COUNT, Spans};
use super::ballots::{COLUMNS, PAGE};

/// Sends the ballots of the SQLite database at `file` up to sequence number
/// `last`, in chain order, `PAGE` to a page; ends early when the receiver
/// goes away. Blocks: run it on a thread of its own.
pub(super) fn send_pages(
    file: &Path,
    last: i64,
    pages: &mpsc::Sender<Result<BallotPage>>,
) -> Result<()> {
    let open = || -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            file,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(conn)
    };
    let conn = open().with_context(|| format!("opening {} to read ballots", file.display()))?;
    // One snapshot for the whole pass.
    let read = conn
        .unchecked_transaction()
        .context("starting to read ballots")?;
    let sql = format!("SELECT {COLUMNS} FROM ballots WHERE seq <= ?1 ORDER BY seq");
    let mut statement = read.prepare(&sql).context("reading ballots")?;
    let mut rows = statement.query([last]).context("reading ballots")?;
    let mut page = PageText::default();
    while let Some(row) = rows.next().context("reading ballots")? {
        page.push(row).context("reading a ballot")?;
        if page.len() == PAGE as usize && pages.blocking_send(Ok(page.take()?)).is_err() {
            return Ok(());
        }
    }
    if page.len() > 0 {
        let _ = pages.blocking_send(Ok(page.take()?));
    }
    Ok(())
}

/// A page being read: its text so far, as [`BallotPage`] holds it (checked
/// to be UTF-8 once it is whole, not column by column), and where each
/// row's columns lie.
#[derive(Default)]
struct PageText {
    text: Vec<u8>,
    rows: Vec<Spans>,
}

impl PageText {
    fn len(&self) -> usize {
        self.rows.len()
    }

    /// Appends a row as a line, its columns joined by tabs.
    fn push(&mut self, row: &rusqlite::Row) -> Result<()> {
        if !self.rows.is_empty() {
            self.text.push(b'\n');
        }
        let mut number = itoa::Buffer::new();
        let mut bounds = [0; COLUMN_COUNT + 1];
        let (mut seq, mut batch) = (0, 0);
        for (i, bound) in bounds.iter_mut().take(COLUMN_COUNT).enumerate() {
            if i > 0 {
                self.text.push(b'\t');
            }
            *bound = self.offset()?;
            match row.get_ref(i)? {
                ValueRef::Integer(n) => {
                    match i {
                        0 => seq = n,
                        6 => batch = n,
                        _ => {}
                    }
                    self.text.extend_from_slice(number.format(n).as_bytes());
                }
                ValueRef::Text(bytes) if memchr::memchr2(b'\t', b'\n', bytes).is_none() => {
                    self.text.extend_from_slice(bytes)
                }
                other => anyhow::bail!(
                    "column {} of stored ballot {} holds {:?}, not text without tabs or line breaks",
                    i + 1,
                    seq,
                    other.data_type()
                ),
            }
        }
        bounds[COLUMN_COUNT] = self.offset()?;
        self.rows.push(Spans::new(seq, batch, bounds));
        Ok(())
    }

    fn offset(&self) -> Result<u32> {
        u32::try_from(self.text.len()).context("a page of ballots is too long")
    }

    fn take(&mut self) -> Result<BallotPage> {
        let text = String::from_utf8(std::mem::take(&mut self.text))
            .context("a stored ballot is not UTF-8")?;
        Ok(BallotPage::from_parts(text, std::mem::take(&mut self.rows)))
    }
}
