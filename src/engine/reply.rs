//! Replies: channel-neutral messages that each channel renders.

use serde::{Deserialize, Serialize};

use super::Action;

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
        let mut out = self.text.clone();
        if !self.choices.is_empty() {
            out.push('\n');
            for c in &self.choices {
                let mark = if c.selected { " ✓" } else { "" };
                out.push_str(&format!("\n{}. {}{mark}", c.typed, c.label));
            }
        }
        if !self.controls.is_empty() {
            let words = self
                .controls
                .iter()
                .map(|c| format!("“{}”", c.typed))
                .collect::<Vec<_>>()
                .join(", ");
            out.push_str(&format!("\n\n(Có thể gõ: {words})"));
        }
        out
    }
}
