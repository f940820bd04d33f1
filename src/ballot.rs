//! Ballots and their hash chain.
//!
//! Every stored ballot carries `hash = SHA-256(prev_hash ‖ "\n" ‖ canonical)`,
//! where `canonical` is a fixed JSON encoding of its content (sequence number
//! included). Changing, removing or reordering any ballot breaks every hash
//! after it. The receipt shown to the respondent is derived from the hash.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::dialogue::Answer;
use crate::hex;
use crate::token::ALPHABET;

/// `prev_hash` of the first ballot.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A ballot's content. Field order is the canonical order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ballot {
    pub seq: i64,
    pub campaign: String,
    pub unit: String,
    pub group: String,
    pub dialogue_id: String,
    pub dialogue_version: String,
    /// Local date only: a time of day would help link a ballot to a person.
    pub submitted_on: String,
    pub answers: BTreeMap<String, Answer>,
}

/// A ballot as it stands in the chain: its content, the hash of the ballot
/// before it, its own hash, and the receipt the respondent was shown.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredBallot {
    pub ballot: Ballot,
    pub prev_hash: String,
    pub hash: String,
    pub receipt: String,
}

impl Ballot {
    /// The canonical encoding that is hashed.
    pub fn canonical(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The chained hash of this ballot after `prev_hash`.
    pub fn chain_hash(&self, prev_hash: &str) -> String {
        let mut h = Sha256::new();
        h.update(prev_hash.as_bytes());
        h.update(b"\n");
        h.update(self.canonical().as_bytes());
        hex::encode(&h.finalize())
    }
}

/// The receipt code for a ballot hash: its first 50 bits in Crockford
/// base 32, as `ABCDE-FGHJK`.
pub fn receipt(hash: &str) -> String {
    let bits: Vec<u8> = (0..13)
        .filter_map(|i| u8::from_str_radix(hash.get(i..i + 1)?, 16).ok())
        .collect();
    // 13 hex digits = 52 bits; take 10 groups of 5.
    let mut value: u64 = 0;
    for b in bits {
        value = (value << 4) | u64::from(b);
    }
    value >>= 2;
    let symbols: String = (0..10)
        .rev()
        .map(|i| char::from(ALPHABET[((value >> (5 * i)) & 31) as usize]))
        .collect();
    format!("{}-{}", &symbols[..5], &symbols[5..])
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
            submitted_on: "2021-02-01".into(),
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
        assert_ne!(b.chain_hash(&h), h);
        assert_eq!(b.chain_hash(GENESIS), h);
    }

    #[test]
    fn receipts_are_short_typable_codes() {
        let r = receipt(&ballot(1).chain_hash(GENESIS));
        assert_eq!(r.len(), 11);
        assert!(r.chars().all(|c| c == '-' || ALPHABET.contains(&(c as u8))));
    }
}
