//! The ballot box. A confirmed ballot is sealed (under the service's key)
//! and dropped into the box in the respondent's own step, which spends the
//! credential in the same transaction; the respondent is shown a random
//! receipt at once. The mixer, in a transaction of its own, takes the
//! ballots of every cell that has at least `min_cell` of them — and at the
//! end of each window, or once the survey has closed, all of them — and
//! appends them to the chain in random order, dated by their batch. So
//! nothing in the database (shared transaction ids, row order, times) ties
//! a ballot to the step, the credential or the conversation it came from
//! beyond its batch: among the ballots of its cell in that batch, any one
//! could be it.

use std::collections::BTreeMap;

use anyhow::Result;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::Survey;
use super::turn::Turn;
use crate::ballot::{self, Ballot};
use crate::campaign::PeriodState;
use crate::dialogue::Answer;
use crate::engine::{BallotDraft, Input};
use crate::store::{Cell, Spend};

/// Receipts drawn before giving up (each clash is a 1-in-2⁵⁰ event).
const RECEIPT_DRAWS: usize = 8;

/// What the box holds of a ballot, sealed: all but its cell.
#[derive(Debug, Serialize, Deserialize)]
struct Sealed {
    receipt: String,
    dialogue_id: String,
    dialogue_version: String,
    answers: BTreeMap<String, Answer>,
}

impl Turn<'_> {
    /// Spends the credential on the draft's unit and drops the sealed
    /// ballot into the box, or says why not; the answer goes back to the
    /// engine.
    pub(super) async fn submit(
        &mut self,
        credential: &str,
        group: &str,
        draft: BallotDraft,
    ) -> Result<Input> {
        let c = self.survey.campaign.clone();
        if let Some(message) = self.survey.period_refusal(self.now) {
            return Ok(Input::Refused { message, end: true });
        }
        let unit_name = c
            .unit(&draft.unit)
            .map_or(draft.unit.clone(), |u| u.name.clone());
        let quota = match c.assessment_of(&draft.unit, group) {
            Some(a) if c.enforce_quotas() => Some(a.quota),
            _ => None,
        };
        let cell = Cell {
            campaign: c.id().to_string(),
            unit: draft.unit.clone(),
            group: group.to_string(),
        };
        match self.tx.spend(credential, &cell, quota).await? {
            Spend::Spent => {}
            Spend::AlreadySpent => {
                return Ok(Input::Refused {
                    message: c.messages().token_used.clone(),
                    end: false,
                });
            }
            Spend::QuotaFull => {
                return Ok(Input::Refused {
                    message: c.messages().quota_full.replace("{unit}", &unit_name),
                    end: false,
                });
            }
        }
        let keys = &self.survey.keys;
        for _ in 0..RECEIPT_DRAWS {
            let receipt = self.survey.options.receipts.draw();
            if self.tx.receipt_in_chain(&receipt).await? {
                continue;
            }
            let sealed = Sealed {
                receipt: receipt.clone(),
                dialogue_id: draft.dialogue_id.clone(),
                dialogue_version: draft.dialogue_version.clone(),
                answers: draft.answers.clone(),
            };
            let sealed = keys.seal(&serde_json::to_vec(&sealed)?);
            if self
                .tx
                .put_in_box(&keys.receipt_tag(&receipt), &cell, &sealed)
                .await?
            {
                return Ok(Input::Stored { receipt });
            }
        }
        anyhow::bail!("no free receipt code after {RECEIPT_DRAWS} draws")
    }
}

impl Survey {
    /// Runs the mixer once: appends to the chain, in random order, the
    /// ballots of every cell with at least `min_cell` in the box — or all
    /// of them when `everything`, at the end of a window, or once the survey
    /// has closed. Returns how many went into the chain.
    pub async fn mix(&self, everything: bool) -> Result<usize> {
        let c = &self.campaign;
        let now = self.now();
        let mut tx = self.store.begin_mixing().await?;
        let (batches, window_start) = tx.mixer_state(now.timestamp()).await?;
        let window_over = now.timestamp() - window_start >= c.ballot_box().window.num_seconds();
        let closed = self.period().state(now) == PeriodState::Closed;
        let all = everything || window_over || closed;
        let min = c.scoring().min_cell;
        let mut ballots = Vec::new();
        for (cell, count) in tx.boxed_cells().await? {
            if !all && count < min {
                continue;
            }
            for (tag, sealed) in tx.boxed(&cell).await? {
                // One ballot that cannot be opened (sealed under a lost key,
                // damaged) stays in the box, logged; it holds up no other.
                let opened = self.keys.open(&sealed).map_err(anyhow::Error::new);
                let s: Sealed = match opened.and_then(|p| Ok(serde_json::from_slice(&p)?)) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!(
                            error = %format!("{e:#}"),
                            unit = %cell.unit,
                            "a ballot in the box cannot be opened; it stays there"
                        );
                        continue;
                    }
                };
                tx.remove_from_box(&tag).await?;
                ballots.push(Ballot {
                    seq: 0,
                    campaign: cell.campaign.clone(),
                    unit: cell.unit.clone(),
                    group: cell.group.clone(),
                    dialogue_id: s.dialogue_id,
                    dialogue_version: s.dialogue_version,
                    batch: batches + 1,
                    batch_date: c.local_date(now).to_string(),
                    receipt: s.receipt,
                    salt: ballot::new_salt(),
                    answers: s.answers,
                });
            }
        }
        let window_start = if window_over {
            now.timestamp()
        } else {
            window_start
        };
        if ballots.is_empty() {
            tx.set_mixer_state(batches, window_start).await?;
            tx.commit().await?;
            return Ok(0);
        }
        // The order in the chain is drawn anew: it says nothing of the
        // order the ballots were cast in.
        ballots.shuffle(&mut rand::rng());
        let (mut seq, mut head) = tx.chain_head().await?;
        for b in &mut ballots {
            seq += 1;
            b.seq = seq;
            head = tx.append(b, &head).await?;
        }
        tx.set_mixer_state(batches + 1, window_start).await?;
        tx.commit().await?;
        // No earlier page versions of the box or of sessions stay in the log.
        self.store.checkpoint().await?;
        self.metrics.ballots_mixed.inc_by(ballots.len() as u64);
        Ok(ballots.len())
    }
}

/// Where receipt codes come from: random (tests may give their own, to
/// make two ballots draw the same code).
#[derive(Clone)]
pub struct Receipts(std::sync::Arc<dyn Fn() -> String + Send + Sync>);

impl Receipts {
    pub fn from_fn(f: impl Fn() -> String + Send + Sync + 'static) -> Self {
        Self(std::sync::Arc::new(f))
    }

    fn draw(&self) -> String {
        (self.0)()
    }
}

impl Default for Receipts {
    fn default() -> Self {
        Self::from_fn(|| ballot::new_receipt(&mut rand::rng()))
    }
}

impl std::fmt::Debug for Receipts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Receipts")
    }
}
