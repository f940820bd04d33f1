//! `khaosat verify`: prove the stored ballots are unaltered.

use anyhow::{Result, bail};

use crate::settings::Settings;
use crate::startup;
use crate::store::Store;
use crate::verify::{Chain, Verdict};

pub async fn run(settings: &Settings) -> Result<()> {
    let store = startup::open_store(settings).await?;
    let verdict = check_in_pages(&store).await;
    store.close().await;
    match verdict? {
        Verdict::Intact { ballots, head } => {
            say!("Toàn vẹn: {ballots} phiếu, chuỗi băm khớp.");
            let noun = if ballots == 1 { "ballot" } else { "ballots" };
            say!("Intact: {ballots} {noun}; chain head {head}");
            Ok(())
        }
        Verdict::Broken { seq, problem } => {
            bail!(
                "ballot {seq} does not match: {problem}. Restore the database from a backup and compare, or report it."
            )
        }
    }
}

/// Checks the chain a page at a time, so memory does not grow with it.
async fn check_in_pages(store: &Store) -> Result<Verdict> {
    let mut chain = Chain::default();
    let mut pages = store.read_ballots(i64::MAX);
    while let Some(page) = pages.recv().await {
        for b in &page? {
            if let Err(broken) = chain.push(b) {
                return Ok(broken);
            }
        }
    }
    Ok(chain.verdict())
}
