//! Compiling campaigns and dialogue files: every shipped file, and every
//! kind of mistake an operator can make, located at file:line:column.

use std::path::Path;

use khaosat::campaign;
use khaosat::dialogue::{self, QuestionKind};

use crate::helpers::{manifest_dir, shipped_campaign_dir, small_campaign_dir};

fn every_shipped_dialogue_and_campaign_compiles() {
    for dir in [shipped_campaign_dir(), small_campaign_dir()] {
        let c = campaign::load(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert!(!c.dialogues().is_empty());
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") && !path.ends_with("campaign.toml") {
                dialogue::compile_file(&path).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
}

fn the_shipped_campaign_is_the_plan() {
    let c = campaign::load(&shipped_campaign_dir()).unwrap();
    let kind = |id: &str| c.kinds().iter().position(|k| k.id == id).unwrap();
    assert_eq!(
        c.units().iter().filter(|u| u.kind == kind("phong")).count(),
        11
    );
    assert_eq!(
        c.units().iter().filter(|u| u.kind == kind("xa")).count(),
        22
    );
    let quota = |k: &str, g: &str| {
        c.assessment(kind(k), c.group_index(g).unwrap())
            .unwrap()
            .quota
    };
    assert_eq!(
        (quota("phong", "can-bo"), quota("phong", "nguoi-dan")),
        (28, 12)
    );
    assert_eq!((quota("xa", "can-bo"), quota("xa", "nguoi-dan")), (10, 20));
    let totals = c.quota_totals();
    assert_eq!(totals.iter().map(|t| t.1).sum::<u32>(), 1100);
    assert_eq!(totals[c.group_index("can-bo").unwrap()].1, 528);
    assert_eq!(totals[c.group_index("nguoi-dan").unwrap()].1, 572);
    // The period ends at the end of 15/02/2021, Vietnam time.
    assert_eq!(c.closes(), crate::helpers::vn("2021-02-15T23:59:59"));
    // Weights default to the quota shares.
    let w = c
        .assessment(kind("phong"), c.group_index("can-bo").unwrap())
        .unwrap()
        .weight;
    assert!((w - 28.0 / 40.0).abs() < 1e-12);
    // Both officials' questionnaires ask the six areas, each with a not-applicable option.
    for id in ["can-bo-danh-gia-phong", "can-bo-danh-gia-xa"] {
        let d = c.dialogues().into_iter().find(|d| d.id() == id).unwrap();
        assert_eq!(d.sections().len(), 6);
        assert!(d.per_unit());
        let scale = d.scale_of(&d.questions()[0]).unwrap();
        assert_eq!(scale.options.iter().filter(|o| o.not_applicable).count(), 1);
        assert_eq!(scale.options.iter().filter(|o| o.positive).count(), 2);
    }
    let citizens = c
        .dialogues()
        .into_iter()
        .find(|d| d.id() == "nguoi-dan")
        .unwrap();
    let labels: Vec<_> = citizens.scales()[0]
        .options
        .iter()
        .map(|o| o.label.as_str())
        .collect();
    assert_eq!(
        labels,
        [
            "Rất không hài lòng",
            "Không hài lòng",
            "Bình thường",
            "Hài lòng",
            "Rất hài lòng"
        ]
    );
    let wishes = citizens
        .questions()
        .iter()
        .find(|q| q.id == "mong-muon")
        .unwrap();
    assert!(!wishes.required && matches!(wishes.kind, QuestionKind::Text { .. }));
}

fn shipped_texts_are_nfc() {
    use unicode_normalization::is_nfc;
    for entry in std::fs::read_dir(shipped_campaign_dir()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(is_nfc(&text), "{} is not in NFC", path.display());
    }
}

/// Every invalid fixture, with where the error must point and what it says.
const INVALID: &[(&str, &str, &str)] = &[
    (
        "unknown-scale",
        "18:9",
        "không có thang đo `khong-co` — dùng một thang đo có trong tệp này: s",
    ),
    ("duplicate-question-id", "21:6", "mã câu hỏi `q1` bị trùng"),
    (
        "condition-on-later-question",
        "19:24",
        "điều kiện dựa vào câu hỏi `q2`, được hỏi sau câu này",
    ),
    (
        "condition-on-unknown-question",
        "19:24",
        "điều kiện dựa vào câu hỏi không có `q0`",
    ),
    (
        "condition-unknown-option",
        "24:40",
        "`Có lẽ` không phải là lựa chọn của thang đo `s` — dùng một trong: \"Có\", \"Không\"",
    ),
    (
        "condition-type-mismatch",
        "24:39",
        "`any_of`/`none_of` cần một câu hỏi chọn, nhưng `q1` không phải",
    ),
    (
        "unreachable-question",
        "24:11",
        "câu hỏi `q2` không bao giờ được hỏi: `none_of` loại trừ mọi lựa chọn",
    ),
    (
        "unreachable-through-another",
        "32:11",
        "câu hỏi `q3` không bao giờ được hỏi: nó phụ thuộc `q2`, là câu không bao giờ được hỏi",
    ),
    ("unknown-key", "18:1", "lỗi TOML: unknown field `scael`"),
    (
        "unknown-question-type",
        "18:8",
        "không có loại câu hỏi `rating` — dùng \"choice\", \"multiple\", \"text\" hoặc \"number\"",
    ),
    (
        "unknown-placeholder",
        "12:10",
        "thông báo `review` dùng chỗ điền không có `{don_vi}` — dùng một trong: {unit}",
    ),
    (
        "number-min-above-max",
        "16:6",
        "câu hỏi `q1` có min 10 lớn hơn max 1",
    ),
    (
        "text-with-scale",
        "19:9",
        "câu hỏi loại `text` không dùng scale",
    ),
    ("invalid-id", "16:6", "mã câu hỏi không hợp lệ `Câu 1`"),
    ("no-sections", "1:1", "bảng hỏi chưa có phần nào"),
    ("empty-scale", "6:11", "thang đo `s` chưa có lựa chọn nào"),
    (
        "labels-equal-without-diacritics",
        "8:13",
        "`hai long` trùng với hai lựa chọn",
    ),
    (
        "not-applicable-with-score",
        "8:13",
        "lựa chọn `Không đánh giá được` là not_applicable nhưng lại có điểm",
    ),
    (
        "label-only-a-number",
        "7:13",
        "nhãn hoặc tên gọi khác `5` chỉ là một con số",
    ),
    ("toml-syntax", "9:15", "lỗi TOML: invalid basic string"),
];

fn invalid_dialogues_are_reported_with_file_line_column_and_fix() {
    let dir = manifest_dir().join("tests/fixtures/invalid");
    let mut seen = 0;
    for (name, at, message) in INVALID {
        let path = dir.join(format!("{name}.toml"));
        let err = dialogue::compile_file(&path).expect_err(name).to_string();
        let expected = format!("{}:{at}: {message}", path.display());
        assert!(
            err.contains(&expected),
            "{name}: expected\n  {expected}\ngot\n  {err}"
        );
        // Every diagnostic says how to fix it.
        assert!(err.lines().all(|l| l.contains(" — ")), "{err}");
        seen += 1;
    }
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(seen, files, "every fixture has an expectation");
}

/// Copies the shipped campaign into a temp folder with one edit to campaign.toml.
fn campaign_with(from: &str, to: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(shipped_campaign_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let path = dir.path().join("campaign.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{from}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    let err = campaign::load(dir.path()).expect_err(to).to_string();
    (dir, err)
}

fn assert_located(dir: &Path, err: &str, line: usize, message: &str) {
    let at = format!("{}:{line}:", dir.join("campaign.toml").display());
    let found = err
        .lines()
        .any(|l| l.starts_with(&at) && l.contains(message));
    assert!(found, "expected {at} … {message}\ngot\n{err}");
}

fn campaign_mistakes_are_located() {
    let (d, e) = campaign_with(
        "timezone = \"Asia/Ho_Chi_Minh\"",
        "timezone = \"Asia/Hanoi_City\"",
    );
    assert_located(d.path(), &e, 9, "không có múi giờ `Asia/Hanoi_City`");
    let (d, e) = campaign_with(
        "closes = \"2021-02-15T23:59:59\"",
        "closes = \"15/02/2021\"",
    );
    assert_located(d.path(), &e, 13, "`closes` không phải ngày giờ địa phương");
    let (d, e) = campaign_with(
        "closes = \"2021-02-15T23:59:59\"",
        "closes = \"2020-12-31T00:00:00\"",
    );
    assert_located(
        d.path(),
        &e,
        13,
        "thời điểm kết thúc sớm hơn thời điểm bắt đầu",
    );
    let (d, e) = campaign_with(
        "dialogue = \"nguoi-dan.toml\"",
        "dialogue = \"nguoi-dan-2.toml\"",
    );
    assert!(
        e.contains("nguoi-dan-2.toml`") && e.contains("không có tệp bảng hỏi"),
        "{e}"
    );
    assert_located(d.path(), &e, 97, "không có tệp bảng hỏi");
    let (d, e) = campaign_with("group = \"nguoi-dan\"", "group = \"dan\"");
    assert_located(d.path(), &e, 96, "không có nhóm `dan`");
    let (d, e) = campaign_with(
        "{ id = \"binh-tu\", name = \"UBND xã Bình Tú\" }",
        "{ id = \"binh-an\", name = \"UBND xã Bình Tú\" }",
    );
    assert_located(d.path(), &e, 67, "mã đơn vị `binh-an` bị trùng");
    let (d, e) = campaign_with("quota = 28", "quota = 28\nweight = 0.5");
    assert_located(
        d.path(),
        &e,
        89,
        "chỉ một số [[assessments]] của `phong` có `weight`",
    );
    let (d, e) = campaign_with("quota = 12", "quota = 0");
    assert_located(d.path(), &e, 98, "chỉ tiêu 0 nằm ngoài khoảng cho phép");
    // A broken dialogue is reported with its own file.
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(shipped_campaign_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let p = dir.path().join("nguoi-dan.toml");
    let text = std::fs::read_to_string(&p).unwrap().replace(
        "scale = \"hai-long\"\n\n[[sections.questions]]\nid = \"huong-dan\"",
        "scale = \"hai-lon\"\n\n[[sections.questions]]\nid = \"huong-dan\"",
    );
    std::fs::write(&p, text).unwrap();
    let e = campaign::load(dir.path()).unwrap_err().to_string();
    assert!(
        e.contains(&format!(
            "{}:46:9: không có thang đo `hai-lon`",
            p.display()
        )),
        "{e}"
    );
}

/// The tests of this module.
pub fn trials() -> Vec<libtest_mimic::Trial> {
    crate::trials![
        sync every_shipped_dialogue_and_campaign_compiles,
        sync the_shipped_campaign_is_the_plan,
        sync shipped_texts_are_nfc,
        sync invalid_dialogues_are_reported_with_file_line_column_and_fix,
        sync campaign_mistakes_are_located,
    ]
}
