//! Questionnaires: dialogue files compiled into validated state machines.
//!
//! A dialogue is a list of sections (the areas, or criteria, that reports
//! aggregate by), each a list of questions. The engine walks it one question at
//! a time; see `engine`.

mod compile;
mod file;
mod visibility;

pub use compile::{compile, compile_file, compile_stored};
pub use visibility::Answers;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// A compiled, validated questionnaire. Immutable once compiled; identified
/// by `id` and `version` (a hash of its source text).
#[derive(Debug, Clone)]
pub struct Dialogue {
    id: String,
    version: String,
    /// The source text, recorded so a session can finish on this version.
    source: String,
    title: String,
    /// Asked once for each unit the credential covers, one ballot per unit.
    per_unit: bool,
    /// How the texts address the respondent ("ông/bà", "đồng chí").
    address: String,
    messages: DialogueMessages,
    scales: Vec<Scale>,
    sections: Vec<Section>,
    questions: Vec<Question>,
    /// Question index by id.
    index: FxHashMap<String, usize>,
}

/// Texts a dialogue shows around its questions.
#[derive(Debug, Clone)]
pub struct DialogueMessages {
    /// Shown once when a respondent starts. Placeholders: `{title}`, `{units}` (count).
    pub intro: String,
    /// Shown before each unit. Placeholders: `{unit}`, `{index}`, `{total}`, `{remaining}`.
    pub unit_intro: String,
    /// Heading of the review screen. Placeholder: `{unit}`.
    pub review: String,
    /// After a ballot is stored. Placeholders: `{unit}`, `{receipt}`.
    pub submitted: String,
    /// When nothing remains. Placeholder: `{count}` (ballots sent in this session).
    pub thanks: String,
    /// After the respondent cancels.
    pub cancelled: String,
}

/// A named answer scale: its options in display order.
#[derive(Debug, Clone)]
pub struct Scale {
    pub id: String,
    pub options: Vec<ScaleOption>,
}

/// One option of a scale.
#[derive(Debug, Clone)]
pub struct ScaleOption {
    pub label: String,
    /// Folded label and aliases (see `text::fold`) for matching typed answers.
    pub matches: Vec<String>,
    pub score: Option<f64>,
    /// Counts towards the index (share of positive answers).
    pub positive: bool,
    /// "Không đánh giá được": excluded from scores and indices.
    pub not_applicable: bool,
}

/// A section of the questionnaire; the unit of aggregation ("area").
#[derive(Debug, Clone)]
pub struct Section {
    pub id: String,
    pub title: String,
    pub intro: Option<String>,
}

/// A compiled question.
#[derive(Debug, Clone)]
pub struct Question {
    pub id: String,
    pub section: usize,
    pub text: String,
    pub short: String,
    pub hint: Option<String>,
    pub kind: QuestionKind,
    pub required: bool,
    pub show_if: Option<Condition>,
}

/// What kind of answer a question takes.
#[derive(Debug, Clone, PartialEq)]
pub enum QuestionKind {
    Choice {
        scale: usize,
    },
    Multiple {
        scale: usize,
        max_choices: usize,
    },
    Text {
        min_length: usize,
        max_length: usize,
    },
    Number {
        min: f64,
        max: f64,
        integer: bool,
    },
}

/// Skip logic: the question is asked only when the test on an earlier answer holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub question: usize,
    pub test: Test,
}

/// A test on one earlier answer. Option numbers are 1-based positions in the scale.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    AnyOf(Vec<u16>),
    NoneOf(Vec<u16>),
    Answered(bool),
    Range { at_least: f64, at_most: f64 },
}

/// A respondent's answer to one question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// 1-based option number.
    Choice(u16),
    /// 1-based option numbers, ascending.
    Choices(Vec<u16>),
    Text(String),
    Number(f64),
    /// An optional question the respondent chose to skip.
    Skipped,
}

impl Dialogue {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    pub fn per_unit(&self) -> bool {
        self.per_unit
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn messages(&self) -> &DialogueMessages {
        &self.messages
    }

    pub fn scales(&self) -> &[Scale] {
        &self.scales
    }

    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    pub fn questions(&self) -> &[Question] {
        &self.questions
    }

    pub fn scale_of(&self, question: &Question) -> Option<&Scale> {
        match question.kind {
            QuestionKind::Choice { scale } | QuestionKind::Multiple { scale, .. } => {
                self.scales.get(scale)
            }
            _ => None,
        }
    }

    /// The scale of a compact grid form: every question a single choice on
    /// this one scale, asked per unit, without skip logic.
    pub fn grid_scale(&self) -> Option<usize> {
        let first = match self.questions.first()?.kind {
            QuestionKind::Choice { scale } => scale,
            _ => return None,
        };
        let uniform = self.questions.iter().all(|q| {
            q.kind == QuestionKind::Choice { scale: first } && q.show_if.is_none() && q.required
        });
        (self.per_unit && uniform && self.questions.len() <= 12).then_some(first)
    }

    pub fn question_index(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// Human-readable answer, as shown on the review screen.
    pub fn describe(&self, question: &Question, answer: &Answer) -> String {
        let label = |n: &u16| {
            self.scale_of(question)
                .and_then(|s| s.options.get(usize::from(*n).wrapping_sub(1)))
                .map_or_else(|| format!("#{n}"), |o| o.label.clone())
        };
        match answer {
            Answer::Choice(n) => label(n),
            Answer::Choices(ns) => ns.iter().map(label).collect::<Vec<_>>().join("; "),
            Answer::Text(t) => t.clone(),
            Answer::Number(x) => format_number(*x),
            Answer::Skipped => "(bỏ qua)".to_string(),
        }
    }
}

impl Test {
    /// Whether an answer (or its absence) passes the test.
    pub fn holds(&self, answer: Option<&Answer>) -> bool {
        let given = matches!(answer, Some(a) if *a != Answer::Skipped);
        match (self, answer) {
            (Test::Answered(want), _) => given == *want,
            (Test::AnyOf(set), Some(Answer::Choice(n))) => set.contains(n),
            (Test::AnyOf(set), Some(Answer::Choices(ns))) => ns.iter().any(|n| set.contains(n)),
            (Test::NoneOf(set), Some(Answer::Choice(n))) => !set.contains(n),
            (Test::NoneOf(set), Some(Answer::Choices(ns))) => !ns.iter().any(|n| set.contains(n)),
            (Test::Range { at_least, at_most }, Some(Answer::Number(x))) => {
                x >= at_least && x <= at_most
            }
            _ => false,
        }
    }
}

/// Formats a number without a trailing `.0` for integers.
pub fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}
