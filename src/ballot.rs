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

use std::collections::BTreeMap;

use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::dialogue::Answer;
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
    pub prev_hash: String,
    pub hash: String,
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
        chain_hash(self, &self.answers_digest(), prev_hash)
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

/// The chained hash of a ballot whose answers are known only by their
/// commitment `digest` (as in the open data of a withheld cell); the
/// ballot's own answers and salt are not read.
pub fn chain_hash(b: &Ballot, digest: &str, prev_hash: &str) -> String {
    let canonical = Canonical {
        seq: b.seq,
        campaign: &b.campaign,
        unit: &b.unit,
        group: &b.group,
        dialogue_id: &b.dialogue_id,
        dialogue_version: &b.dialogue_version,
        batch: b.batch,
        batch_date: &b.batch_date,
        receipt: &b.receipt,
        answers: digest,
    };
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(
        serde_json::to_string(&canonical)
            .unwrap_or_default()
            .as_bytes(),
    );
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
        assert_eq!(
            chain_hash(&hidden, &b.answers_digest(), GENESIS),
            b.chain_hash(GENESIS)
        );
        let mut other_salt = b.clone();
        other_salt.salt = "01ff".into();
        assert_ne!(other_salt.answers_digest(), b.answers_digest());
    }

    #[test]
    fn receipts_are_short_typable_codes() {
        let r = new_receipt(&mut rand::rng());
        assert_eq!(r.len(), 11);
        assert!(r.chars().all(|c| c == '-' || ALPHABET.contains(&(c as u8))));
        assert_ne!(new_receipt(&mut rand::rng()), r);
    }
}
