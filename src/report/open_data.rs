//! The open-data files: every anonymous ballot, one CSV per questionnaire
//! (`phieu-<dialogue>.csv`), written as ballots stream past — in the same
//! pass as the tally — so memory does not grow with their number. A
//! respondent finds their ballot by the receipt code shown at the end of
//! the conversation; rows are in chain order, and `Thứ tự` gives each its
//! place.
//!
//! What the published figures withhold, the ballots withhold too: a ballot
//! of a suppressed cell keeps its receipt, date, unit and group but none of
//! its answers, and in the other cells a question suppressed for too few
//! valid answers is left blank. Which cells are suppressed is known before
//! the pass, from their counts. Whether a question is suppressed is known
//! only at the end; but a question's valid answers only grow, so a ballot
//! is held back only while one of its choice answers is among the first
//! `min_cell` valid ones of its cell: at most `min_cell` − 1 ballots per
//! cell and question wait, in memory, to be written when their questions
//! reach `min_cell` or at the end with the suppressed ones blank.
//!
//! The rows after a ballot held back wait behind it, in memory, up to
//! [`WINDOW`] bytes, and are written as soon as it is: so in the usual
//! case, where a cell's first answers settle its questions early, each
//! file is written once, front to back. Past the window, the ballot's row
//! is left for the end and put in its place by rewriting the file.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use rustc_hash::FxHashMap;

use super::csv::{BOM, field, row, text, text_field};
use super::reached::Reached;
use crate::aggregate::{Aggregate, Cell};
use crate::ballot::{AnswerSheet, BallotRow, StoredBallot};
use crate::campaign::Campaign;
use crate::dialogue::{Answer, Dialogue, QuestionKind, format_number};

/// What a ballot's row may show.
#[derive(Debug, Default)]
struct Visibility {
    /// Its whole cell is withheld.
    withheld: bool,
    /// By column (question of the campaign's version): withheld in its
    /// cell; none where shorter.
    hidden: Vec<bool>,
}

impl Visibility {
    fn withheld() -> Self {
        Self {
            withheld: true,
            hidden: Vec::new(),
        }
    }

    fn hides(&self, column: usize) -> bool {
        self.withheld || self.hidden.get(column).copied().unwrap_or(false)
    }

    /// Whether it hides anything at all.
    fn hides_any(&self) -> bool {
        self.withheld || self.hidden.contains(&true)
    }
}

/// Whether a question is a report item (and so may be suppressed): a
/// choice on a scale, as `report::build` counts them.
fn is_item(d: &Dialogue, q: &crate::dialogue::Question) -> bool {
    matches!(
        q.kind,
        QuestionKind::Choice { .. } | QuestionKind::Multiple { .. }
    ) && d.scale_of(q).is_some()
}

/// A question's valid answers in a cell so far.
fn valid(cell: Option<&Cell>, question: &str) -> u32 {
    cell.and_then(|c| c.items.get(question))
        .map_or(0, |t| t.valid)
}

/// One questionnaire's file.
struct OutFile {
    path: PathBuf,
    /// The campaign's version of the questionnaire, which gives the columns.
    dialogue: Arc<Dialogue>,
    /// For each version answered on: column → its question in that version.
    versions: FxHashMap<String, Vec<Option<Column>>>,
    writer: BufWriter<File>,
    /// Bytes written so far.
    position: u64,
    /// Rows not yet written, in chain order, behind a ballot held back.
    waiting: VecDeque<Waiting>,
    /// Bytes of the rows in `waiting`.
    waiting_bytes: usize,
    /// Ballots held back past the window, with where in the file each
    /// belongs: written at the end by rewriting the file.
    held: Vec<(Held, u64)>,
    /// The row being made.
    line: String,
}

/// A column's question in one version of the questionnaire.
struct Column {
    /// Its index in that version.
    question: usize,
    /// Its options' labels as CSV fields, by option number − 1.
    labels: Vec<String>,
}

impl Column {
    fn new(d: &Dialogue, question: usize) -> Self {
        let labels = d
            .scale_of(&d.questions()[question])
            .map(|scale| {
                scale
                    .options
                    .iter()
                    .map(|o| {
                        let mut label = String::new();
                        field(&mut label, &o.label);
                        label
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self { question, labels }
    }
}

/// A row waiting to be written.
enum Waiting {
    Row(String),
    /// A ballot whose row cannot be made yet.
    Held(Box<Held>),
}

/// A ballot held back, with what its row is made from.
struct Held {
    ballot: StoredBallot,
    sheet: AnswerSheet,
    /// The commitment to its answers.
    digest: String,
    /// The version it was answered on.
    dialogue: Arc<Dialogue>,
}

/// Bytes of rows that may wait in memory behind a ballot held back, per
/// file, by default.
pub const WINDOW: usize = 16 << 20;

/// A cell whose ballots are published.
struct Published {
    /// Its ballots, as counted before the pass.
    ballots: u32,
    /// Every question it may publish has `min_cell` valid answers already:
    /// none of its ballots needs holding back any more.
    settled: bool,
}

/// Writes the ballot files under one folder.
pub struct OpenData {
    dir: PathBuf,
    /// The campaign's smallest published cell and question.
    min: u32,
    /// unit → group → the cells published.
    published: FxHashMap<String, FxHashMap<String, Published>>,
    /// By dialogue id.
    files: FxHashMap<String, OutFile>,
    /// The campaign's questionnaires, which give the columns.
    campaign_dialogues: FxHashMap<String, Arc<Dialogue>>,
    written: Vec<PathBuf>,
    /// Bytes of rows that may wait behind a ballot held back, per file.
    window: usize,
}

/// The columns before the questions.
pub const FIXED: [&str; 6] = [
    "Thứ tự",
    "Mã biên nhận",
    "Đợt",
    "Ngày",
    "Đơn vị",
    "Nhóm đối tượng",
];

/// The columns after the note: everything else the chain hash covers.
pub const CHAIN: [&str; 8] = [
    "Chiến dịch",
    "Bảng hỏi",
    "Phiên bản bảng hỏi",
    "Câu trả lời (JSON)",
    "Muối",
    "Cam kết câu trả lời",
    "Mã băm trước",
    "Mã băm",
];

/// Note in the "Ghi chú" column of a withheld ballot.
const WITHHELD: &str = "Đơn vị có ít phiếu của nhóm này: nội dung phiếu không công bố";

impl OpenData {
    /// The open data of campaign `c`, whose cells have the ballots
    /// `counts` gives (unit, group, ballots): a cell under `min_cell`, or
    /// not assessed by the campaign, is withheld.
    pub fn new(dir: &Path, c: &Campaign, counts: &[(String, String, u32)]) -> Self {
        let min = c.scoring().min_cell;
        let mut published: FxHashMap<String, FxHashMap<String, Published>> = FxHashMap::default();
        for (unit, group, n) in counts {
            if *n >= min && c.assessment_of(unit, group).is_some() {
                published.entry(unit.clone()).or_default().insert(
                    group.clone(),
                    Published {
                        ballots: *n,
                        settled: false,
                    },
                );
            }
        }
        Self {
            dir: dir.to_path_buf(),
            min: min.max(1),
            published,
            files: FxHashMap::default(),
            campaign_dialogues: c
                .dialogues()
                .into_iter()
                .map(|d| (d.id().to_string(), d))
                .collect(),
            written: Vec::new(),
            window: WINDOW,
        }
    }

    /// The same, with rows waiting behind a ballot held back up to `bytes`
    /// instead of [`WINDOW`] (0: every ballot held back is put in its place
    /// by the rewrite at the end).
    pub fn with_window(mut self, bytes: usize) -> Self {
        self.window = bytes;
        self
    }

    /// Takes one ballot, answered on `dialogue`, its answers on `sheet` and
    /// committed to by `digest`, once `reached` has learnt what its answers
    /// (and perhaps ballots after it) brought to the minimum: writes it, or
    /// holds it back while one of its choice answers may yet be suppressed
    /// (and writes, behind it, whatever it no longer holds up).
    pub fn push(
        &mut self,
        b: &BallotRow,
        sheet: &AnswerSheet,
        digest: &str,
        dialogue: &Arc<Dialogue>,
        reached: &Reached,
    ) -> Result<()> {
        let window = self.window;
        let current = self.current(b.dialogue_id, dialogue);
        let cell = self
            .published
            .get_mut(b.unit)
            .and_then(|groups| groups.get_mut(b.group));
        let mut cell_settled = None;
        if let Some(cell) = cell {
            // Valid answers only grow: a cell settled stays settled.
            cell.settled = cell.settled || enough_answers(b, &current, reached, |_| true);
            cell_settled = Some(cell.settled);
        }
        let file = self.file_for(b, dialogue)?;
        let vis = match cell_settled {
            None => Some(Visibility::withheld()),
            Some(true) => Some(Visibility::default()),
            Some(false) => file
                .settled(b, sheet, &current, reached)
                .then(Visibility::default),
        };
        match vis {
            Some(vis) if file.waiting.is_empty() => {
                return file.write(b, sheet, digest, dialogue, &vis);
            }
            Some(vis) => {
                file.render(b, sheet, digest, dialogue, &vis);
                let line = std::mem::take(&mut file.line);
                file.waiting_bytes += line.len();
                file.waiting.push_back(Waiting::Row(line));
            }
            None => {
                let answers = b
                    .answers()
                    .with_context(|| format!("reading the answers of ballot {}", b.seq))?;
                file.waiting.push_back(Waiting::Held(Box::new(Held {
                    ballot: b.to_stored(&answers),
                    sheet: sheet.clone(),
                    digest: digest.to_string(),
                    dialogue: dialogue.clone(),
                })))
            }
        }
        file.catch_up(&current, window, reached)
    }

    /// The campaign's version of a questionnaire, which gives the columns
    /// (`answered_on` for one the campaign no longer has).
    fn current(&self, id: &str, answered_on: &Arc<Dialogue>) -> Arc<Dialogue> {
        self.campaign_dialogues
            .get(id)
            .unwrap_or(answered_on)
            .clone()
    }

    /// Checks that the cells counted before the pass are the cells read
    /// (ballots appended in between would make them differ), writes the
    /// ballots held back in their places — their suppressed questions
    /// blank — and returns the files' paths.
    pub fn finish(mut self, agg: &Aggregate) -> Result<Vec<PathBuf>> {
        for (unit, group, n) in self
            .published
            .iter()
            .flat_map(|(u, groups)| groups.iter().map(move |(g, p)| (u, g, p.ballots)))
        {
            let read = agg.cell(unit, group).map_or(0, |c| c.ballots);
            if read != n {
                anyhow::bail!(
                    "{unit}/{group}: {n} ballots counted but {read} read: ballots were added \
                     while the report was written; run it again"
                );
            }
        }
        let min = self.min;
        for file in self.files.values_mut() {
            file.leave_for_the_end()?;
            file.writer.flush()?;
            if file.held.is_empty() {
                continue;
            }
            let held = std::mem::take(&mut file.held);
            let mut lines = Vec::with_capacity(held.len());
            for (h, at) in held {
                let cell = agg.cell(&h.ballot.ballot.unit, &h.ballot.ballot.group);
                let current = file.dialogue.clone();
                let hidden = current
                    .questions()
                    .iter()
                    .map(|q| is_item(&current, q) && valid(cell, &q.id) < min)
                    .collect();
                let vis = Visibility {
                    withheld: false,
                    hidden,
                };
                file.render(&h.ballot.row(), &h.sheet, &h.digest, &h.dialogue, &vis);
                lines.push((at, std::mem::take(&mut file.line)));
            }
            merge(&file.path, &lines)?;
        }
        Ok(self.written)
    }

    /// The file of a ballot's questionnaire (created with its header on the
    /// first ballot), knowing the columns of the ballot's version.
    fn file_for(&mut self, b: &BallotRow, dialogue: &Arc<Dialogue>) -> Result<&mut OutFile> {
        if !self.files.contains_key(b.dialogue_id) {
            let current = self.current(b.dialogue_id, dialogue);
            let file = self.create(current)?;
            self.files.insert(b.dialogue_id.to_string(), file);
        }
        let file = self.files.get_mut(b.dialogue_id).expect("created above");
        if !file.versions.contains_key(b.dialogue_version) {
            let map = file
                .dialogue
                .questions()
                .iter()
                .map(|q| Some(Column::new(dialogue, dialogue.question_index(&q.id)?)))
                .collect();
            file.versions.insert(b.dialogue_version.to_string(), map);
        }
        Ok(file)
    }

    fn create(&mut self, d: Arc<Dialogue>) -> Result<OutFile> {
        let path = self.dir.join(format!("phieu-{}.csv", d.id()));
        let f = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let mut writer = BufWriter::with_capacity(1 << 20, f);
        let mut header = String::from(BOM);
        row(
            &mut header,
            FIXED
                .iter()
                .map(|s| s.to_string())
                .chain(d.questions().iter().map(|q| text_field(&q.short)))
                .chain(["Ghi chú".to_string()])
                .chain(CHAIN.iter().map(|s| s.to_string())),
        );
        writer.write_all(header.as_bytes())?;
        self.written.push(path.clone());
        Ok(OutFile {
            path,
            dialogue: d,
            versions: FxHashMap::default(),
            writer,
            position: header.len() as u64,
            waiting: VecDeque::new(),
            waiting_bytes: 0,
            held: Vec::new(),
            line: String::new(),
        })
    }
}

/// Whether every question of `current` that may be suppressed and that
/// `asked` picks (by index) has reached the minimum of valid answers in the
/// ballot's cell (all of them: every ballot of the cell is settled).
fn enough_answers(
    b: &BallotRow,
    current: &Dialogue,
    reached: &Reached,
    asked: impl Fn(usize) -> bool,
) -> bool {
    let cell = reached.cell(b.unit, b.group);
    current
        .questions()
        .iter()
        .enumerate()
        .filter(|&(i, q)| is_item(current, q) && asked(i))
        .all(|(_, q)| cell.has(&q.id))
}

impl OutFile {
    /// Whether every choice question the ballot answers has reached the
    /// minimum of valid answers in its cell (so it will be published);
    /// `current` is the campaign's version of its questionnaire, the file's
    /// columns.
    fn settled(
        &self,
        b: &BallotRow,
        sheet: &AnswerSheet,
        current: &Dialogue,
        reached: &Reached,
    ) -> bool {
        let questions = &self.versions[b.dialogue_version];
        // An answer to an id its version lacks may still be a column.
        let strays = sheet.has_strays();
        enough_answers(b, current, reached, |column| {
            strays
                || questions[column]
                    .as_ref()
                    .is_some_and(|c| sheet.get(c.question).is_some())
        })
    }

    /// Writes one ballot's row, showing what `vis` allows.
    fn write(
        &mut self,
        b: &BallotRow,
        sheet: &AnswerSheet,
        digest: &str,
        dialogue: &Dialogue,
        vis: &Visibility,
    ) -> Result<()> {
        self.render(b, sheet, digest, dialogue, vis);
        let line = std::mem::take(&mut self.line);
        let written = self.put(&line);
        self.line = line;
        written
    }

    /// Appends a row made already, keeping count of where the file ends.
    fn put(&mut self, line: &str) -> Result<()> {
        self.writer.write_all(line.as_bytes())?;
        self.position += line.len() as u64;
        Ok(())
    }

    /// Writes the rows waiting, front first, up to the first ballot still
    /// held back; past the window, that ballot is left for the end.
    fn catch_up(&mut self, current: &Dialogue, window: usize, reached: &Reached) -> Result<()> {
        while let Some(front) = self.waiting.pop_front() {
            match front {
                Waiting::Row(line) => {
                    self.put(&line)?;
                    self.waiting_bytes -= line.len();
                }
                Waiting::Held(h) => {
                    let row = h.ballot.row();
                    if self.settled(&row, &h.sheet, current, reached) {
                        let shown = Visibility::default();
                        self.write(&row, &h.sheet, &h.digest, &h.dialogue, &shown)?;
                    } else if self.waiting_bytes > window {
                        self.held.push((*h, self.position));
                    } else {
                        self.waiting.push_front(Waiting::Held(h));
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// At the end: writes every row waiting and leaves every ballot still
    /// held back for the rewrite.
    fn leave_for_the_end(&mut self) -> Result<()> {
        while let Some(w) = self.waiting.pop_front() {
            match w {
                Waiting::Row(line) => self.put(&line)?,
                Waiting::Held(h) => self.held.push((*h, self.position)),
            }
        }
        self.waiting_bytes = 0;
        Ok(())
    }

    /// Makes a ballot's row in `line`, showing what `vis` allows.
    fn render(
        &mut self,
        b: &BallotRow,
        sheet: &AnswerSheet,
        digest: &str,
        dialogue: &Dialogue,
        vis: &Visibility,
    ) {
        let questions = &self.versions[b.dialogue_version];
        let mut number = itoa::Buffer::new();
        let line = &mut self.line;
        line.clear();
        line.push_str(number.format(b.seq));
        line.push(',');
        field(line, b.receipt);
        line.push(',');
        line.push_str(number.format(b.batch));
        line.push(',');
        for fixed in [b.batch_date, b.unit, b.group] {
            field(line, fixed);
            line.push(',');
        }
        let mut complete = !vis.withheld;
        for (i, column) in questions.iter().enumerate() {
            let answer = column
                .as_ref()
                .and_then(|c| Some((c, sheet.get(c.question)?)));
            let shown = !vis.hides(i);
            complete &= shown || answer.is_none();
            if let (true, Some((column, answer))) = (shown, answer) {
                describe(line, dialogue, column, answer);
            }
            line.push(',');
        }
        // An answer to an id its version lacks is in the JSON too.
        complete &= !(sheet.has_strays() && vis.hides_any());
        if vis.withheld {
            field(line, WITHHELD);
        }
        // What the chain covers: with every answer published, the answers
        // and their salt (anyone can recompute the commitment); otherwise
        // the commitment alone, which cannot be tested against guesses.
        let (answers, salt) = if complete {
            (b.answers_json, b.salt)
        } else {
            ("", "")
        };
        for chain in [b.campaign, b.dialogue_id, b.dialogue_version, answers, salt] {
            line.push(',');
            text(line, chain);
        }
        // Hexadecimal: the chain check has just computed them (the hashes
        // it compared with), so they need no quoting.
        for hex in [digest, b.prev_hash, b.hash] {
            line.push(',');
            line.push_str(hex);
        }
        line.push_str("\r\n");
    }
}

/// Rewrites the file at `path` with `rows` inserted, each at its byte
/// offset (in order), so every row is in chain order.
fn merge(path: &Path, rows: &[(u64, String)]) -> Result<()> {
    use std::io::{Read, copy};
    let merged = path.with_extension("csv.merging");
    let mut from = std::io::BufReader::new(
        File::open(path).with_context(|| format!("reading {}", path.display()))?,
    );
    let mut to = BufWriter::new(
        File::create(&merged).with_context(|| format!("creating {}", merged.display()))?,
    );
    let mut at = 0u64;
    for (offset, line) in rows {
        copy(&mut (&mut from).take(offset - at), &mut to)?;
        at = *offset;
        to.write_all(line.as_bytes())?;
    }
    copy(&mut from, &mut to)?;
    to.flush()?;
    drop(to);
    std::fs::rename(&merged, path)
        .with_context(|| format!("replacing {} with its merged rows", path.display()))?;
    Ok(())
}

/// Appends an answer as published: option labels, numbers, neutralised text.
fn describe(out: &mut String, d: &Dialogue, column: &Column, a: &Answer) {
    let scale = d.scale_of(&d.questions()[column.question]);
    let label = |n: u16| {
        scale
            .and_then(|s| s.options.get(usize::from(n).wrapping_sub(1)))
            .map(|o| o.label.as_str())
    };
    match a {
        Answer::Choice(n) => match column.labels.get(usize::from(*n).wrapping_sub(1)) {
            Some(l) => out.push_str(l),
            None => out.push_str(&n.to_string()),
        },
        Answer::Choices(ns) => {
            let labels: Vec<String> = ns
                .iter()
                .map(|n| label(*n).map_or(n.to_string(), str::to_string))
                .collect();
            field(out, &labels.join("; "));
        }
        Answer::Text(t) => text(out, t),
        Answer::Number(x) => out.push_str(&format_number(*x)),
        Answer::Skipped => {}
    }
}
