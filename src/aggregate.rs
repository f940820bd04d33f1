//! Aggregation: ballots folded into tallies per unit, respondent group and
//! question. Pure, and streaming: ballots are added one at a time, so memory
//! grows with the number of cells (and the free-text wishes), not of ballots.
//!
//! The indices are computed from these tallies in `report`, as practised in
//! Vietnam (SIPAS): an item's index is the share of its valid answers that
//! are positive, × 100 ("not applicable" answers are not valid).

use rustc_hash::FxHashMap;

use crate::ballot::{AnswerSheet, Ballot};
use crate::dialogue::{Answer, Dialogue, QuestionKind};

/// Answers to one choice question, for one unit and group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// The section (area) the question belongs to.
    pub area: String,
    pub valid: u32,
    pub not_applicable: u32,
    pub positive: u32,
    pub score_sum: f64,
    /// Answers per option, by 1-based option number − 1.
    pub options: Vec<u32>,
}

impl Tally {
    /// Share of valid answers that are positive, × 100.
    pub fn index(&self) -> Option<f64> {
        (self.valid > 0).then(|| f64::from(self.positive) * 100.0 / f64::from(self.valid))
    }

    pub fn mean_score(&self) -> Option<f64> {
        (self.valid > 0).then(|| self.score_sum / f64::from(self.valid))
    }
}

/// A free-text answer (a wish, a proposal) with the question it answers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Wish {
    pub question: String,
    pub text: String,
}

/// Everything one group said about one unit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    pub ballots: u32,
    /// By question id.
    pub items: FxHashMap<String, Tally>,
    pub wishes: Vec<Wish>,
}

/// Running totals over the ballots added so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Aggregate {
    /// unit → group → cell.
    pub cells: FxHashMap<String, FxHashMap<String, Cell>>,
    pub ballots: u64,
}

impl Aggregate {
    /// Adds one ballot, read with the dialogue version it was answered on.
    pub fn add(&mut self, ballot: &Ballot, dialogue: &Dialogue) {
        let sheet = AnswerSheet::of(&ballot.answers, dialogue);
        self.add_answers(&ballot.unit, &ballot.group, &sheet, dialogue);
    }

    /// Adds one ballot's answers to its unit and group, on the questions
    /// of the dialogue version it was answered on.
    pub fn add_answers(
        &mut self,
        unit: &str,
        group: &str,
        sheet: &AnswerSheet,
        dialogue: &Dialogue,
    ) {
        self.ballots += 1;
        let cell = entry(
            entry(&mut self.cells, unit, FxHashMap::default),
            group,
            Cell::default,
        );
        cell.ballots += 1;
        for (q, answer) in dialogue.questions().iter().zip(sheet.answers()) {
            let Some(answer) = answer else {
                continue;
            };
            let chosen: &[u16] = match (&q.kind, answer) {
                (QuestionKind::Text { .. }, Answer::Text(text)) => {
                    cell.wishes.push(Wish {
                        question: q.id.clone(),
                        text: text.clone(),
                    });
                    continue;
                }
                (QuestionKind::Choice { .. }, Answer::Choice(n)) => std::slice::from_ref(n),
                (QuestionKind::Multiple { .. }, Answer::Choices(ns)) => ns,
                _ => continue,
            };
            let Some(scale) = dialogue.scale_of(q) else {
                continue;
            };
            let tally = entry(&mut cell.items, &q.id, || Tally {
                area: dialogue.sections()[q.section].id.clone(),
                options: vec![0; scale.options.len()],
                ..Tally::default()
            });
            let mut counted = false;
            for &n in chosen {
                let Some(option) = scale.options.get(usize::from(n).wrapping_sub(1)) else {
                    continue;
                };
                if let Some(c) = tally.options.get_mut(usize::from(n) - 1) {
                    *c += 1;
                }
                if option.not_applicable {
                    tally.not_applicable += 1;
                } else if !counted {
                    // A multi-choice answer is one valid respondent.
                    counted = true;
                    tally.valid += 1;
                    tally.positive += u32::from(option.positive);
                    tally.score_sum += option.score.unwrap_or(0.0);
                }
            }
        }
    }

    /// The cell of one unit and group, if any ballot reached it.
    pub fn cell(&self, unit: &str, group: &str) -> Option<&Cell> {
        self.cells.get(unit)?.get(group)
    }

    /// Wishes of every cell in a fixed order, for outputs that must not
    /// depend on the order ballots were added in.
    pub fn sort_wishes(&mut self) {
        for groups in self.cells.values_mut() {
            for cell in groups.values_mut() {
                cell.wishes.sort();
            }
        }
    }
}

/// The entry for a borrowed key, allocating the key only when it is new.
fn entry<'a, V>(
    map: &'a mut FxHashMap<String, V>,
    key: &str,
    new: impl FnOnce() -> V,
) -> &'a mut V {
    if !map.contains_key(key) {
        map.insert(key.to_string(), new());
    }
    map.get_mut(key).expect("inserted above")
}

/// Mean of some values; `None` for none.
pub fn mean(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values
        .into_iter()
        .fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}
