//! `khaosat close` and `khaosat reopen --until …`: the staff's decisions
//! on the survey period, recorded in the database (who, when, why) and in
//! force on every running instance within a few seconds.

use anyhow::{Result, anyhow};
use chrono::{DateTime, NaiveDateTime, Utc};

use crate::period::{self, Action, CLI, Period};
use crate::settings::Settings;
use crate::startup;

pub async fn run(
    settings: &Settings,
    action: Action,
    until: Option<NaiveDateTime>,
    reason: &str,
) -> Result<()> {
    let c = startup::load_campaign(settings)?;
    let until: Option<DateTime<Utc>> = match until {
        None => None,
        Some(at) => Some(
            period::local(&c, at)
                .ok_or_else(|| anyhow!("{at} không có trong múi giờ {}", c.timezone()))?,
        ),
    };
    let store = startup::open_store(settings).await?;
    let now = settings.clock.now();
    let period = Period::of(&c, &store.period_changes(c.id()).await?);
    let was_closed = period.state(now) == crate::campaign::PeriodState::Closed;
    let change = period
        .change(&c, now, action, until, CLI, reason)
        .map_err(|why| anyhow!("không thay đổi: {why}"))?;
    store.record_period_change(c.id(), &change).await?;
    let period = Period::of(&c, &store.period_changes(c.id()).await?);
    store.close().await;
    if let Some(note) = period.note(&c) {
        say!("{note}");
    }
    say!(
        "Đã ghi vào {}; các máy chủ đang chạy áp dụng trong vòng {} giây.",
        crate::store::redacted(&settings.database()),
        startup::PERIOD_REFRESH.as_secs()
    );
    if action == Action::Reopen && was_closed {
        say!(
            "Lưu ý: nếu kết quả đã được công bố, bản công bố sau khi đóng lại chỉ nên thay thế bản trước, \
             không đặt cạnh nhau (so hai bản có thể suy ra câu trả lời của ít người)."
        );
    }
    Ok(())
}
