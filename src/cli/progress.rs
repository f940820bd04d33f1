//! `khaosat progress [UNIT]`: quota fulfilment in the terminal (the same
//! text as the staff bot command).

use anyhow::{Result, bail};

use crate::progress;
use crate::settings::Settings;
use crate::startup;

pub async fn run(settings: &Settings, unit: Option<&str>) -> Result<()> {
    let (survey, store) = startup::open_survey(settings).await?;
    let c = survey.campaign();
    let p = survey.progress().await?;
    let text = match unit {
        None => progress::overview(c, &p, survey.now()),
        Some(u) => match progress::unit_detail(c, &p, u, survey.now()) {
            Some(t) => t,
            None => bail!("unknown unit `{u}`; `khaosat progress` lists every unit"),
        },
    };
    say_raw!("{text}");
    store.close().await;
    Ok(())
}
