//! Replies as Telegram messages: text with an inline keyboard.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::engine::{Action, Button, Grid, Reply};

/// Telegram's limit for one message.
pub const MAX_TEXT_CHARS: usize = 4096;

/// One message to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub text: String,
    pub keyboard: Option<InlineKeyboardMarkup>,
    /// A unit's compact form, which taps edit in place.
    pub grid: bool,
}

/// Turns one step's replies into as few messages as possible: texts without
/// buttons are joined to the next message that has buttons.
pub fn outgoing(replies: &[Reply]) -> Vec<Outgoing> {
    let mut out = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    for r in replies {
        if let Some(g) = &r.grid {
            // Leaders get the whole unit as one grid instead of question by question.
            pending.push(grid_message(g));
            push(
                &mut out,
                pending.join("\n\n"),
                Some(grid_keyboard(g, r)),
                true,
            );
            pending.clear();
            continue;
        }
        pending.push(r.text.clone());
        if !r.choices.is_empty() || !r.controls.is_empty() {
            push(&mut out, pending.join("\n\n"), Some(keyboard(r)), false);
            pending.clear();
        }
    }
    if !pending.is_empty() {
        push(&mut out, pending.join("\n\n"), None, false);
    }
    out
}

fn push(out: &mut Vec<Outgoing>, text: String, keyboard: Option<InlineKeyboardMarkup>, grid: bool) {
    let pieces = crate::text::split(&text, MAX_TEXT_CHARS);
    let last = pieces.len().saturating_sub(1);
    for (i, piece) in pieces.into_iter().enumerate() {
        // The keyboard goes under the last piece, next to the question.
        out.push(Outgoing {
            text: piece,
            keyboard: if i == last { keyboard.clone() } else { None },
            grid: grid && i == last,
        });
    }
}

/// The compact form's text: the unit, what the numbers mean, the answers so far.
fn grid_message(g: &Grid) -> String {
    let mut text = format!("{}\n{}\n", g.title, g.legend);
    for row in &g.rows {
        let answer = row.answer.as_ref().map_or("—", |(_, label)| label.as_str());
        text.push_str(&format!("\n{}. {}: {answer}", row.number, row.label));
    }
    text.push_str(if g.complete {
        "\n\nĐã đủ các lĩnh vực. Bấm “✔ Gửi đánh giá” để gửi, hoặc bấm số khác để sửa."
    } else {
        "\n\nBấm một số trên mỗi dòng để đánh giá lĩnh vực đó, theo thứ tự nào cũng được."
    });
    text
}

/// One row per question: its number, then a button per option.
fn grid_keyboard(g: &Grid, r: &Reply) -> InlineKeyboardMarkup {
    let mut rows: Vec<Vec<InlineKeyboardButton>> = g
        .rows
        .iter()
        .map(|row| {
            let mut buttons = vec![InlineKeyboardButton::callback(
                format!("{}.", row.number),
                Action::Help.encode(r.step),
            )];
            for (i, short) in g.options.iter().enumerate() {
                let n = i as u16 + 1;
                let chosen = row.answer.as_ref().is_some_and(|(a, _)| *a == n);
                let label = if chosen {
                    format!("●{short}")
                } else {
                    short.clone()
                };
                buttons.push(InlineKeyboardButton::callback(
                    label,
                    Action::Set(row.number, n).encode(r.step),
                ));
            }
            buttons
        })
        .collect();
    let mut last = Vec::new();
    if g.complete {
        last.push(InlineKeyboardButton::callback(
            "✔ Gửi đánh giá",
            Action::Confirm.encode(r.step),
        ));
    }
    last.push(InlineKeyboardButton::callback(
        "✖ Hủy",
        Action::Cancel.encode(r.step),
    ));
    rows.push(last);
    InlineKeyboardMarkup::new(rows)
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
    if r.edits_only() {
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
