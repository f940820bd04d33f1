//! One integration test binary (one link step): the modules below.

mod browser;
mod cli;
mod compile;
mod conversation;
mod engine;
mod helpers;
mod store;
mod web;
mod zalo;
