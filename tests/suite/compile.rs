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
        "unknown scale `khong-co` — use one of the scales defined in this file: s",
    ),
    (
        "duplicate-question-id",
        "21:6",
        "duplicate question id `q1`",
    ),
    (
        "condition-on-later-question",
        "19:24",
        "condition on question `q2`, which is asked after this one",
    ),
    (
        "condition-on-unknown-question",
        "19:24",
        "condition on unknown question `q0`",
    ),
    (
        "condition-unknown-option",
        "24:40",
        "`Có lẽ` is not an option of scale `s` — use one of \"Có\", \"Không\"",
    ),
    (
        "condition-type-mismatch",
        "24:39",
        "`any_of`/`none_of` need a choice question, but `q1` is not one",
    ),
    (
        "unreachable-question",
        "24:11",
        "question `q2` is unreachable: `none_of` excludes every option",
    ),
    (
        "unreachable-through-another",
        "32:11",
        "question `q3` is unreachable: it depends on `q2`, which is never asked",
    ),
    ("unknown-key", "18:1", "unknown field `scael`"),
    (
        "unknown-question-type",
        "18:8",
        "unknown question type `rating` — use \"choice\", \"multiple\", \"text\" or \"number\"",
    ),
    (
        "unknown-placeholder",
        "12:10",
        "message `review` uses unknown placeholder `{don_vi}` — use one of {unit}",
    ),
    (
        "number-min-above-max",
        "16:6",
        "question `q1` has min 10 greater than max 1",
    ),
    ("text-with-scale", "19:9", "a text question takes no scale"),
    ("invalid-id", "16:6", "invalid question id `Câu 1`"),
    ("no-sections", "1:1", "the dialogue has no sections"),
    ("empty-scale", "6:11", "scale `s` has no options"),
    (
        "labels-equal-without-diacritics",
        "8:13",
        "`hai long` matches two options",
    ),
    (
        "not-applicable-with-score",
        "8:13",
        "option `Không đánh giá được` is not_applicable but has a score",
    ),
    (
        "label-only-a-number",
        "7:13",
        "option label or alias `5` is only a number",
    ),
    ("toml-syntax", "9:15", "invalid basic string"),
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
    assert_located(d.path(), &e, 9, "unknown time zone `Asia/Hanoi_City`");
    let (d, e) = campaign_with(
        "closes = \"2021-02-15T23:59:59\"",
        "closes = \"15/02/2021\"",
    );
    assert_located(d.path(), &e, 13, "`closes` is not a local date and time");
    let (d, e) = campaign_with(
        "closes = \"2021-02-15T23:59:59\"",
        "closes = \"2020-12-31T00:00:00\"",
    );
    assert_located(d.path(), &e, 13, "the survey closes before it opens");
    let (d, e) = campaign_with(
        "dialogue = \"nguoi-dan.toml\"",
        "dialogue = \"nguoi-dan-2.toml\"",
    );
    assert!(e.contains("nguoi-dan-2.toml` does not exist"), "{e}");
    assert_located(d.path(), &e, 97, "does not exist");
    let (d, e) = campaign_with("group = \"nguoi-dan\"", "group = \"dan\"");
    assert_located(d.path(), &e, 96, "unknown group `dan`");
    let (d, e) = campaign_with(
        "{ id = \"binh-tu\", name = \"UBND xã Bình Tú\" }",
        "{ id = \"binh-an\", name = \"UBND xã Bình Tú\" }",
    );
    assert_located(d.path(), &e, 67, "duplicate unit id `binh-an`");
    let (d, e) = campaign_with("quota = 28", "quota = 28\nweight = 0.5");
    assert_located(
        d.path(),
        &e,
        89,
        "only some assessments of `phong` have a `weight`",
    );
    let (d, e) = campaign_with("quota = 12", "quota = 0");
    assert_located(d.path(), &e, 98, "quota 0 is out of range");
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
        e.contains(&format!("{}:46:9: unknown scale `hai-lon`", p.display())),
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
