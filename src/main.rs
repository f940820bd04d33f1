//! The `khaosat` binary: parse the command line, run, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;
use khaosat::cli::{Cli, run};

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KHAOSAT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // KHAOSAT_LOG_FORMAT=json: one JSON object per line, for log collectors.
    if std::env::var("KHAOSAT_LOG_FORMAT").is_ok_and(|f| f == "json") {
        logs.json().init();
    } else {
        logs.init();
    }
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        // Standard output closed early (`khaosat progress | head`): done.
        Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
