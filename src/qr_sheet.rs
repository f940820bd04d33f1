//! Printable A4 sheets of token cards with QR codes, as SVG.

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

/// Renders cards onto A4 pages (millimetre units), 8 per page.
pub fn pages(cards: &[Card]) -> Vec<String> {
    cards.chunks(PER_PAGE).map(page).collect()
}

fn page(cards: &[Card]) -> String {
    let mut svg = String::from(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"210mm\" height=\"297mm\" viewBox=\"0 0 210 297\" \
         font-family=\"'DejaVu Sans', 'Noto Sans', Arial, sans-serif\">\n",
    );
    let (w, h) = (95.0, 68.0);
    for (i, card) in cards.iter().enumerate() {
        let x = 7.5 + (i % COLUMNS) as f64 * (w + 5.0);
        let y = 8.0 + (i / COLUMNS) as f64 * (h + 3.0);
        svg.push_str(&format!(
            "<g transform=\"translate({x} {y})\">\n<rect width=\"{w}\" height=\"{h}\" fill=\"none\" stroke=\"#999\" stroke-width=\"0.3\" stroke-dasharray=\"2 1\"/>\n"
        ));
        svg.push_str(&text_line(4.0, 6.5, 2.8, "bold", &card.title, 52));
        svg.push_str(&text_line(4.0, 11.5, 3.2, "bold", &card.unit, 46));
        svg.push_str(&text_line(4.0, 16.0, 2.8, "normal", &card.group, 52));
        svg.push_str(&qr(&card.link, 4.0, 19.0, 45.0));
        svg.push_str(&text_line(52.0, 30.0, 3.0, "normal", "Mã phiếu:", 30));
        svg.push_str(&format!(
            "<text x=\"52\" y=\"38\" font-size=\"5.6\" font-family=\"'DejaVu Sans Mono', monospace\" font-weight=\"bold\">{}</text>\n",
            escape(&card.token)
        ));
        for (k, line) in [
            "Quét mã QR bằng điện thoại,",
            "hoặc nhắn mã phiếu cho kênh",
            "khảo sát trên Zalo/Telegram.",
            "Không cần ghi họ tên.",
        ]
        .iter()
        .enumerate()
        {
            svg.push_str(&text_line(
                52.0,
                46.0 + 4.2 * k as f64,
                2.7,
                "normal",
                line,
                40,
            ));
        }
        svg.push_str("</g>\n");
    }
    svg.push_str("</svg>\n");
    svg
}

fn text_line(x: f64, y: f64, size: f64, weight: &str, text: &str, max_chars: usize) -> String {
    let shown: String = if text.chars().count() > max_chars {
        format!("{}…", text.chars().take(max_chars - 1).collect::<String>())
    } else {
        text.to_string()
    };
    format!(
        "<text x=\"{x}\" y=\"{y}\" font-size=\"{size}\" font-weight=\"{weight}\">{}</text>\n",
        escape(&shown)
    )
}

/// A QR code as one SVG path of dark modules, `size` mm wide.
fn qr(data: &str, x: f64, y: f64, size: f64) -> String {
    let Ok(code) = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M) else {
        return String::new();
    };
    let n = code.width();
    let quiet = 2;
    let scale = size / (n + 2 * quiet) as f64;
    let mut path = String::new();
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c == Color::Dark {
            path.push_str(&format!("M{} {}h1v1h-1z", i % n + quiet, i / n + quiet));
        }
    }
    format!(
        "<g transform=\"translate({x} {y}) scale({scale})\"><rect width=\"{0}\" height=\"{0}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></g>\n",
        n + 2 * quiet
    )
}

/// Escapes text for XML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_fill_pages_of_eight() {
        let card = Card {
            token: "ABCD-EFGH-JKM".into(),
            link: "https://t.me/khaosat_bot?start=ABCDEFGHJKM".into(),
            title: "Khảo sát CCHC 2021".into(),
            unit: "UBND xã Bình An".into(),
            group: "Tổ chức, cá nhân".into(),
        };
        let pages = pages(&vec![card; 9]);
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0].matches("ABCD-EFGH-JKM").count(), 8);
        assert!(pages[0].contains("UBND xã Bình An"));
        assert!(pages[1].contains("<path d=\"M"));
    }
}
