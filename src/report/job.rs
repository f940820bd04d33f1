//! The aggregation job: reads every ballot from the store twice in pages
//! (bounded memory), checks the hash chain on the way, and writes every
//! output into one folder. Used by `khaosat report` and the staff's
//! `/baocao` bot command.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};

use super::open_data::OpenData;
use super::tables::tables;
use super::{Report, build, csv, html, xlsx};
use crate::aggregate::Aggregate;
use crate::ballot::StoredBallot;
use crate::campaign::Campaign;
use crate::dialogue::{self, Dialogue};
use crate::store::Store;
use crate::verify::{Chain, Verdict};

/// File names of the outputs.
pub const WORKBOOK: &str = "bao-cao.xlsx";
pub const PAGE_HTML: &str = "bao-cao.html";
pub const JSON: &str = "ket-qua.json";

/// What a run wrote.
#[derive(Debug)]
pub struct Written {
    pub report: Report,
    /// Every file, the workbook and the page first.
    pub files: Vec<PathBuf>,
}

/// Which results a report publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every ballot: after the survey has closed.
    Final,
    /// Before close: each cell's first ballots in chain order, in whole
    /// multiples of `min_cell`, so a published figure changes only when
    /// at least `min_cell` new ballots reached it; no open data.
    Interim,
}

/// Computes the report from the stored ballots and writes every output
/// into `out` (created if missing). Refuses, writing nothing, when the
/// ballots' hash chain does not verify.
pub async fn write_reports(
    store: &Store,
    c: &Campaign,
    out: &Path,
    now: DateTime<Utc>,
    scope: Scope,
) -> Result<Written> {
    let mut dialogues = Dialogues::new(c);
    // Interim: how many of each cell's ballots may be counted.
    let mut room: HashMap<(String, String), u32> = HashMap::new();
    if scope == Scope::Interim {
        let min = c.scoring().min_cell.max(1);
        for (unit, group, n) in store.chain_counts(c.id()).await? {
            room.insert((unit, group), n / min * min);
        }
    }
    // Pass 1: check the chain and tally.
    let mut chain = Chain::default();
    let mut agg = Aggregate::default();
    let mut pages = store.read_ballots(i64::MAX);
    while let Some(page) = pages.recv().await {
        for b in &page? {
            if let Err(Verdict::Broken { seq, problem }) = chain.push(b) {
                bail!(
                    "ballot {seq} does not match: {problem}. No report was written; \
                     run `khaosat verify` and restore the database from a backup"
                );
            }
            if b.ballot.campaign != c.id() {
                continue;
            }
            if scope == Scope::Interim {
                let left = room
                    .entry((b.ballot.unit.clone(), b.ballot.group.clone()))
                    .or_default();
                if *left == 0 {
                    continue;
                }
                *left -= 1;
            }
            agg.add(&b.ballot, &*dialogues.of(store, b).await?);
        }
    }
    agg.sort_wishes();
    let report = build(c, &agg, chain.ballots() as u64, chain.head(), now);

    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut files = Vec::new();
    let mut write = |name: &str, bytes: &[u8]| -> Result<()> {
        let path = out.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        files.push(path);
        Ok(())
    };
    write(WORKBOOK, &xlsx::workbook(&report)?)?;
    write(PAGE_HTML, html::page(&report).as_bytes())?;
    write(JSON, serde_json::to_string_pretty(&report)?.as_bytes())?;
    for t in tables(&report) {
        write(t.file, csv::table(&t).as_bytes())?;
    }

    if scope == Scope::Interim {
        return Ok(Written { report, files });
    }
    // Pass 2: the open data, up to the same ballot as the figures.
    let mut open = OpenData::new(out, c, &report);
    let mut pages = store.read_ballots(chain.ballots() as i64);
    while let Some(page) = pages.recv().await {
        for b in page?.iter().filter(|b| b.ballot.campaign == c.id()) {
            open.push(b, &*dialogues.of(store, b).await?)?;
        }
    }
    files.extend(open.finish()?);
    Ok(Written { report, files })
}

/// Compiled dialogues by id and version: the campaign's, and older
/// versions recorded in the store when a ballot was answered on one.
struct Dialogues(HashMap<(String, String), Arc<Dialogue>>);

impl Dialogues {
    fn new(c: &Campaign) -> Self {
        Self(
            c.dialogues()
                .into_iter()
                .map(|d| ((d.id().to_string(), d.version().to_string()), d))
                .collect(),
        )
    }

    async fn of(&mut self, store: &Store, b: &StoredBallot) -> Result<Arc<Dialogue>> {
        let key = (
            b.ballot.dialogue_id.clone(),
            b.ballot.dialogue_version.clone(),
        );
        if let Some(d) = self.0.get(&key) {
            return Ok(d.clone());
        }
        let (id, version) = &key;
        let mut tx = store.begin().await?;
        let source = tx.dialogue_source(id, version).await?;
        tx.rollback().await?;
        let source = source.with_context(|| {
            format!(
                "ballot {}: dialogue {id} version {version} is not recorded",
                b.ballot.seq
            )
        })?;
        let d = Arc::new(dialogue::compile_stored(id, version, source)?);
        self.0.insert(key, d.clone());
        Ok(d)
    }
}
