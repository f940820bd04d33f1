//! The command line: `khaosat check | tokens | chat | progress | verify | report | serve`.

/// `println!` that returns an error instead of panicking when standard
/// output is closed (`khaosat progress | head`); `main` ends quietly on it.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)?
    }};
}

/// `print!` that returns an error instead of panicking; see `say!`.
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout(), $($arg)*)?
    }};
}

mod backup;
mod chat;
mod check;
mod config;
mod init;
mod period;
mod progress;
mod progress_bar;
mod report;
mod secret;
mod serve;
mod staff;
mod tokens;
mod trial;
mod verify;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::settings::Settings;

/// khaosat — administrative-reform survey bot (Telegram, Zalo, web, terminal).
#[derive(Debug, Parser)]
#[command(name = "khaosat", version, about)]
pub struct Cli {
    /// The configuration file (every option by its long name; the command
    /// line and the environment override it). Default: khaosat.toml here.
    #[arg(long, global = true, env = "KHAOSAT_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Command,
    /// Where each option came from (for `config check`).
    #[arg(skip)]
    pub sources: crate::config_file::Sources,
}

impl Cli {
    /// Parses the command line over the configuration file's values (the
    /// environment, read by clap, overrides the file).
    pub fn parse_with_config() -> Result<Self> {
        use clap::{CommandFactory, FromArgMatches};
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        let mut cmd = Self::command();
        let env_config = cmd
            .get_arguments()
            .find(|a| a.get_id() == "config")
            .and_then(|a| a.get_env())
            .and_then(std::env::var_os)
            .map(PathBuf::from);
        let mut from_file = Vec::new();
        let file = crate::config_file::locate(&args, env_config);
        if let Some(path) = &file {
            (cmd, from_file) = crate::config_file::apply(cmd, path)?;
        }
        let matches = match cmd.try_get_matches_from(args) {
            Ok(m) => m,
            Err(e) => match vietnamese(&e) {
                Some(message) => {
                    eprintln!("lỗi: {message}");
                    std::process::exit(2);
                }
                None => e.exit(),
            },
        };
        let mut cli = Self::from_arg_matches(&matches).map_err(|e| anyhow::anyhow!("{e}"))?;
        for arg in Self::command().get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            let source = match matches.value_source(arg.get_id().as_str()) {
                Some(clap::parser::ValueSource::CommandLine) => "dòng lệnh",
                Some(clap::parser::ValueSource::EnvVariable) => "biến môi trường",
                Some(_) if from_file.iter().any(|k| k == long) => "tệp cấu hình",
                Some(_) => "mặc định",
                None => "chưa đặt",
            };
            cli.sources.insert(long.to_string(), source);
        }
        cli.config = file;
        Ok(cli)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile the campaign and its dialogues and print the quota table; or,
    /// given dialogue files, compile just those.
    Check {
        /// Dialogue files to compile on their own.
        files: Vec<PathBuf>,
    },
    /// Write the shipped campaign out to a new folder, to edit.
    Init {
        /// The folder to create (it must be new or empty).
        dir: PathBuf,
    },
    /// Issue one-time tokens.
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
    /// Staff who run the campaign from a chat (one-time staff tokens).
    #[command(subcommand)]
    Staff(staff::StaffCommand),
    /// The service's secret key.
    #[command(subcommand)]
    Secret(secret::SecretCommand),
    /// The configuration: what is set, from where, and what is missing.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Print the ballots received against the quotas (or one unit's detail).
    Progress {
        /// A unit id for its detail.
        unit: Option<String>,
    },
    /// Recompute the ballots' hash chain; report the first ballot that does
    /// not match. With --open-data, check a published folder instead, with
    /// no database.
    Verify(verify::VerifyArgs),
    /// Compute the results and write every report (Excel, HTML, CSV, JSON,
    /// open data) into a folder. Refuses if the hash chain does not verify.
    Report {
        /// The folder to write into (created if missing).
        #[arg(long, default_value = "bao-cao")]
        out: PathBuf,
        /// Before close: interim figures (each cell in steps of min_cell
        /// ballots), without the open data.
        #[arg(long)]
        interim: bool,
    },
    /// Copy the SQLite database, consistently, while the service runs; the
    /// copy is verified.
    Backup {
        /// The file to write (it must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Close the survey now (recorded with the reason; every running
    /// instance stops taking ballots within seconds).
    Close {
        /// Why (recorded with the decision, shown in progress and reports).
        #[arg(long)]
        reason: String,
    },
    /// Reopen the survey, or move its end, until a new moment.
    Reopen {
        /// The new end, campaign time: 2021-02-28 (end of that day) or "2021-02-28 17:00".
        #[arg(long, value_parser = crate::period::parse_until)]
        until: chrono::NaiveDateTime,
        /// Why (recorded with the decision).
        #[arg(long)]
        reason: String,
    },
    /// Run the service: the Telegram bot, the Zalo webhook, the web chat,
    /// health and metrics, until SIGTERM or Ctrl-C.
    Serve,
    /// Answer a questionnaire in the terminal (reads answers from standard
    /// input, so it can be scripted).
    Chat(chat::ChatArgs),
}

/// A mistake on the command line, said in Vietnamese with where to look;
/// `None` for help and version output, and for kinds left to clap.
fn vietnamese(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ErrorKind};
    let get = |k: ContextKind| e.get(k).map(|v| v.to_string()).unwrap_or_default();
    let suggested = match e
        .get(ContextKind::SuggestedArg)
        .or(e.get(ContextKind::SuggestedSubcommand))
    {
        Some(s) => format!(" (có phải {s}?)"),
        None => String::new(),
    };
    let arg = get(ContextKind::InvalidArg);
    Some(match e.kind() {
        ErrorKind::UnknownArgument => {
            format!("không có tùy chọn {arg}{suggested}; `khaosat --help` liệt kê các tùy chọn")
        }
        ErrorKind::InvalidSubcommand => format!(
            "không có lệnh {}{suggested}; `khaosat --help` liệt kê các lệnh",
            get(ContextKind::InvalidSubcommand)
        ),
        ErrorKind::MissingRequiredArgument => format!("thiếu {arg}; xem `khaosat <lệnh> --help`"),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let why = std::error::Error::source(e)
                .map(|s| format!(": {s}"))
                .unwrap_or_default();
            format!(
                "giá trị `{}` không dùng được cho {arg}{why}",
                get(ContextKind::InvalidValue)
            )
        }
        ErrorKind::ArgumentConflict => {
            format!("không dùng {arg} cùng với {}", get(ContextKind::PriorArg))
        }
        ErrorKind::NoEquals
        | ErrorKind::TooManyValues
        | ErrorKind::TooFewValues
        | ErrorKind::WrongNumberOfValues => {
            format!("số giá trị của {arg} không đúng; xem `khaosat <lệnh> --help`")
        }
        _ => return None,
    })
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    let settings = &cli.settings;
    match &cli.command {
        Command::Check { files } if !files.is_empty() => check::run_files(files),
        Command::Check { .. } => check::run(&crate::startup::load_campaign(settings)?),
        Command::Init { dir } => init::run(dir),
        Command::Tokens(cmd) => tokens::run(settings, cmd).await,
        Command::Secret(cmd) => secret::run(cmd),
        Command::Staff(cmd) => staff::run(settings, cmd).await,
        Command::Config(cmd) => config::run(cmd, &cli),
        Command::Chat(args) => chat::run(settings, args).await,
        Command::Serve => serve::run(settings).await,
        Command::Verify(args) => verify::run(settings, args).await,
        Command::Backup { out } => backup::run(settings, out).await,
        Command::Progress { unit } => progress::run(settings, unit.as_deref()).await,
        Command::Report { out, interim } => report::run(settings, out, *interim).await,
        Command::Close { reason } => {
            period::run(settings, crate::period::Action::Close, None, reason).await
        }
        Command::Reopen { until, reason } => {
            period::run(
                settings,
                crate::period::Action::Reopen,
                Some(*until),
                reason,
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
