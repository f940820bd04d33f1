//! Replies: channel-neutral messages that each channel renders.

use serde::{Deserialize, Serialize};

use super::{Action, texts};

/// One message to the respondent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// The message body, progress line and question included.
    pub text: String,
    /// Answer options, in order; text channels number them.
    pub choices: Vec<Button>,
    /// Navigation (back, skip, review, send, cancel…).
    pub controls: Vec<Button>,
    /// The session step the buttons belong to (goes into button data).
    pub step: u32,
    /// The unit's questions as one grid, for channels that show a compact
    /// form (Telegram, for leaders); others ignore it.
    pub grid: Option<Grid>,
    /// The review screen's parts, for channels without buttons, which say
    /// first how to send and list the answers so they do not read as
    /// options (`text` is the review as buttons go with it).
    pub review: Option<Review>,
    /// The greeting before a conversation starts, where a channel says
    /// what it needs to (Zalo: who else can read the chat, and the way to
    /// the web chat instead).
    #[serde(default)]
    pub welcome: bool,
    /// A sealed code that moves this conversation to the web chat
    /// (`/#h=<code>`), offered where the chat itself is not private (Zalo).
    #[serde(default)]
    pub handover: Option<String>,
}

/// The review, in parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub heading: String,
    /// What to type to send or to change an answer.
    pub typed_hint: String,
    pub items: Vec<ReviewItem>,
}

/// One answer on the review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewItem {
    /// What `sửa N` takes.
    pub number: u16,
    pub label: String,
    pub answer: String,
}

/// A unit's questions, all on one scale, as rows of option buttons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// Unit name and position, e.g. "UBND xã Bình An (2/22)".
    pub title: String,
    /// What each option's short label stands for.
    pub legend: String,
    /// Short option labels, in scale order ("1" … "5", "?").
    pub options: Vec<String>,
    pub rows: Vec<GridRow>,
    /// Every question is answered: the unit can be sent.
    pub complete: bool,
    /// The question asked now (`GridRow::number`), when one is.
    pub current: Option<u16>,
}

/// One question of a grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridRow {
    /// 1-based; what `Action::Set` takes.
    pub number: u16,
    pub label: String,
    /// The chosen option (1-based) and its label.
    pub answer: Option<(u16, String)>,
}

/// A button, and what the respondent can type instead of pressing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Button {
    pub label: String,
    pub action: Action,
    /// What to type for the same effect: a number or a keyword.
    pub typed: String,
    /// Currently selected (multiple choice) or the current answer.
    pub selected: bool,
}

impl Reply {
    /// A plain message without buttons.
    pub fn text(text: impl Into<String>, step: u32) -> Self {
        Self {
            text: text.into(),
            choices: Vec::new(),
            controls: Vec::new(),
            step,
            grid: None,
            review: None,
            welcome: false,
            handover: None,
        }
    }

    /// The choices are all "edit question n" buttons (the review screen),
    /// which channels show compactly.
    pub fn edits_only(&self) -> bool {
        !self.choices.is_empty()
            && self
                .choices
                .iter()
                .all(|c| matches!(c.action, Action::Edit(_)))
    }

    /// Renders the reply for a text-only channel (terminal, Zalo): numbered
    /// options and the words to type for each control; the review says
    /// first how to send, and lists the answers as "Câu 3 · …", not as
    /// options to answer with a number.
    pub fn to_plain_text(&self) -> String {
        self.to_plain_text_with(None)
    }

    /// The same, with a channel's line on how to answer the options (e.g.
    /// that buttons are below) after them.
    pub fn to_plain_text_with(&self, answer_hint: Option<&str>) -> String {
        if let Some(review) = &self.review {
            let mut out = format!("{}\n\n{}", review.typed_hint, review.heading);
            for item in &review.items {
                out.push_str(&format!(
                    "\nCâu {} · {}: {}",
                    item.number, item.label, item.answer
                ));
            }
            out.push_str("\n\n(Gõ “gửi” để gửi, “sửa” và số câu để sửa, “quay lại” hoặc “hủy”.)");
            return out;
        }
        if let Some(grid) = &self.grid {
            let mut out = grid.to_plain_text();
            out.push_str(&typed_words(&self.controls));
            return out;
        }
        let mut out = self.text.clone();
        if !self.choices.is_empty() {
            out.push('\n');
            for c in &self.choices {
                let mark = if c.selected { " ✓" } else { "" };
                out.push_str(&format!("\n{}. {}{mark}", c.typed, c.label));
            }
            if let Some(hint) = answer_hint {
                out.push_str(&format!("\n\n{hint}"));
            }
        }
        out.push_str(&typed_words(&self.controls));
        out
    }
}

/// `(Có thể gõ: “quay lại”, “hủy”)`: the words that do what the controls do.
fn typed_words(controls: &[Button]) -> String {
    if controls.is_empty() {
        return String::new();
    }
    let words = controls
        .iter()
        .map(|c| format!("“{}”", c.typed))
        .collect::<Vec<_>>()
        .join(", ");
    format!("\n\n(Có thể gõ: {words})")
}

impl Grid {
    /// The compact form on a text channel: the unit, what each digit
    /// means, the answers so far, and how to answer the whole unit in one
    /// message of digits (or the area asked now on its own).
    pub fn to_plain_text(&self) -> String {
        let mut out = format!("{}\n{}\n", self.title, self.legend.replace(" · ", "\n"));
        for row in &self.rows {
            let answer = row.answer.as_ref().map_or("—", |(_, label)| label.as_str());
            out.push_str(&format!("\n{}. {}: {answer}", row.number, row.label));
        }
        let cannot_say = self.options.iter().any(|o| o == "?");
        out.push_str(&format!(
            "\n\n{}",
            texts::grid_typed_hint(self.rows.len(), self.options.len(), cannot_say)
        ));
        if let Some(row) = self
            .current
            .and_then(|n| self.rows.get(usize::from(n).checked_sub(1)?))
        {
            out.push_str(&format!(
                "\n{}",
                texts::grid_one_at_a_time(row.number, &row.label)
            ));
        }
        out
    }
}
