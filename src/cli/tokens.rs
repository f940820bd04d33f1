//! `khaosat tokens issue`: one-time tokens as a CSV and printable QR sheets.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, TimeZone};
use clap::{Args, Subcommand};

use crate::campaign::Campaign;
use crate::key::Key;
use crate::qr_sheet::{self, Card};
use crate::settings::{DEFAULT_LISTEN, Settings};
use crate::startup;
use crate::store::{Store, TokenRecord};
use crate::token::Token;

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Issue tokens for a group and one unit, or a set of units (leaders).
    Issue(IssueArgs),
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// Respondent group (an id from campaign.toml).
    #[arg(long)]
    pub group: String,
    /// Unit id; repeat or separate with commas for a token covering several units.
    #[arg(long = "unit", value_delimiter = ',')]
    pub units: Vec<String>,
    /// The token covers every unit of `--kind` the group assesses (a leader's token).
    #[arg(long, conflicts_with = "units")]
    pub all_units: bool,
    /// Unit kind for --all-units (needed when the group assesses several kinds).
    #[arg(long, requires = "all_units")]
    pub kind: Option<String>,
    /// Number of tokens.
    #[arg(long, default_value_t = 1)]
    pub count: usize,
    /// Last day (campaign time zone) a token can be used, YYYY-MM-DD.
    #[arg(long)]
    pub expires: Option<NaiveDate>,
    /// Output folder for the CSV and the SVG sheets.
    #[arg(long, default_value = "data/tokens")]
    pub out: PathBuf,
}

/// Where a token's links point: the Telegram bot and the web chat.
#[derive(Debug, Clone)]
pub struct Links {
    /// Telegram bot username, for t.me deep links.
    pub telegram_bot: Option<String>,
    /// Public address of the web chat, for /s/<token> links.
    pub web_url: String,
}

impl Links {
    /// The links the settings give (the web chat on its default address
    /// when no public one is set).
    pub fn of(settings: &Settings) -> Self {
        Self {
            telegram_bot: settings.telegram.bot_name.clone(),
            web_url: settings
                .web_url
                .clone()
                .unwrap_or_else(|| format!("http://{DEFAULT_LISTEN}")),
        }
    }
}

/// Issued tokens and where they were written.
#[derive(Debug)]
pub struct Issued {
    pub tokens: Vec<Token>,
    pub csv: PathBuf,
    pub sheets: Vec<PathBuf>,
}

pub async fn run(settings: &Settings, cmd: &TokensCommand) -> Result<()> {
    let TokensCommand::Issue(args) = cmd;
    let campaign = startup::load_campaign(settings)?;
    let key = startup::key(settings)?;
    let store = startup::open_store(settings).await?;
    let issued = issue(&campaign, &store, &key, args, &Links::of(settings)).await?;
    say!(
        "Đã phát hành {} mã phiếu vào {}.",
        issued.tokens.len(),
        crate::store::redacted(&settings.database())
    );
    say!("  Danh sách: {}", issued.csv.display());
    for s in &issued.sheets {
        say!("  Trang in:  {}", s.display());
    }
    say!(
        "These files hold usable tokens (the database keeps only their hashes): print them, \
         hand the cards out, then delete the files."
    );
    Ok(())
}

/// Issues tokens: stores their hashes and writes the CSV and SVG sheets.
pub async fn issue(
    c: &Campaign,
    store: &Store,
    key: &Key,
    args: &IssueArgs,
    links: &Links,
) -> Result<Issued> {
    let Some(group_index) = c.group_index(&args.group) else {
        let known = c
            .groups()
            .iter()
            .map(|g| g.id.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        bail!(
            "unknown group `{}`; the campaign's groups are: {known}",
            args.group
        );
    };
    let group = &c.groups()[group_index];
    let units: Vec<String> = if args.all_units {
        let kinds: Vec<usize> = c
            .assessments()
            .iter()
            .filter(|a| a.group == group_index)
            .map(|a| a.kind)
            .collect();
        let kind = match &args.kind {
            Some(k) => match c.kinds().iter().position(|x| &x.id == k) {
                Some(i) if kinds.contains(&i) => i,
                _ => bail!("group `{}` does not assess unit kind `{k}`", group.id),
            },
            None if kinds.len() == 1 => kinds[0],
            None => bail!(
                "group `{}` assesses several unit kinds; choose one with --kind ({})",
                group.id,
                kinds
                    .iter()
                    .map(|&k| c.kinds()[k].id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        c.units()
            .iter()
            .filter(|u| u.kind == kind)
            .map(|u| u.id.clone())
            .collect()
    } else {
        args.units.clone()
    };
    if units.is_empty() {
        bail!("name the unit(s) with --unit UNIT, or use --all-units");
    }
    let mut kind = None;
    for id in &units {
        let Some(unit) = c.unit(id) else {
            bail!(
                "unknown unit `{id}`; see the unit ids in {}",
                crate::settings::DEFAULT_CAMPAIGN
            );
        };
        if c.assessment(unit.kind, group_index).is_none() {
            bail!("group `{}` does not assess unit `{id}`", group.id);
        }
        if kind.is_some_and(|k| k != unit.kind) {
            bail!(
                "a token covers units of one kind; issue separate tokens for departments and communes"
            );
        }
        kind = Some(unit.kind);
    }
    if args.count == 0 || args.count > 100_000 {
        bail!("--count must be from 1 to 100000");
    }
    let expires_at = args.expires.and_then(|d| {
        c.timezone()
            .from_local_datetime(&d.and_hms_opt(23, 59, 59)?)
            .single()
            .map(|t| t.timestamp())
    });
    let batch = format!(
        "{}-{}-{}",
        group.id,
        chrono::Utc::now().format("%Y%m%d-%H%M%S"),
        crate::hex::random::<2>()
    );
    let mut rng = rand::rng();
    let tokens: Vec<Token> = (0..args.count).map(|_| Token::generate(&mut rng)).collect();
    let records: Vec<TokenRecord> = tokens
        .iter()
        .map(|t| TokenRecord {
            hash: t.hash(key),
            campaign: c.id().to_string(),
            group: group.id.clone(),
            units: units.clone(),
            expires_at,
            batch: batch.clone(),
        })
        .collect();
    store.insert_tokens(&records).await?;

    let unit_label = if units.len() == 1 {
        c.unit(&units[0])
            .map(|u| u.name.clone())
            .unwrap_or_default()
    } else {
        format!(
            "{} đơn vị ({})",
            units.len(),
            kind.map(|k| c.kinds()[k].name.clone()).unwrap_or_default()
        )
    };
    let unit_names = units
        .iter()
        .filter_map(|u| c.unit(u))
        .map(|u| u.name.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let telegram = |t: &Token| {
        links.telegram_bot.as_ref().map(|b| {
            format!(
                "https://t.me/{}?start={}",
                b.trim_start_matches('@'),
                t.as_str()
            )
        })
    };
    // The token in the fragment: never sent to the server, nor logged by a proxy.
    let web = |t: &Token| format!("{}/#t={}", links.web_url.trim_end_matches('/'), t.as_str());

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut csv = String::from("\u{feff}token,group,units,unit_names,telegram_link,web_link\n");
    for t in &tokens {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{}",
            t.display(),
            group.id,
            units.join(" "),
            csv_field(&unit_names),
            telegram(t).unwrap_or_default(),
            web(t)
        );
    }
    let csv_path = args.out.join(format!("{batch}.csv"));
    write(&csv_path, &csv)?;
    let cards: Vec<Card> = tokens
        .iter()
        .map(|t| Card {
            token: t.display(),
            link: telegram(t).unwrap_or_else(|| web(t)),
            title: c.title().to_string(),
            unit: unit_label.clone(),
            group: group.name.clone(),
        })
        .collect();
    let mut sheets = Vec::new();
    for (i, page) in qr_sheet::pages(&cards).iter().enumerate() {
        let path = args.out.join(format!("{batch}-sheet-{:02}.svg", i + 1));
        write(&path, page)?;
        sheets.push(path);
    }
    Ok(Issued {
        tokens,
        csv: csv_path,
        sheets,
    })
}

/// Writes a file that holds usable tokens: readable by its owner only.
fn write(path: &Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    #[cfg(unix)]
    {
        // An older file keeps its mode through `open`: set it.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting {}", path.display()))?;
    }
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}
