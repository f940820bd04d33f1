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
                let known = self.cell(unit, group);
                if known.len() == cell.items.len() {
                    continue;
                }
                for (question, tally) in &cell.items {
                    if tally.valid >= self.min && !known.has(question) {
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

    /// How many questions have reached the minimum in the cell.
    fn len(&self) -> usize {
        self.0.map_or(0, FxHashSet::len)
    }
}

#[cfg(test)]
mod tests {
    use super::Reached;
    use crate::aggregate::{Aggregate, Tally};

    #[test]
    fn each_question_is_told_once_as_it_reaches_the_minimum() {
        let c = crate::campaign::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogues/thang-binh-2021"),
        )
        .unwrap();
        let mut tally = Reached::new(&c);
        let mut open = Reached::new(&c);
        let min = tally.min;
        let mut agg = Aggregate::default();
        let set = |agg: &mut Aggregate, q: &str, valid: u32| {
            let cell = agg.cells.entry("xa-a".into()).or_default();
            let items = &mut cell.entry("dan".into()).or_default().items;
            items.insert(
                q.into(),
                Tally {
                    valid,
                    ..Tally::default()
                },
            );
        };
        set(&mut agg, "a", min - 1);
        set(&mut agg, "b", min);
        let news = tally.catch_up(&agg);
        assert_eq!(news, [("xa-a".into(), "dan".into(), "b".into())]);
        open.learn(&news);
        assert!(open.cell("xa-a", "dan").has("b"));
        assert!(!open.cell("xa-a", "dan").has("a"), "a is one answer short");
        assert!(!open.cell("xa-b", "dan").has("b"), "only in its own cell");
        assert!(tally.catch_up(&agg).is_empty(), "told once");
        set(&mut agg, "a", min);
        let news = tally.catch_up(&agg);
        assert_eq!(news, [("xa-a".into(), "dan".into(), "a".into())]);
    }
}
