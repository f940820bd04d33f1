//! Anonymity, tried from the side of whoever holds the database: a backup,
//! the disk, the live server, and every published file — but not the
//! service's key, which is kept elsewhere. A scripted campaign of 64
//! citizens, each with a token of their own (so the holder knows which
//! credential is whose), answers at the counters of four communes, one
//! after the other; the service's mixer runs after every ballot, as it does
//! every minute. Then every link the holder could try is tried, and each
//! must do no better than chance among the ballots mixed together: shared
//! transaction ids, physical and logical row order, timestamps, the bytes
//! of the SQLite file and its log, the receipts, the open data.

use std::collections::{BTreeMap, HashMap};

use khaosat::ballot::StoredBallot;
use khaosat::report::{Scope, write_reports};
use khaosat::store::TokenRecord;
use khaosat::token::Token;
use sqlx::Row;

use crate::helpers::{Backend, Chat, Harness};

const UNITS: [&str; 4] = ["binh-an", "binh-chanh", "binh-duong", "binh-dao"];
const PEOPLE: usize = 64;

/// One citizen: who they are to the holder, and what only they know.
struct Person {
    /// The token's hash, as `tokens` and `spends` hold it.
    credential: String,
    unit: &'static str,
    /// Their free-text wish: what finds their ballot in the chain.
    wish: String,
}

/// The campaign: 64 citizens, 16 per commune, in an order that mixes the
/// communes; each answers and sends; the mixer runs after each.
async fn campaign(h: &Harness) -> Vec<Person> {
    let mut people = Vec::new();
    for i in 0..PEOPLE {
        let unit = UNITS[(i + i / 8) % UNITS.len()];
        let token = Token::generate(&mut rand::rng());
        let credential = token.hash(&h.key);
        // A token of one's own, in a batch named for them: the holder knows
        // whose credential is whose.
        h.store()
            .insert_tokens(&[TokenRecord {
                hash: credential.clone(),
                campaign: "thang-binh-2021".into(),
                group: "nguoi-dan".into(),
                units: vec![unit.to_string()],
                expires_at: None,
                batch: format!("person-{i}"),
            }])
            .await
            .unwrap();
        let minute = i % 60;
        let day = 1 + i / 60;
        h.set_time(&format!("2021-02-{day:02}T09:{minute:02}:00"));
        let wish = format!("Ý kiến riêng số {i:02} {}", khaosat::hex::random::<4>());
        let mut chat = Chat::new("telegram", &format!("{}", 90_000 + i));
        chat.start(&h.survey, Some(token.as_str())).await;
        for _ in 0..10 {
            chat.say(&h.survey, if i % 2 == 0 { "4" } else { "5" })
                .await;
        }
        chat.say(&h.survey, "1").await;
        chat.say(&h.survey, "rat hai long").await;
        chat.say(&h.survey, &wish).await;
        chat.say(&h.survey, "gửi").await;
        assert!(
            chat.text().contains("Mã biên nhận"),
            "person {i}: {}",
            chat.text()
        );
        h.survey.mix(false).await.unwrap();
        people.push(Person {
            credential,
            unit,
            wish,
        });
    }
    // The survey closes: the mixer empties the box.
    h.set_time("2021-02-16T08:00:00");
    h.survey.mix(false).await.unwrap();
    people
}

/// Whose ballot is it: the person whose wish it holds.
fn owner(people: &[Person], b: &StoredBallot) -> Option<usize> {
    let wish = b.ballot.answers.get("mong-muon")?;
    people
        .iter()
        .position(|p| *wish == khaosat::dialogue::Answer::Text(p.wish.clone()))
}

/// What the holder may know for free: the cell and the batch. Guessing
/// at random within its (batch, cell) group, each ballot is found with
/// probability 1/size, so about one correct guess per group is chance.
struct Chance {
    groups: usize,
}

impl Chance {
    fn of(ballots: &[StoredBallot]) -> Self {
        let mut groups: BTreeMap<(i64, &str), usize> = BTreeMap::new();
        for b in ballots {
            *groups
                .entry((b.ballot.batch, b.ballot.unit.as_str()))
                .or_default() += 1;
        }
        Self {
            groups: groups.len(),
        }
    }

    /// Fails when an attack's correct guesses are beyond what chance gives
    /// (its expectation plus four standard deviations and a margin).
    fn check(&self, attack: &str, correct: usize) {
        let expected = self.groups as f64;
        let bound = expected + 4.0 * expected.sqrt() + 2.0;
        assert!(
            (correct as f64) <= bound,
            "{attack}: {correct} of {PEOPLE} ballots linked to their person, \
             chance gives about {expected:.0} (bound {bound:.1})"
        );
        eprintln!("{attack}: {correct} of {PEOPLE} linked; chance ≈ {expected:.0}");
    }
}

/// Pairs people and ballots in the same order within each unit (the i-th
/// person of a unit by `person_order` with the i-th ballot by
/// `ballot_order`) and counts the pairs that are right.
fn pair_in_order(
    people: &[Person],
    ballots: &[StoredBallot],
    person_order: &dyn Fn(usize) -> i64,
    ballot_order: &dyn Fn(&StoredBallot) -> i64,
) -> usize {
    let mut correct = 0;
    for unit in UNITS {
        let mut ps: Vec<usize> = (0..people.len())
            .filter(|&i| people[i].unit == unit)
            .collect();
        ps.sort_by_key(|&i| person_order(i));
        let mut bs: Vec<&StoredBallot> = ballots.iter().filter(|b| b.ballot.unit == unit).collect();
        bs.sort_by_key(|b| ballot_order(b));
        correct += ps
            .iter()
            .zip(&bs)
            .filter(|(p, b)| owner(people, b) == Some(**p))
            .count();
    }
    correct
}

async fn the_database_holder_cannot_link_ballots_to_people(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let people = campaign(&h).await;
    let ballots = h.store().ballots().await.unwrap();
    assert_eq!(ballots.len(), PEOPLE, "every ballot in the chain");
    assert!(ballots.iter().all(|b| owner(&people, b).is_some()));
    let min_cell = h.survey.campaign().scoring().min_cell as usize;
    let last_batch = ballots.iter().map(|b| b.ballot.batch).max().unwrap();

    // The mixer's promise: before the closing batch, a cell's ballots join
    // the chain only in groups of at least min_cell.
    let mut groups: BTreeMap<(i64, &str), usize> = BTreeMap::new();
    for b in &ballots {
        *groups
            .entry((b.ballot.batch, b.ballot.unit.as_str()))
            .or_default() += 1;
    }
    for ((batch, unit), n) in &groups {
        assert!(
            *n >= min_cell || *batch == last_batch,
            "batch {batch} put {n} ballot(s) of {unit} into the chain, fewer than {min_cell}"
        );
    }
    let chance = Chance::of(&ballots);
    // Nothing dates a ballot more finely than its batch.
    for b in &ballots {
        let same: Vec<_> = ballots
            .iter()
            .filter(|o| o.ballot.batch == b.ballot.batch)
            .collect();
        assert!(
            same.iter()
                .all(|o| o.ballot.batch_date == b.ballot.batch_date)
        );
    }

    // The order people came in (the holder may have watched the counter)
    // against the order of ballots in the chain and in the open data.
    let came = |i: usize| i as i64;
    let seq = |b: &StoredBallot| b.ballot.seq;
    chance.check(
        "arrival order vs chain order",
        pair_in_order(&people, &ballots, &came, &seq),
    );
    let receipt_order = |b: &StoredBallot| {
        i64::from_str_radix(&b.ballot.receipt.replace('-', "")[..6], 36).unwrap_or(0)
    };
    chance.check(
        "arrival order vs receipt order",
        pair_in_order(&people, &ballots, &came, &receipt_order),
    );
    let out = tempfile::tempdir().unwrap();
    let c = h.survey.campaign();
    write_reports(h.store(), c, out.path(), h.survey.now(), Scope::Final)
        .await
        .unwrap();
    let open = std::fs::read_to_string(out.path().join("phieu-nguoi-dan.csv")).unwrap();
    let position: HashMap<String, i64> = open
        .lines()
        .enumerate()
        .filter_map(|(row, line)| {
            let receipt = line.split(',').nth(1)?;
            Some((receipt.to_string(), row as i64))
        })
        .collect();
    let open_order = |b: &StoredBallot| position.get(&b.ballot.receipt).copied().unwrap_or(0);
    chance.check(
        "arrival order vs open-data row order",
        pair_in_order(&people, &ballots, &came, &open_order),
    );

    // The database's own records of when and in what order rows came.
    let pool = h.raw_pool().await;
    let spend_order: HashMap<String, i64> = match backend {
        Backend::Postgres => {
            // Same-transaction ids, and the physical order of rows.
            let xmin = |table: &str, key: &str| {
                format!(
                    "SELECT {key}, xmin::text::bigint, (ctid::text::point)[1]::bigint FROM {table}"
                )
            };
            let spends: Vec<(String, i64, i64)> = sqlx::query(&xmin("spends", "credential"))
                .fetch_all(&pool)
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect();
            let chain: Vec<(i64, i64, i64)> = sqlx::query(&xmin("ballots", "seq"))
                .fetch_all(&pool)
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect();
            let by_seq: HashMap<i64, &StoredBallot> =
                ballots.iter().map(|b| (b.ballot.seq, b)).collect();
            let mut same_xid = 0;
            for (credential, xid, _) in &spends {
                let person = people.iter().position(|p| p.credential == *credential);
                for (seq, bxid, _) in &chain {
                    if bxid == xid && owner(&people, by_seq[seq]) == person {
                        same_xid += 1;
                    }
                }
            }
            chance.check("spends.xmin = ballots.xmin", same_xid);
            let ballot_ctid: HashMap<i64, i64> = chain.iter().map(|(s, _, c)| (*s, *c)).collect();
            let ctid_order = |b: &StoredBallot| ballot_ctid[&b.ballot.seq];
            let spend_xid: HashMap<&str, i64> =
                spends.iter().map(|(c, x, _)| (c.as_str(), *x)).collect();
            let by_xid = |i: usize| spend_xid[people[i].credential.as_str()];
            chance.check(
                "spend transaction order vs ballots' physical order",
                pair_in_order(&people, &ballots, &by_xid, &ctid_order),
            );
            chance.check(
                "spend transaction order vs chain order",
                pair_in_order(&people, &ballots, &by_xid, &seq),
            );
            spends.iter().map(|(c, x, _)| (c.clone(), *x)).collect()
        }
        Backend::Sqlite => {
            // rowid order of the credentials as SQLite keeps them.
            let rows = sqlx::query("SELECT credential FROM spends")
                .fetch_all(&pool)
                .await
                .unwrap();
            rows.iter()
                .enumerate()
                .map(|(i, r)| (r.get::<String, _>(0), i as i64))
                .collect()
        }
    };
    let stored_order = |i: usize| spend_order[people[i].credential.as_str()];
    chance.check(
        "spends' stored order vs chain order",
        pair_in_order(&people, &ballots, &stored_order, &seq),
    );

    // What is left of the conversations: nothing once they ended, and no
    // answer readable anywhere but in the chain.
    let sessions: i64 = sqlx::query("SELECT COUNT(*) FROM sessions")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(sessions, 0, "ended conversations are deleted");
    let boxed: i64 = sqlx::query("SELECT COUNT(*) FROM ballot_box")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(boxed, 0, "the box is empty after close");
    if backend == Backend::Sqlite {
        // The raw bytes of the file and its log: where a wish appears, no
        // credential stands near it, and no wish is left in the log.
        let path = h.db.url.trim_start_matches("sqlite://").to_string();
        let file = std::fs::read(&path).unwrap();
        let wal = std::fs::read(format!("{path}-wal")).unwrap_or_default();
        for p in &people {
            assert!(
                find(&wal, p.wish.as_bytes()).is_empty(),
                "an answer is left in the SQLite log"
            );
        }
        let mut nearest = 0;
        let credentials: Vec<Vec<usize>> = people
            .iter()
            .map(|q| find(&file, q.credential.as_bytes()))
            .collect();
        for (i, p) in people.iter().enumerate() {
            let Some(&at) = find(&file, p.wish.as_bytes()).first() else {
                continue;
            };
            // The holder's guess: the credential stored closest to the answer.
            let guess = credentials
                .iter()
                .enumerate()
                .filter_map(|(j, places)| {
                    places.iter().map(|c| c.abs_diff(at)).min().map(|d| (d, j))
                })
                .min()
                .map(|(_, j)| j);
            if guess == Some(i) {
                nearest += 1;
            }
        }
        chance.check("nearest credential in the SQLite file", nearest);
    }
    pool.close().await;
    h.finish().await;
}

/// Every position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

/// The tests of this module.
pub fn trials() -> Vec<libtest_mimic::Trial> {
    crate::trials![both the_database_holder_cannot_link_ballots_to_people]
}
