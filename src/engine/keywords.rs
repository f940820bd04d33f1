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

/// `"3"` or `"sua 3"` on the review screen → 3.
pub(super) fn edit_number(folded: &str) -> Option<u16> {
    let n = folded.strip_prefix("sua ").unwrap_or(folded).trim();
    (!n.is_empty() && n.len() <= 4 && n.bytes().all(|b| b.is_ascii_digit()))
        .then(|| n.parse().ok())
        .flatten()
}
