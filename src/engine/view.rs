//! The view: what a respondent is shown where they are — a pure function
//! `(dialogue, session) → reply` that changes nothing.

use crate::dialogue::{Answer, Dialogue, QuestionKind};

use super::{Action, At, Button, Grid, GridRow, Reply, Review, ReviewItem, Session, texts};

/// Shows where the respondent is.
pub fn view(dialogue: &Dialogue, session: &Session) -> Reply {
    let step = session.step;
    match &session.at {
        At::Asking {
            question,
            from_review,
            picked,
        } => question_reply(dialogue, session, *question, *from_review, picked),
        At::Review => review_reply(dialogue, session),
        At::ConfirmCancel { .. } => Reply {
            text: texts::confirm_cancel(dialogue.address()),
            choices: Vec::new(),
            controls: vec![
                button(
                    texts::CANCEL_YES,
                    Action::CancelYes,
                    texts::CANCEL_YES_TYPED,
                ),
                button(texts::CANCEL_NO, Action::CancelNo, texts::CANCEL_NO_TYPED),
            ],
            step,
            grid: None,
            review: None,
            welcome: false,
            handover: None,
        },
        At::Submitting => Reply::text(texts::SUBMITTING, step),
        At::Finished => Reply::text(texts::finished(dialogue.address()), step),
    }
}

fn question_reply(
    d: &Dialogue,
    s: &Session,
    question: usize,
    from_review: bool,
    picked: &[u16],
) -> Reply {
    let q = &d.questions()[question];
    let visible = d.visible(&s.answers);
    let k = visible
        .iter()
        .position(|&v| v == question)
        .map_or(1, |p| p + 1);
    let n = d.expected_count(&s.answers).max(k);
    let mut text = String::new();
    if let Some(u) = s.current_unit() {
        if s.units.len() > 1 {
            text.push_str(&format!("{} ({}/{})\n", u.name, s.unit + 1, s.units.len()));
        } else {
            text.push_str(&format!("{}\n", u.name));
        }
    }
    let section = &d.sections()[q.section];
    text.push_str(&format!(
        "{} {k}/{n} · {}\n\n{}",
        texts::PROGRESS,
        section.title,
        q.text
    ));
    if let Some(h) = &q.hint {
        text.push_str(&format!("\n({h})"));
    }
    let current = s.answers.get(&q.id);
    if let Some(a) = current {
        text.push_str(&format!(
            "\n\n{}: {}",
            texts::CURRENT_ANSWER,
            d.describe(q, a)
        ));
    }
    let mut choices = Vec::new();
    let mut controls = Vec::new();
    match &q.kind {
        QuestionKind::Choice { .. } | QuestionKind::Multiple { .. } => {
            let multiple = matches!(q.kind, QuestionKind::Multiple { .. });
            let selected: Vec<u16> = match (multiple, current) {
                (true, _) if !picked.is_empty() => picked.to_vec(),
                (_, Some(Answer::Choice(n))) => vec![*n],
                (_, Some(Answer::Choices(ns))) => ns.clone(),
                _ => Vec::new(),
            };
            if let Some(scale) = d.scale_of(q) {
                for (i, o) in scale.options.iter().enumerate() {
                    let n = i as u16 + 1;
                    choices.push(Button {
                        label: o.label.clone(),
                        action: Action::Pick(n),
                        typed: n.to_string(),
                        selected: selected.contains(&n),
                    });
                }
            }
            if multiple {
                controls.push(button(texts::DONE, Action::Done, texts::DONE_TYPED));
            }
        }
        QuestionKind::Text { max_length, .. } => {
            text.push_str(&format!(
                "\n\n{}",
                texts::text_hint(*max_length, q.required)
            ));
        }
        QuestionKind::Number { min, max, .. } => {
            text.push_str(&format!("\n\n({})", texts::number_out_of_range(*min, *max)));
        }
    }
    if from_review {
        controls.push(button(texts::REVIEW, Action::Back, texts::REVIEW_TYPED));
    } else if k > 1 {
        controls.push(button(texts::BACK, Action::Back, texts::BACK_TYPED));
    }
    if current.is_some() && !matches!(q.kind, QuestionKind::Multiple { .. }) {
        controls.push(button(texts::KEEP, Action::Keep, texts::KEEP_TYPED));
    }
    if !q.required {
        controls.push(button(texts::SKIP, Action::Skip, texts::SKIP_TYPED));
    }
    controls.push(button(texts::CANCEL, Action::Cancel, texts::CANCEL_TYPED));
    Reply {
        text,
        choices,
        controls,
        step: s.step,
        grid: grid(d, s),
        review: None,
        welcome: false,
        handover: None,
    }
}

fn review_reply(d: &Dialogue, s: &Session) -> Reply {
    let unit = s.current_unit().map_or("", |u| u.name.as_str());
    let heading = d.messages().review.replace("{unit}", unit);
    let mut text = heading.clone();
    let mut choices = Vec::new();
    let mut items = Vec::new();
    for (k, &i) in d.visible(&s.answers).iter().enumerate() {
        let q = &d.questions()[i];
        let answer = s
            .answers
            .get(&q.id)
            .map_or_else(String::new, |a| d.describe(q, a));
        text.push_str(&format!("\n{}. {} — {}", k + 1, q.short, answer));
        items.push(ReviewItem {
            number: k as u16 + 1,
            label: q.short.clone(),
            answer,
        });
        choices.push(Button {
            label: texts::edit_label(k + 1),
            action: Action::Edit(k as u16 + 1),
            typed: (k + 1).to_string(),
            selected: false,
        });
    }
    text.push_str(&format!("\n\n{}", texts::REVIEW_HINT));
    let grid = grid(d, s);
    let mut typed_hint = texts::REVIEW_TYPED_HINT.to_string();
    if let Some(g) = &grid {
        typed_hint.push_str(&texts::review_typed_row(g.rows.len()));
    }
    Reply {
        text,
        choices,
        controls: vec![
            button(texts::CONFIRM, Action::Confirm, texts::CONFIRM_TYPED),
            button(texts::BACK, Action::Back, texts::BACK_TYPED),
            button(texts::CANCEL, Action::Cancel, texts::CANCEL_TYPED),
        ],
        step: s.step,
        grid,
        review: Some(Review {
            heading,
            typed_hint,
            items,
        }),
        welcome: false,
        handover: None,
    }
}

/// The unit as a grid, when the dialogue has the shape for one.
fn grid(d: &Dialogue, s: &Session) -> Option<Grid> {
    let scale = &d.scales()[d.grid_scale()?];
    let unit = s.current_unit()?;
    let options: Vec<String> = scale
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| {
            if o.not_applicable {
                "?".to_string()
            } else {
                (i + 1).to_string()
            }
        })
        .collect();
    let legend = scale
        .options
        .iter()
        .zip(&options)
        .map(|(o, short)| format!("{short} = {}", o.label))
        .collect::<Vec<_>>()
        .join(" · ");
    let visible = d.visible(&s.answers);
    let rows: Vec<GridRow> = visible
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let q = &d.questions()[i];
            let answer = match s.answers.get(&q.id) {
                Some(a @ Answer::Choice(n)) => Some((*n, d.describe(q, a))),
                _ => None,
            };
            GridRow {
                number: k as u16 + 1,
                label: q.short.clone(),
                answer,
            }
        })
        .collect();
    let current = match &s.at {
        At::Asking { question, .. } => visible
            .iter()
            .position(|q| q == question)
            .map(|k| k as u16 + 1),
        _ => None,
    };
    Some(Grid {
        title: format!("{} ({}/{})", unit.name, s.unit + 1, s.units.len()),
        legend,
        options,
        complete: rows.iter().all(|r| r.answer.is_some()),
        rows,
        current,
    })
}

fn button(label: &str, action: Action, typed: &str) -> Button {
    Button {
        label: label.to_string(),
        action,
        typed: typed.to_string(),
        selected: false,
    }
}
