//! khaosat — a chat-bot survey channel for the administrative-reform impact
//! survey of a Vietnamese district.
//!
//! The pure core (`dialogue`, `campaign`, `engine`, `token`) has no I/O; the
//! adapters (`store`, `survey`, `cli`) wire it to a database and to people.

pub mod aggregate;
pub mod ballot;
pub mod campaign;
pub mod cli;
pub mod diagnostic;
pub mod dialogue;
pub mod engine;
pub mod metrics;
pub mod progress;
pub mod qr_sheet;
pub mod report;
pub mod store;
pub mod survey;
pub mod telegram;
pub mod text;
pub mod token;
pub mod verify;
pub mod web;
pub mod zalo;
