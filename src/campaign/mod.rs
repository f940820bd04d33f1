//! The survey campaign as data: units, respondent groups, who assesses what
//! with which dialogue, quotas, the survey period and the scoring settings.

mod compile;
mod file;

pub use compile::{CAMPAIGN_FILE, Folder, load, load_from};

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::dialogue::Dialogue;

/// The shipped campaign (Thăng Bình 2021), built into the binary so an
/// installed `khaosat --trial` needs no files: `(path, name, text)`.
pub const SHIPPED: &[(&str, &str, &str)] = &[
    (
        "dialogues/thang-binh-2021/campaign.toml",
        "campaign.toml",
        include_str!("../../dialogues/thang-binh-2021/campaign.toml"),
    ),
    (
        "dialogues/thang-binh-2021/can-bo-danh-gia-phong.toml",
        "can-bo-danh-gia-phong.toml",
        include_str!("../../dialogues/thang-binh-2021/can-bo-danh-gia-phong.toml"),
    ),
    (
        "dialogues/thang-binh-2021/can-bo-danh-gia-xa.toml",
        "can-bo-danh-gia-xa.toml",
        include_str!("../../dialogues/thang-binh-2021/can-bo-danh-gia-xa.toml"),
    ),
    (
        "dialogues/thang-binh-2021/nguoi-dan.toml",
        "nguoi-dan.toml",
        include_str!("../../dialogues/thang-binh-2021/nguoi-dan.toml"),
    ),
];

/// A compiled campaign with its compiled dialogues.
#[derive(Debug, Clone)]
pub struct Campaign {
    id: String,
    title: String,
    organisation: String,
    timezone: Tz,
    opens: DateTime<Utc>,
    closes: DateTime<Utc>,
    /// Refuse ballots for a unit and group once its quota is reached.
    enforce_quotas: bool,
    messages: CampaignMessages,
    kinds: Vec<UnitKind>,
    units: Vec<Unit>,
    groups: Vec<Group>,
    assessments: Vec<Assessment>,
    scoring: Scoring,
    ballot_box: BallotBox,
}

/// How the ballot box mixes ballots into the chain, and how long idle
/// conversations are kept (`[ballot_box]` in the campaign file).
#[derive(Debug, Clone, PartialEq)]
pub struct BallotBox {
    /// The longest a ballot waits in the box: at the end of each window
    /// every ballot in it goes into the chain, however few (default a week).
    pub window: chrono::TimeDelta,
    /// Conversations idle this long are deleted (default 7 days).
    pub session_idle: chrono::TimeDelta,
}

/// A kind of assessed unit (departments, communes).
#[derive(Debug, Clone)]
pub struct UnitKind {
    pub id: String,
    pub name: String,
}

/// An assessed unit ("đơn vị").
#[derive(Debug, Clone)]
pub struct Unit {
    pub id: String,
    pub name: String,
    pub kind: usize,
}

/// The broad category of a group, which reports aggregate by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Officials,
    Citizens,
}

/// How respondents of a group get in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// One-time tokens handed out on paper.
    Token,
    /// A public link per unit, deduplicated by a keyed hash of the channel user.
    Open,
}

/// A respondent group ("nhóm đối tượng").
#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub category: Category,
    pub access: Access,
}

/// Which group assesses which kind of unit, with which dialogue and quota.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub kind: usize,
    pub group: usize,
    pub dialogue: Arc<Dialogue>,
    /// Ballots wanted per unit from this group.
    pub quota: u32,
    /// Weight of this group in the unit's combined index.
    pub weight: f64,
}

/// Settings the aggregation uses.
#[derive(Debug, Clone)]
pub struct Scoring {
    /// Published cells with fewer answers are suppressed.
    pub min_cell: u32,
    /// Reform-index points for an index of 100.
    pub max_points: f64,
    /// Optional bands (descending `at_least`); empty means linear.
    pub bands: Vec<Band>,
}

/// An index of at least `at_least` earns `points` × `max_points`.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub at_least: f64,
    pub points: f64,
}

/// Texts shown before a dialogue is chosen (tokens, period, quotas).
#[derive(Debug, Clone)]
pub struct CampaignMessages {
    pub welcome: String,
    pub token_invalid: String,
    pub token_unknown: String,
    pub token_used: String,
    pub token_expired: String,
    pub token_wrong_unit: String,
    pub too_many_attempts: String,
    pub not_open: String,
    pub closed: String,
    pub quota_full: String,
    pub unsupported: String,
}

/// Where the survey period stands at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodState {
    NotOpen,
    Open,
    Closed,
}

impl Campaign {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    pub fn organisation(&self) -> &str {
        &self.organisation
    }

    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    pub fn opens(&self) -> DateTime<Utc> {
        self.opens
    }

    pub fn closes(&self) -> DateTime<Utc> {
        self.closes
    }

    pub fn enforce_quotas(&self) -> bool {
        self.enforce_quotas
    }

    pub fn messages(&self) -> &CampaignMessages {
        &self.messages
    }

    pub fn kinds(&self) -> &[UnitKind] {
        &self.kinds
    }

    pub fn units(&self) -> &[Unit] {
        &self.units
    }

    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    pub fn assessments(&self) -> &[Assessment] {
        &self.assessments
    }

    pub fn scoring(&self) -> &Scoring {
        &self.scoring
    }

    pub fn ballot_box(&self) -> &BallotBox {
        &self.ballot_box
    }

    /// The same campaign, publishing cells of at least `min_cell` answers.
    pub fn with_min_cell(mut self, min_cell: u32) -> Self {
        self.scoring.min_cell = min_cell;
        self
    }

    pub fn unit(&self, id: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.id == id)
    }

    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }

    pub fn group_index(&self, id: &str) -> Option<usize> {
        self.groups.iter().position(|g| g.id == id)
    }

    /// The assessment of units of `kind` by `group`, if that group assesses them.
    pub fn assessment(&self, kind: usize, group: usize) -> Option<&Assessment> {
        self.assessments
            .iter()
            .find(|a| a.kind == kind && a.group == group)
    }

    /// The assessment a group makes of one unit.
    pub fn assessment_of(&self, unit_id: &str, group_id: &str) -> Option<&Assessment> {
        let unit = self.unit(unit_id)?;
        self.assessment(unit.kind, self.group_index(group_id)?)
    }

    pub fn period_state(&self, now: DateTime<Utc>) -> PeriodState {
        if now < self.opens {
            PeriodState::NotOpen
        } else if now > self.closes {
            PeriodState::Closed
        } else {
            PeriodState::Open
        }
    }

    /// The local calendar date of a moment (ballots are dated, not timed).
    pub fn local_date(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.timezone).date_naive()
    }

    /// Formats a moment in the campaign's time zone, as `dd/mm/yyyy HH:MM`.
    pub fn local_time(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.timezone)
            .format("%d/%m/%Y %H:%M")
            .to_string()
    }

    /// Total ballots wanted: `(per group, in campaign order)`.
    pub fn quota_totals(&self) -> Vec<(usize, u32)> {
        let mut totals: Vec<(usize, u32)> = (0..self.groups.len()).map(|g| (g, 0)).collect();
        for a in &self.assessments {
            let units = self.units.iter().filter(|u| u.kind == a.kind).count() as u32;
            totals[a.group].1 += units * a.quota;
        }
        totals
    }

    /// Every dialogue of the campaign, once each.
    pub fn dialogues(&self) -> Vec<Arc<Dialogue>> {
        let mut out: Vec<Arc<Dialogue>> = Vec::new();
        for a in &self.assessments {
            if !out.iter().any(|d| d.id() == a.dialogue.id()) {
                out.push(a.dialogue.clone());
            }
        }
        out
    }
}

impl Scoring {
    /// Reform-index points for an index in 0–100.
    pub fn points(&self, index: f64) -> f64 {
        if self.bands.is_empty() {
            return self.max_points * index.clamp(0.0, 100.0) / 100.0;
        }
        self.bands
            .iter()
            .find(|b| index >= b.at_least)
            .map_or(0.0, |b| b.points * self.max_points)
    }
}
