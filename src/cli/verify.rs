//! `khaosat verify`: prove the stored ballots are unaltered; or, with
//! `--open-data DIR`, that a published folder is the chain whose head the
//! district published.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::ballot::{Ballot, StoredBallot};
use crate::report::open_data::{CHAIN, FIXED};
use crate::settings::Settings;
use crate::startup;
use crate::store::Store;
use crate::verify::{Chain, PublishedBallot, Verdict, verify_published};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A published report folder (its `phieu-*.csv` files): checked without
    /// a database.
    #[arg(long)]
    pub open_data: Option<PathBuf>,
    /// The chain head the district published (on the portal, in a signed
    /// notice): the folder must end in it.
    #[arg(long, requires = "open_data")]
    pub head: Option<String>,
}

pub async fn run(settings: &Settings, args: &VerifyArgs) -> Result<()> {
    let verdict = match &args.open_data {
        Some(dir) => verify_published(read_open_data(dir)?),
        None => {
            let store = startup::open_store(settings).await?;
            let verdict = check_in_pages(&store).await;
            store.close().await;
            verdict?
        }
    };
    if let (Some(expected), Verdict::Intact { head, ballots }) = (&args.head, &verdict)
        && expected.trim() != head
    {
        bail!(
            "{ballots} phiếu trong thư mục kết thúc ở mã băm {head}, không phải mã đã công bố {}: \
             phiếu đã bị thêm, xóa hoặc sửa sau khi công bố",
            expected.trim()
        );
    }
    match verdict {
        Verdict::Intact { ballots, head } => {
            say!("Toàn vẹn: {ballots} phiếu, chuỗi băm khớp; mã băm cuối chuỗi: {head}");
            Ok(())
        }
        Verdict::Broken { seq, problem } => {
            bail!(
                "phiếu số {seq} không khớp: {problem}. Khôi phục cơ sở dữ liệu từ bản sao lưu để so sánh, hoặc báo bộ phận kỹ thuật."
            )
        }
    }
}

/// Checks the chain a page at a time, so memory does not grow with it.
pub(super) async fn check_in_pages(store: &Store) -> Result<Verdict> {
    let mut chain = Chain::default();
    let mut pages = store.read_ballots(i64::MAX);
    let bar = super::progress_bar::counter("kiểm tra", "phiếu");
    while let Some(page) = pages.recv().await {
        let page = page?;
        let mut read = 0;
        for row in page.rows() {
            if let Err(broken) = chain.push(&row) {
                bar.abandon();
                return Ok(broken);
            }
            read += 1;
        }
        bar.inc(read);
    }
    bar.finish_and_clear();
    Ok(chain.verdict())
}

/// Every ballot of the open-data files in `dir`.
fn read_open_data(dir: &Path) -> Result<Vec<PublishedBallot>> {
    let mut ballots = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("đọc {}", dir.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with("phieu-") && name.ends_with(".csv") {
            files += 1;
            ballots.extend(read_file(&path).with_context(|| format!("đọc {}", path.display()))?);
        }
    }
    if files == 0 {
        bail!(
            "không có tệp dữ liệu mở (phieu-*.csv) trong {}: chỉ định thư mục do `khaosat report` ghi ra",
            dir.display()
        );
    }
    Ok(ballots)
}

fn read_file(path: &Path) -> Result<Vec<PublishedBallot>> {
    let text = std::fs::read_to_string(path)?;
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header = reader.headers()?.clone();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("thiếu cột “{name}”"))
    };
    let fixed: Vec<usize> = FIXED.iter().map(|c| column(c)).collect::<Result<_>>()?;
    let chain: Vec<usize> = CHAIN.iter().map(|c| column(c)).collect::<Result<_>>()?;
    let mut out = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record?;
        let at = |i: usize| record.get(i).unwrap_or_default().to_string();
        let row = line + 2;
        let seq = at(fixed[0])
            .parse()
            .with_context(|| format!("dòng {row}: “Thứ tự”"))?;
        let batch = at(fixed[2])
            .parse()
            .with_context(|| format!("dòng {row}: “Đợt”"))?;
        let (answers, salt) = (at(chain[3]), at(chain[4]));
        out.push(PublishedBallot {
            ballot: StoredBallot {
                ballot: Ballot {
                    seq,
                    campaign: at(chain[0]),
                    unit: at(fixed[4]),
                    group: at(fixed[5]),
                    dialogue_id: at(chain[1]),
                    dialogue_version: at(chain[2]),
                    batch,
                    batch_date: at(fixed[3]),
                    receipt: at(fixed[1]),
                    salt: String::new(),
                    answers: Default::default(),
                },
                answers_json: String::new(),
                prev_hash: at(chain[6]),
                hash: at(chain[7]),
            },
            answers: (!answers.is_empty()).then_some((answers, salt)),
            digest: at(chain[5]),
        });
    }
    Ok(out)
}
