//! One integration test binary (one link step): the modules below.

mod aggregate;
mod browser;
mod cli;
mod compile;
mod conversation;
mod engine;
mod fake_telegram;
mod fake_zalo;
mod helpers;
mod instances;
mod store;
mod telegram;
mod web;
mod zalo;
