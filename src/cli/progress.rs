//! `khaosat progress [UNIT]`: quota fulfilment in the terminal (the same
//! text as the staff bot command).

use anyhow::{Result, bail};

use crate::progress;
use crate::settings::Settings;
use crate::startup;

pub async fn run(settings: &Settings, unit: Option<&str>) -> Result<()> {
    // Counts only: no key needed, nothing about any respondent read.
    let c = &startup::load_campaign(settings)?;
    let store = startup::open_store(settings).await?;
    let mut p = progress::Progress::new(c, &store.ballot_counts(c.id()).await?);
    p.unreachable = store.undeliverable_counts().await?;
    p.period = crate::period::Period::of(c, &store.period_changes(c.id()).await?);
    let now = settings.clock.now();
    let text = match unit {
        None => progress::overview(c, &p, now),
        Some(u) => match progress::unit_detail(c, &p, u, now) {
            Some(t) => t,
            None => bail!("không có đơn vị `{u}`; `khaosat progress` liệt kê mọi đơn vị"),
        },
    };
    say_raw!("{text}");
    store.close().await;
    Ok(())
}
