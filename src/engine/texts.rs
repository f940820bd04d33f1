//! The engine's own Vietnamese texts (buttons, hints, errors).

pub const BACK: &str = "◀ Quay lại";
pub const BACK_TYPED: &str = "quay lại";
pub const SKIP: &str = "Bỏ qua ▶";
pub const SKIP_TYPED: &str = "bỏ qua";
pub const KEEP: &str = "Giữ nguyên ▶";
pub const KEEP_TYPED: &str = "giữ";
pub const DONE: &str = "Xong ✔";
pub const DONE_TYPED: &str = "xong";
pub const REVIEW: &str = "Về trang xem lại";
pub const REVIEW_TYPED: &str = "xem lại";
pub const CONFIRM: &str = "✔ Gửi phiếu";
pub const CONFIRM_TYPED: &str = "gửi";
pub const CANCEL: &str = "✖ Hủy";
pub const CANCEL_TYPED: &str = "hủy";
pub const CANCEL_YES: &str = "Có, hủy phiếu này";
pub const CANCEL_YES_TYPED: &str = "có";
pub const CANCEL_NO: &str = "Không, trả lời tiếp";
pub const CANCEL_NO_TYPED: &str = "không";

/// `ông/bà` → `Ông/bà`: the form of address at the start of a sentence.
fn capital(you: &str) -> String {
    let mut chars = you.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub fn confirm_cancel(you: &str) -> String {
    format!(
        "{} có chắc muốn hủy? Các câu trả lời chưa gửi của đơn vị này sẽ bị xóa.",
        capital(you)
    )
}

/// A button of an older message was pressed (only channels with buttons).
pub fn stale(you: &str) -> String {
    format!(
        "Nút {you} vừa bấm thuộc một tin nhắn trước nên không được ghi nhận. Xin trả lời câu hiện tại:"
    )
}
pub const BAD_PRESS: &str =
    "Nút này không hợp lệ nên không được ghi nhận. Xin trả lời câu hiện tại:";
pub const NOT_NOW: &str = "Thao tác này không dùng được lúc này.";
pub const FIRST_QUESTION: &str = "Đây là câu đầu tiên, không thể quay lại nữa.";
pub const REQUIRED: &str = "Câu này cần có câu trả lời, không bỏ qua được.";
pub const NOTHING_TO_KEEP: &str = "Câu này chưa có câu trả lời để giữ nguyên.";
pub fn resume(you: &str) -> String {
    format!("Mời {you} tiếp tục từ chỗ đã dừng:")
}
pub const SUBMITTING: &str = "Phiếu đang được ghi nhận, xin đợi trong giây lát.";
pub fn finished(you: &str) -> String {
    format!("{} đã hoàn thành khảo sát. Xin cảm ơn!", capital(you))
}

pub const EMPTY: &str = "Tin nhắn trống. Xin trả lời câu hỏi bên dưới.";
/// Under the review, where there are buttons (Telegram, the web chat).
pub const REVIEW_HINT: &str =
    "Bấm “Gửi phiếu” nếu mọi câu trả lời đã đúng, hoặc bấm số của câu muốn sửa.";
/// The first line of the review where there are no buttons (Zalo, the terminal).
pub const REVIEW_TYPED_HINT: &str = "Gõ “gửi” để gửi phiếu, hoặc gõ “sửa 3” để sửa câu 3.";
/// After the typed hint of a compact-form unit's review.
pub fn review_typed_row(count: usize) -> String {
    format!(" Muốn đánh giá lại cả đơn vị, gõ lại {count} số.")
}
/// When something else is typed on the review.
pub const REVIEW_AGAIN: &str = "Phiếu chưa được gửi. Gõ “gửi” để gửi phiếu, hoặc “sửa” và số câu để sửa câu đó (ví dụ “sửa 3”).";
pub const PROGRESS: &str = "Câu";
pub const CURRENT_ANSWER: &str = "Câu trả lời hiện tại";
pub const REMAINING: &str = "Các đơn vị còn lại";

/// Help shown on request, with the words that can be typed.
pub fn help(you: &str, remaining: &[String]) -> String {
    let mut s = format!(
        "Hướng dẫn: trả lời bằng số thứ tự của lựa chọn (ví dụ 4), hoặc gõ chính câu trả lời, có dấu hay không dấu đều được (ví dụ “hai long”).\n\
         Có thể gõ: “quay lại” để về câu trước, “bỏ qua” với câu không bắt buộc, “hủy” để hủy phiếu đang làm. Trước khi gửi, {you} được xem lại và sửa mọi câu trả lời."
    );
    if remaining.len() > 1 {
        s.push_str(&format!(
            "\n\n{REMAINING} ({}):\n• {}",
            remaining.len(),
            remaining.join("\n• ")
        ));
    }
    s
}

pub fn invalid_choice(shown: &str, count: usize) -> String {
    format!(
        "Xin lỗi, chưa hiểu câu trả lời “{shown}”. Xin chọn số từ 1 đến {count}, hoặc gõ đúng tên lựa chọn (có dấu hay không dấu đều được)."
    )
}

pub fn invalid_multiple(shown: &str, count: usize) -> String {
    format!(
        "Xin lỗi, chưa hiểu “{shown}”. Câu này được chọn nhiều ý: chọn các số từ 1 đến {count}, gõ cách nhau bởi dấu phẩy (ví dụ: 1, 3), rồi “xong”."
    )
}

pub fn too_many_choices(max: usize) -> String {
    format!("Câu này chỉ được chọn tối đa {max} ý.")
}

pub fn text_too_long(len: usize, max: usize) -> String {
    format!("Câu trả lời dài {len} ký tự, vượt quá giới hạn {max} ký tự. Xin rút gọn rồi gửi lại.")
}

pub fn text_too_short(min: usize) -> String {
    format!("Câu trả lời cần ít nhất {min} ký tự.")
}

pub fn text_hint(max: usize, required: bool) -> String {
    if required {
        format!("(Gõ câu trả lời, tối đa {max} ký tự.)")
    } else {
        format!("(Gõ câu trả lời, tối đa {max} ký tự; nếu không có ý kiến, gõ “bỏ qua”.)")
    }
}

pub fn invalid_number(shown: &str) -> String {
    format!("“{shown}” không phải là một số. Xin gõ một số, ví dụ 3.")
}

pub fn number_not_integer() -> String {
    "Xin gõ một số nguyên (không có phần thập phân).".to_string()
}

pub fn number_out_of_range(min: f64, max: f64) -> String {
    use crate::dialogue::format_number as f;
    match (min > f64::MIN, max < f64::MAX) {
        (true, true) => format!("Xin gõ một số từ {} đến {}.", f(min), f(max)),
        (true, false) => format!("Xin gõ một số không nhỏ hơn {}.", f(min)),
        (false, true) => format!("Xin gõ một số không lớn hơn {}.", f(max)),
        (false, false) => "Xin gõ một số.".to_string(),
    }
}

pub fn edit_label(n: usize) -> String {
    format!("✎ Sửa câu {n}")
}

/// A digit of a typed compact-form row that is not an option.
pub fn bad_mark(position: usize, mark: &str, options: usize, cannot_say: bool) -> String {
    let extra = if cannot_say {
        ", hoặc ? (hay 0) nếu không đánh giá được"
    } else {
        ""
    };
    format!(
        "Số thứ {position} (“{mark}”) không phải là một mức đánh giá. Mỗi lĩnh vực một số từ 1 đến {options}{extra}. Xin gõ lại cả dòng."
    )
}

/// A typed compact-form row with too few or too many marks.
pub fn wrong_mark_count(got: usize, want: usize) -> String {
    format!(
        "Cần đủ {want} số, mỗi lĩnh vực một số theo đúng thứ tự; tin nhắn vừa rồi có {got} số. Xin gõ lại cả dòng."
    )
}

/// How to answer a unit's compact form on a text channel, with an example
/// row of `count` marks.
pub fn grid_typed_hint(count: usize, options: usize, cannot_say: bool) -> String {
    let example = [4, 5, 3, 4, 4, 5]
        .iter()
        .cycle()
        .take(count)
        .map(|n| n.min(&options).to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let extra = if cannot_say {
        "; gõ ? hoặc 0 cho lĩnh vực không đánh giá được"
    } else {
        ""
    };
    format!(
        "Gõ {count} số trong một tin nhắn, mỗi lĩnh vực một số theo thứ tự trên, ví dụ: {example}{extra}."
    )
}

/// Under the compact form: the one area asked now can be answered alone.
pub fn grid_one_at_a_time(number: u16, label: &str) -> String {
    format!("Hoặc gõ một số để chỉ đánh giá lĩnh vực {number} ({label}).")
}
