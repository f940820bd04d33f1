//! Progress against the quotas: what staff watch while the survey runs.
//! Pure: the campaign and the ballot counts in, a table and its text out.

use chrono::{DateTime, Utc};

use crate::campaign::{Campaign, Category};
use crate::period::Period;

/// Ballots received against the quota for one unit and group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub unit: usize,
    pub group: usize,
    pub received: u32,
    pub quota: u32,
}

/// The whole table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub cells: Vec<Cell>,
    /// People a channel could not reach, by channel and reason (counts
    /// only): staff can ask them to write again.
    pub unreachable: Vec<Unreachable>,
    /// The period in force (the campaign file's, unless staff changed it).
    pub period: Period,
}

/// How many people of a channel could not be sent a reply, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    pub channel: String,
    /// As the channel's courier recorded it (`no_interaction_7_days`, …).
    pub reason: String,
    pub people: u64,
}

impl Progress {
    /// `counts` are `(unit id, group id, ballots)` as the store gives them.
    pub fn new(c: &Campaign, counts: &[(String, String, u32)]) -> Self {
        let mut cells = Vec::new();
        for (u, unit) in c.units().iter().enumerate() {
            for a in c.assessments().iter().filter(|a| a.kind == unit.kind) {
                let group = &c.groups()[a.group];
                let received = counts
                    .iter()
                    .find(|(cu, cg, _)| *cu == unit.id && *cg == group.id)
                    .map_or(0, |x| x.2);
                cells.push(Cell {
                    unit: u,
                    group: a.group,
                    received,
                    quota: a.quota,
                });
            }
        }
        Self {
            cells,
            unreachable: Vec::new(),
            period: Period::of(c, &[]),
        }
    }

    /// `(received, quota)` over the cells that pass `keep`; received counts
    /// at most the quota per cell, so extra ballots in one unit do not hide a gap in another.
    pub fn total(&self, keep: impl Fn(&Cell) -> bool) -> (u32, u32) {
        self.cells
            .iter()
            .filter(|c| keep(c))
            .fold((0, 0), |(r, q), c| {
                (r + c.received.min(c.quota), q + c.quota)
            })
    }
}

/// `▓▓▓▓░░░░░░ 40%`
pub fn bar(received: u32, quota: u32) -> String {
    let share = if quota == 0 {
        1.0
    } else {
        (f64::from(received) / f64::from(quota)).min(1.0)
    };
    let filled = (share * 10.0).round() as usize;
    format!(
        "{}{} {:>3}%",
        "▓".repeat(filled),
        "░".repeat(10 - filled),
        (share * 100.0).round() as u32
    )
}

/// Days left until the survey closes, as staff say it.
pub fn days_left(c: &Campaign, period: &Period, now: DateTime<Utc>) -> String {
    let closes = period.closes;
    if period.state(now) == crate::campaign::PeriodState::Closed {
        return format!("đã kết thúc lúc {}", c.local_time(closes));
    }
    let days = (c.local_date(closes) - c.local_date(now)).num_days();
    match days {
        0 => format!("hôm nay là ngày cuối (đến {})", c.local_time(closes)),
        d => format!("còn {d} ngày (đến {})", c.local_time(closes)),
    }
}

/// What staff asking for the report before close are told: why not yet,
/// and the progress instead (two reports a few minutes apart would show
/// one person's answers).
pub fn before_close(c: &Campaign, p: &Progress, now: DateTime<Utc>) -> String {
    format!(
        "Đợt khảo sát chưa kết thúc (đến {}): kết quả chỉ được tổng hợp sau khi kết thúc, để không ai suy ra được câu trả lời của một người. Tiến độ hiện nay:\n\n{}",
        c.local_time(p.period.closes),
        overview(c, p, now)
    )
}

/// The overview: totals, per group, and per unit.
pub fn overview(c: &Campaign, p: &Progress, now: DateTime<Utc>) -> String {
    let (r, q) = p.total(|_| true);
    let mut out = format!("Tiến độ khảo sát — {}\n", days_left(c, &p.period, now),);
    if let Some(note) = p.period.note(c) {
        out.push_str(&format!("{note}\n"));
    }
    out.push_str(&format!("\nTổng: {r}/{q} phiếu {}\n", bar(r, q)));
    for category in [Category::Officials, Category::Citizens] {
        let (r, q) = p.total(|cell| c.groups()[cell.group].category == category);
        let name = match category {
            Category::Officials => "Cán bộ, công chức",
            Category::Citizens => "Tổ chức, cá nhân",
        };
        out.push_str(&format!("  {name}: {r}/{q} {}\n", bar(r, q)));
    }
    for (k, kind) in c.kinds().iter().enumerate() {
        out.push_str(&format!("\n{}\n", kind.name));
        for (u, unit) in c.units().iter().enumerate().filter(|(_, u)| u.kind == k) {
            let parts = p
                .cells
                .iter()
                .filter(|cell| cell.unit == u)
                .map(|cell| format!("{} {}/{}", short(c, cell.group), cell.received, cell.quota))
                .collect::<Vec<_>>()
                .join(" · ");
            let (r, q) = p.total(|cell| cell.unit == u);
            out.push_str(&format!("{} {} — {parts}\n", bar(r, q), unit.name));
        }
    }
    out.push_str(&unreachable(p));
    out
}

/// What `overview` says under the units about people not reached.
fn unreachable(p: &Progress) -> String {
    if p.unreachable.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\nKhông gửi được tin trả lời (người trả lời cần nhắn lại cho kênh, ví dụ gõ “tiếp tục”, để nhận tiếp câu hỏi):\n",
    );
    for u in &p.unreachable {
        let channel = match u.channel.as_str() {
            "zalo" => "Zalo",
            "telegram" => "Telegram",
            other => other,
        };
        let why = match u.reason.as_str() {
            "not_a_follower" => "chưa quan tâm (theo dõi) tài khoản OA",
            "user_banned_or_inactive" => "tài khoản Zalo bị khóa hoặc lâu không hoạt động",
            "no_interaction_7_days" => "quá 7 ngày không nhắn cho OA",
            "no_interaction_in_window" => "quá thời hạn được trả lời tin nhắn",
            "user_blocked_this_message_type" => "đã chặn loại tin nhắn này",
            "blocked_the_bot" => "đã chặn bot",
            "user_deactivated" => "tài khoản đã bị xóa",
            "chat_not_found" | "not_a_chat_id" => "không tìm thấy cuộc trò chuyện",
            other => other,
        };
        out.push_str(&format!("  {channel} — {why}: {} người\n", u.people));
    }
    out
}

/// One unit in detail.
pub fn unit_detail(
    c: &Campaign,
    p: &Progress,
    unit_id: &str,
    now: DateTime<Utc>,
) -> Option<String> {
    let u = c.units().iter().position(|u| u.id == unit_id)?;
    let mut out = format!("{} — {}\n", c.units()[u].name, days_left(c, &p.period, now));
    for cell in p.cells.iter().filter(|cell| cell.unit == u) {
        let missing = cell.quota.saturating_sub(cell.received);
        out.push_str(&format!(
            "  {}: {}/{} {} — còn thiếu {missing}\n",
            c.groups()[cell.group].name,
            cell.received,
            cell.quota,
            bar(cell.received, cell.quota)
        ));
    }
    Some(out)
}

fn short(c: &Campaign, group: usize) -> &'static str {
    match c.groups()[group].category {
        Category::Officials => "cán bộ",
        Category::Citizens => "dân",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_show_shares_and_cap_at_full() {
        assert_eq!(bar(0, 20), "░░░░░░░░░░   0%");
        assert_eq!(bar(7, 28), "▓▓▓░░░░░░░  25%");
        assert_eq!(bar(30, 20), "▓▓▓▓▓▓▓▓▓▓ 100%");
    }
}
