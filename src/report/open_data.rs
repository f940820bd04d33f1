//! The open-data files: every anonymous ballot, one CSV per questionnaire
//! (`phieu-<dialogue>.csv`), written as ballots stream past so memory does
//! not grow with their number. A respondent finds their ballot by the
//! receipt code shown at the end of the conversation.
//!
//! What the published figures withhold, the ballots withhold too: a ballot
//! of a suppressed cell keeps its receipt, date, unit and group but none of
//! its answers, and in the other cells a question suppressed for too few
//! valid answers is left blank.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};

use super::Report;
use super::csv::{BOM, field, row, text_field};
use crate::ballot::StoredBallot;
use crate::campaign::Campaign;
use crate::dialogue::{Answer, Dialogue, format_number};

/// What a cell may publish of its ballots.
#[derive(Debug, Default)]
struct Visibility {
    /// The whole cell is withheld.
    withheld: bool,
    /// Questions withheld in this cell.
    questions: HashSet<String>,
}

/// One questionnaire's file.
struct OutFile {
    /// Question ids, in column order (the campaign's version of the questionnaire).
    columns: Vec<String>,
    /// For each version answered on: column → question index in that version.
    versions: HashMap<String, Vec<Option<usize>>>,
    writer: BufWriter<File>,
}

/// Writes the ballot files under one folder.
pub struct OpenData {
    dir: PathBuf,
    /// unit → group → what may be shown.
    visible: HashMap<String, HashMap<String, Visibility>>,
    /// By dialogue id.
    files: HashMap<String, OutFile>,
    /// The campaign's questionnaires, which give the columns.
    campaign_dialogues: HashMap<String, Arc<Dialogue>>,
    written: Vec<PathBuf>,
    line: String,
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
    pub fn new(dir: &Path, c: &Campaign, r: &Report) -> Self {
        let mut visible: HashMap<String, HashMap<String, Visibility>> = HashMap::new();
        for (_, u) in r.units() {
            for cell in &u.cells {
                let questions = cell
                    .areas
                    .iter()
                    .flat_map(|a| &a.items)
                    .filter(|i| i.distribution.is_none())
                    .map(|i| i.id.clone())
                    .collect();
                visible.entry(u.id.clone()).or_default().insert(
                    cell.group.clone(),
                    Visibility {
                        withheld: cell.ballots < r.min_cell,
                        questions,
                    },
                );
            }
        }
        Self {
            dir: dir.to_path_buf(),
            visible,
            files: HashMap::new(),
            campaign_dialogues: c
                .dialogues()
                .into_iter()
                .map(|d| (d.id().to_string(), d))
                .collect(),
            written: Vec::new(),
            line: String::new(),
        }
    }

    /// Writes one ballot, answered on `dialogue`.
    pub fn push(&mut self, b: &StoredBallot, dialogue: &Dialogue) -> Result<()> {
        let ballot = &b.ballot;
        if !self.files.contains_key(&ballot.dialogue_id) {
            let current = self.campaign_dialogues.get(&ballot.dialogue_id).cloned();
            let file = self.create(current.as_deref().unwrap_or(dialogue))?;
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
        let questions = &file.versions[&ballot.dialogue_version];
        let vis = self
            .visible
            .get(&ballot.unit)
            .and_then(|groups| groups.get(&ballot.group));
        let withheld = vis.is_none_or(|v| v.withheld);

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
        for (column, q) in file.columns.iter().zip(questions) {
            let shown = !withheld && vis.is_some_and(|v| !v.questions.contains(column));
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
        file.writer.write_all(line.as_bytes())?;
        Ok(())
    }

    fn create(&mut self, d: &Dialogue) -> Result<OutFile> {
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
        self.written.push(path);
        Ok(OutFile {
            columns: d.questions().iter().map(|q| q.id.clone()).collect(),
            versions: HashMap::new(),
            writer,
        })
    }

    /// Flushes every file; returns their paths.
    pub fn finish(mut self) -> Result<Vec<PathBuf>> {
        for f in self.files.values_mut() {
            f.writer.flush()?;
        }
        Ok(self.written)
    }
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
