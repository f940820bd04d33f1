//! The campaign file as written (`campaign.toml`): a serde mirror with spans.

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignFile {
    pub id: Spanned<String>,
    pub title: Spanned<String>,
    pub organisation: Spanned<String>,
    pub timezone: Spanned<String>,
    pub opens: Spanned<String>,
    pub closes: Spanned<String>,
    #[serde(default)]
    pub enforce_quotas: bool,
    #[serde(default)]
    pub messages: CampaignMessagesFile,
    #[serde(default)]
    pub unit_kinds: Vec<UnitKindFile>,
    #[serde(default)]
    pub groups: Vec<GroupFile>,
    #[serde(default)]
    pub assessments: Vec<AssessmentFile>,
    #[serde(default)]
    pub scoring: ScoringFile,
    #[serde(default)]
    pub ballot_box: BallotBoxFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BallotBoxFile {
    pub window_hours: Option<Spanned<i64>>,
    pub session_idle_days: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignMessagesFile {
    pub welcome: Option<Spanned<String>>,
    pub token_invalid: Option<Spanned<String>>,
    pub token_unknown: Option<Spanned<String>>,
    pub token_used: Option<Spanned<String>>,
    pub token_expired: Option<Spanned<String>>,
    pub token_wrong_unit: Option<Spanned<String>>,
    pub too_many_attempts: Option<Spanned<String>>,
    pub not_open: Option<Spanned<String>>,
    pub closed: Option<Spanned<String>>,
    pub quota_full: Option<Spanned<String>>,
    pub unsupported: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitKindFile {
    pub id: Spanned<String>,
    pub name: Spanned<String>,
    #[serde(default)]
    pub units: Vec<UnitFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitFile {
    pub id: Spanned<String>,
    pub name: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupFile {
    pub id: Spanned<String>,
    pub name: Spanned<String>,
    pub category: Spanned<String>,
    #[serde(default)]
    pub access: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentFile {
    pub unit_kind: Spanned<String>,
    pub group: Spanned<String>,
    pub dialogue: Spanned<String>,
    pub quota: Spanned<i64>,
    pub weight: Option<Spanned<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringFile {
    pub min_cell: Option<Spanned<i64>>,
    pub max_points: Option<Spanned<f64>>,
    #[serde(default)]
    pub bands: Vec<BandFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandFile {
    pub at_least: Spanned<f64>,
    pub points: Spanned<f64>,
}
