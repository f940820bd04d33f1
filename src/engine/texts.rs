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

pub const CONFIRM_CANCEL: &str =
    "Bạn có chắc muốn hủy? Các câu trả lời chưa gửi của đơn vị này sẽ bị xóa.";
pub const STALE: &str =
    "Nút bạn vừa bấm thuộc một tin nhắn trước nên không được ghi nhận. Xin trả lời câu hiện tại:";
pub const BAD_PRESS: &str =
    "Nút này không hợp lệ nên không được ghi nhận. Xin trả lời câu hiện tại:";
pub const NOT_NOW: &str = "Thao tác này không dùng được lúc này.";
pub const FIRST_QUESTION: &str = "Đây là câu đầu tiên, không thể quay lại nữa.";
pub const REQUIRED: &str = "Câu này cần có câu trả lời, không bỏ qua được.";
pub const NOTHING_TO_KEEP: &str = "Câu này chưa có câu trả lời để giữ nguyên.";
pub const RESUME: &str = "Chào mừng bạn quay lại! Ta tiếp tục từ chỗ bạn dừng:";
pub const SUBMITTING: &str = "Phiếu đang được ghi nhận, xin đợi trong giây lát.";
pub const FINISHED: &str = "Bạn đã hoàn thành khảo sát. Xin cảm ơn!";
pub const EMPTY: &str = "Tin nhắn trống. Xin gõ câu trả lời hoặc bấm một nút.";
pub const REVIEW_HINT: &str =
    "Bấm “Gửi phiếu” nếu mọi câu trả lời đã đúng, hoặc bấm số của câu muốn sửa.";
pub const PROGRESS: &str = "Câu";
pub const CURRENT_ANSWER: &str = "Câu trả lời hiện tại";
pub const REMAINING: &str = "Các đơn vị còn lại";

/// Help shown on request, with the words that can be typed.
pub fn help(remaining: &[String]) -> String {
    let mut s = String::from(
        "Hướng dẫn: bấm nút hoặc gõ số thứ tự của câu trả lời (ví dụ 4), hoặc gõ chính câu trả lời, có dấu hay không dấu đều được (ví dụ “hai long”).\n\
         Có thể gõ: “quay lại” để về câu trước, “bỏ qua” với câu không bắt buộc, “hủy” để hủy phiếu đang làm. Trước khi gửi, bạn được xem lại và sửa mọi câu trả lời.",
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
        "Xin lỗi, tôi chưa hiểu câu trả lời “{shown}”. Xin bấm một nút, hoặc gõ một số từ 1 đến {count}, hoặc gõ đúng tên lựa chọn (có dấu hay không dấu đều được)."
    )
}

pub fn invalid_multiple(shown: &str, count: usize) -> String {
    format!(
        "Xin lỗi, tôi chưa hiểu “{shown}”. Câu này được chọn nhiều ý: bấm từng nút rồi bấm “Xong”, hoặc gõ các số từ 1 đến {count} cách nhau bởi dấu phẩy (ví dụ: 1, 3)."
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
        format!("(Gõ câu trả lời, tối đa {max} ký tự; hoặc bấm “Bỏ qua” nếu không có ý kiến.)")
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
