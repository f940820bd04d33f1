//! The aggregation job: reads every ballot from the store once, in pages
//! (bounded memory); each page goes to the chain check, on a thread of its
//! own, and to the tally and the open data, side by side; then every output
//! is written into one folder. Used by `khaosat report` and the staff's
//! `/baocao` bot command.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use super::open_data::OpenData;
use super::reached::{News, Reached};
use super::tables::tables;
use super::{Report, build, csv, html, xlsx};
use crate::aggregate::Aggregate;
use crate::ballot::{AnswerSheet, BallotRow};
use crate::campaign::Campaign;
use crate::dialogue::{self, Dialogue};
use crate::store::{BallotPage, Store};
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

/// The final report's workbook and page, as staff receive them in a chat
/// (`/baocao`, the links of `báo cáo`): written into a temporary folder,
/// read back, the folder removed. `(file name, bytes)`, the workbook first.
pub async fn staff_files(
    store: &Store,
    c: &Campaign,
    now: DateTime<Utc>,
) -> Result<(Report, Vec<(&'static str, Vec<u8>)>)> {
    let dir = std::env::temp_dir().join(format!("khaosat-bao-cao-{}", crate::hex::random::<8>()));
    let read = async {
        let written = write_reports(store, c, &dir, now, Scope::Final).await?;
        let files = [WORKBOOK, PAGE_HTML]
            .into_iter()
            .map(|name| {
                let bytes =
                    std::fs::read(dir.join(name)).with_context(|| format!("reading {name}"))?;
                Ok((name, bytes))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((written.report, files))
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    read
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
    write_reports_watched(store, c, out, now, scope, &|_| {}).await
}

/// [`write_reports`], telling `read` how many ballots each page read held
/// (the command line's progress bar).
pub async fn write_reports_watched(
    store: &Store,
    c: &Campaign,
    out: &Path,
    now: DateTime<Utc>,
    scope: Scope,
    read: &(dyn Fn(usize) + Sync),
) -> Result<Written> {
    let mut dialogues = Dialogues::new(c);
    let counts = store.chain_counts(c.id()).await?;
    // Interim: how many of each cell's ballots may be counted.
    let mut room: Room = HashMap::new();
    if scope == Scope::Interim {
        let min = c.scoring().min_cell.max(1);
        for (unit, group, n) in &counts {
            room.entry(unit.clone())
                .or_default()
                .insert(group.clone(), n / min * min);
        }
    }
    // The open data is written during the pass, into a folder beside the
    // report's that becomes part of it only if the chain verifies.
    let partial = partial_folder(out);
    let open = match scope {
        Scope::Final => {
            std::fs::create_dir_all(&partial)
                .with_context(|| format!("creating {}", partial.display()))?;
            Some(OpenData::new(&partial, c, &counts))
        }
        Scope::Interim => None,
    };
    let read = tally_and_check(store, c, scope, &mut room, &mut dialogues, open, read).await;
    let (agg, chain, open) = match read {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    // The ballots held back, and the check that the cells counted before
    // the pass are the ones read, before anything else is written.
    let open_files = match open.map(|o| o.finish(&agg)).transpose() {
        Ok(paths) => paths,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    let mut report = build(c, &agg, chain.ballots() as u64, chain.head(), now);
    report.period = crate::period::Period::of(c, &store.period_changes(c.id()).await?).describe(c);

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
    if let Some(paths) = open_files {
        let published = publish(&partial, out, paths);
        let _ = std::fs::remove_dir_all(&partial);
        files.extend(published?);
    }
    Ok(Written { report, files })
}

/// Where the open data is written until the chain has verified: a hidden
/// folder beside `out`.
fn partial_folder(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map_or_else(|| "bao-cao".into(), |n| n.to_string_lossy().into_owned());
    out.with_file_name(format!(".{name}.phieu-dang-ghi"))
}

/// The one pass: every page to the chain check (a thread of its own), to
/// the tally, then to the open data (another thread). Refuses when the
/// chain does not verify.
///
/// The check hands each page's commitments to the answers to the open
/// data, which publishes them, so each is computed once. The tally tells
/// the open data, with each page, which questions its ballots brought to
/// the minimum of valid answers (all the open data needs of it).
async fn tally_and_check(
    store: &Store,
    c: &Campaign,
    scope: Scope,
    room: &mut Room,
    dialogues: &mut Dialogues,
    open: Option<OpenData>,
    on_page: &(dyn Fn(usize) + Sync),
) -> Result<(Aggregate, Chain, Option<OpenData>)> {
    let (to_check, mut pages_in) = tokio::sync::mpsc::channel::<Arc<BallotPage>>(4);
    // At most two pages' commitments wait for the open data.
    let (digests_out, digests_in) = tokio::sync::mpsc::channel::<Vec<String>>(2);
    let want_digests = open.is_some();
    let checker = tokio::task::spawn_blocking(move || {
        let mut chain = Chain::default();
        while let Some(page) = pages_in.blocking_recv() {
            let mut digests = Vec::with_capacity(if want_digests { page.len() } else { 0 });
            for row in page.rows() {
                let digest = row.answers_digest();
                if let Err(Verdict::Broken { seq, problem }) = chain.push_digest(&row, &digest) {
                    return Err(anyhow::anyhow!(
                        "phiếu số {seq} không khớp: {problem}. Chưa ghi báo cáo nào; \
                         chạy `khaosat verify` và khôi phục cơ sở dữ liệu từ bản sao lưu"
                    ));
                }
                if want_digests {
                    digests.push(digest);
                }
            }
            // The open data may have stopped on an error of its own.
            if want_digests && digests_out.blocking_send(digests).is_err() {
                break;
            }
        }
        Ok(chain)
    });
    let (to_open, opener) = match open {
        Some(open) => {
            let (to_open, tallied) = tokio::sync::mpsc::channel::<Tallied>(2);
            let opener = tokio::task::spawn_blocking({
                let reached = Reached::new(c);
                move || publish_all(open, reached, tallied, digests_in)
            });
            (Some(to_open), Some(opener))
        }
        None => (None, None),
    };
    let mut agg = Aggregate::default();
    let mut reached = Reached::new(c);
    let mut pages = store.read_ballots(i64::MAX);
    let mut failed = None;
    while let Some(page) = pages.recv().await {
        let page = match page {
            Ok(page) => Arc::new(page),
            Err(e) => {
                failed = Some(e);
                break;
            }
        };
        on_page(page.len());
        if to_check.send(page.clone()).await.is_err() {
            // The check stopped at a broken link: it says which.
            break;
        }
        let mut tallied = Tallied {
            page: page.clone(),
            counted: Vec::new(),
            news: Vec::new(),
        };
        if let Err(e) = tally_page(store, c, scope, room, dialogues, &mut agg, &mut tallied).await {
            failed = Some(e);
            break;
        }
        let Some(to_open) = &to_open else {
            continue;
        };
        tallied.news = reached.catch_up(&agg);
        if to_open.send(tallied).await.is_err() {
            // The open data stopped on an error: it says which.
            break;
        }
    }
    drop((to_check, to_open));
    let chain = checker.await.context("the chain check stopped")??;
    let open = match opener {
        Some(opener) => Some(opener.await.context("the open data stopped")??),
        None => None,
    };
    if let Some(e) = failed {
        return Err(e);
    }
    agg.sort_wishes();
    Ok((agg, chain, open))
}

/// Counts the ballots of a page, keeping in `tallied` those the open data
/// publishes.
async fn tally_page(
    store: &Store,
    c: &Campaign,
    scope: Scope,
    room: &mut Room,
    dialogues: &mut Dialogues,
    agg: &mut Aggregate,
    tallied: &mut Tallied,
) -> Result<()> {
    for (at, b) in tallied.page.rows().enumerate() {
        if b.campaign != c.id() {
            continue;
        }
        if scope == Scope::Interim {
            let left = room
                .get_mut(b.unit)
                .and_then(|groups| groups.get_mut(b.group));
            match left {
                Some(left) if *left > 0 => *left -= 1,
                _ => continue,
            }
        }
        let d = dialogues.of(store, &b).await?;
        let sheet = b
            .answer_sheet(&d)
            .with_context(|| format!("reading the answers of ballot {}", b.seq))?;
        agg.add_answers(b.unit, b.group, &sheet, &d);
        if scope == Scope::Final {
            tallied.counted.push((at, sheet, d));
        }
    }
    Ok(())
}

/// The open data's thread: each page tallied, once the chain check has
/// its commitments, into the files; ends when the tally or the check does.
fn publish_all(
    mut open: OpenData,
    mut reached: Reached,
    mut tallied: tokio::sync::mpsc::Receiver<Tallied>,
    mut digests: tokio::sync::mpsc::Receiver<Vec<String>>,
) -> Result<OpenData> {
    while let Some(page) = tallied.blocking_recv() {
        // The check stopped at a broken link: it says which.
        let Some(digests) = digests.blocking_recv() else {
            break;
        };
        reached.learn(&page.news);
        page.publish(&mut open, &digests, &reached)?;
    }
    Ok(open)
}

/// A page tallied, on its way to the open data: its ballots counted, by
/// their place in the page, and the questions they brought to the minimum.
struct Tallied {
    page: Arc<BallotPage>,
    counted: Vec<(usize, AnswerSheet, Arc<Dialogue>)>,
    news: News,
}

impl Tallied {
    fn publish(self, open: &mut OpenData, digests: &[String], reached: &Reached) -> Result<()> {
        let mut counted = self.counted.iter().peekable();
        for (at, row) in self.page.rows().enumerate() {
            let Some((_, sheet, d)) = counted.next_if(|(i, ..)| *i == at) else {
                continue;
            };
            let digest = digests
                .get(at)
                .context("the chain check lost a ballot's commitment")?;
            open.push(&row, sheet, digest, d, reached)?;
        }
        Ok(())
    }
}

/// Interim: how many more of each cell's ballots may be counted, by unit
/// and group.
type Room = HashMap<String, HashMap<String, u32>>;

/// Moves the finished open-data files from `partial` into `out`.
fn publish(partial: &Path, out: &Path, paths: Vec<PathBuf>) -> Result<Vec<PathBuf>> {
    let mut moved = Vec::new();
    for path in paths {
        let name = path.strip_prefix(partial).unwrap_or(&path);
        let to = out.join(name);
        std::fs::rename(&path, &to)
            .with_context(|| format!("moving {} to {}", path.display(), to.display()))?;
        moved.push(to);
    }
    Ok(moved)
}

/// Compiled dialogues by id and version: the campaign's, and older
/// versions recorded in the store when a ballot was answered on one. A
/// campaign has a handful, so they are looked up in a list.
struct Dialogues(Vec<Arc<Dialogue>>);

impl Dialogues {
    fn new(c: &Campaign) -> Self {
        Self(c.dialogues())
    }

    async fn of(&mut self, store: &Store, b: &BallotRow<'_>) -> Result<Arc<Dialogue>> {
        let (id, version) = (b.dialogue_id, b.dialogue_version);
        if let Some(d) = self
            .0
            .iter()
            .find(|d| d.id() == id && d.version() == version)
        {
            return Ok(d.clone());
        }
        let mut tx = store.begin().await?;
        let source = tx.dialogue_source(id, version).await?;
        tx.rollback().await?;
        let source = source.with_context(|| {
            format!(
                "ballot {}: dialogue {id} version {version} is not recorded",
                b.seq
            )
        })?;
        let d = Arc::new(dialogue::compile_stored(id, version, source)?);
        self.0.push(d.clone());
        Ok(d)
    }
}
