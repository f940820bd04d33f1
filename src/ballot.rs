//! Ballots and their hash chain.
//!
//! Every ballot in the chain carries `hash = SHA-256(prev_hash ‖ "\n" ‖
//! canonical)`, where `canonical` is a fixed JSON encoding of its content:
//! sequence number, unit, group, questionnaire version, the ballot-box
//! batch that appended it and that batch's date, its receipt, and a
//! commitment to its answers, `SHA-256(salt ‖ "\n" ‖ answers)` with a random
//! salt. Changing, removing or reordering any ballot breaks every hash after
//! it. The open data publishes the answers and salt of every ballot whose
//! cell is published, and only the commitment of the others: anyone can
//! recompute the whole chain, and nobody can test guesses at a withheld
//! ballot's answers.
//!
//! The receipt is random, drawn when the respondent sends the ballot, and
//! shown to them at once: it says nothing about when or where in the chain
//! the ballot stands.

mod scan;

use std::borrow::Cow;
use std::collections::BTreeMap;

use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::dialogue::{Answer, Dialogue};
use crate::hex;
use crate::token::ALPHABET;

/// `prev_hash` of the first ballot.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A ballot's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ballot {
    pub seq: i64,
    pub campaign: String,
    pub unit: String,
    pub group: String,
    pub dialogue_id: String,
    pub dialogue_version: String,
    /// The ballot-box batch that appended it (1, 2, …).
    pub batch: i64,
    /// That batch's local date: nothing dates a ballot more finely.
    pub batch_date: String,
    /// The code the respondent was shown, `ABCDE-FGHJK`.
    pub receipt: String,
    /// Random hex; hides the answers inside their commitment.
    pub salt: String,
    pub answers: BTreeMap<String, Answer>,
}

/// What the chain hash covers, in its canonical order.
#[derive(Serialize)]
struct Canonical<'a> {
    seq: i64,
    campaign: &'a str,
    unit: &'a str,
    group: &'a str,
    dialogue_id: &'a str,
    dialogue_version: &'a str,
    batch: i64,
    batch_date: &'a str,
    receipt: &'a str,
    answers: &'a str,
}

/// A ballot as it stands in the chain: its content, the hash of the ballot
/// before it, and its own hash.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredBallot {
    pub ballot: Ballot,
    /// The answers exactly as stored: the canonical JSON their commitment
    /// covers (what the open data publishes), so the chain is checked
    /// against the stored text itself.
    pub answers_json: String,
    pub prev_hash: String,
    pub hash: String,
}

impl StoredBallot {
    /// A ballot with its answers stored as [`Ballot::answers_json`] gives them.
    pub fn new(ballot: Ballot, prev_hash: String, hash: String) -> Self {
        Self {
            answers_json: ballot.answers_json(),
            ballot,
            prev_hash,
            hash,
        }
    }

    /// The commitment to the stored answers under the ballot's salt.
    pub fn answers_digest(&self) -> String {
        answers_digest(&self.ballot.salt, &self.answers_json)
    }

    /// The ballot as a row borrowed from it.
    pub fn row(&self) -> BallotRow<'_> {
        self.ballot
            .row(&self.answers_json, &self.prev_hash, &self.hash)
    }
}

/// A stored ballot borrowed from the text it was read in: how the report
/// and `khaosat verify` go through a million of them without copying each.
/// Its answers are parsed only by whoever needs them ([`BallotRow::answers`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BallotRow<'a> {
    pub seq: i64,
    pub campaign: &'a str,
    pub unit: &'a str,
    pub group: &'a str,
    pub dialogue_id: &'a str,
    pub dialogue_version: &'a str,
    pub batch: i64,
    pub batch_date: &'a str,
    pub receipt: &'a str,
    pub salt: &'a str,
    /// The answers as stored: the canonical JSON their commitment covers.
    pub answers_json: &'a str,
    pub prev_hash: &'a str,
    pub hash: &'a str,
}

impl<'a> BallotRow<'a> {
    /// The stored answers, parsed.
    pub fn answers(&self) -> serde_json::Result<Answers<'a>> {
        serde_json::from_str(self.answers_json)
    }

    /// The stored answers, parsed onto the questions of `d`, the
    /// questionnaire version the ballot was answered on.
    pub fn answer_sheet(&self, d: &Dialogue) -> serde_json::Result<AnswerSheet> {
        AnswerSheet::read(self.answers_json, d)
    }

    /// The commitment to the stored answers under the ballot's salt.
    pub fn answers_digest(&self) -> String {
        answers_digest(self.salt, self.answers_json)
    }

    /// The chained hash of this ballot after `prev_hash`, its answers known
    /// by their commitment `digest`.
    pub fn chain_hash(&self, digest: &str, prev_hash: &str) -> String {
        Canonical {
            seq: self.seq,
            campaign: self.campaign,
            unit: self.unit,
            group: self.group,
            dialogue_id: self.dialogue_id,
            dialogue_version: self.dialogue_version,
            batch: self.batch,
            batch_date: self.batch_date,
            receipt: self.receipt,
            answers: digest,
        }
        .hash(prev_hash)
    }

    /// An owned copy, with `answers` its parsed answers.
    pub fn to_stored(&self, answers: &Answers<'_>) -> StoredBallot {
        StoredBallot {
            ballot: Ballot {
                seq: self.seq,
                campaign: self.campaign.into(),
                unit: self.unit.into(),
                group: self.group.into(),
                dialogue_id: self.dialogue_id.into(),
                dialogue_version: self.dialogue_version.into(),
                batch: self.batch,
                batch_date: self.batch_date.into(),
                receipt: self.receipt.into(),
                salt: self.salt.into(),
                answers: answers
                    .iter()
                    .map(|(id, a)| (id.to_string(), a.clone()))
                    .collect(),
            },
            answers_json: self.answers_json.into(),
            prev_hash: self.prev_hash.into(),
            hash: self.hash.into(),
        }
    }
}

/// A ballot's answers by question id, sorted by id; the ids borrowed from
/// the text they were parsed from where they can be.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answers<'a>(Vec<(Cow<'a, str>, Answer)>);

impl<'a> Answers<'a> {
    /// A ballot's own answers, borrowed.
    pub fn of(answers: &'a BTreeMap<String, Answer>) -> Self {
        Self(
            answers
                .iter()
                .map(|(id, a)| (Cow::Borrowed(id.as_str()), a.clone()))
                .collect(),
        )
    }

    pub fn get(&self, question: &str) -> Option<&Answer> {
        let at = self.0.binary_search_by(|(id, _)| id.as_ref().cmp(question));
        at.ok().map(|i| &self.0[i].1)
    }

    pub fn contains(&self, question: &str) -> bool {
        self.get(question).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Answer)> {
        self.0.iter().map(|(id, a)| (id.as_ref(), a))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de> Deserialize<'de> for Answers<'de> {
    /// A JSON object, as a `BTreeMap` reads one: sorted by key, the last of
    /// two equal keys kept.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Answers<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("answers by question id")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Self::Value, M::Error> {
                let mut answers = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((Key(id), answer)) = map.next_entry::<Key, Answer>()? {
                    answers.push((id, answer));
                }
                // Stored answers are sorted already; a stable sort keeps
                // equal keys in order, so the last one can be kept.
                answers.sort_by(|(a, _), (b, _)| a.cmp(b));
                let mut kept: Vec<(Cow<'de, str>, Answer)> = Vec::with_capacity(answers.len());
                for (id, answer) in answers {
                    match kept.last_mut() {
                        Some(last) if last.0 == id => last.1 = answer,
                        _ => kept.push((id, answer)),
                    }
                }
                Ok(Answers(kept))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// A ballot's answers laid out on the questions of the questionnaire
/// version it was answered on: slot `i` answers `questions()[i]`. What the
/// report's pass reads each ballot into, so that tallying and publishing it
/// look answers up by position, never by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnswerSheet {
    answers: Vec<Option<Answer>>,
    /// Answers to ids the questionnaire does not have: none in a chain the
    /// service wrote; kept count of so that nothing is published unseen.
    strays: usize,
}

impl AnswerSheet {
    /// Reads stored answers (a JSON object by question id) onto the
    /// questions of `d`; of two answers to one id, the last counts, as in
    /// [`Answers`].
    pub fn read(json: &str, d: &Dialogue) -> serde_json::Result<Self> {
        use serde::de::DeserializeSeed;
        let mut sheet = Self::blank(d);
        if scan::simple_answers(json, |id, answer| sheet.put(d, id, answer)).is_some() {
            return Ok(sheet);
        }
        let mut de = serde_json::Deserializer::from_str(json);
        let sheet = SheetOf(d).deserialize(&mut de)?;
        de.end()?;
        Ok(sheet)
    }

    /// The same from a ballot's own answers.
    pub fn of(answers: &BTreeMap<String, Answer>, d: &Dialogue) -> Self {
        let mut sheet = Self::blank(d);
        for (id, answer) in answers {
            sheet.put(d, id, answer.clone());
        }
        sheet
    }

    fn blank(d: &Dialogue) -> Self {
        Self {
            answers: vec![None; d.questions().len()],
            strays: 0,
        }
    }

    fn put(&mut self, d: &Dialogue, id: &str, answer: Answer) {
        match d.question_index(id) {
            Some(i) => self.answers[i] = Some(answer),
            None => self.strays += 1,
        }
    }

    /// The answer to question `i` of the questionnaire, if any.
    pub fn get(&self, i: usize) -> Option<&Answer> {
        self.answers.get(i)?.as_ref()
    }

    /// The answers in question order, `None` where unanswered.
    pub fn answers(&self) -> &[Option<Answer>] {
        &self.answers
    }

    /// Whether it holds answers to ids the questionnaire does not have.
    pub fn has_strays(&self) -> bool {
        self.strays > 0
    }
}

/// Reads a JSON object of answers onto a questionnaire's questions.
struct SheetOf<'d>(&'d Dialogue);

impl<'de> serde::de::DeserializeSeed<'de> for SheetOf<'_> {
    type Value = AnswerSheet;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<AnswerSheet, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for SheetOf<'_> {
    type Value = AnswerSheet;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("answers by question id")
    }

    fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<AnswerSheet, M::Error> {
        let mut sheet = AnswerSheet::blank(self.0);
        while let Some((Key(id), answer)) = map.next_entry::<Key, Answer>()? {
            sheet.put(self.0, &id, answer);
        }
        Ok(sheet)
    }
}

/// A question id, borrowed from the text unless it holds an escape.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a question id")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(Visit)
    }
}

impl Ballot {
    /// The answers as the commitment covers them (canonical JSON).
    pub fn answers_json(&self) -> String {
        serde_json::to_string(&self.answers).unwrap_or_default()
    }

    /// The commitment to the answers: `SHA-256(salt ‖ "\n" ‖ answers)`.
    pub fn answers_digest(&self) -> String {
        answers_digest(&self.salt, &self.answers_json())
    }

    /// The chained hash of this ballot after `prev_hash`.
    pub fn chain_hash(&self, prev_hash: &str) -> String {
        let answers_json = self.answers_json();
        let row = self.row(&answers_json, prev_hash, "");
        row.chain_hash(&row.answers_digest(), prev_hash)
    }

    /// The ballot as a row, its answers stored as `answers_json`.
    fn row<'a>(
        &'a self,
        answers_json: &'a str,
        prev_hash: &'a str,
        hash: &'a str,
    ) -> BallotRow<'a> {
        BallotRow {
            seq: self.seq,
            campaign: &self.campaign,
            unit: &self.unit,
            group: &self.group,
            dialogue_id: &self.dialogue_id,
            dialogue_version: &self.dialogue_version,
            batch: self.batch,
            batch_date: &self.batch_date,
            receipt: &self.receipt,
            salt: &self.salt,
            answers_json,
            prev_hash,
            hash,
        }
    }
}

impl Canonical<'_> {
    /// `SHA-256(prev_hash ‖ "\n" ‖ canonical JSON)`, as hex.
    fn hash(&self, prev_hash: &str) -> String {
        let mut text = Vec::with_capacity(prev_hash.len() + 512);
        text.extend_from_slice(prev_hash.as_bytes());
        text.push(b'\n');
        // Written whole, then hashed in one go (serde_json's many small
        // writes cost more straight into the hash); into a `Vec` it cannot
        // fail.
        let _ = serde_json::to_writer(&mut text, self);
        hex::encode(&Sha256::digest(&text))
    }
}

/// The commitment to a ballot's answers (as canonical JSON) under its salt.
pub fn answers_digest(salt: &str, answers_json: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(b"\n");
    h.update(answers_json.as_bytes());
    hex::encode(&h.finalize())
}

/// A new random receipt code: 50 bits in Crockford base 32, `ABCDE-FGHJK`.
pub fn new_receipt(rng: &mut impl Rng) -> String {
    let symbols: String = (0..10)
        .map(|_| char::from(ALPHABET[rng.random_range(0..32usize)]))
        .collect();
    format!("{}-{}", &symbols[..5], &symbols[5..])
}

/// A new random salt for a ballot's answers (128 bits, hex).
pub fn new_salt() -> String {
    hex::random::<16>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ballot(seq: i64) -> Ballot {
        Ballot {
            seq,
            campaign: "c".into(),
            unit: "u".into(),
            group: "g".into(),
            dialogue_id: "d".into(),
            dialogue_version: "v".into(),
            batch: 1,
            batch_date: "2021-02-01".into(),
            receipt: "ABCDE-FGHJK".into(),
            salt: "00ff".into(),
            answers: [("q".to_string(), Answer::Choice(4))].into(),
        }
    }

    #[test]
    fn any_change_changes_the_hash() {
        let b = ballot(1);
        let h = b.chain_hash(GENESIS);
        let mut changed = b.clone();
        changed.answers.insert("q".into(), Answer::Choice(5));
        assert_ne!(changed.chain_hash(GENESIS), h);
        let mut receipt = b.clone();
        receipt.receipt = "ABCDE-FGHJM".into();
        assert_ne!(receipt.chain_hash(GENESIS), h, "the receipt is covered");
        let mut batch = b.clone();
        batch.batch = 2;
        assert_ne!(batch.chain_hash(GENESIS), h);
        assert_ne!(b.chain_hash(&h), h);
        assert_eq!(b.chain_hash(GENESIS), h);
    }

    #[test]
    fn the_hash_needs_only_the_commitment_of_the_answers() {
        let b = ballot(1);
        let mut hidden = b.clone();
        hidden.answers.clear();
        hidden.salt.clear();
        let hidden = hidden.row("", GENESIS, "");
        assert_eq!(
            hidden.chain_hash(&b.answers_digest(), GENESIS),
            b.chain_hash(GENESIS)
        );
        let mut other_salt = b.clone();
        other_salt.salt = "01ff".into();
        assert_ne!(other_salt.answers_digest(), b.answers_digest());
    }

    #[test]
    fn stored_answers_are_read_as_a_map_reads_them() {
        let b = ballot(1);
        let stored = StoredBallot::new(b.clone(), String::new(), String::new());
        let answers = stored.row().answers().unwrap();
        assert_eq!(answers, Answers::of(&b.answers));
        assert!(
            matches!(answers.0[0].0, Cow::Borrowed("q")),
            "ids are not copied"
        );
        // Out of order, a repeated id (the last one counts), an escaped id.
        let text =
            r#"{"z":{"choice":1},"a":{"choice":2},"z":{"choice":3},"\u0062":{"number":4.0}}"#;
        let answers: Answers = serde_json::from_str(text).unwrap();
        let map: BTreeMap<String, Answer> = serde_json::from_str(text).unwrap();
        assert_eq!(answers, Answers::of(&map));
        assert_eq!(answers.get("z"), Some(&Answer::Choice(3)));
        assert_eq!(answers.get("b"), Some(&Answer::Number(4.0)));
        assert_eq!(answers.len(), 3);
        assert!(!answers.contains("q"));
    }

    #[test]
    fn an_answer_sheet_reads_what_the_answers_map_reads() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("dialogues/thang-binh-2021/nguoi-dan.toml");
        let d = crate::dialogue::compile_file(&path).unwrap();
        let at = |id: &str| d.question_index(id).unwrap();
        // Out of order, a repeated id (the last one counts), an escaped id,
        // an id the questionnaire does not have.
        let text = r#"{"tuan-thu":{"choice":1},"thai-do":{"choice":2},"tuan-thu":{"choice":3},
            "\u006b\u0065t-qua":{"choice":4},"khong-co":{"text":"x"},"mong-muon":{"text":"ít"}}"#;
        let sheet = AnswerSheet::read(text, &d).unwrap();
        let map: BTreeMap<String, Answer> = serde_json::from_str(text).unwrap();
        assert_eq!(sheet, AnswerSheet::of(&map, &d));
        assert_eq!(sheet.get(at("tuan-thu")), Some(&Answer::Choice(3)));
        assert_eq!(sheet.get(at("thai-do")), Some(&Answer::Choice(2)));
        assert_eq!(sheet.get(at("ket-qua")), Some(&Answer::Choice(4)));
        assert_eq!(sheet.get(at("mong-muon")), Some(&Answer::Text("ít".into())));
        assert_eq!(sheet.get(at("huong-dan")), None);
        assert_eq!(sheet.answers().iter().flatten().count(), 4);
        assert!(sheet.has_strays(), "the answer to `khong-co` is not lost");
        let none = AnswerSheet::read(r#"{"thai-do":{"choice":2}}"#, &d).unwrap();
        assert!(!none.has_strays());
        assert!(AnswerSheet::read(r#"{"thai-do":{"choice":2}} x"#, &d).is_err());
        assert!(AnswerSheet::read(r#"{"khong-co":{"choise":2}}"#, &d).is_err());
    }

    #[test]
    fn the_chain_hash_is_the_same_from_a_ballot_or_its_row() {
        let b = ballot(1);
        let stored = StoredBallot::new(b.clone(), GENESIS.into(), b.chain_hash(GENESIS));
        let row = stored.row();
        assert_eq!(row.chain_hash(&row.answers_digest(), GENESIS), stored.hash);
        assert_eq!(row.to_stored(&row.answers().unwrap()), stored);
    }

    #[test]
    fn receipts_are_short_typable_codes() {
        let r = new_receipt(&mut rand::rng());
        assert_eq!(r.len(), 11);
        assert!(r.chars().all(|c| c == '-' || ALPHABET.contains(&(c as u8))));
        assert_ne!(new_receipt(&mut rand::rng()), r);
    }
}
