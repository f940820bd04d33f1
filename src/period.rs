//! The survey period as it stands: the campaign file's dates, changed by
//! the staff's recorded decisions to close early or to reopen until a new
//! date. Pure: the changes come from the store, in the order they were made.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::campaign::{Campaign, PeriodState};

/// What staff decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Closed at once.
    Close,
    /// Open at once, until a new end.
    Reopen,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Close => "close",
            Self::Reopen => "reopen",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "close" => Some(Self::Close),
            "reopen" => Some(Self::Reopen),
            _ => None,
        }
    }
}

/// One recorded change of the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub at: DateTime<Utc>,
    pub action: Action,
    /// The new end, for a reopening.
    pub until: Option<DateTime<Utc>>,
    /// Who decided: "dòng lệnh" (the server's command line) or a staff
    /// member's keyed hash.
    pub by: String,
    pub reason: String,
}

/// The period in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub opens: DateTime<Utc>,
    pub closes: DateTime<Utc>,
    /// The latest change, if staff made any.
    pub last: Option<Change>,
}

impl Period {
    /// The campaign's period with `changes` (oldest first) applied.
    pub fn of(campaign: &Campaign, changes: &[Change]) -> Self {
        let mut period = Self {
            opens: campaign.opens(),
            closes: campaign.closes(),
            last: None,
        };
        for change in changes {
            period.apply(change.clone());
        }
        period
    }

    /// The period once `change` is made too.
    pub fn with(mut self, change: Change) -> Self {
        self.apply(change);
        self
    }

    fn apply(&mut self, change: Change) {
        match change.action {
            Action::Close => {
                self.closes = change.at;
                self.opens = self.opens.min(change.at);
            }
            Action::Reopen => {
                self.opens = self.opens.min(change.at);
                self.closes = change.until.unwrap_or(self.closes).max(change.at);
            }
        }
        self.last = Some(change);
    }

    /// The change staff ask for at `now`, or why it is refused (in
    /// Vietnamese, for the operator): closing a closed survey, or
    /// reopening without a new end, or until a moment already past.
    pub fn change(
        &self,
        campaign: &Campaign,
        now: DateTime<Utc>,
        action: Action,
        until: Option<DateTime<Utc>>,
        by: &str,
        reason: &str,
    ) -> Result<Change, String> {
        match action {
            Action::Close if self.state(now) == PeriodState::Closed => {
                return Err(format!(
                    "đợt khảo sát đã kết thúc lúc {}: không cần đóng nữa",
                    campaign.local_time(self.closes)
                ));
            }
            Action::Close => {}
            Action::Reopen => match until {
                None => return Err("cần ngày kết thúc mới (ví dụ --until 2021-02-28)".into()),
                Some(until) if until <= now => {
                    return Err(format!(
                        "thời điểm kết thúc mới ({}) đã qua: chọn một thời điểm sau bây giờ",
                        campaign.local_time(until)
                    ));
                }
                Some(_) => {}
            },
        }
        Ok(Change {
            at: now,
            action,
            until,
            by: by.to_string(),
            reason: reason.trim().to_string(),
        })
    }

    /// Where the period stands at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> PeriodState {
        // A staff close holds from the moment of the decision on; the
        // file's end is the last open second.
        let closed_early = self
            .last
            .as_ref()
            .is_some_and(|c| c.action == Action::Close && now >= self.closes);
        if now < self.opens && !closed_early {
            PeriodState::NotOpen
        } else if now > self.closes || closed_early {
            PeriodState::Closed
        } else {
            PeriodState::Open
        }
    }

    /// The period as reports state it: its dates, and the staff's change if any.
    pub fn describe(&self, campaign: &Campaign) -> String {
        let dates = format!(
            "Thời gian khảo sát: {} – {}.",
            campaign.local_time(self.opens),
            campaign.local_time(self.closes)
        );
        match self.note(campaign) {
            Some(note) => format!("{dates} {note}"),
            None => dates,
        }
    }

    /// The staff's latest change, as a line for progress and reports
    /// (`None` when the campaign file's dates stand).
    pub fn note(&self, campaign: &Campaign) -> Option<String> {
        let last = self.last.as_ref()?;
        let who = if last.by == CLI {
            "trên máy chủ"
        } else {
            "bởi cán bộ phụ trách"
        };
        let why = if last.reason.trim().is_empty() {
            String::new()
        } else {
            format!(" Lý do: {}.", last.reason.trim().trim_end_matches('.'))
        };
        Some(match last.action {
            Action::Close => format!(
                "Đợt khảo sát được đóng lúc {} ({who}).{why}",
                campaign.local_time(last.at)
            ),
            Action::Reopen => format!(
                "Đợt khảo sát được mở lại lúc {}, đến {} ({who}).{why}",
                campaign.local_time(last.at),
                campaign.local_time(self.closes)
            ),
        })
    }
}

/// `Change::by` for a decision taken on the server's command line.
pub const CLI: &str = "dòng lệnh";

/// A new end as staff write it, in the campaign's time: `2021-02-28` or
/// `28/02/2021` (the end of that day), or either with `17:00`.
pub fn parse_until(text: &str) -> Result<NaiveDateTime, String> {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for format in ["%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(&text, format) {
            return Ok(at);
        }
    }
    ["%Y-%m-%d", "%d/%m/%Y"]
        .into_iter()
        .find_map(|format| NaiveDate::parse_from_str(&text, format).ok())
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .ok_or_else(|| format!("“{text}”: viết ngày dạng 28/02/2021 (hoặc 28/02/2021 17:00)"))
}

/// `28/02/2021 17:00 lý do…` → the new end and the reason.
pub fn split_until(args: &str) -> Option<(NaiveDateTime, String)> {
    let words: Vec<&str> = args.split_whitespace().collect();
    for taken in [2, 1] {
        if words.len() >= taken
            && let Ok(at) = parse_until(&words[..taken].join(" "))
        {
            return Some((at, words[taken..].join(" ")));
        }
    }
    None
}

/// A moment of the campaign's local time, in UTC.
pub fn local(campaign: &Campaign, at: NaiveDateTime) -> Option<DateTime<Utc>> {
    campaign
        .timezone()
        .from_local_datetime(&at)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn campaign() -> Campaign {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogues/thang-binh-2021");
        crate::campaign::load(&dir).unwrap()
    }

    fn change(at: DateTime<Utc>, action: Action, until: Option<DateTime<Utc>>) -> Change {
        Change {
            at,
            action,
            until,
            by: CLI.into(),
            reason: String::new(),
        }
    }

    #[test]
    fn staff_close_early_and_reopen_until_a_new_date() {
        let c = campaign();
        let mid = c.opens() + TimeDelta::days(10);
        let p = Period::of(&c, &[]);
        assert_eq!(p.state(mid), PeriodState::Open);
        assert!(p.note(&c).is_none());

        let closed = Period::of(&c, &[change(mid, Action::Close, None)]);
        assert_eq!(closed.state(mid), PeriodState::Closed);
        assert_eq!(closed.state(mid - TimeDelta::seconds(1)), PeriodState::Open);
        assert!(
            closed
                .note(&c)
                .unwrap()
                .starts_with("Đợt khảo sát được đóng lúc")
        );

        // Reopened after the file's end, until a later day.
        let late = c.closes() + TimeDelta::days(3);
        let until = late + TimeDelta::days(7);
        let reopened = Period::of(
            &c,
            &[
                change(mid, Action::Close, None),
                change(late, Action::Reopen, Some(until)),
            ],
        );
        assert_eq!(reopened.state(late + TimeDelta::days(1)), PeriodState::Open);
        assert_eq!(
            reopened.state(until + TimeDelta::seconds(1)),
            PeriodState::Closed
        );

        // Dates as staff write them.
        let (at, why) = split_until("28/02/2021 17:00 thêm phiếu cho xã Bình Trị").unwrap();
        assert_eq!(at.to_string(), "2021-02-28 17:00:00");
        assert_eq!(why, "thêm phiếu cho xã Bình Trị");
        let (at, why) = split_until("2021-02-28 còn thiếu").unwrap();
        assert_eq!(at.to_string(), "2021-02-28 23:59:59");
        assert_eq!(why, "còn thiếu");
        assert!(split_until("mai nhé").is_none());

        // Closed before it ever opened: closed, not "not yet open".
        let early = c.opens() - TimeDelta::days(1);
        let never = Period::of(&c, &[change(early, Action::Close, None)]);
        assert_eq!(
            never.state(early + TimeDelta::hours(1)),
            PeriodState::Closed
        );
    }
}
