//! One integration test binary (one link step): the modules below, run by
//! our own harness (`harness.rs`) so a test whose server is missing is
//! reported as skipped rather than passed.

mod anonymity;
mod architecture;
mod browser;
mod cli;
mod compile;
mod conversation;
mod crash;
mod engine;
mod fake_telegram;
mod fake_zalo;
mod harness;
mod helpers;
mod instances;
mod renderers;
mod report;
mod service;
mod store;
mod telegram;
mod today;
mod token_cards;
mod web;
mod zalo;
mod zalo_crowd;

fn main() -> std::process::ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let trials = [
        anonymity::trials(),
        architecture::trials(),
        browser::trials(),
        cli::trials(),
        compile::trials(),
        conversation::trials(),
        crash::trials(),
        engine::trials(),
        instances::trials(),
        renderers::trials(),
        report::trials(),
        service::trials(),
        store::trials(),
        telegram::trials(),
        token_cards::trials(),
        web::trials(),
        zalo::trials(),
        zalo_crowd::trials(),
    ]
    .into_iter()
    .flatten()
    .collect();
    libtest_mimic::run(&args, trials).exit_code()
}
