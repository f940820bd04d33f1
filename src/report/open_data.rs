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

use anyhow::{Context, Result};

use super::Report;
use super::csv::{BOM, row, text_field};
use crate::campaign::Campaign;
use crate::dialogue::{Answer, Dialogue, format_number};
use crate::store::StoredBallot;

/// What a cell may publish of its ballots.
#[derive(Debug, Default)]
struct Visibility {
    /// The whole cell is withheld.
    withheld: bool,
    /// Questions withheld in this cell.
    questions: HashSet<String>,
}

/// Writes the ballot files under one folder.
pub struct OpenData {
    dir: PathBuf,
    /// unit → group → what may be shown.
    visible: HashMap<(String, String), Visibility>,
    /// dialogue id → (columns, file).
    files: HashMap<String, (Vec<String>, BufWriter<File>)>,
    /// Header texts of questions, by dialogue id.
    campaign_dialogues: HashMap<String, std::sync::Arc<Dialogue>>,
    written: Vec<PathBuf>,
}

/// Note in the "Ghi chú" column of a withheld ballot.
const WITHHELD: &str = "Đơn vị có ít phiếu của nhóm này: nội dung phiếu không công bố";

impl OpenData {
    pub fn new(dir: &Path, c: &Campaign, r: &Report) -> Self {
        let mut visible = HashMap::new();
        for (_, u) in r.units() {
            for cell in &u.cells {
                let questions = cell
                    .areas
                    .iter()
                    .flat_map(|a| &a.items)
                    .filter(|i| i.distribution.is_none())
                    .map(|i| i.id.clone())
                    .collect();
                visible.insert(
                    (u.id.clone(), cell.group.clone()),
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
                .map(|d| (d.id.clone(), d))
                .collect(),
            written: Vec::new(),
        }
    }

    /// Writes one ballot, answered on `dialogue`.
    pub fn push(&mut self, b: &StoredBallot, dialogue: &Dialogue) -> Result<()> {
        let ballot = &b.ballot;
        let current = self.campaign_dialogues.get(&ballot.dialogue_id).cloned();
        let columns_of = current.as_deref().unwrap_or(dialogue);
        if !self.files.contains_key(&ballot.dialogue_id) {
            let path = self.dir.join(format!("phieu-{}.csv", ballot.dialogue_id));
            let file =
                File::create(&path).with_context(|| format!("creating {}", path.display()))?;
            let mut w = BufWriter::new(file);
            let columns: Vec<String> = columns_of.questions.iter().map(|q| q.id.clone()).collect();
            let mut header = String::from(BOM);
            let fixed = ["Mã biên nhận", "Ngày", "Đơn vị", "Nhóm đối tượng"];
            row(
                &mut header,
                fixed
                    .iter()
                    .map(|s| s.to_string())
                    .chain(columns_of.questions.iter().map(|q| text_field(&q.short)))
                    .chain(["Ghi chú".to_string()]),
            );
            w.write_all(header.as_bytes())?;
            self.written.push(path);
            self.files.insert(ballot.dialogue_id.clone(), (columns, w));
        }
        let none = Visibility::default();
        let key = (ballot.unit.clone(), ballot.group.clone());
        let vis = self.visible.get(&key);
        let withheld = vis.is_none_or(|v| v.withheld);
        let vis = vis.unwrap_or(&none);
        let (columns, w) = self
            .files
            .get_mut(&ballot.dialogue_id)
            .expect("created above");
        let mut line = String::new();
        let answers = columns.iter().map(|q| {
            if withheld || vis.questions.contains(q) {
                return String::new();
            }
            match ballot.answers.get(q) {
                Some(a) => describe(dialogue, q, a),
                None => String::new(),
            }
        });
        row(
            &mut line,
            [
                b.receipt.clone(),
                ballot.submitted_on.clone(),
                ballot.unit.clone(),
                ballot.group.clone(),
            ]
            .into_iter()
            .chain(answers)
            .chain([if withheld {
                WITHHELD.to_string()
            } else {
                String::new()
            }]),
        );
        w.write_all(line.as_bytes())?;
        Ok(())
    }

    /// Flushes every file; returns their paths.
    pub fn finish(mut self) -> Result<Vec<PathBuf>> {
        for (_, (_, w)) in self.files.iter_mut() {
            w.flush()?;
        }
        Ok(self.written)
    }
}

/// An answer as published: option labels, numbers, neutralised text.
fn describe(d: &Dialogue, question: &str, a: &Answer) -> String {
    let q = d.questions.iter().find(|q| q.id == question);
    let scale = q.and_then(|q| d.scale_of(q));
    let label = |n: &u16| {
        scale
            .and_then(|s| s.options.get(usize::from(*n).wrapping_sub(1)))
            .map_or(n.to_string(), |o| o.label.clone())
    };
    match a {
        Answer::Choice(n) => label(n),
        Answer::Choices(ns) => ns.iter().map(label).collect::<Vec<_>>().join("; "),
        Answer::Text(t) => text_field(t),
        Answer::Number(x) => format_number(*x),
        Answer::Skipped => String::new(),
    }
}
