//! The respondent's place in a dialogue: plain, serialisable data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::dialogue::Answer;

/// A respondent's session. Stored as JSON after every step; holds no identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub dialogue_id: String,
    /// A session stays on the dialogue version it started with.
    pub dialogue_version: String,
    /// Units to assess in this session, in order.
    pub units: Vec<UnitRef>,
    /// Index in `units` of the unit being assessed.
    pub unit: usize,
    /// Ballots stored during this session.
    pub sent: u16,
    /// Answers for the current unit, by question id.
    pub answers: BTreeMap<String, Answer>,
    pub at: At,
    /// Incremented whenever a new prompt is shown; buttons carry it so a
    /// press on an old message is recognised.
    pub step: u32,
}

/// An assessed unit as the session knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitRef {
    pub id: String,
    pub name: String,
}

/// Where the respondent is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum At {
    /// Asking question `question` (index in the dialogue). `picked` holds the
    /// options toggled so far on a multiple-choice question.
    Asking {
        question: usize,
        from_review: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        picked: Vec<u16>,
    },
    Review,
    /// Asked "really cancel?"; `back` is where a "no" returns to.
    ConfirmCancel {
        back: Box<At>,
    },
    /// The ballot was handed to the store; waiting for its answer.
    Submitting,
    Finished,
}

impl Session {
    /// The unit being assessed, if any remain.
    pub fn current_unit(&self) -> Option<&UnitRef> {
        self.units.get(self.unit)
    }

    /// Units not yet done, the current one included.
    pub fn remaining_units(&self) -> &[UnitRef] {
        self.units.get(self.unit..).unwrap_or(&[])
    }
}
