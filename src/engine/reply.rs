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
        }
    }

    /// Renders the reply for a text-only channel (terminal, Zalo): numbered
    /// options and the words to type for each control.
    pub fn to_plain_text(&self) -> String {
        let mut out = self.text.clone();
        let edits = self
            .choices
            .iter()
            .filter(|c| matches!(c.action, Action::Edit(_)))
            .count();
        if edits > 0 && edits == self.choices.len() {
            // The review already numbers every answer.
            out.push_str(&format!("\n(Gõ số câu muốn sửa, từ 1 đến {edits}.)"));
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
