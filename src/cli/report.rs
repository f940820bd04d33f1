//! `khaosat report --out DIR`: compute the results from the stored ballots
//! and write the workbook, the portal page, CSV, JSON and the open data.

use std::path::Path;

use anyhow::Result;

use crate::report::write_reports;
use crate::settings::Settings;
use crate::startup;

pub async fn run(settings: &Settings, out: &Path) -> Result<()> {
    let campaign = startup::load_campaign(settings)?;
    let store = startup::open_store(settings).await?;
    let written = write_reports(&store, &campaign, out, chrono::Utc::now()).await;
    store.close().await;
    let written = written?;
    let r = &written.report;
    say!(
        "Đã tổng hợp {} phiếu; mã băm cuối chuỗi: {}",
        r.ballots,
        r.chain_head
    );
    let noun = if r.ballots == 1 { "ballot" } else { "ballots" };
    say!(
        "Computed from {} {noun}; chain head {}",
        r.ballots,
        r.chain_head
    );
    say!("Written to {}:", out.display());
    for f in &written.files {
        let size = std::fs::metadata(f).map_or(0, |m| m.len());
        let name = f.file_name().map_or_else(
            || f.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        say!("  {name:<28} {:>10} bytes", size);
    }
    Ok(())
}
