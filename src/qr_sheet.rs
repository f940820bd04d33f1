//! Printable A4 sheets of token cards, as PDF: eight cards a page in a
//! grid with cut marks, each with the unit, the group, a QR code of the
//! token's link, the token printed large, the channels to send it on and
//! a line on anonymity. The fonts (DejaVu) are embedded, so Vietnamese
//! prints the same from any office computer.

use anyhow::{Result, anyhow};
use krilla::Document;
use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke, StrokeDash};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use qrcode::{Color, EcLevel, QrCode};

/// One card on a sheet.
#[derive(Debug, Clone)]
pub struct Card {
    /// Printed token, e.g. `ABCD-EFGH-JKM`.
    pub token: String,
    /// What the QR code opens.
    pub link: String,
    pub title: String,
    pub unit: String,
    pub group: String,
}

const COLUMNS: usize = 2;
const ROWS: usize = 4;
/// Cards per A4 page.
pub const PER_PAGE: usize = COLUMNS * ROWS;

/// A4, and the card grid on it (millimetres).
const PAGE: (f32, f32) = (210.0, 297.0);
const CARD: (f32, f32) = (95.0, 68.0);
const GRID: (f32, f32) = (
    (PAGE.0 - COLUMNS as f32 * CARD.0) / 2.0,
    (PAGE.1 - ROWS as f32 * CARD.1) / 2.0,
);

/// The line every card ends with.
pub const ANONYMITY: &str = "Phiếu ẩn danh: không ghi họ tên, không ai biết ai đã trả lời gì.";

/// Points per millimetre.
const PT: f32 = 72.0 / 25.4;

struct Fonts {
    regular: Font,
    bold: Font,
    mono: Font,
}

impl Fonts {
    fn load() -> Result<Self> {
        let font = |bytes: &'static [u8]| {
            Font::new(bytes.into(), 0).ok_or_else(|| anyhow!("the embedded font cannot be read"))
        };
        Ok(Self {
            regular: font(dejavu::sans::regular())?,
            bold: font(dejavu::sans::bold())?,
            mono: font(dejavu::sans_mono::bold())?,
        })
    }
}

/// The cards as one PDF of A4 pages; `channels` are the lines naming where
/// to send a token ("Zalo: …", "Telegram: …", "Web: …"), the same on every card.
pub fn pdf(title: &str, cards: &[Card], channels: &[String]) -> Result<Vec<u8>> {
    let fonts = Fonts::load()?;
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(title.to_string())
            .language("vi".to_string())
            .creator("khaosat".to_string()),
    );
    for chunk in cards.chunks(PER_PAGE) {
        let settings =
            PageSettings::from_wh(PAGE.0 * PT, PAGE.1 * PT).ok_or_else(|| anyhow!("an A4 page"))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        cut_marks(&mut surface);
        for (i, card) in chunk.iter().enumerate() {
            let x = GRID.0 + (i % COLUMNS) as f32 * CARD.0;
            let y = GRID.1 + (i / COLUMNS) as f32 * CARD.1;
            draw_card(&mut surface, &fonts, card, channels, x, y);
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| anyhow!("writing the PDF: {e:?}"))
}

/// Marks in the margins where the guillotine cuts, and a faint outline of
/// each card for scissors.
fn cut_marks(s: &mut Surface<'_>) {
    let mut marks = PathBuilder::new();
    for c in 0..=COLUMNS {
        let x = GRID.0 + c as f32 * CARD.0;
        line(&mut marks, (x, 2.0), (x, GRID.1 - 2.0));
        line(&mut marks, (x, PAGE.1 - GRID.1 + 2.0), (x, PAGE.1 - 2.0));
    }
    for r in 0..=ROWS {
        let y = GRID.1 + r as f32 * CARD.1;
        line(&mut marks, (1.0, y), (GRID.0 - 2.0, y));
        line(&mut marks, (PAGE.0 - GRID.0 + 2.0, y), (PAGE.0 - 1.0, y));
    }
    s.set_fill(None);
    s.set_stroke(Some(Stroke {
        width: 0.5,
        ..Stroke::default()
    }));
    if let Some(path) = marks.finish() {
        s.draw_path(&path);
    }
    let mut outline = PathBuilder::new();
    for c in 0..COLUMNS {
        for r in 0..ROWS {
            if let Some(rect) = Rect::from_xywh(
                (GRID.0 + c as f32 * CARD.0) * PT,
                (GRID.1 + r as f32 * CARD.1) * PT,
                CARD.0 * PT,
                CARD.1 * PT,
            ) {
                outline.push_rect(rect);
            }
        }
    }
    s.set_stroke(Some(Stroke {
        width: 0.3,
        paint: luma::Color::new(170).into(),
        dash: Some(StrokeDash {
            array: vec![3.0, 2.0],
            offset: 0.0,
        }),
        ..Stroke::default()
    }));
    if let Some(path) = outline.finish() {
        s.draw_path(&path);
    }
    s.set_stroke(None);
}

fn line(p: &mut PathBuilder, from: (f32, f32), to: (f32, f32)) {
    p.move_to(from.0 * PT, from.1 * PT);
    p.line_to(to.0 * PT, to.1 * PT);
}

fn draw_card(s: &mut Surface<'_>, fonts: &Fonts, card: &Card, channels: &[String], x: f32, y: f32) {
    let gray = luma::Color::new(90);
    let width = CARD.0 - 10.0;
    text(
        s,
        &fonts.bold,
        7.5,
        gray,
        (x + 5.0, y + 7.0),
        width,
        &card.title,
    );
    let black = luma::Color::black();
    text(
        s,
        &fonts.bold,
        11.0,
        black,
        (x + 5.0, y + 13.5),
        width,
        &card.unit,
    );
    text(
        s,
        &fonts.regular,
        7.5,
        black,
        (x + 5.0, y + 18.5),
        width,
        &card.group,
    );
    qr(s, &card.link, x + 4.0, y + 21.0, 38.0);
    let (rx, rw) = (x + 45.0, CARD.0 - 48.0);
    text(s, &fonts.regular, 7.5, gray, (rx, y + 26.0), rw, "Mã phiếu");
    text(s, &fonts.mono, 13.0, black, (rx, y + 32.5), rw, &card.token);
    let mut at = y + 38.5;
    for line in ["Quét mã QR để trả lời trên web,", "hoặc gửi mã phiếu qua:"]
        .into_iter()
        .map(str::to_string)
        .chain(channels.iter().map(|c| format!("• {c}")))
    {
        text(s, &fonts.regular, 7.0, black, (rx, at), rw, &line);
        at += 3.6;
    }
    text(
        s,
        &fonts.regular,
        6.5,
        gray,
        (x + 5.0, y + 64.0),
        width,
        ANONYMITY,
    );
}

/// One line of text from its baseline's start, made smaller (to 70 %) and
/// then shortened with "…" until it fits `width` mm.
#[allow(clippy::too_many_arguments)]
fn text(
    s: &mut Surface<'_>,
    font: &Font,
    size: f32,
    color: luma::Color,
    at: (f32, f32),
    width: f32,
    line: &str,
) {
    // DejaVu Sans averages about 0.58 em a character (0.6 for its mono).
    let fits = |text: &str, size: f32| text.chars().count() as f32 * size * 0.6 / PT <= width;
    let smallest = 0.7 * size;
    let mut size = size;
    while !fits(line, size) && size - 0.25 >= smallest {
        size -= 0.25;
    }
    let mut shown = line.to_string();
    while !fits(&shown, size) && shown.chars().count() > 1 {
        let keep = shown.chars().count() - 2;
        shown = format!("{}…", shown.chars().take(keep).collect::<String>());
    }
    s.set_fill(Some(Fill {
        paint: color.into(),
        ..Fill::default()
    }));
    s.draw_text(
        Point::from_xy(at.0 * PT, at.1 * PT),
        font.clone(),
        size,
        &shown,
        false,
        TextDirection::Auto,
    );
}

/// A QR code of `data`, `size` mm wide with its quiet zone, dark runs of
/// each row drawn as one rectangle.
fn qr(s: &mut Surface<'_>, data: &str, x: f32, y: f32, size: f32) {
    let Ok(code) = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M) else {
        return;
    };
    let n = code.width();
    let quiet = 3;
    let module = size / (n + 2 * quiet) as f32;
    let colors = code.to_colors();
    let mut path = PathBuilder::new();
    for row in 0..n {
        let mut col = 0;
        while col < n {
            if colors[row * n + col] != Color::Dark {
                col += 1;
                continue;
            }
            let start = col;
            while col < n && colors[row * n + col] == Color::Dark {
                col += 1;
            }
            // A little taller than a module, so no seam shows between rows.
            if let Some(rect) = Rect::from_xywh(
                (x + (start + quiet) as f32 * module) * PT,
                (y + (row + quiet) as f32 * module) * PT,
                (col - start) as f32 * module * PT,
                module * PT * if row + 1 < n { 1.08 } else { 1.0 },
            ) {
                path.push_rect(rect);
            }
        }
    }
    s.set_stroke(None);
    s.set_fill(Some(Fill::default()));
    if let Some(path) = path.finish() {
        s.draw_path(&path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nine_cards_make_a_two_page_pdf() {
        let card = Card {
            token: "ABCD-EFGH-JKM".into(),
            link: "https://khaosat.example.vn/#t=ABCDEFGHJKM".into(),
            title: "Khảo sát CCHC 2021".into(),
            unit: "UBND xã Bình An".into(),
            group: "Tổ chức, cá nhân".into(),
        };
        let bytes = pdf(
            "Mã phiếu",
            &vec![card; 9],
            &["Web: khaosat.example.vn".into()],
        )
        .unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("/Count 2"), "two pages");
    }
}
