//! `khaosat verify`: prove the stored ballots are unaltered.

use anyhow::{Context, Result, bail};

use super::Cli;
use crate::store::Store;
use crate::verify::{Verdict, verify};

pub async fn run(cli: &Cli) -> Result<()> {
    let url = cli.database();
    let store = Store::open(&url)
        .await
        .with_context(|| format!("opening the database {url}"))?;
    let ballots = store.ballots().await?;
    store.close().await;
    match verify(&ballots) {
        Verdict::Intact { ballots, head } => {
            println!("Toàn vẹn: {ballots} phiếu, chuỗi băm khớp.");
            let noun = if ballots == 1 { "ballot" } else { "ballots" };
            println!("Intact: {ballots} {noun}; chain head {head}");
            Ok(())
        }
        Verdict::Broken { seq, problem } => {
            bail!(
                "ballot {seq} does not match: {problem}. Restore the database from a backup and compare, or report it."
            )
        }
    }
}
