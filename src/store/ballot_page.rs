//! A page of ballots as the store reads them: one text, a line per ballot,
//! its columns joined by tabs, and where each column of each line lies —
//! found once, when the page is read, so the chain check, the tally and
//! the open data, each going through every ballot, only slice it.

use anyhow::{Context, Result};

use crate::ballot::BallotRow;

/// Columns of a ballot's line: seq, campaign, unit, group, dialogue id and
/// version, batch, batch date, receipt, salt, answers, previous hash, hash.
pub(super) const COLUMN_COUNT: usize = 13;

/// Ballots read, in chain order. Its rows borrow from it.
#[derive(Debug, Default)]
pub struct BallotPage {
    text: String,
    rows: Vec<Spans>,
}

/// Where one ballot's columns lie in the page's text, and its numbers.
#[derive(Debug, Clone, Copy)]
pub(super) struct Spans {
    seq: i64,
    batch: i64,
    /// Byte offset where each column starts, then where the last one ends.
    bounds: [u32; COLUMN_COUNT + 1],
}

impl BallotPage {
    /// The page of `text` (a line per ballot, columns joined by tabs), its
    /// lines put in chain order if they are not: SQLite joins them in the
    /// order it reads them, which is that order in practice but not by
    /// promise (an `ORDER BY` inside the join would cost a sort of every
    /// page). No column may hold a line break; the last one runs to the end
    /// of its line, tabs and all.
    pub(super) fn in_chain_order(text: String) -> Result<Self> {
        if text.is_empty() {
            return Ok(Self::default());
        }
        let mut rows = Vec::new();
        let mut start = 0;
        let ends = memchr::memchr_iter(b'\n', text.as_bytes()).chain([text.len()]);
        for end in ends {
            // A last line break ends the last line.
            if end == text.len() && start == end && !rows.is_empty() {
                break;
            }
            rows.push(spans_of(&text, start, end)?);
            start = end + 1;
        }
        if !rows.is_sorted_by_key(|r| r.seq) {
            rows.sort_by_key(|r| r.seq);
        }
        Ok(Self { text, rows })
    }

    /// A page made by a reader that knows where its columns lie; `rows`
    /// in chain order.
    pub(super) fn from_parts(text: String, rows: Vec<Spans>) -> Self {
        Self { text, rows }
    }

    /// Its ballots, in chain order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = BallotRow<'_>> {
        self.rows.iter().map(|r| r.row(&self.text))
    }

    /// How many ballots it holds.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The sequence number of its last ballot.
    pub(super) fn last_seq(&self) -> Option<i64> {
        self.rows.last().map(|r| r.seq)
    }
}

impl Spans {
    /// The spans of a line whose columns start at `bounds` (the last entry
    /// where the line ends), its numbers already read.
    pub(super) fn new(seq: i64, batch: i64, bounds: [u32; COLUMN_COUNT + 1]) -> Self {
        Self { seq, batch, bounds }
    }

    fn row<'a>(&self, text: &'a str) -> BallotRow<'a> {
        let column = |i: usize| {
            // A column ends one byte (its tab) before the next starts.
            let end = if i + 1 == COLUMN_COUNT {
                self.bounds[i + 1]
            } else {
                self.bounds[i + 1] - 1
            };
            text.get(self.bounds[i] as usize..end as usize)
                .unwrap_or_default()
        };
        BallotRow {
            seq: self.seq,
            campaign: column(1),
            unit: column(2),
            group: column(3),
            dialogue_id: column(4),
            dialogue_version: column(5),
            batch: self.batch,
            batch_date: column(7),
            receipt: column(8),
            salt: column(9),
            answers_json: column(10),
            prev_hash: column(11),
            hash: column(12),
        }
    }
}

/// Where the columns of the line `text[start..end]` lie.
fn spans_of(text: &str, start: usize, end: usize) -> Result<Spans> {
    let line = &text.as_bytes()[start..end];
    let offset = |at: usize| u32::try_from(at).context("a page of ballots is too long");
    let mut bounds = [0; COLUMN_COUNT + 1];
    bounds[0] = offset(start)?;
    let mut tabs = memchr::memchr_iter(b'\t', line);
    for bound in &mut bounds[1..COLUMN_COUNT] {
        let tab = tabs.next().context("a stored ballot has too few columns")?;
        *bound = offset(start + tab + 1)?;
    }
    bounds[COLUMN_COUNT] = offset(end)?;
    let number = |i: usize, what: &str| -> Result<i64> {
        let (from, to) = (bounds[i] as usize, bounds[i + 1] as usize - 1);
        text.get(from..to)
            .unwrap_or_default()
            .parse()
            .with_context(|| format!("reading a ballot's {what}"))
    };
    Ok(Spans {
        seq: number(0, "sequence number")?,
        batch: number(6, "batch")?,
        bounds,
    })
}

#[cfg(test)]
mod tests {
    use super::BallotPage;

    fn line(seq: i64) -> String {
        format!("{seq}\tc\tu\tg\td\tv\t1\t2021-02-01\tR\ts\t{{}}\tp\th")
    }

    #[test]
    fn a_page_is_read_in_chain_order_whatever_order_it_came_in() {
        let page = BallotPage::in_chain_order([3, 1, 2].map(line).join("\n")).unwrap();
        let seqs: Vec<i64> = page.rows().map(|r| r.seq).collect();
        assert_eq!(seqs, [1, 2, 3]);
        assert_eq!(page.len(), 3);
        assert_eq!(page.last_seq(), Some(3));
        let page = BallotPage::in_chain_order([1, 2].map(line).join("\n")).unwrap();
        assert_eq!(page.rows().map(|r| r.seq).collect::<Vec<_>>(), [1, 2]);
        assert!(
            BallotPage::in_chain_order(String::new())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_page_splits_into_its_ballots_and_columns_exactly() {
        let page = BallotPage::in_chain_order(format!("{}\n{}\n", line(1), line(2))).unwrap();
        assert_eq!(page.len(), 2, "a last line break ends the last line");
        let row = page.rows().nth(1).unwrap();
        assert_eq!(
            (
                row.seq,
                row.campaign,
                row.unit,
                row.batch,
                row.batch_date,
                row.answers_json,
                row.prev_hash,
                row.hash
            ),
            (2, "c", "u", 1, "2021-02-01", "{}", "p", "h")
        );
        // A line lost or a tab too many shows; nothing is skipped or cut.
        let gap = BallotPage::in_chain_order(format!("{}\n\n{}", line(1), line(2)));
        assert!(gap.is_err());
        let extra = BallotPage::in_chain_order(format!("{}\tx", line(1))).unwrap();
        assert_eq!(extra.rows().next().unwrap().hash, "h\tx");
        let short = BallotPage::in_chain_order(line(1).replace("\tp\th", "\tp"));
        assert!(short.is_err());
    }
}
