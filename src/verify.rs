//! Tamper evidence: recompute the ballot chain and find the first ballot
//! that does not match. Pure: stored ballots in, a verdict out.

use crate::ballot::{self, GENESIS, StoredBallot};

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
    let mut chain = Chain::default();
    for b in ballots {
        if let Err(broken) = chain.push(b) {
            return broken;
        }
    }
    chain.verdict()
}

/// The chain checked so far, one ballot at a time (for streaming reads).
#[derive(Debug, Clone)]
pub struct Chain {
    ballots: usize,
    head: String,
}

impl Default for Chain {
    fn default() -> Self {
        Self {
            ballots: 0,
            head: GENESIS.to_string(),
        }
    }
}

impl Chain {
    /// Checks the next ballot; `Err` holds the [`Verdict::Broken`] for it.
    pub fn push(&mut self, b: &StoredBallot) -> Result<(), Verdict> {
        let expected_seq = self.ballots as i64 + 1;
        let broken = |problem: String| Verdict::Broken {
            seq: b.ballot.seq,
            problem,
        };
        if b.ballot.seq != expected_seq {
            return Err(Verdict::Broken {
                seq: expected_seq,
                problem: format!(
                    "ballot {expected_seq} is missing (the next stored ballot is {})",
                    b.ballot.seq
                ),
            });
        }
        if b.prev_hash != self.head {
            return Err(broken("its link to the previous ballot does not match: a ballot before it was removed or replaced".into()));
        }
        let hash = b.ballot.chain_hash(&self.head);
        if hash != b.hash {
            return Err(broken(
                "its content does not match its hash: it was altered after it was stored".into(),
            ));
        }
        if ballot::receipt(&b.hash) != b.receipt {
            return Err(broken("its receipt code does not match its hash".into()));
        }
        self.head = hash;
        self.ballots += 1;
        Ok(())
    }

    pub fn head(&self) -> &str {
        &self.head
    }

    pub fn ballots(&self) -> usize {
        self.ballots
    }

    /// The verdict on the ballots pushed so far, all of which matched.
    pub fn verdict(&self) -> Verdict {
        Verdict::Intact {
            ballots: self.ballots,
            head: self.head.clone(),
        }
    }
}
