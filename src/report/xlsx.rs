//! The Excel workbook government offices open: a sheet per view with
//! Vietnamese headers, frozen header rows, number formats, the notes under
//! each table, and a bar chart of each kind's ranking.

use anyhow::{Context, Result};
use rust_xlsxwriter::{
    Chart, ChartType, DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook,
    Worksheet,
};

use super::Report;
use super::tables::{Table, Value, tables};

/// The workbook's bytes. Deterministic: the same report gives the same file.
pub fn workbook(r: &Report) -> Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let created = ExcelDateTime::from_timestamp(r.generated_at)
        .context("the report's time cannot be written into the workbook")?;
    wb.set_properties(
        &DocProperties::new()
            .set_title(&r.title)
            .set_author(&r.organisation)
            .set_creation_datetime(&created),
    );
    let formats = Formats::new();
    for t in tables(r) {
        let ws = wb.add_worksheet();
        sheet(ws, &t, &formats)?;
        if t.file == "xep-hang.csv" {
            ranking_charts(ws, r, &t)?;
        }
    }
    wb.save_to_buffer().context("writing the Excel workbook")
}

struct Formats {
    header: Format,
    figure: Format,
    percent: Format,
    count: Format,
    text: Format,
    suppressed: Format,
    note: Format,
}

impl Formats {
    fn new() -> Self {
        Self {
            header: Format::new()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_background_color("DDEBF7")
                .set_border(FormatBorder::Thin),
            figure: Format::new().set_num_format("0.00"),
            percent: Format::new().set_num_format("0.0"),
            count: Format::new().set_num_format("0"),
            text: Format::new().set_text_wrap(),
            suppressed: Format::new()
                .set_italic()
                .set_align(FormatAlign::Right)
                .set_font_color("808080"),
            note: Format::new().set_italic(),
        }
    }
}

fn sheet(ws: &mut Worksheet, t: &Table, f: &Formats) -> Result<()> {
    ws.set_name(t.sheet)?;
    for (c, h) in t.headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, &f.header)?;
    }
    ws.set_row_height(0, 45)?;
    ws.set_freeze_panes(1, 0)?;
    let mut widths: Vec<usize> = t
        .headers
        .iter()
        .map(|h| h.chars().count() / 2 + 2)
        .collect();
    for (r, row) in t.rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, v) in row.iter().enumerate() {
            let c16 = c as u16;
            match v {
                Value::Text(s) => {
                    // Never a formula: rust_xlsxwriter writes strings as strings.
                    ws.write_string_with_format(r, c16, s, &f.text)?;
                }
                Value::Count(n) => {
                    ws.write_number_with_format(r, c16, f64::from(*n), &f.count)?;
                }
                Value::Figure(x) => {
                    ws.write_number_with_format(r, c16, *x, &f.figure)?;
                }
                Value::Percent(x) => {
                    ws.write_number_with_format(r, c16, *x, &f.percent)?;
                }
                Value::Suppressed => {
                    ws.write_string_with_format(r, c16, super::SUPPRESSED, &f.suppressed)?;
                }
                Value::Empty => {}
            }
            if let Some(w) = widths.get_mut(c) {
                *w = (*w).max(v.text().chars().count().min(60));
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, (*w as f64 + 2.0).clamp(8.0, 62.0))?;
    }
    let first_note = t.rows.len() as u32 + 2;
    for (i, n) in t.notes.iter().enumerate() {
        ws.write_string_with_format(first_note + i as u32, 0, n, &f.note)?;
    }
    Ok(())
}

/// A bar chart of the combined index for each kind of unit, beside the
/// ranking; the rows of a kind are consecutive there.
fn ranking_charts(ws: &mut Worksheet, r: &Report, t: &Table) -> Result<()> {
    let mut first = 1u32;
    for (i, k) in r.kinds.iter().enumerate() {
        let ranked = k.units.iter().filter(|u| u.rank.is_some()).count() as u32;
        if ranked > 0 {
            let last = first + ranked - 1;
            let mut chart = Chart::new(ChartType::Bar);
            chart
                .add_series()
                .set_categories((t.sheet, first, 2, last, 2))
                .set_values((t.sheet, first, 3, last, 3))
                .set_name("Chỉ số tổng hợp");
            chart.title().set_name(&k.name);
            chart.x_axis().set_min(0).set_max(100);
            // Best at the top.
            chart.y_axis().set_reverse();
            chart.legend().set_hidden();
            chart.set_width(640).set_height(24 * ranked.max(8) + 80);
            ws.insert_chart(1 + 30 * i as u32, 6, &chart)?;
        }
        first += k.units.len() as u32;
    }
    Ok(())
}
