//! Skip logic as queries: which questions are asked, given the answers so far.

use std::collections::BTreeMap;

use super::{Answer, Dialogue};

/// Answers so far, by question id.
pub type Answers = BTreeMap<String, Answer>;

impl Dialogue {
    /// Indices of the questions asked given `answers`, in order.
    pub fn visible(&self, answers: &Answers) -> Vec<usize> {
        let shown = self.shown(|i, test_holds| test_holds(answers.get(&self.questions[i].id)));
        (0..shown.len()).filter(|&i| shown[i]).collect()
    }

    /// How many questions may still be asked: the visible ones plus those
    /// whose condition depends on a question not answered yet.
    pub fn expected_count(&self, answers: &Answers) -> usize {
        let shown = self.shown(|i, test_holds| match answers.get(&self.questions[i].id) {
            None => true,
            a => test_holds(a),
        });
        shown.iter().filter(|s| **s).count()
    }

    /// The visible question before `question`, if any.
    pub fn previous_visible(&self, answers: &Answers, question: usize) -> Option<usize> {
        self.visible(answers)
            .into_iter()
            .rev()
            .find(|&q| q < question)
    }

    /// The first visible question without an answer.
    pub fn first_unanswered(&self, answers: &Answers) -> Option<usize> {
        self.visible(answers)
            .into_iter()
            .find(|&q| !answers.contains_key(&self.questions[q].id))
    }

    /// Which questions are shown: a question without a condition always is;
    /// one with a condition is when the question it depends on is shown and
    /// `passes(that question, its test)` says so. Conditions only look back
    /// (the compiler checks it), so one pass in order is enough.
    fn shown(&self, passes: impl Fn(usize, &dyn Fn(Option<&Answer>) -> bool) -> bool) -> Vec<bool> {
        let mut shown = vec![false; self.questions.len()];
        for (i, q) in self.questions.iter().enumerate() {
            shown[i] = match &q.show_if {
                None => true,
                Some(c) => shown[c.question] && passes(c.question, &|a| c.test.holds(a)),
            };
        }
        shown
    }
}
