//! The transitions of the state machine: what each input does to a session.
//! What the respondent is shown afterwards is `view.rs`; which questions
//! are asked is `dialogue/visibility.rs`.

use std::collections::BTreeMap;

use crate::dialogue::{Answer, Dialogue, QuestionKind};
use crate::text;

use super::keywords::{edit_number, greeting, keyword};
use super::view::view;
use super::{
    Action, At, BallotDraft, Effect, Input, Outcome, Reply, Session, UnitRef, answer, texts,
};

/// Starts a session on `dialogue` for `units` (at least one).
pub fn start(dialogue: &Dialogue, units: Vec<UnitRef>) -> Outcome {
    let mut m = Machine {
        dialogue,
        session: Session {
            dialogue_id: dialogue.id().to_string(),
            dialogue_version: dialogue.version().to_string(),
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
        .messages()
        .intro
        .replace("{title}", dialogue.title())
        .replace("{units}", &m.session.units.len().to_string());
    m.say(intro);
    m.begin_unit();
    m.finish()
}

/// Advances a session by one input. Never panics; an input that makes no
/// sense where the respondent is gets a polite reply and changes nothing.
pub fn step(dialogue: &Dialogue, session: &Session, input: Input) -> Outcome {
    let mut m = Machine {
        dialogue,
        session: session.clone(),
        replies: Vec::new(),
        effect: None,
    };
    // A session refers to its own dialogue version, so its question index is
    // valid; a damaged one restarts the current unit instead of panicking.
    let damaged = match &m.session.at {
        At::Asking { question, .. } => *question >= dialogue.questions().len(),
        At::ConfirmCancel { back } => {
            matches!(**back, At::Asking { question, .. } if question >= dialogue.questions().len())
        }
        _ => false,
    };
    if damaged || m.session.dialogue_version != dialogue.version() {
        m.begin_unit();
        return m.finish();
    }
    m.input(input);
    m.finish()
}

/// A session being moved by one input: the dialogue it runs on, the
/// session as it becomes, and what the step says and asks for.
struct Machine<'a> {
    dialogue: &'a Dialogue,
    session: Session,
    replies: Vec<Reply>,
    effect: Option<Effect>,
}

impl Machine<'_> {
    fn finish(self) -> Outcome {
        Outcome {
            session: self.session,
            replies: self.replies,
            effect: self.effect,
        }
    }

    fn say(&mut self, text: impl Into<String>) {
        self.replies.push(Reply::text(text, self.session.step));
    }

    /// Moves to `at` and shows its prompt under a new step number.
    fn go(&mut self, at: At) {
        self.session.at = at;
        self.session.step = self.session.step.wrapping_add(1);
        self.prompt();
    }

    fn input(&mut self, input: Input) {
        match input {
            Input::Resume => {
                if !matches!(self.session.at, At::Finished | At::Submitting) {
                    self.say(texts::resume(self.dialogue.address()));
                }
                self.prompt();
            }
            Input::Stored { receipt } => {
                if self.session.at == At::Submitting {
                    self.session.sent += 1;
                    let unit = self.unit_name();
                    let msg = self
                        .dialogue
                        .messages()
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
                if self.session.at == At::Submitting {
                    self.say(message);
                    if end {
                        self.session.answers.clear();
                        self.session.at = At::Finished;
                        self.session.step = self.session.step.wrapping_add(1);
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
                if step != self.session.step {
                    if !matches!(self.session.at, At::Finished | At::Submitting) {
                        self.say(texts::stale(self.dialogue.address()));
                    }
                    self.prompt();
                } else {
                    self.act(action, None);
                }
            }
            Input::Command(action) => self.act(action, None),
            Input::Text(typed) => self.typed(&typed),
        }
    }

    /// Interprets typed text as a keyword, or as an answer.
    fn typed(&mut self, typed: &str) {
        let folded = text::fold(typed);
        if greeting(&folded) && !self.expects_text() {
            return self.input(Input::Resume);
        }
        let keyword = keyword(&folded);
        match self.session.at.clone() {
            At::Asking { question, .. } => {
                let q = &self.dialogue.questions()[question];
                if typed.trim().is_empty() && !matches!(q.kind, QuestionKind::Text { .. }) {
                    self.say(texts::EMPTY);
                    self.prompt();
                    return;
                }
                if self.typed_row(typed) {
                    return;
                }
                // An answer the question understands wins over a keyword
                // (a scale may have an option called "Không"); on a free-text
                // question only a bare keyword is a command.
                let parsed = answer::parse(self.dialogue, q, typed);
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
                } else if !self.typed_row(typed) {
                    self.say(texts::REVIEW_AGAIN);
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
        match (self.session.at.clone(), action) {
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
                let q = &self.dialogue.questions()[question];
                match (&q.kind, picked.is_empty()) {
                    (QuestionKind::Multiple { .. }, false) => {
                        let mut p = picked;
                        p.sort_unstable();
                        self.record(question, Answer::Choices(p), from_review);
                    }
                    (QuestionKind::Multiple { .. }, true)
                        if self.session.answers.contains_key(&q.id) =>
                    {
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
                if self
                    .session
                    .answers
                    .contains_key(&self.dialogue.questions()[question].id)
                {
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
                if self.dialogue.questions()[question].required {
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
                self.session.answers.clear();
                self.session.at = At::Finished;
                self.session.step = self.session.step.wrapping_add(1);
                let msg = self.dialogue.messages().cancelled.clone();
                self.say(msg);
            }
            (At::ConfirmCancel { back }, Action::CancelNo | Action::Back) => self.go(*back),
            (At::Finished | At::Submitting, _) => self.prompt(),
            (_, Action::Help) => {
                let remaining = self
                    .session
                    .remaining_units()
                    .iter()
                    .map(|u| u.name.clone())
                    .collect::<Vec<_>>();
                self.say(texts::help(self.dialogue.address(), &remaining));
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
            .dialogue
            .scale_of(&self.dialogue.questions()[question])
            .map_or(0, |s| s.options.len());
        if !matches!(
            self.dialogue.questions()[question].kind,
            QuestionKind::Choice { .. }
        ) || n == 0
            || usize::from(n) > count
        {
            self.say(texts::BAD_PRESS);
            return self.prompt();
        }
        let id = self.dialogue.questions()[question].id.clone();
        self.session.answers.insert(id, Answer::Choice(n));
        match self.first_unanswered() {
            Some(next) => self.ask(next, false),
            None => self.go(At::Review),
        }
    }

    /// Whether the question asked now takes free text (where "chào" is an answer).
    fn expects_text(&self) -> bool {
        match &self.session.at {
            At::Asking { question, .. } => matches!(
                self.dialogue.questions()[*question].kind,
                QuestionKind::Text { .. }
            ),
            _ => false,
        }
    }

    /// A whole unit typed as one row of marks (the compact form on a text
    /// channel): every answer set at once, then the review echoes them back
    /// for confirmation. False when the text is not such a row.
    fn typed_row(&mut self, typed: &str) -> bool {
        let Some(scale) = self.dialogue.grid_scale() else {
            return false;
        };
        if self.session.current_unit().is_none() {
            return false;
        }
        let visible = self.visible();
        let scale = &self.dialogue.scales()[scale];
        // "?" or "0" alone: the area asked now cannot be rated.
        if let (
            Some(n),
            At::Asking {
                question,
                from_review,
                ..
            },
        ) = (answer::cannot_say(scale, typed), self.session.at.clone())
        {
            self.record(question, Answer::Choice(n), from_review);
            return true;
        }
        match answer::parse_row(scale, visible.len(), typed) {
            None => false,
            Some(Err(why)) => {
                self.say(why);
                self.prompt();
                true
            }
            Some(Ok(marks)) => {
                for (&q, n) in visible.iter().zip(marks) {
                    let id = self.dialogue.questions()[q].id.clone();
                    self.session.answers.insert(id, Answer::Choice(n));
                }
                self.go(At::Review);
                true
            }
        }
    }

    fn not_now(&mut self) {
        self.say(texts::NOT_NOW);
        self.prompt();
    }

    fn pick(&mut self, question: usize, from_review: bool, mut picked: Vec<u16>, n: u16) {
        let q = &self.dialogue.questions()[question];
        let count = self.dialogue.scale_of(q).map_or(0, |s| s.options.len());
        if n == 0 || usize::from(n) > count {
            self.say(texts::BAD_PRESS);
            self.prompt();
            return;
        }
        match q.kind {
            QuestionKind::Choice { .. } => self.record(question, Answer::Choice(n), from_review),
            QuestionKind::Multiple { max_choices, .. } => {
                if picked.is_empty()
                    && let Some(Answer::Choices(old)) = self.session.answers.get(&q.id)
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
        let id = self.dialogue.questions()[question].id.clone();
        self.session.answers.insert(id, answer);
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
                let id = &self.dialogue.questions()[i].id;
                self.session
                    .answers
                    .get(id)
                    .map(|a| (id.clone(), a.clone()))
            })
            .collect();
        let Some(unit) = self.session.current_unit() else {
            self.session.at = At::Finished;
            return;
        };
        self.effect = Some(Effect::Submit(BallotDraft {
            unit: unit.id.clone(),
            dialogue_id: self.dialogue.id().to_string(),
            dialogue_version: self.dialogue.version().to_string(),
            answers,
        }));
        self.session.at = At::Submitting;
        self.session.step = self.session.step.wrapping_add(1);
    }

    fn begin_unit(&mut self) {
        self.session.answers.clear();
        let Some(unit) = self.session.current_unit().cloned() else {
            self.session.at = At::Finished;
            return;
        };
        if self.dialogue.per_unit() {
            let remaining = self
                .session
                .remaining_units()
                .iter()
                .skip(1)
                .map(|u| u.name.as_str())
                .collect::<Vec<_>>();
            let msg = self
                .dialogue
                .messages()
                .unit_intro
                .replace("{unit}", &unit.name)
                .replace("{index}", &(self.session.unit + 1).to_string())
                .replace("{total}", &self.session.units.len().to_string())
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
        self.session.unit += 1;
        if self.session.unit < self.session.units.len() {
            self.begin_unit();
        } else {
            self.session.answers.clear();
            self.session.at = At::Finished;
            self.session.step = self.session.step.wrapping_add(1);
            let msg = self
                .dialogue
                .messages()
                .thanks
                .replace("{count}", &self.session.sent.to_string());
            self.say(msg);
        }
    }

    fn visible(&self) -> Vec<usize> {
        self.dialogue.visible(&self.session.answers)
    }

    fn first_unanswered(&self) -> Option<usize> {
        self.dialogue.first_unanswered(&self.session.answers)
    }

    fn previous_visible(&self, question: usize) -> Option<usize> {
        self.dialogue
            .previous_visible(&self.session.answers, question)
    }

    fn unit_name(&self) -> String {
        self.session
            .current_unit()
            .map(|u| u.name.clone())
            .unwrap_or_default()
    }

    /// Shows where the respondent is (without changing anything).
    fn prompt(&mut self) {
        let reply = view(self.dialogue, &self.session);
        self.replies.push(reply);
    }
}
