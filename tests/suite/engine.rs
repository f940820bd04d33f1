//! The pure engine: properties over random inputs, and the details a
//! respondent notices.

use std::sync::Arc;

use khaosat::dialogue::{Answer, Dialogue, QuestionKind};
use khaosat::engine::{self, Action, At, Effect, Input, Outcome, Session, UnitRef};
use proptest::prelude::*;

use crate::helpers::{load, shipped_campaign_dir, small_campaign_dir};

fn dialogues() -> Vec<Arc<Dialogue>> {
    let mut all = load(&shipped_campaign_dir()).dialogues();
    all.extend(load(&small_campaign_dir()).dialogues());
    all
}

fn units(n: usize) -> Vec<UnitRef> {
    (0..n)
        .map(|i| UnitRef {
            id: format!("u{i}"),
            name: format!("Đơn vị {i}"),
        })
        .collect()
}

/// A random respondent action, drawn from what people really send.
#[derive(Debug, Clone)]
enum Move {
    Type(String),
    Press { stale: bool, action: Action },
    BadPress,
    Resume,
    StoreAnswers { refused: bool, end: bool },
}

fn typed() -> impl Strategy<Value = String> {
    prop_oneof![
        (0..9u32).prop_map(|n| n.to_string()),
        prop::sample::select(vec![
            "quay lại",
            "bỏ qua",
            "giữ",
            "xong",
            "xem lại",
            "gửi",
            "hủy",
            "có",
            "không",
            "trợ giúp",
            "hai long",
            "Rất hài lòng",
            "Tác động tích cực",
            "khong danh gia duoc",
            "1, 3",
            "2 4",
            "sửa 2",
            "",
            "   ",
            "😊",
            "/start",
            "4.5",
            "-3",
            "1e400",
        ])
        .prop_map(str::to_string),
        "\\PC{0,30}",
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (0..15u16).prop_map(Action::Pick),
        (0..20u16).prop_map(Action::Edit),
        (0..9u16, 0..9u16).prop_map(|(q, n)| Action::Set(q, n)),
        prop::sample::select(vec![
            Action::Done,
            Action::Keep,
            Action::Back,
            Action::Skip,
            Action::Review,
            Action::Confirm,
            Action::Cancel,
            Action::CancelYes,
            Action::CancelNo,
            Action::Help,
        ]),
    ]
}

fn moves() -> impl Strategy<Value = Vec<Move>> {
    prop::collection::vec(
        prop_oneof![
            4 => typed().prop_map(Move::Type),
            4 => (any::<bool>(), action()).prop_map(|(stale, action)| Move::Press { stale, action }),
            1 => Just(Move::BadPress),
            1 => Just(Move::Resume),
            1 => (any::<bool>(), any::<bool>()).prop_map(|(refused, end)| Move::StoreAnswers { refused, end }),
        ],
        0..120,
    )
}

/// Checks what must hold after every step.
fn check(d: &Dialogue, o: &Outcome) -> Result<(), TestCaseError> {
    let s = &o.session;
    prop_assert!(
        !o.replies.is_empty() || s.at == At::Submitting,
        "every input gets a reply"
    );
    match &o.effect {
        Some(Effect::Submit(b)) => {
            prop_assert_eq!(&s.at, &At::Submitting);
            // A submitted ballot answers every visible required question validly.
            for q in d.questions() {
                if let Some(a) = b.answers.get(&q.id) {
                    valid(d, q.id.as_str(), a)?;
                }
            }
        }
        None => prop_assert!(
            matches!(
                s.at,
                At::Asking { .. } | At::Review | At::ConfirmCancel { .. } | At::Finished
            ),
            "waiting or finished, not {:?}",
            s.at
        ),
    }
    if let At::Asking { question, .. } = s.at {
        prop_assert!(question < d.questions().len());
    }
    for (q, a) in &s.answers {
        valid(d, q, a)?;
    }
    Ok(())
}

fn valid(d: &Dialogue, q: &str, a: &Answer) -> Result<(), TestCaseError> {
    let question = d
        .questions()
        .iter()
        .find(|x| x.id == q)
        .expect("answers only known questions");
    let n = d.scale_of(question).map_or(0, |s| s.options.len() as u16);
    match (&question.kind, a) {
        (_, Answer::Skipped) => prop_assert!(!question.required, "{} is required", q),
        (QuestionKind::Choice { .. }, Answer::Choice(c)) => prop_assert!((1..=n).contains(c)),
        (QuestionKind::Multiple { max_choices, .. }, Answer::Choices(cs)) => {
            prop_assert!(!cs.is_empty() && cs.len() <= *max_choices);
            prop_assert!(cs.iter().all(|c| (1..=n).contains(c)));
        }
        (QuestionKind::Text { max_length, .. }, Answer::Text(t)) => {
            prop_assert!(t.chars().count() <= *max_length)
        }
        (QuestionKind::Number { min, max, .. }, Answer::Number(x)) => {
            prop_assert!(x >= min && x <= max)
        }
        (k, a) => prop_assert!(false, "answer {:?} does not fit {:?}", a, k),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// For any inputs the engine never panics and is always waiting or finished.
    fn any_inputs_leave_the_engine_waiting_or_finished(which in 0..5usize, n_units in 1..4usize, moves in moves()) {
        let all = dialogues();
        let d = &all[which % all.len()];
        let mut o = engine::start(d, units(n_units));
        check(d, &o)?;
        for m in moves {
            let input = match (&o.session.at, m) {
                (At::Submitting, Move::StoreAnswers { refused: false, .. }) | (At::Submitting, Move::Type(_)) => {
                    Input::Stored { receipt: "ABCDE-FGHJK".into() }
                }
                (At::Submitting, _) => Input::Refused { message: "Từ chối".into(), end: false },
                (_, Move::Type(t)) => Input::Text(t),
                (_, Move::Press { stale, action }) => Input::Press {
                    step: if stale { o.session.step.wrapping_sub(1) } else { o.session.step },
                    action,
                },
                (_, Move::BadPress) => Input::BadPress,
                (_, Move::Resume) => Input::Resume,
                (_, Move::StoreAnswers { refused, end }) => {
                    if refused { Input::Refused { message: "x".into(), end } } else { Input::Stored { receipt: "R".into() } }
                }
            };
            o = engine::step(d, &o.session, input);
            check(d, &o)?;
        }
    }

    /// Going back k questions and then forward k questions keeps every answer.
    fn back_then_forward_keeps_answers(picks in prop::collection::vec(1..6u16, 6..12), back in 1..6usize) {
        let d = dialogues().into_iter().find(|d| d.id() == "nguoi-dan").unwrap();
        let mut o = engine::start(&d, units(1));
        let mut answered = 0;
        for p in &picks {
            let At::Asking { question, .. } = o.session.at else { break };
            if !matches!(d.questions()[question].kind, QuestionKind::Choice { .. }) { break }
            o = engine::step(&d, &o.session, Input::Press { step: o.session.step, action: Action::Pick(*p) });
            answered += 1;
        }
        let back = back.min(answered);
        let before: Session = o.session.clone();
        for _ in 0..back {
            o = engine::step(&d, &o.session, Input::Text("quay lại".into()));
        }
        prop_assert_ne!(&o.session.at, &before.at);
        for _ in 0..back {
            o = press(&d, &o, Action::Keep);
        }
        prop_assert_eq!(&o.session.answers, &before.answers);
        prop_assert_eq!(&o.session.at, &before.at);
    }

    /// Button data never decodes to something it was not encoded from:
    /// whatever decodes is exactly the encoding of what it decodes to. The
    /// data is mostly near-valid (digits, a colon, action codes) so that
    /// many cases decode; any text at all must not panic.
    fn button_data_decodes_only_what_was_encoded(
        data in prop_oneof![
            "\\PC{0,80}",
            "[0-9]{1,11}:(p|e|g|d|k|b|s|r|c|x|xy|xn|h)[0-9]{0,5}(\\.[0-9]{0,5})?",
        ]
    ) {
        if let Some((step, action)) = Action::decode(&data) {
            prop_assert_eq!(action.encode(step), data);
        }
    }

    /// Every button's data decodes back to it.
    fn every_button_round_trips(step in any::<u32>(), a in action()) {
        prop_assert_eq!(Action::decode(&a.encode(step)), Some((step, a)));
    }
}

fn citizen() -> (Arc<Dialogue>, Outcome) {
    let d = dialogues()
        .into_iter()
        .find(|d| d.id() == "nguoi-dan")
        .unwrap();
    let o = engine::start(&d, units(1));
    (d, o)
}

/// Presses a button of the latest reply.
fn press(d: &Dialogue, o: &Outcome, action: Action) -> Outcome {
    engine::step(
        d,
        &o.session,
        Input::Press {
            step: o.session.step,
            action,
        },
    )
}

fn last_text(o: &Outcome) -> String {
    o.replies
        .iter()
        .map(|r| r.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn typed_answers_are_understood_in_any_form() {
    let (d, o) = citizen();
    let nfd: String = unicode_normalization::UnicodeNormalization::nfd("Hài lòng").collect();
    for typed in [
        "4",
        " 4 ",
        "4.",
        "hai long",
        "HAI LONG",
        "Hài lòng",
        nfd.as_str(),
        "hài lòng 👍",
        "  hài   lòng  ",
    ] {
        let next = engine::step(&d, &o.session, Input::Text(typed.into()));
        assert_eq!(
            next.session.answers.get("thai-do"),
            Some(&Answer::Choice(4)),
            "{typed:?}"
        );
    }
    for typed in ["rat hai long", "5"] {
        let next = engine::step(&d, &o.session, Input::Text(typed.into()));
        assert_eq!(
            next.session.answers.get("thai-do"),
            Some(&Answer::Choice(5)),
            "{typed:?}"
        );
    }
    let next = engine::step(&d, &o.session, Input::Text("khong hai long".into()));
    assert_eq!(
        next.session.answers.get("thai-do"),
        Some(&Answer::Choice(2))
    );
    let next = engine::step(&d, &o.session, Input::Text("tạm được".into()));
    assert_eq!(
        next.session.answers.get("thai-do"),
        Some(&Answer::Choice(3)),
        "aliases work"
    );
}

fn invalid_answers_are_re_asked_with_a_hint() {
    let (d, o) = citizen();
    for typed in ["6", "0", "hài lòng lắm", "???"] {
        let next = engine::step(&d, &o.session, Input::Text(typed.into()));
        assert_eq!(next.session, o.session, "{typed:?} changes nothing");
        let text = last_text(&next);
        assert!(text.contains("từ 1 đến 5"), "{text}");
        assert!(
            text.contains("Câu 1/14"),
            "the question is asked again: {text}"
        );
    }
}

fn progress_counts_questions_and_review_lists_answers() {
    let (d, mut o) = citizen();
    assert!(last_text(&o).contains("Câu 1/14"));
    for _ in 0..10 {
        o = engine::step(&d, &o.session, Input::Text("4".into()));
    }
    assert!(last_text(&o).contains("Câu 11/14"));
    o = engine::step(&d, &o.session, Input::Text("bỏ qua".into()));
    o = engine::step(&d, &o.session, Input::Text("5".into()));
    // The overall answer is positive: the follow-up is not asked, 13 remain.
    assert!(last_text(&o).contains("Câu 13/13"), "{}", last_text(&o));
    o = engine::step(&d, &o.session, Input::Text("bỏ qua".into()));
    assert_eq!(o.session.at, At::Review);
    let review = last_text(&o);
    assert!(
        review.contains("1. Thái độ giao tiếp của cán bộ — Hài lòng"),
        "{review}"
    );
    assert!(
        review.contains("12. Mức độ hài lòng chung — Rất hài lòng"),
        "{review}"
    );
    // Edit question 12 from the review, then return straight to the review.
    o = engine::step(&d, &o.session, Input::Text("sửa 12".into()));
    assert!(last_text(&o).contains("Câu trả lời hiện tại: Rất hài lòng"));
    o = engine::step(&d, &o.session, Input::Text("không hài lòng".into()));
    // The change reveals the follow-up question, which is asked before the review.
    assert!(
        last_text(&o).contains("Điều gì khiến ông/bà chưa hài lòng"),
        "{}",
        last_text(&o)
    );
    o = press(&d, &o, Action::Pick(2));
    o = press(&d, &o, Action::Pick(4));
    o = press(&d, &o, Action::Done);
    assert_eq!(o.session.at, At::Review);
    assert!(
        last_text(&o).contains("Thông tin, hướng dẫn chưa rõ; Phải đi lại nhiều lần"),
        "{}",
        last_text(&o)
    );
    o = press(&d, &o, Action::Confirm);
    let Some(Effect::Submit(b)) = &o.effect else {
        panic!("no submission")
    };
    assert_eq!(b.answers.get("tong-the"), Some(&Answer::Choice(2)));
    assert_eq!(
        b.answers.get("chua-hai-long"),
        Some(&Answer::Choices(vec![2, 4]))
    );
    assert_eq!(b.answers.len(), 14);
}

fn required_questions_cannot_be_skipped_and_the_first_has_no_back() {
    let (d, o) = citizen();
    let next = engine::step(&d, &o.session, Input::Text("bỏ qua".into()));
    assert!(last_text(&next).contains("không bỏ qua được"));
    assert_eq!(next.session.answers.len(), 0);
    let next = engine::step(&d, &o.session, Input::Text("quay lại".into()));
    assert!(last_text(&next).contains("câu đầu tiên"));
}

fn a_late_press_from_an_older_question_is_refused_politely() {
    let (d, o) = citizen();
    let first_step = o.session.step;
    let o = engine::step(&d, &o.session, Input::Text("4".into()));
    let late = engine::step(
        &d,
        &o.session,
        Input::Press {
            step: first_step,
            action: Action::Pick(1),
        },
    );
    assert_eq!(late.session, o.session);
    assert!(last_text(&late).contains("thuộc một tin nhắn trước"));
}

/// A leader answers a unit's six areas in one message of digits, is shown
/// them back, and sends; a row that does not fit changes nothing.
fn a_leader_types_a_whole_unit_in_one_row() {
    let d = dialogues()
        .into_iter()
        .find(|d| d.id() == "can-bo-danh-gia-xa")
        .unwrap();
    let start = engine::start(&d, units(2));
    let say = |o: &Outcome, t: &str| engine::step(&d, &o.session, Input::Text(t.into()));
    for bad in ["4 5 3", "4 5 3 4 4 5 5", "4 5 7 4 4 5", "45344"] {
        let o = say(&start, bad);
        assert_eq!(o.session.answers, start.session.answers, "{bad}");
        assert!(matches!(o.session.at, At::Asking { .. }), "{bad}");
        assert!(
            last_text(&o).contains("Xin gõ lại cả dòng"),
            "{bad}: {}",
            last_text(&o)
        );
    }
    for row in ["4 5 ? 4 4 5", "4,5,0,4,4,5", "45?445", " 4  5 6 4 4 5 "] {
        let o = say(&start, row);
        assert_eq!(o.session.at, At::Review, "{row}");
        let review = o.replies.last().and_then(|r| r.review.clone()).unwrap();
        let answers: Vec<&str> = review.items.iter().map(|i| i.answer.as_str()).collect();
        assert_eq!(
            answers,
            [
                "Tác động tích cực",
                "Tác động rất tích cực",
                "Không đánh giá được",
                "Tác động tích cực",
                "Tác động tích cực",
                "Tác động rất tích cực"
            ],
            "{row}"
        );
        // A second row on the review replaces the first.
        let again = say(&o, "1 1 1 1 1 1");
        assert_eq!(again.session.at, At::Review);
        assert!(
            again
                .session
                .answers
                .values()
                .all(|a| *a == Answer::Choice(1))
        );
        let sent = say(&o, "gửi");
        let Some(Effect::Submit(ballot)) = sent.effect else {
            panic!("not sent: {}", last_text(&sent));
        };
        assert_eq!(
            ballot.answers.get("to-chuc-bo-may"),
            Some(&Answer::Choice(6))
        );
        assert_eq!(ballot.answers.len(), 6);
    }
    // One digit still answers the area asked now, as on every channel.
    let one = say(&start, "4");
    assert_eq!(one.session.answers.len(), 1);
}

/// The tests of this module.
pub fn trials() -> Vec<libtest_mimic::Trial> {
    crate::trials![
        sync any_inputs_leave_the_engine_waiting_or_finished,
        sync back_then_forward_keeps_answers,
        sync button_data_decodes_only_what_was_encoded,
        sync every_button_round_trips,
        sync typed_answers_are_understood_in_any_form,
        sync invalid_answers_are_re_asked_with_a_hint,
        sync progress_counts_questions_and_review_lists_answers,
        sync required_questions_cannot_be_skipped_and_the_first_has_no_back,
        sync a_late_press_from_an_older_question_is_refused_politely,
        sync a_leader_types_a_whole_unit_in_one_row,
    ]
}
