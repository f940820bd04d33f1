//! khaosat — a chat-bot survey channel for the administrative-reform impact
//! survey of a Vietnamese district.
//!
//! The pure core (`campaign`, `dialogue`, `engine`, `ballot`, `token`,
//! `aggregate`, `report` figures, `verify`) has no I/O. The service
//! (`survey`) runs the engine against the store (`store`). The channels
//! (`telegram`, `zalo`, `web`, the terminal in `cli`) and the operations
//! endpoints (`ops`) are thin adapters, each with its own state and router;
//! `http` composes routers without knowing whose they are. `startup` is the
//! composition root, assembling everything from `settings`.

pub mod aggregate;
pub mod ballot;
pub mod campaign;
pub mod cli;
pub mod config_file;
pub mod diagnostic;
pub mod dialogue;
pub mod engine;
pub mod front;
pub mod hex;
pub mod http;
pub mod key;
pub mod metrics;
pub mod ops;
pub mod outbox;
pub mod period;
pub mod progress;
pub mod qr_sheet;
pub mod report;
pub mod secret;
pub mod settings;
pub mod startup;
pub mod store;
pub mod survey;
pub mod telegram;
pub mod text;
pub mod token;
pub mod verify;
pub mod web;
pub mod zalo;
