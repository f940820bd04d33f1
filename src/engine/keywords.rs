//! What a respondent can type instead of pressing a control.

use super::Action;

/// A typed keyword (folded text, see `text::fold`) → the action it names.
pub(super) fn keyword(folded: &str) -> Option<Action> {
    let f = folded.strip_prefix('/').unwrap_or(folded);
    Some(match f {
        "quay lai" | "lai" | "back" | "tro lai" | "truoc" => Action::Back,
        "bo qua" | "skip" => Action::Skip,
        "giu" | "giu nguyen" | "tiep" | "keep" => Action::Keep,
        "xong" | "done" => Action::Done,
        "xem lai" | "review" => Action::Review,
        "gui" | "gui phieu" | "xac nhan" | "dong y" | "ok" | "send" | "confirm" => Action::Confirm,
        "huy" | "cancel" | "huy phieu" => Action::Cancel,
        "co" | "yes" | "co huy" => Action::CancelYes,
        "khong" | "no" => Action::CancelNo,
        "tro giup" | "giup" | "help" | "huong dan" => Action::Help,
        _ => return None,
    })
}

/// A greeting, or "carry on": someone coming back after a while, who is
/// shown where they stopped.
pub(super) fn greeting(folded: &str) -> bool {
    matches!(
        folded.trim_end_matches(['!', '.']),
        "tiep tuc" | "lam tiep" | "xin chao" | "chao" | "alo" | "hello" | "hi" | "bat dau"
    )
}

/// `"sua 3"` (or `"sửa câu 3"`) on the review screen → 3. A bare number is
/// not taken: after a run of questions answered by number, a respondent on
/// a text channel typing "4" on the review means an answer, not "change
/// question 4" — they are told how to send instead.
pub(super) fn edit_number(folded: &str) -> Option<u16> {
    let rest = folded.strip_prefix("sua")?.trim_start();
    let n = rest.strip_prefix("cau").unwrap_or(rest).trim();
    (!n.is_empty() && n.len() <= 4 && n.bytes().all(|b| b.is_ascii_digit()))
        .then(|| n.parse().ok())
        .flatten()
}
