//! `khaosat progress [UNIT]`: quota fulfilment in the terminal (the same
//! text as the staff bot command).

use anyhow::{Result, bail};

use super::Cli;
use crate::progress;

pub async fn run(cli: &Cli, unit: Option<&str>) -> Result<()> {
    let survey = cli.open_survey().await?;
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
    survey.store().close().await;
    Ok(())
}
