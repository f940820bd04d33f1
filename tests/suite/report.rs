//! Aggregation and the published report: values worked out by hand,
//! properties over random ballots, and snapshots of the workbook and page.

use std::collections::BTreeMap;
use std::io::Cursor;

use chrono::{DateTime, Utc};
use khaosat::aggregate::Aggregate;
use khaosat::ballot::Ballot;
use khaosat::ballot::{AnswerSheet, StoredBallot};
use khaosat::campaign::Campaign;
use khaosat::dialogue::Answer;
use khaosat::report::open_data::OpenData;
use khaosat::report::reached::Reached;
use khaosat::report::tables::tables;
use khaosat::report::{Report, build, csv, html, xlsx};
use proptest::prelude::*;

use crate::helpers::{load, small_campaign_dir, snapshot, vn};

fn ballot(unit: &str, group: &str, answers: &[(&str, Answer)]) -> Ballot {
    Ballot {
        seq: 0,
        campaign: "small".into(),
        unit: unit.into(),
        group: group.into(),
        dialogue_id: group.into(),
        dialogue_version: String::new(),
        batch: 1,
        batch_date: "2021-02-01".into(),
        receipt: String::new(),
        salt: String::new(),
        answers: answers
            .iter()
            .map(|(q, a)| (q.to_string(), a.clone()))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// The small campaign with four communes (a copy in a temporary folder).
fn four_communes(min_cell: u32) -> (Campaign, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    for file in ["campaign.toml", "can-bo.toml", "dan.toml"] {
        let text = std::fs::read_to_string(small_campaign_dir().join(file)).unwrap();
        let text = text.replace(
            "  { id = \"xa-b\", name = \"UBND xã B\" },\n",
            "  { id = \"xa-b\", name = \"UBND xã B\" },\n  { id = \"xa-c\", name = \"UBND xã C\" },\n  { id = \"xa-d\", name = \"UBND xã D\" },\n",
        );
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    (load(dir.path()).with_min_cell(min_cell), dir)
}

/// Citizens' ballots for `unit`: `happy` of them satisfied, `unhappy` not,
/// each with the wish `wish` when given.
fn citizens(unit: &str, happy: usize, unhappy: usize, wish: Option<&str>) -> Vec<Ballot> {
    let answer = |n: u16| {
        let mut answers = vec![("chung", Answer::Choice(n))];
        if let Some(w) = wish {
            answers.push(("y-kien", Answer::Text(w.to_string())));
        }
        ballot(unit, "dan", &answers)
    };
    std::iter::repeat_n(answer(2), happy)
        .chain(std::iter::repeat_n(answer(1), unhappy))
        .collect()
}

/// Equal combined indices share a rank, and the next rank skips: 1, 2, 2, 4.
fn equal_indices_share_a_rank() {
    let (c, _dir) = four_communes(1);
    let ballots: Vec<Ballot> = [
        citizens("xa-a", 4, 0, None), // 100
        citizens("xa-b", 3, 1, None), // 75
        citizens("xa-c", 3, 1, None), // 75
        citizens("xa-d", 1, 3, None), // 25
    ]
    .concat();
    let r = report(&c, &ballots);
    let ranks: Vec<(&str, Option<u32>, Option<f64>)> = r
        .units()
        .map(|(_, u)| (u.id.as_str(), u.rank, u.combined))
        .collect();
    assert_eq!(
        ranks,
        [
            ("xa-a", Some(1), Some(100.0)),
            ("xa-b", Some(2), Some(75.0)),
            ("xa-c", Some(2), Some(75.0)),
            ("xa-d", Some(4), Some(25.0)),
        ]
    );
}

/// A wish that a spreadsheet would run as a formula is written as text in
/// every CSV (with a leading apostrophe), in the published lists and in the
/// open data alike.
fn formulas_in_wishes_are_neutralised_in_every_csv() {
    let (c, _dir) = four_communes(1);
    let formulas = [
        "=HYPERLINK(\"http://x.example\";\"Bấm\")",
        "+84 cmd",
        "-2+3",
        "@SUM(A1)",
    ];
    let ballots: Vec<Ballot> = formulas
        .iter()
        .zip(["xa-a", "xa-b", "xa-c", "xa-d"])
        .flat_map(|(f, unit)| citizens(unit, 1, 0, Some(f)))
        .collect();
    let r = report(&c, &ballots);
    let out = outputs(&c, &r, &ballots);
    let mut seen = 0;
    for (name, bytes) in out.iter().filter(|(n, _)| n.ends_with(".csv")) {
        let text = String::from_utf8(bytes.clone()).unwrap();
        seen += crate::helpers::assert_formulas_are_text(name, &text, &formulas);
    }
    assert!(
        seen >= 8,
        "each wish in the wishes list and the open data: {seen}"
    );
}

/// The small campaign's dialogue ids are its group ids.
fn aggregate(c: &Campaign, ballots: &[Ballot]) -> Aggregate {
    let dialogues = c.dialogues();
    let mut agg = Aggregate::default();
    for b in ballots {
        let d = dialogues.iter().find(|d| d.id() == b.dialogue_id).unwrap();
        agg.add(b, d);
    }
    agg.sort_wishes();
    agg
}

fn now() -> DateTime<Utc> {
    vn("2021-02-16T08:00:00")
}

fn report(c: &Campaign, ballots: &[Ballot]) -> Report {
    let agg = aggregate(c, ballots);
    build(c, &agg, agg.ballots, "ab12cd34", now())
}

/// The small campaign with a given suppression threshold.
fn small(min_cell: u32) -> Campaign {
    load(&small_campaign_dir()).with_min_cell(min_cell)
}

/// The hand-computed dataset. Officials rate areas a and b on "Ít" (1) /
/// "Nhiều" (2, positive) / "Không đánh giá được" (3); citizens answer
/// "chung" with "Không hài lòng" (1) / "Hài lòng" (2, positive).
fn hand_dataset() -> Vec<Ballot> {
    use Answer::{Choice, Text};
    vec![
        ballot("xa-a", "can-bo", &[("a1", Choice(2)), ("b1", Choice(1))]),
        ballot("xa-a", "can-bo", &[("a1", Choice(2)), ("b1", Choice(3))]),
        ballot("xa-a", "can-bo", &[("a1", Choice(1)), ("b1", Choice(2))]),
        ballot("xa-a", "dan", &[("chung", Choice(2))]),
        ballot("xa-a", "dan", &[("chung", Choice(1))]),
        ballot(
            "xa-a",
            "dan",
            &[
                ("chung", Choice(2)),
                ("y-kien", Text("Cần thêm ghế chờ".into())),
            ],
        ),
        ballot("xa-a", "dan", &[("chung", Choice(2))]),
    ]
}

/// With nothing suppressed (min_cell = 1), by hand:
///   a1 = Nhiều, Nhiều, Ít → 2 of 3 valid positive → 66.67; mean (2+2+1)/3 = 1.67
///   b1 = Ít, n/a, Nhiều → 1 of 2 valid positive → 50.00; mean (1+2)/2 = 1.50
///   officials' index = (66.667 + 50) / 2 = 58.33
///   citizens: Hài lòng ×3, Không hài lòng ×1 → 75.00; mean 7/4 = 1.75
///   weights = quota shares: officials 2/3, citizens 1/3
///   combined = 2/3 × 58.333 + 1/3 × 75 = 38.889 + 25 = 63.89
///   points (linear, max 1) = 0.63889 → 0.64; xã A ranks 1st, xã B (no
///   ballots) is not ranked.
fn a_small_dataset_gives_the_hand_computed_figures() {
    let r = report(&small(1), &hand_dataset());
    assert_eq!(r.ballots, 7);
    let k = &r.kinds[0];
    let a = &k.units[0];
    let officials = &a.cells[0];
    assert_eq!((officials.ballots, officials.quota), (3, 2));
    let area_a = &officials.areas[0];
    let area_b = &officials.areas[1];
    assert_eq!((area_a.valid, area_a.not_applicable), (3, 0));
    assert_eq!((area_a.index, area_a.mean), (Some(66.67), Some(1.67)));
    assert_eq!(area_a.distribution, Some(vec![1, 2, 0]));
    assert_eq!((area_b.valid, area_b.not_applicable), (2, 1));
    assert_eq!((area_b.index, area_b.mean), (Some(50.0), Some(1.5)));
    assert_eq!(officials.index, Some(58.33));
    assert!((officials.weight - 2.0 / 3.0).abs() < 1e-12);
    let citizens = &a.cells[1];
    assert_eq!(
        (citizens.index, citizens.areas[0].mean),
        (Some(75.0), Some(1.75))
    );
    assert_eq!(a.combined, Some(63.89));
    assert_eq!(a.points, Some(0.64));
    assert_eq!(a.rank, Some(1));
    assert_eq!(a.wishes.len(), 1);
    assert_eq!(a.wishes[0].text, "Cần thêm ghế chờ");
    let b = &k.units[1];
    assert_eq!((b.combined, b.points, b.rank), (None, None, None));
    assert_eq!(b.cells[0].ballots, 0);
}

/// With min_cell = 3: the officials' cell (3 ballots) is published, but b1
/// has only 2 valid answers, so it is withheld and area b has no index; the
/// officials' index is area a's alone, 66.67; the citizens' cell (4) stays.
///   combined = 2/3 × 66.667 + 1/3 × 75 = 44.444 + 25 = 69.44
/// With min_cell = 4 the officials' cell itself is withheld: the combined
/// index is the citizens' 75.00.
fn small_cells_and_questions_are_withheld_and_left_out_of_every_index() {
    let r = report(&small(3), &hand_dataset());
    let a = &r.kinds[0].units[0];
    let b1 = &a.cells[0].areas[1];
    assert!(b1.suppressed);
    assert_eq!((b1.index, b1.mean, &b1.distribution), (None, None, &None));
    assert_eq!(b1.items[0].valid, 2, "counts stay");
    assert_eq!(a.cells[0].index, Some(66.67));
    assert_eq!(a.combined, Some(69.44));

    let r = report(&small(4), &hand_dataset());
    let a = &r.kinds[0].units[0];
    assert!(a.cells[0].suppressed);
    assert!(a.cells[0].areas.is_empty());
    assert_eq!(a.cells[0].ballots, 3, "the count is still shown");
    assert_eq!(a.combined, Some(75.0));
    // The citizens' wish is published; none from a withheld cell would be.
    assert_eq!(a.wishes.len(), 1);
    let page = html::page(&r);
    assert!(
        page.contains("(ẩn)") && page.contains("dưới 4 phiếu"),
        "{page}"
    );
}

fn index_points_are_linear_by_default_or_by_bands() {
    use khaosat::campaign::{Band, Scoring};
    let linear = Scoring {
        min_cell: 5,
        max_points: 2.0,
        bands: Vec::new(),
    };
    assert_eq!(linear.points(75.0), 1.5);
    assert_eq!(linear.points(120.0), 2.0, "capped at 100");
    let banded = Scoring {
        min_cell: 5,
        max_points: 2.0,
        bands: vec![
            Band {
                at_least: 80.0,
                points: 1.0,
            },
            Band {
                at_least: 50.0,
                points: 0.5,
            },
        ],
    };
    assert_eq!(banded.points(85.0), 2.0);
    assert_eq!(banded.points(80.0), 2.0);
    assert_eq!(banded.points(63.9), 1.0);
    assert_eq!(banded.points(49.9), 0.0);
}

fn stored(ballots: &[Ballot]) -> Vec<StoredBallot> {
    ballots
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let ballot = Ballot {
                seq: i as i64 + 1,
                receipt: format!("R{i:04}"),
                ..b.clone()
            };
            StoredBallot::new(ballot, String::new(), String::new())
        })
        .collect()
}

/// Every output of a report, as bytes, by file name.
fn outputs(c: &Campaign, r: &Report, ballots: &[Ballot]) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    out.insert("xlsx".into(), xlsx::workbook(r).unwrap());
    out.insert("html".into(), html::page(r).into_bytes());
    out.insert("json".into(), serde_json::to_vec(r).unwrap());
    for t in tables(r) {
        out.insert(t.file.into(), csv::table(&t).into_bytes());
    }
    let dir = tempfile::tempdir().unwrap();
    // As the report job does: cells counted first, then one pass.
    let mut counts: BTreeMap<(String, String), u32> = BTreeMap::new();
    for b in ballots {
        *counts.entry((b.unit.clone(), b.group.clone())).or_default() += 1;
    }
    let counts: Vec<(String, String, u32)> =
        counts.into_iter().map(|((u, g), n)| (u, g, n)).collect();
    // Ballots held back are put in their places either while the rows
    // behind them wait in memory or, past the window, by rewriting the
    // file at the end; and whether each ballot goes in as soon as it is
    // counted or only once every ballot is: the files are the same.
    let rewritten = tempfile::tempdir().unwrap();
    let late = tempfile::tempdir().unwrap();
    let mut open = OpenData::new(dir.path(), c, &counts);
    let mut open_rewritten = OpenData::new(rewritten.path(), c, &counts).with_window(0);
    let mut open_late = OpenData::new(late.path(), c, &counts);
    let mut agg = Aggregate::default();
    let dialogues = c.dialogues();
    let stored = stored(ballots);
    let read: Vec<_> = stored
        .iter()
        .map(|b| {
            let d = dialogues
                .iter()
                .find(|d| d.id() == b.ballot.dialogue_id)
                .unwrap();
            let sheet = AnswerSheet::of(&b.ballot.answers, d);
            (b, d, sheet, b.answers_digest())
        })
        .collect();
    let mut reached = Reached::new(c);
    for (b, d, sheet, digest) in &read {
        agg.add(&b.ballot, d);
        reached.catch_up(&agg);
        open.push(&b.row(), sheet, digest, d, &reached).unwrap();
        open_rewritten
            .push(&b.row(), sheet, digest, d, &reached)
            .unwrap();
    }
    for (b, d, sheet, digest) in &read {
        open_late
            .push(&b.row(), sheet, digest, d, &reached)
            .unwrap();
    }
    let rewritten_files = open_rewritten.finish(&agg).unwrap();
    let late_files = open_late.finish(&agg).unwrap();
    let files = open.finish(&agg).unwrap();
    assert_eq!(files.len(), late_files.len());
    for (path, late) in files.iter().zip(late_files) {
        assert_eq!(
            String::from_utf8_lossy(&std::fs::read(path).unwrap()),
            String::from_utf8_lossy(&std::fs::read(late).unwrap()),
            "{} is the same when ballots are pushed late",
            path.display()
        );
    }
    for (path, other) in files.into_iter().zip(rewritten_files) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(&std::fs::read(&other).unwrap()),
            "{name}"
        );
        // Every ballot in chain order, those held back included.
        let mut reader = ::csv::Reader::from_reader(bytes.as_slice());
        let seqs: Vec<i64> = reader
            .records()
            .map(|r| r.unwrap()[0].parse().unwrap())
            .collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{name}: {seqs:?}");
        out.insert(name, bytes);
    }
    out
}

fn any_ballot() -> impl Strategy<Value = Ballot> {
    let text = prop_oneof![Just(None), "[a-zà-ỹ =+@-]{1,12}".prop_map(Some)];
    (0..2usize, 0..2usize, 0..4u16, 0..4u16, text).prop_map(|(u, g, x, y, t)| {
        let unit = ["xa-a", "xa-b"][u];
        let mut answers = Vec::new();
        if g == 0 {
            // 0 = not answered; 1–3 the options.
            if x > 0 {
                answers.push(("a1", Answer::Choice(x)));
            }
            if y > 0 {
                answers.push(("b1", Answer::Choice(y)));
            }
            ballot(unit, "can-bo", &answers)
        } else {
            answers.push(("chung", Answer::Choice(x % 2 + 1)));
            if let Some(t) = t {
                answers.push(("y-kien", Answer::Text(t)));
            }
            ballot(unit, "dan", &answers)
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Indices are shares × 100 and points follow them, whatever the answers.
    fn indices_stay_within_0_to_100(ballots in prop::collection::vec(any_ballot(), 0..40), min in 1..6u32) {
        let r = report(&small(min), &ballots);
        let ok = |x: Option<f64>| x.is_none_or(|x| (0.0..=100.0).contains(&x));
        for (_, u) in r.units() {
            prop_assert!(ok(u.combined));
            prop_assert!(u.points.is_none_or(|p| (0.0..=1.0).contains(&p)));
            for c in &u.cells {
                prop_assert!(ok(c.index));
                for a in &c.areas {
                    prop_assert!(ok(a.index));
                    prop_assert!(a.items.iter().all(|i| ok(i.index)));
                }
            }
        }
    }

    /// Results, and every output byte, do not depend on the ballots' order.
    fn results_do_not_depend_on_ballot_order(ballots in prop::collection::vec(any_ballot(), 0..40), min in 1..6u32, seed in any::<u64>()) {
        let c = small(min);
        let r = report(&c, &ballots);
        let mut shuffled = ballots.clone();
        let n = shuffled.len();
        for i in (1..n).rev() {
            shuffled.swap(i, (seed as usize ^ (i * 7919)) % (i + 1));
        }
        let again = report(&c, &shuffled);
        prop_assert_eq!(&again, &r);
        let (a, b) = (outputs(&c, &r, &[]), outputs(&c, &again, &[]));
        prop_assert_eq!(a, b);
    }

    /// Whatever the answers in a withheld cell or to a withheld question,
    /// no output changes by a byte: nothing of them leaks.
    fn suppressed_cells_never_leak(ballots in prop::collection::vec(any_ballot(), 1..40), min in 2..6u32, flip in any::<u64>()) {
        let c = small(min);
        let r = report(&c, &ballots);
        let mut changed = ballots.clone();
        for (i, b) in changed.iter_mut().enumerate() {
            let unit = r.kinds[0].units.iter().find(|u| u.id == b.unit).unwrap();
            let cell = unit.cells.iter().find(|c| c.group == b.group).unwrap();
            let bit = (flip >> (i % 64)) & 1 == 1;
            if cell.ballots < min {
                // A withheld cell: any other answers at all.
                for a in b.answers.values_mut() {
                    *a = match &*a {
                        Answer::Choice(n) => Answer::Choice(if bit { *n % 2 + 1 } else { 1 }),
                        Answer::Text(t) => Answer::Text(format!("{t} khác")),
                        other => other.clone(),
                    };
                }
            } else {
                // A withheld question: another valid option.
                for item in cell.areas.iter().flat_map(|a| &a.items).filter(|i| i.suppressed) {
                    if let Some(Answer::Choice(n)) = b.answers.get_mut(&item.id)
                        && *n <= 2
                        && bit
                    {
                        *n = 3 - *n;
                    }
                }
            }
        }
        let again = report(&c, &changed);
        let (mut before, mut after) = (outputs(&c, &r, &ballots), outputs(&c, &again, &changed));
        for out in [&mut before, &mut after] {
            for (name, bytes) in out.iter_mut().filter(|(n, _)| n.starts_with("phieu-")) {
                let _ = name;
                *bytes = without_commitments(bytes);
            }
        }
        for (name, bytes) in &before {
            prop_assert!(after.get(name) == Some(bytes), "{} changed:\n{}\n---\n{}", name,
                String::from_utf8_lossy(bytes), String::from_utf8_lossy(&after[name]));
        }
    }
}

/// The open data without each ballot's commitment and hashes: they change
/// with any answer by design, and tell nothing of a withheld one, whose
/// commitment is salted with 128 random bits.
fn without_commitments(csv: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(csv);
    text.split("\r\n")
        .map(|line| line.rsplitn(4, ',').last().unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join("\r\n")
        .into_bytes()
}

/// The workbook's sheets as text: what Excel shows in each cell.
fn sheets(bytes: Vec<u8>) -> String {
    use calamine::{Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let mut out = String::new();
    for name in wb.sheet_names() {
        out.push_str(&format!("== {name}\n"));
        let range = wb.worksheet_range(&name).unwrap();
        for row in range.rows() {
            let cells: Vec<String> = row
                .iter()
                .map(|d| match d {
                    Data::Empty => String::new(),
                    Data::Float(f) => format!("{f}"),
                    Data::Int(i) => i.to_string(),
                    other => other.to_string(),
                })
                .collect();
            out.push_str(&cells.join(" | "));
            out.push('\n');
        }
    }
    out
}

fn the_workbook_and_the_page_match_their_snapshots() {
    let r = report(&small(3), &hand_dataset());
    let book = sheets(xlsx::workbook(&r).unwrap());
    assert!(book.contains("== Tổng hợp\n"), "{book}");
    snapshot("report-small.xlsx.txt", &book);
    snapshot("report-small.html", &html::page(&r));
}

/// The sheet names of a workbook.
pub fn sheet_names(bytes: Vec<u8>) -> Vec<String> {
    use calamine::{Reader, Xlsx};
    let wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    wb.sheet_names()
}

/// The tests of this module.
pub fn trials() -> Vec<libtest_mimic::Trial> {
    crate::trials![
        sync equal_indices_share_a_rank,
        sync formulas_in_wishes_are_neutralised_in_every_csv,
        sync a_small_dataset_gives_the_hand_computed_figures,
        sync small_cells_and_questions_are_withheld_and_left_out_of_every_index,
        sync index_points_are_linear_by_default_or_by_bands,
        sync indices_stay_within_0_to_100,
        sync results_do_not_depend_on_ballot_order,
        sync suppressed_cells_never_leak,
        sync the_workbook_and_the_page_match_their_snapshots,
    ]
}
