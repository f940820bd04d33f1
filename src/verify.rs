//! Tamper evidence: recompute the ballot chain and find the first ballot
//! that does not match. Pure: stored ballots in, a verdict out.

use crate::ballot::{BallotRow, GENESIS, StoredBallot};

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
        if let Err(broken) = chain.push(&b.row()) {
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
    pub fn push(&mut self, b: &BallotRow) -> Result<(), Verdict> {
        self.push_digest(b, &b.answers_digest())
    }

    /// Checks the next ballot with its answers known only by their
    /// commitment `digest` (the open data of a withheld cell).
    pub fn push_digest(&mut self, b: &BallotRow, digest: &str) -> Result<(), Verdict> {
        let expected_seq = self.ballots as i64 + 1;
        let broken = |problem: &str| {
            Err(Verdict::Broken {
                seq: b.seq,
                problem: problem.to_string(),
            })
        };
        if b.seq != expected_seq {
            return Err(Verdict::Broken {
                seq: expected_seq,
                problem: format!(
                    "phiếu số {expected_seq} bị mất (phiếu lưu kế tiếp là số {})",
                    b.seq
                ),
            });
        }
        if b.prev_hash != self.head {
            return broken(
                "liên kết với phiếu trước không khớp: một phiếu trước nó đã bị xóa hoặc thay thế",
            );
        }
        let hash = b.chain_hash(digest, &self.head);
        if hash != b.hash {
            return broken("nội dung không khớp mã băm: phiếu đã bị sửa sau khi lưu");
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

/// One ballot as the open data publishes it: its place in the chain and
/// everything the chain hash covers, the answers possibly only by their
/// commitment.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedBallot {
    pub ballot: StoredBallot,
    /// The answers as published (canonical JSON) with their salt, when the
    /// ballot's cell is published in full.
    pub answers: Option<(String, String)>,
    pub digest: String,
}

/// Checks published ballots (any order; they are sorted by sequence
/// number): each published answer set against its commitment, and the
/// whole chain. Needs no database.
pub fn verify_published(mut ballots: Vec<PublishedBallot>) -> Verdict {
    ballots.sort_by_key(|p| p.ballot.ballot.seq);
    let mut chain = Chain::default();
    for p in &ballots {
        if let Some((answers, salt)) = &p.answers
            && crate::ballot::answers_digest(salt, answers) != p.digest
        {
            return Verdict::Broken {
                seq: p.ballot.ballot.seq,
                problem: "câu trả lời được công bố không khớp cam kết của phiếu".into(),
            };
        }
        if let Err(broken) = chain.push_digest(&p.ballot.row(), &p.digest) {
            return broken;
        }
    }
    chain.verdict()
}
