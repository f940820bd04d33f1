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

/// `?` or `0` alone on the compact form: the scale's "cannot say" option.
pub fn cannot_say(scale: &Scale, typed: &str) -> Option<u16> {
    if !matches!(typed.trim(), "?" | "0") {
        return None;
    }
    scale
        .options
        .iter()
        .position(|o| o.not_applicable)
        .map(|i| i as u16 + 1)
}

/// A whole unit typed at once for the compact form: one mark per question,
/// in order — `4 5 3 4 4 5`, `4,5,3,4,4,5` or `453445` — with `?` or `0`
/// for the scale's "cannot say" option. `None` when the text is not such a
/// row (a single answer, a keyword); otherwise the options chosen, or why
/// the row cannot be taken.
pub fn parse_row(
    scale: &Scale,
    questions: usize,
    typed: &str,
) -> Option<Result<Vec<u16>, Rejection>> {
    let marks: Vec<&str> = typed
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '.' | '-' | '/'))
        .filter(|m| !m.is_empty())
        .collect();
    let is_mark = |m: &str| m.bytes().all(|b| b.is_ascii_digit() || b == b'?');
    if marks.is_empty() || !marks.iter().all(|m| is_mark(m)) {
        return None;
    }
    // `453445`, `45?445`: one mark per question, written together.
    let marks: Vec<String> = match marks.as_slice() {
        [run] if run.len() > 1 && scale.options.len() <= 9 => {
            run.chars().map(String::from).collect()
        }
        [_] => return None,
        many => many.iter().map(|m| m.to_string()).collect(),
    };
    let cannot_say = scale
        .options
        .iter()
        .position(|o| o.not_applicable)
        .map(|i| i as u16 + 1);
    let options = scale.options.len();
    let mut chosen = Vec::with_capacity(marks.len());
    for (i, mark) in marks.iter().enumerate() {
        let n = match mark.as_str() {
            "?" | "0" => cannot_say,
            m => m
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=options).contains(n))
                .map(|n| n as u16),
        };
        match n {
            Some(n) => chosen.push(n),
            None => {
                return Some(Err(texts::bad_mark(
                    i + 1,
                    mark,
                    options,
                    cannot_say.is_some(),
                )));
            }
        }
    }
    if chosen.len() != questions {
        return Some(Err(texts::wrong_mark_count(chosen.len(), questions)));
    }
    Some(Ok(chosen))
}
