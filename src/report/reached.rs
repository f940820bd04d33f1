//! Which questions have reached the published minimum of valid answers in
//! their cell: all the open data needs to know of the tally while ballots
//! stream past, so the two can run on threads of their own.
//!
//! A question's valid answers only grow, so once it has reached the
//! minimum it stays there: the tally tells the open data each question
//! once, as it gets there ([`Reached::catch_up`]), and the open data adds
//! what it is told ([`Reached::learn`]).

use rustc_hash::{FxHashMap, FxHashSet};

use crate::aggregate::Aggregate;
use crate::campaign::Campaign;

/// A question that has reached the minimum in a cell: unit, group, question.
pub type News = Vec<(String, String, String)>;

/// Questions that have reached the minimum, by unit and group.
#[derive(Debug)]
pub struct Reached {
    min: u32,
    cells: FxHashMap<String, FxHashMap<String, FxHashSet<String>>>,
}

impl Reached {
    /// For the campaign's smallest published cell and question.
    pub fn new(c: &Campaign) -> Self {
        Self {
            min: c.scoring().min_cell.max(1),
            cells: FxHashMap::default(),
        }
    }

    /// What has reached the minimum in one cell.
    pub fn cell(&self, unit: &str, group: &str) -> InCell<'_> {
        InCell(self.cells.get(unit).and_then(|groups| groups.get(group)))
    }

    /// Takes note of every question `agg` has brought to the minimum since
    /// the last call, and returns them.
    pub fn catch_up(&mut self, agg: &Aggregate) -> News {
        let mut news = Vec::new();
        for (unit, groups) in &agg.cells {
            for (group, cell) in groups {
                let known = self
                    .cells
                    .get(unit)
                    .and_then(|groups| groups.get(group))
                    .map_or(0, FxHashSet::len);
                if known == cell.items.len() {
                    continue;
                }
                for (question, tally) in &cell.items {
                    if tally.valid >= self.min && !self.cell(unit, group).has(question) {
                        news.push((unit.clone(), group.clone(), question.clone()));
                    }
                }
            }
        }
        self.learn(&news);
        news
    }

    /// Adds what the tally has told.
    pub fn learn(&mut self, news: &News) {
        for (unit, group, question) in news {
            self.cells
                .entry(unit.clone())
                .or_default()
                .entry(group.clone())
                .or_default()
                .insert(question.clone());
        }
    }
}

/// The questions that have reached the minimum in one cell.
#[derive(Debug, Clone, Copy)]
pub struct InCell<'a>(Option<&'a FxHashSet<String>>);

impl InCell<'_> {
    pub fn has(&self, question: &str) -> bool {
        self.0.is_some_and(|questions| questions.contains(question))
    }
}
