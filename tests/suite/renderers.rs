//! What a respondent sees on Telegram and on Zalo for the screens that
//! matter — a citizen's question, a multiple choice, the review, the
//! cancel confirmation, a leader's compact form — pinned as snapshots in
//! `tests/snapshots/` (`UPDATE_SNAPSHOTS=1` rewrites them after a change
//! to the texts: read the diff before committing).

use std::fmt::Write as _;

use khaosat::dialogue::Dialogue;
use khaosat::engine::{self, Action, Input, Outcome, Reply, UnitRef};
use teloxide::types::InlineKeyboardButtonKind;

use crate::helpers::{load, shipped_campaign_dir, snapshot};

fn dialogue(id: &str) -> std::sync::Arc<Dialogue> {
    load(&shipped_campaign_dir())
        .dialogues()
        .into_iter()
        .find(|d| d.id() == id)
        .unwrap()
}

fn unit(id: &str, name: &str) -> UnitRef {
    UnitRef {
        id: id.into(),
        name: name.into(),
    }
}

/// Types `answers` one after the other.
fn typed(d: &Dialogue, mut o: Outcome, answers: &[&str]) -> Outcome {
    for a in answers {
        o = engine::step(d, &o.session, Input::Text(a.to_string()));
    }
    o
}

/// The screens, each as the replies of one step.
fn screens() -> Vec<(&'static str, Vec<Reply>)> {
    let citizen = dialogue("nguoi-dan");
    let start = engine::start(&citizen, vec![unit("binh-an", "UBND xã Bình An")]);
    let mut screens = vec![("a citizen starts", start.replies.clone())];
    let eleven = typed(
        &citizen,
        start.clone(),
        &[
            "4",
            "4",
            "4",
            "4",
            "4",
            "4",
            "4",
            "4",
            "4",
            "4",
            "2",
            "khong hai long",
        ],
    );
    screens.push((
        "a multiple choice after an unhappy answer",
        eleven.replies.clone(),
    ));
    let review = typed(&citizen, eleven, &["1, 3", "bỏ qua"]);
    screens.push(("the review", review.replies.clone()));
    let cancel = engine::step(&citizen, &review.session, Input::Command(Action::Cancel));
    screens.push(("cancelling asks first", cancel.replies));

    let leader = dialogue("can-bo-danh-gia-xa");
    let form = engine::start(
        &leader,
        vec![
            unit("binh-an", "UBND xã Bình An"),
            unit("binh-chanh", "UBND xã Bình Chánh"),
        ],
    );
    let tapped = engine::step(
        &leader,
        &form.session,
        Input::Press {
            step: form.session.step,
            action: Action::Set(3, 4),
        },
    );
    let row = typed(&leader, form.clone(), &["4 5 ? 4 4 5"]);
    let short = typed(&leader, form.clone(), &["4 5 3"]);
    screens.push(("a leader's compact form", form.replies));
    screens.push(("the form after one tap", tapped.replies));
    screens.push(("the unit typed as one row, echoed back", row.replies));
    screens.push(("a row with too few digits", short.replies));
    screens
}

fn telegram_view() -> String {
    let mut out = String::new();
    for (screen, replies) in screens() {
        let _ = writeln!(out, "######## {screen}");
        for m in khaosat::telegram::outgoing(&replies) {
            let _ = writeln!(
                out,
                "---- message{}",
                if m.grid { " (edited in place)" } else { "" }
            );
            let _ = writeln!(out, "{}", m.text);
            for row in m.keyboard.iter().flat_map(|k| &k.inline_keyboard) {
                let buttons: Vec<String> = row
                    .iter()
                    .map(|b| match &b.kind {
                        InlineKeyboardButtonKind::CallbackData(data) => {
                            format!("[{} → {data}]", b.text)
                        }
                        other => format!("[{} → {other:?}]", b.text),
                    })
                    .collect();
                let _ = writeln!(out, "{}", buttons.join(" "));
            }
        }
    }
    out
}

fn zalo_view() -> String {
    let mut out = String::new();
    for (screen, replies) in screens() {
        let _ = writeln!(out, "######## {screen}");
        let messages = khaosat::zalo::messages(
            &replies,
            khaosat::zalo::DEFAULT_BUTTONS,
            Some("https://khaosat.example.vn"),
        );
        assert!(
            messages.len() <= khaosat::zalo::MAX_MESSAGES_PER_STEP,
            "{screen}: {} messages for one step",
            messages.len()
        );
        for m in messages {
            let _ = writeln!(out, "---- message\n{}", m.text);
            for b in m.buttons {
                let target = b.url.as_deref().unwrap_or(&b.payload);
                let _ = writeln!(out, "[{} → {target}]", b.title);
            }
        }
    }
    out
}

fn telegram_messages_match_their_snapshot() {
    snapshot("telegram-screens.txt", &telegram_view());
}

fn zalo_messages_match_their_snapshot() {
    let view = zalo_view();
    assert!(
        view.lines()
            .all(|l| l.chars().count() <= khaosat::zalo::MAX_MESSAGE_CHARS),
        "no message is over Zalo's limit"
    );
    snapshot("zalo-screens.txt", &view);
}

/// The tests of this module.
pub fn trials() -> Vec<libtest_mimic::Trial> {
    crate::trials![
        sync telegram_messages_match_their_snapshot,
        sync zalo_messages_match_their_snapshot,
    ]
}
