//! The state machine itself.

use std::collections::BTreeMap;

use crate::dialogue::{Answer, Dialogue, QuestionKind};
use crate::text;

use super::answer;
use super::texts;
use super::{
    Action, At, BallotDraft, Button, Effect, Grid, GridRow, Input, Outcome, Reply, Session, UnitRef,
};

/// Starts a session on `dialogue` for `units` (at least one).
pub fn start(dialogue: &Dialogue, units: Vec<UnitRef>) -> Outcome {
    let mut m = Machine {
        d: dialogue,
        s: Session {
            dialogue_id: dialogue.id.clone(),
            dialogue_version: dialogue.version.clone(),
            units,
            unit: 0,
            sent: 0,
            answers: BTreeMap::new(),
            at: At::Finished,
            step: 0,
        },
        replies: Vec::new(),
        effect: None,
    };
    let intro = dialogue
        .messages
        .intro
        .replace("{title}", &dialogue.title)
        .replace("{units}", &m.s.units.len().to_string());
    m.say(intro);
    m.begin_unit();
    m.finish()
}

/// Advances a session by one input. Never panics; an input that makes no
/// sense where the respondent is gets a polite reply and changes nothing.
pub fn step(dialogue: &Dialogue, session: &Session, input: Input) -> Outcome {
    let mut m = Machine {
        d: dialogue,
        s: session.clone(),
        replies: Vec::new(),
        effect: None,
    };
    // A session refers to its own dialogue version, so its question index is
    // valid; a damaged one restarts the current unit instead of panicking.
    let damaged = match &m.s.at {
        At::Asking { question, .. } => *question >= dialogue.questions.len(),
        At::ConfirmCancel { back } => {
            matches!(**back, At::Asking { question, .. } if question >= dialogue.questions.len())
        }
        _ => false,
    };
    if damaged || m.s.dialogue_version != dialogue.version {
        m.begin_unit();
        return m.finish();
    }
    m.input(input);
    m.finish()
}

struct Machine<'a> {
    d: &'a Dialogue,
    s: Session,
    replies: Vec<Reply>,
    effect: Option<Effect>,
}

impl Machine<'_> {
    fn finish(self) -> Outcome {
        Outcome {
            session: self.s,
            replies: self.replies,
            effect: self.effect,
        }
    }

    fn say(&mut self, text: impl Into<String>) {
        self.replies.push(Reply::text(text, self.s.step));
    }

    /// Moves to `at` and shows its prompt under a new step number.
    fn go(&mut self, at: At) {
        self.s.at = at;
        self.s.step = self.s.step.wrapping_add(1);
        self.prompt();
    }

    fn input(&mut self, input: Input) {
        match input {
            Input::Resume => {
                if !matches!(self.s.at, At::Finished | At::Submitting) {
                    self.say(texts::RESUME);
                }
                self.prompt();
            }
            Input::Stored { receipt } => {
                if self.s.at == At::Submitting {
                    self.s.sent += 1;
                    let unit = self.unit_name();
                    let msg = self
                        .d
                        .messages
                        .submitted
                        .replace("{unit}", &unit)
                        .replace("{receipt}", &receipt);
                    self.say(msg);
                    self.next_unit();
                } else {
                    self.prompt();
                }
            }
            Input::Refused { message, end } => {
                if self.s.at == At::Submitting {
                    self.say(message);
                    if end {
                        self.s.answers.clear();
                        self.s.at = At::Finished;
                        self.s.step = self.s.step.wrapping_add(1);
                    } else {
                        self.next_unit();
                    }
                } else {
                    self.prompt();
                }
            }
            Input::BadPress => {
                self.say(texts::BAD_PRESS);
                self.prompt();
            }
            Input::Press { step, action } => {
                if step != self.s.step {
                    if !matches!(self.s.at, At::Finished | At::Submitting) {
                        self.say(texts::STALE);
                    }
                    self.prompt();
                } else {
                    self.act(action, None);
                }
            }
            Input::Text(typed) => self.typed(&typed),
        }
    }

    /// Interprets typed text as a keyword, or as an answer.
    fn typed(&mut self, typed: &str) {
        let folded = text::fold(typed);
        let keyword = keyword(&folded);
        match self.s.at.clone() {
            At::Asking { question, .. } => {
                let q = &self.d.questions[question];
                if typed.trim().is_empty() && !matches!(q.kind, QuestionKind::Text { .. }) {
                    self.say(texts::EMPTY);
                    self.prompt();
                    return;
                }
                // An answer the question understands wins over a keyword
                // (a scale may have an option called "Không"); on a free-text
                // question only a bare keyword is a command.
                let parsed = answer::parse(self.d, q, typed);
                let command = keyword.filter(|k| {
                    !matches!(k, Action::CancelYes | Action::CancelNo | Action::Confirm)
                });
                match (parsed, command) {
                    (Ok(a), None) => self.act(Action::Keep, Some(a)),
                    (Ok(a), Some(_)) if !matches!(q.kind, QuestionKind::Text { .. }) => {
                        self.act(Action::Keep, Some(a))
                    }
                    (_, Some(k)) => self.act(k, None),
                    (Err(why), None) => {
                        self.say(why);
                        self.prompt();
                    }
                }
            }
            At::Review => {
                if let Some(k) = keyword {
                    self.act(k, None);
                } else if let Some(n) = edit_number(&folded) {
                    self.act(Action::Edit(n), None);
                } else {
                    self.say(texts::REVIEW_HINT);
                    self.prompt();
                }
            }
            At::ConfirmCancel { .. } => match keyword {
                Some(Action::CancelYes | Action::CancelNo | Action::Back | Action::Help) => {
                    self.act(keyword.unwrap_or(Action::Help), None)
                }
                _ => self.prompt(),
            },
            At::Submitting | At::Finished => self.prompt(),
        }
    }

    /// Applies an action; `given` is a typed answer to record first.
    fn act(&mut self, action: Action, given: Option<Answer>) {
        match (self.s.at.clone(), action) {
            (
                At::Asking {
                    question,
                    from_review,
                    ..
                },
                _,
            ) if given.is_some() => {
                self.record(question, given.unwrap_or(Answer::Skipped), from_review);
            }
            (
                At::Asking {
                    question,
                    from_review,
                    picked,
                },
                Action::Pick(n),
            ) => self.pick(question, from_review, picked, n),
            (
                At::Asking {
                    question,
                    from_review,
                    picked,
                },
                Action::Done,
            ) => {
                let q = &self.d.questions[question];
                match (&q.kind, picked.is_empty()) {
                    (QuestionKind::Multiple { .. }, false) => {
                        let mut p = picked;
                        p.sort_unstable();
                        self.record(question, Answer::Choices(p), from_review);
                    }
                    (QuestionKind::Multiple { .. }, true) if self.s.answers.contains_key(&q.id) => {
                        self.record_existing(question, from_review)
                    }
                    (QuestionKind::Multiple { .. }, true) if !q.required => {
                        self.record(question, Answer::Skipped, from_review)
                    }
                    (QuestionKind::Multiple { .. }, true) => {
                        self.say(texts::REQUIRED);
                        self.prompt();
                    }
                    _ => self.not_now(),
                }
            }
            (
                At::Asking {
                    question,
                    from_review,
                    ..
                },
                Action::Keep,
            ) => {
                if self.s.answers.contains_key(&self.d.questions[question].id) {
                    self.record_existing(question, from_review);
                } else {
                    self.say(texts::NOTHING_TO_KEEP);
                    self.prompt();
                }
            }
            (
                At::Asking {
                    question,
                    from_review,
                    ..
                },
                Action::Skip,
            ) => {
                if self.d.questions[question].required {
                    self.say(texts::REQUIRED);
                    self.prompt();
                } else {
                    self.record(question, Answer::Skipped, from_review);
                }
            }
            (
                At::Asking {
                    question,
                    from_review,
                    ..
                },
                Action::Back,
            ) => {
                if from_review {
                    self.go(At::Review);
                } else {
                    match self.previous_visible(question) {
                        Some(p) => self.ask(p, false),
                        None => {
                            self.say(texts::FIRST_QUESTION);
                            self.prompt();
                        }
                    }
                }
            }
            (
                At::Asking {
                    from_review: true, ..
                },
                Action::Review,
            ) => self.go(At::Review),
            (At::Asking { .. } | At::Review, Action::Set(q, n)) => self.set(q, n),
            (At::Review, Action::Confirm) => self.submit(),
            (At::Review, Action::Edit(n)) => {
                let visible = self.visible();
                match visible.get(usize::from(n).wrapping_sub(1)) {
                    Some(&q) => self.ask(q, true),
                    None => self.not_now(),
                }
            }
            (At::Review, Action::Back) => match self.visible().last() {
                Some(&q) => self.ask(q, false),
                None => self.not_now(),
            },
            (at @ (At::Asking { .. } | At::Review), Action::Cancel) => {
                self.go(At::ConfirmCancel { back: Box::new(at) })
            }
            (At::ConfirmCancel { .. }, Action::CancelYes) => {
                self.s.answers.clear();
                self.s.at = At::Finished;
                self.s.step = self.s.step.wrapping_add(1);
                let msg = self.d.messages.cancelled.clone();
                self.say(msg);
            }
            (At::ConfirmCancel { back }, Action::CancelNo | Action::Back) => self.go(*back),
            (At::Finished | At::Submitting, _) => self.prompt(),
            (_, Action::Help) => {
                let remaining = self
                    .s
                    .remaining_units()
                    .iter()
                    .map(|u| u.name.clone())
                    .collect::<Vec<_>>();
                self.say(texts::help(&remaining));
                self.prompt();
            }
            _ => self.not_now(),
        }
    }

    /// The compact form: answer any question of the unit, then go to the
    /// first one still open (or the review).
    fn set(&mut self, q: u16, n: u16) {
        let visible = self.visible();
        let Some(&question) = visible.get(usize::from(q).wrapping_sub(1)) else {
            return self.not_now();
        };
        let count = self
            .d
            .scale_of(&self.d.questions[question])
            .map_or(0, |s| s.options.len());
        if !matches!(self.d.questions[question].kind, QuestionKind::Choice { .. })
            || n == 0
            || usize::from(n) > count
        {
            self.say(texts::BAD_PRESS);
            return self.prompt();
        }
        let id = self.d.questions[question].id.clone();
        self.s.answers.insert(id, Answer::Choice(n));
        match self.first_unanswered() {
            Some(next) => self.ask(next, false),
            None => self.go(At::Review),
        }
    }

    /// The unit as a grid, when the dialogue has the shape for one.
    fn grid(&self) -> Option<Grid> {
        let scale = &self.d.scales[self.d.grid_scale()?];
        let unit = self.s.current_unit()?;
        let options: Vec<String> = scale
            .options
            .iter()
            .enumerate()
            .map(|(i, o)| {
                if o.not_applicable {
                    "?".to_string()
                } else {
                    (i + 1).to_string()
                }
            })
            .collect();
        let legend = scale
            .options
            .iter()
            .zip(&options)
            .map(|(o, short)| format!("{short} = {}", o.label))
            .collect::<Vec<_>>()
            .join(" · ");
        let rows: Vec<GridRow> = self
            .visible()
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let q = &self.d.questions[i];
                let answer = match self.s.answers.get(&q.id) {
                    Some(a @ Answer::Choice(n)) => Some((*n, self.d.describe(q, a))),
                    _ => None,
                };
                GridRow {
                    number: k as u16 + 1,
                    label: q.short.clone(),
                    answer,
                }
            })
            .collect();
        Some(Grid {
            title: format!("{} ({}/{})", unit.name, self.s.unit + 1, self.s.units.len()),
            legend,
            options,
            complete: rows.iter().all(|r| r.answer.is_some()),
            rows,
        })
    }

    fn not_now(&mut self) {
        self.say(texts::NOT_NOW);
        self.prompt();
    }

    fn pick(&mut self, question: usize, from_review: bool, mut picked: Vec<u16>, n: u16) {
        let q = &self.d.questions[question];
        let count = self.d.scale_of(q).map_or(0, |s| s.options.len());
        if n == 0 || usize::from(n) > count {
            self.say(texts::BAD_PRESS);
            self.prompt();
            return;
        }
        match q.kind {
            QuestionKind::Choice { .. } => self.record(question, Answer::Choice(n), from_review),
            QuestionKind::Multiple { max_choices, .. } => {
                if picked.is_empty()
                    && let Some(Answer::Choices(old)) = self.s.answers.get(&q.id)
                {
                    picked = old.clone();
                }
                if let Some(i) = picked.iter().position(|p| *p == n) {
                    picked.remove(i);
                } else if picked.len() >= max_choices {
                    self.say(texts::too_many_choices(max_choices));
                    self.prompt();
                    return;
                } else {
                    picked.push(n);
                }
                self.go(At::Asking {
                    question,
                    from_review,
                    picked,
                });
            }
            _ => self.not_now(),
        }
    }

    fn record(&mut self, question: usize, answer: Answer, from_review: bool) {
        let id = self.d.questions[question].id.clone();
        self.s.answers.insert(id, answer);
        self.record_existing(question, from_review);
    }

    /// Goes on after `question` has an answer.
    fn record_existing(&mut self, question: usize, from_review: bool) {
        let next = if from_review {
            self.first_unanswered()
        } else {
            self.visible().into_iter().find(|&q| q > question)
        };
        match next {
            Some(q) => self.ask(q, from_review),
            None => match self.first_unanswered() {
                Some(q) => self.ask(q, from_review),
                None => self.go(At::Review),
            },
        }
    }

    fn ask(&mut self, question: usize, from_review: bool) {
        self.go(At::Asking {
            question,
            from_review,
            picked: Vec::new(),
        });
    }

    fn submit(&mut self) {
        if let Some(q) = self.first_unanswered() {
            self.ask(q, true);
            return;
        }
        let visible = self.visible();
        let answers = visible
            .iter()
            .filter_map(|&i| {
                let id = &self.d.questions[i].id;
                self.s.answers.get(id).map(|a| (id.clone(), a.clone()))
            })
            .collect();
        let Some(unit) = self.s.current_unit() else {
            self.s.at = At::Finished;
            return;
        };
        self.effect = Some(Effect::Submit(BallotDraft {
            unit: unit.id.clone(),
            dialogue_id: self.d.id.clone(),
            dialogue_version: self.d.version.clone(),
            answers,
        }));
        self.s.at = At::Submitting;
        self.s.step = self.s.step.wrapping_add(1);
    }

    fn begin_unit(&mut self) {
        self.s.answers.clear();
        let Some(unit) = self.s.current_unit().cloned() else {
            self.s.at = At::Finished;
            return;
        };
        if self.d.per_unit {
            let remaining = self
                .s
                .remaining_units()
                .iter()
                .skip(1)
                .map(|u| u.name.as_str())
                .collect::<Vec<_>>();
            let msg = self
                .d
                .messages
                .unit_intro
                .replace("{unit}", &unit.name)
                .replace("{index}", &(self.s.unit + 1).to_string())
                .replace("{total}", &self.s.units.len().to_string())
                .replace(
                    "{remaining}",
                    &if remaining.is_empty() {
                        "không còn".to_string()
                    } else {
                        remaining.join(", ")
                    },
                );
            self.say(msg);
        }
        match self.visible().first() {
            Some(&q) => self.ask(q, false),
            None => self.go(At::Review),
        }
    }

    fn next_unit(&mut self) {
        self.s.unit += 1;
        if self.s.unit < self.s.units.len() {
            self.begin_unit();
        } else {
            self.s.answers.clear();
            self.s.at = At::Finished;
            self.s.step = self.s.step.wrapping_add(1);
            let msg = self
                .d
                .messages
                .thanks
                .replace("{count}", &self.s.sent.to_string());
            self.say(msg);
        }
    }

    fn unit_name(&self) -> String {
        self.s
            .current_unit()
            .map(|u| u.name.clone())
            .unwrap_or_default()
    }

    /// Indices of the questions asked given the answers so far.
    fn visible(&self) -> Vec<usize> {
        let mut shown = vec![false; self.d.questions.len()];
        for (i, q) in self.d.questions.iter().enumerate() {
            shown[i] = match &q.show_if {
                None => true,
                Some(c) => {
                    shown[c.question]
                        && c.test
                            .holds(self.s.answers.get(&self.d.questions[c.question].id))
                }
            };
        }
        (0..shown.len()).filter(|&i| shown[i]).collect()
    }

    /// Questions that may still be asked: visible ones plus those whose
    /// condition depends on a question not answered yet.
    fn expected_count(&self) -> usize {
        let mut shown = vec![false; self.d.questions.len()];
        for (i, q) in self.d.questions.iter().enumerate() {
            shown[i] = match &q.show_if {
                None => true,
                Some(c) => {
                    let target = &self.d.questions[c.question].id;
                    shown[c.question]
                        && match self.s.answers.get(target) {
                            None => true,
                            a => c.test.holds(a),
                        }
                }
            };
        }
        shown.iter().filter(|s| **s).count()
    }

    fn previous_visible(&self, question: usize) -> Option<usize> {
        self.visible().into_iter().rev().find(|&q| q < question)
    }

    fn first_unanswered(&self) -> Option<usize> {
        self.visible()
            .into_iter()
            .find(|&q| !self.s.answers.contains_key(&self.d.questions[q].id))
    }

    /// Shows where the respondent is (without changing anything).
    fn prompt(&mut self) {
        let step = self.s.step;
        let reply = match self.s.at.clone() {
            At::Asking {
                question,
                from_review,
                picked,
            } => self.question_reply(question, from_review, &picked),
            At::Review => self.review_reply(),
            At::ConfirmCancel { .. } => Reply {
                text: texts::CONFIRM_CANCEL.to_string(),
                choices: Vec::new(),
                controls: vec![
                    button(
                        texts::CANCEL_YES,
                        Action::CancelYes,
                        texts::CANCEL_YES_TYPED,
                    ),
                    button(texts::CANCEL_NO, Action::CancelNo, texts::CANCEL_NO_TYPED),
                ],
                step,
                grid: None,
            },
            At::Submitting => Reply::text(texts::SUBMITTING, step),
            At::Finished => Reply::text(texts::FINISHED, step),
        };
        self.replies.push(reply);
    }

    fn question_reply(&self, question: usize, from_review: bool, picked: &[u16]) -> Reply {
        let q = &self.d.questions[question];
        let visible = self.visible();
        let k = visible
            .iter()
            .position(|&v| v == question)
            .map_or(1, |p| p + 1);
        let n = self.expected_count().max(k);
        let mut text = String::new();
        if let Some(u) = self.s.current_unit() {
            if self.s.units.len() > 1 {
                text.push_str(&format!(
                    "{} ({}/{})\n",
                    u.name,
                    self.s.unit + 1,
                    self.s.units.len()
                ));
            } else {
                text.push_str(&format!("{}\n", u.name));
            }
        }
        let section = &self.d.sections[q.section];
        text.push_str(&format!(
            "{} {k}/{n} · {}\n\n{}",
            texts::PROGRESS,
            section.title,
            q.text
        ));
        if let Some(h) = &q.hint {
            text.push_str(&format!("\n({h})"));
        }
        let current = self.s.answers.get(&q.id);
        if let Some(a) = current {
            text.push_str(&format!(
                "\n\n{}: {}",
                texts::CURRENT_ANSWER,
                self.d.describe(q, a)
            ));
        }
        let mut choices = Vec::new();
        let mut controls = Vec::new();
        match &q.kind {
            QuestionKind::Choice { .. } | QuestionKind::Multiple { .. } => {
                let multiple = matches!(q.kind, QuestionKind::Multiple { .. });
                let selected: Vec<u16> = match (multiple, current) {
                    (true, _) if !picked.is_empty() => picked.to_vec(),
                    (_, Some(Answer::Choice(n))) => vec![*n],
                    (_, Some(Answer::Choices(ns))) => ns.clone(),
                    _ => Vec::new(),
                };
                if let Some(scale) = self.d.scale_of(q) {
                    for (i, o) in scale.options.iter().enumerate() {
                        let n = i as u16 + 1;
                        choices.push(Button {
                            label: o.label.clone(),
                            action: Action::Pick(n),
                            typed: n.to_string(),
                            selected: selected.contains(&n),
                        });
                    }
                }
                if multiple {
                    controls.push(button(texts::DONE, Action::Done, texts::DONE_TYPED));
                }
            }
            QuestionKind::Text { max_length, .. } => {
                text.push_str(&format!(
                    "\n\n{}",
                    texts::text_hint(*max_length, q.required)
                ));
            }
            QuestionKind::Number { min, max, .. } => {
                text.push_str(&format!("\n\n({})", texts::number_out_of_range(*min, *max)));
            }
        }
        if from_review {
            controls.push(button(texts::REVIEW, Action::Back, texts::REVIEW_TYPED));
        } else if k > 1 {
            controls.push(button(texts::BACK, Action::Back, texts::BACK_TYPED));
        }
        if current.is_some() && !matches!(q.kind, QuestionKind::Multiple { .. }) {
            controls.push(button(texts::KEEP, Action::Keep, texts::KEEP_TYPED));
        }
        if !q.required {
            controls.push(button(texts::SKIP, Action::Skip, texts::SKIP_TYPED));
        }
        controls.push(button(texts::CANCEL, Action::Cancel, texts::CANCEL_TYPED));
        Reply {
            text,
            choices,
            controls,
            step: self.s.step,
            grid: self.grid(),
        }
    }

    fn review_reply(&self) -> Reply {
        let mut text = self.d.messages.review.replace("{unit}", &self.unit_name());
        let mut choices = Vec::new();
        for (k, &i) in self.visible().iter().enumerate() {
            let q = &self.d.questions[i];
            let answer = self
                .s
                .answers
                .get(&q.id)
                .map_or_else(String::new, |a| self.d.describe(q, a));
            text.push_str(&format!("\n{}. {} — {}", k + 1, q.short, answer));
            choices.push(Button {
                label: texts::edit_label(k + 1),
                action: Action::Edit(k as u16 + 1),
                typed: (k + 1).to_string(),
                selected: false,
            });
        }
        text.push_str(&format!("\n\n{}", texts::REVIEW_HINT));
        Reply {
            text,
            choices,
            controls: vec![
                button(texts::CONFIRM, Action::Confirm, texts::CONFIRM_TYPED),
                button(texts::BACK, Action::Back, texts::BACK_TYPED),
                button(texts::CANCEL, Action::Cancel, texts::CANCEL_TYPED),
            ],
            step: self.s.step,
            grid: self.grid(),
        }
    }
}

fn button(label: &str, action: Action, typed: &str) -> Button {
    Button {
        label: label.to_string(),
        action,
        typed: typed.to_string(),
        selected: false,
    }
}

/// A typed keyword (folded text) → the action it names.
fn keyword(folded: &str) -> Option<Action> {
    let f = folded.strip_prefix('/').unwrap_or(folded);
    Some(match f {
        "quay lai" | "lai" | "back" | "tro lai" | "truoc" => Action::Back,
        "bo qua" | "skip" => Action::Skip,
        "giu" | "giu nguyen" | "tiep" | "keep" => Action::Keep,
        "xong" | "done" => Action::Done,
        "xem lai" | "review" => Action::Review,
        "gui" | "gui phieu" | "xac nhan" | "dong y" | "ok" | "send" | "confirm" => Action::Confirm,
        "huy" | "cancel" | "huy phieu" => Action::Cancel,
        "co" | "yes" | "co huy" => Action::CancelYes,
        "khong" | "no" => Action::CancelNo,
        "tro giup" | "giup" | "help" | "huong dan" => Action::Help,
        _ => return None,
    })
}

/// `"3"` or `"sua 3"` on the review screen → 3.
fn edit_number(folded: &str) -> Option<u16> {
    let n = folded.strip_prefix("sua ").unwrap_or(folded).trim();
    (!n.is_empty() && n.len() <= 4 && n.bytes().all(|b| b.is_ascii_digit()))
        .then(|| n.parse().ok())
        .flatten()
}
