//! Aggregation: ballots into indices per unit, area and respondent group.
//! Pure, and streaming: ballots are folded in one at a time, so memory grows
//! with the number of cells, not of ballots.
//!
//! As practised in Vietnam (SIPAS): an item's index is the share of its valid
//! answers that are positive, × 100 ("not applicable" answers are not
//! valid); an area's index is the mean of its items' indices; a group's index
//! for a unit is the mean of its areas' indices; the unit's combined index
//! weighs the groups as the campaign says (by default, their quota shares).

use std::collections::BTreeMap;

use crate::ballot::Ballot;
use crate::campaign::Campaign;
use crate::dialogue::{Answer, Dialogue, QuestionKind};

/// Answers to one question, for one unit and group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub valid: u32,
    pub not_applicable: u32,
    pub positive: u32,
    pub score_sum: f64,
}

impl Tally {
    /// Share of valid answers that are positive, × 100.
    pub fn index(&self) -> Option<f64> {
        (self.valid > 0).then(|| f64::from(self.positive) * 100.0 / f64::from(self.valid))
    }

    pub fn mean_score(&self) -> Option<f64> {
        (self.valid > 0).then(|| self.score_sum / f64::from(self.valid))
    }
}

/// Where a tally belongs: unit, group, area (section id), item (question id).
pub type Key = (String, String, String, String);

/// Running totals over the ballots folded in so far.
#[derive(Debug, Clone, Default)]
pub struct Aggregate {
    pub tallies: BTreeMap<Key, Tally>,
    pub ballots: u64,
}

impl Aggregate {
    /// Adds one ballot, read with the dialogue version it was answered on.
    pub fn add(&mut self, ballot: &Ballot, dialogue: &Dialogue) {
        self.ballots += 1;
        for q in &dialogue.questions {
            let QuestionKind::Choice { .. } = q.kind else {
                continue;
            };
            let Some(scale) = dialogue.scale_of(q) else {
                continue;
            };
            if !scale.options.iter().any(|o| o.positive) {
                continue;
            }
            let Some(Answer::Choice(n)) = ballot.answers.get(&q.id) else {
                continue;
            };
            let Some(option) = scale.options.get(usize::from(*n).wrapping_sub(1)) else {
                continue;
            };
            let key = (
                ballot.unit.clone(),
                ballot.group.clone(),
                dialogue.sections[q.section].id.clone(),
                q.id.clone(),
            );
            let t = self.tallies.entry(key).or_default();
            if option.not_applicable {
                t.not_applicable += 1;
            } else {
                t.valid += 1;
                t.positive += u32::from(option.positive);
                t.score_sum += option.score.unwrap_or(0.0);
            }
        }
    }

    /// Mean of the item indices of one area.
    pub fn area_index(&self, unit: &str, group: &str, area: &str) -> Option<f64> {
        mean(
            self.tallies
                .iter()
                .filter(|((u, g, a, _), _)| u == unit && g == group && a == area)
                .filter_map(|(_, t)| t.index()),
        )
    }

    /// Mean of the area indices of one group for one unit.
    pub fn group_index(&self, unit: &str, group: &str) -> Option<f64> {
        let mut areas: Vec<&str> = self
            .tallies
            .keys()
            .filter(|(u, g, _, _)| u == unit && g == group)
            .map(|(_, _, a, _)| a.as_str())
            .collect();
        areas.dedup();
        mean(areas.iter().filter_map(|a| self.area_index(unit, group, a)))
    }

    /// The unit's combined index: the groups weighted as the campaign says,
    /// re-normalised over the groups that have answers.
    pub fn unit_index(&self, campaign: &Campaign, unit: &str) -> Option<f64> {
        let kind = campaign.unit(unit)?.kind;
        let (mut sum, mut weights) = (0.0, 0.0);
        for a in campaign.assessments.iter().filter(|a| a.kind == kind) {
            if let Some(i) = self.group_index(unit, &campaign.groups[a.group].id) {
                sum += a.weight * i;
                weights += a.weight;
            }
        }
        (weights > 0.0).then(|| sum / weights)
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}
