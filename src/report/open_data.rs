//! The open-data files: every anonymous ballot, one CSV per questionnaire
//! (`phieu-<dialogue>.csv`), written as ballots stream past — in the same
//! pass as the tally — so memory does not grow with their number. A
//! respondent finds their ballot by the receipt code shown at the end of
//! the conversation; rows are in chain order except for the few held back
//! (below), and `Thứ tự` gives each its place.
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

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};

use super::csv::{BOM, field, row, text_field};
use crate::aggregate::{Aggregate, Cell};
use crate::ballot::StoredBallot;
use crate::campaign::Campaign;
use crate::dialogue::{Answer, Dialogue, QuestionKind, format_number};

/// What a ballot's row may show.
#[derive(Debug, Default)]
struct Visibility {
    /// Its whole cell is withheld.
    withheld: bool,
    /// Questions withheld in its cell.
    questions: HashSet<String>,
}

impl Visibility {
    fn withheld() -> Self {
        Self {
            withheld: true,
            questions: HashSet::new(),
        }
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
    /// Question ids, in column order.
    columns: Vec<String>,
    /// For each version answered on: column → question index in that version.
    versions: HashMap<String, Vec<Option<usize>>>,
    writer: BufWriter<File>,
    /// Bytes written so far.
    position: u64,
    /// Ballots held back, with where in the file each belongs.
    held: Vec<(StoredBallot, Arc<Dialogue>, u64)>,
    /// The row being made.
    line: String,
}

/// Writes the ballot files under one folder.
pub struct OpenData {
    dir: PathBuf,
    /// The campaign's smallest published cell and question.
    min: u32,
    /// unit → group → ballots, of the cells published, as counted before
    /// the pass.
    published: HashMap<String, HashMap<String, u32>>,
    /// By dialogue id.
    files: HashMap<String, OutFile>,
    /// The campaign's questionnaires, which give the columns.
    campaign_dialogues: HashMap<String, Arc<Dialogue>>,
    written: Vec<PathBuf>,
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
        let mut published: HashMap<String, HashMap<String, u32>> = HashMap::new();
        for (unit, group, n) in counts {
            if *n >= min && c.assessment_of(unit, group).is_some() {
                published
                    .entry(unit.clone())
                    .or_default()
                    .insert(group.clone(), *n);
            }
        }
        Self {
            dir: dir.to_path_buf(),
            min: min.max(1),
            published,
            files: HashMap::new(),
            campaign_dialogues: c
                .dialogues()
                .into_iter()
                .map(|d| (d.id().to_string(), d))
                .collect(),
            written: Vec::new(),
        }
    }

    /// Takes one ballot, answered on `dialogue`, once `agg` has counted it:
    /// writes it, or holds it back (to be written in its place at the end)
    /// while one of its choice answers may yet be suppressed.
    pub fn push(
        &mut self,
        b: &StoredBallot,
        dialogue: &Arc<Dialogue>,
        agg: &Aggregate,
    ) -> Result<()> {
        let ballot = &b.ballot;
        let published = self
            .published
            .get(&ballot.unit)
            .is_some_and(|groups| groups.contains_key(&ballot.group));
        if !published {
            return self.write(b, dialogue, &Visibility::withheld());
        }
        if self.settled(b, dialogue, agg.cell(&ballot.unit, &ballot.group)) {
            return self.write(b, dialogue, &Visibility::default());
        }
        let file = self.file_for(b, dialogue)?;
        file.held.push((b.clone(), dialogue.clone(), file.position));
        Ok(())
    }

    /// Whether every choice question the ballot answers already has
    /// `min_cell` valid answers in its cell (so it will be published).
    fn settled(&self, b: &StoredBallot, dialogue: &Dialogue, cell: Option<&Cell>) -> bool {
        let d = self
            .campaign_dialogues
            .get(&b.ballot.dialogue_id)
            .map_or(dialogue, |d| d.as_ref());
        d.questions()
            .iter()
            .filter(|q| is_item(d, q) && b.ballot.answers.contains_key(&q.id))
            .all(|q| valid(cell, &q.id) >= self.min)
    }

    /// Checks that the cells counted before the pass are the cells read
    /// (ballots appended in between would make them differ), writes the
    /// ballots held back in their places — their suppressed questions
    /// blank — and returns the files' paths.
    pub fn finish(mut self, agg: &Aggregate) -> Result<Vec<PathBuf>> {
        for (unit, group, n) in self
            .published
            .iter()
            .flat_map(|(u, groups)| groups.iter().map(move |(g, n)| (u, g, n)))
        {
            let read = agg.cell(unit, group).map_or(0, |c| c.ballots);
            if read != *n {
                anyhow::bail!(
                    "{unit}/{group}: {n} ballots counted but {read} read: ballots were added \
                     while the report was written; run it again"
                );
            }
        }
        let min = self.min;
        for file in self.files.values_mut() {
            file.writer.flush()?;
            if file.held.is_empty() {
                continue;
            }
            let held = std::mem::take(&mut file.held);
            let mut lines = Vec::with_capacity(held.len());
            for (b, d, at) in held {
                let cell = agg.cell(&b.ballot.unit, &b.ballot.group);
                let current = file.dialogue.clone();
                let questions = current
                    .questions()
                    .iter()
                    .filter(|q| is_item(&current, q) && valid(cell, &q.id) < min)
                    .map(|q| q.id.clone())
                    .collect();
                let vis = Visibility {
                    withheld: false,
                    questions,
                };
                file.render(&b, &d, &vis);
                lines.push((at, std::mem::take(&mut file.line)));
            }
            merge(&file.path, &lines)?;
        }
        Ok(self.written)
    }

    /// The file of a ballot's questionnaire (created with its header on the
    /// first ballot), knowing the columns of the ballot's version.
    fn file_for(&mut self, b: &StoredBallot, dialogue: &Arc<Dialogue>) -> Result<&mut OutFile> {
        let ballot = &b.ballot;
        if !self.files.contains_key(&ballot.dialogue_id) {
            let current = self
                .campaign_dialogues
                .get(&ballot.dialogue_id)
                .cloned()
                .unwrap_or_else(|| dialogue.clone());
            let file = self.create(current)?;
            self.files.insert(ballot.dialogue_id.clone(), file);
        }
        let file = self
            .files
            .get_mut(&ballot.dialogue_id)
            .expect("created above");
        if !file.versions.contains_key(&ballot.dialogue_version) {
            let map = file
                .columns
                .iter()
                .map(|id| dialogue.question_index(id))
                .collect();
            file.versions.insert(ballot.dialogue_version.clone(), map);
        }
        Ok(file)
    }

    /// Writes one ballot, answered on `dialogue`, showing what `vis` allows.
    fn write(
        &mut self,
        b: &StoredBallot,
        dialogue: &Arc<Dialogue>,
        vis: &Visibility,
    ) -> Result<()> {
        let file = self.file_for(b, dialogue)?;
        file.render(b, dialogue, vis);
        file.writer.write_all(file.line.as_bytes())?;
        file.position += file.line.len() as u64;
        Ok(())
    }

    fn create(&mut self, d: Arc<Dialogue>) -> Result<OutFile> {
        let path = self.dir.join(format!("phieu-{}.csv", d.id()));
        let f = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let mut writer = BufWriter::new(f);
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
            columns: d.questions().iter().map(|q| q.id.clone()).collect(),
            dialogue: d,
            versions: HashMap::new(),
            writer,
            position: header.len() as u64,
            held: Vec::new(),
            line: String::new(),
        })
    }
}

impl OutFile {
    /// Makes a ballot's row in `line`, showing what `vis` allows.
    fn render(&mut self, b: &StoredBallot, dialogue: &Dialogue, vis: &Visibility) {
        let ballot = &b.ballot;
        let questions = &self.versions[&ballot.dialogue_version];
        let withheld = vis.withheld;
        let line = &mut self.line;
        line.clear();
        let (seq, batch) = (ballot.seq.to_string(), ballot.batch.to_string());
        for fixed in [
            &seq,
            &ballot.receipt,
            &batch,
            &ballot.batch_date,
            &ballot.unit,
            &ballot.group,
        ] {
            field(line, fixed);
            line.push(',');
        }
        let mut complete = !withheld;
        for (column, q) in self.columns.iter().zip(questions) {
            let shown = !withheld && !vis.questions.contains(column);
            complete &= shown || !ballot.answers.contains_key(column);
            if let (true, Some(q)) = (shown, q)
                && let Some(answer) = ballot.answers.get(column)
            {
                describe(line, dialogue, *q, answer);
            }
            line.push(',');
        }
        if withheld {
            field(line, WITHHELD);
        }
        // What the chain covers: with every answer published, the answers
        // and their salt (anyone can recompute the commitment); otherwise
        // the commitment alone, which cannot be tested against guesses.
        let (answers, salt) = if complete {
            (ballot.answers_json(), ballot.salt.clone())
        } else {
            (String::new(), String::new())
        };
        for chain in [
            &ballot.campaign,
            &ballot.dialogue_id,
            &ballot.dialogue_version,
            &answers,
            &salt,
            &ballot.answers_digest(),
            &b.prev_hash,
            &b.hash,
        ] {
            line.push(',');
            field(line, &text_field(chain));
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
fn describe(out: &mut String, d: &Dialogue, question: usize, a: &Answer) {
    let scale = d.scale_of(&d.questions()[question]);
    let label = |n: u16| {
        scale
            .and_then(|s| s.options.get(usize::from(n).wrapping_sub(1)))
            .map(|o| o.label.as_str())
    };
    match a {
        Answer::Choice(n) => match label(*n) {
            Some(l) => field(out, l),
            None => out.push_str(&n.to_string()),
        },
        Answer::Choices(ns) => {
            let labels: Vec<String> = ns
                .iter()
                .map(|n| label(*n).map_or(n.to_string(), str::to_string))
                .collect();
            field(out, &labels.join("; "));
        }
        Answer::Text(t) => field(out, &text_field(t)),
        Answer::Number(x) => out.push_str(&format_number(*x)),
        Answer::Skipped => {}
    }
}
