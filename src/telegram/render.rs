//! Replies as Telegram messages: text with an inline keyboard.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::engine::{Action, Button, Reply};

/// Telegram's limit for one message.
pub const MAX_TEXT_CHARS: usize = 4096;

/// One message to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub text: String,
    pub keyboard: Option<InlineKeyboardMarkup>,
}

/// Turns one step's replies into as few messages as possible: texts without
/// buttons are joined to the next message that has buttons.
pub fn outgoing(replies: &[Reply]) -> Vec<Outgoing> {
    let mut out = Vec::new();
    let mut pending: Vec<&str> = Vec::new();
    for r in replies {
        pending.push(&r.text);
        if !r.choices.is_empty() || !r.controls.is_empty() {
            push(&mut out, pending.join("\n\n"), Some(keyboard(r)));
            pending.clear();
        }
    }
    if !pending.is_empty() {
        push(&mut out, pending.join("\n\n"), None);
    }
    out
}

fn push(out: &mut Vec<Outgoing>, text: String, keyboard: Option<InlineKeyboardMarkup>) {
    let pieces = crate::zalo::split(&text, MAX_TEXT_CHARS);
    let last = pieces.len().saturating_sub(1);
    for (i, piece) in pieces.into_iter().enumerate() {
        // The keyboard goes under the last piece, next to the question.
        out.push(Outgoing {
            text: piece,
            keyboard: if i == last { keyboard.clone() } else { None },
        });
    }
}

fn button(b: &Button, step: u32) -> InlineKeyboardButton {
    let label = if b.selected {
        format!("✔ {}", b.label)
    } else {
        b.label.clone()
    };
    InlineKeyboardButton::callback(label, b.action.encode(step))
}

fn keyboard(r: &Reply) -> InlineKeyboardMarkup {
    let mut rows: Vec<Vec<InlineKeyboardButton>> = Vec::new();
    let edits = !r.choices.is_empty()
        && r.choices
            .iter()
            .all(|c| matches!(c.action, Action::Edit(_)));
    if edits {
        // The review: "edit question n" as a compact grid of numbers.
        for chunk in r.choices.chunks(6) {
            rows.push(
                chunk
                    .iter()
                    .map(|b| {
                        InlineKeyboardButton::callback(
                            format!("✎ {}", b.typed),
                            b.action.encode(r.step),
                        )
                    })
                    .collect(),
            );
        }
    } else {
        // One option per row: labels are long and must stay readable.
        rows.extend(r.choices.iter().map(|b| vec![button(b, r.step)]));
    }
    for chunk in r.controls.chunks(3) {
        rows.push(chunk.iter().map(|b| button(b, r.step)).collect());
    }
    InlineKeyboardMarkup::new(rows)
}
