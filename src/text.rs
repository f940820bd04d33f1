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
}
