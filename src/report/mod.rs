//! Published results: the aggregate turned into the figures every output
//! shows, with small cells suppressed. Pure; the writers (`xlsx`, `csv`,
//! `html`, `json`, `open_data`) only lay out a [`Report`], so a figure that is
//! suppressed here cannot appear in any of them.
//!
//! Suppression (`min_cell` in the campaign's scoring settings):
//! - a unit × group cell with fewer ballots than `min_cell` shows only its
//!   ballot count and quota: no index, no area, no answer, no wish;
//! - in the other cells, a question with fewer valid answers than
//!   `min_cell` shows its counts but no index, mean or distribution, and is
//!   left out of its area's index;
//! - every other figure (area, group, combined index, points, rankings,
//!   district summaries) is computed from published figures only, so no
//!   suppressed figure can be worked back from them.

mod build;
pub mod csv;
pub mod html;
mod job;
pub mod open_data;
pub mod reached;
pub mod tables;
pub mod xlsx;

pub use job::{
    JSON, PAGE_HTML, Scope, WORKBOOK, Written, staff_files, write_reports, write_reports_watched,
};

pub use build::build;

use serde::Serialize;

/// Everything a published report says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub campaign: String,
    pub title: String,
    pub organisation: String,
    /// When it was computed, local time `dd/mm/yyyy HH:MM`.
    pub generated: String,
    /// The same moment as a Unix timestamp.
    pub generated_at: i64,
    /// The ballots it was computed from, and the chain head after the last
    /// of them: `khaosat verify` on the data prints the same two.
    pub ballots: u64,
    pub chain_head: String,
    /// The survey period in force, with the staff's change if any.
    pub period: String,
    pub min_cell: u32,
    /// How index points are computed, in words.
    pub scoring: String,
    pub kinds: Vec<KindReport>,
}

/// One kind of unit (departments, communes), ranked among themselves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindReport {
    pub id: String,
    pub name: String,
    /// Units in campaign order.
    pub units: Vec<UnitReport>,
    /// Per group, each area over the published cells of every unit.
    pub summary: Vec<GroupSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupSummary {
    pub group: String,
    pub group_name: String,
    pub areas: Vec<AreaReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitReport {
    pub id: String,
    pub name: String,
    pub cells: Vec<CellReport>,
    /// The groups' indices weighted as the campaign says, over the groups
    /// that have a published index.
    pub combined: Option<f64>,
    /// Reform-index points for the combined index.
    pub points: Option<f64>,
    /// 1 = best among the units of its kind; equal indices share a rank.
    pub rank: Option<u32>,
    pub wishes: Vec<WishReport>,
}

/// What one group said of one unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellReport {
    pub group: String,
    pub group_name: String,
    pub ballots: u32,
    pub quota: u32,
    /// Fewer ballots than `min_cell`: nothing below is published.
    pub suppressed: bool,
    pub weight: f64,
    pub index: Option<f64>,
    pub areas: Vec<AreaReport>,
}

/// One area (criterion, a section of the questionnaire).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaReport {
    pub id: String,
    pub title: String,
    /// Valid and "not applicable" answers over its scored questions.
    pub valid: u32,
    pub not_applicable: u32,
    pub mean: Option<f64>,
    pub index: Option<f64>,
    /// Some question's figures, or the whole area, are withheld.
    pub suppressed: bool,
    /// The answer scale of the area's scored questions.
    pub labels: Vec<String>,
    /// Answers per option over its published scored questions.
    pub distribution: Option<Vec<u32>>,
    pub items: Vec<ItemReport>,
}

/// One question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemReport {
    pub id: String,
    pub text: String,
    pub valid: u32,
    pub not_applicable: u32,
    /// Whether the question counts towards indices (its scale marks positive options).
    pub scored: bool,
    pub mean: Option<f64>,
    pub index: Option<f64>,
    pub suppressed: bool,
    pub labels: Vec<String>,
    pub distribution: Option<Vec<u32>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WishReport {
    pub group_name: String,
    pub question: String,
    pub text: String,
}

impl Report {
    pub fn units(&self) -> impl Iterator<Item = (&KindReport, &UnitReport)> {
        self.kinds
            .iter()
            .flat_map(|k| k.units.iter().map(move |u| (k, u)))
    }

    /// The note every output carries about withheld figures.
    pub fn suppression_note(&self) -> String {
        format!(
            "Để bảo đảm ẩn danh, các ô có dưới {n} phiếu (hoặc dưới {n} câu trả lời hợp lệ) \
             không được công bố; chỉ số tổng hợp chỉ tính từ các số liệu được công bố. \
             Ký hiệu: (ẩn).",
            n = self.min_cell
        )
    }

    /// The line that ties the report to the data.
    pub fn chain_note(&self) -> String {
        format!(
            "Tính từ {} phiếu; mã băm cuối chuỗi (chain head): {}. \
             Kiểm tra bằng lệnh `khaosat verify` trên dữ liệu gốc.",
            self.ballots, self.chain_head
        )
    }
}

/// A published figure as text: two decimals with a decimal comma, as
/// Vietnamese documents write them; "(ẩn)" when withheld; "–" when empty.
pub fn figure(value: Option<f64>, suppressed: bool) -> String {
    match value {
        Some(v) => format!("{v:.2}").replace('.', ","),
        None if suppressed => SUPPRESSED.to_string(),
        None => "–".to_string(),
    }
}

/// Shown in place of a withheld figure.
pub const SUPPRESSED: &str = "(ẩn)";
