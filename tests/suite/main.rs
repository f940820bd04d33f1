//! One integration test binary (one link step): the modules below.

mod browser;
mod cli;
mod compile;
mod conversation;
mod engine;
mod fake_telegram;
mod fake_zalo;
mod helpers;
mod instances;
mod report;
mod store;
mod telegram;
mod web;
mod zalo;
