//! Replies as Zalo consultation messages: text (at most 2,000 characters)
//! that works on every client — numbered options, the words to type — with
//! buttons as an extra where the step has them.

use crate::engine::{Action, Button, Reply};
use crate::text::split;

/// Zalo's limit for one consultation message.
pub const MAX_MESSAGE_CHARS: usize = 2000;
/// Zalo's free replies to one message of a user (its help desk: 8 in the
/// 48 hours after the user wrote). The courier warns when a step needs
/// more; the shipped dialogues need one message per step.
pub const MAX_MESSAGES_PER_STEP: usize = 8;
/// Zalo's limit for a button's title.
const MAX_TITLE_CHARS: usize = 100;
/// What a button's payload begins with: a tap comes back as the user's
/// text, and this tells it from anything typed.
pub const BUTTON_PAYLOAD: &str = "#ks:";

/// One consultation message.
#[derive(Debug, Clone, PartialEq)]
pub struct ZaloMessage {
    pub text: String,
    /// Its buttons, in order.
    pub buttons: Vec<ZaloButton>,
}

/// A button: a tap sends `payload` back as the user's (hidden) text
/// (`oa.query.hide`), or opens `url` in Zalo's browser (`oa.open.url`).
#[derive(Debug, Clone, PartialEq)]
pub struct ZaloButton {
    pub title: String,
    pub payload: String,
    pub url: Option<String>,
}

/// Under the greeting on Zalo: who can read this chat, and the way out of it.
pub const VISIBILITY: &str = "Lưu ý: tin nhắn trong cuộc trò chuyện này (cả mã phiếu và câu trả lời) hiện lên cho người quản trị tài khoản Zalo này, kèm tên Zalo của ông/bà. Nếu không muốn như vậy, xin mở trang trả lời trên web (bên dưới) rồi gõ mã phiếu ở đó (không gõ mã phiếu ở đây): trên trang web chỉ hòm phiếu biết câu trả lời.";
/// The button that opens the web chat.
pub const OPEN_WEB: &str = "Trả lời trên trang web";
/// Under the introduction, once a token is accepted.
pub const CONTINUE_ON_WEB: &str = "Nếu không muốn người quản trị tài khoản Zalo này đọc được câu trả lời, ông/bà có thể trả lời tiếp trên trang web (bên dưới; liên kết dùng được một lần, trong 24 giờ): phiếu đang trả lời được chuyển sang đó.";
/// The button that moves the ballot to the web chat.
pub const CONTINUE_WEB: &str = "Trả lời tiếp trên trang web";

/// One step's replies as few messages as possible: texts without buttons go
/// with the next message, up to Zalo's length limit. `buttons` is the most
/// a message carries (0: none, text only); `web` is the web chat's address,
/// offered under the greeting.
pub fn messages(replies: &[Reply], buttons: usize, web: Option<&str>) -> Vec<ZaloMessage> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for r in replies {
        if let (true, Some(url)) = (r.welcome, web) {
            let text = format!("{}\n\n{VISIBILITY}", r.text);
            link(
                &mut out,
                &mut pending,
                text,
                OPEN_WEB,
                url.to_string(),
                buttons,
            );
            continue;
        }
        if let (Some(code), Some(url)) = (&r.handover, web) {
            // A message of its own: the question after it keeps its buttons.
            let text = format!("{}\n\n{CONTINUE_ON_WEB}", r.to_plain_text());
            let to = format!("{}/#h={code}", url.trim_end_matches('/'));
            link(&mut out, &mut pending, text, CONTINUE_WEB, to, buttons);
            continue;
        }
        let text = text_of(r, buttons);
        let asks = !r.choices.is_empty() || !r.controls.is_empty() || r.grid.is_some();
        let joined = if pending.is_empty() {
            text.clone()
        } else {
            format!("{pending}\n\n{text}")
        };
        if joined.chars().count() > MAX_MESSAGE_CHARS {
            push_text(&mut out, &pending, Vec::new());
            pending = text;
        } else {
            pending = joined;
        }
        if asks {
            push_text(&mut out, &pending, buttons_of(r, buttons));
            pending.clear();
        }
    }
    if !pending.is_empty() {
        push_text(&mut out, &pending, Vec::new());
    }
    out
}

/// A message of its own (after what is pending) that opens `url`: as an
/// `oa.open.url` button, or — with buttons off — written out in the text.
fn link(
    out: &mut Vec<ZaloMessage>,
    pending: &mut String,
    text: String,
    title: &str,
    url: String,
    buttons: usize,
) {
    let mut text = if pending.is_empty() {
        text
    } else {
        format!("{pending}\n\n{text}")
    };
    pending.clear();
    if buttons == 0 {
        text.push_str(&format!("\n{url}"));
        return push_text(out, &text, Vec::new());
    }
    let open = ZaloButton {
        title: title.into(),
        payload: String::new(),
        url: Some(url),
    };
    push_text(out, &text, vec![open]);
}

/// `text` in pieces that fit; the buttons go under the last, next to the
/// question.
fn push_text(out: &mut Vec<ZaloMessage>, text: &str, buttons: Vec<ZaloButton>) {
    if text.is_empty() {
        return;
    }
    let pieces = split(text, MAX_MESSAGE_CHARS);
    let last = pieces.len().saturating_sub(1);
    for (i, text) in pieces.into_iter().enumerate() {
        out.push(ZaloMessage {
            text,
            buttons: if i == last {
                buttons.clone()
            } else {
                Vec::new()
            },
        });
    }
}

/// The reply as text, with how to answer a question with options.
fn text_of(r: &Reply, buttons: usize) -> String {
    let options = r.choices.len();
    let several = r.controls.iter().any(|c| c.action == Action::Done);
    let hint = match (several, options <= buttons) {
        (false, true) => format!("Chọn một nút bên dưới, hoặc gõ số 1–{options}."),
        (false, false) => format!("Trả lời 1–{options} (gõ số)."),
        (true, true) => "Chọn các ý bằng nút bên dưới rồi chọn “Xong ✔”, hoặc gõ các số cách nhau bởi dấu phẩy (ví dụ: 1, 3).".to_string(),
        (true, false) => "Gõ các số của những ý đã chọn, cách nhau bởi dấu phẩy (ví dụ: 1, 3).".to_string(),
    };
    r.to_plain_text_with(Some(&hint))
}

/// The buttons of a reply, at most `cap`: the options when they all fit,
/// then the controls that still fit. On the review "Gửi phiếu" comes
/// first, and "Sửa câu N" only if every one of them fits.
fn buttons_of(r: &Reply, cap: usize) -> Vec<ZaloButton> {
    let mut chosen: Vec<&Button> = Vec::new();
    if r.review.is_some() {
        let (send, others): (Vec<&Button>, Vec<&Button>) =
            r.controls.iter().partition(|b| b.action == Action::Confirm);
        chosen.extend(send);
        if chosen.len() + r.choices.len() + others.len() <= cap {
            chosen.extend(&r.choices);
        }
        chosen.extend(others);
    } else {
        if r.choices.len() <= cap {
            chosen.extend(&r.choices);
        }
        chosen.extend(&r.controls);
    }
    chosen.truncate(cap);
    chosen.into_iter().map(|b| button(b, r)).collect()
}

fn button(b: &Button, r: &Reply) -> ZaloButton {
    let title = match b.action {
        Action::Pick(_) if b.selected => format!("✓ {}. {}", b.typed, b.label),
        Action::Pick(_) => format!("{}. {}", b.typed, b.label),
        _ => b.label.clone(),
    };
    ZaloButton {
        title: title.chars().take(MAX_TITLE_CHARS).collect(),
        payload: format!("{BUTTON_PAYLOAD}{}", b.action.encode(r.step)),
        url: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Button;

    fn question(options: usize, step: u32) -> Reply {
        let mut r = Reply::text("Câu 1/3\n\nÔng/bà hài lòng không?", step);
        r.choices = (1..=options as u16)
            .map(|n| Button {
                label: format!("Mức {n}"),
                action: Action::Pick(n),
                typed: n.to_string(),
                selected: false,
            })
            .collect();
        r.controls = vec![Button {
            label: "✖ Hủy".into(),
            action: Action::Cancel,
            typed: "hủy".into(),
            selected: false,
        }];
        r
    }

    #[test]
    fn options_are_buttons_that_carry_the_step_and_the_text_keeps_the_numbers() {
        let out = messages(&[Reply::text("Xin chào", 7), question(5, 7)], 5, None);
        assert_eq!(out.len(), 1, "the greeting goes with the question");
        let m = &out[0];
        assert!(m.text.starts_with("Xin chào\n\nCâu 1/3"));
        assert!(m.text.contains("\n1. Mức 1") && m.text.contains("gõ số 1–5"));
        assert!(!m.text.contains("Bấm") && !m.text.contains("bấm"));
        assert_eq!(m.buttons.len(), 5, "five options, no room for the control");
        assert_eq!(m.buttons[3].title, "4. Mức 4");
        assert_eq!(m.buttons[3].payload, "#ks:7:p4");
    }

    #[test]
    fn too_many_options_are_typed_and_buttons_can_be_turned_off() {
        let out = messages(&[question(6, 2)], 5, None);
        assert_eq!(out[0].buttons.len(), 1, "only the control");
        assert_eq!(out[0].buttons[0].payload, "#ks:2:x");
        assert!(out[0].text.contains("Trả lời 1–6 (gõ số)"));
        let off = messages(&[question(5, 2)], 0, None);
        assert!(off[0].buttons.is_empty());
        assert!(off[0].text.contains("Trả lời 1–5 (gõ số)"));
    }

    #[test]
    fn the_greeting_says_who_reads_the_chat_and_opens_the_web_chat() {
        let mut hello = Reply::text("Xin chào! Xin gõ mã phiếu.", 0);
        hello.welcome = true;
        let out = messages(
            &[hello.clone()],
            5,
            Some("https://khaosat.thangbinh.gov.vn"),
        );
        assert!(out[0].text.ends_with(VISIBILITY));
        assert_eq!(
            out[0].buttons[0].url.as_deref(),
            Some("https://khaosat.thangbinh.gov.vn")
        );
        // Without a web chat to offer, the greeting is as it was.
        assert_eq!(
            messages(&[hello], 5, None)[0].text,
            "Xin chào! Xin gõ mã phiếu."
        );
    }

    #[test]
    fn long_texts_are_split_and_the_buttons_stay_with_the_question() {
        let long = "ý kiến ".repeat(400);
        let out = messages(&[Reply::text(long, 1), question(3, 1)], 5, None);
        assert!(out.len() >= 2);
        assert!(
            out.iter()
                .all(|m| m.text.chars().count() <= MAX_MESSAGE_CHARS)
        );
        assert!(out[..out.len() - 1].iter().all(|m| m.buttons.is_empty()));
        assert_eq!(out.last().unwrap().buttons.len(), 4);
    }
}
