//! The whole campaign's tokens in one command, as Phòng Nội vụ would issue
//! them: a folder per unit with a CSV and a PDF of cards, read back the way
//! an office reads it — the text through `pdftotext`, the pages rendered by
//! `pdftoppm` and their QR codes scanned.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::helpers::{manifest_dir, shipped_campaign_dir};

const KEY: &str = "6b68616f7361742074657374206b6579206f6e6c7920666f72207465737473ff";
const WEB: &str = "https://khaosat.example.vn";

fn khaosat(db: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_khaosat"))
        .current_dir(manifest_dir())
        .args([
            "--campaign",
            shipped_campaign_dir().to_str().unwrap(),
            "--database-url",
            db.to_str().unwrap(),
        ])
        .args(args)
        .env_remove("KHAOSAT_WEB_URL")
        .env_remove("KHAOSAT_TELEGRAM_BOT")
        .env_remove("KHAOSAT_ZALO_OA_NAME")
        .env("KHAOSAT_SECRET", KEY)
        .output()
        .unwrap()
}

/// The tokens column and the web links of a batch's CSV.
fn csv_tokens(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let fields: Vec<&str> = l.split(',').collect();
            (fields[0].to_string(), fields.last().unwrap().to_string())
        })
        .collect()
}

/// The PDF's text, pages separated by form feeds.
fn pdf_text(pdf: &Path) -> String {
    let o = Command::new("pdftotext")
        .args([pdf.to_str().unwrap(), "-"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

/// Page `page` rendered in grey at `dpi` (a PGM image: width, height, pixels).
fn render(pdf: &Path, page: u32, dpi: u32) -> (usize, usize, Vec<u8>) {
    let page = page.to_string();
    let o = Command::new("pdftoppm")
        .args(["-gray", "-r", &dpi.to_string(), "-f", &page, "-l", &page])
        // As a printer draws it: no anti-aliasing.
        .args(["-aa", "no", "-aaVector", "no"])
        .arg(pdf)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // "P5\n<w> <h>\n255\n" then the pixels.
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while o.stdout[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !o.stdout[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&o.stdout[start..at]).into_owned());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    (w, h, o.stdout[at + 1..].to_vec())
}

/// What the QR codes on a rendered page open, card by card (2 × 4 cards
/// of 95 × 68 mm from 10 mm, 12.5 mm; the code 4–42 mm across, 21–59 mm down).
fn scan(w: usize, h: usize, pixels: &[u8], dpi: u32) -> BTreeSet<String> {
    let px = |mm: f32| (mm / 25.4 * dpi as f32) as usize;
    let mut found = BTreeSet::new();
    for card in 0..8 {
        let (x0, y0) = (
            10.0 + (card % 2) as f32 * 95.0 + 2.0,
            12.5 + (card / 2) as f32 * 68.0 + 19.0,
        );
        let (left, top, side) = (px(x0), px(y0), px(42.0));
        let side_w = side.min(w - left);
        let side_h = side.min(h - top);
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(side_w, side_h, |x, y| {
            pixels[(top + y) * w + left + x]
        });
        found.extend(
            image
                .detect_grids()
                .into_iter()
                .filter_map(|g| g.decode().ok().map(|(_, text)| text)),
        );
    }
    found
}

fn the_whole_campaign_is_issued_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let out = dir.path().join("phieu");
    let out_arg = out.to_str().unwrap();

    // Cards whose QR codes would open 127.0.0.1 are refused, with the fix.
    let o = khaosat(&db, &["tokens", "issue", "--all", "--out", out_arg]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && e.contains("--web-url https://"),
        "{e}"
    );
    assert!(!out.exists(), "nothing written");

    let o = khaosat(
        &db,
        &[
            "tokens",
            "issue",
            "--all",
            "--out",
            out_arg,
            "--web-url",
            WEB,
            "--telegram-bot",
            "khaosat_thangbinh_bot",
            "--zalo-oa-name",
            "UBND huyện Thăng Bình",
        ],
    );
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Quota plus 10 % spare, rounded up: departments 12 + 2 citizens,
    // communes 20 + 2; leaders 28 + 3 covering the 11 departments and
    // 10 + 1 covering the 22 communes.
    assert!(said.contains("Đã phát hành 680 mã phiếu"), "{said}");
    let index = std::fs::read_to_string(out.join("bang-ke.csv")).unwrap();
    let rows: Vec<Vec<&str>> = index
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 11 + 22 + 2, "{index}");
    let count = |folder: &str| {
        rows.iter()
            .find(|r| r[0] == folder)
            .unwrap_or_else(|| panic!("no folder {folder}: {index}"))[3]
            .parse::<usize>()
            .unwrap()
    };
    assert_eq!(count("binh-an"), 22);
    assert_eq!(count("phong-can-bo"), 31);
    assert_eq!(count("xa-can-bo"), 11);
    let counts: Vec<usize> = rows.iter().map(|r| r[3].parse().unwrap()).collect();
    assert_eq!(
        counts.iter().filter(|&&n| n == 14).count(),
        11,
        "departments"
    );
    assert_eq!(counts.iter().filter(|&&n| n == 22).count(), 22, "communes");
    let leaders = rows.iter().find(|r| r[0] == "xa-can-bo").unwrap();
    assert_eq!(
        leaders[2].split(' ').count(),
        22,
        "a leader's token covers every commune"
    );

    // Every token is in the database (as a hash) once, and works.
    let stored: i64 = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM tokens")
            .fetch_one(&pool)
            .await
            .unwrap()
    });
    assert_eq!(stored, 680);

    // The cards read as printed: unit, group, every token, the channels, anonymity.
    let csv = out.join("binh-an/binh-an-nguoi-dan.csv");
    let pdf = out.join("binh-an/binh-an-nguoi-dan.pdf");
    let tokens = csv_tokens(&csv);
    assert_eq!(tokens.len(), 22);
    let text = pdf_text(&pdf);
    assert_eq!(text.matches('\u{c}').count(), 3, "22 cards on 3 A4 pages");
    for wanted in [
        "UBND xã Bình An",
        "Tổ chức, cá nhân",
        "Zalo: OA “UBND huyện Thăng Bình”",
        "Telegram: @khaosat_thangbinh_bot",
        "Web: khaosat.example.vn",
        "Phiếu ẩn danh: không ghi họ tên",
    ] {
        assert!(text.contains(wanted), "“{wanted}” missing from:\n{text}");
    }
    for (token, _) in &tokens {
        assert!(text.contains(token.as_str()), "{token} missing");
    }
    // The first page's eight QR codes open the first eight tokens' web links.
    let (w, h, pixels) = render(&pdf, 1, 150);
    let scanned = scan(w, h, &pixels, 150);
    let expected: BTreeSet<String> = tokens[..8].iter().map(|(_, link)| link.clone()).collect();
    assert_eq!(scanned, expected);
    assert!(
        expected
            .iter()
            .all(|l| l.starts_with(&format!("{WEB}/#t=")))
    );

    // A second run into the same folder is refused: batches never mix.
    let again = khaosat(
        &db,
        &[
            "tokens",
            "issue",
            "--all",
            "--out",
            out_arg,
            "--web-url",
            WEB,
        ],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("đã có tệp"));
}

/// The tests of this module.
pub fn trials() -> Vec<libtest_mimic::Trial> {
    crate::trials![pdf the_whole_campaign_is_issued_in_one_run]
}
