//! Staff in any chat: enrolment by a one-time staff token (`khaosat staff
//! add`), then the staff commands — progress, close, reopen, the report —
//! typed the same way on Telegram, Zalo and the web chat (`tiến độ` or
//! `/tiendo`, `đóng khảo sát …`, `mở lại 28/02/2021 …`, `báo cáo`).
//! Everyone else's words go to their ballot as before.

use anyhow::Result;

use super::turn::Turn;
use chrono::{DateTime, Utc};

use crate::campaign::Campaign;
use crate::period::{Action, Period};
use crate::text::fold;
use crate::token::Token;

/// What a staff token starts with: `NV-ABCD-EFGH-JKM` (Phòng Nội vụ).
pub const PREFIX: &str = "NV";

/// A staff token as typed, whatever its case and separators.
pub fn staff_token(text: &str) -> Option<Token> {
    let t = text.trim();
    let head = t.get(..PREFIX.len())?;
    if !head.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    Token::parse(&t[PREFIX.len()..]).ok()
}

/// How a staff token is printed.
pub fn display(token: &Token) -> String {
    format!("{PREFIX}-{}", token.display())
}

/// A staff command, with what follows its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffCommand {
    /// `tiến độ [unit id]`
    Progress(String),
    /// `đóng khảo sát <lý do>`
    Close(String),
    /// `mở lại <28/02/2021 [17:00]> <lý do>`
    Reopen(String),
    /// `báo cáo`
    Report,
}

impl StaffCommand {
    /// The command `text` is, if any: `/tiendo` or the words `tiến độ`
    /// (with or without diacritics), and so on.
    pub fn parse(text: &str) -> Option<Self> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let first = words.first()?;
        let rest = |n: usize| words.get(n..).unwrap_or_default().join(" ");
        if let Some(slash) = first.strip_prefix('/') {
            let name = slash.split('@').next().unwrap_or_default().to_lowercase();
            return match name.as_str() {
                "tiendo" => Some(Self::Progress(rest(1))),
                "dongkhaosat" => Some(Self::Close(rest(1))),
                "molai" => Some(Self::Reopen(rest(1))),
                "baocao" => Some(Self::Report),
                _ => None,
            };
        }
        let folded: Vec<String> = words.iter().take(3).map(|w| fold(w)).collect();
        let starts = |phrase: &[&str]| {
            folded.len() >= phrase.len() && folded.iter().zip(phrase).all(|(w, p)| w == p)
        };
        if starts(&["tien", "do"]) {
            Some(Self::Progress(rest(2)))
        } else if starts(&["dong", "khao", "sat"]) {
            Some(Self::Close(rest(3)))
        } else if starts(&["mo", "lai"]) {
            Some(Self::Reopen(rest(2)))
        } else if starts(&["bao", "cao"]) && words.len() == 2 {
            Some(Self::Report)
        } else {
            None
        }
    }
}

/// Said to anyone else who types a staff command outside a ballot.
pub const NOT_STAFF: &str = "Xin lỗi, lệnh này chỉ dành cho cán bộ phụ trách khảo sát. Để trả lời phiếu, xin gõ mã phiếu in trên giấy mời.";

const ENROLLED: &str = "Đồng chí {name} đã được ghi nhận là cán bộ phụ trách khảo sát trên kênh này. Các lệnh:\n\
• tiến độ — tiến độ so với chỉ tiêu (tiến độ <mã đơn vị> cho một đơn vị)\n\
• đóng khảo sát <lý do> — đóng đợt khảo sát ngay\n\
• mở lại <28/02/2021> <lý do> — mở lại hoặc gia hạn đến ngày đó\n\
• báo cáo — kết quả, sau khi đợt khảo sát kết thúc";
const NOT_A_STAFF_TOKEN: &str = "Mã cán bộ này không đúng, đã được dùng, hoặc đã bị thu hồi. Xin đồng chí kiểm tra lại, hoặc đề nghị Phòng Nội vụ cấp mã mới (khaosat staff add).";
const CLOSE_USAGE: &str = "Xin ghi kèm lý do, ví dụ: đóng khảo sát Đã đủ số phiếu theo kế hoạch";
const REOPEN_USAGE: &str = "Xin ghi ngày kết thúc mới và lý do, ví dụ: mở lại 28/02/2021 Gia hạn để xã Bình Trị đủ số phiếu";
/// Said when the report cannot be made; the reason goes to the log only.
pub const REPORT_FAILED: &str = "Xin lỗi, chưa tổng hợp được kết quả. Đồng chí vui lòng thử lại sau ít phút; nếu vẫn không được, xin báo bộ phận kỹ thuật (chi tiết đã ghi trong nhật ký hệ thống).";
const REPORT_WHERE: &str = "Kết quả đã có thể tổng hợp. Trên Telegram, gửi /baocao để nhận tệp Excel và trang HTML; trên máy chủ: khaosat report --out bao-cao.";

impl Turn<'_> {
    /// A staff token was sent: enrol this account, once.
    pub(super) async fn enrol_staff(&mut self, token: &Token) -> Result<()> {
        let hash = self.survey.keys.token(token);
        let channel = self.message.channel.clone();
        let account = self.survey.keys.staff(&channel, &self.message.user);
        let now = self.now.timestamp();
        match self.tx.enrol_staff(&hash, &account, &channel, now).await? {
            Some(name) => {
                // The web chat's account is its session: keep it.
                self.open = true;
                self.say(ENROLLED.replace("{name}", &name));
            }
            None => self.say(NOT_A_STAFF_TOKEN),
        }
        Ok(())
    }

    /// A staff command from an enrolled account (`account`, its keyed hash).
    pub(super) async fn staff_command(
        &mut self,
        command: StaffCommand,
        account: &str,
    ) -> Result<()> {
        let survey = self.survey;
        let c = survey.campaign.clone();
        self.open = true;
        match command {
            StaffCommand::Progress(unit) => {
                let p = self.progress().await?;
                let unit = unit.trim();
                let text = if unit.is_empty() {
                    crate::progress::overview(&c, &p, self.now)
                } else {
                    crate::progress::unit_detail(&c, &p, unit, self.now).unwrap_or_else(|| {
                        format!("Không có đơn vị “{unit}”. Gửi “tiến độ” để xem mọi đơn vị và mã của chúng.")
                    })
                };
                self.say(text);
            }
            StaffCommand::Close(args) => match period_request(&c, Action::Close, &args) {
                Some((until, reason)) => {
                    self.change_period(Action::Close, until, &reason, account)
                        .await?
                }
                None => self.say(CLOSE_USAGE),
            },
            StaffCommand::Reopen(args) => match period_request(&c, Action::Reopen, &args) {
                Some((until, reason)) => {
                    self.change_period(Action::Reopen, until, &reason, account)
                        .await?
                }
                None => self.say(REOPEN_USAGE),
            },
            StaffCommand::Report if survey.results_published() => {
                match survey.take_report_id(&self.respondent) {
                    Some(id) if id.is_empty() => self.say(REPORT_FAILED),
                    Some(id) => {
                        let (page, workbook) = survey.report_links(&id);
                        self.say(format!(
                            "Kết quả tổng hợp (đường dẫn dùng được trong {} giờ):\n• Trang kết quả: {page}\n• Tệp Excel: {workbook}",
                            super::reports::KEPT.num_hours()
                        ));
                    }
                    None => self.say(REPORT_WHERE),
                }
            }
            StaffCommand::Report => {
                let p = self.progress().await?;
                self.say(crate::progress::before_close(&c, &p, self.now));
            }
        }
        Ok(())
    }

    /// Progress now, read in this step's transaction.
    async fn progress(&mut self) -> Result<crate::progress::Progress> {
        let c = self.survey.campaign.clone();
        let counts = self.tx.ballot_counts(c.id()).await?;
        let mut p = crate::progress::Progress::new(&c, &counts);
        p.period = self.survey.period();
        p.unreachable = self.tx.undeliverable_counts().await?;
        Ok(p)
    }

    /// Records a close or reopen with this step; in force here once it is
    /// committed, elsewhere at their next reading.
    async fn change_period(
        &mut self,
        action: Action,
        until: Option<DateTime<Utc>>,
        reason: &str,
        account: &str,
    ) -> Result<()> {
        let c = self.survey.campaign.clone();
        let period = self.survey.period();
        let change = match period.change(&c, self.now, action, until, account, reason) {
            Ok(change) => change,
            Err(why) => {
                self.say(format!("Không thay đổi: {why}."));
                return Ok(());
            }
        };
        self.tx.record_period_change(c.id(), &change).await?;
        self.survey.period_changed();
        self.say(in_force(&c, &period.with(change)));
        Ok(())
    }
}

/// What a close or reopen asks, from the words after its command: the new
/// end (for a reopening, in the campaign's time) and the reason; `None`
/// when one is missing, and the caller answers with its usage line.
pub fn period_request(
    c: &Campaign,
    action: Action,
    args: &str,
) -> Option<(Option<DateTime<Utc>>, String)> {
    let (until, reason) = match action {
        Action::Close => (None, args.trim().to_string()),
        Action::Reopen => {
            let (at, reason) = crate::period::split_until(args)?;
            (crate::period::local(c, at), reason)
        }
    };
    (!reason.trim().is_empty()).then_some((until, reason))
}

/// The answer once a change of the period is recorded.
pub fn in_force(c: &Campaign, period: &Period) -> String {
    format!(
        "{} Đã áp dụng trên mọi máy chủ.",
        period.note(c).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_commands_read_as_staff_type_them() {
        assert_eq!(
            StaffCommand::parse("tiến độ"),
            Some(StaffCommand::Progress(String::new()))
        );
        assert_eq!(
            StaffCommand::parse("Tien do binh-an"),
            Some(StaffCommand::Progress("binh-an".into()))
        );
        assert_eq!(
            StaffCommand::parse("/tiendo@khaosat_bot"),
            Some(StaffCommand::Progress(String::new()))
        );
        assert_eq!(
            StaffCommand::parse("đóng khảo sát Đủ phiếu"),
            Some(StaffCommand::Close("Đủ phiếu".into()))
        );
        assert_eq!(
            StaffCommand::parse("mo lai 28/02/2021 gia han"),
            Some(StaffCommand::Reopen("28/02/2021 gia han".into()))
        );
        assert_eq!(StaffCommand::parse("Báo cáo"), Some(StaffCommand::Report));
        // An answer that merely mentions a report is an answer.
        assert_eq!(StaffCommand::parse("báo cáo chậm quá"), None);
        assert_eq!(StaffCommand::parse("4"), None);
        let t = Token::generate(&mut rand::rng());
        let printed = display(&t);
        assert!(printed.starts_with("NV-"));
        assert_eq!(staff_token(&printed.to_lowercase()), Some(t.clone()));
        assert!(
            staff_token(&t.display()).is_none(),
            "a respondent's token is not a staff token"
        );
    }
}
