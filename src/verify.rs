//! Tamper evidence: recompute the ballot chain and find the first ballot
//! that does not match. Pure: stored ballots in, a verdict out.

use crate::ballot::{self, GENESIS};
use crate::store::StoredBallot;

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every ballot matches; `head` is the last hash (published with reports).
    Intact { ballots: usize, head: String },
    /// The first ballot that does not match, and why.
    Broken { seq: i64, problem: String },
}

/// Checks the whole chain, in sequence order.
pub fn verify(ballots: &[StoredBallot]) -> Verdict {
    let mut prev = GENESIS.to_string();
    for (i, b) in ballots.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        let broken = |problem: String| Verdict::Broken {
            seq: b.ballot.seq,
            problem,
        };
        if b.ballot.seq != expected_seq {
            return Verdict::Broken {
                seq: expected_seq,
                problem: format!(
                    "ballot {expected_seq} is missing (the next stored ballot is {})",
                    b.ballot.seq
                ),
            };
        }
        if b.prev_hash != prev {
            return broken("its link to the previous ballot does not match: a ballot before it was removed or replaced".into());
        }
        let hash = b.ballot.chain_hash(&prev);
        if hash != b.hash {
            return broken(
                "its content does not match its hash: it was altered after it was stored".into(),
            );
        }
        if ballot::receipt(&b.hash) != b.receipt {
            return broken("its receipt code does not match its hash".into());
        }
        prev = hash;
    }
    Verdict::Intact {
        ballots: ballots.len(),
        head: prev,
    }
}
