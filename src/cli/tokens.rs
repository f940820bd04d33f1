//! `khaosat tokens issue`: one-time tokens as a CSV and a printable PDF of
//! cards — for one group and unit (or a leader's set of units), or, with
//! `--all`, the whole campaign in one run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, TimeZone};
use clap::{Args, Subcommand};

use crate::campaign::{Campaign, Category};
use crate::key::Key;
use crate::qr_sheet::{self, Card};
use crate::settings::{DEFAULT_LISTEN, Settings};
use crate::startup;
use crate::store::{Store, TokenRecord};
use crate::token::Token;

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Issue tokens for a group and one unit, a leader's set of units, or
    /// (--all) the whole campaign.
    Issue(IssueArgs),
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// Every assessed unit and group at once: each unit's citizens their
    /// quota plus --spare, leaders their quota per unit kind (one token
    /// covers every unit of the kind), one folder each under --out.
    #[arg(long, conflicts_with_all = ["group", "units", "all_units", "count"])]
    pub all: bool,
    /// Extra tokens with --all, in percent of each quota (rounded up), for
    /// cards lost or spoilt.
    #[arg(long, default_value_t = 10, requires = "all")]
    pub spare: u32,
    /// Respondent group (an id from campaign.toml).
    #[arg(long, required_unless_present = "all")]
    pub group: Option<String>,
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
    /// Output folder for the CSV and the PDF (with --all: a new folder).
    #[arg(long, default_value = "data/tokens")]
    pub out: PathBuf,
}

/// Where a token's links point and the channels its card names.
#[derive(Debug, Clone)]
pub struct Links {
    /// Telegram bot username, for t.me deep links.
    pub telegram_bot: Option<String>,
    /// The Zalo Official Account's name, printed on cards.
    pub zalo_oa: Option<String>,
    /// Public address of the web chat, for /#t=<token> links.
    pub web_url: String,
}

impl Links {
    /// The links the settings give (the web chat on its default address
    /// when no public one is set).
    pub fn of(settings: &Settings) -> Self {
        Self {
            telegram_bot: settings.telegram.bot_name.clone(),
            zalo_oa: settings.zalo.oa_name.clone(),
            web_url: settings
                .web_url
                .clone()
                .unwrap_or_else(|| format!("http://{DEFAULT_LISTEN}")),
        }
    }

    /// The links for printed cards: outside trial mode the web address must
    /// be one a phone can open.
    pub fn for_cards(settings: &Settings) -> Result<Self> {
        let links = Self::of(settings);
        if !settings.trial && !is_public(settings.web_url.as_deref()) {
            bail!(
                "chưa có địa chỉ công khai của trang khảo sát ({}): mã QR trên phiếu in sẽ không mở \
                 được trên điện thoại của người trả lời. Đặt địa chỉ đó bằng --web-url https://… \
                 (hoặc KHAOSAT_WEB_URL, hoặc web-url trong khaosat.toml), hoặc dùng --trial để in thử.",
                settings.web_url.as_deref().unwrap_or("chưa đặt")
            );
        }
        Ok(links)
    }

    /// A Telegram deep link that starts the bot with the token.
    fn telegram(&self, t: &Token) -> Option<String> {
        self.telegram_bot.as_ref().map(|b| {
            format!(
                "https://t.me/{}?start={}",
                b.trim_start_matches('@'),
                t.as_str()
            )
        })
    }

    /// The web chat with the token in the fragment: never sent to the
    /// server, nor logged by a proxy.
    pub fn web(&self, t: &Token) -> String {
        format!("{}/#t={}", self.web_url.trim_end_matches('/'), t.as_str())
    }

    /// The lines a card names its channels by.
    fn channels(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(oa) = &self.zalo_oa {
            lines.push(format!("Zalo: OA “{oa}”"));
        }
        if let Some(bot) = &self.telegram_bot {
            lines.push(format!("Telegram: @{}", bot.trim_start_matches('@')));
        }
        let web = self.web_url.trim_end_matches('/');
        lines.push(format!(
            "Web: {}",
            web.strip_prefix("https://").unwrap_or(web)
        ));
        lines
    }
}

/// Whether `url` is an address people's phones can reach: set, and not
/// loopback, a private network or `localhost`.
fn is_public(url: Option<&str>) -> bool {
    let Some(url) = url else { return false };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    let host = rest.split(['/', '#', '?']).next().unwrap_or("");
    let host = host
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']');
    if host.is_empty() || host.eq_ignore_ascii_case("localhost") {
        return false;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => {
            !(ip.is_loopback() || ip.is_private() || ip.is_unspecified() || ip.is_link_local())
        }
        Ok(std::net::IpAddr::V6(ip)) => !(ip.is_loopback() || ip.is_unspecified()),
        Err(_) => true,
    }
}

/// Tokens minted for one group and set of units, their hashes not yet stored.
pub struct Batch {
    pub id: String,
    pub group: usize,
    pub units: Vec<String>,
    pub tokens: Vec<Token>,
    records: Vec<TokenRecord>,
}

impl Batch {
    fn new(
        c: &Campaign,
        key: &Key,
        group: usize,
        units: Vec<String>,
        count: usize,
        expires_at: Option<i64>,
    ) -> Self {
        let group_id = c.groups()[group].id.clone();
        let id = format!(
            "{group_id}-{}-{}",
            chrono::Utc::now().format("%Y%m%d-%H%M%S"),
            crate::hex::random::<2>()
        );
        let mut rng = rand::rng();
        let tokens: Vec<Token> = (0..count).map(|_| Token::generate(&mut rng)).collect();
        let records = tokens
            .iter()
            .map(|t| TokenRecord {
                hash: t.hash(key),
                campaign: c.id().to_string(),
                group: group_id.clone(),
                units: units.clone(),
                expires_at,
                batch: id.clone(),
            })
            .collect();
        Self {
            id,
            group,
            units,
            tokens,
            records,
        }
    }
}

/// Issued tokens and where they were written.
#[derive(Debug)]
pub struct Issued {
    pub tokens: Vec<Token>,
    pub csv: PathBuf,
    pub pdf: PathBuf,
}

pub async fn run(settings: &Settings, cmd: &TokensCommand) -> Result<()> {
    let TokensCommand::Issue(args) = cmd;
    let campaign = startup::load_campaign(settings)?;
    let key = startup::key(settings)?;
    let links = Links::for_cards(settings)?;
    let store = startup::open_store(settings).await?;
    let database = crate::store::redacted(&settings.database());
    if args.all {
        let folders = issue_all(&campaign, &store, &key, args, &links).await?;
        let total: usize = folders.iter().map(|f| f.tokens).sum();
        say!(
            "Đã phát hành {total} mã phiếu vào {database}, {} thư mục trong {}:",
            folders.len(),
            args.out.display()
        );
        for f in &folders {
            say!("  {:<28} {:>4} mã  {}", f.folder, f.tokens, f.label);
        }
        say!("  Bảng kê: {}", args.out.join(INDEX).display());
    } else {
        let issued = issue(&campaign, &store, &key, args, &links).await?;
        say!(
            "Đã phát hành {} mã phiếu vào {database}.",
            issued.tokens.len()
        );
        say!("  Danh sách: {}", issued.csv.display());
        say!("  Phiếu in:  {}", issued.pdf.display());
    }
    say!(
        "Các tệp này chứa mã dùng được (cơ sở dữ liệu chỉ giữ mã băm): in ra, phát phiếu, \
         rồi xóa các tệp."
    );
    Ok(())
}

/// The resolved group and units `args` name.
pub fn target(c: &Campaign, args: &IssueArgs) -> Result<(usize, Vec<String>)> {
    let group_id = args.group.as_deref().unwrap_or_default();
    let Some(group_index) = c.group_index(group_id) else {
        let known = c
            .groups()
            .iter()
            .map(|g| g.id.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        bail!("không có nhóm `{group_id}`; các nhóm của đợt khảo sát: {known}");
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
                _ => bail!("nhóm `{}` không đánh giá loại đơn vị `{k}`", group.id),
            },
            None if kinds.len() == 1 => kinds[0],
            None => bail!(
                "nhóm `{}` đánh giá nhiều loại đơn vị; chọn một bằng --kind ({})",
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
        bail!("chọn đơn vị bằng --unit ĐƠN_VỊ, hoặc dùng --all-units, hoặc --all cho cả đợt");
    }
    let mut kind = None;
    for id in &units {
        let Some(unit) = c.unit(id) else {
            bail!(
                "không có đơn vị `{id}`; xem mã các đơn vị trong campaign.toml (`khaosat check` in bảng chỉ tiêu)"
            );
        };
        if c.assessment(unit.kind, group_index).is_none() {
            bail!("nhóm `{}` không đánh giá đơn vị `{id}`", group.id);
        }
        if kind.is_some_and(|k| k != unit.kind) {
            bail!(
                "một mã chỉ dùng cho đơn vị cùng loại; phát hành mã riêng cho phòng, ban và cho xã, thị trấn"
            );
        }
        kind = Some(unit.kind);
    }
    Ok((group_index, units))
}

/// The end of `day` in the campaign's time zone.
fn expiry(c: &Campaign, day: Option<NaiveDate>) -> Option<i64> {
    day.and_then(|d| {
        c.timezone()
            .from_local_datetime(&d.and_hms_opt(23, 59, 59)?)
            .single()
            .map(|t| t.timestamp())
    })
}

/// Mints tokens for the group and units `args` name and stores their
/// hashes (no files: for trial tokens shown on screen).
pub async fn mint(c: &Campaign, store: &Store, key: &Key, args: &IssueArgs) -> Result<Batch> {
    let (group, units) = target(c, args)?;
    if args.count == 0 || args.count > 100_000 {
        bail!("--count phải từ 1 đến 100000");
    }
    let batch = Batch::new(c, key, group, units, args.count, expiry(c, args.expires));
    store.insert_tokens(&batch.records).await?;
    Ok(batch)
}

/// Issues tokens: stores their hashes and writes the CSV and the PDF.
pub async fn issue(
    c: &Campaign,
    store: &Store,
    key: &Key,
    args: &IssueArgs,
    links: &Links,
) -> Result<Issued> {
    let batch = mint(c, store, key, args).await?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("tạo thư mục {}", args.out.display()))?;
    let (csv, pdf) = write_batch(c, &batch, links, &args.out, &batch.id)?;
    Ok(Issued {
        tokens: batch.tokens,
        csv,
        pdf,
    })
}

/// The file listing every folder `--all` wrote.
pub const INDEX: &str = "bang-ke.csv";

/// One folder written by `--all`.
#[derive(Debug)]
pub struct Folder {
    pub folder: String,
    pub label: String,
    pub tokens: usize,
}

/// The whole campaign's tokens (see [`IssueArgs::all`]): every batch is
/// minted first and their hashes stored in one transaction, then each
/// batch's CSV and PDF are written to its folder, and `bang-ke.csv` lists them.
pub async fn issue_all(
    c: &Campaign,
    store: &Store,
    key: &Key,
    args: &IssueArgs,
    links: &Links,
) -> Result<Vec<Folder>> {
    if args
        .out
        .read_dir()
        .is_ok_and(|mut entries| entries.next().is_some())
    {
        bail!(
            "thư mục {} đã có tệp: chọn một thư mục mới bằng --out, để phiếu của đợt này không lẫn với đợt trước",
            args.out.display()
        );
    }
    let extra = |quota: u32| (quota * args.spare).div_ceil(100);
    let expires_at = expiry(c, args.expires);
    let mut planned = Vec::new();
    for a in c.assessments() {
        let group = &c.groups()[a.group];
        if group.access != crate::campaign::Access::Token {
            continue;
        }
        let count = (a.quota + extra(a.quota)) as usize;
        let units: Vec<&crate::campaign::Unit> =
            c.units().iter().filter(|u| u.kind == a.kind).collect();
        match group.category {
            // A leader assesses every unit of the kind with one token.
            Category::Officials => {
                let kind = &c.kinds()[a.kind];
                planned.push((
                    format!("{}-{}", kind.id, group.id),
                    format!("{} — {}", group.name, kind.name),
                    Batch::new(
                        c,
                        key,
                        a.group,
                        units.iter().map(|u| u.id.clone()).collect(),
                        count,
                        expires_at,
                    ),
                ));
            }
            Category::Citizens => {
                for u in units {
                    planned.push((
                        u.id.clone(),
                        format!("{} — {}", group.name, u.name),
                        Batch::new(c, key, a.group, vec![u.id.clone()], count, expires_at),
                    ));
                }
            }
        }
    }
    if planned.is_empty() {
        bail!(
            "đợt khảo sát không có nhóm nào dùng mã phiếu (access = \"token\"): không có gì để phát hành"
        );
    }
    let records: Vec<TokenRecord> = planned
        .iter()
        .flat_map(|(_, _, b)| b.records.iter().cloned())
        .collect();
    store.insert_tokens(&records).await?;

    let mut index = String::from("\u{feff}folder,group,units,tokens,csv,pdf\n");
    let mut folders = Vec::new();
    let bar = crate::cli::progress_bar::bar(planned.len() as u64, "in phiếu");
    for (folder, label, batch) in &planned {
        let dir = args.out.join(folder);
        std::fs::create_dir_all(&dir).with_context(|| format!("tạo thư mục {}", dir.display()))?;
        let stem = format!("{folder}-{}", c.groups()[batch.group].id);
        let (csv, pdf) = write_batch(c, batch, links, &dir, &stem)?;
        let _ = writeln!(
            index,
            "{folder},{},{},{},{},{}",
            c.groups()[batch.group].id,
            batch.units.join(" "),
            batch.tokens.len(),
            csv.display(),
            pdf.display()
        );
        folders.push(Folder {
            folder: folder.clone(),
            label: label.clone(),
            tokens: batch.tokens.len(),
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    write(&args.out.join(INDEX), index.as_bytes())?;
    Ok(folders)
}

/// Writes a batch's `<stem>.csv` and `<stem>.pdf` into `dir`.
fn write_batch(
    c: &Campaign,
    batch: &Batch,
    links: &Links,
    dir: &Path,
    stem: &str,
) -> Result<(PathBuf, PathBuf)> {
    let group = &c.groups()[batch.group];
    let units = &batch.units;
    let unit_label = if units.len() == 1 {
        c.unit(&units[0])
            .map(|u| u.name.clone())
            .unwrap_or_default()
    } else {
        let kind = c.unit(&units[0]).map(|u| u.kind);
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
    let mut csv = String::from("\u{feff}token,group,units,unit_names,telegram_link,web_link\n");
    for t in &batch.tokens {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{}",
            t.display(),
            group.id,
            units.join(" "),
            csv_field(&unit_names),
            links.telegram(t).unwrap_or_default(),
            links.web(t)
        );
    }
    let csv_path = dir.join(format!("{stem}.csv"));
    write(&csv_path, csv.as_bytes())?;
    // The QR code opens the web chat: any phone's camera (or Zalo's
    // scanner) opens it, and only the ballot box sees the answers there.
    let cards: Vec<Card> = batch
        .tokens
        .iter()
        .map(|t| Card {
            token: t.display(),
            link: links.web(t),
            title: c.title().to_string(),
            unit: unit_label.clone(),
            group: group.name.clone(),
        })
        .collect();
    let title = format!("Mã phiếu — {} — {unit_label}", group.name);
    let pdf = qr_sheet::pdf(&title, &cards, &links.channels())?;
    let pdf_path = dir.join(format!("{stem}.pdf"));
    write(&pdf_path, &pdf)?;
    Ok((csv_path, pdf_path))
}

/// Writes a file that holds usable tokens: readable by its owner only.
fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("tạo tệp {}", path.display()))?;
    #[cfg(unix)]
    {
        // An older file keeps its mode through `open`: set it.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("giới hạn quyền đọc {}", path.display()))?;
    }
    file.write_all(bytes)
        .with_context(|| format!("ghi tệp {}", path.display()))
}

fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::is_public;

    #[test]
    fn cards_need_an_address_phones_can_open() {
        for private in [
            None,
            Some("http://127.0.0.1:8080"),
            Some("http://localhost:8080/"),
            Some("http://192.168.1.10"),
            Some("http://[::1]:8080"),
            Some("http://0.0.0.0:8080"),
        ] {
            assert!(!is_public(private), "{private:?}");
        }
        for public in [
            "https://khaosat.thangbinh.gov.vn",
            "https://khaosat.thangbinh.gov.vn:8443/",
            "http://203.113.1.5",
        ] {
            assert!(is_public(Some(public)), "{public}");
        }
    }
}
