//! Text normalisation for matching what respondents type.
//!
//! Respondents type with or without diacritics, in any case, in any Unicode
//! normalisation form, with stray spaces and emoji. Matching happens on a
//! *folded* form: decomposed, combining marks removed, `đ` → `d`, lower case,
//! only letters and digits kept, single spaces.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Canonical composed form (NFC) of user-visible text, trimmed.
pub fn nfc(s: &str) -> String {
    s.nfc().collect::<String>().trim().to_string()
}

/// Folded form used for matching typed answers and keywords.
///
/// `"  Rất HÀI lòng 😊 "` and `"rat hai long"` fold to the same string.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        let c = match c {
            'đ' | 'Đ' => 'd',
            c => c,
        };
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(c.to_lowercase());
        } else {
            pending_space = true;
        }
    }
    out
}

/// Number of user-perceived characters (Unicode scalar values, after NFC).
pub fn char_len(s: &str) -> usize {
    s.chars().count()
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
    fn folding_ignores_diacritics_case_spaces_and_emoji() {
        assert_eq!(fold("  Rất HÀI lòng 😊 "), "rat hai long");
        assert_eq!(fold("rat hai long"), "rat hai long");
        assert_eq!(fold("Đồng ý"), "dong y");
        assert_eq!(fold("4."), "4");
    }

    #[test]
    fn folding_is_the_same_for_every_normalisation_form() {
        let composed = "Không hài lòng";
        let decomposed: String = composed.nfd().collect();
        assert_ne!(composed, decomposed);
        assert_eq!(fold(composed), fold(&decomposed));
        assert_eq!(nfc(&decomposed), composed);
    }

    #[test]
    fn long_text_is_split_within_the_limit_without_losing_anything() {
        let line = "Câu trả lời khá dài về thái độ phục vụ của cán bộ một cửa. ";
        let text = format!(
            "{}\n{}\n{}",
            line.repeat(30),
            line.repeat(5),
            "x".repeat(4500)
        );
        let pieces = split(&text, 2000);
        assert!(pieces.len() >= 4);
        assert!(pieces.iter().all(|p| p.chars().count() <= 2000));
        let joined: String = pieces.concat().split_whitespace().collect();
        let original: String = text.split_whitespace().collect();
        assert_eq!(joined, original);
    }

    #[test]
    fn short_text_is_one_message() {
        assert_eq!(split("Xin chào", 2000), vec!["Xin chào".to_string()]);
    }
}
