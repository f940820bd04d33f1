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
    let mut open = match scope {
        Scope::Final => {
            std::fs::create_dir_all(&partial)
                .with_context(|| format!("creating {}", partial.display()))?;
            Some(OpenData::new(&partial, c, &counts))
        }
        Scope::Interim => None,
    };
    let read = tally_and_check(
        store,
        c,
        scope,
        &mut room,
        &mut dialogues,
        open.as_mut(),
        read,
    )
    .await;
    let (agg, chain) = match read {
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

/// The one pass: every page to the chain check (a thread of its own) and
/// to the tally and the open data. Refuses when the chain does not verify.
///
/// The check hands back each page's commitments to the answers, which the
/// open data publishes, so each is computed once. The open data takes a
/// page once the next one is tallied, while the check reads that one: so
/// its questions may settle a little earlier than ballot by ballot, and
/// never wrongly, as valid answers only grow.
async fn tally_and_check(
    store: &Store,
    c: &Campaign,
    scope: Scope,
    room: &mut Room,
    dialogues: &mut Dialogues,
    mut open: Option<&mut OpenData>,
    on_page: &(dyn Fn(usize) + Sync),
) -> Result<(Aggregate, Chain)> {
    let (to_check, mut pages_in) = tokio::sync::mpsc::channel::<Arc<BallotPage>>(4);
    // At most two pages' commitments wait: the one the open data takes
    // next, and the page being tallied.
    let (digests_out, mut digests_in) = tokio::sync::mpsc::channel::<Vec<String>>(2);
    let want_digests = open.is_some();
    let checker = tokio::task::spawn_blocking(move || {
        let mut chain = Chain::default();
        while let Some(page) = pages_in.blocking_recv() {
            let mut digests = Vec::with_capacity(if want_digests { page.len() } else { 0 });
            for row in page.rows() {
                let row = row?;
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
            // The pass may have stopped on an error of its own.
            if want_digests && digests_out.blocking_send(digests).is_err() {
                break;
            }
        }
        Ok(chain)
    });
    let mut agg = Aggregate::default();
    let mut pages = store.read_ballots(i64::MAX);
    let mut waiting: Option<Tallied> = None;
    let mut failed = None;
    while let Some(page) = pages.recv().await {
        let page = Arc::new(page?);
        on_page(page.len());
        if to_check.send(page.clone()).await.is_err() {
            // The check stopped at a broken link: it says which.
            break;
        }
        let mut tallied = Tallied {
            page: page.clone(),
            counted: Vec::new(),
        };
        for (at, row) in page.rows().enumerate() {
            let b = row?;
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
            if open.is_some() {
                tallied.counted.push((at, sheet, d));
            }
        }
        let Some(open) = open.as_deref_mut() else {
            continue;
        };
        if let Some(last) = waiting.replace(tallied) {
            let Some(digests) = digests_in.recv().await else {
                break;
            };
            if let Err(e) = last.publish(open, &digests, &agg) {
                failed = Some(e);
                break;
            }
        }
    }
    drop(to_check);
    if let (Some(open), Some(last), None) = (open, waiting, &failed)
        && let Some(digests) = digests_in.recv().await
        && let Err(e) = last.publish(open, &digests, &agg)
    {
        failed = Some(e);
    }
    drop(digests_in);
    let chain = checker.await.context("the chain check stopped")??;
    if let Some(e) = failed {
        return Err(e);
    }
    agg.sort_wishes();
    Ok((agg, chain))
}

/// A page tallied, waiting for the commitments to its answers to go into
/// the open data: its ballots counted, by their place in the page.
struct Tallied {
    page: Arc<BallotPage>,
    counted: Vec<(usize, AnswerSheet, Arc<Dialogue>)>,
}

impl Tallied {
    fn publish(self, open: &mut OpenData, digests: &[String], agg: &Aggregate) -> Result<()> {
        let mut counted = self.counted.iter().peekable();
        for (at, row) in self.page.rows().enumerate() {
            let Some((_, sheet, d)) = counted.next_if(|(i, ..)| *i == at) else {
                continue;
            };
            let digest = digests
                .get(at)
                .context("the chain check lost a ballot's commitment")?;
            open.push(&row?, sheet, digest, d, agg)?;
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
