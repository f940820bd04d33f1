//! The `khaosat` binary: parse the command line (and the environment, once),
//! set up logging, run, map errors to exit codes.

use std::process::ExitCode;

use khaosat::cli::{Cli, run};
use khaosat::settings::{LogFormat, Settings};

/// mimalloc rather than glibc's malloc: a step's buffers are made on one
/// worker thread and freed on another, and glibc's arenas then contend on a
/// lock (8 % of the service's time flat out). Built without transparent
/// huge pages (`no_thp`), which would otherwise make 2 MB pages resident
/// (31 MB idle instead of 21 MB). Numbers in the README's Telegram section.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::parse_with_config() {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    init_logs(&cli.settings);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        // Standard output closed early (`khaosat progress | head`): done.
        Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to standard error, filtered by `KHAOSAT_LOG`; JSON lines for log
/// collectors with `KHAOSAT_LOG_FORMAT=json`.
fn init_logs(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match settings.log_format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs.init(),
    }
}

fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
