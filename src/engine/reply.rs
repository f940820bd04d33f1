//! Replies: channel-neutral messages that each channel renders.

use super::Action;

/// One message to the respondent.
#[derive(Debug, Clone, PartialEq)]
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
}

/// A unit's questions, all on one scale, as rows of option buttons.
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, PartialEq)]
pub struct GridRow {
    /// 1-based; what `Action::Set` takes.
    pub number: u16,
    pub label: String,
    /// The chosen option (1-based) and its label.
    pub answer: Option<(u16, String)>,
}

/// A button, and what the respondent can type instead of pressing it.
#[derive(Debug, Clone, PartialEq)]
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
    /// options and the words to type for each control.
    pub fn to_plain_text(&self) -> String {
        let mut out = self.text.clone();
        if self.edits_only() {
            // The review already numbers every answer.
            out.push_str(&format!(
                "\n(Gõ số câu muốn sửa, từ 1 đến {}.)",
                self.choices.len()
            ));
        } else if !self.choices.is_empty() {
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
