//! The bot's commands, parsed by teloxide's `BotCommands` and mapped to
//! what they mean in one place.

use teloxide::macros::BotCommands;

use crate::engine::Action;
use crate::survey::Content;

/// Everyone's commands, as registered with `setMyCommands`.
#[derive(Debug, Clone, PartialEq, Eq, BotCommands)]
#[command(rename_rule = "lowercase")]
pub enum Command {
    /// `/start [token]`: a deep link's payload arrives here.
    #[command(description = "Bắt đầu, hoặc nhập mã phiếu")]
    Start(String),
    #[command(
        description = "Hướng dẫn trả lời phiếu",
        aliases = ["help"],
        hide_aliases
    )]
    Huongdan,
    #[command(description = "Quay lại câu trước")]
    Quaylai,
    #[command(description = "Hủy phiếu đang trả lời")]
    Huy,
}

/// The staff's commands, shown only in their chats.
#[derive(Debug, Clone, PartialEq, Eq, BotCommands)]
#[command(rename_rule = "lowercase")]
pub enum StaffCommand {
    /// `/tiendo [unit id]`
    #[command(description = "Tiến độ so với chỉ tiêu (cán bộ phụ trách)")]
    Tiendo(String),
    #[command(description = "Tổng hợp kết quả: tệp Excel và trang HTML (cán bộ phụ trách)")]
    Baocao,
    /// `/dongkhaosat <lý do>`
    #[command(description = "Đóng đợt khảo sát ngay, kèm lý do (cán bộ phụ trách)")]
    Dongkhaosat(String),
    /// `/molai <28/02/2021 [17:00]> <lý do>`
    #[command(description = "Mở lại hoặc gia hạn đến ngày…, kèm lý do (cán bộ phụ trách)")]
    Molai(String),
}

impl Command {
    /// What the command asks of the survey.
    pub fn content(self) -> Content {
        match self {
            Self::Start(payload) => {
                let payload = payload.trim();
                Content::Start((!payload.is_empty()).then(|| payload.to_string()))
            }
            Self::Huongdan => Content::Command(Action::Help),
            Self::Quaylai => Content::Command(Action::Back),
            Self::Huy => Content::Command(Action::Cancel),
        }
    }
}

#[cfg(test)]
mod tests {
    use teloxide::utils::command::BotCommands as _;

    use super::*;

    #[test]
    fn commands_parse_into_what_they_mean() {
        let parse = |t: &str| Command::parse(t, "khaosat_bot").ok().map(Command::content);
        assert_eq!(
            parse("/start ABCD-EFGH-JKM"),
            Some(Content::Start(Some("ABCD-EFGH-JKM".into())))
        );
        assert_eq!(parse("/start"), Some(Content::Start(None)));
        assert_eq!(
            parse("/huy@khaosat_bot"),
            Some(Content::Command(Action::Cancel))
        );
        assert_eq!(parse("/help"), Some(Content::Command(Action::Help)));
        assert_eq!(parse("/huy@another_bot"), None);
        assert_eq!(parse("/tiendo"), None);
        assert_eq!(
            StaffCommand::parse("/tiendo binh-an", "khaosat_bot").ok(),
            Some(StaffCommand::Tiendo("binh-an".into()))
        );
    }
}
