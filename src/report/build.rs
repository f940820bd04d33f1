//! From tallies to published figures, suppressing small cells.

use chrono::{DateTime, Utc};

use crate::aggregate::{Aggregate, Cell, Tally, mean};
use crate::campaign::{Campaign, Scoring};
use crate::dialogue::{Dialogue, QuestionKind};

use super::{
    AreaReport, CellReport, GroupSummary, ItemReport, KindReport, Report, UnitReport, WishReport,
};

/// Builds the published report from the campaign's tallies. `ballots` and
/// `chain_head` are the chain it read (what `khaosat verify` prints for the
/// same data); `now` the moment it is computed at.
pub fn build(
    c: &Campaign,
    agg: &Aggregate,
    ballots: u64,
    chain_head: &str,
    now: DateTime<Utc>,
) -> Report {
    let min = c.scoring().min_cell;
    let kinds = c
        .kinds()
        .iter()
        .enumerate()
        .map(|(k, kind)| {
            let mut units: Vec<UnitReport> = c
                .units()
                .iter()
                .filter(|u| u.kind == k)
                .map(|u| unit(c, agg, k, &u.id, &u.name))
                .collect();
            rank(&mut units);
            let summary = c
                .assessments()
                .iter()
                .filter(|a| a.kind == k)
                .map(|a| {
                    let group = &c.groups()[a.group];
                    // Sum the published tallies of the published cells only.
                    let mut total = Cell::default();
                    for u in c.units().iter().filter(|u| u.kind == k) {
                        if let Some(cell) = agg.cell(&u.id, &group.id)
                            && cell.ballots >= min
                        {
                            merge(&mut total, cell, min);
                        }
                    }
                    GroupSummary {
                        group: group.id.clone(),
                        group_name: group.name.clone(),
                        areas: areas(&a.dialogue, &total, min)
                            .into_iter()
                            .map(|(area, _)| area)
                            .collect(),
                    }
                })
                .collect();
            KindReport {
                id: kind.id.clone(),
                name: kind.name.clone(),
                units,
                summary,
            }
        })
        .collect();
    Report {
        campaign: c.id().to_string(),
        title: c.title().to_string(),
        organisation: c.organisation().to_string(),
        generated: c.local_time(now),
        generated_at: now.timestamp(),
        ballots,
        chain_head: chain_head.to_string(),
        period: crate::period::Period::of(c, &[]).describe(c),
        min_cell: min,
        scoring: describe(c.scoring()),
        kinds,
    }
}

fn unit(c: &Campaign, agg: &Aggregate, kind: usize, id: &str, name: &str) -> UnitReport {
    let min = c.scoring().min_cell;
    let mut cells = Vec::new();
    let mut group_exact = Vec::new();
    let mut wishes = Vec::new();
    for a in c.assessments().iter().filter(|a| a.kind == kind) {
        let group = &c.groups()[a.group];
        let empty = Cell::default();
        let cell = agg.cell(id, &group.id).unwrap_or(&empty);
        let suppressed = cell.ballots > 0 && cell.ballots < min;
        let published = cell.ballots >= min.max(1);
        let (areas, exact): (Vec<AreaReport>, Vec<Option<f64>>) = if published {
            areas(&a.dialogue, cell, min).into_iter().unzip()
        } else {
            (Vec::new(), Vec::new())
        };
        if published {
            for w in &cell.wishes {
                let question = a
                    .dialogue
                    .questions()
                    .iter()
                    .find(|q| q.id == w.question)
                    .map_or(w.question.clone(), |q| q.short.clone());
                wishes.push(WishReport {
                    group_name: group.name.clone(),
                    question,
                    text: w.text.clone(),
                });
            }
        }
        cells.push(CellReport {
            group: group.id.clone(),
            group_name: group.name.clone(),
            ballots: cell.ballots,
            quota: a.quota,
            suppressed,
            weight: a.weight,
            index: None,
            areas,
        });
        group_exact.push(mean(exact.into_iter().flatten()));
    }
    // Figures are computed unrounded and rounded once, when published.
    for (cell, exact) in cells.iter_mut().zip(&group_exact) {
        cell.index = exact.map(round);
    }
    let (sum, weights) = cells
        .iter()
        .zip(&group_exact)
        .filter_map(|(cell, exact)| Some((exact.as_ref()?, cell.weight)))
        .fold((0.0, 0.0), |(s, w), (i, cw)| (s + i * cw, w + cw));
    let combined = (weights > 0.0).then(|| sum / weights);
    UnitReport {
        id: id.to_string(),
        name: name.to_string(),
        cells,
        combined: combined.map(round),
        points: combined.map(|i| round(c.scoring().points(i))),
        rank: None,
        wishes,
    }
}

/// The areas of a dialogue, from a cell's tallies, each with its index
/// unrounded.
fn areas(d: &Dialogue, cell: &Cell, min: u32) -> Vec<(AreaReport, Option<f64>)> {
    d.sections()
        .iter()
        .enumerate()
        .filter_map(|(s, section)| {
            let items: Vec<ItemReport> = d
                .questions()
                .iter()
                .filter(|q| q.section == s)
                .filter_map(|q| item(d, q, cell.items.get(&q.id), min))
                .collect();
            if items.is_empty() {
                return None;
            }
            let scored: Vec<&ItemReport> = items.iter().filter(|i| i.scored).collect();
            let labels = scored.first().map(|i| i.labels.clone()).unwrap_or_default();
            let published: Vec<&&ItemReport> =
                scored.iter().filter(|i| i.index.is_some()).collect();
            let tallies: Vec<&Tally> = published
                .iter()
                .filter_map(|i| cell.items.get(&i.id))
                .collect();
            let valid: u32 = tallies.iter().map(|t| t.valid).sum();
            let score: f64 = tallies.iter().map(|t| t.score_sum).sum();
            let distribution = (!published.is_empty()).then(|| {
                let mut sum = vec![0; labels.len()];
                for i in published.iter().filter(|i| i.labels == labels) {
                    for (s, n) in sum.iter_mut().zip(i.distribution.iter().flatten()) {
                        *s += n;
                    }
                }
                sum
            });
            let index = mean(
                published
                    .iter()
                    .filter_map(|i| cell.items.get(&i.id)?.index()),
            );
            let area = AreaReport {
                id: section.id.clone(),
                title: section.title.clone(),
                valid: scored.iter().map(|i| i.valid).sum(),
                not_applicable: scored.iter().map(|i| i.not_applicable).sum(),
                mean: (valid > 0).then(|| round(score / f64::from(valid))),
                index: index.map(round),
                suppressed: scored.iter().any(|i| i.suppressed),
                labels,
                distribution,
                items,
            };
            Some((area, index))
        })
        .collect()
}

/// One question's figures; `None` for questions that are not tallied
/// (text and numbers).
fn item(
    d: &Dialogue,
    q: &crate::dialogue::Question,
    tally: Option<&Tally>,
    min: u32,
) -> Option<ItemReport> {
    if !matches!(
        q.kind,
        QuestionKind::Choice { .. } | QuestionKind::Multiple { .. }
    ) {
        return None;
    }
    let scale = d.scale_of(q)?;
    let scored =
        matches!(q.kind, QuestionKind::Choice { .. }) && scale.options.iter().any(|o| o.positive);
    let empty = Tally::default();
    let t = tally.unwrap_or(&empty);
    let published = t.valid >= min.max(1);
    Some(ItemReport {
        id: q.id.clone(),
        text: q.short.clone(),
        valid: t.valid,
        not_applicable: t.not_applicable,
        scored,
        mean: published
            .then(|| t.mean_score())
            .flatten()
            .filter(|_| scored)
            .map(round),
        index: published
            .then(|| t.index())
            .flatten()
            .filter(|_| scored)
            .map(round),
        suppressed: t.valid > 0 && !published,
        labels: scale.options.iter().map(|o| o.label.clone()).collect(),
        distribution: published.then(|| {
            let mut counts = t.options.clone();
            counts.resize(scale.options.len(), 0);
            counts
        }),
    })
}

/// Ranks units by combined index, best first; equal indices share a rank
/// (1, 2, 2, 4); units without an index are not ranked.
fn rank(units: &mut [UnitReport]) {
    let mut indices: Vec<f64> = units.iter().filter_map(|u| u.combined).collect();
    indices.sort_by(|a, b| b.total_cmp(a));
    for u in units.iter_mut() {
        u.rank = u
            .combined
            .map(|i| 1 + indices.iter().take_while(|&&x| x > i).count() as u32);
    }
}

/// Adds a cell's questions that have at least `min` valid answers.
fn merge(total: &mut Cell, cell: &Cell, min: u32) {
    total.ballots += cell.ballots;
    for (q, t) in cell.items.iter().filter(|(_, t)| t.valid >= min) {
        let sum = total.items.entry(q.clone()).or_insert_with(|| Tally {
            area: t.area.clone(),
            options: vec![0; t.options.len()],
            ..Tally::default()
        });
        sum.valid += t.valid;
        sum.not_applicable += t.not_applicable;
        sum.positive += t.positive;
        sum.score_sum += t.score_sum;
        if sum.options.len() < t.options.len() {
            sum.options.resize(t.options.len(), 0);
        }
        for (s, n) in sum.options.iter_mut().zip(&t.options) {
            *s += n;
        }
    }
}

/// Published figures carry two decimals.
fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn describe(s: &Scoring) -> String {
    let max = crate::dialogue::format_number(s.max_points);
    if s.bands.is_empty() {
        return format!("Điểm = {max} × chỉ số / 100 (tuyến tính).");
    }
    let bands: Vec<String> = s
        .bands
        .iter()
        .map(|b| {
            format!(
                "chỉ số từ {} trở lên: {} điểm",
                crate::dialogue::format_number(b.at_least),
                crate::dialogue::format_number(b.points * s.max_points)
            )
        })
        .collect();
    format!("Điểm theo khung: {}; thấp hơn: 0 điểm.", bands.join("; "))
}
