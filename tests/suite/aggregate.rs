//! Aggregation against values worked out by hand.

use std::collections::BTreeMap;

use khaosat::aggregate::Aggregate;
use khaosat::ballot::Ballot;
use khaosat::dialogue::Answer;

use crate::helpers::{load, small_campaign_dir};

fn ballot(group: &str, dialogue: &str, answers: &[(&str, Answer)]) -> Ballot {
    Ballot {
        seq: 0,
        campaign: "small".into(),
        unit: "xa-a".into(),
        group: group.into(),
        dialogue_id: dialogue.into(),
        dialogue_version: String::new(),
        submitted_on: "2021-02-01".into(),
        answers: answers
            .iter()
            .map(|(q, a)| (q.to_string(), a.clone()))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// The small campaign: officials rate areas a and b on "Ít" (1) / "Nhiều"
/// (2, positive) / "Không đánh giá được"; citizens answer "chung" with
/// "Không hài lòng" (1) / "Hài lòng" (2, positive). Weights: quota shares,
/// officials 2/3, citizens 1/3.
///
/// Officials: a1 = Nhiều, Nhiều, Ít → 2 of 3 positive → 66.667, mean 5/3;
///            b1 = Ít, n/a, Nhiều → 1 of 2 valid positive → 50, mean 1.5.
///            Officials' index = (66.667 + 50) / 2 = 58.333.
/// Citizens:  chung = Hài lòng ×3, Không hài lòng ×1 → 75, mean 1.75.
/// Combined:  2/3 × 58.333 + 1/3 × 75 = 63.889; points (linear, max 1) 0.63889.
#[test]
fn a_small_dataset_gives_the_hand_computed_indices() {
    use Answer::Choice;
    let c = load(&small_campaign_dir());
    let officials = c
        .dialogues()
        .into_iter()
        .find(|d| d.id == "can-bo")
        .unwrap();
    let citizens = c.dialogues().into_iter().find(|d| d.id == "dan").unwrap();
    let mut ballots = vec![
        (
            ballot("can-bo", "can-bo", &[("a1", Choice(2)), ("b1", Choice(1))]),
            &officials,
        ),
        (
            ballot("can-bo", "can-bo", &[("a1", Choice(2)), ("b1", Choice(3))]),
            &officials,
        ),
        (
            ballot("can-bo", "can-bo", &[("a1", Choice(1)), ("b1", Choice(2))]),
            &officials,
        ),
        (ballot("dan", "dan", &[("chung", Choice(2))]), &citizens),
        (ballot("dan", "dan", &[("chung", Choice(1))]), &citizens),
        (
            ballot(
                "dan",
                "dan",
                &[("chung", Choice(2)), ("y-kien", Answer::Text("Tốt".into()))],
            ),
            &citizens,
        ),
        (ballot("dan", "dan", &[("chung", Choice(2))]), &citizens),
    ];
    let run = |ballots: &[(Ballot, &std::sync::Arc<khaosat::dialogue::Dialogue>)]| {
        let mut agg = Aggregate::default();
        for (b, d) in ballots {
            agg.add(b, d);
        }
        agg
    };
    let agg = run(&ballots);
    let close = |got: Option<f64>, want: f64| {
        let got = got.expect("a value");
        assert!((got - want).abs() < 1e-9, "got {got}, want {want}");
    };
    let b1 = &agg.tallies[&("xa-a".into(), "can-bo".into(), "b".into(), "b1".into())];
    assert_eq!((b1.valid, b1.not_applicable, b1.positive), (2, 1, 1));
    close(b1.mean_score(), 1.5);
    close(agg.area_index("xa-a", "can-bo", "a"), 200.0 / 3.0);
    close(agg.area_index("xa-a", "can-bo", "b"), 50.0);
    close(
        agg.group_index("xa-a", "can-bo"),
        (200.0 / 3.0 + 50.0) / 2.0,
    );
    close(agg.group_index("xa-a", "dan"), 75.0);
    let combined = 2.0 / 3.0 * ((200.0 / 3.0 + 50.0) / 2.0) + 1.0 / 3.0 * 75.0;
    close(agg.unit_index(&c, "xa-a"), combined);
    assert!((combined - 63.888_888_9).abs() < 1e-6);
    close(Some(c.scoring.points(combined)), combined / 100.0);
    assert_eq!(agg.unit_index(&c, "xa-b"), None, "no answers, no index");
    assert_eq!(agg.ballots, 7);

    // The order of the ballots does not matter.
    ballots.reverse();
    let again = run(&ballots);
    assert_eq!(again.tallies, agg.tallies);
}

#[test]
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
