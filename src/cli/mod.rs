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

mod chat;
mod check;
mod progress;
mod report;
mod serve;
mod tokens;
mod trial;
mod verify;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::campaign::{self, Campaign};
use crate::store::{DEFAULT_DATABASE, Store};
use crate::survey::{Options, Survey};

/// The shipped campaign.
pub const DEFAULT_CAMPAIGN: &str = "dialogues/thang-binh-2021";
/// Where trial mode keeps its data, apart from the real ballots.
pub const TRIAL_DATABASE: &str = "data/trial.db";

/// khaosat — administrative-reform survey bot (Telegram, Zalo, web, terminal).
#[derive(Debug, Parser)]
#[command(name = "khaosat", version, about)]
pub struct Cli {
    /// Campaign folder (campaign.toml and its dialogue files).
    #[arg(long, global = true, env = "KHAOSAT_CAMPAIGN", default_value = DEFAULT_CAMPAIGN)]
    pub campaign: PathBuf,
    /// Database: a SQLite file path, sqlite://… or postgres://… URL.
    /// Default: data/khaosat.db (data/trial.db with --trial).
    #[arg(long, global = true, env = "KHAOSAT_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Trial mode: ignore the survey period and keep data in data/trial.db,
    /// apart from real ballots. For trying the shipped 2021 campaign today.
    #[arg(long, global = true)]
    pub trial: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile the campaign and its dialogues and print the quota table; or,
    /// given dialogue files, compile just those.
    Check {
        /// Dialogue files to compile on their own.
        files: Vec<PathBuf>,
    },
    /// Issue one-time tokens.
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
    /// Print the ballots received against the quotas (or one unit's detail).
    Progress {
        /// A unit id for its detail.
        unit: Option<String>,
    },
    /// Recompute the ballots' hash chain; report the first ballot that does not match.
    Verify,
    /// Compute the results and write every report (Excel, HTML, CSV, JSON,
    /// open data) into a folder. Refuses if the hash chain does not verify.
    Report {
        /// The folder to write into (created if missing).
        #[arg(long, default_value = "bao-cao")]
        out: PathBuf,
    },
    /// Run the service: the web chat, health and metrics over HTTP.
    Serve(serve::ServeArgs),
    /// Answer a questionnaire in the terminal (reads answers from standard
    /// input, so it can be scripted).
    Chat(chat::ChatArgs),
}

impl Cli {
    fn database(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            if self.trial {
                TRIAL_DATABASE
            } else {
                DEFAULT_DATABASE
            }
            .to_string()
        })
    }

    fn load_campaign(&self) -> Result<Campaign> {
        campaign::load(&self.campaign).map_err(|d| {
            anyhow::anyhow!("{d}").context(format!(
                "the campaign in {} has {} error(s)",
                self.campaign.display(),
                d.0.len()
            ))
        })
    }

    async fn open_survey(&self) -> Result<Survey> {
        let campaign = self.load_campaign()?;
        let url = self.database();
        let store = Store::open(&url)
            .await
            .with_context(|| format!("opening the database {url}"))?;
        Survey::new(
            campaign,
            store,
            Options {
                trial: self.trial,
                ..Options::default()
            },
        )
        .await
    }
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    match &cli.command {
        Command::Check { files } if !files.is_empty() => check::run_files(files),
        Command::Check { .. } => check::run(&cli.load_campaign()?),
        Command::Tokens(cmd) => tokens::run(&cli, cmd).await,
        Command::Chat(args) => chat::run(&cli, args).await,
        Command::Serve(args) => serve::run(&cli, args).await,
        Command::Verify => verify::run(&cli).await,
        Command::Progress { unit } => progress::run(&cli, unit.as_deref()).await,
        Command::Report { out } => report::run(&cli, out).await,
    }
}
