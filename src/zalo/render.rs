//! Replies as Zalo text messages (at most 2,000 characters each).

use crate::engine::Reply;
use crate::text::split;

/// Zalo's limit for one consultation message.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// The text messages that carry one reply: numbered options, the words to
/// type, split to fit Zalo's limit.
pub fn messages(reply: &Reply) -> Vec<String> {
    let mut text = reply.to_plain_text();
    let options = reply.choices.len();
    if options > 0 && !reply.edits_only() {
        text.push_str(&format!(
            "

Trả lời 1–{options} (gõ số)."
        ));
    }
    split(&text, MAX_MESSAGE_CHARS)
}
