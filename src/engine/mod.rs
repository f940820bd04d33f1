//! The conversation engine: a pure step function
//! `(dialogue, session, input) → (session, replies, effect)`.
//!
//! No I/O happens here. A channel turns what the respondent did into an
//! [`Input`], calls [`step`], stores the new [`Session`] and renders the
//! [`Reply`]s. When the respondent confirms a ballot the outcome carries an
//! [`Effect::Submit`]; the caller stores the ballot and feeds back
//! [`Input::Stored`] or [`Input::Refused`].

mod action;
mod answer;
mod keywords;
mod reply;
mod session;
mod texts;
mod transitions;
mod view;

pub use action::Action;
pub use reply::{Button, Grid, GridRow, Reply, Review, ReviewItem};
pub use session::{At, Session, UnitRef};
pub use transitions::{start, step};
pub use view::view;

use std::collections::BTreeMap;

use crate::dialogue::Answer;

/// Something the respondent (or the store, after a submission) did.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The respondent came back: show where they are.
    Resume,
    /// A typed message.
    Text(String),
    /// A button press, carrying the session step the button was drawn at.
    Press { step: u32, action: Action },
    /// A command the channel recognised, valid wherever the respondent is
    /// (it carries no step, unlike a button).
    Command(Action),
    /// Button data that could not be decoded (forged or corrupted).
    BadPress,
    /// The ballot asked for by [`Effect::Submit`] is stored.
    Stored { receipt: String },
    /// The ballot was refused; `message` says why. With `end`, nothing more
    /// can be answered (the survey closed); otherwise the unit is skipped.
    Refused { message: String, end: bool },
}

/// What the caller must do after a step.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Store this ballot (and spend the credential for its unit) atomically.
    Submit(BallotDraft),
}

/// A finished ballot for one unit, as the engine hands it to the store.
#[derive(Debug, Clone, PartialEq)]
pub struct BallotDraft {
    pub unit: String,
    pub dialogue_id: String,
    pub dialogue_version: String,
    /// Answers to the questions that were asked, by question id.
    pub answers: BTreeMap<String, Answer>,
}

/// The result of one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub session: Session,
    pub replies: Vec<Reply>,
    pub effect: Option<Effect>,
}
