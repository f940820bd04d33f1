//! Replies as Zalo text messages (at most 2,000 characters each).

use crate::engine::{Action, Reply};

/// Zalo's limit for one consultation message.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// The text messages that carry one reply: numbered options, the words to
/// type, split to fit Zalo's limit.
pub fn messages(reply: &Reply) -> Vec<String> {
    let mut text = reply.to_plain_text();
    let options = reply.choices.len();
    if options > 0
        && !reply
            .choices
            .iter()
            .all(|c| matches!(c.action, Action::Edit(_)))
    {
        text.push_str(&format!("\n\nTrả lời {}–{options} (gõ số).", 1));
    }
    split(&text, MAX_MESSAGE_CHARS)
}

/// Splits text into pieces of at most `max` characters, at line breaks
/// where possible, else at spaces, else anywhere.
pub fn split(text: &str, max: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut len = 0;
    for line in text.split_inclusive('\n') {
        let line_len = line.chars().count();
        if len + line_len <= max {
            current.push_str(line);
            len += line_len;
            continue;
        }
        if !current.is_empty() {
            pieces.push(std::mem::take(&mut current).trim_end().to_string());
        }
        let mut rest = line;
        while rest.chars().count() > max {
            let cut = rest.char_indices().nth(max).map_or(rest.len(), |(i, _)| i);
            let at = rest[..cut]
                .rfind(' ')
                .filter(|&i| i > 0)
                .map_or(cut, |i| i + 1);
            pieces.push(rest[..at].trim_end().to_string());
            rest = &rest[at..];
        }
        current.push_str(rest);
        len = rest.chars().count();
    }
    if !current.trim().is_empty() {
        pieces.push(current.trim_end().to_string());
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_split_within_the_limit_without_losing_anything() {
        let line = "Câu trả lời khá dài về thái độ phục vụ của cán bộ một cửa. ";
        let text = format!(
            "{}\n{}\n{}",
            line.repeat(30),
            line.repeat(5),
            "x".repeat(4500)
        );
        let pieces = split(&text, MAX_MESSAGE_CHARS);
        assert!(pieces.len() >= 4);
        assert!(
            pieces
                .iter()
                .all(|p| p.chars().count() <= MAX_MESSAGE_CHARS)
        );
        let joined: String = pieces.concat().split_whitespace().collect();
        let original: String = text.split_whitespace().collect();
        assert_eq!(joined, original);
    }

    #[test]
    fn short_text_is_one_message() {
        assert_eq!(split("Xin chào", 2000), vec!["Xin chào".to_string()]);
    }
}
