//! Understanding what a respondent typed as an answer to one question.

use crate::dialogue::{Answer, Dialogue, Question, QuestionKind, Scale};
use crate::text;

use super::texts;

/// A typed answer the engine could not accept, with the polite explanation.
pub type Rejection = String;

/// Longest echo of the respondent's own text in an error message.
const ECHO: usize = 40;

fn echo(s: &str) -> String {
    let t = text::nfc(s);
    if t.chars().count() > ECHO {
        format!("{}…", t.chars().take(ECHO).collect::<String>())
    } else {
        t
    }
}

/// The 1-based option a typed text names: its number, label or alias.
pub fn option_of(scale: &Scale, typed: &str) -> Option<u16> {
    let folded = text::fold(typed);
    if folded.is_empty() {
        return None;
    }
    if folded.bytes().all(|b| b.is_ascii_digit()) {
        let n: usize = folded.parse().ok()?;
        return (1..=scale.options.len()).contains(&n).then_some(n as u16);
    }
    scale
        .options
        .iter()
        .position(|o| o.matches.contains(&folded))
        .map(|i| i as u16 + 1)
}

/// Parses typed text as an answer to `question`.
pub fn parse(dialogue: &Dialogue, question: &Question, typed: &str) -> Result<Answer, Rejection> {
    match &question.kind {
        QuestionKind::Choice { .. } => {
            let Some(scale) = dialogue.scale_of(question) else {
                return Err(texts::NOT_NOW.to_string());
            };
            option_of(scale, typed)
                .map(Answer::Choice)
                .ok_or_else(|| texts::invalid_choice(&echo(typed), scale.options.len()))
        }
        QuestionKind::Multiple { max_choices, .. } => {
            let Some(scale) = dialogue.scale_of(question) else {
                return Err(texts::NOT_NOW.to_string());
            };
            let invalid = || texts::invalid_multiple(&echo(typed), scale.options.len());
            let mut picked = Vec::new();
            for part in typed.split([',', ';', '/', '+']) {
                if text::fold(part).is_empty() {
                    continue;
                }
                match option_of(scale, part) {
                    Some(n) => picked.push(n),
                    // "1 3" — numbers separated by spaces.
                    None => {
                        for word in text::fold(part).split(' ') {
                            picked.push(option_of(scale, word).ok_or_else(invalid)?);
                        }
                    }
                }
            }
            picked.sort_unstable();
            picked.dedup();
            if picked.is_empty() {
                return Err(invalid());
            }
            if picked.len() > *max_choices {
                return Err(texts::too_many_choices(*max_choices));
            }
            Ok(Answer::Choices(picked))
        }
        QuestionKind::Text {
            min_length,
            max_length,
        } => {
            let t = text::nfc(typed);
            let len = text::char_len(&t);
            if len > *max_length {
                Err(texts::text_too_long(len, *max_length))
            } else if len < *min_length {
                Err(texts::text_too_short(*min_length))
            } else {
                Ok(Answer::Text(t))
            }
        }
        QuestionKind::Number { min, max, integer } => {
            let t = text::nfc(typed).replace(' ', "").replace(',', ".");
            let x: f64 = match t.parse() {
                Ok(x) if f64::is_finite(x) && t.len() <= 20 => x,
                _ => return Err(texts::invalid_number(&echo(typed))),
            };
            if *integer && x.fract() != 0.0 {
                Err(texts::number_not_integer())
            } else if x < *min || x > *max {
                Err(texts::number_out_of_range(*min, *max))
            } else {
                Ok(Answer::Number(x))
            }
        }
    }
}
